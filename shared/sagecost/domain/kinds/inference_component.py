"""Inference components: an endpoint's instance-hours split among the models it hosts by reserved compute.

An endpoint variant without a `ModelName` hosts inference components
(`VariantSpec.hosts_inference_components`). Its instances bill as the endpoint's
(`endpoint.endpoint_lines`): the bill does not know the components.
What each component reserves is `Specification.ComputeResourceRequirements` per copy
(`NumberOfAcceleratorDevicesRequired`, `NumberOfCpuCoresRequired`, `MinMemoryRequiredInMb`) times its copy
count (`RuntimeConfig.CopyCount`; botocore `sagemaker/2017-07-24` `CreateInferenceComponentInput`,
`InferenceComponentComputeResourceRequirements`; fixtures in `tests/fixtures/kinds/SOURCES.md`). A
component's share is an allocation, not a billed quantity (AWS-FACTS section 6: "the endpoint's instances
bill whatever the components do").

**The weight.** One resource is used for all components of a variant over an interval, the first that any
of them reserves of: accelerator devices (GPUs, Inferentia/Trainium chips), else CPU cores, else memory
(MiB). Accelerators come first because on the instances inference components are made for (ml.g5, ml.p4d,
ml.inf2) they are what limits placement and what the instance's price is for; a component that reserves
none of the chosen resource weighs 0 and its usage stays in the rest. The capacity of the variant is
its instance count times the instance type's amount of that resource (`INSTANCE_CAPACITY`); what no
component reserves is the **unreserved rest** and stays on the endpoint, under its own tags. When the
instance type's capacity is unknown, or the components reserve more than it (a stale copy count), the
usage is split by the reserved shares alone, with no rest, and the records say so.

**Exactness.** A hosting record of such a variant is cut where the components in force change (they
are in the endpoint timeline's state: `ResourceTimeline.inference_components`, applied in time order so
the arrival order of the calls never matters). Piece [a, b) of record [s, e) gets Q(b) - Q(a) of its
quantity, with Q(t) = micro(count x hours(s, t)) and Q(e) the record's own quantity (the same for its
cost, C(t) = micro(Q(t) x rate)), so the pieces add up to the record to the micro-unit and an early piece
does not change as the record grows. Each piece is then split across the components and the rest by
largest remainder (`largest_remainder`, Hamilton's method) in micro-units, separately for quantity and
cost, so parts and rest add up exactly to the endpoint's record.

**Record ids.** The rest of piece [a, ...) keeps the id the endpoint's record starting at `a` has
(`<endpoint arn>#<line>#<a>`: an endpoint without components meters exactly as before); a component's part
is that id + `#ic/<component name>`, with the component's ARN (`ResourceKind.INFERENCE_COMPONENT`), tags
and owner. A tag the component lacks is taken from the endpoint (its models run on what the endpoint's
owner pays for, as HPO children take their tuning job's tags).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any

from sagecost.domain import allocation
from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.money import micro
from sagecost.domain.periods import hours_between
from sagecost.models.ledger import ResourceKind, TagSnapshot, UsageRecord
from sagecost.models.prices import Component
from sagecost.models.state import ComponentChange

CREATE = "CreateInferenceComponent"
UPDATE = "UpdateInferenceComponent"
UPDATE_RUNTIME = "UpdateInferenceComponentRuntimeConfig"
DELETE = "DeleteInferenceComponent"

SPEC = KindSpec(
    kind=ResourceKind.INFERENCE_COMPONENT,
    component=Component.HOSTING,
    metering=Metering.TIMELINE,
    cloudtrail_calls=(CREATE, UPDATE, UPDATE_RUNTIME, DELETE),
    swept=False,
    # never judged alone: its endpoint is, idle only when every component's `Invocations` read zero
    idle_signal=None,
)

MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Capacity:
    """What one instance offers: accelerator devices, vCPUs, memory in MiB."""

    accelerators: int
    cpu_cores: int
    memory_mb: int


def _gib(accelerators: int, vcpus: int, gib: int) -> Capacity:
    return Capacity(accelerators, vcpus, gib * 1024)


INSTANCE_CAPACITY: Mapping[str, Capacity] = {
    # Amazon EC2 instance type specifications (docs.aws.amazon.com/ec2/latest/instancetypes: accelerated
    # computing `ac.html`, general purpose `gp.html`, compute and memory optimized `co.html`/`mo.html`) for
    # the ml.* types of the shipped price catalog; GPUs, Inferentia2 or Trainium chips as accelerators.
    # Not re-read in this session: Inferentia2 counted in chips (2 NeuronCores each) is unverified.
    "ml.c5.xlarge": _gib(0, 4, 8),
    "ml.c5.2xlarge": _gib(0, 8, 16),
    "ml.c5.4xlarge": _gib(0, 16, 32),
    "ml.c5.9xlarge": _gib(0, 36, 72),
    "ml.c7i.xlarge": _gib(0, 4, 8),
    "ml.g4dn.xlarge": _gib(1, 4, 16),
    "ml.g4dn.2xlarge": _gib(1, 8, 32),
    "ml.g4dn.4xlarge": _gib(1, 16, 64),
    "ml.g4dn.8xlarge": _gib(1, 32, 128),
    "ml.g4dn.12xlarge": _gib(4, 48, 192),
    "ml.g4dn.16xlarge": _gib(1, 64, 256),
    "ml.g5.xlarge": _gib(1, 4, 16),
    "ml.g5.2xlarge": _gib(1, 8, 32),
    "ml.g5.4xlarge": _gib(1, 16, 64),
    "ml.g5.8xlarge": _gib(1, 32, 128),
    "ml.g5.12xlarge": _gib(4, 48, 192),
    "ml.g5.24xlarge": _gib(4, 96, 384),
    "ml.g5.48xlarge": _gib(8, 192, 768),
    "ml.g6.xlarge": _gib(1, 4, 16),
    "ml.g6.2xlarge": _gib(1, 8, 32),
    "ml.g6.12xlarge": _gib(4, 48, 192),
    "ml.g6.16xlarge": _gib(1, 64, 256),
    "ml.g6.24xlarge": _gib(4, 96, 384),
    "ml.g6.48xlarge": _gib(8, 192, 768),
    "ml.inf2.xlarge": _gib(1, 4, 16),
    "ml.inf2.8xlarge": _gib(1, 32, 128),
    "ml.inf2.24xlarge": _gib(6, 96, 384),
    "ml.inf2.48xlarge": _gib(12, 192, 768),
    "ml.m5.large": _gib(0, 2, 8),
    "ml.m5.xlarge": _gib(0, 4, 16),
    "ml.m5.2xlarge": _gib(0, 8, 32),
    "ml.m5.4xlarge": _gib(0, 16, 64),
    "ml.p3.2xlarge": _gib(1, 8, 61),
    "ml.p3.8xlarge": _gib(4, 32, 244),
    "ml.p4d.24xlarge": _gib(8, 96, 1152),
    "ml.p5.48xlarge": _gib(8, 192, 2048),
    "ml.r5.8xlarge": _gib(0, 32, 256),
    "ml.r5.16xlarge": _gib(0, 64, 512),
    "ml.t3.medium": _gib(0, 2, 4),
    "ml.trn1.32xlarge": _gib(16, 128, 512),
}

RESOURCES = ("accelerators", "cpu_cores", "memory_mb")
UNIT_NAMES = {"accelerators": "accelerator devices", "cpu_cores": "CPU cores", "memory_mb": "MiB of memory"}


# --- CloudTrail calls -> changes of the hosting endpoint's timeline ---------------------------------


def endpoint_arn(region: str, account: str, endpoint_name: str) -> str:
    """SageMaker ARNs carry resource names in lower case."""
    return f"arn:aws:sagemaker:{region}:{account}:endpoint/{endpoint_name.lower()}"


def component_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:inference-component/{name.lower()}"


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _requirements(specification: Mapping[str, Any] | None) -> dict[str, Any]:
    reserved = (specification or {}).get("computeResourceRequirements") or {}
    memory = reserved.get("minMemoryRequiredInMb")
    return {
        "accelerators": _decimal(reserved.get("numberOfAcceleratorDevicesRequired")),
        "cpu_cores": _decimal(reserved.get("numberOfCpuCoresRequired")),
        "memory_mb": None if memory is None else int(memory),
    }


def call_change(
    event_name: str,
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    *,
    at: datetime,
    event_id: str,
    arn: str,
    attribution: TagSnapshot | None,
) -> ComponentChange:
    """The change a successful Create/Update/UpdateRuntimeConfig/Delete call made (request only, no read)."""
    name = str(request["inferenceComponentName"])
    if event_name == DELETE:
        return ComponentChange(at=at, name=name, action="delete", event_id=event_id, arn=arn)
    runtime = (
        request.get("desiredRuntimeConfig") if event_name == UPDATE_RUNTIME else request.get("runtimeConfig")
    )
    copies = (runtime or {}).get("copyCount")
    specification = request.get("specification")
    reserved = _requirements(specification) if specification else {}
    return ComponentChange(
        at=at,
        name=name,
        action="create" if event_name == CREATE else "update",
        event_id=event_id,
        arn=str(response.get("inferenceComponentArn") or arn),
        variant=request.get("variantName"),
        copies=None if copies is None else int(copies),
        attribution=attribution if event_name == CREATE else None,
        **reserved,
    )


def described_change(
    described: Mapping[str, Any], *, at: datetime, event_id: str, attribution: TagSnapshot | None
) -> ComponentChange:
    """A component the sweep found that no call announced, from DescribeInferenceComponent (PascalCase):
    its current copy count (the desired one while none is placed yet)."""
    reserved = (described.get("Specification") or {}).get("ComputeResourceRequirements") or {}
    runtime = described.get("RuntimeConfig") or {}
    copies = runtime.get("CurrentCopyCount", runtime.get("DesiredCopyCount"))
    memory = reserved.get("MinMemoryRequiredInMb")
    return ComponentChange(
        at=at,
        name=str(described["InferenceComponentName"]),
        action="create",
        event_id=event_id,
        source="sweep",
        arn=str(described["InferenceComponentArn"]),
        variant=described.get("VariantName"),
        accelerators=_decimal(reserved.get("NumberOfAcceleratorDevicesRequired")),
        cpu_cores=_decimal(reserved.get("NumberOfCpuCoresRequired")),
        memory_mb=None if memory is None else int(memory),
        copies=None if copies is None else int(copies),
        attribution=attribution,
    )


def hosts_components(config_hosts: bool, changes: Sequence[ComponentChange], at: datetime) -> bool:
    """Whether the sweep should list an endpoint's components: its config says a variant hosts them, or
    the ledger knows some in force."""
    return config_hosts or bool(in_force(changes, at))


# --- the components in force -----------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    """A component as it stands at some moment: what one copy reserves, how many copies, whose it is."""

    name: str
    arn: str
    variant: str | None
    accelerators: Decimal
    cpu_cores: Decimal
    memory_mb: int
    copies: int
    attribution: TagSnapshot
    created: ComponentChange
    """The creation it stands on (its time and event id stay when older changes are folded into it)."""

    def reserved(self, resource: str) -> Decimal:
        return Decimal(getattr(self, resource)) * self.copies


def merged(
    known: Iterable[ComponentChange], incoming: Iterable[ComponentChange]
) -> tuple[ComponentChange, ...]:
    """The changes known plus the new ones, each once (a duplicate delivery is the same event id)."""
    by_key = {(c.event_id, c.name, c.action): c for c in known}
    for change in incoming:
        by_key.setdefault((change.event_id, change.name, change.action), change)
    return tuple(sorted(by_key.values(), key=lambda c: (*c.order_key, c.name, c.action)))


def in_force(changes: Sequence[ComponentChange], at: datetime) -> tuple[InForce, ...]:
    """The components in force at `at`: every change up to it applied in time order (an update or delete
    of a component whose creation is not known is ignored until it is)."""
    state: dict[str, InForce] = {}
    for change in sorted(changes, key=lambda c: (*c.order_key, c.name, c.action)):
        if change.at > at:
            break
        current = state.get(change.name)
        if change.action == "delete":
            state.pop(change.name, None)
        elif change.action == "create" or current is None:
            if change.action != "create":
                continue
            state[change.name] = InForce(
                name=change.name,
                arn=change.arn or change.name,
                variant=change.variant,
                accelerators=change.accelerators or Decimal(0),
                cpu_cores=change.cpu_cores or Decimal(0),
                memory_mb=change.memory_mb or 0,
                copies=change.copies if change.copies is not None else 1,
                attribution=change.attribution or TagSnapshot(),
                created=change,
            )
        else:
            updated = dict(vars(current))
            for resource in RESOURCES:
                if getattr(change, resource) is not None:
                    updated[resource] = getattr(change, resource)
            if change.copies is not None:
                updated["copies"] = change.copies
            state[change.name] = InForce(**updated)
    return tuple(sorted(state.values(), key=lambda c: c.name))


def compacted(changes: Sequence[ComponentChange], horizon: datetime | None) -> tuple[ComponentChange, ...]:
    """The changes with those up to the sealed `horizon` folded into one creation per component then in
    force (at its creation's time and event id, with what it reserves at the horizon): the timeline keeps
    a bounded list however often copies are scaled, and every unsealed piece splits the same."""
    if horizon is None or not any(c.at <= horizon for c in changes):
        return tuple(changes)
    standing = [
        c.created.model_copy(
            update={
                "accelerators": c.accelerators,
                "cpu_cores": c.cpu_cores,
                "memory_mb": c.memory_mb,
                "copies": c.copies,
                "variant": c.variant,
                "arn": c.arn,
                "attribution": c.attribution,
            }
        )
        for c in in_force(changes, horizon)
    ]
    later = [c for c in changes if c.at > horizon]
    return merged(standing, later)


def on_variant(components: Iterable[InForce], variant: str) -> tuple[InForce, ...]:
    """Those of one variant (a component that names none is on the endpoint's only variant)."""
    return tuple(c for c in components if c.variant in (None, variant) and c.copies > 0)


# --- the split ---------------------------------------------------------------------------------------


def largest_remainder(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` (micro-units) in proportion to `weights` by largest remainder: each part is its exact
    share rounded down to the micro-unit, and the micro-units left go one each to the largest remainders
    (ties to the first; `allocation.largest_remainder`). The parts add up to `total` exactly; all weights 0
    puts it all in the first."""
    units = total / MICRO
    if units != units.to_integral_value():
        raise ValueError(f"{total} is not a whole number of micro-units")
    exact = [Fraction(w) for w in weights]
    if sum(exact) == 0:
        return [total] + [Decimal(0)] * (len(weights) - 1)
    return [Decimal(part) * MICRO for part in allocation.largest_remainder(exact, int(units))]


def weight_resource(components: Sequence[InForce]) -> str | None:
    """Accelerators if any component reserves some, else CPU cores, else memory (None: nothing reserved)."""
    for resource in RESOURCES:
        if any(c.reserved(resource) > 0 for c in components):
            return resource
    return None


def shares(
    components: Sequence[InForce], instance_type: str, instance_count: int
) -> tuple[list[Decimal], str | None, str]:
    """(weights: the rest first, then each component; the resource; a note saying how) for one piece."""
    resource = weight_resource(components)
    if resource is None:
        return [Decimal(1)] + [Decimal(0)] * len(components), None, "no component reserves compute"
    reserved = [c.reserved(resource) for c in components]
    capacity = INSTANCE_CAPACITY.get(instance_type)
    total = None if capacity is None else Decimal(getattr(capacity, resource)) * instance_count
    unit = UNIT_NAMES[resource]
    if total is None or total < sum(reserved):
        why = "capacity of the instance type unknown" if total is None else f"reserved over {total} {unit}"
        return [Decimal(0), *reserved], resource, f"split by reserved {unit} only ({why}): no unreserved rest"
    return [total - sum(reserved), *reserved], resource, f"split by reserved {unit} of {total}"


def _cumulative(record: UsageRecord, at: datetime) -> tuple[Decimal, Decimal | None]:
    """(quantity, cost) of the record from its start to `at`, rounded as the record itself is."""
    if at >= record.end:
        return record.quantity, record.cost
    quantity = micro(record.instance_count * hours_between(record.start, at))
    if record.cost is None or record.unit_price is None:
        return quantity, None
    return quantity, micro(quantity * record.unit_price)


def _cuts(
    record: UsageRecord, changes: Sequence[ComponentChange], variant: str
) -> list[tuple[datetime, datetime, tuple[InForce, ...]]]:
    times = sorted({record.start, record.end, *(c.at for c in changes if record.start < c.at < record.end)})
    pieces: list[tuple[datetime, datetime, tuple[InForce, ...]]] = []
    for start, end in pairwise(times):
        here = on_variant(in_force(changes, start), variant)
        if pieces and pieces[-1][2] == here:
            pieces[-1] = (pieces[-1][0], end, here)
        else:
            pieces.append((start, end, here))
    return pieces


def _filled(own: TagSnapshot, endpoint: TagSnapshot) -> TagSnapshot:
    return TagSnapshot(
        **{
            key: value if value is not None else getattr(endpoint, key)
            for key, value in own.model_dump().items()
        }
    )


def split_record(record: UsageRecord, changes: Sequence[ComponentChange]) -> list[UsageRecord]:
    """An endpoint's hosting record, split into its components' parts and the unreserved rest (or the
    record itself, when no component runs on its variant while it lasts)."""
    if record.component is not Component.HOSTING or not record.line.startswith("variant/") or not changes:
        return [record]
    variant = record.line.removeprefix("variant/")
    pieces = _cuts(record, changes, variant)
    if all(not here for _, _, here in pieces):
        return [record]
    endpoint_id = record.record_id.rsplit("#", 1)[0]
    out: list[UsageRecord] = []
    for start, end, here in pieces:
        q0, c0 = _cumulative(record, start)
        q1, c1 = _cumulative(record, end)
        rest_id = f"{endpoint_id}#{start.isoformat()}"
        base = record.model_copy(update={"record_id": rest_id, "start": start, "end": end})
        if not here:
            cost = None if c1 is None or c0 is None else c1 - c0
            out.append(base.model_copy(update={"quantity": q1 - q0, "cost": cost}))
            continue
        weights, _, how = shares(here, record.instance_type, record.instance_count)
        quantities = largest_remainder(q1 - q0, weights)
        costs = (
            largest_remainder(c1 - c0, weights)
            if c1 is not None and c0 is not None
            else [None] * len(weights)
        )
        out.append(
            base.model_copy(
                update={
                    "quantity": quantities[0],
                    "cost": costs[0],
                    "notes": (*record.notes, f"unreserved rest of {len(here)} inference component(s): {how}"),
                }
            )
        )
        for component, quantity, cost in zip(here, quantities[1:], costs[1:], strict=True):
            out.append(
                base.model_copy(
                    update={
                        "record_id": f"{rest_id}#ic/{component.name}",
                        "resource_arn": component.arn,
                        "resource_kind": ResourceKind.INFERENCE_COMPONENT,
                        "resource_name": component.name,
                        "quantity": quantity,
                        "cost": cost,
                        "tags": _filled(component.attribution, record.tags),
                        "event_ids": tuple(sorted({*record.event_ids, component.created.event_id})),
                        "notes": (
                            *record.notes,
                            f"on {record.resource_name}: {component.copies} copies; {how}",
                        ),
                    }
                )
            )
    return [r for r in out if r.quantity > 0]


def split_records(records: Iterable[UsageRecord], changes: Sequence[ComponentChange]) -> list[UsageRecord]:
    """Every record of an endpoint timeline, its hosting records split among its inference components."""
    return [part for record in records for part in split_record(record, changes)]
