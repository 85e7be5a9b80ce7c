"""Month-end allocation: direct cost per (project, team, cost center), a shared pool split by a rule, and
rounding to whole cents that conserves the money.

Shares are computed exactly (`Fraction`), then rounded with the largest-remainder method at every level,
so the rows always add up to the metered total to the cent and no share is ever negative:

1. the month's total is rounded once (half-even); the direct part of the rows is rounded once; the pool
   gets the difference, which is never negative because rounding is monotone;
2. rows' direct amounts, rows' shared amounts, each row's breakdown by source and the projects' ratios
   of the pool are each distributed from their own rounded total by largest remainder (ties go to the
   earlier row in key order, so the same input always gives the same cents).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from sagecost.domain.money import cents
from sagecost.domain.usage_types import GROUP_ORDER, UsageTypeGroup
from sagecost.models.allocation import (
    AllocationPolicy,
    AllocationRow,
    GroupVariance,
    PoolSource,
    ProjectVariance,
    SharedPart,
    ShareSplit,
)
from sagecost.models.ledger import UNTAGGED, split_key

CENTS_PER_DOLLAR = 100
RATIO_UNITS = 1_000_000
"""Projects' ratios of the pool are given to the millionth and sum to exactly 1."""

SHARED_ROW = "(shared)"
"""The row that keeps the pool when no project can receive it (every project is shared, say)."""

RowKey = tuple[str, str, str]
RowKind = Literal["project", "unallocated", "unassigned-shared"]


@dataclass(frozen=True)
class DirectCost:
    """One `allocation` aggregate: a month's metered cost of one (project, team, cost center, environment)."""

    project: str
    team: str
    cost_center: str
    environment: str
    cost: Decimal

    @classmethod
    def from_key(cls, key: str, cost: Decimal) -> DirectCost:
        """The `allocation` aggregate's value (`join_key` of its four parts) and its cost."""
        parts = split_key(key)
        if len(parts) == 3:  # written before the environment was part of the key
            parts.append(UNTAGGED)
        if len(parts) != 4:
            raise ValueError(
                f"an allocation key has 4 parts (3 before environments), not {len(parts)}: {key!r}"
            )
        project, team, cost_center, environment = parts
        return cls(project, team, cost_center, environment, cost)

    @property
    def row(self) -> RowKey:
        return (self.project, self.team, self.cost_center)


@dataclass(frozen=True)
class Allocation:
    """The split of one month, in whole cents."""

    metered: Decimal
    rows: tuple[AllocationRow, ...]
    pool: tuple[PoolSource, ...]
    project_ratios: dict[str, Decimal]
    notes: tuple[str, ...]

    @property
    def shared_pool(self) -> Decimal:
        return sum((source.amount for source in self.pool), Decimal(0))


