"""The month-end summary sent to the reports topic: a plain-text table that reads well in an email. Every
value from a tag or a name goes through `safe_text.line`: none can start a row of its own."""

from __future__ import annotations

from decimal import Decimal

from sagecost.adapters.notifier import Notice
from sagecost.models.allocation import AllocationReport, Reconciliation
from sagecost.reports.safe_text import line
from sagecost.reports.text import month_name, pct, share, signed_usd, usd

MAX_ROWS = 30
COLUMNS = (("Project", 22), ("Team", 14), ("Cost center", 12))


def _cell(value: str, width: int) -> str:
    text = line(value)
    return (text if len(text) <= width else text[: width - 1] + "~").ljust(width)


def by_group_lines(rec: Reconciliation) -> list[str]:
    """The bill by usage-type group against what was metered; the rows add up to the Total line."""
    if rec.group_billed is None or rec.group_metered is None:
        return []
    header = f"{'Usage-type group':<24}  {'Metered':>12}  {'Billed':>12}  {'Metered share':>13}"
    lines = [
        "",
        f"Metered share of the bill by usage type: {share(rec.metered_share_pct)}",
        header,
        "-" * len(header),
    ]
    for g in rec.by_group:
        unpriced = f"  ({g.unpriced_records} unpriced records)" if g.unpriced_records else ""
        lines.append(
            f"{g.group.value:<24}  {usd(g.metered):>12}  {usd(g.billed):>12}  "
            f"{share(g.metered_share_pct):>13}{unpriced}"
        )
    lines += [
        "-" * len(header),
        f"{'Total':<24}  {usd(rec.group_metered):>12}  {usd(rec.group_billed):>12}  "
        f"{share(rec.metered_share_pct):>13}",
    ]
    return lines


def summary_notice(report: AllocationReport, location: str = "") -> Notice:
    totals = report.totals
    lines = [
        f"SageMaker chargeback for {month_name(report.month)} ({report.month}), in {line(report.currency)}",
        "",
    ]
    lines.append(f"  Metered by sagecost   {usd(totals.metered):>14}   ({totals.records:,} usage records)")
    if totals.billed is not None and report.reconciliation is not None:
        lines.append(
            f"  Billed ({line(report.reconciliation.source)}, {report.reconciliation.metric.value})"
            f" {usd(totals.billed)}"
            f"   metered - billed: {signed_usd(totals.variance or totals.metered - totals.billed)}"
            f" ({pct(totals.variance_pct)})"
            + ("   [month still estimated]" if report.reconciliation.estimated else "")
        )
    else:
        lines.append("  Billed                not reconciled (see notes)")
    if report.shared_pool:
        sources = ", ".join(f"{line(source.source)} {usd(source.amount)}" for source in report.shared_pool)
        lines.append(
            f"  Shared pool           {usd(totals.shared_pool):>14}   ({sources}; split "
            f"{report.policy.split.value})"
        )
    lines.append(f"  Without a project tag {usd(totals.untagged):>14}")
    if totals.unpriced_records:
        lines.append(
            f"  Unpriced usage        {totals.unpriced_records} records, "
            f"{totals.unpriced_instance_hours:,.2f} instance-hours (not in the totals: no known price)"
        )
    lines.append("")
    trued_up = any(row.billed is not None for row in report.rows)
    header = "".join(_cell(name, width) + "  " for name, width in COLUMNS)
    header += f"{'Direct':>12}  {'Shared':>12}  {'Total':>12}" + (f"  {'Billed':>12}" if trued_up else "")
    lines += [header, "-" * len(header)]
    ordered = sorted(report.rows, key=lambda row: (-row.total, row.project, row.team, row.cost_center))
    for row in ordered[:MAX_ROWS]:
        text = "".join(
            _cell(value, width) + "  "
            for value, (_, width) in zip((row.project, row.team, row.cost_center), COLUMNS, strict=True)
        )
        text += f"{usd(row.direct):>12}  {usd(row.shared):>12}  {usd(row.total):>12}"
        if trued_up:
            text += f"  {usd(row.billed) if row.billed is not None else '':>12}"
        lines.append(text)
    if len(ordered) > MAX_ROWS:
        lines.append(f"... and {len(ordered) - MAX_ROWS} more rows in allocation.csv")
    total_end = len(header) - (14 if trued_up else 0)
    lines += ["-" * len(header), f"{'Total':<{total_end - 12}}{usd(totals.metered):>12}"]
    if report.reconciliation is not None:
        lines += by_group_lines(report.reconciliation)
    if report.idle_savings:
        saved = sum((s.projected_savings for s in report.idle_savings), Decimal(0))
        lines += ["", f"Idle shutdown saved {usd(saved)} to the month's end:"]
        lines += [
            f"  {line(s.project):<22} {s.actions:>3} stopped or deleted  {usd(s.hourly_usd):>10}/h"
            f"  {usd(s.projected_savings):>12}"
            for s in report.idle_savings
        ]
    if report.notes:
        lines += ["", "Notes:"] + [f"  - {line(note)}" for note in report.notes]
    lines += [
        "",
        "The files: allocation.json, allocation.csv, focus.csv (FOCUS 1.2) and report.html"
        + (f" in {line(location)}" if location else "")
        + ".",
    ]
    return Notice(
        subject=f"sagecost chargeback {report.month}: {usd(totals.metered)} metered",
        body="\n".join(lines) + "\n",
        attributes={
            "kind": "allocation",
            "severity": "info",
            "month": report.month,
            "reconciled": "true" if report.reconciliation is not None else "false",
        },
    )
