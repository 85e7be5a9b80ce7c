"""Idle endpoints by kind: over random fleets of real-time, async, inference-component, serverless and
unknown endpoints, each publishing only the metrics AWS publishes for its kind, the reaper never warns
or acts on an endpoint busy by its own metric, nor on one whose kind or metric it cannot establish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sagecost.adapters.notifier import Notice
from sagecost.adapters.prices import load_catalog
from sagecost.adapters.sagemaker import EndpointSummary, InferenceComponentSummary, NotebookSummary
from sagecost.domain.idleness import IdleWarning, MetricSeries
from sagecost.domain.pricing import PriceBook
from sagecost.models.config import SagecostConfig
from sagecost.models.idle import IdleKind, IdlePolicy, Phase
from sagecost.models.state import EndpointConfigSnapshot, VariantSpec
from sagecost.services.idle import IdleReaper, UnrecordedLedger

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
REGION, ACCOUNT = "us-east-1", "123456789012"
KINDS = ("real-time", "async", "components", "serverless", "no-config", "mixed", "describe-fails", "unlisted")


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a random fleet, and the traffic AWS would publish for it."""

    name: str
    kind: str
    variants: tuple[str, ...]
    components: tuple[str, ...]
    traffic: tuple[int, ...]
    """Per variant (real-time, async, serverless) or per component: requests in the window."""
    backlog: int
    unreadable: bool
    """CloudWatch answers its series with an error status."""
    environment: str
    warned_hours_ago: int | None

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{self.name}"

    @property
    def busy_by_its_own_metric(self) -> bool:
        return any(self.traffic) or (self.kind == "async" and self.backlog > 0)

    def published(self) -> dict[MetricSeries, int]:
        """The series CloudWatch holds for it: what AWS publishes for its kind, nothing else."""
        per_variant = (("EndpointName", self.name),)
        if self.kind == "async":  # no Invocations at all for async endpoints
            series = {
                MetricSeries("InvocationsProcessed", (*per_variant, ("VariantName", v))): n
                for v, n in zip(self.variants, self.traffic, strict=True)
            }
            return series | {MetricSeries("ApproximateBacklogSize", per_variant, "Maximum"): self.backlog}
        if self.kind in {"components", "unlisted"}:
            return {
                MetricSeries("Invocations", (("InferenceComponentName", c),)): n
                for c, n in zip(self.components, self.traffic, strict=True)
            }
        return {
            MetricSeries("Invocations", (*per_variant, ("VariantName", v))): n
            for v, n in zip(self.variants, self.traffic, strict=True)
        }

    def config(self) -> EndpointConfigSnapshot | None:
        instances = {"instance_type": "ml.m5.xlarge", "hosts_inference_components": False}
        shapes: dict[str, dict[str, Any]] = {
            "real-time": instances,
            "async": instances,
            "mixed": instances,
            "components": {"instance_type": "ml.g5.xlarge", "hosts_inference_components": True},
            "unlisted": {"instance_type": "ml.g5.xlarge", "hosts_inference_components": True},
            "serverless": {"serverless": True, "provisioned_concurrency": 1},
        }
        if self.kind not in shapes:
            return None
        variants = [VariantSpec(name=v, **shapes[self.kind]) for v in self.variants]
        if self.kind == "mixed":
            variants.append(VariantSpec(name="serverless", serverless=True))
        return EndpointConfigSnapshot(
            name=f"{self.name}-cfg",
            arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{self.name}-cfg",
            variants=tuple(variants),
            asynchronous=self.kind == "async",
        )


