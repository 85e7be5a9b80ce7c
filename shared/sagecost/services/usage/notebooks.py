"""Notebook instances (`domain.kinds.notebook`): their state-change events and the sweep's
ListNotebookInstances become the notebook's timeline; DescribeNotebookInstance reads a volume's size once."""

from __future__ import annotations

from datetime import datetime

from sagecost.adapters.sagemaker import SageMakerReader
from sagecost.domain.kinds import notebook
from sagecost.domain.kinds.notebook import notebook_lines
from sagecost.domain.kinds.spec import KindSpec
from sagecost.domain.timeline import due_for_sweep
from sagecost.models.events import NotebookInstanceEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, SweepReport
from sagecost.services.usage.timelines import observed
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_tags, with_volume


class NotebookMeter:
    spec: KindSpec = notebook.SPEC

    def __init__(self, writer: UsageWriter, sagemaker: SageMakerReader) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.sagemaker = sagemaker

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, NotebookInstanceEvent)
        return self.writer.with_retries(lambda _: self._notebook(event))

    def _notebook(self, event: NotebookInstanceEvent) -> MeteringResult:
        detail = event.detail
        at = detail.last_modified_time or event.time
        timeline, _ = self.ledger.load_timeline(detail.notebook_instance_arn)
        timeline = timeline or new_timeline(
            detail.notebook_instance_arn,
            ResourceKind.NOTEBOOK_INSTANCE,
            detail.notebook_instance_name,
            event.region,
        )
        instance_type = detail.instance_type or timeline.instance_type
        volume = detail.volume_size_in_gb or timeline.volume_gb
        timeline = with_tags(timeline, detail.tags, at).model_copy(update={"instance_type": instance_type})
        if volume is not None and volume != timeline.volume_gb:
            timeline = with_volume(timeline, volume)  # usage metered at the default size is re-priced
        transition = notebook.event_transition(event, instance_type, volume)
        return self.writer.advance(timeline, [transition], at, None)

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        for listed in self.sagemaker.notebooks():
            self._sweep_notebook(
                listed.arn,
                listed.name,
                listed.status,
                listed.instance_type,
                listed.last_modified,
                open_timelines.pop(listed.arn, None),
                now,
                report,
                batch,
            )

    def _sweep_notebook(
        self,
        arn: str,
        name: str,
        status: str,
        instance_type: str | None,
        last_modified: datetime,
        timeline: ResourceTimeline | None,
        now: datetime,
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        lines_without_volume = notebook_lines(status, instance_type, None)
        if timeline is None and not lines_without_volume:
            return
        if (
            timeline is not None
            and timeline.current is not None
            and timeline.current.status == status
            and not due_for_sweep(timeline, now)
        ):
            return

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is None:
                current, _ = self.ledger.load_timeline(arn)
            if current is None:
                current = new_timeline(arn, ResourceKind.NOTEBOOK_INSTANCE, name)
            volume = current.volume_gb
            if volume is None and lines_without_volume:
                volume = self.sagemaker.notebook_volume_gb(name)
                if volume is not None:
                    current = with_volume(current, volume)
            kind_type = instance_type or current.instance_type
            lines = notebook_lines(status, kind_type, volume)
            incoming = observed(current, status, lines, last_modified, now)
            current = current.model_copy(update={"instance_type": kind_type, "volume_gb": volume})
            return self.writer.advance(
                current, incoming, now, None, batch=into, retry=self.writer.alone(attempt)
            )

        report.add(attempt(False, batch))
