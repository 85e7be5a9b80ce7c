"""Budget alerts as people and machines read them: a subject, a plain-text body for email, message
attributes for SNS filter policies, and a JSON form for queues, functions and webhooks. Every name in the
text goes through `safe_text.line` (a job name or a tag cannot add a line or a terminal escape)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sagecost.adapters.notifier import Notice
from sagecost.domain.budgets import percent_of
from sagecost.models.budgets import Alert, AlertKind
from sagecost.reports.safe_text import line
from sagecost.reports.text import month_name, usd

WHAT_TO_DO = {
    AlertKind.THRESHOLD: (
        "Check the cost drivers above. Stop or scale down what is not needed: delete idle endpoints, stop "
        "notebooks, use managed spot training. If the spend is planned, raise the budget in the sagecost "
        "config."
    ),
    AlertKind.FORECAST: (
        "Nothing is over yet: at this pace the month ends over budget. Stop what runs without a need "
        "(the running cost is below), or raise the budget before it is spent."
    ),
    AlertKind.BURN_RATE: (
        "What runs right now costs more per day than the daily limit. Scale the endpoints down or stop "
        "what is idle."
    ),
    AlertKind.PREFLIGHT: (
        "The job has only just started: if it does not need its full MaxRuntimeInSeconds, stop it and "
        "set a shorter limit, use fewer or smaller instances, or managed spot training."
    ),
    AlertKind.DIGEST: "The budget is still over. This reminder comes daily until the month ends.",
}


def _headline(alert: Alert) -> str:
    spent_pct = percent_of(alert.spent_usd, alert.budget_usd)
    budget = line(alert.budget)
    if alert.kind is AlertKind.THRESHOLD:
        return f"{budget} passed {alert.threshold} % of its {month_name(alert.month)} budget"
    if alert.kind is AlertKind.FORECAST:
        return f"{budget} is forecast to reach {alert.threshold} % of its {month_name(alert.month)} budget"
    if alert.kind is AlertKind.BURN_RATE:
        return f"{budget} burns more than its daily limit of {usd(Decimal(alert.threshold))}"
    if alert.kind is AlertKind.PREFLIGHT:
        job = line(str(alert.details.get("job", alert.threshold)))
        return f"{budget}: job {job} could exceed what is left of the budget"
    return f"{budget} is still over its {month_name(alert.month)} budget ({spent_pct} %)"


def alert_json(alert: Alert) -> dict[str, Any]:
    """The machine form: stable field names, amounts as strings (no float rounding)."""
    data: dict[str, Any] = json.loads(alert.model_dump_json())
    return data | {"key": alert.key, "headline": _headline(alert)}


def alert_notice(alert: Alert) -> Notice:
    spent_pct = percent_of(alert.spent_usd, alert.budget_usd)
    lines = [_headline(alert) + ".", ""]
    lines.append(f"  Budget      {usd(alert.budget_usd):>12}   {month_name(alert.month)}")
    lines.append(f"  Spent       {usd(alert.spent_usd):>12}   {spent_pct} % so far")
    if alert.forecast_usd is not None:
        forecast_pct = percent_of(alert.forecast_usd, alert.budget_usd)
        lines.append(f"  Forecast    {usd(alert.forecast_usd):>12}   {forecast_pct} % by the month's end")
    if alert.running_usd_per_hour is not None:
        lines.append(
            f"  Running now {usd(alert.running_usd_per_hour):>12}   per hour "
            f"({usd(alert.running_usd_per_hour * 24)} per day)"
        )
    if alert.kind is AlertKind.PREFLIGHT:
        d = {key: line(value) if isinstance(value, str) else value for key, value in alert.details.items()}
        lines += [
            "",
            f"  Job         {d.get('job')} ({d.get('instance_count')} x {d.get('instance_type')}, "
            f"up to {d.get('max_hours')} h)",
            f"  Worst case  {usd(Decimal(str(d.get('worst_case', '0')))):>12}",
            f"  Left        {usd(Decimal(str(d.get('remaining', '0')))):>12}",
        ]
        if d.get("owner"):
            lines.append(f"  Owner       {d['owner']}")
        if d.get("stopped"):
            lines.append("  sagecost STOPPED the job (pre-flight in enforce mode, not production).")
    if alert.drivers:
        lines += ["", "Top cost drivers this month:"]
        lines += [
            f"  {usd(driver.cost):>12}  {line(driver.kind):<18} {line(driver.name)}"
            + (f"\n                {line(driver.console_url)}" if driver.console_url else "")
            for driver in alert.drivers
        ]
    lines += [
        "",
        "What to do: " + WHAT_TO_DO[alert.kind],
        "",
        f"sagecost alert {line(alert.key)} ({alert.month})",
    ]
    attributes = {
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "budget": line(alert.budget),
        "month": alert.month,
        "project": line(alert.project or ""),
        "team": line(alert.team or ""),
        "audience": line(alert.audience or ""),
    }
    if alert.kind is AlertKind.PREFLIGHT and alert.details.get("owner"):
        attributes["owner"] = line(str(alert.details["owner"]))
    budget = line(alert.budget)
    subject = {
        AlertKind.THRESHOLD: f"[sagecost] {budget} passed {alert.threshold} % ({spent_pct} % spent)",
        AlertKind.FORECAST: f"[sagecost] {budget} forecast to pass {alert.threshold} % "
        f"({usd(alert.forecast_usd or Decimal(0))} of {usd(alert.budget_usd)})",
        AlertKind.BURN_RATE: f"[sagecost] {budget} burn rate over its daily limit",
        AlertKind.PREFLIGHT: f"[sagecost] {budget}: a job could exceed the budget",
        AlertKind.DIGEST: f"[sagecost] {budget} still over budget ({spent_pct} %)",
    }[alert.kind]
    return Notice(
        subject=subject, body="\n".join(lines) + "\n", attributes=attributes, data=alert_json(alert)
    )
