"""Event models: every shape EventBridge really delivers parses to the same normalised event; anything
else is rejected with a reason that names what is wrong."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sagecost.domain.metering import ResourceRef
from sagecost.domain.tags import snapshot
from sagecost.local import events
from sagecost.models.config import SagecostConfig
from sagecost.models.events import (
    EndpointConfigEvent,
    EndpointEvent,
    InvalidEvent,
    NotebookInstanceEvent,
    ProcessingJobEvent,
    TrainingJobEvent,
    TransformJobEvent,
    parse_event,
    parse_event_json,
    upper_snake,
)
from sagecost.models.ledger import ResourceKind

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100"}
REFERENCE_EVENTS = Path(__file__).resolve().parents[2].parent / "shared/reference/events"


def training(**overrides: Any) -> dict[str, Any]:
    raw = events.training_job(
        "train-1",
        "Completed",
        at=T0,
        instance_type="ml.m5.xlarge",
        instance_count=2,
        start=T0.replace(hour=8),
        end=T0,
        tags=TAGS,
    )
    raw["detail"].update(overrides)
    return raw


def endpoint(**overrides: Any) -> dict[str, Any]:
    raw = events.endpoint("ep-1", "IN_SERVICE", at=T0, config_name="cfg-1", variants=[("AllTraffic", 2)])
    raw["detail"].update(overrides)
    return raw


def reference(name: str) -> dict[str, Any]:
    if not REFERENCE_EVENTS.is_dir():
        pytest.skip(f"the AWS sample events are not here: {REFERENCE_EVENTS}")
    loaded: dict[str, Any] = json.loads((REFERENCE_EVENTS / name).read_text(encoding="utf-8"))
    return loaded


def as_training(raw: dict[str, Any]) -> TrainingJobEvent:
    event = parse_event(raw)
    assert isinstance(event, TrainingJobEvent)
    return event


def as_endpoint(raw: dict[str, Any]) -> EndpointEvent:
    event = parse_event(raw)
    assert isinstance(event, EndpointEvent)
    return event


# --- tags --------------------------------------------------------------------------------------


def test_tags_as_a_flat_map_and_as_a_key_value_list_give_the_same_tags() -> None:
    as_map = as_training(training(Tags={"Project": "fraud", "Team": "risk"}))
    as_list = as_training(
        training(Tags=[{"Key": "Project", "Value": "fraud"}, {"Key": "Team", "Value": "risk"}])
    )
    assert as_map.detail.tags == as_list.detail.tags == {"Project": "fraud", "Team": "risk"}


def test_events_built_in_every_tag_format_carry_the_same_tags() -> None:
    parsed = {
        style: as_training(
            events.training_job(
                "j", "Completed", at=T0, instance_type="ml.m5.xlarge", tags=TAGS, tag_format=style
            )
        ).detail.tags
        for style in ("map", "list")
    }
    assert parsed == {"map": TAGS, "list": TAGS}


def test_a_tag_list_entry_without_value_is_an_empty_value() -> None:
    event = as_training(training(Tags=[{"Key": "Project"}]))
    assert event.detail.tags == {"Project": ""}


def test_absent_tags_are_none_but_empty_tags_are_an_empty_map() -> None:
    # Processing events carry no Tags at all (tags must be read elsewhere); delete events carry {}.
    without = training()
    del without["detail"]["Tags"]
    assert as_training(without).detail.tags is None
    assert as_training(training(Tags=None)).detail.tags is None
    assert as_training(training(Tags={})).detail.tags == {}
    assert as_training(training(Tags=[])).detail.tags == {}


def test_a_processing_event_without_tags_parses_with_tags_unknown() -> None:
    raw = events.processing_job(
        "prep", "Completed", at=T0, instance_type="ml.m5.xlarge", start=T0.replace(hour=8), end=T0
    )
    assert "Tags" not in raw["detail"]
    event = parse_event(raw)
    assert isinstance(event, ProcessingJobEvent)
    assert event.detail.tags is None
    assert event.detail.processing_resources.cluster_config.instance_type == "ml.m5.xlarge"


# --- timestamps --------------------------------------------------------------------------------

AT_MS = 1592411992203  # 2020-06-17T16:39:52.203Z
EXPECTED_AT = datetime(2020, 6, 17, 16, 39, 52, 203000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(AT_MS, id="epoch-ms-int"),
        pytest.param(float(AT_MS), id="epoch-ms-float"),
        pytest.param(str(AT_MS), id="epoch-ms-numeric-string"),
        pytest.param("2020-06-17T16:39:52.203Z", id="iso-with-Z"),
        pytest.param("2020-06-17T18:39:52.203+02:00", id="iso-with-offset"),
        pytest.param("2020-06-17T16:39:52.203", id="iso-without-tz-is-utc"),
    ],
)
def test_every_timestamp_shape_gives_the_same_aware_utc_moment(value: object) -> None:
    event = as_training(training(LastModifiedTime=value, TrainingEndTime=value))
    assert event.detail.last_modified_time == EXPECTED_AT
    assert event.detail.training_end_time == EXPECTED_AT
    assert event.detail.last_modified_time.utcoffset() == timedelta(0)


def test_null_timestamps_are_none() -> None:
    event = as_training(training(TrainingStartTime=None, TrainingEndTime=None, LastModifiedTime=None))
    assert (
        event.detail.training_start_time,
        event.detail.training_end_time,
        event.detail.last_modified_time,
    ) == (None, None, None)


def test_the_envelope_time_in_iso_or_epoch_ms_is_an_aware_utc_moment() -> None:
    iso = training()
    iso["time"] = "2026-11-10T09:00:00Z"
    epoch = training()
    epoch["time"] = str(int(T0.timestamp() * 1000))
    assert parse_event(iso).time == parse_event(epoch).time == T0


def test_events_built_in_every_time_format_parse_to_the_same_times() -> None:
    start, end = T0.replace(hour=7, minute=30), T0.replace(hour=8, minute=45)
    times = set()
    for style in ("epoch_ms", "epoch_float", "epoch_str", "iso"):
        detail = as_training(
            events.training_job(
                "j", "Completed", at=T0, instance_type="ml.m5.xlarge", start=start, end=end, time_format=style
            )
        ).detail
        times.add((detail.training_start_time, detail.training_end_time, detail.last_modified_time))
    assert times == {(start, end, T0)}


# --- endpoint statuses and counts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("InService", "IN_SERVICE"),
        ("IN_SERVICE", "IN_SERVICE"),
        ("Creating", "CREATING"),
        ("OutOfService", "OUT_OF_SERVICE"),
        ("SystemUpdating", "SYSTEM_UPDATING"),
        ("RollingBack", "ROLLING_BACK"),
        ("UpdateRollbackFailed", "UPDATE_ROLLBACK_FAILED"),
        ("UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED"),
    ],
)
def test_endpoint_statuses_in_api_casing_become_the_event_upper_snake(status: str, expected: str) -> None:
    assert as_endpoint(endpoint(EndpointStatus=status)).detail.endpoint_status == expected
    assert upper_snake(status) == expected


def test_float_instance_counts_are_whole_numbers() -> None:
    event = as_endpoint(
        endpoint(
            ProductionVariants=[
                {"VariantName": "A", "CurrentInstanceCount": 1.0, "DesiredInstanceCount": 3.0},
                {"VariantName": "B", "DesiredInstanceCount": "2"},
            ]
        )
    )
    first, second = event.detail.production_variants
    assert (first.current_instance_count, first.desired_instance_count) == (1, 3)
    assert isinstance(first.current_instance_count, int)
    # what bills is the current count; the desired count only when the current one is not reported
    assert (first.instance_count, second.instance_count) == (1, 2)
    job = as_training(training(ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 4.0}))
    assert job.detail.resource_config is not None
    assert job.detail.resource_config.instance_count == 4


@pytest.mark.parametrize("count", [1.5, -1, "two"])
def test_an_instance_count_that_is_not_a_whole_number_is_rejected(count: object) -> None:
    raw = training(ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": count})
    with pytest.raises(InvalidEvent, match=r"ResourceConfig\.InstanceCount"):
        parse_event(raw)


# --- unknown fields and AWS's own shapes ------------------------------------------------------


def test_unknown_fields_anywhere_are_ignored() -> None:
    raw = training(
        HyperParameters={"eta": "0.1"},
        SecondaryStatusTransitions=[{"Status": "Starting"}],
        WarmPoolStatus={"Status": "Available"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "KeepAlivePeriodInSeconds": 60},
    )
    raw["replay-name"] = "archive-1"
    event = as_training(raw)
    assert event.detail.resource_config is not None
    assert event.detail.resource_config.instance_count == 2


def test_a_realistic_endpoint_config_event_with_null_optional_fields_parses() -> None:
    # the shape of AWS-authored consumers' fixtures: unset optional fields are null, not absent
    raw = events.endpoint_config("cfg-1", [("variant-1", "ml.m4.xlarge", 1)], at=T0, tags=TAGS)
    raw["detail"]["ProductionVariants"][0].update(
        {"AcceleratorType": None, "ServerlessConfig": None, "VolumeSizeInGB": None, "CoreDumpConfig": None}
    )
    raw["detail"].update({"DataCaptureConfig": None, "KmsKeyId": None, "AsyncInferenceConfig": None})
    event = parse_event(raw)
    assert isinstance(event, EndpointConfigEvent)
    (variant,) = event.detail.production_variants
    assert (variant.instance_type, variant.initial_instance_count, variant.serverless_config) == (
        "ml.m4.xlarge",
        1,
        None,
    )
    assert event.detail.async_inference_config is None


def test_an_endpoint_event_without_variants_or_config_name_parses() -> None:
    raw = endpoint(FailureReason=None)
    del raw["detail"]["ProductionVariants"]
    del raw["detail"]["EndpointConfigName"]
    event = as_endpoint(raw)
    assert event.detail.production_variants == ()
    assert event.detail.endpoint_config_name is None


def test_null_optional_lists_are_taken_as_empty() -> None:
    no_variants = as_endpoint(endpoint(ProductionVariants=None))
    assert no_variants.detail.production_variants == ()
    job = as_training(
        training(ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "InstanceGroups": None})
    )
    assert job.detail.resource_config is not None
    assert job.detail.resource_config.instance_groups == ()


def test_a_notebook_event_keeps_its_api_casing_and_the_event_only_deleted_status() -> None:
    raw = events.notebook("nb", "Deleted", at=T0, instance_type="ml.t3.medium", tags={})
    event = parse_event(raw)
    assert isinstance(event, NotebookInstanceEvent)
    assert event.detail.notebook_instance_status == "Deleted"
    assert event.detail.volume_size_in_gb is None  # real notebook events do not carry it


def test_parse_event_json_reads_an_sqs_body() -> None:
    body = json.dumps(training())
    assert parse_event_json(body) == parse_event(training())


# --- the AWS documentation samples -------------------------------------------------------------


def test_aws_endpoint_sample_with_epoch_string_envelope_time_and_float_counts() -> None:
    event = as_endpoint(reference("endpoint-state-change.awsdocs.json"))
    assert event.time == datetime(2020, 3, 10, 9, 18, 9, 50000, tzinfo=UTC)  # "1583831889050"
    assert event.detail.creation_time == EXPECTED_AT  # 1592411992203.0
    assert event.detail.endpoint_status == "IN_SERVICE"
    assert event.detail.tags == {}
    (variant,) = event.detail.production_variants
    assert (variant.variant_name, variant.current_instance_count, variant.instance_count) == (None, None, 1)


def test_aws_training_sample_with_numeric_string_timestamps() -> None:
    event = as_training(reference("training-job-state-change.awsdocs.json"))
    moment = datetime(2020, 3, 10, 9, 18, 9, 50000, tzinfo=UTC)
    assert (event.detail.training_start_time, event.detail.training_end_time) == (moment, moment)
    assert event.detail.training_job_status == "Completed"
    assert event.detail.resource_config is not None
    assert (event.detail.resource_config.instance_count, event.detail.resource_config.volume_size_in_gb) == (
        3,
        20,
    )
    assert event.detail.billable_time_in_seconds is None  # real events never carry it
    assert event.detail.tags == {}


def test_aws_processing_sample_without_tags_and_an_arn_in_another_region() -> None:
    event = parse_event(reference("processing-job-state-change.awsdocs.json"))
    assert isinstance(event, ProcessingJobEvent)
    detail = event.detail
    assert detail.tags is None
    assert detail.processing_job_status == "Failed"
    assert detail.processing_start_time is not None and detail.processing_end_time is not None
    assert (detail.processing_end_time - detail.processing_start_time).total_seconds() == 12
    cluster = detail.processing_resources.cluster_config
    assert (cluster.instance_type, cluster.instance_count, cluster.volume_size_in_gb) == (
        "ml.c5.xlarge",
        3,
        5,
    )
    # usage is located where the resource is (the ARN), not where the envelope says it was routed
    ref = ResourceRef.from_arn(
        detail.processing_job_arn,
        ResourceKind.PROCESSING_JOB,
        detail.processing_job_name,
        fallback_region=event.region,
    )
    assert (event.region, ref.region, ref.account) == ("us-east-1", "us-west-2", "037210630506")


def test_aws_transform_sample_with_a_nonsense_status_is_rejected_with_the_status_named() -> None:
    # AWS's sample says "another status... GO": a status sagecost does not know is refused with a reason
    # (issue 11, defect 5), never acknowledged in silence, never taken as the end of anything
    raw = reference("transform-job-state-change.awsdocs.json")
    with pytest.raises(InvalidEvent, match=r"TransformJobStatus.*'another status\.\.\. GO'"):
        parse_event(raw)
    known = copy.deepcopy(raw)
    known["detail"]["TransformJobStatus"] = "Completed"
    event = parse_event(known)
    assert isinstance(event, TransformJobEvent)
    assert event.detail.transform_resources is not None
    assert event.detail.transform_resources.instance_count == 3
    assert event.detail.last_modified_time is None


@pytest.mark.parametrize(
    ("name", "detail_type"),
    [
        ("hpo-job-state-change.awsdocs.json", "SageMaker HyperParameter Tuning Job State Change"),
        (
            "pipeline-execution-status-change.awsdocs.json",
            "SageMaker Model Building Pipeline Execution Status Change",
        ),
        ("pipeline-step-status-change.awsdocs.json", "Step Status Change"),
    ],
)
def test_aws_samples_of_events_sagecost_does_not_meter_are_refused_by_detail_type(
    name: str, detail_type: str
) -> None:
    with pytest.raises(InvalidEvent, match="is not a SageMaker state change sagecost meters") as refused:
        parse_event(reference(name))
    assert detail_type in str(refused.value)


def test_raw_cloudtrail_records_are_not_eventbridge_events() -> None:
    with pytest.raises(InvalidEvent, match="detail-type None"):
        parse_event(reference("cloudtrail-record-CreateEndpoint.awsdocs.json"))


def test_aws_samples_that_are_not_valid_json_are_refused_as_not_json() -> None:
    if not REFERENCE_EVENTS.is_dir():
        pytest.skip(f"the AWS sample events are not here: {REFERENCE_EVENTS}")
    samples = sorted(REFERENCE_EVENTS.glob("*invalid-json*"))
    assert samples, "the verbatim (invalid JSON) endpoint deployment samples are expected"
    for sample in samples:
        with pytest.raises(InvalidEvent, match=r"^not JSON: "):
            parse_event_json(sample.read_text(encoding="utf-8"))


# --- malformed input ---------------------------------------------------------------------------


def test_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidEvent, match=r"^not JSON: "):
        parse_event_json("this is not json")


@pytest.mark.parametrize(
    ("body", "kind"), [('["an", "array"]', "list"), ("42", "int"), ('"text"', "str"), ("null", "NoneType")]
)
def test_json_that_is_not_an_object_is_refused_naming_what_it_is(body: str, kind: str) -> None:
    with pytest.raises(InvalidEvent, match=f"^expected a JSON object, got {kind}$"):
        parse_event_json(body)


def test_an_unknown_detail_type_is_refused_naming_it() -> None:
    raw = training()
    raw["detail-type"] = "EC2 Instance State-change Notification"
    with pytest.raises(InvalidEvent, match="'EC2 Instance State-change Notification' is not a SageMaker"):
        parse_event(raw)


def test_a_missing_training_job_arn_is_refused_naming_the_field() -> None:
    raw = training()
    del raw["detail"]["TrainingJobArn"]
    with pytest.raises(InvalidEvent) as refused:
        parse_event(raw)
    assert str(refused.value) == "SageMaker Training Job State Change: detail.TrainingJobArn: Field required"


def test_a_tag_list_entry_without_key_is_refused_naming_the_tags() -> None:
    raw = training(Tags=[{"Key": "Project", "Value": "fraud"}, {"Value": "orphan"}])
    with pytest.raises(InvalidEvent, match=r"detail\.Tags: .*'Key'"):
        parse_event(raw)


def test_several_problems_are_all_named() -> None:
    raw = training(TrainingJobStatus=None)
    del raw["detail"]["TrainingJobName"]
    raw["time"] = "yesterday"
    with pytest.raises(InvalidEvent) as refused:
        parse_event(raw)
    reason = str(refused.value)
    for field in ("time", "detail.TrainingJobName", "detail.TrainingJobStatus"):
        assert field in reason


def test_a_sagemaker_detail_type_from_another_source_is_refused_naming_the_source() -> None:
    raw = copy.deepcopy(training())
    raw["source"] = "my.app"
    with pytest.raises(InvalidEvent, match=re.escape("source: Input should be 'aws.sagemaker'")):
        parse_event(raw)


def test_a_missing_detail_is_refused() -> None:
    raw = training()
    del raw["detail"]
    with pytest.raises(InvalidEvent, match="detail: Field required"):
        parse_event(raw)


@pytest.mark.parametrize("tag_format", ["map", "list"])
def test_tag_keys_differing_only_in_case_resolve_the_same_whatever_their_order(tag_format: str) -> None:
    # `Project` and `project` are one key to sagecost: which value counts must not depend on the order
    # AWS listed them in. The key first in code-point order wins (`Project` before `project`), and the
    # dropped tag is said in a note.
    config = SagecostConfig()
    orders = [
        [("Project", "fraud"), ("project", "churn"), ("Team", "risk")],
        [("project", "churn"), ("Team", "risk"), ("Project", "fraud")],
    ]
    parsed = []
    for order in orders:
        raw = training()
        raw["detail"]["Tags"] = (
            dict(order) if tag_format == "map" else [{"Key": k, "Value": v} for k, v in order]
        )
        parsed.append(as_training(raw).detail)
    assert [snapshot(d.tags, config.tag_keys).project for d in parsed] == ["fraud", "fraud"]
    assert [d.tags for d in parsed] == [{"Project": "fraud", "Team": "risk"}] * 2
    for detail in parsed:
        (note,) = detail.tag_notes
        assert "'project'='churn' dropped" in note and "'Project'='fraud'" in note


def test_the_same_tag_key_listed_twice_keeps_the_smallest_value_with_a_note() -> None:
    raw = training()
    raw["detail"]["Tags"] = [{"Key": "Project", "Value": "zeta"}, {"Key": "Project", "Value": "alpha"}]
    detail = as_training(raw).detail
    assert detail.tags == {"Project": "alpha"}
    assert len(detail.tag_notes) == 1


def test_tags_that_agree_need_no_note() -> None:
    raw = training()
    raw["detail"]["Tags"] = {"Project": "fraud", "PROJECT": "fraud"}
    assert as_training(raw).detail.tag_notes == ()
