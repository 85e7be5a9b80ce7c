"""Studio apps and Studio spaces' storage: the service side of `domain.kinds.studio_app` and
`domain.kinds.space` (KindMeters, registered in `wiring.usage_meter`).

Per event: one ledger read and one DynamoDB transaction. A CreateApp in a space the ledger knows takes the
space's tags (Studio propagates them to the app) from the same read; an app of a user profile, or of a
space created before sagecost, gets its owner's tags from the next sweep (one ListTags, once), which
moves the usage already metered to them. The sweep lists apps and spaces (pages of 100, all domains)
and reads more only for what the ledger does not have: DescribeApp and ListTags for an app no event
announced, DescribeSpace for a space whose size is not known yet (and ListTags for one no event announced)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sagecost.adapters.sagemaker import SageMakerReader
from sagecost.adapters.studio import AppSummary, SpaceSummary, StudioApps
from sagecost.domain.kinds import space as spaces
from sagecost.domain.kinds import studio_app as apps
from sagecost.domain.kinds.spec import KindSpec
from sagecost.domain.timeline import due_for_sweep
from sagecost.models.events import ApiCallEvent, SageMakerEvent
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import ResourceTimeline
from sagecost.services.usage.results import MeteringResult, SweepReport
from sagecost.services.usage.timelines import hold_open, listed_or_held, observed
from sagecost.services.usage.writer import UsageWriter, WriteBatch, new_timeline, with_tags, with_volume


def _region_account(event: ApiCallEvent) -> tuple[str, str]:
    detail = event.detail
    return detail.aws_region or event.region, detail.recipient_account_id or event.account


def _arn_parts(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN."""
    parts = arn.split(":", 5)
    return parts[3], parts[4]


def _mine(open_timelines: dict[str, ResourceTimeline], kind: ResourceKind) -> dict[str, str]:
    """The open timelines of `kind`, by their ARN's resource part in lower case (how listings match)."""
    return {apps.resource_id(arn): arn for arn, t in open_timelines.items() if t.resource.kind is kind}


T = TypeVar("T")


def _listing(
    open_timelines: dict[str, ResourceTimeline],
    kind: ResourceKind,
    listing: Callable[[], list[T]] | None,
    call: str,
) -> tuple[dict[str, str], list[T] | None]:
    """The open timelines of `kind` by lower-case resource part, and what `listing` lists. If it fails (or
    there is no Studio adapter), every timeline of the kind is popped: kept open, not taken for vanished."""
    mine = _mine(open_timelines, kind)
    if listing is None:
        hold_open(open_timelines, kind)
        return mine, None
    return mine, listed_or_held(listing, open_timelines, kind, call)


def _stale(timeline: ResourceTimeline | None, created: datetime | None) -> bool:
    """The ledger closed this resource after the listed one was created: the listing lags a delete."""
    current = timeline.current if timeline is not None else None
    return current is not None and not current.lines and (created is None or created <= current.at)


