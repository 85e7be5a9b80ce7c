"""Budget rules: which thresholds a change of spend crossed, the month's forecast, a job's worst case."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sagecost.domain.money import micro
from sagecost.domain.periods import SECONDS_PER_HOUR, hours_between, month_bounds
from sagecost.models.budgets import AlertKind, Severity

HUNDRED = Decimal(100)
HOURS_PER_DAY = Decimal(24)


def limit(budget_usd: Decimal, percent: Decimal) -> Decimal:
    return budget_usd * percent / HUNDRED


def crossed(
    before: Decimal, after: Decimal, thresholds: Iterable[Decimal], budget_usd: Decimal
) -> list[Decimal]:
    """The thresholds (in %) spend passed upwards moving from `before` to `after`: before < limit <= after.

    Every threshold of an increasing sequence of spends is crossed by exactly one step of it; a step down
    (a re-priced record) crosses nothing, and crossing again after it is the once-only marker's business.
    """
    return sorted(t for t in thresholds if before < limit(budget_usd, t) <= after)


def percent_of(amount: Decimal, budget_usd: Decimal) -> Decimal:
    return (amount * HUNDRED / budget_usd).quantize(Decimal("0.1"))


def forecast(
    *, spent: Decimal, jobs_spent: Decimal, running_per_hour: Decimal, month: str, now: datetime
) -> Decimal:
    """The month's expected total: what is spent, plus what runs now kept running to the month's end,
    plus the finished jobs' pace so far carried over the days left.

    The jobs' pace is their spend over the days elapsed, counting at least one day, so a project's first
    hour (one job, no history) does not extrapolate that hour to a month: the forecast works from the
    first event and needs no history.
    """
    start, end = month_bounds(month)
    moment = min(max(now, start), end)
    hours_left = hours_between(moment, end)
    days_elapsed = max(hours_between(start, moment) / HOURS_PER_DAY, Decimal(1))
    jobs_pace_per_day = jobs_spent / days_elapsed
    return micro(spent + running_per_hour * hours_left + jobs_pace_per_day * hours_left / HOURS_PER_DAY)


def worst_case(*, hourly_rate: Decimal, instance_count: int, max_runtime_seconds: Decimal) -> Decimal:
    """A job's most expensive outcome: every instance for its whole MaxRuntimeInSeconds."""
    return micro(hourly_rate * instance_count * max_runtime_seconds / SECONDS_PER_HOUR)


def severity(kind: AlertKind, percent: Decimal) -> Severity:
    if kind in {AlertKind.PREFLIGHT, AlertKind.BURN_RATE}:
        return Severity.WARNING
    if percent >= HUNDRED:
        return Severity.CRITICAL
    return Severity.WARNING if percent >= Decimal(80) else Severity.INFO
