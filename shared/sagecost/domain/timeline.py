"""Metering for what runs on: endpoints and notebook instances, from their timeline of state changes.

A resource's usage is a pure function of its timeline (every state change, ordered by when it happened,
not by when it arrived) and of how far it has been metered (`until`). Usage is cut at every state
change and at every UTC midnight, so each usage record lies inside one day of one month, and adjacent
pieces with the same billing lines are merged. Because the cut points are fixed, the records are the
same whatever order the events arrived in and whenever the sweeps ran: a late event only amends the
records it falls in, with exact deltas to the month aggregates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from sagecost.domain.aggregates import AggregateDelta, aggregate_deltas, summarise
from sagecost.domain.kinds import inference_component
from sagecost.domain.metering import ResourceRef, priced_record
from sagecost.domain.money import micro
from sagecost.domain.periods import hours_between, hours_in_month, midnight, split_by_day
from sagecost.domain.pricing import PriceBook
from sagecost.models.ledger import TagSnapshot, UsageRecord
from sagecost.models.prices import Component
from sagecost.models.state import BillingLine, ResourceTimeline, SegmentSummary, Transition

SEAL_AFTER = timedelta(days=2)
"""Usage older than this (from the last midnight before `until`) is final: a later event cannot move it."""


@dataclass
class TimelineChange:
    """The new timeline and the exact ledger writes that bring the ledger in line with it."""

    timeline: ResourceTimeline
    upserts: list[UsageRecord] = field(default_factory=list)
    deletes: list[SegmentSummary] = field(default_factory=list)
    delete_ids: list[str] = field(default_factory=list)
    aggregate_deltas: list[AggregateDelta] = field(default_factory=list)
    too_late: list[Transition] = field(default_factory=list)
    duplicates: int = 0

    @property
    def writes(self) -> int:
        """Items a transaction must touch: records, aggregates, and the timeline itself."""
        return len(self.upserts) + len(self.delete_ids) + len(self.aggregate_deltas) + 1

    @property
    def changes_ledger(self) -> bool:
        return bool(self.upserts or self.delete_ids or self.aggregate_deltas)


@dataclass(frozen=True)
class _Piece:
    line: BillingLine
    start: datetime
    end: datetime
    event_ids: tuple[str, ...]


def _ordered(transitions: Sequence[Transition]) -> list[Transition]:
    return sorted(transitions, key=lambda t: t.order_key)


def _pieces(transitions: Sequence[Transition], start: datetime, end: datetime) -> Iterator[_Piece]:
    """Billing lines in force over [start, end), cut at every change and midnight, merged where equal."""
    changes = [t.at for t in transitions if start < t.at < end]
    cuts = sorted({start, end, *changes})
    open_pieces: dict[BillingLine, _Piece] = {}
    for cut_start, cut_end in pairwise(cuts):
        in_force = [t for t in transitions if t.at <= cut_start]
        state = in_force[-1] if in_force else None
        lines = state.lines if state else ()
        for day_start, day_end in split_by_day(cut_start, cut_end):
            still_open: dict[BillingLine, _Piece] = {}
            for line in lines:
                previous = open_pieces.pop(line, None)
                ids = (state.event_id,) if state else ()
                if previous and previous.end == day_start and midnight(previous.start) == midnight(day_start):
                    merged_ids = tuple(sorted({*previous.event_ids, *ids}))
                    still_open[line] = _Piece(line, previous.start, day_end, merged_ids)
                else:
                    if previous:
                        yield previous
                    still_open[line] = _Piece(line, day_start, day_end, ids)
            yield from open_pieces.values()
            open_pieces = still_open
    yield from open_pieces.values()


def _record(piece: _Piece, resource: ResourceRef, prices: PriceBook, tags: TagSnapshot) -> UsageRecord:
    line = piece.line
    hours = hours_between(piece.start, piece.end)
    if line.component is Component.ML_STORAGE:
        quantity = micro(Decimal((line.volume_gb or 0) * line.count) * hours / hours_in_month(piece.start))
        unit = "GB-month"
        notes: tuple[str, ...] = (f"{line.volume_gb} GB per instance",)
    else:
        quantity = micro(line.count * hours)
        unit = "instance-hour"
        notes = ()
    return priced_record(
        record_id=f"{resource.arn}#{line.line}#{piece.start.isoformat()}",
        resource=resource,
        component=line.component,
        line=line.line,
        instance_type=line.instance_type,
        instance_count=line.count,
        start=piece.start,
        end=piece.end,
        quantity=quantity,
        unit=unit,  # type: ignore[arg-type]
        prices=prices,
        tags=tags,
        event_ids=piece.event_ids,
        notes=notes,
    )


def hourly_cost(timeline: ResourceTimeline, prices: PriceBook, at: datetime) -> Decimal:
    """What the resource costs per hour in its current state (unpriced lines count as 0)."""
    current = timeline.current
    if current is None:
        return Decimal(0)
    resource = timeline.resource
    total = Decimal(0)
    for line in current.lines:
        price = prices.rate(resource.region, line.component, line.instance_type)
        if price is None:
            continue
        if line.component is Component.ML_STORAGE:
            total += price.usd * Decimal((line.volume_gb or 0) * line.count) / hours_in_month(at)
        else:
            total += price.usd * line.count
    return micro(total)


def meter_timeline(
    transitions: Sequence[Transition],
    resource: ResourceRef,
    start: datetime,
    end: datetime,
    prices: PriceBook,
    tags: TagSnapshot,
) -> list[UsageRecord]:
    """Every usage record of [start, end), from transitions in time order."""
    ordered = _ordered(transitions)
    records = [_record(piece, resource, prices, tags) for piece in _pieces(ordered, start, end)]
    return sorted((r for r in records if r.quantity > 0), key=lambda r: r.record_id)


def due_for_sweep(timeline: ResourceTimeline, now: datetime) -> bool:
    """Whether an hourly sweep should meter this timeline now.

    Instances are metered every hour, so running compute shows in the ledger within the hour; a
    resource whose only billing line is storage (a stopped notebook's volume, cents a day) is metered
    once per UTC day, which keeps the sweep's writes proportional to what actually runs.
    """
    current = timeline.current
    if current is None or timeline.metered_until is None:
        return True
    if any(line.component is not Component.ML_STORAGE for line in current.lines):
        return True
    return midnight(timeline.metered_until) < midnight(now)


def advance(
    timeline: ResourceTimeline,
    incoming: Sequence[Transition],
    until: datetime,
    prices: PriceBook,
    tags: TagSnapshot,
    *,
    seal_after: timedelta = SEAL_AFTER,
) -> TimelineChange:
    """Add transitions, meter up to `until` (never backwards), and say what the ledger must change.

    Duplicates of a known transition change nothing; transitions older than the sealed horizon are
    reported in `too_late` and not applied.
    """
    known = list(timeline.transitions)
    change = TimelineChange(timeline=timeline)
    for transition in incoming:
        if timeline.horizon is not None and transition.at < timeline.horizon:
            change.too_late.append(transition)
            continue
        twin = next((i for i, existing in enumerate(known) if transition.same_change(existing)), None)
        if twin is None:
            known.append(transition)
            continue
        change.duplicates += 1
        existing = known[twin]
        # several events for one change: the smallest id stands for it, whichever arrived first, and the
        # best-informed lines (no unknown instance type) price it
        lines = transition.lines if transition.unknown_lines < existing.unknown_lines else existing.lines
        event_id = min(transition.event_id, existing.event_id)
        if (lines, event_id) != (existing.lines, existing.event_id):
            known[twin] = existing.model_copy(update={"lines": lines, "event_id": event_id})
    transitions = _ordered(known)
    if not transitions:
        return change

    metered_until = max(until, timeline.metered_until) if timeline.metered_until else until
    window_start = timeline.horizon if timeline.horizon is not None else transitions[0].at
    resource = ResourceRef(**timeline.resource.model_dump())
    metered = meter_timeline(transitions, resource, window_start, metered_until, prices, tags)
    if timeline.inference_components:  # inference components (issue 12): hosting split by reserved compute
        metered = inference_component.split_records(metered, timeline.inference_components)
    records = {r.record_id: r for r in metered}

    upserts = [
        r
        for rid, r in records.items()
        if timeline.segments.get(rid, None) is None
        or timeline.segments[rid].fingerprint != summarise(r).fingerprint
    ]
    removed_ids = sorted(rid for rid in timeline.segments if rid not in records)
    replaced = [timeline.segments[r.record_id] for r in upserts if r.record_id in timeline.segments]
    removed = [timeline.segments[rid] for rid in removed_ids]
    change.upserts = upserts
    change.delete_ids = removed_ids
    change.deletes = removed
    change.aggregate_deltas = aggregate_deltas(upserts, [*replaced, *removed])

    segments = {rid: summarise(r) for rid, r in records.items()}
    horizon = timeline.horizon
    seal_at = midnight(metered_until) - seal_after
    if seal_at > (horizon or transitions[0].at):
        horizon = seal_at
        segments = {rid: s for rid, s in segments.items() if records[rid].start >= seal_at}
        base = [t for t in transitions if t.at <= seal_at]
        transitions = base[-1:] + [t for t in transitions if t.at > seal_at]

    change.timeline = timeline.model_copy(
        update={
            "transitions": tuple(transitions),
            "horizon": horizon,
            "metered_until": metered_until,
            "segments": segments,
            "version": timeline.version + 1,
        }
    )
    return change
