"""Month-end allocation: the rules from the config file, and the chargeback they produce."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sagecost.domain.usage_types import UsageTypeGroup
from sagecost.models.events import UtcDatetime
from sagecost.models.ledger import UNTAGGED

Money = Decimal
"""An amount in USD. Report amounts are whole cents; exact amounts keep the ledger's micro-dollars."""


class ShareSplit(StrEnum):
    """How the shared pool is divided between the projects that receive it (OpenCost's `shareSplit`)."""

    WEIGHTED = "weighted"  # in proportion to each project's direct cost (x its environment multipliers)
    EVEN = "even"  # the same amount to every receiving project
    FIXED = "fixed"  # in proportion to fixed weights per project from the config


class BilledMetric(StrEnum):
    """Which Cost Explorer metric stands for "the bill" (amortized ones include Savings Plans)."""

    UNBLENDED = "UnblendedCost"
    NET_UNBLENDED = "NetUnblendedCost"
    AMORTIZED = "AmortizedCost"
    NET_AMORTIZED = "NetAmortizedCost"


class AllocationPolicy(BaseModel):
    """The config file's `allocation` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shared_projects: tuple[str, ...] = Field(
        default=(),
        description="projects whose whole cost is shared by the others (a platform team, a Studio domain)",
    )
    share_unallocated: bool = Field(
        default=False,
        description=f"share usage without a project tag too; otherwise it is its own {UNTAGGED!r} row",
    )
    split: ShareSplit = ShareSplit.WEIGHTED
    weights: dict[str, Decimal] = Field(
        default_factory=dict, description="split: fixed - a weight per receiving project (others get 0)"
    )
    environment_multipliers: dict[str, Decimal] = Field(
        default_factory=dict,
        description="split: weighted - direct cost in this environment weighs this many times (default 1)",
    )
    true_up: bool = Field(
        default=False,
        description="distribute the billed total over the rows by metered cost, so discounts reach them",
    )
    billed_metric: BilledMetric = BilledMetric.UNBLENDED
    top_resources: int = Field(default=10, ge=0, le=100, description="resources listed in the report")

    @model_validator(mode="after")
    def _consistent(self) -> AllocationPolicy:
        if UNTAGGED in self.shared_projects:
            raise ValueError(f"share untagged usage with share_unallocated: true, not as {UNTAGGED!r}")
        if any(weight < 0 for weight in self.weights.values()):
            raise ValueError("weights cannot be negative")
        if self.split is ShareSplit.FIXED and not any(weight > 0 for weight in self.weights.values()):
            raise ValueError("split: fixed needs at least one project with a positive weight")
        if self.weights and self.split is not ShareSplit.FIXED:
            raise ValueError(f"weights apply only to split: fixed, not {self.split.value}")
        if any(multiplier <= 0 for multiplier in self.environment_multipliers.values()):
            raise ValueError("environment multipliers must be positive")
        if self.environment_multipliers and self.split is not ShareSplit.WEIGHTED:
            raise ValueError("environment multipliers apply only to split: weighted")
        shared_and_weighted = set(self.shared_projects) & set(self.weights)
        if shared_and_weighted:
            raise ValueError(f"shared projects cannot receive shared cost: {sorted(shared_and_weighted)}")
        return self


class SharedPart(BaseModel):
    """How much of a row's shared cost came from one source (a shared project, or untagged usage)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    amount: Money


class AllocationRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str
    team: str
    cost_center: str
    direct: Money
    shared: Money
    total: Money
    shared_from: tuple[SharedPart, ...] = ()
    billed: Money | None = Field(default=None, description="the row's part of the bill (true-up only)")
    kind: Literal["project", "unallocated", "unassigned-shared"] = "project"


class PoolSource(BaseModel):
    """One contribution to the shared pool and where it went."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    amount: Money


class ProjectVariance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str
    metered: Money
    billed: Money
    variance: Money = Field(description="metered - billed")
    variance_pct: Decimal | None = Field(description="variance as a percentage of billed (None: billed 0)")


class GroupVariance(BaseModel):
    """Metered against billed for one usage-type group (`domain.usage_types`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: UsageTypeGroup
    metered: Money
    billed: Money
    difference: Money = Field(description="metered - billed")
    metered_share_pct: Decimal | None = Field(
        description="metered as a percentage of billed (None: billed 0); the rest of the bill is unmetered"
    )
    unpriced_records: int = Field(
        default=0, description="records of the group with no known price: billed, but metered as nothing"
    )
    usage_types: tuple[str, ...] = Field(default=(), description="the bill's usage types in the group")


class Reconciliation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: BilledMetric
    source: str = Field(default="Cost Explorer", description="where the billed figures came from")
    tag_key: str
    billed: Money
    estimated: bool = Field(description="Cost Explorer still marks the month as estimated")
    projects: tuple[ProjectVariance, ...]
    by_group: tuple[GroupVariance, ...] = Field(
        default=(), description="per usage-type group; each column adds up to the totals below"
    )
    group_metered: Money | None = Field(default=None, description="the sum of by_group's metered column")
    group_billed: Money | None = Field(
        default=None, description="the bill grouped by usage type (None: that view was not available)"
    )
    metered_share_pct: Decimal | None = Field(
        default=None,
        description="group_metered as a percentage of group_billed: how much of the bill is metered",
    )


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metered: Money
    billed: Money | None
    variance: Money | None
    variance_pct: Decimal | None
    shared_pool: Money
    untagged: Money = Field(description="metered cost without a project tag")
    unpriced_records: int
    unpriced_instance_hours: Decimal
    records: int


class ResourceCost(BaseModel):
    """One resource line of the month (the FOCUS grain), for the report's top resources."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resource_arn: str
    resource_name: str
    resource_type: str
    region: str
    account: str
    component: str
    instance_type: str
    project: str
    team: str
    cost_center: str
    environment: str
    quantity: Decimal
    unit: str
    cost: Money = Field(description="metered cost of the priced part, to the micro-dollar")
    unpriced_quantity: Decimal = Field(description="usage no price was known for (never counted as $0)")
    console_url: str


class IdleSavings(BaseModel):
    """What idle shutdown stopped or deleted for one project this month, and what that saves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str
    actions: int
    hourly_usd: Money = Field(description="the hourly rate of what was stopped or deleted")
    projected_savings: Money = Field(description="that rate from each action to the month's end")


class AllocationReport(BaseModel):
    """Everything `allocation.json` holds. Identical for identical inputs, except `generated_at`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    currency: Literal["USD"] = "USD"
    generated_at: UtcDatetime
    policy: AllocationPolicy
    totals: Totals
    shared_pool: tuple[PoolSource, ...]
    project_ratios: dict[str, Decimal] = Field(
        description="each receiving project's part of the shared pool (sums to 1 when the pool is shared)"
    )
    rows: tuple[AllocationRow, ...]
    reconciliation: Reconciliation | None
    top_resources: tuple[ResourceCost, ...]
    idle_savings: tuple[IdleSavings, ...] = ()
    notes: tuple[str, ...] = ()
