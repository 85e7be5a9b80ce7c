"""`sagecost doctor` through the CLI's `main`: a deployed stack on moto (CloudTrail, SNS, SQS, SSM, DynamoDB,
a CloudFormation stack whose outputs name them), and botocore's Stubber for what moto lacks
(Cost Explorer's ListCostAllocationTags) or cannot produce (a PendingConfirmation subscription, AccessDenied).
Every missing prerequisite is one `problem` line with its fix and a non-zero exit; all in place exits 0."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from tests.conftest import TABLE
from tests.integration.test_cost_allocation import job

from sagecost.adapters import aws as aws_clients
from sagecost.adapters.ledger import DynamoLedger
from sagecost.cli import main
from sagecost.domain.aggregates import aggregate_deltas
from sagecost.models.ledger import UsageRecord

ACCOUNT = "123456789012"
STACK = "sagecost"
TRAIL = "management-events"
DEFAULT_TAG_KEYS = ["CostCenter", "Environment", "Owner", "Project", "Team"]
QUEUE_OUTPUTS = {
    "UsageDeadLetterQueueUrl": "usage-dlq",
    "EventDeliveryDeadLetterQueueUrl": "event-delivery-dlq",
    "ScheduleDeadLetterQueueUrl": "schedule-dlq",
    "TagDeadLetterQueueUrl": "tag-dlq",
    "BudgetStreamFailureQueueUrl": "budget-stream-failures",
}
ALL_CHECKS = [
    "aws-access",
    "cloudtrail",
    "cost-allocation-tags",
    "cost-explorer",
    "stack",
    "alerts-topic",
    "reports-topic",
    "config",
    *QUEUE_OUTPUTS.values(),
    "prices",
]


# --- what the account holds ------------------------------------------------------------------------------


def training_job(name: str, instance_type: str) -> UsageRecord:
    """A training job of this month (the doctor checks the current month's ledger lines)."""
    return job(name, "1", project="fraud", at=datetime.now(UTC)).model_copy(
        update={"instance_type": instance_type}
    )


def create_trail(name: str = TRAIL, *, logging: bool = True, selectors: dict[str, Any] | None = None) -> None:
    boto3.client("s3").create_bucket(Bucket=f"{name}-logs")
    cloudtrail = boto3.client("cloudtrail")
    cloudtrail.create_trail(Name=name, S3BucketName=f"{name}-logs", IsMultiRegionTrail=True)
    cloudtrail.put_event_selectors(
        TrailName=name,
        **(selectors or {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}),
    )
    if logging:
        cloudtrail.start_logging(Name=name)


def create_stack(
    outputs: dict[str, str], policy_tag_keys: str = "Project,Team,CostCenter,Environment,Owner"
) -> None:
    """A plain CloudFormation stack whose outputs name resources made beside it, deployed with
    template.yaml's IAM parameters (their defaults unless told)."""
    template = {
        "Parameters": {
            "PolicyTagKeys": {"Type": "String"},
            "ProductionEnvironmentValues": {"Type": "String"},
        },
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "PolicyTagKeys", "ParameterValue": policy_tag_keys},
            {
                "ParameterKey": "ProductionEnvironmentValues",
                "ParameterValue": "prod,production,Prod,Production,PROD",
            },
        ],
    )


@pytest.fixture
def outputs(ledger: DynamoLedger) -> dict[str, str]:
    """Everything in place: a logging trail, confirmed subscriptions, valid parameters, empty queues, and a
    ledger whose only instance type this month has a shipped price. Returns the stack's outputs."""
    create_trail()
    sns, sqs, ssm = boto3.client("sns"), boto3.client("sqs"), boto3.client("ssm")
    found = {"LedgerTableName": TABLE}
    for output, name in (("AlertsTopicArn", "alerts"), ("ReportsTopicArn", "reports")):
        topic = sns.create_topic(Name=f"sagecost-{name}")["TopicArn"]
        inbox = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["QueueArn"])
        found[output] = topic
    for output, name in QUEUE_OUTPUTS.items():
        found[output] = sqs.create_queue(QueueName=f"sagecost-{name}")["QueueUrl"]
    ssm.put_parameter(Name="/sagecost/config", Type="String", Value="{}")
    ssm.put_parameter(Name="/sagecost/prices", Type="String", Value="{}")
    found |= {"ConfigParameterName": "/sagecost/config", "PricesParameterName": "/sagecost/prices"}
    record = training_job("fraud-train", "ml.m5.xlarge")
    assert ledger.put_job_records([record], aggregate_deltas([record]))
    return found


