"""HyperPod clusters (`domain.kinds.hyperpod`): state-change events and the hourly sweep keep each
cluster's timeline of instance groups x current counts.

Requests per event: the timeline's BatchGetItem and one transaction. Events carry no tags: the sweep reads
a cluster's tags once (ListTags), and the usage metered before moves to them. Sweep: ListClusters pages,
and one DescribeCluster per cluster (node counts change without an event)."""

from __future__ import annotations

from datetime import datetime

from sagecost.adapters.hyperpod import ClusterSummary, HyperPodClusters
from sagecost.domain.kinds import hyperpod
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.events import HyperPodClusterEvent, InvalidEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, SweepReport
from sagecost.services.usage.timelines import listed_or_held, observed
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_tags


class HyperPodMeter:
    """KindMeter of HyperPod clusters."""

    def __init__(self, writer: UsageWriter, clusters: HyperPodClusters) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.clusters = clusters

    @property
    def spec(self) -> KindSpec:
        return hyperpod.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        if not isinstance(event, HyperPodClusterEvent):
            raise InvalidEvent("not a HyperPod cluster state change")
        return self.writer.with_retries(lambda _: self._record(event))

    def _record(self, event: HyperPodClusterEvent) -> MeteringResult:
        detail = event.detail
        timeline, _ = self.ledger.load_timeline(detail.cluster_arn)
        timeline = timeline or new_timeline(
            detail.cluster_arn, ResourceKind.HYPERPOD_CLUSTER, detail.cluster_name, event.region
        )
        return self.writer.advance(timeline, [hyperpod.event_transition(event)], event.time, None)

    def _tagged(self, timeline: ResourceTimeline, at: datetime) -> ResourceTimeline:
        """The cluster's tags, read once (ListTags) when the ledger never read them; an untagged cluster is
        noted as read (`tags_at`), so it is not asked again every hour."""
        if timeline.tags_at is not None:
            return timeline
        tags = self.clusters.tags(timeline.resource.arn)
        if tags:
            return with_tags(timeline, tags, at)
        return timeline.model_copy(update={"tags_at": at})

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        clusters = listed_or_held(
            self.clusters.clusters, open_timelines, ResourceKind.HYPERPOD_CLUSTER, "ListClusters"
        )
        for cluster in clusters or ():
            self._sweep_cluster(cluster, open_timelines.pop(cluster.arn, None), now, report, batch)

    def _sweep_cluster(
        self,
        listed: ClusterSummary,
        timeline: ResourceTimeline | None,
        now: datetime,
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        described = self.clusters.cluster(listed.name)
        if described is None:
            return  # deleted since it was listed: the next sweep closes it
        lines = hyperpod.cluster_lines(described.groups)
        if timeline is None and not lines:
            return

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is None:
                current, _ = self.ledger.load_timeline(listed.arn)
            if current is None:
                current = new_timeline(listed.arn, ResourceKind.HYPERPOD_CLUSTER, listed.name)
            current = self._tagged(current, listed.created)
            incoming = observed(current, described.status, lines, listed.created, now)
            return self.writer.advance(
                current, incoming, now, None, batch=into, retry=self.writer.alone(attempt)
            )

        report.add(attempt(False, batch))
