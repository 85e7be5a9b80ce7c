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
from sagecost.local import events
from sagecost.local.fake_inference_components import FakeInferenceComponent, FakeInferenceComponentsClient
from sagecost.local.fake_studio import FakeApp, FakeStudioClient
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.idle import IdlePolicy, Phase, WorkingHours
from sagecost.services.idle import IdleReaper
from sagecost.services.usage import UsageMeter

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


def endpoint(name: str, tags: dict[str, str], *, serving: str = "real-time") -> str:
    """A real-time endpoint; `serving` "async" adds an AsyncInferenceConfig, "serverless" a ServerlessConfig
    (provisioned concurrency 1) instead of instances."""
    client = boto3.client("sagemaker")
    client.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    variant: Any = {"VariantName": "AllTraffic", "ModelName": f"{name}-model"}
    if serving == "serverless":
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": 2048,
            "MaxConcurrency": 5,
            "ProvisionedConcurrency": 1,
        }
    else:
        variant |= {"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
    extra: dict[str, Any] = {}
    if serving == "async":
        extra["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://bucket/async/"}}
    client.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[variant], **extra)
    arn = client.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"{name}-cfg",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["EndpointArn"]
    return str(arn)


def reaper(
    ledger: DynamoLedger,
    studio: FakeStudioClient,
    inbox: Inbox,
    components: FakeInferenceComponentsClient | None = None,
    **policy: Any,
) -> IdleReaper:
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
        inference_components=Boto3SageMaker(components or FakeInferenceComponentsClient()),  # type: ignore[arg-type]
    )


def hourly(metric: str, dimensions: dict[str, str], first: datetime, hours: int, value: float = 5) -> None:
    """One datapoint an hour from `first`, as SageMaker publishes traffic."""
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": first + timedelta(hours=hour),
                "Value": value,
            }
            for hour in range(hours)
        ],
    )


def in_service(name: str) -> bool:
    return bool(
        boto3.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
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


# --- each endpoint kind by its own signal ------------------------------------------------------------


def sweeps_past_the_warning_time(idle: IdleReaper, now: datetime, count: int = 4) -> list[Any]:
    """Applied sweeps, each three hours after the last (past a two-hour warning time)."""
    return [idle.sweep(now + timedelta(hours=3 * index), apply=True) for index in range(count)]


def test_a_busy_async_endpoint_without_invocations_survives_every_applied_sweep(
    ledger: DynamoLedger, now: datetime
) -> None:
    # Given a dev async endpoint that processes requests every hour and, like every async endpoint,
    # publishes no Invocations at all
    arn = endpoint("churn-async", DEV, serving="async")
    hourly(
        "InvocationsProcessed",
        {"EndpointName": "churn-async", "VariantName": "AllTraffic"},
        now - timedelta(days=1),
        40,
    )
    inbox = Inbox()
    idle = reaper(ledger, FakeStudioClient(), inbox, enforce=True)

    # When the reaper sweeps again and again, well past any warning time
    reports = sweeps_past_the_warning_time(idle, now)

    # Then it is never warned, never deleted, and each decision names the signal it was judged by
    for report in reports:
        (decision,) = report.decisions
        assert decision.phase is Phase.KEEP
        assert "InvocationsProcessed (churn-async, AllTraffic)" in decision.reason
        assert decision.observation.signal == "InvocationsProcessed per variant and ApproximateBacklogSize"
    assert in_service("churn-async") and "sagecost:idle-warning" not in tags(arn)
    assert inbox.sent == [] and ledger.actions() == []


def test_an_async_endpoint_with_a_backlog_is_not_idle_and_one_with_neither_is(
    ledger: DynamoLedger, now: datetime
) -> None:
    endpoint("queued-async", DEV, serving="async")
    endpoint("quiet-async", DEV, serving="async")
    hourly("ApproximateBacklogSize", {"EndpointName": "queued-async"}, now - timedelta(hours=3), 3, value=2)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)

    report = idle.sweep(now, apply=True)

    phases = {d.observation.name: (d.phase, d.reason) for d in report.decisions}
    assert phases["queued-async"] == (Phase.KEEP, "a backlog of up to 2 requests in the last 24 h")
    assert phases["quiet-async"] == (Phase.WARN, "no InvocationsProcessed and no backlog in the last 24 h")


