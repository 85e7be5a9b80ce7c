"""SNS: messages people read, with attributes subscribers filter on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sagecost.reports.safe_text import line

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

SUBJECT_LIMIT = 100  # SNS rejects longer subjects


@dataclass(frozen=True)
class Notice:
    """A message: `body` for people (email); `data`, if any, the JSON form for machines (SQS, Lambda and
    HTTPS subscribers get it instead of the text, through SNS's per-protocol message structure)."""

    subject: str
    body: str
    attributes: dict[str, str]
    data: dict[str, Any] | None = field(default=None, compare=False)

    def structured(self) -> str | None:
        """The SNS `MessageStructure=json` message: text by default, the JSON for machine protocols."""
        if self.data is None:
            return None
        machine = json.dumps(self.data, sort_keys=True)
        return json.dumps(
            {
                "default": self.body,
                "email": self.body,
                "sqs": machine,
                "lambda": machine,
                "https": machine,
                "http": machine,
            }
        )


class Notifier(Protocol):
    def publish(self, notice: Notice) -> None: ...


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, notice: Notice) -> None:
        # SNS refuses a subject with a line break or a control character, or of 100 characters or more
        shown = line(notice.subject)
        subject = shown if len(shown) < SUBJECT_LIMIT else shown[: SUBJECT_LIMIT - 4] + "..."
        structured = notice.structured()
        extra: dict[str, Any] = {"MessageStructure": "json"} if structured else {}
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=structured or notice.body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in notice.attributes.items()
                if value
            },
            **extra,
        )
