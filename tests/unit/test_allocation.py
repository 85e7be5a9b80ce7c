"""Month-end allocation rules: the issue's worked example, the rounding, and properties over any ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sagecost.domain.allocation import (
    SHARED_ROW,
    DirectCost,
    allocate,
    largest_remainder,
    true_up,
    variances,
)
from sagecost.domain.money import cents
from sagecost.models.allocation import AllocationPolicy, ShareSplit
from sagecost.models.ledger import UNTAGGED, Dimension, TagSnapshot

D = Decimal


def cost(
    project: str, amount: str, *, team: str = "t", cost_center: str = "cc", env: str = "dev"
) -> DirectCost:
    return DirectCost(project, team, cost_center, env, D(amount))


ISSUE_MONTH = [cost("A", "600.00"), cost("B", "300.00"), cost("C", "100.00"), cost("platform", "90.00")]


def totals_by_project(rows: object) -> dict[str, Decimal]:
    return {row.project: row.total for row in rows}  # type: ignore[attr-defined]


def test_weighted_split_of_the_issue_example() -> None:
    result = allocate(ISSUE_MONTH, AllocationPolicy(shared_projects=("platform",)))
    assert totals_by_project(result.rows) == {"A": D("654.00"), "B": D("327.00"), "C": D("109.00")}
    assert result.metered == sum(row.total for row in result.rows) == D("1090.00")
    a = next(row for row in result.rows if row.project == "A")
    assert (a.direct, a.shared) == (D("600.00"), D("54.00"))
    assert [(part.source, part.amount) for part in a.shared_from] == [("platform", D("54.00"))]
    assert result.project_ratios == {"A": D("0.6"), "B": D("0.3"), "C": D("0.1")}


def test_even_split_of_the_issue_example() -> None:
    result = allocate(ISSUE_MONTH, AllocationPolicy(shared_projects=("platform",), split=ShareSplit.EVEN))
    assert totals_by_project(result.rows) == {"A": D("630.00"), "B": D("330.00"), "C": D("130.00")}
    assert result.metered == D("1090.00")


def test_fixed_weights_and_environment_multipliers() -> None:
    fixed = allocate(
        ISSUE_MONTH,
        AllocationPolicy(
            shared_projects=("platform",), split=ShareSplit.FIXED, weights={"A": D(1), "C": D(2)}
        ),
    )
    assert totals_by_project(fixed.rows) == {"A": D("630.00"), "B": D("300.00"), "C": D("160.00")}
    month = [cost("A", "100", env="prod"), cost("B", "100", env="dev"), cost("platform", "30")]
    weighted = allocate(
        month, AllocationPolicy(shared_projects=("platform",), environment_multipliers={"prod": D(2)})
    )
    assert totals_by_project(weighted.rows) == {"A": D("120.00"), "B": D("110.00")}


def test_untagged_usage_is_its_own_row_unless_shared() -> None:
    month = [cost("A", "75"), cost("B", "25"), cost(UNTAGGED, "10", team=UNTAGGED, cost_center=UNTAGGED)]
    alone = allocate(month, AllocationPolicy())
    untagged = next(row for row in alone.rows if row.project == UNTAGGED)
    assert (untagged.kind, untagged.total) == ("unallocated", D("10.00"))
    assert alone.shared_pool == 0
    shared = allocate(month, AllocationPolicy(share_unallocated=True))
    assert totals_by_project(shared.rows) == {"A": D("82.50"), "B": D("27.50")}
    assert [(s.source, s.amount) for s in shared.pool] == [(UNTAGGED, D("10.00"))]


def test_a_project_split_over_teams_shares_by_their_direct_cost() -> None:
    month = [cost("A", "30", team="x"), cost("A", "10", team="y"), cost("B", "40"), cost("platform", "8")]
    result = allocate(month, AllocationPolicy(shared_projects=("platform",), split=ShareSplit.EVEN))
    by_row = {(row.project, row.team): row.shared for row in result.rows}
    assert by_row == {("A", "x"): D("3.00"), ("A", "y"): D("1.00"), ("B", "t"): D("4.00")}


def test_a_pool_nobody_can_receive_stays_visible_as_its_own_row() -> None:
    result = allocate([cost("platform", "12.34")], AllocationPolicy(shared_projects=("platform",)))
    assert [(row.project, row.kind, row.total) for row in result.rows] == [
        (SHARED_ROW, "unassigned-shared", D("12.34"))
    ]
    assert result.notes


def test_weights_of_absent_projects_fall_back_to_an_even_split_and_say_so() -> None:
    policy = AllocationPolicy(shared_projects=("platform",), split=ShareSplit.FIXED, weights={"gone": D(1)})
    result = allocate([cost("A", "1"), cost("B", "1"), cost("platform", "1")], policy)
    assert totals_by_project(result.rows) == {"A": D("1.50"), "B": D("1.50")}
    assert "evenly" in result.notes[0]


def test_thirds_round_to_the_cent_and_still_add_up() -> None:
    month = [cost("A", "1"), cost("B", "1"), cost("C", "1"), cost("platform", "1")]
    result = allocate(month, AllocationPolicy(shared_projects=("platform",)))
    assert sorted(row.shared for row in result.rows) == [D("0.33"), D("0.33"), D("0.34")]
    assert sum(row.total for row in result.rows) == D("4.00")


def test_largest_remainder() -> None:
    from fractions import Fraction

    assert largest_remainder([Fraction(1)] * 3, 100) == [34, 33, 33]
    assert largest_remainder([Fraction(0), Fraction(5)], 7) == [0, 7]
    assert largest_remainder([Fraction(1), Fraction(1)], -3) == [-2, -1]
    with pytest.raises(ValueError, match="all zero"):
        largest_remainder([Fraction(0)], 1)


def test_true_up_spreads_the_bill_by_metered_total() -> None:
    result = allocate(ISSUE_MONTH, AllocationPolicy(shared_projects=("platform",)))
    trued = true_up(result.rows, D("981.00"))  # a 10 % Savings Plan discount on the bill
    assert {row.project: row.billed for row in trued} == {"A": D("588.60"), "B": D("294.30"), "C": D("98.10")}


def test_variance_per_project_counts_what_one_side_lacks_as_zero() -> None:
    rows = variances({"A": D("100"), "B": D("50")}, {"A": D("110"), "serverless": D("5")})
    assert [(v.project, v.metered, v.billed, v.variance, v.variance_pct) for v in rows] == [
        ("A", D("100.00"), D("110.00"), D("-10.00"), D("-9.09")),
        ("B", D("50.00"), D("0.00"), D("50.00"), None),
        ("serverless", D("0.00"), D("5.00"), D("-5.00"), D("-100.00")),
    ]


def test_policies_that_cannot_work_are_rejected_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="positive weight"):
        AllocationPolicy(split=ShareSplit.FIXED)
    with pytest.raises(ValidationError, match="only to split: weighted"):
        AllocationPolicy(split=ShareSplit.EVEN, environment_multipliers={"prod": D(2)})
    with pytest.raises(ValidationError, match="share_unallocated"):
        AllocationPolicy(shared_projects=(UNTAGGED,))


# === properties ===============================================================================

amounts = st.decimals(min_value=0, max_value=100_000, places=6, allow_nan=False, allow_infinity=False)
projects = st.sampled_from(["A", "B", "C", "D", "platform", "studio", UNTAGGED])
costs = st.builds(
    DirectCost,
    project=projects,
    team=st.sampled_from(["t1", "t2", UNTAGGED]),
    cost_center=st.sampled_from(["cc1", "cc2"]),
    environment=st.sampled_from(["dev", "prod", UNTAGGED]),
    cost=amounts,
)
policies = (
    st.builds(
        AllocationPolicy,
        shared_projects=st.sampled_from([(), ("platform",), ("platform", "studio")]),
        share_unallocated=st.booleans(),
        split=st.sampled_from([ShareSplit.WEIGHTED, ShareSplit.EVEN]),
    )
    | st.builds(
        AllocationPolicy,
        shared_projects=st.just(("platform", "studio")),
        share_unallocated=st.booleans(),
        environment_multipliers=st.dictionaries(
            st.sampled_from(["dev", "prod"]), st.decimals(min_value="0.1", max_value=5, places=1), min_size=1
        ),
    )
    | st.builds(
        AllocationPolicy,
        shared_projects=st.just(("platform",)),
        split=st.just(ShareSplit.FIXED),
        weights=st.dictionaries(st.sampled_from(["A", "B", "C"]), st.decimals(1, 10, places=2), min_size=1),
    )
)


def unique_keys(ledger: list[DirectCost]) -> list[DirectCost]:
    """A ledger holds one aggregate per (project, team, cost center, environment)."""
    return list({(c.row, c.environment): c for c in ledger}.values())


@settings(max_examples=300, deadline=None)
@given(ledger=st.lists(costs, max_size=25).map(unique_keys), policy=policies)
def test_any_ledger_allocates_to_the_metered_total_to_the_cent_with_no_negative_share(
    ledger: list[DirectCost], policy: AllocationPolicy
) -> None:
    result = allocate(ledger, policy)
    metered = cents(sum((c.cost for c in ledger), D(0)))
    assert result.metered == metered
    assert sum((row.total for row in result.rows), D(0)) == metered
    assert sum((row.shared for row in result.rows), D(0)) == result.shared_pool
    for row in result.rows:
        assert row.direct >= 0 and row.shared >= 0
        assert row.total == row.direct + row.shared
        assert sum((part.amount for part in row.shared_from), D(0)) == row.shared
        assert all(part.amount > 0 for part in row.shared_from)
    if result.project_ratios:
        assert sum(result.project_ratios.values()) == 1
    assert allocate(list(reversed(ledger)), policy) == result  # same ledger, same rows, in any order


@settings(max_examples=200, deadline=None)
@given(ledger=st.lists(costs, min_size=1, max_size=15).map(unique_keys), billed=amounts)
def test_true_up_distributes_exactly_the_billed_total(ledger: list[DirectCost], billed: Decimal) -> None:
    rows = allocate(ledger, AllocationPolicy(shared_projects=("platform",))).rows
    trued = true_up(rows, billed)
    if any(row.total for row in rows):
        assert sum((row.billed or D(0) for row in trued), D(0)) == cents(billed)
        assert all(row.billed is not None and row.billed >= 0 for row in trued)


def test_allocation_keys_written_before_environments_and_before_escaping_still_read() -> None:
    assert DirectCost.from_key("fraud|risk|cc-1", D("2")) == DirectCost(
        "fraud", "risk", "cc-1", UNTAGGED, D("2")
    )
    assert DirectCost.from_key("fraud|risk|cc-1|dev", D("2")) == DirectCost(
        "fraud", "risk", "cc-1", "dev", D("2")
    )


def test_an_allocation_key_gives_back_values_holding_the_separator_and_the_escape() -> None:
    key = TagSnapshot(project="a|b", team="100%", cost_center="x%7Cy", environment="dev").dimension_values()[
        Dimension.ALLOCATION
    ]
    assert DirectCost.from_key(key, D("1")) == DirectCost("a|b", "100%", "x%7Cy", "dev", D("1"))


def test_an_allocation_key_of_the_wrong_shape_is_refused_with_the_key() -> None:
    with pytest.raises(ValueError, match="4 parts"):
        DirectCost.from_key("a|b", D("1"))
