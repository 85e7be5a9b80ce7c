"""The request floor of the kinds issue 12 added, measured by the bench (bench/kinds.py) at one resource
per kind: every event, and its duplicate delivery, costs at most two AWS requests (one read where the event
lacks a figure, one DynamoDB transaction; the ledger's own BatchGetItem counts). A request count, no timing.
"""

from __future__ import annotations

import bench
import pytest
from bench import kinds

ROWS = [row + suffix for row in kinds.KIND_ROWS for suffix in ("", bench.DUPLICATE)]


@pytest.fixture(scope="module")
def measured() -> dict[str, bench.KindResult]:
    return {result.kind: result for result in kinds.measure_kind_event_requests(per_kind=1)}


def test_every_new_kind_and_its_duplicate_is_delivered_once_and_counted(
    measured: dict[str, bench.KindResult],
) -> None:
    assert list(measured) == ROWS
    assert all(result.events == 1 and result.max >= 1 for result in measured.values())
    # no event reads SageMaker for what the ledger or the next sweep can tell: a space's tags come with
    # the app's timeline, an unseen server's size and a cluster's tags from the sweep
    assert {kind: op for kind, r in measured.items() for op in r.operations if op[0] == "sagemaker"} == {}


def test_ingesting_the_new_kinds_never_lists_the_fleet(measured: dict[str, bench.KindResult]) -> None:
    assert {kind: r.fleet_lists for kind, r in measured.items() if r.fleet_lists} == {}


@pytest.mark.parametrize("row", ROWS)
def test_each_new_kind_stays_within_two_requests_per_event(
    measured: dict[str, bench.KindResult], row: str
) -> None:
    result = measured[row]
    assert result.max <= bench.REQUEST_TARGET, f"{row}: {result.per_event_operations()}"
