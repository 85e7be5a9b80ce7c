"""What the ledger remembers about a long-running resource between events: its timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sagecost.models.events import UtcDatetime
from sagecost.models.ledger import ResourceKind, TagSnapshot, UsageUnit
from sagecost.models.prices import Component


class BillingLine(BaseModel):
    """Something that bills by the hour while a resource is in a state: instances, or a storage volume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: str
    component: Component
    instance_type: str
    count: int = Field(ge=0)
    volume_gb: int | None = Field(default=None, ge=0, description="per instance, for storage lines")


class Transition(BaseModel):
    """A state the resource entered at `at`, and what bills from then on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: UtcDatetime
    status: str
    lines: tuple[BillingLine, ...]
    event_id: str
    source: Literal["event", "sweep"] = "event"
    variant_counts: tuple[tuple[str | None, int | None], ...] = ()
    """For endpoints: (variant name, instance count) as reported, to re-price once the config is known."""

    def same_change(self, other: Transition) -> bool:
        """Two deliveries of one state change (SageMaker may send several events per change).

        A change is what SageMaker reported: when, which status, how many instances. Its billing lines
        are derived, and may be better informed in a later delivery (the config or volume now known).
        """
        return (self.at, self.status, self.source, self.variant_counts) == (
            other.at,
            other.status,
            other.source,
            other.variant_counts,
        )

    @property
    def unknown_lines(self) -> int:
        return sum(1 for line in self.lines if line.instance_type == "unknown")

    @property
    def order_key(self) -> tuple[datetime, str, str, str]:
        """Total order, independent of arrival order, even for changes in the same millisecond."""
        return (self.at, self.source, self.status, self.model_dump_json(include={"lines"}))


class VariantSpec(BaseModel):
    """A production variant as its endpoint config defines it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    instance_type: str | None = None
    initial_count: int | None = None
    volume_gb: int | None = None
    serverless: bool = False
    provisioned_concurrency: int | None = None
    """Serverless only: `ServerlessConfig.ProvisionedConcurrency`, which bills while idle."""
    memory_mb: int | None = None
    """Serverless only: `ServerlessConfig.MemorySizeInMB`, which prices its usage (`serverless_type`)."""
    shadow: bool = False
    """A shadow variant (`ShadowProductionVariants`): gets a copy of the traffic, bills like the others."""
    hosts_inference_components: bool | None = None
    """An instance variant without a `ModelName`: its models are inference components. None: not known (a
    snapshot cached before sagecost recorded it)."""


class EndpointConfigSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    arn: str
    variants: tuple[VariantSpec, ...]
    asynchronous: bool = False


class SegmentSummary(BaseModel):
    """What a written usage record contributed to the month aggregates, to take back if it changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    month: str
    cost: Decimal | None
    quantity: Decimal
    unit: UsageUnit
    tags: TagSnapshot
    fingerprint: str
    resource_line: str | None = None
    is_job: bool = False
    """The record's `ResourceLine` key (None in summaries written before resource lines were kept)."""


class ResourceRefModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    arn: str
    kind: ResourceKind
    name: str
    region: str
    account: str


# --- inference components (issue 12) -------------------------------------------------------------


class ComponentChange(BaseModel):
    """An inference component created, updated or deleted on an endpoint, as a CloudTrail call (or the
    sweep) reported it: kept on the hosting endpoint's timeline, whose instance-hours it splits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: UtcDatetime
    name: str
    action: Literal["create", "update", "delete"]
    event_id: str
    source: Literal["event", "sweep"] = "event"
    arn: str | None = None
    variant: str | None = None
    accelerators: Decimal | None = None
    """Reserved per copy (`ComputeResourceRequirements`); None in an update: unchanged."""
    cpu_cores: Decimal | None = None
    memory_mb: int | None = None
    copies: int | None = Field(default=None, ge=0)
    attribution: TagSnapshot | None = None
    """The component's business tags (owner: its tag, else who created it), None in an update."""

    @property
    def order_key(self) -> tuple[datetime, str, str]:
        return (self.at, self.source, self.event_id)


# --- end inference components ---------------------------------------------------------------------


class ResourceTimeline(BaseModel):
    """A resource's recent state changes and the usage records already written for them.

    Usage before `horizon` is sealed: its records are final and no longer cached here. From `horizon` to
    `metered_until` the records in `segments` are exactly what the ledger holds, so a late or amended
    transition can be turned into precise puts, deletes and aggregate deltas.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    resource: ResourceRefModel
    transitions: tuple[Transition, ...] = ()
    horizon: UtcDatetime | None = None
    metered_until: UtcDatetime | None = None
    segments: dict[str, SegmentSummary] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    tags_at: UtcDatetime | None = None
    """When the state change that carried `tags` happened: an older event delivered late cannot undo them."""
    endpoint_config: EndpointConfigSnapshot | None = None
    instance_type: str | None = None
    volume_gb: int | None = None
    version: int = 0
    # --- inference components (issue 12)
    inference_components: tuple[ComponentChange, ...] = ()
    """Endpoints: the inference components created, updated and deleted on it, in no particular order."""
    host_arn: str | None = None
    """An inference component's pointer item: the endpoint that hosts it (its timeline holds the usage)."""
    # --- end inference components

    @property
    def current(self) -> Transition | None:
        return self.transitions[-1] if self.transitions else None

    @property
    def pending_on_host(self) -> bool:
        """An inference component's pointer with changes its known endpoint has not applied (issue 12)."""
        return self.host_arn is not None and bool(self.inference_components)

    @property
    def is_billing(self) -> bool:
        current = self.current
        return current is not None and bool(current.lines)
