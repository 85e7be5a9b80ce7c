"""budget_alerter: budget alerts within minutes of the spend that causes them.

- On the ledger's stream (the template's event filter passes only the month aggregates of projects,
  teams and cost centers, and the run-rate item the hourly sweep writes): threshold and forecast
  crossings and burn rates, each sent once per (budget, kind, threshold, month) however often the stream
  redelivers. A record that fails (SNS down) fails alone (ReportBatchItemFailures); the stream retries it,
  bisects the batch, and after its retries hands it to the on-failure queue, never dropping it.
- Daily, from EventBridge Scheduler: a digest for every budget still over, which AWS Budgets never sends.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagecost import clock, wiring
from sagecost.observability import logger, metrics, tracer
from sagecost.services.budgets import read_stream_record

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
SETTINGS = wiring.function_settings(wiring.BudgetAlerterSettings)


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> None:
    change = read_stream_record(record.raw_event)
    if change is None:
        return
    for alert in wiring.budget_alerter(wiring.adapters(SETTINGS)).on_change(change, clock.now()):
        metrics.add_metric(name=f"BudgetAlert_{alert.kind.value}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    alerts = wiring.budget_alerter(wiring.adapters(SETTINGS)).digest(clock.now())  # the daily schedule
    logger.info("daily digest sent", extra={"alerts": len(alerts)})
    metrics.add_metric(name="BudgetAlert_digest", unit=MetricUnit.Count, value=len(alerts))
    return {"digest": len(alerts)}
