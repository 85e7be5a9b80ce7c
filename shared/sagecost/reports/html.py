"""`report.html`: one self-contained page for finance. No script at all (the chart is inline SVG drawn
here), a Content-Security-Policy that forbids scripts, and every value from a tag or a name escaped
(`safe_text.markup`: control characters shown, then HTML-escaped)."""

from __future__ import annotations

from decimal import Decimal

from sagecost.models.allocation import AllocationReport, AllocationRow, Reconciliation
from sagecost.reports.safe_text import markup
from sagecost.reports.text import month_name, pct, share, signed_usd, usd

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""No script, no fetch, no frame: the page can only show what it holds."""
CHART_PROJECTS = 15
BAR_HEIGHT = 22
LABEL_WIDTH = 190
BAR_WIDTH = 520
DIRECT_COLOUR = "#2b6cb0"
SHARED_COLOUR = "#90cdf4"

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#1a202c;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e2e8f0}
.sub{color:#4a5568;margin-top:0}.cards{display:flex;flex-wrap:wrap;gap:1rem;margin:1.2rem 0}
.card{border:1px solid #e2e8f0;border-radius:8px;padding:.7rem 1rem;min-width:150px}
.card b{display:block;font-size:1.3rem}.card span{color:#4a5568;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.35rem .5rem;border-bottom:1px solid
#edf2f7;text-align:left}th{background:#f7fafc}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid #cbd5e0}.warn{color:#9c4221}.muted{color:#718096}
.legend span{display:inline-block;width:.9rem;height:.9rem;margin:0 .3rem 0 1rem;vertical-align:middle}
"""


def _cell(value: object, *, number: bool = False) -> str:
    css = ' class="n"' if number else ""
    return f"<td{css}>{markup(str(value))}</td>"


def _link_cell(text: str, url: str) -> str:
    """A link where there is one (a console link is "" for an ARN AWS did not write)."""
    return f'<td><a href="{markup(url)}">{markup(text)}</a></td>' if url else _cell(text)


def _money_cell(value: Decimal | None) -> str:
    return _cell("" if value is None else usd(value), number=True)


def _bar(kind: str, x: float, y: int, width: float, title: str) -> str:
    colour = DIRECT_COLOUR if kind == "direct" else SHARED_COLOUR
    return (
        f'<rect class="{kind}" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT - 6}"'
        f' fill="{colour}"><title>{markup(title)}</title></rect>'
    )


def _chart(report: AllocationReport) -> str:
    """Horizontal bars per project: direct cost, then the shared part stacked on it."""
    per_project: dict[str, tuple[Decimal, Decimal]] = {}
    for row in report.rows:
        direct, shared = per_project.get(row.project, (Decimal(0), Decimal(0)))
        per_project[row.project] = (direct + row.direct, shared + row.shared)
    ranked = sorted(per_project.items(), key=lambda item: (-(item[1][0] + item[1][1]), item[0]))
    shown = ranked[:CHART_PROJECTS]
    if len(ranked) > CHART_PROJECTS:
        rest = ranked[CHART_PROJECTS:]
        shown.append(
            (
                f"{len(rest)} more projects",
                (sum((d for _, (d, _) in rest), Decimal(0)), sum((s for _, (_, s) in rest), Decimal(0))),
            )
        )
    largest = max((d + s for _, (d, s) in shown), default=Decimal(0)) or Decimal(1)
    height = BAR_HEIGHT * len(shown) + 10
    svg_width = LABEL_WIDTH + BAR_WIDTH + 110
    parts = [
        f'<svg role="img" aria-label="Cost by project, direct and shared" width="{svg_width}"'
        f' height="{height}" xmlns="http://www.w3.org/2000/svg" font-size="12">'
    ]
    for index, (project, (direct, shared)) in enumerate(shown):
        y = index * BAR_HEIGHT + 4
        direct_width = float(direct / largest) * BAR_WIDTH
        shared_width = float(shared / largest) * BAR_WIDTH
        label = project if len(project) <= 28 else project[:27] + "~"
        parts += [
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{markup(label)}</text>',
            _bar("direct", LABEL_WIDTH, y, direct_width, f"{project} direct {usd(direct)}"),
            _bar("shared", LABEL_WIDTH + direct_width, y, shared_width, f"{project} shared {usd(shared)}"),
            f'<text x="{LABEL_WIDTH + direct_width + shared_width + 6:.1f}" y="{y + 14}">'
            f"{markup(usd(direct + shared))}</text>",
        ]
    parts.append("</svg>")
    legend = (
        f'<p class="legend"><span style="background:{DIRECT_COLOUR}"></span>direct'
        f'<span style="background:{SHARED_COLOUR}"></span>shared</p>'
    )
    return "".join(parts) + legend


