"""The embedded runtime: replay EventBridge events through the real handlers on in-process moto.

What is real: the handlers, their SQS batches (ReportBatchItemFailures included), the ledger table built
from template.yaml, the event rules read from template.yaml and matched by moto's EventBridge, the
hourly schedules (fired by a virtual clock from the first event to the last). What is faked, because moto
cannot do it: SageMaker (a FakeSageMaker that answers from the events themselves) and time.

Arrival order is the file's order; the virtual clock never runs backwards (a late event is delivered
late, as EventBridge would). Lines that are not JSON objects, events no rule routes, and events the
recorder rejects all end in `rejected.jsonl` with a reason.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.events.models import EventPattern
from pydantic import TypeAdapter, ValidationError

from sagecost import clock, wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.notifier import Notice
from sagecost.adapters.reports import DirectoryReports
from sagecost.domain.periods import hour_floor
from sagecost.domain.pricing import PriceBook
from sagecost.local import template as sam
from sagecost.local.bill import SimulatedBill
from sagecost.local.fake_metrics import ScenarioTraffic
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.local.moto_speedups import fast_dynamodb_transactions
from sagecost.local.report import write_jsonl, write_outputs
from sagecost.models.config import SagecostConfig
from sagecost.models.prices import PriceCatalog
from sagecost.models.tagging import Recheck

TABLE_NAME = "sagecost-ledger"
DELIVERY_ATTEMPTS = 5
NOT_SIMULATED = ("idle_reaper.",)
"""Scheduled functions the simulator runs only when the config asks for them: idle shutdown runs when
`idle.enforce` is true (a dry run would change nothing the simulation shows)."""
STREAM_BATCH = 100
"""As the template's stream event source: BatchSize 100."""
"""As the template's redrive policy: after this many failed receives a message is parked in the DLQ."""

_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)
Progress = Callable[[int], None]


class RecordingNotifier:
    """SNS as the simulator sees it: every message, with the simulated time it was sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.clock: Callable[[], datetime] = lambda: datetime.min.replace(tzinfo=UTC)

    def publish(self, notice: Notice) -> None:
        self.sent.append(
            {
                "at": self.clock().isoformat(),
                "subject": notice.subject,
                "message": notice.body,
                "attributes": notice.attributes,
                **({"json": notice.data} if notice.data is not None else {}),
            }
        )


@dataclass
class Rejection:
    line: int
    reason: str
    raw: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "raw": self.raw}


@dataclass
class SimulationResult:
    out: Path
    lines: int = 0
    delivered: int = 0
    sweeps: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    unrouted: dict[str, int] = field(default_factory=dict)
    """Events no rule in template.yaml routes (EventBridge would never deliver them), by detail-type."""
    summary: dict[str, Any] = field(default_factory=dict)
    sagemaker_reads: dict[str, int] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    allocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The cost allocator's answer per month; its files are in `out/allocation/<month>/`."""


def _lambda_context(function: sam.FunctionSpec) -> Any:
    from types import SimpleNamespace  # noqa: PLC0415 - only the simulator needs a context

    return SimpleNamespace(
        function_name=function.logical_id,
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function.logical_id}",
        aws_request_id="simulated",
        get_remaining_time_in_millis=lambda: 60_000,
    )


