"""What a resource kind is to sagecost: how it is metered, at which price component, and how it may be
judged idle. Each kind's module defines one `KindSpec` and the pure rules that turn its events and what
the sweep lists into usage; `registry` lists them all."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component


class Metering(StrEnum):
    JOB = "job"
    """Metered once, at its terminal state, from what it billed (`domain.metering.meter_job`)."""
    TIMELINE = "timeline"
    """Metered as it runs, from its timeline of state changes (`domain.timeline.advance`)."""
    CACHE = "cache"
    """Bills nothing itself; its events are remembered for another kind (an endpoint's config)."""


@dataclass(frozen=True)
class KindSpec:
    """One resource kind: where its usage comes from, what it is priced as, and its idle signal."""

    kind: ResourceKind | None
    """The kind its usage records carry (None for a kind that only feeds another, like endpoint configs)."""
    component: Component | None
    """The price component of its instances (storage is always `Component.ML_STORAGE`)."""
    metering: Metering
    detail_types: tuple[str, ...] = ()
    """The EventBridge `detail-type`s (source `aws.sagemaker`) whose events meter it."""
    cloudtrail_calls: tuple[str, ...] = ()
    """The `AWS API Call via CloudTrail` event names that meter it (for kinds without state-change events)."""
    swept: bool = False
    """The hourly usage sweep lists it: opens what no event announced, closes what vanished."""
    idle_signal: str | None = None
    """The signal the idle reaper may judge it by; None: it is never judged idle."""

    @property
    def metered_events(self) -> tuple[str, ...]:
        return self.detail_types + tuple(
            f"AWS API Call via CloudTrail/{call}" for call in self.cloudtrail_calls
        )
