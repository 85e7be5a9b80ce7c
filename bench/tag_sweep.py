"""Section 6: `sagecost tags sweep` against a local moto_server, requests counted per operation.

N notebooks and N endpoints, half of them without Project; one sweep with --apply (fixing them), then a
second sweep with --apply and nothing left to fix (what the daily tag_sweeper does on a tidy account).
Each resource the Tagging API shows missing a key is read with ListTags before any AddTags (no tag value
is overwritten). Requests are counted on the sweeping process's boto3 clients (botocore `before-send`),
and the server is a separate process on 127.0.0.1, as an AWS endpoint would be.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

ROLE = "arn:aws:iam::123456789012:role/SageMaker"
FULL_TAGS = {"Team": "risk", "CostCenter": "cc-1001", "Environment": "dev", "Owner": "alice"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _populate(url: str, count: int) -> None:
    client: Any = boto3.client("sagemaker", endpoint_url=url)
    client.create_model(ModelName="m", PrimaryContainer={"Image": "img"}, ExecutionRoleArn=ROLE)
    tags = [{"Key": k, "Value": v} for k, v in {**FULL_TAGS, "Project": "fraud"}.items()]
    client.create_endpoint_config(
        EndpointConfigName="c",
        Tags=tags,
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    for index in range(count):
        own = {**FULL_TAGS, **({"Project": "fraud"} if index % 2 else {})}
        listed = [{"Key": k, "Value": v} for k, v in own.items()]
        client.create_notebook_instance(
            NotebookInstanceName=f"nb-{index}", InstanceType="ml.t3.medium", RoleArn=ROLE, Tags=listed
        )
        client.create_endpoint(EndpointName=f"ep-{index}", EndpointConfigName="c", Tags=listed)


def _counted_sweep(url: str, apply: bool) -> tuple[Counter[str], Any]:
    from sagecost.adapters import aws
    from sagecost.adapters.sagemaker import Boto3SageMaker
    from sagecost.adapters.tagging_api import ResourceTags
    from sagecost.models.config import KeyRule, Mode, TagPolicy
    from sagecost.services.tag_sweep import sweep_tags

    counts: Counter[str] = Counter()

    def count(**kwargs: Any) -> None:
        model = kwargs.get("model")
        counts[model.name if model else "?"] += 1

    sagemaker_client = aws.client("sagemaker", endpoint_url=url)
    tagging_client = aws.client("resourcegroupstaggingapi", endpoint_url=url)
    for client in (sagemaker_client, tagging_client):
        client.meta.events.register_first("before-call.*.*", count)
    policy = TagPolicy(project=KeyRule(key="Project", default="unassigned"), default_mode=Mode.TAG)
    sagemaker = Boto3SageMaker(sagemaker_client)
    report = sweep_tags(
        sagemaker.governed_resources(datetime.now(UTC) - timedelta(days=7)),
        ResourceTags(tagging_client).sagemaker_tags(),
        policy,
        add_tags=sagemaker.add_tags if apply else None,
        read_tags=sagemaker.tags,
    )
    return counts, report


def section_tag_sweep(count: int) -> None:
    print(f"\n== 6. Tag sweep requests: {count} notebooks + {count} endpoints, half without Project ==")
    print("   run:     sweep_tags (what `sagecost tags sweep --apply` runs) against moto_server on 127.0.0.1")
    print("   design:  list pages + Tagging API pages + one ListTags per resource the Tagging API shows")
    print("            missing a key + one AddTags per resource that still misses one")
    print("            (Cloud Custodian at 1000 + 1000: 5,021 requests to tag, 4,021 to find nothing to do)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with moto_server() as url:
        started = time.perf_counter()
        _populate(url, count)
        setup = time.perf_counter() - started
        for label, apply in (("first sweep, --apply", True), ("second sweep, --apply, nothing to fix", True)):
            began = time.perf_counter()
            counts, report = _counted_sweep(url, apply)
            total = sum(counts.values())
            operations = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
            elapsed = time.perf_counter() - began
            print(
                f"  {label:38s} requests {total:5d} ({operations}); fixed {report.fixed}, "
                f"kept as found {report.tagged_since_listed}, resources {report.resources}; {elapsed:.1f} s"
            )
        print(f"  (setup of {2 * count + 2} resources on moto_server: {setup:.1f} s)")
