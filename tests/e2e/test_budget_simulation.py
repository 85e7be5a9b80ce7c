"""Budget alerts in the simulator: sent at the simulated time of the write that crossed the threshold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.simulator import simulate
from sagecost.models.budgets import Budget, BudgetPolicy
from sagecost.models.config import SagecostConfig

START = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
DONE = datetime(2026, 11, 10, 10, 17, 30, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-1", "Environment": "dev", "Owner": "alice"}


def test_the_alert_goes_out_at_the_time_of_the_event_that_crossed_the_threshold(
    tmp_path: Path, prices: PriceBook
) -> None:
    feed = [
        events.training_job(
            "t1", "InProgress", at=START, instance_type="ml.m5.xlarge", start=START, tags=TAGS
        ),
        # 2 x ml.m5.xlarge for 77.5 min at $0.23/h: $0.594 of a $1.00 budget -> crosses 50 %
        events.training_job(
            "t1",
            "Completed",
            at=DONE,
            instance_type="ml.m5.xlarge",
            instance_count=2,
            start=START,
            end=DONE,
            tags=TAGS,
            billable_seconds=int((DONE - START).total_seconds()),
        ),
        # an unrelated event two hours later keeps the virtual clock (and its hourly sweeps) going
        events.training_job(
            "t2", "InProgress", at=DONE + timedelta(hours=2), instance_type="ml.m5.xlarge", tags=TAGS
        ),
    ]
    config = SagecostConfig(budgets=BudgetPolicy(limits=(Budget(project="fraud", monthly=Decimal(1)),)))

    simulate([json.dumps(e) for e in feed], tmp_path, catalog=prices.catalog, config=config)

    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    thresholds = [a for a in alerts if a["attributes"]["kind"] == "threshold"]
    assert [(a["at"], a["json"]["threshold"]) for a in thresholds] == [("2026-11-10T10:17:30+00:00", "50")]
    assert thresholds[0]["subject"].startswith("[sagecost] project:fraud passed 50 % (")
