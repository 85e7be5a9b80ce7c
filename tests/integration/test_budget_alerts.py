"""The budget alerter on moto: aggregates written by the metering path, the ledger's own stream records,
SNS to an SQS subscriber, the once-only markers; and the pre-flight check through the tag enforcer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from tests.conftest import TABLE, topic_with_inbox
from tests.integration.test_cost_allocation import ROOT, job, write
from tests.integration.test_tag_enforcer import (
    ACCOUNT,
    POLICY,
    REGION,
    T0,
    Rechecks,
    StoppingSageMaker,
    create_call,
    notices,
    sqs_batch,
)

from budget_alerter.handler import lambda_handler
from sagecost import clock, wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.notifier import Notice, SnsNotifier
from sagecost.adapters.prices import load_catalog
from sagecost.domain.pricing import PriceBook
from sagecost.models.budgets import Budget, BudgetPolicy, PreflightMode
from sagecost.models.config import SagecostConfig
from sagecost.services.budgets import ALERT_LEASE
from tag_enforcer.handler import lambda_handler as tag_handler

D = Decimal
OCT_20 = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
CONFIG = SagecostConfig(
    budgets=BudgetPolicy(
        limits=(
            Budget(project="fraud", monthly=D(100), forecast_thresholds=(D(100),), daily_burn_limit=D(24)),
        )
    )
)


class FlakyNotifier:
    """SNS that fails the first `failures` publishes (a throttled or unreachable topic)."""

    def __init__(self, inner: SnsNotifier, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def publish(self, notice: Notice) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SNS is unreachable")
        self.inner.publish(notice)


class UnreleasingLedger(DynamoLedger):
    """A ledger whose alert claims cannot be given back (DynamoDB unreachable right after SNS failed)."""

    def release_alert(self, *_: Any) -> None:
        raise ConnectionError("DynamoDB is unreachable")


@dataclass
class Stream:
    ledger: DynamoLedger
    sqs: Any
    queue_url: str
    notifier: SnsNotifier
    cursor: int = 0

    def new_records(self) -> list[dict[str, Any]]:
        """The ledger stream's records since the last call, as Lambda delivers them (JSON)."""
        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE).stream_shard
        assert shard is not None
        records = [json.loads(json.dumps(item.record, default=str)) for item in shard.items[self.cursor :]]
        self.cursor = len(shard.items)
        return records

    def deliver(self, records: list[dict[str, Any]], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = lambda_handler({"Records": records}, context)
        return response

    def messages(self) -> list[dict[str, Any]]:
        found = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in batch:
                envelope = json.loads(message["Body"])
                found.append(
                    {
                        "subject": envelope.get("Subject"),
                        "data": json.loads(envelope["Message"]),
                        "attributes": {k: v["Value"] for k, v in envelope["MessageAttributes"].items()},
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found


@pytest.fixture
def stream(ledger: DynamoLedger) -> Iterator[Stream]:
    topic, queue_url = topic_with_inbox("sagecost-alerts")
    notifier = SnsNotifier(boto3.client("sns"), topic)
    wiring.use(wiring.LocalAdapters(ledger=ledger, alerts_value=notifier, config_value=CONFIG))
    result = Stream(ledger, boto3.client("sqs"), queue_url, notifier)
    result.new_records()
    with clock.fixed_at(OCT_20):
        yield result


def spend(stream: Stream, name: str, amount: str, *, at: datetime = OCT_20) -> list[dict[str, Any]]:
    write(stream.ledger, job(name, amount, project="fraud", at=at))
    return stream.new_records()


def thresholds(messages: list[dict[str, Any]], kind: str = "threshold") -> list[str]:
    return [m["data"]["threshold"] for m in messages if m["data"]["kind"] == kind]


def test_79_to_81_percent_sends_exactly_one_80_percent_alert(stream: Stream, lambda_context: Any) -> None:
    stream.deliver(spend(stream, "a", "79.00"), lambda_context)
    assert thresholds(stream.messages()) == ["50"]

    stream.deliver(spend(stream, "b", "2.00"), lambda_context)

    (message,) = stream.messages()
    assert message["data"]["threshold"] == "80"
    assert message["subject"] == "[sagecost] project:fraud passed 80 % (81.0 % spent)"
    assert message["attributes"] == {
        "kind": "threshold",
        "severity": "warning",
        "budget": "project:fraud",
        "month": "2026-10",
        "project": "fraud",
    }
    assert message["data"]["drivers"][0]["name"] == "a"  # the top cost driver, with its console link
    assert message["data"]["drivers"][0]["console_url"].endswith("#/jobs/a")


def test_a_jump_from_40_to_120_percent_sends_50_80_and_100_once_each_and_a_redelivery_nothing(
    stream: Stream, lambda_context: Any
) -> None:
    stream.deliver(spend(stream, "a", "40.00"), lambda_context)
    assert stream.messages() == []
    batch = spend(stream, "b", "80.00")

    stream.deliver(batch, lambda_context)
    assert sorted(thresholds(stream.messages()), key=float) == ["50", "80", "100"]

    stream.deliver(batch, lambda_context)  # the stream redelivers the same batch
    stream.deliver(batch, lambda_context)
    assert stream.messages() == []


def test_a_new_month_starts_clean(stream: Stream, lambda_context: Any) -> None:
    stream.deliver(spend(stream, "oct", "85.00"), lambda_context)
    assert thresholds(stream.messages()) == ["50", "80"]

    november = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    with clock.fixed_at(november):
        stream.deliver(spend(stream, "nov", "85.00", at=november), lambda_context)

    messages = stream.messages()
    assert thresholds(messages) == ["50", "80"]
    assert {m["data"]["month"] for m in messages} == {"2026-11"}


def test_a_failing_publish_is_retried_and_the_alert_still_goes_out_exactly_once(
    stream: Stream, ledger: DynamoLedger, lambda_context: Any
) -> None:
    flaky = FlakyNotifier(stream.notifier, failures=1)
    wiring.use(wiring.LocalAdapters(ledger=ledger, alerts_value=flaky, config_value=CONFIG))
    batch = spend(stream, "a", "60.00")

    response = stream.deliver(batch, lambda_context)

    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert failed  # the record fails alone: Lambda retries it (then bisects, then the on-failure queue)
    assert stream.messages() == []
    retry = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]
    assert stream.deliver(retry, lambda_context) == {"batchItemFailures": []}
    stream.deliver(retry, lambda_context)
    assert thresholds(stream.messages()) == ["50"]


def test_sns_failing_and_the_claim_not_given_back_still_sends_the_alert_exactly_once(
    stream: Stream, ledger: DynamoLedger, lambda_context: Any
) -> None:
    stuck = UnreleasingLedger(ledger.client, ledger.table)
    flaky = FlakyNotifier(stream.notifier, failures=1)
    wiring.use(wiring.LocalAdapters(ledger=stuck, alerts_value=flaky, config_value=CONFIG))
    batch = spend(stream, "a", "60.00")

    response = stream.deliver(batch, lambda_context)

    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert failed
    assert stream.messages() == []
    retry = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]
    # the retry of the same record holds the claim it left behind: it sends at once, and once only
    assert stream.deliver(retry, lambda_context) == {"batchItemFailures": []}
    assert thresholds(stream.messages()) == ["50"]
    assert stream.deliver(retry, lambda_context) == {"batchItemFailures": []}
    with clock.fixed_at(OCT_20 + 10 * ALERT_LEASE):
        stream.deliver(batch, lambda_context)
    assert stream.messages() == []


def test_a_claim_left_behind_makes_another_sender_wait_for_its_lease_then_send_once(
    stream: Stream, ledger: DynamoLedger, lambda_context: Any
) -> None:
    stuck = UnreleasingLedger(ledger.client, ledger.table)
    wiring.use(
        wiring.LocalAdapters(
            ledger=stuck, alerts_value=FlakyNotifier(stream.notifier, 1), config_value=CONFIG
        )
    )
    batch = spend(stream, "a", "60.00")
    failed = {
        failure["itemIdentifier"] for failure in stream.deliver(batch, lambda_context)["batchItemFailures"]
    }
    retry = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]
    # the same change, seen by another record (another holder): the claim may still be in flight
    other = [json.loads(json.dumps(r).replace(r["eventID"], "another-record")) for r in retry]
    with pytest.raises(BatchProcessingError, match="All records failed"):
        stream.deliver(other, lambda_context)
    assert stream.messages() == []
    with clock.fixed_at(OCT_20 + ALERT_LEASE + timedelta(seconds=1)):
        assert stream.deliver(other, lambda_context) == {"batchItemFailures": []}
        assert thresholds(stream.messages()) == ["50"]
        stream.deliver(retry, lambda_context)  # the first record's own retry: sent is sent
    assert stream.messages() == []