def _handler(function: sam.FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    """The function's handler, as Lambda resolves `Handler` (module path inside CodeUri, then attribute)."""
    module_name, _, attribute = function.handler.rpartition(".")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module_name), attribute)

    def invoke(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            # With metrics disabled Powertools keeps the values and prints them once 100 pile up
            # (a new execution environment per invocation would start empty): drop them. Imported
            # here, not at the top: Powertools reads its environment when the module is first loaded.
            from sagecost.observability import metrics  # noqa: PLC0415

            metrics.clear_metrics()

    return invoke


def schedule_hours(expression: str) -> int:
    """Whole hours between runs of `rate(N unit)` (at least 1: the virtual clock ticks hourly)."""
    match = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if match is None:
        raise ValueError(f"not a rate expression: {expression!r}")
    count, unit = int(match.group(1)), match.group(2)
    hours = {"minute": count / 60, "hour": count, "day": 24 * count}[unit.rstrip("s")]
    return max(1, int(hours))


def cron_due(expression: str, after: datetime, until: datetime) -> bool:
    """Whether `cron(minute hour day-of-month month day-of-week year)` fires in (after, until]. The subset
    the template uses: fixed minute and hour, a fixed day of the month or every day, any month and year."""
    match = re.fullmatch(r"cron\((\d+) (\d+) (\d+|\*|\?) \* (\?|\*) \*\)", expression.strip())
    if match is None:
        raise ValueError(
            f"the simulator cannot run the schedule {expression!r} (cron: fixed minute and hour)"
        )
    minute, hour, day = int(match.group(1)), int(match.group(2)), match.group(3)
    for candidate_day in {after.date(), until.date()}:
        if day not in {"*", "?"} and candidate_day.day != int(day):
            continue
        candidate = datetime(
            candidate_day.year, candidate_day.month, candidate_day.day, hour, minute, tzinfo=UTC
        )
        if after < candidate <= until:
            return True
    return False


def _epoch_seconds(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _event_time(raw: dict[str, Any]) -> datetime:
    try:
        moment = _TIME.validate_python(raw.get("time"))
    except ValidationError:
        raise ValueError(f"the envelope's time {raw.get('time')!r} is not a timestamp") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Simulator:
    """One simulated deployment: a moto account with the template's table, queues and rules."""

    def __init__(
        self,
        template: dict[str, Any],
        adapters: Callable[[DynamoLedger, Callable[[Recheck, int], None]], wiring.LocalAdapters],
    ) -> None:
        """`adapters`: what the handlers talk to, given the simulated ledger and the recheck queue."""
        self.template = template
        self.dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.events = boto3.client("events", region_name="us-east-1")
        self.dynamodb.create_table(**sam.table_create_args(template, table_name=TABLE_NAME))
        self.ledger = DynamoLedger(self.dynamodb, TABLE_NAME)
        self.functions = {f.logical_id: f for f in sam.functions(template)}
        self.queue_urls = {
            logical_id: self.sqs.create_queue(QueueName=logical_id)["QueueUrl"]
            for logical_id in sam.queue_names(template)
        }
        self.consumers = {q: f for f in self.functions.values() for q in f.queue_ids}
        self.rule_taps: dict[str, tuple[str, tuple[str, ...]]] = {}
        for rule in sam.event_rules(template):
            tap = self.sqs.create_queue(QueueName=f"tap-{rule.logical_id}")["QueueUrl"]
            tap_arn = self.sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.events.put_rule(Name=rule.logical_id, EventPattern=json.dumps(rule.pattern))
            self.events.put_targets(Rule=rule.logical_id, Targets=[{"Id": "tap", "Arn": tap_arn}])
            self.rule_taps[rule.logical_id] = (tap, rule.target_queue_ids)
        self.scheduled = [f for f in self.functions.values() if f.schedules]
        self.rechecks: list[tuple[datetime, Recheck]] = []
        self.parked_rechecks: list[tuple[str, str]] = []
        self.parked_emitted: list[tuple[str, str]] = []
        self.adapters = adapters(self.ledger, self._schedule_recheck)
        wiring.use(self.adapters)
        self.stream_readers = [
            (f, [EventPattern.load(pattern) for pattern in f.stream_filters])
            for f in self.functions.values()
            if f.reads_stream
        ]
        self.stream_shard = (
            dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE_NAME).stream_shard
        )
        self.stream_cursor = len(self.stream_shard.items) if self.stream_shard else 0
        self.parked_stream: list[dict[str, Any]] = []
        self.fake: FakeSageMaker | None = None
        self.not_simulated: tuple[str, ...] = NOT_SIMULATED
        self.now = datetime.min.replace(tzinfo=UTC)
        self.next_hour: datetime | None = None
        self.first_hour: datetime | None = None
        self.sweeps = 0

    # --- time ------------------------------------------------------------------------------------

    def advance_to(self, moment: datetime) -> None:
        """Move the virtual clock forward (never back), firing every hourly schedule passed on the way."""
        if self.next_hour is None:
            self.next_hour = hour_floor(moment) + timedelta(hours=1)
        while self.next_hour <= moment:
            self._deliver_rechecks(self.next_hour)
            self.now = self.next_hour
            self._fire_schedules()
            self.next_hour += timedelta(hours=1)
        self._deliver_rechecks(moment)
        self.now = max(self.now, moment)

    def _schedule_recheck(self, recheck: Recheck, delay_seconds: int) -> None:
        """SQS DelaySeconds on the virtual clock: the message becomes visible `delay_seconds` from now."""
        self.rechecks.append((self.now + timedelta(seconds=delay_seconds), recheck))

    def _deliver_rechecks(self, until: datetime) -> None:
        """Rechecks due by `until`, through the tag queue; any the enforcer fails on for good are kept in
        `parked_rechecks` (the DLQ), for the rejections."""
        while due := sorted((r for r in self.rechecks if r[0] <= until), key=lambda r: (r[0], r[1].arn)):
            moment, recheck = due[0]
            self.rechecks.remove(due[0])
            self.now = max(self.now, moment)
            queue_id = self.tag_queue_id
            if queue_id:
                self.sqs.send_message(
                    QueueUrl=self.queue_urls[queue_id], MessageBody=recheck.model_dump_json()
                )
                self.parked_rechecks += self.drain(queue_id)

    @property
    def tag_queue_id(self) -> str | None:
        return next((q for q, f in self.consumers.items() if f.handler.startswith("tag_enforcer.")), None)

    def _fire_schedules(self) -> None:
        """Every scheduled function due at this tick: `rate` schedules when their period divides the hours
        since the first tick (hourly: always, daily: every 24th), `cron` ones when their time has passed
        since the previous tick (a 00:30 schedule runs at the 01:00 tick)."""
        if self.first_hour is None:
            self.first_hour = self.now
        elapsed_hours = int((self.now - self.first_hour).total_seconds() // 3600)
        for function in self.scheduled:
            if function.handler.startswith(self.not_simulated):
                continue
            expression = function.schedules[0]
            if expression.startswith("cron("):
                if not cron_due(expression, self.now - timedelta(hours=1), self.now):
                    continue
            elif elapsed_hours % schedule_hours(expression) != 0:
                continue
            event = {
                "version": "0",
                "id": f"schedule-{self.now.isoformat()}",
                "source": "aws.scheduler",
                "detail-type": "Scheduled Event",
                "time": self.now.isoformat(),
                "detail": {},
            }
            _handler(function)(event, _lambda_context(function))
            self.pump_stream()
            self.deliver_emitted()
            if function.handler.startswith("usage_sweeper."):
                self.sweeps += 1

    def allocate(self, month: str) -> dict[str, Any]:
        """Run the cost allocator for a month, as an on-demand invocation (`{"month": ...}`) would."""
        (allocator,) = [f for f in self.functions.values() if f.handler.startswith("cost_allocator.")]
        result: dict[str, Any] = _handler(allocator)({"month": month}, _lambda_context(allocator))
        self.pump_stream()
        return result

    def deliver_emitted(self) -> None:
        """What SageMaker sends after sagecost's own stops and deletes (the fake keeps them), delivered
        through the rules at the virtual time they happen."""
        if self.fake is None:
            return
        for raw in self.fake.take_emitted():
            self.fake.observe(raw)
            routed = self.route(raw, json.dumps(raw))
            for queue_id in routed if isinstance(routed, list) else []:
                self.parked_emitted += self.drain(queue_id)

    def pump_stream(self) -> None:
        """Hand the ledger stream's new records to the functions that read it, as Lambda's event source
        mapping would: only records their FilterCriteria pass, in batches, at once (on the virtual clock:
        at the time of the write). A record still failing after the retries goes to `parked_stream`
        (the on-failure destination)."""
        if not self.stream_readers or self.stream_shard is None:
            return
        while self.stream_cursor < len(self.stream_shard.items):
            new = [item.record for item in self.stream_shard.items[self.stream_cursor :]]
            self.stream_cursor += len(new)
            for function, patterns in self.stream_readers:
                # the template's filters test the event name and the keys: match on those alone, then
                # deliver as Lambda does (JSON, ApproximateCreationDateTime in epoch seconds)
                matching = [
                    json.loads(json.dumps(r, default=_epoch_seconds))
                    for r in new
                    if not patterns
                    or any(
                        p.matches_event(
                            cast(
                                Any,
                                {"eventName": r["eventName"], "dynamodb": {"Keys": r["dynamodb"]["Keys"]}},
                            )
                        )
                        for p in patterns
                    )
                ]
                for start in range(0, len(matching), STREAM_BATCH):
                    self._deliver_stream_batch(function, matching[start : start + STREAM_BATCH])

    def _deliver_stream_batch(self, function: sam.FunctionSpec, records: list[dict[str, Any]]) -> None:
        pending = records
        for _ in range(DELIVERY_ATTEMPTS):
            response = _handler(function)({"Records": pending}, _lambda_context(function)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            if not failed:
                return
            # Lambda retries from the first failed record on
            first = min(i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] in failed)
            pending = pending[first:]
        self.parked_stream += pending

    # --- routing ---------------------------------------------------------------------------------

    def route(self, raw: dict[str, Any], line: str) -> list[str] | str | None:
        """The queues template.yaml's rules send this event to; None if no rule matches; or why EventBridge
        refused it."""
        entry: Any = {
            "Source": str(raw.get("source", "")),
            "DetailType": str(raw.get("detail-type", "")),
            "Detail": json.dumps(raw.get("detail", {})),
            "Resources": [str(r) for r in raw.get("resources", []) if isinstance(r, str)],
        }
        response = self.events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failure = response["Entries"][0]
            return f"EventBridge refused it: {failure.get('ErrorCode')} {failure.get('ErrorMessage')}"
        targets: list[str] = []
        for tap, queue_ids in self.rule_taps.values():
            messages = self.sqs.receive_message(QueueUrl=tap, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=tap, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                targets += queue_ids
        if not targets:
            return None
        for queue_id in targets:
            self.sqs.send_message(QueueUrl=self.queue_urls[queue_id], MessageBody=line)
        return targets

    def drain(self, queue_id: str) -> list[tuple[str, str]]:
        """Deliver a queue to its function in SQS batches; return (body, why) for each message parked."""
        function = self.consumers.get(queue_id)
        if function is None:
            return []
        url = self.queue_urls[queue_id]
        attempts: dict[str, int] = {}
        parked: list[tuple[str, str]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, function.batch_size or 10),
                VisibilityTimeout=0,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return parked
            event = {"Records": [self._sqs_record(m, queue_id) for m in messages]}
            response = _handler(function)(event, _lambda_context(function)) or {}
            self.pump_stream()
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] in failed:
                    attempts[message["Body"]] = attempts.get(message["Body"], 0) + 1
                    if attempts[message["Body"]] < DELIVERY_ATTEMPTS:
                        continue
                    parked.append((message["Body"], f"failed {DELIVERY_ATTEMPTS} times: parked in the DLQ"))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _sqs_record(self, message: Mapping[str, Any], queue_id: str) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue_id}",
            "awsRegion": "us-east-1",
        }


