"""Budget alerts: threshold and forecast crossings from the ledger's stream, burn rate from what runs,
a daily digest while a budget stays over, and a pre-flight check of every job that starts.

Every alert is sent once per (budget, kind, threshold) and month, by a marker in two phases: claimed
(conditionally, for `ALERT_LEASE`) before the message goes out, confirmed as sent after it. If SNS fails the
claim is given back and the failure raised, for the stream or the queue to retry; if even giving it back
fails, the retry of the same stream record takes its own claim back (a claim is held by the record that
made it), and anyone else takes it over once its lease has run out. A redelivered stream batch sends
nothing new, a retried failure sends exactly once, and a claim another holds makes the retry fail and wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer

from sagecost.adapters.ledger import Aggregate, aggregate_from_item
from sagecost.adapters.notifier import Notifier
from sagecost.domain.budgets import HOURS_PER_DAY, crossed, forecast, percent_of, severity, worst_case
from sagecost.domain.console import console_url, resource_type
from sagecost.domain.money import micro
from sagecost.domain.pricing import PriceBook
from sagecost.domain.tags import snapshot
from sagecost.models.budgets import (
    Alert,
    AlertKind,
    Budget,
    Driver,
    PreflightMode,
    Severity,
    alert_key,
)
from sagecost.models.config import PolicyKind, SagecostConfig
from sagecost.models.ledger import Dimension, ResourceLine, TagSnapshot, month_of
from sagecost.models.prices import Component
from sagecost.reports.alerts import alert_notice
from sagecost.services.tagging import Created

logger = Logger(service="sagecost")
_deserializer = TypeDeserializer()

BUDGET_DIMENSIONS = (Dimension.PROJECT, Dimension.TEAM, Dimension.COST_CENTER)
TOP_DRIVERS = 3
RATES_KEPT = timedelta(hours=1)


ALERT_LEASE = timedelta(minutes=5)
"""How long a claimed alert waits for its holder: longer than a function runs (60 s), short enough for the
retries that follow a double fault (SNS down, then the claim not given back)."""


class BudgetLedger(Protocol):
    def claim_alert(
        self,
        month: str,
        key: str,
        at: datetime,
        details: Mapping[str, Any],
        lease_until: datetime,
        holder: str | None = None,
    ) -> str | None: ...
    def confirm_alert(
        self, month: str, key: str, token: str, at: datetime, details: Mapping[str, Any]
    ) -> None: ...
    def release_alert(self, month: str, key: str, token: str) -> None: ...
    def budget_spend(
        self, month: str, values: Sequence[tuple[Dimension, str]]
    ) -> dict[tuple[Dimension, str], Aggregate]: ...
    def run_rates(self, month: str) -> dict[str, Decimal]: ...
    def aggregates(self, month: str, dimension: Dimension | None = None) -> list[Aggregate]: ...


class JobStopper(Protocol):
    def stop_job(self, kind: str, name: str) -> bool: ...


# --- what the stream says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendChange:
    """An aggregate item of a budget dimension moved (new or updated). `source`: the stream record's id, the
    same on every retry of that record (it holds the alert claims the record makes)."""

    month: str
    before: Aggregate | None
    after: Aggregate
    source: str | None = None


@dataclass(frozen=True)
class RateChange:
    """The sweep wrote what runs now: USD per hour by `<dimension>#<value>`."""

    month: str
    before: dict[str, Decimal]
    after: dict[str, Decimal]
    source: str | None = None


def _image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    raw = record.get("dynamodb", {}).get(name)
    return {key: _deserializer.deserialize(value) for key, value in raw.items()} if raw else None


def read_stream_record(record: Mapping[str, Any]) -> SpendChange | RateChange | None:
    """A ledger stream record as a budget-relevant change, or None (removals, other items)."""
    new = _image(record, "NewImage")
    if new is None:
        return None
    old = _image(record, "OldImage")
    source = record.get("eventID") or record.get("dynamodb", {}).get("SequenceNumber")
    pk = str(new["pk"])
    if pk.startswith("AGG#"):
        month = pk.removeprefix("AGG#")
        after = aggregate_from_item(month, new)
        if after.dimension not in BUDGET_DIMENSIONS:
            return None
        return SpendChange(month, aggregate_from_item(month, old) if old else None, after, source)
    if pk.startswith("RUNRATE#"):
        month = pk.removeprefix("RUNRATE#")
        return RateChange(month, dict(old["rates"]) if old else {}, dict(new["rates"]), source)
    return None


# --- alerts ------------------------------------------------------------------------------------------


def _scope(budget: Budget) -> tuple[str | None, str | None]:
    return budget.project, budget.team


@dataclass
class BudgetAlerter:
    ledger: BudgetLedger
    notifier: Notifier
    config: SagecostConfig
    _rates: dict[str, tuple[datetime, dict[str, Decimal]]] = field(default_factory=dict)

    @property
    def budgets(self) -> tuple[Budget, ...]:
        return self.config.budgets.limits

    def _run_rates(self, month: str, now: datetime) -> dict[str, Decimal]:
        """The run rates, read at most once an hour per warm function: the sweep rewrites them hourly, and
        the stream brings each rewrite here (refreshing this copy) unless another shard's function has it."""
        cached = self._rates.get(month)
        if cached is None or now - cached[0] >= RATES_KEPT:
            cached = (now, self.ledger.run_rates(month))
            self._rates[month] = cached
        return cached[1]

    def on_change(self, change: SpendChange | RateChange, now: datetime) -> list[Alert]:
        if isinstance(change, SpendChange):
            return self.on_spend(change, now)
        return self.on_rates(change, now)

    def on_spend(self, change: SpendChange, now: datetime) -> list[Alert]:
        after = change.after
        budget = self.config.budgets.for_value(after.dimension, after.value)
        if budget is None:
            return []
        before_cost = change.before.cost if change.before else Decimal(0)
        before_jobs = change.before.job_cost if change.before else Decimal(0)
        alerts = [
            self._alert(budget, AlertKind.THRESHOLD, threshold, change.month, now, after.cost)
            for threshold in crossed(before_cost, after.cost, budget.thresholds, budget.monthly)
        ]
        if budget.forecast_thresholds:
            rate = self._run_rates(change.month, now).get(_rate_key(budget), Decimal(0))
            old = forecast(
                spent=before_cost, jobs_spent=before_jobs, running_per_hour=rate, month=change.month, now=now
            )
            new = forecast(
                spent=after.cost,
                jobs_spent=after.job_cost,
                running_per_hour=rate,
                month=change.month,
                now=now,
            )
            alerts += [
                self._alert(budget, AlertKind.FORECAST, t, change.month, now, after.cost, new, rate)
                for t in crossed(old, new, budget.forecast_thresholds, budget.monthly)
            ]
        return self._send_all(alerts, change.source)

    def on_rates(self, change: RateChange, now: datetime) -> list[Alert]:
        """What runs changed: forecasts move with it, and so does the burn rate."""
        self._rates[change.month] = (now, dict(change.after))
        moved = [
            budget
            for budget in self.budgets
            if change.before.get(_rate_key(budget), Decimal(0))
            != change.after.get(_rate_key(budget), Decimal(0))
        ]
        if not moved:
            return []
        spend = self.ledger.budget_spend(change.month, [(b.dimension, b.value) for b in moved])
        alerts: list[Alert] = []
        for budget in moved:
            spent = spend.get((budget.dimension, budget.value))
            cost = spent.cost if spent else Decimal(0)
            jobs = spent.job_cost if spent else Decimal(0)
            old_rate = change.before.get(_rate_key(budget), Decimal(0))
            new_rate = change.after.get(_rate_key(budget), Decimal(0))
            old = forecast(
                spent=cost, jobs_spent=jobs, running_per_hour=old_rate, month=change.month, now=now
            )
            new = forecast(
                spent=cost, jobs_spent=jobs, running_per_hour=new_rate, month=change.month, now=now
            )
            alerts += [
                self._alert(budget, AlertKind.FORECAST, t, change.month, now, cost, new, new_rate)
                for t in crossed(old, new, budget.forecast_thresholds, budget.monthly)
            ]
            limit = budget.daily_burn_limit
            if limit is not None and old_rate * HOURS_PER_DAY < limit <= new_rate * HOURS_PER_DAY:
                alerts.append(
                    self._alert(budget, AlertKind.BURN_RATE, limit, change.month, now, cost, new, new_rate)
                )
        return self._send_all(alerts, change.source)

    def digest(self, now: datetime) -> list[Alert]:
        """Once a day: every budget still over 100 % hears about it again (AWS Budgets goes silent)."""
        month = month_of(now)
        spend = self.ledger.budget_spend(month, [(b.dimension, b.value) for b in self.budgets])
        rates = self.ledger.run_rates(month) if self.budgets else {}
        alerts = []
        for budget in self.budgets:
            spent = spend.get((budget.dimension, budget.value))
            if spent is None or spent.cost < budget.monthly:
                continue
            rate = rates.get(_rate_key(budget), Decimal(0))
            projected = forecast(
                spent=spent.cost, jobs_spent=spent.job_cost, running_per_hour=rate, month=month, now=now
            )
            alert = self._alert(budget, AlertKind.DIGEST, Decimal(0), month, now, spent.cost, projected, rate)
            alerts.append(alert.model_copy(update={"threshold": now.date().isoformat()}))
        return self._send_all(alerts)

    # --- sending -----------------------------------------------------------------------------------

    def _alert(
        self,
        budget: Budget,
        kind: AlertKind,
        threshold: Decimal,
        month: str,
        now: datetime,
        spent: Decimal,
        projected: Decimal | None = None,
        rate: Decimal | None = None,
    ) -> Alert:
        project, team = _scope(budget)
        reference = spent if kind is not AlertKind.FORECAST else (projected or spent)
        return Alert(
            kind=kind,
            severity=severity(kind, percent_of(reference, budget.monthly)),
            budget=budget.name,
            month=month,
            threshold=_label(threshold),
            at=now,
            budget_usd=budget.monthly,
            spent_usd=micro(spent),
            forecast_usd=projected,
            running_usd_per_hour=rate,
            project=project,
            team=team,
            audience=budget.audience,
        )

    def _send_all(self, alerts: Iterable[Alert], holder: str | None = None) -> list[Alert]:
        """Send each alert once, with its budget's top cost drivers (read once per budget and month).
        `holder`: who claims them (the stream record: its retry takes its own claims back at once)."""
        drivers: dict[tuple[str, str], tuple[Driver, ...]] = {}
        sent = []
        for alert in alerts:
            key = (alert.budget, alert.month)
            if key not in drivers:
                dimension, _, value = alert.budget.partition(":")
                drivers[key] = top_drivers(self.ledger, alert.month, Dimension(dimension), value)
            with_drivers = alert.model_copy(update={"drivers": drivers[key]})
            if send_once(self.ledger, self.notifier, with_drivers, holder):
                sent.append(alert)
        return sent


