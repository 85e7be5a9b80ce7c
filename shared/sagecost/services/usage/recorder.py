"""Records one SageMaker event: the kind's domain module says what it means, this makes the reads it
allows (at most one SageMaker call) and hands the usage to the writer. Idempotent: a duplicate delivery
changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sagecost.adapters.sagemaker import SageMakerReader, config_snapshot
from sagecost.domain.kinds import endpoint, notebook, processing, training, transform
from sagecost.models.events import (
    ApiCallEvent,
    EndpointConfigEvent,
    EndpointEvent,
    InvalidEvent,
    NotebookInstanceEvent,
    ProcessingJobEvent,
    SageMakerEvent,
    TrainingJobEvent,
    TransformJobEvent,
)
from sagecost.models.ledger import ResourceKind
from sagecost.services.usage.kind_meter import KindMeter
from sagecost.services.usage.results import MeteringResult, Outcome
from sagecost.services.usage.writer import UsageWriter, new_timeline, with_tags, with_volume


class UsageRecorder:
    """Turns one validated event into ledger writes, through its kind's rules."""

    def __init__(
        self, writer: UsageWriter, sagemaker: SageMakerReader, kind_meters: Sequence[KindMeter] = ()
    ) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.sagemaker = sagemaker
        self._by_detail_type = {t: m for m in kind_meters for t in m.spec.detail_types}
        self._by_api_call = {c: m for m in kind_meters for c in m.spec.cloudtrail_calls}
        self._by_event: dict[type[Any], Callable[[Any], MeteringResult]] = {
            TrainingJobEvent: self._training,
            ProcessingJobEvent: self._processing,
            TransformJobEvent: self._transform,
            EndpointConfigEvent: self._endpoint_config,
            EndpointEvent: lambda event: self.writer.with_retries(lambda _: self._endpoint(event)),
            NotebookInstanceEvent: lambda event: self.writer.with_retries(lambda _: self._notebook(event)),
        }

    def record(self, event: SageMakerEvent) -> MeteringResult:
        if isinstance(event, ApiCallEvent):
            meter = self._by_api_call.get(event.detail.event_name)
            if meter is None:
                raise InvalidEvent(f"CloudTrail call {event.detail.event_name!r} is not one sagecost meters")
            if event.detail.failed:
                return MeteringResult(
                    Outcome.NOTHING_TO_METER, f"the call failed ({event.detail.error_code})"
                )
            return meter.record(event)
        built_in = self._by_event.get(type(event))
        if built_in is not None:
            return built_in(event)
        return self._by_detail_type[event.detail_type].record(event)

    # --- jobs: metered once, at their terminal state ----------------------------------------------

    def _training(self, event: TrainingJobEvent) -> MeteringResult:
        if not training.finished(event):
            return _not_terminal(event.detail.training_job_status)
        described = (
            self.sagemaker.training_billing(event.detail.training_job_name)
            if training.needs_describe(event)
            else None
        )
        return self.writer.write_job(training.job_run(event, described), event.detail.tags)

    def _processing(self, event: ProcessingJobEvent) -> MeteringResult:
        if not processing.finished(event):
            return _not_terminal(event.detail.processing_job_status)
        run = processing.job_run(event)
        if run is None:
            return _never_started()
        tags = self.sagemaker.tags(run.resource.arn) if processing.needs_tags(event) else event.detail.tags
        return self.writer.write_job(run, tags)

    def _transform(self, event: TransformJobEvent) -> MeteringResult:
        if not transform.finished(event):
            return _not_terminal(event.detail.transform_job_status)
        described = (
            self.sagemaker.transform_job(event.detail.transform_job_name)
            if transform.needs_describe(event)
            else None
        )
        run = transform.job_run(event, described)
        if run is None:
            return _never_started()
        tags = event.detail.tags if event.detail.tags is not None else self.sagemaker.tags(run.resource.arn)
        return self.writer.write_job(run, tags)

    # --- what runs on: timelines ------------------------------------------------------------------

    def _endpoint_config(self, event: EndpointConfigEvent) -> MeteringResult:
        detail = event.detail
        if not detail.production_variants:
            return MeteringResult(Outcome.NOTHING_TO_METER, "a config without variants (deleted)")
        self.ledger.put_endpoint_config(config_snapshot(detail.model_dump(by_alias=True)))
        return MeteringResult(Outcome.CACHED, f"instance types of {detail.endpoint_config_name}")

    def _endpoint(self, event: EndpointEvent) -> MeteringResult:
        detail = event.detail
        at = endpoint.event_time(event)
        config_arn = (
            endpoint.config_arn_for(detail.endpoint_arn, detail.endpoint_config_name)
            if detail.endpoint_config_name
            else None
        )
        timeline, cached = self.ledger.load_timeline(detail.endpoint_arn, config_arn=config_arn)
        timeline = timeline or new_timeline(
            detail.endpoint_arn, ResourceKind.ENDPOINT, detail.endpoint_name, event.region
        )
        config = endpoint.known_config(timeline.endpoint_config, cached, detail.endpoint_config_name)
        transition = endpoint.event_transition(event, config)
        timeline = with_tags(timeline, detail.tags, at)
        if config is not None:
            # usage metered while the config was unknown is priced now, at no extra request
            timeline = timeline.model_copy(
                update={
                    "endpoint_config": config,
                    "transitions": endpoint.priced_with_config(timeline.transitions, config),
                }
            )
        return self.writer.advance(timeline, [transition], at, None)

    def _notebook(self, event: NotebookInstanceEvent) -> MeteringResult:
        detail = event.detail
        at = detail.last_modified_time or event.time
        timeline, _ = self.ledger.load_timeline(detail.notebook_instance_arn)
        timeline = timeline or new_timeline(
            detail.notebook_instance_arn,
            ResourceKind.NOTEBOOK_INSTANCE,
            detail.notebook_instance_name,
            event.region,
        )
        instance_type = detail.instance_type or timeline.instance_type
        volume = detail.volume_size_in_gb or timeline.volume_gb
        timeline = with_tags(timeline, detail.tags, at).model_copy(update={"instance_type": instance_type})
        if volume is not None and volume != timeline.volume_gb:
            timeline = with_volume(timeline, volume)  # usage metered at the default size is re-priced
        transition = notebook.event_transition(event, instance_type, volume)
        return self.writer.advance(timeline, [transition], at, None)


def _not_terminal(status: str) -> MeteringResult:
    return MeteringResult(Outcome.NOTHING_TO_METER, f"status {status} is not terminal")


def _never_started() -> MeteringResult:
    return MeteringResult(Outcome.NOTHING_TO_METER, "the job never started")
