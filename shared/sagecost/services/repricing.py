"""`sagecost reprice --month M`: a month's usage records and aggregates re-priced after a price change.

Each record whose catalog rate changed is rewritten with the new unit price and cost, and the aggregates it
counts in move by exactly the difference, in the same transaction. A record still cached in its resource's
timeline (the last two days of an endpoint or notebook) has its cached summary rewritten too, conditional on
the timeline's version, so a later event or sweep takes back the new amount, not the old one. A rate the
catalog no longer has leaves the record as it is. Run twice, the second run finds nothing to change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from sagecost.domain.aggregates import AggregateDelta, AggregateKey, aggregate_deltas, summarise
from sagecost.domain.money import micro
from sagecost.domain.pricing import PriceBook
from sagecost.models.ledger import UsageRecord
from sagecost.models.state import ResourceTimeline

TRANSACTION_LIMIT = 100
ZERO = Decimal(0)

Repriced = tuple[UsageRecord, UsageRecord]
"""(the record as the ledger holds it, the same record at the new rate)."""


class RepricingLedger(Protocol):
    def records(self, month: str | None = None) -> Iterator[UsageRecord]: ...
    def load_timelines(self, arns: Sequence[str]) -> dict[str, ResourceTimeline]: ...
    def reprice(
        self,
        changes: Sequence[Repriced],
        deltas: Sequence[AggregateDelta],
        timeline: tuple[ResourceTimeline, int] | None = None,
    ) -> None: ...


@dataclass
class RepriceReport:
    month: str
    records: int = 0
    repriced: int = 0
    newly_priced: int = 0
    delta: Decimal = ZERO
    by_project: dict[str, Decimal] = field(default_factory=dict)


def repriced(record: UsageRecord, prices: PriceBook) -> UsageRecord | None:
    """The record at the catalog's current rate, or None when that changes nothing (or the rate is gone)."""
    price = prices.rate(record.region, record.component, record.instance_type)
    if price is None or price.usd == record.unit_price:
        return None
    return record.model_copy(
        update={
            "unit_price": price.usd,
            "price_source": f"{price.source}@{price.as_of.isoformat()}",
            "cost": micro(record.quantity * price.usd),
        }
    )


def _chunks(changes: Sequence[Repriced], room: int) -> Iterator[tuple[list[Repriced], list[AggregateDelta]]]:
    """Groups of changes whose records and merged aggregate updates fit `room` transaction items. A group's
    aggregate items are counted as the union of its changes' keys (at least as many as the merged, nonzero
    updates), so each change's deltas are computed once and a group's once."""
    group: list[Repriced] = []
    keys: set[AggregateKey] = set()
    for change in changes:
        change_keys = {delta.key for delta in _deltas([change])}
        if group and len(group) + 1 + len(keys | change_keys) > room:
            yield group, _deltas(group)
            group, keys = [], set()
        group.append(change)
        keys |= change_keys
    if group:
        yield group, _deltas(group)


def _deltas(changes: Sequence[Repriced]) -> list[AggregateDelta]:
    return [
        d
        for d in aggregate_deltas(
            [after for _, after in changes], [summarise(before) for before, _ in changes]
        )
        if not d.is_zero
    ]


def reprice_month(ledger: RepricingLedger, prices: PriceBook, month: str) -> RepriceReport:
    report = RepriceReport(month=month)
    by_resource: dict[str, list[Repriced]] = defaultdict(list)
    for record in ledger.records(month):
        report.records += 1
        after = repriced(record, prices)
        if after is not None:
            by_resource[record.resource_arn].append((record, after))
    timelines = ledger.load_timelines(sorted(by_resource)) if by_resource else {}
    for arn, changes in sorted(by_resource.items()):
        timeline = timelines.get(arn)
        cached_ids = timeline.segments.keys() if timeline is not None else frozenset[str]()
        cached = [c for c in changes if c[0].record_id in cached_ids]
        sealed = [c for c in changes if c[0].record_id not in cached_ids]
        for group, deltas in _chunks(sealed, TRANSACTION_LIMIT):
            ledger.reprice(group, deltas)
        if cached and timeline is not None:
            segments = dict(timeline.segments) | {after.record_id: summarise(after) for _, after in cached}
            updated = timeline.model_copy(update={"segments": segments, "version": timeline.version + 1})
            deltas = _deltas(cached)
            if len(cached) + len(deltas) + 1 > TRANSACTION_LIMIT:
                raise ValueError(f"{arn}: {len(cached)} cached records do not fit one transaction")
            ledger.reprice(cached, deltas, (updated, timeline.version))
        for before, after in changes:
            report.repriced += 1
            report.newly_priced += before.cost is None
            difference = (after.cost or ZERO) - (before.cost or ZERO)
            report.delta += difference
            project = after.tags.project or "(untagged)"
            report.by_project[project] = report.by_project.get(project, ZERO) + difference
    return report
