"""Budget rules: threshold crossings, the forecast, a job's worst case, and the messages people read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sagecost.domain.budgets import crossed, forecast, worst_case
from sagecost.models.budgets import Alert, AlertKind, Budget, Driver, Severity
from sagecost.reports.alerts import alert_notice

D = Decimal
LADDER = (D(50), D(80), D(100))


def test_79_to_81_percent_crosses_80_only() -> None:
    assert crossed(D("79"), D("81"), LADDER, D(100)) == [D(80)]


def test_a_jump_from_40_to_120_percent_crosses_every_threshold_between() -> None:
    assert crossed(D("400"), D("1200"), LADDER, D(1000)) == [D(50), D(80), D(100)]


def test_landing_exactly_on_a_threshold_crosses_it_and_leaving_it_does_not_again() -> None:
    assert crossed(D("79.99"), D("80"), LADDER, D(100)) == [D(80)]
    assert crossed(D("80"), D("85"), LADDER, D(100)) == []
    assert crossed(D("90"), D("70"), LADDER, D(100)) == []  # spend re-priced down crosses nothing


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.decimals(min_value=0, max_value=500, places=2), min_size=1, max_size=40),
    budget=st.decimals(min_value=1, max_value=2000, places=2),
    thresholds=st.lists(st.integers(1, 300), min_size=1, max_size=6, unique=True),
)
def test_any_increasing_spend_crosses_each_threshold_it_reaches_exactly_once(
    steps: list[Decimal], budget: Decimal, thresholds: list[int]
) -> None:
    ladder = [D(t) for t in thresholds]
    spend, sent = D(0), []
    for step in steps:
        sent += crossed(spend, spend + step, ladder, budget)
        spend += step
    reached = sorted(t for t in ladder if budget * t / 100 <= spend and budget * t / 100 > 0)
    assert sorted(sent) == reached
    assert len(sent) == len(set(sent))


OCT_1_0100 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)


def test_a_forecast_works_in_a_projects_first_hour_without_history() -> None:
    # one hour in: $3 spent, an endpoint at $1.50/h running, one $2 job finished
    result = forecast(spent=D(3), jobs_spent=D(2), running_per_hour=D("1.5"), month="2026-10", now=OCT_1_0100)
    hours_left = D(31 * 24 - 1)
    # the job's pace counts at least one elapsed day: $2/day over the 30.96 days left, not $2/h
    assert result == (D(3) + D("1.5") * hours_left + D(2) * hours_left / 24).quantize(D("0.000001"))
    assert result < D(3) + D("1.5") * hours_left + D(2) * hours_left  # not a month of $2 hours


def test_the_forecast_at_the_months_end_is_what_was_spent() -> None:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    assert forecast(spent=D(10), jobs_spent=D(5), running_per_hour=D(9), month="2026-10", now=end) == D(10)


def test_a_jobs_worst_case_is_every_instance_for_its_whole_runtime_limit() -> None:
    assert worst_case(hourly_rate=D("1.408"), instance_count=2, max_runtime_seconds=D(86400)) == D("67.584")


def test_a_budget_names_exactly_one_scope() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        Budget(project="a", team="b", monthly=D(1))
    with pytest.raises(ValidationError, match="repeat"):
        Budget(project="a", monthly=D(1), thresholds=(D(50), D(50)))


def alert(kind: AlertKind, **extra: object) -> Alert:
    values: dict[str, object] = {
        "kind": kind,
        "severity": Severity.WARNING,
        "budget": "project:fraud",
        "month": "2026-10",
        "threshold": "80",
        "at": datetime(2026, 10, 20, 14, 5, tzinfo=UTC),
        "budget_usd": D(500),
        "spent_usd": D("402.5"),
        "forecast_usd": D("610"),
        "running_usd_per_hour": D("1.25"),
        "project": "fraud",
        "audience": "risk-team",
        "drivers": (
            Driver(
                name="fraud-prod",
                kind="endpoint",
                cost=D("380.35"),
                console_url="https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/endpoints/fraud-prod",
            ),
        ),
    }
    return Alert.model_validate(values | extra)


def test_a_threshold_message_says_budget_spent_forecast_drivers_and_what_to_do() -> None:
    notice = alert_notice(alert(AlertKind.THRESHOLD))
    assert notice.subject == "[sagecost] project:fraud passed 80 % (80.5 % spent)"
    assert "project:fraud passed 80 % of its October 2026 budget." in notice.body
    assert "Budget           $500.00   October 2026" in notice.body
    assert "Spent            $402.50   80.5 % so far" in notice.body
    assert "Forecast         $610.00   122.0 % by the month's end" in notice.body
    assert "Running now        $1.25   per hour ($30.00 per day)" in notice.body
    assert "#/endpoints/fraud-prod" in notice.body
    assert "What to do:" in notice.body
    assert notice.attributes == {
        "kind": "threshold",
        "severity": "warning",
        "budget": "project:fraud",
        "month": "2026-10",
        "project": "fraud",
        "team": "",
        "audience": "risk-team",
    }
    structured = notice.structured()
    assert structured is not None
    machine = json.loads(json.loads(structured)["sqs"])
    assert (machine["key"], machine["spent_usd"], machine["kind"]) == (
        "project:fraud#threshold#80",
        "402.5",
        "threshold",
    )
    assert json.loads(structured)["email"] == notice.body


def test_a_preflight_message_names_the_job_its_worst_case_and_the_owner() -> None:
    details = {
        "job": "big-train",
        "instance_type": "ml.g5.xlarge",
        "instance_count": 2,
        "max_hours": "24",
        "worst_case": "67.584",
        "remaining": "40",
        "owner": "alice",
        "stopped": True,
    }
    notice = alert_notice(alert(AlertKind.PREFLIGHT, threshold="big-train", details=details))
    assert notice.subject == "[sagecost] project:fraud: a job could exceed the budget"
    assert "Job         big-train (2 x ml.g5.xlarge, up to 24 h)" in notice.body
    assert "Worst case        $67.58" in notice.body
    assert "sagecost STOPPED the job" in notice.body
    assert notice.attributes["owner"] == "alice"
