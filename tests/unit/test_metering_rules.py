"""The pure metering rules, checked against figures worked out by hand from rates and durations.

Rates come from the conftest `prices` catalog: training ml.m5.xlarge 0.23/h, ml.g5.xlarge 1.408/h,
ml.c5.xlarge 0.204/h; hosting ml.m5.xlarge 0.23/h; notebook ml.t3.medium 0.05/h; ML storage 0.14/GB-month.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagecost.domain.aggregates import AggregateDelta, AggregateKey, aggregate_deltas, summarise
from sagecost.domain.kinds.endpoint import ENDPOINT_BILLING_STATUSES, UNKNOWN_INSTANCE_TYPE, endpoint_lines
from sagecost.domain.kinds.notebook import notebook_lines
from sagecost.domain.metering import InstanceLine, JobRun, ResourceRef, meter_job, priced_record, spot_note
from sagecost.domain.money import micro
from sagecost.domain.periods import (
    hour_floor,
    hours_between,
    hours_in_month,
    midnight,
    next_midnight,
    next_month_start,
    parse_month,
    seconds_between,
    split_by_day,
    split_by_month,
)
from sagecost.domain.pricing import PriceBook
from sagecost.domain.tags import business_tags, snapshot
from sagecost.domain.timeline import TimelineChange, advance, due_for_sweep, meter_timeline
from sagecost.models.config import TagKeys
from sagecost.models.ledger import (
    UNTAGGED,
    Dimension,
    ResourceKind,
    ResourceLine,
    TagSnapshot,
    UsageRecord,
)
from sagecost.models.prices import Component, storage_type
from sagecost.models.state import (
    BillingLine,
    EndpointConfigSnapshot,
    ResourceRefModel,
    ResourceTimeline,
    Transition,
    VariantSpec,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


H = timedelta(hours=1)
ACCOUNT = "111122223333"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/train-1"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ep-1"
NOTEBOOK_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/nb-1"
FRAUD = TagSnapshot(project="fraud", team="risk", cost_center="cc-1")
RECS = TagSnapshot(project="recs", team="growth", cost_center="cc-2")


# === periods ===================================================================================


@pytest.mark.parametrize(
    ("moment", "hours"),
    [
        (utc(2026, 2, 14), 672),  # February
        (utc(2024, 2, 29, 23), 696),  # leap February
        (utc(2000, 2, 1), 696),  # divisible by 400: leap
        (utc(2100, 2, 1), 672),  # divisible by 100 only: not leap
        (utc(2026, 11, 30, 23, 59), 720),
        (utc(2026, 12, 31, 23, 59), 744),  # December: next month is in the next year
    ],
)
def test_hours_in_month(moment: datetime, hours: int) -> None:
    assert hours_in_month(moment) == Decimal(hours)


def test_split_by_month_cuts_at_every_month_boundary_including_the_year_end() -> None:
    assert list(split_by_month(utc(2026, 10, 31, 20), utc(2027, 1, 1, 3))) == [
        (utc(2026, 10, 31, 20), utc(2026, 11, 1)),
        (utc(2026, 11, 1), utc(2026, 12, 1)),
        (utc(2026, 12, 1), utc(2027, 1, 1)),
        (utc(2027, 1, 1), utc(2027, 1, 1, 3)),
    ]
    assert list(split_by_month(utc(2026, 11, 3), utc(2026, 11, 4))) == [(utc(2026, 11, 3), utc(2026, 11, 4))]


def test_split_by_day_cuts_at_every_utc_midnight() -> None:
    assert list(split_by_day(utc(2026, 10, 31, 20), utc(2026, 11, 2, 3))) == [
        (utc(2026, 10, 31, 20), utc(2026, 11, 1)),
        (utc(2026, 11, 1), utc(2026, 11, 2)),
        (utc(2026, 11, 2), utc(2026, 11, 2, 3)),
    ]
    # an interval ending exactly at midnight has no empty piece after it
    assert list(split_by_day(utc(2026, 11, 1, 22), utc(2026, 11, 2))) == [
        (utc(2026, 11, 1, 22), utc(2026, 11, 2))
    ]


@pytest.mark.parametrize("split", [split_by_day, split_by_month])
def test_an_empty_or_backward_interval_has_no_pieces(
    split: Callable[[datetime, datetime], Iterator[tuple[datetime, datetime]]],
) -> None:
    assert list(split(utc(2026, 11, 1, 5), utc(2026, 11, 1, 5))) == []
    assert list(split(utc(2026, 11, 2), utc(2026, 11, 1))) == []


def test_seconds_between_is_exact_to_the_microsecond() -> None:
    assert seconds_between(utc(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == Decimal(
        "0.000001"
    )
    assert seconds_between(utc(2026, 1, 1), datetime(2026, 1, 3, 0, 0, 1, 500000, tzinfo=UTC)) == Decimal(
        "172801.5"
    )
    assert seconds_between(utc(2026, 1, 2), utc(2026, 1, 1)) == Decimal(-86400)
    # a float would give 0.30000000000000004 for 0.1 + 0.2 s; Decimal pieces add up exactly
    start = datetime(2026, 3, 1, 23, 59, 59, 900000, tzinfo=UTC)
    end = datetime(2026, 3, 2, 0, 0, 0, 200000, tzinfo=UTC)
    pieces = [seconds_between(a, b) for a, b in split_by_day(start, end)]
    assert pieces == [Decimal("0.1"), Decimal("0.2")]
    assert sum(pieces) == Decimal("0.3") == seconds_between(start, end)
    assert hours_between(utc(2026, 1, 1), utc(2026, 1, 1, 1, 30)) == Decimal("1.5")


def test_calendar_helpers() -> None:
    moment = datetime(2026, 11, 10, 17, 42, 13, 5, tzinfo=UTC)
    assert midnight(moment) == utc(2026, 11, 10)
    assert next_midnight(utc(2026, 12, 31, 23)) == utc(2027, 1, 1)
    assert hour_floor(moment) == utc(2026, 11, 10, 17)
    assert parse_month("2026-11") == utc(2026, 11, 1)


@pytest.mark.parametrize("text", ["Nov", "2026-13", "2026/11", ""])
def test_a_month_not_written_yyyy_mm_is_refused_saying_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match="a month is written YYYY-MM"):
        parse_month(text)


# === jobs ======================================================================================


def job(
    start: datetime,
    end: datetime,
    *,
    billable: Decimal | int | None = None,
    instances: tuple[InstanceLine, ...] = (InstanceLine("compute", "ml.m5.xlarge", 1),),
    volume_gb: int | None = None,
    notes: tuple[str, ...] = (),
) -> JobRun:
    return JobRun(
        resource=ResourceRef.from_arn(JOB_ARN, ResourceKind.TRAINING_JOB, "train-1"),
        component=Component.TRAINING,
        start=start,
        end=end,
        instances=instances,
        billable_seconds=Decimal(billable) if billable is not None else seconds_between(start, end),
        volume_gb=volume_gb,
        event_id="evt-1",
        notes=notes,
    )


def test_a_job_bills_billable_seconds_times_instances_at_the_catalog_rate(prices: PriceBook) -> None:
    run = job(
        utc(2026, 11, 10, 9),
        utc(2026, 11, 10, 11),
        billable=5400,
        instances=(InstanceLine("compute", "ml.m5.xlarge", 2),),
    )
    (record,) = meter_job(run, prices, FRAUD)
    # 5400 s x 2 instances = 3 instance-hours; x 0.23 = 0.69
    assert (record.quantity, record.unit, record.unit_price, record.cost) == (
        Decimal(3),
        "instance-hour",
        Decimal("0.23"),
        Decimal("0.69"),
    )
    assert record.record_id == f"{JOB_ARN}#compute#2026-11"
    assert (record.month, record.instance_count, record.line) == ("2026-11", 2, "compute")
    assert record.price_source == "test@2026-11-01"
    assert (record.region, record.account, record.resource_kind) == ("us-east-1", ACCOUNT, "training-job")
    assert record.tags == FRAUD and record.event_ids == ("evt-1",)


def test_a_job_across_two_month_ends_is_split_pro_rata_by_wall_time(prices: PriceBook) -> None:
    # 23:00 on 31 Oct to 01:00 on 1 Dec: 1 h in October, 720 h in November, 1 h in December
    run = job(utc(2026, 10, 31, 23), utc(2026, 12, 1, 1))
    records = meter_job(run, prices, FRAUD)
    assert [(r.month, r.start, r.end, r.quantity, r.cost) for r in records] == [
        ("2026-10", utc(2026, 10, 31, 23), utc(2026, 11, 1), Decimal(1), Decimal("0.23")),
        ("2026-11", utc(2026, 11, 1), utc(2026, 12, 1), Decimal(720), Decimal("165.6")),
        ("2026-12", utc(2026, 12, 1), utc(2026, 12, 1, 1), Decimal(1), Decimal("0.23")),
    ]
    assert len({r.record_id for r in records}) == 3


def test_managed_spot_billable_time_is_spread_over_the_months_by_wall_time(prices: PriceBook) -> None:
    # billed half of the 722 h it ran: 361 instance-hours, spread 1 : 720 : 1
    run = job(utc(2026, 10, 31, 23), utc(2026, 12, 1, 1), billable=361 * 3600)
    assert [r.quantity for r in meter_job(run, prices, FRAUD)] == [
        Decimal("0.5"),
        Decimal(360),
        Decimal("0.5"),
    ]


def test_the_month_parts_add_up_to_the_rounded_whole_even_when_each_part_rounds(prices: PriceBook) -> None:
    # 1 billed second = 0.000277777... h over 1 h : 720 h : 1 h. Rounding each part alone would give
    # 0.000000 + 0.000277 + 0.000000; the parts must add up to micro(whole) = 0.000278 instead.
    run = job(utc(2026, 10, 31, 23), utc(2026, 12, 1, 1), billable=1)
    records = meter_job(run, prices, FRAUD)
    assert sum(r.quantity for r in records) == Decimal("0.000278")
    assert all(r.quantity > 0 for r in records)  # a part that rounds to nothing is not written


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(
        # hypothesis takes naive bounds and attaches the timezone itself
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=datetime(2026, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    wall_seconds=st.integers(min_value=0, max_value=100 * 24 * 3600),
    spot_share=st.fractions(min_value=0, max_value=1),
    count=st.integers(min_value=1, max_value=16),
)
def test_month_parts_always_sum_exactly_to_the_whole_and_stay_in_their_month(
    prices: PriceBook, start: datetime, wall_seconds: int, spot_share: object, count: int
) -> None:
    end = start + timedelta(seconds=wall_seconds)
    billable = int(wall_seconds * spot_share)  # type: ignore[operator]
    run = job(start, end, billable=billable, instances=(InstanceLine("compute", "ml.m5.xlarge", count),))
    records = meter_job(run, prices, FRAUD)
    assert sum((r.quantity for r in records), Decimal(0)) == micro(Decimal(billable * count) / 3600)
    for record in records:
        assert record.month == f"{record.start.year:04d}-{record.start.month:02d}"
        assert record.start < record.end <= next_month_start(record.start) or record.start == record.end
        assert record.cost == micro(record.quantity * Decimal("0.23"))


def test_spot_note_says_how_much_managed_spot_saved() -> None:
    assert spot_note(3000, 10000) == ("managed spot: billed 3000 s of 10000 s trained (70% saved)",)
    assert spot_note(3600, 3600) == ()
    assert spot_note(3600, None) == ()
    assert spot_note(3600, 0) == ()


def test_a_job_carries_its_notes_on_its_instance_records(prices: PriceBook) -> None:
    notes = spot_note(2700, 3600)
    (record,) = meter_job(
        job(utc(2026, 11, 1, 1), utc(2026, 11, 1, 2), billable=2700, notes=notes), prices, FRAUD
    )
    assert record.notes == notes and record.quantity == Decimal("0.75")


def test_a_heterogeneous_cluster_bills_every_instance_group_and_storage_for_every_instance(
    prices: PriceBook,
) -> None:
    run = job(
        utc(2026, 11, 10, 9),
        utc(2026, 11, 10, 9, 30),
        billable=1800,
        instances=(
            InstanceLine("group/gpu", "ml.g5.xlarge", 2),
            InstanceLine("group/cpu", "ml.c5.xlarge", 4),
        ),
        volume_gb=30,
    )
    records = {r.line: r for r in meter_job(run, prices, FRAUD)}
    assert set(records) == {"group/gpu", "group/cpu", "storage"}
    gpu, cpu, storage = records["group/gpu"], records["group/cpu"], records["storage"]
    assert (gpu.instance_type, gpu.quantity, gpu.cost) == ("ml.g5.xlarge", Decimal(1), Decimal("1.408"))
    assert (cpu.instance_type, cpu.quantity, cpu.cost) == ("ml.c5.xlarge", Decimal(2), Decimal("0.408"))
    # 30 GB on each of 6 instances for 0.5 h of a 720 h month: 180 x 0.5 / 720 = 0.125 GB-month x 0.14
    assert (storage.component, storage.instance_type, storage.unit) == (
        Component.ML_STORAGE,
        storage_type(Component.TRAINING),
        "GB-month",
    )
    assert (storage.instance_count, storage.quantity, storage.cost) == (
        6,
        Decimal("0.125"),
        Decimal("0.0175"),
    )
    assert storage.notes == ("30 GB per instance",)
    assert storage.record_id == f"{JOB_ARN}#storage#2026-11"


def test_storage_is_gb_months_of_each_month_it_spans(prices: PriceBook) -> None:
    # 10 GB for 12 h of October (744 h) and 12 h of November (720 h)
    run = job(utc(2026, 10, 31, 12), utc(2026, 11, 1, 12), volume_gb=10)
    storage = [r for r in meter_job(run, prices, FRAUD) if r.line == "storage"]
    assert [(r.month, r.quantity) for r in storage] == [
        ("2026-10", Decimal("0.161290")),  # 120 / 744 = 0.1612903...
        ("2026-11", Decimal("0.166667")),  # 120 / 720 = 0.1666666...
    ]


def test_an_instance_type_without_a_price_is_kept_unpriced_never_zero(prices: PriceBook) -> None:
    run = job(
        utc(2026, 11, 1, 1), utc(2026, 11, 1, 2), instances=(InstanceLine("compute", "ml.x99.mega", 1),)
    )
    (record,) = meter_job(run, prices, FRAUD)
    assert record.quantity == Decimal(1)
    assert (record.cost, record.unit_price, record.price_source) == (None, None, None)
    assert record.unpriced


def test_a_job_that_billed_no_time_has_no_records(prices: PriceBook) -> None:
    moment = utc(2026, 11, 1, 1)
    assert meter_job(job(moment, moment, billable=0, volume_gb=30), prices, FRAUD) == []


def test_billable_time_of_a_job_with_no_wall_time_is_still_billed_in_its_month(prices: PriceBook) -> None:
    # moto (and some describes) report start == end; the billable seconds still count, storage does not
    moment = utc(2026, 11, 30, 23, 59)
    records = meter_job(job(moment, moment, billable=60, volume_gb=30), prices, FRAUD)
    assert [(r.line, r.month, r.quantity) for r in records] == [("compute", "2026-11", Decimal("0.016667"))]


def test_resource_ref_reads_region_and_account_from_the_arn() -> None:
    ref = ResourceRef.from_arn(JOB_ARN, ResourceKind.TRAINING_JOB, "train-1")
    assert (ref.region, ref.account) == ("us-east-1", ACCOUNT)
    no_region = ResourceRef.from_arn(
        f"arn:aws:sagemaker::{ACCOUNT}:training-job/x",
        ResourceKind.TRAINING_JOB,
        "x",
        fallback_region="eu-west-1",
    )
    assert no_region.region == "eu-west-1"
    with pytest.raises(ValueError, match="not a SageMaker ARN"):
        ResourceRef.from_arn("arn:aws:s3:::bucket/key", ResourceKind.TRAINING_JOB, "x")


# === endpoints and notebooks: what bills in which state ========================================

CONFIG = EndpointConfigSnapshot(
    name="cfg-1",
    arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/cfg-1",
    variants=(VariantSpec(name="A", instance_type="ml.m5.xlarge", initial_count=1),),
)
TWO_VARIANTS = EndpointConfigSnapshot(
    name="cfg-2",
    arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/cfg-2",
    variants=(
        VariantSpec(name="A", instance_type="ml.m5.xlarge", initial_count=2),
        VariantSpec(name="B", instance_type="ml.c5.xlarge", initial_count=1, volume_gb=10),
    ),
)


def hosting(line: str, instance_type: str, count: int) -> BillingLine:
    return BillingLine(line=line, component=Component.HOSTING, instance_type=instance_type, count=count)


@pytest.mark.parametrize("status", sorted(ENDPOINT_BILLING_STATUSES))
def test_an_endpoint_bills_its_instances_in_every_state_where_they_exist(status: str) -> None:
    assert endpoint_lines(status, [("A", 2)], CONFIG) == (hosting("variant/A", "ml.m5.xlarge", 2),)


def test_the_billing_states_are_the_ones_where_instances_exist() -> None:
    assert sorted(ENDPOINT_BILLING_STATUSES) == [
        "IN_SERVICE",
        "OUT_OF_SERVICE",
        "ROLLING_BACK",
        "SYSTEM_UPDATING",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATING",
    ]


@pytest.mark.parametrize("status", ["CREATING", "DELETING", "DELETED", "FAILED", "InService"])
def test_an_endpoint_bills_nothing_while_it_is_created_deleted_or_failed(status: str) -> None:
    # (statuses arrive UPPER_SNAKE from the event model; API casing never reaches the rule)
    assert endpoint_lines(status, [("A", 2)], CONFIG) == ()


def test_each_variant_bills_its_own_type_and_count_and_its_ml_storage() -> None:
    lines = endpoint_lines("IN_SERVICE", [("B", 3), ("A", 5)], TWO_VARIANTS)  # matched by name, not order
    assert lines == (
        hosting("variant/A", "ml.m5.xlarge", 5),
        hosting("variant/B", "ml.c5.xlarge", 3),
        BillingLine(
            line="variant/B/storage",
            component=Component.ML_STORAGE,
            instance_type=storage_type(Component.HOSTING),
            count=3,
            volume_gb=10,
        ),
    )


def test_variants_without_names_are_matched_by_position() -> None:
    lines = endpoint_lines("IN_SERVICE", [(None, 4), (None, 6)], TWO_VARIANTS)
    assert [(line.line, line.count) for line in lines] == [
        ("variant/A", 4),
        ("variant/B", 6),
        ("variant/B/storage", 6),
    ]


def test_a_variant_without_a_reported_count_bills_its_initial_count_or_one() -> None:
    config = TWO_VARIANTS.model_copy(
        update={"variants": (TWO_VARIANTS.variants[0], VariantSpec(name="C", instance_type="ml.c5.xlarge"))}
    )
    lines = endpoint_lines("IN_SERVICE", [], config)
    assert [(line.line, line.count) for line in lines] == [("variant/A", 2), ("variant/C", 1)]


def test_a_variant_scaled_to_zero_bills_nothing() -> None:
    assert endpoint_lines("IN_SERVICE", [("A", 0)], CONFIG) == ()


def test_an_async_endpoint_bills_async_inference_instances() -> None:
    config = TWO_VARIANTS.model_copy(update={"asynchronous": True})
    lines = endpoint_lines("IN_SERVICE", [("A", 1), ("B", 1)], config)
    assert [(line.line, line.component) for line in lines] == [
        ("variant/A", Component.ASYNC_INFERENCE),
        ("variant/B", Component.ASYNC_INFERENCE),
        ("variant/B/storage", Component.ML_STORAGE),
    ]


def test_serverless_variants_are_not_billed_by_the_instance_hour() -> None:
    config = CONFIG.model_copy(
        update={"variants": (*CONFIG.variants, VariantSpec(name="S", serverless=True, initial_count=None))}
    )
    assert endpoint_lines("IN_SERVICE", [("A", 1), ("S", None)], config) == (
        hosting("variant/A", "ml.m5.xlarge", 1),
    )


def test_without_its_config_an_endpoint_bills_unknown_instances_it_cannot_price() -> None:
    lines = endpoint_lines("IN_SERVICE", [("A", 2), (None, None)], None)
    assert lines == (
        hosting("variant/A", UNKNOWN_INSTANCE_TYPE, 2),
        hosting("variant/1", UNKNOWN_INSTANCE_TYPE, 1),
    )
    assert endpoint_lines("IN_SERVICE", [], None) == (hosting("variant/0", UNKNOWN_INSTANCE_TYPE, 1),)
    assert endpoint_lines("DELETING", [("A", 2)], None) == ()
    config = CONFIG.model_copy(update={"variants": (VariantSpec(name="A", initial_count=1),)})
    assert endpoint_lines("IN_SERVICE", [("A", 1)], config) == (
        hosting("variant/A", UNKNOWN_INSTANCE_TYPE, 1),
    )


def test_without_its_config_a_variant_scaled_to_zero_still_bills_nothing() -> None:
    assert endpoint_lines("IN_SERVICE", [("AllTraffic", 0)], None) == ()


@pytest.mark.parametrize(
    ("status", "lines"),
    [
        ("InService", ("compute", "storage")),
        ("Stopping", ("compute", "storage")),
        ("Pending", ("storage",)),
        ("Stopped", ("storage",)),
        ("Updating", ("storage",)),
        ("Deleting", ()),
        ("Deleted", ()),
        ("Failed", ()),
    ],
)
def test_a_notebook_bills_its_instance_while_it_runs_and_its_volume_until_it_is_deleted(
    status: str, lines: tuple[str, ...]
) -> None:
    assert tuple(line.line for line in notebook_lines(status, "ml.t3.medium", 20)) == lines


def test_a_notebook_volume_of_unknown_size_is_the_5_gb_default_and_an_unknown_type_is_kept() -> None:
    compute, storage = notebook_lines("InService", None, None)
    assert (compute.component, compute.instance_type, compute.count) == (
        Component.NOTEBOOK,
        UNKNOWN_INSTANCE_TYPE,
        1,
    )
    assert (storage.component, storage.instance_type, storage.volume_gb) == (
        Component.ML_STORAGE,
        storage_type(Component.NOTEBOOK),
        5,
    )
    assert notebook_lines("Stopped", "ml.t3.medium", 50)[0].volume_gb == 50


# === timelines =================================================================================

ENDPOINT = ResourceRefModel(
    arn=ENDPOINT_ARN, kind=ResourceKind.ENDPOINT, name="ep-1", region="us-east-1", account=ACCOUNT
)
NOTEBOOK = ResourceRefModel(
    arn=NOTEBOOK_ARN, kind=ResourceKind.NOTEBOOK_INSTANCE, name="nb-1", region="us-east-1", account=ACCOUNT
)
DAY = utc(2026, 11, 10)


def ep(at: datetime, status: str, count: int, event_id: str) -> Transition:
    return Transition(
        at=at, status=status, lines=endpoint_lines(status, [("A", count)], CONFIG), event_id=event_id
    )


def nb(at: datetime, status: str, event_id: str, *, instance_type: str = "ml.t3.medium") -> Transition:
    return Transition(
        at=at, status=status, lines=notebook_lines(status, instance_type, 20), event_id=event_id
    )


def meter(
    transitions: list[Transition],
    start: datetime,
    end: datetime,
    prices: PriceBook,
    resource: ResourceRefModel = ENDPOINT,
) -> list[UsageRecord]:
    return meter_timeline(transitions, ResourceRef(**resource.model_dump()), start, end, prices, FRAUD)


def spans(records: list[UsageRecord]) -> list[tuple[str, datetime, datetime, Decimal]]:
    return sorted((r.line, r.start, r.end, r.quantity) for r in records)


def test_usage_is_cut_at_every_utc_midnight_and_every_change(prices: PriceBook) -> None:
    transitions = [ep(DAY + 20 * H, "IN_SERVICE", 2, "a"), ep(DAY + 26 * H, "UPDATING", 3, "b")]
    records = meter(transitions, DAY + 20 * H, DAY + 30 * H, prices)
    assert spans(records) == [
        ("variant/A", DAY + 20 * H, DAY + 24 * H, Decimal(8)),
        ("variant/A", DAY + 24 * H, DAY + 26 * H, Decimal(4)),
        ("variant/A", DAY + 26 * H, DAY + 30 * H, Decimal(12)),
    ]
    assert [r.cost for r in sorted(records, key=lambda r: r.start)] == [
        Decimal("1.84"),
        Decimal("0.92"),
        Decimal("2.76"),
    ]
    assert {r.record_id for r in records} == {
        f"{ENDPOINT_ARN}#variant/A#2026-11-10T20:00:00+00:00",
        f"{ENDPOINT_ARN}#variant/A#2026-11-11T00:00:00+00:00",
        f"{ENDPOINT_ARN}#variant/A#2026-11-11T02:00:00+00:00",
    }


def test_usage_across_a_month_end_lands_in_each_month(prices: PriceBook) -> None:
    records = meter(
        [ep(utc(2026, 10, 31, 22), "IN_SERVICE", 1, "a")], utc(2026, 10, 31, 22), utc(2026, 11, 1, 2), prices
    )
    assert sorted((r.month, r.quantity) for r in records) == [
        ("2026-10", Decimal(2)),
        ("2026-11", Decimal(2)),
    ]


def test_adjacent_pieces_with_the_same_billing_lines_are_one_record(prices: PriceBook) -> None:
    # an UPDATING that ends with the same instances changes nothing that bills
    transitions = [
        ep(DAY + 10 * H, "IN_SERVICE", 2, "a"),
        ep(DAY + 12 * H, "UPDATING", 2, "c"),
        ep(DAY + 12 * H + timedelta(minutes=5), "IN_SERVICE", 2, "b"),
    ]
    (record,) = meter(transitions, DAY + 10 * H, DAY + 18 * H, prices)
    assert (record.start, record.end, record.quantity) == (DAY + 10 * H, DAY + 18 * H, Decimal(16))
    assert record.event_ids == ("a", "b", "c")


def test_states_that_bill_nothing_leave_gaps(prices: PriceBook) -> None:
    transitions = [
        ep(DAY + 10 * H, "CREATING", 2, "a"),
        ep(DAY + 10 * H + timedelta(minutes=10), "IN_SERVICE", 2, "b"),
        ep(DAY + 12 * H + timedelta(minutes=10), "DELETING", 2, "c"),
    ]
    records = meter(transitions, DAY + 10 * H, DAY + 18 * H, prices)
    assert spans(records) == [
        ("variant/A", DAY + 10 * H + timedelta(minutes=10), DAY + 12 * H + timedelta(minutes=10), Decimal(4))
    ]


def test_a_notebook_bills_compute_while_running_and_gb_months_of_storage_all_day(prices: PriceBook) -> None:
    transitions = [
        nb(DAY, "Stopped", "a"),
        nb(DAY + 8 * H, "InService", "b"),
        nb(DAY + 16 * H, "Stopped", "c"),
    ]
    records = meter(transitions, DAY, DAY + 24 * H, prices, NOTEBOOK)
    compute = [r for r in records if r.line == "compute"]
    storage = [r for r in records if r.line == "storage"]
    assert [(r.quantity, r.cost) for r in compute] == [(Decimal(8), Decimal("0.4"))]  # 8 h x 0.05
    # one storage record for the whole day: 20 GB x 24 h / 720 h = 0.666667 GB-month x 0.14
    assert [(r.start, r.end, r.quantity, r.cost, r.unit) for r in storage] == [
        (DAY, DAY + 24 * H, Decimal("0.666667"), Decimal("0.093333"), "GB-month")
    ]


def test_an_unpriced_line_is_metered_with_cost_none(prices: PriceBook) -> None:
    records = meter(
        [nb(DAY, "InService", "a", instance_type="ml.x99.mega")], DAY, DAY + 2 * H, prices, NOTEBOOK
    )
    (compute,) = [r for r in records if r.line == "compute"]
    assert (compute.instance_type, compute.quantity, compute.cost, compute.unit_price) == (
        "ml.x99.mega",
        Decimal(2),
        None,
        None,
    )


def fresh(resource: ResourceRefModel = ENDPOINT) -> ResourceTimeline:
    return ResourceTimeline(resource=resource)


def apply(ledger: dict[str, UsageRecord], change: TimelineChange) -> None:
    for record_id in change.delete_ids:
        del ledger[record_id]
    for record in change.upserts:
        ledger[record.record_id] = record


def totals(
    deltas: list[AggregateDelta], dimension: Dimension = Dimension.PROJECT
) -> dict[str, tuple[Decimal, int]]:
    return {d.key.value: (d.cost, d.records) for d in deltas if d.key.dimension is dimension}


def test_a_duplicate_transition_changes_nothing(prices: PriceBook) -> None:
    first = advance(fresh(), [ep(DAY + 10 * H, "IN_SERVICE", 2, "a")], DAY + 12 * H, prices, FRAUD)
    assert first.changes_ledger and len(first.upserts) == 1
    again = advance(first.timeline, [ep(DAY + 10 * H, "IN_SERVICE", 2, "a")], DAY + 12 * H, prices, FRAUD)
    assert again.duplicates == 1
    assert (again.upserts, again.delete_ids, again.aggregate_deltas) == ([], [], [])
    assert not again.changes_ledger
    assert again.timeline.transitions == first.timeline.transitions
    assert again.timeline.segments == first.timeline.segments


def test_metering_never_goes_backwards(prices: PriceBook) -> None:
    first = advance(fresh(), [ep(DAY + 10 * H, "IN_SERVICE", 2, "a")], DAY + 14 * H, prices, FRAUD)
    earlier = advance(first.timeline, [], DAY + 11 * H, prices, FRAUD)
    assert earlier.timeline.metered_until == DAY + 14 * H
    assert not earlier.changes_ledger


def test_a_late_change_inside_a_metered_record_amends_it_with_exact_deltas(prices: PriceBook) -> None:
    # Given 2 instances metered 10:00-18:00 (16 instance-hours, 3.68)
    ledger: dict[str, UsageRecord] = {}
    first = advance(fresh(), [ep(DAY + 10 * H, "IN_SERVICE", 2, "a")], DAY + 18 * H, prices, FRAUD)
    apply(ledger, first)
    assert totals(first.aggregate_deltas) == {"fraud": (Decimal("3.68"), 1)}
    # When the scale-out to 4 at 14:00 arrives late
    late = advance(first.timeline, [ep(DAY + 14 * H, "UPDATING", 4, "b")], DAY + 14 * H, prices, FRAUD)
    apply(ledger, late)
    # Then 10:00-14:00 at 2 (8 h, 1.84) and 14:00-18:00 at 4 (16 h, 3.68); the aggregates move by the
    # difference only: +1.84 and one more record, in every dimension
    assert spans(list(ledger.values())) == [
        ("variant/A", DAY + 10 * H, DAY + 14 * H, Decimal(8)),
        ("variant/A", DAY + 14 * H, DAY + 18 * H, Decimal(16)),
    ]
    assert late.delete_ids == []
    assert {d.key.dimension: (d.cost, d.records) for d in late.aggregate_deltas} == {
        dimension: (Decimal("1.84"), 1) for dimension in Dimension
    }
    assert late.timeline.metered_until == DAY + 18 * H
    assert Decimal("3.68") + Decimal("1.84") == sum(r.cost or 0 for r in ledger.values())


def test_a_late_deletion_removes_the_usage_metered_after_it(prices: PriceBook) -> None:
    # Given 2 instances metered from 10:00 to 06:00 the next day: 28 h (6.44) + 12 h (2.76)
    ledger: dict[str, UsageRecord] = {}
    first = advance(fresh(), [ep(DAY + 10 * H, "IN_SERVICE", 2, "a")], DAY + 30 * H, prices, FRAUD)
    apply(ledger, first)
    assert len(ledger) == 2
    # When DELETING at 20:00 on the first day arrives late
    late = advance(first.timeline, [ep(DAY + 20 * H, "DELETING", 2, "d")], DAY + 20 * H, prices, FRAUD)
    apply(ledger, late)
    # Then only 10:00-20:00 remains (20 h, 4.60): the second day's record is deleted and taken back
    assert spans(list(ledger.values())) == [("variant/A", DAY + 10 * H, DAY + 20 * H, Decimal(20))]
    assert late.delete_ids == [f"{ENDPOINT_ARN}#variant/A#2026-11-11T00:00:00+00:00"]
    assert [d.record_id for d in late.upserts] == [f"{ENDPOINT_ARN}#variant/A#2026-11-10T10:00:00+00:00"]
    assert totals(late.aggregate_deltas) == {"fraud": (Decimal("-4.60"), -1)}
    assert sum(r.cost or 0 for r in ledger.values()) == Decimal("4.60")


def test_a_transition_older_than_the_sealed_horizon_is_reported_too_late(prices: PriceBook) -> None:
    start = utc(2026, 11, 1, 10)
    opened = advance(fresh(), [ep(start, "IN_SERVICE", 1, "a")], start, prices, FRAUD)
    # metered up to 5 Nov 12:00: usage before 3 Nov 00:00 (two days before the last midnight) is final
    swept = advance(opened.timeline, [], utc(2026, 11, 5, 12), prices, FRAUD)
    assert swept.timeline.horizon == utc(2026, 11, 3)
    assert all(
        record_id.endswith(
            ("2026-11-03T00:00:00+00:00", "2026-11-04T00:00:00+00:00", "2026-11-05T00:00:00+00:00")
        )
        for record_id in swept.timeline.segments
    )
    late = advance(
        swept.timeline, [ep(utc(2026, 11, 2, 9), "DELETING", 1, "d")], utc(2026, 11, 2, 9), prices, FRAUD
    )
    assert [t.event_id for t in late.too_late] == ["d"]
    assert not late.changes_ledger
    # a change at or after the horizon still applies
    on_time = advance(
        swept.timeline, [ep(utc(2026, 11, 3), "DELETING", 1, "e")], utc(2026, 11, 3), prices, FRAUD
    )
    assert on_time.too_late == []
    assert len(on_time.delete_ids) == 3  # 3, 4 and 5 November


def test_hourly_sweeps_of_running_instances_and_daily_sweeps_of_storage_only(prices: PriceBook) -> None:
    assert due_for_sweep(fresh(NOTEBOOK), DAY)  # never metered
    running = advance(
        fresh(NOTEBOOK), [nb(DAY + 8 * H, "InService", "a")], DAY + 9 * H, prices, FRAUD
    ).timeline
    assert due_for_sweep(running, DAY + 9 * H + timedelta(minutes=1))
    stopped = advance(running, [nb(DAY + 10 * H, "Stopped", "b")], DAY + 10 * H, prices, FRAUD).timeline
    assert not due_for_sweep(stopped, DAY + 23 * H)  # only storage bills: once a day is enough
    assert due_for_sweep(stopped, DAY + 24 * H)
    deleted = advance(stopped, [nb(DAY + 11 * H, "Deleted", "c")], DAY + 11 * H, prices, FRAUD).timeline
    assert not due_for_sweep(deleted, DAY + 12 * H)


def test_two_events_for_one_change_give_the_same_records_in_either_order(prices: PriceBook) -> None:
    first = ep(DAY + 10 * H, "IN_SERVICE", 2, "event-x")
    second = ep(DAY + 10 * H, "IN_SERVICE", 2, "event-y")

    def delivered(order: list[Transition]) -> list[UsageRecord]:
        timeline = fresh()
        for transition in order:
            timeline = advance(timeline, [transition], DAY + 12 * H, prices, FRAUD).timeline
        return meter(list(timeline.transitions), DAY + 10 * H, DAY + 12 * H, prices)

    assert delivered([first, second]) == delivered([second, first])


# === tags =====================================================================================


def test_tag_keys_match_whatever_their_case_and_separators() -> None:
    tags = {"PROJECT": "fraud", "team": "risk", "Cost_Center": "cc-1", "env": "dev", "created-by": "alice"}
    assert snapshot(tags, TagKeys()) == TagSnapshot(
        project="fraud", team="risk", cost_center="cc-1", environment="dev", owner="alice"
    )
    assert snapshot({"Cost Centre": "cc-2"}, TagKeys()).cost_center == "cc-2"  # the `cost-centre` alias


def test_the_first_alias_with_a_value_wins_and_blank_values_do_not_count() -> None:
    keys = TagKeys(project=("Project", "ProjectName"))
    assert snapshot({"ProjectName": "b", "Project": "a"}, keys).project == "a"
    assert snapshot({"Project": "   ", "project-name": "b"}, keys).project == "b"
    assert snapshot({"Owner": "", "CreatedBy": " alice "}, TagKeys()).owner == "alice"
    assert snapshot({"Project": " "}, keys).project is None


def test_system_tags_are_never_business_attribution() -> None:
    tags = {
        "aws:cloudformation:stack-name": "stack",
        "sagemaker:user-profile-arn": "arn:aws:sagemaker:us-east-1:1:user-profile/d/alice",
        "AWS:Project": "x",
        "Project": "fraud",
    }
    assert business_tags(tags) == {"Project": "fraud"}
    keys = TagKeys(owner=("sagemaker:user-profile-arn",))
    assert snapshot(tags, keys).owner is None


def test_untagged_usage_is_attributed_to_untagged_in_every_dimension() -> None:
    empty = snapshot(None, TagKeys())
    assert empty == TagSnapshot()
    assert empty.dimension_values() == {
        Dimension.PROJECT: UNTAGGED,
        Dimension.TEAM: UNTAGGED,
        Dimension.COST_CENTER: UNTAGGED,
        Dimension.ALLOCATION: f"{UNTAGGED}|{UNTAGGED}|{UNTAGGED}|{UNTAGGED}",
    }


# === aggregates ===============================================================================


def usage(
    prices: PriceBook,
    *,
    month_day: datetime,
    hours: int,
    tags: TagSnapshot,
    instance_type: str = "ml.m5.xlarge",
) -> UsageRecord:
    return priced_record(
        record_id=f"{JOB_ARN}#{month_day.isoformat()}#{instance_type}",
        resource=ResourceRef.from_arn(JOB_ARN, ResourceKind.TRAINING_JOB, "train-1"),
        component=Component.TRAINING,
        line="compute",
        instance_type=instance_type,
        instance_count=1,
        start=month_day,
        end=month_day + hours * H,
        quantity=Decimal(hours),
        unit="instance-hour",
        prices=prices,
        tags=tags,
        event_ids=("e",),
    )


def test_deltas_are_merged_so_each_aggregate_item_appears_once(prices: PriceBook) -> None:
    records = [
        usage(prices, month_day=utc(2026, 11, 1), hours=1, tags=FRAUD),
        usage(prices, month_day=utc(2026, 11, 2), hours=3, tags=FRAUD),
        usage(prices, month_day=utc(2026, 11, 3), hours=2, tags=RECS),
        usage(prices, month_day=utc(2026, 12, 1), hours=10, tags=FRAUD),
    ]
    deltas = aggregate_deltas(records)
    keys = [d.key for d in deltas]
    # 5 dimensions x (Nov fraud, Nov recs, Dec fraud): the two Nov fraud records share a resource line
    assert len(keys) == len(set(keys)) == 5 * 3
    assert keys == sorted(keys, key=lambda k: (k.month, k.dimension, k.value))
    by_key = {(d.key.month, d.key.dimension, d.key.value): (d.cost, d.records) for d in deltas}
    assert by_key[("2026-11", Dimension.PROJECT, "fraud")] == (Decimal("0.92"), 2)  # 4 h x 0.23
    assert by_key[("2026-11", Dimension.TEAM, "growth")] == (Decimal("0.46"), 1)
    assert by_key[("2026-12", Dimension.ALLOCATION, f"fraud|risk|cc-1|{UNTAGGED}")] == (Decimal("2.3"), 1)
    line = ResourceLine.parse(next(k.value for k in keys if k.dimension is Dimension.RESOURCE))
    assert (line.resource_arn, line.component, line.instance_type, line.unit) == (
        JOB_ARN,
        Component.TRAINING,
        "ml.m5.xlarge",
        "instance-hour",
    )
    assert (line.project, line.region) == ("fraud", JOB_ARN.split(":")[3])
    nov_fraud_line = next(
        d
        for d in deltas
        if d.key.dimension is Dimension.RESOURCE
        and d.key.month == "2026-11"
        and ResourceLine.parse(d.key.value).project == "fraud"
    )
    assert (nov_fraud_line.quantity, nov_fraud_line.records) == (Decimal(4), 2)


def test_removed_records_are_taken_back_and_what_nets_to_zero_is_dropped(prices: PriceBook) -> None:
    old = usage(prices, month_day=utc(2026, 11, 1), hours=4, tags=FRAUD)
    new = usage(prices, month_day=utc(2026, 11, 1), hours=3, tags=FRAUD)
    assert aggregate_deltas([old], [summarise(old)]) == []
    shrink = aggregate_deltas([new], [summarise(old)])
    assert {(d.key.dimension, d.cost, d.records) for d in shrink} == {
        (dim, Decimal("-0.23"), 0) for dim in Dimension
    }
    retagged = aggregate_deltas([old.model_copy(update={"tags": RECS})], [summarise(old)])
    assert totals(retagged) == {"fraud": (Decimal("-0.92"), -1), "recs": (Decimal("0.92"), 1)}


def test_unpriced_usage_moves_unpriced_counters_never_cost(prices: PriceBook) -> None:
    unpriced = usage(prices, month_day=utc(2026, 11, 1), hours=5, tags=FRAUD, instance_type="ml.x99.mega")
    priced = usage(prices, month_day=utc(2026, 11, 2), hours=1, tags=FRAUD)
    (delta,) = [d for d in aggregate_deltas([unpriced, priced]) if d.key.dimension is Dimension.PROJECT]
    assert delta.key == AggregateKey("2026-11", Dimension.PROJECT, "fraud")
    assert (delta.cost, delta.records, delta.unpriced_records, delta.unpriced_instance_hours) == (
        Decimal("0.23"),
        2,
        1,
        Decimal(5),
    )
    storage = unpriced.model_copy(update={"unit": "GB-month", "quantity": Decimal("0.5")})
    (gb,) = [d for d in aggregate_deltas([storage]) if d.key.dimension is Dimension.PROJECT]
    assert (gb.unpriced_records, gb.unpriced_instance_hours, gb.cost) == (1, Decimal(0), Decimal(0))
