"""The simulated account's Studio, inference components, HyperPod clusters, MLflow tracking servers and
serverless traffic, for the simulator: what the fakes of `fake_studio`, `fake_inference_components`,
`fake_hyperpod`, `fake_mlflow` and `fake_metrics` answer, learned from the replayed events as they are
delivered (as `FakeSageMaker` learns the other kinds), so the hourly sweep lists exactly what the events
say: it opens and closes nothing the events do not.

What no delivered line says (an event the account produced but EventBridge never delivered, e.g. a
DeleteApp whose CloudTrail event was lost) is given as `unseen` events: the account applies each once the
virtual clock passes its time, and only the sweep can find it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sagecost.domain.kinds.serverless import (
    INVOCATIONS,
    MODEL_LATENCY,
    PROVISIONED_INVOCATIONS,
    HourlySeries,
)
from sagecost.domain.periods import hour_floor
from sagecost.local.fake_hyperpod import FakeCluster, FakeHyperPodClient, FakeInstanceGroup
from sagecost.local.fake_inference_components import FakeInferenceComponent, FakeInferenceComponentsClient
from sagecost.local.fake_mlflow import FakeMlflowClient, FakeTrackingServer
from sagecost.local.fake_studio import FakeApp, FakeSpace, FakeStudioClient
from sagecost.models.events import InvalidEvent, parse_event

_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def _time(value: Any) -> datetime | None:
    try:
        moment = _TIME.validate_python(value)
    except ValidationError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _tags(raw: Any) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {str(t.get("key")): str(t.get("value", "")) for t in raw if isinstance(t, dict) and t.get("key")}


@dataclass(frozen=True)
class ServerlessHour:
    """One serverless variant's CloudWatch figures for each hour its endpoint is in service:
    `Invocations` and `ServerlessProvisionedConcurrencyInvocations` (Sum), `ModelLatency` (Average, µs)."""

    invocations: Decimal
    provisioned_invocations: Decimal
    latency_microseconds: Decimal


@dataclass
class ServerlessTraffic:
    """GetMetricData (3600 s period) for serverless variants: `per_endpoint[name]` each full hour the
    endpoint was in service (from its events), nothing for any other endpoint or hour."""

    per_endpoint: Mapping[str, ServerlessHour] = field(default_factory=dict)
    statuses: dict[str, dict[datetime, str]] = field(default_factory=dict)
    """Each endpoint's statuses by event time (whatever order they were delivered in)."""
    requests: int = 0

    def observe_endpoint(self, name: str, status: str, at: datetime) -> None:
        self.statuses.setdefault(name, {})[at] = status

    def _serving(self, name: str, hour: datetime) -> bool:
        """In service for the whole hour: its latest status before the hour is IN_SERVICE, and nothing
        took it out of service during the hour."""
        changes = sorted(self.statuses.get(name, {}).items())
        before = [status for at, status in changes if at <= hour]
        during = [status for at, status in changes if hour < at < hour + timedelta(hours=1)]
        return (
            bool(before)
            and before[-1] in {"IN_SERVICE", "UPDATING"}
            and all(status in {"IN_SERVICE", "UPDATING"} for status in during)
        )

    def hourly(
        self, series: Sequence[HourlySeries], start: datetime, end: datetime
    ) -> dict[HourlySeries, dict[datetime, Decimal] | None]:
        unique = list(dict.fromkeys(series))
        self.requests += 1 if unique else 0
        answer: dict[HourlySeries, dict[datetime, Decimal] | None] = {}
        for one in unique:
            figures = self.per_endpoint.get(one.endpoint)
            value = (
                {
                    INVOCATIONS: figures.invocations,
                    PROVISIONED_INVOCATIONS: figures.provisioned_invocations,
                    MODEL_LATENCY: figures.latency_microseconds,
                }.get(one.metric)
                if figures
                else None
            )
            hours: dict[datetime, Decimal] = {}
            hour = hour_floor(start)
            while value is not None and hour < end:
                if self._serving(one.endpoint, hour):
                    hours[hour] = value
                hour += timedelta(hours=1)
            answer[one] = hours
        return answer


