"""Amounts and months written for people."""

from __future__ import annotations

from decimal import Decimal

from sagecost.domain.periods import parse_month


def usd(amount: Decimal) -> str:
    """`$1,234.50`, `-$3.00`."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def signed_usd(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + usd(amount)


def pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{'+' if value > 0 else ''}{value:.2f} %"


def share(value: Decimal | None) -> str:
    """A share of a whole: `97.50 %`, or `n/a` when the whole is 0."""
    return "n/a" if value is None else f"{value:.2f} %"


def month_name(month: str) -> str:
    """`2026-10` -> `October 2026`."""
    return parse_month(month).strftime("%B %Y")
