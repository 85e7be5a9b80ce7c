"""CloudWatch: endpoint traffic, read in bulk (500 metric series per GetMetricData request): over a window
for the idle reaper, hour by hour for serverless usage estimates."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from sagecost.domain.idleness import MetricSeries
from sagecost.domain.kinds.serverless import NAMESPACE, HourlySeries

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

SERIES_PER_REQUEST = 500
"""GetMetricData's limit of metric queries in one request."""

logger = Logger(service="sagecost")


class EndpointTraffic:
    def __init__(self, client: CloudWatchClient) -> None:
        self.client = client

    def read(
        self, series: Sequence[MetricSeries], start: datetime, end: datetime
    ) -> dict[MetricSeries, Decimal | None]:
        """Each series over [start, end), one datapoint per series: the sum of a `Sum` series, the highest
        value of a `Maximum` one. A series with no datapoints saw nothing: 0. None: it could not be read
        (the request failed, or its status is not `Complete` once every NextToken page is read)."""
        period = max(60, int((end - start).total_seconds()) // 60 * 60)
        unique = list(dict.fromkeys(series))
        readings: dict[MetricSeries, Decimal | None] = {}
        for first in range(0, len(unique), SERIES_PER_REQUEST):
            chunk = unique[first : first + SERIES_PER_REQUEST]
            try:
                readings |= self._read_chunk(chunk, period, start, end)
            except (ClientError, BotoCoreError) as error:
                logger.warning("GetMetricData failed", extra={"series": len(chunk), "error": str(error)})
                readings |= dict.fromkeys(chunk)
        return readings

    def _read_chunk(
        self, chunk: Sequence[MetricSeries], period: int, start: datetime, end: datetime
    ) -> dict[MetricSeries, Decimal | None]:
        queries = [
            _query(index, one.namespace, one.metric, one.dimensions, period, one.statistic)
            for index, one in enumerate(chunk)
        ]
        values: dict[int, list[Decimal]] = {}
        status: dict[int, str] = {}
        for index, result in self._results(queries, start, end):
            values.setdefault(index, []).extend(Decimal(str(v)) for v in result.get("Values", []))
            status[index] = result.get("StatusCode", "Complete")
        readings: dict[MetricSeries, Decimal | None] = {}
        for index, one in enumerate(chunk):
            seen = values.get(index, [])
            total = (
                (max(seen) if one.statistic == "Maximum" else sum(seen, Decimal(0))) if seen else Decimal(0)
            )
            complete = status.get(index) == "Complete"
            readings[one] = total if complete or total else None  # traffic seen is traffic, even partial
        return readings

    def hourly(
        self, series: Sequence[HourlySeries], start: datetime, end: datetime
    ) -> dict[HourlySeries, dict[datetime, Decimal] | None]:
        """Each series hour by hour over [start, end) (whole UTC hours): its datapoint per hour start
        (an hour without one is absent: nothing was served). None: the series could not be read (the
        request failed, or its status is not `Complete`)."""
        unique = list(dict.fromkeys(series))
        readings: dict[HourlySeries, dict[datetime, Decimal] | None] = {}
        for first in range(0, len(unique), SERIES_PER_REQUEST):
            chunk = unique[first : first + SERIES_PER_REQUEST]
            try:
                readings |= self._hourly_chunk(chunk, start, end)
            except (ClientError, BotoCoreError) as error:
                logger.warning("GetMetricData failed", extra={"series": len(chunk), "error": str(error)})
                readings |= dict.fromkeys(chunk)
        return readings

    def _hourly_chunk(
        self, chunk: Sequence[HourlySeries], start: datetime, end: datetime
    ) -> dict[HourlySeries, dict[datetime, Decimal] | None]:
        queries = [
            _query(index, NAMESPACE, one.metric, one.dimensions, 3600, one.statistic)
            for index, one in enumerate(chunk)
        ]
        points: dict[int, dict[datetime, Decimal]] = {}
        status: dict[int, str] = {}
        for index, result in self._results(queries, start, end):
            hours = points.setdefault(index, {})
            for at, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                hours[at.astimezone(UTC)] = Decimal(str(value))
            status[index] = result.get("StatusCode", "Complete")
        return {
            one: points.get(index, {}) if status.get(index, "Complete") == "Complete" else None
            for index, one in enumerate(chunk)
        }

    def _results(
        self, queries: Sequence[dict[str, Any]], start: datetime, end: datetime
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(query index, result) of every page of one GetMetricData request, following NextToken."""
        request: dict[str, Any] = {"MetricDataQueries": list(queries), "StartTime": start, "EndTime": end}
        while True:
            response: Any = self.client.get_metric_data(**request)
            for result in response["MetricDataResults"]:
                yield int(result["Id"][1:]), result
            token = response.get("NextToken")
            if not token:
                return
            request["NextToken"] = token


def _query(
    index: int,
    namespace: str,
    metric: str,
    dimensions: tuple[tuple[str, str], ...],
    period: int,
    statistic: str,
) -> dict[str, Any]:
    return {
        "Id": f"q{index}",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions],
            },
            "Period": period,
            "Stat": statistic,
        },
        "ReturnData": True,
    }
