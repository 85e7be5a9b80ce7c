"""The tag enforcer on moto: creation events in, tags added, owners told once, production never stopped."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from tests.conftest import stack_parameters, topic_with_inbox

from sagecost import clock, wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.notifier import SnsNotifier
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_governed import GovernedClient
from sagecost.models.config import KeyRule, Mode, PolicyKind, SagecostConfig, TagPolicy
from sagecost.models.events import InvalidEvent, parse_event
from sagecost.models.tagging import Recheck
from sagecost.services.tagging import TagEnforcer, TagOutcome, read_tag_message
from sagecost.services.usage import UsageMeter
from tag_enforcer.handler import lambda_handler as enforce_batch

ACCOUNT, REGION = "123456789012", "us-east-1"
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMaker"
POLICY = TagPolicy(
    project=KeyRule(key="Project", default="unassigned"),
    team=KeyRule(key="Team", default="unknown-team"),
    cost_center=KeyRule(key="CostCenter", default="cc-0000"),
    environment=KeyRule(key="Environment", allowed=("dev", "prod"), case="lower", default="dev"),
    modes={
        PolicyKind.TRAINING_JOB: Mode.TAG,
        PolicyKind.ENDPOINT: Mode.TAG,
        PolicyKind.PROCESSING_JOB: Mode.ENFORCE,
        PolicyKind.NOTEBOOK_INSTANCE: Mode.REPORT,
    },
    grace_period_minutes=30,
)


class Rechecks:
    """The enforcer's delayed messages to itself, kept instead of sent (SQS delays run on wall time)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Recheck, int]] = []

    def __call__(self, recheck: Recheck, delay_seconds: int) -> None:
        self.sent.append((recheck, delay_seconds))


class StoppingSageMaker(Boto3SageMaker):
    """moto implements no Stop*Job: record the stop the way SageMaker would accept it."""

    stopped: list[tuple[str, str]]

    def stop_job(self, kind: str, name: str) -> bool:
        self.stopped.append((kind, name))
        return True


@pytest.fixture
def alerts(aws: None) -> Iterator[tuple[str, str]]:
    yield topic_with_inbox("alerts")


@pytest.fixture
def enforcer(ledger: DynamoLedger, alerts: tuple[str, str]) -> Iterator[TagEnforcer]:
    sagemaker = StoppingSageMaker(boto3.client("sagemaker"))
    sagemaker.stopped = []
    adapters = wiring.LocalAdapters(
        ledger=ledger,
        sagemaker_value=sagemaker,
        alerts_value=SnsNotifier(boto3.client("sns"), alerts[0]),
        config_value=SagecostConfig(tags=POLICY),
        recheck_value=Rechecks(),
    )
    wiring.use(adapters)
    service = wiring.tag_enforcer(adapters)
    clock.use(lambda: T0 + timedelta(minutes=1))
    yield service
    clock.use_wall_clock()


def notices(alerts: tuple[str, str]) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=alerts[1], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def sqs_batch(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:TagQueue",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


def create_training_job(name: str, tags: dict[str, str]) -> str:
    response = boto3.client("sagemaker").create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 7200},
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(response["TrainingJobArn"])


def create_call(
    operation: str, arn: str, parameters: dict[str, Any], principal: str = "AROAEXAMPLE:alice"
) -> str:
    return json.dumps(
        events.cloudtrail_create(operation, arn, parameters, at=T0, principal=principal, account=ACCOUNT)
    )


def tags_of(arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in boto3.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]}


