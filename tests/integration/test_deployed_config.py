"""Config and prices reach a deployed function: settings checked at cold start, the config and the price
override read from Parameter Store (and re-read after a push), `config push`, `prices push` and `reprice`."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.conftest import stack_parameters

import tag_enforcer.handler
from sagecost import wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.prices import load_catalog
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.cli import main
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import Dimension
from sagecost.models.prices import Component, Price, PriceCatalog
from sagecost.services.repricing import reprice_month
from sagecost.services.usage import UsageMeter

T0 = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}
STACK = "sagecost-test"

# The slice of template.yaml the stack commands read: the two parameters, and the outputs and IAM
# parameters `config push` checks against (CloudFormation on moto creates SSM parameters).
STACK_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {
        "PolicyTagKeys": {
            "Type": "CommaDelimitedList",
            "Default": "Project,Team,CostCenter,Environment,Owner",
        },
        "ProductionEnvironmentValues": {"Type": "CommaDelimitedList", "Default": "prod,production"},
    },
    "Resources": {
        "ConfigParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": f"/sagecost/{STACK}/config", "Type": "String", "Value": "{}"},
        },
        "PricesParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": f"/sagecost/{STACK}/prices", "Type": "String", "Value": "{}"},
        },
    },
    "Outputs": {
        "ConfigParameterName": {"Value": {"Ref": "ConfigParameter"}},
        "PricesParameterName": {"Value": {"Ref": "PricesParameter"}},
        "LedgerTableName": {"Value": "sagecost-ledger-test"},
    },
}


@pytest.fixture
def stack(aws: None) -> str:
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(STACK_TEMPLATE))
    return STACK


def parameter(name: str) -> str:
    return str(boto3.client("ssm").get_parameter(Name=f"/sagecost/{STACK}/{name}")["Parameter"]["Value"])


# --- settings, at cold start ------------------------------------------------------------------------


def test_a_missing_variable_fails_the_cold_start_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAG_QUEUE_URL")
    monkeypatch.delenv("SAGECOST_CONFIG_PARAMETER")
    with pytest.raises(wiring.SettingsError, match="lacks SAGECOST_CONFIG_PARAMETER, TAG_QUEUE_URL"):
        wiring.function_settings(wiring.TagEnforcerSettings)
    # the handler module validates them when Lambda imports it, before any event
    with pytest.raises(wiring.SettingsError, match="TAG_QUEUE_URL"):
        importlib.reload(tag_enforcer.handler)
    monkeypatch.undo()
    importlib.reload(tag_enforcer.handler)


# --- the config, from Parameter Store ----------------------------------------------------------------


def test_a_deployed_function_reads_the_pushed_config_and_sees_a_new_push_once_its_cache_expires(
    ledger: DynamoLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_parameters()
    monkeypatch.setenv("SAGECOST_PARAMETERS_MAX_AGE", "0")
    adapters = wiring.adapters(wiring.function_settings(wiring.BudgetAlerterSettings))
    assert isinstance(adapters, wiring.LambdaAdapters)
    before = wiring.budget_alerter(adapters)
    assert before.config.budgets.limits == ()
    assert wiring.budget_alerter(adapters) is before  # unchanged config: the same service

    stack_parameters(config=json.dumps({"budgets": {"limits": [{"project": "fraud", "monthly": 100}]}}))

    after = wiring.budget_alerter(adapters)
    assert after is not before
    assert [b.name for b in after.config.budgets.limits] == ["project:fraud"]


def test_the_price_override_replaces_the_shipped_rate_and_adds_new_ones(ledger: DynamoLedger) -> None:
    shipped = load_catalog()
    some = shipped.prices[0]
    override = PriceCatalog(
        generated=date(2026, 11, 20),
        sources={"negotiated": "our EDP rates"},
        prices=(
            some.model_copy(update={"usd": some.usd / 2, "source": "negotiated"}),
            Price(
                region="eu-north-1",
                component=Component.TRAINING,
                instance_type="ml.m5.xlarge",
                unit="hour",
                usd=Decimal("0.25"),
                source="negotiated",
                as_of=date(2026, 11, 20),
            ),
        ),
    )
    stack_parameters(prices=override.model_dump_json())
    adapters = wiring.adapters(wiring.function_settings(wiring.UsageRecorderSettings))
    book = adapters.prices()
    halved = book.rate(some.region, some.component, some.instance_type)
    assert halved is not None and halved.usd == some.usd / 2
    added = book.rate("eu-north-1", Component.TRAINING, "ml.m5.xlarge")
    assert added is not None and added.usd == Decimal("0.25")
    assert len(book) == len(shipped.prices) + 1


# --- sagecost config push -------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sagecost.yaml"
    path.write_text(text)
    return path


def test_config_push_shows_the_difference_writes_it_and_a_second_push_writes_nothing(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "budgets:\n  limits:\n    - {project: fraud, monthly: 500}\n")

    assert main(["config", "push", str(config), "--stack", stack]) == 0
    shown = capsys.readouterr().out
    assert '+        "monthly": "500",' in shown and '+        "project": "fraud"' in shown
    assert "wrote /sagecost/sagecost-test/config" in shown
    assert SagecostConfig.model_validate_json(parameter("config")).budgets.limits[0].monthly == 500

    assert main(["config", "push", str(config), "--stack", stack]) == 0
    assert "already holds this config: nothing written" in capsys.readouterr().out


def test_an_invalid_config_is_refused_with_line_numbers_and_nothing_is_written(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "budgets:\n  limits:\n    - {project: fraud, monthly: -5}\n")

    assert main(["config", "push", str(config), "--stack", stack]) == 1

    err = capsys.readouterr().err
    assert f"{config}:3: budgets.limits.0.monthly" in err
    assert "nothing was written" in err
    assert parameter("config") == "{}"


def test_a_config_the_stacks_iam_conditions_contradict_is_refused_naming_the_parameter_to_change(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path,
        "tags:\n  cost_center: {key: CostCentre}\n  production_values: [prod, live]\n",
    )

    assert main(["config", "push", str(config), "--stack", stack]) == 1

    err = capsys.readouterr().err
    assert "PolicyTagKeys=Project,Team,CostCenter,Environment,Owner,CostCentre" in err
    assert "ProductionEnvironmentValues=prod,production,live" in err
    assert parameter("config") == "{}"


def test_an_unknown_stack_is_one_line_with_the_fix(aws: None, tmp_path: Path, capsys: Any) -> None:
    config = write(tmp_path, "{}\n")
    assert main(["config", "push", str(config), "--stack", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read stack nope" in err[0] and "--stack" in err[0]


# --- sagecost prices push + reprice ----------------------------------------------------------------


@pytest.fixture
def metered_october(ledger: DynamoLedger, prices: PriceBook) -> UsageMeter:
    """A training job and an endpoint that is still running, metered at the test rates."""
    meter = UsageMeter(ledger, Boto3SageMaker(boto3.client("sagemaker")), prices, SagecostConfig())
    feed = [
        events.training_job(
            "train-1",
            "Completed",
            at=T0 + timedelta(hours=2, minutes=1),
            instance_type="ml.m5.xlarge",
            instance_count=2,
            start=T0,
            end=T0 + timedelta(hours=2),
            billable_seconds=7200,
            volume_gb=None,
            tags=TAGS,
        ),
        events.endpoint_config("cfg", [("AllTraffic", "ml.m5.xlarge", 1)], at=T0, tags=TAGS),
        events.endpoint(
            "serve", "IN_SERVICE", at=T0, config_name="cfg", variants=[("AllTraffic", 1)], tags=TAGS
        ),
    ]
    for raw in feed:
        meter.record(parse_event(raw))
    meter.sweep(T0 + timedelta(days=3, hours=5))
    return meter


def month_cost(ledger: DynamoLedger) -> Decimal:
    return ledger.month_total("2026-10").cost


def records_cost(ledger: DynamoLedger) -> Decimal:
    return sum((r.cost or Decimal(0) for r in ledger.records("2026-10")), Decimal(0))


def repriced_book(prices: PriceBook, component: Component, usd: str) -> PriceBook:
    catalog = prices.catalog
    return PriceBook(
        catalog.model_copy(
            update={
                "prices": tuple(
                    p.model_copy(update={"usd": Decimal(usd)})
                    if (p.component, p.instance_type) == (component, "ml.m5.xlarge")
                    else p
                    for p in catalog.prices
                )
            }
        )
    )


def test_reprice_moves_the_aggregates_by_exactly_the_repriced_difference_and_a_second_run_changes_nothing(
    metered_october: UsageMeter, ledger: DynamoLedger, prices: PriceBook
) -> None:
    before_total, before_records = month_cost(ledger), list(ledger.records("2026-10"))
    assert before_total == records_cost(ledger) > 0
    new = repriced_book(repriced_book(prices, Component.TRAINING, "0.30"), Component.HOSTING, "0.20")

    report = reprice_month(ledger, new, "2026-10")

    expected = sum(
        (r.quantity * (Decimal("0.30") if r.component is Component.TRAINING else Decimal("0.20")) - r.cost)
        for r in before_records
        if r.cost is not None and r.instance_type == "ml.m5.xlarge"
    )
    assert report.repriced == sum(1 for r in before_records if r.instance_type == "ml.m5.xlarge")
    assert report.delta == expected
    assert month_cost(ledger) == before_total + expected == records_cost(ledger)
    by_project = {a.value: a.cost for a in ledger.aggregates("2026-10", Dimension.PROJECT)}
    assert by_project == {"fraud": before_total + expected}

    again = reprice_month(ledger, new, "2026-10")
    assert again.repriced == 0 and again.delta == 0
    assert month_cost(ledger) == before_total + expected


def test_after_a_reprice_the_sweep_continues_from_the_new_amounts_without_drift(
    metered_october: UsageMeter, ledger: DynamoLedger, prices: PriceBook
) -> None:
    new = repriced_book(prices, Component.HOSTING, "0.20")
    reprice_month(ledger, new, "2026-10")
    # the running endpoint's last two days are cached in its timeline: the sweep re-meters them
    sweeping = UsageMeter(ledger, metered_october.sagemaker, new, SagecostConfig())
    sweeping.sweep(T0 + timedelta(days=4, hours=1))

    assert month_cost(ledger) == records_cost(ledger)
    hosting = [r for r in ledger.records("2026-10") if r.component is Component.HOSTING]
    assert hosting and all(r.unit_price == Decimal("0.20") for r in hosting)


def test_prices_push_writes_only_what_differs_and_reprice_uses_the_stacks_prices(
    stack: str, metered_october: UsageMeter, ledger: DynamoLedger, tmp_path: Path, capsys: Any
) -> None:
    shipped = load_catalog()
    training = shipped.prices[0]
    changed = shipped.model_copy(
        update={
            "prices": tuple(
                p.model_copy(update={"usd": p.usd + 1}) if p == training else p for p in shipped.prices
            )
        }
    )
    path = tmp_path / "prices.json"
    path.write_text(changed.model_dump_json())

    assert main(["prices", "push", str(path), "--stack", stack]) == 0
    assert "1 prices differ from the catalog" in capsys.readouterr().out
    pushed = PriceCatalog.model_validate_json(parameter("prices"))
    assert [p.key for p in pushed.prices] == [training.key]

    assert main(["reprice", "--month", "2026-10", "--stack", stack]) == 0
    first = capsys.readouterr().out
    assert "2026-10:" in first
    assert main(["reprice", "--month", "2026-10", "--stack", stack]) == 0
    assert "0 re-priced" in capsys.readouterr().out
    assert month_cost(ledger) == records_cost(ledger)
