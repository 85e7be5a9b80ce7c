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

_DIMENSION_KEYS = {
    Dimension.PROJECT: "by_project",
    Dimension.TEAM: "by_team",
    Dimension.COST_CENTER: "by_cost_center",
}


def month_summary(ledger: DynamoLedger, month: str, records: list[UsageRecord]) -> dict[str, Any]:
    """Cost per project, team and cost center from the month aggregates; unpriced and untagged spelled out."""
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
    metered = total.cost
    return {
        "metered_cost": str(cents(metered)),
        "records": total.records,
        "untagged_cost": untagged,
        "untagged_share_of_project": str(cents(Decimal(100) * Decimal(untagged["project"]) / metered)) + " %"
        if metered
        else "0 %",
        "unpriced": {
            "records": total.unpriced_records,
            "instance_hours": str(micro(total.unpriced_instance_hours)),
            "by_component_and_type": {k: str(micro(v)) for k, v in sorted(unpriced_hours.items())},
        },
        **summary,
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, sort_keys=True, default=str) + "\n")


def write_outputs(
    ledger: DynamoLedger, out: Path, rejected: list[dict[str, Any]], unrouted: dict[str, int]
) -> dict[str, Any]:
    """Write the ledger, the rejections and the summary (the same inputs always give the same files)."""
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
        "months": {month: month_summary(ledger, month, by_month[month]) for month in sorted(by_month)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary
