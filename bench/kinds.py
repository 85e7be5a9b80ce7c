"""Requests per event and per sweep for the kinds issue 12 added (see bench/README.md, section 10).

Kinds: Studio apps and spaces, inference components, MLflow tracking servers, HyperPod clusters, blue/green
deployments, serverless endpoints (provisioned concurrency on endpoint events; on-demand estimates in the
sweep) and training warm pools (sweep only). moto has none of their SageMaker APIs, so the reads go to the
local fakes (`sagecost.local.fake_*`), each behind a `CountingClient` that counts one request per direct
call and one per page a paginator yields (what boto3 would send); `FakeSageMaker` (the SageMaker reader)
counts its own reads, its listings corrected to pages of 100 (`PagedFakeSageMaker`); CloudWatch is
`FakeHourlyMetrics` (one GetMetricData per 500 series). DynamoDB is moto's, counted by the botocore
`RequestCounter` of section 1. The meter is built by `wiring.usage_meter` over `LocalAdapters`, so the
kind meters are the ones a deployed function registers.
"""

from __future__ import annotations

import copy
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bench import (
    DUPLICATE,
    REPO,
    SWEEP_PAGE,
    TAGS,
    KindResult,
    RequestCounter,
    moto_ledger,
)

if TYPE_CHECKING:
    from sagecost.local.fake_hyperpod import FakeHyperPodClient
    from sagecost.local.fake_inference_components import FakeInferenceComponentsClient
    from sagecost.local.fake_metrics import FakeHourlyMetrics
    from sagecost.local.fake_mlflow import FakeMlflowClient
    from sagecost.local.fake_studio import FakeStudioClient
    from sagecost.services.usage import UsageMeter

FIXTURES = REPO / "tests" / "fixtures" / "kinds"
ACCOUNT = "111122223333"
"""The fixtures' account (the fakes' resources are addressed in it)."""
REGION = "us-east-1"
DOMAIN = "d-a1b2c3d4e5f6"
T1 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
SWEEP_N = 1000


# --- counting the fakes' requests ------------------------------------------------------------------


def operation_name(method: str) -> str:
    """`list_inference_components` -> `ListInferenceComponents` (botocore's operation name)."""
    return "".join(part.title() for part in method.split("_"))


class _CountingPaginator:
    def __init__(self, paginator: Any, counts: Counter[tuple[str, str]], operation: str) -> None:
        self._paginator = paginator
        self._counts = counts
        self._operation = operation

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self._paginator.paginate(**kwargs):
            self._counts[("sagemaker", self._operation)] += 1  # one request per page
            yield page


class CountingClient:
    """A fake SageMaker client seen through boto3's eyes: one request per call, one per page paginated.

    The fakes' own `calls` are not used: the Studio fake counts a listing once however many pages it has.
    Their paginators call the fake itself, not this proxy, so nothing is counted twice."""

    def __init__(self, fake: Any, counts: Counter[tuple[str, str]]) -> None:
        self._fake = fake
        self._counts = counts

    def get_paginator(self, operation: str) -> _CountingPaginator:
        return _CountingPaginator(
            self._fake.get_paginator(operation), self._counts, operation_name(operation)
        )

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._fake, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counts[("sagemaker", operation_name(name))] += 1
            return attribute(*args, **kwargs)

        return counted


def _paged_fake_sagemaker() -> Any:
    from sagecost.adapters.sagemaker import EndpointSummary, NotebookSummary
    from sagecost.domain.kinds.warm_pool import FINAL_STATUSES, WarmPool
    from sagecost.local.fake_sagemaker import FakeSageMaker

    def pages(n: int) -> int:
        return max(1, math.ceil(n / SWEEP_PAGE))

    class PagedFakeSageMaker(FakeSageMaker):
        """FakeSageMaker whose listings count one request per page of 100, as Boto3SageMaker's do."""

        def endpoints(self) -> list[EndpointSummary]:
            listed = super().endpoints()
            self.calls["ListEndpoints"] += pages(len(self.known_endpoints)) - 1
            return listed

        def notebooks(self) -> list[NotebookSummary]:
            listed = super().notebooks()
            self.calls["ListNotebookInstances"] += pages(len(self.known_notebooks)) - 1
            return listed

        def ended_warm_pools(self, since: datetime) -> list[WarmPool]:
            pools = super().ended_warm_pools(since)
            for status in FINAL_STATUSES:
                self.calls["ListTrainingJobs"] += pages(sum(1 for p in pools if p.status == status)) - 1
            return pools

    return PagedFakeSageMaker()


