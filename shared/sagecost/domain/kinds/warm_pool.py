"""Training warm pools: after a training job with `ResourceConfig.KeepAlivePeriodInSeconds` ends, its
instances stay retained, and bill, until the pool is reused by another job or its keep-alive runs out:
`ResourceRetainedBillableTimeInSeconds x InstanceCount` at the warm-pool rate (API_WarmPoolStatus).

The figure is final only once the pool is `Terminated` or `Reused`; when the job itself ends the pool is
`Available` and its time still grows. So the pool is metered apart from the job, once, as a job of its own
(line `warm-pool` on the training job's ARN, from the job's end for the retained seconds), by the hourly
sweep, which lists the pools that ended lately (`ListTrainingJobs`, `WarmPoolStatusEquals`). Its records'
ids are the ARN, the line and the month, so metering it twice writes nothing the second time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.metering import InstanceLine, JobRun, ResourceRef
from sagecost.models.ledger import ResourceKind, TagSnapshot, month_of
from sagecost.models.prices import Component

SPEC = KindSpec(
    kind=ResourceKind.TRAINING_JOB,
    component=Component.TRAINING_WARM_POOL,
    metering=Metering.JOB,
    swept=True,
    idle_signal=None,
)

LINE = "warm-pool"
"""The billing line of a job's warm pool: `<training job ARN>#warm-pool#<month>` records."""
FINAL_STATUSES = ("Terminated", "Reused")
"""`WarmPoolStatus.Status` values whose `ResourceRetainedBillableTimeInSeconds` no longer grows."""
LOOK_BACK = timedelta(days=2)
"""How far back the sweep lists pools that ended (`LastModifiedTimeAfter`): an hourly sweep that failed
for up to two days still finds them."""


@dataclass(frozen=True)
class WarmPool:
    """A training job's warm pool, as `ListTrainingJobs` (`TrainingJobSummary.WarmPoolStatus`) or
    `DescribeTrainingJob` reports it."""

    job_name: str
    job_arn: str
    status: str
    retained_seconds: int | None
    job_end: datetime | None
    reused_by: str | None = None
    created: datetime | None = None


def final(pool: WarmPool) -> bool:
    """The pool ended: its retained billable time is what AWS bills."""
    return pool.status in FINAL_STATUSES and pool.retained_seconds is not None


def billed(pool: WarmPool) -> bool:
    """A final pool that kept its instances for some time (a pool reused at once bills nothing)."""
    return final(pool) and bool(pool.retained_seconds)


def record_id(job_arn: str, job_end: datetime) -> str:
    """The id of the pool's first record (the month the job ended): present once the pool is metered."""
    return f"{job_arn}#{LINE}#{month_of(job_end)}"


def training_record_ids(job_arn: str, job_end: datetime, created: datetime | None) -> tuple[str, ...]:
    """Ids of the job's own training records that say its instance type, count and tags (a job spans at
    most two months: its end's, and its creation's). Warm pools are not allowed on heterogeneous clusters,
    so the job's line is `compute`."""
    months = dict.fromkeys(month_of(moment) for moment in (job_end, created) if moment is not None)
    return tuple(f"{job_arn}#compute#{month}" for month in months)


def tags_of(snapshot: TagSnapshot, keys: dict[str, str]) -> dict[str, str]:
    """A recorded `TagSnapshot` as resource tags again (`keys`: attribute -> the tag key to write), so the
    pool carries exactly the attribution its job's records carry."""
    return {keys[name]: value for name, value in snapshot.model_dump().items() if value is not None}


def job_run(
    pool: WarmPool, instance_type: str, instance_count: int, *, region: str = "", event_id: str = ""
) -> JobRun | None:
    """The pool's usage: `instance_count` instances of `instance_type` from the job's end for the retained
    seconds. None until the pool is final, or when it retained nothing or its job's end is unknown."""
    if not billed(pool) or pool.job_end is None or pool.retained_seconds is None:
        return None
    resource = ResourceRef.from_arn(
        pool.job_arn, ResourceKind.TRAINING_JOB, pool.job_name, fallback_region=region
    )
    retained = f"warm pool {pool.status.lower()}: {pool.retained_seconds} s retained after the job"
    notes: tuple[str, ...] = (retained,)
    if pool.reused_by:
        notes += (f"reused by {pool.reused_by}",)
    return JobRun(
        resource=resource,
        component=Component.TRAINING_WARM_POOL,
        start=pool.job_end,
        end=pool.job_end + timedelta(seconds=pool.retained_seconds),
        instances=(InstanceLine(LINE, instance_type, instance_count),),
        billable_seconds=Decimal(pool.retained_seconds),
        volume_gb=None,  # the retained volume's `storage` line would share the job's storage record ids
        event_id=event_id or f"warm-pool:{pool.job_arn}",
        notes=notes,
    )
