"""usage_recorder: SageMaker state changes, delivered by the usage queue, become priced usage records.

Each SQS message is one EventBridge event. A malformed, unknown or implausible event (InvalidEvent, from
the model or from the metering rules, before anything is written) is rejected with a reason, kept in the
ledger table for an operator, and acknowledged; a failing AWS call fails that message alone, which SQS
retries and finally parks in the dead-letter queue (ReportBatchItemFailures).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagecost import clock, wiring
from sagecost.models.events import InvalidEvent, parse_event_json
from sagecost.observability import logger, metrics, tracer
from sagecost.services.intake import keep_rejected, refuse_forbidden_tags
from sagecost.services.usage import Source

processor = BatchProcessor(event_type=EventType.SQS)
SETTINGS = wiring.function_settings(wiring.UsageRecorderSettings)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    meter = wiring.usage_meter(wiring.adapters(SETTINGS))
    try:
        event = parse_event_json(record.body, now=clock.now())
        refuse_forbidden_tags(event)
        logger.set_correlation_id(event.id)
        result = meter.record(event)
    except InvalidEvent as rejection:
        keep_rejected(
            meter.ledger, record.body, str(rejection), message_id=record.message_id, source="usage_recorder"
        )
        return
    logger.info(
        "event metered",
        extra={
            "outcome": result.outcome,
            "detail": result.detail,
            "records": len(result.records),
            "cost": str(result.cost),
            "detail_type": event.detail_type,
            "notes": list(event.detail.tag_notes),
        },
    )
    metrics.add_metric(name="UsageRecords", unit=MetricUnit.Count, value=len(result.records))
    if result.unpriced:
        metrics.add_metric(name="UnpricedRecords", unit=MetricUnit.Count, value=result.unpriced)
    if result.too_late:
        metrics.add_metric(name="TooLateTransitions", unit=MetricUnit.Count, value=result.too_late)
        meter.keep_sealed(result.sealed, clock.now(), source=Source.RECORDER, raw=record.body)
    if result.outcome == "duplicate":
        metrics.add_metric(name="DuplicateEvents", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
