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
    keep_alive_seconds: int | None = None,
    time_format: TimeFormat = "epoch_ms",
    tag_format: TagFormat = "map",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A Training Job State Change. `billable_seconds` is what DescribeTrainingJob would return:
    real events lack it, so it is only put in the event when asked for (the simulator reads it).
    `keep_alive_seconds`: `ResourceConfig.KeepAlivePeriodInSeconds` (a warm pool after the job)."""
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
    if keep_alive_seconds is not None:
        resource_config["KeepAlivePeriodInSeconds"] = keep_alive_seconds
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
    serverless_memory_mb: int = 2048,
    provisioned_concurrency: int | None = None,
    shadow_variants: Sequence[tuple[str, str, int]] = (),
    with_model: bool = True,
    tags: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An Endpoint Config State Change (creation): variants as (name, instance type, initial count).

    `with_model=False`: variants without `ModelName` (an endpoint for inference components);
    `shadow_variants`: `ShadowProductionVariants`; serverless variants take `serverless_memory_mb` and
    `provisioned_concurrency` (`ServerlessConfig.ProvisionedConcurrency`)."""
    config_arn = arn("endpoint-config", name, region=region, account=account)

    def instance_variant(variant: str, instance_type: str, count: int) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "VariantName": variant,
            **({"ModelName": f"{name}-model"} if with_model else {}),
            "InitialInstanceCount": count,
            "InstanceType": instance_type,
            "InitialVariantWeight": 1.0,
        }
        if volume_gb is not None:
            entry["VolumeSizeInGB"] = volume_gb
        return entry

    production = [instance_variant(*variant) for variant in variants]
    serverless: dict[str, Any] = {"MemorySizeInMB": serverless_memory_mb, "MaxConcurrency": 5}
    if provisioned_concurrency:
        serverless["ProvisionedConcurrency"] = provisioned_concurrency
    production += [
        {"VariantName": v, "ModelName": f"{name}-model", "ServerlessConfig": dict(serverless)}
        for v in serverless_variants
    ]
    detail: dict[str, Any] = {
        "EndpointConfigName": name,
        "EndpointConfigArn": config_arn,
        "ProductionVariants": production,
        "CreationTime": timestamp(at),
        **tag_field(tags),
    }
    if shadow_variants:
        detail["ShadowProductionVariants"] = [instance_variant(*variant) for variant in shadow_variants]
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


# --- the kinds SageMaker sends no state change for (CloudTrail calls), and HyperPod / deployments -----