class StudioAppMeter:
    """CreateApp / DeleteApp, and the apps ListApps shows."""

    def __init__(self, writer: UsageWriter, sagemaker: SageMakerReader, studio: StudioApps | None) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.sagemaker = sagemaker
        self.studio = studio

    @property
    def spec(self) -> KindSpec:
        return apps.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, ApiCallEvent)
        key = apps.AppKey.from_request(event.detail.request_parameters)
        region, account = _region_account(event)
        transition = apps.event_transition(event, key)
        arn = key.arn(region, account)
        instance_type = apps.requested_instance_type(event.detail.request_parameters)
        creation = event.detail.event_name == "CreateApp"

        def attempt(reload: bool) -> MeteringResult:
            # one read: the app's timeline and, for a CreateApp in a space, the space's (whose tags Studio
            # propagates to the app: TagPropagation); a user profile's tags, or those of a space the ledger
            # never saw, are read by the next sweep, so that no event costs more than two requests
            owner = key.owner_ledger_arn(region, account) if creation and key.in_space else None
            loaded = self.ledger.load_timelines([arn, *([owner] if owner else [])], consistent=reload)
            timeline = loaded.get(arn) or new_timeline(arn, ResourceKind.STUDIO_APP, key.display_name, region)
            if creation:
                inherited = loaded[owner].tags if owner is not None and owner in loaded else {}
                timeline = with_tags(timeline, {**inherited, **(event.detail.tags or {})}, transition.at)
            if instance_type is not None:
                timeline = timeline.model_copy(update={"instance_type": instance_type})
            return self.writer.advance(timeline, [transition], transition.at, None)

        return self.writer.with_retries(attempt)

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        listing = self.studio.apps if self.studio is not None else None
        mine, listed = _listing(open_timelines, ResourceKind.STUDIO_APP, listing, "ListApps")
        if listed is None:
            return
        for app in listed:
            key = apps.AppKey(app.domain_id, app.owner, app.in_space, app.app_type, app.name)
            arn = mine.pop(key.resource_id, None)
            timeline = open_timelines.pop(arn, None) if arn is not None else None
            status = apps.listed_status(app.status)
            lines = apps.app_lines(status, app.app_type, app.instance_type)
            if timeline is None and not lines:
                continue
            result = self._sweep_app(key, app, timeline, status, now, batch)
            if result is not None:
                report.add(result, closed=status == apps.GONE)

    def _sweep_app(
        self,
        key: apps.AppKey,
        app: AppSummary,
        timeline: ResourceTimeline | None,
        status: str,
        now: datetime,
        batch: WriteBatch,
    ) -> MeteringResult | None:
        arn = timeline.resource.arn if timeline is not None else None
        tags: dict[str, str] | None = None
        if timeline is not None and not timeline.tags and timeline.tags_at is None:
            # its CreateApp found no tags in the ledger (a user profile's app, or a space sagecost never
            # saw): the owner's tags, read once; the usage already metered moves to them
            region, account = _arn_parts(timeline.resource.arn)
            tags = self.sagemaker.tags(key.owner_arn(region, account)) or {}
        elif arn is None:
            # running, and not open in the ledger: no event announced it (or its CreateApp was lost)
            described = self.studio.app_arn(app) if self.studio is not None else None
            if described is None:
                return None
            region, account = _arn_parts(described)
            arn = key.arn(region, account)
            loaded, _ = self.ledger.load_timeline(arn)
            if _stale(loaded, app.created):
                return None
            tags = self.sagemaker.tags(key.owner_arn(region, account))
        assert arn is not None
        found_arn = arn

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is None:
                current, _ = self.ledger.load_timeline(found_arn)
            if current is None:
                region, _account = _arn_parts(found_arn)
                current = new_timeline(found_arn, ResourceKind.STUDIO_APP, key.display_name, region)
            instance_type = app.instance_type or current.instance_type
            if instance_type is not None and instance_type not in apps.FREE_INSTANCE_TYPES:
                # usage metered while the type was unknown gets its price now
                current = current.model_copy(
                    update={
                        "instance_type": instance_type,
                        "transitions": apps.priced_with_type(current.transitions, instance_type),
                    }
                )
            if tags:
                current = with_tags(current, tags, app.created or now)
            elif tags is not None and current.tags_at is None:
                # the owner has no tags: said once, not asked again every hour
                current = current.model_copy(update={"tags_at": app.created or now})
            lines = apps.app_lines(status, app.app_type, instance_type)
            incoming = observed(current, status, lines, app.created if status == apps.RUNNING else None, now)
            return self.writer.advance(
                current, incoming, now, None, batch=into, retry=self.writer.alone(attempt)
            )

        return attempt(False, batch)