def test_a_training_job_created_without_project_by_alice_is_tagged_and_its_usage_carries_the_tags(
    enforcer: TagEnforcer,
    ledger: DynamoLedger,
    alerts: tuple[str, str],
    lambda_context: Any,
    prices: PriceBook,
) -> None:
    # Given alice (an assumed-role session) creates a training job with only a Team tag
    arn = create_training_job("alice-train", {"Team": "risk"})
    call = create_call(
        "CreateTrainingJob",
        arn,
        {"trainingJobName": "alice-train", "tags": [{"key": "Team", "value": "risk"}]},
    )
    # When the enforcer sees the create call (tag mode)
    assert enforce_batch(sqs_batch(call), lambda_context)["batchItemFailures"] == []

    # Then the job carries Owner=alice and the policy's default project, and alice heard about it once
    assert tags_of(arn) == {
        "Team": "risk",
        "Project": "unassigned",
        "CostCenter": "cc-0000",
        "Environment": "dev",
        "Owner": "alice",
    }
    (notice,) = notices(alerts)
    assert notice["MessageAttributes"]["owner"]["Value"] == "alice"
    assert notice["MessageAttributes"]["kind"]["Value"] == "tag-policy"
    assert "Owner = alice   (the creator's identity)" in notice["Message"]
    # And the usage recorded at its end (the terminal event carries the job's tags) is attributed to them
    meter = UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig(tags=POLICY))
    done = events.training_job(
        "alice-train",
        "Completed",
        at=T0 + timedelta(hours=1),
        instance_type="ml.g5.xlarge",
        instance_count=2,
        start=T0,
        end=T0 + timedelta(hours=1),
        tags=tags_of(arn),
        billable_seconds=3600,
        account=ACCOUNT,
        volume_gb=None,
    )
    (record,) = meter.record(parse_event(done)).records
    assert (record.tags.owner, record.tags.project, record.tags.team) == ("alice", "unassigned", "risk")


def test_the_same_creation_delivered_three_times_tags_once_and_notifies_once(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str], lambda_context: Any
) -> None:
    arn = create_training_job("triple", {})
    call = create_call("CreateTrainingJob", arn, {"trainingJobName": "triple"})
    add_tags_calls: list[str] = []
    real_add_tags = enforcer.sagemaker.add_tags

    def counted(resource: str, tags: dict[str, str]) -> bool:
        add_tags_calls.append(resource)
        return real_add_tags(resource, tags)

    enforcer.sagemaker.add_tags = counted  # type: ignore[method-assign, assignment]
    for _ in range(3):
        assert enforce_batch(sqs_batch(call), lambda_context)["batchItemFailures"] == []
    assert add_tags_calls == [arn]
    assert len(notices(alerts)) == 1
    assert [(a["action"], a["outcome"]) for a in ledger.actions()] == [("creation", "tagged")]
    assert tags_of(arn)["Owner"] == "alice"


def test_training_jobs_of_a_tagged_tuning_job_inherit_its_tags(
    enforcer: TagEnforcer, alerts: tuple[str, str]
) -> None:
    tuning_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/hpo-1"
    child_arn = create_training_job("hpo-1-001-abc", {})
    parent_tags = {
        "Project": "recommendations",
        "Team": "growth",
        "CostCenter": "cc-2002",
        "Environment": "dev",
    }

    class TuningJobTags(StoppingSageMaker):
        def tags(self, arn: str) -> dict[str, str] | None:
            return parent_tags if arn == tuning_arn else super().tags(arn)

    sagemaker = TuningJobTags(boto3.client("sagemaker"))
    sagemaker.stopped = []
    enforcer.sagemaker = sagemaker  # moto's ListTags cannot read a tuning job's tags
    started = events.training_job(
        "hpo-1-001-abc",
        "InProgress",
        at=T0,
        instance_type="ml.g5.xlarge",
        tags={},
        tuning_job_arn=tuning_arn,
        account=ACCOUNT,
    )
    result = enforcer.handle(read_tag_message(json.dumps(started)), T0)
    assert result.outcome is TagOutcome.TAGGED
    assert tags_of(child_arn) == {**parent_tags}  # no owner: a state change names nobody
    assert (
        result.decision is not None
        and result.decision.sources["Project"] == "inherited from hyper-parameter-tuning-job hpo-1"
    )


def test_an_endpoint_inherits_its_config_tags(enforcer: TagEnforcer, alerts: tuple[str, str]) -> None:
    client = boto3.client("sagemaker")
    client.create_model(ModelName="m", PrimaryContainer={"Image": "img"}, ExecutionRoleArn=ROLE)
    client.create_endpoint_config(
        EndpointConfigName="cfg",
        Tags=[{"Key": "Project", "Value": "fraud"}, {"Key": "Team", "Value": "risk"}],
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
        ],
    )
    arn = client.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")["EndpointArn"]
    call = create_call("CreateEndpoint", arn, {"endpointName": "ep", "endpointConfigName": "cfg"}, "AROA:bob")
    result = enforcer.handle(read_tag_message(call), T0)
    assert result.outcome is TagOutcome.TAGGED
    assert (
        tags_of(arn)["Project"] == "fraud"
        and tags_of(arn)["Team"] == "risk"
        and tags_of(arn)["Owner"] == "bob"
    )


