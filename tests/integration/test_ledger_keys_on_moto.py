"""Ledger keys on moto: a `|` in a tag value or an ARN, the longest legal tag values and a long ARN are
metered, allocated and exported with their exact values, and every key stays within DynamoDB's limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from tests.conftest import TABLE
from tests.integration.test_cost_allocation import job

from sagecost.adapters.ledger import PARTITION_KEY_BYTES, SORT_KEY_BYTES, DynamoLedger, aggregate_from_item
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.aggregates import aggregate_deltas
from sagecost.domain.pricing import PriceBook
from sagecost.domain.tags import forbidden_tag
from sagecost.local import events
from sagecost.models.budgets import AlertKind, alert_key
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension, TagSnapshot, UsageRecord
from sagecost.services.allocation import MonthEndAllocator, render_outputs
from sagecost.services.budgets import top_drivers
from sagecost.services.usage import UsageMeter

OCTOBER = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
TAG_KEYS = {"project": "Project", "team": "Team", "cost_center": "CostCenter", "environment": "Environment"}
KEY_LIMITS = {
    "pk": PARTITION_KEY_BYTES,
    "sk": SORT_KEY_BYTES,
    "gsi1pk": PARTITION_KEY_BYTES,
    "gsi1sk": SORT_KEY_BYTES,
    "open_pk": PARTITION_KEY_BYTES,
    "open_sk": SORT_KEY_BYTES,
}


def job_record(arn: str, cost: str, tags: TagSnapshot) -> UsageRecord:
    """`job` of the allocation tests, on this ARN and with these tags."""
    record = job(arn.rsplit("/", 1)[-1], cost, project=tags.project)
    return record.model_copy(
        update={
            "record_id": f"{arn}#compute",
            "resource_arn": arn,
            "resource_name": arn.rsplit("/", 1)[-1],
            "tags": tags,
        }
    )


def raw_items() -> Iterator[dict[str, Any]]:
    paginator = boto3.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=TABLE):
        yield from page["Items"]


def oversized_keys() -> list[tuple[str, int]]:
    """Every key attribute (table and indexes) longer than DynamoDB allows: moto checks puts, not updates."""
    return [
        (name, len(item[name]["S"].encode()))
        for item in raw_items()
        for name, limit in KEY_LIMITS.items()
        if name in item and len(item[name]["S"].encode()) > limit
    ]


def test_a_month_with_the_separator_in_tag_values_and_an_arn_allocates_with_the_exact_values(
    ledger: DynamoLedger,
) -> None:
    piped_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/fraud|v2"
    piped = TagSnapshot(project="fraud|ml", team="risk|ops", cost_center="cc|1", environment="dev")
    plain = TagSnapshot(project="churn", team="growth", cost_center="cc-2", environment="prod")
    for record in (
        job_record(piped_arn, "3", piped),
        job_record(f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn", "2", plain),
    ):
        assert ledger.put_job_records([record], aggregate_deltas([record]))

    month_end = MonthEndAllocator(ledger, SagecostConfig()).run("2026-10")

    rows = {(r.project, r.team, r.cost_center): r.total for r in month_end.report.rows}
    assert rows == {
        ("fraud|ml", "risk|ops", "cc|1"): Decimal("3.00"),
        ("churn", "growth", "cc-2"): Decimal("2.00"),
    }
    line = next(line for line in month_end.lines if line.project == "fraud|ml")
    assert (line.resource_arn, line.team, line.cost_center, line.environment) == (
        piped_arn,
        "risk|ops",
        "cc|1",
        "dev",
    )
    assert line.resource_name == "fraud|v2"
    drivers = top_drivers(ledger, "2026-10", Dimension.PROJECT, "fraud|ml")
    assert [driver.name for driver in drivers] == ["fraud|v2"]
    focus = render_outputs(month_end, TAG_KEYS)["focus.csv"].decode()
    assert "fraud|v2" in focus and "risk|ops" in focus


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook) -> UsageMeter:
    return UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig())


def test_four_legal_256_character_tag_values_meter_and_allocate_within_the_key_limits(
    meter: UsageMeter, ledger: DynamoLedger
) -> None:
    # Given four tag values SageMaker accepts, 256 characters each (one of 4-byte letters: 1,024 bytes)
    tags = {
        "Project": "\N{MATHEMATICAL BOLD CAPITAL P}" * 256,
        "Team": "t" * 255 + "1",
        "CostCenter": "c" * 250 + "-1:2/3",
        "Environment": "d" * 256,
        "Owner": "alice",
    }
    assert all(forbidden_tag(key, value) is None for key, value in tags.items())
    project, team, cost_center, environment = (
        tags[k] for k in ("Project", "Team", "CostCenter", "Environment")
    )
    feed = [
        events.training_job(
            "long-tags",
            "Completed",
            at=OCTOBER + timedelta(hours=1),
            instance_type="ml.m5.xlarge",
            start=OCTOBER,
            end=OCTOBER + timedelta(hours=1),
            billable_seconds=3600,
            volume_gb=None,
            tags=tags,
        ),
        events.endpoint_config(
            "cfg-long", [("AllTraffic", "ml.m5.xlarge", 1)], at=OCTOBER - timedelta(minutes=5)
        ),
        events.endpoint(
            "ep-long",
            "IN_SERVICE",
            at=OCTOBER,
            config_name="cfg-long",
            variants=[("AllTraffic", 1)],
            tags=tags,
        ),
        events.endpoint(
            "ep-long",
            "DELETING",
            at=OCTOBER + timedelta(hours=2),
            config_name="cfg-long",
            variants=[("AllTraffic", 1)],
            tags=tags,
        ),
    ]

    # When they are metered (twice: a redelivery changes nothing) and the month is allocated
    for raw in feed + feed:
        meter.record(parse_event(raw))
    month_end = MonthEndAllocator(ledger, SagecostConfig()).run("2026-10")

    # Then no key is longer than DynamoDB allows, and every reader gets the full values back
    assert oversized_keys() == []
    hours = sum(r.quantity for r in ledger.records("2026-10"))
    assert hours == Decimal(3)  # 1 training hour + 2 endpoint hours, counted once
    ((row_key, row_total),) = [((r.project, r.team, r.cost_center), r.total) for r in month_end.report.rows]
    assert row_key == (project, team, cost_center)
    assert row_total == month_end.report.totals.metered > 0
    assert {(line.project, line.team, line.cost_center, line.environment) for line in month_end.lines} == {
        (project, team, cost_center, environment)
    }
    spend = ledger.budget_spend("2026-10", [(Dimension.PROJECT, project), (Dimension.TEAM, team)])
    assert spend[(Dimension.PROJECT, project)].cost == spend[(Dimension.TEAM, team)].cost == row_total
    assert len(top_drivers(ledger, "2026-10", Dimension.PROJECT, project)) == 2
    rendered = render_outputs(month_end, TAG_KEYS)
    assert project in rendered["focus.csv"].decode() and cost_center in rendered["allocation.csv"].decode()
    # and what the stream carries to the budget alerter (the new image) reads back in full
    aggregates = [
        aggregate_from_item("2026-10", ledger_item)
        for ledger_item in map(plain_values, raw_items())
        if ledger_item["pk"] == "AGG#2026-10"
    ]
    assert {a.value for a in aggregates if a.dimension is Dimension.PROJECT} == {project}


def plain_values(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def test_an_arn_as_long_as_an_arn_can_be_is_recorded_and_read_back(ledger: DynamoLedger) -> None:
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/" + "j" * 2000
    record = job_record(arn, "1", TagSnapshot(project="fraud"))
    assert ledger.put_job_records([record], aggregate_deltas([record]))
    assert not ledger.put_job_records([record], aggregate_deltas([record]))  # the duplicate still collides
    assert ledger.resource_records(arn) == [record]
    assert [r.record_id for r in ledger.records("2026-10")] == [record.record_id]
    assert ledger.record_action(arn, "creation", OCTOBER, {"project": "fraud"})
    assert not ledger.record_action(arn, "creation", OCTOBER, {"project": "fraud"})
    ledger.release_action(arn, "creation")
    assert ledger.record_action(arn, "creation", OCTOBER, {"project": "fraud"})
    assert [a["resource_arn"] for a in ledger.actions("2026-10")] == [arn]
    assert oversized_keys() == []


def test_an_alert_on_a_budget_named_by_the_longest_value_is_claimed_once(ledger: DynamoLedger) -> None:
    key = alert_key("project:" + "\N{MATHEMATICAL BOLD CAPITAL P}" * 256, AlertKind.THRESHOLD, "80")
    lease = OCTOBER + timedelta(minutes=5)
    token = ledger.claim_alert("2026-10", key, OCTOBER, {"kind": "threshold"}, lease)
    assert token is not None
    ledger.release_alert("2026-10", key, token)
    token = ledger.claim_alert("2026-10", key, OCTOBER, {"kind": "threshold"}, lease)
    assert token is not None
    ledger.confirm_alert("2026-10", key, token, OCTOBER, {"kind": "threshold"})
    assert ledger.claim_alert("2026-10", key, OCTOBER, {"kind": "threshold"}, lease) is None  # sent: once
    assert oversized_keys() == []