# --- Cost Explorer on Stubber, and the CLI's clients -----------------------------------------------------


def tag_page(statuses: dict[str, str]) -> list[dict[str, str]]:
    """ListCostAllocationTags' CostAllocationTag shape."""
    return [
        {
            "TagKey": key,
            "Type": "UserDefined",
            "Status": status,
            "LastUpdatedDate": "2026-11-01T00:00:00Z",
            "LastUsedDate": "2026-11-24T00:00:00Z",
        }
        for key, status in statuses.items()
    ]


COST_AND_USAGE = {
    "ResultsByTime": [
        {
            "TimePeriod": {"Start": "2026-11-24", "End": "2026-11-25"},
            "Total": {"UnblendedCost": {"Amount": "12.34", "Unit": "USD"}},
            "Groups": [],
            "Estimated": True,
        }
    ],
    "DimensionValueAttributes": [],
}


def cost_explorer(
    *pages: dict[str, str], keys: Sequence[str] = DEFAULT_TAG_KEYS, probe_error: str | None = None
) -> Stubber:
    """A Cost Explorer client that answers ListCostAllocationTags with `pages` (chained by NextToken), then
    the one GetCostAndUsage probe (or `probe_error`)."""
    client = boto3.client("ce", region_name="us-east-1")
    stubber = Stubber(client)
    for number, statuses in enumerate(pages or (dict.fromkeys(keys, "Active"),)):
        expected: dict[str, Any] = {"TagKeys": list(keys), "Type": "UserDefined"}
        if number:
            expected["NextToken"] = f"page-{number}"
        response: dict[str, Any] = {"CostAllocationTags": tag_page(statuses)}
        if number + 1 < len(pages):
            response["NextToken"] = f"page-{number + 1}"
        stubber.add_response("list_cost_allocation_tags", response, expected)
    if probe_error is None:
        stubber.add_response("get_cost_and_usage", COST_AND_USAGE)
    else:
        stubber.add_client_error(
            "get_cost_and_usage", probe_error, "User not enabled for cost explorer access"
        )
    stubber.activate()
    return stubber


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Serve the given stubbed clients by service name; every other client is the real one (moto)."""

    def install(**stubbed: Stubber) -> None:
        real = aws_clients.client

        def client(service: str, **kwargs: Any) -> Any:
            return stubbed[service].client if service in stubbed else real(service, **kwargs)

        monkeypatch.setattr(aws_clients, "client", client)

    return install


@dataclass
class Run:
    status: int
    lines: dict[str, str]
    """check name -> its whole line"""

    def outcome(self, check: str) -> str:
        return self.lines[check].split()[0]

    def problems(self) -> list[str]:
        return [check for check, line in self.lines.items() if line.startswith("problem")]


@pytest.fixture
def doctor(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*args: str) -> Run:
        status = main(["doctor", *args])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        lines = {line.split()[1]: line for line in captured.out.splitlines() if line.strip()}
        return Run(status, lines)

    return run


@pytest.fixture
def deployed(outputs: dict[str, str], clients: Callable[..., None]) -> Iterator[dict[str, str]]:
    """The stack in place, Cost Explorer with every default key active."""
    create_stack(outputs)
    stubber = cost_explorer()
    clients(ce=stubber)
    yield outputs


# --- everything in place ---------------------------------------------------------------------------------


def test_everything_in_place_is_all_ok_and_exits_0(
    deployed: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given a stack with all it needs, and every default tag key active (over two pages)
    stubber = cost_explorer(
        {"CostCenter": "Active", "Environment": "Active", "Owner": "Active"},
        {"Project": "Active", "Team": "Active", "Unrelated": "Inactive"},
    )
    clients(ce=stubber)

    # When the doctor checks the account and the stack
    run = doctor("--stack", STACK)

    # Then every check is ok, each on one line, and the exit code is 0
    assert run.status == 0, run.lines
    assert list(run.lines) == ALL_CHECKS
    assert all(run.outcome(check) == "ok" for check in ALL_CHECKS)
    assert "fix:" not in "".join(run.lines.values())
    assert TRAIL in run.lines["cloudtrail"]
    assert f"account {ACCOUNT}" in run.lines["aws-access"]
    stubber.assert_no_pending_responses()


def test_without_a_stack_only_the_account_is_checked(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    run = doctor()

    assert run.status == 0
    assert list(run.lines) == ["aws-access", "cloudtrail", "cost-allocation-tags", "cost-explorer"]


# --- CloudTrail --------------------------------------------------------------------------------------------


def test_no_trail_is_a_problem_with_the_create_trail_commands(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    boto3.client("cloudtrail").delete_trail(Name=TRAIL)

    run = doctor()

    assert run.status == 1
    assert run.problems() == ["cloudtrail"]
    line = run.lines["cloudtrail"]
    assert "no CloudTrail trail logs us-east-1" in line
    assert "fix: aws cloudtrail create-trail --name sagecost --s3-bucket-name BUCKET" in line
    assert "&& aws cloudtrail start-logging --name sagecost " in line


def test_a_stopped_trail_is_a_problem_with_start_logging(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    boto3.client("cloudtrail").stop_logging(Name=TRAIL)

    run = doctor()

    assert run.problems() == ["cloudtrail"]
    assert "is not logging" in run.lines["cloudtrail"]
    assert (
        f"fix: aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"
        in (run.lines["cloudtrail"])
    )


def test_a_trail_in_another_region_counts_when_it_is_multi_region(
    outputs: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given the only trail lives in eu-west-1 (its shadow reaches us-east-1); status is read at home
    boto3.client("cloudtrail").delete_trail(Name=TRAIL)
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="eu-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    europe = boto3.client("cloudtrail", region_name="eu-west-1")
    europe.create_trail(Name="eu-trail", S3BucketName="eu-logs", IsMultiRegionTrail=True)
    europe.put_event_selectors(
        TrailName="eu-trail", EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    europe.start_logging(Name="eu-trail")
    clients(ce=cost_explorer())

    run = doctor()

    assert run.outcome("cloudtrail") == "ok"
    assert "eu-trail (multi-region, home eu-west-1)" in run.lines["cloudtrail"]


@pytest.mark.parametrize(
    ("selectors", "logs_writes"),
    [
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, False),
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, False),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
                ]
            },
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["false"]},
                            {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                        ]
                    }
                ]
            },
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    }
                ]
            },
            False,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        ]
                    }
                ]
            },
            False,
        ),
    ],
    ids=["read-only", "no-management", "advanced", "advanced-writes", "advanced-reads-only", "data-only"],
)
def test_trail_selectors_must_record_write_management_events(
    outputs: dict[str, str],
    clients: Callable[..., None],
    doctor: Callable[..., Run],
    selectors: dict[str, Any],
    logs_writes: bool,
) -> None:
    create_trail("selective-trail", selectors=selectors)
    boto3.client("cloudtrail").delete_trail(Name=TRAIL)
    clients(ce=cost_explorer())

    run = doctor()

    if logs_writes:
        assert run.status == 0, run.lines
    else:
        assert run.problems() == ["cloudtrail"]
        assert "no trail records write management events" in run.lines["cloudtrail"]
        assert (
            "fix: aws cloudtrail put-event-selectors --trail-name arn:aws:cloudtrail:"
            in (run.lines["cloudtrail"])
        )


# --- cost allocation tags and Cost Explorer --------------------------------------------------------------


def test_inactive_and_unseen_tag_keys_are_a_problem_with_the_activation_command(
    outputs: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given, over two pages, Team inactive and Owner never seen by billing
    stubber = cost_explorer(
        {"CostCenter": "Active", "Environment": "Active"}, {"Project": "Active", "Team": "Inactive"}
    )
    clients(ce=stubber)

    run = doctor()

    assert run.status == 1
    assert run.problems() == ["cost-allocation-tags"]
    line = run.lines["cost-allocation-tags"]
    assert "Team inactive" in line
    assert "Owner never seen by billing" in line
    assert line.endswith(
        "fix: aws ce update-cost-allocation-tags-status --cost-allocation-tags-status "
        "TagKey=Team,Status=Active TagKey=Owner,Status=Active"
    )
    stubber.assert_no_pending_responses()


def test_the_stack_config_names_the_tag_keys_checked(
    outputs: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given the stack's config writes the project under `CostProject`
    boto3.client("ssm").put_parameter(
        Name="/sagecost/config",
        Value=json.dumps({"tags": {"project": {"key": "CostProject"}}}),
        Overwrite=True,
    )
    create_stack(outputs, policy_tag_keys="CostProject,Team,CostCenter,Environment,Owner")
    keys = ["CostCenter", "CostProject", "Environment", "Owner", "Team"]
    stubber = cost_explorer(keys=keys)
    clients(ce=stubber)

    run = doctor("--stack", STACK)

    assert run.status == 0, run.lines
    assert "CostProject" in run.lines["cost-allocation-tags"]
    assert "the stack's config" in run.lines["cost-allocation-tags"]
    stubber.assert_no_pending_responses()


def test_cost_explorer_not_enabled_is_a_problem_with_the_console_step(
    outputs: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    clients(ce=cost_explorer(probe_error="AccessDeniedException"))

    run = doctor()

    assert run.problems() == ["cost-explorer"]
    assert "Cost Explorer is not enabled" in run.lines["cost-explorer"]
    assert (
        "fix: Billing and Cost Management console > Cost Explorer > Launch Cost Explorer"
        in (run.lines["cost-explorer"])
    )


# --- the stack -------------------------------------------------------------------------------------------


def test_a_missing_stack_is_one_problem_and_its_checks_are_skipped(
    outputs: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    clients(ce=cost_explorer())

    run = doctor("--stack", "no-such-stack")

    assert run.status == 1
    assert run.problems() == ["stack"]
    assert "no stack no-such-stack in us-east-1" in run.lines["stack"]
    assert "sam deploy --stack-name no-such-stack" in run.lines["stack"]
    assert all(run.outcome(check) == "skipped" for check in ALL_CHECKS[5:])


def test_unconfirmed_subscriptions_are_a_problem(
    deployed: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given the alerts topic has only an email subscription nobody confirmed, the reports topic none
    sns = Stubber(boto3.client("sns"))
    sns.add_response(
        "list_subscriptions_by_topic",
        {
            "Subscriptions": [
                {
                    "SubscriptionArn": "PendingConfirmation",
                    "Owner": ACCOUNT,
                    "Protocol": "email",
                    "Endpoint": "finops@example.com",
                    "TopicArn": deployed["AlertsTopicArn"],
                }
            ]
        },
        {"TopicArn": deployed["AlertsTopicArn"]},
    )
    sns.add_response(
        "list_subscriptions_by_topic", {"Subscriptions": []}, {"TopicArn": deployed["ReportsTopicArn"]}
    )
    sns.activate()
    clients(ce=cost_explorer(), sns=sns)

    run = doctor("--stack", STACK)

    assert run.status == 1
    assert run.problems() == ["alerts-topic", "reports-topic"]
    assert "no confirmed subscription, 1 pending confirmation" in run.lines["alerts-topic"]
    assert "open the confirmation email" in run.lines["alerts-topic"]
    assert (
        f"fix: aws sns subscribe --topic-arn {deployed['ReportsTopicArn']} --protocol email"
        in run.lines["reports-topic"]
    )
    sns.assert_no_pending_responses()


def test_a_missing_config_parameter_is_a_problem_with_config_push(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    boto3.client("ssm").delete_parameter(Name="/sagecost/config")

    run = doctor("--stack", STACK)

    assert run.problems() == ["config"]
    assert "no SSM parameter /sagecost/config" in run.lines["config"]
    assert run.lines["config"].endswith(f"fix: sagecost config push FILE --stack {STACK}")


def test_an_invalid_config_is_a_problem_naming_the_setting(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    boto3.client("ssm").put_parameter(
        Name="/sagecost/config", Value=json.dumps({"tags": {"default_mode": "shout"}}), Overwrite=True
    )

    run = doctor("--stack", STACK)

    assert run.problems() == ["config"]
    assert "is not a valid sagecost config: tags.default_mode:" in run.lines["config"]
    assert f"sagecost config push FILE --stack {STACK}" in run.lines["config"]


def test_a_config_the_stacks_iam_contradicts_is_a_problem(
    deployed: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given the config writes a key the stack's PolicyTagKeys (the enforcer's aws:TagKeys) does not allow
    boto3.client("ssm").put_parameter(
        Name="/sagecost/config", Value=json.dumps({"tags": {"team": {"key": "Squad"}}}), Overwrite=True
    )
    clients(ce=cost_explorer(keys=["CostCenter", "Environment", "Owner", "Project", "Squad"]))

    run = doctor("--stack", STACK)

    assert run.problems() == ["config"]
    assert "contradicts the stack's IAM conditions: the tag policy writes Squad" in run.lines["config"]
    assert f"then sagecost config push FILE --stack {STACK}" in run.lines["config"]


def test_a_stack_without_the_new_outputs_says_to_redeploy(
    outputs: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    # Given a stack deployed before ConfigParameterName, PricesParameterName and BudgetStreamFailureQueueUrl
    old = {k: v for k, v in outputs.items() if k not in {"ConfigParameterName", "PricesParameterName"}}
    create_stack({k: v for k, v in old.items() if k != "BudgetStreamFailureQueueUrl"})
    clients(ce=cost_explorer())

    run = doctor("--stack", STACK)

    assert run.problems() == ["config", "budget-stream-failures", "prices"]
    assert run.lines["config"].endswith(
        f"fix: deploy the current template: sam build && sam deploy --stack-name {STACK}, "
        f"then sagecost config push FILE --stack {STACK}"
    )
    assert "has no output PricesParameterName" in run.lines["prices"]
    assert "sagecost prices push FILE --stack" in run.lines["prices"]


def test_messages_in_a_dead_letter_queue_are_a_problem_with_inspect_and_redrive(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    sqs = boto3.client("sqs")
    url = deployed["UsageDeadLetterQueueUrl"]
    for number in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"failed": {number}}}')
    sqs.send_message(QueueUrl=deployed["BudgetStreamFailureQueueUrl"], MessageBody="{}")

    run = doctor("--stack", STACK)

    assert run.status == 1
    assert run.problems() == ["usage-dlq", "budget-stream-failures"]
    line = run.lines["usage-dlq"]
    assert "3 message(s) waiting: usage events the recorder gave up on" in line
    assert f"inspect: aws sqs receive-message --queue-url {url}" in line
    assert (
        f"aws sqs start-message-move-task --source-arn arn:aws:sqs:us-east-1:{ACCOUNT}:sagecost-usage-dlq"
        in line
    )
    assert "aws sqs purge-queue" in run.lines["budget-stream-failures"]


def test_an_instance_type_without_a_price_is_a_problem_until_the_override_prices_it(
    deployed: dict[str, str], ledger: DynamoLedger, doctor: Callable[..., Run], clients: Callable[..., None]
) -> None:
    # Given the ledger saw ml.p5.48xlarge training this month, which the shipped catalog leaves unpriced
    record = training_job("big-train", "ml.p5.48xlarge")
    assert ledger.put_job_records([record], aggregate_deltas([record]))

    run = doctor("--stack", STACK)

    assert run.problems() == ["prices"]
    line = run.lines["prices"]
    assert "us-east-1 training ml.p5.48xlarge" in line
    assert "ml.m5.xlarge" not in line
    assert f"then sagecost prices push prices.json --stack {STACK}" in line

    # When an override that prices it is pushed
    override = {
        "generated": "2026-11-25",
        "sources": {"price-list": "the AWS Price List, read 2026-11-25"},
        "prices": [
            {
                "region": "us-east-1",
                "component": "training",
                "instance_type": "ml.p5.48xlarge",
                "unit": "hour",
                "usd": "55.04",
                "source": "price-list",
                "as_of": "2026-11-25",
            }
        ],
    }
    boto3.client("ssm").put_parameter(Name="/sagecost/prices", Value=json.dumps(override), Overwrite=True)
    clients(ce=cost_explorer())

    run = doctor("--stack", STACK)

    # Then every type seen has a price
    assert run.status == 0, run.lines
    assert "the override's 1 prices" in run.lines["prices"]


def test_an_invalid_price_override_is_a_problem_with_prices_push(
    deployed: dict[str, str], doctor: Callable[..., Run]
) -> None:
    boto3.client("ssm").put_parameter(Name="/sagecost/prices", Value='{"prices": []}', Overwrite=True)

    run = doctor("--stack", STACK)

    assert run.problems() == ["prices"]
    assert "is not a price catalog" in run.lines["prices"]
    assert run.lines["prices"].endswith(f"fix: sagecost prices push FILE --stack {STACK}")


# --- AWS errors are problem lines, never tracebacks ------------------------------------------------------


def test_access_denied_names_the_iam_action(
    deployed: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    cloudtrail = Stubber(boto3.client("cloudtrail"))
    cloudtrail.add_client_error(
        "describe_trails",
        "AccessDeniedException",
        "User is not authorized\n  to perform cloudtrail:DescribeTrails",  # a message on two lines
    )
    cloudtrail.activate()
    clients(ce=cost_explorer(), cloudtrail=cloudtrail)

    run = doctor()

    assert run.problems() == ["cloudtrail"]
    assert "cloudtrail:DescribeTrails failed: User is not authorized to perform" in run.lines["cloudtrail"]
    assert "fix: allow the IAM action cloudtrail:DescribeTrails to the caller" in run.lines["cloudtrail"]


def test_a_stack_the_caller_cannot_read_is_one_problem_and_its_checks_are_skipped(
    deployed: dict[str, str], clients: Callable[..., None], doctor: Callable[..., Run]
) -> None:
    cloudformation = Stubber(boto3.client("cloudformation"))
    cloudformation.add_client_error("describe_stacks", "AccessDenied", "not authorized", http_status_code=403)
    cloudformation.activate()
    clients(ce=cost_explorer(), cloudformation=cloudformation)

    run = doctor("--stack", STACK)

    assert run.problems() == ["stack"]
    assert "fix: allow the IAM action cloudformation:DescribeStacks to the caller" in run.lines["stack"]
    assert all(run.outcome(check) == "skipped" for check in ALL_CHECKS[5:])


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No credentials or region anywhere botocore looks (and no instance metadata to ask)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECURITY_TOKEN",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_is_one_problem_line_and_the_rest_is_skipped(
    no_aws_configuration: None, doctor: Callable[..., Run]
) -> None:
    run = doctor("--stack", STACK, "--region", "us-east-1")

    assert run.status == 1
    assert run.problems() == ["aws-access"]
    assert "Unable to locate credentials" in run.lines["aws-access"]
    assert "fix: configure AWS credentials: `aws configure`" in run.lines["aws-access"]
    assert list(run.lines) == ALL_CHECKS
    assert all(run.outcome(check) == "skipped" for check in ALL_CHECKS[1:])


def test_no_region_is_a_problem_with_its_fix(
    no_aws_configuration: None, monkeypatch: pytest.MonkeyPatch, doctor: Callable[..., Run]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        run = doctor()

    assert run.status == 1
    assert run.problems() == ["aws-access"]
    assert "no AWS region" in run.lines["aws-access"]
    assert "fix: pass --region REGION" in run.lines["aws-access"]
