"""Builders of SageMaker EventBridge events in the shapes AWS really sends (AWS-FACTS.md section 1).

Used by the demo scenario and by tests. Every builder can vary what real events vary: timestamps as
epoch milliseconds (int, float, numeric string) or ISO strings, tags as a flat map or a `[{Key, Value}]`
list (or absent), endpoint statuses in UPPER_SNAKE. Event ids are derived from the content, so the same
scenario always produces the same events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

TimeFormat = Literal["epoch_ms", "epoch_float", "epoch_str", "iso"]
TagFormat = Literal["map", "list", "absent"]

DEFAULT_ACCOUNT = "111122223333"
DEFAULT_REGION = "us-east-1"
_NAMESPACE = uuid.UUID("5f2c1f4e-2b8e-4d0e-9a51-5a9e4c0d7a11")


def timestamp(moment: datetime | None, style: TimeFormat = "epoch_ms") -> Any:
    if moment is None:
        return None
    millis = int(moment.timestamp() * 1000)
    if style == "epoch_ms":
        return millis
    if style == "epoch_float":
        return float(millis)
    if style == "epoch_str":
        return str(millis)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def tag_field(tags: Mapping[str, str] | None, style: TagFormat = "map") -> dict[str, Any]:
    if style == "absent":
        return {}
    tags = dict(tags or {})
    if style == "list":
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    return {"Tags": tags}


def arn(kind: str, name: str, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def envelope(
    detail_type: str,
    detail: dict[str, Any],
    *,
    at: datetime,
    resource_arn: str,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An EventBridge envelope around a SageMaker `detail`."""
    identity = event_id or str(uuid.uuid5(_NAMESPACE, detail_type + json.dumps(detail, sort_keys=True)))
    return {
        "version": "0",
        "id": identity,
        "detail-type": detail_type,
        "source": "aws.sagemaker",
        "account": account,
        "time": timestamp(at, "iso"),
        "region": region,
        "resources": [resource_arn],
        "detail": detail,
    }


def training_job(
    name: str,
    status: str,
    *,
    at: datetime,
    instance_type: str,
    instance_count: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
    created: datetime | None = None,
    volume_gb: int | None = 30,
    tags: Mapping[str, str] | None = None,
    billable_seconds: int | None = None,
    training_seconds: int | None = None,
    spot: bool = False,
    tuning_job_arn: str | None = None,
    instance_groups: Sequence[tuple[str, str, int]] = (),
    time_format: TimeFormat = "epoch_ms",
    tag_format: TagFormat = "map",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A Training Job State Change. `billable_seconds` is what DescribeTrainingJob would return:
    real events lack it, so it is only put in the event when asked for (the simulator reads it)."""
    job_arn = arn("training-job", name, region=region, account=account)
    resource_config: dict[str, Any] = {"InstanceType": instance_type, "InstanceCount": instance_count}
    if volume_gb is not None:
        resource_config["VolumeSizeInGB"] = volume_gb
    if instance_groups:
        resource_config = {
            "InstanceGroups": [
                {"InstanceGroupName": g, "InstanceType": t, "InstanceCount": c} for g, t, c in instance_groups
            ],
            "VolumeSizeInGB": volume_gb,
        }
    detail: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": job_arn,
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "ResourceConfig": resource_config,
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": timestamp(created or start or at, time_format),
        "TrainingStartTime": timestamp(start, time_format),
        "TrainingEndTime": timestamp(end, time_format),
        "LastModifiedTime": timestamp(at, time_format),
        "RoleArn": f"arn:aws:iam::{account}:role/SageMakerExecution",
        **tag_field(tags, tag_format),
    }
    if tuning_job_arn:
        detail["TuningJobArn"] = tuning_job_arn
    if billable_seconds is not None:
        detail["BillableTimeInSeconds"] = billable_seconds
        detail["TrainingTimeInSeconds"] = training_seconds or billable_seconds
        detail["EnableManagedSpotTraining"] = spot
    return envelope(
        "SageMaker Training Job State Change",
        detail,
        at=at,
        resource_arn=job_arn,
        region=region,
        account=account,
    )


def processing_job(
    name: str,
    status: str,
    *,
    at: datetime,
    instance_type: str,
    instance_count: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
    volume_gb: int = 30,
    tags: Mapping[str, str] | None = None,
    time_format: TimeFormat = "epoch_ms",
    tag_format: TagFormat = "absent",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A Processing Job State Change; like AWS's own sample it carries no Tags unless asked."""
    job_arn = arn("processing-job", name, region=region, account=account)
    detail: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingJobArn": job_arn,
        "ProcessingJobStatus": status,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": instance_count,
                "InstanceType": instance_type,
                "VolumeSizeInGB": volume_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": timestamp(start or at, time_format),
        "LastModifiedTime": timestamp(at, time_format),
        "RoleArn": f"arn:aws:iam::{account}:role/SageMakerExecution",
        **tag_field(tags, tag_format),
    }
    if start:
        detail["ProcessingStartTime"] = timestamp(start, time_format)
    if end:
        detail["ProcessingEndTime"] = timestamp(end, time_format)
    return envelope(
        "SageMaker Processing Job State Change",
        detail,
        at=at,
        resource_arn=job_arn,
        region=region,
        account=account,
    )


