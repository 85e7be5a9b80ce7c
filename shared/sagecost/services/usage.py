"""Metering use cases: record one SageMaker event, sweep what runs on. Domain rules + adapters, no AWS SDK."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sagecost.adapters.ledger import TRANSACTION_LIMIT, ConcurrentUpdate, DynamoLedger
from sagecost.adapters.sagemaker import EndpointSummary, SageMakerReader, config_snapshot, instance_lines
from sagecost.domain.aggregates import aggregate_deltas, summarise
from sagecost.domain.metering import (
    TERMINAL_JOB_STATUSES,
    InstanceLine,
    JobRun,
    ResourceRef,
    meter_job,
    spot_note,
)
from sagecost.domain.periods import next_midnight, seconds_between
from sagecost.domain.pricing import PriceBook
from sagecost.domain.resources import (
    ENDPOINT_BILLING_STATUSES,
    endpoint_lines,
    notebook_lines,
    priced_with_config,
)
from sagecost.domain.tags import snapshot
from sagecost.domain.timeline import TimelineChange, advance, due_for_sweep, hourly_cost
from sagecost.models.config import SagecostConfig
from sagecost.models.events import (
    EndpointConfigEvent,
    EndpointEvent,
    InvalidEvent,
    NotebookInstanceEvent,
    ProcessingJobEvent,
    SageMakerEvent,
    TrainingJobEvent,
    TransformJobEvent,
)
from sagecost.models.ledger import Dimension, ResourceKind, TagSnapshot, UsageRecord, month_of
from sagecost.models.prices import Component
from sagecost.models.state import (
    BillingLine,
    EndpointConfigSnapshot,
    ResourceRefModel,
    ResourceTimeline,
    Transition,
)

CONCURRENCY_ATTEMPTS = 4


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    NOTHING_TO_METER = "nothing-to-meter"
    CACHED = "cached"


class Source(StrEnum):
    """Who saw a state change: an event the recorder got, or the hourly sweep."""

    RECORDER = "usage_recorder"
    SWEEPER = "usage_sweeper"


@dataclass(frozen=True)
class SealedChange:
    resource_arn: str
    transition: Transition

    def describe(self) -> str:
        """What the sweep saw, as a rejection keeps it (events are kept as they arrived)."""
        t = self.transition
        return json.dumps(
            {"resource_arn": self.resource_arn, "status": t.status, "changed_at": t.at.isoformat()},
            sort_keys=True,
        )


@dataclass
class MeteringResult:
    """What recording one event (or sweeping one resource) did to the ledger."""

    outcome: Outcome
    detail: str = ""
    records: list[UsageRecord] = field(default_factory=list)
    sealed: list[SealedChange] = field(default_factory=list)
    """State changes that came after the usage they would have moved was sealed: not applied."""

    @property
    def too_late(self) -> int:
        return len(self.sealed)

    @property
    def unpriced(self) -> int:
        return sum(1 for r in self.records if r.unpriced)

    @property
    def cost(self) -> Decimal:
        return sum((r.cost for r in self.records if r.cost is not None), Decimal(0))


def config_arn_for(endpoint_arn: str, config_name: str) -> str:
    """SageMaker ARNs carry names in lower case: endpoint-config/<name>."""
    prefix = endpoint_arn.split(":endpoint/", 1)[0]
    return f"{prefix}:endpoint-config/{config_name.lower()}"


class UsageMeter:
    """Turns SageMaker state changes and sweeps into ledger writes."""

    def __init__(
        self,
        ledger: DynamoLedger,
        sagemaker: SageMakerReader,
        prices: PriceBook,
        config: SagecostConfig,
        *,
        transaction_limit: int = TRANSACTION_LIMIT,
    ) -> None:
        self.ledger = ledger
        self.sagemaker = sagemaker
        self.prices = prices
        self.config = config
        self.transaction_limit = transaction_limit

    # --- events ---------------------------------------------------------------------------------

    def record(self, event: SageMakerEvent) -> MeteringResult:
        """Meter one validated event. Idempotent: a duplicate delivery changes nothing."""
        if isinstance(event, TrainingJobEvent):
            return self._training(event)
        if isinstance(event, ProcessingJobEvent | TransformJobEvent):
            return self._batch_job(event)
        if isinstance(event, EndpointConfigEvent):
            return self._endpoint_config(event)
        if isinstance(event, EndpointEvent):
            return self._with_retries(lambda _: self._endpoint(event))
        return self._with_retries(lambda _: self._notebook(event))

    def _write_job(self, run: JobRun, tags: dict[str, str] | None) -> MeteringResult:
        records = meter_job(run, self.prices, snapshot(tags, self.config.tag_keys))
        if not records:
            return MeteringResult(Outcome.NOTHING_TO_METER, "the job billed no time")
        if not self.ledger.put_job_records(records, aggregate_deltas(records)):
            return MeteringResult(Outcome.DUPLICATE, "already metered")
        return MeteringResult(Outcome.RECORDED, records=records)

    def _training(self, event: TrainingJobEvent) -> MeteringResult:
        job = event.detail
        if job.training_job_status not in TERMINAL_JOB_STATUSES:
            return MeteringResult(
                Outcome.NOTHING_TO_METER, f"status {job.training_job_status} is not terminal"
            )
        resource = ResourceRef.from_arn(
            job.training_job_arn,
            ResourceKind.TRAINING_JOB,
            job.training_job_name,
            fallback_region=event.region,
        )
        config = job.resource_config
        billable, trained = job.billable_time_in_seconds, job.training_time_in_seconds
        start, end = job.training_start_time, job.training_end_time
        instances = instance_lines(config.model_dump(by_alias=True)) if config else ()
        volume = config.volume_size_in_gb if config else None
        if billable is None or not instances:
            # the one read a training event allows: the billable time, and the instances and volume
            # when the event lacks `ResourceConfig` (or names no instance type)
            billing = self.sagemaker.training_billing(job.training_job_name)
            if billing is None:  # kept as a rejection: the account has no such job
                raise InvalidEvent(f"DescribeTrainingJob: no training job {job.training_job_name!r} here")
            if billable is None:
                billable, trained = billing.billable_seconds, billing.training_seconds
                start, end = billing.start or start, billing.end or end
            instances = billing.instances or instances
            volume = volume if volume is not None else billing.volume_gb
        start = start or job.creation_time or event.time
        end = end or job.last_modified_time or event.time
        notes: tuple[str, ...] = ()
        if billable is None:
            notes = ("no BillableTimeInSeconds: billed the wall time from start to end",)
        billed_seconds = billable if billable is not None else int(seconds_between(start, end))
        if not instances:  # neither the event nor DescribeTrainingJob: kept as a rejection, never dropped
            raise InvalidEvent(
                "the training job names no instance type, in its event or its DescribeTrainingJob"
            )
        run = JobRun(
            resource=resource,
            component=Component.TRAINING,
            start=start,
            end=max(start, end),
            instances=instances,
            billable_seconds=Decimal(billed_seconds),
            volume_gb=volume,
            event_id=event.id,
            notes=notes + spot_note(billed_seconds, trained) + job.tag_notes,
        )
        return self._write_job(run, job.tags)

    def _batch_job(self, event: ProcessingJobEvent | TransformJobEvent) -> MeteringResult:
        instances: tuple[InstanceLine, ...]
        if isinstance(event, ProcessingJobEvent):
            p = event.detail
            status, arn, name, kind, component = (
                p.processing_job_status,
                p.processing_job_arn,
                p.processing_job_name,
                ResourceKind.PROCESSING_JOB,
                Component.PROCESSING,
            )
            cluster = p.processing_resources.cluster_config
            instances = (InstanceLine("compute", cluster.instance_type, cluster.instance_count),)
            start, end, volume = p.processing_start_time, p.processing_end_time, cluster.volume_size_in_gb
        else:
            t = event.detail
            status, arn, name, kind, component = (
                t.transform_job_status,
                t.transform_job_arn,
                t.transform_job_name,
                ResourceKind.TRANSFORM_JOB,
                Component.BATCH_TRANSFORM,
            )
            resources = t.transform_resources
            instances = (
                (InstanceLine("compute", resources.instance_type, resources.instance_count),)
                if resources is not None and resources.instance_type
                else ()
            )
            start, end, volume = t.transform_start_time, t.transform_end_time, None
        detail = event.detail
        if status not in TERMINAL_JOB_STATUSES:
            return MeteringResult(Outcome.NOTHING_TO_METER, f"status {status} is not terminal")
        if not instances:
            # the event lacks `TransformResources`: the one read this kind allows, DescribeTransformJob
            described = self.sagemaker.transform_job(name)
            if described is None or not described.instances:  # kept as a rejection, never dropped
                raise InvalidEvent(
                    "the transform job names no instance type, in its event or its DescribeTransformJob"
                )
            instances = described.instances
            start, end = start or described.start, end or described.end
        if start is None:
            return MeteringResult(Outcome.NOTHING_TO_METER, "the job never started")
        end = max(start, end or detail.last_modified_time or event.time)
        tags = detail.tags if detail.tags is not None else self.sagemaker.tags(arn)
        run = JobRun(
            resource=ResourceRef.from_arn(arn, kind, name, fallback_region=event.region),
            component=component,
            start=start,
            end=end,
            instances=instances,
            billable_seconds=seconds_between(start, end),
            volume_gb=volume,
            event_id=event.id,
            notes=detail.tag_notes,
        )
        return self._write_job(run, tags)

    def _endpoint_config(self, event: EndpointConfigEvent) -> MeteringResult:
        detail = event.detail
        if not detail.production_variants:
            return MeteringResult(Outcome.NOTHING_TO_METER, "a config without variants (deleted)")
        self.ledger.put_endpoint_config(config_snapshot(detail.model_dump(by_alias=True)))
        return MeteringResult(Outcome.CACHED, f"instance types of {detail.endpoint_config_name}")

    def _with_retries(self, attempt: Callable[[bool], MeteringResult]) -> MeteringResult:
        """Run `attempt(reload)`; after another writer got there first, again with `reload=True`."""
        for tries in range(CONCURRENCY_ATTEMPTS - 1):
            try:
                return attempt(tries > 0)
            except ConcurrentUpdate:
                continue
        return attempt(True)

    def _endpoint(self, event: EndpointEvent) -> MeteringResult:
        detail = event.detail
        at = detail.last_modified_time or event.time
        empty = _new_timeline(detail.endpoint_arn, ResourceKind.ENDPOINT, detail.endpoint_name, event.region)
        config_arn = (
            config_arn_for(detail.endpoint_arn, detail.endpoint_config_name)
            if detail.endpoint_config_name
            else None
        )
        timeline, cached = self.ledger.load_timeline(detail.endpoint_arn, config_arn=config_arn)
        timeline = timeline or empty
        config = self._known_config(timeline, cached, detail.endpoint_config_name)
        counts = tuple((v.variant_name, v.instance_count) for v in detail.production_variants)
        transition = Transition(
            at=at,
            status=detail.endpoint_status,
            lines=endpoint_lines(detail.endpoint_status, counts, config),
            event_id=event.id,
            variant_counts=counts,
        )
        timeline = _with_tags(timeline, detail.tags, at)
        if config is not None:
            # usage metered while the config was unknown is priced now, at no extra request
            timeline = timeline.model_copy(
                update={
                    "endpoint_config": config,
                    "transitions": priced_with_config(timeline.transitions, config),
                }
            )
        return self._advance(timeline, [transition], at, None)

    @staticmethod
    def _known_config(
        timeline: ResourceTimeline, cached: EndpointConfigSnapshot | None, name: str | None
    ) -> EndpointConfigSnapshot | None:
        """The endpoint's config as the ledger knows it (from Endpoint Config events), without asking AWS.

        On a miss the recorder meters the instances with an unknown type (unpriced) and makes no extra
        read: the next hourly sweep describes the config once and re-prices that usage.
        """
        if name is None:
            return timeline.endpoint_config
        if cached is not None:
            return cached
        if timeline.endpoint_config is not None and timeline.endpoint_config.name == name:
            return timeline.endpoint_config
        return None

    def _config_for_sweep(
        self,
        timeline: ResourceTimeline,
        cached: EndpointConfigSnapshot | None,
        name: str | None,
        status: str,
    ) -> tuple[EndpointConfigSnapshot | None, EndpointConfigSnapshot | None]:
        """(config to price with, config to write to the cache): DescribeEndpointConfig only on a miss."""
        known = self._known_config(timeline, cached, name)
        if known is not None or name is None or status not in ENDPOINT_BILLING_STATUSES:
            return known or timeline.endpoint_config, None
        described = self.sagemaker.endpoint_config(name)
        return described, described

    def _notebook(self, event: NotebookInstanceEvent) -> MeteringResult:
        detail = event.detail
        at = detail.last_modified_time or event.time
        empty = _new_timeline(
            detail.notebook_instance_arn,
            ResourceKind.NOTEBOOK_INSTANCE,
            detail.notebook_instance_name,
            event.region,
        )
        timeline, _ = self.ledger.load_timeline(detail.notebook_instance_arn)
        timeline = timeline or empty
        instance_type = detail.instance_type or timeline.instance_type
        volume = detail.volume_size_in_gb or timeline.volume_gb
        timeline = _with_tags(timeline, detail.tags, at).model_copy(update={"instance_type": instance_type})
        if volume is not None and volume != timeline.volume_gb:
            timeline = _with_volume(timeline, volume)  # usage metered at the default size is re-priced
        transition = Transition(
            at=at,
            status=detail.notebook_instance_status,
            lines=notebook_lines(detail.notebook_instance_status, instance_type, volume),
            event_id=event.id,
        )
        return self._advance(timeline, [transition], at, None)

    def keep_sealed(
        self, sealed: Sequence[SealedChange], at: datetime, *, source: Source, raw: str | None = None
    ) -> None:
        """Keep each state change that came after the seal as a rejection (reason `sealed`), so the
        outputs and the month report show it: the event as it arrived, or what the sweep saw."""
        for change in sealed:
            self.ledger.keep_sealed(
                raw if raw is not None else change.describe(),
                change=f"{change.resource_arn}#{change.transition.status}",
                changed_at=change.transition.at,
                source=source.value,
                at=at,
            )

    # --- tags that arrive after the usage --------------------------------------------------------

    def reattribute(self, arn: str, added: dict[str, str], at: datetime) -> MeteringResult:
        """Tags were added to a resource (by the tag enforcer) after some of its usage was recorded: that
        usage moves to them. Added tags fill what a record lacked; they never overwrite a value."""
        timeline, _ = self.ledger.load_timeline(arn)
        if timeline is not None:
            retagged = _with_tags(timeline, {**timeline.tags, **added}, max(at, timeline.tags_at or at))
            return self._with_retries(
                lambda _: self._advance(retagged, [], timeline.metered_until or at, None)
            )
        extra = snapshot(added, self.config.tag_keys)
        old = self.ledger.resource_records(arn)
        fills = [
            (
                record,
                record.model_copy(
                    update={
                        "tags": record.tags.model_copy(
                            update={
                                name: value
                                for name, value in extra.model_dump().items()
                                if value and getattr(record.tags, name) is None
                            }
                        )
                    }
                ),
            )
            for record in old
        ]
        changed = [(before, after) for before, after in fills if after.tags != before.tags]
        if not changed:
            return MeteringResult(Outcome.NOTHING_TO_METER, "no recorded usage to move")
        deltas = aggregate_deltas(
            [after for _, after in changed], [summarise(before) for before, _ in changed]
        )
        self.ledger.replace_records([after for _, after in changed], deltas)
        return MeteringResult(
            Outcome.RECORDED, "usage re-attributed", records=[after for _, after in changed]
        )

    # --- writing a timeline change ---------------------------------------------------------------

    def _advance(
        self,
        timeline: ResourceTimeline,
        incoming: Sequence[Transition],
        until: datetime,
        config_to_cache: EndpointConfigSnapshot | None,
        *,
        batch: WriteBatch | None = None,
        retry: Callable[[], MeteringResult] | None = None,
    ) -> MeteringResult:
        """Meter the timeline up to `until` in as many transactions as it takes (one, nearly always).

        When the change does not fit one transaction (many lines, a long gap since the last metering),
        it is written in steps that end at UTC midnights, each step as large as a transaction holds.
        A step holds only the state changes up to its end, so each committed step is a ledger that is
        right on its own: a resource still billing stays open, and should the writer stop between steps
        the next sweep or the redelivered event meters the rest.

        With a `batch` (the sweep), the change's last step joins the batch's next transaction instead,
        and `retry` redoes it alone should that transaction lose a race with another writer.
        """
        tags = snapshot(timeline.tags, self.config.tag_keys)
        result = MeteringResult(Outcome.DUPLICATE, "no change")
        remaining = list(incoming)
        while True:
            limit = self.transaction_limit - (config_to_cache is not None)
            step, change = _largest_step(timeline, remaining, until, limit, self.prices, tags)
            result.sealed += [SealedChange(timeline.resource.arn, t) for t in change.too_late]
            if _unchanged(timeline, change.timeline):
                return result  # a duplicate delivery: nothing to write
            if batch is not None and retry is not None and step >= until:
                batch.add(PendingWrite(change, timeline.version, config_to_cache, retry))
                _collect(result, change)
                return result
            self.ledger.commit(change, timeline.version, config=config_to_cache)
            config_to_cache = None
            _collect(result, change)
            if step >= until:
                return result
            timeline, remaining = change.timeline, [t for t in remaining if t.at > step]

    # --- sweeps ----------------------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepReport:
        """Meter everything that runs on up to `now`; open what no event announced, close what vanished."""
        report = SweepReport()
        batch = WriteBatch(self.ledger, report, self.transaction_limit)
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
        for gone in open_timelines.values():
            report.add(self._close_vanished(gone, now, batch), closed=True)
        batch.flush()
        self.keep_sealed(report.sealed, now, source=Source.SWEEPER)
        if self.config.budgets.limits:
            self._record_run_rates(running, now)
        return report

    def _record_run_rates(self, running: Iterable[ResourceTimeline], now: datetime) -> None:
        """What runs, USD per hour per project, team and cost center, for budget forecasts and burn rates,
        from the timelines the sweep started from (a resource opened since shows at the next sweep).
        One item a month, put every sweep without reading it first: a put that changes nothing writes no
        stream record, so the stream carries only changes."""
        rates: dict[str, Decimal] = {}
        for timeline in running:
            cost = hourly_cost(timeline, self.prices, now)
            if not cost:
                continue
            tags = snapshot(timeline.tags, self.config.tag_keys)
            for dimension, value in tags.dimension_values().items():
                if dimension is not Dimension.ALLOCATION:
                    key = f"{dimension.value}#{value}"
                    rates[key] = rates.get(key, Decimal(0)) + cost
        self.ledger.put_run_rates(month_of(now), rates)

    def _alone(
        self, attempt: Callable[[bool, WriteBatch | None], MeteringResult]
    ) -> Callable[[], MeteringResult]:
        return lambda: self._with_retries(lambda _: attempt(True, None))

    def _close_vanished(self, timeline: ResourceTimeline, now: datetime, batch: WriteBatch) -> MeteringResult:
        """Billing in the ledger, gone from SageMaker: its end event never came; it ends now at the latest."""
        gone = Transition(
            at=now, status="GONE", lines=(), event_id=f"sweep@{now.isoformat()}", source="sweep"
        )

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            latest = self.ledger.load_timeline(timeline.resource.arn)[0] if reload else timeline
            return self._advance(
                latest or timeline, [gone], now, None, batch=into, retry=self._alone(attempt)
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
                return self._advance(current, [], now, None, batch=into, retry=self._alone(attempt))
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
                current = _new_timeline(endpoint.arn, ResourceKind.ENDPOINT, endpoint.name)
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
            return self._advance(current, incoming, now, to_cache, batch=into, retry=self._alone(attempt))

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
                current = _new_timeline(arn, ResourceKind.NOTEBOOK_INSTANCE, name)
            volume = current.volume_gb
            if volume is None and lines_without_volume:
                volume = self.sagemaker.notebook_volume_gb(name)
                if volume is not None:
                    current = _with_volume(current, volume)
            kind_type = instance_type or current.instance_type
            lines = notebook_lines(status, kind_type, volume)
            incoming = _observed(current, status, lines, last_modified, now)
            current = current.model_copy(update={"instance_type": kind_type, "volume_gb": volume})
            return self._advance(current, incoming, now, None, batch=into, retry=self._alone(attempt))

        report.add(attempt(False, batch))


@dataclass
class SweepReport:
    resources: int = 0
    records: int = 0
    closed: int = 0
    transactions: int = 0
    retried_alone: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    sealed: list[SealedChange] = field(default_factory=list)
    """What the sweep saw change before the seal: usage it could not meter as it ran."""

    def add(self, result: MeteringResult, *, closed: bool = False) -> None:
        self.resources += 1
        self.sealed += result.sealed
        self.records += len(result.records)
        self.cost += result.cost
        self.unpriced += result.unpriced
        self.closed += closed


@dataclass
class PendingWrite:
    change: TimelineChange
    expected_version: int
    config: EndpointConfigSnapshot | None
    retry: Callable[[], MeteringResult]


class WriteBatch:
    """Sweep writes of many resources packed into as few transactions as DynamoDB allows.

    Each resource's timeline put stays conditional on its version, and the aggregate deltas of all
    resources in a transaction are merged, so an hourly sweep of N running resources costs about
    N / 30 transactions instead of N. If another writer changed one of the timelines first, the whole
    transaction is cancelled and each of its resources is redone alone from a fresh read.
    """

    def __init__(self, ledger: DynamoLedger, report: SweepReport, limit: int = TRANSACTION_LIMIT) -> None:
        self.ledger = ledger
        self.report = report
        self.limit = limit
        self.pending: list[PendingWrite] = []

    def _items(self, pending: Sequence[PendingWrite]) -> int:
        return len(self.ledger.batch_actions([(p.change, p.expected_version, p.config) for p in pending]))

    def add(self, write: PendingWrite) -> None:
        if self.pending and self._items([*self.pending, write]) > self.limit:
            self.flush()
        self.pending.append(write)

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        try:
            self.ledger.commit_many([(p.change, p.expected_version, p.config) for p in pending])
            self.report.transactions += 1
        except ConcurrentUpdate:
            for write in pending:
                write.retry()
                self.report.retried_alone += 1


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


def _new_timeline(arn: str, kind: ResourceKind, name: str, region: str = "") -> ResourceTimeline:
    """The empty timeline of a resource the ledger has not seen yet."""
    reference = ResourceRef.from_arn(arn, kind, name, fallback_region=region)
    return ResourceTimeline(resource=ResourceRefModel(**vars(reference)))


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


def _with_volume(timeline: ResourceTimeline, volume: int) -> ResourceTimeline:
    """The real ML volume size, now known: every unsealed storage line gets it, so usage is re-priced."""
    transitions = tuple(
        t.model_copy(
            update={
                "lines": tuple(
                    line.model_copy(update={"volume_gb": volume})
                    if line.component is Component.ML_STORAGE
                    else line
                    for line in t.lines
                )
            }
        )
        for t in timeline.transitions
    )
    return timeline.model_copy(update={"transitions": transitions, "volume_gb": volume})


def _with_tags(
    timeline: ResourceTimeline, from_event: dict[str, str] | None, at: datetime
) -> ResourceTimeline:
    """Tags as the newest state change has them, whatever order the events arrived in. Deletion events
    arrive with `{}`, which must not erase them."""
    if not from_event or (timeline.tags_at is not None and at < timeline.tags_at):
        return timeline
    return timeline.model_copy(update={"tags": from_event, "tags_at": at})


def _unchanged(before: ResourceTimeline, after: ResourceTimeline) -> bool:
    return before.model_dump(exclude={"version"}) == after.model_dump(exclude={"version"})


def _largest_step(
    timeline: ResourceTimeline,
    incoming: Sequence[Transition],
    until: datetime,
    limit: int,
    prices: PriceBook,
    tags: TagSnapshot,
) -> tuple[datetime, TimelineChange]:
    """How far one transaction can meter: `until` if the whole change fits `limit` writes, else the
    latest UTC midnight after what is already metered whose change (with the transitions up to it) fits.
    """
    change = advance(timeline, incoming, until, prices, tags)
    if change.writes <= limit:
        return until, change
    floor = timeline.metered_until or min(t.at for t in [*timeline.transitions, *incoming])
    midnights: list[datetime] = []
    candidate = next_midnight(floor)
    while candidate < until:
        midnights.append(candidate)
        candidate = next_midnight(candidate)
    best: tuple[datetime, TimelineChange] | None = None
    low, high = 0, len(midnights) - 1
    while low <= high:  # writes grow with the step: the last midnight that fits
        middle = (low + high) // 2
        step = midnights[middle]
        change = advance(timeline, [t for t in incoming if t.at <= step], step, prices, tags)
        if change.writes <= limit:
            best, low = (step, change), middle + 1
        else:
            high = middle - 1
    if best is None:
        raise ValueError(
            f"{timeline.resource.arn}: the change up to {floor.isoformat()} and the next midnight needs "
            f"more than the {limit} writes one transaction holds"
        )
    return best


def _collect(result: MeteringResult, change: TimelineChange) -> None:
    result.records += change.upserts
    if change.changes_ledger:
        result.outcome, result.detail = Outcome.RECORDED, "usage metered"
    elif result.outcome is Outcome.DUPLICATE:
        result.outcome, result.detail = Outcome.NOTHING_TO_METER, "state change noted; nothing billed yet"
