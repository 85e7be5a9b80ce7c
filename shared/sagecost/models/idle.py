"""Idle shutdown: the config file's `idle` section, and what a sweep decides about each resource."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WorkingHours(BaseModel):
    """When people work, in an IANA time zone (daylight saving follows the zone's rules)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"
    start: time = time(8, 0)
    end: time = time(19, 0)
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [d for d in days if d.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"days are {', '.join(WEEKDAYS)}, not {', '.join(unknown)}")
        return tuple(d.lower() for d in days)

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError("working hours start before they end (the same day)")
        return self

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (aware) falls in working time, read on the zone's local clock."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.holidays or WEEKDAYS[local.weekday()] not in self.days:
            return False
        return self.start <= local.time() < self.end


class IdleKind(StrEnum):
    ENDPOINT = "endpoint"
    NOTEBOOK = "notebook-instance"
    STUDIO_APP = "studio-app"


class EndpointKind(StrEnum):
    """How an endpoint serves, from its endpoint config: each kind publishes its own traffic metric."""

    REAL_TIME = "real-time"  # instance variants with a model: `Invocations` per variant
    ASYNC = "async"  # AsyncInferenceConfig: `InvocationsProcessed` per variant, `ApproximateBacklogSize`
    INFERENCE_COMPONENTS = "inference-components"  # instance variants without a model: per component
    SERVERLESS = "serverless"  # ServerlessConfig: costs nothing idle (bar provisioned concurrency)
    UNKNOWN = "unknown"  # no config known, variants of mixed kinds, or a snapshot too old to say


class IdlePolicy(BaseModel):
    """The config file's `idle` section. Dry run (warnings and reports only) until `enforce` is true."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enforce: bool = Field(default=False, description="act (stop, delete); false: dry run, report only")
    kinds: tuple[IdleKind, ...] = tuple(IdleKind)
    environments: tuple[str, ...] | None = Field(
        default=None,
        description="act only on these environment values (default: any non-production value); "
        "production and resources without an environment tag are never touched",
    )
    warning_hours: Decimal = Field(
        default=Decimal(2), gt=0, le=168, description="between the warning and the earliest action"
    )
    max_actions_per_run: int = Field(default=25, ge=0, le=1000, description="stops and deletes per run")
    endpoint_lookback_hours: int = Field(default=24, ge=1, le=24 * 14)
    notebook_max_running_hours: Decimal | None = Field(default=Decimal(12), gt=0)
    app_idle_minutes: int = Field(default=120, ge=10)
    app_types: tuple[str, ...] = ("JupyterLab", "KernelGateway", "CodeEditor")
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    exemption_tag: str = Field(default="sagecost:keep-until", min_length=1)
    warning_tag: str = Field(default="sagecost:idle-warning", min_length=1)


class Phase(StrEnum):
    """What a sweep does with one resource."""

    ACT = "act"  # warned earlier, still idle, warning time passed: stop or delete
    WARN = "warn"  # idle for the first time: tag it, tell the owner when it will be stopped
    WAIT = "wait"  # warned, still idle, the warning time has not come
    CLEAR = "clear"  # warned, but used or restarted since: the warning is void
    KEEP = "keep"  # busy, or protected (production, no environment, exempt, not governed)
