"""Issue 12: spaces, user profiles, inference components, HyperPod clusters and MLflow tracking servers are
governed by the tag policy, at creation (CloudTrail Create* call) and by the tag sweep, and no value is ever
overwritten. The SageMaker side is the kind fakes behind one client (moto has none of these kinds)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.local.fake_governed import GovernedClient
from sagecost.local.fake_hyperpod import FakeCluster
from sagecost.local.fake_inference_components import FakeInferenceComponent
from sagecost.local.fake_mlflow import FakeTrackingServer
from sagecost.local.fake_studio import FakeSpace
from sagecost.local.simulator import RecordingNotifier
from sagecost.models.config import KeyRule, Mode, PolicyKind, SagecostConfig, TagPolicy
from sagecost.models.tagging import Recheck
from sagecost.services.tag_sweep import sweep_tags
from sagecost.services.tagging import TagEnforcer, TagOutcome, read_tag_message

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kinds"
ACCOUNT, REGION, DOMAIN = "111122223333", "us-east-1", "d-a1b2c3d4e5f6"
PREFIX = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
POLICY = TagPolicy(
    project=KeyRule(key="Project", default="unassigned"),
    team=KeyRule(key="Team", default="unknown-team"),
    cost_center=KeyRule(key="CostCenter", aliases=("cost-centre",), default="cc-0000"),
    environment=KeyRule(key="Environment", allowed=("dev", "prod"), case="lower", default="dev"),
    default_mode=Mode.TAG,
)
NO_TAGS = {"Project": "unassigned", "Team": "unknown-team", "CostCenter": "cc-0000", "Environment": "dev"}


def _call(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / f"cloudtrail-{name}.json").read_text())
    return event


def _create_cluster() -> dict[str, Any]:
    """CreateCluster as CloudTrail records it (no published sample: the CreateSpace record's envelope with
    CreateClusterRequest members and the CreateClusterResponse `ClusterArn`)."""
    event = _call("CreateSpace")
    detail = event["detail"]
    detail["eventName"] = "CreateCluster"
    detail["requestParameters"] = {
        "clusterName": "llm-pretrain",
        "instanceGroups": [
            {"instanceGroupName": "workers", "instanceType": "ml.p5.48xlarge", "instanceCount": 2}
        ],
        "tags": [{"key": "cost-center", "value": "cc-42"}],
    }
    detail["responseElements"] = {"clusterArn": f"{PREFIX}:cluster/abcdef123456"}
    return event


CALLS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "space": (lambda: _call("CreateSpace"), f"{PREFIX}:space/{DOMAIN}/team-ml-space"),
    "component": (lambda: _call("CreateInferenceComponent"), f"{PREFIX}:inference-component/llama-3-8b-ic"),
    "cluster": (_create_cluster, f"{PREFIX}:cluster/abcdef123456"),
    "mlflow": (lambda: _call("CreateMlflowTrackingServer"), f"{PREFIX}:mlflow-tracking-server/team-mlflow"),
}


def _world(profile_tags: dict[str, str] | None = None) -> GovernedClient:
    """Each fixture's resource as SageMaker holds it right after the call (tags as given at creation)."""
    client = GovernedClient()
    client.studio.spaces.append(FakeSpace(DOMAIN, "team-ml-space", T0, 50, account=ACCOUNT))
    if profile_tags is not None:
        client.studio.profile_tags[f"{PREFIX}:user-profile/{DOMAIN}/alice"] = dict(profile_tags)
    client.components.components.append(
        FakeInferenceComponent("llama-3-8b-ic", "llm-endpoint", T0, account=ACCOUNT)
    )
    client.hyperpod.clusters.append(FakeCluster("abcdef123456", "llm-pretrain", T0))
    client.mlflow.servers.append(FakeTrackingServer("team-mlflow", T0))
    return client


def _tags(client: GovernedClient, arn: str) -> dict[str, str]:
    tags = Boto3SageMaker(client).tags(arn)  # type: ignore[arg-type]
    assert tags is not None
    return tags


