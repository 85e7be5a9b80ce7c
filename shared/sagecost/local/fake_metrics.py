"""Endpoint traffic in the simulator: the scenario says which endpoints serve requests (events carry no
metrics, and the simulator's endpoints never really run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sagecost.adapters.metrics import SERIES_PER_REQUEST
from sagecost.domain.idleness import MetricSeries
from sagecost.domain.kinds.serverless import HourlySeries


@dataclass
class ScenarioTraffic:
    busy: Collection[str] | None
    """Endpoints (or inference components) that serve requests; None: every endpoint is busy."""
    per_hour: Decimal = Decimal(120)
    requests: int = field(default=0)
    metrics: Counter[str] = field(default_factory=Counter)
    """How many series of each metric were asked for."""

    def read(
        self, series: Sequence[MetricSeries], start: datetime, end: datetime
    ) -> dict[MetricSeries, Decimal | None]:
        """What GetMetricData would answer: a busy endpoint's series count `per_hour` requests an hour
        (whatever the metric its kind publishes: Invocations, InvocationsProcessed, a component's
        Invocations); its backlog and every series of the others are 0."""
        self.requests += -(-len(series) // SERIES_PER_REQUEST)  # one request per 500 series, as in AWS
        self.metrics.update(one.metric for one in series)
        hours = Decimal((end - start).total_seconds()) / 3600
        return {one: self.per_hour * hours if self._busy(one) else Decimal(0) for one in series}

    def _busy(self, series: MetricSeries) -> bool:
        if series.statistic != "Sum":
            return False  # the scenario's busy endpoints keep up: no backlog
        names = (
            value for name, value in series.dimensions if name in {"EndpointName", "InferenceComponentName"}
        )
        return self.busy is None or any(name in self.busy for name in names)


@dataclass
class FakeHourlyMetrics:
    """Serverless variants' CloudWatch metrics hour by hour, as GetMetricData with a 3600 s period answers:
    `points[(endpoint, variant, metric)][hour start] = value`; a metric in `failing` cannot be read."""

    points: dict[tuple[str, str, str], dict[datetime, Decimal]] = field(default_factory=dict)
    failing: Collection[str] = ()
    requests: int = 0

    def hourly(
        self, series: Sequence[HourlySeries], start: datetime, end: datetime
    ) -> dict[HourlySeries, dict[datetime, Decimal] | None]:
        unique = list(dict.fromkeys(series))
        self.requests += -(-len(unique) // SERIES_PER_REQUEST)
        return {
            one: None
            if one.metric in self.failing
            else {
                hour: value
                for hour, value in self.points.get((one.endpoint, one.variant, one.metric), {}).items()
                if start <= hour < end
            }
            for one in unique
        }
