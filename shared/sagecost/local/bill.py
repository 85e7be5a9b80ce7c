"""A simulated AWS bill for the simulator's reconciliation, since nothing local can produce a real one.

The real month's bill differs from what sagecost meters at list price in known ways; the simulated one
models two of them, so the demo's variance report has something true to show:

- a Compute Savings Plan-like discount on training and processing instance usage (`DISCOUNT`);
- SageMaker charges sagecost does not meter (serverless inference, data processing), billed without a
  project tag (`UNMETERED`, prorated by how much of the month the ledger covers).

The Cost Explorer adapter itself is tested against moto's canned GetCostAndUsage results.
"""

from __future__ import annotations

from decimal import Decimal

from sagecost.adapters.costs import BilledMonth
from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.money import cents
from sagecost.models.allocation import BilledMetric
from sagecost.models.ledger import UNTAGGED, Dimension, ResourceLine
from sagecost.models.prices import Component

DISCOUNT = Decimal("0.12")
DISCOUNTED = frozenset({Component.TRAINING, Component.PROCESSING})
UNMETERED = Decimal("6.40")


class SimulatedBill:
    def __init__(self, ledger: DynamoLedger) -> None:
        self.ledger = ledger

    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth:
        by_project: dict[str, Decimal] = {}
        for line in self.ledger.aggregates(month, Dimension.RESOURCE):
            parsed = ResourceLine.parse(line.value)
            factor = 1 - DISCOUNT if parsed.component in DISCOUNTED else Decimal(1)
            by_project[parsed.project] = by_project.get(parsed.project, Decimal(0)) + line.cost * factor
        if by_project:
            by_project[UNTAGGED] = by_project.get(UNTAGGED, Decimal(0)) + UNMETERED
        billed = {project: cents(amount) for project, amount in by_project.items()}
        return BilledMonth(
            total=sum(billed.values(), Decimal(0)),
            by_tag_value=billed,
            estimated=False,
            source="a simulated bill (sagecost simulator)",
        )
