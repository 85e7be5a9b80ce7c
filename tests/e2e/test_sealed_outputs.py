"""A state change that arrives after its usage was sealed (2 days) is not applied: it must not vanish
either. It is kept as a rejection with reason `sealed` (rejected.jsonl), counted in summary.json and
noted in the month report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.simulator import simulate

# The handlers import the X-Ray SDK, whose recorder creates a UDP socket on first import: pytest-socket
# allows that while tests are collected, not while they run. Imported here, the replay stays socket-free.
from usage_recorder import handler as _recorder  # noqa: F401
from usage_sweeper import handler as _sweeper  # noqa: F401

T0 = datetime(2026, 11, 10, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-1", "Owner": "alice"}


def endpoint(status: str, at: datetime, count: int, *, delivered: datetime | None = None) -> str:
    event: dict[str, Any] = events.endpoint(
        "ep-late", status, at=at, config_name="cfg-late", variants=[("AllTraffic", count)], tags=TAGS
    )
    if delivered is not None:
        event["time"] = delivered.isoformat()
    return json.dumps(event)


def test_a_change_delivered_after_the_seal_is_kept_as_sealed_and_counted(
    tmp_path: Path, prices: PriceBook
) -> None:
    # Given an endpoint in service for 4 days, the change that doubled it on day 1 delivered on day 4
    late = endpoint("UPDATING", T0 + timedelta(days=1), 2, delivered=T0 + timedelta(days=4))
    lines = [
        json.dumps(events.endpoint_config("cfg-late", [("AllTraffic", "ml.m5.xlarge", 1)], at=T0)),
        endpoint("IN_SERVICE", T0 + timedelta(minutes=5), 1),
        late,
        endpoint("DELETING", T0 + timedelta(days=4, hours=1), 2),
    ]

    # When the lines are simulated
    out = tmp_path / "out"
    simulate(lines, out, catalog=prices.catalog)

    # Then the late change is in rejected.jsonl with reason `sealed`, on its own line number
    rejected = [json.loads(row) for row in (out / "rejected.jsonl").read_text().splitlines()]
    sealed = [r for r in rejected if r["reason"].endswith("sealed")]
    assert [(r["line"], r["raw"]) for r in sealed] == [(3, late)]
    # and summary.json counts it under November, the month whose usage it would have moved
    summary = json.loads((out / "summary.json").read_text())
    assert summary["months"]["2026-11"]["sealed"] == {"changes": 1, "unmetered_gaps": 0}
    # and the month report says so
    report = (out / "allocation" / "2026-11" / "summary.txt").read_text()
    assert "sealed: 1 state change event(s)" in report
