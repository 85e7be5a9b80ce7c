"""Cost Explorer reconciliation reads the project in every spelling the tag policy accepts, counting no cost
twice: spelling k_i is grouped over the usage where k_0..k_{i-1} are ABSENT, values merge as the policy spells
them, and what has none of the keys is untagged. Request and response shapes are the botocore model's
(Stubber validates every request against it); moto's canned results show it end to end."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.integration.test_cost_allocation import canned_bill, job, write

from sagecost.adapters.costs import SAGEMAKER_SERVICE, CostExplorer
from sagecost.adapters.ledger import DynamoLedger
from sagecost.models.allocation import BilledMetric
from sagecost.models.config import KeyRule, SagecostConfig, TagPolicy
from sagecost.models.ledger import UNTAGGED
from sagecost.services.allocation import MonthEndAllocator

ACCOUNT = "123456789012"
PROJECT = KeyRule(key="Project", aliases=("proj",), case="lower")
PERIOD = {"Start": "2026-10-01", "End": "2026-11-01"}
SERVICE = {"Dimensions": {"Key": "SERVICE", "Values": [SAGEMAKER_SERVICE]}}


def absent(*keys: str) -> list[dict[str, Any]]:
    return [{"Tags": {"Key": key, "MatchOptions": ["ABSENT"]}} for key in keys]


def request(key: str, where: dict[str, Any]) -> dict[str, Any]:
    return {
        "TimePeriod": PERIOD,
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "Filter": where,
        "GroupBy": [{"Type": "TAG", "Key": key}],
    }


def answer(groups: dict[str, str], *, estimated: bool = False) -> dict[str, Any]:
    """A GetCostAndUsage response as Cost Explorer writes it: `Key$value` groups, `Key$` for no value."""
    return {
        "GroupDefinitions": [{"Type": "TAG", "Key": next(iter(groups)).split("$")[0]}],
        "ResultsByTime": [
            {
                "TimePeriod": PERIOD,
                "Total": {},
                "Groups": [
                    {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                    for key, amount in groups.items()
                ],
                "Estimated": estimated,
            }
        ],
        "DimensionValueAttributes": [],
    }


@pytest.fixture
def ce() -> Any:
    return boto3.client("ce", region_name="us-east-1")


def test_each_spelling_is_asked_over_what_the_earlier_ones_lack_and_values_merge_by_the_policy(
    ce: Any,
) -> None:
    # Given GetTags finds a lower-case `project` key besides the policy's `Project` and alias `proj`
    with Stubber(ce) as stub:
        stub.add_response(
            "get_tags",
            {"Tags": ["Owner", "Project", "proj", "project"], "ReturnSize": 4, "TotalSize": 4},
            {"TimePeriod": PERIOD, "Filter": SERVICE},
        )
        stub.add_response(
            "get_cost_and_usage",
            answer({"Project$Fraud-Detection": "100.00", "Project$recs": "50.00", "Project$": "80.00"}),
            request("Project", SERVICE),
        )
        stub.add_response(
            "get_cost_and_usage",
            answer({"project$fraud-detection": "30.00", "project$": "50.00"}, estimated=True),
            request("project", {"And": [SERVICE, *absent("Project")]}),
        )
        stub.add_response(
            "get_cost_and_usage",
            answer({"proj$FRAUD-DETECTION": "20.00", "proj$": "30.00"}),
            request("proj", {"And": [SERVICE, *absent("Project", "project")]}),
        )

        # When October is read
        bill = CostExplorer(ce, PROJECT, discover_spellings=True).sagemaker_month(
            "2026-10", "Project", BilledMetric.UNBLENDED
        )

        stub.assert_no_pending_responses()
    # Then every spelling of one project is one project, and only what none of them names is untagged
    assert bill.tag_keys == ("Project", "project", "proj")
    assert bill.by_tag_value == {
        "fraud-detection": Decimal("150.00"),
        "recs": Decimal("50.00"),
        UNTAGGED: Decimal("30.00"),
    }
    assert bill.total == Decimal("230.00")  # = 100 + 50 + 80: nothing counted twice
    assert bill.estimated


def test_without_get_tags_permission_the_policys_own_spellings_still_reconcile(ce: Any) -> None:
    with Stubber(ce) as stub:
        stub.add_client_error("get_tags", "AccessDeniedException", "not authorized to perform: ce:GetTags")
        stub.add_response("get_cost_and_usage", answer({"Project$a": "5.00"}), request("Project", SERVICE))
        stub.add_response(
            "get_cost_and_usage",
            answer({"proj$A": "1.00", "proj$": "2.00"}),
            request("proj", {"And": [SERVICE, *absent("Project")]}),
        )
        bill = CostExplorer(ce, PROJECT, discover_spellings=True).sagemaker_month(
            "2026-10", "Project", BilledMetric.UNBLENDED
        )
    assert bill.by_tag_value == {"a": Decimal("6.00"), UNTAGGED: Decimal("2.00")}


def test_without_a_policy_it_is_the_one_request_it_always_was(ce: Any) -> None:
    with Stubber(ce) as stub:
        stub.add_response(
            "get_cost_and_usage", answer({"Team$Risk": "5.00", "Team$": "1.00"}), request("Team", SERVICE)
        )
        bill = CostExplorer(ce).sagemaker_month("2026-10", "Team", BilledMetric.UNBLENDED)
    assert bill.by_tag_value == {"Risk": Decimal("5.00"), UNTAGGED: Decimal("1.00")}
    assert bill.tag_keys == ("Team",)


def test_the_allocation_reconciles_alias_spend_with_its_project_not_with_untagged(
    ledger: DynamoLedger,
) -> None:
    # Given 90.00 metered for fraud-detection, billed 60.00 under Project and 30.00 under the alias proj
    write(ledger, job("a", "60.00", project="fraud-detection"), job("b", "30.00", project="fraud-detection"))
    canned_bill({"Project$Fraud-Detection": "60.00", "Project$": "35.00"})
    canned_bill({"proj$fraud-detection": "30.00", "proj$": "5.00"})
    config = SagecostConfig(tags=TagPolicy(project=PROJECT))
    allocator = MonthEndAllocator(
        ledger, config, CostExplorer(boto3.client("ce", region_name="us-east-1"), config.tags.project)
    )

    reconciliation = allocator.run("2026-10").report.reconciliation

    assert reconciliation is not None
    variances = {v.project: (v.metered, v.billed) for v in reconciliation.projects}
    assert variances["fraud-detection"] == (Decimal("90.00"), Decimal("90.00"))
    assert variances[UNTAGGED] == (Decimal("0.00"), Decimal("5.00"))
    assert reconciliation.billed == Decimal("95.00")
