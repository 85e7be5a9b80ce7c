"""IAM proof: each of the seven functions, deployed on moto with its own environment, does realistic work
through its handler while every AWS call it makes is recorded; each call must be granted by the IAM
statements of that function's role in the translated template (see `iam_proof` for what this can and
cannot see). A missing grant fails naming the function, the action and the resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend
from tests.conftest import FakeLambdaContext
from tests.e2e.deployed import ACCOUNT, REGION, DeployedStack, deploy, pause_event_sources
from tests.e2e.iam_proof import CallRecorder, Need, missing_grants
from tests.integration.test_cost_allocation import canned_bill, job, write
from tests.integration.test_handlers import sqs_event
from tests.integration.test_idle_reaper import endpoint, notebook
from tests.integration.test_tag_enforcer import POLICY, create_call, create_training_job

from sagecost import clock, wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.mlflow import Boto3MlflowServers
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.studio import Boto3StudioApps
from sagecost.domain.idleness import IdleWarning
from sagecost.local.fake_governed import GovernedClient
from sagecost.local.fake_hyperpod import FakeCluster
from sagecost.local.fake_inference_components import FakeInferenceComponent
from sagecost.local.fake_mlflow import FakeMlflowClient, FakeTrackingServer
from sagecost.local.fake_studio import FakeApp, FakeSpace, FakeStudioClient
from sagecost.models.budgets import Budget, BudgetPolicy
from sagecost.models.config import KeyRule, Mode, PolicyKind, SagecostConfig
from sagecost.models.idle import IdlePolicy, WorkingHours
from sagecost.models.tagging import Recheck

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMaker"
DEV = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)

Scenario = Callable[[DeployedStack, CallRecorder, pytest.MonkeyPatch], None]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def sample(path: str) -> dict[str, Any]:
    """A sample event from events/, from this stack's account (the samples use another account's id; a
    deployment meters its own account's resources)."""
    text = (EVENTS / path).read_text(encoding="utf-8").replace("111122223333", ACCOUNT)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def configure(
    stack: DeployedStack, function: str, monkeypatch: pytest.MonkeyPatch, config: SagecostConfig
) -> None:
    """The function's deployed environment, with `config` pushed where a deployed function reads it: the
    stack's config parameter (what `sagecost config push` writes)."""
    stack.use(function, monkeypatch)
    stack.push_config(config.model_dump_json(exclude_defaults=True))


def cost_explorer_tags(monkeypatch: pytest.MonkeyPatch, keys: list[str]) -> None:
    """moto has no GetTags: answer it as Cost Explorer does (the tag keys in the period's cost data)."""
    from moto.ce.responses import CostExplorerResponse

    answer = json.dumps({"Tags": keys, "ReturnSize": len(keys), "TotalSize": len(keys)})
    monkeypatch.setattr(CostExplorerResponse, "get_tags", lambda self: answer, raising=False)


def ledger(stack: DeployedStack) -> DynamoLedger:
    return DynamoLedger(boto3.client("dynamodb", region_name=REGION), stack.outputs["LedgerTableName"])


def tags(values: dict[str, str]) -> list[TagTypeDef]:
    return [{"Key": k, "Value": v} for k, v in values.items()]


def training_job(name: str, labels: dict[str, str], *, billable_seconds: int | None = None) -> str:
    arn = create_training_job(name, labels)
    if billable_seconds is not None:  # moto has no billable time: set it as SageMaker would report it
        moto_job: Any = get_backend("sagemaker")[ACCOUNT][REGION].training_jobs[name]
        moto_job.billable_time_in_seconds = billable_seconds
        moto_job.training_time_in_seconds = billable_seconds
    return arn


def processing_job(name: str, labels: dict[str, str]) -> str:
    return str(
        boto3.client("sagemaker", region_name=REGION).create_processing_job(
            ProcessingJobName=name,
            RoleArn=ROLE,
            AppSpecification={"ImageUri": "img"},
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}
            },
            Tags=tags(labels),
        )["ProcessingJobArn"]
    )


