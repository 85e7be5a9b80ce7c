"""Issue 11 (defects 2, 4, 5): a bad event is rejected at intake with a reason, kept in the ledger and
acknowledged. It never fails its SQS message (which would loop it to the DLQ), is never metered absurdly,
and is never acknowledged in silence."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from tests.integration.test_handlers import sqs_event

from sagecost import clock, wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.services.usage import UsageMeter
from usage_recorder.handler import lambda_handler as record_batch

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=6)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100"}


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook) -> Iterator[UsageMeter]:
    adapters = wiring.LocalAdapters(
        ledger=ledger, prices_value=prices, sagemaker_value=Boto3SageMaker(boto3.client("sagemaker"))
    )
    wiring.use(adapters)
    clock.use(lambda: NOW)
    yield wiring.usage_meter(adapters)
    clock.use_wall_clock()


JOB: dict[str, Any] = {
    "at": T0,
    "instance_type": "ml.m5.xlarge",
    "instance_count": 2,
    "start": T0 - timedelta(hours=1),
    "end": T0,
    "tags": TAGS,
}
"""Two ml.m5.xlarge for the hour before T0."""


def updated(raw: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    raw["detail"].update(detail)
    return raw


def training(**detail: Any) -> dict[str, Any]:
    return updated(events.training_job("train-1", "Completed", **JOB, billable_seconds=3600), detail)


def transform(**detail: Any) -> dict[str, Any]:
    return updated(events.transform_job("score", "Completed", **JOB), detail)


def endpoint(status: str, at: datetime, *, sent: datetime | None = None, count: int = 1) -> dict[str, Any]:
    raw = events.endpoint(
        "ep-1", status, at=at, config_name="cfg-1", variants=[("AllTraffic", count)], tags=TAGS
    )
    if sent is not None:
        raw["time"] = sent.isoformat()
    return raw


def notebook(status: str, at: datetime) -> dict[str, Any]:
    return events.notebook("nb-1", status, at=at, instance_type="ml.t3.medium", tags=TAGS)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def deeply_nested() -> str:
    return (
        '{"detail-type": "SageMaker Training Job State Change", "detail": '
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    )


def rejected_alone(body: str, lambda_context: Any, ledger: DynamoLedger) -> str:
    """Deliver `body` in a batch; it must be acknowledged, kept with a reason, and meter nothing."""
    response = record_batch(sqs_event(body), lambda_context)
    assert response["batchItemFailures"] == []  # acknowledged: SQS will not loop it to the DLQ
    rejections = ledger.rejected()
    assert len(rejections) == 1
    assert body.startswith(rejections[0]["raw"])  # kept as it came (the ledger keeps its first bytes)
    assert list(ledger.records("2026-11")) == []
    reason: str = rejections[0]["reason"]
    return reason


CASES: dict[str, tuple[Callable[[], str], str]] = {
    # defect 2: each of these failed its message on every retry, then sat in the DLQ
    "a training ARN that is no ARN": (
        lambda: json.dumps(training(TrainingJobArn="train-1")),
        "TrainingJobArn",
    ),
    "an endpoint ARN of another service": (
        lambda: json.dumps(
            {
                **endpoint("IN_SERVICE", T0),
                "detail": {**endpoint("IN_SERVICE", T0)["detail"], "EndpointArn": "arn:aws:s3:::bucket/x"},
            }
        ),
        "EndpointArn",
    ),
    "a job from 1970 to 9999": (
        lambda: json.dumps(
            training(
                TrainingStartTime=0,
                TrainingEndTime=epoch_ms(datetime(9999, 12, 31, tzinfo=UTC)),
                CreationTime=0,
            )
        ),
        "before SageMaker existed",
    ),
    "a timeline that starts in 1995": (
        lambda: json.dumps(endpoint("IN_SERVICE", datetime(1995, 6, 1, tzinfo=UTC))),
        "before SageMaker existed",
    ),
    "1e308 instances": (
        lambda: json.dumps(
            transform(TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1e308})
        ),
        "InstanceCount",
    ),
    "JSON nested too deeply": (deeply_nested, "nested"),
    # defect 4: these were metered, absurdly
    "1e9 training instances ($234 million)": (
        lambda: json.dumps(
            training(
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1e9, "VolumeSizeInGB": 30}
            )
        ),
        "InstanceCount",
    ),
    "1e15 billable seconds ($63.9 billion)": (
        lambda: json.dumps(training(BillableTimeInSeconds=10**15, TrainingTimeInSeconds=10**15)),
        "BillableTimeInSeconds",
    ),
    "a boolean instance count": (
        lambda: json.dumps(
            transform(TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": True})
        ),
        "InstanceCount",
    ),
    "a training job that ran 40 days": (
        lambda: json.dumps(
            training(
                TrainingStartTime=epoch_ms(T0 - timedelta(days=40)),
                CreationTime=epoch_ms(T0 - timedelta(days=40)),
                BillableTimeInSeconds=3600,
            )
        ),
        "longer than",
    ),
    "a processing job that ran 20 days": (
        lambda: json.dumps(
            events.processing_job(
                "prep",
                "Completed",
                at=T0,
                instance_type="ml.m5.xlarge",
                start=T0 - timedelta(days=20),
                end=T0,
                tags=TAGS,
                tag_format="map",
            )
        ),
        "longer than",
    ),
    "an endpoint with a billion instances": (
        lambda: json.dumps(endpoint("IN_SERVICE", T0, count=10**9)),
        "InstanceCount",
    ),
    "a LastModifiedTime 30 days ahead": (
        lambda: json.dumps(endpoint("IN_SERVICE", T0 + timedelta(days=30), sent=T0)),
        "in the future",
    ),
    "an event sent 30 days from now": (
        lambda: json.dumps(endpoint("IN_SERVICE", NOW + timedelta(days=30))),
        "in the future",
    ),
    # defect 5: these were acknowledged with no record and no rejection
    "status completed": (lambda: json.dumps(training(TrainingJobStatus="completed")), "TrainingJobStatus"),
    "status Exploded": (lambda: json.dumps(training(TrainingJobStatus="Exploded")), "TrainingJobStatus"),
    "endpoint status EXPLODED": (lambda: json.dumps(endpoint("EXPLODED", T0)), "EndpointStatus"),
    "notebook status Exploded": (lambda: json.dumps(notebook("Exploded", T0)), "NotebookInstanceStatus"),
    # defect 3: what SageMaker forbids in a tag never came from SageMaker
    "a | in a tag value": (
        lambda: json.dumps(training(Tags={**TAGS, "Project": "fraud|growth"})),
        "'|' (U+007C) in its value",
    ),
    "a BEL in a tag key": (lambda: json.dumps(training(Tags={**TAGS, "Te\x07am": "risk"})), "U+0007"),
    "a finished training job SageMaker does not have": (
        lambda: json.dumps(training(ResourceConfig=None)),
        "no training job 'train-1'",
    ),
    "60 tags": (
        lambda: json.dumps(training(Tags={**TAGS, **{f"k{i}": "v" for i in range(57)}})),
        "at most 50",
    ),
    "a tag value of 257 characters": (
        lambda: json.dumps(training(Tags={**TAGS, "Project": "p" * 257})),
        "257 characters long",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_event_is_rejected_with_a_reason_and_acknowledged(
    case: str, meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    body, named_in_reason = CASES[case]
    reason = rejected_alone(body(), lambda_context, ledger)
    assert named_in_reason in reason


def test_a_bad_event_in_a_batch_leaves_the_good_ones_metered(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    bad = [body() for body, _ in CASES.values()]
    good = json.dumps(transform())
    response = record_batch(sqs_event(*bad, good), lambda_context)
    assert response["batchItemFailures"] == []
    (record,) = list(ledger.records("2026-11"))
    assert record.quantity == Decimal(2)
    assert len(ledger.rejected()) == len(bad)


def test_an_unknown_endpoint_status_never_stops_billing(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    # In service from T0, an unknown status an hour later, deleted at T0+3h: 3 hours billed, not 1
    bodies = [
        json.dumps(endpoint("IN_SERVICE", T0)),
        json.dumps(endpoint("EXPLODED", T0 + timedelta(hours=1))),
        json.dumps(endpoint("DELETED", T0 + timedelta(hours=3))),
    ]
    for body in bodies:
        assert record_batch(sqs_event(body), lambda_context)["batchItemFailures"] == []
    hours = sum(r.quantity for r in ledger.records("2026-11") if r.unit == "instance-hour")
    assert hours == Decimal(3)
    (rejection,) = ledger.rejected()
    assert "EXPLODED" in rejection["reason"]


def test_an_endpoint_event_from_the_future_does_not_make_the_real_deletion_too_late(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    future = json.dumps(endpoint("IN_SERVICE", T0 + timedelta(days=30), sent=T0 + timedelta(hours=1)))
    bodies = [
        json.dumps(endpoint("IN_SERVICE", T0)),
        future,
        json.dumps(endpoint("DELETED", T0 + timedelta(hours=2))),
    ]
    for body in bodies:
        assert record_batch(sqs_event(body), lambda_context)["batchItemFailures"] == []
    hours = sum(r.quantity for r in ledger.records("2026-11") if r.unit == "instance-hour")
    assert hours == Decimal(2)  # billed until the real deletion, not for 30 days that never happened
    assert [r["raw"] for r in ledger.rejected()] == [future]


@pytest.mark.parametrize("status", ["Completed", "COMPLETED"])
def test_both_spellings_of_a_known_job_status_are_metered(
    status: str, meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    response = record_batch(sqs_event(json.dumps(training(TrainingJobStatus=status))), lambda_context)
    assert response["batchItemFailures"] == []
    assert ledger.rejected() == []
    compute = [r for r in ledger.records("2026-11") if r.unit == "instance-hour"]
    assert sum(r.quantity for r in compute) == Decimal(2)


@pytest.mark.parametrize("status", ["InService", "IN_SERVICE"])
def test_both_spellings_of_a_known_notebook_status_bill(
    status: str, meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    for body in (notebook(status, T0), notebook("Deleted", T0 + timedelta(hours=1))):
        assert record_batch(sqs_event(json.dumps(body)), lambda_context)["batchItemFailures"] == []
    assert ledger.rejected() == []
    compute = [r for r in ledger.records("2026-11") if r.unit == "instance-hour"]
    assert sum(r.quantity for r in compute) == Decimal(1)


def test_a_tag_dropped_for_a_key_differing_only_in_case_is_noted_on_the_job_records(
    meter: UsageMeter, ledger: DynamoLedger, lambda_context: Any
) -> None:
    raw = training(Tags={"project": "churn", "Project": "fraud", "Team": "risk"})
    assert record_batch(sqs_event(json.dumps(raw)), lambda_context)["batchItemFailures"] == []
    records = list(ledger.records("2026-11"))
    assert records and all(r.tags.project == "fraud" for r in records)
    (compute,) = [r for r in records if r.unit == "instance-hour"]
    assert any("'project'='churn' dropped" in note for note in compute.notes)
