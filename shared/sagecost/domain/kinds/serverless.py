"""Serverless endpoints' on-demand compute: billed per request (duration x configured memory), which no
event reports. It is ESTIMATED each hour from CloudWatch and trued up by the month-end reconciliation.

Serverless endpoints publish only `Invocations`, `Invocations4XXErrors`, `Invocations5XXErrors`,
`ModelLatency`, `OverheadLatency`, `ModelSetupTime`, `MemoryUtilization`,
`ServerlessConcurrentExecutionsUtilization` and, with provisioned concurrency,
`ServerlessProvisionedConcurrencyExecutions`, `...Utilization`, `...Invocations`,
`...SpilloverInvocations` ("Any metric not listed below is not published for serverless endpoints",
https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-monitoring.html; see
tests/fixtures/kinds/SOURCES.md). Per variant and hour:

    on-demand invocations = Invocations (Sum) - ServerlessProvisionedConcurrencyInvocations (Sum, if any)
    concurrency-seconds   = on-demand invocations x ModelLatency (Average, microseconds) / 1,000,000

priced as concurrency-hours at `Component.SERVERLESS_INFERENCE` of the variant's memory size
(`serverless_type`). Cold starts (`ModelSetupTime`) and `OverheadLatency` are left out (whether they bill
is not verified); the provisioned concurrency itself bills by the hour in `endpoint.endpoint_lines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from sagecost.domain.kinds.spec import KindSpec, Metering
from sagecost.domain.metering import InstanceLine, JobRun, ResourceRef
from sagecost.domain.periods import hour_floor
from sagecost.models.ledger import ResourceKind
from sagecost.models.prices import Component, serverless_type
from sagecost.models.state import EndpointConfigSnapshot, VariantSpec

SPEC = KindSpec(
    kind=ResourceKind.ENDPOINT,
    component=Component.SERVERLESS_INFERENCE,
    metering=Metering.JOB,
    swept=True,
    idle_signal=None,
)
"""No events: the hourly sweep estimates each finished hour from CloudWatch, once per (variant, hour)."""

NAMESPACE = "AWS/SageMaker"
INVOCATIONS = "Invocations"
MODEL_LATENCY = "ModelLatency"
PROVISIONED_INVOCATIONS = "ServerlessProvisionedConcurrencyInvocations"

SETTLE = timedelta(minutes=10)
"""An hour is estimated once it ended this long ago: CloudWatch publishes a few minutes late."""
LOOKBACK_HOURS = 2
"""Each sweep estimates the last this many settled hours: a missed sweep's hour is estimated by the next.
An hour already written is a conditional write that changes nothing."""
MICROSECONDS = Decimal(1_000_000)


@dataclass(frozen=True)
class HourlySeries:
    """One metric of one serverless variant, read hour by hour."""

    endpoint: str
    variant: str
    metric: str
    statistic: Literal["Sum", "Average"]

    @property
    def dimensions(self) -> tuple[tuple[str, str], ...]:
        return (("EndpointName", self.endpoint), ("VariantName", self.variant))


@dataclass(frozen=True)
class ServerlessVariant:
    """A serverless variant of an endpoint the ledger knows, with what prices its usage."""

    arn: str
    endpoint: str
    variant: str
    memory_mb: int | None
    provisioned: bool

    def series(self) -> tuple[HourlySeries, ...]:
        wanted: list[HourlySeries] = [
            HourlySeries(self.endpoint, self.variant, INVOCATIONS, "Sum"),
            HourlySeries(self.endpoint, self.variant, MODEL_LATENCY, "Average"),
        ]
        if self.provisioned:
            wanted.append(HourlySeries(self.endpoint, self.variant, PROVISIONED_INVOCATIONS, "Sum"))
        return tuple(wanted)


@dataclass(frozen=True)
class HourOfTraffic:
    """What CloudWatch says one serverless variant served in one hour."""

    invocations: Decimal
    model_latency_us: Decimal | None
    """`ModelLatency` average, in microseconds (None: no datapoint)."""
    provisioned_invocations: Decimal | None = None
    """`ServerlessProvisionedConcurrencyInvocations`: served by provisioned concurrency (None: unknown)."""

    @property
    def on_demand_invocations(self) -> Decimal:
        return max(Decimal(0), self.invocations - (self.provisioned_invocations or Decimal(0)))

    @property
    def concurrency_seconds(self) -> Decimal:
        if self.model_latency_us is None:
            return Decimal(0)
        return self.on_demand_invocations * self.model_latency_us / MICROSECONDS


def serverless_variants(
    arn: str, endpoint: str, config: EndpointConfigSnapshot | None
) -> list[ServerlessVariant]:
    """The serverless variants of an endpoint, from its config (none without a config)."""
    variants: tuple[VariantSpec, ...] = config.variants if config is not None else ()
    return [
        ServerlessVariant(arn, endpoint, v.name, v.memory_mb, bool(v.provisioned_concurrency))
        for v in variants
        if v.serverless
    ]


def hours_to_estimate(now: datetime) -> list[datetime]:
    """The starts of the settled hours this sweep estimates, oldest first."""
    last_end = hour_floor(now - SETTLE)
    return [last_end - timedelta(hours=k) for k in range(LOOKBACK_HOURS, 0, -1)]


def note(traffic: HourOfTraffic) -> str:
    latency_ms = (traffic.model_latency_us or Decimal(0)) / 1000
    served = ""
    if traffic.provisioned_invocations:
        served = (
            f" (of {traffic.invocations:f}, {traffic.provisioned_invocations:f} served by provisioned"
            " concurrency)"
        )
    return (
        f"estimated from CloudWatch: {traffic.on_demand_invocations:f} invocations{served} x "
        f"{latency_ms.normalize():f} ms average latency; trued up by the month-end reconciliation"
    )


def on_demand_run(variant: ServerlessVariant, hour: datetime, traffic: HourOfTraffic) -> JobRun | None:
    """One hour of a variant's on-demand compute, as a run metered once (`meter_job`); None: nothing ran.

    Its line, `variant/<name>/on-demand/<hour>`, names the hour, so the record id is one per variant and
    hour: a second estimate of the same hour is a duplicate the ledger refuses."""
    seconds = traffic.concurrency_seconds
    if seconds <= 0:
        return None
    instance_type = serverless_type(variant.memory_mb) if variant.memory_mb else "unknown"
    line = f"variant/{variant.variant}/on-demand/{hour.isoformat()}"
    return JobRun(
        resource=ResourceRef.from_arn(variant.arn, ResourceKind.ENDPOINT, variant.endpoint),
        component=Component.SERVERLESS_INFERENCE,
        start=hour,
        end=hour + timedelta(hours=1),
        instances=(InstanceLine(line, instance_type, 1),),
        billable_seconds=seconds,
        volume_gb=None,
        event_id=f"cloudwatch@{hour.isoformat()}",
        notes=(note(traffic),),
        estimated=True,
    )


def hour_of_traffic(
    variant: ServerlessVariant,
    hour: datetime,
    readings: Mapping[HourlySeries, Mapping[datetime, Decimal] | None],
) -> HourOfTraffic | None:
    """The variant's traffic in `hour` from hourly readings; None when a series it needs was not read (the
    hour is estimated by a later sweep). `ServerlessProvisionedConcurrencyInvocations` is optional: without
    it every invocation counts as on-demand."""
    invocations, latency, *provisioned = (readings.get(one) for one in variant.series())
    if invocations is None or latency is None:
        return None
    served = provisioned[0] if provisioned else None
    return HourOfTraffic(
        invocations=invocations.get(hour, Decimal(0)),
        model_latency_us=latency.get(hour),
        provisioned_invocations=served.get(hour) if served is not None else None,
    )
