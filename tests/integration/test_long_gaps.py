"""Usage across a long gap with no sweep (sweeper down, events late): every hour is metered, in as many
transactions as it takes, each one consistent on its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.local.moto_speedups import fast_dynamodb_transactions
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.prices import Component
from sagecost.services.allocation import sealed_note
from sagecost.services.usage import UsageMeter

T0 = datetime(2026, 11, 2, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook) -> Iterator[UsageMeter]:
    with fast_dynamodb_transactions():  # moto copies the whole table per transaction item otherwise
        yield UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig())


def wide_endpoint(variant_count: int, end: datetime | None) -> list[dict[str, Any]]:
    """Config, InService at T0 and (with `end`) Deleting: N one-instance variants with ML storage."""
    names = [f"v{i}" for i in range(variant_count)]
    counts = [(name, 1) for name in names]
    feed = [
        events.endpoint_config(
            "cfg-wide", [(n, "ml.m5.xlarge", 1) for n in names], at=T0 - timedelta(minutes=5), volume_gb=30
        ),
        events.endpoint("ep-wide", "IN_SERVICE", at=T0, config_name="cfg-wide", variants=counts, tags=TAGS),
    ]
    if end is not None:
        feed.append(
            events.endpoint("ep-wide", "DELETING", at=end, config_name="cfg-wide", variants=counts, tags=TAGS)
        )
    return feed


def assert_metered_exactly(ledger: DynamoLedger, instance_hours: int) -> None:
    """The records hold exactly these hosting instance-hours, and the month aggregates add up to them."""
    records = list(ledger.records())
    hosting = sum((r.quantity for r in records if r.component is Component.HOSTING), Decimal(0))
    assert hosting == instance_hours
    cost: dict[str, Decimal] = {}
    for record in records:
        cost[record.month] = cost.get(record.month, Decimal(0)) + (record.cost or Decimal(0))
    assert {month: ledger.month_total(month).cost for month in cost} == cost


@pytest.mark.parametrize(("variant_count", "days"), [(6, 15), (10, 10), (6, 30)])
def test_many_variants_in_service_for_weeks_without_a_sweep_meter_every_hour(
    meter: UsageMeter, ledger: DynamoLedger, variant_count: int, days: int
) -> None:
    # Given an endpoint with N one-instance variants, in service for D days, no sweep in between
    # When its events are recorded
    for raw in wide_endpoint(variant_count, T0 + timedelta(days=days)):
        meter.record(parse_event(raw))

    # Then every instance-hour is in the ledger, and the aggregates agree with the records
    assert_metered_exactly(ledger, variant_count * days * 24)


def test_the_sweep_back_after_two_weeks_closes_a_vanished_endpoint_with_every_hour(
    meter: UsageMeter, ledger: DynamoLedger
) -> None:
    # Given 6 variants in service since T0, the endpoint gone from SageMaker and its end event lost
    for raw in wide_endpoint(6, None):
        meter.record(parse_event(raw))

    # When the sweeper runs again 15 days later
    report = meter.sweep(T0 + timedelta(days=15))

    # Then it closes the endpoint at that sweep with all 2,160 instance-hours
    assert report.closed == 1
    assert_metered_exactly(ledger, 6 * 15 * 24)
    assert list(ledger.open_timelines()) == []


def test_a_writer_stopped_between_two_transactions_loses_nothing(
    meter: UsageMeter, ledger: DynamoLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 6 variants in service for 15 days, and a recorder that dies after the first transaction of
    # the Deleting event
    *start, deleting = wide_endpoint(6, T0 + timedelta(days=15))
    for raw in start:
        meter.record(parse_event(raw))
    commit = ledger.commit_many
    calls: list[int] = []

    def commit_then_die(*args: Any, **kwargs: Any) -> None:
        if calls:
            raise TimeoutError("the function timed out")
        calls.append(1)
        commit(*args, **kwargs)

    monkeypatch.setattr(ledger, "commit_many", commit_then_die)
    with pytest.raises(TimeoutError):
        meter.record(parse_event(deleting))

    # Then what was committed is consistent and the endpoint still open, for the sweep to find
    (half_way,) = ledger.open_timelines()
    assert half_way.metered_until is not None and half_way.metered_until < T0 + timedelta(days=15)
    assert_metered_exactly(ledger, 6 * round((half_way.metered_until - T0).total_seconds()) // 3600)

    # And when SQS redelivers the event, every hour is metered once
    monkeypatch.setattr(ledger, "commit_many", commit)
    meter.record(parse_event(deleting))
    assert_metered_exactly(ledger, 6 * 15 * 24)
    assert list(ledger.open_timelines()) == []


def test_a_change_only_the_sweep_saw_before_the_seal_is_kept_once_as_an_unmetered_gap(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    # Given an endpoint metered by the sweep for 4 days, whose doubling on day 1 no event announced
    fake = FakeSageMaker()
    meter = UsageMeter(ledger, fake, prices, SagecostConfig())
    feed = [
        events.endpoint_config("cfg-gap", [("AllTraffic", "ml.m5.xlarge", 1)], at=T0 - timedelta(minutes=5)),
        events.endpoint("ep-gap", "IN_SERVICE", at=T0, config_name="cfg-gap", variants=[("AllTraffic", 1)]),
    ]
    for raw in feed:
        fake.observe(raw)
        meter.record(parse_event(raw))
    meter.sweep(T0 + timedelta(days=4))
    fake.observe(
        events.endpoint(
            "ep-gap",
            "UPDATING",
            at=T0 + timedelta(days=1),
            config_name="cfg-gap",
            variants=[("AllTraffic", 2)],
        )
    )

    # When the sweep sees it, hour after hour
    for hour in (1, 2, 3):
        meter.sweep(T0 + timedelta(days=4, hours=hour))

    # Then it is kept once, as a rejection with reason `sealed`, counted for the month as an unmetered gap
    assert ledger.sealed("2026-11") == {"usage_sweeper": 1}
    (kept,) = [r for r in ledger.rejected() if r["reason"] == "sealed"]
    assert json.loads(kept["raw"])["status"] == "UPDATING"
    assert sealed_note(ledger.sealed("2026-11")) == (
        "sealed: 0 state change event(s) and 1 change(s) seen by the sweep came after their usage was sealed"
        " (2 days) and were not applied; each is kept as a rejection with reason `sealed`"
    )
