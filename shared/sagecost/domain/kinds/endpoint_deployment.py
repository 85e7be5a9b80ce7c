"""Blue/green endpoint deployments: while an endpoint UPDATING to a new config runs its new ("green") fleet
beside the old one, both bill. "SageMaker Endpoint Deployment State Change" events report the second fleet
in `PendingDeploymentSummary.ProductionVariants` (`CurrentInstanceCount`, the new config's name, sometimes
`InstanceType`): each is a transition of the endpoint's timeline with the old fleet's lines plus
`variant/<name>/new-fleet` lines (and their ML storage), priced from the pending config the ledger cached
from its Endpoint Config event. The next endpoint state change ends it (IN_SERVICE: the old fleet is gone,
the new fleet's counts are the endpoint's own).

A deployment event comes with the endpoint's own UPDATING event of the same `LastModifiedTime`; the
deployment's transition is placed when its current stage began (`VariantStatus[].StartTime`), and at least
a millisecond after `LastModifiedTime`, so that it follows the endpoint event whatever order they arrive in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sagecost.domain.kinds.endpoint import (
    ENDPOINT_BILLING_STATUSES,
    NEW_FLEET,
    VariantCounts,
    endpoint_lines,
    fleet_lines,
)
from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.models.events import EndpointDeploymentEvent, PendingDeployment
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component
from sagecost.models.state import BillingLine, EndpointConfigSnapshot, Transition

SPEC = KindSpec(
    kind=ResourceKind.ENDPOINT,
    component=Component.HOSTING,
    metering=Metering.TIMELINE,
    detail_types=("SageMaker Endpoint Deployment State Change",),
    idle_signal=None,  # the second fleet of a deployment: the endpoint is judged, never its deployment
)

AFTER_THE_ENDPOINT_EVENT = timedelta(milliseconds=1)


def deployment_time(event: EndpointDeploymentEvent) -> datetime:
    """When the deployment entered the state this event reports (see the module's docstring)."""
    detail = event.detail
    changed = detail.last_modified_time or event.time
    stages = [
        stage.start_time
        for variant in (detail.pending_deployment_summary or PendingDeployment()).production_variants
        for stage in variant.variant_status
        if stage.start_time is not None
    ]
    return max([changed + AFTER_THE_ENDPOINT_EVENT, *stages])


def new_fleet_counts(pending: PendingDeployment) -> VariantCounts:
    return tuple(
        (f"{variant.variant_name or index}{NEW_FLEET}", variant.instance_count)
        for index, variant in enumerate(pending.production_variants)
    )


def new_fleet_lines(
    pending: PendingDeployment, pending_config: EndpointConfigSnapshot | None
) -> tuple[BillingLine, ...]:
    """The second fleet's instances (and their ML storage), typed from the event or the pending config."""
    specs = {spec.name: spec for spec in (pending_config.variants if pending_config else ())}
    component = (
        Component.ASYNC_INFERENCE if pending_config and pending_config.asynchronous else Component.HOSTING
    )
    lines: list[BillingLine] = []
    for index, variant in enumerate(pending.production_variants):
        count = variant.instance_count
        if not count:
            continue
        name = variant.variant_name or str(index)
        spec = specs.get(name)
        instance_type = variant.instance_type or (spec.instance_type if spec else None)
        volume = spec.volume_gb if spec is not None else None
        lines += fleet_lines(f"variant/{name}{NEW_FLEET}", component, instance_type, count, volume)
    return tuple(lines)


def deployment_transition(
    event: EndpointDeploymentEvent,
    config: EndpointConfigSnapshot | None,
    pending_config: EndpointConfigSnapshot | None,
) -> Transition | None:
    """Both fleets as the event reports them; None when it reports no second fleet (nothing to add to the
    endpoint's own events). `config` is the endpoint's current (old) config, `pending_config` the new one."""
    detail = event.detail
    pending = detail.pending_deployment_summary
    if pending is None or not pending.production_variants:
        return None
    old_counts: VariantCounts = tuple((v.variant_name, v.instance_count) for v in detail.production_variants)
    billing = detail.endpoint_status in ENDPOINT_BILLING_STATUSES
    lines = endpoint_lines(detail.endpoint_status, old_counts, config) + new_fleet_lines(
        pending, pending_config
    )
    return Transition(
        at=deployment_time(event),
        status=detail.endpoint_status,
        lines=lines if billing else (),
        event_id=event.id,
        variant_counts=old_counts + new_fleet_counts(pending),
    )
