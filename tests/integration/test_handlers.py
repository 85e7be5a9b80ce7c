"""The Lambda handlers as AWS calls them: SQS batches for the recorder, a schedule for the sweeper."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto.backends import get_backend

from sagecost import clock, wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import (
    Boto3SageMaker,
    EndpointSummary,
    NotebookSummary,
    SageMakerReader,
)
from sagecost.domain.kinds.training import TrainingBilling
from sagecost.domain.metering import InstanceLine, JobFigures
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.models.prices import Component
from sagecost.models.state import EndpointConfigSnapshot
from sagecost.services.usage import UsageMeter
from usage_recorder.handler import lambda_handler as record_batch
from usage_sweeper.handler import lambda_handler as sweep

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import ProductionVariantTypeDef

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100"}


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795000000000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:UsageQueue",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook) -> Iterator[UsageMeter]:
    """The handlers' meter, with the test catalog: everything else is what a deployed function builds."""
    adapters = wiring.LocalAdapters(
        ledger=ledger, prices_value=prices, sagemaker_value=Boto3SageMaker(boto3.client("sagemaker"))
    )
    wiring.use(adapters)
    yield wiring.usage_meter(adapters)
    clock.use_wall_clock()


def test_a_batch_with_malformed_messages_meters_the_good_ones_and_keeps_the_bad_ones_with_a_reason(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    good = events.transform_job(
        "score",
        "Completed",
        at=T0 + timedelta(hours=1),
        instance_type="ml.m5.xlarge",
        instance_count=2,
        start=T0,
        end=T0 + timedelta(hours=1),
        tags=TAGS,
        tag_format="list",
    )
    wrong_kind = {**good, "detail-type": "SageMaker Model State Change"}
    missing_field = {**good, "detail": {k: v for k, v in good["detail"].items() if k != "TransformJobArn"}}
    clock.use(lambda: T0 + timedelta(hours=2))

    response = record_batch(
        sqs_event(json.dumps(good), "{not json", json.dumps(wrong_kind), json.dumps(missing_field)),
        lambda_context,
    )

    assert response["batchItemFailures"] == []  # rejected, acknowledged, never retried
    (record,) = list(ledger.records("2026-11"))
    assert (record.quantity, record.tags.project) == (Decimal(2), "fraud")
    reasons = [r["reason"] for r in ledger.rejected()]
    assert len(reasons) == 3
    assert any(reason.startswith("not JSON") for reason in reasons)
    assert any("SageMaker Model State Change" in reason for reason in reasons)
    assert any("TransformJobArn" in reason and "Field required" in reason for reason in reasons)
    assert all(r["source"] == "usage_recorder" for r in ledger.rejected())


def test_a_failing_aws_call_fails_its_message_alone_so_sqs_retries_it(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    # Given a terminal training event whose DescribeTrainingJob fails (SageMaker throttles, past retries)
    from botocore.exceptions import ClientError

    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Describe"
    )

    def describe(**_: Any) -> Any:
        raise throttled

    meter.sagemaker.client.describe_training_job = describe  # type: ignore[attr-defined]
    unknown = events.training_job(
        "vanished",
        "Completed",
        at=T0 + timedelta(hours=1),
        instance_type="ml.m5.xlarge",
        start=T0,
        end=T0 + timedelta(hours=1),
        tags=TAGS,
    )
    fine = events.training_job(
        "fine",
        "Completed",
        at=T0 + timedelta(hours=1),
        instance_type="ml.m5.xlarge",
        start=T0,
        end=T0 + timedelta(hours=1),
        tags=TAGS,
        billable_seconds=3600,
    )
    response = record_batch(sqs_event(json.dumps(unknown), json.dumps(fine)), lambda_context)

    # Then only that message goes back to the queue (and, after five receives, to the DLQ)
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-0"}]
    assert {r.resource_name for r in ledger.records("2026-11")} == {"fine"}
    assert ledger.rejected() == []


def create_endpoint(name: str, instance_type: str, count: int) -> None:
    client = boto3.client("sagemaker")
    client.create_model(
        ModelName=f"{name}-model",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:latest"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMaker",
    )
    variant: ProductionVariantTypeDef = {
        "VariantName": "AllTraffic",
        "ModelName": f"{name}-model",
        "InitialInstanceCount": count,
        "InstanceType": instance_type,  # type: ignore[typeddict-item]
    }
    client.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[variant])
    client.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-cfg", Tags=[{"Key": "Project", "Value": "fraud"}]
    )


