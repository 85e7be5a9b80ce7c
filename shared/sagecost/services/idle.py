"""The idle reaper: one sweep over running endpoints, notebook instances and Studio apps.

Reads in bulk (list pages, the Tagging API, one GetMetricData per 500 metric series), judges each endpoint
by the signal its kind publishes (real-time `Invocations`, async `InvocationsProcessed` and backlog,
inference components per component, serverless never), decides with `domain.idleness`, then warns (a tag
with the time of the action, and the owner told), acts (stop a notebook, delete an app or an endpoint,
keeping what brings it back), and records every warning and action in the ledger with the hourly rate it
stopped, the savings projected to the month's end and the signal it was judged by.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from sagecost.adapters.notifier import Notice, Notifier
from sagecost.adapters.sagemaker import EndpointSummary, InferenceComponentSummary, NotebookSummary
from sagecost.adapters.studio import StudioApp, StudioApps
from sagecost.domain.idleness import (
    Decision,
    MetricSeries,
    Observation,
    app_observation,
    decide,
    endpoint_kind,
    endpoint_observation,
    notebook_observation,
    plan,
    traffic_series,
)
from sagecost.domain.money import micro
from sagecost.domain.periods import hours_between, next_month_start
from sagecost.domain.pricing import PriceBook
from sagecost.domain.tags import business_tags, snapshot
from sagecost.domain.timeline import hourly_cost
from sagecost.models.config import SagecostConfig
from sagecost.models.idle import EndpointKind, IdleKind, Phase
from sagecost.models.prices import Component
from sagecost.models.state import EndpointConfigSnapshot, ResourceTimeline
from sagecost.reports.text import usd

logger = Logger(service="sagecost")


class IdleSageMaker(Protocol):
    def endpoints(self) -> list[EndpointSummary]: ...
    def endpoint(self, name: str) -> EndpointSummary | None: ...
    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None: ...
    def notebooks(self) -> list[NotebookSummary]: ...
    def add_tags(self, arn: str, tags: dict[str, str]) -> bool: ...
    def delete_tags(self, arn: str, keys: list[str]) -> bool: ...
    def stop_notebook(self, name: str) -> bool: ...
    def delete_endpoint(self, name: str) -> bool: ...


class IdleLedger(Protocol):
    def load_timelines(self, arns: Sequence[str]) -> dict[str, ResourceTimeline]: ...
    def put_actions(self, actions: Sequence[tuple[str, str, datetime, Mapping[str, Any]]]) -> None: ...


class Traffic(Protocol):
    def read(
        self, series: Sequence[MetricSeries], start: datetime, end: datetime
    ) -> dict[MetricSeries, Decimal | None]: ...


class InferenceComponents(Protocol):
    def inference_components(self, endpoint_name: str) -> list[InferenceComponentSummary]: ...


@dataclass(frozen=True)
class _EndpointView:
    """What the sweep established about one running endpoint before reading its metrics."""

    endpoint: EndpointSummary
    timeline: ResourceTimeline | None
    config: EndpointConfigSnapshot | None
    kind: EndpointKind
    unknown_because: str | None
    series: tuple[MetricSeries, ...] = ()
    judged_since: datetime | None = None


class UnrecordedLedger:
    """No ledger (`sagecost idle sweep` without --table): no timelines to read, so each endpoint's config
    (its variants and kind) comes from DescribeEndpoint and DescribeEndpointConfig; nothing is recorded."""

    def load_timelines(self, arns: Sequence[str]) -> dict[str, ResourceTimeline]:
        return {}

    def put_actions(self, actions: Sequence[tuple[str, str, datetime, Mapping[str, Any]]]) -> None:
        return None


@dataclass
class IdleReport:
    dry_run: bool
    decisions: list[Decision] = field(default_factory=list)
    acted: list[Decision] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def count(self, phase: Phase) -> int:
        return sum(1 for d in self.decisions if d.phase is phase)

    @property
    def saved_per_hour(self) -> Decimal:
        return sum((d.observation.hourly_usd or Decimal(0) for d in self.acted), Decimal(0))


@dataclass
class IdleReaper:
    sagemaker: IdleSageMaker
    studio: StudioApps | None
    traffic: Traffic
    tags: Callable[[], dict[str, dict[str, str]]]
    ledger: IdleLedger
    notifier: Notifier
    prices: PriceBook
    config: SagecostConfig
    inference_components: InferenceComponents | None = None
    """Lists an endpoint's inference components (`Boto3SageMaker` in AWS); None: endpoints hosting them
    are kept, as nothing says whether they are used."""
    _apps: dict[str, StudioApp] = field(default_factory=dict)

    def sweep(self, now: datetime, *, apply: bool) -> IdleReport:
        """Decide about everything running; with `apply`, write warnings and act; without, report only."""
        policy = self.config.idle
        tags_by_arn = self.tags()
        observations = self._observe(now, tags_by_arn)
        decisions = plan((decide(o, policy, self.config.tags, now) for o in observations), policy)
        report = IdleReport(dry_run=not apply, decisions=decisions)
        if not apply:
            return report
        done: list[Decision] = []
        for decision in decisions:
            try:
                if self._carry_out(decision):
                    done.append(decision)
            except Exception as error:  # one resource's failure never stops the sweep
                logger.exception("idle action failed", extra={"arn": decision.observation.arn})
                report.failed.append((decision.observation.arn, str(error)))
        report.acted = [d for d in done if d.acts]
        self.ledger.put_actions([self._record(d, now) for d in done])
        # owners hear of the warnings that were tagged and the actions that happened, nothing else
        self._tell_owners([d for d in done if d.phase in {Phase.WARN, Phase.ACT}], now)
        return report

    # --- what runs ---------------------------------------------------------------------------------

    def _observe(self, now: datetime, tags_by_arn: Mapping[str, dict[str, str]]) -> list[Observation]:
        policy = self.config.idle
        kinds = set(policy.kinds)
        observations: list[Observation] = []
        if IdleKind.ENDPOINT in kinds:
            observations += self._endpoints(now, tags_by_arn)
        if IdleKind.NOTEBOOK in kinds:
            for notebook in self.sagemaker.notebooks():
                if notebook.status != "InService":
                    continue
                rate = self._rate(notebook.arn, Component.NOTEBOOK, notebook.instance_type)
                observations.append(
                    notebook_observation(
                        arn=notebook.arn,
                        name=notebook.name,
                        tags=tags_by_arn.get(notebook.arn, {}),
                        running_since=notebook.last_modified,
                        policy=policy,
                        now=now,
                        hourly_usd=rate,
                    )
                )
        if IdleKind.STUDIO_APP in kinds and self.studio is not None:
            self._apps = {app.arn: app for app in self.studio.running_apps()}
            observations += [self._app(app, now, tags_by_arn) for app in self._apps.values()]
        return observations

    def _endpoints(self, now: datetime, tags_by_arn: Mapping[str, dict[str, str]]) -> list[Observation]:
        policy = self.config.idle
        running = [e for e in self.sagemaker.endpoints() if e.status == "IN_SERVICE"]
        # the ledger's timelines say each endpoint's config and rate (one BatchGetItem per 100)
        timelines = self.ledger.load_timelines([e.arn for e in running]) if running else {}
        views = [self._view(endpoint, timelines.get(endpoint.arn)) for endpoint in running]
        window = timedelta(hours=policy.endpoint_lookback_hours)
        wanted = [series for view in views for series in view.series]
        readings = self.traffic.read(wanted, now - window, now) if wanted else {}
        observations = []
        for view in views:
            endpoint, timeline = view.endpoint, view.timeline
            created = endpoint.created or (
                timeline.transitions[0].at if timeline and timeline.transitions else now
            )
            provisioned = (
                sum(v.provisioned_concurrency or 0 for v in view.config.variants) if view.config else 0
            )
            observations.append(
                endpoint_observation(
                    arn=endpoint.arn,
                    name=endpoint.name,
                    tags=tags_by_arn.get(endpoint.arn, {}),
                    created=max(created, view.judged_since or created),
                    kind=view.kind,
                    readings={series: readings.get(series) for series in view.series},
                    policy=policy,
                    now=now,
                    hourly_usd=hourly_cost(timeline, self.prices, now) if timeline else None,
                    config_name=view.config.name if view.config else endpoint.config_name,
                    unknown_because=view.unknown_because,
                    provisioned_concurrency=provisioned,
                )
            )
        return observations

    def _view(self, endpoint: EndpointSummary, timeline: ResourceTimeline | None) -> _EndpointView:
        """The endpoint's kind and the series its kind publishes. The config comes from the ledger (cached
        from Endpoint Config events); on a miss, or a snapshot too old to say whether it hosts inference
        components, from DescribeEndpoint and DescribeEndpointConfig. Whatever cannot be read leaves the
        kind unknown, and the reason says why."""
        config = timeline.endpoint_config if timeline else None
        try:
            if config is None:
                described = self.sagemaker.endpoint(endpoint.name)
                config_name = described.config_name if described else None
                config = self.sagemaker.endpoint_config(config_name) if config_name else None
            elif any(v.hosts_inference_components is None and not v.serverless for v in config.variants):
                config = self.sagemaker.endpoint_config(config.name) or config
        except Exception as error:  # one endpoint's unreadable config never stops the sweep
            logger.warning(
                "endpoint config unreadable", extra={"endpoint": endpoint.name, "error": str(error)}
            )
            unread = f"its endpoint config could not be read ({error})"
            return _EndpointView(endpoint, timeline, config, EndpointKind.UNKNOWN, unread)
        kind, why = endpoint_kind(config)
        variants = [v.name for v in config.variants] if config else []
        if kind is not EndpointKind.INFERENCE_COMPONENTS:
            series = traffic_series(kind, endpoint.name, variants, ())
            return _EndpointView(endpoint, timeline, config, kind, why, series)
        if self.inference_components is None:
            unlisted = "it hosts inference components and this sweep cannot list them"
            return _EndpointView(endpoint, timeline, config, EndpointKind.UNKNOWN, unlisted)
        try:
            components = self.inference_components.inference_components(endpoint.name)
        except Exception as error:  # e.g. AccessDenied: no signal, no action
            logger.warning(
                "inference components unlisted", extra={"endpoint": endpoint.name, "error": str(error)}
            )
            unlisted = f"its inference components could not be listed ({error})"
            return _EndpointView(endpoint, timeline, config, EndpointKind.UNKNOWN, unlisted)
        series = traffic_series(kind, endpoint.name, variants, [c.name for c in components])
        # a component deployed since the window began has not had a full window to be used
        newest = max((c.created for c in components), default=None)
        return _EndpointView(endpoint, timeline, config, kind, why, series, newest)

    def _app(self, app: StudioApp, now: datetime, tags_by_arn: Mapping[str, dict[str, str]]) -> Observation:
        return app_observation(
            arn=app.arn,
            name=f"{app.owner}/{app.app_type}/{app.name}",
            app_type=app.app_type,
            tags=tags_by_arn.get(app.arn, {}),
            created=app.created,
            last_activity=app.last_activity,
            policy=self.config.idle,
            now=now,
            hourly_usd=self._rate(app.arn, Component.STUDIO_APP, app.instance_type),
        )

    def _rate(self, arn: str, component: Component, instance_type: str | None) -> Decimal | None:
        if instance_type is None:
            return None
        price = self.prices.rate(arn.split(":")[3], component, instance_type)
        return price.usd if price else None

    # --- doing ---------------------------------------------------------------------------------------

    def _carry_out(self, decision: Decision) -> bool:
        observation, key = decision.observation, self.config.idle.warning_tag
        if decision.phase is Phase.WARN and decision.warning is not None:
            return self.sagemaker.add_tags(observation.arn, {key: decision.warning.tag_value()})
        if decision.phase is Phase.CLEAR:
            return self.sagemaker.delete_tags(observation.arn, [key])
        if decision.phase is not Phase.ACT:
            return False
        if observation.kind is IdleKind.NOTEBOOK:
            return self.sagemaker.stop_notebook(observation.name)
        if observation.kind is IdleKind.ENDPOINT:
            return self.sagemaker.delete_endpoint(observation.name)
        app = self._apps.get(observation.arn)
        return app is not None and self.studio is not None and self.studio.delete_app(app)

    def _record(self, decision: Decision, now: datetime) -> tuple[str, str, datetime, Mapping[str, Any]]:
        observation = decision.observation
        rate = observation.hourly_usd
        hours_left = hours_between(now, next_month_start(now))
        warned_at = decision.warning.warned_at.isoformat() if decision.warning else now.isoformat()
        verb = {
            Phase.WARN: "idle-warning",
            Phase.ACT: "idle-" + _verb(observation.kind),
            Phase.CLEAR: "idle-cleared",
        }[decision.phase]
        attribution = snapshot(observation.tags, self.config.tag_keys)
        details: dict[str, Any] = {
            "kind": observation.kind.value,
            "name": observation.name,
            "reason": decision.reason,
            "signal": observation.signal,
            "notes": list(decision.notes),
            "project": attribution.project,
            "owner": attribution.owner,
            "environment": attribution.environment,
            "hourly_usd": rate,
            "projected_savings_usd": micro(rate * hours_left) if rate is not None and decision.acts else None,
            "act_at": decision.warning.act_at.isoformat() if decision.warning else None,
        }
        if decision.acts and observation.restore:
            kept = business_tags(observation.tags)
            kept.pop(self.config.idle.warning_tag, None)
            details["restore"] = dict(observation.restore) | {"tags": kept}
        return observation.arn, f"{verb}@{warned_at}", now, details

    def _tell_owners(self, decisions: Sequence[Decision], now: datetime) -> None:
        """One message per owner per run, listing what was warned and what was done."""
        by_owner: dict[str, list[Decision]] = defaultdict(list)
        for decision in decisions:
            owner = snapshot(decision.observation.tags, self.config.tag_keys).owner or "(no owner tag)"
            by_owner[owner].append(decision)
        for owner, owned in sorted(by_owner.items()):
            self.notifier.publish(_owner_notice(owner, owned, self.config.idle.exemption_tag, now))


def _verb(kind: IdleKind) -> str:
    return {IdleKind.NOTEBOOK: "stopped", IdleKind.ENDPOINT: "deleted", IdleKind.STUDIO_APP: "deleted"}[kind]


def _signal_line(decision: Decision) -> list[str]:
    signal = decision.observation.signal
    return [f"      judged by: {signal}"] if signal else []


def _owner_notice(owner: str, decisions: Sequence[Decision], exemption_tag: str, now: datetime) -> Notice:
    warned = [d for d in decisions if d.phase is Phase.WARN]
    acted = [d for d in decisions if d.acts]
    lines = [f"Hello {owner},", ""]
    if warned:
        lines.append("sagecost found these of your SageMaker resources idle and will stop or delete them:")
        for d in warned:
            act_at = d.warning.act_at.strftime("%Y-%m-%d %H:%M UTC") if d.warning else "soon"
            rate = f", {usd(d.observation.hourly_usd)}/h" if d.observation.hourly_usd else ""
            lines.append(
                f"  - {d.observation.kind.value} {d.observation.name}: {d.reason}{rate}; at {act_at}"
            )
            lines += _signal_line(d)
            lines += [f"      note: {note}" for note in d.notes]
        keep_until = (now + timedelta(days=7)).date().isoformat()
        lines += [
            "",
            f"To keep one, use it, or tag it {exemption_tag}={keep_until} (the date it may stay until).",
            "",
        ]
    if acted:
        lines.append("sagecost stopped or deleted these idle resources:")
        for d in acted:
            rate = f" ({usd(d.observation.hourly_usd)}/h saved)" if d.observation.hourly_usd else ""
            lines.append(f"  - {d.observation.kind.value} {d.observation.name}: {d.reason}{rate}")
            lines += _signal_line(d)
        lines += [
            "",
            "A deleted endpoint keeps its config and model: `sagecost idle restore ENDPOINT` recreates it.",
        ]
    subject = f"sagecost idle shutdown: {len(warned)} warned, {len(acted)} stopped or deleted for {owner}"
    return Notice(
        subject=subject,
        body="\n".join(lines) + "\n",
        attributes={"kind": "idle", "severity": "warning", "owner": owner},
    )
