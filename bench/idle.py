"""Section 8: `sagecost idle sweep --apply` against a local moto_server, requests counted per operation.

N notebook instances, half of them dev and due (warned three hours ago, still running outside working
hours), half production; then N endpoints of mixed kinds (a quarter each real-time, async, hosting two
inference components, serverless), to count the GetMetricData requests their traffic costs: each kind's
own series (Invocations per variant; InvocationsProcessed per variant and the backlog; Invocations per
component; none for serverless), 500 to a request. As deployed, the ledger's timelines carry each
endpoint's config; inference components come from the ListInferenceComponents fake (moto has none).
Requests are counted on the sweeping process's clients (botocore `before-call`); the server is a separate
process on 127.0.0.1, as an AWS endpoint would be. Studio apps are skipped: moto has none.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bench.tag_sweep import ROLE, moto_server

WARNED = "sagecost:idle-warning"


def _notebooks(url: str, count: int, now: datetime) -> None:
    from sagecost.domain.idleness import IdleWarning

    client: Any = boto3.client("sagemaker", endpoint_url=url)
    warning = IdleWarning(now - timedelta(hours=3), now - timedelta(hours=1)).tag_value()
    for index in range(count):
        environment = "dev" if index % 2 else "prod"
        tags = {"Project": "fraud", "Environment": environment, "Owner": f"user-{index % 10}"}
        if environment == "dev":  # warned by an earlier sweep; production never is
            tags[WARNED] = warning
        client.create_notebook_instance(
            NotebookInstanceName=f"nb-{index}",
            InstanceType="ml.t3.medium",
            RoleArn=ROLE,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )


KINDS = ("real-time", "async", "components", "serverless")


def _endpoints(url: str, count: int) -> dict[str, str]:
    """`count` endpoints, kinds in turn; returns each endpoint's kind."""
    client: Any = boto3.client("sagemaker", endpoint_url=url)
    client.create_model(ModelName="m", PrimaryContainer={"Image": "img"}, ExecutionRoleArn=ROLE)
    instances = {
        "VariantName": "v",
        "ModelName": "m",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    serverless = {
        "VariantName": "v",
        "ModelName": "m",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }
    client.create_endpoint_config(EndpointConfigName="real-time", ProductionVariants=[instances])
    client.create_endpoint_config(EndpointConfigName="components", ProductionVariants=[instances])
    client.create_endpoint_config(
        EndpointConfigName="async",
        ProductionVariants=[instances],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bench/async/"}},
    )
    client.create_endpoint_config(EndpointConfigName="serverless", ProductionVariants=[serverless])
    kinds: dict[str, str] = {}
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        tags = [{"Key": "Environment", "Value": "dev"}, {"Key": "Project", "Value": "fraud"}]
        client.create_endpoint(EndpointName=f"ep-{index}", EndpointConfigName=kind, Tags=tags)
        kinds[f"ep-{index}"] = kind
    return kinds


class _ConfigLedger:
    """The ledger's endpoint timelines as a deployed sweep reads them: each with its config (cached from
    Endpoint Config events), so no DescribeEndpoint or DescribeEndpointConfig is made."""

    def __init__(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds

    def load_timelines(self, arns: Any) -> dict[str, Any]:
        from sagecost.models.ledger import ResourceKind
        from sagecost.models.state import (
            EndpointConfigSnapshot,
            ResourceRefModel,
            ResourceTimeline,
            VariantSpec,
        )

        specs: dict[str, dict[str, Any]] = {
            "real-time": {"instance_type": "ml.m5.large", "hosts_inference_components": False},
            "async": {"instance_type": "ml.m5.large", "hosts_inference_components": False},
            "components": {"instance_type": "ml.g5.xlarge", "hosts_inference_components": True},
            "serverless": {"serverless": True},
        }
        timelines = {}
        for arn in arns:
            name = arn.rsplit("/", 1)[1]
            kind = self.kinds[name]
            config = EndpointConfigSnapshot(
                name=kind,
                arn=arn.replace(":endpoint/", ":endpoint-config/"),
                variants=(VariantSpec(name="v", **specs[kind]),),
                asynchronous=kind == "async",
            )
            region, account = arn.split(":")[3:5]
            resource = ResourceRefModel(
                arn=arn, kind=ResourceKind.ENDPOINT, name=name, region=region, account=account
            )
            timelines[arn] = ResourceTimeline(resource=resource, endpoint_config=config)
        return timelines

    def put_actions(self, actions: Any) -> None:
        return None


def _sweep(
    url: str,
    now: datetime,
    kinds: tuple[str, ...],
    apply: bool,
    ledger: Any = None,
    components: Any = None,
) -> tuple[Counter[str], Any]:
    from sagecost.adapters import aws
    from sagecost.adapters.metrics import EndpointTraffic
    from sagecost.adapters.prices import load_catalog
    from sagecost.adapters.sagemaker import Boto3SageMaker
    from sagecost.adapters.tagging_api import ResourceTags
    from sagecost.domain.pricing import PriceBook
    from sagecost.models.config import SagecostConfig
    from sagecost.models.idle import IdleKind, IdlePolicy, WorkingHours
    from sagecost.services.idle import IdleReaper, UnrecordedLedger

    counts: Counter[str] = Counter()

    def count(**kwargs: Any) -> None:
        model = kwargs.get("model")
        counts[model.name if model else "?"] += 1

    clients = {
        name: aws.client(name, endpoint_url=url)
        for name in ("sagemaker", "resourcegroupstaggingapi", "cloudwatch")
    }
    for client in clients.values():
        client.meta.events.register_first("before-call.*.*", count)

    class Quiet:
        def publish(self, notice: Any) -> None:
            counts["Publish"] += 1  # one notice per owner per run (SNS not counted otherwise)

    policy = IdlePolicy(
        enforce=True,
        kinds=tuple(IdleKind(kind) for kind in kinds),
        working_hours=WorkingHours(days=()),
        max_actions_per_run=1000,
    )
    reaper = IdleReaper(
        sagemaker=Boto3SageMaker(clients["sagemaker"]),
        studio=None,
        traffic=EndpointTraffic(clients["cloudwatch"]),
        tags=ResourceTags(clients["resourcegroupstaggingapi"]).sagemaker_tags,
        ledger=ledger or UnrecordedLedger(),
        notifier=Quiet(),
        prices=PriceBook(load_catalog()),
        config=SagecostConfig(idle=policy),
        inference_components=Boto3SageMaker(components) if components is not None else None,
    )
    return counts, reaper.sweep(now, apply=apply)


def section_idle(count: int) -> None:
    print(f"\n== 8. Idle sweep requests: {count} notebooks (half dev and due), then {count} endpoints ==")
    print("   run:     IdleReaper.sweep (what `sagecost idle sweep --apply` runs) against moto_server")
    print("   target:  at most 600 requests to stop 500 due notebooks (Cloud Custodian: 2,511);")
    print("            at most 20 GetMetricData requests for 1,000 endpoints' traffic")
    print("   note:    no ledger is written (recording is one BatchWriteItem per 25 actions: +20 for 500)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    now = datetime.now(UTC) + timedelta(days=2)
    with moto_server() as url:
        _notebooks(url, count, now)
        began = time.perf_counter()
        counts, report = _sweep(url, now, ("notebook-instance",), apply=True)
        seconds = time.perf_counter() - began
        total = sum(counts.values())
        print(
            f"\n  notebooks: {len(report.acted)} stopped of {len(report.decisions)} running, "
            f"{total} requests in {seconds:.1f} s: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
    with moto_server() as url:
        from sagecost.local.fake_inference_components import (
            FakeInferenceComponent,
            FakeInferenceComponentsClient,
        )

        kinds = _endpoints(url, count)
        listing = FakeInferenceComponentsClient(
            [
                FakeInferenceComponent(f"{name}-{model}", name, created=now - timedelta(days=7))
                for name, kind in kinds.items()
                if kind == "components"
                for model in ("llama", "mistral")
            ]
        )
        counts, report = _sweep(url, now, ("endpoint",), False, _ConfigLedger(kinds), listing)
        metrics = counts.get("GetMetricData", 0)
        mix = Counter(kinds.values())
        series = mix["real-time"] + 2 * mix["async"] + 2 * mix["components"]
        print(
            f"  endpoints: {len(report.decisions)} judged ("
            + ", ".join(f"{mix[k]} {k}" for k in KINDS)
            + f"), {series} metric series, GetMetricData requests {metrics} (ceil({series}/500) = "
            f"{-(-series // 500)}); ListInferenceComponents "
            f"{listing.calls.get('ListInferenceComponents', 0)} (one per endpoint hosting components); "
            "all requests: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
        by_kind = Counter((d.observation.signal, d.phase.value) for d in report.decisions)
        for (signal, phase), number in sorted(by_kind.items(), key=lambda item: str(item[0])):
            print(f"             {number:5d} {phase:5s} by {signal}")
