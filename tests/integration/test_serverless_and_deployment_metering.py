"""Serverless endpoints and blue/green deployments metered on moto's DynamoDB, end to end: provisioned
concurrency exactly, on-demand compute estimated from CloudWatch (and marked so), both fleets of a
blue/green update while it runs; whatever order and however often the events arrive; at most two requests
an event. Test rates: provisioned concurrency 4 GB $0.1/h, on-demand 4 GB $0.288/h, hosting ml.m5.xlarge
$0.23/h, ml.c5.xlarge $0.204/h."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.metrics import EndpointTraffic
from sagecost.domain.kinds.serverless import ServerlessVariant
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_metrics import FakeHourlyMetrics
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension, UsageRecord
from sagecost.models.prices import Component
from sagecost.services.usage import MeteringResult, UsageMeter
from sagecost.services.usage.endpoint_deployment import EndpointDeploymentMeter
from sagecost.services.usage.serverless import ServerlessMeter
from sagecost.services.usage.writer import UsageWriter

T0 = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)
TAGS = {"Project": "churn", "Team": "growth", "CostCenter": "cc-7", "Environment": "prod"}
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "kinds" / "endpoint-deployment-state-change.json"


class Harness:
    """The usage meter with both kind meters, over moto's DynamoDB, a fake SageMaker and fake CloudWatch;
    counts the requests each event makes."""

    def __init__(self, ledger: DynamoLedger, prices: PriceBook) -> None:
        self.ledger = ledger
        self.sagemaker = FakeSageMaker()
        self.metrics = FakeHourlyMetrics()
        config = SagecostConfig()
        writer = UsageWriter(ledger, prices, config)
        self.meter = UsageMeter(
            ledger,
            self.sagemaker,
            prices,
            config,
            kind_meters=[
                EndpointDeploymentMeter(writer),
                ServerlessMeter(writer, self.sagemaker, self.metrics),
            ],
        )
        self.dynamodb = 0
        ledger.client.meta.events.register("before-call.dynamodb", self._count)
        self.most_requests = 0

    def _count(self, **_: Any) -> None:
        self.dynamodb += 1

    def deliver(self, raw: dict[str, Any]) -> MeteringResult:
        self.sagemaker.observe(raw)
        before = self.dynamodb + sum(self.sagemaker.calls.values())
        result = self.meter.record(parse_event(raw))
        self.most_requests = max(
            self.most_requests, self.dynamodb + sum(self.sagemaker.calls.values()) - before
        )
        return result

    def records(self, component: Component | None = None) -> list[UsageRecord]:
        return [r for r in self.ledger.records("2026-10") if component is None or r.component is component]


@pytest.fixture
def harness(ledger: DynamoLedger, prices: PriceBook) -> Harness:
    return Harness(ledger, prices)


def serverless_config(name: str, *, provisioned: int | None) -> dict[str, Any]:
    raw = events.endpoint_config(name, [], at=T0 - timedelta(minutes=10), serverless_variants=["AllTraffic"])
    serverless = {"MemorySizeInMB": 4096, "MaxConcurrency": 20}
    if provisioned:
        serverless["ProvisionedConcurrency"] = provisioned
    raw["detail"]["ProductionVariants"][0]["ServerlessConfig"] = serverless
    return raw


def serverless_endpoint(status: str, at: datetime) -> dict[str, Any]:
    return events.endpoint("churn-sl", status, at=at, config_name="cfg-sl", variants=[], tags=TAGS)


def total(ledger: DynamoLedger) -> Decimal:
    return {(a.dimension, a.value): a.cost for a in ledger.aggregates("2026-10")}[
        (Dimension.PROJECT, "churn")
    ]


def test_provisioned_concurrency_of_two_in_service_three_hours_is_six_concurrency_hours(
    harness: Harness,
) -> None:
    for raw in (
        serverless_config("cfg-sl", provisioned=2),
        serverless_endpoint("CREATING", T0 - timedelta(minutes=5)),
        serverless_endpoint("IN_SERVICE", T0),
        serverless_endpoint("DELETING", T0 + timedelta(hours=3)),
        serverless_endpoint("DELETED", T0 + timedelta(hours=3, minutes=2)),
    ):
        harness.deliver(raw)
    records = harness.records()
    assert {r.line for r in records} == {"variant/AllTraffic/provisioned"}
    assert {(r.component, r.instance_type) for r in records} == {
        (Component.SERVERLESS_PROVISIONED, "serverless-4096mb")
    }
    assert sum(r.quantity for r in records) == 6  # 2 x 3 h
    assert sum(r.cost or 0 for r in records) == Decimal("0.6")
    assert total(harness.ledger) == Decimal("0.6")
    assert not any(r.estimated for r in records)
    assert 1 <= harness.most_requests <= 2


def test_on_demand_compute_is_estimated_once_per_hour_from_cloudwatch_and_marked_estimated(
    harness: Harness,
) -> None:
    for raw in (
        serverless_config("cfg-sl", provisioned=2),
        serverless_endpoint("CREATING", T0 - timedelta(minutes=5)),
        serverless_endpoint("IN_SERVICE", T0),
    ):
        harness.deliver(raw)
    hour = timedelta(hours=1)
    harness.metrics.points = {
        ("churn-sl", "AllTraffic", "Invocations"): {T0: Decimal(1200), T0 + hour: Decimal(600)},
        ("churn-sl", "AllTraffic", "ModelLatency"): {T0: Decimal(150_000), T0 + hour: Decimal(100_000)},
        ("churn-sl", "AllTraffic", "ServerlessProvisionedConcurrencyInvocations"): {T0: Decimal(200)},
    }
    for now in (T0 + 2 * hour + timedelta(minutes=15), T0 + 2 * hour + timedelta(minutes=20), T0 + 3 * hour):
        harness.meter.sweep(now)
    estimated = sorted(harness.records(Component.SERVERLESS_INFERENCE), key=lambda r: r.start)
    # 09:00: (1,200 - 200) x 150 ms = 150 s; 10:00: 600 x 100 ms = 60 s; at $0.00008 a second
    assert [(r.start, r.quantity, r.cost) for r in estimated] == [
        (T0, Decimal("0.041667"), Decimal("0.012")),
        (T0 + hour, Decimal("0.016667"), Decimal("0.0048")),
    ]
    assert all(r.estimated and r.instance_type == "serverless-4096mb" for r in estimated)
    assert estimated[1].notes == (
        "estimated from CloudWatch: 600 invocations x 100 ms average latency; trued up by the month-end"
        " reconciliation",
    )
    assert estimated[0].line == f"variant/AllTraffic/on-demand/{T0.isoformat()}"
    assert harness.metrics.requests == 3  # one GetMetricData a sweep
    # the endpoint's own timeline was left to the endpoint sweep: its provisioned concurrency runs on
    provisioned = sum(r.quantity for r in harness.records(Component.SERVERLESS_PROVISIONED))
    assert provisioned == 6  # 2 x 3 h, up to the last sweep
    assert total(harness.ledger) == Decimal("0.6") + Decimal("0.0168")


def test_cloudwatch_unreadable_estimates_nothing_until_it_can_be_read(harness: Harness) -> None:
    for raw in (serverless_config("cfg-sl", provisioned=None), serverless_endpoint("IN_SERVICE", T0)):
        harness.deliver(raw)
    harness.metrics.points = {
        ("churn-sl", "AllTraffic", "Invocations"): {T0: Decimal(10)},
        ("churn-sl", "AllTraffic", "ModelLatency"): {T0: Decimal(1_000_000)},  # 10 x 1 s
    }
    harness.metrics.failing = {"ModelLatency"}
    harness.meter.sweep(T0 + timedelta(hours=1, minutes=15))
    assert harness.records(Component.SERVERLESS_INFERENCE) == []
    harness.metrics.failing = ()
    harness.meter.sweep(T0 + timedelta(hours=2, minutes=15))  # 09:00 is still in the look-back
    (record,) = harness.records(Component.SERVERLESS_INFERENCE)
    assert (record.quantity, record.estimated) == (Decimal("0.002778"), True)  # 10 s
    assert harness.records(Component.SERVERLESS_PROVISIONED) == []


# --- blue/green ---------------------------------------------------------------------------------------


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def deployment(event_id: str, current: int, stage: str, stage_start: datetime) -> dict[str, Any]:
    """The AWS sample (fixture), re-addressed: endpoint bg, old config cfg-blue, new cfg-green."""
    raw: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE.read_text(encoding="utf-8")))
    arn = events.arn("endpoint", "bg")
    detail = raw["detail"]
    raw.update(id=event_id, time=stage_start.isoformat(), resources=[arn])
    detail.update(EndpointName="bg", EndpointArn=arn, EndpointConfigName="cfg-blue")
    detail.update(
        CreationTime=epoch_ms(T0 - timedelta(minutes=10)), LastModifiedTime=epoch_ms(T0 + timedelta(hours=1))
    )
    pending = detail["PendingDeploymentSummary"]
    pending.update(EndpointConfigName="cfg-green", StartTime=epoch_ms(T0 + timedelta(hours=1)))
    (variant,) = pending["ProductionVariants"]
    variant["CurrentInstanceCount"] = current
    variant["VariantStatus"] = [{"Status": stage, "StartTime": epoch_ms(stage_start)}]
    return raw


def blue_green_feed() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(configs, what happens): in service on blue (3 x ml.m5.xlarge) at 09:00, updating at 10:00, a
    canary of 1 green instance (ml.c5.xlarge) from 10:08, all 3 green from 10:20, in service on green at
    10:30, deleted at 12:00."""
    configs = [
        events.endpoint_config("cfg-blue", [("AllTraffic", "ml.m5.xlarge", 3)], at=T0 - timedelta(hours=1)),
        events.endpoint_config("cfg-green", [("AllTraffic", "ml.c5.xlarge", 3)], at=T0 - timedelta(hours=1)),
    ]

    def bg(status: str, at: datetime, config: str) -> dict[str, Any]:
        return events.endpoint(
            "bg", status, at=at, config_name=config, variants=[("AllTraffic", 3)], tags=TAGS
        )

    happenings = [
        bg("IN_SERVICE", T0, "cfg-blue"),
        bg("UPDATING", T0 + timedelta(hours=1), "cfg-blue"),
        deployment("canary", 1, "Baking", T0 + timedelta(hours=1, minutes=8)),
        deployment("full", 3, "ActivatingTraffic", T0 + timedelta(hours=1, minutes=20)),
        bg("IN_SERVICE", T0 + timedelta(hours=1, minutes=30), "cfg-green"),
        bg("DELETING", T0 + timedelta(hours=3), "cfg-green"),
        events.endpoint(
            "bg", "DELETED", at=T0 + timedelta(hours=3, minutes=2), config_name="cfg-green", variants=[]
        ),
    ]
    return configs, happenings


