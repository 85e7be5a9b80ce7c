"""SQS: the tag enforcer's delayed messages to itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagecost.models.tagging import Recheck

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsRecheckQueue:
    """Sends a Recheck to the tag queue, delayed (SQS allows up to 15 minutes per hop)."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def __call__(self, recheck: Recheck, delay_seconds: int) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url, MessageBody=recheck.model_dump_json(), DelaySeconds=delay_seconds
        )