def test_what_runs_now_moves_the_forecast_and_the_burn_rate(
    stream: Stream, ledger: DynamoLedger, lambda_context: Any
) -> None:
    stream.deliver(spend(stream, "a", "30.00"), lambda_context)
    stream.messages()
    # the sweep finds a $1.10/h endpoint of project fraud running: 11 days 10 h left in October
    ledger.put_run_rates("2026-10", {"project#fraud": D("1.10")})
    stream.deliver(stream.new_records(), lambda_context)

    messages = stream.messages()
    assert sorted(m["data"]["kind"] for m in messages) == ["burn-rate", "forecast"]
    forecast = next(m for m in messages if m["data"]["kind"] == "forecast")
    assert D(forecast["data"]["forecast_usd"]) > 100
    assert forecast["data"]["running_usd_per_hour"] == "1.10"

    ledger.put_run_rates("2026-10", {"project#fraud": D("1.20")})  # still over: nothing new
    stream.deliver(stream.new_records(), lambda_context)
    assert stream.messages() == []


def test_the_daily_digest_reminds_while_a_budget_stays_over_once_a_day(
    stream: Stream, lambda_context: Any
) -> None:
    stream.deliver(spend(stream, "a", "130.00"), lambda_context)
    stream.messages()

    assert lambda_handler({}, lambda_context) == {"digest": 1}
    assert lambda_handler({}, lambda_context) == {"digest": 0}  # the schedule retried: once a day
    with clock.fixed_at(datetime(2026, 10, 21, 8, 0, tzinfo=UTC)):
        assert lambda_handler({}, lambda_context) == {"digest": 1}
    digests = [m for m in stream.messages() if m["data"]["kind"] == "digest"]
    assert [m["data"]["threshold"] for m in digests] == ["2026-10-20", "2026-10-21"]
    assert digests[0]["subject"] == "[sagecost] project:fraud still over budget (130.0 %)"


