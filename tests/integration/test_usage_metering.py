"""The metering service on moto: events in every real shape become the right ledger, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension
from sagecost.models.prices import Component
from sagecost.services.usage import Outcome, UsageMeter

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook) -> UsageMeter:
    return UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig())


def rate(prices: PriceBook, component: Component, instance_type: str) -> Decimal:
    price = prices.rate("us-east-1", component, instance_type)
    assert price is not None, f"the shipped catalog prices {component} {instance_type} in us-east-1"
    return price.usd


def totals(ledger: DynamoLedger, month: str) -> dict[tuple[Dimension, str], Decimal]:
    return {(a.dimension, a.value): a.cost for a in ledger.aggregates(month)}


def test_terminal_training_event_gives_instance_hours_at_the_catalog_rate_once(
    meter: UsageMeter, ledger: DynamoLedger, prices: PriceBook
) -> None:
    # Given a 2-instance ml.g5.xlarge job that billed 3600 s, its terminal event carrying the figure
    completed = events.training_job(
        "train-fraud-1",
        "Completed",
        at=T0 + timedelta(hours=1, minutes=1),
        instance_type="ml.g5.xlarge",
        instance_count=2,
        start=T0,
        end=T0 + timedelta(hours=1),
        billable_seconds=3600,
        volume_gb=None,
        tags=TAGS,
    )
    # When it is delivered four times
    outcomes = [meter.record(parse_event(completed)).outcome for _ in range(4)]

    # Then one record of 2 instance-hours at the catalog rate, and the aggregates count it once
    assert outcomes == [Outcome.RECORDED, Outcome.DUPLICATE, Outcome.DUPLICATE, Outcome.DUPLICATE]
    (record,) = list(ledger.records("2026-11"))
    assert record.quantity == Decimal("2.000000")
    assert record.instance_count == 2
    assert record.unit_price == rate(prices, Component.TRAINING, "ml.g5.xlarge")
    assert record.cost == 2 * record.unit_price
    assert record.tags.project == "fraud" and record.tags.owner == "alice"
    assert totals(ledger, "2026-11")[(Dimension.PROJECT, "fraud")] == record.cost
    assert ledger.month_total("2026-11").cost == record.cost
    assert ledger.month_total("2026-11").records == 1


def test_training_billable_time_comes_from_describe_training_job_when_the_event_lacks_it(
    meter: UsageMeter, ledger: DynamoLedger, prices: PriceBook
) -> None:
    from moto.backends import get_backend

    sagemaker = boto3.client("sagemaker")
    sagemaker.create_training_job(
        TrainingJobName="spot-job",
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/SageMaker",
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 7200},
        EnableManagedSpotTraining=True,
    )
    job = get_backend("sagemaker")["123456789012"]["us-east-1"].training_jobs["spot-job"]
    # moto has no billing: set what DescribeTrainingJob returns for a finished spot job
    for attribute, value in {
        "training_start_time": T0,
        "training_end_time": T0 + timedelta(hours=2),
        "billable_time_in_seconds": 2700,
        "training_time_in_seconds": 7200,
    }.items():
        setattr(job, attribute, value)
    event = events.training_job(
        "spot-job",
        "Completed",
        at=T0 + timedelta(hours=2),
        instance_type="ml.m5.xlarge",
        start=T0,
        end=T0 + timedelta(hours=2),
        volume_gb=10,
        tags=TAGS,
        account="123456789012",
        time_format="epoch_str",
    )
    result = meter.record(parse_event(event))
    compute = next(r for r in result.records if r.component is Component.TRAINING)
    assert compute.quantity == Decimal("0.75")  # 2700 s of one instance
    assert any("managed spot" in note and "62% saved" in note for note in compute.notes)
    storage = next(r for r in result.records if r.component is Component.ML_STORAGE)
    assert storage.unit == "GB-month" and storage.quantity > 0


def test_heterogeneous_cluster_bills_every_instance_group(meter: UsageMeter, ledger: DynamoLedger) -> None:
    event = events.training_job(
        "hetero",
        "Completed",
        at=T0 + timedelta(hours=1),
        instance_type="ml.p4d.24xlarge",
        start=T0,
        end=T0 + timedelta(minutes=30),
        billable_seconds=1800,
        volume_gb=None,
        tags=TAGS,
        instance_groups=[("gpu", "ml.p4d.24xlarge", 2), ("cpu", "ml.c5.xlarge", 4)],
    )
    records = {r.line: r for r in meter.record(parse_event(event)).records}
    assert records["group/gpu"].quantity == Decimal("1") and records["group/gpu"].instance_count == 2
    assert (
        records["group/cpu"].quantity == Decimal("2") and records["group/cpu"].instance_type == "ml.c5.xlarge"
    )


def test_processing_job_without_tags_in_its_event_reads_them_with_list_tags(
    meter: UsageMeter, ledger: DynamoLedger
) -> None:
    # Given a processing job created with tags; AWS's processing events carry none
    boto3.client("sagemaker").create_processing_job(
        ProcessingJobName="prep",
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}
        },
        AppSpecification={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:latest"},
        RoleArn="arn:aws:iam::123456789012:role/SageMaker",
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )
    event = events.processing_job(
        "prep",
        "Completed",
        at=T0 + timedelta(minutes=20),
        instance_type="ml.m5.xlarge",
        instance_count=3,
        start=T0,
        end=T0 + timedelta(minutes=20),
        volume_gb=5,
        account="123456789012",
    )
    result = meter.record(parse_event(event))
    compute = next(r for r in result.records if r.component is Component.PROCESSING)
    assert compute.quantity == Decimal("1")  # 3 instances x 20 minutes
    assert compute.tags.project == "fraud" and compute.tags.team == "risk"


def test_endpoint_in_service_for_ten_hours_then_deleted_gives_twenty_instance_hours(
    meter: UsageMeter, ledger: DynamoLedger, prices: PriceBook
) -> None:
    feed = [
        events.endpoint_config("cfg-a", [("AllTraffic", "ml.m5.xlarge", 2)], at=T0 - timedelta(minutes=10)),
        events.endpoint(
            "ep-a",
            "CREATING",
            at=T0 - timedelta(minutes=8),
            config_name="cfg-a",
            variants=[("AllTraffic", 2)],
            tags=TAGS,
        ),
        events.endpoint(
            "ep-a", "IN_SERVICE", at=T0, config_name="cfg-a", variants=[("AllTraffic", 2)], tags=TAGS
        ),
        events.endpoint(
            "ep-a",
            "DELETING",
            at=T0 + timedelta(hours=10),
            config_name="cfg-a",
            variants=[("AllTraffic", 2)],
            tags=TAGS,
        ),
        events.endpoint(
            "ep-a",
            "DELETED",
            at=T0 + timedelta(hours=10, minutes=2),
            config_name="cfg-a",
            variants=[],
            tags={},
        ),
    ]
    for raw in feed:
        meter.record(parse_event(raw))
    records = list(ledger.records("2026-11"))
    hosting = sum(r.quantity for r in records if r.component is Component.HOSTING)
    assert hosting == Decimal(20)
    expected = Decimal(20) * rate(prices, Component.HOSTING, "ml.m5.xlarge")
    assert totals(ledger, "2026-11")[(Dimension.PROJECT, "fraud")] == expected


def test_endpoint_running_across_a_month_end_is_split_between_the_months(
    meter: UsageMeter, ledger: DynamoLedger
) -> None:
    start = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)
    feed = [
        events.endpoint_config("cfg-b", [("AllTraffic", "ml.m5.xlarge", 1)], at=start - timedelta(minutes=5)),
        events.endpoint(
            "ep-b",
            "IN_SERVICE",
            at=start,
            config_name="cfg-b",
            variants=[("AllTraffic", 1)],
            tags=TAGS,
            time_format="iso",
            tag_format="list",
        ),
        events.endpoint(
            "ep-b",
            "DELETING",
            at=start + timedelta(hours=10),
            config_name="cfg-b",
            variants=[("AllTraffic", 1)],
            tags=TAGS,
            time_format="epoch_str",
        ),
    ]
    for raw in feed:
        meter.record(parse_event(raw))
    october = sum(r.quantity for r in ledger.records("2026-10"))
    november = sum(r.quantity for r in ledger.records("2026-11"))
    assert (october, november) == (Decimal(4), Decimal(6))
    assert all(
        r.start.month == r.end.month or r.end == datetime(2026, 11, 1, tzinfo=UTC) for r in ledger.records()
    )


def test_events_in_reverse_order_give_the_same_ledger(meter: UsageMeter, ledger: DynamoLedger) -> None:
    feed = [
        events.endpoint_config("cfg-c", [("v1", "ml.c5.xlarge", 1)], at=T0 - timedelta(minutes=1)),
        events.endpoint("ep-c", "IN_SERVICE", at=T0, config_name="cfg-c", variants=[("v1", 1)], tags=TAGS),
        events.endpoint(
            "ep-c",
            "UPDATING",
            at=T0 + timedelta(hours=3),
            config_name="cfg-c",
            variants=[("v1", 3)],
            tags=TAGS,
        ),
        events.endpoint(
            "ep-c",
            "DELETING",
            at=T0 + timedelta(hours=5),
            config_name="cfg-c",
            variants=[("v1", 3)],
            tags=TAGS,
        ),
    ]
    for raw in [feed[0], *reversed(feed[1:])]:
        meter.record(parse_event(raw))
    by_start = sorted((r.start, r.quantity) for r in ledger.records("2026-11"))
    assert by_start == [(T0, Decimal(3)), (T0 + timedelta(hours=3), Decimal(6))]
    assert ledger.month_total("2026-11").records == 2


def test_unknown_instance_type_is_kept_unpriced_never_zero(meter: UsageMeter, ledger: DynamoLedger) -> None:
    event = events.training_job(
        "exotic",
        "Completed",
        at=T0 + timedelta(hours=1),
        instance_type="ml.x99.mega",
        start=T0,
        end=T0 + timedelta(hours=1),
        billable_seconds=3600,
        volume_gb=None,
        tags=TAGS,
    )
    (record,) = meter.record(parse_event(event)).records
    assert record.unpriced and record.cost is None and record.unit_price is None
    total = ledger.month_total("2026-11")
    assert (total.cost, total.unpriced_records, total.unpriced_instance_hours) == (Decimal(0), 1, Decimal(1))


def test_notebook_bills_its_instance_while_in_service_and_its_volume_until_deleted(
    meter: UsageMeter, ledger: DynamoLedger
) -> None:
    feed = [
        events.notebook("nb", "Pending", at=T0, instance_type="ml.t3.medium", volume_gb=20, tags=TAGS),
        events.notebook(
            "nb", "InService", at=T0 + timedelta(minutes=5), instance_type="ml.t3.medium", tags=TAGS
        ),
        events.notebook(
            "nb", "Stopping", at=T0 + timedelta(hours=8, minutes=5), instance_type="ml.t3.medium"
        ),
        events.notebook("nb", "Stopped", at=T0 + timedelta(hours=8, minutes=6), instance_type="ml.t3.medium"),
        events.notebook("nb", "Deleted", at=T0 + timedelta(hours=24), instance_type="ml.t3.medium"),
    ]
    for raw in feed:
        meter.record(parse_event(raw))
    records = list(ledger.records("2026-11"))
    compute = sum(r.quantity for r in records if r.component is Component.NOTEBOOK)
    storage_hours = sum(r.duration_seconds for r in records if r.component is Component.ML_STORAGE) / 3600
    assert compute == Decimal("8.016667")  # 08:05 -> 16:11 (Stopping bills until Stopped)
    assert storage_hours == 24
    assert all(r.tags.project == "fraud" for r in records)
