"""The acceptance of issue 11: the demo month with ~200 hostile lines mixed in (`local/hostile.py`: every
category) is simulated to the end, every line is accounted for, the real projects' money does not move by
a cent, no month is implausible, and every hostile line that is not metered is rejected with a reason.

Each assertion names the hostile categories that break it, so a failure says which kinds of bad input
still get through."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sagecost.adapters.prices import load_catalog
from sagecost.local.hostile import CATEGORIES, HostileLine, HostileMonth, mix_hostile
from sagecost.local.scenario import (
    BUSY_ENDPOINTS,
    DEMO_CONFIG,
    PLATFORM,
    PROJECTS,
    SERVERLESS_TRAFFIC,
    demo_events,
    lost_events,
    messy_lines,
)
from sagecost.local.simulator import SimulationResult, read_event_lines, simulate

pytestmark = pytest.mark.slow

PLAUSIBLE_FACTOR = Decimal(10)
"""No month may cost more than this many times the clean month."""
REAL_PROJECTS = [project.name for project in (*PROJECTS, PLATFORM)]


@dataclass
class Run:
    out: Path
    result: SimulationResult | None
    error: BaseException | None
    lines: list[str]

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = json.loads((self.out / "summary.json").read_text(encoding="utf-8"))
        return summary

    def jsonl(self, name: str) -> list[dict[str, Any]]:
        text = (self.out / name).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.split("\n") if line]


def replay(lines: list[str], out: Path) -> Run:
    try:
        result = simulate(
            lines,
            out,
            catalog=load_catalog(),
            config=DEMO_CONFIG,
            busy_endpoints=BUSY_ENDPOINTS,
            serverless_traffic=SERVERLESS_TRAFFIC,
            unseen=lost_events(),
        )
    except Exception as error:  # the first acceptance bullet: it must finish; the test says how it did not
        return Run(out, None, error, lines)
    return Run(out, result, None, lines)


@pytest.fixture(scope="module")
def month() -> HostileMonth:
    return mix_hostile(messy_lines(demo_events(7), 7), seed=11)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = replay(messy_lines(demo_events(7), 7), tmp_path_factory.mktemp("clean"))
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, month: HostileMonth) -> Run:
    """The mixed month as a user would hand it over: a file, read back line by line."""
    folder = tmp_path_factory.mktemp("hostile")
    events_file = folder / "events.jsonl"
    events_file.write_text("\n".join(month.lines) + "\n", encoding="utf-8")
    return replay(read_event_lines(events_file), folder / "out")


def finished(run: Run) -> SimulationResult:
    assert run.error is None, f"simulate died: {type(run.error).__name__}: {run.error}"
    assert run.result is not None
    return run.result


def by_category(failures: dict[int, str], month: HostileMonth) -> str:
    """The failing lines grouped by hostile category: how many of each, and the first few."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for number, why in sorted(failures.items()):
        grouped[month.hostile[number].category].append(f"line {number}: {why}")
    totals = {
        category: sum(h.category == category for h in month.hostile.values()) for category in CATEGORIES
    }
    return "\n".join(
        f"{category}: {len(rows)} of {totals[category]} lines, e.g.\n    " + "\n    ".join(rows[:3])
        for category, rows in sorted(grouped.items())
    )


def metered_resources(run: Run) -> set[str]:
    return {str(record["resource_name"]) for record in run.jsonl("ledger.jsonl")} | {
        str(record["resource_arn"]).rsplit("/", 1)[-1] for record in run.jsonl("ledger.jsonl")
    }


def is_metered(line: HostileLine, metered: set[str]) -> bool:
    return line.resource in metered or line.resource.lower() in metered


def test_the_mix_has_about_200_hostile_lines_of_every_category(month: HostileMonth) -> None:
    counts = {
        category: sum(h.category == category for h in month.hostile.values()) for category in CATEGORIES
    }
    assert all(count >= 12 for count in counts.values()), counts
    assert 190 <= len(month.hostile) <= 230
    assert mix_hostile(messy_lines(demo_events(7), 7), seed=11) == month  # deterministic


def test_simulate_finishes(hostile: Run) -> None:
    finished(hostile)


def test_every_line_is_accounted_for(hostile: Run, month: HostileMonth) -> None:
    result = finished(hostile)
    lines = hostile.summary["lines"]
    fates = {fate: lines[fate] for fate in ("delivered", "rejected", "unrouted", "blank")}
    assert lines["read"] == result.lines == len(month.lines), (lines, len(month.lines))
    assert sum(fates.values()) == len(month.lines), fates
    assert sum(lines["rejected_by_reason"].values()) == lines["rejected"]


