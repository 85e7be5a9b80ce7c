"""Measurements behind `make bench` (see bench/README.md). Numbers only: nothing here passes or fails.

Everything that talks to "AWS" runs on in-process moto (`moto.mock_aws`), with the ledger table created
from template.yaml and moto's DynamoDB transactions made O(items touched) by `fast_dynamodb_transactions`.
Requests are counted with a botocore `before-send` hook on the clients the meter uses: one count per HTTP
attempt that would leave the process (retries included), by service and operation.

The request-count part is importable on its own (`measure_event_requests`), so a smoke test keeps it alive.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sagemaker import SageMakerClient

    from sagecost.adapters.ledger import DynamoLedger
    from sagecost.services.usage import UsageMeter

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"
"""moto's default account: events name it, so ListTags and DescribeEndpointConfig find what setup created."""
TABLE = "sagecost-ledger-bench"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"

REQUEST_TARGET = 2
"""DESIGN.md: at most one read (where the event lacks the figure) plus one DynamoDB transaction per event."""
FIXED_COST_LISTS = frozenset({"ListTags"})
"""List* operations about one resource (its tags): a fixed-cost read, not an enumeration of the fleet."""
SWEEP_PAGE = 100
"""What Boto3SageMaker asks List* pages to hold, and the design's `ceil(N/100)`."""

HANDLER_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "LEDGER_TABLE_NAME": TABLE,
    "SAGECOST_CONFIG_PARAMETER": "/sagecost/bench/config",
    "SAGECOST_PRICES_PARAMETER": "/sagecost/bench/prices",
    "ALERTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:sagecost-alerts",
    "TAG_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/sagecost-tags",
    "REPORTS_BUCKET": "sagecost-reports-bench",
    "REPORTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:sagecost-reports",
    "POWERTOOLS_SERVICE_NAME": "sagecost-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "sagecost",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
"""The environment the handlers are imported and run with (in-process and in subprocesses)."""

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}


def prepare_environment() -> None:
    """Fake credentials (never real ones: moto answers everything) and the handlers' environment."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        os.environ[key] = "bench"
    os.environ.update(HANDLER_ENV)


# --- counting requests -------------------------------------------------------------------------------


class RequestCounter:
    """Counts what the clients it is attached to send, by (service, operation), and time spent in calls."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.call_seconds = 0.0
        self._call_started: float | None = None

    def attach(self, client: Any) -> None:
        # first: moto answers from its own before-send handler, and a handler that answers ends the chain
        client.meta.events.register_first("before-send", self._on_send)
        client.meta.events.register_first("before-call", self._on_call)
        client.meta.events.register("after-call", self._after_call)

    def _on_send(self, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.counts[(service, operation)] += 1

    def _on_call(self, **_: Any) -> None:
        self._call_started = time.perf_counter()

    def _after_call(self, **_: Any) -> None:
        if self._call_started is not None:
            self.call_seconds += time.perf_counter() - self._call_started
            self._call_started = None

    def snapshot(self) -> Counter[tuple[str, str]]:
        return Counter(self.counts)

    def since(self, before: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
        return self.counts - before

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def is_fleet_list(operation: str) -> bool:
    """A List* call whose cost grows with the fleet (ListEndpoints, ListTrainingJobs, ...)."""
    return operation.startswith("List") and operation not in FIXED_COST_LISTS


def format_operations(counts: Counter[tuple[str, str]], divisor: int = 1) -> str:
    """`DescribeTrainingJob 1, TransactWriteItems 1` (per event when divided by the number of events)."""
    if not counts:
        return "(none)"
    parts = []
    for (_, operation), count in sorted(
        counts.items(), key=lambda item: (item[0][0] != "sagemaker", item[0])
    ):
        value = count / divisor
        parts.append(f"{operation} {value:g}" if value != int(value) else f"{operation} {int(value)}")
    return ", ".join(parts)


# --- a moto account with the ledger -------------------------------------------------------------------


@dataclass
class MotoLedger:
    """Clients for setup (not counted) and for the meter (counted), and the ledger table."""

    counter: RequestCounter
    dynamodb: DynamoDBClient
    sagemaker: SageMakerClient
    setup_sagemaker: SageMakerClient
    ledger: DynamoLedger


@contextmanager
def moto_ledger() -> Iterator[MotoLedger]:
    """In-process moto with the ledger table as template.yaml defines it; the meter's clients counted."""
    import boto3
    from moto import mock_aws

    from sagecost.adapters import aws
    from sagecost.adapters.ledger import DynamoLedger
    from sagecost.local.moto_speedups import fast_dynamodb_transactions
    from sagecost.local.template import load_template, table_create_args

    with mock_aws(), fast_dynamodb_transactions():
        setup_dynamodb = boto3.client("dynamodb", region_name=REGION)
        setup_dynamodb.create_table(**table_create_args(load_template(), table_name=TABLE))
        counter = RequestCounter()
        # the clients production builds (sagecost.adapters.aws: adaptive retries), counted
        dynamodb: DynamoDBClient = aws.client("dynamodb", region_name=REGION)
        sagemaker: SageMakerClient = aws.client("sagemaker", region_name=REGION)
        counter.attach(dynamodb)
        counter.attach(sagemaker)
        yield MotoLedger(
            counter=counter,
            dynamodb=dynamodb,
            sagemaker=sagemaker,
            setup_sagemaker=boto3.client("sagemaker", region_name=REGION),
            ledger=DynamoLedger(dynamodb, TABLE),
        )


def _meter(ledger: DynamoLedger, sagemaker: Any) -> UsageMeter:
    from sagecost.adapters.prices import load_catalog
    from sagecost.domain.pricing import PriceBook
    from sagecost.models.config import SagecostConfig
    from sagecost.services.usage import UsageMeter

    return UsageMeter(ledger, sagemaker, PriceBook(load_catalog()), SagecostConfig())


# --- 1. requests per ingested event -------------------------------------------------------------------


@dataclass
class KindResult:
    """The requests of every delivery of one kind of event."""

    kind: str
    requests: list[int] = field(default_factory=list)
    operations: Counter[tuple[str, str]] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def events(self) -> int:
        return len(self.requests)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.requests) if self.requests else 0.0

    @property
    def max(self) -> int:
        return max(self.requests, default=0)

    @property
    def fleet_lists(self) -> int:
        return sum(n for (_, operation), n in self.operations.items() if is_fleet_list(operation))

    @property
    def fixed_lists(self) -> int:
        return sum(n for (_, operation), n in self.operations.items() if operation in FIXED_COST_LISTS)

    def per_event_operations(self) -> str:
        return format_operations(self.operations, max(self.events, 1))


Delivery = tuple[str, dict[str, Any]]
"""(kind, raw EventBridge event)."""

DUPLICATE = " - duplicate"


def _twice(kind: str, raw: dict[str, Any]) -> list[Delivery]:
    """The event, then the same event again (a duplicate delivery, as SQS and EventBridge may make)."""
    return [(kind, raw), (kind + DUPLICATE, raw)]


def _training_job_in_moto(setup: SageMakerClient, name: str, count: int, start: datetime) -> int:
    """A training job moto can describe, with the billing figures moto never sets injected; its billable s."""
    from moto.backends import get_backend

    setup.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://bench/out"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": count, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 86400},
    )
    job = get_backend("sagemaker")[ACCOUNT][REGION].training_jobs[name]
    billable = 2700 + 60 * count
    figures = {
        "training_start_time": start,
        "training_end_time": start + timedelta(hours=1),
        "billable_time_in_seconds": billable,  # moto's FakeTrainingJob has no such attribute: its
        "training_time_in_seconds": 3600,  # describe_training_job reports it when it is set
    }
    for attribute, value in figures.items():
        setattr(job, attribute, value)
    return billable


def _model_and_config_in_moto(setup: SageMakerClient, config: str, count: int) -> None:
    setup.create_model(ModelName=f"{config}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    setup.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{config}-model",
                "InitialInstanceCount": count,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
    )


KIND_ORDER = (
    "training terminal, BillableTimeInSeconds not in event",
    "training terminal, BillableTimeInSeconds in event",
    "training InProgress",
    "processing terminal, Tags in event",
    "processing terminal, no Tags in event",
    "transform terminal",
    "endpoint config created",
    "endpoint CREATING (config seen)",
    "endpoint IN_SERVICE (config seen)",
    "endpoint UPDATING, count change (config seen)",
    "endpoint DELETED (config seen)",
    "endpoint IN_SERVICE, config not cached (miss)",
    "notebook Pending",
    "notebook InService",
    "notebook Stopped",
    "notebook Deleted",
)


def event_plan(setup: SageMakerClient, per_kind: int) -> list[Delivery]:
    """Every kind of event `per_kind` times (on different resources), each followed by its duplicate.

    Creates in moto what the meter will have to read: training jobs (billing figures injected), a tagged
    processing job, and the endpoint configs of the cache-miss endpoints.
    """
    from sagecost.local import events

    plan: list[Delivery] = []
    for i in range(per_kind):
        count = 1 + i % 3
        start = T0 + timedelta(hours=2 * i)
        end = start + timedelta(hours=1)
        # training: the event without the figure (as AWS sends it) needs DescribeTrainingJob
        name = f"bench-train-describe-{i}"
        _training_job_in_moto(setup, name, count, start)
        plan += _twice(
            KIND_ORDER[0],
            events.training_job(
                name,
                "Completed",
                at=end,
                instance_type="ml.m5.xlarge",
                instance_count=count,
                start=start,
                end=end,
                volume_gb=10,
                tags=TAGS,
                account=ACCOUNT,
            ),
        )
        plan += _twice(
            KIND_ORDER[1],
            events.training_job(
                f"bench-train-figure-{i}",
                "Completed",
                at=end,
                instance_type="ml.m5.xlarge",
                instance_count=count,
                start=start,
                end=end,
                billable_seconds=3000,
                volume_gb=10,
                tags=TAGS,
                account=ACCOUNT,
            ),
        )
        plan += _twice(
            KIND_ORDER[2],
            events.training_job(
                f"bench-train-running-{i}",
                "InProgress",
                at=start,
                instance_type="ml.m5.xlarge",
                instance_count=count,
                start=start,
                tags=TAGS,
                account=ACCOUNT,
            ),
        )
        # processing: AWS's processing events carry no tags; ListTags reads them
        plan += _twice(
            KIND_ORDER[3],
            events.processing_job(
                f"bench-proc-tagged-{i}",
                "Completed",
                at=end,
                instance_type="ml.m5.xlarge",
                instance_count=count,
                start=start,
                end=end,
                tags=TAGS,
                tag_format="map",
                account=ACCOUNT,
            ),
        )
        name = f"bench-proc-untagged-{i}"
        setup.create_processing_job(
            ProcessingJobName=name,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": count, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}
            },
            AppSpecification={"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/prep:latest"},
            RoleArn=ROLE,
            Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
        )
        plan += _twice(
            KIND_ORDER[4],
            events.processing_job(
                name,
                "Completed",
                at=end,
                instance_type="ml.m5.xlarge",
                instance_count=count,
                start=start,
                end=end,
                volume_gb=5,
                account=ACCOUNT,
            ),
        )
        plan += _twice(
            KIND_ORDER[5],
            events.transform_job(
                f"bench-xform-{i}",
                "Completed",
                at=end,
                instance_type="ml.m5.xlarge",
                instance_count=count,
                start=start,
                end=end,
                tags=TAGS,
                account=ACCOUNT,
            ),
        )
        # an endpoint whose config event was seen (the config is cached in the ledger)
        config, endpoint = f"bench-cfg-{i}", f"bench-ep-{i}"
        plan += _twice(
            KIND_ORDER[6],
            events.endpoint_config(
                config,
                [("AllTraffic", "ml.m5.xlarge", count)],
                at=start - timedelta(minutes=10),
                tags=TAGS,
                account=ACCOUNT,
            ),
        )
        lifecycle: tuple[tuple[str, str, datetime, list[tuple[str | None, int]]], ...] = (
            (KIND_ORDER[7], "CREATING", start - timedelta(minutes=8), [("AllTraffic", count)]),
            (KIND_ORDER[8], "IN_SERVICE", start, [("AllTraffic", count)]),
            (KIND_ORDER[9], "UPDATING", start + timedelta(hours=3), [("AllTraffic", count + 1)]),
            (KIND_ORDER[10], "DELETED", start + timedelta(hours=10), []),
        )
        for kind, status, at, variants in lifecycle:
            plan += _twice(
                kind,
                events.endpoint(
                    endpoint,
                    status,
                    at=at,
                    config_name=config,
                    variants=variants,
                    tags=TAGS if variants else {},
                    account=ACCOUNT,
                ),
            )
        # an endpoint whose config no event announced: DescribeEndpointConfig on the first event
        config, endpoint = f"bench-miss-cfg-{i}", f"bench-miss-ep-{i}"
        _model_and_config_in_moto(setup, config, count)
        plan += _twice(
            KIND_ORDER[11],
            events.endpoint(
                endpoint,
                "IN_SERVICE",
                at=start,
                config_name=config,
                variants=[("AllTraffic", count)],
                tags=TAGS,
                account=ACCOUNT,
            ),
        )
        notebook = f"bench-nb-{i}"
        for kind, status, at in (
            (KIND_ORDER[12], "Pending", start),
            (KIND_ORDER[13], "InService", start + timedelta(minutes=5)),
            (KIND_ORDER[14], "Stopped", start + timedelta(hours=8)),
            (KIND_ORDER[15], "Deleted", start + timedelta(days=1)),
        ):
            plan += _twice(
                kind,
                events.notebook(
                    notebook, status, at=at, instance_type="ml.t3.medium", tags=TAGS, account=ACCOUNT
                ),
            )
    return plan


