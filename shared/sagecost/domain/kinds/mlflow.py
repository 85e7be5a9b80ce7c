"""Managed MLflow tracking servers: a server bills by the hour at the rate of its size
(`TrackingServerSize`: Small, Medium, Large; Component.MLFLOW, `instance_type` = the size) while it runs.

SageMaker sends no single state-change event for them (SOURCES.md, "MLflow events"): the timeline is cut
at the CloudTrail calls `CreateMlflowTrackingServer` (size in the request, Small by default),
`UpdateMlflowTrackingServer` (a new size, when given), `StartMlflowTrackingServer`,
`StopMlflowTrackingServer` and `DeleteMlflowTrackingServer`, and the hourly sweep's
`ListMlflowTrackingServers` opens what no call announced and sees statuses change.

A stopped server is taken to bill nothing: stopping is how a server is kept without running it, but the
pricing of stopped time is not verified (SOURCES.md, Billing facts); a server bills from the Create call
(it is being provisioned) until it is stopped, deleted, or failed to create."""

from __future__ import annotations

from typing import Any

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.models.events import ApiCallEvent, InvalidEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component
from sagecost.models.state import BillingLine, Transition

CALL_STATUSES = {
    "CreateMlflowTrackingServer": "Creating",
    "UpdateMlflowTrackingServer": "Updated",
    "StartMlflowTrackingServer": "Started",
    "StopMlflowTrackingServer": "Stopped",
    "DeleteMlflowTrackingServer": "Deleted",
}
"""The status a successful call puts the server in, as `TrackingServerStatus` spells it (`Deleted` is
sagecost's: a deleted server is no longer listed)."""

SPEC = KindSpec(
    kind=ResourceKind.MLFLOW_SERVER,
    component=Component.MLFLOW,
    metering=Metering.TIMELINE,
    cloudtrail_calls=tuple(CALL_STATUSES),
    swept=True,
    idle_signal=None,
)

NOT_BILLING_STATUSES = frozenset({"Stopped", "CreateFailed", "Deleting", "Deleted"})
"""`TrackingServerStatus` values in which no server runs; every other status (Creating, Created, Updating,
Started, Stopping, Maintenance...) bills its size."""
SIZE_SETTING_STATUSES = frozenset({"Creating", "Updated"})
"""The calls that set the size (an Update without one keeps the size it has)."""
SIZE_TAKING_STATUSES = frozenset({"Started"})
"""The calls that run at the size set before them."""
SIZES = ("Small", "Medium", "Large")
DEFAULT_SIZE = "Small"
"""`TrackingServerSize` when the Create request leaves it out (botocore: default Small)."""
UNKNOWN_SIZE = "unknown"
LINE = "server"


def server_lines(status: str, size: str | None) -> tuple[BillingLine, ...]:
    if status in NOT_BILLING_STATUSES:
        return ()
    return (BillingLine(line=LINE, component=Component.MLFLOW, instance_type=size or UNKNOWN_SIZE, count=1),)


def arn_of(event: ApiCallEvent) -> str:
    """The server's ARN: every one of these calls answers `TrackingServerArn`; from the name otherwise."""
    detail = event.detail
    arn = detail.response.get("trackingServerArn")
    if isinstance(arn, str) and arn:
        return arn
    name = name_of(event)
    account = detail.recipient_account_id or event.account
    region = detail.aws_region or event.region
    return f"arn:aws:sagemaker:{region}:{account}:mlflow-tracking-server/{name}"


def name_of(event: ApiCallEvent) -> str:
    name = event.detail.request_parameters.get("trackingServerName")
    if not isinstance(name, str) or not name:
        raise InvalidEvent(f"{event.detail.event_name}: no trackingServerName in the request")
    return name


def requested_size(event: ApiCallEvent) -> str | None:
    """The size the call sets: Create's (Small when left out) or Update's when it names one."""
    parameters: dict[str, Any] = event.detail.request_parameters
    size = parameters.get("trackingServerSize")
    if isinstance(size, str) and size in SIZES:
        return size
    if size is not None:
        raise InvalidEvent(f"{size!r} is not a tracking server size ({', '.join(SIZES)})")
    return DEFAULT_SIZE if event.detail.event_name == "CreateMlflowTrackingServer" else None


def needs_size(status: str, known: str | None) -> bool:
    """The one read a call allows (DescribeMlflowTrackingServer): when the server bills and its size is
    known neither from the call nor from the ledger (a server created before sagecost was deployed)."""
    return known is None and status not in NOT_BILLING_STATUSES


def call_transition(event: ApiCallEvent, size: str | None) -> Transition:
    status = CALL_STATUSES[event.detail.event_name]
    return Transition(
        at=event.detail.event_time, status=status, lines=server_lines(status, size), event_id=event.id
    )
