"""Inference components: their CloudTrail calls become changes of the hosting endpoint's timeline, whose
hosting records `domain.kinds.inference_component` then splits among them (the endpoint's timeline stays
the one source of its usage, so the endpoint's events and the sweep keep the split as they meter).

Requests per call, none of them a SageMaker read (the request carries the reserved compute, copy count
and tags), at most two (DESIGN "Performance targets"):

- `CreateInferenceComponent` names its endpoint: ONE consistent BatchGetItem reads the component's
  pointer item and the endpoint's timeline, and ONE transaction writes the endpoint's change (with any
  changes the pointer kept, below) and the pointer (its host now known, nothing left pending), each
  conditional on its version. A duplicate delivery reads once and writes nothing.
- `UpdateInferenceComponent`, `UpdateInferenceComponentRuntimeConfig` and `DeleteInferenceComponent` name
  only the component: they read its pointer and put it with the change added to what it keeps pending (one
  read, one transaction; a duplicate writes nothing). The endpoint applies it later: the creation applies
  what came before it; once the host is known, a pointer with pending changes is listed with the open
  resources, and the hourly sweep (which lists those anyway) reads their endpoints (one BatchGetItem per
  100) and writes each endpoint's change together with its pointers cleared (one transaction). This holds
  for an endpoint that no longer bills too (a late update within the sealed horizon still re-splits it).
  The endpoint's own events do not apply them: that would take a second read.

A change keeps the call's eventTime, so its cut points and record ids are the ones an immediate
application would have given: only WHEN the ledger shows the re-split changes (within the hour), not what
it shows. A change older than the endpoint's sealed horizon is dropped when applied, as before. A call for
a component whose creation sagecost never saw (created before it was deployed) waits on its pointer
until the sweep discovers the component, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

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

POINTERS_PER_WRITE = 25
"""Pointers cleared in one sweep transaction: the endpoint's change keeps the rest of the 100 items."""


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
        if host is not None:
            return self.writer.with_retries(lambda _: self._create(arn, name, region, host, change))
        return self.writer.with_retries(lambda _: self._note(arn, name, region, change))

    def _note(self, arn: str, name: str, region: str, change: ComponentChange) -> MeteringResult:
        """An update or deletion: kept on the component's pointer for its endpoint to apply (one read, one
        write)."""
        key = arn.lower()  # Delete calls carry no ARN: the pointer is found by the name, in lower case
        pointer, _ = self.ledger.load_timeline(key)
        pointer = pointer or new_timeline(key, ResourceKind.INFERENCE_COMPONENT, name, region)
        pending = ic.merged(pointer.inference_components, [change])
        if pending == pointer.inference_components:
            return MeteringResult(Outcome.DUPLICATE, "already kept")
        self._put(pointer.model_copy(update={"inference_components": pending}), pointer.version)
        if pointer.host_arn is None:
            return MeteringResult(
                Outcome.RECORDED, f"{change.action} of {name} kept until its creation is seen"
            )
        return MeteringResult(Outcome.RECORDED, f"{change.action} of {name} kept for the hourly sweep")

    def _create(self, arn: str, name: str, region: str, host: str, change: ComponentChange) -> MeteringResult:
        """A creation: the pointer and the endpoint's timeline in one read, both written in one transaction
        (the endpoint's change also applies what the pointer kept)."""
        key = arn.lower()
        found = self.ledger.load_timelines([key, host], consistent=True).values()
        pointer = next((t for t in found if t.resource.kind is ResourceKind.INFERENCE_COMPONENT), None)
        endpoint = next((t for t in found if t.resource.kind is ResourceKind.ENDPOINT), None)
        pointer = pointer or new_timeline(key, ResourceKind.INFERENCE_COMPONENT, name, region)
        endpoint = endpoint or new_timeline(host, ResourceKind.ENDPOINT, host.rsplit("/", 1)[-1], region)
        also = []
        if pointer.host_arn != host or pointer.inference_components:
            cleared = pointer.model_copy(update={"host_arn": host, "inference_components": ()})
            also.append((cleared, pointer.version))
        return self._apply_to(endpoint, [change, *pointer.inference_components], also)

    def _put(
        self, timeline: ResourceTimeline, version: int, also: Sequence[tuple[ResourceTimeline, int]] = ()
    ) -> None:
        self.ledger.commit(
            TimelineChange(timeline=timeline.model_copy(update={"version": version + 1})), version, also=also
        )

    def _apply(self, host: str, region: str, incoming: list[ComponentChange]) -> MeteringResult:
        loaded, _ = self.ledger.load_timeline(host)
        timeline = loaded or new_timeline(host, ResourceKind.ENDPOINT, host.rsplit("/", 1)[-1], region)
        return self._apply_to(timeline, incoming, [])

    def _apply_to(
        self,
        timeline: ResourceTimeline,
        incoming: list[ComponentChange],
        also: Sequence[tuple[ResourceTimeline, int]],
    ) -> MeteringResult:
        """The changes applied to the endpoint's timeline, written in one transaction with `also` (the
        pointers, as (timeline, expected version)): the pointers are written even when the endpoint is not."""
        horizon = timeline.horizon
        fresh = [c for c in incoming if horizon is None or c.at >= horizon]
        changes = ic.compacted(ic.merged(timeline.inference_components, fresh), horizon)
        if changes == timeline.inference_components:
            if also:
                first, version = also[0]
                self._put(first, version, also[1:])
            return MeteringResult(Outcome.DUPLICATE, "already known")
        updated = timeline.model_copy(update={"inference_components": changes})
        if timeline.metered_until is not None:
            # re-split what is metered (and meter up to the call, as an endpoint event would)
            until = max(timeline.metered_until, *(c.at for c in fresh))
            result = self.writer.advance(updated, [], until, None, also=also)
            if result.outcome is not Outcome.DUPLICATE:
                return result
        # nothing metered moves (the endpoint's own events have not come, or it bills nothing now): the
        # change is kept on the timeline for the usage to come
        self._put(updated, timeline.version, also)
        return MeteringResult(Outcome.RECORDED, "kept for its endpoint's usage")

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        """First the changes the components' pointers keep for their endpoints are applied (`_settle_all`).
        Then, for each billing endpoint that hosts components: ListInferenceComponents (pages of 100); a
        component the ledger does not know is described (and its tags listed) once, as created when
        SageMaker says (or at the sealed horizon, if before); one the ledger has in force but SageMaker no
        longer lists is deleted now. Component pointers never bill, so nothing is popped from
        `open_timelines`; the endpoints' own hours are metered by the endpoint sweep, flushed first so
        that these writes start from its versions.
        Pointers are popped from `open_timelines` (those with pending changes are listed there)."""
        batch.flush()
        self._settle_all(open_timelines, report)
        if self.reader is None:
            return
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
            lambda _: self._create(summary.arn, summary.name, region, host, change)
        )

    def _settle_all(self, open_timelines: dict[str, ResourceTimeline], report: SweepReport) -> None:
        """Apply what the pointers listed with the open resources keep: their endpoints read in one
        BatchGetItem per 100, then one transaction per endpoint (per `POINTERS_PER_WRITE` of its pointers)
        writing its change and clearing those pointers, each redone from a fresh read after a race."""
        pointers = [t for t in open_timelines.values() if t.resource.kind is ResourceKind.INFERENCE_COMPONENT]
        waiting: dict[str, list[ResourceTimeline]] = {}
        for pointer in pointers:
            del open_timelines[pointer.resource.arn]
            if pointer.host_arn is not None and pointer.inference_components:
                waiting.setdefault(pointer.host_arn, []).append(pointer)
        if not waiting:
            return
        hosts = self.ledger.load_timelines(sorted(waiting), consistent=True)
        for host, on_host in sorted(waiting.items()):
            for start in range(0, len(on_host), POINTERS_PER_WRITE):
                chunk = on_host[start : start + POINTERS_PER_WRITE]
                result = self.writer.with_retries(partial(self._settle, host, chunk, hosts.get(host)))
                if result.records:
                    report.add(result)

    def _settle(
        self, host: str, pointers: list[ResourceTimeline], endpoint: ResourceTimeline | None, reload: bool
    ) -> MeteringResult:
        region = pointers[0].resource.region
        if reload:  # after a race: the endpoint and these pointers as they are now, in one read
            found = self.ledger.load_timelines([host, *(p.resource.arn for p in pointers)], consistent=True)
            endpoint = next((t for t in found.values() if t.resource.kind is ResourceKind.ENDPOINT), None)
            pointers = [t for t in found.values() if t.resource.kind is ResourceKind.INFERENCE_COMPONENT]
        endpoint = endpoint or new_timeline(host, ResourceKind.ENDPOINT, host.rsplit("/", 1)[-1], region)
        changes = [c for p in pointers for c in p.inference_components]
        also = [
            (p.model_copy(update={"inference_components": ()}), p.version)
            for p in pointers
            if p.inference_components
        ]
        if not also:
            return MeteringResult(Outcome.NOTHING_TO_METER, "nothing pending")
        return self._apply_to(endpoint, changes, also)
