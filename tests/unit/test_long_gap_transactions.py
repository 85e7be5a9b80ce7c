"""Property: an endpoint of any number of variants, metered after a gap of any length (sweeper down,
events late), gets every instance-hour exactly, in as many transactions as it takes, each within the
transaction limit, each a consistent ledger on its own: a writer that stops between two of them loses
nothing once the event is redelivered. Run on an in-memory ledger that keeps DynamoDB's rules (item
limit, conditional versions, one update per aggregate item) so hundreds of histories run in seconds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagecost.adapters.ledger import ConcurrentUpdate, DynamoLedger
from sagecost.adapters.sagemaker import SageMakerReader
from sagecost.domain.aggregates import AggregateKey, merge_deltas
from sagecost.domain.pricing import PriceBook
from sagecost.domain.timeline import TimelineChange
from sagecost.local import events
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension, UsageRecord
from sagecost.models.prices import Component
from sagecost.models.state import EndpointConfigSnapshot, ResourceTimeline
from sagecost.services.usage import UsageMeter

START = datetime(2026, 10, 20, tzinfo=UTC)  # gaps of up to 40 days cross one or two month ends
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}


class WriterStopped(Exception):
    """The function died between two transactions (timeout, crash)."""


class MemoryLedger(DynamoLedger):
    """The timeline part of the ledger in memory, with DynamoDB's transaction rules."""

    def __init__(self, limit: int, stop_after: int | None = None) -> None:
        super().__init__(cast(Any, None), "memory")
        self.limit = limit
        self.stop_after = stop_after
        self.transactions = 0
        self.largest = 0
        self.timelines: dict[str, ResourceTimeline] = {}
        self.configs: dict[str, EndpointConfigSnapshot] = {}
        self.usage: dict[str, UsageRecord] = {}
        self.totals: dict[AggregateKey, Decimal] = defaultdict(Decimal)

    def load_timeline(
        self, arn: str, *, config_arn: str | None = None
    ) -> tuple[ResourceTimeline | None, EndpointConfigSnapshot | None]:
        return self.timelines.get(arn), self.configs.get(config_arn or "")

    def put_endpoint_config(self, config: EndpointConfigSnapshot) -> None:
        self.configs[config.arn] = config

    def commit_many(
        self, changes: Sequence[tuple[TimelineChange, int, EndpointConfigSnapshot | None]]
    ) -> None:
        if self.stop_after is not None and self.transactions >= self.stop_after:
            self.stop_after = None
            raise WriterStopped
        items = len(self.batch_actions(changes))
        self.largest = max(self.largest, items)
        assert items <= self.limit, f"{items} items in one transaction, the limit is {self.limit}"
        for change, expected, _ in changes:
            stored = self.timelines.get(change.timeline.resource.arn)
            if (stored.version if stored else 0) != expected:
                raise ConcurrentUpdate(change.timeline.resource.arn)
        for change, _, config in changes:
            self.timelines[change.timeline.resource.arn] = change.timeline
            for record in change.upserts:
                self.usage[record.record_id] = record
            for record_id in change.delete_ids:
                del self.usage[record_id]
            if config is not None:
                self.configs[config.arn] = config
        for delta in merge_deltas(d for change, _, _ in changes for d in change.aggregate_deltas):
            self.totals[delta.key] += delta.cost
        self.transactions += 1


def endpoint_feed(
    variant_count: int, volume_gb: int | None, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    names = [f"v{i}" for i in range(variant_count)]
    counts = [(name, 1) for name in names]
    return [
        events.endpoint_config(
            "cfg-wide",
            [(n, "ml.m5.xlarge", 1) for n in names],
            at=start - timedelta(minutes=5),
            volume_gb=volume_gb,
        ),
        events.endpoint(
            "ep-wide", "IN_SERVICE", at=start, config_name="cfg-wide", variants=counts, tags=TAGS
        ),
        events.endpoint("ep-wide", "DELETING", at=end, config_name="cfg-wide", variants=counts, tags=TAGS),
    ]


def record_all(meter: UsageMeter, feed: list[dict[str, Any]]) -> None:
    for raw in feed:
        meter.record(parse_event(raw))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    variant_count=st.integers(1, 12),
    with_storage=st.booleans(),
    start_quarters=st.integers(0, 4 * 24 - 1),
    gap_hours=st.integers(1, 40 * 24),
    limit_fraction=st.floats(0, 1),
    stop_after=st.none() | st.integers(0, 4),
)
def test_every_instance_hour_of_a_long_gap_is_metered_once(
    prices: PriceBook,
    variant_count: int,
    with_storage: bool,
    start_quarters: int,
    gap_hours: int,
    limit_fraction: float,
    stop_after: int | None,
) -> None:
    # Given an endpoint of N one-instance variants in service from `start`, deleted `gap_hours` later,
    # with nothing metered in between, and a transaction limit anywhere from one day's writes to 100
    start = START + timedelta(minutes=15 * start_quarters)
    end = start + timedelta(hours=gap_hours)
    volume = 30 if with_storage else None
    feed = endpoint_feed(variant_count, volume, start, end)
    sagemaker = cast(SageMakerReader, None)  # every instance type is in the config event: no reads
    one_day = MemoryLedger(10_000)
    record_all(
        UsageMeter(one_day, sagemaker, prices, SagecostConfig()),
        endpoint_feed(variant_count, volume, START, START + timedelta(days=1)),
    )
    assert one_day.largest <= 100, "one day of 12 variants fits one DynamoDB transaction"
    limit = one_day.largest + round(limit_fraction * (100 - one_day.largest))
    at_once = MemoryLedger(10_000)
    record_all(UsageMeter(at_once, sagemaker, prices, SagecostConfig()), feed)
    ledger = MemoryLedger(limit, stop_after=stop_after)
    meter = UsageMeter(ledger, sagemaker, prices, SagecostConfig(), transaction_limit=limit)

    # When the events are recorded, the writer possibly stopping between two transactions, and SQS
    # redelivering the event that failed
    for raw in feed:
        try:
            meter.record(parse_event(raw))
        except WriterStopped:
            assert all(t.is_billing for t in ledger.timelines.values()), "half-metered stays open to sweeps"
            meter.record(parse_event(raw))

    # Then every instance-hour is metered once: the records are those of metering it all in one
    # transaction, and the month aggregates add up to them
    hosting = sum(r.quantity for r in ledger.usage.values() if r.component is Component.HOSTING)
    assert hosting == variant_count * gap_hours
    (timeline,) = ledger.timelines.values()
    assert timeline.metered_until == end and not timeline.is_billing
    assert ledger.usage == at_once.usage
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for record in ledger.usage.values():
        by_month[record.month] += record.cost or Decimal(0)
    for dimension in (Dimension.PROJECT, Dimension.TEAM, Dimension.COST_CENTER, Dimension.ALLOCATION):
        aggregated: dict[str, Decimal] = defaultdict(Decimal)
        for key, cost in ledger.totals.items():
            if key.dimension is dimension:
                aggregated[key.month] += cost
        assert dict(aggregated) == dict(by_month)
