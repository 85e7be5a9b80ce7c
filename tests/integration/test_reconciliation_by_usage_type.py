"""The month-end reconciliation per usage-type group: Cost Explorer's bill grouped by USAGE_TYPE (moto's
canned GetCostAndUsage results, every page; Stubber for the request's shape), what the ledger's resource
lines metered per group, and the report, summary and simulated bill that show it."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto.moto_api._internal.models import moto_api_backend
from tests.integration.test_cost_allocation import canned_bill, job, write
from tests.integration.test_cost_explorer_spellings import answer

from sagecost.adapters.costs import SAGEMAKER_SERVICE, BilledMonth, BilledUsageTypes, CostExplorer
from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.usage_types import UsageTypeGroup
from sagecost.local.bill import DISCOUNT, SIMULATED_RATES, UNMETERED, SimulatedBill
from sagecost.models.allocation import BilledMetric
from sagecost.models.config import SagecostConfig
from sagecost.models.ledger import UsageRecord
from sagecost.models.prices import Component, storage_type
from sagecost.services.allocation import MonthEnd, MonthEndAllocator, render_outputs

G = UsageTypeGroup


def usage_page(
    groups: dict[str, str], *, token: str | None = None, estimated: bool = False
) -> dict[str, Any]:
    """A GetCostAndUsage answer grouped by the USAGE_TYPE dimension, as Cost Explorer writes it."""
    page = answer(groups or {"": "0"}, estimated=estimated)
    page["GroupDefinitions"] = [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}]
    page["ResultsByTime"][0]["Groups"] = page["ResultsByTime"][0]["Groups"] if groups else []
    if token:
        page["NextPageToken"] = token
    return page


def endpoint_storage(cost: str, project: str) -> UsageRecord:
    """A month of an endpoint's ML storage volume that cost `cost`."""
    return job("vol", cost, project=project).model_copy(
        update={
            "record_id": "vol#storage",
            "resource_arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/vol",
            "component": Component.ML_STORAGE,
            "instance_type": storage_type(Component.HOSTING),
            "unit": "GB-month",
        }
    )


def canned(*pages: dict[str, Any]) -> None:
    """Queue moto's next answers; a page with a NextPageToken makes the next request differ, so it takes
    the next answer from the queue."""
    for page in pages:
        moto_api_backend.set_ce_cost_usage(result=page, account_id="123456789012")


@pytest.fixture
def ce(aws: None) -> Any:
    return boto3.client("ce", region_name="us-east-1")


def test_the_request_groups_sagemaker_by_usage_type_and_follows_every_page(ce: Any) -> None:
    request = {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
        "Granularity": "MONTHLY",
        "Metrics": ["AmortizedCost"],
        "Filter": {"Dimensions": {"Key": "SERVICE", "Values": [SAGEMAKER_SERVICE]}},
        "GroupBy": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    }
    amortized = usage_page({"USE1-Train:ml.m5.xlarge": "1.00"}, token="page-2")
    cost = {"AmortizedCost": {"Amount": "1.00", "Unit": "USD"}}
    amortized["ResultsByTime"][0]["Groups"][0]["Metrics"] = cost
    last = usage_page({})
    last["ResultsByTime"][0]["Groups"] = [
        {"Keys": ["Host:ml.m5.large"], "Metrics": {"AmortizedCost": {"Amount": "2.50", "Unit": "USD"}}}
    ]
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", amortized, request)
        stub.add_response("get_cost_and_usage", last, {**request, "NextPageToken": "page-2"})
        bill = CostExplorer(ce).sagemaker_usage_types("2026-10", BilledMetric.AMORTIZED)
        stub.assert_no_pending_responses()
    assert bill.by_group == {G.TRAINING: Decimal("1.00"), G.REAL_TIME_INFERENCE: Decimal("2.50")}


