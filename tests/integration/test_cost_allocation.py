"""The cost allocator on moto: aggregates in the ledger, Cost Explorer's canned results, S3 and SNS."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.moto_api._internal.models import moto_api_backend
from tests.conftest import topic_with_inbox

from cost_allocator.handler import SETTINGS, lambda_handler
from sagecost import clock, wiring
from sagecost.adapters.costs import CostExplorer
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.notifier import SnsNotifier
from sagecost.adapters.reports import S3Reports
from sagecost.domain.aggregates import aggregate_deltas
from sagecost.models.allocation import AllocationPolicy
from sagecost.models.config import SagecostConfig
from sagecost.models.ledger import ResourceKind, TagSnapshot, UsageRecord
from sagecost.models.prices import Component
from sagecost.wiring import MonthEndOutputs

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
BUCKET = "sagecost-reports-test"
OCTOBER = datetime(2026, 10, 5, tzinfo=UTC)


def job(
    name: str, cost: str, *, project: str | None, team: str = "ml", at: datetime = OCTOBER
) -> UsageRecord:
    """A finished training job that cost `cost` (one instance-hour per dollar, so the arithmetic shows)."""
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{name}"
    return UsageRecord(
        record_id=f"{arn}#compute",
        resource_arn=arn,
        resource_kind=ResourceKind.TRAINING_JOB,
        resource_name=name,
        region="us-east-1",
        account=ACCOUNT,
        component=Component.TRAINING,
        line="compute",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        start=at,
        end=at + timedelta(hours=1),
        month=f"{at.year:04d}-{at.month:02d}",
        quantity=Decimal(cost),
        unit="instance-hour",
        unit_price=Decimal(1),
        price_source="test",
        cost=Decimal(cost),
        tags=TagSnapshot(project=project, team=team, cost_center="cc-1", environment="dev"),
        event_ids=(f"event-{name}",),
    )


def write(ledger: DynamoLedger, *records: UsageRecord) -> None:
    for record in records:
        assert ledger.put_job_records([record], aggregate_deltas([record]))


def canned_bill(groups: dict[str, str], *, estimated: bool = False) -> None:
    """What Cost Explorer answers next (moto's documented mechanism for GetCostAndUsage results)."""
    moto_api_backend.set_ce_cost_usage(
        result={
            "ResultsByTime": [
                {
                    "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
                    "Total": {},
                    "Groups": [
                        {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                        for key, amount in groups.items()
                    ],
                    "Estimated": estimated,
                }
            ],
            "DimensionValueAttributes": [],
        },
        account_id=ACCOUNT,
    )


@dataclass
class Deployment:
    ledger: DynamoLedger
    s3: Any
    sqs: Any
    queue_url: str

    def file(self, name: str, month: str = "2026-10") -> str:
        body = self.s3.get_object(Bucket=BUCKET, Key=f"allocations/{month}/{name}")["Body"].read()
        return str(body.decode())

    def summaries(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)["Messages"]
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def deployed(ledger: DynamoLedger) -> Iterator[Deployment]:
    """The allocator as template.yaml wires it, with a queue subscribed to the reports topic to read it."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic, queue_url = topic_with_inbox("sagecost-reports")
    config = SagecostConfig(allocation=AllocationPolicy(shared_projects=("platform",)))
    wiring.use(
        wiring.LocalAdapters(
            ledger=ledger,
            config_value=config,
            billed_costs_value=CostExplorer(boto3.client("ce", region_name="us-east-1")),
            outputs_value=MonthEndOutputs(S3Reports(s3, BUCKET), SnsNotifier(sns, topic)),
        )
    )
    with clock.fixed_at(datetime(2026, 11, 1, 0, 30, tzinfo=UTC)):
        yield Deployment(ledger, s3, sqs, queue_url)


def issue_month(ledger: DynamoLedger) -> None:
    write(
        ledger,
        job("a-1", "400.00", project="A"),
        job("a-2", "200.00", project="A"),
        job("b-1", "300.00", project="B"),
        job("c-1", "100.00", project="C"),
        job("platform-1", "90.00", project="platform", team="platform"),
        job("november", "55.00", project="A", at=datetime(2026, 11, 2, tzinfo=UTC)),
    )


def test_the_schedule_allocates_the_month_just_closed_reconciles_it_and_delivers_every_output(
    deployed: Deployment, lambda_context: Any
) -> None:
    issue_month(deployed.ledger)
    canned_bill(
        {
            "Project$A": "590.00",
            "Project$B": "300.00",
            "Project$C": "100.00",
            "Project$platform": "90.00",
            "Project$": "12.50",
        }
    )

    result = lambda_handler({}, lambda_context)  # EventBridge Scheduler's input is "{}"

    assert result["month"] == "2026-10"
    assert (result["metered"], result["billed"]) == ("1090.00", "1092.50")
    report = json.loads(deployed.file("allocation.json"))
    assert {row["project"]: row["total"] for row in report["rows"]} == {
        "A": "654.00",
        "B": "327.00",
        "C": "109.00",
    }
    assert report["totals"]["variance"] == "-2.50"
    variances = {
        v["project"]: (v["metered"], v["billed"], v["variance"]) for v in report["reconciliation"]["projects"]
    }
    assert variances["A"] == ("600.00", "590.00", "10.00")
    assert variances["(untagged)"] == ("0.00", "12.50", "-12.50")  # billed usage sagecost never saw
    a_row = next(row for row in report["rows"] if row["project"] == "A")
    assert a_row["shared_from"] == [{"source": "platform", "amount": "54.00"}]

    rows = list(csv.DictReader(io.StringIO(deployed.file("allocation.csv"))))
    assert sum(Decimal(row["total"]) for row in rows) == Decimal("1090.00")
    focus = list(csv.DictReader(io.StringIO(deployed.file("focus.csv"))))
    assert len(focus) == 5  # one row per resource line of October
    assert sum(Decimal(row["BilledCost"]) for row in focus) == Decimal("1090")
    platform = next(row for row in focus if row["x_Project"] == "platform")
    details = json.loads(platform["x_AllocatedMethodDetails"])
    assert sum(Decimal(str(e["AllocatedRatio"])) for e in details["Elements"]) == 1
    assert "<svg" in deployed.file("report.html")

    (summary,) = deployed.summaries()
    assert summary["Subject"] == "sagecost chargeback 2026-10: $1,090.00 metered"
    assert "A                       ml" in summary["Message"]
    assert f"s3://{BUCKET}/allocations/2026-10/" in summary["Message"]
    assert summary["MessageAttributes"]["kind"]["Value"] == "allocation"
    assert summary["MessageAttributes"]["month"]["Value"] == "2026-10"


def test_true_up_spreads_the_billed_total_so_the_discount_reaches_every_row(
    deployed: Deployment, lambda_context: Any
) -> None:
    issue_month(deployed.ledger)
    canned_bill(
        {"Project$A": "540.00", "Project$B": "270.00", "Project$C": "90.00", "Project$platform": "81.00"}
    )

    lambda_handler({"month": "2026-10", "true_up": True}, lambda_context)

    report = json.loads(deployed.file("allocation.json"))
    assert {row["project"]: row["billed"] for row in report["rows"]} == {
        "A": "588.60",
        "B": "294.30",
        "C": "98.10",
    }
    focus = list(csv.DictReader(io.StringIO(deployed.file("focus.csv"))))
    assert sum(Decimal(row["EffectiveCost"]) for row in focus) == Decimal("981.00")


def test_a_rerun_overwrites_the_month_with_the_same_content_but_the_run_time(
    deployed: Deployment, lambda_context: Any
) -> None:
    issue_month(deployed.ledger)
    canned_bill({"Project$A": "600.00"})
    lambda_handler({"month": "2026-10"}, lambda_context)
    first = {
        name: deployed.file(name)
        for name in ("allocation.json", "allocation.csv", "focus.csv", "report.html")
    }

    with clock.fixed_at(datetime(2026, 11, 3, 9, 0, tzinfo=UTC)):
        lambda_handler({"month": "2026-10"}, lambda_context)
    second = {name: deployed.file(name) for name in first}

    assert second["allocation.csv"] == first["allocation.csv"]
    assert second["focus.csv"] == first["focus.csv"]
    assert json.loads(second["allocation.json"]) | {"generated_at": None} == json.loads(
        first["allocation.json"]
    ) | {"generated_at": None}
    assert second["report.html"].replace("2026-11-03 09:00", "T") == first["report.html"].replace(
        "2026-11-01 00:30", "T"
    )
    assert second["allocation.json"] != first["allocation.json"]  # the run timestamp did change


def test_tag_values_cannot_become_formulas_or_markup(deployed: Deployment, lambda_context: Any) -> None:
    write(
        deployed.ledger,
        job("evil-1", "10.00", project='=HYPERLINK("http://x")', team="@SUM(A1)"),
        job("evil-2", "5.00", project="<script>alert(1)</script>"),
    )
    lambda_handler({"month": "2026-10"}, lambda_context)

    rows = list(csv.DictReader(io.StringIO(deployed.file("allocation.csv"))))
    assert {row["project"] for row in rows} == {'\'=HYPERLINK("http://x")', "<script>alert(1)</script>"}
    assert {row["team"] for row in rows} == {"'@SUM(A1)", "ml"}
    html = deployed.file("report.html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_without_cost_explorer_the_month_still_goes_out_and_says_it_is_not_reconciled(
    deployed: Deployment, lambda_context: Any
) -> None:
    issue_month(deployed.ledger)

    class Denied:
        def sagemaker_month(self, *args: object) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetCostAndUsage"
            )

        sagemaker_usage_types = sagemaker_month

    adapters = wiring.adapters(SETTINGS)
    assert isinstance(adapters, wiring.LocalAdapters)
    wiring.use(replace(adapters, billed_costs_value=Denied(), config_value=SagecostConfig()))
    result = lambda_handler({"month": "2026-10"}, lambda_context)

    assert result["billed"] is None
    report = json.loads(deployed.file("allocation.json"))
    assert report["reconciliation"] is None
    assert "AccessDeniedException" in report["notes"][0]
    assert "not reconciled" in deployed.summaries()[0]["Message"]


@pytest.mark.parametrize("month", ["2026-13", "October", "2026-1"])
def test_an_invalid_month_is_refused_with_the_reason(
    deployed: Deployment, lambda_context: Any, month: str
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="month"):
        lambda_handler({"month": month}, lambda_context)


@pytest.mark.parametrize(
    "sample", sorted((ROOT / "events" / "cost_allocator").glob("*.json")), ids=lambda p: p.stem
)
def test_every_sample_event_runs_the_allocator(
    deployed: Deployment, lambda_context: Any, sample: Path
) -> None:
    issue_month(deployed.ledger)
    canned_bill({"Project$A": "600.00"})
    result = lambda_handler(json.loads(sample.read_text(encoding="utf-8")), lambda_context)
    assert result["month"] == "2026-10"
    assert result["location"] == f"s3://{BUCKET}/allocations/2026-10/"
