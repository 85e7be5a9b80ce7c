"""What a simulation leaves behind: ledger.jsonl, rejected.jsonl and summary.json."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.money import cents, micro
from sagecost.models.ledger import UNTAGGED, Dimension, UsageRecord
from sagecost.services.usage import Source

_DIMENSION_KEYS = {
    Dimension.PROJECT: "by_project",
    Dimension.TEAM: "by_team",
    Dimension.COST_CENTER: "by_cost_center",
}


def _share(part: Decimal, whole: Decimal) -> str:
    return f"{cents(Decimal(100) * part / whole)} %" if whole else "0 %"


def month_summary(
    ledger: DynamoLedger, month: str, records: list[UsageRecord], projects_added: dict[str, str] | None = None
) -> dict[str, Any]:
    """Cost per project, team and cost center from the month aggregates; unpriced, untagged and sealed
    (state changes that came after the seal: events, and what the sweep saw) spelled out.

    `projects_added` (resource ARN -> the project value the tag enforcer added) says which spend would
    have had no project without the tag policy: the untagged share before and after it.
    """
    aggregates = ledger.aggregates(month)
    summary: dict[str, Any] = {key: {} for key in _DIMENSION_KEYS.values()}
    total = ledger.month_total(month, aggregates)
    for aggregate in sorted(aggregates, key=lambda a: (a.dimension, -a.cost, a.value)):
        if aggregate.dimension in _DIMENSION_KEYS and aggregate.records:
            summary[_DIMENSION_KEYS[aggregate.dimension]][aggregate.value] = str(cents(aggregate.cost))
    unpriced_hours: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        if record.unpriced:
            unpriced_hours[f"{record.component.value} {record.instance_type}"] += record.quantity
    untagged = {
        dimension.value: str(
            cents(
                sum(
                    (a.cost for a in aggregates if a.dimension is dimension and a.value == UNTAGGED),
                    Decimal(0),
                )
            )
        )
        for dimension in _DIMENSION_KEYS
    }
    sealed = ledger.sealed(month)
    metered = total.cost
    added = projects_added or {}
    attributed_by_policy = sum(
        (r.cost for r in records if r.cost is not None and added.get(r.resource_arn) == r.tags.project),
        Decimal(0),
    )
    return {
        "metered_cost": str(cents(metered)),
        "records": total.records,
        "untagged_cost": untagged,
        "untagged_share_of_project": _share(Decimal(untagged["project"]), metered),
        "tag_policy": {
            "project_added_to_cost": str(cents(attributed_by_policy)),
            "untagged_share_before": _share(Decimal(untagged["project"]) + attributed_by_policy, metered),
            "untagged_share_after": _share(Decimal(untagged["project"]), metered),
        },
        "unpriced": {
            "records": total.unpriced_records,
            "instance_hours": str(micro(total.unpriced_instance_hours)),
            "by_component_and_type": {k: str(micro(v)) for k, v in sorted(unpriced_hours.items())},
        },
        "sealed": {
            "changes": sealed.get(Source.RECORDER.value, 0),
            "unmetered_gaps": sealed.get(Source.SWEEPER.value, 0),
        },
        **summary,
    }


def by_usage_type(reconciliation: dict[str, Any] | None) -> dict[str, Any] | None:
    """The month's reconciliation per usage-type group, from its `allocation.json`'s: each group's metered
    and billed cost and metered share, the totals they add up to, and the metered share of the bill."""
    if not reconciliation or reconciliation.get("group_billed") is None:
        return None
    return {
        "metered": reconciliation["group_metered"],
        "billed": reconciliation["group_billed"],
        "metered_share": _percent(reconciliation["metered_share_pct"]),
        "groups": {
            group["group"]: {
                "metered": group["metered"],
                "billed": group["billed"],
                "difference": group["difference"],
                "metered_share": _percent(group["metered_share_pct"]),
                "unpriced_records": group["unpriced_records"],
                "usage_types": group["usage_types"],
            }
            for group in reconciliation["by_group"]
        },
    }


def _percent(value: str | None) -> str | None:
    return None if value is None else f"{value} %"


def _allocation(out: Path, result: dict[str, Any]) -> dict[str, Any]:
    """What summary.json keeps of one month's allocation: the allocator's answer but where its files are,
    and the reconciliation by usage type from the files themselves."""
    kept = {key: value for key, value in result.items() if key != "location"}
    written = out / str(result.get("location", "")) / "allocation.json"
    if "location" in result and written.is_file():
        report = json.loads(written.read_text(encoding="utf-8"))
        if (groups := by_usage_type(report.get("reconciliation"))) is not None:
            kept["by_usage_type"] = groups
    return kept


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, sort_keys=True, default=str) + "\n")


def write_outputs(
    ledger: DynamoLedger,
    out: Path,
    rejected: list[dict[str, Any]],
    unrouted: dict[str, int],
    projects_added: dict[str, str] | None = None,
    allocations: dict[str, dict[str, Any]] | None = None,
    *,
    lines: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the ledger, the rejections and the summary (the same inputs always give the same files).

    `allocations` is what the cost allocator returned per month (its files are under `allocation/`);
    `lines`, what became of every input line (delivered, rejected, unrouted, blank)."""
    out.mkdir(parents=True, exist_ok=True)
    records = sorted(ledger.records(), key=lambda r: r.record_id)
    with (out / "ledger.jsonl").open("w", encoding="utf-8") as ledger_file:
        for record in records:
            ledger_file.write(record.model_dump_json() + "\n")
    with (out / "rejected.jsonl").open("w", encoding="utf-8") as rejected_file:
        for rejection in rejected:
            rejected_file.write(json.dumps(rejection, sort_keys=True) + "\n")
    by_month: dict[str, list[UsageRecord]] = defaultdict(list)
    for record in records:
        by_month[record.month].append(record)
    summary = {
        "currency": "USD",
        "records": len(records),
        "rejected": len(rejected),
        "unrouted_events": dict(sorted(unrouted.items())),
        "months": {
            month: month_summary(ledger, month, by_month[month], projects_added) for month in sorted(by_month)
        },
        "allocations": {
            month: _allocation(out, result) for month, result in sorted((allocations or {}).items())
        },
    }
    if lines is not None:
        summary["lines"] = lines
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary
