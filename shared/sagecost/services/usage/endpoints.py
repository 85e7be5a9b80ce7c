"""Real-time and asynchronous endpoints (`domain.kinds.endpoint`): their state-change events and the
sweep's ListEndpoints become the endpoint's timeline; Endpoint Config events are cached so that an
endpoint's instance types are known without a read."""

from __future__ import annotations

from datetime import datetime

from sagecost.adapters.sagemaker import EndpointSummary, SageMakerReader, config_snapshot
from sagecost.domain.kinds import endpoint
from sagecost.domain.kinds.endpoint import (
    ENDPOINT_BILLING_STATUSES,
    config_arn_for,
    endpoint_lines,
    known_config,
    priced_with_config,
)
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import EndpointConfigEvent, EndpointEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import EndpointConfigSnapshot, ResourceTimeline
from sagecost.services.usage.results import MeteringResult, Outcome, SweepReport
from sagecost.services.usage.timelines import observed
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_tags


class EndpointConfigMeter:
    """Endpoint Config events bill nothing: their instance types are cached for the endpoints."""

    spec: KindSpec = endpoint.CONFIG_SPEC

    def __init__(self, writer: UsageWriter) -> None:
        self.ledger = writer.ledger

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, EndpointConfigEvent)
        return self._endpoint_config(event)

    def _endpoint_config(self, event: EndpointConfigEvent) -> MeteringResult:
        detail = event.detail
        if not detail.production_variants:
            return MeteringResult(Outcome.NOTHING_TO_METER, "a config without variants (deleted)")
        self.ledger.put_endpoint_config(config_snapshot(detail.model_dump(by_alias=True)))
        return MeteringResult(Outcome.CACHED, f"instance types of {detail.endpoint_config_name}")

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """Configs are read on a miss by the endpoints' sweep."""


class EndpointMeter:
    spec: KindSpec = endpoint.SPEC

    def __init__(self, writer: UsageWriter, sagemaker: SageMakerReader) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.sagemaker = sagemaker

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, EndpointEvent)
        return self.writer.with_retries(lambda _: self._endpoint(event))

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

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """ListEndpoints (pages of 100); DescribeEndpoint only for what changed since the ledger heard."""
        for listed in self.sagemaker.endpoints():
            timeline = open_timelines.pop(listed.arn, None)
            if listed.status not in ENDPOINT_BILLING_STATUSES and timeline is None:
                continue
            self._sweep_endpoint(listed, timeline, now, report, batch)

    def _config_for_sweep(
        self,
        timeline: ResourceTimeline,
        cached: EndpointConfigSnapshot | None,
        name: str | None,
        status: str,
    ) -> tuple[EndpointConfigSnapshot | None, EndpointConfigSnapshot | None]:
        """(config to price with, config to write to the cache): DescribeEndpointConfig only on a miss."""
        known = known_config(timeline.endpoint_config, cached, name)
        if known is not None or name is None or status not in ENDPOINT_BILLING_STATUSES:
            return known or timeline.endpoint_config, None
        described = self.sagemaker.endpoint_config(name)
        return described, described

    def _sweep_endpoint(
        self,
        listed: EndpointSummary,
        timeline: ResourceTimeline | None,
        now: datetime,
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is not None and _unchanged_since_known(current, listed):
                # nothing happened to it since the ledger last heard: just meter the hour
                return self.writer.advance(
                    current, [], now, None, batch=into, retry=self.writer.alone(attempt)
                )
            described = (
                self.sagemaker.endpoint(listed.name) if listed.status in ENDPOINT_BILLING_STATUSES else None
            )
            endpoint = described or listed
            config_name = endpoint.config_name
            cached: EndpointConfigSnapshot | None = None
            if current is None or (
                config_name
                and (current.endpoint_config is None or current.endpoint_config.name != config_name)
            ):
                loaded, cached = self.ledger.load_timeline(
                    endpoint.arn,
                    config_arn=config_arn_for(endpoint.arn, config_name) if config_name else None,
                )
                current = current or loaded
            if current is None:
                current = new_timeline(endpoint.arn, ResourceKind.ENDPOINT, endpoint.name)
            config, to_cache = self._config_for_sweep(current, cached, config_name, endpoint.status)
            if config is not None:
                # usage metered while the config was unknown gets its instance types and prices now
                current = current.model_copy(
                    update={
                        "endpoint_config": config,
                        "transitions": priced_with_config(current.transitions, config),
                    }
                )
            counts = tuple(endpoint.variant_counts.items())
            lines = endpoint_lines(endpoint.status, counts, config)
            incoming = observed(current, endpoint.status, lines, endpoint.last_modified, now, counts)
            return self.writer.advance(
                current, incoming, now, to_cache, batch=into, retry=self.writer.alone(attempt)
            )

        report.add(attempt(False, batch))


def _unchanged_since_known(timeline: ResourceTimeline, listed: EndpointSummary) -> bool:
    """ListEndpoints shows the status and LastModifiedTime the ledger already has, and the instance types
    are known: no DescribeEndpoint needed. (A capacity change, autoscaling's included, moves the endpoint
    through Updating to InService, which moves LastModifiedTime.)"""
    current = timeline.current
    return (
        current is not None
        and timeline.endpoint_config is not None
        and not any(t.unknown_lines for t in timeline.transitions)
        and current.status == listed.status
        and listed.last_modified <= max(t.at for t in timeline.transitions)
    )
