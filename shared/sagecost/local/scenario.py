"""The demo month: several teams' SageMaker activity, with the mess real delivery brings.

Five projects in three teams (and a shared platform project) train, process, transform, serve and
explore for a month: multi-instance and managed-spot training, a heterogeneous cluster, tuning-job
children, processing jobs whose events carry no tags (their tags come from the CloudTrail create call),
batch transforms whose events lack `TransformResources` (DescribeTransformJob answers from the create call),
a production endpoint that autoscales, a dev endpoint, an async endpoint, a shared endpoint running
across the month end, notebooks kept to working hours and one left on over a weekend, an instance type
the catalog cannot price and an untagged job. And every kind metered beyond those (`_more_kinds`): a
Studio space with apps (one whose DeleteApp is lost: the sweep closes it), a training job's warm pool,
an endpoint of inference components, a serverless endpoint with provisioned concurrency, a HyperPod
cluster, an MLflow tracking server, and a blue/green deployment to a config with a shadow variant. Then:
duplicates, events delivered out of order, and malformed lines. The same seed always gives the same lines.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sagecost.local import events
from sagecost.local.fake_account import ServerlessHour
from sagecost.models.allocation import AllocationPolicy, ShareSplit
from sagecost.models.budgets import Budget, BudgetPolicy
from sagecost.models.config import KeyRule, Mode, PolicyKind, SagecostConfig, TagPolicy
from sagecost.models.idle import IdleKind, IdlePolicy, WorkingHours

MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Project:
    name: str
    team: str
    cost_center: str
    owner: str

    def tags(self, environment: str = "dev") -> dict[str, str]:
        return {
            "Project": self.name,
            "Team": self.team,
            "CostCenter": self.cost_center,
            "Environment": environment,
            "Owner": self.owner,
        }


PROJECTS = (
    Project("fraud-detection", "risk", "cc-1001", "alice"),
    Project("credit-scoring", "risk", "cc-1001", "bob"),
    Project("recommendations", "growth", "cc-2002", "carol"),
    Project("churn", "growth", "cc-2002", "dan"),
    Project("forecasting", "supply", "cc-3003", "erin"),
)
PLATFORM = Project("ml-platform", "platform", "cc-9000", "platform-team")
TRAINING_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.4xlarge", "ml.g4dn.xlarge", "ml.g5.xlarge")


def _jitter(rng: random.Random, minutes: int) -> timedelta:
    return timedelta(seconds=rng.randint(0, minutes * 60))


def _training(rng: random.Random, project: Project, index: int, start: datetime) -> list[dict[str, Any]]:
    name = f"{project.name}-train-{index:03d}"
    instance_type = rng.choice(TRAINING_TYPES)
    count = rng.choice((1, 1, 1, 2, 4))
    wall = timedelta(minutes=rng.randint(8, 360))
    end = start + wall
    spot = rng.random() < 0.3
    billable = int(wall.total_seconds() * (rng.uniform(0.3, 0.7) if spot else 1))
    tags = project.tags()
    created = start - timedelta(minutes=3)
    status = "Completed" if rng.random() > 0.08 else "Failed"
    in_progress = events.training_job(
        name,
        "InProgress",
        at=created,
        instance_type=instance_type,
        instance_count=count,
        created=created,
        tags=tags,
    )
    terminal = events.training_job(
        name,
        status,
        at=end + timedelta(seconds=40),
        instance_type=instance_type,
        instance_count=count,
        start=start,
        end=end,
        created=created,
        tags=tags,
        time_format=rng.choice(("epoch_ms", "epoch_str")),
        tag_format=rng.choice(("map", "list")),
        # what DescribeTrainingJob would say; the spot jobs carry it in the event, the others do not
        billable_seconds=billable if spot else None,
        training_seconds=int(wall.total_seconds()) if spot else None,
        spot=spot,
    )
    return [in_progress, terminal]


def _processing(rng: random.Random, project: Project, index: int, start: datetime) -> list[dict[str, Any]]:
    name = f"{project.name}-prep-{index:03d}"
    end = start + timedelta(minutes=rng.randint(5, 90))
    job_arn = events.arn("processing-job", name)
    create = events.cloudtrail_create(
        "CreateProcessingJob",
        job_arn,
        {"processingJobName": name, "tags": [{"key": k, "value": v} for k, v in project.tags().items()]},
        at=start - timedelta(minutes=2),
        principal=f"AROAEXAMPLE:{project.owner}",
    )
    done = events.processing_job(
        name,
        "Completed",
        at=end + timedelta(seconds=20),
        instance_type="ml.m5.xlarge",
        instance_count=rng.choice((1, 2)),
        start=start,
        end=end,
    )
    return [create, done]


def _transform(rng: random.Random, project: Project, index: int, start: datetime) -> list[dict[str, Any]]:
    name = f"{project.name}-batch-{index:03d}"
    end = start + timedelta(minutes=rng.randint(10, 120))
    # batch scoring runs next to the data, in us-west-2; its create call names the instances, and (as
    # the schema registry allows) its state event does not: the meter reads DescribeTransformJob
    region = "us-west-2"
    create = events.cloudtrail_create(
        "CreateTransformJob",
        events.arn("transform-job", name, region=region),
        {
            "transformJobName": name,
            "modelName": "model",
            "transformResources": {"instanceType": "ml.m5.xlarge", "instanceCount": 2},
            "tags": [{"key": k, "value": v} for k, v in project.tags().items()],
        },
        at=start - timedelta(minutes=2),
        principal=f"AROAEXAMPLE:{project.owner}",
        region=region,
    )
    done = events.transform_job(
        name,
        "Completed",
        at=end,
        instance_type="ml.m5.xlarge",
        instance_count=2,
        start=start,
        end=end,
        tags=project.tags(),
        region=region,
    )
    del done["detail"]["TransformResources"]
    return [create, done]


def _notebook_days(rng: random.Random, project: Project, left_on_weekend: bool) -> list[dict[str, Any]]:
    name = f"{project.owner}-notebook"
    feed = [
        events.notebook(
            name,
            "Pending",
            at=MONTH_START + timedelta(hours=8),
            instance_type="ml.t3.medium",
            volume_gb=rng.choice((5, 20, 50)),
            tags=project.tags(),
        )
    ]
    day = MONTH_START
    while day < MONTH_END - timedelta(days=1):
        weekday = day.weekday()
        if weekday < 5:
            on = day + timedelta(hours=8) + _jitter(rng, 90)
            off = day + timedelta(hours=17) + _jitter(rng, 120)
            if left_on_weekend and weekday == 4 and day.day > 20:
                off = day + timedelta(days=3, hours=9)  # Friday evening to Monday morning
            feed.append(events.notebook(name, "InService", at=on, instance_type="ml.t3.medium"))
            feed.append(events.notebook(name, "Stopping", at=off, instance_type="ml.t3.medium"))
            feed.append(
                events.notebook(name, "Stopped", at=off + timedelta(minutes=1), instance_type="ml.t3.medium")
            )
        day += timedelta(days=1)
    return feed


def _endpoints() -> list[dict[str, Any]]:
    fraud, recs, churn = PROJECTS[0], PROJECTS[2], PROJECTS[3]
    day = timedelta(days=1)
    feed = [
        # fraud: production, two instances all month, autoscaled to three for a week
        events.endpoint_config(
            "fraud-prod-cfg",
            [("AllTraffic", "ml.m5.xlarge", 2)],
            at=MONTH_START + timedelta(hours=1),
            volume_gb=None,
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "CREATING",
            at=MONTH_START + timedelta(hours=1, minutes=2),
            config_name="fraud-prod-cfg",
            variants=[("AllTraffic", 2)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "IN_SERVICE",
            at=MONTH_START + timedelta(hours=1, minutes=9),
            config_name="fraud-prod-cfg",
            variants=[("AllTraffic", 2)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "UPDATING",
            at=MONTH_START + 12 * day,
            config_name="fraud-prod-cfg",
            variants=[("AllTraffic", 3)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "IN_SERVICE",
            at=MONTH_START + 12 * day + timedelta(minutes=6),
            config_name="fraud-prod-cfg",
            variants=[("AllTraffic", 3)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "UPDATING",
            at=MONTH_START + 19 * day,
            config_name="fraud-prod-cfg",
            variants=[("AllTraffic", 2)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "IN_SERVICE",
            at=MONTH_START + 19 * day + timedelta(minutes=5),
            config_name="fraud-prod-cfg",
            variants=[("AllTraffic", 2)],
            tags=fraud.tags("prod"),
        ),
        # recommendations: a GPU dev endpoint for ten days (variant names missing, as in some events)
        events.endpoint_config(
            "recs-dev-cfg",
            [("gpu", "ml.g5.xlarge", 1)],
            at=MONTH_START + 5 * day,
            volume_gb=None,
            tags=recs.tags(),
        ),
        events.endpoint(
            "recs-dev",
            "IN_SERVICE",
            at=MONTH_START + 5 * day + timedelta(minutes=8),
            config_name="recs-dev-cfg",
            variants=[(None, 1)],
            tags=recs.tags(),
            time_format="iso",
        ),
        events.endpoint(
            "recs-dev",
            "DELETING",
            at=MONTH_START + 15 * day,
            config_name="recs-dev-cfg",
            variants=[(None, 1)],
            tags=recs.tags(),
        ),
        events.endpoint(
            "recs-dev",
            "DELETED",
            at=MONTH_START + 15 * day + timedelta(minutes=3),
            config_name="recs-dev-cfg",
            variants=[],
            tags={},
        ),
        # churn: asynchronous inference
        events.endpoint_config(
            "churn-async-cfg",
            [("AllTraffic", "ml.m5.xlarge", 1)],
            at=MONTH_START + 2 * day,
            asynchronous=True,
            tags=churn.tags(),
        ),
        events.endpoint(
            "churn-async",
            "IN_SERVICE",
            at=MONTH_START + 2 * day + timedelta(minutes=7),
            config_name="churn-async-cfg",
            variants=[("AllTraffic", 1)],
            tags=churn.tags(),
            tag_format="list",
        ),
        events.endpoint(
            "churn-async",
            "DELETING",
            at=MONTH_START + 25 * day,
            config_name="churn-async-cfg",
            variants=[("AllTraffic", 1)],
            tags=churn.tags(),
        ),
        # platform: a shared endpoint from the 20th, still running when the month ends
        events.endpoint_config(
            "platform-shared-cfg",
            [("AllTraffic", "ml.c5.xlarge", 2)],
            at=MONTH_START + 20 * day,
            tags=PLATFORM.tags("prod"),
        ),
        events.endpoint(
            "platform-shared",
            "IN_SERVICE",
            at=MONTH_START + 20 * day + timedelta(minutes=9),
            config_name="platform-shared-cfg",
            variants=[("AllTraffic", 2)],
            tags=PLATFORM.tags("prod"),
        ),
        events.endpoint(
            "platform-shared",
            "UPDATING",
            at=MONTH_END + timedelta(hours=2),
            config_name="platform-shared-cfg",
            variants=[("AllTraffic", 2)],
            tags=PLATFORM.tags("prod"),
        ),
    ]
    return feed


def _tuning_job(project: Project, start: datetime) -> list[dict[str, Any]]:
    """A tagged tuning job whose children are launched without tags: they inherit the tuning job's."""
    tuning_arn = events.arn("hyper-parameter-tuning-job", f"{project.owner}-hpo-01")
    feed = [
        events.cloudtrail_create(
            "CreateHyperParameterTuningJob",
            tuning_arn,
            {
                "hyperParameterTuningJobName": f"{project.owner}-hpo-01",
                "tags": [{"key": k, "value": v} for k, v in project.tags().items()],
            },
            at=start - timedelta(minutes=5),
            principal=f"AROAEXAMPLE:{project.owner}",
        )
    ]
    for child in range(4):
        name, begins = f"{project.owner}-hpo-01-{child:03d}-abc", start + timedelta(hours=child)
        common: dict[str, Any] = {"instance_type": "ml.g4dn.xlarge", "tags": {}, "tuning_job_arn": tuning_arn}
        feed.append(events.training_job(name, "InProgress", at=begins - timedelta(minutes=2), **common))
        feed.append(
            events.training_job(
                name,
                "Completed",
                at=begins + timedelta(minutes=50),
                start=begins,
                end=begins + timedelta(minutes=45),
                **common,
            )
        )
    return feed


