"""Warm pools: the pure rules, on the real DescribeTrainingJob shape (tests/fixtures/kinds)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sagecost.adapters.sagemaker import Boto3SageMaker, warm_pool_of
from sagecost.domain.kinds import warm_pool
from sagecost.domain.metering import meter_job
from sagecost.domain.pricing import PriceBook
from sagecost.models.ledger import TagSnapshot
from sagecost.models.prices import Component

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kinds" / "DescribeTrainingJob-warm-pool.json"
TIMES = ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime")


def described(**changes: Any) -> dict[str, Any]:
    """The fixture as boto3 returns it (epoch seconds become aware datetimes)."""
    job: dict[str, Any] = json.loads(FIXTURE.read_text())
    for key in TIMES:
        job[key] = datetime.fromtimestamp(job[key], tz=UTC)
    return job | changes


def test_a_terminated_pool_of_two_instances_retained_1800_s_is_one_instance_hour(prices: PriceBook) -> None:
    pool = warm_pool_of(described())
    assert warm_pool.final(pool) and warm_pool.billed(pool)
    run = warm_pool.job_run(pool, "ml.m5.xlarge", 2)
    assert run is not None
    assert run.component is Component.TRAINING_WARM_POOL
    assert run.start == pool.job_end and run.end == pool.job_end + timedelta(seconds=1800)
    (record,) = meter_job(run, prices, TagSnapshot())
    # 1800 s x 2 instances / 3600 = 1.0 instance-hour, at the warm-pool rate of the test catalog (0.23)
    assert record.quantity == Decimal(1)
    assert record.cost == Decimal("0.23")
    assert record.line == "warm-pool"
    assert record.record_id == f"{pool.job_arn}#warm-pool#2026-10"


def test_an_available_or_in_use_pool_is_not_final_and_bills_nothing_yet() -> None:
    for status in ("Available", "InUse"):
        pool = warm_pool_of(described(WarmPoolStatus={"Status": status}))
        assert not warm_pool.final(pool)
        assert warm_pool.job_run(pool, "ml.m5.xlarge", 2) is None


def test_a_pool_reused_at_once_bills_nothing_and_a_reused_pool_names_its_job() -> None:
    at_once = warm_pool_of(
        described(WarmPoolStatus={"Status": "Reused", "ResourceRetainedBillableTimeInSeconds": 0})
    )
    assert warm_pool.final(at_once) and not warm_pool.billed(at_once)
    reused = warm_pool_of(
        described(
            WarmPoolStatus={
                "Status": "Reused",
                "ResourceRetainedBillableTimeInSeconds": 600,
                "ReusedByJob": "xgb-churn-2",
            }
        )
    )
    run = warm_pool.job_run(reused, "ml.m5.xlarge", 2)
    assert run is not None and run.billable_seconds == 600
    assert "reused by xgb-churn-2" in run.notes


def test_a_pool_across_midnight_of_a_month_end_is_split_by_wall_time(prices: PriceBook) -> None:
    end = datetime(2026, 10, 31, 23, 45, tzinfo=UTC)
    pool = warm_pool_of(described(TrainingEndTime=end))
    run = warm_pool.job_run(pool, "ml.m5.xlarge", 2)
    assert run is not None
    october, november = meter_job(run, prices, TagSnapshot())
    assert (october.month, november.month) == ("2026-10", "2026-11")
    assert october.quantity == november.quantity == Decimal("0.5")
    assert october.record_id == warm_pool.record_id(pool.job_arn, end)


def test_training_record_ids_name_the_months_of_the_jobs_end_and_creation() -> None:
    arn = "arn:aws:sagemaker:us-east-1:111122223333:training-job/j"
    end = datetime(2026, 11, 1, 1, tzinfo=UTC)
    assert warm_pool.training_record_ids(arn, end, end - timedelta(hours=3)) == (
        f"{arn}#compute#2026-11",
        f"{arn}#compute#2026-10",
    )


def test_tags_of_gives_back_the_attribution_a_job_record_carries() -> None:
    snapshot = TagSnapshot(project="fraud", team="risk")
    names = {
        "project": "Project",
        "team": "Team",
        "cost_center": "CostCenter",
        "environment": "Env",
        "owner": "O",
    }
    assert warm_pool.tags_of(snapshot, names) == {"Project": "fraud", "Team": "risk"}


class _Pages:
    def __init__(self, jobs: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
        self.jobs, self.calls = jobs, calls

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(kwargs)
        status = kwargs["WarmPoolStatusEquals"]
        return [{"TrainingJobSummaries": [j for j in self.jobs if j["WarmPoolStatus"]["Status"] == status]}]


class _Client:
    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs: list[dict[str, Any]] = jobs
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> _Pages:
        assert operation == "list_training_jobs"
        return _Pages(self.jobs, self.calls)

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        return next(j for j in self.jobs if j["TrainingJobName"] == TrainingJobName)


def test_the_adapter_lists_terminated_and_reused_pools_since_the_look_back_and_reads_the_pool() -> None:
    summary_keys = (
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "WarmPoolStatus",
    )
    job = described()
    client = _Client([{k: job[k] for k in summary_keys}])
    reader = Boto3SageMaker(client)  # type: ignore[arg-type]
    since = datetime(2026, 10, 12, tzinfo=UTC)
    (pool,) = reader.ended_warm_pools(since)
    assert [c["WarmPoolStatusEquals"] for c in client.calls] == ["Terminated", "Reused"]
    assert all(c["LastModifiedTimeAfter"] == since for c in client.calls)
    assert all(c["PaginationConfig"]["PageSize"] == 100 for c in client.calls)
    assert (pool.status, pool.retained_seconds, pool.job_end) == ("Terminated", 1800, job["TrainingEndTime"])
    client.jobs = [job]
    billing = Boto3SageMaker(client).training_billing(job["TrainingJobName"])  # type: ignore[arg-type]
    assert billing is not None
    assert (billing.warm_pool_status, billing.warm_pool_seconds) == ("Terminated", 1800)
