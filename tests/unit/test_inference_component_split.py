"""The pure rules of inference components: an endpoint's hosting records split among the components it
hosts by reserved compute, parts and unreserved rest adding up exactly to the endpoint's record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sagecost.domain.kinds import inference_component as ic
from sagecost.domain.kinds.endpoint import endpoint_lines
from sagecost.domain.pricing import PriceBook
from sagecost.domain.timeline import advance
from sagecost.models.ledger import ResourceKind, TagSnapshot, UsageRecord
from sagecost.models.state import (
    ComponentChange,
    EndpointConfigSnapshot,
    ResourceRefModel,
    ResourceTimeline,
    Transition,
    VariantSpec,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kinds"
ACCOUNT = "111122223333"
DAY = datetime(2026, 10, 7, tzinfo=UTC)
EP_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/llm-endpoint"
ENDPOINT = ResourceRefModel(
    arn=EP_ARN, kind=ResourceKind.ENDPOINT, name="llm-endpoint", region="us-east-1", account=ACCOUNT
)
ENDPOINT_TAGS = TagSnapshot(project="llm", team="platform", owner="bob")
RATE = Decimal("7.09")  # TEST_RATES hosting ml.g5.12xlarge


def config(instance_type: str = "ml.g5.12xlarge") -> EndpointConfigSnapshot:
    return EndpointConfigSnapshot(
        name="llm-cfg",
        arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/llm-cfg",
        variants=(
            VariantSpec(
                name="AllTraffic",
                instance_type=instance_type,
                initial_count=1,
                hosts_inference_components=True,
            ),
        ),
    )


def hosting(at: datetime, status: str, count: int = 1, instance_type: str = "ml.g5.12xlarge") -> Transition:
    counts = (("AllTraffic", count),)
    return Transition(
        at=at,
        status=status,
        lines=endpoint_lines(status, counts, config(instance_type)),
        event_id=f"ep@{at.isoformat()}",
        variant_counts=counts,
    )


def create(
    name: str, at: datetime, copies: int, *, gpus: str | None = "1", cpus: str = "2", memory: int = 8192
) -> ComponentChange:
    return ComponentChange(
        at=at,
        name=name,
        action="create",
        event_id=f"create-{name}",
        arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-component/{name}",
        variant="AllTraffic",
        accelerators=None if gpus is None else Decimal(gpus),
        cpu_cores=Decimal(cpus),
        memory_mb=memory,
        copies=copies,
        attribution=TagSnapshot(project=name),
    )


def h(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def metered(
    prices: PriceBook, transitions: list[Transition], changes: list[ComponentChange], until: datetime
) -> list[UsageRecord]:
    timeline = ResourceTimeline(resource=ENDPOINT, inference_components=tuple(changes))
    change = advance(timeline, transitions, until, prices, ENDPOINT_TAGS, seal_after=timedelta(days=3650))
    return change.upserts


def by_resource(records: list[UsageRecord]) -> dict[str, tuple[Decimal, Decimal]]:
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for r in records:
        q, c = totals.get(r.resource_name, (Decimal(0), Decimal(0)))
        totals[r.resource_name] = (q + r.quantity, c + (r.cost or Decimal(0)))
    return totals


def test_two_components_split_the_endpoint_hours_by_reserved_gpus_and_the_rest_stays_on_the_endpoint(
    prices: PriceBook,
) -> None:
    # ml.g5.12xlarge x1 = 4 GPUs, 08:00-20:00. llama: 2 copies x 1 GPU from 12:00, 3 copies from 15:00,
    # deleted 18:00; mistral: 1 copy x 1 GPU from 13:00.
    changes = [
        create("llama", h(12), 2),
        create("mistral", h(13), 1),
        ComponentChange(at=h(15), name="llama", action="update", event_id="u1", copies=3),
        ComponentChange(at=h(18), name="llama", action="delete", event_id="d1"),
    ]
    records = metered(prices, [hosting(h(8), "IN_SERVICE"), hosting(h(20), "DELETING")], changes, h(21))

    totals = by_resource(records)
    # hand-computed GPU-hours / 4: rest 4 + 0.5 + 0.5 + 0 + 1.5; llama 0.5 + 1 + 2.25; mistral .5+.75+.5
    assert totals["llama"] == (Decimal("3.75"), Decimal("3.75") * RATE)
    assert totals["mistral"] == (Decimal("1.75"), Decimal("1.75") * RATE)
    assert totals["llm-endpoint"] == (Decimal("6.5"), Decimal("6.5") * RATE)
    assert sum(r.cost or 0 for r in records) == 12 * RATE  # exactly the endpoint's 12 instance-hours
    llama = [r for r in records if r.resource_name == "llama"]
    assert {r.resource_arn for r in llama} == {
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-component/llama"
    }
    assert {r.resource_kind for r in llama} == {ResourceKind.INFERENCE_COMPONENT}
    # the component's own tags, the endpoint's where it has none
    assert {r.tags for r in llama} == {TagSnapshot(project="llama", team="platform", owner="bob")}
    # the rest before the first component keeps the endpoint record's id
    assert f"{EP_ARN}#variant/AllTraffic#{h(8).isoformat()}" in {r.record_id for r in records}
    # after the deletion, the rest is 3/4 of the instance again
    last_rest = next(r for r in records if r.resource_name == "llm-endpoint" and r.start == h(18))
    assert last_rest.quantity == Decimal("1.5")


def test_without_accelerators_cpu_cores_weigh_and_without_capacity_there_is_no_rest(
    prices: PriceBook,
) -> None:
    # ml.m5.xlarge: 4 vCPUs; one component reserving 1 core x 1 copy -> 1/4 of the hours
    cpu = [create("small", h(0), 1, gpus=None, cpus="1")]
    records = metered(prices, [hosting(h(0), "IN_SERVICE", instance_type="ml.m5.xlarge")], cpu, h(4))
    assert by_resource(records)["small"][0] == Decimal(1)
    assert by_resource(records)["llm-endpoint"][0] == Decimal(3)
    # an instance type of unknown capacity: split by the reserved shares alone (1:2), nothing left over
    two = [create("a", h(0), 1), create("b", h(0), 2)]
    records = metered(prices, [hosting(h(0), "IN_SERVICE", instance_type="ml.x99.mega")], two, h(3))
    assert {name: q for name, (q, _) in by_resource(records).items()} == {"a": Decimal(1), "b": Decimal(2)}
    assert all(r.cost is None for r in records)  # unpriced stays unpriced, never $0


def test_an_endpoint_without_components_meters_as_before(prices: PriceBook) -> None:
    transitions = [hosting(DAY, "IN_SERVICE")]
    plain = metered(prices, transitions, [], DAY + timedelta(hours=5))
    later = metered(prices, transitions, [create("x", DAY + timedelta(hours=6), 1)], DAY + timedelta(hours=5))
    assert plain == later


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8),
)
def test_largest_remainder_parts_add_up_exactly_and_each_is_within_a_micro_unit(
    total: int, weights: list[int]
) -> None:
    amount = Decimal(total) * ic.MICRO
    parts = ic.largest_remainder(amount, [Decimal(w) for w in weights])
    assert sum(parts, Decimal(0)) == amount
    if sum(weights):
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part - amount * weight / sum(weights)) < ic.MICRO


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Transition], list[ComponentChange]]:
    minutes = st.integers(min_value=0, max_value=3 * 24 * 60)

    def at(minute: int) -> datetime:
        return DAY + timedelta(minutes=minute, seconds=draw(st.integers(0, 59)))

    transitions = [hosting(DAY, "IN_SERVICE", draw(st.integers(1, 3)))]
    for m in sorted(draw(st.lists(minutes, max_size=3, unique=True))):
        transitions.append(
            hosting(at(m + 1), draw(st.sampled_from(["IN_SERVICE", "UPDATING"])), draw(st.integers(1, 4)))
        )
    changes: list[ComponentChange] = []
    for index in range(draw(st.integers(1, 4))):
        name = f"ic{index}"
        changes.append(
            create(
                name,
                at(draw(minutes)),
                draw(st.integers(1, 6)),
                gpus=draw(st.sampled_from(["1", "2", "0.5", None])),
            )
        )
        if draw(st.booleans()):
            changes.append(
                ComponentChange(
                    at=at(draw(minutes)),
                    name=name,
                    action="update",
                    event_id=f"u{index}",
                    copies=draw(st.integers(0, 5)),
                )
            )
        if draw(st.booleans()):
            changes.append(
                ComponentChange(at=at(draw(minutes)), name=name, action="delete", event_id=f"d{index}")
            )
    return transitions, changes


@settings(max_examples=60, deadline=None)
@given(history=histories(), shuffle=st.randoms(use_true_random=False))
def test_parts_and_rest_add_up_to_the_endpoints_records_exactly_in_any_order(
    prices: PriceBook, history: tuple[list[Transition], list[ComponentChange]], shuffle: Any
) -> None:
    transitions, changes = history
    until = DAY + timedelta(days=3, hours=2)
    whole = metered(prices, transitions, [], until)
    split = metered(prices, transitions, changes, until)
    assert sum(r.quantity for r in split) == sum(r.quantity for r in whole)
    assert sum(r.cost or 0 for r in split) == sum(r.cost or 0 for r in whole)
    assert all(r.quantity > 0 and (r.cost or 0) >= 0 for r in split)
    shuffled = list(changes)
    shuffle.shuffle(shuffled)
    assert metered(prices, transitions, shuffled * 3, until) == split
    # folding what is older than a sealed horizon into standing creations changes no unsealed record
    horizon = DAY + timedelta(days=1)
    folded = ic.compacted(ic.merged(changes, []), horizon)
    assert len(folded) <= len(changes)
    unsealed = [r for r in split if r.start >= horizon]
    assert [r for r in metered(prices, transitions, list(folded), until) if r.start >= horizon] == unsealed


def _fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


def test_calls_in_the_real_cloudtrail_shape_become_changes_without_a_read() -> None:
    at = DAY
    created = _fixture("cloudtrail-CreateInferenceComponent.json")["detail"]
    change = ic.call_change(
        "CreateInferenceComponent",
        created["requestParameters"],
        created["responseElements"],
        at=at,
        event_id=created["eventID"],
        arn="unused",
        attribution=None,
    )
    assert (change.action, change.copies, change.accelerators, change.cpu_cores, change.memory_mb) == (
        "create",
        2,
        Decimal("1.0"),
        Decimal("2.0"),
        8192,
    )
    assert change.arn == "arn:aws:sagemaker:us-east-1:111122223333:inference-component/llama-3-8b-ic"
    assert change.variant == "AllTraffic"
    runtime = _fixture("cloudtrail-UpdateInferenceComponentRuntimeConfig.json")["detail"]
    update = ic.call_change(
        "UpdateInferenceComponentRuntimeConfig",
        runtime["requestParameters"],
        runtime["responseElements"],
        at=at,
        event_id="e",
        arn="unused",
        attribution=None,
    )
    assert (update.action, update.copies, update.accelerators) == ("update", 4, None)
    deleted = _fixture("cloudtrail-DeleteInferenceComponent.json")["detail"]
    gone = ic.call_change(
        "DeleteInferenceComponent",
        deleted["requestParameters"],
        {},
        at=at,
        event_id="e",
        arn="x",
        attribution=None,
    )
    assert (gone.action, gone.name) == ("delete", "llama-3-8b-ic")