def _untagged_experiment(start: datetime) -> list[dict[str, Any]]:
    """A quick GPU experiment someone started with no tags at all: the tag enforcer names its owner."""
    name = "quick-experiment"
    arn = events.arn("training-job", name)
    common: dict[str, Any] = {"instance_type": "ml.g5.xlarge", "instance_count": 2, "tags": {}}
    return [
        events.cloudtrail_create(
            "CreateTrainingJob",
            arn,
            {"trainingJobName": name},
            at=start - timedelta(minutes=3),
            principal="AROAEXAMPLE:erin",
        ),
        events.training_job(name, "InProgress", at=start - timedelta(minutes=2), **common),
        events.training_job(
            name,
            "Completed",
            at=start + timedelta(hours=1),
            start=start,
            end=start + timedelta(hours=1),
            billable_seconds=3600,
            **common,
        ),
    ]


DOMAIN = "d-demo00000001"
STUDIO_SPACE = "churn-space"
LOST_DELETE_APP = MONTH_START + timedelta(days=9, hours=18)
"""When the `churn-gpu` app was really deleted: its DeleteApp never reaches EventBridge (`lost_events`)."""


def _studio() -> list[dict[str, Any]]:
    """Churn's shared space (50 GB, tagged at creation; its apps carry its tags): JupyterLab on
    ml.t3.medium 09:00-17:00 on four days, Code Editor on ml.g5.xlarge for 4 hours, a JupyterLab on
    ml.g5.xlarge whose DeleteApp is lost (deleted 18:00, closed by the 19:00 sweep), and a user
    profile's Studio Classic JupyterServer on `system`, which bills nothing."""
    churn, day = PROJECTS[3], timedelta(days=1)
    feed = [
        events.studio_space(
            "CreateSpace",
            DOMAIN,
            STUDIO_SPACE,
            at=MONTH_START + 2 * day + timedelta(hours=8),
            volume_gb=50,
            tags=churn.tags(),
            principal="AROAEXAMPLE:dan",
        ),
        events.studio_app(
            "CreateApp",
            DOMAIN,
            "carol",
            "JupyterServer",
            "default",
            at=MONTH_START + day + timedelta(hours=9),
            instance_type="system",
            in_space=False,
            principal="AROAEXAMPLE:carol",
        ),
    ]
    for start in (2, 3, 6, 7):
        opened = MONTH_START + start * day + timedelta(hours=9)
        common: dict[str, Any] = {"principal": "AROAEXAMPLE:dan"}
        feed += [
            events.studio_app(
                "CreateApp",
                DOMAIN,
                STUDIO_SPACE,
                "JupyterLab",
                "default",
                at=opened,
                instance_type="ml.t3.medium",
                **common,
            ),
            events.studio_app(
                "DeleteApp",
                DOMAIN,
                STUDIO_SPACE,
                "JupyterLab",
                "default",
                at=opened + timedelta(hours=8),
                **common,
            ),
        ]
    coding = MONTH_START + 5 * day + timedelta(hours=10)
    feed += [
        events.studio_app(
            "CreateApp",
            DOMAIN,
            STUDIO_SPACE,
            "CodeEditor",
            "default",
            at=coding,
            instance_type="ml.g5.xlarge",
            principal="AROAEXAMPLE:dan",
        ),
        events.studio_app(
            "DeleteApp",
            DOMAIN,
            STUDIO_SPACE,
            "CodeEditor",
            "default",
            at=coding + timedelta(hours=4),
            principal="AROAEXAMPLE:dan",
        ),
        events.studio_app(
            "CreateApp",
            DOMAIN,
            STUDIO_SPACE,
            "JupyterLab",
            "churn-gpu",
            at=LOST_DELETE_APP - timedelta(hours=9),
            instance_type="ml.g5.xlarge",
            principal="AROAEXAMPLE:dan",
        ),
    ]
    return feed


