"""Batch transform jobs: `(end - start) x InstanceCount x rate`, metered once at the terminal state. Some
events lack `TransformResources` (the schema registry does not require it): then DescribeTransformJob,
the one read this kind allows, names the instances."""

from __future__ import annotations

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.metering import TERMINAL_JOB_STATUSES, InstanceLine, JobFigures, JobRun, ResourceRef
from sagecost.domain.periods import seconds_between
from sagecost.models.events import InvalidEvent, TransformJobEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component

SPEC = KindSpec(
    kind=ResourceKind.TRANSFORM_JOB,
    component=Component.BATCH_TRANSFORM,
    metering=Metering.JOB,
    detail_types=("SageMaker Transform Job State Change",),
)


def finished(event: TransformJobEvent) -> bool:
    return event.detail.transform_job_status in TERMINAL_JOB_STATUSES


def event_instances(event: TransformJobEvent) -> tuple[InstanceLine, ...]:
    resources = event.detail.transform_resources
    if resources is None or not resources.instance_type:
        return ()
    return (InstanceLine("compute", resources.instance_type, resources.instance_count),)


def needs_describe(event: TransformJobEvent) -> bool:
    return not event_instances(event)


def job_run(event: TransformJobEvent, described: JobFigures | None) -> JobRun | None:
    """The finished job as its bill sees it; None when it never started. Raises InvalidEvent (kept as a
    rejection) when neither the event nor DescribeTransformJob names the instance type."""
    job = event.detail
    instances = event_instances(event)
    start, end = job.transform_start_time, job.transform_end_time
    if not instances:
        if described is None or not described.instances:
            raise InvalidEvent(
                "the transform job names no instance type, in its event or its DescribeTransformJob"
            )
        instances = described.instances
        start, end = start or described.start, end or described.end
    if start is None:
        return None
    end = max(start, end or job.last_modified_time or event.time)
    return JobRun(
        resource=ResourceRef.from_arn(
            job.transform_job_arn,
            ResourceKind.TRANSFORM_JOB,
            job.transform_job_name,
            fallback_region=event.region,
        ),
        component=Component.BATCH_TRANSFORM,
        start=start,
        end=end,
        instances=instances,
        billable_seconds=seconds_between(start, end),
        volume_gb=None,
        event_id=event.id,
        notes=job.tag_notes,
    )
