"""SageMaker state-change events as EventBridge delivers them, in every shape seen in the wild.

Real events differ from the API and from the documentation samples (see AWS-FACTS.md sections 0-1):

* `detail.Tags` is a flat map in practice, a `[{Key, Value}]` list in the schema registry, and absent
  from processing-job events; delete events of models and endpoint configs carry `{}`.
* timestamps are epoch milliseconds (int, float or numeric string) or ISO-8601 strings, and null
  while not yet set;
* endpoint statuses are UPPER_SNAKE (`IN_SERVICE`) in events but CamelCase (`InService`) in the API;
* instance counts arrive as floats (`1.0`);
* the instance figures themselves may be missing: transform events without `TransformResources`,
  training events without `ResourceConfig`. Such events are valid; the meter reads the figures from
  the job's Describe call at its terminal state.

The models accept all of these and normalise them: tags become a `dict[str, str]` (or None when the
event did not carry them), times become aware UTC datetimes, endpoint statuses UPPER_SNAKE, job and
notebook statuses PascalCase (each status in either spelling).

What cannot have happened is refused here, with a reason (issue 11), rather than failing the message on
every retry or being metered absurdly. The bounds, and where AWS sets them (botocore's SageMaker model
`sagemaker/2017-07-24/service-2.json`, and the API reference):

* ARNs: `arn:aws[-partition]:sagemaker:<region>:<12-digit account>:<kind>/<name>`, the resource kind of the
  event (the patterns of `TrainingJobArn`, `EndpointArn`, ... in the model), at most 2048 characters;
* statuses: the API's enums (`TrainingJobStatus`, `EndpointStatus`, `NotebookInstanceStatus`, ...) plus the
  event-only `Deleted`/`DELETED`, in PascalCase or UPPER_SNAKE; anything else is unknown and refused;
* times: not before SageMaker existed (launched 2017-11-29: `SAGEMAKER_LAUNCH`), and, given the time of
  processing, not more than `CLOCK_SKEW` after it. (Not checked against the envelope's `time`: AWS's own
  endpoint sample has a `CreationTime` 99 days after it.)
* counts are integers, never booleans (`true` is not one instance); `ProcessingInstanceCount` is at most
  100 (API); training, transform and endpoint counts have no API maximum, only adjustable account quotas,
  so sagecost refuses more than `MAX_INSTANCE_COUNT` instances in one line as implausible;
* `BillableTimeInSeconds`/`TrainingTimeInSeconds` at most 2,419,200 s: `StoppingCondition.MaxRuntimeInSeconds`
  is at most 28 days for training (AWS::SageMaker StoppingCondition reference: "The maximum value is 28
  days"); warm-pool retained time is reported apart (`ResourceRetainedBillableTimeInSeconds`);
* volumes at most 16,384 GB (`ProcessingVolumeSizeInGB`, `NotebookInstanceVolumeSizeInGB`; training's
  `OptionalVolumeSizeInGB` has no maximum, EBS's is 16 TiB) and 512 GB for endpoint variants
  (`ProductionVariantVolumeSizeInGB`).

* how long a job ran, start (or creation) to end (or last change), `MAX_JOB_SECONDS`: a training job's
  `MaxRuntimeInSeconds` is at most 28 days and "the maximum time that a TrainingJob can run in total,
  including any time spent publishing metrics or archiving and uploading models after it has been stopped,
  is 30 days" (same reference); a processing job's at most 777,600 s (9 days,
  `ProcessingMaxRuntimeInSeconds`), plus the same 2 days for stopping and uploading; batch transform has no
  API limit: 30 days, like training, as a plausibility bound. These also keep a job's records within one
  DynamoDB transaction (a job spans at most two months).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_pascal


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""Epoch seconds/milliseconds (int, float, numeric string) or ISO-8601; naive values are taken as UTC."""