@dataclass
class FakeAccount:
    """The fakes' clients, kept consistent with the delivered events (and the `unseen` ones)."""

    studio: FakeStudioClient = field(default_factory=FakeStudioClient)
    components: FakeInferenceComponentsClient = field(default_factory=FakeInferenceComponentsClient)
    hyperpod: FakeHyperPodClient = field(default_factory=FakeHyperPodClient)
    mlflow: FakeMlflowClient = field(default_factory=FakeMlflowClient)
    serverless: ServerlessTraffic = field(default_factory=ServerlessTraffic)
    creation_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    """Tags given at creation (CloudTrail Create* calls, e.g. CreateCluster), by ARN."""
    unseen: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    newest: dict[str, datetime] = field(default_factory=dict)
    """The time of the newest call or state change seen for each resource: an older one delivered late
    changes nothing (as in SageMaker, a resource's state is its latest)."""

    def _newer(self, key: str, at: datetime) -> bool:
        if key in self.newest and self.newest[key] >= at:
            return False
        self.newest[key] = at
        return True

    def expect_unseen(self, lost: Iterable[dict[str, Any]]) -> None:
        """Events that happened but are never delivered: applied once the clock passes their time."""
        for event in lost:
            moment = _time(event.get("time"))
            if moment is not None:
                self.unseen.append((moment, event))
        self.unseen.sort(key=lambda pair: pair[0])

    def catch_up(self, now: datetime) -> None:
        while self.unseen and self.unseen[0][0] <= now:
            self.observe(self.unseen.pop(0)[1])

    @property
    def calls(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for client_calls in (
            self.studio.calls,
            self.components.calls,
            self.hyperpod.calls,
            self.mlflow.calls,
        ):
            for name, count in client_calls.items():
                counted[name] = counted.get(name, 0) + count
        return counted

    def learn_creation_tags(self, event: dict[str, Any]) -> None:
        detail = event.get("detail")
        if event.get("detail-type") != "AWS API Call via CloudTrail" or not isinstance(detail, dict):
            return
        params, response = detail.get("requestParameters"), detail.get("responseElements")
        if not isinstance(params, dict) or not isinstance(response, dict):
            return
        arns = [v for k, v in response.items() if k.endswith("Arn") and isinstance(v, str)]
        if arns and _tags(params.get("tags")):
            self.creation_tags[arns[0]] = _tags(params.get("tags"))

    def observe(self, event: dict[str, Any]) -> None:
        """Learn from one raw event sagecost itself would accept; anything else teaches nothing."""
        try:
            parsed = parse_event(event)
        except InvalidEvent:
            return
        detail = event["detail"]
        kind = event.get("detail-type")
        if kind == "AWS API Call via CloudTrail":
            if not detail.get("errorCode"):
                self._call(str(detail.get("eventName")), detail, parsed.time, event)
        elif kind == "SageMaker HyperPod Cluster State Change":
            self._cluster(detail, parsed.time)
        elif kind == "SageMaker Endpoint State Change":
            self.serverless.observe_endpoint(
                str(detail.get("EndpointName")), str(detail.get("EndpointStatus", "")).upper(), parsed.time
            )

    def _call(self, name: str, detail: dict[str, Any], at: datetime, event: dict[str, Any]) -> None:
        params: dict[str, Any] = detail.get("requestParameters") or {}
        account = str(detail.get("recipientAccountId") or event.get("account") or "")
        region = str(detail.get("awsRegion") or event.get("region") or "us-east-1")
        key = _resource_key(name, params)
        if key is None or not self._newer(key, at):
            return
        if name.endswith(("Space", "App")):
            self._studio_call(name, params, at, region, account)
        else:
            self._serving_call(name, params, at, region, account)

    def _studio_call(
        self, name: str, params: dict[str, Any], at: datetime, region: str, account: str
    ) -> None:
        if name == "CreateSpace":
            settings = ((params.get("spaceSettings") or {}).get("spaceStorageSettings") or {}).get(
                "ebsStorageSettings"
            ) or {}
            self.studio.spaces.append(
                FakeSpace(
                    params["domainId"],
                    params["spaceName"],
                    created=at,
                    volume_gb=settings.get("ebsVolumeSizeInGb"),
                    tags=_tags(params.get("tags")),
                    region=region,
                    account=account,
                )
            )
        elif name == "DeleteSpace":
            for space in self.studio.spaces:
                if (space.domain_id, space.name) == (params["domainId"], params["spaceName"]):
                    space.status, space.last_modified = "Deleted", at
        elif name == "CreateApp":
            owner = params.get("spaceName") or params.get("userProfileName")
            self.studio.apps = [  # an app of the same name before it is gone for good
                app
                for app in self.studio.apps
                if (app.domain_id, app.owner, app.app_type, app.name)
                != (params["domainId"], owner, params["appType"], params["appName"])
            ]
            self.studio.apps.append(
                FakeApp(
                    params["domainId"],
                    str(owner),
                    params["appType"],
                    params["appName"],
                    created=at,
                    instance_type=str((params.get("resourceSpec") or {}).get("instanceType") or "system"),
                    is_space=bool(params.get("spaceName")),
                    region=region,
                    account=account,
                )
            )
        elif name == "DeleteApp":
            owner = params.get("spaceName") or params.get("userProfileName")
            key = (params["domainId"], owner, params["appType"], params["appName"])
            for app in self.studio.apps:
                if (app.domain_id, app.owner, app.app_type, app.name) == key:
                    app.status = "Deleted"  # ListApps keeps showing it, Deleted, for a while

    def _serving_call(
        self, name: str, params: dict[str, Any], at: datetime, region: str, account: str
    ) -> None:
        if name == "CreateInferenceComponent":
            spec = params.get("specification") or {}
            requirements = {
                k[0].upper() + k[1:]: v for k, v in (spec.get("computeResourceRequirements") or {}).items()
            }
            self.components.components.append(
                FakeInferenceComponent(
                    params["inferenceComponentName"],
                    params["endpointName"],
                    created=at,
                    variant_name=params.get("variantName", "AllTraffic"),
                    region=region,
                    account=account,
                    requirements=requirements,
                    copies=int((params.get("runtimeConfig") or {}).get("copyCount", 1)),
                    tags=_tags(params.get("tags")),
                )
            )
        elif name == "DeleteInferenceComponent":
            self.components.components = [
                c for c in self.components.components if c.name != params["inferenceComponentName"]
            ]
        elif name == "CreateMlflowTrackingServer":
            self.mlflow.servers.append(
                FakeTrackingServer(
                    params["trackingServerName"],
                    created=at,
                    size=params.get("trackingServerSize", "Small"),
                    status="Created",
                    last_modified=at,
                    region=region,
                    account=account,
                )
            )
        elif name == "DeleteMlflowTrackingServer":
            self.mlflow.servers = [s for s in self.mlflow.servers if s.name != params["trackingServerName"]]

    def _cluster(self, detail: dict[str, Any], at: datetime) -> None:
        cluster_arn = str(detail["ClusterArn"])
        status = str(detail.get("ClusterStatus"))
        if not self._newer(cluster_arn, at):
            return
        self.hyperpod.clusters = [c for c in self.hyperpod.clusters if c.arn != cluster_arn]
        if status in {"Deleting", "Failed"}:
            return  # ListClusters no longer shows it (a Deleting cluster bills nothing)
        _, _, _, region, account, resource = cluster_arn.split(":", 5)
        self.hyperpod.clusters.append(
            FakeCluster(
                resource.removeprefix("cluster/"),
                str(detail["ClusterName"]),
                created=_time(detail.get("CreationTime")) or at,
                groups=[
                    FakeInstanceGroup(
                        g["InstanceGroupName"], g["InstanceType"], int(g.get("CurrentCount", 0))
                    )
                    for g in detail.get("InstanceGroups") or []
                ],
                status=status,
                tags=dict(self.creation_tags.get(cluster_arn, {})),
                region=region,
                account=account,
            )
        )


def _resource_key(call: str, params: Mapping[str, Any]) -> str | None:
    """Which resource a call is about (a Create and its Delete name the same one), or None (another call)."""
    try:
        if call in {"CreateSpace", "DeleteSpace"}:
            return f"space/{params['domainId']}/{params['spaceName']}"
        if call in {"CreateApp", "DeleteApp"}:
            owner = params.get("spaceName") or params.get("userProfileName")
            return f"app/{params['domainId']}/{owner}/{params['appType']}/{params['appName']}"
        if call in {"CreateInferenceComponent", "DeleteInferenceComponent"}:
            return f"inference-component/{params['inferenceComponentName']}"
        if call in {"CreateMlflowTrackingServer", "DeleteMlflowTrackingServer"}:
            return f"mlflow-tracking-server/{params['trackingServerName']}"
    except KeyError:
        return None
    return None