def shuffled(feed: list[dict[str, Any]], seed: int | None) -> Iterator[dict[str, Any]]:
    if seed is None:
        yield from feed
        return
    replayed = [copy.deepcopy(raw) for raw in feed for _ in range(3)]
    random.Random(seed).shuffle(replayed)
    yield from replayed


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_a_blue_green_update_bills_both_fleets_while_it_runs_in_any_order_and_once(
    harness: Harness, seed: int | None
) -> None:
    configs, happenings = blue_green_feed()
    for raw in [*configs, *shuffled(happenings, seed)]:
        harness.deliver(raw)
    records = harness.records()
    hours = {
        instance_type: sum(r.quantity for r in records if r.instance_type == instance_type)
        for instance_type in ("ml.m5.xlarge", "ml.c5.xlarge")
    }
    # blue: 3 x 1.5 h; green: 1 x 12 min + 3 x 10 min as the second fleet, then 3 x 1.5 h
    assert hours == {"ml.m5.xlarge": Decimal("4.5"), "ml.c5.xlarge": Decimal("5.2")}
    second = sum(r.quantity for r in records if r.line == "variant/AllTraffic/new-fleet")
    assert second == Decimal("0.7")
    assert total(harness.ledger) == Decimal("4.5") * Decimal("0.23") + Decimal("5.2") * Decimal("0.204")
    assert not any(r.unpriced for r in records)
    assert 1 <= harness.most_requests <= 2