SAGEMAKER_LAUNCH = datetime(2017, 11, 29, tzinfo=UTC)
"""SageMaker was announced and opened on 2017-11-29 (re:Invent): nothing of it is older."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far an event's times may run ahead of the clock that processes it."""


def _plausible_time(value: datetime, info: ValidationInfo) -> datetime:
    """An event time that can be real: since SageMaker exists, and not ahead of the processing clock
    (`now` in the validation context, when the caller gives one) by more than the clock skew."""
    value = _as_utc(value)
    if value < SAGEMAKER_LAUNCH:
        raise ValueError(f"{value.isoformat()} is before SageMaker existed ({SAGEMAKER_LAUNCH.date()})")
    now = info.context.get("now") if isinstance(info.context, dict) else None
    if isinstance(now, datetime) and value > now + CLOCK_SKEW:
        raise ValueError(f"{value.isoformat()} is in the future (processed at {now.isoformat()})")
    return value


EventTime = Annotated[datetime, AfterValidator(_plausible_time)]
"""A `UtcDatetime` from an event, refused when it cannot be real (see `_plausible_time`)."""


def _tag_entries(value: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict) or "Key" not in entry:
                raise ValueError("a tag list holds objects with 'Key' and 'Value'")
            yield entry["Key"], entry.get("Value", "")
    elif isinstance(value, dict):
        yield from value.items()
    else:
        raise ValueError("tags are a map or a list of objects with 'Key' and 'Value'")


def resolve_tags(value: Any) -> tuple[dict[Any, Any] | None, tuple[str, ...]]:
    """Tags as a map, and what was dropped to make it one.

    Keys that differ only in case (`Project` and `project`) are one tag to sagecost. Which one wins must
    not depend on the order AWS happened to list them in: the key first in code-point order wins
    (`PROJECT` before `Project` before `project`), with the smallest of its values when the very same key
    was listed twice. Each dropped tag whose value differed is said in a note, so nobody wonders where it
    went.
    """
    if value is None:
        return None, ()
    kept: dict[str, tuple[Any, Any]] = {}
    notes: list[str] = []
    for key, tag_value in sorted(_tag_entries(value), key=lambda kv: (str(kv[0]), str(kv[1]))):
        folded = str(key).casefold()
        if folded not in kept:
            kept[folded] = (key, tag_value)
            continue
        winner, winning_value = kept[folded]
        if tag_value != winning_value:
            notes.append(
                f"tag {key!r}={tag_value!r} dropped: {winner!r}={winning_value!r} is the same key"
                " (keys differing only in case: the first in code-point order is kept)"
            )
    return dict(kept.values()), tuple(notes)


def _tags_as_map(value: Any) -> Any:
    return resolve_tags(value)[0]


Tags = Annotated[dict[str, str], BeforeValidator(_tags_as_map)]
"""Resource tags as `{key: value}`, from a flat map or a `[{Key, Value}]` list."""


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"a count is a number, not the boolean {str(value).lower()}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d{1,18}(\.0+)?", value):
        return int(value.split(".")[0])
    return value


Count = Annotated[int, BeforeValidator(_whole_number), Strict(), Field(ge=0)]
"""A whole number of something: `2`, `2.0` or `"2"`; never `true`, `2.5` or a negative."""

MAX_INSTANCE_COUNT = 1_000
"""Instances in one billing line beyond which an event is refused as implausible. The API sets no maximum
for training (`TrainingInstanceCount`), transform (`TransformInstanceCount`) or endpoint counts
(`TaskCount`): only account quotas, adjustable, whose defaults are in the tens. A real fleet larger than
this is refused with a reason an operator reads, never metered in silence."""
MAX_PROCESSING_INSTANCE_COUNT = 100
"""`ProcessingInstanceCount`: minimum 1, maximum 100 (botocore SageMaker model)."""
MAX_TRAINING_SECONDS = 2_419_200
"""28 days: the maximum `StoppingCondition.MaxRuntimeInSeconds` of a training job, so the most
`BillableTimeInSeconds` and `TrainingTimeInSeconds` can be."""
MAX_VOLUME_GB = 16_384
"""`ProcessingVolumeSizeInGB` and `NotebookInstanceVolumeSizeInGB`: at most 16,384 (EBS's 16 TiB)."""
MAX_VARIANT_VOLUME_GB = 512
"""`ProductionVariantVolumeSizeInGB`: 1 to 512."""

