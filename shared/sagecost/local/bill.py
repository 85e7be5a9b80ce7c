"""A simulated AWS bill for the simulator's reconciliation, since nothing local can produce a real one.

It bills what ran in the simulated account at the account's own invoice rates, NOT what sagecost priced:
each resource line's usage (the quantity, unit, component and instance type of the ledger's `resource`
aggregates: the usage the simulated events describe) times `SIMULATED_RATES`. Where sagecost's shipped
catalog prices a component and type, the simulated rate is the catalog's (metered equals billed before
discounts); where the catalog has no row (HyperPod, MLflow, serverless, us-east-1 warm pools and some ML
storage, an instance type it lacks) the rate is a simulation input, so that usage shows as metered $0
against billed $X in its usage-type group and the metered share is a real figure. A line whose component
and type the table lacks (an arbitrary replayed file's) is billed at what sagecost metered for it.

The real month's bill also differs from the usage at list price in known ways; the simulated one models
two of them, so the demo's variance report has something true to show:

- a Compute Savings Plan-like discount on training and processing instance usage (`DISCOUNT`);
- SageMaker charges sagecost does not meter (data processed by endpoints), billed without a project tag
  (`UNMETERED_LINES`, `UNMETERED` in all).

The bill answers both of Cost Explorer's questions from the same lines: per project tag
(`sagemaker_month`) and per usage type (`sagemaker_usage_types`, each metered line under the usage type
the real bill would use, `usage_type`), and the two add up to the same total to the cent.

The Cost Explorer adapter itself is tested against moto's canned GetCostAndUsage results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from sagecost.adapters.costs import BilledMonth, BilledUsageTypes
from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.allocation import largest_remainder
from sagecost.domain.money import cents
from sagecost.models.allocation import BilledMetric
from sagecost.models.ledger import UNTAGGED, Dimension, ResourceLine
from sagecost.models.prices import ML_STORAGE_VOLUME, Component

DISCOUNT = Decimal("0.12")
DISCOUNTED = frozenset({Component.TRAINING, Component.PROCESSING})
SOURCE = "a simulated bill (sagecost simulator)"

REGION_PREFIXES: Final = {
    "us-east-1": "USE1",
    "us-east-2": "USE2",
    "us-west-1": "USW1",
    "us-west-2": "USW2",
    "eu-west-1": "EU",
    "eu-west-2": "EUW2",
    "eu-central-1": "EUC1",
    "ap-northeast-1": "APN1",
    "ap-south-1": "APS3",
    "ap-southeast-2": "APS2",
}
"""Cost Explorer's usage-type prefixes of the regions the demo may use; another region gets none."""

KINDS: Final = {
    Component.TRAINING: "Train",
    Component.PROCESSING: "Processing",
    Component.BATCH_TRANSFORM: "Tsform",
    Component.HOSTING: "Host",
    Component.ASYNC_INFERENCE: "AsyncInf",
    Component.NOTEBOOK: "Notebk",
    Component.STUDIO_APP: "Studio",
    Component.HYPERPOD: "Cluster",
    Component.SERVERLESS_INFERENCE: "ServerlessInf",
    Component.SERVERLESS_PROVISIONED: "ProvisionedConcurrency",
    Component.TRAINING_WARM_POOL: "Train-WarmPool",
    Component.MLFLOW: "MLflow-TrackingServer",
}
"""The usage-type kind of each component (`domain.usage_types` cites the real ones; the warm-pool and
MLflow spellings are the keywords it matches, no real bill having been seen)."""

