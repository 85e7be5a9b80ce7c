"""What the ledger holds: priced usage records, and the attribution each one carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sagecost.models.events import UtcDatetime
from sagecost.models.prices import Component

UNTAGGED = "(untagged)"
"""The dimension value under which usage without the tag is aggregated and reported."""


class ResourceKind(StrEnum):
    TRAINING_JOB = "training-job"
    PROCESSING_JOB = "processing-job"
    TRANSFORM_JOB = "transform-job"
    ENDPOINT = "endpoint"
    NOTEBOOK_INSTANCE = "notebook-instance"


class Dimension(StrEnum):
    """The month aggregates kept for every usage record. Each record counts once in every dimension, so
    the month's total is the sum over any one of them."""

    PROJECT = "project"
    TEAM = "team"
    COST_CENTER = "cost_center"
    ALLOCATION = "allocation"  # project|team|cost_center|environment, for the month-end chargeback
    RESOURCE = "resource"  # one line per resource, billed component, instance type and tags (`ResourceLine`)


class TagSnapshot(BaseModel):
    """The business tags of a resource at the time its usage was priced (None: not tagged)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str | None = None
    team: str | None = None
    cost_center: str | None = None
    environment: str | None = None
    owner: str | None = None

    def dimension_values(self) -> dict[Dimension, str]:
        project = self.project or UNTAGGED
        team = self.team or UNTAGGED
        cost_center = self.cost_center or UNTAGGED
        environment = self.environment or UNTAGGED
        return {
            Dimension.PROJECT: project,
            Dimension.TEAM: team,
            Dimension.COST_CENTER: cost_center,
            Dimension.ALLOCATION: f"{project}|{team}|{cost_center}|{environment}",
        }


UsageUnit = Literal["instance-hour", "GB-month"]


class UsageRecord(BaseModel):
    """One priced line of usage: one resource, one billing line, one interval inside one UTC month.

    `record_id` is derived from what the record measures (resource, line, interval), never from an
    event id, so a duplicate delivery produces the same id and the ledger's conditional write rejects it.
    `cost` is None when no price is known: such usage is kept and reported as unpriced, never as $0.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str
    resource_arn: str
    resource_kind: ResourceKind
    resource_name: str
    region: str
    account: str
    component: Component
    line: str = Field(description="what inside the resource bills: 'compute', 'storage', 'variant/<name>'")
    instance_type: str
    instance_count: int = Field(ge=0)
    start: UtcDatetime
    end: UtcDatetime
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    quantity: Decimal = Field(ge=0)
    unit: UsageUnit
    unit_price: Decimal | None
    price_source: str | None
    cost: Decimal | None
    currency: Literal["USD"] = "USD"
    tags: TagSnapshot
    event_ids: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def unpriced(self) -> bool:
        return self.cost is None

    @property
    def duration_seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class ResourceLine:
    """What one `resource` aggregate item adds up: a resource's usage of one billed component and instance
    type under one set of tags in a month. It is the grain of the FOCUS export and of the top resources:
    a month has as many of these as it has resources (times components), however many records they wrote.

    Tag values cannot contain `|` (SageMaker allows letters, digits, spaces and `_.:/=+-@`), so the key is
    the fields joined by `|`.
    """

    resource_arn: str
    component: Component
    instance_type: str
    unit: UsageUnit
    project: str
    team: str
    cost_center: str
    environment: str

    @classmethod
    def of(cls, record: UsageRecord) -> ResourceLine:
        tags = record.tags
        return cls(
            resource_arn=record.resource_arn,
            component=record.component,
            instance_type=record.instance_type,
            unit=record.unit,
            project=tags.project or UNTAGGED,
            team=tags.team or UNTAGGED,
            cost_center=tags.cost_center or UNTAGGED,
            environment=tags.environment or UNTAGGED,
        )

    @property
    def key(self) -> str:
        return "|".join(
            (
                self.resource_arn,
                self.component.value,
                self.instance_type,
                self.unit,
                self.project,
                self.team,
                self.cost_center,
                self.environment,
            )
        )

    @classmethod
    def parse(cls, key: str) -> ResourceLine:
        arn, component, instance_type, unit, project, team, cost_center, environment = key.split("|")
        units: dict[str, UsageUnit] = {"instance-hour": "instance-hour", "GB-month": "GB-month"}
        if unit not in units:
            raise ValueError(f"not a usage unit: {unit!r}")
        return cls(
            arn, Component(component), instance_type, units[unit], project, team, cost_center, environment
        )

    @property
    def region(self) -> str:
        return self.resource_arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.resource_arn.split(":")[4]

    @property
    def resource_name(self) -> str:
        return self.resource_arn.split("/", 1)[-1]


def month_of(moment: datetime) -> str:
    """The UTC calendar month (`YYYY-MM`) a moment belongs to."""
    return f"{moment.year:04d}-{moment.month:02d}"
