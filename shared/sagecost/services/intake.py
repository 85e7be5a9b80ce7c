"""What every queue-fed function does with a message it cannot use: say why, count it, keep it."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from sagecost import clock
from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.tag_policy import MAX_TAGS_PER_RESOURCE as MAX_USER_TAGS
from sagecost.domain.tags import forbidden_tag
from sagecost.models.events import InvalidEvent, SageMakerEvent
from sagecost.observability import logger, metrics


def keep_rejected(ledger: DynamoLedger, body: str, reason: str, *, message_id: str, source: str) -> None:
    """Log the reason, count a RejectedEvents metric, and keep the message in the ledger table (30 days),
    so the batch goes on and an operator can read what was refused and why."""
    logger.warning("event rejected", extra={"reason": reason, "message_id": message_id})
    metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)
    ledger.reject(body, reason, clock.now(), source=source)


def refuse_forbidden_tags(event: SageMakerEvent) -> None:
    """Raise InvalidEvent for tags SageMaker itself would refuse (a key or value outside its pattern or
    lengths, more than its 50 user tags a resource): such an event did not come from SageMaker."""
    tags = getattr(event.detail, "tags", None) or {}
    for key, value in tags.items():
        reason = forbidden_tag(key, value)
        if reason is not None:
            raise InvalidEvent(reason)
    # system tags (aws:, and sagemaker: that Studio adds) are left out of the count, to never refuse a
    # real event over them
    user_tags = [key for key in tags if not key.lower().startswith(("aws:", "sagemaker:"))]
    if len(user_tags) > MAX_USER_TAGS:
        raise InvalidEvent(
            f"{len(user_tags)} tags: a SageMaker resource holds at most {MAX_USER_TAGS} (system tags aside)"
        )