def _row(row: AllocationRow, trued_up: bool) -> str:
    shared_from = "; ".join(f"{part.source} {usd(part.amount)}" for part in row.shared_from)
    kind = " (nobody could receive it)" if row.kind == "unassigned-shared" else ""
    cells = [
        _cell(row.project + kind),
        _cell(row.team),
        _cell(row.cost_center),
        _money_cell(row.direct),
        _money_cell(row.shared),
        _money_cell(row.total),
    ]
    if trued_up:
        cells.append(_money_cell(row.billed))
    cells.append(_cell(shared_from))
    return "<tr>" + "".join(cells) + "</tr>"


def _cards(report: AllocationReport) -> str:
    totals = report.totals
    cards = [("Metered", usd(totals.metered), f"{totals.records:,} usage records")]
    if totals.billed is not None:
        source = report.reconciliation.source if report.reconciliation else "Cost Explorer"
        cards.append(("Billed", usd(totals.billed), source))
        cards.append(
            ("Metered - billed", signed_usd(totals.variance or Decimal(0)), pct(totals.variance_pct))
        )
        rec = report.reconciliation
        if rec is not None and rec.group_billed is not None:
            cards.append(("Metered share", share(rec.metered_share_pct), "of the bill, by usage type"))
    else:
        cards.append(("Billed", "not reconciled", "see the notes"))
    cards += [
        ("Shared pool", usd(totals.shared_pool), f"split {report.policy.split.value}"),
        ("No project tag", usd(totals.untagged), "metered without a project"),
        (
            "Unpriced",
            f"{totals.unpriced_records} record{'' if totals.unpriced_records == 1 else 's'}",
            f"{totals.unpriced_instance_hours:,.2f} instance-hours, no known price",
        ),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><span>{markup(title)}</span><b>{markup(value)}</b>'
            f"<span>{markup(note)}</span></div>"
            for title, value, note in cards
        )
        + "</div>"
    )


def _reconciliation(report: AllocationReport) -> str:
    rec = report.reconciliation
    if rec is None:
        return "<p class=muted>Not reconciled with the bill this time (see the notes).</p>"
    estimated = (
        ' <span class="warn">Cost Explorer still marks this month as estimated.</span>'
        if rec.estimated
        else ""
    )
    rows = "".join(
        "<tr>"
        + _cell(v.project)
        + _money_cell(v.metered)
        + _money_cell(v.billed)
        + _cell(signed_usd(v.variance), number=True)
        + _cell(pct(v.variance_pct), number=True)
        + "</tr>"
        for v in rec.projects
    )
    return (
        f"<p>{markup(rec.metric.value)} for Amazon SageMaker from {markup(rec.source)}, grouped by the tag "
        f"<code>{markup(rec.tag_key)}</code>.{estimated}</p>"
        '<table><thead><tr><th>Project tag</th><th class="n">Metered</th><th class="n">Billed</th>'
        '<th class="n">Metered - billed</th><th class="n">%</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>" + _by_group(rec)
    )