def cloudtrail_call(
    operation: str,
    request_parameters: dict[str, Any],
    *,
    at: datetime,
    response_elements: dict[str, Any] | None = None,
    principal: str = "AROAEXAMPLE:alice",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An "AWS API Call via CloudTrail" event of any SageMaker call, as tests/fixtures/kinds has them:
    `responseElements` as given (null for most Delete* calls), `recipientAccountId`, no `resources`."""
    session = principal.rsplit(":", maxsplit=1)[-1]
    detail = {
        "eventVersion": "1.11",
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
        "responseElements": response_elements,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    event = envelope(
        "AWS API Call via CloudTrail", detail, at=at, resource_arn="", region=region, account=account
    )
    event["resources"] = []
    return event


def _tag_list(tags: Mapping[str, str] | None) -> dict[str, Any]:
    return {"tags": [{"key": k, "value": v} for k, v in tags.items()]} if tags else {}


def studio_space(
    operation: Literal["CreateSpace", "DeleteSpace"],
    domain_id: str,
    space: str,
    *,
    at: datetime,
    volume_gb: int | None = None,
    tags: Mapping[str, str] | None = None,
    principal: str = "AROAEXAMPLE:alice",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """CreateSpace (tags, and the EBS size when given) or DeleteSpace, as cloudtrail-CreateSpace.json."""
    parameters: dict[str, Any] = {"domainId": domain_id, "spaceName": space}
    if operation == "CreateSpace":
        parameters |= _tag_list(tags)
        settings: dict[str, Any] = {"appType": "JupyterLab"}
        if volume_gb is not None:
            settings["spaceStorageSettings"] = {"ebsStorageSettings": {"ebsVolumeSizeInGb": volume_gb}}
        parameters["spaceSettings"] = settings
        parameters["spaceSharingSettings"] = {"sharingType": "Shared"}
    space_arn = arn("space", f"{domain_id}/{space}", region=region, account=account)
    return cloudtrail_call(
        operation,
        parameters,
        at=at,
        response_elements={"spaceArn": space_arn} if operation == "CreateSpace" else None,
        principal=principal,
        region=region,
        account=account,
    )


def studio_app(
    operation: Literal["CreateApp", "DeleteApp"],
    domain_id: str,
    owner: str,
    app_type: str,
    app_name: str,
    *,
    at: datetime,
    instance_type: str | None = None,
    in_space: bool = True,
    principal: str = "AROAEXAMPLE:alice",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """CreateApp (with `resourceSpec.instanceType` when given) or DeleteApp of a space's app (or, with
    `in_space=False`, a user profile's), as cloudtrail-CreateApp-space.json / -DeleteApp-space.json."""
    parameters: dict[str, Any] = {
        "domainId": domain_id,
        ("spaceName" if in_space else "userProfileName"): owner,
        "appType": app_type,
        "appName": app_name,
    }
    if operation == "CreateApp" and instance_type is not None:
        parameters["resourceSpec"] = {"instanceType": instance_type}
    app_arn = arn("app", f"{domain_id}/{owner}/{app_type.lower()}/{app_name}", region=region, account=account)
    return cloudtrail_call(
        operation,
        parameters,
        at=at,
        response_elements={"appArn": app_arn} if operation == "CreateApp" else None,
        principal=principal,
        region=region,
        account=account,
    )


def inference_component_call(
    operation: Literal["CreateInferenceComponent", "DeleteInferenceComponent"],
    name: str,
    *,
    at: datetime,
    endpoint_name: str = "",
    accelerators: float = 1.0,
    memory_mb: int = 8192,
    copies: int = 1,
    variant: str = "AllTraffic",
    tags: Mapping[str, str] | None = None,
    principal: str = "AROAEXAMPLE:alice",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """CreateInferenceComponent (its reserved accelerators, memory and copies) or
    DeleteInferenceComponent, as cloudtrail-CreateInferenceComponent.json / -Delete....json."""
    parameters: dict[str, Any] = {"inferenceComponentName": name}
    response: dict[str, Any] | None = None
    if operation == "CreateInferenceComponent":
        parameters |= {
            "endpointName": endpoint_name,
            "variantName": variant,
            "specification": {
                "modelName": f"{name}-model",
                "computeResourceRequirements": {
                    "numberOfAcceleratorDevicesRequired": accelerators,
                    "numberOfCpuCoresRequired": 2.0,
                    "minMemoryRequiredInMb": memory_mb,
                },
            },
            "runtimeConfig": {"copyCount": copies},
            **_tag_list(tags),
        }
        response = {"inferenceComponentArn": arn("inference-component", name, region=region, account=account)}
    return cloudtrail_call(
        operation,
        parameters,
        at=at,
        response_elements=response,
        principal=principal,
        region=region,
        account=account,
    )


def mlflow_call(
    operation: Literal["CreateMlflowTrackingServer", "DeleteMlflowTrackingServer"],
    name: str,
    *,
    at: datetime,
    size: str = "Small",
    tags: Mapping[str, str] | None = None,
    principal: str = "AROAEXAMPLE:alice",
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """CreateMlflowTrackingServer (size, tags) or DeleteMlflowTrackingServer, as the fixtures have them."""
    parameters: dict[str, Any] = {"trackingServerName": name}
    if operation == "CreateMlflowTrackingServer":
        parameters |= {
            "artifactStoreUri": f"s3://amzn-s3-demo-bucket/{name}",
            "trackingServerSize": size,
            "mlflowVersion": "2.16.2",
            "roleArn": f"arn:aws:iam::{account}:role/MLflowTrackingServerRole",
            **_tag_list(tags),
        }
    server_arn = arn("mlflow-tracking-server", name, region=region, account=account)
    return cloudtrail_call(
        operation,
        parameters,
        at=at,
        response_elements={"trackingServerArn": server_arn},
        principal=principal,
        region=region,
        account=account,
    )


def hyperpod_cluster(
    cluster_id: str,
    name: str,
    status: str,
    *,
    at: datetime,
    created: datetime,
    groups: Sequence[tuple[str, str, int]],
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A HyperPod Cluster State Change (hyperpod-cluster-state-change.json): instance groups as
    (name, instance type, current count)."""
    cluster_arn = f"arn:aws:sagemaker:{region}:{account}:cluster/{cluster_id}"
    detail: dict[str, Any] = {
        "ClusterArn": cluster_arn,
        "ClusterName": name,
        "ClusterStatus": status,
        "CreationTime": timestamp(created),
        "FailureMessage": "",
        "InstanceGroups": [
            {
                "CurrentCount": count,
                "ExecutionRole": f"arn:aws:iam::{account}:role/HyperPodClusterExecutionRole",
                "InstanceGroupName": group,
                "InstanceType": instance_type,
                "Status": "InService",
                "TargetCount": count,
                "ThreadsPerCore": 1,
            }
            for group, instance_type, count in groups
        ],
        "NodeRecovery": "Automatic",
    }
    return envelope(
        "SageMaker HyperPod Cluster State Change",
        detail,
        at=at,
        resource_arn=cluster_arn,
        region=region,
        account=account,
    )


def endpoint_deployment(
    name: str,
    *,
    at: datetime,
    config_name: str,
    pending_config_name: str,
    variants: Sequence[tuple[str, int]],
    pending_variants: Sequence[tuple[str, int, int]],
    stage: str = "Baking",
    stage_start: datetime | None = None,
    created: datetime | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An Endpoint Deployment State Change (endpoint-deployment-state-change.json): the old fleet's
    variants as (name, count), the new fleet's in `PendingDeploymentSummary` as (name, current, desired);
    `at` is the endpoint's `LastModifiedTime`, `stage_start` when the current stage began."""
    endpoint_arn = arn("endpoint", name, region=region, account=account)
    millis = timestamp(at)
    detail: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": endpoint_arn,
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": variant,
                "CurrentWeight": 1,
                "DesiredWeight": 1,
                "CurrentInstanceCount": count,
                "DesiredInstanceCount": count,
            }
            for variant, count in variants
        ],
        "EndpointStatus": "UPDATING",
        "CreationTime": timestamp(created or at),
        "LastModifiedTime": millis,
        "Tags": {},
        "PendingDeploymentSummary": {
            "EndpointConfigName": pending_config_name,
            "StartTime": millis,
            "ProductionVariants": [
                {
                    "VariantName": variant,
                    "CurrentWeight": 1,
                    "DesiredWeight": 1,
                    "CurrentInstanceCount": current,
                    "DesiredInstanceCount": desired,
                    "VariantStatus": [
                        {"Status": stage, "StatusMessage": "", "StartTime": timestamp(stage_start or at)}
                    ],
                }
                for variant, current, desired in pending_variants
            ],
        },
    }
    return envelope(
        "SageMaker Endpoint Deployment State Change",
        detail,
        at=stage_start or at,
        resource_arn=endpoint_arn,
        region=region,
        account=account,
    )