def lost_events() -> list[dict[str, Any]]:
    """What happened in the account but never reached EventBridge: the `churn-gpu` app's DeleteApp."""
    return [
        events.studio_app(
            "DeleteApp",
            DOMAIN,
            STUDIO_SPACE,
            "JupyterLab",
            "churn-gpu",
            at=LOST_DELETE_APP,
            principal="AROAEXAMPLE:dan",
        )
    ]


def _warm_pool() -> list[dict[str, Any]]:
    """Fraud's tuning loop keeps its instances warm: 2 x ml.m5.xlarge for 2 hours, then a 30-minute
    warm pool nobody reuses (Terminated, 1,800 s retained: 1 instance-hour)."""
    fraud, start = PROJECTS[0], MONTH_START + timedelta(days=11, hours=9)
    common: dict[str, Any] = {
        "instance_type": "ml.m5.xlarge",
        "instance_count": 2,
        "tags": fraud.tags(),
        "keep_alive_seconds": 1800,
        "created": start - timedelta(minutes=3),
    }
    return [
        events.training_job("fraud-warm-001", "InProgress", at=start - timedelta(minutes=3), **common),
        events.training_job(
            "fraud-warm-001",
            "Completed",
            at=start + timedelta(hours=2, seconds=30),
            start=start,
            end=start + timedelta(hours=2),
            billable_seconds=7200,
            **common,
        ),
    ]