def send_once(ledger: BudgetLedger, notifier: Notifier, alert: Alert, holder: str | None = None) -> bool:
    """Claim the alert's marker, publish, confirm it sent; give the claim back if publishing fails (then
    raise, for the stream or the queue to retry). False: it was sent before."""
    details = {"kind": alert.kind.value, "budget": alert.budget, "severity": alert.severity.value}
    lease_until = alert.at + ALERT_LEASE
    token = ledger.claim_alert(alert.month, alert.key, alert.at, details, lease_until, holder)
    if token is None:
        return False
    try:
        notifier.publish(alert_notice(alert))
    except Exception:
        _release(ledger, alert.month, alert.key, token)
        raise
    _confirm(ledger, alert.month, alert.key, token, alert.at, details)
    logger.info("budget alert sent", extra={"key": alert.key, "month": alert.month})
    return True


def _release(ledger: BudgetLedger, month: str, key: str, token: str) -> None:
    """Give a claim back after a failed send. If that fails too, the claim expires by itself (a retry after
    `ALERT_LEASE` sends the alert): the first failure is what the caller raises."""
    try:
        ledger.release_alert(month, key, token)
    except Exception:
        logger.exception(
            "alert claim not given back; it expires by itself", extra={"key": key, "month": month}
        )


def _confirm(
    ledger: BudgetLedger, month: str, key: str, token: str, at: datetime, details: Mapping[str, Any]
) -> None:
    """Mark a sent alert sent. Not raised if it fails: the message is out, and a retry would send it twice."""
    try:
        ledger.confirm_alert(month, key, token, at, details)
    except Exception:
        logger.exception("alert sent but not confirmed", extra={"key": key, "month": month})


