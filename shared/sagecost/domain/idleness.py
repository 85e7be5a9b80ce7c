"""Idle shutdown rules: what counts as idle, what may never be touched, and the two phases (warn first,
act later only if nothing changed). Pure: every input is passed in, the clock too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sagecost.domain.tags import snapshot
from sagecost.models.config import TagPolicy
from sagecost.models.idle import IdleKind, IdlePolicy, Phase

SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True)
class Observation:
    """One running resource as a sweep sees it."""

    kind: IdleKind
    arn: str
    name: str
    tags: Mapping[str, str]
    running_since: datetime
    """When its current run began (LastModifiedTime of an InService notebook, an endpoint's creation, an
    app's creation): a warning older than this run is void."""
    idle: bool
    reason: str
    hourly_usd: Decimal | None = None
    restore: Mapping[str, str] | None = None
    """What brings it back after a delete (an endpoint's config name)."""


@dataclass(frozen=True)
class IdleWarning:
    """The warning tag: when the owner was warned and when the resource may be acted on."""

    warned_at: datetime
    act_at: datetime

    def tag_value(self) -> str:
        """`2026-11-24T17:00:00Z/2026-11-24T19:00:00Z` (SageMaker tag values allow `:` and `/`)."""
        return f"{_iso(self.warned_at)}/{_iso(self.act_at)}"

    @classmethod
    def parse(cls, value: str | None) -> IdleWarning | None:
        if not value:
            return None
        try:
            warned, act = value.split("/")
            return cls(_parse(warned), _parse(act))
        except ValueError:
            return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("not an aware time")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Decision:
    observation: Observation
    phase: Phase
    reason: str
    warning: IdleWarning | None = None
    notes: tuple[str, ...] = ()

    @property
    def acts(self) -> bool:
        return self.phase is Phase.ACT


def exemption(tags: Mapping[str, str], key: str, now: datetime) -> tuple[bool, str | None]:
    """(exempt, note) from a `keep-until` tag: exempt through the date it names (UTC). An expired date is
    ignored and said; a value that is not a date protects the resource (towards caution) and is said."""
    value = next((v for k, v in tags.items() if k.lower() == key.lower()), None)
    if value is None:
        return False, None
    try:
        until = date.fromisoformat(value.strip())
    except ValueError:
        return True, f"{key}={value!r} is not a date (YYYY-MM-DD): kept, please fix the tag"
    if now < datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1):
        return True, None
    return False, f"the exemption {key}={value} expired: it no longer protects this resource"


def protected(
    tags: Mapping[str, str], policy: IdlePolicy, tag_policy: TagPolicy, now: datetime
) -> tuple[str | None, tuple[str, ...]]:
    """Why a resource must be left alone (None: it may be acted on), and notes for its owner."""
    environment = snapshot(tags, tag_policy.keys).environment
    if environment is None:
        return "it has no environment tag", ()
    if tag_policy.is_production(environment):
        return f"its environment {environment!r} is production", ()
    allowed = policy.environments
    if allowed is not None and tag_policy.environment.normalise(environment) not in {
        tag_policy.environment.normalise(value) for value in allowed
    }:
        return f"its environment {environment!r} is not one idle shutdown governs", ()
    exempt, note = exemption(tags, policy.exemption_tag, now)
    notes = (note,) if note else ()
    if exempt:
        return f"it is exempt ({policy.exemption_tag}={tags.get(policy.exemption_tag, '')})", notes
    return None, notes


def decide(observation: Observation, policy: IdlePolicy, tag_policy: TagPolicy, now: datetime) -> Decision:
    warning = IdleWarning.parse(_tag(observation.tags, policy.warning_tag))
    keep, notes = protected(observation.tags, policy, tag_policy, now)
    if keep is not None or observation.kind not in policy.kinds:
        reason = keep or f"{observation.kind.value} is not governed by idle shutdown"
        return Decision(observation, Phase.CLEAR if warning else Phase.KEEP, reason, warning, notes)
    if not observation.idle:
        return Decision(
            observation, Phase.CLEAR if warning else Phase.KEEP, observation.reason, warning, notes
        )
    if warning is None or observation.running_since > warning.warned_at:
        act_at = now + timedelta(seconds=float(policy.warning_hours * SECONDS_PER_HOUR))
        return Decision(observation, Phase.WARN, observation.reason, IdleWarning(now, act_at), notes)
    if now < warning.act_at:
        return Decision(observation, Phase.WAIT, observation.reason, warning, notes)
    return Decision(observation, Phase.ACT, observation.reason, warning, notes)


