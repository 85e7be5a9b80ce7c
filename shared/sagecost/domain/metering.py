"""Metering rules for jobs: training, processing and batch transform, metered once at their terminal state.

Training: `BillableTimeInSeconds x InstanceCount x rate` (managed spot is already in the billable time),
summed over instance groups for heterogeneous clusters. Processing and transform: `(end - start) x
InstanceCount x rate`. ML storage volumes: `GB x instances x time` at the GB-month rate. Usage is split
between UTC months pro rata by wall time, so it lands in the month it happened, like the bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sagecost.domain.money import micro
from sagecost.domain.periods import (
    SECONDS_PER_HOUR,
    hours_between,
    hours_in_month,
    seconds_between,
    split_by_month,
)
from sagecost.domain.pricing import PriceBook
from sagecost.models.events import InvalidEvent
from sagecost.models.ledger import ResourceKind, TagSnapshot, UsageRecord, UsageUnit, month_of
from sagecost.models.prices import Component, storage_type

TERMINAL_JOB_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
"""A job in one of these states has finished: its bill is final."""


@dataclass(frozen=True)
class ResourceRef:
    """A SageMaker resource by ARN, with the region and account the ARN names."""

    arn: str
    kind: ResourceKind
    name: str
    region: str
    account: str

    @classmethod
    def from_arn(cls, arn: str, kind: ResourceKind, name: str, *, fallback_region: str = "") -> ResourceRef:
        """Raises InvalidEvent (a ValueError) for what is no SageMaker ARN: the recorder rejects the event
        rather than failing it on every retry. (Events are checked on intake; this is the last guard.)"""
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != "sagemaker":
            raise InvalidEvent(f"not a SageMaker ARN: {arn!r}")
        return cls(arn=arn, kind=kind, name=name, region=parts[3] or fallback_region, account=parts[4])


@dataclass(frozen=True)
class InstanceLine:
    """Instances of one type that bill together: a job's cluster, one group of a heterogeneous cluster."""

    line: str
    instance_type: str
    count: int


@dataclass(frozen=True)
class JobFigures:
    """What a job's Describe call says it ran on, and when: for events that lack the figures."""

    instances: tuple[InstanceLine, ...]
    start: datetime | None
    end: datetime | None


def instance_lines(resource_config: Mapping[str, Any]) -> tuple[InstanceLine, ...]:
    """Instance lines of a training ResourceConfig: one per instance group, or the single cluster."""
    groups = resource_config.get("InstanceGroups") or []
    if groups:
        return tuple(
            InstanceLine(f"group/{g.get('InstanceGroupName', i)}", g["InstanceType"], int(g["InstanceCount"]))
            for i, g in enumerate(groups)
        )
    if resource_config.get("InstanceType"):
        return (
            InstanceLine(
                "compute", resource_config["InstanceType"], int(resource_config.get("InstanceCount", 1))
            ),
        )
    return ()


def transform_lines(resources: Mapping[str, Any]) -> tuple[InstanceLine, ...]:
    """The instance line of a transform job's `TransformResources` (empty when it names no type)."""
    if not resources.get("InstanceType"):
        return ()
    count = int(resources.get("InstanceCount") or 1)
    return (InstanceLine("compute", str(resources["InstanceType"]), count),)


@dataclass(frozen=True)
class JobRun:
    """A finished job, reduced to what its bill depends on."""

    resource: ResourceRef
    component: Component
    start: datetime
    end: datetime
    instances: tuple[InstanceLine, ...]
    billable_seconds: Decimal
    """Billed seconds per instance: BillableTimeInSeconds for training, end - start otherwise."""
    volume_gb: int | None
    event_id: str
    notes: tuple[str, ...] = ()
    estimated: bool = False
    """Estimated from metrics rather than measured (serverless on-demand): its records say so."""

    @property
    def instance_count(self) -> int:
        return sum(group.count for group in self.instances)


