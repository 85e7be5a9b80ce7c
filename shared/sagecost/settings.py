"""Settings read once per cold start from the function's environment, validated."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sagecost.adapters import aws
from sagecost.adapters.costs import CostExplorer
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.metrics import EndpointTraffic
from sagecost.adapters.notifier import Notifier, SnsNotifier
from sagecost.adapters.prices import load_catalog
from sagecost.adapters.queue import SqsRecheckQueue
from sagecost.adapters.reports import ReportSink, S3Reports
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.studio import Boto3StudioApps
from sagecost.adapters.tagging_api import ResourceTags
from sagecost.domain.pricing import PriceBook
from sagecost.models.config import PolicyKind, SagecostConfig
from sagecost.services.allocation import MonthEndAllocator
from sagecost.services.budgets import BudgetAlerter, Preflight
from sagecost.services.idle import IdleReaper
from sagecost.services.tagging import TagEnforcer
from sagecost.services.usage import UsageMeter


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    ledger_table_name: str = Field(min_length=1, alias="LEDGER_TABLE_NAME")
    price_catalog: Path | None = Field(default=None, alias="SAGECOST_PRICE_CATALOG")
    config_json: str | None = Field(default=None, alias="SAGECOST_CONFIG_JSON")
    alerts_topic_arn: str = Field(default="", alias="ALERTS_TOPIC_ARN")
    tag_queue_url: str = Field(default="", alias="TAG_QUEUE_URL")
    reports_bucket: str = Field(default="", alias="REPORTS_BUCKET")
    reports_topic_arn: str = Field(default="", alias="REPORTS_TOPIC_ARN")


class SettingsError(RuntimeError):
    pass


@cache
def settings() -> Settings:
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as error:
        raise SettingsError(f"the function's environment is incomplete: {error}") from None


@cache
def sagecost_config() -> SagecostConfig:
    raw = settings().config_json
    if not raw:
        return SagecostConfig()
    try:
        return SagecostConfig.model_validate_json(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in issue['loc']) or 'config'}: {issue['msg']}"
            for issue in error.errors(include_url=False)
        )
        raise SettingsError(
            f"SAGECOST_CONFIG_JSON is not a valid sagecost config ({problems}); "
            "check it with `sagecost config validate`"
        ) from None


_installed: dict[str, Any] = {}


def usage_meter() -> UsageMeter:
    """The metering service wired to AWS, built once per cold start (clients are reused across calls)."""
    if "meter" not in _installed:
        _installed["meter"] = UsageMeter(
            ledger=DynamoLedger(aws.dynamodb(), settings().ledger_table_name),
            sagemaker=Boto3SageMaker(aws.sagemaker()),
            prices=PriceBook(load_catalog(settings().price_catalog)),
            config=sagecost_config(),
        )
    meter: UsageMeter = _installed["meter"]
    return meter


def tag_enforcer() -> TagEnforcer:
    """The tag enforcer wired to AWS, built once per cold start."""
    if "enforcer" not in _installed:
        _installed["enforcer"] = TagEnforcer(
            ledger=DynamoLedger(aws.dynamodb(), settings().ledger_table_name),
            sagemaker=Boto3SageMaker(aws.sagemaker()),
            notifier=SnsNotifier(
                aws.client("sns"), _required(settings().alerts_topic_arn, "ALERTS_TOPIC_ARN")
            ),
            config=sagecost_config(),
            on_tagged=usage_meter().reattribute,
            schedule_recheck=SqsRecheckQueue(
                aws.client("sqs"), _required(settings().tag_queue_url, "TAG_QUEUE_URL")
            ),
        )
    enforcer: TagEnforcer = _installed["enforcer"]
    return enforcer


@dataclass(frozen=True)
class MonthEndOutputs:
    """Where the cost allocator delivers: the reports bucket and the reports topic."""

    reports: ReportSink
    notifier: Notifier


def cost_allocator() -> MonthEndAllocator:
    if "allocator" not in _installed:
        ledger = DynamoLedger(aws.dynamodb(), settings().ledger_table_name)
        _installed["allocator"] = MonthEndAllocator(
            ledger=ledger,
            config=sagecost_config(),
            # Cost Explorer has one endpoint, in us-east-1, whatever the function's region
            billed_costs=CostExplorer(aws.client("ce", region_name="us-east-1")),
            idle_actions=ledger.actions,
        )
    allocator: MonthEndAllocator = _installed["allocator"]
    return allocator


def month_end_outputs() -> MonthEndOutputs:
    if "outputs" not in _installed:
        _installed["outputs"] = MonthEndOutputs(
            reports=S3Reports(aws.client("s3"), _required(settings().reports_bucket, "REPORTS_BUCKET")),
            notifier=SnsNotifier(
                aws.client("sns"), _required(settings().reports_topic_arn, "REPORTS_TOPIC_ARN")
            ),
        )
    outputs: MonthEndOutputs = _installed["outputs"]
    return outputs


def budget_alerter() -> BudgetAlerter:
    if "alerter" not in _installed:
        _installed["alerter"] = BudgetAlerter(
            ledger=DynamoLedger(aws.dynamodb(), settings().ledger_table_name),
            notifier=SnsNotifier(
                aws.client("sns"), _required(settings().alerts_topic_arn, "ALERTS_TOPIC_ARN")
            ),
            config=sagecost_config(),
        )
    alerter: BudgetAlerter = _installed["alerter"]
    return alerter


def preflight() -> Preflight | None:
    """The pre-flight check, or None when the config has no budgets (nothing to check against)."""
    if "preflight" not in _installed:
        if not sagecost_config().budgets.limits:
            return None
        _installed["preflight"] = Preflight(
            ledger=DynamoLedger(aws.dynamodb(), settings().ledger_table_name),
            notifier=SnsNotifier(
                aws.client("sns"), _required(settings().alerts_topic_arn, "ALERTS_TOPIC_ARN")
            ),
            stopper=Boto3SageMaker(aws.sagemaker()),
            prices=PriceBook(load_catalog(settings().price_catalog)),
            config=sagecost_config(),
        )
    check: Preflight = _installed["preflight"]
    return check


def idle_reaper() -> IdleReaper:
    if "idle" not in _installed:
        _installed["idle"] = IdleReaper(
            sagemaker=Boto3SageMaker(aws.sagemaker()),
            studio=Boto3StudioApps(aws.sagemaker()),
            traffic=EndpointTraffic(aws.client("cloudwatch")),
            tags=ResourceTags(aws.client("resourcegroupstaggingapi")).sagemaker_tags,
            ledger=DynamoLedger(aws.dynamodb(), settings().ledger_table_name),
            notifier=SnsNotifier(
                aws.client("sns"), _required(settings().alerts_topic_arn, "ALERTS_TOPIC_ARN")
            ),
            prices=PriceBook(load_catalog(settings().price_catalog)),
            config=sagecost_config(),
        )
    reaper: IdleReaper = _installed["idle"]
    return reaper


@dataclass(frozen=True)
class TagSweepSources:
    """What the daily tag sweep reads and writes: resources by list pages, tags in bulk, AddTags."""

    resources: Callable[[datetime], Iterable[tuple[PolicyKind, str]]]
    tags: Callable[[], dict[str, dict[str, str]]]
    add_tags: Callable[[str, dict[str, str]], bool]


def tag_sweep_sources() -> TagSweepSources:
    if "tag_sweep" not in _installed:
        sagemaker = Boto3SageMaker(aws.sagemaker())
        _installed["tag_sweep"] = TagSweepSources(
            resources=sagemaker.governed_resources,
            tags=ResourceTags(aws.client("resourcegroupstaggingapi")).sagemaker_tags,
            add_tags=sagemaker.add_tags,
        )
    sources: TagSweepSources = _installed["tag_sweep"]
    return sources


def _required(value: str, name: str) -> str:
    if not value:
        raise SettingsError(f"the function's environment lacks {name}")
    return value


def install(
    meter: UsageMeter | None = None,
    enforcer: TagEnforcer | None = None,
    tag_sweep: TagSweepSources | None = None,
    allocator: MonthEndAllocator | None = None,
    outputs: MonthEndOutputs | None = None,
    alerter: BudgetAlerter | None = None,
    preflight: Preflight | None = None,
    idle: IdleReaper | None = None,
) -> None:
    """Use these services instead of building them from the environment (the simulator's fakes, tests)."""
    services: tuple[tuple[str, object], ...] = (
        ("meter", meter),
        ("enforcer", enforcer),
        ("tag_sweep", tag_sweep),
        ("allocator", allocator),
        ("outputs", outputs),
        ("alerter", alerter),
        ("preflight", preflight),
        ("idle", idle),
    )
    for name, service in services:
        if service is not None:
            _installed[name] = service


def reset() -> None:
    """Forget everything cached (tests and the simulator change the environment between runs)."""
    settings.cache_clear()
    sagecost_config.cache_clear()
    _installed.clear()
