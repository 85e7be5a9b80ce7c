"""SageMaker reads: the few Describe/List/ListTags calls metering needs, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from sagecost.domain.kinds.endpoint import NEW_FLEET
from sagecost.domain.kinds.training import TrainingBilling
from sagecost.domain.kinds.warm_pool import FINAL_STATUSES, WarmPool
from sagecost.domain.metering import JobFigures, instance_lines, transform_lines
from sagecost.models.config import PolicyKind
from sagecost.models.events import upper_snake
from sagecost.models.state import EndpointConfigSnapshot, VariantSpec
from sagecost.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

PAGE_SIZE = 100
GONE_STUDIO_STATUSES = frozenset({"Deleting", "Failed"})
"""ListSpaces / ListUserProfiles statuses of a space or profile the tag sweep leaves alone."""


@dataclass(frozen=True)
class EndpointSummary:
    name: str
    arn: str
    status: str
    """UPPER_SNAKE, as in events."""
    last_modified: datetime
    config_name: str | None = None
    variant_counts: dict[str, int] = field(default_factory=dict)
    created: datetime | None = None


@dataclass(frozen=True)
class InferenceComponentSummary:
    """One entry of ListInferenceComponents."""

    name: str
    arn: str
    endpoint_name: str
    variant_name: str | None
    status: str | None
    created: datetime


@dataclass(frozen=True)
class NotebookSummary:
    name: str
    arn: str
    status: str
    instance_type: str | None
    last_modified: datetime


class SageMakerTagger(Protocol):
    """The two SageMaker writes the tag enforcer makes."""

    def add_tags(self, arn: str, tags: dict[str, str]) -> bool: ...
    def stop_job(self, kind: str, name: str) -> bool: ...


class SageMakerReader(Protocol):
    """The SageMaker reads sagecost makes; boto3 in AWS, a fake in the simulator."""

    def training_billing(self, name: str) -> TrainingBilling | None: ...
    def transform_job(self, name: str) -> JobFigures | None: ...
    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None: ...
    def tags(self, arn: str) -> dict[str, str] | None: ...
    def endpoints(self) -> list[EndpointSummary]: ...
    def endpoint(self, name: str) -> EndpointSummary | None: ...
    def notebooks(self) -> list[NotebookSummary]: ...
    def notebook_volume_gb(self, name: str) -> int | None: ...


def config_snapshot(response: dict[str, Any]) -> EndpointConfigSnapshot:
    """An endpoint config from DescribeEndpointConfig (or an event detail of the same shape)."""
    return EndpointConfigSnapshot(
        name=response["EndpointConfigName"],
        arn=response["EndpointConfigArn"],
        variants=tuple(
            VariantSpec(
                name=v["VariantName"],
                instance_type=v.get("InstanceType"),
                initial_count=v.get("InitialInstanceCount"),
                volume_gb=v.get("VolumeSizeInGB"),
                serverless=bool(v.get("ServerlessConfig")),
                provisioned_concurrency=(v.get("ServerlessConfig") or {}).get("ProvisionedConcurrency"),
                memory_mb=(v.get("ServerlessConfig") or {}).get("MemorySizeInMB"),
                shadow=shadow,
                hosts_inference_components=bool(v.get("InstanceType")) and not v.get("ModelName"),
            )
            for key, shadow in (("ProductionVariants", False), ("ShadowProductionVariants", True))
            for v in response.get(key) or []
        ),
        asynchronous=bool(response.get("AsyncInferenceConfig")),
    )


def warm_pool_of(job: Any) -> WarmPool:
    """A training job's warm pool from its `TrainingJobSummary` or `DescribeTrainingJob` response."""
    status = job.get("WarmPoolStatus") or {}
    return WarmPool(
        job_name=job["TrainingJobName"],
        job_arn=job["TrainingJobArn"],
        status=status.get("Status", ""),
        retained_seconds=status.get("ResourceRetainedBillableTimeInSeconds"),
        job_end=job.get("TrainingEndTime"),
        reused_by=status.get("ReusedByJob"),
        created=job.get("CreationTime"),
    )


