"""Writes usage to the ledger: a finished job's records, or a timeline's change, in as few conditional
DynamoDB transactions as it takes, with the month aggregates, retried after a concurrent writer. Every kind
goes through here; what a kind's events mean is its domain module's business (`domain.kinds`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sagecost.adapters.ledger import TRANSACTION_LIMIT, ConcurrentUpdate, DynamoLedger
from sagecost.domain.aggregates import aggregate_deltas, summarise
from sagecost.domain.metering import JobRun, ResourceRef, meter_job
from sagecost.domain.periods import next_midnight
from sagecost.domain.pricing import PriceBook
from sagecost.domain.tags import snapshot
from sagecost.domain.timeline import TimelineChange, advance
from sagecost.models.config import SagecostConfig
from sagecost.models.ledger import ResourceKind, TagSnapshot
from sagecost.models.prices import Component
from sagecost.models.state import EndpointConfigSnapshot, ResourceRefModel, ResourceTimeline, Transition
from sagecost.services.usage.results import MeteringResult, Outcome, SealedChange, Source, SweepReport

CONCURRENCY_ATTEMPTS = 4


class UsageWriter:
    """The one way usage reaches the ledger."""

    def __init__(
        self,
        ledger: DynamoLedger,
        prices: PriceBook,
        config: SagecostConfig,
        *,
        transaction_limit: int = TRANSACTION_LIMIT,
    ) -> None:
        self.ledger = ledger
        self.prices = prices
        self.config = config
        self.transaction_limit = transaction_limit

    def write_job(self, run: JobRun, tags: dict[str, str] | None) -> MeteringResult:
        """A finished job's records, all or nothing: a duplicate delivery writes nothing."""
        records = meter_job(run, self.prices, snapshot(tags, self.config.tag_keys))
        if not records:
            return MeteringResult(Outcome.NOTHING_TO_METER, "the job billed no time")
        if not self.ledger.put_job_records(records, aggregate_deltas(records)):
            return MeteringResult(Outcome.DUPLICATE, "already metered")
        return MeteringResult(Outcome.RECORDED, records=records)

    def with_retries(self, attempt: Callable[[bool], MeteringResult]) -> MeteringResult:
        """Run `attempt(reload)`; after another writer got there first, again with `reload=True`."""
        for tries in range(CONCURRENCY_ATTEMPTS - 1):
            try:
                return attempt(tries > 0)
            except ConcurrentUpdate:
                continue
        return attempt(True)

    def alone(
        self, attempt: Callable[[bool, WriteBatch | None], MeteringResult]
    ) -> Callable[[], MeteringResult]:
        """`attempt` redone on its own, from a fresh read: for a sweep write whose batch lost a race."""
        return lambda: self.with_retries(lambda _: attempt(True, None))

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

    def reattribute(self, arn: str, added: dict[str, str], at: datetime) -> MeteringResult:
        """Tags were added to a resource (by the tag enforcer) after some of its usage was recorded: that
        usage moves to them. Added tags fill what a record lacked; they never overwrite a value."""
        timeline, _ = self.ledger.load_timeline(arn)
        if timeline is not None:
            retagged = with_tags(timeline, {**timeline.tags, **added}, max(at, timeline.tags_at or at))
            return self.with_retries(lambda _: self.advance(retagged, [], timeline.metered_until or at, None))
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

    def advance(
        self,
        timeline: ResourceTimeline,
        incoming: Sequence[Transition],
        until: datetime,
        config_to_cache: EndpointConfigSnapshot | None,
        *,
        batch: WriteBatch | None = None,
        retry: Callable[[], MeteringResult] | None = None,
        also: Sequence[tuple[ResourceTimeline, int]] = (),
    ) -> MeteringResult:
        """Meter the timeline up to `until` in as many transactions as it takes (one, nearly always).

        When the change does not fit one transaction (many lines, a long gap since the last metering),
        it is written in steps that end at UTC midnights, each step as large as a transaction holds.
        A step holds only the state changes up to its end, so each committed step is a ledger that is
        right on its own: a resource still billing stays open, and should the writer stop between steps
        the next sweep or the redelivered event meters the rest.

        With a `batch` (the sweep), the change's last step joins the batch's next transaction instead,
        and `retry` redoes it alone should that transaction lose a race with another writer.

        `also` (inference components, issue 12): other timelines, as (timeline, expected version), put in
        the first transaction that writes (never batched), which then holds that many fewer of the change's
        own writes. Nothing is written when the change is a duplicate.
        """
        tags = snapshot(timeline.tags, self.config.tag_keys)
        result = MeteringResult(Outcome.DUPLICATE, "no change")
        remaining = list(incoming)
        while True:
            limit = self.transaction_limit - (config_to_cache is not None) - len(also)
            step, change = _largest_step(timeline, remaining, until, limit, self.prices, tags)
            result.sealed += [SealedChange(timeline.resource.arn, t) for t in change.too_late]
            if _unchanged(timeline, change.timeline):
                return result  # a duplicate delivery: nothing to write
            if batch is not None and retry is not None and step >= until and not also:
                batch.add(PendingWrite(change, timeline.version, config_to_cache, retry))
                _collect(result, change)
                return result
            self.ledger.commit(change, timeline.version, config=config_to_cache, also=also)
            config_to_cache, also = None, ()
            _collect(result, change)
            if step >= until:
                return result
            timeline, remaining = change.timeline, [t for t in remaining if t.at > step]


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


def new_timeline(arn: str, kind: ResourceKind, name: str, region: str = "") -> ResourceTimeline:
    """The empty timeline of a resource the ledger has not seen yet."""
    reference = ResourceRef.from_arn(arn, kind, name, fallback_region=region)
    return ResourceTimeline(resource=ResourceRefModel(**vars(reference)))


def with_volume(timeline: ResourceTimeline, volume: int) -> ResourceTimeline:
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


def with_tags(
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