class SpaceMeter:
    """CreateSpace / DeleteSpace, and the spaces ListSpaces shows: each space's EBS volume."""

    def __init__(self, writer: UsageWriter, studio: StudioApps | None, sagemaker: SageMakerReader) -> None:
        self.writer = writer
        self.ledger = writer.ledger
        self.studio = studio
        self.sagemaker = sagemaker

    @property
    def spec(self) -> KindSpec:
        return spaces.SPEC

    def record(self, event: SageMakerEvent) -> MeteringResult:
        assert isinstance(event, ApiCallEvent)
        detail = event.detail
        key = spaces.SpaceKey.from_request(detail.request_parameters)
        region, account = _region_account(event)
        arn = key.arn(region, account)
        requested = spaces.requested_volume_gb(detail.request_parameters)

        def attempt(_: bool) -> MeteringResult:
            timeline, _config = self.ledger.load_timeline(arn)
            timeline = timeline or new_timeline(arn, ResourceKind.SPACE, key.name, region)
            timeline = with_tags(timeline, detail.tags, detail.event_time)
            volume = requested or timeline.volume_gb
            if requested is not None and requested != timeline.volume_gb:
                timeline = with_volume(timeline, requested)  # usage metered at the default is re-priced
            transition = spaces.event_transition(event, volume)
            return self.writer.advance(timeline, [transition], transition.at, None)

        return self.writer.with_retries(attempt)

    def sweep(
        self,
        now: datetime,
        open_timelines: dict[str, ResourceTimeline],
        report: SweepReport,
        batch: WriteBatch,
    ) -> None:
        listing = self.studio.spaces if self.studio is not None else None
        mine, listed = _listing(open_timelines, ResourceKind.SPACE, listing, "ListSpaces")
        if listed is None:
            return
        for space in listed:
            key = spaces.SpaceKey(space.domain_id, space.name)
            arn = mine.pop(key.resource_id, None)
            timeline = open_timelines.pop(arn, None) if arn is not None else None
            status = spaces.listed_status(space.status)
            if timeline is None and status == spaces.GONE:
                continue
            result = self._sweep_space(key, space, timeline, status, now, batch)
            if result is not None:
                report.add(result, closed=status == spaces.GONE)

    def _sweep_space(
        self,
        key: spaces.SpaceKey,
        space: SpaceSummary,
        timeline: ResourceTimeline | None,
        status: str,
        now: datetime,
        batch: WriteBatch,
    ) -> MeteringResult | None:
        volume = space.volume_gb or (timeline.volume_gb if timeline is not None else None)
        if (
            timeline is not None
            and volume is not None
            and timeline.current is not None
            and timeline.current.lines == spaces.space_lines(status, volume)
            and not due_for_sweep(timeline, now)
        ):
            return None  # storage only: metered once a UTC day
        arn = timeline.resource.arn if timeline is not None else None
        tags: dict[str, str] | None = None
        if arn is None or volume is None:
            described = self.studio.space(space.domain_id, space.name) if self.studio is not None else None
            if described is None:
                return None
            volume = volume or described.volume_gb
            if arn is None:
                region, account = _arn_parts(described.arn)
                arn = key.arn(region, account)
                loaded, _ = self.ledger.load_timeline(arn)
                if _stale(loaded, space.created):
                    return None
                if loaded is None or not loaded.tags:
                    tags = self.sagemaker.tags(described.arn)
        found_arn, found_volume = arn, volume
        read: Callable[[], ResourceTimeline | None] = lambda: self.ledger.load_timeline(found_arn)[0]  # noqa: E731

        def attempt(reload: bool, into: WriteBatch | None) -> MeteringResult:
            current = None if reload else timeline
            if current is None:
                current = read()
            if current is None:
                region, _account = _arn_parts(found_arn)
                current = new_timeline(found_arn, ResourceKind.SPACE, key.name, region)
            if found_volume is not None and current.volume_gb is None:
                current = with_volume(current, found_volume)  # metered at the default size until now
            if tags:
                current = with_tags(current, tags, space.created or now)
            lines = spaces.space_lines(status, found_volume or current.volume_gb)
            changed = space.created if current.current is None else space.last_modified
            incoming = observed(current, status, lines, changed, now)
            return self.writer.advance(
                current, incoming, now, None, batch=into, retry=self.writer.alone(attempt)
            )

        return attempt(False, batch)


def studio_meters(
    writer: UsageWriter, sagemaker: SageMakerReader, studio: StudioApps | None
) -> tuple[StudioAppMeter, SpaceMeter]:
    return StudioAppMeter(writer, sagemaker, studio), SpaceMeter(writer, studio, sagemaker)
