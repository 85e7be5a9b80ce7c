"""Processing jobs: `(end - start) x InstanceCount x rate`, plus the ML storage volume, metered once at
the terminal state. The event names the cluster; it carries no tags (AWS-FACTS.md section 1.2), so they
are read with one ListTags."""

from __future__ import annotations

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.metering import TERMINAL_JOB_STATUSES, InstanceLine, JobRun, ResourceRef
from sagecost.domain.periods import seconds_between
from sagecost.models.events import ProcessingJobEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component

SPEC = KindSpec(
    kind=ResourceKind.PROCESSING_JOB,
    component=Component.PROCESSING,
    metering=Metering.JOB,
    detail_types=("SageMaker Processing Job State Change",),
)


def finished(event: ProcessingJobEvent) -> bool:
    return event.detail.processing_job_status in TERMINAL_JOB_STATUSES


def needs_tags(event: ProcessingJobEvent) -> bool:
    return event.detail.tags is None


def job_run(event: ProcessingJobEvent) -> JobRun | None:
    """The finished job as its bill sees it; None when it never started (it billed nothing)."""
    job = event.detail
    cluster = job.processing_resources.cluster_config
    start = job.processing_start_time
    if start is None:
        return None
    end = max(start, job.processing_end_time or job.last_modified_time or event.time)
    return JobRun(
        resource=ResourceRef.from_arn(
            job.processing_job_arn,
            ResourceKind.PROCESSING_JOB,
            job.processing_job_name,
            fallback_region=event.region,
        ),
        component=Component.PROCESSING,
        start=start,
        end=end,
        instances=(InstanceLine("compute", cluster.instance_type, cluster.instance_count),),
        billable_seconds=seconds_between(start, end),
        volume_gb=cluster.volume_size_in_gb,
        event_id=event.id,
        notes=job.tag_notes,
    )
