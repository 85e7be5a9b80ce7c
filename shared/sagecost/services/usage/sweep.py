"""The hourly usage sweep: meters what runs on up to now, opens what no event announced, and closes what
vanished without its end event. Each swept kind lists its resources once (pages of 100) and reads more
only for what changed since the ledger last heard."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sagecost.adapters.sagemaker import EndpointSummary, SageMakerReader
from sagecost.domain.kinds.endpoint import (
    ENDPOINT_BILLING_STATUSES,
    config_arn_for,
    endpoint_lines,
    known_config,
    priced_with_config,
)
from sagecost.domain.kinds.notebook import notebook_lines
from sagecost.domain.tags import snapshot
from sagecost.domain.timeline import due_for_sweep, hourly_cost
from sagecost.models.ledger import Dimension, ResourceKind, month_of
from sagecost.models.state import BillingLine, EndpointConfigSnapshot, ResourceTimeline, Transition
from sagecost.services.usage.kind_meter import KindMeter
from sagecost.services.usage.results import MeteringResult, Source, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_volume


class UsageSweep:
    """What the hourly schedule runs: every swept kind of the registry, then the timelines nothing listed."""

    def __init__(
        self, writer: UsageWriter, sagemaker: SageMakerReader, kind_meters: Sequence[KindMeter] = ()
    ) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.sagemaker = sagemaker
        self.kind_meters = tuple(kind_meters)

    def sweep(self, now: datetime) -> SweepReport:
        """Meter everything that runs on up to `now`; open what no event announced, close what vanished."""
        report = SweepReport()
        batch = WriteBatch(self.ledger, report, self.writer.transaction_limit)
        open_timelines = {t.resource.arn: t for t in self.ledger.open_timelines()}
        running = list(open_timelines.values())
        for endpoint in self.sagemaker.endpoints():
            timeline = open_timelines.pop(endpoint.arn, None)
            if endpoint.status not in ENDPOINT_BILLING_STATUSES and timeline is None:
                continue
            self._sweep_endpoint(endpoint, timeline, now, report, batch)
        for notebook in self.sagemaker.notebooks():
            timeline = open_timelines.pop(notebook.arn, None)
            self._sweep_notebook(
                notebook.arn,
                notebook.name,
                notebook.status,
                notebook.instance_type,
                notebook.last_modified,
                timeline,
                now,
                report,
                batch,
            )
        for meter in self.kind_meters:
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

    def _config_for_sweep(
        self,
        timeline: ResourceTimeline,
        cached: EndpointConfigSnapshot | None,
        name: str | None,
        status: str,
    ) -> tuple[EndpointConfigSnapshot | None, EndpointConfigSnapshot | None]:
        """(config to price with, config to write to the cache): DescribeEndpointConfig only on a miss."""
        known = known_config(timeline.endpoint_config, cached, name)
        if known is not None or name is None or status not in ENDPOINT_BILLING_STATUSES:
            return known or timeline.endpoint_config, None
        described = self.sagemaker.endpoint_config(name)
        return described, described

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

    def _sweep_endpoint(
        self,
        listed: EndpointSummary,
        timeline: ResourceTimeline | None,
        now: datetime,
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is not None and _unchanged_since_known(current, listed):
                # nothing happened to it since the ledger last heard: just meter the hour
                return self.writer.advance(
                    current, [], now, None, batch=into, retry=self.writer.alone(attempt)
                )
            described = (
                self.sagemaker.endpoint(listed.name) if listed.status in ENDPOINT_BILLING_STATUSES else None
            )
            endpoint = described or listed
            config_name = endpoint.config_name
            cached: EndpointConfigSnapshot | None = None
            if current is None or (
                config_name
                and (current.endpoint_config is None or current.endpoint_config.name != config_name)
            ):
                loaded, cached = self.ledger.load_timeline(
                    endpoint.arn,
                    config_arn=config_arn_for(endpoint.arn, config_name) if config_name else None,
                )
                current = current or loaded
            if current is None:
                current = new_timeline(endpoint.arn, ResourceKind.ENDPOINT, endpoint.name)
            config, to_cache = self._config_for_sweep(current, cached, config_name, endpoint.status)
            if config is not None:
                # usage metered while the config was unknown gets its instance types and prices now
                current = current.model_copy(
                    update={
                        "endpoint_config": config,
                        "transitions": priced_with_config(current.transitions, config),
                    }
                )
            counts = tuple(endpoint.variant_counts.items())
            lines = endpoint_lines(endpoint.status, counts, config)
            incoming = _observed(current, endpoint.status, lines, endpoint.last_modified, now, counts)
            return self.writer.advance(
                current, incoming, now, to_cache, batch=into, retry=self.writer.alone(attempt)
            )

        report.add(attempt(False, batch))

    def _sweep_notebook(
        self,
        arn: str,
        name: str,
        status: str,
        instance_type: str | None,
        last_modified: datetime,
        timeline: ResourceTimeline | None,
        now: datetime,
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        lines_without_volume = notebook_lines(status, instance_type, None)
        if timeline is None and not lines_without_volume:
            return
        if (
            timeline is not None
            and timeline.current is not None
            and timeline.current.status == status
            and not due_for_sweep(timeline, now)
        ):
            return

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is None:
                current, _ = self.ledger.load_timeline(arn)
            if current is None:
                current = new_timeline(arn, ResourceKind.NOTEBOOK_INSTANCE, name)
            volume = current.volume_gb
            if volume is None and lines_without_volume:
                volume = self.sagemaker.notebook_volume_gb(name)
                if volume is not None:
                    current = with_volume(current, volume)
            kind_type = instance_type or current.instance_type
            lines = notebook_lines(status, kind_type, volume)
            incoming = _observed(current, status, lines, last_modified, now)
            current = current.model_copy(update={"instance_type": kind_type, "volume_gb": volume})
            return self.writer.advance(
                current, incoming, now, None, batch=into, retry=self.writer.alone(attempt)
            )

        report.add(attempt(False, batch))


def _observed(
    timeline: ResourceTimeline,
    status: str,
    lines: tuple[BillingLine, ...],
    last_modified: datetime,
    now: datetime,
    variant_counts: tuple[tuple[str | None, int | None], ...] = (),
) -> list[Transition]:
    """A transition for what the sweep saw, when it differs from what the ledger knows."""
    current = timeline.current
    if current is not None and current.status == status and current.lines == lines:
        return []
    at = last_modified if current is None or last_modified > current.at else now
    at = min(at, now)
    return [
        Transition(
            at=at,
            status=status,
            lines=lines,
            event_id=f"sweep@{now.isoformat()}",
            source="sweep",
            variant_counts=variant_counts,
        )
    ]


def _unchanged_since_known(timeline: ResourceTimeline, listed: EndpointSummary) -> bool:
    """ListEndpoints shows the status and LastModifiedTime the ledger already has, and the instance types
    are known: no DescribeEndpoint needed. (A capacity change, autoscaling's included, moves the endpoint
    through Updating to InService, which moves LastModifiedTime.)"""
    current = timeline.current
    return (
        current is not None
        and timeline.endpoint_config is not None
        and not any(t.unknown_lines for t in timeline.transitions)
        and current.status == listed.status
        and listed.last_modified <= max(t.at for t in timeline.transitions)
    )
