"""Month aggregates: how a set of added and removed usage records moves each (month, dimension, value)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sagecost.models.ledger import (
    Dimension,
    ResourceKind,
    ResourceLine,
    TagSnapshot,
    UsageRecord,
    UsageUnit,
)
from sagecost.models.state import SegmentSummary

ZERO = Decimal(0)
JOB_KINDS = frozenset({ResourceKind.TRAINING_JOB, ResourceKind.PROCESSING_JOB, ResourceKind.TRANSFORM_JOB})


@dataclass(frozen=True)
class AggregateKey:
    month: str
    dimension: Dimension
    value: str


@dataclass
class AggregateDelta:
    """Signed change to one aggregate item. Unpriced usage moves `unpriced_*`, never `cost`.

    `quantity` moves only on `resource` lines, whose usage all has one unit. `job_cost` is the part of
    `cost` that finished jobs (training, processing, transform) spent: the budget forecast's trend.
    """

    key: AggregateKey
    cost: Decimal = ZERO
    records: int = 0
    unpriced_records: int = 0
    unpriced_instance_hours: Decimal = ZERO
    quantity: Decimal = ZERO
    job_cost: Decimal = ZERO

    @property
    def is_zero(self) -> bool:
        return (
            self.cost,
            self.records,
            self.unpriced_records,
            self.unpriced_instance_hours,
            self.quantity,
            self.job_cost,
        ) == (ZERO, 0, 0, ZERO, ZERO, ZERO)


def summarise(record: UsageRecord) -> SegmentSummary:
    return SegmentSummary(
        month=record.month,
        cost=record.cost,
        quantity=record.quantity,
        unit=record.unit,
        tags=record.tags,
        fingerprint=hashlib.sha256(record.model_dump_json().encode()).hexdigest()[:24],
        resource_line=ResourceLine.of(record).key,
        is_job=record.resource_kind in JOB_KINDS,
    )


def _apply(
    deltas: dict[AggregateKey, AggregateDelta],
    *,
    month: str,
    cost: Decimal | None,
    quantity: Decimal,
    unit: UsageUnit,
    tags: TagSnapshot,
    resource_line: str | None,
    is_job: bool,
    sign: int,
) -> None:
    values = tags.dimension_values()
    if resource_line is not None:
        values[Dimension.RESOURCE] = resource_line
    for dimension, value in values.items():
        key = AggregateKey(month, dimension, value)
        delta = deltas.setdefault(key, AggregateDelta(key))
        delta.records += sign
        if dimension is Dimension.RESOURCE:
            delta.quantity += sign * quantity
        if cost is None:
            delta.unpriced_records += sign
            if unit == "instance-hour":
                delta.unpriced_instance_hours += sign * quantity
        else:
            delta.cost += sign * cost
            if is_job:
                delta.job_cost += sign * cost


def aggregate_deltas(
    added: Iterable[UsageRecord], removed: Iterable[SegmentSummary] = ()
) -> list[AggregateDelta]:
    """Net change per aggregate item, merged so each item appears once (a transaction touches it once)."""
    deltas: dict[AggregateKey, AggregateDelta] = {}
    for old in removed:
        _apply(
            deltas,
            month=old.month,
            cost=old.cost,
            quantity=old.quantity,
            unit=old.unit,
            tags=old.tags,
            resource_line=old.resource_line,
            is_job=old.is_job,
            sign=-1,
        )
    for record in added:
        _apply(
            deltas,
            month=record.month,
            cost=record.cost,
            quantity=record.quantity,
            unit=record.unit,
            tags=record.tags,
            resource_line=ResourceLine.of(record).key,
            is_job=record.resource_kind in JOB_KINDS,
            sign=1,
        )
    return merge_deltas(deltas.values())


def merge_deltas(deltas: Iterable[AggregateDelta]) -> list[AggregateDelta]:
    """Deltas of several changes summed per aggregate item (a transaction may touch an item once)."""
    merged: dict[AggregateKey, AggregateDelta] = {}
    for delta in deltas:
        total = merged.setdefault(delta.key, AggregateDelta(delta.key))
        total.cost += delta.cost
        total.records += delta.records
        total.unpriced_records += delta.unpriced_records
        total.unpriced_instance_hours += delta.unpriced_instance_hours
        total.quantity += delta.quantity
        total.job_cost += delta.job_cost
    return sorted(
        (delta for delta in merged.values() if not delta.is_zero),
        key=lambda d: (d.key.month, d.key.dimension, d.key.value),
    )
