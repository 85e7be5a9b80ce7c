"""Tag values follow their key's rule wherever usage is attributed: `Fraud-Detection` and `fraud-detection`
are one project under `case: lower`, in records, aggregates, a budget's spend and the month's allocation.
The resources' own tags are never rewritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.models.allocation import AllocationPolicy
from sagecost.models.budgets import Budget, BudgetPolicy
from sagecost.models.config import KeyRule, SagecostConfig, TagPolicy
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension
from sagecost.services.allocation import MonthEndAllocator
from sagecost.services.usage import Outcome, UsageMeter

T0 = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = TagPolicy(
    project=KeyRule(key="Project", aliases=("proj",), case="lower"),
    team=KeyRule(key="Team", case="lower"),
)
CONFIG = SagecostConfig(
    tags=POLICY,
    # the budget and the allocation settings as a person may write them: in any case
    budgets=BudgetPolicy(limits=(Budget(project="FRAUD-Detection", monthly=Decimal(100)),)),
    allocation=AllocationPolicy(shared_projects=("Platform",)),
)


def job(name: str, tags: dict[str, str], at: datetime) -> dict[str, object]:
    return events.transform_job(
        name, "Completed", at=at + H, instance_type="ml.m5.xlarge", start=at, end=at + H, tags=tags
    )


def test_two_spellings_of_one_project_are_one_project_everywhere(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    # Given jobs tagged Project=Fraud-Detection, Project=fraud-detection and proj=FRAUD-DETECTION
    meter = UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, CONFIG)
    feed = [
        job("upper", {"Project": "Fraud-Detection", "Team": "Risk"}, T0),
        job("lower", {"Project": "fraud-detection", "Team": "risk"}, T0 + 2 * H),
        job("alias", {"proj": "FRAUD-DETECTION", "Team": "RISK"}, T0 + 4 * H),
        job("platform", {"Project": "Platform", "Team": "platform"}, T0 + 6 * H),
    ]

    # When they are metered
    outcomes = [meter.record(parse_event(raw)).outcome for raw in feed]

    # Then the records, the aggregates, the budget's spend and the allocation all see one project
    assert outcomes == [Outcome.RECORDED] * 4
    records = list(ledger.records("2026-10"))
    assert {r.resource_name: (r.tags.project, r.tags.team) for r in records} == {
        "upper": ("fraud-detection", "risk"),
        "lower": ("fraud-detection", "risk"),
        "alias": ("fraud-detection", "risk"),
        "platform": ("platform", "platform"),
    }
    fraud_cost = sum(
        (r.cost or Decimal(0) for r in records if r.tags.project == "fraud-detection"), Decimal(0)
    )
    projects = {a.value: a.cost for a in ledger.aggregates("2026-10", Dimension.PROJECT)}
    assert projects == {"fraud-detection": fraud_cost, "platform": projects["platform"]}
    (budget,) = CONFIG.budgets.limits
    spend = ledger.budget_spend("2026-10", [(budget.dimension, budget.value)])
    assert spend[(Dimension.PROJECT, "fraud-detection")].cost == fraud_cost
    assert spend[(Dimension.PROJECT, "fraud-detection")].records == 3

    report = MonthEndAllocator(ledger, CONFIG).run("2026-10").report
    rows = {row.project: row for row in report.rows}
    assert set(rows) == {"fraud-detection"}  # platform is shared, wholly, to the one receiving project
    assert rows["fraud-detection"].direct == fraud_cost.quantize(Decimal("0.01"))
    assert report.totals.untagged == 0


def test_the_resources_own_tags_are_never_rewritten(ledger: DynamoLedger, prices: PriceBook) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_transform_job(
        TransformJobName="own-tags",
        ModelName="model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/"}}},
        TransformOutput={"S3OutputPath": "s3://out/"},
        TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        Tags=[{"Key": "Project", "Value": "Fraud-Detection"}],
    )
    arn = sagemaker.describe_transform_job(TransformJobName="own-tags")["TransformJobArn"]
    meter = UsageMeter(ledger, Boto3SageMaker(sagemaker), prices, CONFIG)

    meter.record(parse_event(job("own-tags", {"Project": "Fraud-Detection"}, T0)))

    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "Project", "Value": "Fraud-Detection"}]