def measure_event_requests(per_kind: int = 1) -> list[KindResult]:
    """Deliver every kind of event (and its duplicate) to a UsageMeter on moto; count requests per event."""
    from sagecost.adapters.sagemaker import Boto3SageMaker
    from sagecost.models.events import parse_event

    with moto_ledger() as moto:
        meter = _meter(moto.ledger, Boto3SageMaker(moto.sagemaker))
        plan = event_plan(moto.setup_sagemaker, per_kind)
        results: dict[str, KindResult] = {}
        for kind, raw in plan:
            before = moto.counter.snapshot()
            outcome = meter.record(parse_event(raw)).outcome
            sent = moto.counter.since(before)
            result = results.setdefault(kind, KindResult(kind))
            result.requests.append(sum(sent.values()))
            result.operations.update(sent)
            result.outcomes[str(outcome)] += 1
    order = [k for base in KIND_ORDER for k in (base, base + DUPLICATE)]
    return [results[k] for k in order if k in results]


# --- 2. recorder throughput ---------------------------------------------------------------------------


def mixed_events(target: int) -> list[dict[str, Any]]:
    """About `target` events of a synthetic month, in time order, every 16th delivered twice.

    One unit of 20 events per resource group: a training job whose terminal event lacks the billable
    time and one that carries it (each with its InProgress event), a processing job (no tags in its
    events) and a transform job (InProgress + Completed), an endpoint config and its endpoint
    (CREATING, IN_SERVICE, UPDATING to 2 instances, IN_SERVICE, DELETING, DELETED over 6 hours) and a
    notebook (Pending, InService, Stopping, Stopped, Deleted).
    """
    from sagecost.local import events

    units = max(1, round(target / 21.25))  # 20 events + 1/16 duplicates
    feed: list[dict[str, Any]] = []
    for k in range(units):
        s = T0 - timedelta(days=9) + timedelta(minutes=17 * k)
        h = timedelta(hours=1)
        m5 = "ml.m5.xlarge"
        for suffix, billable in (("a", None), ("b", 3000)):
            name = f"mix-train-{k}-{suffix}"
            feed.append(events.training_job(name, "InProgress", at=s, instance_type=m5, tags=TAGS))
            feed.append(
                events.training_job(
                    name,
                    "Completed",
                    at=s + h,
                    instance_type=m5,
                    start=s,
                    end=s + h,
                    billable_seconds=billable,
                    tags=TAGS,
                )
            )
        name = f"mix-proc-{k}"
        feed.append(events.processing_job(name, "InProgress", at=s, instance_type=m5, start=s))
        feed.append(events.processing_job(name, "Completed", at=s + h, instance_type=m5, start=s, end=s + h))
        name = f"mix-xform-{k}"
        feed.append(events.transform_job(name, "InProgress", at=s, instance_type=m5, start=s, tags=TAGS))
        feed.append(
            events.transform_job(name, "Completed", at=s + h, instance_type=m5, start=s, end=s + h, tags=TAGS)
        )
        config, endpoint = f"mix-cfg-{k}", f"mix-ep-{k}"
        feed.append(events.endpoint_config(config, [("AllTraffic", m5, 1)], at=s - timedelta(minutes=10)))
        for status, at, count in (
            ("CREATING", s - timedelta(minutes=8), 1),
            ("IN_SERVICE", s, 1),
            ("UPDATING", s + 2 * h, 2),
            ("IN_SERVICE", s + 2 * h + timedelta(minutes=5), 2),
            ("DELETING", s + 6 * h, 2),
            ("DELETED", s + 6 * h + timedelta(minutes=2), 0),
        ):
            variants: list[tuple[str | None, int]] = [("AllTraffic", count)] if count else []
            feed.append(
                events.endpoint(
                    endpoint,
                    status,
                    at=at,
                    config_name=config,
                    variants=variants,
                    tags=TAGS if count else {},
                )
            )
        for status, at in (
            ("Pending", s),
            ("InService", s + timedelta(minutes=5)),
            ("Stopping", s + 8 * h),
            ("Stopped", s + 8 * h + timedelta(minutes=1)),
            ("Deleted", s + 30 * h),
        ):
            feed.append(
                events.notebook(f"mix-nb-{k}", status, at=at, instance_type="ml.t3.medium", tags=TAGS)
            )
    feed.sort(key=lambda e: (e["time"], e["id"]))
    delivered: list[dict[str, Any]] = []
    for index, event in enumerate(feed):
        delivered.append(event)
        if index % 16 == 15:
            delivered.append(event)
    return delivered


