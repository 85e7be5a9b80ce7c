"""Training jobs: `BillableTimeInSeconds x InstanceCount x rate` (managed spot is already in the billable
time), summed over instance groups, plus the ML storage volume. Events carry no billable time: the job is
metered once, at its terminal state, with one DescribeTrainingJob (AWS-FACTS.md section 0, fact 2). Child
jobs of a tuning job are metered like any other; the tuning job bills nothing of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.metering import (
    TERMINAL_JOB_STATUSES,
    InstanceLine,
    JobRun,
    ResourceRef,
    instance_lines,
    spot_note,
)
from sagecost.domain.periods import seconds_between
from sagecost.models.events import InvalidEvent, TrainingJobEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component

SPEC = KindSpec(
    kind=ResourceKind.TRAINING_JOB,
    component=Component.TRAINING,
    metering=Metering.JOB,
    detail_types=("SageMaker Training Job State Change",),
    idle_signal=None,
)


@dataclass(frozen=True)
class TrainingBilling:
    """What DescribeTrainingJob says about a job's bill."""

    billable_seconds: int | None
    training_seconds: int | None
    start: datetime | None
    end: datetime | None
    instances: tuple[InstanceLine, ...]
    volume_gb: int | None
    spot: bool = False
    warm_pool_status: str | None = None
    """`WarmPoolStatus.Status` (`Available`, `InUse`, `Reused`, `Terminated`); None: no warm pool."""
    warm_pool_seconds: int | None = None
    """`WarmPoolStatus.ResourceRetainedBillableTimeInSeconds`: final once the pool is Terminated or Reused."""
    warm_pool_reused_by: str | None = None


def event_figures(event: TrainingJobEvent) -> tuple[tuple[InstanceLine, ...], int | None]:
    """The instance lines and volume the event itself names (often none: `ResourceConfig` is optional)."""
    config = event.detail.resource_config
    if config is None:
        return (), None
    return instance_lines(config.model_dump(by_alias=True)), config.volume_size_in_gb


def finished(event: TrainingJobEvent) -> bool:
    return event.detail.training_job_status in TERMINAL_JOB_STATUSES


def needs_describe(event: TrainingJobEvent) -> bool:
    """The one read a training event allows: for the billable time, and for the instances when the event
    names none."""
    return event.detail.billable_time_in_seconds is None or not event_figures(event)[0]


def job_run(event: TrainingJobEvent, described: TrainingBilling | None) -> JobRun:
    """The finished job as its bill sees it, from the event and (when it was needed) DescribeTrainingJob.

    Raises InvalidEvent (kept as a rejection) when the account has no such job, or when neither the event
    nor the Describe names an instance type."""
    job = event.detail
    resource = ResourceRef.from_arn(
        job.training_job_arn, ResourceKind.TRAINING_JOB, job.training_job_name, fallback_region=event.region
    )
    instances, volume = event_figures(event)
    billable, trained = job.billable_time_in_seconds, job.training_time_in_seconds
    start, end = job.training_start_time, job.training_end_time
    if needs_describe(event):
        if described is None:
            raise InvalidEvent(f"DescribeTrainingJob: no training job {job.training_job_name!r} here")
        if billable is None:
            billable, trained = described.billable_seconds, described.training_seconds
            start, end = described.start or start, described.end or end
        instances = described.instances or instances
        volume = volume if volume is not None else described.volume_gb
    start = start or job.creation_time or event.time
    end = end or job.last_modified_time or event.time
    notes: tuple[str, ...] = ()
    if billable is None:
        notes = ("no BillableTimeInSeconds: billed the wall time from start to end",)
    billed_seconds = billable if billable is not None else int(seconds_between(start, end))
    if not instances:
        raise InvalidEvent("the training job names no instance type, in its event or its DescribeTrainingJob")
    return JobRun(
        resource=resource,
        component=Component.TRAINING,
        start=start,
        end=max(start, end),
        instances=instances,
        billable_seconds=Decimal(billed_seconds),
        volume_gb=volume,
        event_id=event.id,
        notes=notes + spot_note(billed_seconds, trained) + job.tag_notes,
    )
