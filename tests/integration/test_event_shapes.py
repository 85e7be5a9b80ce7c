"""Real event shapes without the instance figures: metered from the one read the kind allows, never rejected.

Transform job state changes may lack `TransformResources` and training state changes `ResourceConfig`
(AWS-FACTS.md section 1.2, the EventBridge schema registry). The meter then reads DescribeTransformJob, or
takes the instances and volume from the DescribeTrainingJob call it makes anyway for the billable time:
still at most one read and one DynamoDB transaction per event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto.backends import get_backend

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.metering import InstanceLine
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.models.config import SagecostConfig
from sagecost.models.events import TrainingJobEvent, TransformJobEvent, parse_event
from sagecost.models.prices import Component
from sagecost.services.usage import Outcome, UsageMeter

ACCOUNT = "123456789012"
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMaker"


def without(event: dict[str, Any], field: str) -> dict[str, Any]:
    """The event as AWS may send it: `field` left out of its detail."""
    detail = {k: v for k, v in event["detail"].items() if k != field}
    return {**event, "detail": detail}


class Requests:
    """Every AWS request the meter's clients send, by operation (botocore `before-send`, retries included)."""

    def __init__(self, *clients: Any) -> None:
        self.sent: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register_first("before-send", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        self.sent[event_name.split(".", 2)[2]] += 1  # before-send.<service>.<Operation>

    def take(self) -> Counter[str]:
        sent, self.sent = self.sent, Counter()
        return sent


@pytest.fixture
def sagemaker(ledger: DynamoLedger) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def requests(ledger: DynamoLedger, sagemaker: Any) -> Requests:
    return Requests(sagemaker, ledger.client)


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook, sagemaker: Any) -> UsageMeter:
    return UsageMeter(ledger, Boto3SageMaker(sagemaker), prices, SagecostConfig())


def transform_in_moto(sagemaker: Any, name: str, instance_type: str, count: int) -> None:
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName="model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/"}}},
        TransformOutput={"S3OutputPath": "s3://out/"},
        TransformResources={"InstanceType": instance_type, "InstanceCount": count},
    )
    job = get_backend("sagemaker")[ACCOUNT]["us-east-1"].transform_jobs[name]
    job.transform_start_time, job.transform_end_time = T0, T0 + 2 * H  # moto starts and ends at once


def training_in_moto(sagemaker: Any, name: str, *, billable: int, volume_gb: int = 10) -> None:
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": volume_gb},
        StoppingCondition={"MaxRuntimeInSeconds": 7200},
    )
    job = get_backend("sagemaker")[ACCOUNT]["us-east-1"].training_jobs[name]
    for attribute, value in {
        "training_start_time": T0,
        "training_end_time": T0 + H,
        "billable_time_in_seconds": billable,
        "training_time_in_seconds": billable,
    }.items():
        setattr(job, attribute, value)


def test_describe_transform_job_gives_the_resources_and_times_in_the_real_response_shape(
    sagemaker: Any,
) -> None:
    transform_in_moto(sagemaker, "scores", "ml.m5.xlarge", 3)
    reader = Boto3SageMaker(sagemaker)

    figures = reader.transform_job("scores")

    assert figures is not None
    assert figures.instances == (InstanceLine("compute", "ml.m5.xlarge", 3),)
    assert (figures.start, figures.end) == (T0, T0 + 2 * H)
    assert reader.transform_job("never-ran") is None  # ValidationException "Could not find ..."


def test_transform_event_without_transform_resources_is_metered_from_one_describe(
    meter: UsageMeter, ledger: DynamoLedger, requests: Requests, sagemaker: Any
) -> None:
    # Given a 3-instance transform job that ran two hours, its state events without TransformResources
    transform_in_moto(sagemaker, "scores", "ml.m5.xlarge", 3)
    completed = without(
        events.transform_job(
            "scores",
            "Completed",
            at=T0 + 2 * H,
            instance_type="ml.m5.xlarge",
            start=T0,
            end=T0 + 2 * H,
            tags=TAGS,
            account=ACCOUNT,
        ),
        "TransformResources",
    )
    event = parse_event(completed)
    assert isinstance(event, TransformJobEvent) and event.detail.transform_resources is None  # not rejected
    requests.take()

    # When it is delivered, then delivered again
    first = meter.record(event)
    first_requests = requests.take()
    again = meter.record(parse_event(completed))

    # Then six instance-hours, read with one DescribeTransformJob and written in one transaction
    assert (first.outcome, again.outcome) == (Outcome.RECORDED, Outcome.DUPLICATE)
    (record,) = first.records
    assert record.component is Component.BATCH_TRANSFORM
    assert (record.instance_type, record.instance_count, record.quantity) == ("ml.m5.xlarge", 3, Decimal(6))
    assert record.cost is not None and record.cost > 0
    assert record.tags.project == "fraud"
    assert first_requests == Counter({"DescribeTransformJob": 1, "TransactWriteItems": 1})
    assert [r.record_id for r in ledger.records("2026-11")] == [record.record_id]


def test_transform_in_progress_without_resources_reads_nothing(meter: UsageMeter, requests: Requests) -> None:
    running = without(
        events.transform_job("scores", "InProgress", at=T0, instance_type="ml.m5.xlarge", tags=TAGS),
        "TransformResources",
    )
    assert meter.record(parse_event(running)).outcome is Outcome.NOTHING_TO_METER
    assert requests.take() == Counter()


