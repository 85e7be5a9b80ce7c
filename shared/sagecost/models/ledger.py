"""What the ledger holds: priced usage records, and the attribution each one carries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from sagecost.models.events import UtcDatetime
from sagecost.models.prices import Component

UNTAGGED = "(untagged)"
"""The dimension value under which usage without the tag is aggregated and reported."""

KEY_SEPARATOR = "|"
_KEY_ESCAPES = {"%": "%25", KEY_SEPARATOR: "%7C"}
_ESCAPED = re.compile("%25|%7C")


def join_key(parts: Iterable[str]) -> str:
    """Several values as one aggregate key: each part with `%` written `%25` and `|` written `%7C`, then the
    parts joined by `|`. An escaped part holds no `|` and every `%` in it starts one of the two escapes, so
    `split_key` gives back exactly the parts that were joined: distinct sequences of one or more parts never
    make the same key.
    Values without `%` or `|` (every legal tag value, ARN and instance type) are written as they are: keys
    are unchanged from when parts were joined unescaped."""
    return KEY_SEPARATOR.join(
        part.replace("%", _KEY_ESCAPES["%"]).replace(KEY_SEPARATOR, _KEY_ESCAPES[KEY_SEPARATOR])
        for part in parts
    )


def split_key(key: str) -> list[str]:
    """The parts `join_key` joined, and those of keys written before parts were escaped (no `%` in them)."""
    unescape = {escape: character for character, escape in _KEY_ESCAPES.items()}
    return [_ESCAPED.sub(lambda match: unescape[match.group()], part) for part in key.split(KEY_SEPARATOR)]


class ResourceKind(StrEnum):
    TRAINING_JOB = "training-job"
    PROCESSING_JOB = "processing-job"
    TRANSFORM_JOB = "transform-job"
    ENDPOINT = "endpoint"
    NOTEBOOK_INSTANCE = "notebook-instance"
    STUDIO_APP = "app"
    SPACE = "space"
    INFERENCE_COMPONENT = "inference-component"
    HYPERPOD_CLUSTER = "cluster"
    MLFLOW_SERVER = "mlflow-tracking-server"


class Dimension(StrEnum):
    """The month aggregates kept for every usage record. Each record counts once in every dimension, so
    the month's total is the sum over any one of them."""

    PROJECT = "project"
    TEAM = "team"
    COST_CENTER = "cost_center"
    ALLOCATION = "allocation"  # join_key of project, team, cost_center, environment: the month-end chargeback
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
            Dimension.ALLOCATION: join_key((project, team, cost_center, environment)),
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
    estimated: bool = False
    """Estimated from metrics, not measured (serverless on-demand); its notes say how. The month-end
    reconciliation trues it up. Left out of the record's dump while False, so records and fingerprints
    written before it existed are unchanged and still load."""

    @model_serializer(mode="wrap")
    def _without_default_estimate(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if not self.estimated:
            dumped.pop("estimated", None)
        return dumped

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

    Its key is the fields joined by `join_key`: a `|` in a tag value or an ARN (which SageMaker does not
    allow, but an event may carry) is escaped, never taken for a separator.
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
        return join_key(
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
        parts = split_key(key)
        if len(parts) != 8:
            raise ValueError(f"a resource line key has 8 parts, not {len(parts)}: {key!r}")
        arn, component, instance_type, unit, project, team, cost_center, environment = parts
        units: dict[str, UsageUnit] = {"instance-hour": "instance-hour", "GB-month": "GB-month"}
        if unit not in units:
            raise ValueError(f"not a usage unit: {unit!r}")
        return cls(
            arn, Component(component), instance_type, units[unit], project, team, cost_center, environment
        )

    @property
    def region(self) -> str:
        return _arn_field(self.resource_arn, 3)

    @property
    def account(self) -> str:
        return _arn_field(self.resource_arn, 4)

    @property
    def resource_name(self) -> str:
        return self.resource_arn.split("/", 1)[-1]


def _arn_field(arn: str, index: int) -> str:
    """One `:`-separated field of an ARN; empty for what an event called an ARN but has too few fields."""
    fields = arn.split(":")
    return fields[index] if index < len(fields) else ""


def month_of(moment: datetime) -> str:
    """The UTC calendar month (`YYYY-MM`) a moment belongs to."""
    return f"{moment.year:04d}-{moment.month:02d}"
