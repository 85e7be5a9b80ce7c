"""CloudWatch: endpoint traffic, read in bulk (500 metric series per GetMetricData request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from sagecost.domain.idleness import MetricSeries

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
        queries: list[Any] = [
            {
                "Id": f"q{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": one.namespace,
                        "MetricName": one.metric,
                        "Dimensions": [{"Name": name, "Value": value} for name, value in one.dimensions],
                    },
                    "Period": period,
                    "Stat": one.statistic,
                },
                "ReturnData": True,
            }
            for index, one in enumerate(chunk)
        ]
        values: dict[int, list[Decimal]] = {}
        status: dict[int, str] = {}
        request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            response = self.client.get_metric_data(**request)
            for result in response["MetricDataResults"]:
                index = int(result["Id"][1:])
                values.setdefault(index, []).extend(Decimal(str(v)) for v in result.get("Values", []))
                status[index] = result.get("StatusCode", "Complete")
            token = response.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        readings: dict[MetricSeries, Decimal | None] = {}
        for index, one in enumerate(chunk):
            seen = values.get(index, [])
            total = (
                (max(seen) if one.statistic == "Maximum" else sum(seen, Decimal(0))) if seen else Decimal(0)
            )
            complete = status.get(index) == "Complete"
            readings[one] = total if complete or total else None  # traffic seen is traffic, even partial
        return readings
