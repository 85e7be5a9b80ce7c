"""MLflow tracking servers (`domain.kinds.mlflow`): CloudTrail calls cut the timeline, the hourly sweep
meters the hours, opens what no call announced and sees statuses change.

Requests per call: the timeline's BatchGetItem, DescribeMlflowTrackingServer only when the server bills
and its size is known neither from the call nor from the ledger, one transaction. Sweep: the list pages,
a Describe only for a billing server of unknown size."""

from __future__ import annotations

from datetime import datetime

from sagecost.adapters.mlflow import MlflowServers, TrackingServer
from sagecost.domain.kinds import mlflow
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import ApiCallEvent, InvalidEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ResourceTimeline, Transition
from sagecost.services.usage.results import MeteringResult, SweepReport
from sagecost.services.usage.timelines import listed_or_held, observed
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_tags


def with_size(timeline: ResourceTimeline, size: str) -> ResourceTimeline:
    """The size, now known: usage metered with an unknown size is priced at it."""
    transitions = tuple(
        t.model_copy(
            update={
                "lines": tuple(
                    line.model_copy(update={"instance_type": size})
                    if line.instance_type == mlflow.UNKNOWN_SIZE
                    else line
                    for line in t.lines
                )
            }
        )
        for t in timeline.transitions
    )
    return timeline.model_copy(
        update={"transitions": transitions, "instance_type": timeline.instance_type or size}
    )


def size_before(timeline: ResourceTimeline, at: datetime) -> str | None:
    """The size the server ran at before `at` (a Start takes the size it had when it was stopped)."""
    for transition in sorted(timeline.transitions, key=lambda t: t.order_key, reverse=True):
        if transition.at <= at:
            for line in transition.lines:
                if line.instance_type != mlflow.UNKNOWN_SIZE:
                    return line.instance_type
    return timeline.instance_type


def settled(timeline: ResourceTimeline, incoming: Transition) -> tuple[ResourceTimeline, Transition]:
    """Each Start runs at the size the latest Create or Update before it set, whatever order the calls
    arrived in; the timeline's size is the latest one set."""
    everything = [*timeline.transitions, incoming]
    size: str | None = None
    fixed: dict[int, Transition] = {}
    for index in sorted(range(len(everything)), key=lambda i: everything[i].order_key):
        transition = everything[index]
        known = [line.instance_type for line in transition.lines if line.instance_type != mlflow.UNKNOWN_SIZE]
        if transition.status in mlflow.SIZE_SETTING_STATUSES and known:
            size = known[0]
        elif transition.status in mlflow.SIZE_TAKING_STATUSES and transition.lines and size is not None:
            transition = transition.model_copy(update={"lines": mlflow.server_lines(transition.status, size)})
        fixed[index] = transition
    timeline = timeline.model_copy(
        update={
            "transitions": tuple(fixed[i] for i in range(len(timeline.transitions))),
            "instance_type": size or timeline.instance_type,
        }
    )
    return timeline, fixed[len(everything) - 1]


class MlflowMeter:
    """KindMeter of MLflow tracking servers."""

    def __init__(self, writer: UsageWriter, servers: MlflowServers) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.servers = servers

    @property
    def spec(self) -> KindSpec:
        return mlflow.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        if not isinstance(event, ApiCallEvent) or event.detail.event_name not in mlflow.CALL_STATUSES:
            raise InvalidEvent("not an MLflow tracking server call")
        return self.writer.with_retries(lambda _: self._record(event))

    def _record(self, event: ApiCallEvent) -> MeteringResult:
        arn, name = mlflow.arn_of(event), mlflow.name_of(event)
        at = event.detail.event_time
        timeline, _ = self.ledger.load_timeline(arn)
        timeline = timeline or new_timeline(arn, ResourceKind.MLFLOW_SERVER, name, event.region)
        # a Start of a server whose size no call said (created before sagecost) is metered at an unknown
        # size, unpriced: the next sweep describes it once and re-prices that usage (two requests an event)
        size = mlflow.requested_size(event) or size_before(timeline, at)
        if size is not None:
            timeline = with_size(timeline, size)
        timeline = with_tags(timeline, event.detail.tags, at)
        timeline, transition = settled(timeline, mlflow.call_transition(event, size))
        return self.writer.advance(timeline, [transition], at, None)

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        servers = listed_or_held(
            self.servers.tracking_servers,
            open_timelines,
            ResourceKind.MLFLOW_SERVER,
            "ListMlflowTrackingServers",
        )
        for server in servers or ():
            self._sweep_server(server, open_timelines.pop(server.arn, None), now, report, batch)

    def _sweep_server(
        self,
        server: TrackingServer,
        timeline: ResourceTimeline | None,
        now: datetime,
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        if timeline is None and not mlflow.server_lines(server.status, None):
            return  # not running, and not billing in the ledger

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is None:
                current, _ = self.ledger.load_timeline(server.arn)
            if current is None:
                current = new_timeline(server.arn, ResourceKind.MLFLOW_SERVER, server.name)
            size = current.instance_type
            if mlflow.needs_size(server.status, size):
                size = self.servers.tracking_server_size(server.name)
            if size is not None:
                current = with_size(current, size)
            lines = mlflow.server_lines(server.status, size)
            incoming = observed(current, server.status, lines, server.last_modified, now)
            return self.writer.advance(
                current, incoming, now, None, batch=into, retry=self.writer.alone(attempt)
            )

        report.add(attempt(False, batch))
