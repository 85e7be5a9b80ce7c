"""On the stack as `sam deploy` creates it (moto): `sagecost config push` reaches a running function without a
redeploy, an invalid config never replaces the deployed one, and `prices push` + `reprice` correct what was
already metered, exactly and once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.conftest import FakeLambdaContext, topic_with_inbox
from tests.e2e.deployed import REGION, DeployedStack
from tests.integration.test_cost_allocation import job, write
from tests.integration.test_handlers import sqs_event

from sagecost import clock
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.prices import load_catalog
from sagecost.cli import main
from sagecost.local import events
from sagecost.models.config import SagecostConfig
from sagecost.models.ledger import Dimension
from sagecost.models.prices import Component

OCTOBER_20 = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}


def ledger(stack: DeployedStack) -> DynamoLedger:
    return DynamoLedger(boto3.client("dynamodb", region_name=REGION), stack.outputs["LedgerTableName"])


def deployed_config(stack: DeployedStack) -> str:
    name = stack.outputs["ConfigParameterName"]
    return str(boto3.client("ssm", region_name=REGION).get_parameter(Name=name)["Parameter"]["Value"])


def inbox(stack: DeployedStack) -> tuple[Any, str]:
    """An SQS queue subscribed to the stack's alerts topic (what an email subscriber would get)."""
    _, queue_url = topic_with_inbox("unused")
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=stack.outputs["AlertsTopicArn"], Protocol="sqs", Endpoint=queue_arn)
    return sqs, queue_url


def test_a_pushed_config_reaches_the_running_function_once_its_cache_expires_without_a_redeploy(
    deployed_stack: DeployedStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from budget_alerter.handler import lambda_handler

    stack = deployed_stack
    monkeypatch.setenv("SAGECOST_PARAMETERS_MAX_AGE", "1")  # five minutes when deployed; a second here
    stack.use("BudgetAlerterFunction", monkeypatch)
    write(ledger(stack), job("big", "405.10", project="fraud-detection", at=OCTOBER_20))
    sqs, queue = inbox(stack)
    with clock.fixed_at(OCTOBER_20 + timedelta(hours=1)):
        assert lambda_handler({"source": "aws.scheduler"}, FakeLambdaContext()) == {"digest": 0}  # no budgets

        config = tmp_path / "sagecost.yaml"
        config.write_text("budgets:\n  limits:\n    - {project: fraud-detection, monthly: 400}\n")
        assert main(["config", "push", str(config), "--stack", stack.name]) == 0
        time.sleep(1.1)  # the warm function's parameter cache expires

        assert lambda_handler({"source": "aws.scheduler"}, FakeLambdaContext()) == {"digest": 1}
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert "fraud-detection" in body["Subject"]


def test_an_invalid_config_is_refused_and_the_deployed_one_is_unchanged(
    deployed_stack: DeployedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = deployed_stack
    good = tmp_path / "good.yaml"
    good.write_text("budgets:\n  limits:\n    - {team: risk, monthly: 900}\n")
    assert main(["config", "push", str(good), "--stack", stack.name]) == 0
    deployed = deployed_config(stack)
    capsys.readouterr()

    bad = tmp_path / "bad.yaml"
    bad.write_text("budgets:\n  limits:\n    - {team: risk, monthly: 900}\nidle:\n  warning_hours: soon\n")
    assert main(["config", "push", str(bad), "--stack", stack.name]) == 1

    err = capsys.readouterr().err
    assert f"{bad}:5: idle.warning_hours" in err and "nothing was written" in err
    assert deployed_config(stack) == deployed
    assert SagecostConfig.model_validate_json(deployed).budgets.limits[0].monthly == 900


def test_reprice_after_prices_push_moves_the_months_aggregates_by_exactly_the_difference_once(
    deployed_stack: DeployedStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    from usage_recorder.handler import lambda_handler

    stack = deployed_stack
    stack.use("UsageRecorderFunction", monkeypatch)
    jobs = [
        events.training_job(
            f"train-{hours}",
            "Completed",
            at=OCTOBER_20 + timedelta(hours=hours, minutes=1),
            instance_type="ml.m5.xlarge",
            instance_count=2,
            start=OCTOBER_20,
            end=OCTOBER_20 + timedelta(hours=hours),
            billable_seconds=3600 * hours,
            volume_gb=None,
            tags=TAGS,
            account="123456789012",
        )
        for hours in (1, 3)
    ]
    assert lambda_handler(sqs_event(*map(json.dumps, jobs)), FakeLambdaContext()) == {"batchItemFailures": []}
    metered = ledger(stack)
    records = [r for r in metered.records("2026-10") if r.component is Component.TRAINING]
    before = metered.month_total("2026-10").cost
    shipped = load_catalog()
    old = next(p for p in shipped.prices if p.key == ("us-east-1", Component.TRAINING, "ml.m5.xlarge"))
    assert {r.unit_price for r in records} == {old.usd}

    new_rate = old.usd + Decimal("0.1")
    changed = shipped.model_copy(
        update={
            "prices": tuple(p.model_copy(update={"usd": new_rate}) if p == old else p for p in shipped.prices)
        }
    )
    catalog = tmp_path / "prices.json"
    catalog.write_text(changed.model_dump_json())
    assert main(["prices", "push", str(catalog), "--stack", stack.name]) == 0
    assert main(["reprice", "--month", "2026-10", "--stack", stack.name]) == 0
    capsys.readouterr()

    expected = sum((r.quantity * Decimal("0.1") for r in records), Decimal(0))
    assert expected == Decimal("0.8")  # 8 instance-hours, 10 cents more each
    assert metered.month_total("2026-10").cost == before + expected
    projects = {a.value: a.cost for a in metered.aggregates("2026-10", Dimension.PROJECT)}
    assert projects["fraud"] == before + expected
    assert {r.unit_price for r in metered.records("2026-10") if r.component is Component.TRAINING} == {
        new_rate
    }

    assert main(["reprice", "--month", "2026-10", "--stack", stack.name]) == 0
    assert "0 re-priced" in capsys.readouterr().out
    assert metered.month_total("2026-10").cost == before + expected