@dataclass
class KindsWorld:
    """The meter of every kind, over moto's DynamoDB and the fakes, and everything that counts requests."""

    meter: UsageMeter
    counter: RequestCounter
    fake_counts: Counter[tuple[str, str]]
    sagemaker: Any
    studio: FakeStudioClient
    components: FakeInferenceComponentsClient
    mlflow: FakeMlflowClient
    hyperpod: FakeHyperPodClient
    metrics: FakeHourlyMetrics

    def snapshot(self) -> Counter[tuple[str, str]]:
        counts = self.counter.snapshot() + self.fake_counts
        counts.update({("sagemaker", op): n for op, n in self.sagemaker.calls.items() if n})
        if self.metrics.requests:
            counts[("monitoring", "GetMetricData")] += self.metrics.requests
        return counts

    def since(self, before: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
        return self.snapshot() - before

    def deliver(self, raw: dict[str, Any]) -> str:
        from sagecost.models.events import parse_event

        self.sagemaker.observe(raw)
        return str(self.meter.record(parse_event(raw)).outcome)


@contextmanager
def kinds_world() -> Iterator[KindsWorld]:
    """moto's ledger (section 1's) and a meter with every kind, wired as `wiring.usage_meter` wires it."""
    from sagecost import wiring
    from sagecost.adapters.hyperpod import Boto3HyperPodClusters
    from sagecost.adapters.mlflow import Boto3MlflowServers
    from sagecost.adapters.prices import load_catalog
    from sagecost.adapters.sagemaker import Boto3SageMaker
    from sagecost.adapters.studio import Boto3StudioApps
    from sagecost.domain.pricing import PriceBook
    from sagecost.local.fake_hyperpod import FakeHyperPodClient
    from sagecost.local.fake_inference_components import FakeInferenceComponentsClient
    from sagecost.local.fake_metrics import FakeHourlyMetrics
    from sagecost.local.fake_mlflow import FakeMlflowClient
    from sagecost.local.fake_studio import FakeStudioClient

    with moto_ledger() as moto:
        counts: Counter[tuple[str, str]] = Counter()
        sagemaker = _paged_fake_sagemaker()
        studio, components = FakeStudioClient(), FakeInferenceComponentsClient()
        mlflow, hyperpod, metrics = FakeMlflowClient(), FakeHyperPodClient(), FakeHourlyMetrics()
        adapters = wiring.LocalAdapters(
            ledger=moto.ledger,
            prices_value=PriceBook(load_catalog()),
            sagemaker_value=sagemaker,
            studio=Boto3StudioApps(CountingClient(studio, counts)),
            serverless_metrics=metrics,
            inference_components=Boto3SageMaker(CountingClient(components, counts)),  # type: ignore[arg-type]
            mlflow=Boto3MlflowServers(CountingClient(mlflow, counts)),
            hyperpod=Boto3HyperPodClusters(CountingClient(hyperpod, counts)),
        )
        yield KindsWorld(
            meter=wiring.usage_meter(adapters),
            counter=moto.counter,
            fake_counts=counts,
            sagemaker=sagemaker,
            studio=studio,
            components=components,
            mlflow=mlflow,
            hyperpod=hyperpod,
            metrics=metrics,
        )


# --- the events, from tests/fixtures/kinds --------------------------------------------------------


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def _ids(raw: dict[str, Any], key: str) -> dict[str, Any]:
    raw["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-kinds-{key}"))
    if "eventID" in raw["detail"]:
        raw["detail"]["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-kinds-detail-{key}"))
    return raw


