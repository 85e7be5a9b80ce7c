"""What bills while an endpoint or a notebook instance is in a given state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sagecost.models.prices import ML_STORAGE_VOLUME, Component
from sagecost.models.state import BillingLine, EndpointConfigSnapshot, Transition

ENDPOINT_BILLING_STATUSES = frozenset(
    {"IN_SERVICE", "UPDATING", "SYSTEM_UPDATING", "ROLLING_BACK", "OUT_OF_SERVICE", "UPDATE_ROLLBACK_FAILED"}
)
"""Instances exist (and bill) in these states; CREATING, DELETING, DELETED and FAILED bill nothing."""

NOTEBOOK_COMPUTE_STATUSES = frozenset({"InService", "Stopping"})
NOTEBOOK_GONE_STATUSES = frozenset({"Deleting", "Deleted", "Failed"})
DEFAULT_NOTEBOOK_VOLUME_GB = 5
"""SageMaker's default ML storage volume for a notebook instance, used until the real size is read."""

UNKNOWN_INSTANCE_TYPE = "unknown"
"""Usage whose instance type could not be learned: kept, and reported as unpriced."""


def endpoint_lines(
    status: str,
    variant_counts: Sequence[tuple[str | None, int | None]],
    config: EndpointConfigSnapshot | None,
) -> tuple[BillingLine, ...]:
    """Instances (and their ML storage) of each production variant while the endpoint exists.

    `variant_counts` are (variant name, current count) as the event or DescribeEndpoint reports them;
    events sometimes omit the name, then variants are matched by position. Serverless variants are
    billed per request, not per instance-hour, and are left to the month-end reconciliation.
    """
    if status not in ENDPOINT_BILLING_STATUSES:
        return ()
    if config is None:
        # Instances bill whether or not we know their type: keep them, unpriced, until the config is read.
        reported = variant_counts or ((None, None),)  # an event without variants still has an instance
        return tuple(
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
            continue
        count = by_name.get(spec.name)
        if count is None and index < len(variant_counts) and variant_counts[index][0] is None:
            count = variant_counts[index][1]
        if count is None:
            count = spec.initial_count if spec.initial_count is not None else 1
        if count == 0:
            continue
        lines.append(
            BillingLine(
                line=f"variant/{spec.name}",
                component=component,
                instance_type=spec.instance_type or UNKNOWN_INSTANCE_TYPE,
                count=count,
            )
        )
        if spec.volume_gb:
            lines.append(
                BillingLine(
                    line=f"variant/{spec.name}/storage",
                    component=Component.ML_STORAGE,
                    instance_type=ML_STORAGE_VOLUME,
                    count=count,
                    volume_gb=spec.volume_gb,
                )
            )
    return tuple(lines)


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


def notebook_lines(status: str, instance_type: str | None, volume_gb: int | None) -> tuple[BillingLine, ...]:
    """A notebook bills its instance while InService; its ML volume until it is deleted."""
    if status in NOTEBOOK_GONE_STATUSES:
        return ()
    storage = BillingLine(
        line="storage",
        component=Component.ML_STORAGE,
        instance_type=ML_STORAGE_VOLUME,
        count=1,
        volume_gb=volume_gb or DEFAULT_NOTEBOOK_VOLUME_GB,
    )
    if status in NOTEBOOK_COMPUTE_STATUSES:
        compute = BillingLine(
            line="compute",
            component=Component.NOTEBOOK,
            instance_type=instance_type or UNKNOWN_INSTANCE_TYPE,
            count=1,
        )
        return (compute, storage)
    return (storage,)