def plan(decisions: Iterable[Decision], policy: IdlePolicy) -> list[Decision]:
    """Cap the actions of one run (the costliest first); the rest wait for the next run."""
    ordered = sorted(
        decisions, key=lambda d: (not d.acts, -(d.observation.hourly_usd or Decimal(0)), d.observation.arn)
    )
    result: list[Decision] = []
    acted = 0
    for candidate in ordered:
        decision = candidate
        if candidate.acts and acted >= policy.max_actions_per_run:
            cap = f"the cap of {policy.max_actions_per_run} actions per run was reached"
            decision = replace(candidate, phase=Phase.WAIT, notes=(*candidate.notes, cap))
        acted += decision.acts
        result.append(decision)
    return result


def _tag(tags: Mapping[str, str], key: str) -> str | None:
    return next((v for k, v in tags.items() if k.lower() == key.lower()), None)


# --- what counts as idle ---------------------------------------------------------------------------


def endpoint_observation(
    *,
    arn: str,
    name: str,
    tags: Mapping[str, str],
    created: datetime,
    invocations: Decimal | None,
    policy: IdlePolicy,
    now: datetime,
    hourly_usd: Decimal | None,
    config_name: str | None,
) -> Observation:
    """Idle: no Invocations on any variant over the look-back window (no datapoints means no traffic);
    an endpoint younger than the window is not judged."""
    window = timedelta(hours=policy.endpoint_lookback_hours)
    if now - created < window:
        idle, reason = False, f"younger than the {policy.endpoint_lookback_hours} h look-back window"
    elif invocations:
        idle, reason = False, f"{invocations} invocations in the last {policy.endpoint_lookback_hours} h"
    else:
        idle, reason = True, f"no invocations in the last {policy.endpoint_lookback_hours} h"
    return Observation(
        IdleKind.ENDPOINT,
        arn,
        name,
        tags,
        created,
        idle,
        reason,
        hourly_usd,
        {"endpoint_config_name": config_name} if config_name else None,
    )


def notebook_observation(
    *,
    arn: str,
    name: str,
    tags: Mapping[str, str],
    running_since: datetime,
    policy: IdlePolicy,
    now: datetime,
    hourly_usd: Decimal | None,
) -> Observation:
    """Idle: running outside working hours, or running longer than the maximum."""
    hours = Decimal((now - running_since).total_seconds()) / SECONDS_PER_HOUR
    maximum = policy.notebook_max_running_hours
    if not policy.working_hours.contains(now):
        idle, reason = True, f"running outside working hours ({policy.working_hours.timezone})"
    elif maximum is not None and hours > maximum:
        idle, reason = True, f"running for {hours:.1f} h (more than {maximum} h)"
    else:
        idle, reason = False, "in working hours"
    return Observation(IdleKind.NOTEBOOK, arn, name, tags, running_since, idle, reason, hourly_usd)


def app_observation(
    *,
    arn: str,
    name: str,
    app_type: str,
    tags: Mapping[str, str],
    created: datetime,
    last_activity: datetime | None,
    policy: IdlePolicy,
    now: datetime,
    hourly_usd: Decimal | None,
) -> Observation:
    """Idle: no user activity for `app_idle_minutes` (since its creation when it never had any), or on
    outside working hours. App types idle shutdown does not govern are never idle."""
    quiet_since = last_activity or created
    limit = timedelta(minutes=policy.app_idle_minutes)
    if app_type not in policy.app_types:
        idle, reason = False, f"{app_type} apps are not governed"
    elif now - quiet_since >= limit:
        minutes = int((now - quiet_since).total_seconds() // 60)
        idle, reason = True, f"no activity for {minutes} min (limit {policy.app_idle_minutes})"
    elif not policy.working_hours.contains(now):
        idle, reason = True, f"left on outside working hours ({policy.working_hours.timezone})"
    else:
        idle, reason = False, "active"
    # a new activity after a warning voids it like a restart does
    return Observation(
        IdleKind.STUDIO_APP, arn, name, tags, max(created, quiet_since), idle, reason, hourly_usd
    )
