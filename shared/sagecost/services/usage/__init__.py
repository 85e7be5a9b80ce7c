"""Metering: SageMaker events and the hourly sweep become priced usage in the ledger.

Each resource kind has a meter (a `KindMeter`: `jobs`, `endpoints`, `notebooks`, `studio`, ...) that applies
its domain rules (`domain.kinds`) to its events and its part of the sweep, making only the reads those
allow; `recorder` sends each event to its kind's meter, `sweep` runs every kind's sweep and closes what
vanished, and `writer` is the one way usage reaches the ledger. `UsageMeter` is what the composition root
builds and the handlers call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sagecost.adapters.ledger import TRANSACTION_LIMIT, DynamoLedger
from sagecost.adapters.sagemaker import SageMakerReader
from sagecost.domain.pricing import PriceBook
from sagecost.models.config import SagecostConfig
from sagecost.models.events import SageMakerEvent
from sagecost.services.usage.endpoints import EndpointConfigMeter, EndpointMeter
from sagecost.services.usage.jobs import ProcessingMeter, TrainingMeter, TransformMeter
from sagecost.services.usage.kind_meter import KindMeter
from sagecost.services.usage.notebooks import NotebookMeter
from sagecost.services.usage.recorder import UsageRecorder
from sagecost.services.usage.results import MeteringResult, Outcome, SealedChange, Source, SweepReport
from sagecost.services.usage.sweep import UsageSweep
from sagecost.services.usage.writer import UsageWriter

__all__ = ["MeteringResult", "Outcome", "SealedChange", "Source", "SweepReport", "UsageMeter"]


class UsageMeter:
    """Records events, sweeps, and moves usage to tags added later: the metering use cases together."""

    def __init__(
        self,
        ledger: DynamoLedger,
        sagemaker: SageMakerReader,
        prices: PriceBook,
        config: SagecostConfig,
        *,
        transaction_limit: int = TRANSACTION_LIMIT,
        kind_meters: Sequence[KindMeter] = (),
        writer: UsageWriter | None = None,
    ) -> None:
        """`writer`: the one the `kind_meters` were built with, so every kind writes through the same one
        (by default a writer of `ledger`, `prices`, `config` and `transaction_limit`)."""
        self.ledger = ledger
        self.prices = prices
        self.config = config
        self.writer = writer or UsageWriter(ledger, prices, config, transaction_limit=transaction_limit)
        self.kind_meters = tuple(kind_meters)
        self._reader = sagemaker
        self._build()

    def _build(self) -> None:
        """The five kinds every deployment meters through the SageMaker reader, then the others, in the
        order the sweep runs them (endpoints before the kinds that hang off them)."""
        built_in: tuple[KindMeter, ...] = (
            TrainingMeter(self.writer, self._reader),
            ProcessingMeter(self.writer, self._reader),
            TransformMeter(self.writer, self._reader),
            EndpointConfigMeter(self.writer),
            EndpointMeter(self.writer, self._reader),
            NotebookMeter(self.writer, self._reader),
        )
        meters = built_in + self.kind_meters
        self.recorder = UsageRecorder(meters)
        self.sweeper = UsageSweep(self.writer, meters)

    @property
    def sagemaker(self) -> SageMakerReader:
        return self._reader

    @sagemaker.setter
    def sagemaker(self, reader: SageMakerReader) -> None:
        """The built-in kinds read through `reader` from now on (tests answer reads so)."""
        self._reader = reader
        self._build()

    def record(self, event: SageMakerEvent) -> MeteringResult:
        """Meter one validated event. Idempotent: a duplicate delivery changes nothing."""
        return self.recorder.record(event)

    def sweep(self, now: datetime) -> SweepReport:
        """Meter everything that runs on up to `now`; open what no event announced, close what vanished."""
        return self.sweeper.sweep(now)

    def reattribute(self, arn: str, added: dict[str, str], at: datetime) -> MeteringResult:
        return self.writer.reattribute(arn, added, at)

    def keep_sealed(
        self, sealed: Sequence[SealedChange], at: datetime, *, source: Source, raw: str | None = None
    ) -> None:
        self.writer.keep_sealed(sealed, at, source=source, raw=raw)
