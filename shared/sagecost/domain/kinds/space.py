"""Studio spaces' storage: a space's EBS volume bills (ML storage, GB-month) from `CreateSpace` until
`DeleteSpace`, whether or not an app runs in it. Metered from CloudTrail, and swept (`ListSpaces`).

The size is the request's `spaceSettings.spaceStorageSettings.ebsStorageSettings.ebsVolumeSizeInGb`
(5 to 16,384 GB); a request without it gets the domain's (or user profile's) default, which only
`DescribeSpace` tells: until the sweep reads it, SageMaker's default of 5 GB is used ("The default size
for the Amazon EBS volume is 5 GB. You can increase the volume size to a maximum of 16,384 GB."
https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-jl-admin-guide.html), and the usage
metered at it is re-priced once the real size is known."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.kinds.studio_app import partition
from sagecost.models.events import ApiCallEvent, InvalidEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component, storage_type
from sagecost.models.state import BillingLine, Transition

SPEC = KindSpec(
    kind=ResourceKind.SPACE,
    component=Component.ML_STORAGE,
    metering=Metering.TIMELINE,
    cloudtrail_calls=("CreateSpace", "DeleteSpace"),
    swept=True,
    idle_signal=None,  # a volume has no activity of its own: its apps are judged, never the space
)

DEFAULT_SPACE_VOLUME_GB = 5
EXISTS = "InService"
GONE = "Deleted"
VOLUME_STATUSES = frozenset({"InService", "Pending", "Updating", "Update_Failed", "Delete_Failed"})
"""`SpaceStatus` values in which the space's volume exists; `Deleting` and `Failed` bill nothing."""
STORAGE_TYPE = storage_type(Component.STUDIO_APP)


@dataclass(frozen=True)
class SpaceKey:
    domain_id: str
    name: str

    @classmethod
    def from_request(cls, params: Mapping[str, Any]) -> SpaceKey:
        domain, name = params.get("domainId"), params.get("spaceName")
        if not (isinstance(domain, str) and domain and isinstance(name, str) and name):
            raise InvalidEvent("a Studio space call names a domainId and a spaceName")
        return cls(domain, name)

    @property
    def resource_id(self) -> str:
        """`space/<domain>/<name>` in lower case: how timelines are keyed and matched."""
        return f"space/{self.domain_id}/{self.name}".lower()

    def arn(self, region: str, account: str) -> str:
        return f"arn:{partition(region)}:sagemaker:{region}:{account}:{self.resource_id}"


def space_lines(status: str, volume_gb: int | None) -> tuple[BillingLine, ...]:
    if status not in VOLUME_STATUSES:
        return ()
    return (
        BillingLine(
            line="storage",
            component=Component.ML_STORAGE,
            instance_type=STORAGE_TYPE,
            count=1,
            volume_gb=volume_gb or DEFAULT_SPACE_VOLUME_GB,
        ),
    )


def settings_volume_gb(settings: Any, *, camel: bool) -> int | None:
    """`EbsVolumeSizeInGb` of a space's settings: a request's (camelCase) or the API's (PascalCase)."""
    path = (
        ("spaceStorageSettings", "ebsStorageSettings", "ebsVolumeSizeInGb")
        if camel
        else ("SpaceStorageSettings", "EbsStorageSettings", "EbsVolumeSizeInGb")
    )
    value: Any = settings
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def requested_volume_gb(params: Mapping[str, Any]) -> int | None:
    return settings_volume_gb(params.get("spaceSettings"), camel=True)


def listed_status(status: str) -> str:
    return EXISTS if status in VOLUME_STATUSES else GONE


def event_transition(event: ApiCallEvent, volume_gb: int | None) -> Transition:
    """CreateSpace: the volume bills from the call; DeleteSpace: it stops."""
    detail = event.detail
    status = EXISTS if detail.event_name == "CreateSpace" else GONE
    return Transition(
        at=detail.event_time, status=status, lines=space_lines(status, volume_gb), event_id=event.id
    )
