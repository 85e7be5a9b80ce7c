"""The stack deploys, without AWS: template.yaml through the Serverless transform (aws-sam-translator),
created on moto's CloudFormation. Every resource exists (but the types moto skips), every function's
environment names resources of this stack, SageMaker events put on the default bus reach the stack's
queues through its own rules, and a handler given a function's deployed environment writes to its table.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
from tests.e2e.deployed import ACCOUNT, REGION, SKIPPED_BY_MOTO, DeployedStack
from tests.e2e.test_iam_grants import EVENTS, ledger, processing_job, sample, training_job
from tests.integration.test_handlers import sqs_event
from tests.integration.test_tag_enforcer import create_call

from sagecost.local import events

USAGE_SAMPLES = sorted(
    path.name for path in (EVENTS / "usage_recorder").glob("*.json") if path.name != "sqs-batch.json"
)
NOT_RESOURCES = {"POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_SERVICE_NAME"}


def put_on_default_bus(*envelopes: dict[str, Any]) -> None:
    """PutEvents as SageMaker's own events arrive (moto accepts the aws.sagemaker source; AWS would not)."""
    response = boto3.client("events", region_name=REGION).put_events(
        Entries=[
            {
                "Source": envelope["source"],
                "DetailType": envelope["detail-type"],
                "Detail": json.dumps(envelope["detail"]),
                "Resources": envelope.get("resources", []),
                "Time": datetime.fromisoformat(envelope["time"].replace("Z", "+00:00")),
            }
            for envelope in envelopes
        ]
    )
    assert response["FailedEntryCount"] == 0


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue, as EventBridge delivered it (with the `account` moto leaves out)."""
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            bodies.append(json.loads(message["Body"]) | {"account": ACCOUNT})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


# ------------------------------------------------------------------------------------------------
# what was created
# ------------------------------------------------------------------------------------------------


def test_every_resource_is_created_but_the_types_moto_skips(deployed_stack: DeployedStack) -> None:
    stack = deployed_stack
    conditional = {
        logical_id for logical_id, resource in stack.resources.items() if resource.get("Condition")
    }  # only AlertEmailSubscription, and AlertEmail defaults to "": not created, as in AWS
    expected = {
        logical_id
        for logical_id, resource in stack.resources.items()
        if resource["Type"] not in SKIPPED_BY_MOTO and logical_id not in conditional
    }
    assert conditional == {"AlertEmailSubscription"}
    assert expected <= set(stack.physical_ids), f"not created: {sorted(expected - set(stack.physical_ids))}"
    # moto says which types it skipped: exactly those listed (a new moto that creates one fails here)
    present = {resource["Type"] for resource in stack.resources.values()}
    assert stack.skipped_types == SKIPPED_BY_MOTO & present
    assert len(stack.functions) == 7
    assert len(stack.of_type("AWS::Scheduler::Schedule")) == 5


def test_every_output_is_there_and_the_parameters_hold_the_defaults(deployed_stack: DeployedStack) -> None:
    stack = deployed_stack
    assert set(stack.outputs) == set(stack.template["Outputs"])
    assert stack.outputs["ConfigParameterName"] == f"/sagecost/{stack.name}/config"
    assert stack.outputs["PricesParameterName"] == f"/sagecost/{stack.name}/prices"
    ssm = boto3.client("ssm", region_name=REGION)
    for output in ("ConfigParameterName", "PricesParameterName"):
        parameter = ssm.get_parameter(Name=stack.outputs[output])["Parameter"]
        assert (parameter["Type"], parameter["Value"]) == ("String", "{}")
    failures = stack.outputs["BudgetStreamFailureQueueUrl"]
    assert failures == stack.physical_ids["BudgetStreamFailureQueue"]
    boto3.client("sqs", region_name=REGION).get_queue_attributes(QueueUrl=failures, AttributeNames=["All"])


def _exists(resource_type: str, physical_id: str) -> None:
    """Raises if the resource is not in its service (a stack can list what its service never made)."""
    if resource_type == "AWS::DynamoDB::Table":
        boto3.client("dynamodb", region_name=REGION).describe_table(TableName=physical_id)
    elif resource_type == "AWS::SQS::Queue":
        boto3.client("sqs", region_name=REGION).get_queue_attributes(QueueUrl=physical_id)
    elif resource_type == "AWS::SNS::Topic":
        boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=physical_id)
    elif resource_type == "AWS::S3::Bucket":
        boto3.client("s3", region_name=REGION).head_bucket(Bucket=physical_id)
    elif resource_type == "AWS::SSM::Parameter":
        boto3.client("ssm", region_name=REGION).get_parameter(Name=physical_id)
    else:
        raise AssertionError(f"a function's environment names a {resource_type}: teach _exists")


def test_every_function_environment_names_resources_of_this_stack(deployed_stack: DeployedStack) -> None:
    stack = deployed_stack
    by_physical_id = {physical: logical for logical, physical in stack.physical_ids.items()}
    for function in stack.functions:
        environment = stack.environments[function]
        assert {"LEDGER_TABLE_NAME", "SAGECOST_CONFIG_PARAMETER", "SAGECOST_PRICES_PARAMETER"} <= set(
            environment
        ), function
        for name, value in environment.items():
            if name in NOT_RESOURCES:
                continue
            assert value in by_physical_id, f"{function}: {name}={value} is no resource of {stack.name}"
            logical_id = by_physical_id[value]
            _exists(stack.resources[logical_id]["Type"], value)
    assert (
        stack.environments["UsageRecorderFunction"]["SAGECOST_CONFIG_PARAMETER"]
        == (stack.outputs["ConfigParameterName"])
    )


# ------------------------------------------------------------------------------------------------
# routing and handling, through the stack's own rules, queues and table
# ------------------------------------------------------------------------------------------------


def test_sample_events_reach_the_stack_queues_through_its_own_rules(deployed_stack: DeployedStack) -> None:
    stack = deployed_stack
    usage = [sample(f"usage_recorder/{name}") for name in USAGE_SAMPLES]
    started = events.training_job(
        "fraud-train-003",
        "InProgress",
        at=datetime.fromisoformat("2026-11-10T09:00:00+00:00"),
        instance_type="ml.m5.xlarge",
    )
    created = json.loads(
        create_call(
            "CreateTrainingJob",
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/fraud-train-003",
            {"trainingJobName": "fraud-train-003"},
        )
    )

    put_on_default_bus(*usage, started, created)

    on_usage_queue = drain(stack.outputs["UsageQueueUrl"])
    on_tag_queue = drain(stack.outputs["TagQueueUrl"])
    # every state change is metered; a creation (its first state, its Create* call) is also tag-checked
    assert sorted(json.dumps(e["detail"], sort_keys=True) for e in on_usage_queue) == sorted(
        json.dumps(e["detail"], sort_keys=True) for e in [*usage, started]
    )
    assert sorted(e["detail-type"] for e in on_tag_queue) == [
        "AWS API Call via CloudTrail",
        "SageMaker Training Job State Change",
    ]
    assert drain(stack.outputs["EventDeliveryDeadLetterQueueUrl"]) == []


def test_a_handler_with_the_deployed_environment_writes_to_the_stack_table(
    deployed_stack: DeployedStack, monkeypatch: Any, lambda_context: Any
) -> None:
    from usage_recorder.handler import lambda_handler

    stack = deployed_stack
    training_job("fraud-train-001", {"Project": "fraud"}, billable_seconds=2400)
    processing_job("fraud-prep-001", {"Project": "fraud"})
    put_on_default_bus(*(sample(f"usage_recorder/{name}") for name in USAGE_SAMPLES))
    delivered = drain(stack.outputs["UsageQueueUrl"])
    stack.use("UsageRecorderFunction", monkeypatch)

    response = lambda_handler(sqs_event(*(json.dumps(body) for body in delivered)), lambda_context)

    assert response["batchItemFailures"] == []
    table = ledger(stack)
    assert table.table == stack.physical_ids["LedgerTable"]
    records = list(table.records("2026-11"))
    assert {record.resource_name for record in records} >= {
        "fraud-train-001",
        "fraud-prep-001",
        "fraud-batch-001",
    }
    assert table.rejected() == []
