"""Cost Explorer: what the bill says SageMaker cost in a month, per value of the project tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sagecost.domain.periods import month_bounds
from sagecost.models.allocation import BilledMetric
from sagecost.models.ledger import UNTAGGED

if TYPE_CHECKING:
    from mypy_boto3_ce import CostExplorerClient

SAGEMAKER_SERVICE = "Amazon SageMaker"
"""The SERVICE dimension value Cost Explorer uses for SageMaker (training, hosting, notebooks, Studio)."""


@dataclass(frozen=True)
class BilledMonth:
    total: Decimal
    by_tag_value: dict[str, Decimal]
    estimated: bool
    source: str = "Cost Explorer"


class BilledCosts(Protocol):
    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth: ...


class CostExplorer:
    """GetCostAndUsage for one month of SageMaker, grouped by a tag: one request per page (usually one)."""

    def __init__(self, client: CostExplorerClient) -> None:
        self.client = client

    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth:
        start, end = month_bounds(month)
        request: dict[str, Any] = {
            "TimePeriod": {"Start": _day(start.date()), "End": _day(end.date())},
            "Granularity": "MONTHLY",
            "Metrics": [metric.value],
            "Filter": {"Dimensions": {"Key": "SERVICE", "Values": [SAGEMAKER_SERVICE]}},
            "GroupBy": [{"Type": "TAG", "Key": tag_key}],
        }
        by_value: dict[str, Decimal] = {}
        ungrouped = Decimal(0)
        estimated = False
        while True:
            page = self.client.get_cost_and_usage(**request)
            for period in page.get("ResultsByTime", []):
                estimated = estimated or bool(period.get("Estimated"))
                groups = period.get("Groups", [])
                for group in groups:
                    value = _tag_value(group["Keys"][0], tag_key)
                    amount = Decimal(group["Metrics"][metric.value]["Amount"])
                    by_value[value] = by_value.get(value, Decimal(0)) + amount
                if not groups and metric.value in period.get("Total", {}):
                    ungrouped += Decimal(period["Total"][metric.value]["Amount"])
            token = page.get("NextPageToken")
            if not token:
                break
            request["NextPageToken"] = token
        if ungrouped:
            by_value[UNTAGGED] = by_value.get(UNTAGGED, Decimal(0)) + ungrouped
        return BilledMonth(
            total=sum(by_value.values(), Decimal(0)), by_tag_value=by_value, estimated=estimated
        )


def _tag_value(key: str, tag_key: str) -> str:
    """Cost Explorer names a tag group `Key$value`; `Key$` is the usage without the tag."""
    value = key.removeprefix(f"{tag_key}$") if key.startswith(f"{tag_key}$") else key.partition("$")[2]
    return value or UNTAGGED


def _day(day: date) -> str:
    return day.isoformat()
