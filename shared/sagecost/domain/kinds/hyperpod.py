"""SageMaker HyperPod clusters: every instance of every instance group bills by the hour at its type's
HyperPod rate (Component.HYPERPOD; Price List `ml.<type>-Cluster`), whatever the cluster's status, for as
long as the instance exists: `CurrentCount` per group, from the "SageMaker HyperPod Cluster State Change"
events and the hourly sweep's DescribeCluster (counts change as nodes are added, replaced or removed
without any event). A deleted cluster is no longer listed: the sweep closes it."""

from __future__ import annotations

from collections.abc import Iterable

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.models.events import ClusterInstanceGroupState, HyperPodClusterEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component
from sagecost.models.state import BillingLine, Transition

SPEC = KindSpec(
    kind=ResourceKind.HYPERPOD_CLUSTER,
    component=Component.HYPERPOD,
    metering=Metering.TIMELINE,
    detail_types=("SageMaker HyperPod Cluster State Change",),
    swept=True,
    idle_signal=None,
)


def cluster_lines(groups: Iterable[ClusterInstanceGroupState]) -> tuple[BillingLine, ...]:
    """One line per instance group with instances (`CurrentCount`; `TargetCount` when the current count
    is not reported), in group-name order so the same fleet is always the same lines."""
    lines: list[BillingLine] = []
    for group in sorted(groups, key=lambda g: g.instance_group_name):
        count = group.current_count if group.current_count is not None else group.target_count
        if count:
            lines.append(
                BillingLine(
                    line=f"group/{group.instance_group_name}",
                    component=Component.HYPERPOD,
                    instance_type=group.instance_type,
                    count=count,
                )
            )
    return tuple(lines)


def event_transition(event: HyperPodClusterEvent) -> Transition:
    detail = event.detail
    return Transition(
        at=event.time,
        status=detail.cluster_status,
        lines=cluster_lines(detail.instance_groups),
        event_id=event.id,
    )