@contextmanager
def _lambda_environment(log_level: str) -> Iterator[None]:
    """The environment a deployed function has, restored afterwards."""
    environment = {
        "LEDGER_TABLE_NAME": TABLE_NAME,
        # the rest of what template.yaml gives the functions (the simulator's adapters stand in for them)
        "SAGECOST_CONFIG_PARAMETER": "/sagecost/simulated/config",
        "SAGECOST_PRICES_PARAMETER": "/sagecost/simulated/prices",
        "ALERTS_TOPIC_ARN": f"arn:aws:sns:us-east-1:{DEFAULT_ACCOUNT_ID}:sagecost-alerts",
        "TAG_QUEUE_URL": f"https://sqs.us-east-1.amazonaws.com/{DEFAULT_ACCOUNT_ID}/TagQueue",
        "REPORTS_BUCKET": "sagecost-reports-simulated",
        "REPORTS_TOPIC_ARN": f"arn:aws:sns:us-east-1:{DEFAULT_ACCOUNT_ID}:sagecost-reports",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "sagecost-simulator",
        "POWERTOOLS_METRICS_NAMESPACE": "sagecost",
        # the handlers' logs and EMF metrics would drown the summary; rejections go to rejected.jsonl
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": log_level,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    saved = {k: os.environ.get(k) for k in [*environment, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]}
    os.environ.update(environment)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "simulated")
    try:
        yield
    finally:
        clock.use_wall_clock()
        wiring.reset()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _read_line(number: int, text: str) -> tuple[dict[str, Any], datetime] | Rejection:
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError(f"a line must hold one JSON object, not {type(raw).__name__}")
        return raw, _event_time(raw)
    except ValueError as error:
        return Rejection(number, f"unreadable line: {str(error).splitlines()[0]}", text)