def test_cost_explorers_usage_types_become_groups_on_every_page(ce: Any) -> None:
    # Given two pages; a usage type on both; one unknown usage type; the month still estimated
    canned(
        usage_page(
            {
                "USE1-Train:ml.m5.xlarge": "40.1234567",
                "Train:ml.m5.large": "2.00",
                "USE1-Train:VolumeUsage.gp2": "0.30",
                "USE1-Host:Data-Bytes-In": "0.05",
            },
            token="next",
        ),
        usage_page(
            {"USE1-Train:ml.m5.xlarge": "1.00", "USE1-GroundTruth:LabeledObject": "3.00"}, estimated=True
        ),
    )

    bill = CostExplorer(ce).sagemaker_usage_types("2026-10", BilledMetric.UNBLENDED)

    assert bill.by_usage_type["USE1-Train:ml.m5.xlarge"] == Decimal("41.1234567")
    assert bill.by_group == {
        G.TRAINING: Decimal("43.1234567"),
        G.ML_STORAGE: Decimal("0.30"),
        G.DATA: Decimal("0.05"),
        G.OTHER: Decimal("3.00"),  # unknown: kept, never dropped
    }
    assert bill.usage_types[G.TRAINING] == ("Train:ml.m5.large", "USE1-Train:ml.m5.xlarge")
    assert bill.total == Decimal("46.4734567")
    assert bill.estimated


def test_the_month_end_reconciles_each_group_and_the_outputs_show_the_metered_share(
    ledger: DynamoLedger,
) -> None:
    # Given October metered 90.00 of training, 5.00 of endpoint storage and an unpriced notebook
    storage = endpoint_storage("5.00", "B")
    notebook = job("nb", "0", project="B").model_copy(
        update={
            "record_id": "nb#compute",
            "resource_arn": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb",
            "component": Component.NOTEBOOK,
            "instance_type": "ml.t3.medium",
            "quantity": Decimal(3),
            "unit_price": None,
            "price_source": None,
            "cost": None,
        }
    )
    write(ledger, job("a", "60.00", project="A"), job("b", "30.00", project="B"), storage, notebook)
    # and the bill: by project tag, then by usage type (the order the allocator asks)
    canned_bill({"Project$A": "53.00", "Project$B": "32.40", "Project$": "6.40"})
    canned(
        usage_page(
            {
                "USE1-Train:ml.m5.xlarge": "79.20",
                "USE1-Host:VolumeUsage.gp2": "5.00",
                "USE1-Notebk:ml.t3.medium": "1.20",
                "USE1-ServerlessInf:Mem-4GB": "4.80",
                "USE1-Host:Data-Bytes-In": "1.60",
            }
        )
    )
    allocator = MonthEndAllocator(ledger, SagecostConfig(), CostExplorer(boto3.client("ce", "us-east-1")))

    month_end = allocator.run("2026-10")

    rec = month_end.report.reconciliation
    assert rec is not None
    rows = {row.group: row for row in rec.by_group}
    assert {g: (r.metered, r.billed) for g, r in rows.items()} == {
        G.TRAINING: (Decimal("90.00"), Decimal("79.20")),
        G.SERVERLESS_INFERENCE: (Decimal("0.00"), Decimal("4.80")),
        G.NOTEBOOK_INSTANCES: (Decimal("0.00"), Decimal("1.20")),
        G.ML_STORAGE: (Decimal("5.00"), Decimal("5.00")),
        G.DATA: (Decimal("0.00"), Decimal("1.60")),
    }
    assert rows[G.NOTEBOOK_INSTANCES].unpriced_records == 1
    assert rows[G.ML_STORAGE].metered_share_pct == Decimal("100.00")
    assert (rec.group_metered, rec.group_billed) == (Decimal("95.00"), Decimal("91.80"))
    assert rec.group_billed == rec.billed  # the two questions agree, so no note about them
    assert rec.metered_share_pct == Decimal("103.49")
    assert not [note for note in month_end.report.notes if "usage type" in note]

    files = render_outputs(month_end, {"project": "Project"})
    html = files["report.html"].decode()
    assert "<h3>By usage type</h3>" in html and "<script" not in html
    assert "<td>Serverless inference</td>" not in html  # the group cell carries its usage types
    assert 'title="USE1-ServerlessInf:Mem-4GB">Serverless inference</td>' in html
    total_row = re.search(r'By usage type.*?<tr class="total">(.*?)</tr>', html, re.S)
    assert total_row is not None and "$95.00" in total_row[1] and "$91.80" in total_row[1]
    summary = files["summary.txt"].decode()
    assert "Metered share of the bill by usage type: 103.49 %" in summary
    assert re.search(r"Serverless inference +\$0\.00 +\$4\.80 +0\.00 %", summary)
    assert re.search(r"Notebook instances .*\(1 unpriced records\)", summary)
    assert re.search(r"Total +\$95\.00 +\$91\.80 +103\.49 %", summary)


