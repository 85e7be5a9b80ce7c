"""Budgets from the config file, and the alerts they give."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sagecost.models.ledger import Dimension


class AlertKind(StrEnum):
    THRESHOLD = "threshold"  # month-to-date spend passed a % of the budget
    FORECAST = "forecast"  # the month's forecast passed a % of the budget
    BURN_RATE = "burn-rate"  # what runs now costs more per day than the budget's daily limit
    PREFLIGHT = "preflight"  # a job that just started could cost more than what is left
    DIGEST = "digest"  # the daily reminder while a budget stays over


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class PreflightMode(StrEnum):
    REPORT = "report"  # tell the owner
    ENFORCE = "enforce"  # tell the owner and stop the job (never production, never without an environment)


class Budget(BaseModel):
    """A monthly budget for one project, team or cost center (exactly one of the three)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str | None = None
    team: str | None = None
    cost_center: str | None = None
    monthly: Decimal = Field(gt=0, description="USD per calendar month (UTC)")
    thresholds: tuple[Decimal, ...] = Field(
        default=(Decimal(50), Decimal(80), Decimal(100)), description="% of the budget, month-to-date spend"
    )
    forecast_thresholds: tuple[Decimal, ...] = Field(
        default=(Decimal(100),), description="% of the budget, the month's forecast"
    )
    daily_burn_limit: Decimal | None = Field(
        default=None, gt=0, description="USD per day: alert when what runs now costs more per day"
    )
    audience: str | None = Field(
        default=None,
        description="the `audience` message attribute, for SNS subscription filter policies (e.g. risk-team)",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> Budget:
        scopes = [v for v in (self.project, self.team, self.cost_center) if v is not None]
        if len(scopes) != 1:
            raise ValueError("a budget names exactly one of project, team or cost_center")
        for name, values in (
            ("thresholds", self.thresholds),
            ("forecast_thresholds", self.forecast_thresholds),
        ):
            if any(value <= 0 for value in values):
                raise ValueError(f"{name} are percentages above 0")
            if len(set(values)) != len(values):
                raise ValueError(f"{name} repeat a value")
        return self

    @property
    def dimension(self) -> Dimension:
        if self.project is not None:
            return Dimension.PROJECT
        return Dimension.TEAM if self.team is not None else Dimension.COST_CENTER

    @property
    def value(self) -> str:
        return next(v for v in (self.project, self.team, self.cost_center) if v is not None)

    @property
    def name(self) -> str:
        """`project:fraud-detection`: how messages, markers and attributes name the budget."""
        return f"{self.dimension.value}:{self.value}"


class BudgetPolicy(BaseModel):
    """The config file's `budgets` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: tuple[Budget, ...] = ()
    preflight: PreflightMode | None = Field(
        default=PreflightMode.REPORT, description="check a job's worst case when it starts (null: never)"
    )
    unbounded_job_hours: Decimal = Field(
        default=Decimal(24),
        gt=0,
        description="worst-case hours of a job without MaxRuntimeInSeconds (batch transform has none)",
    )

    @model_validator(mode="after")
    def _unique(self) -> BudgetPolicy:
        names = [budget.name for budget in self.limits]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"one budget per project, team or cost center: {', '.join(repeated)} repeat")
        return self

    def for_value(self, dimension: Dimension, value: str) -> Budget | None:
        return next((b for b in self.limits if b.dimension is dimension and b.value == value), None)


class Driver(BaseModel):
    """One of the resources a budget's spend comes from, for the message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: str
    cost: Decimal
    console_url: str


class Alert(BaseModel):
    """One message to the alerts topic. `key` is what makes it once-only: (budget, kind, threshold, month)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AlertKind
    severity: Severity
    budget: str
    month: str
    threshold: str = Field(description="the % crossed, the day of a digest, or the job of a pre-flight")
    at: datetime
    budget_usd: Decimal
    spent_usd: Decimal
    forecast_usd: Decimal | None = None
    running_usd_per_hour: Decimal | None = None
    project: str | None = None
    team: str | None = None
    audience: str | None = None
    drivers: tuple[Driver, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return alert_key(self.budget, self.kind, self.threshold)


def alert_key(budget: str, kind: AlertKind, threshold: str) -> str:
    """What makes an alert once-only within its month: `project:fraud#threshold#80`."""
    return f"{budget}#{kind.value}#{threshold}"
