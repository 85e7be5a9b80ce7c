"""tag_enforcer: SageMaker creations (CloudTrail Create* calls, first state changes) checked against the tag
policy: missing tags added, owners told, non-compliant dev jobs stopped after the grace period. A job that
starts is also checked before it spends (pre-flight): its worst case against what is left of its budgets.

Each SQS message is one event (or a recheck the enforcer sent itself). A malformed one is rejected with a
reason and kept in the ledger table; a failing AWS call fails that message alone, for SQS to retry.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagecost import clock, wiring
from sagecost.models.events import InvalidEvent
from sagecost.observability import logger, metrics, tracer
from sagecost.services.budgets import job_start
from sagecost.services.intake import keep_rejected
from sagecost.services.tagging import Created, read_tag_message

processor = BatchProcessor(event_type=EventType.SQS)
SETTINGS = wiring.function_settings(wiring.TagEnforcerSettings)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    adapters = wiring.adapters(SETTINGS)
    enforcer = wiring.tag_enforcer(adapters)
    try:
        message = read_tag_message(record.body)
    except InvalidEvent as rejection:
        keep_rejected(
            enforcer.ledger, record.body, str(rejection), message_id=record.message_id, source="tag_enforcer"
        )
        return
    now = clock.now()
    result = enforcer.handle(message, now)
    check = wiring.preflight(adapters) if isinstance(message, Created) else None
    if check is not None and isinstance(message, Created):
        job = job_start(message, result.decision.additions if result.decision else {})
        if job is not None:
            for alert in check.check(job, now):
                metrics.add_metric(name="BudgetAlert_preflight", unit=MetricUnit.Count, value=1)
                logger.info(
                    "pre-flight alert", extra={"key": alert.key, "stopped": alert.details.get("stopped")}
                )
    logger.info(
        "tag policy applied",
        extra={"outcome": result.outcome, "arn": result.arn, "notices": len(result.notices)},
    )
    metrics.add_metric(name=f"TagPolicy_{result.outcome}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
