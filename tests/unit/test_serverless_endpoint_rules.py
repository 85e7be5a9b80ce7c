"""Serverless endpoints (provisioned concurrency exact, on-demand estimated) and shadow variants: the pure
rules, against figures worked out by hand. Test rates (conftest): provisioned concurrency 4 GB $0.1 per
concurrency-hour, on-demand 4 GB $0.288 per concurrency-hour ($0.00008 a second), hosting ml.m5.xlarge
$0.23/h."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sagecost.adapters.ledger import record_from_item, record_item
from sagecost.adapters.sagemaker import config_snapshot
from sagecost.domain.kinds import serverless
from sagecost.domain.kinds.endpoint import UNKNOWN_INSTANCE_TYPE, endpoint_lines
from sagecost.domain.metering import ResourceRef, meter_job
from sagecost.domain.pricing import PriceBook
from sagecost.domain.timeline import meter_timeline
from sagecost.local import events
from sagecost.models.events import EndpointConfigEvent, parse_event
from sagecost.models.ledger import ResourceKind, TagSnapshot
from sagecost.models.prices import Component, serverless_type
from sagecost.models.state import BillingLine, Transition

KINDS = Path(__file__).resolve().parents[1] / "fixtures" / "kinds"
ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/churn-serverless"
T0 = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((KINDS / name).read_text(encoding="utf-8"))
    return loaded


def test_a_serverless_config_gives_its_memory_and_provisioned_concurrency() -> None:
    config = config_snapshot(fixture("DescribeEndpointConfig-serverless-provisioned.json"))
    (variant,) = config.variants
    assert (variant.serverless, variant.memory_mb, variant.provisioned_concurrency) == (True, 4096, 5)


def test_provisioned_concurrency_bills_concurrency_hours_while_the_endpoint_exists() -> None:
    config = config_snapshot(fixture("DescribeEndpointConfig-serverless-provisioned.json"))
    lines = endpoint_lines("IN_SERVICE", [("AllTraffic", None)], config)
    assert lines == (
        BillingLine(
            line="variant/AllTraffic/provisioned",
            component=Component.SERVERLESS_PROVISIONED,
            instance_type="serverless-4096mb",
            count=5,
        ),
    )
    assert endpoint_lines("UPDATING", [], config) == lines
    assert endpoint_lines("CREATING", [], config) == endpoint_lines("DELETING", [], config) == ()


def test_provisioned_concurrency_two_for_three_hours_is_six_concurrency_hours(prices: PriceBook) -> None:
    config = config_snapshot(fixture("DescribeEndpointConfig-serverless-provisioned.json"))
    two = config.model_copy(
        update={"variants": (config.variants[0].model_copy(update={"provisioned_concurrency": 2}),)}
    )
    transitions = [
        Transition(at=T0, status="IN_SERVICE", lines=endpoint_lines("IN_SERVICE", [], two), event_id="a"),
        Transition(at=T0 + timedelta(hours=3), status="DELETING", lines=(), event_id="b"),
    ]
    resource = ResourceRef.from_arn(ARN, ResourceKind.ENDPOINT, "churn-serverless")
    (record,) = meter_timeline(transitions, resource, T0, T0 + timedelta(hours=5), prices, TagSnapshot())
    assert record.line == "variant/AllTraffic/provisioned"
    assert (record.quantity, record.cost) == (Decimal(6), Decimal("0.6"))
    assert not record.estimated


def test_provisioned_concurrency_of_an_unknown_memory_size_is_kept_unpriced() -> None:
    config = config_snapshot(fixture("DescribeEndpointConfig-serverless-provisioned.json"))
    variant = config.variants[0].model_copy(update={"memory_mb": None})
    (line,) = endpoint_lines("IN_SERVICE", [], config.model_copy(update={"variants": (variant,)}))
    assert line.instance_type == UNKNOWN_INSTANCE_TYPE


def test_a_serverless_variant_without_provisioned_concurrency_bills_no_hours() -> None:
    config = config_snapshot(fixture("DescribeEndpointConfig-serverless-provisioned.json"))
    variant = config.variants[0].model_copy(update={"provisioned_concurrency": None})
    assert endpoint_lines("IN_SERVICE", [], config.model_copy(update={"variants": (variant,)})) == ()


def test_shadow_variants_bill_like_production_variants() -> None:
    config = config_snapshot(fixture("DescribeEndpointConfig-shadow.json"))
    assert [(v.name, v.shadow) for v in config.variants] == [("production", False), ("shadow", True)]
    lines = endpoint_lines("IN_SERVICE", [("production", 2), ("shadow", 1)], config)
    assert [(line.line, line.instance_type, line.count) for line in lines] == [
        ("variant/production", "ml.m5.xlarge", 2),
        ("variant/shadow", "ml.m5.xlarge", 1),
    ]
    # an event that names no variant: the shadow variant bills its initial count, not a production count
    lines = endpoint_lines("IN_SERVICE", [(None, 3)], config)
    assert [(line.line, line.count) for line in lines] == [("variant/production", 3), ("variant/shadow", 1)]


def test_an_endpoint_config_event_carries_its_shadow_variants() -> None:
    raw = events.endpoint_config("churn-shadow-config", [("production", "ml.m5.xlarge", 2)], at=T0)
    raw["detail"]["ShadowProductionVariants"] = fixture("DescribeEndpointConfig-shadow.json")[
        "ShadowProductionVariants"
    ]
    event = parse_event(raw)
    assert isinstance(event, EndpointConfigEvent)
    config = config_snapshot(event.detail.model_dump(by_alias=True))
    assert [(v.name, v.shadow, v.instance_type) for v in config.variants] == [
        ("production", False, "ml.m5.xlarge"),
        ("shadow", True, "ml.m5.xlarge"),
    ]
    plain = parse_event(events.endpoint_config("plain", [("A", "ml.m5.xlarge", 1)], at=T0))
    assert isinstance(plain, EndpointConfigEvent)
    assert [v.shadow for v in config_snapshot(plain.detail.model_dump(by_alias=True)).variants] == [False]


VARIANT = serverless.ServerlessVariant(ARN, "churn-serverless", "AllTraffic", 4096, provisioned=True)


def test_on_demand_is_invocations_not_served_by_provisioned_concurrency_times_average_latency(
    prices: PriceBook,
) -> None:
    # 1,200 invocations, 200 on provisioned concurrency, 150 ms average: 1,000 x 0.15 s = 150 s
    traffic = serverless.HourOfTraffic(Decimal(1200), Decimal(150_000), Decimal(200))
    assert traffic.concurrency_seconds == 150
    run = serverless.on_demand_run(VARIANT, T0, traffic)
    assert run is not None
    (record,) = meter_job(run, prices, TagSnapshot())
    hour = T0.isoformat()
    assert record.record_id == f"{ARN}#variant/AllTraffic/on-demand/{hour}#2026-10"
    assert (record.component, record.instance_type) == (Component.SERVERLESS_INFERENCE, serverless_type(4096))
    assert (record.start, record.end) == (T0, T0 + timedelta(hours=1))
    # 150 s = 0.041667 concurrency-hours; at $0.288 an hour: 150 x 0.00008 = $0.012
    assert record.quantity == Decimal("0.041667")
    assert record.cost == Decimal("0.012")
    assert record.estimated
    assert record.notes == (
        "estimated from CloudWatch: 1000 invocations (of 1200, 200 served by provisioned concurrency)"
        " x 150 ms average latency; trued up by the month-end reconciliation",
    )


def test_without_the_provisioned_invocations_metric_every_invocation_is_on_demand() -> None:
    traffic = serverless.HourOfTraffic(Decimal(40), Decimal(2_500), None)  # 40 x 2.5 ms = 0.1 s
    assert traffic.concurrency_seconds == Decimal("0.1")
    assert serverless.note(traffic).startswith("estimated from CloudWatch: 40 invocations x 2.5 ms")
    idle = serverless.HourOfTraffic(Decimal(0), None, None)
    assert serverless.on_demand_run(VARIANT, T0, idle) is None
    all_provisioned = serverless.HourOfTraffic(Decimal(10), Decimal(1000), Decimal(10))
    assert serverless.on_demand_run(VARIANT, T0, all_provisioned) is None


def test_hourly_readings_become_each_hours_traffic_and_an_unread_series_waits() -> None:
    series = VARIANT.series()
    assert [(s.metric, s.statistic) for s in series] == [
        ("Invocations", "Sum"),
        ("ModelLatency", "Average"),
        ("ServerlessProvisionedConcurrencyInvocations", "Sum"),
    ]
    readings: dict[serverless.HourlySeries, dict[datetime, Decimal] | None] = {
        series[0]: {T0: Decimal(5)},
        series[1]: {T0: Decimal(1000)},
        series[2]: {},
    }
    assert serverless.hour_of_traffic(VARIANT, T0, readings) == serverless.HourOfTraffic(
        Decimal(5), Decimal(1000), None
    )
    quiet = serverless.hour_of_traffic(VARIANT, T0 + timedelta(hours=1), readings)
    assert quiet is not None and quiet.concurrency_seconds == 0
    assert serverless.hour_of_traffic(VARIANT, T0, {**readings, series[1]: None}) is None


def test_the_sweep_estimates_the_last_settled_hours() -> None:
    now = T0 + timedelta(minutes=5)  # 09:00 has not settled yet
    assert serverless.hours_to_estimate(now) == [T0 - timedelta(hours=3), T0 - timedelta(hours=2)]
    assert serverless.hours_to_estimate(T0 + timedelta(minutes=12)) == [
        T0 - timedelta(hours=2),
        T0 - timedelta(hours=1),
    ]


def test_estimated_records_round_trip_the_ledger_item_and_older_items_still_load(prices: PriceBook) -> None:
    traffic = serverless.HourOfTraffic(Decimal(1200), Decimal(150_000), Decimal(200))
    run = serverless.on_demand_run(VARIANT, T0, traffic)
    assert run is not None
    (record,) = meter_job(run, prices, TagSnapshot())
    assert record_from_item(record_item(record)) == record
    measured = record.model_copy(update={"estimated": False})
    item = record_item(measured)
    assert "estimated" not in item  # items (and fingerprints) of measured records are as before
    assert record_from_item(item) == measured and not record_from_item(item).estimated