def test_report_mode_records_and_notifies_but_changes_nothing(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str]
) -> None:
    client = boto3.client("sagemaker")
    arn = client.create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=ROLE
    )["NotebookInstanceArn"]
    call = create_call("CreateNotebookInstance", arn, {"notebookInstanceName": "nb"})
    result = enforcer.handle(read_tag_message(call), T0)
    assert result.outcome is TagOutcome.REPORTED
    assert tags_of(arn) == {}
    (action,) = ledger.actions()
    assert action["outcome"] == "reported" and action["would_add"]["Owner"] == "alice"
    (notice,) = notices(alerts)
    assert "would add (report mode, nothing was changed)" in notice["Message"]


def test_enforce_stops_a_non_compliant_dev_job_after_the_grace_period_and_never_production(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str]
) -> None:
    client = boto3.client("sagemaker")
    arns = {}
    for name, environment in (("dev-prep", "dev"), ("prod-prep", "prod")):
        arns[name] = client.create_processing_job(
            ProcessingJobName=name,
            RoleArn=ROLE,
            AppSpecification={"ImageUri": "img"},
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}
            },
            Tags=[{"Key": "Environment", "Value": environment}, {"Key": "Team", "Value": "nobody-knows"}],
        )["ProcessingJobArn"]
    team = POLICY.model_copy(update={"team": KeyRule(key="Team", allowed=("risk", "growth"))})
    enforcer.policy = team
    rechecks: list[Recheck] = []
    for name, arn in arns.items():
        call = create_call(
            "CreateProcessingJob",
            arn,
            {
                "processingJobName": name,
                "tags": [
                    {"key": "Environment", "value": "dev" if name == "dev-prep" else "prod"},
                    {"key": "Team", "value": "nobody-knows"},
                ],
            },
        )
        enforcer.handle(read_tag_message(call), T0)
    scheduled = enforcer.schedule_recheck.sent  # type: ignore[attr-defined]
    assert [(r.arn, delay) for r, delay in scheduled] == [(arns["dev-prep"], 900)]  # 15 min hops
    rechecks = [r for r, _ in scheduled]
    # Too early: wait on. After the grace period: stopped, recorded, its owner told
    assert enforcer.handle(rechecks[0], T0 + timedelta(minutes=20)).outcome is TagOutcome.RECHECK_SCHEDULED
    result = enforcer.handle(rechecks[0], T0 + timedelta(minutes=31))
    assert result.outcome is TagOutcome.STOPPED
    assert enforcer.sagemaker.stopped == [("processing-job", "dev-prep")]  # type: ignore[attr-defined]
    assert "stopped" in [a["action"] for a in ledger.actions()]
    # And a production job is never stopped, whatever its tags
    prod = Recheck(arn=arns["prod-prep"], kind=PolicyKind.PROCESSING_JOB, due=T0)
    assert enforcer.handle(prod, T0 + timedelta(hours=1)).outcome is TagOutcome.COMPLIANT


def test_a_resource_deleted_before_the_enforcer_reaches_it_is_noted_not_crashed_on(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str]
) -> None:
    class Deleted(StoppingSageMaker):
        def tags(self, arn: str) -> dict[str, str] | None:
            return None  # what Boto3SageMaker.tags says when SageMaker answers "not found"

        def add_tags(self, arn: str, tags: dict[str, str]) -> bool:
            return False  # what Boto3SageMaker.add_tags says when SageMaker answers "not found"

    enforcer.sagemaker = Deleted(boto3.client("sagemaker"))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/short-lived"
    result = enforcer.handle(read_tag_message(create_call("CreateTrainingJob", arn, {})), T0)
    assert result.outcome is TagOutcome.GONE
    assert ledger.actions() == [] and notices(alerts) == []


def untagged_endpoints(*names: str) -> list[str]:
    client = boto3.client("sagemaker")
    client.create_model(ModelName="m", PrimaryContainer={"Image": "img"}, ExecutionRoleArn=ROLE)
    client.create_endpoint_config(
        EndpointConfigName="cfg",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
        ],
    )
    return [client.create_endpoint(EndpointName=n, EndpointConfigName="cfg")["EndpointArn"] for n in names]


