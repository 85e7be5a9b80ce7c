"""Read-only views of an account's setup, for `sagecost doctor`: who is calling, the CloudTrail trails, the
cost allocation tags, Cost Explorer, and a deployed stack's outputs, topics, parameters, queues and ledger.

Every read goes through `_reading(action)`, which turns botocore's errors (no credentials, no region,
access denied, unreachable endpoint, any other service error) into one `AwsReadError` that names the IAM
action: the doctor reports it as a problem with its fix, never as a traceback. Answers that are part of
the setup ("no such stack", "no such parameter") are returned as None, not raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.stacks import Stack
from sagecost.models.ledger import Dimension, ResourceLine
from sagecost.models.prices import Component

COST_EXPLORER_REGION: Final = "us-east-1"
"""Cost Explorer has one endpoint, ce.us-east-1.amazonaws.com, whatever region the account works in."""

_ACCESS_DENIED: Final = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"}
)
_NOT_FOUND: Final = frozenset(
    {"ParameterNotFound", "NotFound", "NotFoundException", "ResourceNotFoundException", "QueueDoesNotExist"}
)

ClientFactory = Callable[..., Any]
"""`(service, region_name=...) -> boto3 client`, e.g. `sagecost.adapters.aws.client`."""


class FailureKind(StrEnum):
    NO_CREDENTIALS = "no-credentials"
    NO_REGION = "no-region"
    ACCESS_DENIED = "access-denied"
    NOT_FOUND = "not-found"
    UNREACHABLE = "unreachable"
    OTHER = "other"


def _one_line(text: str, limit: int = 300) -> str:
    """An error message fit for one output line (a proxy's or emulator's HTML error page included)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class AwsReadError(Exception):
    """A read AWS refused or that never reached AWS; `action` is the IAM action, e.g. `sns:ListTopics`."""

    def __init__(self, action: str, kind: FailureKind, message: str, code: str = "") -> None:
        self.action = action
        self.kind = kind
        self.message = _one_line(message)
        super().__init__(f"{action}: {self.message}")
        self.code = code


def _kind_of(error: ClientError) -> FailureKind:
    code = error.response.get("Error", {}).get("Code", "")
    if code in _ACCESS_DENIED:
        return FailureKind.ACCESS_DENIED
    if code in _NOT_FOUND or code.startswith("AWS.SimpleQueueService.NonExistentQueue"):
        return FailureKind.NOT_FOUND
    return FailureKind.OTHER


@contextmanager
def _reading(action: str) -> Iterator[None]:
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise AwsReadError(action, FailureKind.NO_CREDENTIALS, str(error)) from None
    except NoRegionError as error:
        raise AwsReadError(action, FailureKind.NO_REGION, str(error)) from None
    except EndpointConnectionError as error:
        raise AwsReadError(action, FailureKind.UNREACHABLE, str(error)) from None
    except ClientError as error:
        details = error.response.get("Error", {})
        message = details.get("Message") or str(error)
        raise AwsReadError(action, _kind_of(error), message, details.get("Code", "")) from None
    except BotoCoreError as error:
        raise AwsReadError(action, FailureKind.OTHER, str(error)) from None


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str


@dataclass(frozen=True)
class ClassicEventSelector:
    """A trail's basic event selector (`EventSelectors`): ReadWriteType All, ReadOnly or WriteOnly."""

    read_write_type: str
    include_management_events: bool


@dataclass(frozen=True)
class FieldSelector:
    """One statement of an advanced event selector: a record field and its Equals / NotEquals values (the
    operators management-event selectors use)."""

    field: str
    equals: tuple[str, ...] = ()
    not_equals: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrailSetup:
    """A trail that applies to the region asked about (its own, or a multi-region trail's shadow)."""

    name: str
    arn: str
    home_region: str
    is_multi_region: bool
    is_logging: bool
    event_selectors: tuple[ClassicEventSelector, ...]
    advanced_event_selectors: tuple[tuple[FieldSelector, ...], ...]


@dataclass(frozen=True)
class QueueDepth:
    arn: str
    messages: int
    """Visible plus in flight: both are still in the queue."""


@dataclass(frozen=True)
class PricedLine:
    """What a ledger resource line needs a price for."""

    region: str
    component: Component
    instance_type: str


def _field_selector(raw: Mapping[str, Any]) -> FieldSelector:
    return FieldSelector(
        field=str(raw["Field"]),
        equals=tuple(raw.get("Equals", ())),
        not_equals=tuple(raw.get("NotEquals", ())),
    )


