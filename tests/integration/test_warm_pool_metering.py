"""Warm pools on moto's DynamoDB: a pool retained 30 minutes after its job adds 0.5 x instances hours,
once, from the sweep, with the job's attribution and the fewest reads."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.prices import Component
from sagecost.services.usage import Outcome, UsageMeter
from sagecost.services.usage.warm_pool import WarmPoolMeter
from sagecost.services.usage.writer import UsageWriter

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kinds" / "DescribeTrainingJob-warm-pool.json"
TAGS = {"Project": "churn", "Team": "growth", "CostCenter": "cc-7"}


def described() -> dict[str, Any]:
    job: dict[str, Any] = json.loads(FIXTURE.read_text())
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        job[key] = datetime.fromtimestamp(job[key], tz=UTC)
    return job


JOB = described()
NAME, ARN = JOB["TrainingJobName"], JOB["TrainingJobArn"]
POOL_END = JOB["TrainingEndTime"] + timedelta(seconds=1800)


def build(ledger: DynamoLedger, prices: PriceBook) -> tuple[UsageMeter, FakeSageMaker]:
    fake = FakeSageMaker(described_training_jobs={NAME: JOB}, resource_tags={ARN: dict(TAGS)})
    config = SagecostConfig()
    meter = UsageMeter(
        ledger, fake, prices, config, kind_meters=[WarmPoolMeter(UsageWriter(ledger, prices, config), fake)]
    )
    return meter, fake


def completed_event() -> dict[str, Any]:
    """The job's terminal event, its figures as the fixture says (the pool still Available then)."""
    return events.training_job(
        NAME,
        "Completed",
        at=JOB["TrainingEndTime"],
        instance_type="ml.m5.xlarge",
        instance_count=2,
        start=JOB["TrainingStartTime"],
        end=JOB["TrainingEndTime"],
        billable_seconds=1800,
        volume_gb=None,
        tags=TAGS,
        region="us-east-1",
        account="111122223333",
    )


def warm_pool_calls(fake: FakeSageMaker) -> dict[str, int]:
    """The reads of this kind (the built-in sweep lists endpoints and notebooks too)."""
    return {k: v for k, v in fake.calls.items() if k not in ("ListEndpoints", "ListNotebookInstances")}


def pool_records(ledger: DynamoLedger) -> list[Any]:
    return [r for r in ledger.records() if r.component is Component.TRAINING_WARM_POOL]


def test_a_pool_retained_30_minutes_after_a_metered_job_adds_half_an_hour_per_instance_without_aws_reads(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, fake = build(ledger, prices)
    # Given the job metered from its terminal event (2 x ml.m5.xlarge, 1800 s billable)
    assert meter.record(parse_event(completed_event())).outcome is Outcome.RECORDED
    fake.calls.clear()
    # When the hourly sweep runs after the pool was terminated, and again an hour later
    first = meter.sweep(POOL_END + timedelta(minutes=20))
    second = meter.sweep(POOL_END + timedelta(minutes=80))
    # Then one warm-pool record: 0.5 h x 2 instances = 1 instance-hour at 0.23, with the job's tags
    (record,) = pool_records(ledger)
    assert record.quantity == Decimal(1)
    assert record.instance_count == 2 and record.instance_type == "ml.m5.xlarge"
    assert record.cost == Decimal("0.23")
    assert record.start == JOB["TrainingEndTime"] and record.end == POOL_END
    assert (record.tags.project, record.tags.team, record.tags.cost_center) == ("churn", "growth", "cc-7")
    assert (first.records, second.records) == (1, 0)
    # the job was known to the ledger: list pages only, no Describe, no ListTags
    assert warm_pool_calls(fake) == {"ListTrainingJobs": 4}
    month = ledger.month_total("2026-10")
    assert month.records == 2  # the job's record and the pool's
    assert month.cost == Decimal("0.23") * 2


def test_a_pool_whose_job_the_ledger_does_not_know_is_read_once_describe_and_list_tags(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, fake = build(ledger, prices)
    meter.sweep(POOL_END + timedelta(minutes=20))
    meter.sweep(POOL_END + timedelta(minutes=80))
    (record,) = pool_records(ledger)
    assert record.quantity == Decimal(1) and record.tags.project == "churn"
    assert warm_pool_calls(fake) == {"ListTrainingJobs": 4, "DescribeTrainingJob": 1, "ListTags": 1}


def test_a_pool_that_ended_before_the_look_back_or_is_still_available_is_not_read(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, fake = build(ledger, prices)
    meter.sweep(POOL_END + timedelta(days=3))
    fake.described_training_jobs[NAME] = JOB | {"WarmPoolStatus": {"Status": "Available"}}
    meter.sweep(POOL_END)
    assert pool_records(ledger) == []
    assert "DescribeTrainingJob" not in fake.calls


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_the_job_event_and_sweeps_three_times_shuffled_gives_the_same_records(
    ledger: DynamoLedger, prices: PriceBook, seed: int
) -> None:
    meter, _ = build(ledger, prices)
    steps: list[Any] = [("event", None)] * 3 + [
        ("sweep", POOL_END + timedelta(minutes=m)) for m in (5, 65, 125)
    ]
    random.Random(seed).shuffle(steps)
    for step, at in steps:
        if step == "event":
            meter.record(parse_event(completed_event()))
        else:
            meter.sweep(at)
    records = sorted(ledger.records(), key=lambda r: r.record_id)
    assert [(r.line, r.quantity, r.cost) for r in records] == [
        ("compute", Decimal(1), Decimal("0.23")),
        ("warm-pool", Decimal(1), Decimal("0.23")),
    ]
    assert ledger.month_total("2026-10").records == 2
