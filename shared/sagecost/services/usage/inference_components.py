"""Inference components: their CloudTrail calls become changes of the hosting endpoint's timeline, whose
hosting records `domain.kinds.inference_component` then splits among them (the endpoint's timeline stays
the one source of its usage, so the endpoint's events and the sweep keep the split as they meter).

Requests per call, none of them a SageMaker read (the request carries the reserved compute, copy count
and tags): `CreateInferenceComponent` reads the endpoint's timeline (one consistent GetItem batch) and
writes it in one transaction, and puts the component's pointer item (its hosting endpoint) once, the
first time; `UpdateInferenceComponent`, `UpdateInferenceComponentRuntimeConfig` and
`DeleteInferenceComponent` name only the component, so they read its pointer, then the endpoint's
timeline, and write one transaction. A call for a component whose creation sagecost never saw (created
before it was deployed) changes nothing and says so.
"""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from sagecost.adapters.inference_components import InferenceComponentReader
from sagecost.adapters.sagemaker import InferenceComponentSummary
from sagecost.domain.kinds import inference_component as ic
from sagecost.domain.kinds.spec import KindSpec
from sagecost.domain.tag_policy import creator
from sagecost.domain.tags import snapshot
from sagecost.domain.timeline import TimelineChange
from sagecost.models.events import ApiCallEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ComponentChange, ResourceTimeline
from sagecost.services.usage.results import MeteringResult, Outcome, SweepReport
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline


