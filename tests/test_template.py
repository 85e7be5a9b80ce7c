"""template.yaml against the rules the project holds it to (no Docker, no AWS, no network).

`cfn-lint` and `sam validate --lint` check that the template is valid; these tests check that it is
*ours*: every handler imports, every store is encrypted, IAM stays least-privilege, the routing and
schedules are the ones the design describes, and every dead-letter queue is watched.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sagecost.local.template import (
    FunctionSpec,
    default_template_path,
    event_rules,
    functions,
    load_template,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

TEMPLATE_PATH = default_template_path()
REPO_ROOT = TEMPLATE_PATH.parent
TEMPLATE: dict[str, Any] = load_template(TEMPLATE_PATH)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS: list[FunctionSpec] = functions(TEMPLATE)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    """logical id -> Properties of every resource of one type."""
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == resource_type
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _getatt(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def _function(logical_id: str) -> FunctionSpec:
    return next(spec for spec in FUNCTIONS if spec.logical_id == logical_id)


def _timeout(function_properties: dict[str, Any]) -> int:
    timeout = function_properties.get("Timeout", TEMPLATE["Globals"]["Function"].get("Timeout", 3))
    assert isinstance(timeout, int)
    return timeout


def _policy_documents() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, kind, document) for every policy written in the template.

    kind is "identity" (a function's or role's own permissions), "resource" (queue, topic and bucket
    policies) or "key" (KMS key policies, where Resource "*" means the key itself).
    """
    global_policies = TEMPLATE.get("Globals", {}).get("Function", {}).get("Policies", [])
    for index, policy in enumerate(_as_list(global_policies)):
        yield f"Globals.Function.Policies[{index}]", "identity", policy
    for logical_id, properties in _of_type("AWS::Serverless::Function").items():
        for index, policy in enumerate(_as_list(properties.get("Policies", []))):
            yield f"{logical_id}.Policies[{index}]", "identity", policy
    for logical_id, properties in _of_type("AWS::IAM::Role").items():
        for policy in properties.get("Policies", []):
            yield f"{logical_id}.{policy['PolicyName']}", "identity", policy["PolicyDocument"]
    for resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, properties in _of_type(resource_type).items():
            yield logical_id, "identity", properties["PolicyDocument"]
    for resource_type in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"):
        for logical_id, properties in _of_type(resource_type).items():
            yield logical_id, "resource", properties["PolicyDocument"]
    for logical_id, properties in _of_type("AWS::KMS::Key").items():
        yield logical_id, "key", properties["KeyPolicy"]


def _statements() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for where, kind, document in _policy_documents():
        assert isinstance(document, dict), f"{where}: not a policy document"
        for index, statement in enumerate(_as_list(document.get("Statement", []))):
            yield f"{where}.Statement[{index}]", kind, statement


def _is_account_root(principal: Any) -> bool:
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    return isinstance(aws, dict) and str(aws.get("Fn::Sub", "")).endswith(":iam::${AWS::AccountId}:root")