def test_training_event_without_resource_config_takes_instances_and_volume_from_its_one_describe(
    meter: UsageMeter, ledger: DynamoLedger, requests: Requests, sagemaker: Any
) -> None:
    # Given a 2 x ml.m5.xlarge job with a 10 GB volume that billed 3000 s; its event lacks ResourceConfig
    training_in_moto(sagemaker, "no-config", billable=3000)
    completed = without(
        events.training_job(
            "no-config",
            "Completed",
            at=T0 + H,
            instance_type="ml.m5.xlarge",
            start=T0,
            end=T0 + H,
            tags=TAGS,
            account=ACCOUNT,
        ),
        "ResourceConfig",
    )
    event = parse_event(completed)
    assert isinstance(event, TrainingJobEvent) and event.detail.resource_config is None
    requests.take()

    result = meter.record(event)

    # Then the same DescribeTrainingJob that gives the billable time gives the instances and the volume
    assert result.outcome is Outcome.RECORDED
    compute = next(r for r in result.records if r.component is Component.TRAINING)
    assert (compute.instance_type, compute.instance_count) == ("ml.m5.xlarge", 2)
    assert compute.quantity == Decimal("1.666667")  # 3000 s x 2 instances
    storage = next(r for r in result.records if r.component is Component.ML_STORAGE)
    assert storage.instance_count == 2 and storage.notes == ("10 GB per instance",)
    assert requests.take() == Counter({"DescribeTrainingJob": 1, "TransactWriteItems": 1})
    assert meter.record(parse_event(completed)).outcome is Outcome.DUPLICATE


def test_training_event_with_billable_time_but_no_resource_config_still_reads_once(
    meter: UsageMeter, requests: Requests, sagemaker: Any
) -> None:
    training_in_moto(sagemaker, "figure-no-config", billable=1800)
    completed = without(
        events.training_job(
            "figure-no-config",
            "Completed",
            at=T0 + H,
            instance_type="ml.m5.xlarge",
            start=T0,
            end=T0 + H,
            billable_seconds=3600,  # a producer that includes it: the event's figure is kept
            tags=TAGS,
            account=ACCOUNT,
        ),
        "ResourceConfig",
    )
    requests.take()

    result = meter.record(parse_event(completed))

    compute = next(r for r in result.records if r.component is Component.TRAINING)
    assert (compute.instance_count, compute.quantity) == (2, Decimal(2))
    assert requests.take() == Counter({"DescribeTrainingJob": 1, "TransactWriteItems": 1})


# --- the simulator's SageMaker answers as the events and CloudTrail said ------------------------------


def _creates(name_transform: str, name_training: str) -> list[dict[str, Any]]:
    region = "us-east-1"
    return [
        events.cloudtrail_create(
            "CreateTransformJob",
            f"arn:aws:sagemaker:{region}:{ACCOUNT}:transform-job/{name_transform}",
            {
                "transformJobName": name_transform,
                "modelName": "model",
                "transformResources": {"instanceType": "ml.m5.xlarge", "instanceCount": 3},
                "tags": [{"key": k, "value": v} for k, v in TAGS.items()],
            },
            at=T0 - H,
            account=ACCOUNT,
        ),
        events.cloudtrail_create(
            "CreateTrainingJob",
            f"arn:aws:sagemaker:{region}:{ACCOUNT}:training-job/{name_training}",
            {
                "trainingJobName": name_training,
                "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 2, "volumeSizeInGB": 10},
                "stoppingCondition": {"maxRuntimeInSeconds": 7200},
                "tags": [{"key": k, "value": v} for k, v in TAGS.items()],
            },
            at=T0 - H,
            account=ACCOUNT,
        ),
    ]


@pytest.fixture
def fake() -> Iterator[FakeSageMaker]:
    yield FakeSageMaker()


def test_the_fake_answers_describe_from_the_create_call_when_the_events_lack_the_figures(
    fake: FakeSageMaker, ledger: DynamoLedger, prices: PriceBook
) -> None:
    # Given the create calls (CloudTrail) carry the figures, and the state events do not
    feed = [
        *_creates("scores", "fit"),
        without(
            events.transform_job(
                "scores", "Completed", at=T0 + 2 * H, instance_type="-", start=T0, end=T0 + 2 * H, tags=TAGS
            ),
            "TransformResources",
        ),
        without(
            events.training_job(
                "fit", "Completed", at=T0 + H, instance_type="-", start=T0, end=T0 + H, tags=TAGS
            ),
            "ResourceConfig",
        ),
    ]
    meter = UsageMeter(ledger, fake, prices, SagecostConfig())

    results = []
    for raw in feed:
        fake.observe(raw)
        if raw["detail-type"] != "AWS API Call via CloudTrail":
            results.append(meter.record(parse_event(raw)))

    # Then both are metered from the one Describe each, with the create call's instances and volume
    transform, training = results
    assert [(r.instance_type, r.instance_count, r.quantity) for r in transform.records] == [
        ("ml.m5.xlarge", 3, Decimal(6))
    ]
    compute = next(r for r in training.records if r.component is Component.TRAINING)
    assert (compute.instance_type, compute.instance_count) == ("ml.m5.xlarge", 2)
    assert compute.quantity == Decimal(2)
    assert any(r.component is Component.ML_STORAGE for r in training.records)
    assert fake.calls == Counter({"DescribeTransformJob": 1, "DescribeTrainingJob": 1})
