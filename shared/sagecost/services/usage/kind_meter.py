"""The service side of a resource kind that plugs into the recorder and the sweep: the reads its rules
allow, then the writer. Kinds added after the first five (training, processing, transform, endpoint,
notebook, which the recorder and the sweep carry themselves) each implement this in their own module."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import SageMakerEvent
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, SweepReport
from sagecost.services.usage.writer import WriteBatch


class KindMeter(Protocol):
    @property
    def spec(self) -> KindSpec:
        """The kind, from the registry: which events and CloudTrail calls it records."""
        ...

    def record(self, event: SageMakerEvent) -> MeteringResult:
        """Meter one validated event of this kind (a state change or a CloudTrail call). Idempotent."""
        ...

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """Meter what runs on of this kind up to `now`, opening what no event announced. Pop from
        `open_timelines` every timeline of the kind the listing accounts for, and every one it must keep
        open (its listing failed): the sweep closes what is left as vanished."""
        ...