def test_cloudwatch_is_read_hour_by_hour_in_one_request(aws: None) -> None:
    """The adapter on moto's CloudWatch: a Sum and an Average per hour, one GetMetricData for both."""
    client = boto3.client("cloudwatch")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(hours=3)
    dimensions: Any = [
        {"Name": "EndpointName", "Value": "churn-sl"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    for minute, count, average in ((5, 3, 100_000), (35, 1, 400_000), (65, 2, 50_000)):
        at = first + timedelta(minutes=minute)
        client.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": count,
                },
                {"MetricName": "ModelLatency", "Dimensions": dimensions, "Timestamp": at, "Value": average},
            ],
        )
    calls: list[str] = []
    client.meta.events.register("before-call.cloudwatch.GetMetricData", lambda **_: calls.append("read"))
    variant = ServerlessVariant(events.arn("endpoint", "churn-sl"), "churn-sl", "AllTraffic", 4096, False)
    invocations, latency = variant.series()
    readings = EndpointTraffic(client).hourly(variant.series(), first, first + timedelta(hours=2))
    assert calls == ["read"]
    assert readings[invocations] == {first: Decimal(4), first + timedelta(hours=1): Decimal(2)}
    assert readings[latency] == {first: Decimal(250_000), first + timedelta(hours=1): Decimal(50_000)}