def test_an_idle_real_time_endpoint_is_warned_then_deleted_and_the_signal_recorded_and_told(
    ledger: DynamoLedger, now: datetime
) -> None:
    # Given a dev real-time endpoint without traffic
    arn = endpoint("recs-idle", DEV)
    inbox = Inbox()
    idle = reaper(ledger, FakeStudioClient(), inbox, enforce=True)

    # When two applied sweeps run, the second past the warning time
    warned = idle.sweep(now, apply=True)
    done = idle.sweep(now + timedelta(hours=2, minutes=5), apply=True)

    # Then it was warned, then deleted, by its Invocations
    assert warned.count(Phase.WARN) == 1 and [d.observation.name for d in done.acted] == ["recs-idle"]
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
    records = {a["action"].split("@")[0]: a for a in ledger.actions() if a["resource_arn"] == arn}
    assert {r["signal"] for r in records.values()} == {"Invocations per variant"}
    assert records["idle-deleted"]["reason"] == "no invocations in the last 24 h"
    assert all("judged by: Invocations per variant" in notice.body for notice in inbox.sent)


def inference_component_endpoint(meter: UsageMeter, name: str, at: datetime) -> str:
    """An endpoint hosting inference components, as the usage recorder learns it from events: its config's
    variant has instances and no ModelName (moto insists on a model, so its own copy has one)."""
    arn = endpoint(name, DEV)
    account = arn.split(":")[4]
    config = events.endpoint_config(
        f"{name}-cfg", [("AllTraffic", "ml.g5.xlarge", 1)], at=at, tags=DEV, account=account
    )
    for variant in config["detail"]["ProductionVariants"]:
        del variant["ModelName"]
    state = events.endpoint(
        name,
        "IN_SERVICE",
        at=at,
        config_name=f"{name}-cfg",
        variants=[("AllTraffic", 1)],
        tags=DEV,
        account=account,
    )
    for event in (config, state):
        meter.record(parse_event(event))
    return arn


def test_an_inference_component_endpoint_is_judged_by_its_components(
    ledger: DynamoLedger, now: datetime, prices: PriceBook
) -> None:
    # Given two dev endpoints hosting inference components, one with a component that serves requests
    meter = UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig())
    busy = inference_component_endpoint(meter, "llm-dev", now - timedelta(days=2))
    quiet = inference_component_endpoint(meter, "llm-quiet", now - timedelta(days=2))
    components = FakeInferenceComponentsClient(
        [
            FakeInferenceComponent("llama", "llm-dev", created=now - timedelta(days=2)),
            FakeInferenceComponent("mistral", "llm-dev", created=now - timedelta(days=2)),
            FakeInferenceComponent("phi", "llm-quiet", created=now - timedelta(days=2)),
        ]
    )
    hourly("Invocations", {"InferenceComponentName": "mistral"}, now - timedelta(days=1), 40)
    idle = reaper(ledger, FakeStudioClient(), Inbox(), components, enforce=True)

    # When the reaper sweeps again and again
    reports = sweeps_past_the_warning_time(idle, now)

    # Then the one with component traffic survives; the other is judged by its component, and deleted
    first = {d.observation.arn: d for d in reports[0].decisions}
    assert first[busy].phase is Phase.KEEP and "Invocations (mistral)" in first[busy].reason
    assert first[busy].observation.signal == "Invocations per inference component"
    assert first[quiet].phase is Phase.WARN
    assert first[quiet].reason == "no invocations of its 1 inference components in the last 24 h"
    assert in_service("llm-dev") and "sagecost:idle-warning" not in tags(busy)
    assert [a.observation.arn for r in reports for a in r.acted] == [quiet]
    assert components.calls["ListInferenceComponents"] >= 4  # one per sweep and endpoint


def test_an_inference_component_endpoint_whose_components_cannot_be_listed_is_kept(
    ledger: DynamoLedger, now: datetime, prices: PriceBook
) -> None:
    from botocore.exceptions import ClientError

    meter = UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig())
    arn = inference_component_endpoint(meter, "llm-dev", now - timedelta(days=2))
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "List")
    idle = reaper(
        ledger, FakeStudioClient(), Inbox(), FakeInferenceComponentsClient(failure=denied), enforce=True
    )

    reports = sweeps_past_the_warning_time(idle, now, count=2)

    for report in reports:
        (decision,) = report.decisions
        assert decision.phase is Phase.KEEP
        assert decision.reason.startswith("kept: its inference components could not be listed")
    assert "sagecost:idle-warning" not in tags(arn)


