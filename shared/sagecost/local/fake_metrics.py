"""Endpoint traffic in the simulator: the scenario says which endpoints serve requests (events carry no
metrics, and the simulator's endpoints never really run)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass
class ScenarioTraffic:
    busy: Collection[str] | None
    """None: every endpoint is busy."""
    per_hour: Decimal = Decimal(120)
    requests: int = field(default=0)

    def invocations(
        self, variants: Sequence[tuple[str, str]], start: datetime, end: datetime
    ) -> dict[str, Decimal]:
        """What GetMetricData would sum: busy endpoints served `per_hour` requests an hour, others none."""
        self.requests += -(-len(variants) // 500)  # one request per 500 series, as in AWS
        hours = Decimal((end - start).total_seconds()) / 3600
        return {
            endpoint: self.per_hour * hours
            for endpoint, _ in variants
            if self.busy is None or endpoint in self.busy
        }