def top_drivers(ledger: BudgetLedger, month: str, dimension: Dimension, value: str) -> tuple[Driver, ...]:
    """The month's most expensive resources of a project, team or cost center (its resource lines)."""
    costs: dict[str, Decimal] = {}
    for aggregate in ledger.aggregates(month, Dimension.RESOURCE):
        line = ResourceLine.parse(aggregate.value)
        if getattr(line, dimension.value) == value:
            costs[line.resource_arn] = costs.get(line.resource_arn, Decimal(0)) + aggregate.cost
    ranked = sorted(costs.items(), key=lambda item: (-item[1], item[0]))[:TOP_DRIVERS]
    return tuple(
        Driver(
            name=arn.split("/", 1)[-1],
            kind=resource_type(arn),
            cost=micro(cost),
            console_url=console_url(arn),
        )
        for arn, cost in ranked
        if cost > 0
    )


def _rate_key(budget: Budget) -> str:
    return f"{budget.dimension.value}#{budget.value}"


def _label(value: Decimal) -> str:
    """`80` for 80, `12.5` for 12.50: how a threshold reads in keys and messages."""
    return format(value.normalize(), "f")


# --- pre-flight -------------------------------------------------------------------------------------

JOB_COMPONENTS = {
    PolicyKind.TRAINING_JOB: Component.TRAINING,
    PolicyKind.PROCESSING_JOB: Component.PROCESSING,
    PolicyKind.TRANSFORM_JOB: Component.BATCH_TRANSFORM,
}