def cloudtrail(
    name: str, at: datetime, key: str, event_name: str | None = None, **request: Any
) -> dict[str, Any]:
    """A CloudTrail fixture at `at`, its request members updated (`request`), its ids unique to `key`."""
    raw = copy.deepcopy(fixture(name))
    raw["time"] = raw["detail"]["eventTime"] = iso(at)
    if event_name is not None:
        raw["detail"]["eventName"] = event_name
    raw["detail"]["requestParameters"].update(request)
    return _ids(raw, key)


def space_arn(space: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:space/{DOMAIN}/{space}"


def profile_arn(profile: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/{DOMAIN}/{profile}"


def mlflow_call(call: str, name: str, at: datetime, **request: Any) -> dict[str, Any]:
    base = "Create" if call in ("Create", "Update") else "Delete"
    raw = cloudtrail(f"cloudtrail-{base}MlflowTrackingServer.json", at, f"mlflow-{call}-{name}-{at}")
    detail = raw["detail"]
    detail["eventName"] = f"{call}MlflowTrackingServer"
    if call != "Create":
        detail["requestParameters"] = {"trackingServerName": name}
    detail["requestParameters"].update(trackingServerName=name, **request)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/{name}"
    detail["responseElements"] = {"trackingServerArn": arn}
    return raw


def cluster_event(cluster_id: str, at: datetime, status: str, workers: int) -> dict[str, Any]:
    raw = copy.deepcopy(fixture("hyperpod-cluster-state-change.json"))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:cluster/{cluster_id}"
    raw["time"] = iso(at)
    raw["resources"] = [arn]
    detail = raw["detail"]
    detail.update(ClusterArn=arn, ClusterName=f"bench-{cluster_id}", ClusterStatus=status)
    detail["InstanceGroups"][0]["CurrentCount"] = workers
    return _ids(raw, f"cluster-{cluster_id}-{status}-{at}")


def deployment_event(endpoint: str, current: int, stage: str, at: datetime) -> dict[str, Any]:
    """The AWS sample, re-addressed: `endpoint` from cfg-blue-<endpoint> to cfg-green-<endpoint>."""
    from sagecost.local import events

    raw = copy.deepcopy(fixture("endpoint-deployment-state-change.json"))
    arn = events.arn("endpoint", endpoint)
    detail = raw["detail"]
    raw.update(time=iso(at), resources=[arn])
    detail.update(EndpointName=endpoint, EndpointArn=arn, EndpointConfigName=f"cfg-blue-{endpoint}")
    detail.update(CreationTime=epoch_ms(T1 - timedelta(hours=2)), LastModifiedTime=epoch_ms(at))
    pending = detail["PendingDeploymentSummary"]
    pending.update(EndpointConfigName=f"cfg-green-{endpoint}", StartTime=epoch_ms(T1 + timedelta(hours=1)))
    (variant,) = pending["ProductionVariants"]
    variant["CurrentInstanceCount"] = current
    variant["VariantStatus"] = [{"Status": stage, "StartTime": epoch_ms(at)}]
    return _ids(raw, f"deployment-{endpoint}-{stage}")


def serverless_config(name: str, *, provisioned: int | None, at: datetime) -> dict[str, Any]:
    from sagecost.local import events

    raw = events.endpoint_config(name, [], at=at, serverless_variants=["AllTraffic"])
    settings: dict[str, Any] = {"MemorySizeInMB": 4096, "MaxConcurrency": 20}
    if provisioned:
        settings["ProvisionedConcurrency"] = provisioned
    raw["detail"]["ProductionVariants"][0]["ServerlessConfig"] = settings
    return raw


def hosting_config(config: str, at: datetime) -> dict[str, Any]:
    """An endpoint config whose variant hosts inference components (no ModelName), ml.g5.12xlarge x1."""
    from sagecost.local import events

    raw = events.endpoint_config(config, [("AllTraffic", "ml.g5.12xlarge", 1)], at=at)
    del raw["detail"]["ProductionVariants"][0]["ModelName"]
    return raw


def hosting_endpoint(endpoint: str, config: str, at: datetime) -> dict[str, Any]:
    """The endpoint of `hosting_config`, in service (1 instance)."""
    from sagecost.local import events

    return events.endpoint(
        endpoint,
        "IN_SERVICE",
        at=at,
        config_name=config,
        variants=[("AllTraffic", 1)],
        tags=TAGS,
        account=ACCOUNT,
    )


# --- 1. requests per event ------------------------------------------------------------------------

KIND_ROWS = (
    "Studio space CreateSpace",
    "Studio app CreateApp in a space (its tags from the space's timeline)",
    "Studio app CreateApp of a user profile (its tags from the next sweep)",
    "Studio app DeleteApp",
    "Studio space DeleteSpace",
    "inference component CreateInferenceComponent",
    "inference component UpdateInferenceComponent",
    "inference component UpdateInferenceComponentRuntimeConfig",
    "inference component DeleteInferenceComponent",
    "MLflow CreateMlflowTrackingServer (size in the call)",
    "MLflow UpdateMlflowTrackingServer",
    "MLflow StopMlflowTrackingServer",
    "MLflow StartMlflowTrackingServer (size in the ledger)",
    "MLflow DeleteMlflowTrackingServer",
    "MLflow StartMlflowTrackingServer, server never seen (size from the next sweep)",
    "HyperPod InService, first event (tags from the next sweep)",
    "HyperPod Updating, count change",
    "HyperPod Deleting",
    "blue/green deployment, canary fleet (Baking)",
    "blue/green deployment, full new fleet (ActivatingTraffic)",
    "serverless provisioned endpoint CREATING",
    "serverless provisioned endpoint IN_SERVICE",
    "serverless provisioned endpoint DELETED",
)
SWEEP_ONLY = "training warm pools: no event (sweep only: ListTrainingJobs WarmPoolStatusEquals)"

Step = tuple[str | None, dict[str, Any]]
"""(row, raw event); row None: setup (an event of a built-in kind the measured one needs), not counted."""


def _twice(row: str, raw: dict[str, Any]) -> list[Step]:
    return [(row, raw), (row + DUPLICATE, raw)]


def _studio_steps(world: KindsWorld, i: int, at: datetime) -> list[Step]:
    from sagecost.local.fake_studio import FakeSpace

    space, profile = f"bench-space-{i}", f"bench-user-{i}"
    world.studio.spaces.append(FakeSpace(DOMAIN, space, at, volume_gb=50, tags=TAGS, account=ACCOUNT))
    world.sagemaker.resource_tags[space_arn(space)] = dict(TAGS)
    world.sagemaker.resource_tags[profile_arn(profile)] = dict(TAGS)
    tags = [{"key": k, "value": v} for k, v in TAGS.items()]
    create_space = cloudtrail("cloudtrail-CreateSpace.json", at, f"cs-{i}", spaceName=space, tags=tags)
    create_space["detail"]["responseElements"] = {"spaceArn": space_arn(space)}
    delete_space = cloudtrail(
        "cloudtrail-CreateSpace.json", at + timedelta(hours=6), f"ds-{i}", "DeleteSpace"
    )
    delete_space["detail"]["requestParameters"] = {"domainId": DOMAIN, "spaceName": space}
    delete_space["detail"]["responseElements"] = None
    app = cloudtrail("cloudtrail-CreateApp-space.json", at + timedelta(hours=1), f"ca-{i}", spaceName=space)
    app["detail"]["responseElements"] = None
    profile_app = cloudtrail(
        "cloudtrail-CreateApp-userprofile.json", at + timedelta(hours=1), f"cu-{i}", userProfileName=profile
    )
    profile_app["detail"]["responseElements"] = None
    delete_app = cloudtrail(
        "cloudtrail-DeleteApp-space.json", at + timedelta(hours=4), f"da-{i}", spaceName=space
    )
    return [
        *_twice(KIND_ROWS[0], create_space),
        *_twice(KIND_ROWS[1], app),
        *_twice(KIND_ROWS[2], profile_app),
        *_twice(KIND_ROWS[3], delete_app),
        *_twice(KIND_ROWS[4], delete_space),
    ]


def _component_steps(i: int, at: datetime) -> list[Step]:
    endpoint, config, name = f"bench-llm-ep-{i}", f"bench-llm-cfg-{i}", f"bench-ic-{i}"
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}"
    create = cloudtrail(
        "cloudtrail-CreateInferenceComponent.json",
        at + timedelta(hours=1),
        f"ic-create-{i}",
        inferenceComponentName=name,
        endpointName=endpoint,
    )
    create["detail"]["responseElements"] = {"inferenceComponentArn": arn}
    spec = copy.deepcopy(create["detail"]["requestParameters"]["specification"])
    spec["computeResourceRequirements"]["numberOfAcceleratorDevicesRequired"] = 2.0
    update = cloudtrail(
        "cloudtrail-UpdateInferenceComponentRuntimeConfig.json",
        at + timedelta(hours=2),
        f"ic-update-{i}",
        "UpdateInferenceComponent",
    )
    update["detail"]["requestParameters"] = {"inferenceComponentName": name, "specification": spec}
    update["detail"]["responseElements"] = {"inferenceComponentArn": arn}
    scale = cloudtrail(
        "cloudtrail-UpdateInferenceComponentRuntimeConfig.json",
        at + timedelta(hours=3),
        f"ic-scale-{i}",
        inferenceComponentName=name,
    )
    scale["detail"]["responseElements"] = {"inferenceComponentArn": arn}
    delete = cloudtrail(
        "cloudtrail-DeleteInferenceComponent.json",
        at + timedelta(hours=4),
        f"ic-del-{i}",
        inferenceComponentName=name,
    )
    return [
        (None, hosting_config(config, at - timedelta(hours=1))),
        (None, hosting_endpoint(endpoint, config, at)),
        *_twice(KIND_ROWS[5], create),
        *_twice(KIND_ROWS[6], update),
        *_twice(KIND_ROWS[7], scale),
        *_twice(KIND_ROWS[8], delete),
    ]


def _mlflow_steps(world: KindsWorld, i: int, at: datetime) -> list[Step]:
    from sagecost.local.fake_mlflow import FakeTrackingServer

    name, unseen = f"bench-mlflow-{i}", f"bench-mlflow-unseen-{i}"
    world.mlflow.servers.append(
        FakeTrackingServer(unseen, created=at - timedelta(days=30), size="Large", account=ACCOUNT)
    )
    return [
        *_twice(KIND_ROWS[9], mlflow_call("Create", name, at)),
        *_twice(
            KIND_ROWS[10], mlflow_call("Update", name, at + timedelta(hours=2), trackingServerSize="Medium")
        ),
        *_twice(KIND_ROWS[11], mlflow_call("Stop", name, at + timedelta(hours=4))),
        *_twice(KIND_ROWS[12], mlflow_call("Start", name, at + timedelta(hours=6))),
        *_twice(KIND_ROWS[13], mlflow_call("Delete", name, at + timedelta(hours=8))),
        *_twice(KIND_ROWS[14], mlflow_call("Start", unseen, at + timedelta(hours=1))),
    ]


def _hyperpod_steps(world: KindsWorld, i: int, at: datetime) -> list[Step]:
    from sagecost.local.fake_hyperpod import FakeCluster, FakeInstanceGroup

    cluster_id = f"bench{i:07d}"
    world.hyperpod.clusters.append(
        FakeCluster(
            cluster_id,
            f"bench-{cluster_id}",
            created=at,
            groups=[FakeInstanceGroup("worker-group-1", "ml.g5.12xlarge", 2)],
            tags=dict(TAGS),
            account=ACCOUNT,
        )
    )
    return [
        *_twice(KIND_ROWS[15], cluster_event(cluster_id, at, "InService", 2)),
        *_twice(KIND_ROWS[16], cluster_event(cluster_id, at + timedelta(hours=2), "Updating", 4)),
        *_twice(KIND_ROWS[17], cluster_event(cluster_id, at + timedelta(hours=5), "Deleting", 0)),
    ]


def _blue_green_steps(i: int, at: datetime) -> list[Step]:
    from sagecost.local import events

    endpoint = f"bench-bg-{i}"

    def state(status: str, moment: datetime, config: str) -> dict[str, Any]:
        return events.endpoint(
            endpoint, status, at=moment, config_name=config, variants=[("AllTraffic", 3)], tags=TAGS
        )

    return [
        (
            None,
            events.endpoint_config(
                f"cfg-blue-{endpoint}", [("AllTraffic", "ml.m5.xlarge", 3)], at=at - timedelta(hours=1)
            ),
        ),
        (
            None,
            events.endpoint_config(
                f"cfg-green-{endpoint}", [("AllTraffic", "ml.c5.xlarge", 3)], at=at - timedelta(hours=1)
            ),
        ),
        (None, state("IN_SERVICE", at, f"cfg-blue-{endpoint}")),
        (None, state("UPDATING", at + timedelta(hours=1), f"cfg-blue-{endpoint}")),
        *_twice(KIND_ROWS[18], deployment_event(endpoint, 1, "Baking", at + timedelta(hours=1, minutes=8))),
        *_twice(
            KIND_ROWS[19],
            deployment_event(endpoint, 3, "ActivatingTraffic", at + timedelta(hours=1, minutes=20)),
        ),
    ]


def _serverless_steps(i: int, at: datetime) -> list[Step]:
    from sagecost.local import events

    endpoint, config = f"bench-sl-{i}", f"bench-sl-cfg-{i}"

    def state(status: str, moment: datetime) -> dict[str, Any]:
        return events.endpoint(endpoint, status, at=moment, config_name=config, variants=[], tags=TAGS)

    return [
        (None, serverless_config(config, provisioned=2, at=at - timedelta(minutes=10))),
        *_twice(KIND_ROWS[20], state("CREATING", at - timedelta(minutes=5))),
        *_twice(KIND_ROWS[21], state("IN_SERVICE", at)),
        *_twice(KIND_ROWS[22], state("DELETED", at + timedelta(hours=3))),
    ]


def kinds_plan(world: KindsWorld, per_kind: int) -> list[Step]:
    """Every new kind's events on `per_kind` resources, each delivered twice; the fakes given what the
    reads will ask for (a space's and a profile's tags, a cluster, an MLflow server no call announced)."""
    plan: list[Step] = []
    for i in range(per_kind):
        at = T1 + timedelta(days=i)
        plan += _studio_steps(world, i, at)
        plan += _component_steps(i, at)
        plan += _mlflow_steps(world, i, at)
        plan += _hyperpod_steps(world, i, at)
        plan += _blue_green_steps(i, at)
        plan += _serverless_steps(i, at)
    return plan


def measure_kind_event_requests(per_kind: int = 1) -> list[KindResult]:
    """Deliver every new kind's events (and duplicates) to the wired meter; count requests per event."""
    with kinds_world() as world:
        plan = kinds_plan(world, per_kind)
        results: dict[str, KindResult] = {}
        for row, raw in plan:
            if row is None:
                world.deliver(raw)
                continue
            before = world.snapshot()
            outcome = world.deliver(raw)
            sent = world.since(before)
            result = results.setdefault(row, KindResult(row))
            result.requests.append(sum(sent.values()))
            result.operations.update(sent)
            result.outcomes[outcome] += 1
    order = [k for base in KIND_ROWS for k in (base, base + DUPLICATE)]
    return [results[k] for k in order if k in results]


# --- 2. sweep requests at N of each kind ----------------------------------------------------------


@dataclass
class KindSweep:
    """Two hourly sweeps over N resources of one kind (the other kinds' listings empty)."""

    kind: str
    n: int
    what: str
    setup_seconds: float
    runs: list[Any] = field(default_factory=list)
    """bench.SweepRun: the first sweep (opens everything), then the next one an hour later."""


Setup = Callable[[KindsWorld, int], tuple[datetime, str]]
"""Puts N resources of a kind where the sweep will find them; returns the first sweep's time and what."""


def _no_resources(world: KindsWorld, n: int) -> tuple[datetime, str]:
    return T1 + timedelta(hours=1), "no resource of the new kinds: every listing answers one empty page"


def _studio_apps(world: KindsWorld, n: int) -> tuple[datetime, str]:
    from sagecost.local.fake_studio import FakeApp

    for i in range(n):
        profile = f"bench-user-{i}"
        world.studio.apps.append(
            FakeApp(
                DOMAIN, profile, "JupyterLab", f"app-{i}", T1, instance_type="ml.m5.large", account=ACCOUNT
            )
        )
        world.sagemaker.resource_tags[profile_arn(profile)] = dict(TAGS)
    return T1 + timedelta(hours=1), f"{n} JupyterLab apps running (user profiles), no CreateApp seen"


def _studio_spaces(world: KindsWorld, n: int) -> tuple[datetime, str]:
    from sagecost.local.fake_studio import FakeSpace

    for i in range(n):
        world.studio.spaces.append(
            FakeSpace(DOMAIN, f"space-{i}", T1, volume_gb=50, tags=TAGS, account=ACCOUNT)
        )
        world.sagemaker.resource_tags[space_arn(f"space-{i}")] = dict(TAGS)
    return T1 + timedelta(hours=1), f"{n} spaces (50 GB), no CreateSpace seen"


def _mlflow_servers(world: KindsWorld, n: int) -> tuple[datetime, str]:
    from sagecost.local.fake_mlflow import FakeTrackingServer

    for i in range(n):
        world.mlflow.servers.append(FakeTrackingServer(f"mlflow-{i}", T1, size="Small", account=ACCOUNT))
    return T1 + timedelta(hours=1), f"{n} tracking servers (Small, Created), no call seen"


def _hyperpod_clusters(world: KindsWorld, n: int) -> tuple[datetime, str]:
    from sagecost.local.fake_hyperpod import FakeCluster, FakeInstanceGroup

    for i in range(n):
        world.hyperpod.clusters.append(
            FakeCluster(
                f"c{i:07d}",
                f"cluster-{i}",
                T1,
                groups=[FakeInstanceGroup("workers", "ml.g5.12xlarge", 2)],
                tags=dict(TAGS),
                account=ACCOUNT,
            )
        )
    return T1 + timedelta(hours=1), f"{n} clusters (one group of 2), no event seen"


COMPONENTS_PER_ENDPOINT = 10


def _inference_components(world: KindsWorld, n: int) -> tuple[datetime, str]:
    from sagecost.local.fake_inference_components import FakeInferenceComponent

    config = "bench-ic-sweep-cfg"
    world.deliver(hosting_config(config, T1 - timedelta(hours=1)))
    endpoints = max(1, n // COMPONENTS_PER_ENDPOINT)
    for e in range(endpoints):
        world.deliver(hosting_endpoint(f"bench-ic-ep-{e}", config, T1))
    for i in range(n):
        world.components.components.append(
            FakeInferenceComponent(
                f"bench-ic-{i}", f"bench-ic-ep-{i % endpoints}", T1, tags=dict(TAGS), account=ACCOUNT
            )
        )
    return (
        T1 + timedelta(hours=1),
        f"{n} components on {endpoints} endpoints (opened by 1 config + {endpoints} endpoint events), "
        "no component call seen",
    )


def _warm_pools(world: KindsWorld, n: int) -> tuple[datetime, str]:
    job = fixture("DescribeTrainingJob-warm-pool.json")
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        job[key] = datetime.fromtimestamp(job[key], tz=UTC)
    for i in range(n):
        name = f"bench-pool-{i}"
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"
        world.sagemaker.described_training_jobs[name] = job | {"TrainingJobName": name, "TrainingJobArn": arn}
        world.sagemaker.resource_tags[arn] = dict(TAGS)
    end = job["TrainingEndTime"] + timedelta(seconds=1800)
    return end + timedelta(minutes=20), f"{n} ended pools (Terminated), jobs unknown to the ledger"


def _serverless(world: KindsWorld, n: int) -> tuple[datetime, str]:
    from sagecost.domain.kinds.serverless import INVOCATIONS, MODEL_LATENCY
    from sagecost.local import events

    config = "bench-sl-sweep-cfg"
    world.deliver(serverless_config(config, provisioned=None, at=T1 - timedelta(hours=1)))
    hours = [T1 + timedelta(hours=h) for h in range(-2, 4)]
    for i in range(n):
        endpoint = f"bench-sl-{i}"
        world.deliver(
            events.endpoint(endpoint, "IN_SERVICE", at=T1, config_name=config, variants=[], tags=TAGS)
        )
        world.metrics.points[(endpoint, "AllTraffic", INVOCATIONS)] = {h: Decimal(600) for h in hours}
        world.metrics.points[(endpoint, "AllTraffic", MODEL_LATENCY)] = {h: Decimal(100_000) for h in hours}
    return (
        T1 + timedelta(hours=2, minutes=15),
        f"{n} serverless endpoints, 1 on-demand variant each, traffic every hour (opened by {n} events)",
    )


SWEEP_KINDS: tuple[tuple[str, Setup], ...] = (
    ("baseline", _no_resources),
    ("Studio apps", _studio_apps),
    ("Studio spaces", _studio_spaces),
    ("MLflow servers", _mlflow_servers),
    ("HyperPod clusters", _hyperpod_clusters),
    ("inference components", _inference_components),
    ("warm pools", _warm_pools),
    ("serverless variants", _serverless),
)


def measure_kind_sweep(kind: str, n: int) -> KindSweep:
    """N resources of `kind` where the sweep will find them; a first sweep, then the next an hour later."""
    from bench import SweepRun

    setup = dict(SWEEP_KINDS)[kind]
    started = time.perf_counter()
    with kinds_world() as world:
        first, what = setup(world, n)
        result = KindSweep(kind, n if kind != "baseline" else 0, what, time.perf_counter() - started)
        for label, at in (("first sweep", first), ("next sweep, +1 h", first + timedelta(hours=1))):
            before = world.snapshot()
            began = time.perf_counter()
            report = world.meter.sweep(at)
            result.runs.append(
                SweepRun(
                    label=label,
                    operations=world.since(before),
                    seconds=time.perf_counter() - began,
                    resources=report.resources,
                    records=report.records,
                )
            )
    return result


def measure_kind_sweeps(n: int, workers: int | None = None) -> list[KindSweep]:
    """Every kind's sweeps, each kind in its own process (its own moto) on up to `workers` cores (default:
    all): the requests are the same as one after another; the wall time of `make bench` is not."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    names = [kind for kind, _ in SWEEP_KINDS]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [measure_kind_sweep(kind, n) for kind in names]
    slowest_first = sorted(names, key=lambda kind: -SLOWEST.index(kind) if kind in SLOWEST else 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        done = dict(
            zip(slowest_first, pool.map(measure_kind_sweep, slowest_first, [n] * len(names)), strict=True)
        )
    return [done[kind] for kind in names]


SLOWEST = ("HyperPod clusters", "MLflow servers", "serverless variants")
"""Started first (the last one first), so that two cores finish together: at N=1000 on moto, serverless
~120 s, MLflow ~60 s, HyperPod ~40 s, each of the others 20-35 s."""