class InferenceComponentMeter:
    """The KindMeter of inference components: CloudTrail calls (the endpoint's sweep meters the hours)."""

    def __init__(self, writer: UsageWriter, reader: InferenceComponentReader | None = None) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.reader = reader

    @property
    def spec(self) -> KindSpec:
        return ic.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        if not isinstance(event, ApiCallEvent) or event.detail.event_name not in ic.SPEC.cloudtrail_calls:
            return MeteringResult(Outcome.NOTHING_TO_METER, "not an inference component call")
        detail = event.detail
        request = detail.request_parameters
        region = detail.aws_region or event.region
        account = detail.recipient_account_id or event.account
        name = str(request.get("inferenceComponentName") or "")
        if not name:
            return MeteringResult(Outcome.NOTHING_TO_METER, "the call names no inference component")
        arn = str(detail.response.get("inferenceComponentArn") or ic.component_arn(region, account, name))
        host: str | None = None
        attribution = None
        if detail.event_name == ic.CREATE:
            endpoint_name = str(request.get("endpointName") or "")
            if not endpoint_name:
                return MeteringResult(Outcome.NOTHING_TO_METER, "the call names no endpoint")
            host = ic.endpoint_arn(region, account, endpoint_name)
            attribution = snapshot(detail.tags, self.writer.config.tag_keys)
            if attribution.owner is None:
                owner = creator(detail.user_identity, detail.tags).owner
                attribution = attribution.model_copy(update={"owner": owner})
        change = ic.call_change(
            detail.event_name,
            request,
            detail.response,
            at=detail.event_time,
            event_id=detail.event_id or event.id,
            arn=arn,
            attribution=attribution,
        )
        return self.writer.with_retries(lambda _: self._record(arn, name, region, host, change))

    def _record(
        self, arn: str, name: str, region: str, host: str | None, change: ComponentChange
    ) -> MeteringResult:
        """Apply the change to the hosting endpoint's timeline. The component's pointer item says which
        endpoint hosts it (Update and Delete calls name only the component); until its creation is seen,
        the pointer keeps the changes that came first, and the creation applies them with its own."""
        key = arn.lower()  # Delete calls carry no ARN: the pointer is found by the name, in lower case
        pointer, _ = self.ledger.load_timeline(key)
        pointer = pointer or new_timeline(key, ResourceKind.INFERENCE_COMPONENT, name, region)
        if host is None and pointer.host_arn is None:
            pending = ic.merged(pointer.inference_components, [change])
            if pending == pointer.inference_components:
                return MeteringResult(Outcome.DUPLICATE, "already kept")
            self._put(pointer.model_copy(update={"inference_components": pending}), pointer.version)
            return MeteringResult(
                Outcome.RECORDED, f"{change.action} of {name} kept until its creation is seen"
            )
        target = host or pointer.host_arn
        assert target is not None
        changes = [change, *pointer.inference_components]
        result = self._apply(target, region, changes)
        if host is not None and (pointer.host_arn != host or pointer.inference_components):
            # after the endpoint's write: should this put fail, the redelivery applies the pending again
            self._put(
                pointer.model_copy(update={"host_arn": host, "inference_components": ()}), pointer.version
            )
        return result

    def _put(self, timeline: ResourceTimeline, version: int) -> None:
        self.ledger.commit(
            TimelineChange(timeline=timeline.model_copy(update={"version": version + 1})), version
        )

    def _apply(self, host: str, region: str, incoming: list[ComponentChange]) -> MeteringResult:
        loaded, _ = self.ledger.load_timeline(host)
        timeline = loaded or new_timeline(host, ResourceKind.ENDPOINT, host.rsplit("/", 1)[-1], region)
        horizon = timeline.horizon
        fresh = [c for c in incoming if horizon is None or c.at >= horizon]
        changes = ic.compacted(ic.merged(timeline.inference_components, fresh), horizon)
        if changes == timeline.inference_components:
            return MeteringResult(Outcome.DUPLICATE, "already known")
        updated = timeline.model_copy(update={"inference_components": changes})
        if timeline.metered_until is not None:
            # re-split what is metered (and meter up to the call, as an endpoint event would)
            until = max(timeline.metered_until, *(c.at for c in fresh))
            result = self.writer.advance(updated, [], until, None)
            if result.outcome is not Outcome.DUPLICATE:
                return result
        # nothing metered moves (the endpoint's own events have not come, or it bills nothing now): the
        # change is kept on the timeline for the usage to come
        self._put(updated, timeline.version)
        return MeteringResult(Outcome.RECORDED, "kept for its endpoint's usage")

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """For each billing endpoint that hosts components: ListInferenceComponents (pages of 100); a
        component the ledger does not know is described (and its tags listed) once, as created when
        SageMaker says (or at the sealed horizon, if before); one the ledger has in force but SageMaker no
        longer lists is deleted now. Component pointers never bill, so nothing is popped from
        `open_timelines`; the endpoints' own hours are metered by the endpoint sweep, flushed first so
        that these writes start from its versions."""
        if self.reader is None:
            return
        batch.flush()
        for timeline in self.ledger.open_timelines():
            config = timeline.endpoint_config
            config_hosts = config is not None and any(v.hosts_inference_components for v in config.variants)
            if timeline.resource.kind is not ResourceKind.ENDPOINT or not ic.hosts_components(
                config_hosts, timeline.inference_components, now
            ):
                continue
            try:
                listed = self.reader.inference_components(timeline.resource.name)
            except ClientError:
                continue  # the endpoint's split stays as the ledger knows it; the next sweep tries again
            result = self._reconcile(timeline, listed, now)
            if result.records:
                report.add(result)

    def _reconcile(
        self, timeline: ResourceTimeline, listed: list[InferenceComponentSummary], now: datetime
    ) -> MeteringResult:
        assert self.reader is not None
        resource = timeline.resource
        known = {c.name for c in ic.in_force(timeline.inference_components, now)}
        seen = {c.name for c in ic.merged(timeline.inference_components, [])}
        result = MeteringResult(Outcome.NOTHING_TO_METER, "components as the ledger knows them")
        gone = [
            ComponentChange(
                at=now, name=name, action="delete", event_id=f"sweep@{now.isoformat()}", source="sweep"
            )
            for name in sorted(known - {c.name for c in listed})
        ]
        if gone:
            result = self.writer.with_retries(lambda _: self._apply(resource.arn, resource.region, gone))
        for summary in listed:
            if summary.name in seen or summary.status in {"Failed", "Deleting"}:
                continue
            described = self.reader.inference_component(summary.name)
            if described is None:
                continue
            tags = self.reader.tags(summary.arn)
            attribution = snapshot(tags, self.writer.config.tag_keys)
            start = max(summary.created, timeline.horizon or summary.created)
            change = ic.described_change(
                described, at=start, event_id=f"sweep@{start.isoformat()}", attribution=attribution
            )
            result = self._discovered(summary, resource.arn, resource.region, change)
        return result

    def _discovered(
        self, summary: InferenceComponentSummary, host: str, region: str, change: ComponentChange
    ) -> MeteringResult:
        return self.writer.with_retries(
            lambda _: self._record(summary.arn, summary.name, region, host, change)
        )
