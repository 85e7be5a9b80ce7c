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
event did not carry them), times become aware UTC datetimes, endpoint statuses UPPER_SNAKE.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_pascal


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""Epoch seconds/milliseconds (int, float, numeric string) or ISO-8601; naive values are taken as UTC."""


def _tags_as_map(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        tags: dict[str, Any] = {}
        for entry in value:
            if not isinstance(entry, dict) or "Key" not in entry:
                raise ValueError("a tag list holds objects with 'Key' and 'Value'")
            tags[entry["Key"]] = entry.get("Value", "")
        return tags
    return value


Tags = Annotated[dict[str, str], BeforeValidator(_tags_as_map)]
"""Resource tags as `{key: value}`, from a flat map or a `[{Key, Value}]` list."""


def _whole_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d+(\.0+)?", value):
        return int(float(value))
    return value


Count = Annotated[int, BeforeValidator(_whole_number), Field(ge=0)]


def _none_as_empty(value: Any) -> Any:
    return () if value is None else value


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def upper_snake(status: str) -> str:
    """`InService` -> `IN_SERVICE`; `IN_SERVICE` stays as it is."""
    return _CAMEL_BOUNDARY.sub("_", status).upper()


EndpointStatus = Annotated[str, AfterValidator(upper_snake)]


class _Detail(BaseModel):
    """Fields every SageMaker `detail` shares. Unknown fields are ignored: AWS adds fields over time."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    tags: Tags | None = None
    creation_time: UtcDatetime | None = None
    last_modified_time: UtcDatetime | None = None
    failure_reason: str | None = None


class InstanceGroup(BaseModel):
    """One group of a heterogeneous training cluster (`ResourceConfig.InstanceGroups`)."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str
    instance_count: Count
    instance_group_name: str | None = None


class ResourceConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str | None = None
    instance_count: Count = 1
    volume_size_in_gb: Count | None = Field(default=None, alias="VolumeSizeInGB")
    instance_groups: Annotated[tuple[InstanceGroup, ...], BeforeValidator(_none_as_empty)] = ()


class StoppingCondition(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    max_runtime_in_seconds: Count | None = None


class TrainingJobDetail(_Detail):
    training_job_name: str
    training_job_arn: str
    training_job_status: str
    secondary_status: str | None = None
    tuning_job_arn: str | None = None
    resource_config: ResourceConfig | None = None
    stopping_condition: StoppingCondition | None = None
    training_start_time: UtcDatetime | None = None
    training_end_time: UtcDatetime | None = None
    # Absent from real events (DescribeTrainingJob has them); accepted when a producer includes them.
    billable_time_in_seconds: Count | None = None
    training_time_in_seconds: Count | None = None
    enable_managed_spot_training: bool | None = None


class ClusterConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str
    instance_count: Count = 1
    volume_size_in_gb: Count | None = Field(default=None, alias="VolumeSizeInGB")


class ProcessingResources(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    cluster_config: ClusterConfig


class ProcessingJobDetail(_Detail):
    processing_job_name: str
    processing_job_arn: str
    processing_job_status: str
    processing_resources: ProcessingResources
    stopping_condition: StoppingCondition | None = None
    processing_start_time: UtcDatetime | None = None
    processing_end_time: UtcDatetime | None = None


class TransformResources(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    instance_type: str | None = None
    instance_count: Count = 1


class TransformJobDetail(_Detail):
    transform_job_name: str
    transform_job_arn: str
    transform_job_status: str
    # Absent from some real events (the schema registry does not require it): DescribeTransformJob has it.
    transform_resources: TransformResources | None = None
    transform_start_time: UtcDatetime | None = None
    transform_end_time: UtcDatetime | None = None
    model_name: str | None = None


class EndpointVariantState(BaseModel):
    """A production variant as endpoint events report it: counts, and a name only in some shapes."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    variant_name: str | None = None
    current_instance_count: Count | None = None
    desired_instance_count: Count | None = None

    @property
    def instance_count(self) -> int | None:
        if self.current_instance_count is not None:
            return self.current_instance_count
        return self.desired_instance_count


class EndpointDetail(_Detail):
    endpoint_name: str
    endpoint_arn: str
    endpoint_config_name: str | None = None
    endpoint_status: EndpointStatus
    production_variants: Annotated[tuple[EndpointVariantState, ...], BeforeValidator(_none_as_empty)] = ()


class EndpointConfigVariant(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True)

    variant_name: str
    model_name: str | None = None
    instance_type: str | None = None
    initial_instance_count: Count | None = None
    volume_size_in_gb: Count | None = Field(default=None, alias="VolumeSizeInGB")
    serverless_config: dict[str, Any] | None = None


class EndpointConfigDetail(_Detail):
    endpoint_config_name: str
    endpoint_config_arn: str
    production_variants: Annotated[tuple[EndpointConfigVariant, ...], BeforeValidator(_none_as_empty)] = ()
    async_inference_config: dict[str, Any] | None = None


class NotebookInstanceDetail(_Detail):
    notebook_instance_name: str
    notebook_instance_arn: str
    notebook_instance_status: str
    instance_type: str | None = None
    # Absent from real events (DescribeNotebookInstance has it); accepted when a producer includes it.
    volume_size_in_gb: Count | None = Field(default=None, alias="VolumeSizeInGB")


class _SageMakerEvent(EventBridgeModel):
    source: Literal["aws.sagemaker"]
    time: UtcDatetime


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


SageMakerEvent = Annotated[
    TrainingJobEvent
    | ProcessingJobEvent
    | TransformJobEvent
    | EndpointEvent
    | EndpointConfigEvent
    | NotebookInstanceEvent,
    Field(discriminator="detail_type"),
]

METERED_DETAIL_TYPES: tuple[str, ...] = (
    "SageMaker Training Job State Change",
    "SageMaker Processing Job State Change",
    "SageMaker Transform Job State Change",
    "SageMaker Endpoint State Change",
    "SageMaker Endpoint Config State Change",
    "SageMaker Notebook Instance State Change",
)

_EVENT_ADAPTER: TypeAdapter[SageMakerEvent] = TypeAdapter(SageMakerEvent)


class InvalidEvent(ValueError):
    """An event sagecost cannot meter, with a reason a person can act on."""


def parse_event(raw: Any) -> SageMakerEvent:
    """Validate one EventBridge envelope; raise InvalidEvent with a readable reason otherwise."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(raw).__name__}")
    detail_type = raw.get("detail-type")
    if detail_type not in METERED_DETAIL_TYPES:
        raise InvalidEvent(f"detail-type {detail_type!r} is not a SageMaker state change sagecost meters")
    try:
        return _EVENT_ADAPTER.validate_python(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc'][1:]) or 'event'}: {issue['msg']}"
            for issue in error.errors(include_url=False)
        )
        raise InvalidEvent(f"{detail_type}: {problems}") from None


def parse_event_json(body: str) -> SageMakerEvent:
    """`parse_event` for a JSON text, as an SQS message or a line of a file carries it."""
    try:
        raw = json.loads(body)
    except ValueError as error:
        raise InvalidEvent(f"not JSON: {error}") from None
    return parse_event(raw)
