"""Idle shutdown rules: what counts as idle, what may never be touched, and the two phases (warn first,
act later only if nothing changed). Pure: every input is passed in, the clock too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from sagecost.domain.tags import snapshot
from sagecost.models.config import TagPolicy
from sagecost.models.idle import EndpointKind, IdleKind, IdlePolicy, Phase
from sagecost.models.state import EndpointConfigSnapshot, VariantSpec

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
    signal: str | None = None
    """The metric idleness was judged by (endpoints: it depends on the endpoint's kind)."""
    notes: tuple[str, ...] = ()
    """What the owner should know whatever the phase (a serverless endpoint's provisioned concurrency)."""


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
    keep, protection_notes = protected(observation.tags, policy, tag_policy, now)
    notes = (*observation.notes, *protection_notes)
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


@dataclass(frozen=True)
class MetricSeries:
    """One CloudWatch metric series, read over the look-back window with one statistic."""

    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: Literal["Sum", "Maximum"] = "Sum"
    namespace: str = "AWS/SageMaker"


SIGNALS: Mapping[EndpointKind, str] = {
    EndpointKind.REAL_TIME: "Invocations per variant",
    EndpointKind.ASYNC: "InvocationsProcessed per variant and ApproximateBacklogSize",
    EndpointKind.INFERENCE_COMPONENTS: "Invocations per inference component",
    EndpointKind.SERVERLESS: "none: serverless endpoints are never deleted for idleness",
    EndpointKind.UNKNOWN: "none: the endpoint's kind is unknown",
}
"""The metric each endpoint kind is judged by, as owners and the ledger read it."""


def _variant_kind(variant: VariantSpec) -> str | None:
    if variant.serverless:
        return "serverless"
    if variant.instance_type is None or variant.hosts_inference_components is None:
        return None
    return "components" if variant.hosts_inference_components else "instances"


def endpoint_kind(config: EndpointConfigSnapshot | None) -> tuple[EndpointKind, str | None]:
    """The endpoint's kind from its config, and why it is UNKNOWN when it is."""
    if config is None:
        return EndpointKind.UNKNOWN, "its endpoint config could not be read"
    kinds = {_variant_kind(variant) for variant in config.variants}
    why = None
    if not kinds:
        why = f"its endpoint config {config.name} has no production variants"
    elif None in kinds:
        why = f"the variants of {config.name} do not say how they serve"
    elif len(kinds) > 1:
        why = f"{config.name} mixes {' and '.join(sorted(str(k) for k in kinds))} variants"
    elif config.asynchronous and kinds == {"components"}:
        why = f"{config.name} is asynchronous and hosts inference components"
    if why is not None:
        return EndpointKind.UNKNOWN, why
    (kind,) = kinds
    if kind == "serverless":
        return EndpointKind.SERVERLESS, None
    if kind == "components":
        return EndpointKind.INFERENCE_COMPONENTS, None
    return (EndpointKind.ASYNC if config.asynchronous else EndpointKind.REAL_TIME), None


def traffic_series(
    kind: EndpointKind, endpoint: str, variants: Sequence[str], components: Sequence[str]
) -> tuple[MetricSeries, ...]:
    """The series that say whether an endpoint of this kind served anyone (namespace `AWS/SageMaker`):
    real-time `Invocations` per variant; async `InvocationsProcessed` per variant and the endpoint's
    `ApproximateBacklogSize` (dimension EndpointName only); inference components `Invocations` per
    component (dimension InferenceComponentName). Serverless and unknown kinds are not judged: none."""
    if kind is EndpointKind.REAL_TIME:
        return tuple(
            MetricSeries("Invocations", (("EndpointName", endpoint), ("VariantName", v))) for v in variants
        )
    if kind is EndpointKind.ASYNC:
        processed = tuple(
            MetricSeries("InvocationsProcessed", (("EndpointName", endpoint), ("VariantName", v)))
            for v in variants
        )
        return (*processed, MetricSeries("ApproximateBacklogSize", (("EndpointName", endpoint),), "Maximum"))
    if kind is EndpointKind.INFERENCE_COMPONENTS:
        return tuple(MetricSeries("Invocations", (("InferenceComponentName", c),)) for c in components)
    return ()


def _label(series: MetricSeries) -> str:
    return f"{series.metric} ({', '.join(value for _, value in series.dimensions)})"


def judge_traffic(
    kind: EndpointKind, readings: Mapping[MetricSeries, Decimal | None], hours: int
) -> tuple[bool, str]:
    """(idle, reason) from the readings of the kind's series (None: the series could not be read).

    Busy by any series is busy; otherwise one unread series, or no series at all, keeps it: no signal,
    no action. Only every series read and at zero is idle."""
    busy = [(series, value) for series, value in readings.items() if value]
    if busy:
        series, value = busy[0]
        count = f"{value.normalize():f}" if value is not None else "?"
        if series.metric == "ApproximateBacklogSize":
            return False, f"a backlog of up to {count} requests in the last {hours} h"
        return False, f"{count} {series.metric} in the last {hours} h ({_label(series)})"
    unread = sorted(_label(series) for series, value in readings.items() if value is None)
    if unread:
        return False, f"kept: {', '.join(unread)} could not be read (no signal, no action)"
    if not readings:
        return False, f"kept: no {SIGNALS[kind]} series to judge it by (no signal, no action)"
    quiet = {
        EndpointKind.ASYNC: "no InvocationsProcessed and no backlog",
        EndpointKind.INFERENCE_COMPONENTS: f"no invocations of its {len(readings)} inference components",
    }.get(kind, "no invocations")
    return True, f"{quiet} in the last {hours} h"


def endpoint_observation(
    *,
    arn: str,
    name: str,
    tags: Mapping[str, str],
    created: datetime,
    kind: EndpointKind,
    readings: Mapping[MetricSeries, Decimal | None],
    policy: IdlePolicy,
    now: datetime,
    hourly_usd: Decimal | None,
    config_name: str | None,
    unknown_because: str | None = None,
    provisioned_concurrency: int = 0,
) -> Observation:
    """Idle: every series of the signal its kind publishes read zero over the look-back window (no
    datapoints means no traffic). Never idle: an endpoint younger than the window, a serverless one, one of
    unknown kind, or one whose series could not all be read."""
    hours = policy.endpoint_lookback_hours
    notes: tuple[str, ...] = ()
    if kind is EndpointKind.UNKNOWN:
        idle, reason = False, f"kept: {unknown_because or 'its kind is unknown'} (no signal, no action)"
    elif kind is EndpointKind.SERVERLESS:
        idle, reason = False, "serverless: it costs nothing while idle and is never deleted for idleness"
        if provisioned_concurrency:
            notes = (
                f"its provisioned concurrency of {provisioned_concurrency} bills while idle: "
                "lower it if it is not needed (sagecost does not change it)",
            )
    elif now - created < timedelta(hours=hours):
        idle, reason = False, f"younger than the {hours} h look-back window"
    else:
        idle, reason = judge_traffic(kind, readings, hours)
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
        signal=SIGNALS[kind],
        notes=notes,
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
