"""Real-time and asynchronous endpoints: every production variant's instances (and their ML storage) bill
for as long as the endpoint exists, traffic or not. Instance types come from the endpoint config, cached
from Endpoint Config events (described only on a miss); counts come from the endpoint's events and the
hourly sweep's `CurrentInstanceCount` (autoscaling)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.models.events import EndpointEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component, serverless_type, storage_type
from sagecost.models.state import BillingLine, EndpointConfigSnapshot, Transition, VariantSpec

SPEC = KindSpec(
    kind=ResourceKind.ENDPOINT,
    component=Component.HOSTING,
    metering=Metering.TIMELINE,
    detail_types=("SageMaker Endpoint State Change",),
    swept=True,
    idle_signal=(
        "Invocations per variant (real-time); InvocationsProcessed and ApproximateBacklogSize (async);"
        " Invocations per inference component; serverless: none"
    ),
)
CONFIG_SPEC = KindSpec(
    kind=None,
    component=None,
    metering=Metering.CACHE,
    detail_types=("SageMaker Endpoint Config State Change",),
)

ENDPOINT_BILLING_STATUSES = frozenset(
    {"IN_SERVICE", "UPDATING", "SYSTEM_UPDATING", "ROLLING_BACK", "OUT_OF_SERVICE", "UPDATE_ROLLBACK_FAILED"}
)
"""Instances exist (and bill) in these states; CREATING, DELETING, DELETED and FAILED bill nothing."""

UNKNOWN_INSTANCE_TYPE = "unknown"
"""Usage whose instance type could not be learned: kept, and reported as unpriced."""

NEW_FLEET = "/new-fleet"
"""Suffix of a variant name in `variant_counts` for the second fleet of a blue/green deployment
(`domain.kinds.endpoint_deployment`): it bills beside the old fleet while the endpoint updates."""

VariantCounts = tuple[tuple[str | None, int | None], ...]


def config_arn_for(endpoint_arn: str, config_name: str) -> str:
    """SageMaker ARNs carry names in lower case: endpoint-config/<name>."""
    prefix = endpoint_arn.split(":endpoint/", 1)[0]
    return f"{prefix}:endpoint-config/{config_name.lower()}"


def endpoint_lines(
    status: str,
    variant_counts: Sequence[tuple[str | None, int | None]],
    config: EndpointConfigSnapshot | None,
) -> tuple[BillingLine, ...]:
    """Instances (and their ML storage) of each production variant while the endpoint exists.

    `variant_counts` are (variant name, current count) as the event or DescribeEndpoint reports them;
    events sometimes omit the name, then variants are matched by position (production variants only).
    Shadow variants (`ShadowProductionVariants`, distinct names) bill like production ones. Serverless
    variants bill their provisioned concurrency (concurrency x hours, at the rate of their memory size)
    while the endpoint exists; their on-demand compute is per request, estimated from CloudWatch by
    `domain.kinds.serverless` and trued up by the month-end reconciliation.
    """
    if status not in ENDPOINT_BILLING_STATUSES:
        return ()
    if config is None:
        # Instances bill whether or not we know their type: keep them, unpriced, until the config is read.
        reported = variant_counts or ((None, None),)  # an event without variants still has an instance
        return tuple(  # a blue/green deployment's new fleet included: variant/<name>/new-fleet
            BillingLine(
                line=f"variant/{name or index}",
                component=Component.HOSTING,
                instance_type=UNKNOWN_INSTANCE_TYPE,
                count=1 if count is None else count,
            )
            for index, (name, count) in enumerate(reported)
            if count != 0
        )
    by_name: Mapping[str | None, int | None] = dict(variant_counts)
    component = Component.ASYNC_INFERENCE if config.asynchronous else Component.HOSTING
    lines: list[BillingLine] = []
    for index, spec in enumerate(config.variants):
        if spec.serverless:
            lines += provisioned_concurrency_lines(spec)
            continue
        count = by_name.get(spec.name)
        unnamed = index < len(variant_counts) and variant_counts[index][0] is None
        if count is None and unnamed and not spec.shadow:
            count = variant_counts[index][1]
        if count is None:
            count = spec.initial_count if spec.initial_count is not None else 1
        if count == 0:
            continue
        lines += fleet_lines(f"variant/{spec.name}", component, spec.instance_type, count, spec.volume_gb)
    lines += (
        # its instance type is in the pending config, which `endpoint_deployment` reads; unknown here
        BillingLine(
            line=f"variant/{name}", component=component, instance_type=UNKNOWN_INSTANCE_TYPE, count=count
        )
        for name, count in variant_counts
        if name is not None and name.endswith(NEW_FLEET) and count
    )
    return tuple(lines)


def fleet_lines(
    line: str, component: Component, instance_type: str | None, count: int, volume_gb: int | None
) -> tuple[BillingLine, ...]:
    """`count` instances of a variant's fleet, and their ML storage volumes (`<line>/storage`)."""
    instances = BillingLine(
        line=line, component=component, instance_type=instance_type or UNKNOWN_INSTANCE_TYPE, count=count
    )
    if not volume_gb:
        return (instances,)
    storage = BillingLine(
        line=f"{line}/storage",
        component=Component.ML_STORAGE,
        instance_type=storage_type(component),
        count=count,
        volume_gb=volume_gb,
    )
    return (instances, storage)


def provisioned_concurrency_lines(spec: VariantSpec) -> tuple[BillingLine, ...]:
    """A serverless variant's provisioned concurrency: `ProvisionedConcurrency` concurrency-hours per hour,
    at its memory size's rate, whether or not it serves (unknown memory: kept, unpriced)."""
    if not spec.provisioned_concurrency:
        return ()
    return (
        BillingLine(
            line=f"variant/{spec.name}/provisioned",
            component=Component.SERVERLESS_PROVISIONED,
            instance_type=serverless_type(spec.memory_mb) if spec.memory_mb else UNKNOWN_INSTANCE_TYPE,
            count=spec.provisioned_concurrency,
        ),
    )


def priced_with_config(
    transitions: Sequence[Transition], config: EndpointConfigSnapshot
) -> tuple[Transition, ...]:
    """Transitions metered before the endpoint config was known, with the instance types it names."""
    return tuple(
        t.model_copy(update={"lines": endpoint_lines(t.status, t.variant_counts, config)})
        if any(line.instance_type == UNKNOWN_INSTANCE_TYPE for line in t.lines)
        else t
        for t in transitions
    )


def known_config(
    current: EndpointConfigSnapshot | None, cached: EndpointConfigSnapshot | None, name: str | None
) -> EndpointConfigSnapshot | None:
    """The endpoint's config as the ledger knows it (from Endpoint Config events), without asking AWS:
    the config cached under `name`, or the one the timeline already has if it is that one.

    On a miss the recorder meters the instances with an unknown type (unpriced) and makes no extra read:
    the next hourly sweep describes the config once and re-prices that usage."""
    if name is None:
        return current
    if cached is not None:
        return cached
    if current is not None and current.name == name:
        return current
    return None


def event_transition(event: EndpointEvent, config: EndpointConfigSnapshot | None) -> Transition:
    """The state change an endpoint event reports, with what bills from then on."""
    detail = event.detail
    counts: VariantCounts = tuple((v.variant_name, v.instance_count) for v in detail.production_variants)
    return Transition(
        at=event_time(event),
        status=detail.endpoint_status,
        lines=endpoint_lines(detail.endpoint_status, counts, config),
        event_id=event.id,
        variant_counts=counts,
    )


def event_time(event: EndpointEvent) -> datetime:
    return event.detail.last_modified_time or event.time