def _not_found(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    return code in {"ResourceNotFound", "ValidationException"} and (
        "not found" in message.lower()
        or "could not find" in message.lower()
        or "does not exist" in message.lower()
    )


class Boto3SageMaker:
    """SageMakerReader over boto3. Lists page by 100; describes only what the caller asks for."""

    def __init__(self, client: SageMakerClient) -> None:
        self.client = client

    def training_billing(self, name: str) -> TrainingBilling | None:
        """DescribeTrainingJob's billing figures; None when no such job exists (it is never deleted)."""
        try:
            job: Any = self.client.describe_training_job(TrainingJobName=name)
        except ClientError as error:
            if _not_found(error):
                return None
            raise
        return TrainingBilling(
            billable_seconds=job.get("BillableTimeInSeconds"),
            training_seconds=job.get("TrainingTimeInSeconds"),
            start=job.get("TrainingStartTime"),
            end=job.get("TrainingEndTime"),
            instances=instance_lines(job.get("ResourceConfig", {})),
            volume_gb=job.get("ResourceConfig", {}).get("VolumeSizeInGB"),
            spot=bool(job.get("EnableManagedSpotTraining")),
            warm_pool_status=(job.get("WarmPoolStatus") or {}).get("Status"),
            warm_pool_seconds=(job.get("WarmPoolStatus") or {}).get("ResourceRetainedBillableTimeInSeconds"),
            warm_pool_reused_by=(job.get("WarmPoolStatus") or {}).get("ReusedByJob"),
        )

    def ended_warm_pools(self, since: datetime) -> list[WarmPool]:
        """Training jobs whose warm pool ended (Terminated or Reused) and that changed since `since`:
        ListTrainingJobs with `WarmPoolStatusEquals`, pages of 100. The summaries carry the retained time."""
        pools: list[WarmPool] = []
        paginator = self.client.get_paginator("list_training_jobs")
        for status in FINAL_STATUSES:
            pages = paginator.paginate(
                WarmPoolStatusEquals=status,  # type: ignore[arg-type]
                LastModifiedTimeAfter=since,
                PaginationConfig={"PageSize": PAGE_SIZE},
            )
            pools += [warm_pool_of(job) for page in pages for job in page.get("TrainingJobSummaries", [])]
        return pools

    def transform_job(self, name: str) -> JobFigures | None:
        """DescribeTransformJob: its `TransformResources` and start and end times; None if not found."""
        try:
            job: Any = self.client.describe_transform_job(TransformJobName=name)
        except ClientError as error:
            if _not_found(error):
                return None
            raise
        return JobFigures(
            instances=transform_lines(job.get("TransformResources") or {}),
            start=job.get("TransformStartTime"),
            end=job.get("TransformEndTime"),
        )

    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None:
        try:
            response: Any = self.client.describe_endpoint_config(EndpointConfigName=name)
        except ClientError as error:
            if _not_found(error):
                return None
            raise
        return config_snapshot(response)

    def tags(self, arn: str) -> dict[str, str] | None:
        try:
            pages = self.client.get_paginator("list_tags").paginate(ResourceArn=arn)
            return {tag["Key"]: tag["Value"] for page in pages for tag in page.get("Tags", [])}
        except ClientError as error:
            if _not_found(error):
                return None
            raise

    def _pages(self, operation: str, key: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator(operation)  # type: ignore[call-overload]
        for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
            yield from page.get(key, [])

    def endpoints(self) -> list[EndpointSummary]:
        return [
            EndpointSummary(
                name=e["EndpointName"],
                arn=e["EndpointArn"],
                status=upper_snake(e["EndpointStatus"]),
                last_modified=e["LastModifiedTime"],
                created=e.get("CreationTime"),
            )
            for e in self._pages("list_endpoints", "Endpoints")
        ]

    def endpoint(self, name: str) -> EndpointSummary | None:
        try:
            e: Any = self.client.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if _not_found(error):
                return None
            raise
        counts = {
            v["VariantName"]: int(v.get("CurrentInstanceCount", v.get("DesiredInstanceCount", 0)) or 0)
            for v in [*e.get("ProductionVariants", []), *e.get("ShadowProductionVariants", [])]
        }
        counts |= {  # a blue/green deployment's second fleet, billing beside the first while it runs
            f"{v['VariantName']}{NEW_FLEET}": int(v.get("CurrentInstanceCount", 0) or 0)
            for v in (e.get("PendingDeploymentSummary") or {}).get("ProductionVariants", [])
        }
        return EndpointSummary(
            name=e["EndpointName"],
            arn=e["EndpointArn"],
            status=upper_snake(e["EndpointStatus"]),
            last_modified=e["LastModifiedTime"],
            config_name=e.get("EndpointConfigName"),
            variant_counts=counts,
        )

    def inference_components(self, endpoint_name: str) -> list[InferenceComponentSummary]:
        """The inference components an endpoint hosts (ListInferenceComponents, EndpointNameEquals, pages of
        100); errors are raised: a caller that cannot list them cannot judge the endpoint."""
        paginator = self.client.get_paginator("list_inference_components")
        pages = paginator.paginate(EndpointNameEquals=endpoint_name, PaginationConfig={"PageSize": PAGE_SIZE})
        return [
            InferenceComponentSummary(
                name=c["InferenceComponentName"],
                arn=c["InferenceComponentArn"],
                endpoint_name=c["EndpointName"],
                variant_name=c.get("VariantName"),
                status=c.get("InferenceComponentStatus"),
                created=c["CreationTime"],
            )
            for page in pages
            for c in page.get("InferenceComponents", [])
        ]

    def notebooks(self) -> list[NotebookSummary]:
        return [
            NotebookSummary(
                name=n["NotebookInstanceName"],
                arn=n["NotebookInstanceArn"],
                status=n["NotebookInstanceStatus"],
                instance_type=n.get("InstanceType"),
                last_modified=n["LastModifiedTime"],
            )
            for n in self._pages("list_notebook_instances", "NotebookInstances")
        ]

    def notebook_volume_gb(self, name: str) -> int | None:
        try:
            n: Any = self.client.describe_notebook_instance(NotebookInstanceName=name)
        except ClientError as error:
            if _not_found(error):
                return None
            raise
        volume = n.get("VolumeSizeInGB")
        return int(volume) if volume is not None else None

    def governed_resources(self, jobs_since: datetime) -> Iterator[tuple[PolicyKind, str]]:
        """(kind, ARN) of notebooks, endpoints, endpoint configs, models, and jobs created since a moment:
        list pages only, 100 per request."""
        listings: list[tuple[PolicyKind, str, str, str, dict[str, Any]]] = [
            (
                PolicyKind.NOTEBOOK_INSTANCE,
                "list_notebook_instances",
                "NotebookInstances",
                "NotebookInstanceArn",
                {},
            ),
            (PolicyKind.ENDPOINT, "list_endpoints", "Endpoints", "EndpointArn", {}),
            (PolicyKind.ENDPOINT_CONFIG, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn", {}),
            (PolicyKind.MODEL, "list_models", "Models", "ModelArn", {}),
            (
                PolicyKind.TRAINING_JOB,
                "list_training_jobs",
                "TrainingJobSummaries",
                "TrainingJobArn",
                {"CreationTimeAfter": jobs_since},
            ),
            (
                PolicyKind.PROCESSING_JOB,
                "list_processing_jobs",
                "ProcessingJobSummaries",
                "ProcessingJobArn",
                {"CreationTimeAfter": jobs_since},
            ),
            (
                PolicyKind.TRANSFORM_JOB,
                "list_transform_jobs",
                "TransformJobSummaries",
                "TransformJobArn",
                {"CreationTimeAfter": jobs_since},
            ),
        ]
        for kind, operation, key, arn_key, filters in listings:
            paginator = self.client.get_paginator(operation)  # type: ignore[call-overload]
            for page in paginator.paginate(**filters, PaginationConfig={"PageSize": PAGE_SIZE}):
                for summary in page.get(key, []):
                    yield kind, summary[arn_key]
        yield from self._issue12_governed()

    def _issue12_governed(self) -> Iterator[tuple[PolicyKind, str]]:
        """Spaces, user profiles, inference components, HyperPod clusters and MLflow tracking servers, from
        their List calls (the Tagging API lists only what has or had a tag). ListSpaces and ListUserProfiles
        carry no ARN: it is built from the domain's (ListDomains), as `space/<domain id>/<space name>`.
        A listing refused (AccessDenied while the role lacks it) is logged and its kind skipped: nothing of
        it is written, and the other kinds are still swept."""
        try:
            domains = {d["DomainId"]: d["DomainArn"] for d in self._pages("list_domains", "Domains")}
        except ClientError as error:
            logger.warning("ListDomains failed: spaces and user profiles not swept", error=str(error))
            domains = {}
        for kind, operation, key, name_key in (
            (PolicyKind.SPACE, "list_spaces", "Spaces", "SpaceName"),
            (PolicyKind.USER_PROFILE, "list_user_profiles", "UserProfiles", "UserProfileName"),
        ):
            for summary in self._listed(operation, key) if domains else ():
                domain_arn = domains.get(summary.get("DomainId", ""))
                if domain_arn is None or summary.get("Status") in GONE_STUDIO_STATUSES:
                    continue  # a domain created since ListDomains, or one on its way out
                prefix = domain_arn.split(":domain/", 1)[0]
                yield kind, f"{prefix}:{kind.value}/{summary['DomainId']}/{summary[name_key]}"
        for kind, operation, key, arn_key in (
            (
                PolicyKind.INFERENCE_COMPONENT,
                "list_inference_components",
                "InferenceComponents",
                "InferenceComponentArn",
            ),
            (PolicyKind.HYPERPOD_CLUSTER, "list_clusters", "ClusterSummaries", "ClusterArn"),
            (
                PolicyKind.MLFLOW_TRACKING_SERVER,
                "list_mlflow_tracking_servers",
                "TrackingServerSummaries",
                "TrackingServerArn",
            ),
        ):
            for summary in self._listed(operation, key):
                yield kind, summary[arn_key]

    def _listed(self, operation: str, key: str) -> list[dict[str, Any]]:
        """Every page of a listing, or none if it is refused (logged)."""
        try:
            return list(self._pages(operation, key))
        except ClientError as error:
            logger.warning(f"{operation} failed: its kind is not swept", error=str(error))
            return []

    # --- writes (tag enforcer) ---------------------------------------------------------------------

    def add_tags(self, arn: str, tags: dict[str, str]) -> bool:
        """AddTags (idempotent: the same key and value again change nothing); False if it is gone."""
        try:
            self.client.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        except ClientError as error:
            if _not_found(error):
                return False
            raise
        return True

    def stop_notebook(self, name: str) -> bool:
        """Stop a notebook instance (its ML storage volume stays); False if it is gone or not running."""
        try:
            self.client.stop_notebook_instance(NotebookInstanceName=name)
        except ClientError as error:
            if _not_found(error) or error.response.get("Error", {}).get("Code") == "ValidationException":
                return False
            raise
        return True

    def delete_endpoint(self, name: str) -> bool:
        """Delete an endpoint; its endpoint config and model stay, so it can be created again."""
        try:
            self.client.delete_endpoint(EndpointName=name)
        except ClientError as error:
            if _not_found(error) or "could not find" in str(error).lower():
                return False
            raise
        return True

    def create_endpoint(self, name: str, config_name: str, tags: dict[str, str]) -> str:
        response = self.client.create_endpoint(
            EndpointName=name,
            EndpointConfigName=config_name,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        return str(response["EndpointArn"])

    def delete_tags(self, arn: str, keys: list[str]) -> bool:
        try:
            self.client.delete_tags(ResourceArn=arn, TagKeys=keys)
        except ClientError as error:
            if _not_found(error):
                return False
            raise
        return True

    def stop_job(self, kind: str, name: str) -> bool:
        """Stop a training, processing or transform job; False if it is gone or already finished."""
        stop = {
            "training-job": lambda: self.client.stop_training_job(TrainingJobName=name),
            "processing-job": lambda: self.client.stop_processing_job(ProcessingJobName=name),
            "transform-job": lambda: self.client.stop_transform_job(TransformJobName=name),
        }.get(kind)
        if stop is None:
            raise ValueError(f"sagecost stops only jobs, not a {kind}")
        try:
            stop()
        except ClientError as error:
            if _not_found(error) or "not in" in error.response.get("Error", {}).get("Message", "").lower():
                return False
            raise
        return True
