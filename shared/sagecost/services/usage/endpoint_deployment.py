"""Blue/green endpoint deployments (`domain.kinds.endpoint_deployment`): each deployment event becomes a
transition of the endpoint's timeline with both fleets. Requests per event: one BatchGetItem (the endpoint's
timeline and the old and pending configs the ledger cached; no SageMaker read) and one transaction."""

from __future__ import annotations

from datetime import datetime

from sagecost.domain.kinds import endpoint, endpoint_deployment
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import EndpointDeploymentEvent, InvalidEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, Outcome, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_tags


class EndpointDeploymentMeter:
    """The KindMeter of deployment events; the endpoint sweep meters the timelines they write."""

    def __init__(self, writer: UsageWriter) -> None:
        self.writer = writer
        self.ledger = writer.ledger

    @property
    def spec(self) -> KindSpec:
        return endpoint_deployment.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        if not isinstance(event, EndpointDeploymentEvent):
            raise InvalidEvent(f"{event.detail_type} is not an endpoint deployment event")
        return self.writer.with_retries(lambda _: self._record(event))

    def _record(self, event: EndpointDeploymentEvent) -> MeteringResult:
        detail = event.detail
        arn = detail.endpoint_arn
        pending = detail.pending_deployment_summary
        names = {
            "old": detail.endpoint_config_name,
            "new": pending.endpoint_config_name if pending is not None else None,
        }
        config_arns = {role: endpoint.config_arn_for(arn, name) for role, name in names.items() if name}
        # one BatchGetItem: the timeline and both configs as the ledger cached them (no SageMaker read)
        timeline, cached = self.ledger.load_timeline_and_configs(arn, list(config_arns.values()))
        timeline = timeline or new_timeline(arn, ResourceKind.ENDPOINT, detail.endpoint_name, event.region)
        config = endpoint.known_config(
            timeline.endpoint_config, cached.get(config_arns.get("old", "")), names["old"]
        )
        pending_config = cached.get(config_arns.get("new", ""))
        transition = endpoint_deployment.deployment_transition(event, config, pending_config)
        if transition is None:
            return MeteringResult(Outcome.NOTHING_TO_METER, "no second fleet in the deployment")
        timeline = with_tags(timeline, detail.tags, transition.at)
        if config is not None:
            # what was metered while the old config was unknown is priced now, as the endpoint recorder does
            timeline = timeline.model_copy(
                update={
                    "endpoint_config": config,
                    "transitions": endpoint.priced_with_config(timeline.transitions, config),
                }
            )
        return self.writer.advance(timeline, [transition], transition.at, None)

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """Nothing: deployments live on endpoint timelines, which the endpoint sweep meters and closes."""