@dataclass(frozen=True)
class JobStart:
    """A training, processing or transform job as it starts: what it may run on and for how long."""

    kind: PolicyKind
    arn: str
    instance_type: str
    instance_count: int
    max_runtime_seconds: int | None
    tags: dict[str, str]
    owner: str | None
    at: datetime

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def job_start(created: Created, added: Mapping[str, str]) -> JobStart | None:
    """The job a creation message announces, with the tags it ends up with (its own and those the tag
    policy just added); None for what is not a job or says nothing about its instances."""
    if created.job is None or created.kind not in JOB_COMPONENTS:
        return None
    return JobStart(
        kind=created.kind,
        arn=created.arn,
        instance_type=created.job.instance_type,
        instance_count=created.job.instance_count,
        max_runtime_seconds=created.job.max_runtime_seconds,
        tags={**(created.tags or {}), **added},
        owner=created.owner,
        at=created.at,
    )


@dataclass
class Preflight:
    """Before the money is spent: a job's worst case against what is left of each budget it counts in."""

    ledger: BudgetLedger
    notifier: Notifier
    stopper: JobStopper
    prices: PriceBook
    config: SagecostConfig

    def check(self, job: JobStart, now: datetime) -> list[Alert]:
        policy = self.config.budgets
        if policy.preflight is None or not policy.limits:
            return []
        attribution = snapshot(job.tags, self.config.tag_keys)
        scopes = attribution.dimension_values()
        budgets = [b for d in BUDGET_DIMENSIONS if (b := policy.for_value(d, scopes[d])) is not None]
        if not budgets:
            return []
        price = self.prices.rate(job.region, JOB_COMPONENTS[job.kind], job.instance_type)
        if price is None:
            logger.warning("pre-flight: no price for the job's instance type", extra={"arn": job.arn})
            return []
        seconds = (
            Decimal(job.max_runtime_seconds) if job.max_runtime_seconds else policy.unbounded_job_hours * 3600
        )
        worst = worst_case(
            hourly_rate=price.usd, instance_count=job.instance_count, max_runtime_seconds=seconds
        )
        month = month_of(job.at)
        spend = self.ledger.budget_spend(month, [(b.dimension, b.value) for b in budgets])
        production = self.config.tags.is_production(attribution.environment)
        can_stop = (
            policy.preflight is PreflightMode.ENFORCE
            and attribution.environment is not None
            and not production
        )
        exceeded: list[tuple[Budget, Decimal, Decimal]] = []
        for budget in budgets:
            spent = spend.get((budget.dimension, budget.value))
            cost = spent.cost if spent else Decimal(0)
            if worst > budget.monthly - cost:
                exceeded.append((budget, cost, budget.monthly - cost))
        details = {"kind": "preflight"}
        claims: dict[str, str] = {}  # alert key -> claim token, until the alert is sent
        try:
            claimed = []
            for budget, cost, remaining in exceeded:
                key = alert_key(budget.name, AlertKind.PREFLIGHT, job.name)
                token = self.ledger.claim_alert(month, key, now, details, now + ALERT_LEASE)
                if token is not None:
                    claims[key] = token
                    claimed.append((budget, cost, remaining))
            if not claimed:
                return []  # nothing over budget, or this start was checked before (a redelivery)
            stopped = can_stop and self.stopper.stop_job(job.kind.value, job.name)
            alerts = [
                self._alert(job, attribution, budget, cost, remaining, worst, seconds, stopped, month, now)
                for budget, cost, remaining in claimed
            ]
            for alert in alerts:
                self.notifier.publish(alert_notice(alert))
                _confirm(self.ledger, month, alert.key, claims.pop(alert.key), now, details)
        except Exception:
            for key, token in claims.items():
                _release(self.ledger, month, key, token)
            raise
        return alerts

    def _alert(
        self,
        job: JobStart,
        attribution: TagSnapshot,
        budget: Budget,
        cost: Decimal,
        remaining: Decimal,
        worst: Decimal,
        seconds: Decimal,
        stopped: bool,
        month: str,
        now: datetime,
    ) -> Alert:
        project, team = _scope(budget)
        return Alert(
            kind=AlertKind.PREFLIGHT,
            severity=Severity.CRITICAL if stopped else Severity.WARNING,
            budget=budget.name,
            month=month,
            threshold=job.name,
            at=now,
            budget_usd=budget.monthly,
            spent_usd=micro(cost),
            project=project or attribution.project,
            team=team or attribution.team,
            audience=budget.audience,
            details={
                "job": job.name,
                "job_arn": job.arn,
                "instance_type": job.instance_type,
                "instance_count": job.instance_count,
                "max_hours": _label(seconds / 3600),
                "worst_case": _label(worst),
                "remaining": _label(remaining),
                "owner": job.owner or attribution.owner,
                "stopped": stopped,
                "environment": attribution.environment,
            },
        )
