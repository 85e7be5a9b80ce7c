"""boto3 clients with the retry policy every adapter shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sagemaker import SageMakerClient

RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=20)
"""Throttling and 5xx are retried with back-off and client-side rate limiting; what still fails goes back
to SQS (and in the end to the DLQ) with the record that needed it."""


def client(service: str, **kwargs: Any) -> Any:
    return boto3.session.Session().client(service, config=RETRIES, **kwargs)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    result: DynamoDBClient = client("dynamodb")
    return result


def sagemaker() -> SageMakerClient:
    result: SageMakerClient = client("sagemaker")
    return result
