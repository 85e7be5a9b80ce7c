"""The embedded runtime: replay EventBridge events through the real handlers on in-process moto.

What is real: the handlers, their SQS batches (ReportBatchItemFailures included), the ledger table built
from template.yaml, the event rules read from template.yaml and matched by moto's EventBridge, the
hourly schedules (fired by a virtual clock from the first event to the last). What is faked, because moto
cannot do it: SageMaker (a FakeSageMaker that answers from the events themselves) and time.

Arrival order is the file's order; the virtual clock never runs backwards (a late event is delivered
late, as EventBridge would). Every line has one fate, counted in the summary's `lines`: blank, rejected
before delivery (not a JSON object, an implausible time, refused by EventBridge: in `rejected.jsonl` with
a reason), routed by no rule (counted by kind), or delivered (and then maybe rejected by a handler, also
in `rejected.jsonl`). Only a delivered line moves the virtual clock or teaches the fake SageMaker.

The plausible time window: an envelope time before SageMaker existed (November 2017), more than a day in
the wall clock's future, more than a year from the run's median, or more than a day out of its place in
arrival order (see `out_of_place`) is rejected before anything else happens, so one absurd line can
neither make the clock fire every hourly sweep up to 9999 nor make the events after it look late.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.events.models import EventPattern
from pydantic import TypeAdapter, ValidationError

from sagecost import clock, wiring
from sagecost.adapters.hyperpod import Boto3HyperPodClusters
from sagecost.adapters.ledger import DynamoLedger, kept_raw
from sagecost.adapters.mlflow import Boto3MlflowServers
from sagecost.adapters.notifier import Notice
from sagecost.adapters.reports import DirectoryReports
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.studio import Boto3StudioApps
from sagecost.domain.periods import hour_floor
from sagecost.domain.pricing import PriceBook
from sagecost.local import template as sam
from sagecost.local.bill import SimulatedBill
from sagecost.local.fake_account import FakeAccount, ServerlessHour, ServerlessTraffic
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
MAX_EVENT_BYTES = 256 * 1024
"""EventBridge refuses an entry over 256 KB."""
MAX_NESTING = 32
"""Deeper JSON than any AWS event has (CloudTrail's are the deepest, about ten levels): refused before a
parser or pattern matcher recurses into it."""
EARLIEST_EVENT = datetime(2017, 11, 1, tzinfo=UTC)
"""SageMaker was launched on 29 November 2017: no SageMaker event is older than that month."""
FUTURE_TOLERANCE = timedelta(days=1)
"""How far past the wall clock an envelope time may be (clock skew, time zones), no further."""
RUN_SPAN = timedelta(days=366)
"""How far from the median of the run's times an envelope time may be: a replay covers a year at most."""
NEIGHBOURS = 10
"""Lines on each side whose times say where a line belongs in the stream (see `out_of_place`)."""
NEIGHBOUR_EVIDENCE = 3
"""Fewer lines than this on a side say nothing about where a line belongs."""
OUT_OF_PLACE = timedelta(days=1)
"""EventBridge retries a delivery for 24 hours, no longer: no event arrives more than a day late."""

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
    """Lines delivered to a queue (a handler may still reject them: they are in `rejected` too)."""
    blank: int = 0
    refused_lines: list[int] = field(default_factory=list)
    """Lines rejected before delivery (unreadable, an implausible time, refused by EventBridge)."""
    sweeps: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    unrouted: dict[str, int] = field(default_factory=dict)
    """Events no rule in template.yaml routes (EventBridge would never deliver them), by detail-type."""
    unrouted_lines: list[int] = field(default_factory=list)
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


def _why(error: BaseException) -> str:
    """An error in one line: its type and the first line of its message (for a batch whose records all
    failed, the first record's error)."""
    if isinstance(error, BatchProcessingError) and error.child_exceptions:
        _, child, _ = error.child_exceptions[0]
        if child is not None:
            error = child
    message = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {_clip(message, 200)}" if message else type(error).__name__


def _json_type(value: object) -> str:
    """A parsed JSON value's type as JSON names it."""
    if value is None:
        return "null (or missing)"
    if value == "":
        return "empty"
    names = {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "an array"}
    return names.get(type(value), "an object")


def _epoch_seconds(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _event_time(raw: dict[str, Any]) -> datetime:
    try:
        moment = _TIME.validate_python(raw.get("time"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValidationError, OverflowError):
        raise ValueError(f"the envelope's time {_shown(raw.get('time'))} is not a timestamp") from None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _shown(value: object, limit: int = 80) -> str:
    """A value as a reason quotes it: its repr, clipped (a hostile value may be long)."""
    return _clip(repr(value), limit)


def _nesting(value: object) -> int:
    """How deeply a parsed JSON value nests (without recursing: the value may be deep)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_NESTING:
            pending += [(child, depth + 1) for child in children]
    return deepest


def _median(times: list[datetime]) -> datetime:
    ordered = sorted(times)
    return ordered[(len(ordered) - 1) // 2]


def _later_than_most(moment: datetime, others: list[datetime]) -> bool:
    return 2 * sum(moment - other > OUT_OF_PLACE for other in others) > len(others)


def _earlier_than_most(moment: datetime, others: list[datetime]) -> bool:
    return 2 * sum(other - moment > OUT_OF_PLACE for other in others) > len(others)


def out_of_place(times: list[datetime]) -> dict[int, str]:
    """Which of the stream's envelope times (index -> why) cannot be where they are in arrival order.

    EventBridge delivers an event within 24 hours of its time (it stops retrying after a day), so no line
    is more than a day later than a line delivered after it, nor more than a day earlier than one delivered
    before it. Where lines contradict that, the one that contradicts most of the `NEIGHBOURS` on a side (of
    at least `NEIGHBOUR_EVIDENCE`) is out of place; then, among the others, a line more than a day later than
    every line after it (near the end, where fewer are left to say so): it would make them all late. A time
    more than `RUN_SPAN` from the run's median is out of place wherever it is (a replay covers a year at
    most). A quiet day or weekend is in its place: it contradicts nothing."""
    if not times:
        return {}
    run_median = _median(times)
    misplaced: dict[int, str] = {}
    for index, moment in enumerate(times):
        before = times[max(0, index - NEIGHBOURS) : index]
        after = times[index + 1 : index + 1 + NEIGHBOURS]
        if abs(moment - run_median) > RUN_SPAN:
            misplaced[index] = (
                f"more than {RUN_SPAN.days} days from the run's median ({run_median.isoformat()})"
            )
        elif len(after) >= NEIGHBOUR_EVIDENCE and _later_than_most(moment, after):
            misplaced[index] = "more than a day after most of the lines delivered after it"
        elif len(before) >= NEIGHBOUR_EVIDENCE and _earlier_than_most(moment, before):
            misplaced[index] = "more than a day before most of the lines delivered before it"
    kept = [index for index in range(len(times)) if index not in misplaced]
    for position, index in enumerate(kept):
        after = [times[later] for later in kept[position + 1 : position + 1 + NEIGHBOURS]]
        if after and all(times[index] - other > OUT_OF_PLACE for other in after):
            misplaced[index] = "more than a day after every line delivered after it"
    return misplaced


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
        self.failed_runs: list[tuple[str, str, str]] = []
        """(function, virtual time, error) of each scheduled run that raised (Lambda would retry it twice)."""
        self.fake: FakeSageMaker | None = None
        self.account: FakeAccount | None = None
        self.not_simulated: tuple[str, ...] = NOT_SIMULATED
        self.now = datetime.min.replace(tzinfo=UTC)
        self.next_hour: datetime | None = None
        self.first_hour: datetime | None = None
        self.sweeps = 0

    # --- time ------------------------------------------------------------------------------------

    def advance_to(self, moment: datetime) -> None:
        """Move the virtual clock forward (never back), firing every hourly schedule passed on the way.

        Only to plausible times (the replay rejects the others first): a jump of years would fire every
        hourly schedule in between."""
        if not EARLIEST_EVENT <= moment <= datetime.now(UTC) + FUTURE_TOLERANCE or (
            self.next_hour is not None and moment - self.now > 2 * RUN_SPAN
        ):
            raise ValueError(f"the virtual clock cannot move from {self.now} to {moment}")
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
        if self.account is not None:
            self.account.catch_up(self.now)
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
            try:
                _handler(function)(event, _lambda_context(function))
            except Exception as error:  # reported; the next run still runs
                self.failed_runs.append((function.logical_id, self.now.isoformat(), _why(error)))
            self.pump_stream()
            self.deliver_emitted()
            if function.handler.startswith("usage_sweeper."):
                self.sweeps += 1

    def allocate(self, month: str) -> dict[str, Any]:
        """Run the cost allocator for a month, as an on-demand invocation (`{"month": ...}`) would; if it
        fails, the failure is kept with the scheduled runs' and the month's answer says why."""
        (allocator,) = [f for f in self.functions.values() if f.handler.startswith("cost_allocator.")]
        try:
            result: dict[str, Any] = _handler(allocator)({"month": month}, _lambda_context(allocator))
        except Exception as error:  # reported; the other months are still allocated
            self.failed_runs.append((allocator.logical_id, f"month {month}", _why(error)))
            result = {"month": month, "failed": _why(error)}
        self.pump_stream()
        return result

    def deliver_emitted(self) -> None:
        """What SageMaker sends after sagecost's own stops and deletes (the fake keeps them), delivered
        through the rules at the virtual time they happen."""
        if self.fake is None:
            return
        for raw in self.fake.take_emitted():
            self.fake.observe(raw)
            if self.account is not None:
                self.account.observe(raw)
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
            try:
                response = _handler(function)({"Records": pending}, _lambda_context(function)) or {}
            except Exception:  # a function error: Lambda retries the batch
                response = {
                    "batchItemFailures": [
                        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in pending
                    ]
                }
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            if not failed:
                return
            # Lambda retries from the first failed record on
            first = min(i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] in failed)
            pending = pending[first:]
        self.parked_stream += pending

    # --- routing ---------------------------------------------------------------------------------

    def route(self, raw: dict[str, Any], line: str) -> list[str] | str | None:
        """Send this event to the queues template.yaml's rules send it to, and name them; None if no rule
        matches; or why EventBridge refused it."""
        targets = self.targets(raw)
        for queue_id in targets if isinstance(targets, list) else []:
            self.send(queue_id, line)
        return targets

    def send(self, queue_id: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_urls[queue_id], MessageBody=body)

    def targets(self, raw: dict[str, Any]) -> list[str] | str | None:
        """The queues template.yaml's rules send this event to (nothing is sent); None if no rule matches;
        or why EventBridge refused it (PutEvents takes a `detail` that is a JSON object, nothing else)."""
        source, detail_type, detail = raw.get("source"), raw.get("detail-type"), raw.get("detail")
        for field_name, value in (("source", source), ("detail-type", detail_type)):
            if not isinstance(value, str) or not value:
                return f"EventBridge refused it: InvalidArgument: the {field_name} is {_json_type(value)}"
        if not isinstance(detail, dict):
            return (
                f"EventBridge refused it: MalformedDetail: the detail is {_json_type(detail)}, not an object"
            )
        resources = raw.get("resources")
        entry: Any = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "Resources": [r for r in resources if isinstance(r, str)] if isinstance(resources, list) else [],
        }
        try:
            response = self.events.put_events(Entries=[entry])
        except (ClientError, ParamValidationError, UnicodeError) as error:
            return f"EventBridge refused it: {_why(error)}"
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
        return targets or None

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
            why = ""
            try:
                response = _handler(function)(event, _lambda_context(function)) or {}
            except Exception as error:  # a function error: the whole batch returns
                # (Powertools raises BatchProcessingError when every record of a batch failed)
                why = f" ({_why(error)})"
                response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            self.pump_stream()
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] in failed:
                    attempts[message["Body"]] = attempts.get(message["Body"], 0) + 1
                    if attempts[message["Body"]] < DELIVERY_ATTEMPTS:
                        continue
                    parked.append(
                        (message["Body"], f"failed {DELIVERY_ATTEMPTS} times{why}: parked in the DLQ")
                    )
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


def read_event_lines(path: Path) -> list[str]:
    """A file's lines as EventBridge events are written, one per line: split at line feeds only (a JSON
    string may hold U+2028, U+0085 or a form feed, which `str.splitlines` would cut it at); a final line
    feed ends the last line rather than starting an empty one."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


class _Refused(ValueError):
    """Why a line cannot be delivered, as `rejected.jsonl` gives it."""


def _event_of(text: str) -> dict[str, Any]:
    if len(text.encode("utf-8", "replace")) > MAX_EVENT_BYTES:
        raise _Refused(f"refused: {len(text)} characters, over the {MAX_EVENT_BYTES} bytes EventBridge takes")
    try:
        raw = json.loads(text)
    except RecursionError:
        raise _Refused("unreadable line: JSON nested too deeply to read") from None
    except ValueError as error:
        raise _Refused(f"unreadable line: {(str(error).splitlines() or [''])[0]}") from None
    if not isinstance(raw, dict):
        raise _Refused(f"unreadable line: a line must hold one JSON object, not {type(raw).__name__}")
    if _nesting(raw) > MAX_NESTING:
        raise _Refused(f"unreadable line: JSON nested deeper than {MAX_NESTING} levels")
    return raw


def _plausible_time(raw: dict[str, Any], latest: datetime) -> datetime:
    try:
        moment = _event_time(raw)
    except ValueError as error:
        raise _Refused(f"unreadable line: {error}") from None
    if moment < EARLIEST_EVENT:
        raise _Refused(f"implausible time: {moment.isoformat()} is before SageMaker existed (November 2017)")
    if moment > latest:
        raise _Refused(
            f"implausible time: {moment.isoformat()} is in the future (after {latest.isoformat()})"
        )
    return moment


def _read_line(number: int, text: str, latest: datetime) -> tuple[dict[str, Any], datetime] | Rejection:
    """The line's event and its envelope time, or why it cannot be delivered."""
    try:
        raw = _event_of(text)
        return raw, _plausible_time(raw, latest)
    except _Refused as refusal:
        return Rejection(number, str(refusal), text)


@dataclass(frozen=True)
class _Admitted:
    """A line to deliver: its event, its envelope time and the queues the rules send it to."""

    number: int
    text: str
    event: dict[str, Any]
    moment: datetime
    queue_ids: list[str]


def _admit(
    simulator: Simulator, lines: list[str], result: SimulationResult, latest: datetime
) -> list[_Admitted]:
    """Decide every line's fate before the replay: blank, rejected (with a reason), unrouted, or delivered.
    Nothing here moves the virtual clock or teaches the fake SageMaker."""
    readable: list[tuple[int, str, dict[str, Any], datetime]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            result.blank += 1
            continue
        read = _read_line(number, text, latest)
        if isinstance(read, Rejection):
            result.rejected.append(read)
            result.refused_lines.append(number)
            continue
        readable.append((number, text, *read))
    misplaced = out_of_place([moment for *_, moment in readable])
    admitted: list[_Admitted] = []
    for index, (number, text, raw, moment) in enumerate(readable):
        if index in misplaced:
            result.rejected.append(
                Rejection(number, f"implausible time: {moment.isoformat()} is {misplaced[index]}", text)
            )
            result.refused_lines.append(number)
            continue
        queue_ids = simulator.targets(raw)
        if queue_ids is None:
            kind = f"{_shown(raw.get('source'), 60)}: {_shown(raw.get('detail-type'), 120)}".replace("'", "")
            result.unrouted[kind] = result.unrouted.get(kind, 0) + 1
            result.unrouted_lines.append(number)
        elif isinstance(queue_ids, str):
            result.rejected.append(Rejection(number, queue_ids, text))
            result.refused_lines.append(number)
        else:
            admitted.append(_Admitted(number, text, raw, moment, queue_ids))
    return admitted


def _replay(
    simulator: Simulator,
    fake: FakeSageMaker,
    admitted: list[_Admitted],
    result: SimulationResult,
    progress: Progress | None,
) -> None:
    last_time: datetime | None = None
    line_of: dict[str, int] = {}
    for line in admitted:
        if progress:
            progress(line.number)
        simulator.advance_to(line.moment)
        last_time = max(last_time or line.moment, line.moment)
        event = fake.as_sagemaker_sends(line.event)
        fake.observe(event)
        if simulator.account is not None:
            simulator.account.observe(event)
        body = line.text if event is line.event else json.dumps(event)
        line_of.setdefault(line.text, line.number)
        line_of.setdefault(body, line.number)
        result.delivered += 1
        for queue_id in line.queue_ids:
            simulator.send(queue_id, body)
        for queue_id in line.queue_ids:
            result.rejected += [
                Rejection(line.number, error, parked) for parked, error in simulator.drain(queue_id)
            ]
    if progress:
        progress(result.lines)
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
        Rejection(0, f"a scheduled run of {name} failed at {at}: {error}", "")
        for name, at, error in simulator.failed_runs
    ]
    # the ledger keeps a rejected message's first 64 KB: a longer line is found by that prefix
    line_of |= {kept_raw(text): number for text, number in line_of.items() if kept_raw(text) not in line_of}
    result.rejected += [
        Rejection(line_of.get(r["raw"], 0), f"rejected by the recorder: {r['reason']}", r["raw"])
        for r in simulator.ledger.rejected()
    ]
    result.rejected.sort(key=lambda r: r.line)


def line_accounting(result: SimulationResult) -> dict[str, Any]:
    """Every input line's fate; `delivered`, `rejected`, `unrouted` and `blank` add up to `read`."""
    refused_lines = set(result.refused_lines)
    by_reason: dict[str, int] = {}
    for rejection in result.rejected:
        if rejection.line in refused_lines:
            head = rejection.reason.split(":", 1)[0]
            by_reason[head] = by_reason.get(head, 0) + 1
    handled_lines = {r.line for r in result.rejected if r.line} - refused_lines
    return {
        "read": result.lines,
        "delivered": result.delivered,
        "rejected": len(result.refused_lines),
        "unrouted": len(result.unrouted_lines),
        "blank": result.blank,
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "delivered_then_rejected": len(handled_lines),
    }


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
    serverless_traffic: Mapping[str, ServerlessHour] | None = None,
    unseen: Iterable[dict[str, Any]] = (),
) -> SimulationResult:
    """Replay event lines (one EventBridge envelope per line) and write ledger, rejections and summary.

    `busy_endpoints`: the endpoints that serve traffic, for idle shutdown (events carry no metrics);
    None: every endpoint is busy, so no endpoint looks idle. `serverless_traffic`: the serverless endpoints'
    hourly CloudWatch figures while in service (by endpoint name). `unseen`: events that happened in the
    account but are never delivered (a lost CloudTrail event): the fakes apply them at their time, so only
    the hourly sweep can find them out."""
    template = sam.load_template(template_path)
    result = SimulationResult(out=out)
    fake = FakeSageMaker()
    account = FakeAccount(serverless=ServerlessTraffic(per_endpoint=dict(serverless_traffic or {})))
    account.expect_unseen(unseen)
    prices = PriceBook(catalog)
    config = config or SagecostConfig()
    notifier = RecordingNotifier()
    latest = datetime.now(UTC) + FUTURE_TOLERANCE
    with _lambda_environment(log_level), mock_aws(), fast_dynamodb_transactions():
        lines = list(lines)
        result.lines = len(lines)
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
                studio=Boto3StudioApps(account.studio),
                traffic_value=ScenarioTraffic(busy_endpoints),
                serverless_metrics=account.serverless,
                inference_components=Boto3SageMaker(cast(Any, account.components)),
                resource_tags_value=fake.sagemaker_tags,
                mlflow=Boto3MlflowServers(account.mlflow),
                hyperpod=Boto3HyperPodClusters(account.hyperpod),
            ),
        )
        simulator.fake = fake
        simulator.account = account
        if config.idle.enforce:
            simulator.not_simulated = ()
        notifier.clock = reports_notifier.clock = lambda: simulator.now
        clock.use(lambda: simulator.now)
        admitted = _admit(simulator, lines, result, latest)
        fake.learn_creation_tags(line.text for line in admitted)
        for line in admitted:
            account.learn_creation_tags(line.event)
        _replay(simulator, fake, admitted, result, progress)
        # the month-end run happened on each 1st the replay passed; the months end with what came after
        result.allocations = {month: simulator.allocate(month) for month in simulator.ledger.months()}
        bill = SimulatedBill(simulator.ledger)
        for month, allocation in result.allocations.items():
            allocation["priced_usage"] = bill.priced_usage(month)
        result.sweeps = simulator.sweeps
        reads = fake.calls + Counter(account.calls)
        result.sagemaker_reads = dict(sorted(reads.items()))
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
            lines=line_accounting(result),
        )
        write_jsonl(out / "actions.jsonl", actions)
        write_jsonl(out / "alerts.jsonl", notifier.sent)
        write_jsonl(out / "reports.jsonl", reports_notifier.sent)
        result.actions = actions
        result.alerts = notifier.sent
    return result
