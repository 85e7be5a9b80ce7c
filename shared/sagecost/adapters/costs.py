"""Cost Explorer: what the bill says SageMaker cost in a month, per value of the project tag.

Cost Explorer groups by one tag key, spelled exactly (keys are case-sensitive), while the tag policy reads a
project from its key or any alias, in any case and with any separators. So the month is asked once per
spelling, in the policy's order: spelling k_i is grouped only over the usage on which every earlier spelling
k_0..k_{i-1} is ABSENT, so no cost is counted twice; values merge as the policy spells them (`case`), and what
is absent under every spelling is untagged. With one spelling this is the single request it always was.

The same month is also read grouped by the `USAGE_TYPE` dimension (`sagemaker_usage_types`), so the
reconciliation can say how much of each kind of charge (training, hosting, storage, data...) sagecost
meters; `domain.usage_types` sorts the usage types into groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from sagecost.domain.periods import month_bounds
from sagecost.domain.tags import normalise_key
from sagecost.domain.usage_types import UsageTypeGroup, group_of_usage_type
from sagecost.models.allocation import BilledMetric
from sagecost.models.config import KeyRule
from sagecost.models.ledger import UNTAGGED

if TYPE_CHECKING:
    from mypy_boto3_ce import CostExplorerClient

SAGEMAKER_SERVICE = "Amazon SageMaker"
"""The SERVICE dimension value Cost Explorer uses for SageMaker (training, hosting, notebooks, Studio)."""

_SAGEMAKER: dict[str, Any] = {"Dimensions": {"Key": "SERVICE", "Values": [SAGEMAKER_SERVICE]}}


@dataclass(frozen=True)
class BilledMonth:
    total: Decimal
    by_tag_value: dict[str, Decimal]
    estimated: bool
    source: str = "Cost Explorer"
    tag_keys: tuple[str, ...] = field(default=())
    """The tag key spellings the bill was grouped by, in order (empty: not said)."""


@dataclass(frozen=True)
class BilledUsageTypes:
    """A month's SageMaker bill per usage type (`USE1-Train:ml.m5.xlarge`: amount), and by group."""

    by_usage_type: dict[str, Decimal]
    estimated: bool
    source: str = "Cost Explorer"

    @property
    def total(self) -> Decimal:
        return sum(self.by_usage_type.values(), Decimal(0))

    @property
    def by_group(self) -> dict[UsageTypeGroup, Decimal]:
        groups: dict[UsageTypeGroup, Decimal] = {}
        for usage_type, amount in self.by_usage_type.items():
            group = group_of_usage_type(usage_type)
            groups[group] = groups.get(group, Decimal(0)) + amount
        return groups

    @property
    def usage_types(self) -> dict[UsageTypeGroup, tuple[str, ...]]:
        """The usage types of each group, sorted."""
        spelled: dict[UsageTypeGroup, list[str]] = {}
        for usage_type in sorted(self.by_usage_type):
            spelled.setdefault(group_of_usage_type(usage_type), []).append(usage_type)
        return {group: tuple(names) for group, names in spelled.items()}


class BilledCosts(Protocol):
    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth: ...

    def sagemaker_usage_types(self, month: str, metric: BilledMetric) -> BilledUsageTypes: ...


@dataclass
class _Grouped:
    """One GetCostAndUsage question, all pages: cost per tag value, and what had no value for the key."""

    by_value: dict[str, Decimal] = field(default_factory=dict)
    remainder: Decimal = Decimal(0)
    estimated: bool = False