_STOPPING_AND_UPLOAD = 2 * 86_400
MAX_JOB_SECONDS = {
    "training": 30 * 86_400,
    "processing": 777_600 + _STOPPING_AND_UPLOAD,
    "transform": 30 * 86_400,
}
"""How long a job of each kind can run, start to end (see the module's docstring)."""


def _ran_too_long(kind: str, start: datetime | None, end: datetime | None) -> None:
    if start is None or end is None:
        return
    seconds = (end - start).total_seconds()
    if seconds > MAX_JOB_SECONDS[kind]:
        raise ValueError(
            f"the {kind} job ran {seconds:.0f} s ({start.isoformat()} to {end.isoformat()}), longer than"
            f" the {MAX_JOB_SECONDS[kind]} s a {kind} job can"
        )


InstanceCount = Annotated[Count, Field(le=MAX_INSTANCE_COUNT)]
VolumeGb = Annotated[Count, Field(le=MAX_VOLUME_GB)]
TrainingSeconds = Annotated[Count, Field(le=MAX_TRAINING_SECONDS)]


def _none_as_empty(value: Any) -> Any:
    return () if value is None else value


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def upper_snake(status: str) -> str:
    """`InService` -> `IN_SERVICE`; `IN_SERVICE` stays as it is."""
    return _CAMEL_BOUNDARY.sub("_", status).upper()


def _known_status(kind: str, statuses: tuple[str, ...], *, canonical: Callable[[str], str]) -> AfterValidator:
    """A status of `statuses` in the API's PascalCase or the events' UPPER_SNAKE, as `canonical` spells it.
    Anything else (`completed`, `Exploded`) is unknown: refused, so it never closes an interval."""
    spellings = {
        spelling: canonical(status) for status in statuses for spelling in (status, upper_snake(status))
    }

    def known(value: str) -> str:
        if value not in spellings:
            raise ValueError(
                f"{value!r} is not a {kind} status sagecost knows ({', '.join(statuses)}, or in UPPER_SNAKE)"
            )
        return spellings[value]

    return AfterValidator(known)


JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
"""`TrainingJobStatus`, `ProcessingJobStatus`, `TransformJobStatus` (training adds `Deleting`)."""
ENDPOINT_STATUSES = (
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
    "Deleted",
)
"""`EndpointStatus`, and the event-only `DELETED`."""
NOTEBOOK_STATUSES = (
    "Pending",
    "InService",
    "Stopping",
    "Stopped",
    "Failed",
    "Deleting",
    "Updating",
    "PendingMaintenance",
    "InMaintenance",
    "Deleted",
)
"""`NotebookInstanceStatus`, and the event-only `Deleted`."""


def _same(status: str) -> str:
    return status


TrainingJobStatus = Annotated[
    str, _known_status("training job", (*JOB_STATUSES, "Deleting"), canonical=_same)
]
ProcessingJobStatus = Annotated[str, _known_status("processing job", JOB_STATUSES, canonical=_same)]
TransformJobStatus = Annotated[str, _known_status("transform job", JOB_STATUSES, canonical=_same)]
EndpointStatus = Annotated[str, _known_status("endpoint", ENDPOINT_STATUSES, canonical=upper_snake)]
NotebookInstanceStatus = Annotated[
    str, _known_status("notebook instance", NOTEBOOK_STATUSES, canonical=_same)
]

_MAX_ARN_LENGTH = 2048  # `EndpointArn`, `EndpointConfigArn`; job ARNs are at most 256