def priced_record(
    *,
    record_id: str,
    resource: ResourceRef,
    component: Component,
    line: str,
    instance_type: str,
    instance_count: int,
    start: datetime,
    end: datetime,
    quantity: Decimal,
    unit: UsageUnit,
    prices: PriceBook,
    tags: TagSnapshot,
    event_ids: tuple[str, ...],
    notes: tuple[str, ...] = (),
) -> UsageRecord:
    """A usage record priced from the catalog; without a price it is kept, with cost None (unpriced)."""
    price = prices.rate(resource.region, component, instance_type)
    return UsageRecord(
        record_id=record_id,
        resource_arn=resource.arn,
        resource_kind=resource.kind,
        resource_name=resource.name,
        region=resource.region,
        account=resource.account,
        component=component,
        line=line,
        instance_type=instance_type,
        instance_count=instance_count,
        start=start,
        end=end,
        month=month_of(start),
        quantity=quantity,
        unit=unit,
        unit_price=price.usd if price else None,
        price_source=f"{price.source}@{price.as_of.isoformat()}" if price else None,
        cost=micro(quantity * price.usd) if price else None,
        tags=tags,
        event_ids=event_ids,
        notes=notes,
    )


def _pro_rata(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` in proportion to `weights`, rounded so that the parts add up to micro(total)."""
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        return [micro(total)] + [Decimal(0)] * (len(weights) - 1)
    parts: list[Decimal] = []
    running = Decimal(0)
    allotted = Decimal(0)
    for weight in weights:
        running += weight
        cumulative = micro(total * running / weight_sum)
        parts.append(cumulative - allotted)
        allotted = cumulative
    return parts


def meter_job(run: JobRun, prices: PriceBook, tags: TagSnapshot) -> list[UsageRecord]:
    """The usage records of a finished job: one per instance line and month, plus its storage."""
    months = list(split_by_month(run.start, run.end)) or [(run.start, run.end)]
    weights = [seconds_between(start, end) for start, end in months]
    records: list[UsageRecord] = []
    event_ids = (run.event_id,)
    for group in run.instances:
        instance_hours = run.billable_seconds * group.count / SECONDS_PER_HOUR
        for (start, end), quantity in zip(months, _pro_rata(instance_hours, weights), strict=True):
            records.append(
                priced_record(
                    record_id=f"{run.resource.arn}#{group.line}#{month_of(start)}",
                    resource=run.resource,
                    component=run.component,
                    line=group.line,
                    instance_type=group.instance_type,
                    instance_count=group.count,
                    start=start,
                    end=end,
                    quantity=quantity,
                    unit="instance-hour",
                    prices=prices,
                    tags=tags,
                    event_ids=event_ids,
                    notes=run.notes,
                )
            )
    if run.volume_gb:
        count = run.instance_count
        for start, end in months:
            gb_months = micro(
                Decimal(run.volume_gb * count) * hours_between(start, end) / hours_in_month(start)
            )
            records.append(
                priced_record(
                    record_id=f"{run.resource.arn}#storage#{month_of(start)}",
                    resource=run.resource,
                    component=Component.ML_STORAGE,
                    line="storage",
                    instance_type=storage_type(run.component),
                    instance_count=count,
                    start=start,
                    end=end,
                    quantity=gb_months,
                    unit="GB-month",
                    prices=prices,
                    tags=tags,
                    event_ids=event_ids,
                    notes=(f"{run.volume_gb} GB per instance",),
                )
            )
    return [
        record.model_copy(update={"estimated": True}) if run.estimated else record
        for record in records
        if record.quantity > 0
    ]


def spot_note(billable_seconds: int, training_seconds: int | None) -> tuple[str, ...]:
    """Managed spot: the saving AWS already took off the billable time, said in words."""
    if not training_seconds or billable_seconds >= training_seconds:
        return ()
    saved = Decimal(100) * (training_seconds - billable_seconds) / training_seconds
    return (
        f"managed spot: billed {billable_seconds} s of {training_seconds} s trained ({saved:.0f}% saved)",
    )
