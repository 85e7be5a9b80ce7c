"""The month's report says how much of it is an estimate (serverless on-demand compute) and how much is a
metered quantity: the estimated lines are told apart by their component, from the resource aggregates."""

from __future__ import annotations

from decimal import Decimal

from sagecost.adapters.ledger import Aggregate
from sagecost.models.ledger import Dimension, ResourceLine
from sagecost.models.prices import Component
from sagecost.services.allocation import estimated_note

ENDPOINT = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/scorer"


def line(component: Component, instance_type: str, cost: str) -> Aggregate:
    key = ResourceLine(ENDPOINT, component, instance_type, "instance-hour", "fraud", "risk", "cc", "dev").key
    return Aggregate("2026-10", Dimension.RESOURCE, key, Decimal(cost), 3, 0, Decimal(0))


def test_serverless_on_demand_cost_is_reported_as_an_estimate_to_the_cent() -> None:
    items = [
        line(Component.SERVERLESS_INFERENCE, "serverless-4096mb", "1.234567"),
        line(Component.SERVERLESS_INFERENCE, "serverless-2048mb", "0.5"),
        line(Component.SERVERLESS_PROVISIONED, "serverless-4096mb", "7.2"),  # exact, not an estimate
        line(Component.HOSTING, "ml.m5.xlarge", "100"),
    ]
    note = estimated_note(items)
    assert note is not None
    assert note.startswith("estimated: 1.73 USD of serverless on-demand compute (2 resource lines)")


def test_a_month_without_estimates_says_nothing() -> None:
    assert estimated_note([line(Component.HOSTING, "ml.m5.xlarge", "100")]) is None
