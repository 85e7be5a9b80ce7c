"""The hourly usage sweep: every kind's meter meters what runs on up to now and opens what no event
announced; then what no listing accounted for is closed as vanished (its end event never came)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sagecost.domain.tags import snapshot
from sagecost.domain.timeline import hourly_cost
from sagecost.models.ledger import Dimension, month_of
from sagecost.models.state import ResourceTimeline, Transition
from sagecost.services.usage.kind_meter import KindMeter
from sagecost.services.usage.results import MeteringResult, Source, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch


class UsageSweep:
    """What the hourly schedule runs: each kind's sweep in turn, then the timelines nothing listed."""

    def __init__(self, writer: UsageWriter, meters: Sequence[KindMeter]) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.meters = tuple(meters)

    def sweep(self, now: datetime) -> SweepReport:
        """Meter everything that runs on up to `now`; open what no event announced, close what vanished."""
        report = SweepReport()
        batch = WriteBatch(self.ledger, report, self.writer.transaction_limit)
        open_timelines = {t.resource.arn: t for t in self.ledger.open_timelines()}
        running = list(open_timelines.values())
        for meter in self.meters:
            meter.sweep(now, open_timelines, report, batch)
        for gone in open_timelines.values():
            report.add(self._close_vanished(gone, now, batch), closed=True)
        batch.flush()
        self.writer.keep_sealed(report.sealed, now, source=Source.SWEEPER)
        if self.writer.config.budgets.limits:
            self._record_run_rates(running, now)
        return report

    def _record_run_rates(self, running: Iterable[ResourceTimeline], now: datetime) -> None:
        """What runs, USD per hour per project, team and cost center, for budget forecasts and burn rates,
        from the timelines the sweep started from (a resource opened since shows at the next sweep).
        One item a month, put every sweep without reading it first: a put that changes nothing writes no
        stream record, so the stream carries only changes."""
        rates: dict[str, Decimal] = {}
        for timeline in running:
            cost = hourly_cost(timeline, self.writer.prices, now)
            if not cost:
                continue
            tags = snapshot(timeline.tags, self.writer.config.tag_keys)
            for dimension, value in tags.dimension_values().items():
                if dimension is not Dimension.ALLOCATION:
                    key = f"{dimension.value}#{value}"
                    rates[key] = rates.get(key, Decimal(0)) + cost
        self.ledger.put_run_rates(month_of(now), rates)

    def _close_vanished(self, timeline: ResourceTimeline, now: datetime, batch: WriteBatch) -> MeteringResult:
        """Billing in the ledger, gone from SageMaker: its end event never came; it ends now at the latest."""
        gone = Transition(
            at=now, status="GONE", lines=(), event_id=f"sweep@{now.isoformat()}", source="sweep"
        )

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            latest = self.ledger.load_timeline(timeline.resource.arn)[0] if reload else timeline
            return self.writer.advance(
                latest or timeline, [gone], now, None, batch=into, retry=self.writer.alone(attempt)
            )

        return attempt(False, batch)