def invoked(endpoint_name: str, *, at: datetime) -> None:
    """Traffic on an endpoint, as SageMaker publishes it to CloudWatch."""
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint_name},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": at,
                "Value": 3,
            }
        ],
    )


class RecordedMlflow:
    """moto has no MLflow tracking servers: the fake, with each call recorded as its SageMaker action."""

    def __init__(self, fake: FakeMlflowClient, recorder: CallRecorder) -> None:
        self.fake, self.recorder = fake, recorder

    def get_paginator(self, operation: str) -> Any:
        self.recorder.record("sagemaker", "ListMlflowTrackingServers", {})
        return self.fake.get_paginator(operation)

    def describe_mlflow_tracking_server(self, **key: Any) -> dict[str, Any]:
        self.recorder.record("sagemaker", "DescribeMlflowTrackingServer", key)
        return self.fake.describe_mlflow_tracking_server(**key)


class RecordedStudio:
    """moto has no Studio apps: the Studio fake, with each call recorded as the SageMaker action it stands
    for (ListApps, DescribeApp, DeleteApp), as a boto3 client's would be."""

    def __init__(self, fake: FakeStudioClient, recorder: CallRecorder) -> None:
        self.fake, self.recorder = fake, recorder

    def get_paginator(self, operation: str) -> Any:
        action = {"list_apps": "ListApps", "list_spaces": "ListSpaces"}[operation]
        self.recorder.record("sagemaker", action, {})
        return self.fake.get_paginator(operation)

    def describe_space(self, **key: Any) -> dict[str, Any]:
        self.recorder.record("sagemaker", "DescribeSpace", key)
        return self.fake.describe_space(**key)

    def describe_app(self, **key: Any) -> dict[str, Any]:
        self.recorder.record("sagemaker", "DescribeApp", key)
        return self.fake.describe_app(**key)

    def delete_app(self, **key: Any) -> dict[str, Any]:
        self.recorder.record("sagemaker", "DeleteApp", key)
        return self.fake.delete_app(**key)


# ------------------------------------------------------------------------------------------------
# what each function does (setup outside the recording; the handler inside it)
# ------------------------------------------------------------------------------------------------


