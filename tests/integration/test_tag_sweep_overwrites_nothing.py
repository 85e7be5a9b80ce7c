"""`sagecost tags sweep --apply` on moto never overwrites a tag value, however stale the Tagging API's view.

GetResources is eventually consistent and skips resources that never had a tag: it may not show a tag set
moments ago. The sweep reads each resource's tags (ListTags) before AddTags and adds only what is still
absent under every spelling the policy accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.tagging_api import ResourceTags
from sagecost.cli import main
from sagecost.local import events
from sagecost.local.fake_governed import GovernedClient
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.models.config import KeyRule, Mode, PolicyKind, TagPolicy
from sagecost.services.tag_sweep import sweep_tags

ROLE = "arn:aws:iam::123456789012:role/SageMaker"
CONFIG = """\
tags:
  project: {key: Project, aliases: [proj], default: unassigned}
  team: {key: Team, default: unknown-team}
  cost_center: {key: CostCenter, default: cc-0000}
  environment: {key: Environment, allowed: [dev, prod], case: lower, default: dev}
  owner: {key: Owner, default: nobody}
  default_mode: tag
"""
ADDED = {"Team": "unknown-team", "CostCenter": "cc-0000", "Environment": "dev", "Owner": "nobody"}
POLICY = TagPolicy(
    project=KeyRule(key="Project", aliases=("proj",), default="unassigned"),
    team=KeyRule(key="Team", default="unknown-team"),
    default_mode=Mode.TAG,
)


@pytest.fixture(autouse=True)
def _issue12_kinds_on_the_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto lists no spaces, user profiles, inference components or MLflow servers: the sweep lists them
    from the (empty) fakes here; test_new_kinds_tag_enforcement sweeps them."""
    listed = Boto3SageMaker._issue12_governed
    monkeypatch.setattr(
        Boto3SageMaker, "_issue12_governed", lambda _self: listed(Boto3SageMaker(cast(Any, GovernedClient())))
    )


def tags_of(arn: str) -> dict[str, str]:
    listed = boto3.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in listed}


def create_notebook(name: str, tags: dict[str, str]) -> str:
    return str(
        boto3.client("sagemaker").create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn=ROLE,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["NotebookInstanceArn"]
    )


def create_endpoint(name: str, tags: dict[str, str]) -> str:
    client = boto3.client("sagemaker")
    client.create_model(ModelName=f"{name}-model", PrimaryContainer={"Image": "img"}, ExecutionRoleArn=ROLE)
    client.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    return str(
        client.create_endpoint(
            EndpointName=name,
            EndpointConfigName=f"{name}-config",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["EndpointArn"]
    )


@pytest.fixture
def config(aws: None, tmp_path: Path) -> Path:
    path = tmp_path / "sagecost.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def tagging_api_omits(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """ARNs GetResources does not return yet (its index lags behind the resources' tags)."""
    omitted: set[str] = set()
    listed = ResourceTags.sagemaker_tags

    def lagging(self: ResourceTags) -> dict[str, dict[str, str]]:
        return {arn: tags for arn, tags in listed(self).items() if arn not in omitted}

    monkeypatch.setattr(ResourceTags, "sagemaker_tags", lagging)
    yield omitted


@pytest.mark.parametrize("create", [create_notebook, create_endpoint], ids=["notebook", "endpoint"])
def test_a_project_the_tagging_api_does_not_show_yet_is_kept_and_the_absent_keys_are_added(
    config: Path, tagging_api_omits: set[str], create: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a resource tagged Project=fraud that GetResources does not list yet
    arn = create("fraud-dev", {"Project": "fraud"})
    tagging_api_omits.add(arn)

    # When the sweep runs with --apply
    assert main(["tags", "sweep", "--config", str(config), "--apply"]) == 0

    # Then its project is still fraud, and the keys it really lacked were added
    assert tags_of(arn) == {"Project": "fraud", **ADDED}
    assert "already carried keys the Tagging API did not show: kept" in capsys.readouterr().out


@pytest.mark.parametrize("spelling", ["proj", "project", "PROJ"])
def test_a_project_under_an_accepted_spelling_gets_no_second_project_key(
    config: Path, tagging_api_omits: set[str], spelling: str
) -> None:
    arn = create_notebook("fraud-dev", {spelling: "fraud"})
    tagging_api_omits.add(arn)

    assert main(["tags", "sweep", "--config", str(config), "--apply"]) == 0

    assert tags_of(arn) == {spelling: "fraud", **ADDED}  # no Project=unassigned beside it


def test_a_blank_value_is_not_overwritten_either(config: Path) -> None:
    arn = create_notebook("blank", {"Project": ""})

    assert main(["tags", "sweep", "--config", str(config), "--apply"]) == 0

    assert tags_of(arn) == {"Project": "", **ADDED}  # left for a person: it is still reported


def test_without_a_way_to_read_the_tags_first_nothing_is_written() -> None:
    written: list[str] = []

    def add_tags(arn: str, tags: dict[str, str]) -> bool:
        written.append(arn)
        return True

    arn = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb"
    report = sweep_tags([(PolicyKind.NOTEBOOK_INSTANCE, arn)], {}, POLICY, add_tags=add_tags)

    assert written == [] and (report.would_fix, report.fixed) == (1, 0)


def test_the_simulators_fake_answers_like_sagemaker_for_a_deleted_notebook() -> None:
    at = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    fake = FakeSageMaker()
    fake.observe(
        events.notebook("nb", "InService", at=at, instance_type="ml.t3.medium", tags={"Project": "x"})
    )
    arn = fake.known_notebooks["nb"].detail["NotebookInstanceArn"]
    assert fake.add_tags(arn, {"Project": "y", "Team": "risk"})
    assert fake.tags(arn) == {"Project": "y", "Team": "risk"}  # AddTags adds or overwrites
    assert fake.sagemaker_tags()[arn] == {"Project": "y", "Team": "risk"}

    fake.observe(events.notebook("nb", "Deleted", at=at + timedelta(hours=1), instance_type="ml.t3.medium"))
    assert fake.tags(arn) is None
    assert fake.add_tags(arn, {"Owner": "alice"}) is False