class DeletedRightAfterItsRead(StoppingSageMaker):
    """SageMaker on moto where one endpoint is deleted just after its ListTags, and a deleted resource is
    answered as SageMaker does (moto fails with an internal error instead)."""

    def __init__(self, doomed: str, deleted: tuple[str, ...] = ()) -> None:
        super().__init__(boto3.client("sagemaker"))
        self.stopped = []
        self.doomed, self.deleted = doomed, set(deleted)
        for operation in ("ListTags", "AddTags"):
            self.client.meta.events.register(f"before-parameter-build.sagemaker.{operation}", self._not_found)

    def _not_found(self, params: dict[str, Any], **_: Any) -> None:
        if params["ResourceArn"] in self.deleted:
            message = f"Could not find {params['ResourceArn'].rsplit(':', 1)[-1]}."
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "ListTags")

    def tags(self, arn: str) -> dict[str, str] | None:
        current = super().tags(arn)
        if arn == self.doomed:
            self.client.delete_endpoint(EndpointName=arn.rsplit("/", 1)[-1])
            self.deleted.add(arn)
        return current


@pytest.mark.parametrize("spelling", ["Project", "proj"])
def test_a_project_set_after_the_creation_event_is_kept_and_the_notice_claims_only_what_was_added(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str], spelling: str
) -> None:
    # Given a job created with only Team (so its creation event has no Project) and tagged fraud since
    enforcer.policy = POLICY.model_copy(
        update={"project": KeyRule(key="Project", aliases=("proj",), default="unassigned")}
    )
    arn = create_training_job("late-tagged", {"Team": "risk"})
    boto3.client("sagemaker").add_tags(ResourceArn=arn, Tags=[{"Key": spelling, "Value": "fraud"}])
    call = create_call(
        "CreateTrainingJob",
        arn,
        {"trainingJobName": "late-tagged", "tags": [{"key": "Team", "value": "risk"}]},
    )

    # When the enforcer handles the (stale) creation event
    result = enforcer.handle(read_tag_message(call), T0)

    # Then fraud stays, no second project key appears, and only the truly absent keys were added
    assert result.outcome is TagOutcome.TAGGED
    absent = {"CostCenter": "cc-0000", "Environment": "dev", "Owner": "alice"}
    assert tags_of(arn) == {"Team": "risk", spelling: "fraud", **absent}
    (action,) = ledger.actions()
    assert action["added"] == absent
    # And the owner is not told that sagecost added a project; the notice is filed under fraud
    (notice,) = notices(alerts)
    assert "Project =" not in notice["Message"] and "Owner = alice" in notice["Message"]
    assert notice["MessageAttributes"]["project"]["Value"] == "fraud"


def test_a_resource_already_fully_tagged_since_its_creation_event_is_left_alone(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str]
) -> None:
    arn = create_training_job("tagged-since", {})
    complete = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-1", "Environment": "dev"}
    boto3.client("sagemaker").add_tags(
        ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in complete.items()]
    )
    enforcer.policy = POLICY.model_copy(update={"owner": KeyRule(key="Owner", required=False)})

    result = enforcer.handle(read_tag_message(create_call("CreateTrainingJob", arn, {})), T0)

    assert result.outcome is TagOutcome.COMPLIANT
    assert tags_of(arn) == complete and ledger.actions() == [] and notices(alerts) == []


def test_an_endpoint_deleted_between_the_read_and_the_write_is_gone_not_an_error(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str]
) -> None:
    # Given an untagged endpoint that is deleted right after the enforcer reads its tags
    (arn,) = untagged_endpoints("brief")
    enforcer.sagemaker = DeletedRightAfterItsRead(doomed=arn)
    call = create_call("CreateEndpoint", arn, {"endpointName": "brief", "endpointConfigName": "cfg"})

    # When the enforcer handles its creation
    result = enforcer.handle(read_tag_message(call), T0)

    # Then it is gone: nothing recorded (the claim is released), nobody told
    assert result.outcome is TagOutcome.GONE
    assert ledger.actions() == [] and notices(alerts) == []


