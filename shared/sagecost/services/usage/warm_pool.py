"""Training warm pools, metered by the hourly sweep once they end (`domain.kinds.warm_pool`).

No event carries a pool's final retained time (the job's terminal event comes while the pool is still
`Available`), so this meter records no events. Each sweep lists the pools that ended in the look-back
(`ListTrainingJobs` with `WarmPoolStatusEquals`, two listings, pages of 100: the summaries carry the
retained seconds), reads the ledger for them in one BatchGetItem per 100 keys (is the pool metered yet;
the job's own training records, which say its instance type, count and tags), and makes an AWS read only
for a pool whose job the ledger does not know: DescribeTrainingJob and ListTags, once. Each pool is then
written as a job (`UsageWriter.write_job`), all or nothing, a second write being a duplicate."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError

from sagecost.adapters.ledger import DynamoLedger, resource_pk, usage_sk
from sagecost.domain.kinds import warm_pool
from sagecost.domain.kinds.spec import KindSpec
from sagecost.domain.kinds.training import TrainingBilling
from sagecost.domain.kinds.warm_pool import WarmPool
from sagecost.domain.metering import JobRun
from sagecost.models.events import SageMakerEvent
from sagecost.models.ledger import TagSnapshot, UsageRecord
from sagecost.models.prices import Component
from sagecost.models.state import ResourceTimeline
from sagecost.observability import logger
from sagecost.services.usage.results import MeteringResult, Outcome, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch


@runtime_checkable
class WarmPoolReader(Protocol):
    """The SageMaker reads warm pools need (`adapters.sagemaker.Boto3SageMaker`, the local fake)."""

    def ended_warm_pools(self, since: datetime) -> list[WarmPool]: ...
    def training_billing(self, name: str) -> TrainingBilling | None: ...
    def tags(self, arn: str) -> dict[str, str] | None: ...


class WarmPoolMeter:
    """KindMeter of training warm pools: sweep only (`record` is never routed an event)."""

    def __init__(self, writer: UsageWriter, reader: WarmPoolReader) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.reader = reader

    @property
    def spec(self) -> KindSpec:
        return warm_pool.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        raise NotImplementedError("warm pools are metered by the sweep; no event is routed to them")

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """Meter every pool that ended in the look-back and is not in the ledger yet. Pools have no
        timelines: nothing to pop from `open_timelines`. A failed listing meters nothing this hour; the
        look-back finds the pools again next hour."""
        try:
            pools = self.reader.ended_warm_pools(now - warm_pool.LOOK_BACK)
        except (ClientError, BotoCoreError) as error:
            logger.warning("warm pools not listed: %s", error)
            return
        pools = [p for p in pools if warm_pool.billed(p) and p.job_end is not None]
        recorded = self._recorded(pools)
        for pool in pools:
            assert pool.job_end is not None
            if warm_pool.record_id(pool.job_arn, pool.job_end) in recorded:
                continue
            report.add(self._meter(pool, recorded))

    def _recorded(self, pools: list[WarmPool]) -> dict[str, UsageRecord]:
        """The pools' own records and their jobs' training records the ledger holds, by record id."""
        wanted: dict[str, str] = {}
        for pool in pools:
            assert pool.job_end is not None
            wanted[warm_pool.record_id(pool.job_arn, pool.job_end)] = pool.job_arn
            for record_id in warm_pool.training_record_ids(pool.job_arn, pool.job_end, pool.created):
                wanted[record_id] = pool.job_arn
        return {record.record_id: record for record in records_by_id(self.ledger, wanted)}

    def _meter(self, pool: WarmPool, recorded: dict[str, UsageRecord]) -> MeteringResult:
        assert pool.job_end is not None
        job_records = [
            recorded[record_id]
            for record_id in warm_pool.training_record_ids(pool.job_arn, pool.job_end, pool.created)
            if record_id in recorded and recorded[record_id].component is Component.TRAINING
        ]
        if job_records:
            job = job_records[-1]
            keys = self.writer.config.tag_keys
            names = {name: getattr(keys, name)[0] for name in TagSnapshot.model_fields}
            run = warm_pool.job_run(pool, job.instance_type, job.instance_count, region=job.region)
            return self._write(run, warm_pool.tags_of(job.tags, names))
        described = self.reader.training_billing(pool.job_name)
        if described is None or not described.instances:
            return MeteringResult(Outcome.NOTHING_TO_METER, "the warm pool's job names no instances")
        line = described.instances[0]
        run = warm_pool.job_run(pool, line.instance_type, line.count)
        return self._write(run, self.reader.tags(pool.job_arn) if run is not None else None)

    def _write(self, run: JobRun | None, tags: dict[str, str] | None) -> MeteringResult:
        if run is None:
            return MeteringResult(Outcome.NOTHING_TO_METER, "the warm pool billed no time")
        return self.writer.write_job(run, tags)


def records_by_id(ledger: DynamoLedger, wanted: dict[str, str]) -> list[UsageRecord]:
    """The usage records of these ids (record id -> resource ARN) the ledger holds, absent ones left out:
    BatchGetItem requests of 100 keys. (A public `DynamoLedger` method would be the better home.)"""
    keys = [{"pk": resource_pk(arn), "sk": usage_sk(record_id)} for record_id, arn in wanted.items()]
    return [
        UsageRecord.model_validate({k: v for k, v in item.items() if k in UsageRecord.model_fields})
        for item in ledger._batch_get(keys, consistent=False)
        if item.get("item_type") == "usage"
    ]
