"""Shared fixtures. The fake AWS environment is set before anything imports boto3 or a handler."""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LEDGER_TABLE_NAME": "sagecost-ledger-test",
        # what template.yaml gives each function: handlers validate their settings when imported
        "SAGECOST_CONFIG_PARAMETER": "/sagecost/test/config",
        "SAGECOST_PRICES_PARAMETER": "/sagecost/test/prices",
        "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:sagecost-alerts",
        "TAG_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sagecost-tags",
        "REPORTS_BUCKET": "sagecost-reports-test",
        "REPORTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:sagecost-reports",
        "POWERTOOLS_SERVICE_NAME": "sagecost-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "sagecost",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }
)

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from sagecost import wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.prices import load_catalog
from sagecost.domain.pricing import PriceBook
from sagecost.local.template import load_template, table_create_args
from sagecost.models.prices import Component, Price, PriceCatalog, storage_type

# The handlers' Tracer (X-Ray SDK) opens a UDP socket when first built: pytest-socket allows that while
# tests are collected, not while they run. Built here, no test's first handler import trips it.
from sagecost.observability import tracer as _tracer  # noqa: F401

TABLE = os.environ["LEDGER_TABLE_NAME"]


@dataclass
class FakeLambdaContext:
    function_name: str = "sagecost-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sagecost-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def _fresh_wiring() -> Iterator[None]:
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def ledger(aws: None) -> DynamoLedger:
    """The ledger table exactly as template.yaml defines it, on moto."""
    client = boto3.client("dynamodb")
    client.create_table(**table_create_args(load_template(), table_name=TABLE))
    return DynamoLedger(client, TABLE)


TEST_RATES = {
    ("training", "ml.g5.xlarge"): "1.408",
    ("training", "ml.m5.xlarge"): "0.23",
    ("training", "ml.p4d.24xlarge"): "37.688",
    ("training", "ml.c5.xlarge"): "0.204",
    ("processing", "ml.m5.xlarge"): "0.23",
    ("batch-transform", "ml.m5.xlarge"): "0.23",
    ("hosting", "ml.m5.xlarge"): "0.23",
    ("hosting", "ml.c5.xlarge"): "0.204",
    ("hosting", "ml.g5.xlarge"): "1.408",
    ("hosting", "ml.g5.12xlarge"): "7.09",  # inference components (issue 12)
    ("async-inference", "ml.m5.xlarge"): "0.23",
    ("notebook", "ml.t3.medium"): "0.05",
    ("serverless-provisioned", "serverless-4096mb"): "0.1",
    ("serverless-inference", "serverless-4096mb"): "0.288",
    ("serverless-inference", "serverless-2048mb"): "0.144",
    ("studio-app", "ml.g5.xlarge"): "1.41",
    # issue 12 (helper e): warm pools, MLflow, HyperPod
    ("training-warm-pool", "ml.m5.xlarge"): "0.23",
    ("mlflow", "Small"): "0.6",
    ("mlflow", "Medium"): "1.2",
    ("hyperpod", "ml.g5.12xlarge"): "7.09",
    ("hyperpod", "ml.m5.xlarge"): "0.23",
    **{
        ("ml-storage", storage_type(Component(component))): "0.14"
        for component in (
            "training",
            "processing",
            "batch-transform",
            "hosting",
            "async-inference",
            "notebook",
            "studio-app",
        )
    },
}


@pytest.fixture(scope="session")
def prices() -> PriceBook:
    """A small catalog with round, known rates: tests compute what they expect from it."""
    return PriceBook(
        PriceCatalog(
            generated=date(2026, 11, 1),
            sources={"test": "rates chosen for the tests"},
            prices=tuple(
                Price(
                    region="us-east-1",
                    component=Component(component),
                    instance_type=instance_type,
                    unit="GB-month" if component == "ml-storage" else "hour",
                    usd=Decimal(usd),
                    source="test",
                    as_of=date(2026, 11, 1),
                )
                for (component, instance_type), usd in TEST_RATES.items()
            ),
        )
    )


@pytest.fixture(scope="session")
def shipped_prices() -> PriceBook:
    return PriceBook(load_catalog())


def stack_parameters(config: str = "{}", prices: str = "{}") -> None:
    """The config and price-override parameters as the stack creates them (`{}`: defaults, no override)."""
    ssm = boto3.client("ssm")
    for name, value in (("SAGECOST_CONFIG_PARAMETER", config), ("SAGECOST_PRICES_PARAMETER", prices)):
        ssm.put_parameter(Name=os.environ[name], Value=value, Type="String", Overwrite=True)


def topic_with_inbox(name: str) -> tuple[str, str]:
    """An SNS topic with an SQS queue subscribed to it, to read what was published: (topic ARN, queue URL)."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["QueueArn"])
    return topic, queue_url