class CostExplorer:
    """GetCostAndUsage for one month of SageMaker, grouped by the project tag in every spelling.

    `project`: the tag policy's project rule. With it, the bill is grouped by its key and each alias, and
    values merge by the rule's `case`; without it, by the one key the caller names, values as billed.
    `discover_spellings`: also ask GetTags (one request) which keys the month's SageMaker cost carries, and
    add those that the policy's matching would read as the project (`project`, `PROJECT`, `Project_`...).
    """

    def __init__(
        self, client: CostExplorerClient, project: KeyRule | None = None, *, discover_spellings: bool = False
    ) -> None:
        self.client = client
        self.project = project
        self.discover_spellings = discover_spellings

    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth:
        start, end = month_bounds(month)
        period = {"Start": _day(start.date()), "End": _day(end.date())}
        keys = self.tag_keys(tag_key, period)
        by_value: dict[str, Decimal] = {}
        estimated = False
        untagged = Decimal(0)
        for index, key in enumerate(keys):
            absent = [{"Tags": {"Key": earlier, "MatchOptions": ["ABSENT"]}} for earlier in keys[:index]]
            grouped = self._grouped(
                period, metric, {"And": [_SAGEMAKER, *absent]} if absent else _SAGEMAKER, key
            )
            estimated = estimated or grouped.estimated
            for value, amount in grouped.by_value.items():
                spelled = self.project.normalise(value) if self.project is not None else value
                by_value[spelled] = by_value.get(spelled, Decimal(0)) + amount
            untagged = grouped.remainder  # what the last spelling did not name is untagged under all
        if untagged:
            by_value[UNTAGGED] = by_value.get(UNTAGGED, Decimal(0)) + untagged
        return BilledMonth(
            total=sum(by_value.values(), Decimal(0)),
            by_tag_value=by_value,
            estimated=estimated,
            tag_keys=tuple(keys),
        )

    def sagemaker_usage_types(self, month: str, metric: BilledMetric) -> BilledUsageTypes:
        """GetCostAndUsage for the month's SageMaker cost grouped by `USAGE_TYPE`, every page. A usage type
        seen on several pages (or results) adds up; an answer without groups is read from its total, as
        an unnamed usage type (so Other), never dropped."""
        start, end = month_bounds(month)
        request: dict[str, Any] = {
            "TimePeriod": {"Start": _day(start.date()), "End": _day(end.date())},
            "Granularity": "MONTHLY",
            "Metrics": [metric.value],
            "Filter": _SAGEMAKER,
            "GroupBy": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        }
        by_usage_type: dict[str, Decimal] = {}
        estimated = False
        while True:
            page = self.client.get_cost_and_usage(**request)
            for result in page.get("ResultsByTime", []):
                estimated = estimated or bool(result.get("Estimated"))
                groups = result.get("Groups", [])
                for group in groups:
                    usage_type = group["Keys"][0]
                    amount = Decimal(group["Metrics"][metric.value]["Amount"])
                    by_usage_type[usage_type] = by_usage_type.get(usage_type, Decimal(0)) + amount
                if not groups and metric.value in result.get("Total", {}):
                    amount = Decimal(result["Total"][metric.value]["Amount"])
                    if amount:
                        by_usage_type[""] = by_usage_type.get("", Decimal(0)) + amount
            token = page.get("NextPageToken")
            if not token:
                return BilledUsageTypes(by_usage_type=by_usage_type, estimated=estimated)
            request["NextPageToken"] = token

    def tag_keys(self, tag_key: str, period: dict[str, str]) -> list[str]:
        """The spellings to group by, in the policy's order: `tag_key` and, when it is the policy's project
        key, the aliases, each followed by the discovered keys that fold to it."""
        rule = self.project
        spellings = [tag_key]
        if rule is not None and normalise_key(tag_key) in {
            normalise_key(k) for k in (rule.key, *rule.aliases)
        }:
            spellings += [rule.key, *rule.aliases]
        spellings = list(dict.fromkeys(spellings))
        if rule is None or not self.discover_spellings:
            return spellings
        seen = self._billed_keys(period)
        ordered: list[str] = []
        for spelling in spellings:
            folded = normalise_key(spelling)
            ordered += [spelling, *sorted(k for k in seen if normalise_key(k) == folded and k != spelling)]
        return list(dict.fromkeys(ordered))

    def _billed_keys(self, period: dict[str, str]) -> list[str]:
        """GetTags: the tag keys in the month's SageMaker cost data; none if Cost Explorer refuses."""
        request: dict[str, Any] = {"TimePeriod": period, "Filter": _SAGEMAKER}
        keys: list[str] = []
        try:
            while True:
                page = self.client.get_tags(**request)
                keys += page.get("Tags", [])
                token = page.get("NextPageToken")
                if not token:
                    return keys
                request["NextPageToken"] = token
        except ClientError:
            return []  # e.g. no ce:GetTags permission: the policy's own spellings still reconcile

    def _grouped(
        self, period: dict[str, str], metric: BilledMetric, where: dict[str, Any], tag_key: str
    ) -> _Grouped:
        request: dict[str, Any] = {
            "TimePeriod": period,
            "Granularity": "MONTHLY",
            "Metrics": [metric.value],
            "Filter": where,
            "GroupBy": [{"Type": "TAG", "Key": tag_key}],
        }
        result = _Grouped()
        while True:
            page = self.client.get_cost_and_usage(**request)
            for month in page.get("ResultsByTime", []):
                result.estimated = result.estimated or bool(month.get("Estimated"))
                groups = month.get("Groups", [])
                for group in groups:
                    value = _tag_value(group["Keys"][0], tag_key)
                    amount = Decimal(group["Metrics"][metric.value]["Amount"])
                    if value == UNTAGGED:
                        result.remainder += amount
                    else:
                        result.by_value[value] = result.by_value.get(value, Decimal(0)) + amount
                if not groups and metric.value in month.get("Total", {}):
                    result.remainder += Decimal(month["Total"][metric.value]["Amount"])
            token = page.get("NextPageToken")
            if not token:
                return result
            request["NextPageToken"] = token


def _tag_value(key: str, tag_key: str) -> str:
    """Cost Explorer names a tag group `Key$value`; `Key$` is the usage without the tag."""
    value = key.removeprefix(f"{tag_key}$") if key.startswith(f"{tag_key}$") else key.partition("$")[2]
    return value.strip() or UNTAGGED


def _day(day: date) -> str:
    return day.isoformat()
