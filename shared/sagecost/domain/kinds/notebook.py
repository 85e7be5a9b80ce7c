"""Notebook instances: the instance bills while InService (and Stopping); the ML volume until the notebook
is deleted. Events carry no volume size: `DescribeNotebookInstance` reads it once, in the sweep, and the
usage metered at the default size until then is re-priced."""

from __future__ import annotations

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.models.events import NotebookInstanceEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component, storage_type
from sagecost.models.state import BillingLine, Transition

SPEC = KindSpec(
    kind=ResourceKind.NOTEBOOK_INSTANCE,
    component=Component.NOTEBOOK,
    metering=Metering.TIMELINE,
    detail_types=("SageMaker Notebook Instance State Change",),
    swept=True,
    idle_signal="running outside working hours or longer than `notebook_max_running_hours`",
)

NOTEBOOK_COMPUTE_STATUSES = frozenset({"InService", "Stopping"})
NOTEBOOK_GONE_STATUSES = frozenset({"Deleting", "Deleted", "Failed"})
DEFAULT_NOTEBOOK_VOLUME_GB = 5
"""SageMaker's default ML storage volume for a notebook instance, used until the real size is read."""
UNKNOWN_INSTANCE_TYPE = "unknown"


def notebook_lines(status: str, instance_type: str | None, volume_gb: int | None) -> tuple[BillingLine, ...]:
    """A notebook bills its instance while InService; its ML volume until it is deleted."""
    if status in NOTEBOOK_GONE_STATUSES:
        return ()
    storage = BillingLine(
        line="storage",
        component=Component.ML_STORAGE,
        instance_type=storage_type(Component.NOTEBOOK),
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


def event_transition(
    event: NotebookInstanceEvent, instance_type: str | None, volume_gb: int | None
) -> Transition:
    """The state change a notebook event reports, priced with the best instance type and volume known."""
    detail = event.detail
    return Transition(
        at=detail.last_modified_time or event.time,
        status=detail.notebook_instance_status,
        lines=notebook_lines(detail.notebook_instance_status, instance_type, volume_gb),
        event_id=event.id,
    )