def _find(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key`, anywhere in the template."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from _find(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, key)


def _dead_letter_queue_ids() -> set[str]:
    """Queues used as a dead-letter queue: SQS redrive targets and EventBridge/Scheduler DLQs."""
    ids = {
        policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for policy in _find(RESOURCES, "RedrivePolicy")
        if isinstance(policy, dict)
    }
    ids |= {config["Arn"]["Fn::GetAtt"][0] for config in _find(RESOURCES, "DeadLetterConfig")}
    return ids


# ------------------------------------------------------------------------------------------------
# handlers
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What Lambda would give a handler at import time (values CloudFormation resolves are faked)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name, value in TEMPLATE["Globals"]["Function"]["Environment"]["Variables"].items():
        if not isinstance(value, str):
            monkeypatch.setenv(name, "INFO" if name == "POWERTOOLS_LOG_LEVEL" else f"test-{name.lower()}")
    yield


def test_every_function_is_read_from_the_template() -> None:
    assert {spec.logical_id for spec in FUNCTIONS} >= {"UsageRecorderFunction", "UsageSweeperFunction"}


# Importing a handler imports the X-Ray SDK (Powertools Tracer), whose global recorder creates its
# UDP emitter socket at import time. Creating that socket sends nothing, but pytest-socket refuses
# it, so this test (only) allows sockets; it never talks to AWS.
@pytest.mark.enable_socket
@pytest.mark.usefixtures("lambda_environment")
@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.logical_id)
def test_every_handler_imports_from_its_code_uri(spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in spec.environment.items():
        monkeypatch.setenv(name, value)
    module_name, _, attribute = spec.handler.rpartition(".")

    module = importlib.import_module(module_name)

    assert callable(getattr(module, attribute, None)), f"{spec.handler} is not callable"
    assert module.__file__ is not None
    code_dir = (REPO_ROOT / spec.code_uri).resolve()
    assert Path(module.__file__).resolve().is_relative_to(code_dir), (
        f"{module_name} was imported from {module.__file__}, not from CodeUri {spec.code_uri}"
    )


def test_every_function_names_its_powertools_service() -> None:
    for spec in FUNCTIONS:
        assert spec.environment.get("POWERTOOLS_SERVICE_NAME"), spec.logical_id
        assert spec.environment.get("POWERTOOLS_METRICS_NAMESPACE") == "sagecost", spec.logical_id


# ------------------------------------------------------------------------------------------------
# encryption and storage
# ------------------------------------------------------------------------------------------------


def test_every_queue_is_encrypted() -> None:
    queues = _of_type("AWS::SQS::Queue")
    assert queues
    for logical_id, properties in queues.items():
        assert properties.get("SqsManagedSseEnabled") is True or properties.get("KmsMasterKeyId"), logical_id


def test_every_topic_is_encrypted() -> None:
    topics = _of_type("AWS::SNS::Topic")
    assert {"AlertsTopic", "ReportsTopic"} <= set(topics)
    for logical_id, properties in topics.items():
        assert properties.get("KmsMasterKeyId"), logical_id


def test_every_bucket_is_encrypted_private_and_versioned() -> None:
    buckets = _of_type("AWS::S3::Bucket")
    assert buckets
    for logical_id, properties in buckets.items():
        rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        algorithms = {rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules}
        assert algorithms and algorithms <= {"AES256", "aws:kms", "aws:kms:dsse"}, logical_id
        block = properties["PublicAccessBlockConfiguration"]
        assert all(
            block[name] is True
            for name in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        ), logical_id
        assert properties["VersioningConfiguration"]["Status"] == "Enabled", logical_id
        assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_every_bucket_denies_insecure_transport() -> None:
    policies = _of_type("AWS::S3::BucketPolicy")
    for logical_id in _of_type("AWS::S3::Bucket"):
        denies = [
            statement
            for properties in policies.values()
            if properties["Bucket"] == {"Ref": logical_id}
            for statement in properties["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny"
            and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        ]
        assert denies, f"{logical_id} has no deny for aws:SecureTransport false"


def test_every_table_is_encrypted() -> None:
    tables = _of_type("AWS::DynamoDB::Table")
    assert tables
    for logical_id, properties in tables.items():
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical_id


def test_ledger_table_is_retained_and_recoverable() -> None:
    ledger = RESOURCES["LedgerTable"]
    assert ledger["DeletionPolicy"] == ledger["UpdateReplacePolicy"] == "Retain"
    properties = ledger["Properties"]
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert {index["IndexName"] for index in properties["GlobalSecondaryIndexes"]} == {
        "by_month",
        "open_resources",
    }


# ------------------------------------------------------------------------------------------------
# IAM
# ------------------------------------------------------------------------------------------------


def test_function_permissions_are_explicit_statements() -> None:
    """No managed policies or SAM policy templates: every permission is readable here."""
    for where, kind, document in _policy_documents():
        if kind == "identity" and ".Policies[" in where:
            assert isinstance(document, dict), f"{where}: {document!r} is not an inline statement policy"
            assert set(document) == {"Statement"}, f"{where}: only Statement policies are allowed"


def test_no_allow_statement_has_a_wildcard_action() -> None:
    for where, kind, statement in _statements():
        assert "NotAction" not in statement, where
        if statement["Effect"] != "Allow":
            continue  # a broad Deny (e.g. s3:* without TLS) only ever narrows access
        if kind == "key" and _is_account_root(statement.get("Principal")):
            continue  # the standard key-policy statement that hands the key's use over to IAM
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{where}: wildcard action {action}"


def test_resource_star_only_for_list_actions() -> None:
    """ "*" is granted only where the action has no resource-level permissions (SageMaker List*, and the
    Tagging API's GetResources, Cost Explorer)."""
    without_resource_types = {
        "tag:GetResources",
        "ce:GetCostAndUsage",
        "ce:GetTags",
        "cloudwatch:GetMetricData",
    }
    for where, kind, statement in _statements():
        if kind != "identity" or statement["Effect"] != "Allow":
            continue
        assert "NotResource" not in statement, where
        if "*" in _as_list(statement["Resource"]):
            for action in _as_list(statement["Action"]):
                _, _, operation = action.partition(":")
                assert operation.startswith("List") or action in without_resource_types, (
                    f"{where}: {action} on '*'"
                )


def test_service_principals_in_resource_policies_are_scoped_to_a_source() -> None:
    for where, kind, statement in _statements():
        principal = statement.get("Principal")
        is_service = isinstance(principal, dict) and "Service" in principal
        if kind == "resource" and statement["Effect"] == "Allow" and is_service:
            condition = statement.get("Condition", {})
            assert "aws:SourceArn" in condition.get("ArnEquals", {}), where


# ------------------------------------------------------------------------------------------------
# routing: SageMaker -> EventBridge -> SQS -> usage_recorder
# ------------------------------------------------------------------------------------------------


def test_usage_rule_pattern_is_a_mapping_in_the_template() -> None:
    assert isinstance(RESOURCES["UsageEventsRule"]["Properties"]["EventPattern"], dict)


def test_every_queue_target_of_a_rule_admits_only_that_rule() -> None:
    policies = _of_type("AWS::SQS::QueuePolicy")
    for rule in event_rules(TEMPLATE):
        for queue_id in rule.target_queue_ids:
            allowed = [
                statement
                for properties in policies.values()
                if {"Ref": queue_id} in properties["Queues"]
                for statement in properties["PolicyDocument"]["Statement"]
                if statement["Effect"] == "Allow"
                and statement["Principal"] == {"Service": "events.amazonaws.com"}
                and statement["Action"] == "sqs:SendMessage"
                and statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
                == _getatt(rule.logical_id)
            ]
            assert allowed, f"no queue policy lets {rule.logical_id} send to {queue_id}"


def test_every_rule_target_has_retries_and_a_dead_letter_queue() -> None:
    for logical_id, properties in _of_type("AWS::Events::Rule").items():
        for target in properties["Targets"]:
            target_id = target["Arn"]["Fn::GetAtt"][0]
            if RESOURCES[target_id]["Type"] == "AWS::SQS::Queue":
                # SQS targets are authorised by the queue policy; a role can break encrypted delivery
                assert "RoleArn" not in target, logical_id
            assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, logical_id
            dlq_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            assert RESOURCES[dlq_id]["Type"] == "AWS::SQS::Queue", logical_id


def test_recorder_consumes_the_usage_queue_with_partial_batch_failures() -> None:
    spec = _function("UsageRecorderFunction")
    assert spec.handler == "usage_recorder.handler.lambda_handler"
    assert spec.queue_ids == ("UsageQueue",)
    assert spec.batch_size == 25
    events = RESOURCES["UsageRecorderFunction"]["Properties"]["Events"]
    sqs_events = [event["Properties"] for event in events.values() if event["Type"] == "SQS"]
    assert len(sqs_events) == 1
    assert sqs_events[0].get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    assert sqs_events[0].get("MaximumBatchingWindowInSeconds") == 5


def test_queue_visibility_covers_six_consumer_timeouts() -> None:
    for spec in FUNCTIONS:
        timeout = _timeout(RESOURCES[spec.logical_id]["Properties"])
        for queue_id in spec.queue_ids:
            visibility = RESOURCES[queue_id]["Properties"]["VisibilityTimeout"]
            assert visibility >= 6 * timeout, f"{queue_id}: {visibility} s < 6 x {timeout} s"


def test_usage_queue_redrives_to_its_dead_letter_queue() -> None:
    redrive = RESOURCES["UsageQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {"deadLetterTargetArn": _getatt("UsageDeadLetterQueue"), "maxReceiveCount": 5}
    assert RESOURCES["UsageDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------


def test_sweeper_runs_hourly_with_a_dead_letter_queue() -> None:
    spec = _function("UsageSweeperFunction")
    assert spec.handler == "usage_sweeper.handler.lambda_handler"
    assert spec.schedules == ("rate(1 hour)",)
    properties = RESOURCES["UsageSweeperFunction"]["Properties"]
    assert properties["Timeout"] == 300
    (event,) = properties["Events"].values()
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["DeadLetterConfig"] == {"Arn": _getatt("ScheduleDeadLetterQueue")}
    assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1


# ------------------------------------------------------------------------------------------------
# alarms
# ------------------------------------------------------------------------------------------------


def test_every_dead_letter_queue_alarms_to_the_alerts_topic() -> None:
    alarms = _of_type("AWS::CloudWatch::Alarm").values()
    dead_letter_queues = _dead_letter_queue_ids()
    assert dead_letter_queues == {
        "UsageDeadLetterQueue",
        "TagDeadLetterQueue",
        "EventDeliveryDeadLetterQueue",
        "ScheduleDeadLetterQueue",
    }
    for queue_id in dead_letter_queues:
        watching = [
            alarm
            for alarm in alarms
            if alarm["Namespace"] == "AWS/SQS"
            and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and alarm["Dimensions"] == [{"Name": "QueueName", "Value": _getatt(queue_id, "QueueName")}]
            and alarm["ComparisonOperator"] == "GreaterThanThreshold"
            and alarm["Threshold"] == 0
            and {"Ref": "AlertsTopic"} in alarm["AlarmActions"]
        ]
        assert watching, f"no alarm on {queue_id}"


def test_alarm_topics_are_not_encrypted_with_the_aws_managed_key() -> None:
    """CloudWatch alarms cannot publish to a topic under alias/aws/sns (its key policy is fixed)."""
    topics = _of_type("AWS::SNS::Topic")
    for alarm in _of_type("AWS::CloudWatch::Alarm").values():
        for action in alarm.get("AlarmActions", []):
            topic = topics[action["Ref"]]
            assert topic["KmsMasterKeyId"] != "alias/aws/sns", action["Ref"]
            key_id = topic["KmsMasterKeyId"]["Ref"]
            statements = RESOURCES[key_id]["Properties"]["KeyPolicy"]["Statement"]
            assert any(
                statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
                and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(_as_list(statement["Action"]))
                for statement in statements
            ), key_id


def test_alert_email_subscription_is_optional() -> None:
    assert TEMPLATE["Parameters"]["AlertEmail"]["Default"] == ""
    subscription = RESOURCES["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert TEMPLATE["Conditions"]["HasAlertEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]
    }


# ------------------------------------------------------------------------------------------------
# grants per function (tests/e2e/test_iam_grants.py proves each call is granted; these pin the shape)
# ------------------------------------------------------------------------------------------------

METERING_WRITES = {
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}
"""What metering writes to the ledger (the recorder, the sweeper, and the enforcer when it re-attributes)."""

GRANTS: dict[str, set[str]] = {
    "UsageRecorderFunction": METERING_WRITES
    | {
        "sagemaker:DescribeTrainingJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:ListTags",
        "sagemaker:DescribeMlflowTrackingServer",
    },
    "UsageSweeperFunction": METERING_WRITES
    | {
        "dynamodb:Query",
        "sagemaker:ListEndpoints",
        "sagemaker:ListNotebookInstances",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeNotebookInstance",
        # issue 12: Studio apps and spaces, inference components, serverless estimates
        "sagemaker:ListApps",
        "sagemaker:ListSpaces",
        "sagemaker:ListInferenceComponents",
        "sagemaker:DescribeApp",
        "sagemaker:DescribeSpace",
        "sagemaker:DescribeInferenceComponent",
        "sagemaker:ListTags",
        "cloudwatch:GetMetricData",
        "sagemaker:ListMlflowTrackingServers",
        "sagemaker:ListClusters",
        "sagemaker:ListTrainingJobs",
        "sagemaker:DescribeMlflowTrackingServer",
        "sagemaker:DescribeCluster",
        "sagemaker:DescribeTrainingJob",
    },
    "TagEnforcerFunction": METERING_WRITES
    | {
        "dynamodb:Query",
        "sagemaker:ListTags",
        "sagemaker:AddTags",
        "sagemaker:StopTrainingJob",
        "sagemaker:StopProcessingJob",
        "sagemaker:StopTransformJob",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "sqs:SendMessage",
    },
    "TagSweeperFunction": {
        "sagemaker:ListNotebookInstances",
        "sagemaker:ListEndpoints",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "sagemaker:ListTrainingJobs",
        "sagemaker:ListProcessingJobs",
        "sagemaker:ListTransformJobs",
        "sagemaker:ListDomains",
        "sagemaker:ListSpaces",
        "sagemaker:ListUserProfiles",
        "sagemaker:ListInferenceComponents",
        "sagemaker:ListClusters",
        "sagemaker:ListMlflowTrackingServers",
        "sagemaker:ListTags",
        "sagemaker:AddTags",
        "tag:GetResources",
    },
    "CostAllocatorFunction": {
        "dynamodb:Query",
        "ce:GetCostAndUsage",
        "ce:GetTags",
        "s3:PutObject",
        "sns:Publish",
    },
    "BudgetAlerterFunction": {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    },
    "IdleReaperFunction": {
        "sagemaker:ListEndpoints",
        "sagemaker:ListNotebookInstances",
        "sagemaker:ListApps",
        "sagemaker:ListInferenceComponents",
        "tag:GetResources",
        "cloudwatch:GetMetricData",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeApp",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "sagemaker:StopNotebookInstance",
        "sagemaker:DeleteEndpoint",
        "sagemaker:DeleteApp",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    },
}
"""Every action each function's role allows, besides ssm:GetParameter on its config (a change here is a
change of what the function may do: review it, then update this table)."""

PARAMETER_ARN = (
    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/sagecost/${AWS::StackName}"
)
CONFIG_PARAMETER_ARNS = [{"Fn::Sub": f"{PARAMETER_ARN}/{name}"} for name in ("config", "prices")]


def _function_statements(logical_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _as_list(RESOURCES[logical_id]["Properties"].get("Policies", []))
        for statement in _as_list(policy["Statement"])
    ]


def _granting(logical_id: str, action: str) -> list[dict[str, Any]]:
    return [s for s in _function_statements(logical_id) if action in _as_list(s["Action"])]


def test_every_function_is_granted_exactly_its_actions() -> None:
    assert {spec.logical_id for spec in FUNCTIONS} == set(GRANTS)
    for logical_id, expected in GRANTS.items():
        granted = {a for s in _function_statements(logical_id) for a in _as_list(s["Action"])}
        assert granted == expected | {"ssm:GetParameter"}, logical_id


def test_every_function_reads_exactly_the_config_and_prices_parameters() -> None:
    for spec in FUNCTIONS:
        (statement,) = _granting(spec.logical_id, "ssm:GetParameter")
        assert _as_list(statement["Action"]) == ["ssm:GetParameter"], spec.logical_id
        assert statement["Resource"] == CONFIG_PARAMETER_ARNS, spec.logical_id
        assert "Condition" not in statement


def test_config_and_prices_parameters_are_what_the_functions_read() -> None:
    for logical_id, name in (("ConfigParameter", "config"), ("PricesParameter", "prices")):
        properties = RESOURCES[logical_id]["Properties"]
        assert RESOURCES[logical_id]["Type"] == "AWS::SSM::Parameter"
        assert properties["Name"] == {"Fn::Sub": f"/sagecost/${{AWS::StackName}}/{name}"}
        assert (properties["Type"], properties["Tier"], properties["Value"]) == (
            "String",
            "Intelligent-Tiering",
            "{}",
        )
        assert "sagecost config push" in properties["Description"]
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["SAGECOST_CONFIG_PARAMETER"] == {"Ref": "ConfigParameter"}
    assert variables["SAGECOST_PRICES_PARAMETER"] == {"Ref": "PricesParameter"}
    outputs = TEMPLATE["Outputs"]
    assert outputs["ConfigParameterName"]["Value"] == {"Ref": "ConfigParameter"}
    assert outputs["PricesParameterName"]["Value"] == {"Ref": "PricesParameter"}
    assert outputs["BudgetStreamFailureQueueUrl"]["Value"] == {"Ref": "BudgetStreamFailureQueue"}


def test_a_query_on_an_index_is_granted_on_that_index() -> None:
    """IAM needs `<table-arn>/index/<name>` for a Query on a GSI: the table ARN alone does not cover it."""
    by_month = {"Fn::Sub": "${LedgerTable.Arn}/index/by_month"}
    (allocator,) = _granting("CostAllocatorFunction", "dynamodb:Query")
    assert allocator["Resource"] == [_getatt("LedgerTable"), by_month]
    for logical_id in ("UsageSweeperFunction", "IdleReaperFunction"):
        (statement,) = _granting(logical_id, "dynamodb:Query")
        assert {"Fn::Sub": "${LedgerTable.Arn}/index/*"} in _as_list(statement["Resource"]), logical_id


def test_destructive_and_tagging_grants_keep_their_conditions() -> None:
    for logical_id in ("TagEnforcerFunction", "IdleReaperFunction"):
        stops = [
            s
            for s in _function_statements(logical_id)
            if any(
                a.startswith(("sagemaker:Stop", "sagemaker:Delete")) and a != "sagemaker:DeleteTags"
                for a in _as_list(s["Action"])
            )
        ]
        assert stops, logical_id
        for statement in stops:
            assert statement["Condition"]["Null"] == {"aws:ResourceTag/Environment": "false"}, logical_id
            assert statement["Condition"]["StringNotEqualsIgnoreCase"] == {
                "aws:ResourceTag/Environment": {"Ref": "ProductionEnvironmentValues"}
            }
    for logical_id in ("TagEnforcerFunction", "TagSweeperFunction", "IdleReaperFunction"):
        for statement in _granting(logical_id, "sagemaker:AddTags"):
            assert "aws:TagKeys" in statement["Condition"]["ForAllValues:StringEquals"], logical_id


def _tag_condition_allows(condition: dict[str, Any], environment: str | None) -> bool:
    """IAM's evaluation of a stop/delete condition on `aws:ResourceTag/Environment` (None: no such tag),
    with the stack's default ProductionEnvironmentValues. Every operator must hold; a negated operator holds
    when the value matches none of the listed ones (IAM JSON policy elements: Condition operators)."""
    key = "aws:ResourceTag/Environment"
    defaults = TEMPLATE["Parameters"]["ProductionEnvironmentValues"]["Default"].split(",")
    operators: dict[str, Any] = {
        "Null": lambda listed: (environment is None) == (listed == ["true"]),
        "StringNotEquals": lambda listed: environment is None or environment not in listed,
        "StringNotEqualsIgnoreCase": lambda listed: (
            environment is None or environment.lower() not in {value.lower() for value in listed}
        ),
    }
    results = []
    for operator, keys in condition.items():
        assert operator in operators, f"{operator}: unknown to this check"
        listed = keys[key]
        values = defaults if listed == {"Ref": "ProductionEnvironmentValues"} else _as_list(listed)
        results.append(operators[operator](values))
    return all(results)


@pytest.mark.parametrize("environment", ["prod", "Production", "PRODUCTION", "pRoD", "ProDuCtIoN", None])
def test_no_spelling_of_production_and_no_missing_tag_lets_a_stop_or_delete_through(
    environment: str | None,
) -> None:
    for logical_id in ("TagEnforcerFunction", "IdleReaperFunction"):
        for statement in _function_statements(logical_id):
            if "aws:ResourceTag/Environment" in str(statement.get("Condition")):
                allowed = _tag_condition_allows(statement["Condition"], environment)
                assert not allowed, (logical_id, environment)


@pytest.mark.parametrize("environment", ["dev", "staging", "Dev", "preprod"])
def test_a_non_production_environment_may_be_stopped(environment: str) -> None:
    for logical_id in ("TagEnforcerFunction", "IdleReaperFunction"):
        for statement in _function_statements(logical_id):
            if "aws:ResourceTag/Environment" in str(statement.get("Condition")):
                assert _tag_condition_allows(statement["Condition"], environment), (logical_id, environment)


def test_cloudwatch_may_use_the_alerts_topic_key_only_for_this_accounts_alarms() -> None:
    statements = TEMPLATE["Resources"]["AlertsTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