def _by_group(rec: Reconciliation) -> str:
    """Metered against billed per usage-type group; each column adds up to its total row."""
    if rec.group_billed is None or rec.group_metered is None:
        return ""
    rows = "".join(
        "<tr>"
        + f'<td title="{markup(", ".join(g.usage_types))}">{markup(g.group.value)}</td>'
        + _money_cell(g.metered)
        + _money_cell(g.billed)
        + _cell(signed_usd(g.difference), number=True)
        + _cell(share(g.metered_share_pct), number=True)
        + _cell(g.unpriced_records or "", number=True)
        + "</tr>"
        for g in rec.by_group
    )
    total = (
        '<tr class="total"><td>Total</td>'
        + _money_cell(rec.group_metered)
        + _money_cell(rec.group_billed)
        + _cell(signed_usd(rec.group_metered - rec.group_billed), number=True)
        + _cell(share(rec.metered_share_pct), number=True)
        + _cell(sum(g.unpriced_records for g in rec.by_group) or "", number=True)
        + "</tr>"
    )
    return (
        f"<h3>By usage type</h3><p>The same bill grouped by usage type: sagecost meters "
        f"<b>{markup(share(rec.metered_share_pct))}</b> of it; the rest is charges it does not meter "
        "(or meters at list price above a discount). Unpriced records are billed but metered as nothing.</p>"
        '<table><thead><tr><th>Usage-type group</th><th class="n">Metered</th><th class="n">Billed</th>'
        '<th class="n">Metered - billed</th><th class="n">Metered share</th>'
        '<th class="n">Unpriced records</th></tr></thead>'
        f"<tbody>{rows}{total}</tbody></table>"
    )


def _top_resources(report: AllocationReport) -> str:
    if not report.top_resources:
        return "<p class=muted>No resource had usage this month.</p>"
    rows = "".join(
        "<tr>"
        + _link_cell(r.resource_name, r.console_url)
        + _cell(r.resource_type)
        + _cell(r.project)
        + _cell(f"{r.instance_type} ({r.component})")
        + _cell(f"{r.quantity:,.2f} {r.unit}", number=True)
        + _money_cell(r.cost)
        + "</tr>"
        for r in report.top_resources
    )
    return (
        "<table><thead><tr><th>Resource</th><th>Type</th><th>Project</th><th>Instance</th>"
        f'<th class="n">Usage</th><th class="n">Cost</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _idle_savings(report: AllocationReport) -> str:
    if not report.idle_savings:
        return "<p class=muted>Idle shutdown stopped or deleted nothing this month.</p>"
    rows = "".join(
        "<tr>"
        + _cell(s.project)
        + _cell(s.actions, number=True)
        + _money_cell(s.hourly_usd)
        + _money_cell(s.projected_savings)
        + "</tr>"
        for s in report.idle_savings
    )
    return (
        '<table><thead><tr><th>Project</th><th class="n">Stopped or deleted</th><th class="n">Per hour</th>'
        f'<th class="n">Saved to month end</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def render_html(report: AllocationReport) -> str:
    trued_up = any(row.billed is not None for row in report.rows)
    ordered = sorted(report.rows, key=lambda row: (-row.total, row.project, row.team, row.cost_center))
    head = (
        "<tr><th>Project</th><th>Team</th><th>Cost center</th><th class=n>Direct</th><th class=n>Shared</th>"
        "<th class=n>Total</th>"
        + ("<th class=n>Billed share</th>" if trued_up else "")
        + "<th>Shared from</th></tr>"
    )
    total_cells = "".join(
        [
            '<tr class="total"><td colspan="3">Total</td>',
            _money_cell(sum((row.direct for row in report.rows), Decimal(0))),
            _money_cell(report.totals.shared_pool),
            _money_cell(report.totals.metered),
            _money_cell(report.totals.billed) if trued_up else "",
            "<td></td></tr>",
        ]
    )
    pool = "; ".join(f"{source.source} {usd(source.amount)}" for source in report.shared_pool) or "none"
    notes = "".join(f"<li>{markup(note)}</li>" for note in report.notes)
    title = f"SageMaker chargeback, {month_name(report.month)}"
    body = "".join(_row(row, trued_up) for row in ordered)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{markup(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{markup(title)}</h1>
<p class="sub">Month {markup(report.month)}, amounts in {markup(report.currency)}. Generated
{markup(report.generated_at.strftime("%Y-%m-%d %H:%M UTC"))} by sagecost.</p>
{_cards(report)}
<h2>Cost by project</h2>
{_chart(report)}
<h2>Chargeback</h2>
<p>Shared pool: {markup(pool)}, split <b>{markup(report.policy.split.value)}</b> over the other projects.</p>
<table><thead>{head}</thead><tbody>{body}{total_cells}</tbody></table>
<h2>Against the bill</h2>
{_reconciliation(report)}
<h2>Top resources</h2>
{_top_resources(report)}
<h2>Idle shutdown savings</h2>
{_idle_savings(report)}
<h2>Notes</h2>
<ul>{notes or "<li>None.</li>"}</ul>
</body></html>
"""
