"""CloudWatch: endpoint traffic, read in bulk (500 metric series per GetMetricData request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

SERIES_PER_REQUEST = 500
"""GetMetricData's limit of metric queries in one request."""


class EndpointTraffic:
    def __init__(self, client: CloudWatchClient) -> None:
        self.client = client

    def invocations(
        self, variants: Sequence[tuple[str, str]], start: datetime, end: datetime
    ) -> dict[str, Decimal]:
        """Invocations per endpoint over [start, end), summed over its variants (`AWS/SageMaker`,
        dimensions EndpointName + VariantName). A series with no datapoints had no traffic: 0."""
        period = max(60, int((end - start).total_seconds()) // 60 * 60)
        totals: dict[str, Decimal] = {endpoint: Decimal(0) for endpoint, _ in variants}
        for first in range(0, len(variants), SERIES_PER_REQUEST):
            chunk = variants[first : first + SERIES_PER_REQUEST]
            queries: list[Any] = [
                {
                    "Id": f"q{index}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "Invocations",
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": endpoint},
                                {"Name": "VariantName", "Value": variant},
                            ],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for index, (endpoint, variant) in enumerate(chunk)
            ]
            request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
            while True:
                response = self.client.get_metric_data(**request)
                for result in response["MetricDataResults"]:
                    endpoint = chunk[int(result["Id"][1:])][0]
                    totals[endpoint] += sum((Decimal(str(v)) for v in result.get("Values", [])), Decimal(0))
                token = response.get("NextToken")
                if not token:
                    break
                request["NextToken"] = token
        return totals
