"""Idle shutdown in the demo: an idle dev endpoint deleted, a dev notebook left on stopped, production left
alone; every warning and action in actions.jsonl at its simulated time, the savings in the month end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagecost.adapters.prices import load_catalog
from sagecost.local.scenario import (
    BUSY_ENDPOINTS,
    DEMO_CONFIG,
    SERVERLESS_TRAFFIC,
    demo_events,
    lost_events,
    messy_lines,
)
from sagecost.local.simulator import SimulationResult, simulate


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationResult]:
    out = tmp_path_factory.mktemp("demo")
    lines = messy_lines(demo_events(7), 7)
    return out, simulate(
        lines,
        out,
        catalog=load_catalog(),
        config=DEMO_CONFIG,
        busy_endpoints=BUSY_ENDPOINTS,
        serverless_traffic=SERVERLESS_TRAFFIC,
        unseen=lost_events(),
    )


def test_the_demo_stops_idle_dev_resources_after_a_warning_and_leaves_production_alone(
    demo: tuple[Path, SimulationResult],
) -> None:
    out, _ = demo
    actions = [json.loads(line) for line in (out / "actions.jsonl").read_text().splitlines()]
    idle = [a for a in actions if a["action"].startswith("idle-")]
    done = {(a["kind"], a["name"]) for a in idle if a["action"].startswith(("idle-stopped", "idle-deleted"))}
    assert ("endpoint", "churn-async") in done
    assert any(kind == "notebook-instance" for kind, _ in done)
    assert all(
        a["environment"] == "dev" for a in idle if a["action"].startswith(("idle-stopped", "idle-deleted"))
    )
    assert not any(a["name"] == "fraud-prod" for a in idle)  # production, never even warned
    for acted in (a for a in idle if a["action"].startswith(("idle-stopped", "idle-deleted"))):
        warning = next(
            w for w in idle if w["name"] == acted["name"] and w["action"].startswith("idle-warning")
        )
        assert warning["at"] < acted["at"] and acted["at"] >= warning["act_at"]
        assert float(acted["projected_savings_usd"]) > 0


def test_the_month_end_report_shows_the_savings_per_project(demo: tuple[Path, SimulationResult]) -> None:
    out, _ = demo
    report = json.loads((out / "allocation" / "2026-10" / "allocation.json").read_text())
    savings = {s["project"]: s for s in report["idle_savings"]}
    assert "churn" in savings and float(savings["churn"]["projected_savings"]) > 0


def test_the_demo_meters_every_kind_and_reconciles_each_usage_type_group(
    demo: tuple[Path, SimulationResult],
) -> None:
    """Issue 12: every kind in the demo month is metered through the real handlers, and the month-end
    reconciliation shows the metered share per usage-type group against a bill of what ran."""
    out, _ = demo
    records = [json.loads(line) for line in (out / "ledger.jsonl").read_text().splitlines()]
    assert {r["component"] for r in records} >= {
        "studio-app",
        "training-warm-pool",
        "serverless-provisioned",
        "serverless-inference",
        "hyperpod",
        "mlflow",
    }
    assert {r["resource_kind"] for r in records} >= {"app", "space", "inference-component", "cluster"}
    # the app whose DeleteApp was lost: closed by the 18:00 sweep, 9 hours (09:00 to 18:00)
    gpu = [r for r in records if r["resource_arn"].endswith("/jupyterlab/churn-gpu")]
    assert sum(float(r["quantity"]) for r in gpu) == 9.0
    # the blue/green deployment's second fleet: 2 instances from 10:08 to 10:40
    assert any(r["line"] == "variant/AllTraffic/new-fleet" for r in records)
    october = json.loads((out / "summary.json").read_text())["allocations"]["2026-10"]
    groups = october["by_usage_type"]["groups"]
    assert groups["Real-time inference"]["metered_share"] == "100.00 %"
    for unpriced in ("HyperPod", "MLflow", "Serverless inference", "Training warm pool"):
        assert groups[unpriced]["metered"] == "0.00" and groups[unpriced]["billed"] != "0.00"
        assert groups[unpriced]["unpriced_records"] > 0
    # of the priced usage, sagecost meters all (more than the discounted bill: the Savings Plan)
    priced = october["priced_usage"]
    assert float(priced["metered_share"].rstrip(" %")) >= 98