def test_the_sweep_opens_an_endpoint_no_event_announced_meters_it_hourly_and_closes_it_when_it_vanishes(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    # Given an endpoint running in SageMaker whose events never reached sagecost
    create_endpoint("orphan", "ml.c5.xlarge", 2)
    created = boto3.client("sagemaker").describe_endpoint(EndpointName="orphan")["LastModifiedTime"]
    first_sweep = created + timedelta(hours=1)

    # When the hourly sweep runs three times, then once more after the endpoint is deleted
    for hour in range(3):
        sweep_time = first_sweep + timedelta(hours=hour)
        clock.use(lambda at=sweep_time: at)  # type: ignore[misc]
        sweep({"source": "aws.scheduler"}, lambda_context)
    boto3.client("sagemaker").delete_endpoint(EndpointName="orphan")
    clock.use(lambda: first_sweep + timedelta(hours=3))
    sweep({"source": "aws.scheduler"}, lambda_context)

    # Then it is metered from when SageMaker says it changed state until the sweep that found it gone
    records = list(ledger.records())
    hosting = sum(r.quantity for r in records if r.component is Component.HOSTING)
    expected_hours = (first_sweep + timedelta(hours=3) - created).total_seconds() / 3600
    assert float(hosting) == pytest.approx(2 * expected_hours, abs=1e-5)
    assert all(r.instance_type == "ml.c5.xlarge" for r in records)
    assert list(ledger.open_timelines()) == []


def test_the_sweep_samples_instance_count_changes_from_autoscaling(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    create_endpoint("scaled", "ml.m5.xlarge", 1)
    client = boto3.client("sagemaker")
    start = client.describe_endpoint(EndpointName="scaled")["LastModifiedTime"]
    clock.use(lambda: start + timedelta(hours=1))
    sweep({}, lambda_context)
    # Application Auto Scaling scales the variant to 3 at +90 min, and no event reaches sagecost
    client.update_endpoint_weights_and_capacities(
        EndpointName="scaled",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 3}],
    )
    # AWS moves the endpoint through Updating to InService, which moves LastModifiedTime; moto does not
    scaled_at = start + timedelta(minutes=90)
    get_backend("sagemaker")["123456789012"]["us-east-1"].endpoints["scaled"].last_modified_time = scaled_at
    for hours in (2, 3):
        clock.use(lambda hours=hours: start + timedelta(hours=hours))  # type: ignore[misc]
        sweep({}, lambda_context)

    # Then 1 instance until the change, 3 after it: 1.5 + 3 x 1.5 instance-hours
    hosting = sorted(
        (r.start, r.instance_count, r.quantity) for r in ledger.records() if r.component is Component.HOSTING
    )
    assert sum(quantity for _, _, quantity in hosting) == Decimal(6)
    assert {count for _, count, _ in hosting} == {1, 3}
    assert min(start for start, count, _ in hosting if count == 3) == scaled_at


def test_an_endpoint_whose_config_event_was_missed_is_metered_at_once_and_priced_by_the_next_sweep(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    # Given an endpoint whose Endpoint Config event never reached sagecost
    create_endpoint("missed", "ml.m5.xlarge", 2)
    started = boto3.client("sagemaker").describe_endpoint(EndpointName="missed")["LastModifiedTime"]
    in_service = events.endpoint(
        "missed",
        "IN_SERVICE",
        at=started,
        config_name="missed-cfg",
        variants=[("AllTraffic", 2)],
        tags=TAGS,
        account="123456789012",
    )
    # When its IN_SERVICE event is recorded (no extra read: the type is unknown, the usage kept)
    clock.use(lambda: started + timedelta(minutes=30))
    assert record_batch(sqs_event(json.dumps(in_service)), lambda_context)["batchItemFailures"] == []
    # and the hourly sweep runs
    clock.use(lambda: started + timedelta(hours=1))
    sweep({}, lambda_context)

    # Then the hour is metered once, at the config's instance type and price, nothing left unpriced
    records = list(ledger.records())
    assert {r.instance_type for r in records} == {"ml.m5.xlarge"}
    assert sum(r.quantity for r in records) == Decimal(2)
    assert ledger.month_total(records[0].month).unpriced_records == 0


SAMPLES = Path(__file__).resolve().parents[2] / "events"


@pytest.mark.parametrize("sample", sorted((SAMPLES / "usage_recorder").glob("*.json")), ids=lambda p: p.name)
def test_every_sample_event_is_accepted_by_the_recorder(
    sample: Path, meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    payload = json.loads(sample.read_text())
    batch = payload if "Records" in payload else sqs_event(json.dumps(payload))
    clock.use(lambda: T0 + timedelta(days=1))  # after the samples' times: events from the future are refused
    # the samples' jobs never ran in moto: answer the reads they may need as SageMaker would
    meter.sagemaker = SampleReads(meter.sagemaker)
    assert record_batch(batch, lambda_context)["batchItemFailures"] == []
    assert ledger.rejected() == []


def test_the_sample_schedule_runs_the_sweeper(meter: UsageMeter, lambda_context: Any) -> None:
    clock.use(lambda: T0)
    result = sweep(json.loads((SAMPLES / "usage_sweeper" / "scheduled.json").read_text()), lambda_context)
    assert result == {"resources": 0, "records": 0, "closed": 0}


class SampleReads:
    """moto's SageMaker, but DescribeTrainingJob and ListTags answer for the samples' jobs, which moto
    never ran (it has no billing, and its ListTags fails on an unknown ARN where AWS says not found)."""

    def __init__(self, inner: SageMakerReader) -> None:
        self.inner = inner

    def training_billing(self, name: str) -> TrainingBilling:
        return TrainingBilling(
            billable_seconds=3600,
            training_seconds=3600,
            start=T0,
            end=T0 + timedelta(hours=1),
            instances=(InstanceLine("compute", "ml.g5.xlarge", 2),),
            volume_gb=30,
        )

    def tags(self, arn: str) -> dict[str, str] | None:
        return {"Project": "fraud-detection"}

    def transform_job(self, name: str) -> JobFigures | None:
        return self.inner.transform_job(name)

    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None:
        return self.inner.endpoint_config(name)

    def endpoints(self) -> list[EndpointSummary]:
        return self.inner.endpoints()

    def endpoint(self, name: str) -> EndpointSummary | None:
        return self.inner.endpoint(name)

    def notebooks(self) -> list[NotebookSummary]:
        return self.inner.notebooks()

    def notebook_volume_gb(self, name: str) -> int | None:
        return self.inner.notebook_volume_gb(name)
