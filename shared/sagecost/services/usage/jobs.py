"""Training, processing and batch transform jobs: metered once, at their terminal state, with the one
read each kind's rules allow (`domain.kinds.training` / `processing` / `transform`). Nothing to sweep:
a job's bill is final when it ends."""

from __future__ import annotations

from datetime import datetime

from sagecost.adapters.sagemaker import SageMakerReader
from sagecost.domain.kinds import processing, training, transform
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import ProcessingJobEvent, SageMakerEvent, TrainingJobEvent, TransformJobEvent
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, Outcome, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch


class _JobMeter:
    def __init__(self, writer: UsageWriter, sagemaker: SageMakerReader) -> None:
        self.writer = writer
        self.sagemaker = sagemaker

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """Jobs are metered at their end; nothing of theirs stays open."""


class TrainingMeter(_JobMeter):
    spec: KindSpec = training.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, TrainingJobEvent)
        if not training.finished(event):
            return not_terminal(event.detail.training_job_status)
        described = (
            self.sagemaker.training_billing(event.detail.training_job_name)
            if training.needs_describe(event)
            else None
        )
        return self.writer.write_job(training.job_run(event, described), event.detail.tags)


class ProcessingMeter(_JobMeter):
    spec: KindSpec = processing.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, ProcessingJobEvent)
        if not processing.finished(event):
            return not_terminal(event.detail.processing_job_status)
        run = processing.job_run(event)
        if run is None:
            return never_started()
        tags = self.sagemaker.tags(run.resource.arn) if processing.needs_tags(event) else event.detail.tags
        return self.writer.write_job(run, tags)


class TransformMeter(_JobMeter):
    spec: KindSpec = transform.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, TransformJobEvent)
        if not transform.finished(event):
            return not_terminal(event.detail.transform_job_status)
        described = (
            self.sagemaker.transform_job(event.detail.transform_job_name)
            if transform.needs_describe(event)
            else None
        )
        run = transform.job_run(event, described)
        if run is None:
            return never_started()
        tags = event.detail.tags if event.detail.tags is not None else self.sagemaker.tags(run.resource.arn)
        return self.writer.write_job(run, tags)


def not_terminal(status: str) -> MeteringResult:
    return MeteringResult(Outcome.NOTHING_TO_METER, f"status {status} is not terminal")


def never_started() -> MeteringResult:
    return MeteringResult(Outcome.NOTHING_TO_METER, "the job never started")