IC_ENDPOINT = "recs-llm"
IC_RANKER, IC_RERANKER = "recs-ranker-ic", "recs-rerank-ic"


def _inference_components() -> list[dict[str, Any]]:
    """An ml.g5.12xlarge endpoint (4 GPUs) for two days, for inference components: recommendations'
    ranker reserves 1 accelerator the whole time, churn's re-ranker 3 for its first day."""
    recs, churn = PROJECTS[2], PROJECTS[3]
    day, start = timedelta(days=1), MONTH_START + timedelta(days=7, hours=10)
    variants = [("AllTraffic", 1)]
    common: dict[str, Any] = {"config_name": "recs-llm-cfg", "variants": variants, "tags": recs.tags("prod")}
    return [
        events.endpoint_config(
            "recs-llm-cfg",
            [("AllTraffic", "ml.g5.12xlarge", 1)],
            at=start - timedelta(minutes=5),
            with_model=False,
            tags=recs.tags("prod"),
        ),
        events.endpoint(IC_ENDPOINT, "CREATING", at=start, **common),
        events.endpoint(IC_ENDPOINT, "IN_SERVICE", at=start + timedelta(minutes=8), **common),
        events.inference_component_call(
            "CreateInferenceComponent",
            IC_RANKER,
            at=start + timedelta(minutes=20),
            endpoint_name=IC_ENDPOINT,
            accelerators=1,
            tags=recs.tags("prod"),
            principal="AROAEXAMPLE:carol",
        ),
        events.inference_component_call(
            "CreateInferenceComponent",
            IC_RERANKER,
            at=start + timedelta(minutes=30),
            endpoint_name=IC_ENDPOINT,
            accelerators=3,
            tags=churn.tags("prod"),
            principal="AROAEXAMPLE:dan",
        ),
        events.inference_component_call(
            "DeleteInferenceComponent",
            IC_RERANKER,
            at=start + day + timedelta(minutes=30),
            principal="AROAEXAMPLE:dan",
        ),
        events.endpoint(IC_ENDPOINT, "DELETING", at=start + 2 * day, **common),
        events.endpoint(
            IC_ENDPOINT,
            "DELETED",
            at=start + 2 * day + timedelta(minutes=4),
            config_name="recs-llm-cfg",
            variants=[],
            tags={},
        ),
    ]