def test_a_serverless_dev_endpoint_is_never_warned_and_its_provisioned_concurrency_is_noted(
    ledger: DynamoLedger, now: datetime
) -> None:
    arn = endpoint("score-serverless", DEV, serving="serverless")
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)

    reports = sweeps_past_the_warning_time(idle, now)

    for report in reports:
        (decision,) = report.decisions
        assert decision.phase is Phase.KEEP and decision.reason.startswith("serverless")
        assert any("provisioned concurrency of 1 bills while idle" in note for note in decision.notes)
    assert in_service("score-serverless") and "sagecost:idle-warning" not in tags(arn)


def test_an_endpoint_whose_config_cannot_be_read_is_kept(ledger: DynamoLedger, now: datetime) -> None:
    endpoint("orphan-dev", DEV)
    boto3.client("sagemaker").delete_endpoint_config(EndpointConfigName="orphan-dev-cfg")
    idle = reaper(ledger, FakeStudioClient(), Inbox(), enforce=True)

    reports = sweeps_past_the_warning_time(idle, now, count=2)

    for report in reports:
        (decision,) = report.decisions
        assert decision.phase is Phase.KEEP
        assert decision.reason == "kept: its endpoint config could not be read (no signal, no action)"
    assert in_service("orphan-dev")


# --- the bulk metric read ------------------------------------------------------------------------------


def test_traffic_is_read_500_series_a_request_whatever_the_mix_of_kinds(aws: None, now: datetime) -> None:
    from sagecost.domain.idleness import MetricSeries

    client = boto3.client("cloudwatch")
    calls: list[str] = []
    client.meta.events.register(
        "before-call.cloudwatch.GetMetricData", lambda **_: calls.append("GetMetricData")
    )
    series = [
        MetricSeries("Invocations", (("EndpointName", f"rt-{i}"), ("VariantName", "AllTraffic")))
        for i in range(400)
    ]
    series += [
        MetricSeries("InvocationsProcessed", (("EndpointName", f"as-{i}"), ("VariantName", "AllTraffic")))
        for i in range(400)
    ]
    series += [
        MetricSeries("ApproximateBacklogSize", (("EndpointName", f"as-{i}"),), "Maximum") for i in range(400)
    ]
    hourly(
        "InvocationsProcessed",
        {"EndpointName": "as-7", "VariantName": "AllTraffic"},
        now - timedelta(hours=5),
        3,
    )
    hourly("ApproximateBacklogSize", {"EndpointName": "as-9"}, now - timedelta(hours=5), 3, value=4)

    readings = EndpointTraffic(client).read(series, now - timedelta(days=1), now)

    assert len(calls) == 3  # ceil(1,200 / 500)
    assert readings[series[407]] == Decimal(15)  # the sum of three hourly datapoints
    assert readings[series[809]] == Decimal(4)  # the highest backlog
    assert sum(1 for value in readings.values() if value == 0) == 1198  # no datapoints: nothing happened


class PagedCloudWatch:
    """GetMetricData answered in two NextToken pages, with the status codes CloudWatch uses."""

    def __init__(self, statuses: dict[str, str], fail: bool = False) -> None:
        self.statuses, self.fail, self.requests = statuses, fail, 0

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.requests += 1
        if self.fail:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "GetMetricData")
        ids = [q["Id"] for q in request["MetricDataQueries"]]
        if "NextToken" not in request:
            results = [
                {"Id": i, "Values": [1.0] if i == "q0" else [], "StatusCode": "PartialData"} for i in ids
            ]
            return {"MetricDataResults": results, "NextToken": "page-2"}
        return {
            "MetricDataResults": [
                {
                    "Id": i,
                    "Values": [2.0] if i == "q0" else [],
                    "StatusCode": self.statuses.get(i, "Complete"),
                }
                for i in ids
            ]
        }


def test_next_tokens_are_followed_and_a_series_not_read_in_full_is_unknown(now: datetime) -> None:
    from sagecost.domain.idleness import MetricSeries

    series = [MetricSeries("Invocations", (("InferenceComponentName", f"ic-{i}"),)) for i in range(3)]
    client = PagedCloudWatch({"q1": "InternalError"})

    readings = EndpointTraffic(client).read(series, now - timedelta(days=1), now)  # type: ignore[arg-type]

    assert client.requests == 2
    assert readings == {series[0]: Decimal(3), series[1]: None, series[2]: Decimal(0)}
    failing = PagedCloudWatch({}, fail=True)
    assert EndpointTraffic(failing).read(series, now - timedelta(days=1), now) == dict.fromkeys(series)  # type: ignore[arg-type]