def _arn_of(kind: str) -> AfterValidator:
    """The ARN of a SageMaker resource of `kind`, as the model's ARN patterns have it."""
    pattern = re.compile(rf"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{{12}}:{kind}/.+", re.DOTALL)

    def arn(value: str) -> str:
        if len(value) > _MAX_ARN_LENGTH or not pattern.fullmatch(value):
            shown = value if len(value) <= 120 else value[:120] + "..."
            raise ValueError(f"{shown!r} is not the ARN of a SageMaker {kind}")
        return value

    return AfterValidator(arn)


class _Detail(BaseModel):
    """Fields every SageMaker `detail` shares. Unknown fields are ignored: AWS adds fields over time."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    tags: Tags | None = None
    creation_time: EventTime | None = None
    last_modified_time: EventTime | None = None
    failure_reason: str | None = None
    tag_notes: tuple[str, ...] = Field(default=(), exclude=True)
    """Tags dropped because another key differs from theirs only in case (see `resolve_tags`)."""

    @model_validator(mode="before")
    @classmethod
    def _note_dropped_tags(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in ("TagNotes", "tag_notes")}
        if data.get("Tags") is not None:
            # on a ValueError, the field's own validation says what is wrong with them
            with suppress(ValueError):
                data["Tags"], data["TagNotes"] = resolve_tags(data["Tags"])
        return data


class InstanceGroup(BaseModel):
    """One group of a heterogeneous training cluster (`ResourceConfig.InstanceGroups`)."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str
    instance_count: InstanceCount
    instance_group_name: str | None = None


class ResourceConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str | None = None
    instance_count: InstanceCount = 1
    volume_size_in_gb: VolumeGb | None = Field(default=None, alias="VolumeSizeInGB")
    instance_groups: Annotated[tuple[InstanceGroup, ...], BeforeValidator(_none_as_empty)] = ()