SERVERLESS_ENDPOINT = "churn-serverless"
SERVERLESS_TRAFFIC = {
    SERVERLESS_ENDPOINT: ServerlessHour(
        invocations=Decimal(3600),
        provisioned_invocations=Decimal(3000),
        latency_microseconds=Decimal(250_000),
    )
}
"""The serverless endpoint's CloudWatch figures each hour in service: 600 on-demand invocations of 0.25 s
(150 concurrency-seconds an hour)."""


def _serverless() -> list[dict[str, Any]]:
    """Churn's serverless endpoint (4 GB, provisioned concurrency 2) for ten days."""
    churn, start = PROJECTS[3], MONTH_START + timedelta(days=3, hours=9)
    common: dict[str, Any] = {"config_name": "churn-serverless-cfg", "variants": [], "tags": churn.tags()}
    return [
        events.endpoint_config(
            "churn-serverless-cfg",
            [],
            at=start - timedelta(minutes=5),
            serverless_variants=["AllTraffic"],
            serverless_memory_mb=4096,
            provisioned_concurrency=2,
            tags=churn.tags(),
        ),
        events.endpoint(SERVERLESS_ENDPOINT, "CREATING", at=start, **common),
        events.endpoint(SERVERLESS_ENDPOINT, "IN_SERVICE", at=start + timedelta(minutes=5), **common),
        events.endpoint(SERVERLESS_ENDPOINT, "DELETING", at=start + timedelta(days=10, minutes=5), **common),
        events.endpoint(
            SERVERLESS_ENDPOINT,
            "DELETED",
            at=start + timedelta(days=10, minutes=7),
            config_name="churn-serverless-cfg",
            variants=[],
            tags={},
        ),
    ]