def test_the_real_projects_totals_are_those_of_the_clean_month_to_the_cent(
    clean: Run, hostile: Run, month: HostileMonth
) -> None:
    finished(hostile)
    wanted = {
        month: {p: figures["by_project"].get(p) for p in REAL_PROJECTS}
        for month, figures in clean.summary["months"].items()
    }
    got = {
        month: {
            p: hostile.summary["months"].get(month, {}).get("by_project", {}).get(p) for p in REAL_PROJECTS
        }
        for month in wanted
    }
    assert set(wanted) == {"2026-10", "2026-11"}
    changed = {
        (month, project): (got[month][project], wanted[month][project])
        for month in wanted
        for project in REAL_PROJECTS
        if got[month][project] != wanted[month][project]
    }
    claimed = [
        f"{record['month']} {record['tags']['project']} {record['cost']}: {hostile_line.category}"
        for record in hostile.jsonl("ledger.jsonl")
        if record["tags"]["project"] in REAL_PROJECTS
        for hostile_line in month.hostile.values()
        if is_metered(hostile_line, {str(record["resource_name"])})
    ]
    assert not changed, (
        f"(month, project): (with hostile lines, clean) {changed}; hostile lines metered to a real project: "
        f"{claimed or 'none (then the clock or the fake moved it)'}"
    )


def test_no_month_is_implausible(clean: Run, hostile: Run, month: HostileMonth) -> None:
    finished(hostile)
    costs: dict[int, Decimal] = defaultdict(Decimal)
    for record in hostile.jsonl("ledger.jsonl"):
        for number, hostile_line in month.hostile.items():
            if record["cost"] is not None and is_metered(hostile_line, {str(record["resource_name"])}):
                costs[number] += Decimal(record["cost"])
    dearest = sorted(costs.items(), key=lambda item: -item[1])[:5]
    dearest_lines = [f"line {n} ({month.hostile[n].category}): {cost:.2f} USD" for n, cost in dearest]
    clean_months = clean.summary["months"]
    bound = {month: PLAUSIBLE_FACTOR * Decimal(f["metered_cost"]) for month, f in clean_months.items()}
    implausible = {
        month: figures["metered_cost"]
        for month, figures in hostile.summary["months"].items()
        if month not in bound or Decimal(figures["metered_cost"]) > bound[month]
    }
    assert not implausible, (
        f"months the clean run does not have, or costing more than {PLAUSIBLE_FACTOR} times the clean "
        f"month ({ {m: str(b) for m, b in bound.items()} }): {implausible}; "
        f"dearest hostile lines {dearest_lines}"
    )


def test_every_hostile_line_not_metered_is_rejected_with_a_reason(hostile: Run, month: HostileMonth) -> None:
    result = finished(hostile)
    reasons: dict[int, list[str]] = defaultdict(list)
    for rejection in hostile.jsonl("rejected.jsonl"):
        reasons[int(rejection["line"])].append(str(rejection["reason"]))
    unrouted = set(result.unrouted_lines)
    metered = metered_resources(hostile)
    failures: dict[int, str] = {}
    for number, line in month.hostile.items():
        if number in unrouted:
            if line.routable:
                failures[number] = "counted as unrouted, yet its source and detail-type are routed"
            continue
        if is_metered(line, metered):
            continue
        if not reasons.get(number):
            failures[number] = f"neither metered nor rejected: {line.text[:160]!r}"
        elif not all(reason.strip() for reason in reasons[number]):
            failures[number] = "rejected without a reason"
    assert not failures, "hostile lines silently dropped, by category:\n" + by_category(failures, month)


def test_every_hostile_line_aws_could_send_is_metered(hostile: Run, month: HostileMonth) -> None:
    finished(hostile)
    metered = metered_resources(hostile)
    reasons = {int(r["line"]): r["reason"] for r in hostile.jsonl("rejected.jsonl")}
    failures = {
        number: f"not metered ({reasons.get(number, 'not rejected either')})"
        for number, line in month.hostile.items()
        if line.legal and not is_metered(line, metered)
    }
    assert not failures, "legal lines that were not metered, by category:\n" + by_category(failures, month)


def test_only_lines_no_rule_routes_are_unrouted(hostile: Run, month: HostileMonth) -> None:
    result = finished(hostile)
    clean_unrouted = {"aws.ec2: EC2 Instance State-change Notification"}
    unexpected = {n for n in result.unrouted_lines if n not in month.hostile}
    assert len(unexpected) == 1, unexpected  # the demo's own EC2 event
    assert set(result.unrouted) >= clean_unrouted


def test_every_scheduled_run_and_month_end_allocation_completes(hostile: Run) -> None:
    result = finished(hostile)
    failed_runs = sorted({r.reason for r in result.rejected if r.line == 0 and "scheduled run" in r.reason})
    failed_allocations = {m: a["failed"] for m, a in hostile.summary["allocations"].items() if "failed" in a}
    assert not failed_runs and not failed_allocations, (
        f"month-end allocations that failed: {failed_allocations}; scheduled runs that failed: {failed_runs}"
    )