def largest_remainder(weights: Sequence[Fraction], total: int) -> list[int]:
    """Split `total` whole units in proportion to `weights` (all >= 0): floors first, then one more unit
    to each of the largest remainders, ties to the earlier weight. The parts always sum to `total`."""
    if total < 0:
        return [-part for part in largest_remainder(weights, -total)]
    if any(weight < 0 for weight in weights):
        raise ValueError("weights cannot be negative")
    weight_sum = sum(weights, Fraction(0))
    if total == 0:
        return [0] * len(weights)
    if weight_sum == 0:
        raise ValueError(f"cannot split {total} units over weights that are all zero")
    quotas = [weight * total / weight_sum for weight in weights]
    parts = [quota.numerator // quota.denominator for quota in quotas]
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for index in by_remainder[:left]:
        parts[index] += 1
    return parts


def _to_cents(amount: Decimal) -> int:
    return int(cents(amount) * CENTS_PER_DOLLAR)


def _money(units: int) -> Decimal:
    return (Decimal(units) / CENTS_PER_DOLLAR).quantize(Decimal("0.01"))


def _project_weights(
    receivers: Mapping[str, Sequence[DirectCost]], policy: AllocationPolicy
) -> tuple[dict[str, Fraction], list[str]]:
    notes: list[str] = []
    if policy.split is ShareSplit.EVEN:
        weights = {project: Fraction(1) for project in receivers}
    elif policy.split is ShareSplit.FIXED:
        weights = {project: Fraction(policy.weights.get(project, Decimal(0))) for project in receivers}
    else:
        weights = {project: _weighted(costs, policy) for project, costs in receivers.items()}
    if receivers and not any(weights.values()):
        notes.append(
            f"no receiving project has a {policy.split.value} weight this month: the pool is split evenly"
        )
        weights = {project: Fraction(1) for project in receivers}
    return weights, notes


def _weighted(costs: Iterable[DirectCost], policy: AllocationPolicy) -> Fraction:
    multipliers = policy.environment_multipliers
    return sum(
        (Fraction(c.cost) * Fraction(multipliers.get(c.environment, Decimal(1))) for c in costs), Fraction(0)
    )


def allocate(direct: Iterable[DirectCost], policy: AllocationPolicy) -> Allocation:
    """Rows of (project, team, cost center) with their direct cost, their share of the pool and where it
    came from. The pool is the usage of `shared_projects` (and of untagged usage if it is shared)."""
    costs = sorted(direct, key=lambda c: (c.row, c.environment))
    if any(c.cost < 0 for c in costs):
        raise ValueError("direct costs cannot be negative")
    shared_projects = set(policy.shared_projects)

    pool_exact: dict[str, Fraction] = defaultdict(Fraction)
    kept: dict[RowKey, list[DirectCost]] = defaultdict(list)
    for cost in costs:
        if cost.project in shared_projects or (cost.project == UNTAGGED and policy.share_unallocated):
            pool_exact[cost.project] += Fraction(cost.cost)
        else:
            kept[cost.row].append(cost)
    receivers: dict[str, list[DirectCost]] = defaultdict(list)
    for row, row_costs in kept.items():
        if row[0] != UNTAGGED:
            receivers[row[0]].extend(row_costs)

    pool_total = sum(pool_exact.values(), Fraction(0))
    notes: list[str] = []
    project_weights, weight_notes = _project_weights(receivers, policy)
    if pool_total:
        notes += weight_notes
    if pool_total and not receivers:
        notes.append(f"no project can receive the shared pool this month: it is kept as the {SHARED_ROW} row")
        kept[(SHARED_ROW, SHARED_ROW, SHARED_ROW)] = []

    row_keys = sorted(kept)
    row_direct = [sum((Fraction(c.cost) for c in kept[key]), Fraction(0)) for key in row_keys]
    row_shared = _row_shares(row_keys, kept, receivers, project_weights, pool_total, policy)

    total_exact = sum(row_direct, Fraction(0)) + pool_total
    total_cents = _to_cents(_decimal(total_exact))
    direct_cents_total = _to_cents(_decimal(sum(row_direct, Fraction(0))))
    pool_cents = total_cents - direct_cents_total
    direct_cents = largest_remainder(row_direct, direct_cents_total)
    shared_cents = largest_remainder(row_shared, pool_cents) if pool_cents else [0] * len(row_keys)
    sources = sorted(pool_exact)
    source_cents = (
        largest_remainder([pool_exact[s] for s in sources], pool_cents) if pool_cents else [0] * len(sources)
    )

    rows = []
    for index, key in enumerate(row_keys):
        parts = (
            largest_remainder([pool_exact[s] for s in sources], shared_cents[index])
            if shared_cents[index]
            else []
        )
        rows.append(
            AllocationRow(
                project=key[0],
                team=key[1],
                cost_center=key[2],
                direct=_money(direct_cents[index]),
                shared=_money(shared_cents[index]),
                total=_money(direct_cents[index] + shared_cents[index]),
                shared_from=tuple(
                    SharedPart(source=source, amount=_money(part))
                    for source, part in zip(sources, parts, strict=False)
                    if part
                ),
                kind=_kind(key),
            )
        )
    ratios = _ratios(project_weights) if pool_total and receivers else {}
    return Allocation(
        metered=_money(total_cents),
        rows=tuple(rows),
        pool=tuple(
            PoolSource(source=source, amount=_money(part))
            for source, part in zip(sources, source_cents, strict=True)
        ),
        project_ratios=ratios,
        notes=tuple(notes),
    )


def _kind(key: RowKey) -> RowKind:
    if key[0] == SHARED_ROW:
        return "unassigned-shared"
    return "unallocated" if key[0] == UNTAGGED else "project"


def _row_shares(
    row_keys: Sequence[RowKey],
    kept: Mapping[RowKey, Sequence[DirectCost]],
    receivers: Mapping[str, Sequence[DirectCost]],
    project_weights: Mapping[str, Fraction],
    pool_total: Fraction,
    policy: AllocationPolicy,
) -> list[Fraction]:
    """Each row's exact part of the pool: the project's part, then split over the project's rows."""
    if not pool_total:
        return [Fraction(0)] * len(row_keys)
    if not receivers:
        return [pool_total if key[0] == SHARED_ROW else Fraction(0) for key in row_keys]
    weight_sum = sum(project_weights.values(), Fraction(0))
    by_project: dict[str, list[RowKey]] = defaultdict(list)
    for key in row_keys:
        if key[0] in receivers:
            by_project[key[0]].append(key)
    shares = dict.fromkeys(row_keys, Fraction(0))
    for project, keys in by_project.items():
        project_share = pool_total * project_weights[project] / weight_sum
        row_weights = {key: _weighted(kept[key], policy) for key in keys}
        if not any(row_weights.values()):
            row_weights = dict.fromkeys(keys, Fraction(1))
        row_weight_sum = sum(row_weights.values(), Fraction(0))
        for key in keys:
            shares[key] = project_share * row_weights[key] / row_weight_sum
    return [shares[key] for key in row_keys]


def _ratios(project_weights: Mapping[str, Fraction]) -> dict[str, Decimal]:
    projects = sorted(project_weights)
    units = largest_remainder([project_weights[p] for p in projects], RATIO_UNITS)
    return {
        project: Decimal(part) / RATIO_UNITS for project, part in zip(projects, units, strict=True) if part
    }


def _decimal(amount: Fraction) -> Decimal:
    return Decimal(amount.numerator) / Decimal(amount.denominator)


def true_up(rows: Sequence[AllocationRow], billed: Decimal) -> tuple[AllocationRow, ...]:
    """Each row's part of the billed total, in proportion to its allocated metered total, so discounts
    (Savings Plans, credits) reach the chargeback. Returns the rows unchanged when nothing was metered."""
    weights = [Fraction(row.total) for row in rows]
    if not any(weights):
        return tuple(rows)
    parts = largest_remainder(weights, _to_cents(billed))
    return tuple(
        row.model_copy(update={"billed": _money(part)}) for row, part in zip(rows, parts, strict=True)
    )


def variances(metered: Mapping[str, Decimal], billed: Mapping[str, Decimal]) -> tuple[ProjectVariance, ...]:
    """Metered minus billed per project tag value (a project only one side knows counts as 0 on the other)."""
    result = []
    for project in sorted(set(metered) | set(billed)):
        metered_cost = cents(metered.get(project, Decimal(0)))
        billed_cost = cents(billed.get(project, Decimal(0)))
        result.append(
            ProjectVariance(
                project=project,
                metered=metered_cost,
                billed=billed_cost,
                variance=metered_cost - billed_cost,
                variance_pct=percent(metered_cost - billed_cost, billed_cost),
            )
        )
    return tuple(result)


def split_cents(amounts: Sequence[Decimal]) -> tuple[list[Decimal], Decimal]:
    """Exact amounts in whole cents that add up to their rounded sum: (the parts, the total).

    The total is the exact sum rounded once (half-even) and the parts are distributed from it by largest
    remainder, as the allocation's rows are. A negative amount (a bill's credit) cannot weigh a largest
    remainder split; then each part is rounded on its own and the total is their sum."""
    if any(amount < 0 for amount in amounts):
        parts = [cents(amount) for amount in amounts]
        return parts, sum(parts, Decimal("0.00"))
    total = cents(sum(amounts, Decimal(0)))
    if not total:
        return [Decimal("0.00")] * len(amounts), total
    units = largest_remainder([Fraction(amount) for amount in amounts], _to_cents(total))
    return [_money(unit) for unit in units], total


@dataclass(frozen=True)
class GroupVariances:
    """`group_variances`' answer: the rows, and the totals each column adds up to."""

    rows: tuple[GroupVariance, ...]
    metered: Decimal
    billed: Decimal
    metered_share_pct: Decimal | None


def group_variances(
    metered: Mapping[UsageTypeGroup, Decimal],
    billed: Mapping[UsageTypeGroup, Decimal],
    *,
    unpriced_records: Mapping[UsageTypeGroup, int] | None = None,
    usage_types: Mapping[UsageTypeGroup, Sequence[str]] | None = None,
) -> GroupVariances:
    """Metered against billed per usage-type group, in whole cents whose columns add up to their totals
    (`split_cents`). A group only one side knows counts as 0 on the other; unpriced usage is metered as
    nothing (it is billed, so it shows as unmetered), its record count kept on the row."""
    unpriced = unpriced_records or {}
    spelled = usage_types or {}
    groups = [g for g in GROUP_ORDER if g in metered or g in billed or unpriced.get(g)]
    metered_cents, metered_total = split_cents([metered.get(g, Decimal(0)) for g in groups])
    billed_cents, billed_total = split_cents([billed.get(g, Decimal(0)) for g in groups])
    rows = tuple(
        GroupVariance(
            group=group,
            metered=metered_part,
            billed=billed_part,
            difference=metered_part - billed_part,
            metered_share_pct=percent(metered_part, billed_part),
            unpriced_records=unpriced.get(group, 0),
            usage_types=tuple(sorted(spelled.get(group, ()))),
        )
        for group, metered_part, billed_part in zip(groups, metered_cents, billed_cents, strict=True)
    )
    return GroupVariances(rows, metered_total, billed_total, percent(metered_total, billed_total))


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part * 100 / whole).quantize(Decimal("0.01"))