def transform_job(
    name: str,
    status: str,
    *,
    at: datetime,
    instance_type: str,
    instance_count: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
    model_name: str = "model",
    tags: Mapping[str, str] | None = None,
    time_format: TimeFormat = "iso",
    tag_format: TagFormat = "map",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A Transform Job State Change; AWS's sample uses ISO timestamps, so that is the default here."""
    job_arn = arn("transform-job", name, region=region, account=account)
    detail: dict[str, Any] = {
        "TransformJobName": name,
        "TransformJobArn": job_arn,
        "TransformJobStatus": status,
        "ModelName": model_name,
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
        "CreationTime": timestamp(start or at, time_format),
        "TransformStartTime": timestamp(start, time_format),
        "TransformEndTime": timestamp(end, time_format),
        "LastModifiedTime": timestamp(at, time_format),
        **tag_field(tags, tag_format),
    }
    return envelope(
        "SageMaker Transform Job State Change",
        detail,
        at=at,
        resource_arn=job_arn,
        region=region,
        account=account,
    )


def endpoint_config(
    name: str,
    variants: Sequence[tuple[str, str, int]],
    *,
    at: datetime,
    volume_gb: int | None = None,
    asynchronous: bool = False,
    serverless_variants: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An Endpoint Config State Change (creation): variants as (name, instance type, initial count)."""
    config_arn = arn("endpoint-config", name, region=region, account=account)
    production: list[dict[str, Any]] = []
    for variant, instance_type, count in variants:
        entry: dict[str, Any] = {
            "VariantName": variant,
            "ModelName": f"{name}-model",
            "InitialInstanceCount": count,
            "InstanceType": instance_type,
            "InitialVariantWeight": 1.0,
        }
        if volume_gb is not None:
            entry["VolumeSizeInGB"] = volume_gb
        production.append(entry)
    production += [
        {
            "VariantName": v,
            "ModelName": f"{name}-model",
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
        }
        for v in serverless_variants
    ]
    detail: dict[str, Any] = {
        "EndpointConfigName": name,
        "EndpointConfigArn": config_arn,
        "ProductionVariants": production,
        "CreationTime": timestamp(at),
        **tag_field(tags),
    }
    if asynchronous:
        detail["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://bucket/async/"}}
    return envelope(
        "SageMaker Endpoint Config State Change",
        detail,
        at=at,
        resource_arn=config_arn,
        region=region,
        account=account,
    )


def endpoint(
    name: str,
    status: str,
    *,
    at: datetime,
    config_name: str,
    variants: Sequence[tuple[str | None, int]],
    created: datetime | None = None,
    tags: Mapping[str, str] | None = None,
    time_format: TimeFormat = "epoch_float",
    tag_format: TagFormat = "map",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An Endpoint State Change: UPPER_SNAKE status, variants as (name or None, count), float counts."""
    endpoint_arn = arn("endpoint", name, region=region, account=account)
    production = []
    for variant, count in variants:
        entry: dict[str, Any] = {
            "DesiredWeight": 1.0,
            "DesiredInstanceCount": float(count),
            "CurrentWeight": 1.0,
            "CurrentInstanceCount": float(count),
        }
        if variant is not None:
            entry["VariantName"] = variant
        production.append(entry)
    detail: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": endpoint_arn,
        "EndpointConfigName": config_name,
        "ProductionVariants": production,
        "EndpointStatus": status,
        "CreationTime": timestamp(created or at, time_format),
        "LastModifiedTime": timestamp(at, time_format),
        **tag_field(tags, tag_format),
    }
    return envelope(
        "SageMaker Endpoint State Change",
        detail,
        at=at,
        resource_arn=endpoint_arn,
        region=region,
        account=account,
    )


def notebook(
    name: str,
    status: str,
    *,
    at: datetime,
    instance_type: str,
    created: datetime | None = None,
    volume_gb: int | None = None,
    tags: Mapping[str, str] | None = None,
    time_format: TimeFormat = "epoch_ms",
    tag_format: TagFormat = "map",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A Notebook Instance State Change. `volume_gb` is what DescribeNotebookInstance would say
    (real events lack it); it is only put in the event when given."""
    notebook_arn = arn("notebook-instance", name, region=region, account=account)
    detail: dict[str, Any] = {
        "NotebookInstanceName": name,
        "NotebookInstanceArn": notebook_arn,
        "NotebookInstanceStatus": status,
        "InstanceType": instance_type,
        "RoleArn": f"arn:aws:iam::{account}:role/SageMakerExecution",
        "CreationTime": timestamp(created or at, time_format),
        "LastModifiedTime": timestamp(at, time_format),
        **tag_field(tags, tag_format),
    }
    if volume_gb is not None:
        detail["VolumeSizeInGB"] = volume_gb
    return envelope(
        "SageMaker Notebook Instance State Change",
        detail,
        at=at,
        resource_arn=notebook_arn,
        region=region,
        account=account,
    )


RESPONSE_ARN_KEYS = {"CreateMlflowTrackingServer": "trackingServerArn"}
"""Create* responses whose ARN member is not named after the operation (botocore's output shapes)."""


def cloudtrail_create(
    operation: str,
    resource_arn: str,
    request_parameters: dict[str, Any],
    *,
    at: datetime,
    principal: str = "AROAEXAMPLE:alice",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An "AWS API Call via CloudTrail" event for a SageMaker Create* call (camelCase request parameters)."""
    session = principal.rsplit(":", maxsplit=1)[-1]
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": principal,
            "arn": f"arn:aws:sts::{account}:assumed-role/DataScientist/{session}",
            "accountId": account,
        },
        "eventTime": timestamp(at, "iso"),
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": operation,
        "awsRegion": region,
        "requestParameters": request_parameters,
        "responseElements": {
            RESPONSE_ARN_KEYS.get(operation, f"{operation[6].lower()}{operation[7:]}Arn"): resource_arn
        },
        "eventType": "AwsApiCall",
    }
    event = envelope(
        "AWS API Call via CloudTrail",
        detail,
        at=at,
        resource_arn=resource_arn,
        region=region,
        account=account,
    )
    event["resources"] = []
    return event
