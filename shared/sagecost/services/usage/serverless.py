"""Serverless endpoints' on-demand compute, estimated every hour from CloudWatch (`domain.kinds.serverless`).

No event reports it. The sweep finds the serverless variants of the endpoints SageMaker lists (and of the
endpoint timelines still open), from the configs their timelines cached, reads their metrics hour by hour in
bulk (one GetMetricData per 500 series), and writes one estimated record per variant and hour with traffic,
once (a record id per hour: a second estimate is a conditional write that changes nothing). It only reads
endpoint timelines: the endpoint sweep owns them (it neither pops nor writes them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sagecost.adapters.sagemaker import SageMakerReader
from sagecost.domain.kinds import serverless
from sagecost.domain.kinds.endpoint import ENDPOINT_BILLING_STATUSES
from sagecost.domain.kinds.serverless import HourlySeries
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import InvalidEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, Outcome, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch


class HourlyMetrics(Protocol):
    def hourly(
        self, series: Sequence[HourlySeries], start: datetime, end: datetime
    ) -> dict[HourlySeries, dict[datetime, Decimal] | None]: ...


class ServerlessMeter:
    """The KindMeter of serverless on-demand usage: sweep only, estimated records."""

    def __init__(self, writer: UsageWriter, sagemaker: SageMakerReader, metrics: HourlyMetrics) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.sagemaker = sagemaker
        self.metrics = metrics

    @property
    def spec(self) -> KindSpec:
        return serverless.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        raise InvalidEvent(
            f"{event.detail_type}: serverless usage is estimated by the sweep, not from events"
        )

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        hours = serverless.hours_to_estimate(now)
        arns = {e.arn for e in self.sagemaker.endpoints() if e.status in ENDPOINT_BILLING_STATUSES}
        # endpoints deleted since the last sweep: their last hours may still be unestimated (read, not popped)
        arns |= {arn for arn, t in open_timelines.items() if t.resource.kind is ResourceKind.ENDPOINT}
        timelines = self.ledger.load_timelines(sorted(arns)) if arns else {}
        variants = [
            variant
            for timeline in timelines.values()
            for variant in serverless.serverless_variants(
                timeline.resource.arn, timeline.resource.name, timeline.endpoint_config
            )
        ]
        if not variants:
            return
        series = [one for variant in variants for one in variant.series()]
        readings = self.metrics.hourly(series, hours[0], hours[-1] + timedelta(hours=1))
        for variant in variants:
            for hour in hours:
                traffic = serverless.hour_of_traffic(variant, hour, readings)
                run = serverless.on_demand_run(variant, hour, traffic) if traffic is not None else None
                if run is None:
                    continue
                result = self.writer.write_job(run, timelines[variant.arn].tags)
                if result.outcome is Outcome.RECORDED:
                    report.add(result)
