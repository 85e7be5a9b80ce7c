"""What the ledger holds: priced usage records, and the attribution each one carries."""

from __future__ import annotations

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
    ALLOCATION = "allocation"  # project|team|cost_center together, for the month-end chargeback


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
        return {
            Dimension.PROJECT: project,
            Dimension.TEAM: team,
            Dimension.COST_CENTER: cost_center,
            Dimension.ALLOCATION: f"{project}|{team}|{cost_center}",
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


def month_of(moment: datetime) -> str:
    """The UTC calendar month (`YYYY-MM`) a moment belongs to."""
    return f"{moment.year:04d}-{moment.month:02d}"
