"""usage_sweeper: hourly, meters what runs on (endpoints, notebooks) and heals missed state changes.

A long-lived endpoint appears in the ledger within the hour, not only when it is deleted; an endpoint or
notebook whose events never came is opened or closed from what SageMaker lists; instance-count changes
from autoscaling are sampled from DescribeEndpoint.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagecost import clock, wiring
from sagecost.observability import logger, metrics, tracer

SETTINGS = wiring.function_settings(wiring.UsageSweeperSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = wiring.usage_meter(wiring.adapters(SETTINGS)).sweep(clock.now())
    logger.info("sweep done", extra=vars(report) | {"cost": str(report.cost)})
    metrics.add_metric(name="SweptResources", unit=MetricUnit.Count, value=report.resources)
    metrics.add_metric(name="UsageRecords", unit=MetricUnit.Count, value=report.records)
    if report.unpriced:
        metrics.add_metric(name="UnpricedRecords", unit=MetricUnit.Count, value=report.unpriced)
    return {"resources": report.resources, "records": report.records, "closed": report.closed}
