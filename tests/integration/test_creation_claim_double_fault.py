"""The tag enforcer's creation claim when the notice fails and giving the claim back fails too: the claim
expires before SQS's retry (visibility timeout), so the retry tags and tells exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from tests.integration.test_budget_alerts import FlakyNotifier
from tests.integration.test_tag_enforcer import (  # noqa: F401 (fixtures)
    T0,
    alerts,
    create_call,
    create_training_job,
    enforcer,
    notices,
    sqs_batch,
    tags_of,
)

from sagecost import clock
from sagecost.adapters.ledger import DynamoLedger
from sagecost.services.tagging import CLAIM_LEASE, TagEnforcer
from tag_enforcer.handler import lambda_handler as enforce_batch

VISIBILITY_TIMEOUT = timedelta(seconds=360)  # template.yaml, TagQueue


def test_a_failing_notice_and_a_failing_release_still_tag_and_tell_exactly_once(
    enforcer: TagEnforcer,  # noqa: F811
    ledger: DynamoLedger,
    alerts: tuple[str, str],  # noqa: F811
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert CLAIM_LEASE < VISIBILITY_TIMEOUT
    arn = create_training_job("double-fault", {})
    call = create_call("CreateTrainingJob", arn, {"trainingJobName": "double-fault"})

    def unreachable(*_: Any) -> None:
        raise ConnectionError("DynamoDB is unreachable")

    enforcer.notifier = FlakyNotifier(enforcer.notifier, failures=1)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "release_action", unreachable)
        with pytest.raises(BatchProcessingError):
            enforce_batch(sqs_batch(call), lambda_context)
    assert notices(alerts) == []
    # a duplicate creation event while the claim holds: handled (by the claim's holder), nothing twice
    assert enforce_batch(sqs_batch(call), lambda_context)["batchItemFailures"] == []
    assert notices(alerts) == []

    clock.use(lambda: T0 + timedelta(minutes=1) + VISIBILITY_TIMEOUT)  # SQS's retry
    assert enforce_batch(sqs_batch(call), lambda_context)["batchItemFailures"] == []
    assert enforce_batch(sqs_batch(call), lambda_context)["batchItemFailures"] == []

    assert len(notices(alerts)) == 1
    (action,) = ledger.actions()
    assert "action_state" not in action and tags_of(arn)["Project"] == "unassigned"
