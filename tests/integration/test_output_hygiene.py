"""Every month-end output and every alert text is inert, whatever the tags, names and ARNs say: no formula
in a CSV cell, no console link to another host, no forged row in the summary, no control character."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest
from tests.integration.test_cost_allocation import job
from tests.integration.test_focus_export import Aggregates

from sagecost import clock
from sagecost.domain.console import console_url
from sagecost.models.budgets import Alert, AlertKind, Driver, Severity
from sagecost.models.config import SagecostConfig
from sagecost.models.ledger import TagSnapshot, UsageRecord
from sagecost.reports.alerts import alert_notice
from sagecost.reports.safe_text import cell, line, markup
from sagecost.services.allocation import MonthEndAllocator, render_outputs

CONTROLS = ("\x00", "\x1b", "\x07")  # NUL, ESC, BEL
CRAFTED_ARN = "arn:aws:sagemaker:evil.example#:123456789012:training-job/crafted"


def crafted_month() -> list[UsageRecord]:
    arn = "arn:aws:sagemaker:=2+2:123456789012:training-job/formulas"
    formulas = job("formulas", "10.00", project="A").model_copy(
        update={"instance_type": "=1+1", "region": "=2+2", "resource_arn": arn, "record_id": f"{arn}#compute"}
    )
    forged = job("forged", "20.00", project="B\nTOTAL  $0.00").model_copy(
        update={
            "tags": TagSnapshot(
                project="B\nTOTAL  $0.00", team="t\x00e\x1ba\x07m", cost_center="+cc", environment="@dev"
            )
        }
    )
    crafted = job("crafted", "5.00", project="C").model_copy(
        update={"resource_arn": CRAFTED_ARN, "record_id": f"{CRAFTED_ARN}#compute", "resource_name": "=cmd"}
    )
    return [formulas, forged, crafted]


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    config = SagecostConfig()
    with clock.fixed_at(datetime(2026, 11, 1, tzinfo=UTC)):
        month_end = MonthEndAllocator(Aggregates(crafted_month()), config).run("2026-10")
    files = render_outputs(month_end, config.tags.primary_keys())
    return {name: data.decode() for name, data in files.items()}


def _cells(text: str) -> list[str]:
    return [value for row in csv.reader(io.StringIO(text)) for value in row]


@pytest.mark.parametrize("name", ["focus.csv", "allocation.csv"])
def test_no_csv_cell_starts_a_formula(outputs: dict[str, str], name: str) -> None:
    cells = _cells(outputs[name])
    starts = ("=", "+", "@", "|", "%", "\t", "\r", "\n")
    assert not [value for value in cells if value.startswith(starts)]
    negative = [value for value in cells if value.startswith("-")]
    assert all(_is_number(value) for value in negative), negative


def test_instance_type_and_region_are_inert_in_focus_csv(outputs: dict[str, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(outputs["focus.csv"])))
    (row,) = [r for r in rows if r["ResourceId"].endswith("/formulas")]
    assert (row["x_InstanceType"], row["RegionId"]) == ("'=1+1", "'=2+2")
    assert row["SkuId"].startswith("'=2+2/") and row["ChargeDescription"].startswith("'=1+1 ")


def test_a_crafted_arn_region_gives_no_console_link() -> None:
    assert console_url(CRAFTED_ARN) == ""
    assert console_url("arn:aws:sagemaker:us-east-1\n:1:endpoint/x") == ""
    assert console_url("arn:aws:sagemaker:attacker.com/x:1:endpoint/x") == ""
    assert console_url("arn:aws:sagemaker:us-gov-west-1:1:endpoint/x").startswith(
        "https://us-gov-west-1.console.aws.amazon.com/"
    )


def test_the_report_links_only_to_the_aws_console(outputs: dict[str, str]) -> None:
    html = outputs["report.html"]
    assert "evil.example" not in html
    links = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert links and all(link.startswith("https://us-east-1.console.aws.amazon.com/") for link in links)


def test_a_newline_in_a_tag_adds_no_row_to_the_summary(outputs: dict[str, str]) -> None:
    summary = outputs["summary.txt"]
    assert not [text for text in summary.splitlines() if text.startswith("TOTAL")]
    assert "B\\nTOTAL  $0.00" in summary  # shown, not dropped


@pytest.mark.parametrize("control", CONTROLS)
def test_no_control_character_reaches_any_output_file(outputs: dict[str, str], control: str) -> None:
    assert [name for name, text in outputs.items() if control in text] == []


def test_an_alert_text_shows_control_characters_and_skips_an_empty_link() -> None:
    alert = Alert(
        kind=AlertKind.PREFLIGHT,
        severity=Severity.WARNING,
        budget="project:fraud",
        month="2026-10",
        threshold="job\nSubject: forged",
        at=datetime(2026, 10, 20, tzinfo=UTC),
        budget_usd=Decimal(100),
        spent_usd=Decimal(90),
        details={"job": "job\nSubject: forged", "instance_type": "ml\x1b[2J", "owner": "o\x07"},
        drivers=(Driver(name="x\x00", kind="training-job", cost=Decimal(5), console_url=""),),
    )
    notice = alert_notice(alert)
    text = notice.subject + notice.body + "".join(notice.attributes.values())
    assert not any(control in text for control in CONTROLS)
    assert not [row for row in notice.body.splitlines() if row.startswith("Subject:")]
    assert "https://" not in notice.body


@pytest.mark.parametrize("value", ["=1+1", "a\nb", "\x00\x1b\x07", "-2", "\u202eevil", "plain"])
def test_every_form_is_free_of_controls_and_idempotent_in_csv(value: str) -> None:
    for form in (cell(value), line(value), markup(value)):
        assert not any(ord(c) < 0x20 or c == "\u202e" for c in form)
    assert cell(cell(value)) == cell(value)


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return True


def test_a_subject_with_a_line_break_or_over_the_limit_still_publishes(aws: None) -> None:
    """SNS refuses a subject with a line break or a control character, or of 100 characters or more: the
    alert would fail on every retry."""
    from tests.conftest import topic_with_inbox

    from sagecost.adapters.notifier import Notice, SnsNotifier

    topic, queue = topic_with_inbox("hygiene")
    notifier = SnsNotifier(boto3.client("sns"), topic)
    notifier.publish(Notice(subject="budget fraud\nTOTAL 0.00\x1b[2J" + "x" * 120, body="b", attributes={}))
    message = json.loads(boto3.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert "\n" not in message["Subject"] and "\x1b" not in message["Subject"]
    assert message["Subject"].startswith("budget fraud\\nTOTAL 0.00\\x1b[2J")
    assert len(message["Subject"]) < 100
