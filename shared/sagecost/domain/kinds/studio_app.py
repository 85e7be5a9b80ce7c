"""Studio apps (JupyterLab, Code Editor, KernelGateway, RSessionGateway, Canvas): the app's instance bills
from `CreateApp` until `DeleteApp` ("metering starts when the instance is created and ends when the app's
image is shut down", notebooks-usage-metering). SageMaker sends no state-change event for apps, so they are
metered from CloudTrail: `CreateApp` opens the timeline, `DeleteApp` closes it, and the hourly sweep
(`ListApps`) opens what no event announced and closes what lost its delete event.

An app's ARN is `arn:<partition>:sagemaker:<region>:<account>:app/<domain-id>/<space-or-user-profile>/
<apptype-lowercase>/<app-name>` (tests/fixtures/kinds/SOURCES.md). `DeleteApp` returns no ARN and
`ListApps` lists none, so the ARN is built from the four identifying request members; Studio examples also
spell the app type in CamelCase, so timelines are keyed by the ARN in lower case and matched so.

With TagPropagation the app carries its space's or user profile's tags; CloudTrail's `CreateApp` carries
none, so the one read an event allows is `ListTags` of the space (or user profile)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.models.events import ApiCallEvent, InvalidEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component
from sagecost.models.state import BillingLine, Transition

SPEC = KindSpec(
    kind=ResourceKind.STUDIO_APP,
    component=Component.STUDIO_APP,
    metering=Metering.TIMELINE,
    cloudtrail_calls=("CreateApp", "DeleteApp"),
    swept=True,
    idle_signal=(
        "DescribeApp `LastUserActivityTimestamp`: older than `app_idle_minutes` (or the app left on outside "
        "working hours) warns; deleted only if no activity came since the warning, `warning_hours` on"
    ),
)

RUNNING = "InService"
GONE = "Deleted"
BILLING_STATUSES = frozenset({"InService", "Pending"})
"""`AppStatus` values in which the app's instance exists (Pending: it is being created, and metered from
the CreateApp call). `Deleting`, `Deleted` and `Failed` bill nothing."""
FREE_INSTANCE_TYPES = frozenset({"system"})
"""`ResourceSpec.InstanceType` of Studio Classic's JupyterServer, which runs on no billed instance."""
FREE_APP_TYPES = frozenset({"jupyterserver"})
"""App types that bill no instance when no instance type is named (the JupyterServer `default` app)."""
UNKNOWN_INSTANCE_TYPE = "unknown"


@dataclass(frozen=True)
class AppKey:
    """An app as SageMaker's requests identify it: domain, its space or user profile, type and name."""

    domain_id: str
    owner: str
    """The space's or the user profile's name."""
    in_space: bool
    app_type: str
    app_name: str

    @classmethod
    def from_request(cls, params: Mapping[str, Any]) -> AppKey:
        """From the camelCase `requestParameters` of CreateApp or DeleteApp; InvalidEvent if incomplete."""
        space, profile = params.get("spaceName"), params.get("userProfileName")
        fields = (params.get("domainId"), space or profile, params.get("appType"), params.get("appName"))
        if not all(isinstance(value, str) and value for value in fields):
            raise InvalidEvent(
                "a Studio app call names a domainId, a spaceName or userProfileName,"
                " an appType and an appName"
            )
        domain, owner, app_type, name = (str(value) for value in fields)
        return cls(domain, owner, bool(space), app_type, name)

    @property
    def resource_id(self) -> str:
        """The ARN's resource part, in lower case: `app/<domain>/<owner>/<type>/<name>`."""
        return f"app/{self.domain_id}/{self.owner}/{self.app_type}/{self.app_name}".lower()

    @property
    def display_name(self) -> str:
        return f"{self.owner}/{self.app_type.lower()}/{self.app_name}"

    def arn(self, region: str, account: str) -> str:
        return f"arn:{partition(region)}:sagemaker:{region}:{account}:{self.resource_id}"

    def owner_ledger_arn(self, region: str, account: str) -> str:
        """The key of the owner's timeline in the ledger (spaces are metered, keyed in lower case)."""
        kind = "space" if self.in_space else "user-profile"
        return (
            f"arn:{partition(region)}:sagemaker:{region}:{account}:"
            + f"{kind}/{self.domain_id}/{self.owner}".lower()
        )

    def owner_arn(self, region: str, account: str) -> str:
        """The space's or user profile's ARN, whose tags the app carries (as the request spells the name)."""
        kind = "space" if self.in_space else "user-profile"
        return f"arn:{partition(region)}:sagemaker:{region}:{account}:{kind}/{self.domain_id}/{self.owner}"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def resource_id(arn: str) -> str:
    """An ARN's resource part in lower case, to match app ARNs however they are spelt."""
    return arn.split(":", 5)[-1].lower()


def app_lines(status: str, app_type: str, instance_type: str | None) -> tuple[BillingLine, ...]:
    """One instance while the app runs, unless it is the free JupyterServer (`system`). An app that names
    no instance type runs on its space's default: kept unpriced until the sweep lists its type."""
    if status not in BILLING_STATUSES or instance_type in FREE_INSTANCE_TYPES:
        return ()
    if instance_type is None and app_type.lower() in FREE_APP_TYPES:
        return ()
    return (
        BillingLine(
            line="instance",
            component=Component.STUDIO_APP,
            instance_type=instance_type or UNKNOWN_INSTANCE_TYPE,
            count=1,
        ),
    )


def requested_instance_type(params: Mapping[str, Any]) -> str | None:
    spec = params.get("resourceSpec")
    value = spec.get("instanceType") if isinstance(spec, Mapping) else None
    return value if isinstance(value, str) and value else None


def event_transition(event: ApiCallEvent, key: AppKey) -> Transition:
    """CreateApp: the app's instance bills from the call; DeleteApp: it stops."""
    detail = event.detail
    if detail.event_name == "CreateApp":
        status = RUNNING
        lines = app_lines(status, key.app_type, requested_instance_type(detail.request_parameters))
    else:
        status, lines = GONE, ()
    return Transition(at=detail.event_time, status=status, lines=lines, event_id=event.id)


def listed_status(status: str) -> str:
    """ListApps' `Status` as the timeline keeps it: running (billing) or gone."""
    return RUNNING if status in BILLING_STATUSES else GONE


def priced_with_type(transitions: Sequence[Transition], instance_type: str) -> tuple[Transition, ...]:
    """Usage metered before the app's instance type was known, with the type the sweep listed."""
    return tuple(
        t.model_copy(
            update={
                "lines": tuple(
                    line.model_copy(update={"instance_type": instance_type})
                    if line.instance_type == UNKNOWN_INSTANCE_TYPE
                    else line
                    for line in t.lines
                )
            }
        )
        if t.unknown_lines
        else t
        for t in transitions
    )