def test_the_sweep_reports_resources_deleted_before_its_read_or_after_it_as_gone(aws: None) -> None:
    from sagecost.services.tag_sweep import sweep_tags

    # Given two untagged endpoints: one deleted before the sweep reads it, one right after its ListTags
    deleted_first, deleted_after_read = untagged_endpoints("short-lived", "shorter-lived")
    boto3.client("sagemaker").delete_endpoint(EndpointName="short-lived")
    sagemaker = DeletedRightAfterItsRead(doomed=deleted_after_read, deleted=(deleted_first,))

    # When the sweep applies the policy
    report = sweep_tags(
        [(PolicyKind.ENDPOINT, deleted_first), (PolicyKind.ENDPOINT, deleted_after_read)],
        {},
        POLICY.model_copy(update={"default_mode": Mode.TAG, "modes": {}}),
        add_tags=sagemaker.add_tags,
        read_tags=sagemaker.tags,
    )

    # Then both are gone: neither an error nor fixed
    assert (report.gone, report.fixed, report.read) == (2, 0, 2)


def test_a_throttled_add_tags_fails_the_message_alone_for_sqs_to_retry(
    enforcer: TagEnforcer, alerts: tuple[str, str], lambda_context: Any
) -> None:
    class Throttled(StoppingSageMaker):
        def add_tags(self, arn: str, tags: dict[str, str]) -> bool:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "AddTags"
            )

    enforcer.sagemaker = Throttled(boto3.client("sagemaker"))
    arn = create_training_job("busy", {})
    response = enforce_batch(sqs_batch(create_call("CreateTrainingJob", arn, {}), "{broken"), lambda_context)
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-0"}]  # retried; the garbage is rejected
    assert notices(alerts) == []


def test_usage_metered_before_the_tags_were_added_moves_to_them(
    enforcer: TagEnforcer, ledger: DynamoLedger, prices: PriceBook
) -> None:
    # Given a short job whose end was delivered (and metered, untagged) before its creation call
    meter = UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig(tags=POLICY))
    enforcer.on_tagged = meter.reattribute
    arn = create_training_job("early-end", {"Team": "risk"})
    done = events.training_job(
        "early-end",
        "Completed",
        at=T0 + timedelta(minutes=9),
        instance_type="ml.g5.xlarge",
        start=T0,
        end=T0 + timedelta(minutes=6),
        tags={"Team": "risk"},
        billable_seconds=360,
        account=ACCOUNT,
        volume_gb=None,
    )
    (before,) = meter.record(parse_event(done)).records
    assert before.tags.project is None
    # When the enforcer tags it
    enforcer.handle(
        read_tag_message(create_call("CreateTrainingJob", arn, {"trainingJobName": "early-end"})), T0
    )

    # Then the record and the month aggregates carry the added tags; nothing stays untagged
    (after,) = ledger.records("2026-11")
    assert (after.tags.project, after.tags.owner, after.tags.team) == ("unassigned", "alice", "risk")
    by_project = {
        a.value: (a.cost, a.records) for a in ledger.aggregates("2026-11") if a.dimension == "project"
    }
    assert by_project == {"unassigned": (after.cost, 1), "(untagged)": (0, 0)}