class StoppingCondition(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    max_runtime_in_seconds: TrainingSeconds | None = None


class TrainingJobDetail(_Detail):
    training_job_name: str
    training_job_arn: Annotated[str, _arn_of("training-job")]
    training_job_status: TrainingJobStatus
    secondary_status: str | None = None
    tuning_job_arn: str | None = None
    resource_config: ResourceConfig | None = None
    stopping_condition: StoppingCondition | None = None
    training_start_time: EventTime | None = None
    training_end_time: EventTime | None = None
    # Absent from real events (DescribeTrainingJob has them); accepted when a producer includes them.
    billable_time_in_seconds: TrainingSeconds | None = None
    training_time_in_seconds: TrainingSeconds | None = None
    enable_managed_spot_training: bool | None = None

    @model_validator(mode="after")
    def _plausible_run(self) -> TrainingJobDetail:
        start = self.training_start_time or self.creation_time
        _ran_too_long("training", start, self.training_end_time or self.last_modified_time)
        return self


class ClusterConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str
    instance_count: Annotated[Count, Field(le=MAX_PROCESSING_INSTANCE_COUNT)] = 1
    volume_size_in_gb: VolumeGb | None = Field(default=None, alias="VolumeSizeInGB")


class ProcessingResources(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    cluster_config: ClusterConfig


class ProcessingJobDetail(_Detail):
    processing_job_name: str
    processing_job_arn: Annotated[str, _arn_of("processing-job")]
    processing_job_status: ProcessingJobStatus
    processing_resources: ProcessingResources
    stopping_condition: StoppingCondition | None = None
    processing_start_time: EventTime | None = None
    processing_end_time: EventTime | None = None

    @model_validator(mode="after")
    def _plausible_run(self) -> ProcessingJobDetail:
        end = self.processing_end_time or self.last_modified_time
        _ran_too_long("processing", self.processing_start_time, end)
        return self


class TransformResources(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str | None = None
    instance_count: InstanceCount = 1


class TransformJobDetail(_Detail):
    transform_job_name: str
    transform_job_arn: Annotated[str, _arn_of("transform-job")]
    transform_job_status: TransformJobStatus
    # Absent from some real events (the schema registry does not require it): DescribeTransformJob has it.
    transform_resources: TransformResources | None = None
    transform_start_time: EventTime | None = None
    transform_end_time: EventTime | None = None
    model_name: str | None = None

    @model_validator(mode="after")
    def _plausible_run(self) -> TransformJobDetail:
        _ran_too_long(
            "transform", self.transform_start_time, self.transform_end_time or self.last_modified_time
        )
        return self


class EndpointVariantState(BaseModel):
    """A production variant as endpoint events report it: counts, and a name only in some shapes."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    variant_name: str | None = None
    current_instance_count: InstanceCount | None = None
    desired_instance_count: InstanceCount | None = None

    @property
    def instance_count(self) -> int | None:
        if self.current_instance_count is not None:
            return self.current_instance_count
        return self.desired_instance_count


class EndpointDetail(_Detail):
    endpoint_name: str
    endpoint_arn: Annotated[str, _arn_of("endpoint")]
    endpoint_config_name: str | None = None
    endpoint_status: EndpointStatus
    production_variants: Annotated[tuple[EndpointVariantState, ...], BeforeValidator(_none_as_empty)] = ()


class EndpointConfigVariant(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    variant_name: str
    model_name: str | None = None
    instance_type: str | None = None
    initial_instance_count: InstanceCount | None = None
    volume_size_in_gb: Annotated[Count, Field(le=MAX_VARIANT_VOLUME_GB)] | None = Field(
        default=None, alias="VolumeSizeInGB"
    )
    serverless_config: dict[str, Any] | None = None


class EndpointConfigDetail(_Detail):
    endpoint_config_name: str
    endpoint_config_arn: Annotated[str, _arn_of("endpoint-config")]
    production_variants: Annotated[tuple[EndpointConfigVariant, ...], BeforeValidator(_none_as_empty)] = ()
    shadow_production_variants: Annotated[
        tuple[EndpointConfigVariant, ...], BeforeValidator(_none_as_empty)
    ] = ()
    async_inference_config: dict[str, Any] | None = None


class NotebookInstanceDetail(_Detail):
    notebook_instance_name: str
    notebook_instance_arn: Annotated[str, _arn_of("notebook-instance")]
    notebook_instance_status: NotebookInstanceStatus
    instance_type: str | None = None
    # Absent from real events (DescribeNotebookInstance has it); accepted when a producer includes it.
    volume_size_in_gb: VolumeGb | None = Field(default=None, alias="VolumeSizeInGB")


class ApiCallDetail(BaseModel):
    """The `detail` of an "AWS API Call via CloudTrail" event: the CloudTrail record, in camelCase.

    For kinds SageMaker sends no state-change event for (Studio apps and spaces, inference components,
    MLflow tracking servers: AWS-FACTS.md section 0, fact 6). Each kind's domain module reads the
    `requestParameters` and `responseElements` of its calls; `tags` are the request's `tags`
    (`[{key, value}]`, as CloudTrail writes them, or `[{Key, Value}]`)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    event_name: str = Field(alias="eventName")
    event_source: Literal["sagemaker.amazonaws.com"] = Field(alias="eventSource")
    event_time: EventTime = Field(alias="eventTime")
    event_id: str = Field(default="", alias="eventID")
    aws_region: str = Field(default="", alias="awsRegion")
    recipient_account_id: str | None = Field(default=None, alias="recipientAccountId")
    user_identity: dict[str, Any] = Field(default_factory=dict, alias="userIdentity")
    request_parameters: dict[str, Any] = Field(default_factory=dict, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    error_code: str | None = Field(default=None, alias="errorCode")
    tags: Tags | None = None
    tag_notes: tuple[str, ...] = Field(default=(), exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _request_tags(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in ("tags", "tag_notes")}
        raw = (data.get("requestParameters") or {}).get("tags")
        if isinstance(raw, list):
            entries = [
                {
                    "Key": entry.get("key", entry.get("Key")),
                    "Value": entry.get("value", entry.get("Value", "")),
                }
                if isinstance(entry, dict)
                else entry
                for entry in raw
            ]
            with suppress(ValueError):
                data["tags"], data["tag_notes"] = resolve_tags(entries)
        return data

    @property
    def failed(self) -> bool:
        """The call was refused (`errorCode`): it created or deleted nothing."""
        return self.error_code is not None

    @property
    def response(self) -> dict[str, Any]:
        return self.response_elements or {}


class _SageMakerEvent(EventBridgeModel):
    source: Literal["aws.sagemaker"]
    time: EventTime


class TrainingJobEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Training Job State Change"] = Field(alias="detail-type")
    detail: TrainingJobDetail


class ProcessingJobEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    detail: ProcessingJobDetail


class TransformJobEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Transform Job State Change"] = Field(alias="detail-type")
    detail: TransformJobDetail


class EndpointEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Endpoint State Change"] = Field(alias="detail-type")
    detail: EndpointDetail


class EndpointConfigEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Endpoint Config State Change"] = Field(alias="detail-type")
    detail: EndpointConfigDetail


class NotebookInstanceEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Notebook Instance State Change"] = Field(alias="detail-type")
    detail: NotebookInstanceDetail


# --- endpoint deployments (blue/green): "SageMaker Endpoint Deployment State Change" ----------------------


class DeploymentStage(BaseModel):
    """One `VariantStatus` entry: a stage of the deployment (`Creating`, `Baking`, ...) and when it began."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    status: str | None = None
    start_time: EventTime | None = None


class DeploymentVariantState(EndpointVariantState):
    """A variant of the fleet a blue/green deployment is bringing up (`PendingDeploymentSummary`)."""

    instance_type: str | None = None
    variant_status: Annotated[tuple[DeploymentStage, ...], BeforeValidator(_none_as_empty)] = ()


class PendingDeployment(BaseModel):
    """`PendingDeploymentSummary`: the new endpoint config and the second fleet it runs while UPDATING."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    endpoint_config_name: str | None = None
    start_time: EventTime | None = None
    production_variants: Annotated[tuple[DeploymentVariantState, ...], BeforeValidator(_none_as_empty)] = ()


class EndpointDeploymentDetail(EndpointDetail):
    pending_deployment_summary: PendingDeployment | None = None


class EndpointDeploymentEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker Endpoint Deployment State Change"] = Field(alias="detail-type")
    detail: EndpointDeploymentDetail


# --- end of endpoint deployments ----------------------------------------------------------------------
# --- issue 12 (helper e): HyperPod clusters ---------------------------------------------------------

CLUSTER_STATUSES = (
    "Creating",
    "Deleting",
    "Failed",
    "InService",
    "RollingBack",
    "SystemUpdating",
    "Updating",
)
"""`ClusterStatus` (botocore 1.43)."""


class ClusterInstanceGroupState(BaseModel):
    """One instance group of a HyperPod cluster as its event (and DescribeCluster) reports it."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_group_name: str
    instance_type: str
    current_count: InstanceCount | None = None
    target_count: InstanceCount | None = None
    status: str | None = None


class HyperPodClusterDetail(_Detail):
    cluster_arn: Annotated[str, _arn_of("cluster")]
    cluster_name: str
    cluster_status: Annotated[str, _known_status("HyperPod cluster", CLUSTER_STATUSES, canonical=_same)]
    instance_groups: Annotated[tuple[ClusterInstanceGroupState, ...], BeforeValidator(_none_as_empty)] = ()


class HyperPodClusterEvent(_SageMakerEvent):
    detail_type: Literal["SageMaker HyperPod Cluster State Change"] = Field(alias="detail-type")
    detail: HyperPodClusterDetail


# --- end issue 12 (helper e) ------------------------------------------------------------------------


API_CALL = "AWS API Call via CloudTrail"


class ApiCallEvent(_SageMakerEvent):
    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")
    detail: ApiCallDetail


SageMakerEvent = Annotated[
    TrainingJobEvent
    | ProcessingJobEvent
    | TransformJobEvent
    | EndpointEvent
    | EndpointConfigEvent
    | NotebookInstanceEvent
    | EndpointDeploymentEvent  # endpoint deployments
    | HyperPodClusterEvent  # issue 12 (helper e)
    | ApiCallEvent,
    Field(discriminator="detail_type"),
]

METERED_DETAIL_TYPES: tuple[str, ...] = (
    "SageMaker Training Job State Change",
    "SageMaker Processing Job State Change",
    "SageMaker Transform Job State Change",
    "SageMaker Endpoint State Change",
    "SageMaker Endpoint Config State Change",
    "SageMaker Notebook Instance State Change",
    "SageMaker Endpoint Deployment State Change",  # endpoint deployments
    "SageMaker HyperPod Cluster State Change",  # issue 12 (helper e)
)
"""State-change `detail-type`s the recorder meters (the kinds' registry names the same: a test holds it)."""

METERED_API_CALLS: tuple[str, ...] = (
    # inference components (issue 12)
    "CreateInferenceComponent",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
    "DeleteInferenceComponent",
    # end inference components
    # Studio apps and Studio spaces' storage (domain.kinds.studio_app, domain.kinds.space)
    "CreateApp",
    "DeleteApp",
    "CreateSpace",
    "DeleteSpace",
    # issue 12 (helper e): MLflow tracking servers
    "CreateMlflowTrackingServer",
    "UpdateMlflowTrackingServer",
    "StartMlflowTrackingServer",
    "StopMlflowTrackingServer",
    "DeleteMlflowTrackingServer",
)
"""CloudTrail `eventName`s the recorder meters, for kinds without state-change events (same registry test)."""

_EVENT_ADAPTER: TypeAdapter[SageMakerEvent] = TypeAdapter(SageMakerEvent)


class InvalidEvent(ValueError):
    """An event sagecost cannot meter, with a reason a person can act on."""


def parse_event(raw: Any, *, now: datetime | None = None) -> SageMakerEvent:
    """Validate one EventBridge envelope; raise InvalidEvent with a readable reason otherwise.

    `now`, the time of processing (`sagecost.clock.now()`), refuses events from the future; without it
    only the bounds that need no clock apply."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(raw).__name__}")
    detail_type = raw.get("detail-type")
    if detail_type == API_CALL:
        detail = raw.get("detail")
        call = detail.get("eventName") if isinstance(detail, dict) else None
        if call not in METERED_API_CALLS:
            raise InvalidEvent(f"CloudTrail call {call!r} is not one sagecost meters")
    elif detail_type not in METERED_DETAIL_TYPES:
        raise InvalidEvent(f"detail-type {detail_type!r} is not a SageMaker state change sagecost meters")
    try:
        return _EVENT_ADAPTER.validate_python(raw, context={"now": now})
    except RecursionError:
        raise InvalidEvent(f"{detail_type}: nested too deeply to read") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc'][1:]) or 'event'}: {issue['msg']}"
            for issue in error.errors(include_url=False)
        )
        raise InvalidEvent(f"{detail_type}: {problems}") from None


def parse_event_json(body: str, *, now: datetime | None = None) -> SageMakerEvent:
    """`parse_event` for a JSON text, as an SQS message or a line of a file carries it."""
    return parse_event(read_json(body), now=now)


def read_json(body: str) -> Any:
    """A message's JSON, or InvalidEvent saying why it cannot be read (not JSON, nested too deeply)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise InvalidEvent("not JSON sagecost can read: nested too deeply") from None
    except ValueError as error:
        raise InvalidEvent(f"not JSON: {error}") from None