# === pre-flight ==================================================================================

FULL_TAGS = {"Team": "risk", "CostCenter": "cc-1001", "Owner": "alice"}


@pytest.fixture
def topic(aws: None) -> tuple[str, str]:
    """The alerts topic with a queue subscribed to it: (topic ARN, queue URL)."""
    return topic_with_inbox("alerts")


def preflight_setup(
    ledger: DynamoLedger, topic: tuple[str, str], mode: PreflightMode
) -> tuple[StoppingSageMaker, SagecostConfig]:
    config = SagecostConfig(
        tags=POLICY,
        budgets=BudgetPolicy(limits=(Budget(project="fraud", monthly=D(100)),), preflight=mode),
    )
    sagemaker = StoppingSageMaker(boto3.client("sagemaker"))
    sagemaker.stopped = []
    notifier = SnsNotifier(boto3.client("sns"), topic[0])
    wiring.use(
        wiring.LocalAdapters(
            ledger=ledger,
            sagemaker_value=sagemaker,
            alerts_value=notifier,
            config_value=config,
            recheck_value=Rechecks(),
            prices_value=PriceBook(load_catalog()),
        )
    )
    return sagemaker, config


def start_training(name: str, environment: str, hours: int, count: int = 2) -> str:
    """CreateTrainingJob as CloudTrail records it: 2 x ml.g5.xlarge ($1.408/h in us-east-1) for `hours`."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"
    parameters = {
        "trainingJobName": name,
        "resourceConfig": {"instanceType": "ml.g5.xlarge", "instanceCount": count, "volumeSizeInGB": 30},
        "stoppingCondition": {"maxRuntimeInSeconds": hours * 3600},
        "tags": [
            {"key": k, "value": v}
            for k, v in {**FULL_TAGS, "Project": "fraud", "Environment": environment}.items()
        ],
    }
    return create_call("CreateTrainingJob", arn, parameters)


@pytest.mark.parametrize(("environment", "stopped"), [("dev", True), ("prod", False)])
def test_a_job_whose_worst_case_exceeds_what_is_left_is_reported_and_stopped_only_outside_production(
    ledger: DynamoLedger, topic: tuple[str, str], lambda_context: Any, environment: str, stopped: bool
) -> None:
    sagemaker, _ = preflight_setup(ledger, topic, PreflightMode.ENFORCE)
    write(ledger, job("earlier", "70.00", project="fraud", at=T0))  # $30 left of $100
    body = start_training("big-train", environment, hours=12)  # worst case 2 x 12 h x $1.408 = $33.79

    with clock.fixed_at(T0):
        assert tag_handler(sqs_batch(body, body), lambda_context) == {"batchItemFailures": []}

    assert sagemaker.stopped == ([("training-job", "big-train")] if stopped else [])
    (preflight,) = [
        json.loads(n["Message"]) for n in notices(topic) if n.get("Subject", "").endswith("exceed the budget")
    ]
    assert preflight["kind"] == "preflight"
    assert preflight["details"]["worst_case"] == "33.792"
    assert preflight["details"]["remaining"] == "30"
    assert preflight["details"]["stopped"] is stopped
    assert preflight["details"]["owner"] == "alice"


def test_a_job_that_fits_what_is_left_says_nothing(
    ledger: DynamoLedger, topic: tuple[str, str], lambda_context: Any
) -> None:
    sagemaker, _ = preflight_setup(ledger, topic, PreflightMode.ENFORCE)
    with clock.fixed_at(T0):
        tag_handler(sqs_batch(start_training("small", "dev", hours=2)), lambda_context)  # $5.63 of $100
    assert sagemaker.stopped == []
    assert not [n for n in notices(topic) if n.get("Subject", "").endswith("exceed the budget")]


def test_the_sample_stream_batch_alerts_at_80_percent_and_on_the_forecast(
    stream: Stream, ledger: DynamoLedger, lambda_context: Any
) -> None:
    config = SagecostConfig(budgets=BudgetPolicy(limits=(Budget(project="fraud-detection", monthly=D(500)),)))
    wiring.use(wiring.LocalAdapters(ledger=ledger, alerts_value=stream.notifier, config_value=config))
    sample = ROOT / "events" / "budget_alerter" / "stream-batch.json"
    with clock.fixed_at(datetime(2026, 10, 15, 12, 0, tzinfo=UTC)):
        assert lambda_handler(json.loads(sample.read_text()), lambda_context) == {"batchItemFailures": []}
        assert lambda_handler(json.loads((sample.parent / "scheduled.json").read_text()), lambda_context) == {
            "digest": 0
        }
    kinds = sorted((m["data"]["kind"], m["data"]["threshold"]) for m in stream.messages())
    assert kinds == [("forecast", "100"), ("threshold", "80")]
