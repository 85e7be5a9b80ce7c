"""The bench's request counting on a tiny input, so `make bench` cannot rot: it still runs, it still counts,
and every kind of event stays within the design's request budget. No timing is asserted anywhere."""

from __future__ import annotations

from collections import Counter

import bench
import pytest

ALL_KINDS = [kind + suffix for kind in bench.KIND_ORDER for suffix in ("", bench.DUPLICATE)]
WRITES = {"TransactWriteItems", "PutItem"}


@pytest.fixture(scope="module")
def measured() -> dict[str, bench.KindResult]:
    return {result.kind: result for result in bench.measure_event_requests(per_kind=1)}


def operations(result: bench.KindResult) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for (_, operation), n in result.operations.items():
        counts[operation] += n
    return dict(counts)


def test_every_kind_and_its_duplicate_is_delivered_once(measured: dict[str, bench.KindResult]) -> None:
    assert list(measured) == ALL_KINDS
    assert all(result.events == 1 for result in measured.values())


def test_the_counter_sees_the_requests_the_meter_sends(measured: dict[str, bench.KindResult]) -> None:
    # the canonical case of the design: the figure is read once, the usage written in one transaction
    training = measured["training terminal, BillableTimeInSeconds not in event"]
    assert operations(training) == {"DescribeTrainingJob": 1, "TransactWriteItems": 1}
    assert training.outcomes == Counter({"recorded": 1})
    assert measured["training InProgress"].requests == [0]
    assert operations(measured["processing terminal, no Tags in event"]).get("ListTags") == 1
    # whatever wrote something to the ledger was seen writing it
    for result in measured.values():
        if result.outcomes.keys() & {"recorded", "cached"}:
            assert operations(result).keys() & WRITES, result.kind


def test_ingesting_events_never_lists_the_fleet(measured: dict[str, bench.KindResult]) -> None:
    assert {kind: r.fleet_lists for kind, r in measured.items() if r.fleet_lists} == {}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_kind_stays_within_the_request_budget(measured: dict[str, bench.KindResult], kind: str) -> None:
    result = measured[kind]
    assert result.max <= bench.REQUEST_TARGET, f"{kind}: {result.per_event_operations()}"


def test_the_allocation_bench_reads_only_aggregates_and_conserves_the_money() -> None:
    from bench.allocation import measure_allocation

    small, large = measure_allocation(200, 10), measure_allocation(2_000, 10)
    # one Query page each for allocation lines, resource lines and the month's sealed state changes
    assert small.requests == large.requests == 3
    assert (small.allocation_items, small.resource_lines) == (large.allocation_items, large.resource_lines)
    assert large.metered > small.metered > 0
