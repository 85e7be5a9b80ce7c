"""What the tag enforcer reads: SageMaker Create* calls as CloudTrail reports them, and its own rechecks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sagecost.models.config import PolicyKind
from sagecost.models.events import UtcDatetime

CREATE_CALLS: dict[str, tuple[PolicyKind, str]] = {
    "CreateTrainingJob": (PolicyKind.TRAINING_JOB, "trainingJobArn"),
    "CreateProcessingJob": (PolicyKind.PROCESSING_JOB, "processingJobArn"),
    "CreateTransformJob": (PolicyKind.TRANSFORM_JOB, "transformJobArn"),
    "CreateHyperParameterTuningJob": (PolicyKind.TUNING_JOB, "hyperParameterTuningJobArn"),
    "CreateEndpoint": (PolicyKind.ENDPOINT, "endpointArn"),
    "CreateEndpointConfig": (PolicyKind.ENDPOINT_CONFIG, "endpointConfigArn"),
    "CreateModel": (PolicyKind.MODEL, "modelArn"),
    "CreateNotebookInstance": (PolicyKind.NOTEBOOK_INSTANCE, "notebookInstanceArn"),
    # issue 12 (botocore 1.43 output members, camelCase as CloudTrail writes them)
    "CreateSpace": (PolicyKind.SPACE, "spaceArn"),
    "CreateUserProfile": (PolicyKind.USER_PROFILE, "userProfileArn"),
    "CreateInferenceComponent": (PolicyKind.INFERENCE_COMPONENT, "inferenceComponentArn"),
    "CreateCluster": (PolicyKind.HYPERPOD_CLUSTER, "clusterArn"),
    "CreateMlflowTrackingServer": (PolicyKind.MLFLOW_TRACKING_SERVER, "trackingServerArn"),
}
"""CloudTrail event name -> (resource kind, the responseElements key holding the new resource's ARN)."""
SAGEMAKER_SOURCE = "sagemaker.amazonaws.com"


@dataclass(frozen=True)
class JobSpec:
    """What a starting job may run on, and for how long (None: no MaxRuntimeInSeconds, as transform)."""

    instance_type: str
    instance_count: int
    max_runtime_seconds: int | None


def job_spec_from_request(parameters: dict[str, Any]) -> JobSpec | None:
    """A Create*Job call's CloudTrail `requestParameters` (camelCase) as a JobSpec."""
    config = (
        parameters.get("resourceConfig")
        or (parameters.get("processingResources") or {}).get("clusterConfig")
        or parameters.get("transformResources")
        or {}
    )
    if not isinstance(config, dict) or not config.get("instanceType"):
        return None
    runtime = (parameters.get("stoppingCondition") or {}).get("maxRuntimeInSeconds")
    return JobSpec(
        str(config["instanceType"]), int(config.get("instanceCount") or 1), int(runtime) if runtime else None
    )


class CloudTrailCall(BaseModel):
    """The `detail` of an "AWS API Call via CloudTrail" event (camelCase, as CloudTrail writes it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_name: str = Field(alias="eventName")
    event_source: str = Field(alias="eventSource")
    event_time: UtcDatetime = Field(alias="eventTime")
    user_identity: dict[str, Any] = Field(default_factory=dict, alias="userIdentity")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    error_code: str | None = Field(default=None, alias="errorCode")
    aws_region: str = Field(default="", alias="awsRegion")

    @property
    def created(self) -> tuple[PolicyKind, str] | None:
        """The kind and ARN of the resource the call created, or None (failed call, another API)."""
        if self.error_code or self.event_name not in CREATE_CALLS:
            return None
        if self.event_source and self.event_source != SAGEMAKER_SOURCE:
            return None  # another service's Create* of the same name (EKS's CreateCluster)
        kind, arn_key = CREATE_CALLS[self.event_name]
        arn = (self.response_elements or {}).get(arn_key)
        return (kind, arn) if isinstance(arn, str) and arn else None

    @property
    def request_tags(self) -> dict[str, str]:
        raw = (self.request_parameters or {}).get("tags") or []
        tags: dict[str, str] = {}
        for entry in raw if isinstance(raw, list) else []:
            if isinstance(entry, dict):
                key = entry.get("key", entry.get("Key"))
                if isinstance(key, str):
                    tags[key] = str(entry.get("value", entry.get("Value", "")))
        return tags


class Recheck(BaseModel):
    """A message the enforcer sends itself: look at this resource again once the grace period is over."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sagecost: Literal["recheck"] = "recheck"
    arn: str
    kind: PolicyKind
    due: UtcDatetime
    owner: str | None = None


PIPELINE_STEP_JOBS: dict[str, PolicyKind] = {
    "trainingJob": PolicyKind.TRAINING_JOB,
    "processingJob": PolicyKind.PROCESSING_JOB,
    "transformJob": PolicyKind.TRANSFORM_JOB,
}


class PipelineStep(BaseModel):
    """The `detail` of a "SageMaker Model Building Pipeline Execution Step Status Change" event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    pipeline_arn: str = Field(alias="pipelineArn")
    current_step_status: str = Field(alias="currentStepStatus")
    metadata: dict[str, Any] = Field(default_factory=dict)
    step_start_time: UtcDatetime | None = Field(default=None, alias="stepStartTime")

    @property
    def job(self) -> tuple[PolicyKind, str] | None:
        """The job this step launched (its kind and ARN), once SageMaker reports it."""
        for key, kind in PIPELINE_STEP_JOBS.items():
            arn = (self.metadata.get(key) or {}).get("arn")
            if isinstance(arn, str) and arn:
                return kind, arn
        return None