def sqs_batch(bodies: Sequence[str], first: int) -> dict[str, Any]:
    """An SQS event as Lambda delivers it to the recorder (one message per EventBridge event)."""
    sent = int(T0.timestamp() * 1000)
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{first + n}")),
                "receiptHandle": f"bench-receipt-{first + n}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(sent),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": str(sent),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:sagecost-usage",
                "awsRegion": REGION,
            }
            for n, body in enumerate(bodies)
        ]
    }


@dataclass
class LambdaContext:
    function_name: str = "sagecost-usage-recorder-bench"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sagecost-usage-recorder-bench"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class ThroughputResult:
    events: int
    batches: int
    seconds: float
    seconds_in_calls: float
    batch_seconds: list[float]
    requests: Counter[tuple[str, str]]
    sagemaker_reads: Counter[str]
    failures: int
    kinds: Counter[str]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else math.inf


def measure_recorder_throughput(target_events: int, batch_size: int = 10) -> ThroughputResult:
    """Events per second through usage_recorder.handler.lambda_handler, SQS batches, on moto."""
    import json

    from sagecost import wiring
    from sagecost.adapters.prices import load_catalog
    from sagecost.domain.pricing import PriceBook
    from sagecost.local.fake_sagemaker import FakeSageMaker

    feed = mixed_events(target_events)
    bodies = [json.dumps(event, separators=(",", ":")) for event in feed]
    fake = FakeSageMaker()
    with moto_ledger() as moto:
        wiring.reset()
        wiring.use(
            wiring.LocalAdapters(
                ledger=moto.ledger, prices_value=PriceBook(load_catalog()), sagemaker_value=fake
            )
        )
        from usage_recorder.handler import lambda_handler

        context = LambdaContext()
        batch_seconds: list[float] = []
        failures = 0
        for first in range(0, len(feed), batch_size):
            for raw in feed[first : first + batch_size]:
                fake.observe(raw)
            event = sqs_batch(bodies[first : first + batch_size], first)
            started = time.perf_counter()
            response = lambda_handler(event, context)
            batch_seconds.append(time.perf_counter() - started)
            failures += len(response.get("batchItemFailures", []))
        wiring.reset()
        return ThroughputResult(
            events=len(feed),
            batches=len(batch_seconds),
            seconds=sum(batch_seconds),
            seconds_in_calls=moto.counter.call_seconds,
            batch_seconds=batch_seconds,
            requests=moto.counter.snapshot(),
            sagemaker_reads=Counter(fake.calls),
            failures=failures,
            kinds=Counter(str(e["detail-type"]).removeprefix("SageMaker ") for e in feed),
        )


