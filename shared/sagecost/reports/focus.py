"""The FOCUS 1.2 export: one charge row per resource line of the month (resource, billed component,
instance type, tags), with the allocation in `x_` columns after the FOCUS ones.

Costs are what sagecost metered at on-demand list price. `EffectiveCost` carries the bill instead when
the month is trued up (Savings Plans and discounts). The split of shared resources follows FOCUS 1.3's
AllocatedMethod columns, as `x_AllocatedMethodId` / `x_AllocatedMethodDetails` (1.2 has no such columns).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sagecost.domain.money import micro
from sagecost.domain.periods import month_bounds
from sagecost.models.allocation import AllocationReport, ResourceCost
from sagecost.models.ledger import UNTAGGED
from sagecost.reports.spreadsheet import write_csv

FocusType = Literal["string", "decimal", "datetime"]

FOCUS_VERSION = "1.2"

FOCUS_COLUMNS: tuple[tuple[str, FocusType], ...] = (
    # mandatory in 1.2
    ("BilledCost", "decimal"),
    ("BillingAccountId", "string"),
    ("BillingAccountName", "string"),
    ("BillingCurrency", "string"),
    ("BillingPeriodEnd", "datetime"),
    ("BillingPeriodStart", "datetime"),
    ("ChargeCategory", "string"),
    ("ChargeClass", "string"),
    ("ChargeDescription", "string"),
    ("ChargePeriodEnd", "datetime"),
    ("ChargePeriodStart", "datetime"),
    ("ContractedCost", "decimal"),
    ("EffectiveCost", "decimal"),
    ("InvoiceIssuerName", "string"),
    ("ListCost", "decimal"),
    ("PricingQuantity", "decimal"),
    ("PricingUnit", "string"),
    ("ProviderName", "string"),
    ("PublisherName", "string"),
    ("ServiceCategory", "string"),
    ("ServiceName", "string"),
    # conditional and recommended ones sagecost knows
    ("ChargeFrequency", "string"),
    ("ConsumedQuantity", "decimal"),
    ("ConsumedUnit", "string"),
    ("ContractedUnitPrice", "decimal"),
    ("InvoiceId", "string"),
    ("ListUnitPrice", "decimal"),
    ("PricingCategory", "string"),
    ("RegionId", "string"),
    ("RegionName", "string"),
    ("ResourceId", "string"),
    ("ResourceName", "string"),
    ("ResourceType", "string"),
    ("ServiceSubcategory", "string"),
    ("SkuId", "string"),
    ("SkuPriceId", "string"),
    ("SubAccountId", "string"),
    ("Tags", "string"),
    # sagecost's allocation
    ("x_Project", "string"),
    ("x_Team", "string"),
    ("x_CostCenter", "string"),
    ("x_Environment", "string"),
    ("x_Component", "string"),
    ("x_InstanceType", "string"),
    ("x_SharedPool", "string"),
    ("x_AllocatedMethodId", "string"),
    ("x_AllocatedMethodDetails", "string"),
    ("x_UnpricedQuantity", "decimal"),
    ("x_CostSource", "string"),
)

PRICING_UNITS = {"instance-hour": "Hours", "GB-month": "GB-Months"}
RESOURCE_TYPES = {
    "training-job": "Training Job",
    "processing-job": "Processing Job",
    "transform-job": "Batch Transform Job",
    "endpoint": "Endpoint",
    "notebook-instance": "Notebook Instance",
}
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-central-1": "Europe (Frankfurt)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)",
}


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def focus_rows(
    report: AllocationReport, lines: Sequence[ResourceCost], tag_keys: Mapping[str, str]
) -> list[dict[str, object]]:
    """One FOCUS row per resource line, in a stable order. `tag_keys` names the tag key of each business
    attribute (project, team, cost_center, environment) for the `Tags` column."""
    start, end = month_bounds(report.month)
    policy = report.policy
    shared = set(policy.shared_projects) | ({UNTAGGED} if policy.share_unallocated else set())
    method_details = json.dumps(
        {
            "Elements": [
                {"AllocatedRatio": float(ratio), "x_Project": project}
                for project, ratio in sorted(report.project_ratios.items())
            ]
        },
        sort_keys=True,
    )
    effective_factor = Decimal(1)
    if policy.true_up and report.totals.billed is not None and report.totals.metered:
        effective_factor = report.totals.billed / report.totals.metered
    rows: list[dict[str, object]] = []
    for line in sorted(lines, key=lambda item: (item.resource_arn, item.component, item.instance_type)):
        cost = micro(line.cost)
        priced_quantity = line.quantity - line.unpriced_quantity
        unit_price = micro(cost / priced_quantity) if priced_quantity else None
        pricing_unit = PRICING_UNITS.get(line.unit, line.unit)
        is_shared = line.project in shared and bool(report.project_ratios)
        sku = f"{line.region}/{line.component}/{line.instance_type}"
        rows.append(
            {
                "BilledCost": cost,
                "BillingAccountId": line.account,
                "BillingAccountName": None,
                "BillingCurrency": report.currency,
                "BillingPeriodEnd": _timestamp(end),
                "BillingPeriodStart": _timestamp(start),
                "ChargeCategory": "Usage",
                "ChargeClass": None,
                "ChargeDescription": f"{line.instance_type} {line.component} {pricing_unit.lower()}",
                "ChargePeriodEnd": _timestamp(end),
                "ChargePeriodStart": _timestamp(start),
                "ContractedCost": cost,
                "EffectiveCost": micro(cost * effective_factor),
                "InvoiceIssuerName": "Amazon Web Services",
                "ListCost": cost,
                "PricingQuantity": micro(line.quantity),
                "PricingUnit": pricing_unit,
                "ProviderName": "Amazon Web Services",
                "PublisherName": "Amazon Web Services",
                "ServiceCategory": "AI and Machine Learning",
                "ServiceName": "Amazon SageMaker",
                "ChargeFrequency": "Usage-Based",
                "ConsumedQuantity": micro(line.quantity),
                "ConsumedUnit": pricing_unit,
                "ContractedUnitPrice": unit_price,
                "InvoiceId": None,  # not invoiced yet: sagecost meters, AWS invoices
                "ListUnitPrice": unit_price,
                "PricingCategory": "Standard",
                "RegionId": line.region,
                "RegionName": REGION_NAMES.get(line.region),
                "ResourceId": line.resource_arn,
                "ResourceName": line.resource_name,
                "ResourceType": RESOURCE_TYPES.get(line.resource_type, line.resource_type),
                "ServiceSubcategory": "AI Platforms",
                "SkuId": sku,
                "SkuPriceId": f"{sku}/on-demand",
                "SubAccountId": line.account,
                "Tags": json.dumps(
                    {
                        tag_keys[attribute]: value
                        for attribute, value in (
                            ("project", line.project),
                            ("team", line.team),
                            ("cost_center", line.cost_center),
                            ("environment", line.environment),
                        )
                        if value != UNTAGGED and attribute in tag_keys
                    },
                    sort_keys=True,
                ),
                "x_Project": line.project,
                "x_Team": line.team,
                "x_CostCenter": line.cost_center,
                "x_Environment": line.environment,
                "x_Component": line.component,
                "x_InstanceType": line.instance_type,
                "x_SharedPool": "true" if is_shared else "false",
                "x_AllocatedMethodId": f"sagecost-{policy.split.value}" if is_shared else None,
                "x_AllocatedMethodDetails": method_details if is_shared else None,
                "x_UnpricedQuantity": micro(line.unpriced_quantity),
                "x_CostSource": "sagecost metered, on-demand list price",
            }
        )
    return rows


def focus_csv(rows: Sequence[Mapping[str, object]]) -> str:
    """The FOCUS rows as CSV; `write_csv` makes every text cell inert for spreadsheets (the `Tags` JSON
    starts `{`, and JSON writes control characters as `\\u` escapes)."""
    return write_csv([name for name, _ in FOCUS_COLUMNS], rows)