def _seed(client: GovernedClient, arn: str, tags: dict[str, str]) -> None:
    if tags:
        client.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def _enforcer(ledger: DynamoLedger, client: GovernedClient, policy: TagPolicy = POLICY) -> TagEnforcer:
    rechecks: list[tuple[Recheck, int]] = []
    return TagEnforcer(
        ledger,
        Boto3SageMaker(client),  # type: ignore[arg-type]
        RecordingNotifier(),
        SagecostConfig(tags=policy),
        lambda recheck, delay: rechecks.append((recheck, delay)),
    )


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_creation_without_tags_is_tagged_with_the_defaults_and_the_caller_as_owner(
    ledger: DynamoLedger, kind: str
) -> None:
    make, arn = CALLS[kind]
    event = make()
    event["detail"]["requestParameters"].pop("tags")
    client = _world()
    created = read_tag_message(json.dumps(event))
    assert created is not None and not isinstance(created, Recheck)
    assert created.arn == arn

    result = _enforcer(ledger, client).handle(created, T0 + timedelta(seconds=30))

    assert result.outcome is TagOutcome.TAGGED
    # MLOpsDeployRole/alice: the assumed role's session name is the creator
    assert _tags(client, arn) == {**NO_TAGS, "Owner": "alice"}


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_tag_set_under_another_spelling_is_never_overwritten(ledger: DynamoLedger, kind: str) -> None:
    """The fixtures' calls carry `cost-center` (and the space `project`): accepted spellings of CostCenter
    and Project. Only the keys absent under every spelling are added; no value changes."""
    make, arn = CALLS[kind]
    event = make()
    given = {t["key"]: t["value"] for t in event["detail"]["requestParameters"]["tags"]}
    client = _world()
    _seed(client, arn, given)

    result = _enforcer(ledger, client).handle(read_tag_message(json.dumps(event)), T0)

    assert result.outcome is TagOutcome.TAGGED
    after = _tags(client, arn)
    assert {k: after[k] for k in given} == given
    assert "CostCenter" not in after
    assert ("Project" in after) is ("project" not in given)
    assert after["Owner"] == "alice" and after["Environment"] == "dev"


def test_a_value_set_after_the_call_is_kept(ledger: DynamoLedger) -> None:
    """The event's tags are those of the creation: the enforcer decides again from ListTags."""
    make, arn = CALLS["component"]
    event = make()
    event["detail"]["requestParameters"].pop("tags")
    client = _world()
    _seed(client, arn, {"project": "llm-serving", "environment": "prod"})

    _enforcer(ledger, client).handle(read_tag_message(json.dumps(event)), T0)

    after = _tags(client, arn)
    assert after["project"] == "llm-serving" and after["environment"] == "prod"
    assert "Project" not in after and "Environment" not in after


def test_a_private_space_inherits_its_owners_user_profile_tags(ledger: DynamoLedger) -> None:
    """Studio launches the owner's apps in the space: the profile's Team and Project are the space's."""
    make, arn = CALLS["space"]
    event = make()
    event["detail"]["requestParameters"].pop("tags")
    client = _world(profile_tags={"Team": "risk", "Project": "fraud"})

    _enforcer(ledger, client).handle(read_tag_message(json.dumps(event)), T0)

    after = _tags(client, arn)
    assert (after["Team"], after["Project"], after["Owner"]) == ("risk", "fraud", "alice")


def test_user_profiles_are_governed_at_creation(ledger: DynamoLedger) -> None:
    event = _call("CreateSpace")
    detail = event["detail"]
    detail["eventName"] = "CreateUserProfile"
    detail["requestParameters"] = {"domainId": DOMAIN, "userProfileName": "bob"}
    arn = f"{PREFIX}:user-profile/{DOMAIN}/bob"
    detail["responseElements"] = {"userProfileArn": arn}
    client = _world()
    client.studio.profile_tags[arn] = {}

    result = _enforcer(ledger, client).handle(read_tag_message(json.dumps(event)), T0)

    assert result.outcome is TagOutcome.TAGGED
    assert _tags(client, arn) == {**NO_TAGS, "Owner": "alice"}


