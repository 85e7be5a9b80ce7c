"""The idle reaper on moto (notebooks, endpoints, CloudWatch, the Tagging API, the ledger, SNS) and the
Studio fake: warn first, act later, never production or untagged, every step recorded with its savings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.metrics import EndpointTraffic
from sagecost.adapters.notifier import Notice
from sagecost.adapters.prices import load_catalog
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.studio import Boto3StudioApps
from sagecost.adapters.tagging_api import ResourceTags
from sagecost.domain.idleness import IdleWarning
from sagecost.domain.pricing import PriceBook
from sagecost.local.fake_studio import FakeApp, FakeStudioClient
from sagecost.models.config import SagecostConfig
from sagecost.models.idle import IdlePolicy, Phase, WorkingHours
from sagecost.services.idle import IdleReaper

ROLE = "arn:aws:iam::123456789012:role/SageMaker"
NEVER_WORKING = WorkingHours(days=())  # every hour is outside working hours: notebooks left on are idle
DEV = {"Project": "fraud", "Environment": "dev", "Owner": "alice"}


class Inbox:
    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def publish(self, notice: Notice) -> None:
        self.sent.append(notice)


def notebook(name: str, tags: dict[str, str]) -> str:
    client = boto3.client("sagemaker")
    arn = client.create_notebook_instance(
        NotebookInstanceName=name,
        InstanceType="ml.t3.medium",
        RoleArn=ROLE,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["NotebookInstanceArn"]
    return str(arn)


def endpoint(name: str, tags: dict[str, str]) -> str:
    client = boto3.client("sagemaker")
    client.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    client.create_endpoint_config(
        EndpointConfigName=f"{name}-cfg",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    arn = client.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"{name}-cfg",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["EndpointArn"]
    return str(arn)


def reaper(ledger: DynamoLedger, studio: FakeStudioClient, inbox: Inbox, **policy: Any) -> IdleReaper:
    config = SagecostConfig(idle=IdlePolicy(working_hours=NEVER_WORKING, **policy))
    return IdleReaper(
        sagemaker=Boto3SageMaker(boto3.client("sagemaker")),
        studio=Boto3StudioApps(studio),
        traffic=EndpointTraffic(boto3.client("cloudwatch")),
        tags=ResourceTags(boto3.client("resourcegroupstaggingapi")).sagemaker_tags,
        ledger=ledger,
        notifier=inbox,
        prices=PriceBook(load_catalog()),
        config=config,
    )


def status(name: str) -> str:
    return str(
        boto3.client("sagemaker").describe_notebook_instance(NotebookInstanceName=name)[
            "NotebookInstanceStatus"
        ]
    )


def tags(arn: str) -> dict[str, str]:
    listed = boto3.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in listed}


@pytest.fixture
def now() -> datetime:
    # moto stamps resources with the wall clock: judge them two days later (endpoints past their window)
    return datetime.now(UTC) + timedelta(days=2)


def test_a_dev_notebook_is_warned_then_stopped_and_production_and_untagged_ones_never(
    ledger: DynamoLedger, now: datetime
) -> None:
    dev = notebook("alice-dev", DEV)
    notebook("prod-nb", DEV | {"Environment": "prod"})
    notebook("nobody", {"Project": "fraud"})
    inbox = Inbox()
    idle = reaper(ledger, FakeStudioClient(), inbox, enforce=True)

    first = idle.sweep(now, apply=True)

    assert first.count(Phase.WARN) == 1 and first.acted == []
    assert all(status(n) == "InService" for n in ("alice-dev", "prod-nb", "nobody"))
    act_at = tags(dev)["sagecost:idle-warning"].split("/")[1]
    assert act_at == (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (notice,) = inbox.sent
    assert notice.attributes["owner"] == "alice"
    assert "alice-dev: running outside working hours" in notice.body and "sagecost:keep-until=" in notice.body

    assert idle.sweep(now + timedelta(hours=1), apply=True).acted == []  # the warning time has not come
    second = idle.sweep(now + timedelta(hours=2, minutes=5), apply=True)

    assert [d.observation.name for d in second.acted] == ["alice-dev"]
    assert status("alice-dev") == "Stopped"
    assert status("prod-nb") == status("nobody") == "InService"
    records = {a["action"].split("@")[0]: a for a in ledger.actions() if a["resource_arn"] == dev}
    assert set(records) == {"idle-warning", "idle-stopped"}
    stopped = records["idle-stopped"]
    assert stopped["hourly_usd"] == Decimal("0.05")  # ml.t3.medium notebook, us-east-1
    assert stopped["projected_savings_usd"] > 0
    assert stopped["reason"].startswith("running outside working hours")


def test_an_endpoint_that_gets_traffic_after_the_warning_is_not_deleted(
    ledger: DynamoLedger, now: datetime
) -> None:
    arn = endpoint("recs-dev", DEV)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)
    assert idle.sweep(now, apply=True).count(Phase.WARN) == 1

    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "recs-dev"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": now + timedelta(hours=1),
                "Value": 3,
            }
        ],
    )
    later = idle.sweep(now + timedelta(hours=3), apply=True)

    assert later.acted == [] and later.count(Phase.CLEAR) == 1
    assert "sagecost:idle-warning" not in tags(arn)
    assert (
        boto3.client("sagemaker").describe_endpoint(EndpointName="recs-dev")["EndpointStatus"] == "InService"
    )


def test_an_idle_endpoint_is_deleted_keeping_its_config_and_what_restores_it(
    ledger: DynamoLedger, now: datetime
) -> None:
    arn = endpoint("churn-dev", DEV)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)
    idle.sweep(now, apply=True)

    done = idle.sweep(now + timedelta(hours=2), apply=True)

    assert [d.observation.name for d in done.acted] == ["churn-dev"]
    client = boto3.client("sagemaker")
    assert client.list_endpoints()["Endpoints"] == []
    assert client.describe_endpoint_config(EndpointConfigName="churn-dev-cfg")["EndpointConfigName"]
    deleted = next(a for a in ledger.actions() if a["action"].startswith("idle-deleted"))
    assert deleted["resource_arn"] == arn
    assert deleted["restore"]["endpoint_config_name"] == "churn-dev-cfg"
    assert deleted["restore"]["tags"]["Project"] == "fraud"


def test_an_idle_studio_app_is_deleted_and_a_dry_run_touches_nothing(
    ledger: DynamoLedger, now: datetime
) -> None:
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
    idle = reaper(ledger, studio, Inbox(), enforce=True)
    warning = IdleWarning(now - timedelta(hours=3), now - timedelta(hours=1)).tag_value()
    idle.tags = lambda: {app_arn: DEV | {"sagecost:idle-warning": warning}}

    dry = idle.sweep(now, apply=False)
    assert dry.dry_run and [d.phase for d in dry.decisions] == [Phase.ACT]
    assert studio.apps[0].status == "InService" and ledger.actions() == []

    done = idle.sweep(now, apply=True)
    assert [d.observation.kind.value for d in done.acted] == ["studio-app"]
    assert studio.apps[0].status == "Deleted"


def test_a_run_stops_at_most_the_cap(ledger: DynamoLedger, now: datetime) -> None:
    for i in range(4):
        notebook(f"nb-{i}", DEV)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True, max_actions_per_run=3)
    idle.sweep(now, apply=True)
    assert len(idle.sweep(now + timedelta(hours=2), apply=True).acted) == 3
    assert len(idle.sweep(now + timedelta(hours=3), apply=True).acted) == 1


def test_idle_restore_recreates_a_deleted_endpoint_from_its_kept_config_and_tags(
    ledger: DynamoLedger, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import TABLE

    from sagecost.cli import main

    endpoint("churn-dev", DEV)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)
    idle.sweep(now, apply=True)
    idle.sweep(now + timedelta(hours=2), apply=True)
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []

    assert main(["idle", "restore", "churn-dev", "--table", TABLE]) == 0

    restored = boto3.client("sagemaker").describe_endpoint(EndpointName="churn-dev")
    assert restored["EndpointConfigName"] == "churn-dev-cfg"
    assert tags(restored["EndpointArn"])["Project"] == "fraud"
    assert "sagecost:idle-warning" not in tags(restored["EndpointArn"])
    assert "created" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no idle deletion of an endpoint named 'other'"):
        main(["idle", "restore", "other", "--table", TABLE])


def test_the_month_end_report_shows_what_idle_shutdown_saved_per_project(
    ledger: DynamoLedger, now: datetime
) -> None:
    from sagecost.reports.html import render_html
    from sagecost.services.allocation import MonthEndAllocator

    notebook("alice-dev", DEV)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)
    idle.sweep(now, apply=True)
    stopped_at = now + timedelta(hours=2)
    idle.sweep(stopped_at, apply=True)
    month = f"{stopped_at.year:04d}-{stopped_at.month:02d}"

    report = MonthEndAllocator(ledger, SagecostConfig(), idle_actions=ledger.actions).run(month).report

    (saving,) = report.idle_savings
    assert (saving.project, saving.actions, saving.hourly_usd) == ("fraud", 1, Decimal("0.05"))
    assert saving.projected_savings > 0
    assert "Idle shutdown savings" in render_html(report) and "fraud" in render_html(report)


def test_the_idle_sweep_command_is_a_dry_run_unless_told_to_apply(
    ledger: DynamoLedger, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from sagecost.cli import main

    notebook("alice-dev", DEV)
    config = tmp_path / "sagecost.yaml"
    config.write_text("idle:\n  working_hours: {days: []}\n", encoding="utf-8")

    assert main(["idle", "sweep", "--config", str(config), "--no-studio"]) == 0
    printed = capsys.readouterr().out
    assert "warn  notebook-instance alice-dev: running outside working hours (UTC)" in printed
    assert "dry run (nothing written" in printed
    assert "sagecost:idle-warning" not in tags(
        boto3.client("sagemaker").list_notebook_instances()["NotebookInstances"][0]["NotebookInstanceArn"]
    )

    assert main(["idle", "sweep", "--config", str(config), "--no-studio", "--apply"]) == 0
    arn = boto3.client("sagemaker").list_notebook_instances()["NotebookInstances"][0]["NotebookInstanceArn"]
    assert "sagecost:idle-warning" in tags(arn)
    assert "--- to the owner (alice)" in capsys.readouterr().out


def test_an_action_that_did_not_happen_is_neither_recorded_nor_announced(
    ledger: DynamoLedger, now: datetime
) -> None:
    notebook("alice-dev", DEV)
    inbox = Inbox()
    idle = reaper(ledger, FakeStudioClient(), inbox, enforce=True)
    idle.sweep(now, apply=True)
    inbox.sent.clear()

    class AlreadyStopped(Boto3SageMaker):
        def stop_notebook(self, name: str) -> bool:
            return False  # it stopped on its own between the list and the stop

    idle.sagemaker = AlreadyStopped(boto3.client("sagemaker"))
    report = idle.sweep(now + timedelta(hours=2), apply=True)

    assert report.count(Phase.ACT) == 1 and report.acted == []
    assert inbox.sent == []
    assert not [a for a in ledger.actions() if a["action"].startswith("idle-stopped")]
