"""UTC calendar arithmetic: months, days, and exact durations as Decimal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

SECONDS_PER_HOUR = Decimal(3600)


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month_start(moment: datetime) -> datetime:
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)


def parse_month(month: str) -> datetime:
    """`2026-11` -> 2026-11-01T00:00Z; ValueError for anything else."""
    try:
        year, number = (int(part) for part in month.split("-"))
        return datetime(year, number, 1, tzinfo=UTC)
    except ValueError as error:
        raise ValueError(f"a month is written YYYY-MM, not {month!r}") from error


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's first instant (end exclusive)."""
    start = parse_month(month)
    return start, next_month_start(start)


def previous_month(moment: datetime) -> str:
    """The calendar month before the one `moment` falls in, as `YYYY-MM` (what closed last)."""
    last = month_start(moment) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def midnight(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def next_midnight(moment: datetime) -> datetime:
    return midnight(moment) + timedelta(days=1)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hours_in_month(moment: datetime) -> Decimal:
    start = month_start(moment)
    return Decimal(int((next_month_start(start) - start).total_seconds())) / SECONDS_PER_HOUR


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact elapsed seconds (to the microsecond) as Decimal."""
    delta = end - start
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


def hours_between(start: datetime, end: datetime) -> Decimal:
    return seconds_between(start, end) / SECONDS_PER_HOUR


def split_by_month(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at every UTC month boundary; nothing for an empty interval."""
    cursor = start
    while cursor < end:
        boundary = min(next_month_start(cursor), end)
        yield cursor, boundary
        cursor = boundary


def split_by_day(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at every UTC midnight (which includes every month boundary)."""
    cursor = start
    while cursor < end:
        boundary = min(next_midnight(cursor), end)
        yield cursor, boundary
        cursor = boundary