# --- 3. sweep requests ---------------------------------------------------------------------------------


@dataclass
class SweepRun:
    label: str
    operations: Counter[tuple[str, str]]
    seconds: float
    resources: int
    records: int

    @property
    def total(self) -> int:
        return sum(self.operations.values())

    def count(self, operation: str) -> int:
        return sum(n for (_, op), n in self.operations.items() if op == operation)


@dataclass
class SweepResult:
    n: int
    setup_seconds: float
    runs: list[SweepRun]

    @property
    def list_pages(self) -> int:
        """The design's ceil(N/100), per List* operation."""
        return math.ceil(self.n / SWEEP_PAGE)


def measure_sweep(n: int) -> SweepResult:
    """N endpoints and N notebooks running in moto, each opened by one event; then two hourly sweeps."""
    from sagecost.adapters.sagemaker import Boto3SageMaker
    from sagecost.local import events
    from sagecost.models.events import parse_event

    started = time.perf_counter()
    with moto_ledger() as moto:
        meter = _meter(moto.ledger, Boto3SageMaker(moto.sagemaker))
        setup = moto.setup_sagemaker
        config = "bench-sweep-cfg"
        _model_and_config_in_moto(setup, config, 2)
        for i in range(n):
            setup.create_endpoint(EndpointName=f"bench-sweep-ep-{i}", EndpointConfigName=config)
            setup.create_notebook_instance(
                NotebookInstanceName=f"bench-sweep-nb-{i}", InstanceType="ml.t3.medium", RoleArn=ROLE
            )
        at = datetime.now(UTC)  # moto stamps LastModifiedTime with the wall clock
        meter.record(
            parse_event(
                events.endpoint_config(config, [("AllTraffic", "ml.m5.xlarge", 2)], at=at, account=ACCOUNT)
            )
        )
        for i in range(n):
            meter.record(
                parse_event(
                    events.endpoint(
                        f"bench-sweep-ep-{i}",
                        "IN_SERVICE",
                        at=at,
                        config_name=config,
                        variants=[("AllTraffic", 2)],
                        tags=TAGS,
                        account=ACCOUNT,
                    )
                )
            )
            meter.record(
                parse_event(
                    events.notebook(
                        f"bench-sweep-nb-{i}",
                        "InService",
                        at=at,
                        instance_type="ml.t3.medium",
                        tags=TAGS,
                        account=ACCOUNT,
                    )
                )
            )
        setup_seconds = time.perf_counter() - started
        runs: list[SweepRun] = []
        for label, hours in (("first sweep, +1 h", 1), ("next sweep, +2 h", 2)):
            before = moto.counter.snapshot()
            began = time.perf_counter()
            report = meter.sweep(at + timedelta(hours=hours))
            runs.append(
                SweepRun(
                    label=label,
                    operations=moto.counter.since(before),
                    seconds=time.perf_counter() - began,
                    resources=report.resources,
                    records=report.records,
                )
            )
    return SweepResult(n=n, setup_seconds=setup_seconds, runs=runs)


# --- 4. handler import time ----------------------------------------------------------------------------


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HANDLER_ENV)
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / p) for p in ("shared", "functions"))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.setdefault(key, "bench")
    return env


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")