@dataclass
class World:
    """SageMaker, the component listing and CloudWatch as the fleet makes them look."""

    fleet: Sequence[Endpoint]
    requests: int = 0
    by_name: dict[str, Endpoint] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {e.name: e for e in self.fleet}

    # SageMaker
    def endpoints(self) -> list[EndpointSummary]:
        return [
            EndpointSummary(
                e.name, e.arn, "IN_SERVICE", NOW - timedelta(days=5), created=NOW - timedelta(days=5)
            )
            for e in self.fleet
        ]

    def endpoint(self, name: str) -> EndpointSummary | None:
        e = self.by_name[name]
        return EndpointSummary(
            e.name, e.arn, "IN_SERVICE", NOW - timedelta(days=5), config_name=f"{name}-cfg"
        )

    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None:
        e = self.by_name[name.removesuffix("-cfg")]
        if e.kind == "describe-fails":
            raise RuntimeError("ThrottlingException: Rate exceeded")
        return e.config()

    def notebooks(self) -> list[NotebookSummary]:
        return []

    def add_tags(self, arn: str, tags: dict[str, str]) -> bool:
        raise AssertionError("a dry run writes nothing")

    def delete_tags(self, arn: str, keys: list[str]) -> bool:
        raise AssertionError("a dry run writes nothing")

    def stop_notebook(self, name: str) -> bool:
        raise AssertionError("a dry run writes nothing")

    def delete_endpoint(self, name: str) -> bool:
        raise AssertionError("a dry run writes nothing")

    # ListInferenceComponents
    def inference_components(self, endpoint_name: str) -> list[InferenceComponentSummary]:
        e = self.by_name[endpoint_name]
        if e.kind == "unlisted":
            raise RuntimeError(
                "AccessDeniedException: not authorized to perform sagemaker:ListInferenceComponents"
            )
        return [
            InferenceComponentSummary(
                c, f"{e.arn}-{c}", e.name, "AllTraffic", "InService", NOW - timedelta(days=3)
            )
            for c in e.components
        ]

    # CloudWatch
    def read(
        self, series: Sequence[MetricSeries], start: datetime, end: datetime
    ) -> dict[MetricSeries, Decimal | None]:
        self.requests += -(-len(series) // 500)
        published: dict[MetricSeries, int] = {}
        unreadable: set[MetricSeries] = set()
        for e in self.fleet:
            published |= e.published()
            if e.unreadable:
                unreadable |= set(e.published())
        return {
            one: None if one in unreadable and not published.get(one) else Decimal(published.get(one, 0))
            for one in series
        }


class Inbox:
    def publish(self, notice: Notice) -> None:
        return None


def reaper(world: World) -> IdleReaper:
    tags: Mapping[str, dict[str, str]] = {
        e.arn: {"Project": "p", "Environment": e.environment}
        | (
            {
                "sagecost:idle-warning": IdleWarning(
                    NOW - timedelta(hours=e.warned_hours_ago), NOW - timedelta(hours=e.warned_hours_ago - 2)
                ).tag_value()
            }
            if e.warned_hours_ago is not None
            else {}
        )
        for e in world.fleet
    }
    return IdleReaper(
        sagemaker=world,
        studio=None,
        traffic=world,
        tags=lambda: dict(tags),
        ledger=UnrecordedLedger(),
        notifier=Inbox(),
        prices=PriceBook(load_catalog()),
        config=SagecostConfig(idle=IdlePolicy(kinds=(IdleKind.ENDPOINT,), max_actions_per_run=1000)),
        inference_components=world,
    )


@st.composite
def endpoints(draw: st.DrawFn, index: int) -> Endpoint:
    kind = draw(st.sampled_from(KINDS))
    width = draw(st.integers(0 if kind in {"components", "unlisted"} else 1, 3))
    variants = tuple(f"v{i}" for i in range(1 if kind in {"components", "unlisted"} else width))
    components = tuple(f"ic-{index}-{i}" for i in range(width)) if kind in {"components", "unlisted"} else ()
    quiet = draw(st.booleans())  # half the fleet has no traffic at all, so the idle paths are exercised
    counts = st.just(0) if quiet else st.integers(0, 3)
    traffic = tuple(draw(counts) for _ in (components if kind in {"components", "unlisted"} else variants))
    return Endpoint(
        name=f"ep-{index}",
        kind=kind,
        variants=variants,
        components=components,
        traffic=traffic,
        backlog=0 if quiet else draw(st.integers(0, 2)),
        unreadable=draw(st.integers(0, 4)) == 0,
        environment=draw(st.sampled_from(["dev", "dev", "test", "prod"])),
        warned_hours_ago=draw(st.one_of(st.none(), st.integers(0, 48))),
    )


@st.composite
def fleets(draw: st.DrawFn) -> list[Endpoint]:
    size = draw(st.integers(1, 12))
    return [draw(endpoints(index)) for index in range(size)]


@settings(max_examples=150, deadline=None)
@given(fleet=fleets())
def test_nothing_busy_by_its_own_metric_or_of_unknown_kind_is_ever_warned_or_acted_on(
    fleet: list[Endpoint],
) -> None:
    world = World(fleet)
    report = reaper(world).sweep(NOW, apply=False)

    by_arn = {d.observation.arn: d for d in report.decisions}
    assert set(by_arn) == {e.arn for e in fleet}
    for e in fleet:
        decision = by_arn[e.arn]
        touched = decision.phase in {Phase.WARN, Phase.WAIT, Phase.ACT}
        if e.busy_by_its_own_metric or e.kind not in {"real-time", "async", "components"}:
            assert not touched, (e, decision.reason)
        if e.unreadable and not e.busy_by_its_own_metric:
            assert not touched, (e, decision.reason)
        if e.kind == "components" and not e.components:
            assert not touched, "an endpoint hosting no component has no signal"
        # and the rule is not vacuous: a quiet dev endpoint of a known kind, read in full, is idle
        judged = e.kind in {"real-time", "async"} or (e.kind == "components" and e.components)
        if judged and not e.busy_by_its_own_metric and not e.unreadable and e.environment != "prod":
            assert decision.observation.idle, (e, decision.reason)
    series = sum(len(e.published()) for e in fleet if e.kind in {"real-time", "async", "components"})
    assert world.requests == -(-series // 500)  # one bulk read for the whole fleet


def test_the_demo_judges_churns_async_endpoint_by_its_own_signal_and_finds_it_idle() -> None:
    from sagecost.adapters.sagemaker import config_snapshot
    from sagecost.domain.idleness import endpoint_kind, judge_traffic, traffic_series
    from sagecost.local.fake_metrics import ScenarioTraffic
    from sagecost.local.scenario import BUSY_ENDPOINTS, demo_events
    from sagecost.models.events import EndpointConfigEvent, parse_event
    from sagecost.models.idle import EndpointKind

    configs = {
        event.detail.endpoint_config_name: config_snapshot(event.detail.model_dump(by_alias=True))
        for event in (
            parse_event(e)
            for e in demo_events(7)
            if e["detail-type"] == "SageMaker Endpoint Config State Change"
        )
        if isinstance(event, EndpointConfigEvent) and event.detail.production_variants
    }
    traffic = ScenarioTraffic(BUSY_ENDPOINTS)
    judged = {}
    for endpoint, config_name in (("churn-async", "churn-async-cfg"), ("recs-dev", "recs-dev-cfg")):
        kind, _ = endpoint_kind(configs[config_name])
        series = traffic_series(kind, endpoint, [v.name for v in configs[config_name].variants], ())
        judged[endpoint] = (kind, judge_traffic(kind, traffic.read(series, NOW - timedelta(days=1), NOW), 24))

    assert judged["churn-async"] == (
        EndpointKind.ASYNC,
        (True, "no InvocationsProcessed and no backlog in the last 24 h"),
    )
    assert judged["recs-dev"][0] is EndpointKind.REAL_TIME and judged["recs-dev"][1][0] is False
    assert traffic.metrics == {"InvocationsProcessed": 1, "ApproximateBacklogSize": 1, "Invocations": 1}
    assert traffic.requests == 2


def test_the_config_snapshot_says_which_variants_host_inference_components_and_what_is_provisioned() -> None:
    from sagecost.adapters.sagemaker import config_snapshot

    described = {
        "EndpointConfigName": "c",
        "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c",
        "ProductionVariants": [
            {"VariantName": "ic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1},  # no ModelName
            {
                "VariantName": "rt",
                "ModelName": "m",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            },
            {
                "VariantName": "sl",
                "ModelName": "m",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "ProvisionedConcurrency": 3},
            },
        ],
    }
    ic, rt, sl = config_snapshot(described).variants
    assert (ic.hosts_inference_components, rt.hosts_inference_components, sl.hosts_inference_components) == (
        True,
        False,
        False,
    )
    assert (sl.serverless, sl.provisioned_concurrency, rt.provisioned_concurrency) == (True, 3, None)
