"""Properties of the pure timeline: however state changes arrive (late, twice, in any order, between
sweeps), an endpoint's or notebook's usage ends up exactly what metering its whole history at once
gives, and every cent an increment added or took back is accounted for in the month aggregates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagecost.domain.aggregates import AggregateDelta, AggregateKey, aggregate_deltas
from sagecost.domain.kinds.endpoint import endpoint_lines
from sagecost.domain.kinds.notebook import notebook_lines
from sagecost.domain.metering import ResourceRef
from sagecost.domain.periods import next_midnight
from sagecost.domain.pricing import PriceBook
from sagecost.domain.timeline import TimelineChange, advance, meter_timeline
from sagecost.models.ledger import ResourceKind, TagSnapshot, UsageRecord, month_of
from sagecost.models.state import (
    EndpointConfigSnapshot,
    ResourceRefModel,
    ResourceTimeline,
    Transition,
    VariantSpec,
)

ACCOUNT = "111122223333"
START = datetime(2026, 10, 30, tzinfo=UTC)  # histories run across the October / November month end
TAGS = TagSnapshot(project="fraud", team="risk", cost_center="cc-1")
NEVER_SEAL = timedelta(days=3650)

ENDPOINT = ResourceRefModel(
    arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ep-1",
    kind=ResourceKind.ENDPOINT,
    name="ep-1",
    region="us-east-1",
    account=ACCOUNT,
)
NOTEBOOK = ResourceRefModel(
    arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/nb-1",
    kind=ResourceKind.NOTEBOOK_INSTANCE,
    name="nb-1",
    region="us-east-1",
    account=ACCOUNT,
)
# A priced variant with ML storage and one whose instance type the catalog cannot price.
CONFIG = EndpointConfigSnapshot(
    name="cfg-1",
    arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/cfg-1",
    variants=(
        VariantSpec(name="A", instance_type="ml.m5.xlarge", initial_count=1, volume_gb=10),
        VariantSpec(name="B", instance_type="ml.x99.mega", initial_count=1),
    ),
)
ENDPOINT_STATUSES = (
    "CREATING",
    "IN_SERVICE",
    "UPDATING",
    "SYSTEM_UPDATING",
    "OUT_OF_SERVICE",
    "DELETING",
    "FAILED",
)
NOTEBOOK_STATUSES = (
    "Pending",
    "InService",
    "Stopping",
    "Stopped",
    "Updating",
    "Deleting",
    "Deleted",
    "Failed",
)


@dataclass(frozen=True)
class History:
    resource: ResourceRefModel
    transitions: tuple[Transition, ...]

    @property
    def first(self) -> datetime:
        return min(t.at for t in self.transitions)

    @property
    def last(self) -> datetime:
        return max(t.at for t in self.transitions)


@st.composite
def histories(draw: st.DrawFn, *, days: int) -> History:
    """Up to 8 state changes of one endpoint or notebook within `days` days, minutes apart or at the same
    instant, often on a midnight. Each change has one event id (its redeliveries are exact copies)."""
    resource = draw(st.sampled_from((ENDPOINT, NOTEBOOK)))
    minutes = st.one_of(
        st.integers(min_value=0, max_value=days * 1440),
        st.integers(min_value=0, max_value=days).map(lambda day: day * 1440),  # exactly midnight
    )
    statuses = ENDPOINT_STATUSES if resource is ENDPOINT else NOTEBOOK_STATUSES
    raw = draw(
        st.lists(
            st.tuples(minutes, st.sampled_from(statuses), st.integers(0, 3), st.integers(0, 2)),
            min_size=1,
            max_size=8,
        )
    )
    changes: dict[tuple[object, ...], Transition] = {}
    for index, (minute, status, count_a, count_b) in enumerate(raw):
        counts: tuple[tuple[str | None, int | None], ...] = ()
        if resource is ENDPOINT:
            counts = (("A", count_a), ("B", count_b))
            lines = endpoint_lines(status, counts, CONFIG)
        else:
            lines = notebook_lines(status, "ml.t3.medium", 20)
        transition = Transition(
            at=START + timedelta(minutes=minute),
            status=status,
            lines=lines,
            event_id=f"event-{index}",
            variant_counts=counts,  # what the event reported: a change is (when, status, counts)
        )
        changes.setdefault((transition.at, transition.status, transition.variant_counts), transition)
    return History(resource, tuple(changes.values()))


@dataclass
class Replay:
    """A ledger kept only from what `advance` told it to write, as the DynamoDB ledger is."""

    timeline: ResourceTimeline
    prices: PriceBook
    seal_after: timedelta
    records: dict[str, UsageRecord]
    deltas: list[AggregateDelta]
    too_late: int = 0

    def step(self, incoming: list[Transition], until: datetime) -> None:
        change: TimelineChange = advance(
            self.timeline, incoming, until, self.prices, TAGS, seal_after=self.seal_after
        )
        for record_id in change.delete_ids:
            assert record_id in self.records, "a delete of a record that was never written"
            del self.records[record_id]
        for record in change.upserts:
            self.records[record.record_id] = record
        self.deltas += change.aggregate_deltas
        self.too_late += len(change.too_late)
        self.timeline = change.timeline


def replay(history: History, prices: PriceBook, seal_after: timedelta) -> Replay:
    return Replay(ResourceTimeline(resource=history.resource), prices, seal_after, {}, [])


def all_at_once(history: History, end: datetime, prices: PriceBook) -> dict[str, UsageRecord]:
    resource = ResourceRef(**history.resource.model_dump())
    records = meter_timeline(history.transitions, resource, history.first, end, prices, TAGS)
    return {r.record_id: r for r in records}


def summed(deltas: list[AggregateDelta]) -> dict[AggregateKey, tuple[Decimal, int, int, Decimal]]:
    totals: dict[AggregateKey, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    for delta in deltas:
        total = totals[delta.key]
        total[0] += delta.cost
        total[1] += delta.records
        total[2] += delta.unpriced_records
        total[3] += delta.unpriced_instance_hours
    return {
        key: (cost, int(records), int(unpriced), hours)
        for key, (cost, records, unpriced, hours) in totals.items()
        if any((cost, records, unpriced, hours))
    }


def assert_well_formed(records: dict[str, UsageRecord]) -> None:
    """Every record inside one UTC day (so one month), and no two records of a line overlapping."""
    by_line: dict[str, list[UsageRecord]] = defaultdict(list)
    for record_id, record in records.items():
        assert record.record_id == record_id
        assert record.start < record.end <= next_midnight(record.start), record_id
        assert record.month == month_of(record.start)
        assert record.quantity > 0
        by_line[record.line].append(record)
    for line_records in by_line.values():
        ordered = sorted(line_records, key=lambda r: r.start)
        for before, after in pairwise(ordered):
            assert before.end <= after.start, f"{before.record_id} overlaps {after.record_id}"


def assert_same_ledger(replayed: Replay, expected: dict[str, UsageRecord]) -> None:
    assert sorted(replayed.records) == sorted(expected)
    for record_id, record in expected.items():
        assert replayed.records[record_id] == record, record_id
    # money conserved: the increments add up to the aggregates of the final records, item by item
    assert summed(replayed.deltas) == summed(aggregate_deltas(expected.values()))


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(data=st.data(), history=histories(days=3))
def test_any_arrival_order_with_duplicates_and_sweeps_meters_what_the_whole_history_does(
    prices: PriceBook, data: st.DataObject, history: History
) -> None:
    # Given every change delivered 1 to 3 times, in any order, with sweeps at arbitrary moments between
    copies = [t for t in history.transitions for _ in range(data.draw(st.integers(1, 3), label="copies"))]
    order = data.draw(st.permutations(copies), label="arrival order")
    sweep_at = st.integers(0, 4 * 1440).map(lambda minute: START + timedelta(minutes=minute))
    end = START + timedelta(days=4)
    replayed = replay(history, prices, NEVER_SEAL)
    for transition in order:
        for until in data.draw(st.lists(sweep_at, max_size=2), label="sweeps before it"):
            replayed.step([], until)
        replayed.step([transition], transition.at)  # the recorder meters up to the change it records
    # When a last sweep meters up to the end
    replayed.step([], end)
    # Then the ledger is what metering the whole history at once gives, and no money went astray
    expected = all_at_once(history, end, prices)
    assert replayed.too_late == 0
    assert_same_ledger(replayed, expected)
    assert_well_formed(replayed.records)


@FAST
@given(data=st.data(), history=histories(days=6))
def test_with_sealing_changes_arriving_within_a_day_still_give_the_whole_history(
    prices: PriceBook, data: st.DataObject, history: History
) -> None:
    # Given each change (and its duplicates) delivered up to a day late, sweeps in between, and usage
    # sealed two days behind the sweeps (so no change that late can be refused)
    late = st.integers(0, 1439).map(lambda minutes: timedelta(minutes=minutes))
    deliveries = [
        (t.at + data.draw(late, label="delay"), 1, t)
        for t in history.transitions
        for _ in range(data.draw(st.integers(1, 3), label="copies"))
    ]
    sweeps = data.draw(
        st.lists(st.integers(0, 7 * 24).map(lambda hour: START + timedelta(hours=hour)), max_size=12),
        label="sweeps",
    )
    timetable: list[tuple[datetime, int, Transition | None]] = [
        *deliveries,
        *((moment, 0, None) for moment in sweeps),
    ]
    end = START + timedelta(days=7)
    replayed = replay(history, prices, timedelta(days=2))
    for moment, _, transition in sorted(timetable, key=lambda item: (item[0], item[1])):
        if transition is None:
            replayed.step([], moment)
        else:
            replayed.step([transition], transition.at)
    replayed.step([], end)
    # Then nothing was refused as too late, and the ledger is the whole history's
    assert replayed.too_late == 0
    assert_same_ledger(replayed, all_at_once(history, end, prices))
    assert_well_formed(replayed.records)


@FAST
@given(data=st.data(), history=histories(days=3))
def test_several_events_for_one_change_give_the_same_ledger_whichever_arrives_first(
    prices: PriceBook, data: st.DataObject, history: History
) -> None:
    # Given some changes announced twice, by events with different ids (SageMaker may send several)
    twins = [
        t.model_copy(
            update={"event_id": data.draw(st.sampled_from(("0-", "z-")), label="twin id") + t.event_id}
        )
        for t in history.transitions
        if data.draw(st.booleans(), label="announced twice")
    ]
    end = START + timedelta(days=4)
    ledgers = []
    for label in ("one arrival order", "another arrival order"):
        replayed = replay(history, prices, NEVER_SEAL)
        for transition in data.draw(st.permutations([*history.transitions, *twins]), label=label):
            replayed.step([transition], transition.at)
        replayed.step([], end)
        assert summed(replayed.deltas) == summed(aggregate_deltas(replayed.records.values()))
        ledgers.append(replayed.records)
    # Then the ledgers are identical, event ids included, and bill what the history bills
    assert ledgers[0] == ledgers[1]
    billed = {record_id: (r.quantity, r.cost) for record_id, r in ledgers[0].items()}
    assert billed == {
        record_id: (r.quantity, r.cost) for record_id, r in all_at_once(history, end, prices).items()
    }


@FAST
@given(history=histories(days=4), cut=st.integers(0, 5 * 1440 - 1))
def test_records_never_overlap_never_cross_midnight_and_sum_the_lines_in_force(
    prices: PriceBook, history: History, cut: int
) -> None:
    end = START + timedelta(days=5)
    records = all_at_once(history, end, prices)
    assert_well_formed(records)
    # the instance-hours of a line over any stretch are its count times the hours it was in force
    at = START + timedelta(minutes=cut)
    ordered = sorted(history.transitions, key=lambda t: t.order_key)
    in_force = [t for t in ordered if t.at <= at]
    if in_force:
        for line in in_force[-1].lines:
            covering = [r for r in records.values() if r.line == line.line and r.start <= at < r.end]
            assert len(covering) == 1, f"{line.line} at {at} is billed by {len(covering)} records"
            assert covering[0].instance_count == line.count


def test_a_history_delivered_backwards_between_hourly_sweeps_meters_the_same(prices: PriceBook) -> None:
    # a worked example of the first property, so a failure has a readable counterpart
    transitions = tuple(
        Transition(
            at=START + timedelta(hours=hours),
            status=status,
            lines=endpoint_lines(status, [("A", count), ("B", 0)], CONFIG),
            event_id=f"event-{index}",
        )
        for index, (hours, status, count) in enumerate(
            [
                (1, "CREATING", 1),
                (2, "IN_SERVICE", 1),
                (30, "UPDATING", 3),
                (31, "IN_SERVICE", 3),
                (50, "DELETING", 3),
            ]
        )
    )
    history = History(ENDPOINT, transitions)
    replayed = replay(history, prices, NEVER_SEAL)
    hour = START
    for transition in reversed(transitions):
        replayed.step([transition], transition.at)
        replayed.step([transition], transition.at)
        hour += timedelta(hours=1)
        replayed.step([], hour)
    end = START + timedelta(days=3)
    replayed.step([], end)
    expected = all_at_once(history, end, prices)
    assert_same_ledger(replayed, expected)
    # 2 -> 30 h at 1 instance, 30 -> 50 h at 3: 28 + 60 instance-hours of variant A, priced at 0.23
    compute = [r for r in expected.values() if r.line == "variant/A"]
    assert sum(r.quantity for r in compute) == Decimal(88)
    assert sum(r.cost or 0 for r in compute) == Decimal("20.24")