class AccountReader:
    """The reads `sagecost doctor` makes, over clients from `clients` (one per service and region)."""

    def __init__(self, clients: ClientFactory, region: str | None = None) -> None:
        self._factory = clients
        self._requested_region = region
        self._clients: dict[tuple[str, str | None], Any] = {}

    def _client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self._requested_region)
        if key not in self._clients:
            self._clients[key] = self._factory(service, region_name=key[1])
        return self._clients[key]

    @property
    def region(self) -> str | None:
        """The region the regional reads target: `--region`, else the environment's or profile's."""
        return self._requested_region or boto3.session.Session().region_name

    def caller(self) -> CallerIdentity:
        with _reading("sts:GetCallerIdentity"):
            identity = self._client("sts").get_caller_identity()
        return CallerIdentity(account=identity["Account"], arn=identity["Arn"])

    # --- CloudTrail ------------------------------------------------------------------------------------

    def trails(self) -> list[TrailSetup]:
        """Every trail that logs this region: its own and the shadows of other regions' multi-region trails.
        A trail's status and selectors are read in its home region, by ARN."""
        with _reading("cloudtrail:DescribeTrails"):
            described = self._client("cloudtrail").describe_trails(includeShadowTrails=True)["trailList"]
        return [self._trail(raw) for raw in described]

    def _trail(self, raw: Mapping[str, Any]) -> TrailSetup:
        arn, home = str(raw["TrailARN"]), str(raw.get("HomeRegion") or self.region)
        with _reading("cloudtrail:GetTrailStatus"):
            status = self._client("cloudtrail", home).get_trail_status(Name=arn)
        with _reading("cloudtrail:GetEventSelectors"):
            selectors = self._client("cloudtrail", home).get_event_selectors(TrailName=arn)
        return TrailSetup(
            name=str(raw["Name"]),
            arn=arn,
            home_region=home,
            is_multi_region=bool(raw.get("IsMultiRegionTrail")),
            is_logging=bool(status.get("IsLogging")),
            event_selectors=tuple(
                ClassicEventSelector(
                    read_write_type=str(selector.get("ReadWriteType", "All")),
                    include_management_events=bool(selector.get("IncludeManagementEvents", True)),
                )
                for selector in selectors.get("EventSelectors") or ()
            ),
            advanced_event_selectors=tuple(
                tuple(_field_selector(field) for field in selector.get("FieldSelectors", ()))
                for selector in selectors.get("AdvancedEventSelectors") or ()
            ),
        )

    # --- Cost Explorer ---------------------------------------------------------------------------------

    def cost_allocation_tag_status(self, keys: Sequence[str]) -> dict[str, str]:
        """Tag key -> `Active` or `Inactive`, for the user-defined `keys` Cost Explorer knows; a key it has
        never seen on a billed resource is absent."""
        statuses: dict[str, str] = {}
        with _reading("ce:ListCostAllocationTags"):
            paginator = self._client("ce", COST_EXPLORER_REGION).get_paginator("list_cost_allocation_tags")
            for page in paginator.paginate(TagKeys=list(keys), Type="UserDefined"):
                for tag in page.get("CostAllocationTags", ()):
                    statuses[str(tag["TagKey"])] = str(tag["Status"])
        return statuses

    def probe_cost_explorer(self, today: date) -> None:
        """One day of unblended cost, the smallest GetCostAndUsage there is (each request costs USD 0.01)."""
        with _reading("ce:GetCostAndUsage"):
            self._client("ce", COST_EXPLORER_REGION).get_cost_and_usage(
                TimePeriod={"Start": (today - timedelta(days=1)).isoformat(), "End": today.isoformat()},
                Granularity="DAILY",
                Metrics=["UnblendedCost"],
            )

    # --- a deployed stack ------------------------------------------------------------------------------

    def stack(self, name: str) -> Stack | None:
        """The stack's outputs and parameters, or None when no stack of that name exists in the region."""
        try:
            with _reading("cloudformation:DescribeStacks"):
                stacks = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        except AwsReadError as error:
            if error.code == "ValidationError" and "does not exist" in error.message:
                return None
            raise
        described = stacks[0] if stacks else {}
        return Stack(
            name=name,
            outputs={str(o["OutputKey"]): str(o["OutputValue"]) for o in described.get("Outputs", ())},
            parameters={
                str(p["ParameterKey"]): str(p.get("ParameterValue", ""))
                for p in described.get("Parameters", ())
            },
        )

    def subscription_arns(self, topic_arn: str) -> list[str]:
        """Each subscription's ARN; `PendingConfirmation` for one not confirmed yet."""
        with _reading("sns:ListSubscriptionsByTopic"):
            paginator = self._client("sns").get_paginator("list_subscriptions_by_topic")
            return [
                str(subscription["SubscriptionArn"])
                for page in paginator.paginate(TopicArn=topic_arn)
                for subscription in page.get("Subscriptions", ())
            ]

    def parameter(self, name: str) -> str | None:
        """An SSM parameter's value, or None when there is no such parameter."""
        try:
            with _reading("ssm:GetParameter"):
                found = self._client("ssm").get_parameter(Name=name, WithDecryption=True)
        except AwsReadError as error:
            if error.kind is FailureKind.NOT_FOUND:
                return None
            raise
        return str(found["Parameter"]["Value"])

    def queue_depth(self, queue_url: str) -> QueueDepth:
        with _reading("sqs:GetQueueAttributes"):
            attributes = self._client("sqs").get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=[
                    "QueueArn",
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        return QueueDepth(
            arn=str(attributes["QueueArn"]),
            messages=int(attributes.get("ApproximateNumberOfMessages", 0))
            + int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )

    def priced_lines(self, table: str, month: str) -> tuple[set[PricedLine], int]:
        """What the ledger's resource lines of `month` need a price for, and how many were unreadable."""
        with _reading("dynamodb:Query"):
            aggregates = DynamoLedger(self._client("dynamodb"), table).aggregates(month, Dimension.RESOURCE)
        needed: set[PricedLine] = set()
        unreadable = 0
        for aggregate in aggregates:
            try:
                line = ResourceLine.parse(aggregate.value)
                needed.add(PricedLine(line.region, line.component, line.instance_type))
            except (ValueError, IndexError):
                unreadable += 1
        return needed, unreadable
