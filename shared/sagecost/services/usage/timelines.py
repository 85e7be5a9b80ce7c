"""What every kind's sweep shares: a transition for what a listing shows, and keeping a kind's timelines
open when its listing failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from sagecost.models.ledger import ResourceKind
from sagecost.models.state import BillingLine, ResourceTimeline, Transition
from sagecost.observability import logger

Listed = TypeVar("Listed")


def observed(
    timeline: ResourceTimeline,
    status: str,
    lines: tuple[BillingLine, ...],
    changed: datetime | None,
    now: datetime,
    variant_counts: tuple[tuple[str | None, int | None], ...] = (),
) -> list[Transition]:
    """A transition for what the sweep saw, when it differs from what the ledger knows: at the listed
    change time (`changed`, e.g. LastModifiedTime) when that is after what the ledger knows, else now."""
    current = timeline.current
    if current is not None and current.status == status and current.lines == lines:
        return []
    at = changed if changed is not None and (current is None or changed > current.at) else now
    at = min(at, now)
    return [
        Transition(
            at=at,
            status=status,
            lines=lines,
            event_id=f"sweep@{now.isoformat()}",
            source="sweep",
            variant_counts=variant_counts,
        )
    ]


def hold_open(open_timelines: dict[str, ResourceTimeline], kind: ResourceKind) -> None:
    """A kind's listing failed (or it has no adapter here): its open timelines are taken out of the sweep's
    hands, so none is closed as vanished; the next sweep that lists them meters the gap."""
    for arn in [arn for arn, t in open_timelines.items() if t.resource.kind is kind]:
        open_timelines.pop(arn)


def listed_or_held(
    listing: Callable[[], list[Listed]],
    open_timelines: dict[str, ResourceTimeline],
    kind: ResourceKind,
    call: str,
) -> list[Listed] | None:
    """What `listing` lists; if the call fails, None, with the kind's open timelines held open (a failed
    listing closes nothing) and a warning naming the call."""
    try:
        return listing()
    except (ClientError, BotoCoreError) as error:
        logger.warning(f"{call} failed: {kind.value}s stay open until a sweep lists them", error=str(error))
        hold_open(open_timelines, kind)
        return None