SIMULATED_RATES: Final[dict[tuple[str, Component, str], Decimal]] = {
    # (region, component, instance type): USD per unit of the line (instance-hour, concurrency-hour of the
    # memory size, or GB-month for ML storage). THE SIMULATED ACCOUNT'S INVOICE RATES, simulation inputs.
    # -- the shipped catalog's rates (tests/unit hold them equal to shared/sagecost/data/prices.json) --
    ("us-east-1", Component.TRAINING, "ml.m5.large"): Decimal("0.115"),
    ("us-east-1", Component.TRAINING, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-east-1", Component.TRAINING, "ml.m5.4xlarge"): Decimal("0.922"),
    ("us-east-1", Component.TRAINING, "ml.g4dn.xlarge"): Decimal("0.736"),
    ("us-east-1", Component.TRAINING, "ml.g5.xlarge"): Decimal("1.408"),
    ("us-east-1", Component.PROCESSING, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-west-2", Component.BATCH_TRANSFORM, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-east-1", Component.HOSTING, "ml.m5.large"): Decimal("0.115"),
    ("us-east-1", Component.HOSTING, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-east-1", Component.HOSTING, "ml.c5.xlarge"): Decimal("0.204"),
    ("us-east-1", Component.HOSTING, "ml.g5.xlarge"): Decimal("1.4084"),
    ("us-east-1", Component.HOSTING, "ml.g5.12xlarge"): Decimal("7.09"),
    ("us-east-1", Component.ASYNC_INFERENCE, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-east-1", Component.NOTEBOOK, "ml.t3.medium"): Decimal("0.05"),
    ("us-east-1", Component.STUDIO_APP, "ml.t3.medium"): Decimal("0.05"),
    ("us-east-1", Component.ML_STORAGE, "gp2.notebook"): Decimal("0.14"),
    ("us-east-1", Component.ML_STORAGE, "gp2.hosting"): Decimal("0.112"),
    # -- no catalog row: the simulated account's rates only (sagecost leaves this usage unpriced) --
    ("us-east-1", Component.TRAINING, "ml.r7i.8xlarge"): Decimal("2.54"),
    ("us-east-1", Component.TRAINING_WARM_POOL, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-east-1", Component.STUDIO_APP, "ml.g5.xlarge"): Decimal("1.41"),
    ("us-east-1", Component.ML_STORAGE, "gp2.training"): Decimal("0.14"),
    ("us-east-1", Component.ML_STORAGE, "gp2.processing"): Decimal("0.14"),
    ("us-east-1", Component.ML_STORAGE, "gp2.studio-app"): Decimal("0.14"),
    ("us-east-1", Component.SERVERLESS_PROVISIONED, "serverless-4096mb"): Decimal("0.0547"),
    ("us-east-1", Component.SERVERLESS_INFERENCE, "serverless-4096mb"): Decimal("0.288"),
    ("us-east-1", Component.HYPERPOD, "ml.g5.2xlarge"): Decimal("1.515"),
    ("us-east-1", Component.HYPERPOD, "ml.m5.xlarge"): Decimal("0.23"),
    ("us-east-1", Component.MLFLOW, "Small"): Decimal("0.642"),
}
"""What the simulated account is invoiced per unit of each line the demo month runs (see the module's
docstring): the catalog's rate where it has one, a simulation input where it has none."""

UNMETERED_LINES: Final = (
    ("Host:Data-Bytes-In", Decimal("0.90")),
    ("Host:Data-Bytes-Out", Decimal("0.70")),
)
UNMETERED = sum((amount for _, amount in UNMETERED_LINES), Decimal(0))

_MEMORY = re.compile(r"serverless-(\d+)mb")


def usage_type(line: ResourceLine) -> str:
    """The usage type a real bill would put `line` under: `USE1-Train:ml.m5.xlarge`,
    `USE1-Host:VolumeUsage.gp2` (ML storage of an endpoint), `USE1-ServerlessInf:Mem-4GB`."""
    prefix = REGION_PREFIXES.get(line.region)
    region = f"{prefix}-" if prefix else ""
    if line.component is Component.ML_STORAGE:
        owner = line.instance_type.removeprefix(f"{ML_STORAGE_VOLUME}.")
        kind = next((k for c, k in KINDS.items() if c.value == owner), "Host")
        return f"{region}{kind}:VolumeUsage.{ML_STORAGE_VOLUME}"
    detail = line.instance_type
    if memory := _MEMORY.fullmatch(detail):
        detail = f"Mem-{int(memory[1]) // 1024}GB"
    return f"{region}{KINDS.get(line.component, line.component.value)}:{detail}"


@dataclass(frozen=True)
class _Line:
    project: str
    usage_type: str
    amount: Decimal


class SimulatedBill:
    def __init__(self, ledger: DynamoLedger) -> None:
        self.ledger = ledger

    def _lines(self, month: str) -> list[_Line]:
        lines = []
        region = ""
        for item in self.ledger.aggregates(month, Dimension.RESOURCE):
            parsed = ResourceLine.parse(item.value)
            factor = 1 - DISCOUNT if parsed.component in DISCOUNTED else Decimal(1)
            rate = SIMULATED_RATES.get((parsed.region, parsed.component, parsed.instance_type))
            ran = item.quantity * rate if rate is not None else item.cost
            lines.append(_Line(parsed.project, usage_type(parsed), ran * factor))
            region = region or parsed.region
        if lines:
            prefix = REGION_PREFIXES.get(region)
            lines += [
                _Line(UNTAGGED, f"{prefix}-{kind}" if prefix else kind, amount)
                for kind, amount in UNMETERED_LINES
            ]
        return lines

    def priced_usage(self, month: str) -> dict[str, str]:
        """The metered share of the bill for the usage sagecost's catalog priced: what sagecost metered for
        the resource lines with no unpriced record, against what the bill charges for them (their usage at
        the account's rates, less the discount). Unpriced lines (metered $0, billed $X) are left out, so
        this says how well the priced usage is metered; the reconciliation's share says how much of the
        bill is metered at all."""
        metered = billed = Decimal(0)
        for item in self.ledger.aggregates(month, Dimension.RESOURCE):
            parsed = ResourceLine.parse(item.value)
            rate = SIMULATED_RATES.get((parsed.region, parsed.component, parsed.instance_type))
            if item.unpriced_records or rate is None:
                continue
            factor = 1 - DISCOUNT if parsed.component in DISCOUNTED else Decimal(1)
            metered += item.cost
            billed += item.quantity * rate * factor
        share = f"{(100 * metered / billed).quantize(Decimal('0.01'))} %" if billed else None
        return {"metered": str(cents(metered)), "billed": str(cents(billed)), "metered_share": str(share)}

    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth:
        billed = _by_project(self._lines(month))
        return BilledMonth(
            total=sum(billed.values(), Decimal(0)), by_tag_value=billed, estimated=False, source=SOURCE
        )

    def sagemaker_usage_types(self, month: str, metric: BilledMetric) -> BilledUsageTypes:
        """The same lines per usage type, in cents distributed (largest remainder) from the total that
        `sagemaker_month` bills, so the two views never differ by a rounding cent."""
        lines = self._lines(month)
        exact: dict[str, Decimal] = {}
        for line in lines:
            exact[line.usage_type] = exact.get(line.usage_type, Decimal(0)) + line.amount
        total = sum(_by_project(lines).values(), Decimal(0))
        names = sorted(exact)
        if not total:
            return BilledUsageTypes({name: cents(exact[name]) for name in names}, False, SOURCE)
        units = largest_remainder([Fraction(exact[name]) for name in names], int(total * 100))
        billed = {name: cents(Decimal(unit) / 100) for name, unit in zip(names, units, strict=True)}
        return BilledUsageTypes(billed, False, SOURCE)


def _by_project(lines: list[_Line]) -> dict[str, Decimal]:
    """What each project tag value is billed, in cents (each rounded once, as Cost Explorer's are)."""
    exact: dict[str, Decimal] = {}
    for line in lines:
        exact[line.project] = exact.get(line.project, Decimal(0)) + line.amount
    return {project: cents(amount) for project, amount in exact.items()}