def _replay(
    simulator: Simulator,
    fake: FakeSageMaker,
    lines: Iterable[str],
    result: SimulationResult,
    progress: Progress | None,
) -> None:
    last_time: datetime | None = None
    line_of: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        result.lines = number
        if progress:
            progress(number)
        text = line.strip()
        if not text:
            continue
        read = _read_line(number, text)
        if isinstance(read, Rejection):
            result.rejected.append(read)
            continue
        raw, moment = read
        line_of.setdefault(text, number)
        simulator.advance_to(moment)
        last_time = max(last_time or moment, moment)
        raw = fake.as_sagemaker_sends(raw)
        fake.observe(raw)
        routed = simulator.route(raw, json.dumps(raw) if raw is not read[0] else text)
        if routed is None:
            kind = f"{raw.get('source')}: {raw.get('detail-type')}"
            result.unrouted[kind] = result.unrouted.get(kind, 0) + 1
        elif isinstance(routed, str):
            result.rejected.append(Rejection(number, routed, text))
        else:
            result.delivered += 1
            for queue_id in routed:
                result.rejected += [
                    Rejection(number, error, body) for body, error in simulator.drain(queue_id)
                ]
    if last_time is not None:
        simulator.advance_to(last_time)
    result.rejected += [Rejection(0, f"recheck {error}", body) for body, error in simulator.parked_rechecks]
    result.rejected += [
        Rejection(0, f"a state change after sagecost's own stop or delete {error}", body)
        for body, error in simulator.parked_emitted
    ]
    result.rejected += [
        Rejection(
            0, "ledger stream record failed every retry: sent to the on-failure queue", json.dumps(record)
        )
        for record in simulator.parked_stream
    ]
    result.rejected += [
        Rejection(line_of.get(r["raw"], 0), f"rejected by the recorder: {r['reason']}", r["raw"])
        for r in simulator.ledger.rejected()
    ]
    result.rejected.sort(key=lambda r: r.line)


