"""Money and quantity arithmetic: Decimal only, one rounding rule."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MICRO = Decimal("0.000001")
CENT = Decimal("0.01")


def micro(amount: Decimal) -> Decimal:
    """Quantities and costs are kept to the millionth (of an hour, of a dollar), rounded half-even."""
    return amount.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