def test_another_services_create_cluster_is_not_a_creation() -> None:
    event = _create_cluster()
    event["detail"]["eventSource"] = "eks.amazonaws.com"
    assert read_tag_message(json.dumps(event)) is None


def test_a_kind_out_of_scope_is_left_alone(ledger: DynamoLedger) -> None:
    make, arn = CALLS["cluster"]
    event = make()
    client = _world()
    policy = POLICY.model_copy(update={"scope": (PolicyKind.TRAINING_JOB,)})

    result = _enforcer(ledger, client, policy).handle(read_tag_message(json.dumps(event)), T0)

    assert result.outcome is TagOutcome.OUT_OF_SCOPE
    assert _tags(client, arn) == {}


def test_the_tag_sweep_fixes_an_untagged_space_and_component_and_overwrites_nothing() -> None:
    client = _world()
    space, component = CALLS["space"][1], CALLS["component"][1]
    cluster, server = CALLS["cluster"][1], CALLS["mlflow"][1]
    complete = {**NO_TAGS, "Owner": "carol", "Project": "llm"}
    _seed(client, cluster, complete)
    _seed(client, server, {"proj": "x", "cost-centre": "cc-9", "team": "growth"})  # partly, other spellings
    policy = POLICY.model_copy(
        update={"project": KeyRule(key="Project", aliases=("proj",), default="unassigned")}
    )
    sagemaker = Boto3SageMaker(client)  # type: ignore[arg-type]
    # the Tagging API's view: it lists only resources that have or had a tag, and lags
    bulk = {cluster: complete}

    def sweep(apply: bool) -> Any:
        return sweep_tags(
            sagemaker.governed_resources(T0),
            bulk,
            policy,
            add_tags=sagemaker.add_tags if apply else None,
            read_tags=sagemaker.tags,
        )

    dry = sweep(apply=False)
    assert dry.by_kind == {"space": 1, "inference-component": 1, "cluster": 1, "mlflow-tracking-server": 1}
    assert (dry.compliant, dry.would_fix, dry.fixed) == (1, 3, 0)
    assert _tags(client, space) == {}

    applied = sweep(apply=True)

    assert (applied.fixed, applied.read, applied.tagged_since_listed) == (3, 3, 1)
    assert _tags(client, space) == {**NO_TAGS}
    assert _tags(client, component) == {**NO_TAGS}
    # the server's own spellings kept; only Environment was absent under every spelling (no owner known)
    assert _tags(client, server) == {
        "proj": "x",
        "cost-centre": "cc-9",
        "team": "growth",
        "Environment": "dev",
    }
    assert _tags(client, cluster) == complete


def test_a_refused_listing_skips_its_kind_and_sweeps_the_others() -> None:
    from botocore.exceptions import ClientError

    client = _world()
    client.hyperpod.failure = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "ListClusters"
    )
    listed = list(Boto3SageMaker(client).governed_resources(T0))  # type: ignore[arg-type]
    kinds = [kind for kind, _ in listed]
    assert PolicyKind.HYPERPOD_CLUSTER not in kinds
    assert {PolicyKind.SPACE, PolicyKind.INFERENCE_COMPONENT, PolicyKind.MLFLOW_TRACKING_SERVER} <= set(kinds)


def test_user_profiles_are_listed_with_arns_built_from_their_domain() -> None:
    client = _world()
    profile = f"{PREFIX}:user-profile/{DOMAIN}/alice"
    client.studio.profile_tags[profile] = {}
    listed = list(Boto3SageMaker(client).governed_resources(T0))  # type: ignore[arg-type]
    assert (PolicyKind.USER_PROFILE, profile) in listed
    assert (PolicyKind.SPACE, f"{PREFIX}:space/{DOMAIN}/team-ml-space") in listed
    assert copy.deepcopy(listed) == listed