def simulate(
    lines: Iterable[str],
    out: Path,
    *,
    catalog: PriceCatalog,
    config: SagecostConfig | None = None,
    template_path: Path | None = None,
    progress: Progress | None = None,
    log_level: str = "ERROR",
    busy_endpoints: Collection[str] | None = None,
) -> SimulationResult:
    """Replay event lines (one EventBridge envelope per line) and write ledger, rejections and summary.

    `busy_endpoints`: the endpoints that serve traffic, for idle shutdown (events carry no metrics);
    None: every endpoint is busy, so no endpoint looks idle."""
    template = sam.load_template(template_path)
    result = SimulationResult(out=out)
    fake = FakeSageMaker()
    prices = PriceBook(catalog)
    config = config or SagecostConfig()
    notifier = RecordingNotifier()
    with _lambda_environment(log_level), mock_aws(), fast_dynamodb_transactions():
        lines = list(lines)
        fake.learn_creation_tags(lines)
        reports_notifier = RecordingNotifier()
        simulator = Simulator(
            template,
            lambda ledger, rechecks: wiring.LocalAdapters(
                ledger=ledger,
                config_value=config,
                prices_value=prices,
                sagemaker_value=fake,
                alerts_value=notifier,
                recheck_value=rechecks,
                tag_sweep_value=wiring.TagSweepSources(
                    resources=fake.governed_resources,
                    tags=fake.sagemaker_tags,
                    add_tags=fake.add_tags,
                    read_tags=fake.tags,
                ),
                outputs_value=wiring.MonthEndOutputs(
                    DirectoryReports(out / "allocation", relative_to=out), reports_notifier
                ),
                billed_costs_value=SimulatedBill(ledger),
                studio=None,  # the demo has no Studio apps
                traffic_value=ScenarioTraffic(busy_endpoints),
                resource_tags_value=fake.sagemaker_tags,
            ),
        )
        simulator.fake = fake
        if config.idle.enforce:
            simulator.not_simulated = ()
        notifier.clock = reports_notifier.clock = lambda: simulator.now
        clock.use(lambda: simulator.now)
        _replay(simulator, fake, lines, result, progress)
        # the month-end run happened on each 1st the replay passed; the months end with what came after
        result.allocations = {month: simulator.allocate(month) for month in simulator.ledger.months()}
        result.sweeps = simulator.sweeps
        result.sagemaker_reads = dict(sorted(fake.calls.items()))
        actions = simulator.ledger.actions()
        project_key = config.tags.project.key
        projects_added = {
            str(a["resource_arn"]): str(a["added"][project_key])
            for a in actions
            if project_key in (a.get("added") or {})
        }
        result.summary = write_outputs(
            simulator.ledger,
            out,
            [r.as_json() for r in result.rejected],
            result.unrouted,
            projects_added,
            result.allocations,
        )
        write_jsonl(out / "actions.jsonl", actions)
        write_jsonl(out / "alerts.jsonl", notifier.sent)
        write_jsonl(out / "reports.jsonl", reports_notifier.sent)
        result.actions = actions
        result.alerts = notifier.sent
    return result
