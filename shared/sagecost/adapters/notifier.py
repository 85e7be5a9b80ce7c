"""SNS: messages people read, with attributes subscribers filter on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

SUBJECT_LIMIT = 100  # SNS rejects longer subjects


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str
    attributes: dict[str, str]


class Notifier(Protocol):
    def publish(self, notice: Notice) -> None: ...


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, notice: Notice) -> None:
        subject = notice.subject if len(notice.subject) <= SUBJECT_LIMIT else notice.subject[:97] + "..."
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=notice.body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in notice.attributes.items()
                if value
            },
        )