def _hyperpod() -> list[dict[str, Any]]:
    """Forecasting's HyperPod cluster (tagged at CreateCluster): 2 x ml.g5.2xlarge workers and an
    ml.m5.xlarge controller from day 11 08:30, scaled to 4 workers on day 13 08:30, deleted day 15 08:30."""
    forecasting, created = PROJECTS[4], MONTH_START + timedelta(days=10, hours=8)
    cluster_id, name = "hp0forecast01", "forecast-hp"
    cluster_arn = f"arn:aws:sagemaker:{events.DEFAULT_REGION}:{events.DEFAULT_ACCOUNT}:cluster/{cluster_id}"

    def state(status: str, at: datetime, workers: int) -> dict[str, Any]:
        groups = [("workers", "ml.g5.2xlarge", workers), ("controller", "ml.m5.xlarge", 1)]
        return events.hyperpod_cluster(cluster_id, name, status, at=at, created=created, groups=groups)

    return [
        events.cloudtrail_call(
            "CreateCluster",
            {"clusterName": name, "tags": [{"key": k, "value": v} for k, v in forecasting.tags().items()]},
            at=created,
            response_elements={"clusterArn": cluster_arn},
            principal="AROAEXAMPLE:erin",
        ),
        state("InService", created + timedelta(minutes=30), 2),
        state("Updating", created + timedelta(days=2, minutes=30), 2),
        state("InService", created + timedelta(days=2, minutes=45), 4),
        state("Deleting", created + timedelta(days=4, minutes=30), 0),
    ]


def _mlflow() -> list[dict[str, Any]]:
    """The platform team's Small MLflow tracking server, day 2 09:00 to day 22 09:00 (480 hours)."""
    start = MONTH_START + timedelta(days=1, hours=9)
    return [
        events.mlflow_call(
            "CreateMlflowTrackingServer",
            "platform-mlflow",
            at=start,
            size="Small",
            tags=PLATFORM.tags("prod"),
            principal="AROAEXAMPLE:platform-team",
        ),
        events.mlflow_call(
            "DeleteMlflowTrackingServer",
            "platform-mlflow",
            at=start + timedelta(days=20),
            principal="AROAEXAMPLE:platform-team",
        ),
    ]