def usage_recorder(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from usage_recorder.handler import lambda_handler

    configure(stack, "UsageRecorderFunction", monkeypatch, SagecostConfig())
    training_job("fraud-train-001", DEV, billable_seconds=2400)
    processing_job("fraud-prep-001", DEV)
    bodies = [
        json.dumps(sample(f"usage_recorder/{name}.json"))
        for name in (
            "training-job-completed",
            "training-job-completed-spot-tag-list",
            "processing-job-completed-no-tags",
            "transform-job-completed-iso-times",
            "endpoint-config-created",
            "endpoint-in-service",
            "notebook-in-service",
            "endpoint-deleted-empty-tags",
        )
    ]
    with recorder.running("UsageRecorderFunction"):
        response = lambda_handler(sqs_event(*bodies, "{not json"), FakeLambdaContext())
    assert response["batchItemFailures"] == []
    assert len(list(ledger(stack).records("2026-11"))) >= 5


def usage_sweeper(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from usage_sweeper.handler import lambda_handler

    configure(stack, "UsageSweeperFunction", monkeypatch, SagecostConfig())
    endpoint("fraud-live", DEV)
    notebook("alice-notebook", DEV)
    # a Studio app and a space no event announced: ListApps, ListSpaces, DescribeApp, DescribeSpace
    created = datetime.now(UTC) - timedelta(hours=1)
    studio = FakeStudioClient(
        [
            FakeApp(
                "d-1", "team", "JupyterLab", "default", created, instance_type="ml.g5.xlarge", is_space=True
            )
        ],
        [FakeSpace("d-1", "team", created, tags=DEV)],
    )
    monkeypatch.setattr(
        wiring, "Boto3StudioApps", lambda _client: Boto3StudioApps(RecordedStudio(studio, recorder))
    )
    # an MLflow tracking server no event announced: ListMlflowTrackingServers, DescribeMlflowTrackingServer
    mlflow = FakeMlflowClient([FakeTrackingServer("experiments", created, size="Small", account=ACCOUNT)])
    monkeypatch.setattr(
        wiring, "Boto3MlflowServers", lambda _client: Boto3MlflowServers(RecordedMlflow(mlflow, recorder))
    )
    read_tags = Boto3SageMaker.tags

    def tags(reader: Boto3SageMaker, arn: str) -> dict[str, str] | None:
        if ":space/" not in arn and ":user-profile/" not in arn:
            return read_tags(reader, arn)
        recorder.record("sagemaker", "ListTags", {"ResourceArn": arn})  # moto knows no spaces
        return read_tags(Boto3SageMaker(cast(Any, studio)), arn)

    monkeypatch.setattr(Boto3SageMaker, "tags", tags)
    with recorder.running("UsageSweeperFunction"):
        first = lambda_handler(sample("usage_sweeper/scheduled.json"), FakeLambdaContext())
    clock.use(lambda: datetime.now(UTC) + timedelta(hours=1))
    with recorder.running("UsageSweeperFunction"):
        lambda_handler(sample("usage_sweeper/scheduled.json"), FakeLambdaContext())
    assert first["resources"] >= 2


def tag_enforcer(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from tag_enforcer.handler import lambda_handler

    budgets = BudgetPolicy(limits=(Budget(project="unassigned", monthly=Decimal(1)),))
    teams = POLICY.model_copy(
        update={
            "team": KeyRule(key="Team", allowed=("risk", "growth")),
            "modes": {**POLICY.modes, **ISSUE12_MODES},
        }
    )
    configure(stack, "TagEnforcerFunction", monkeypatch, SagecostConfig(tags=teams, budgets=budgets))
    governed = issue12_on_fakes(recorder, monkeypatch)
    endpoint("llm", {"Team": "risk"})  # the component's endpoint, whose tags it inherits
    issue12_calls = [
        create_call("CreateSpace", governed.studio.spaces[0].arn, {"domainId": "d-1", "spaceName": "team"}),
        create_call(
            "CreateInferenceComponent",
            governed.components.components[0].arn,
            {"inferenceComponentName": "ic-1", "endpointName": "llm"},
        ),
        create_call("CreateCluster", governed.hyperpod.clusters[0].arn, {"clusterName": "pretrain"}),
        create_call(
            "CreateMlflowTrackingServer",
            governed.mlflow.servers[0].arn,
            {"trackingServerName": "experiments"},
        ),
    ]
    trained = training_job("no-project", {"Team": "risk"})
    prep = processing_job("dev-prep", {"Environment": "dev", "Team": "nobody-knows"})
    created = [
        create_call(
            "CreateTrainingJob",
            trained,
            {
                "trainingJobName": "no-project",
                "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1, "volumeSizeInGB": 10},
                "stoppingCondition": {"maxRuntimeInSeconds": 7200},
                "tags": [{"key": "Team", "value": "risk"}],
            },
        ),
        create_call(
            "CreateProcessingJob",
            prep,
            {
                "processingJobName": "dev-prep",
                "tags": [{"key": "Environment", "value": "dev"}, {"key": "Team", "value": "nobody-knows"}],
            },
        ),
    ]
    clock.use(lambda: T0 + timedelta(minutes=1))
    with recorder.running("TagEnforcerFunction"):
        assert (
            lambda_handler(sqs_event(*created, *issue12_calls, "[]"), FakeLambdaContext())[
                "batchItemFailures"
            ]
            == []
        )
    assert all(server.tags for server in governed.mlflow.servers)
    recheck = Recheck.model_validate({"arn": prep, "kind": "processing-job", "due": T0})
    clock.use(lambda: T0 + timedelta(minutes=31))
    with recorder.running("TagEnforcerFunction"):
        response = lambda_handler(sqs_event(recheck.model_dump_json()), FakeLambdaContext())
    assert response["batchItemFailures"] == []
    assert "stopped" in [a["action"] for a in ledger(stack).actions()]


class RecordedGoverned:
    """moto lists no spaces, user profiles, inference components or MLflow servers: the issue-12 kinds'
    fakes behind one client, each call recorded as the SageMaker action it stands for."""

    def __init__(self, fake: GovernedClient, recorder: CallRecorder) -> None:
        self.fake, self.recorder = fake, recorder

    def get_paginator(self, operation: str) -> Any:
        action = "".join(part.title() for part in operation.split("_"))
        paginator, recorder = self.fake.get_paginator(operation), self.recorder

        class Recorded:
            def paginate(self, **request: Any) -> Any:
                params = {"ResourceArn": request["ResourceArn"]} if "ResourceArn" in request else {}
                recorder.record("sagemaker", action, params)
                return paginator.paginate(**request)

        return Recorded()

    def add_tags(self, **request: Any) -> Any:
        self.recorder.record("sagemaker", "AddTags", request)
        return self.fake.add_tags(**request)


ISSUE12_MODES = dict.fromkeys(
    (
        PolicyKind.SPACE,
        PolicyKind.USER_PROFILE,
        PolicyKind.INFERENCE_COMPONENT,
        PolicyKind.HYPERPOD_CLUSTER,
        PolicyKind.MLFLOW_TRACKING_SERVER,
    ),
    Mode.TAG,
)
ISSUE12_TYPES = (
    ":space/",
    ":user-profile/",
    ":inference-component/",
    ":cluster/",
    ":mlflow-tracking-server/",
)


def issue12_on_fakes(recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> GovernedClient:
    """An untagged space, inference component, HyperPod cluster and MLflow server on the fakes; the
    adapter's listings of them, and its ListTags and AddTags of their ARNs, go there (recorded)."""
    created = datetime.now(UTC) - timedelta(hours=1)
    governed = GovernedClient()
    governed.studio.spaces.append(FakeSpace("d-1", "team", created, account=ACCOUNT))
    governed.components.components.append(FakeInferenceComponent("ic-1", "llm", created, account=ACCOUNT))
    governed.hyperpod.clusters.append(FakeCluster("abcdef123456", "pretrain", created, account=ACCOUNT))
    governed.mlflow.servers.append(FakeTrackingServer("experiments", created, account=ACCOUNT))
    fakes = Boto3SageMaker(cast(Any, RecordedGoverned(governed, recorder)))
    read_tags, add_tags = Boto3SageMaker.tags, Boto3SageMaker.add_tags
    listed = Boto3SageMaker._issue12_governed

    def tags(reader: Boto3SageMaker, arn: str) -> dict[str, str] | None:
        return read_tags(fakes if any(k in arn for k in ISSUE12_TYPES) else reader, arn)

    def add(writer: Boto3SageMaker, arn: str, added: dict[str, str]) -> bool:
        return add_tags(fakes if any(k in arn for k in ISSUE12_TYPES) else writer, arn, added)

    monkeypatch.setattr(Boto3SageMaker, "_issue12_governed", lambda _self: listed(fakes))
    monkeypatch.setattr(Boto3SageMaker, "tags", tags)
    monkeypatch.setattr(Boto3SageMaker, "add_tags", add)
    return governed


def tag_sweeper(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from tag_sweeper.handler import lambda_handler

    policy = POLICY.model_copy(update={"modes": {**POLICY.modes, **ISSUE12_MODES}})
    configure(stack, "TagSweeperFunction", monkeypatch, SagecostConfig(tags=policy))
    notebook("untagged-notebook", {"Owner": "alice"})
    endpoint("untagged-endpoint", {"Owner": "bob"})
    training_job("untagged-job", {"Owner": "carol"})
    issue12_on_fakes(recorder, monkeypatch)
    with recorder.running("TagSweeperFunction"):
        report = lambda_handler({}, FakeLambdaContext())
    assert report["fixed"] >= 1


def cost_allocator(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from cost_allocator.handler import lambda_handler

    configure(stack, "CostAllocatorFunction", monkeypatch, SagecostConfig())
    write(ledger(stack), job("train-a", "60", project="fraud"), job("train-b", "40", project="growth"))
    ledger(stack).record_action(
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/idle",
        "idle-deleted@2026-10-06T00:00:00Z",
        datetime(2026, 10, 6, tzinfo=UTC),
        {"reason": "no traffic"},
    )
    canned_bill({"fraud": "66", "growth": "44"})
    cost_explorer_tags(monkeypatch, ["Project", "Team"])
    with recorder.running("CostAllocatorFunction"):
        result = lambda_handler(
            sample("cost_allocator/on-demand.json") | {"month": "2026-10"}, FakeLambdaContext()
        )
    assert result["rows"] >= 2 and result["location"]


def budget_alerter(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from budget_alerter.handler import lambda_handler

    october = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
    budgets = BudgetPolicy(limits=(Budget(project="fraud-detection", monthly=Decimal(400)),))
    configure(stack, "BudgetAlerterFunction", monkeypatch, SagecostConfig(budgets=budgets))
    write(ledger(stack), job("big", "405.10", project="fraud-detection", at=october))
    clock.use(lambda: october)
    with recorder.running("BudgetAlerterFunction"):
        response = lambda_handler(sample("budget_alerter/stream-batch.json"), FakeLambdaContext())
        digest = lambda_handler(sample("budget_alerter/scheduled.json"), FakeLambdaContext())
    assert response["batchItemFailures"] == []
    assert digest["digest"] >= 1


def idle_reaper(stack: DeployedStack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from idle_reaper.handler import lambda_handler

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    policy = IdlePolicy(enforce=True, working_hours=WorkingHours(days=()))
    configure(stack, "IdleReaperFunction", monkeypatch, SagecostConfig(idle=policy))
    notebook("alice-dev", DEV)
    endpoint("quiet-dev", DEV)
    busy = endpoint("busy-dev", DEV)  # warned at first, then used: its warning is taken back (DeleteTags)
    now = datetime.now(UTC) + timedelta(days=2)  # moto stamps resources with the wall clock
    studio = FakeStudioClient(
        [
            FakeApp(
                "d-1",
                "alice",
                "JupyterLab",
                "default",
                created=now - timedelta(hours=8),
                last_activity=now - timedelta(hours=4),
            )
        ]
    )
    app_arn = studio.apps[0].arn
    # The Tagging API knows no fake app (and moto's AddTags refuses its ARN): it was warned two hours ago.
    warned = {
        app_arn: DEV
        | {policy.warning_tag: IdleWarning(now - timedelta(hours=3), now - timedelta(hours=1)).tag_value()}
    }
    monkeypatch.setattr(
        wiring, "Boto3StudioApps", lambda _client: Boto3StudioApps(RecordedStudio(studio, recorder))
    )
    import idle_reaper.handler

    with recorder.running("IdleReaperFunction"):
        reaper = wiring.idle_reaper(wiring.adapters(idle_reaper.handler.SETTINGS))
    tags_of_everything = reaper.tags
    reaper.tags = lambda: tags_of_everything() | warned
    for moment in (now, now + timedelta(hours=2, minutes=5)):
        clock.use(lambda moment=moment: moment)  # type: ignore[misc]
        with recorder.running("IdleReaperFunction"):
            summary = lambda_handler({}, FakeLambdaContext())
        assert summary["failed"] == 0
        invoked(busy.rsplit("/", 1)[1], at=now + timedelta(hours=1))
    assert studio.apps[0].status == "Deleted"
    assert "sagecost:idle-warning" not in {t["Key"] for t in sagemaker.list_tags(ResourceArn=busy)["Tags"]}
    assert {a["action"].split("@")[0] for a in ledger(stack).actions()} >= {"idle-warning", "idle-stopped"}


SCENARIOS: dict[str, Scenario] = {
    "UsageRecorderFunction": usage_recorder,
    "UsageSweeperFunction": usage_sweeper,
    "TagEnforcerFunction": tag_enforcer,
    "TagSweeperFunction": tag_sweeper,
    "CostAllocatorFunction": cost_allocator,
    "BudgetAlerterFunction": budget_alerter,
    "IdleReaperFunction": idle_reaper,
}


@pytest.fixture
def recorder() -> Iterator[CallRecorder]:
    with CallRecorder().installed() as installed:
        yield installed
    clock.use_wall_clock()


# ------------------------------------------------------------------------------------------------
# the proof
# ------------------------------------------------------------------------------------------------


def test_every_function_of_the_stack_has_a_scenario(deployed_stack: DeployedStack) -> None:
    assert set(deployed_stack.functions) == set(SCENARIOS)


@pytest.mark.parametrize("function", sorted(SCENARIOS))
def test_every_call_a_function_makes_is_granted_by_its_role(
    function: str, recorder: CallRecorder, deployed_stack: DeployedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    SCENARIOS[function](deployed_stack, recorder, monkeypatch)

    needs = recorder.of(function)
    assert needs, f"{function} made no AWS call"
    missing = missing_grants(deployed_stack, function, needs)
    assert not missing, "missing grants:\n" + "\n".join(f"  {need} (for {need.because})" for need in missing)


def test_the_check_fails_when_a_grant_is_removed(
    recorder: CallRecorder, translated_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """idle_reaper reads timelines with BatchGetItem: without that action in its role, the check says so."""
    template = json.loads(json.dumps(translated_template))
    (policy,) = template["Resources"]["IdleReaperFunctionRole"]["Properties"]["Policies"]
    for statement in policy["PolicyDocument"]["Statement"]:
        if isinstance(statement["Action"], list) and "dynamodb:BatchGetItem" in statement["Action"]:
            statement["Action"].remove("dynamodb:BatchGetItem")
    with mock_aws(config={"lambda": {"use_docker": False}}):
        stack = deploy(template, name="sagecost-without-batchget")
        pause_event_sources()
        idle_reaper(stack, recorder, monkeypatch)
        missing = missing_grants(stack, "IdleReaperFunction", recorder.of("IdleReaperFunction"))

    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{stack.outputs['LedgerTableName']}"
    assert [str(need) for need in missing] == [f"IdleReaperFunction: dynamodb:BatchGetItem on {table}"]


def test_a_call_is_named_by_function_action_and_resource() -> None:
    need = Need("IdleReaperFunction", "dynamodb:BatchGetItem", "arn:aws:dynamodb:us-east-1:1:table/t")
    assert str(need) == "IdleReaperFunction: dynamodb:BatchGetItem on arn:aws:dynamodb:us-east-1:1:table/t"


def test_tags_outside_the_aws_tag_keys_condition_are_not_granted(deployed_stack: DeployedStack) -> None:
    """AddTags is granted for the tag policy's keys only (aws:TagKeys): the check evaluates that condition."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/fraud-live"
    policy_keys = Need("TagSweeperFunction", "sagemaker:AddTags", arn, ("Project", "Team"))
    foreign_key = Need("TagSweeperFunction", "sagemaker:AddTags", arn, ("Project", "aws:cloudformation:x"))

    assert missing_grants(deployed_stack, "TagSweeperFunction", [policy_keys]) == []
    assert missing_grants(deployed_stack, "TagSweeperFunction", [foreign_key]) == [foreign_key]
    assert str(foreign_key) == (
        f"TagSweeperFunction: sagemaker:AddTags on {arn} with aws:TagKeys ['Project', 'aws:cloudformation:x']"
    )
