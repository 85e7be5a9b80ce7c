"""Inference components on moto's DynamoDB: an endpoint hosting two components splits its instance-hours
by their reserved compute, parts and unreserved rest adding up exactly to the endpoint's cost, whatever
order (and however many times) the endpoint's events and the components' CloudTrail calls arrive.

Updates and deletions are kept on the component's pointer and applied by the hourly sweep (`settle`), so
each call costs at most two requests; the records are the same as if they were applied at once."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3

from sagecost.adapters.inference_components import Boto3InferenceComponents
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_inference_components import FakeInferenceComponent, FakeInferenceComponentsClient
from sagecost.local.template import load_template, table_create_args
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension, ResourceKind, UsageRecord
from sagecost.services.usage import UsageMeter
from sagecost.services.usage.inference_components import InferenceComponentMeter
from sagecost.services.usage.results import SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kinds"
DAY = datetime(2026, 10, 7, tzinfo=UTC)
RATE = Decimal("7.09")  # TEST_RATES: hosting ml.g5.12xlarge (4 GPUs)
ENDPOINT_TAGS = {"Project": "llm", "Team": "platform", "Owner": "bob"}
IC = "arn:aws:sagemaker:us-east-1:111122223333:inference-component/"


def at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def call(fixture: str, moment: datetime, event_id: str, **request: Any) -> dict[str, Any]:
    """A CloudTrail fixture re-timed, with request members changed."""
    raw = copy.deepcopy(json.loads((FIXTURES / fixture).read_text()))
    raw["time"] = raw["detail"]["eventTime"] = iso(moment)
    raw["id"] = f"env-{event_id}"
    raw["detail"]["eventID"] = event_id
    raw["detail"]["requestParameters"].update(request)
    return dict(raw)


def feed() -> list[dict[str, Any]]:
    """ml.g5.12xlarge x1 (4 GPUs) in service 08:00-20:00. llama (fixture: 1 GPU, 2 copies) from 12:00,
    3 copies from 15:00, deleted 18:00; mistral (1 GPU, 1 copy) from 13:00, 2 copies from 19:00."""
    config = events.endpoint_config("llm-cfg", [("AllTraffic", "ml.g5.12xlarge", 1)], at=at(7))
    del config["detail"]["ProductionVariants"][0]["ModelName"]  # a variant that hosts inference components
    mistral = call(
        "cloudtrail-CreateInferenceComponent.json",
        at(13),
        "create-mistral",
        inferenceComponentName="mistral-7b-ic",
        runtimeConfig={"copyCount": 1},
        tags=[{"key": "Project", "value": "chat"}, {"key": "Team", "value": "assistants"}],
    )
    mistral["detail"]["responseElements"]["inferenceComponentArn"] = IC + "mistral-7b-ic"
    scaled = call(
        "cloudtrail-UpdateInferenceComponentRuntimeConfig.json",
        at(19),
        "scale-mistral",
        inferenceComponentName="mistral-7b-ic",
        desiredRuntimeConfig={"copyCount": 2},
    )
    return [
        config,
        events.endpoint(
            "llm-endpoint",
            "IN_SERVICE",
            at=at(8),
            config_name="llm-cfg",
            variants=[("AllTraffic", 1)],
            tags=ENDPOINT_TAGS,
        ),
        call("cloudtrail-CreateInferenceComponent.json", at(12), "create-llama"),
        mistral,
        call(
            "cloudtrail-UpdateInferenceComponentRuntimeConfig.json",
            at(15),
            "scale-llama",
            desiredRuntimeConfig={"copyCount": 3},
        ),
        call("cloudtrail-DeleteInferenceComponent.json", at(18), "delete-llama"),
        scaled,
        events.endpoint(
            "llm-endpoint",
            "DELETING",
            at=at(20),
            config_name="llm-cfg",
            variants=[("AllTraffic", 1)],
            tags=ENDPOINT_TAGS,
        ),
    ]


def meter_on(ledger: DynamoLedger, prices: PriceBook) -> UsageMeter:
    config = SagecostConfig()
    return UsageMeter(
        ledger,
        Boto3SageMaker(boto3.client("sagemaker")),
        prices,
        config,
        kind_meters=[InferenceComponentMeter(UsageWriter(ledger, prices, config))],
    )


def settle(meter: UsageMeter, now: datetime = DAY + timedelta(hours=20)) -> None:
    """The hourly sweep (moto lists no endpoint; the feed's endpoint no longer bills by then): it applies
    the updates and deletions the components' pointers keep."""
    meter.sweep(now)


def fresh_ledger(name: str) -> DynamoLedger:
    client = boto3.client("dynamodb")
    client.create_table(**table_create_args(load_template(), table_name=name))
    return DynamoLedger(client, name)


def ledger_view(ledger: DynamoLedger) -> list[tuple[str, str, Decimal, Decimal | None, str]]:
    return sorted(
        (r.record_id, r.resource_arn, r.quantity, r.cost, r.tags.model_dump_json())
        for r in ledger.records("2026-10")
    )


def by_name(records: list[UsageRecord]) -> dict[str, tuple[Decimal, Decimal]]:
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for r in records:
        q, c = totals.get(r.resource_name, (Decimal(0), Decimal(0)))
        totals[r.resource_name] = (q + r.quantity, c + (r.cost or Decimal(0)))
    return totals


def test_an_endpoint_hosting_two_components_splits_its_hours_by_reserved_gpus_exactly(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter = meter_on(ledger, prices)
    for raw in feed():
        meter.record(parse_event(raw))
    settle(meter)

    records = list(ledger.records("2026-10"))
    # hand-computed (GPU-hours of 4) per interval 08-12 | 12-13 | 13-15 | 15-18 | 18-19 | 19-20:
    # llama 0 | .5 | 1 | 2.25 | 0 | 0; mistral 0 | 0 | .5 | .75 | .25 | .5; rest 4 | .5 | .5 | 0 | .75 | .5
    assert by_name(records) == {
        "llama-3-8b-ic": (Decimal("3.75"), Decimal("26.5875")),
        "mistral-7b-ic": (Decimal("2"), Decimal("14.18")),
        "llm-endpoint": (Decimal("6.25"), Decimal("44.3125")),
    }
    # parts and rest add up exactly to the endpoint's 12 instance-hours, in the records and the aggregates
    assert sum(r.cost or 0 for r in records) == 12 * RATE
    assert ledger.month_total("2026-10").cost == 12 * RATE
    llama = [r for r in records if r.resource_name == "llama-3-8b-ic"]
    assert {(r.resource_arn, r.resource_kind) for r in llama} == {
        (IC + "llama-3-8b-ic", ResourceKind.INFERENCE_COMPONENT)
    }
    # each part carries its component's tags and owner (the caller, as no Owner tag was given)
    assert {(r.tags.cost_center, r.tags.owner, r.tags.project) for r in llama} == {("cc-77", "alice", "llm")}
    mistral = [r for r in records if r.resource_name == "mistral-7b-ic"]
    assert {(r.tags.project, r.tags.team) for r in mistral} == {("chat", "assistants")}
    aggregates = {(a.dimension, a.value): a.cost for a in ledger.aggregates("2026-10")}
    assert aggregates[(Dimension.PROJECT, "chat")] == Decimal("14.18")
    # after llama's deletion its share is back in the rest: 3 of the 4 GPUs for 18:00-19:00
    tail = next(r for r in records if r.resource_name == "llm-endpoint" and r.start == at(18))
    assert (tail.quantity, tail.end) == (Decimal("0.75"), at(19))


def test_replaying_the_calls_and_events_three_times_shuffled_gives_the_same_ledger(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter = meter_on(ledger, prices)
    for raw in feed():
        meter.record(parse_event(raw))
    settle(meter)
    expected = ledger_view(ledger)

    for seed in range(3):
        replayed = fresh_ledger(f"sagecost-ic-replay-{seed}")
        shuffled = feed() * 3
        random.Random(seed).shuffle(shuffled)
        again = meter_on(replayed, prices)
        for raw in shuffled:
            again.record(parse_event(raw))
        settle(again)
        assert ledger_view(replayed) == expected
        assert replayed.month_total("2026-10").cost == 12 * RATE


def test_a_deletion_that_arrives_before_the_creation_is_kept_and_applied(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter = meter_on(ledger, prices)
    raws = feed()
    deleted = raws.pop(5)
    assert deleted["detail"]["eventName"] == "DeleteInferenceComponent"
    meter.record(parse_event(deleted))  # pointer unknown yet: kept on the component's pointer
    for raw in raws:
        meter.record(parse_event(raw))
    settle(meter)
    assert by_name(list(ledger.records("2026-10")))["llama-3-8b-ic"][0] == Decimal("3.75")


def test_a_late_deletion_takes_back_the_parts_metered_after_it(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    # everything metered to 20:00 with llama still in force, then its deletion at 18:00 arrives: its part
    # from 19:00 (cut by mistral's scaling) is deleted from the ledger, not left behind
    meter = meter_on(ledger, prices)
    raws = feed()
    deleted = raws.pop(5)
    for raw in raws:
        meter.record(parse_event(raw))
    settle(meter)
    assert any(r.resource_name == "llama-3-8b-ic" and r.start == at(19) for r in ledger.records("2026-10"))
    meter.record(parse_event(deleted))
    settle(meter, at(21))
    records = list(ledger.records("2026-10"))
    assert not any(r.resource_name == "llama-3-8b-ic" and r.start >= at(18) for r in records)
    assert by_name(records)["llama-3-8b-ic"] == (Decimal("3.75"), Decimal("26.5875"))
    assert sum(r.cost or 0 for r in records) == ledger.month_total("2026-10").cost == 12 * RATE


def test_the_sweep_finds_a_component_no_call_announced_and_deletes_one_sagemaker_no_longer_lists(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    # llama's creation was seen, its deletion was not; mistral (1 GPU, 1 copy, since 13:00) was never seen
    client = FakeInferenceComponentsClient(
        [
            FakeInferenceComponent(
                "mistral-7b-ic",
                "llm-endpoint",
                created=at(13),
                account="111122223333",
                tags={"Project": "chat", "Owner": "carol"},
            )
        ]
    )
    config = SagecostConfig()
    meter = UsageMeter(
        ledger,
        Boto3SageMaker(boto3.client("sagemaker")),
        prices,
        config,
        kind_meters=[
            InferenceComponentMeter(UsageWriter(ledger, prices, config), Boto3InferenceComponents(client))
        ],
    )
    for raw in feed()[:3]:  # config, IN_SERVICE 08:00, Create llama 12:00
        meter.record(parse_event(raw))

    meter.sweep(at(20))  # moto lists no endpoint: the endpoint is closed as vanished at 20:00 too

    records = list(ledger.records("2026-10"))
    # 08-12 rest 4 | 12-13 llama .5 rest .5 | 13-20 llama 3.5, mistral 1.75, rest 1.75
    assert by_name(records) == {
        "llama-3-8b-ic": (Decimal("4"), Decimal("28.36")),
        "mistral-7b-ic": (Decimal("1.75"), Decimal("12.4075")),
        "llm-endpoint": (Decimal("6.25"), Decimal("44.3125")),
    }
    assert sum(r.cost or 0 for r in records) == ledger.month_total("2026-10").cost == 12 * RATE
    mistral = [r for r in records if r.resource_name == "mistral-7b-ic"]
    assert {(r.tags.project, r.tags.owner) for r in mistral} == {("chat", "carol")}
    # one list per hosting endpoint; describe and tags once, for the component the ledger did not know
    assert client.calls == {"ListInferenceComponents": 1, "DescribeInferenceComponent": 1, "ListTags": 1}


def counting(ledger: DynamoLedger) -> Counter[str]:
    """Every DynamoDB request the ledger sends, by operation (as bench's RequestCounter counts them)."""
    counts: Counter[str] = Counter()

    def on_send(event_name: str, **_: Any) -> None:
        counts[event_name.rsplit(".", 1)[-1]] += 1

    ledger.client.meta.events.register_first("before-send", on_send)
    return counts


def test_every_component_call_costs_at_most_one_read_and_one_transaction(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter = meter_on(ledger, prices)
    counts = counting(ledger)
    raws = feed()
    deleted = raws.pop(5)
    calls = {"CreateInferenceComponent": 0, "UpdateInferenceComponentRuntimeConfig": 0}
    # a deletion before its creation, then everything, each call delivered three times
    for raw in [deleted, *raws]:
        name = raw["detail"].get("eventName")
        for delivery in range(3):
            counts.clear()
            meter.record(parse_event(copy.deepcopy(raw)))
            if name is None:
                continue
            assert sum(counts.values()) <= 2, (name, delivery, counts)
            assert set(counts) <= {"BatchGetItem", "TransactWriteItems"}
            assert counts["BatchGetItem"] == 1
            if name in calls and delivery == 0:
                calls[name] += 1
                assert counts == {"BatchGetItem": 1, "TransactWriteItems": 1}, (name, counts)
            if delivery > 0:  # a duplicate only reads
                assert counts == {"BatchGetItem": 1}, (name, counts)
    assert calls == {"CreateInferenceComponent": 2, "UpdateInferenceComponentRuntimeConfig": 2}
    # the first delivery of a deletion (before its creation, or after it) also writes once
    counts.clear()
    meter.record(parse_event(call("cloudtrail-DeleteInferenceComponent.json", at(19), "delete-again")))
    assert counts == {"BatchGetItem": 1, "TransactWriteItems": 1}
    # the sweep then reads the endpoints with pending changes once and writes each once
    counts.clear()
    settle(meter)
    assert counts["BatchGetItem"] == 1
    assert counts["TransactWriteItems"] == 1
    assert sum(r.cost or 0 for r in ledger.records("2026-10")) == 12 * RATE


def test_an_update_applied_by_the_sweep_gives_the_records_an_immediate_application_gave(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    # at once: the pending changes are applied right after each call (what the meter did before)
    config = SagecostConfig()
    component_meter = InferenceComponentMeter(UsageWriter(ledger, prices, config))
    meter = UsageMeter(
        ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, config, kind_meters=[component_meter]
    )
    for raw in feed():
        meter.record(parse_event(raw))
        report = SweepReport()
        component_meter.sweep(
            at(20), {t.resource.arn: t for t in ledger.open_timelines()}, report, WriteBatch(ledger, report)
        )
        assert not any(t.pending_on_host for t in ledger.open_timelines())
    immediate = ledger_view(ledger)

    # later: every update and deletion waits for the one sweep after the endpoint was deleted
    later = fresh_ledger("sagecost-ic-later")
    meter = meter_on(later, prices)
    for raw in feed():
        meter.record(parse_event(raw))
    assert any(t.pending_on_host for t in later.open_timelines())
    settle(meter, at(20) + timedelta(minutes=55))
    assert not any(t.pending_on_host for t in later.open_timelines())
    assert ledger_view(later) == immediate
    assert later.month_total("2026-10").cost == ledger.month_total("2026-10").cost == 12 * RATE


def test_a_creation_whose_change_needs_several_transactions_writes_the_pointer_within_the_limit(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    # the endpoint metered to 08:00 only; the creation comes 40 hours later: metering up to it takes
    # several midnight steps, the first of which also carries the pointer, each within the limit
    config = SagecostConfig()
    limit = 8  # the change is 8 writes, the pointer 1: without room kept for it, one step of 9 items
    meter = UsageMeter(
        ledger,
        Boto3SageMaker(boto3.client("sagemaker")),
        prices,
        config,
        kind_meters=[InferenceComponentMeter(UsageWriter(ledger, prices, config, transaction_limit=limit))],
    )
    for raw in feed()[:2]:
        meter.record(parse_event(raw))
    sizes: list[int] = []
    send = ledger.client.transact_write_items

    def counted(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["TransactItems"]))
        return send(**kwargs)

    ledger.client.transact_write_items = counted  # type: ignore[method-assign]
    meter.record(parse_event(call("cloudtrail-CreateInferenceComponent.json", at(48), "create-late")))
    assert len(sizes) > 1 and max(sizes) <= limit
    pointer, _ = ledger.load_timeline(IC + "llama-3-8b-ic")
    assert pointer is not None and pointer.host_arn is not None and not pointer.pending_on_host
    endpoint, _ = ledger.load_timeline(pointer.host_arn)
    assert endpoint is not None and endpoint.metered_until == at(48)
    assert [c.event_id for c in endpoint.inference_components] == ["create-late"]
