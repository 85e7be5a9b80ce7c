"""Every AWS call a function makes, checked against the IAM statements of its role in the deployed stack.

`CallRecorder` hooks every botocore client created while it is installed (`before-parameter-build.*.*`:
the operation model and the call's own parameters) and, while a function's handler runs, turns each call
into the (IAM action, resource ARN) pairs IAM would authorise: `dynamodb:Query` on `<table>/index/<name>`
for a query on an index, `dynamodb:PutItem`/`UpdateItem`/... for the parts of a TransactWriteItems,
`sqs:SendMessage` on the queue's ARN from its URL, `ssm:GetParameter` on `parameter/<name>`, and so on.
Calls that go through a fake instead of boto3 (moto has no Studio apps) are added with `record`.

`missing_grants` then asks, for each pair, whether an Allow statement of the function's role (its inline
policies from the translated template, resolved against the stack; the AWS managed policies SAM attaches)
matches the action and the resource, wildcards expanded as IAM does. Conditions (`aws:ResourceTag/...`,
`aws:TagKeys`) are taken as satisfiable: the check proves the grant exists for that resource, not that the
resource carries the tags a condition asks for. Implied needs are added: KMS for publishing to a topic under
a customer managed key, and what Lambda does with the role for the function's event sources.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import botocore.session
from tests.e2e.deployed import ACCOUNT, PARTITION, REGION, DeployedStack

IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag"}
"""Signing names that are not the service's IAM prefix (CloudWatch signs as monitoring, the Tagging API as
tagging); every other service used here signs with its IAM prefix."""

TRANSACT_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
"""IAM authorises DynamoDB transactions through the actions of their parts (there is no
dynamodb:TransactWriteItems action)."""

NO_RESOURCE_TYPES = {"cloudwatch", "tag", "ce", "pricing", "xray", "logs"}
"""Services whose actions used here take no resource ARN (granted on "*")."""

_LOGS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
MANAGED_POLICIES: dict[str, tuple[str, ...]] = {
    "service-role/AWSLambdaBasicExecutionRole": _LOGS,
    "AWSXrayWriteOnlyAccess": (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
    "service-role/AWSLambdaSQSQueueExecutionRole": (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        *_LOGS,
    ),
    "service-role/AWSLambdaDynamoDBExecutionRole": (
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        *_LOGS,
    ),
}
"""The AWS managed policies SAM attaches to function roles, as AWS publishes them (every action on "*")."""


@dataclass(frozen=True, order=True)
class Need:
    """One thing IAM must allow the function's role: an action on a resource."""

    function: str
    action: str
    resource: str
    tag_keys: tuple[str, ...] = ()
    """The request's aws:TagKeys (the keys an AddTags writes or a DeleteTags removes)."""
    because: str = field(default="", compare=False)

    def __str__(self) -> str:
        keys = f" with aws:TagKeys {list(self.tag_keys)}" if self.tag_keys else ""
        return f"{self.function}: {self.action} on {self.resource}{keys}"


def _arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{resource}"