def _blue_green() -> list[dict[str, Any]]:
    """Fraud's production endpoint moves to a new config on day 27 by a blue/green deployment (the new
    fleet of 2 x ml.m5.xlarge runs beside the old one from 10:08 to 10:40) that adds a shadow variant
    (1 x ml.m5.large) for the rest of the month."""
    fraud, at = PROJECTS[0], MONTH_START + timedelta(days=26, hours=10)
    old, new = "fraud-prod-cfg", "fraud-prod-cfg-2"
    return [
        events.endpoint_config(
            new,
            [("AllTraffic", "ml.m5.xlarge", 2)],
            at=at - timedelta(minutes=5),
            shadow_variants=[("shadow", "ml.m5.large", 1)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint(
            "fraud-prod",
            "UPDATING",
            at=at,
            config_name=old,
            variants=[("AllTraffic", 2)],
            tags=fraud.tags("prod"),
        ),
        events.endpoint_deployment(
            "fraud-prod",
            at=at,
            config_name=old,
            pending_config_name=new,
            variants=[("AllTraffic", 2)],
            pending_variants=[("AllTraffic", 2, 2)],
            stage_start=at + timedelta(minutes=8),
        ),
        events.endpoint(
            "fraud-prod",
            "IN_SERVICE",
            at=at + timedelta(minutes=40),
            config_name=new,
            variants=[("AllTraffic", 2)],
            tags=fraud.tags("prod"),
        ),
    ]


def _more_kinds() -> list[dict[str, Any]]:
    return [
        *_studio(),
        *_warm_pool(),
        *_inference_components(),
        *_serverless(),
        *_hyperpod(),
        *_mlflow(),
        *_blue_green(),
    ]


DEMO_CONFIG = SagecostConfig(
    tags=TagPolicy(
        project=KeyRule(key="Project", default="unassigned"),
        cost_center=KeyRule(key="CostCenter", aliases=("cost-centre",), default="cc-0000"),
        environment=KeyRule(
            key="Environment", allowed=("dev", "test", "staging", "prod"), case="lower", default="dev"
        ),
        modes={
            PolicyKind.TRAINING_JOB: Mode.TAG,
            PolicyKind.TUNING_JOB: Mode.TAG,
            PolicyKind.PROCESSING_JOB: Mode.TAG,
            PolicyKind.ENDPOINT: Mode.TAG,
        },
    ),
    budgets=BudgetPolicy(
        limits=(
            Budget(project="recommendations", monthly=Decimal(400), audience="growth-team"),
            Budget(
                project="churn",
                monthly=Decimal(300),
                forecast_thresholds=(Decimal(90), Decimal(100)),
                daily_burn_limit=Decimal(5),
                audience="growth-team",
            ),
            Budget(project="forecasting", monthly=Decimal(120), audience="supply-team"),
            Budget(team="risk", monthly=Decimal(600), thresholds=(Decimal(80), Decimal(100))),
        )
    ),
    idle=IdlePolicy(
        enforce=True,
        kinds=(IdleKind.ENDPOINT, IdleKind.NOTEBOOK),
        working_hours=WorkingHours(timezone="Europe/Berlin", start=time(7, 0), end=time(22, 0)),
    ),
    allocation=AllocationPolicy(
        shared_projects=(PLATFORM.name,),
        split=ShareSplit.WEIGHTED,
        environment_multipliers={"prod": Decimal(2)},
    ),
)
"""The demo's policy: tag jobs and endpoints, report the rest (notebooks, models, configs). The platform
team's shared endpoint is split over the projects by their direct cost, production usage weighing double."""

BUSY_ENDPOINTS = frozenset(
    {"fraud-prod", "recs-dev", "platform-shared", IC_ENDPOINT, IC_RANKER, IC_RERANKER, SERVERLESS_ENDPOINT}
)
"""The demo's endpoints that serve traffic (events carry no metrics): churn's async endpoint sits idle."""


def demo_events(seed: int = 7) -> list[dict[str, Any]]:
    """Every event of the demo month, in the order they happened."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible scenario, not cryptography
    feed: list[dict[str, Any]] = []
    for project in PROJECTS:
        for index in range(rng.randint(8, 12)):
            feed += _training(rng, project, index, MONTH_START + timedelta(days=rng.uniform(0, 30)))
        for index in range(rng.randint(4, 7)):
            feed += _processing(rng, project, index, MONTH_START + timedelta(days=rng.uniform(0, 30)))
        for index in range(rng.randint(1, 3)):
            feed += _transform(rng, project, index, MONTH_START + timedelta(days=rng.uniform(0, 30)))
    # a tuning job's children, a heterogeneous cluster, an unpriceable type, an untagged job
    feed += _tuning_job(PROJECTS[2], MONTH_START + timedelta(days=9))
    start = MONTH_START + timedelta(days=14, hours=3)
    feed.append(
        events.training_job(
            "forecasting-hetero-001",
            "Completed",
            at=start + timedelta(hours=2),
            instance_type="ml.g5.xlarge",
            start=start,
            end=start + timedelta(hours=2),
            tags=PROJECTS[4].tags(),
            billable_seconds=7200,
            instance_groups=[("gpu", "ml.g5.xlarge", 2), ("cpu", "ml.m5.xlarge", 2)],
        )
    )
    start = MONTH_START + timedelta(days=16, hours=10)
    feed.append(
        events.training_job(
            "churn-trial-r7i",
            "Completed",
            at=start + timedelta(hours=3),
            instance_type="ml.r7i.8xlarge",
            start=start,
            end=start + timedelta(hours=3),
            tags=PROJECTS[3].tags(),
            billable_seconds=10800,
        )
    )
    feed += _untagged_experiment(MONTH_START + timedelta(days=21, hours=15))
    for index, project in enumerate(PROJECTS):
        feed += _notebook_days(rng, project, left_on_weekend=index == 1)
    feed += _endpoints()
    feed += _more_kinds()
    return sorted(feed, key=lambda e: (e["time"], e["id"]))


MALFORMED_LINES = (
    "this is not json",
    '["an", "array"]',
    # an event that says it is a training job but lacks what one is
    '{"version": "0", "id": "no-detail", "detail-type": "SageMaker Training Job State Change", '
    '"source": "aws.sagemaker", "time": "{time}", "region": "us-east-1", "resources": [], '
    '"detail": {"TrainingJobStatus": "Completed"}}',
    # another service's event: no rule routes it
    '{"version": "0", "id": "ec2", "detail-type": "EC2 Instance State-change Notification", '
    '"source": "aws.ec2", "time": "{time}", "region": "us-east-1", "resources": [], '
    '"detail": {"state": "running"}}',
    '{"detail-type": "SageMaker Endpoint State Change", "source": "aws.sagemaker", "time": "yesterday"}',
)
"""Garbage that real pipelines see; `{time}` takes the time of the line it is delivered after."""


def messy_lines(feed: list[dict[str, Any]], seed: int = 7) -> list[str]:
    """The feed as EventBridge delivers it: ~6 % duplicated, ~5 % a few minutes late, and some garbage."""
    rng = random.Random(seed + 1)  # noqa: S311
    lines = [json.dumps(event, separators=(",", ":")) for event in feed]
    delivered: list[str] = []
    for line in lines:
        delivered.append(line)
        if rng.random() < 0.06:
            delivered.append(line)
    for index in range(len(delivered) - 1):
        if rng.random() < 0.05:
            delivered[index], delivered[index + 1] = delivered[index + 1], delivered[index]
    positions = sorted(rng.sample(range(1, len(delivered)), len(MALFORMED_LINES)), reverse=True)
    for position, garbage in zip(positions, MALFORMED_LINES, strict=True):
        neighbour_time = json.loads(delivered[position - 1])["time"]
        delivered.insert(position, garbage.replace("{time}", neighbour_time))
    return delivered