class _UsageTypesDenied:
    """Cost Explorer that answers by tag but refuses the question by usage type."""

    def sagemaker_month(self, month: str, tag_key: str, metric: BilledMetric) -> BilledMonth:
        return BilledMonth(total=Decimal("60.00"), by_tag_value={"A": Decimal("60.00")}, estimated=False)

    def sagemaker_usage_types(self, month: str, metric: BilledMetric) -> BilledUsageTypes:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetCostAndUsage")


def test_without_the_usage_type_view_the_projects_still_reconcile_and_a_note_says_why(
    ledger: DynamoLedger,
) -> None:
    write(ledger, job("a", "60.00", project="A"))

    report = MonthEndAllocator(ledger, SagecostConfig(), _UsageTypesDenied()).run("2026-10").report

    assert report.reconciliation is not None
    assert report.reconciliation.billed == Decimal("60.00")
    assert report.reconciliation.by_group == ()
    assert report.reconciliation.group_billed is None
    assert any("not reconciled per usage type" in note for note in report.notes)
    files = render_outputs(MonthEnd(report=report, lines=()), {})
    assert "By usage type" not in files["report.html"].decode()


def test_the_simulated_bill_bills_the_usage_at_the_accounts_rates_the_same_total_both_ways(
    ledger: DynamoLedger,
) -> None:
    # Given 0.333333 instance-hours of ml.m5.xlarge training in each of three projects (metered at a test
    # price of $1/h) and 1.004999 GB-months of endpoint storage
    thirds = [job(f"t{i}", "0.333333", project=p) for i, p in enumerate(["A", "B", "C"])]
    storage = endpoint_storage("1.004999", "A")
    write(ledger, *thirds, storage)
    bill = SimulatedBill(ledger)

    by_project = bill.sagemaker_month("2026-10", "Project", BilledMetric.UNBLENDED)
    by_usage_type = bill.sagemaker_usage_types("2026-10", BilledMetric.UNBLENDED)

    # the account's invoice rates, not sagecost's: training 0.23/h less the discount, storage 0.112/GB-month
    assert SIMULATED_RATES[("us-east-1", Component.TRAINING, "ml.m5.xlarge")] == Decimal("0.23")
    assert by_project.by_tag_value == {
        "A": Decimal("0.18"),  # 0.333333 x 0.23 x 0.88 = 0.0674666 + 1.004999 x 0.112 = 0.1125599
        "B": Decimal("0.07"),
        "C": Decimal("0.07"),
        "(untagged)": UNMETERED,  # data processed: 1.60
    }
    assert by_usage_type.total == by_project.total == Decimal("1.92")
    # 0.999999 x 0.23 x 0.88 = 0.2024, storage 0.1126, data 1.60: 1.9150 spread over the 192 cents billed
    # by project (largest remainder: training's 20.29 cents takes the cent left over)
    assert by_usage_type.by_usage_type["USE1-Train:ml.m5.xlarge"] == Decimal("0.21")
    assert by_usage_type.by_group[G.TRAINING] == Decimal("0.21")
    assert by_usage_type.by_group[G.ML_STORAGE] == Decimal("0.11")
    assert by_usage_type.by_group[G.DATA] == UNMETERED
    assert Decimal("0.88") == (1 - DISCOUNT)
    assert set(by_usage_type.by_usage_type) >= {"USE1-Host:Data-Bytes-In", "USE1-Host:VolumeUsage.gp2"}