@dataclass
class ImportTime:
    """One `python -X importtime -c "import <module>"` run."""

    cumulative_us: int
    children: list[tuple[str, int]]
    """The module's direct imports, heaviest first, by cumulative microseconds."""
    packages: list[tuple[str, int]] = field(default_factory=list)
    """Top-level packages anywhere under the module's import, heaviest first (a package imported by another
    one counts in both: boto3 holds s3transfer)."""


def parse_importtime(stderr: str, module: str) -> ImportTime:
    """Sum the cumulative time of the top-level entries of `module`'s package (its __init__, then it).

    Nested imports come before their importer in the output, indented two spaces per level; the level-1
    entries right before the module's own level-0 line are its direct imports.
    """
    package = module.split(".", 1)[0]
    cumulative = 0
    pending: list[tuple[str, int]] = []
    pending_packages: list[tuple[str, int]] = []
    children: list[tuple[str, int]] = []
    packages: list[tuple[str, int]] = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        level = (len(match.group(3)) - 1) // 2
        name, total = match.group(4), int(match.group(2))
        if level >= 1 and "." not in name and not name.startswith("_"):
            pending_packages.append((name, total))
        if level == 1:
            pending.append((name, total))
        elif level == 0:
            if name == package or name.startswith(package + "."):
                cumulative += total
                if name == module:
                    children = sorted(pending, key=lambda item: -item[1])
                    packages = sorted(pending_packages, key=lambda item: -item[1])
            pending, pending_packages = [], []
    if cumulative == 0:
        raise ValueError(f"no import of {module} in the -X importtime output")
    return ImportTime(cumulative, children, packages)


@dataclass
class ImportResult:
    module: str
    runs: list[ImportTime]
    cold_wall: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(r.cumulative_us for r in self.runs) / 1000

    @property
    def min_ms(self) -> float:
        return min(r.cumulative_us for r in self.runs) / 1000


def _python(code: str, *, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    result = subprocess.run(
        command, env=subprocess_env(), cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")
    return result


def _wall(code: str) -> float:
    started = time.perf_counter()
    _python(code)
    return time.perf_counter() - started


def measure_import(module: str, repeats: int) -> ImportResult:
    """-X importtime runs and cold interpreter wall times, after one warm-up run (bytecode cached)."""
    code = f"import {module}"
    _python(code)
    runs = [parse_importtime(_python(code, importtime=True).stderr, module) for _ in range(repeats)]
    return ImportResult(module, runs, [_wall(code) for _ in range(repeats)])


def measure_bare_interpreter(repeats: int) -> list[float]:
    return [_wall("pass") for _ in range(repeats)]


# --- 5. peak memory of a demo run ---------------------------------------------------------------------


@dataclass
class ChildRun:
    command: list[str]
    seconds: float
    peak_rss_mib: float
    returncode: int
    last_lines: list[str]


def _maxrss_mib(ru_maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def run_measured(command: list[str]) -> ChildRun:
    """Run a child, wait for it with wait4: its own peak RSS (what getrusage(RUSAGE_CHILDREN) reports
    when it is the only child waited for) and its wall time."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=subprocess_env(), cwd=REPO, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = [line.rstrip() for line in output.read().splitlines() if line.strip()]
    return ChildRun(command, seconds, _maxrss_mib(usage.ru_maxrss), process.returncode, lines[-12:])


def measure_demo(out: Path, quick_lines: int | None = None) -> ChildRun:
    """`python -m sagecost.cli demo --out <out>`; with `quick_lines`, `simulate` on the demo's first lines."""
    if quick_lines is None:
        return run_measured([sys.executable, "-m", "sagecost.cli", "demo", "--out", str(out)])
    from sagecost.local.scenario import demo_events, messy_lines

    source = out / "first-lines.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    source.write_text("\n".join(messy_lines(demo_events())[:quick_lines]) + "\n", encoding="utf-8")
    return run_measured(
        [sys.executable, "-m", "sagecost.cli", "simulate", "--events", str(source), "--out", str(out / "sim")]
    )