def test_the_tag_sweep_fixes_existing_resources_in_bulk_and_then_finds_nothing_to_do(aws: None) -> None:
    from sagecost.adapters.tagging_api import ResourceTags
    from sagecost.services.tag_sweep import sweep_tags

    client = boto3.client("sagemaker")
    complete = {"Team": "risk", "CostCenter": "cc-1", "Environment": "dev", "Owner": "alice"}
    for index in range(6):
        tags = {**complete, **({"Project": "fraud"} if index % 2 else {})}
        client.create_notebook_instance(
            NotebookInstanceName=f"nb-{index}",
            InstanceType="ml.t3.medium",
            RoleArn=ROLE,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    policy = POLICY.model_copy(update={"default_mode": Mode.TAG, "modes": {}})
    # moto lists no spaces, user profiles, inference components or MLflow servers: the kind fakes do
    sagemaker = Boto3SageMaker(GovernedClient(base=client))  # type: ignore[arg-type]
    tagging = ResourceTags(boto3.client("resourcegroupstaggingapi"))

    def sweep(apply: bool) -> Any:
        since = T0 - timedelta(days=7)
        return sweep_tags(
            sagemaker.governed_resources(since),
            tagging.sagemaker_tags(),
            policy,
            add_tags=sagemaker.add_tags if apply else None,
            read_tags=sagemaker.tags,
        )

    dry = sweep(apply=False)
    assert (dry.resources, dry.compliant, dry.would_fix, dry.fixed) == (6, 3, 3, 0)
    assert tags_of(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/nb-0").get("Project") is None
    applied = sweep(apply=True)
    assert applied.fixed == 3
    assert tags_of(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/nb-0")["Project"] == "unassigned"
    again = sweep(apply=True)
    assert (again.compliant, again.fixed) == (6, 0)


def test_the_daily_tag_sweeper_reports_under_the_default_policy(
    aws: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tag_sweeper.handler

    # moto lists none of the issue-12 kinds: they are listed from the (empty) fakes
    listed = Boto3SageMaker._issue12_governed
    monkeypatch.setattr(
        Boto3SageMaker, "_issue12_governed", lambda _self: listed(Boto3SageMaker(cast(Any, GovernedClient())))
    )

    # a cold start: the handler reads its settings from this environment (another test may have imported
    # it under the simulator's)
    sweep_daily = importlib.reload(tag_sweeper.handler).lambda_handler
    stack_parameters()
    boto3.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="bare", InstanceType="ml.t3.medium", RoleArn=ROLE
    )
    clock.use(lambda: T0)
    try:
        summary = sweep_daily({"source": "aws.scheduler"}, lambda_context)
    finally:
        clock.use_wall_clock()
    # the default policy reports (nothing is tagged without a config that says `tag`)
    assert summary == {"resources": 1, "compliant": 0, "fixed": 0, "would_fix": 0, "unresolved": 1, "gone": 0}
    assert tags_of(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/bare") == {}


def test_a_failing_notice_releases_the_claim_so_the_retry_tags_and_tells_exactly_once(
    enforcer: TagEnforcer, ledger: DynamoLedger, alerts: tuple[str, str], lambda_context: Any
) -> None:
    arn = create_training_job("flaky-sns", {})
    call = create_call("CreateTrainingJob", arn, {"trainingJobName": "flaky-sns"})
    real_publish = enforcer.notifier.publish
    failures = iter([ClientError({"Error": {"Code": "InternalError", "Message": "SNS is down"}}, "Publish")])

    def flaky(notice: Any) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_publish(notice)

    enforcer.notifier.publish = flaky  # type: ignore[method-assign]
    # a batch whose every record failed is raised as a whole (Powertools): SQS redelivers it
    with pytest.raises(BatchProcessingError):
        enforce_batch(sqs_batch(call), lambda_context)
    assert ledger.actions() == []  # released: the retry may claim it
    assert enforce_batch(sqs_batch(call), lambda_context)["batchItemFailures"] == []
    assert len(notices(alerts)) == 1 and len(ledger.actions()) == 1


def test_a_pipeline_step_job_inherits_the_pipeline_tags(
    enforcer: TagEnforcer, alerts: tuple[str, str]
) -> None:
    pipeline_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn-weekly"
    job_arn = create_training_job("pipelines-abc-train-step", {})
    pipeline_tags = {"Project": "churn", "Team": "growth", "CostCenter": "cc-2002", "Environment": "dev"}

    class PipelineTags(StoppingSageMaker):
        def tags(self, arn: str) -> dict[str, str] | None:
            return pipeline_tags if arn == pipeline_arn else super().tags(arn)

    sagemaker = PipelineTags(boto3.client("sagemaker"))
    sagemaker.stopped = []
    enforcer.sagemaker = sagemaker  # moto has no pipelines
    step = {
        "version": "0",
        "id": "step-1",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "region": REGION,
        "detail-type": "SageMaker Model Building Pipeline Execution Step Status Change",
        "time": "2026-11-10T09:00:05Z",
        "resources": [pipeline_arn],
        "detail": {
            "metadata": {"trainingJob": {"arn": job_arn}},
            "stepName": "train",
            "stepType": "Training",
            "currentStepStatus": "Executing",
            "previousStepStatus": "Starting",
            "stepStartTime": "2026-11-10T09:00:00Z",
            "pipelineArn": pipeline_arn,
            "pipelineExecutionArn": f"{pipeline_arn}/execution/abc",
        },
    }
    result = enforcer.handle(read_tag_message(json.dumps(step)), T0)
    assert result.outcome is TagOutcome.TAGGED
    assert tags_of(job_arn) == pipeline_tags
    done = {**step, "detail": {**step["detail"], "currentStepStatus": "Succeeded"}}  # type: ignore[dict-item]
    assert read_tag_message(json.dumps(done)) is None  # only the step's start governs


def test_a_message_nested_too_deeply_is_rejected_not_looped_to_the_dlq() -> None:
    deep = '{"detail-type": "AWS API Call via CloudTrail", "detail": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        read_tag_message(deep)