def _kebab(noun: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", noun).lower()


def _sagemaker_resources(operation: str, params: dict[str, Any]) -> list[str]:
    if "ResourceArn" in params:
        return [params["ResourceArn"]]
    if operation.startswith("List"):
        return ["*"]
    noun = re.sub(r"^(Describe|Stop|Delete|Create|Update|Start)", "", operation)
    if noun == "App":
        owner = params.get("UserProfileName") or params.get("SpaceName")
        return [
            _arn(
                "sagemaker",
                f"app/{params['DomainId']}/{owner}/{params['AppType'].lower()}/{params['AppName']}",
            )
        ]
    if noun == "MlflowTrackingServer":  # the ARN's resource type; the parameter is TrackingServerName
        return [_arn("sagemaker", f"mlflow-tracking-server/{params['TrackingServerName'].lower()}")]
    name = params.get(f"{noun}Name")
    if name is None:
        raise LookupError(f"sagemaker:{operation}: no {noun}Name among {sorted(params)}")
    return [_arn("sagemaker", f"{_kebab(noun)}/{name.lower()}")]


def _dynamodb(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        return [
            (f"dynamodb:{TRANSACT_PARTS[part]}", _arn("dynamodb", f"table/{request['TableName']}"))
            for item in params["TransactItems"]
            for part, request in item.items()
        ]
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        return [
            (f"dynamodb:{operation}", _arn("dynamodb", f"table/{table}")) for table in params["RequestItems"]
        ]
    index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
    return [(f"dynamodb:{operation}", _arn("dynamodb", f"table/{params['TableName']}{index}"))]


def _queue(params: dict[str, Any]) -> list[str]:
    _, account, name = params["QueueUrl"].rsplit("/", 2)
    return [f"arn:{PARTITION}:sqs:{REGION}:{account}:{name}"]


def _object(params: dict[str, Any]) -> list[str]:
    key = f"/{params['Key']}" if "Key" in params else ""
    return [f"arn:{PARTITION}:s3:::{params['Bucket']}{key}"]


def _parameters(params: dict[str, Any]) -> list[str]:
    names = params.get("Names") or [params.get("Name") or params["Path"]]
    return [_arn("ssm", f"parameter/{name.lstrip('/')}") for name in names]


RESOURCES_OF: dict[str, Any] = {
    "sqs": lambda _operation, params: _queue(params),
    "sns": lambda _operation, params: [params.get("TopicArn") or params["TargetArn"]],
    "s3": lambda _operation, params: _object(params),
    "ssm": lambda _operation, params: _parameters(params),
    "sagemaker": _sagemaker_resources,
    "kms": lambda _operation, params: [_arn("kms", f"key/{params['KeyId']}")],
}
"""IAM prefix -> (operation, parameters) -> the ARNs IAM authorises the call on."""


def needs_of_call(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (action, resource) pairs IAM checks for one API call (`service` is the IAM prefix)."""
    action = f"{service}:{operation}"
    if service in NO_RESOURCE_TYPES:
        return [(action, "*")]
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service not in RESOURCES_OF:
        raise LookupError(f"{action}: the IAM check does not know this call's resource; teach needs_of_call")
    return [(action, resource) for resource in RESOURCES_OF[service](operation, params)]


@dataclass
class CallRecorder:
    """What each function asked of AWS while its handler ran (installed before its clients are created)."""

    needs: list[Need] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    function: str | None = None

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build.*.*", recorder._before_call)
            return client

        with mock.patch.object(botocore.session.Session, "create_client", create_client):
            yield self

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        """Attribute the calls made inside this block to `function`."""
        self.function = function
        try:
            yield
        finally:
            self.function = None

    def _before_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.function is None:
            return
        signing_name = model.service_model.signing_name
        self.record(IAM_PREFIX.get(signing_name, signing_name), model.name, params)

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        """Record one call (botocore's hook calls this; so do fakes that stand in for a boto3 client)."""
        assert self.function is not None, "calls are recorded only while a function runs"
        self.calls.append(f"{self.function}: {service}:{operation}")
        keys: tuple[str, ...] = ()
        if service == "sagemaker" and operation in {"AddTags", "DeleteTags"}:
            keys = tuple(sorted({t["Key"] for t in params.get("Tags", [])} | set(params.get("TagKeys", []))))
        for action, resource in needs_of_call(service, operation, params):
            self.needs.append(Need(self.function, action, resource, keys, because=f"{service}:{operation}"))

    def of(self, function: str) -> list[Need]:
        return [need for need in self.needs if need.function == function]


# --- what the deployment itself asks of a role ----------------------------------------------------


def implied_needs(stack: DeployedStack, function: str, needs: list[Need]) -> list[Need]:
    """Needs no boto3 call shows: KMS behind SNS publishes, and the function's event sources."""
    implied: list[Need] = []
    keys = _topic_keys(stack)
    for need in needs:
        if need.action == "sns:Publish" and need.resource in keys:
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                implied.append(Need(function, action, keys[need.resource], because="sns:Publish (encrypted)"))
    for logical_id in stack.of_type("AWS::Lambda::EventSourceMapping"):
        mapping = stack.resources[logical_id]["Properties"]
        if mapping["FunctionName"] != {"Ref": function}:
            continue
        source = stack.resolve(mapping["EventSourceArn"])
        if ":sqs:" in source:
            actions: tuple[str, ...] = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
        else:
            actions = (
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            )
        implied += [
            Need(function, action, source, because=f"event source {logical_id}") for action in actions
        ]
        on_failure = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if on_failure is not None:
            implied.append(
                Need(
                    function, "sqs:SendMessage", stack.resolve(on_failure), because=f"{logical_id} on failure"
                )
            )
    return implied


def _topic_keys(stack: DeployedStack) -> dict[str, str]:
    """Topic ARN -> ARN of the customer managed key it is encrypted with (AWS managed keys need no grant:
    their key policy lets the account use them through SNS)."""
    keys = {}
    for logical_id in stack.of_type("AWS::SNS::Topic"):
        key = stack.resolve(stack.resources[logical_id]["Properties"].get("KmsMasterKeyId"))
        if key is None or str(key).startswith("alias/aws/"):
            continue
        if str(key).startswith("alias/"):
            raise LookupError(f"{logical_id}: customer key alias {key} cannot be resolved by the IAM check")
        keys[stack.physical_ids[logical_id]] = (
            key if str(key).startswith("arn:") else _arn("kms", f"key/{key}")
        )
    return keys


# --- the check ---------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(statement: dict[str, Any], need: Need) -> bool:
    """IAM matching: actions case-insensitively, resources case-sensitively, `*` and `?` as wildcards.

    Of the conditions, `ForAllValues:StringEquals` on `aws:TagKeys` is evaluated (the request's keys are
    known); every other one (`aws:ResourceTag/...`: the resource's tags at call time) is taken as satisfied.
    """
    actions = _as_list(statement.get("Action", []))
    if not any(fnmatch.fnmatchcase(need.action.lower(), pattern.lower()) for pattern in actions):
        return False
    if not any(fnmatch.fnmatchcase(need.resource, p) for p in _as_list(statement.get("Resource", []))):
        return False
    allowed_keys = statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("aws:TagKeys")
    return allowed_keys is None or set(need.tag_keys) <= set(_as_list(allowed_keys))


def role_statements(stack: DeployedStack, function: str) -> list[dict[str, Any]]:
    """The function role's inline statements and those of its AWS managed policies."""
    statements = list(stack.role_statements(function))
    for arn in stack.managed_policy_arns(function):
        name = arn.split(":policy/", 1)[1]
        if name not in MANAGED_POLICIES:
            raise LookupError(f"{function}: managed policy {arn} is unknown to the IAM check")
        statements.append({"Effect": "Allow", "Action": list(MANAGED_POLICIES[name]), "Resource": "*"})
    return statements


def missing_grants(stack: DeployedStack, function: str, needs: list[Need]) -> list[Need]:
    """The needs of `function` that no Allow of its role grants (or that a Deny refuses)."""
    statements = role_statements(stack, function)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    everything = needs + implied_needs(stack, function, needs)
    return sorted(
        {
            need
            for need in everything
            if not any(_matches(s, need) for s in allows) or any(_matches(s, need) for s in denies)
        }
    )
