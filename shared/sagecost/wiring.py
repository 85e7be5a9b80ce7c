"""The composition root: each function's settings, validated once per cold start, and every service, built
in one place.

A deployed function builds its adapters from boto3 clients and its own settings (`LambdaAdapters`: each
client made on first use, the config and the price override read from SSM Parameter Store through
Powertools' cache). The CLI, the simulator and the tests build theirs from moto and fakes
(`LocalAdapters`). Both go through the same service builders below, so what runs locally is wired exactly
as what is deployed. The one seam is `use()`: the simulator and the tests say which adapters the handlers
get; a deployed function never calls it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sagecost.adapters import aws
from sagecost.adapters.costs import BilledCosts, CostExplorer
from sagecost.adapters.hyperpod import Boto3HyperPodClusters, HyperPodClusters
from sagecost.adapters.inference_components import Boto3InferenceComponents  # issue 12
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.metrics import EndpointTraffic
from sagecost.adapters.mlflow import Boto3MlflowServers, MlflowServers
from sagecost.adapters.notifier import Notifier, SnsNotifier
from sagecost.adapters.parameters import ParameterStore
from sagecost.adapters.prices import load_catalog
from sagecost.adapters.queue import SqsRecheckQueue
from sagecost.adapters.reports import ReportSink, S3Reports
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.studio import Boto3StudioApps, StudioApps
from sagecost.adapters.tagging_api import ResourceTags
from sagecost.domain.pricing import PriceBook
from sagecost.models.config import PolicyKind, SagecostConfig
from sagecost.models.tagging import Recheck
from sagecost.services.allocation import MonthEndAllocator
from sagecost.services.budgets import BudgetAlerter, Preflight
from sagecost.services.idle import IdleReaper, IdleSageMaker, InferenceComponents, Traffic
from sagecost.services.tagging import SageMakerForTags, TagEnforcer
from sagecost.services.usage import UsageMeter
from sagecost.services.usage.endpoint_deployment import EndpointDeploymentMeter
from sagecost.services.usage.hyperpod import HyperPodMeter
from sagecost.services.usage.inference_components import InferenceComponentMeter
from sagecost.services.usage.kind_meter import KindMeter
from sagecost.services.usage.mlflow import MlflowMeter
from sagecost.services.usage.serverless import HourlyMetrics, ServerlessMeter
from sagecost.services.usage.studio import studio_meters
from sagecost.services.usage.warm_pool import WarmPoolMeter, WarmPoolReader
from sagecost.services.usage.writer import UsageWriter


class SettingsError(RuntimeError):
    """A function's environment or its pushed config is not what it needs: the message says what to fix."""


# --- settings: one model per function, validated at cold start -------------------------------------


class FunctionSettings(BaseModel):
    """What every function reads from its environment (template.yaml, Globals and each function)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ledger_table_name: str = Field(min_length=1, alias="LEDGER_TABLE_NAME")
    config_parameter: str = Field(min_length=1, alias="SAGECOST_CONFIG_PARAMETER")
    """The SSM parameter holding the config (JSON), written by `sagecost config push`."""
    prices_parameter: str = Field(min_length=1, alias="SAGECOST_PRICES_PARAMETER")
    """The SSM parameter holding a price override (a catalog JSON; `{}`: none), `sagecost prices push`."""
    parameters_max_age: int = Field(default=300, ge=0, alias="SAGECOST_PARAMETERS_MAX_AGE")
    """Seconds a warm function keeps the config before reading it again (Powertools' cache)."""
    price_catalog: Path | None = Field(default=None, alias="SAGECOST_PRICE_CATALOG")
    """A catalog file to use instead of the packaged one (the override still applies on top)."""


class AlertingSettings(FunctionSettings):
    alerts_topic_arn: str = Field(min_length=1, alias="ALERTS_TOPIC_ARN")


class TagEnforcerSettings(AlertingSettings):
    tag_queue_url: str = Field(min_length=1, alias="TAG_QUEUE_URL")


class CostAllocatorSettings(FunctionSettings):
    reports_bucket: str = Field(min_length=1, alias="REPORTS_BUCKET")
    reports_topic_arn: str = Field(min_length=1, alias="REPORTS_TOPIC_ARN")


UsageRecorderSettings = FunctionSettings
UsageSweeperSettings = FunctionSettings
TagSweeperSettings = FunctionSettings
BudgetAlerterSettings = AlertingSettings
IdleReaperSettings = AlertingSettings

S = TypeVar("S", bound=FunctionSettings)


def function_settings(model: type[S]) -> S:
    """The function's settings from its environment; at cold start, so a missing variable fails the cold
    start with its name instead of the first event."""
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as error:
        missing = [str(e["loc"][0]) for e in error.errors() if e["type"] == "missing"]
        invalid = [
            f"{e['loc'][0]} ({e['msg']})" for e in error.errors(include_url=False) if e["type"] != "missing"
        ]
        parts = [f"lacks {', '.join(missing)}"] if missing else []
        parts += [f"has an invalid {', '.join(invalid)}"] if invalid else []
        raise SettingsError(
            f"the function's environment {' and '.join(parts)}: deploy it with template.yaml"
        ) from None


# --- adapters: what the services talk to ------------------------------------------------------------


@dataclass(frozen=True)
class TagSweepSources:
    """What the daily tag sweep reads and writes: resources by list pages, tags in bulk (the Tagging API),
    one resource's tags right before a write (ListTags), AddTags."""

    resources: Callable[[datetime], Iterable[tuple[PolicyKind, str]]]
    tags: Callable[[], dict[str, dict[str, str]]]
    add_tags: Callable[[str, dict[str, str]], bool]
    read_tags: Callable[[str], dict[str, str] | None]


@dataclass(frozen=True)
class MonthEndOutputs:
    """Where the cost allocator delivers: the reports bucket and the reports topic."""

    reports: ReportSink
    notifier: Notifier


class Adapters(Protocol):
    """The adapters a function's services are built from. An attribute a function never uses may be left
    unset by local wiring: reading it says which one is missing."""

    @property
    def ledger(self) -> DynamoLedger: ...
    @property
    def sagemaker(self) -> SageMakerForTags: ...
    @property
    def idle_sagemaker(self) -> IdleSageMaker: ...
    @property
    def alerts(self) -> Notifier: ...
    @property
    def recheck_queue(self) -> Callable[[Recheck, int], None]: ...
    @property
    def tag_sweep(self) -> TagSweepSources: ...
    @property
    def month_end_outputs(self) -> MonthEndOutputs: ...
    def billed_costs(self, config: SagecostConfig) -> BilledCosts | None: ...
    @property
    def studio(self) -> StudioApps | None: ...
    @property
    def traffic(self) -> Traffic: ...
    @property
    def serverless_metrics(self) -> HourlyMetrics | None: ...
    @property
    def inference_components(self) -> InferenceComponents | None: ...
    @property
    def resource_tags(self) -> Callable[[], dict[str, dict[str, str]]]: ...
    @property
    def mlflow(self) -> MlflowServers | None: ...
    @property
    def hyperpod(self) -> HyperPodClusters | None: ...

    def config(self) -> SagecostConfig: ...
    def prices(self) -> PriceBook: ...
    def services(self) -> dict[str, tuple[object, object, object]]: ...


class LambdaAdapters:
    """A deployed function's adapters: boto3 clients (each made on first use and reused while the function
    is warm) and the config and prices from Parameter Store."""

    def __init__(self, settings: FunctionSettings, store: ParameterStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._services: dict[str, tuple[object, object, object]] = {}

    def services(self) -> dict[str, tuple[object, object, object]]:
        return self._services

    @cached_property
    def store(self) -> ParameterStore:
        return self._store or ParameterStore(
            aws.client("ssm"),
            config_name=self.settings.config_parameter,
            prices_name=self.settings.prices_parameter,
            max_age=self.settings.parameters_max_age,
            catalog_path=self.settings.price_catalog,
        )

    def config(self) -> SagecostConfig:
        return self.store.config()

    def prices(self) -> PriceBook:
        return self.store.prices()

    @cached_property
    def ledger(self) -> DynamoLedger:
        return DynamoLedger(aws.dynamodb(), self.settings.ledger_table_name)

    @cached_property
    def boto3_sagemaker(self) -> Boto3SageMaker:
        return Boto3SageMaker(aws.sagemaker())

    @property
    def sagemaker(self) -> SageMakerForTags:
        return self.boto3_sagemaker

    @property
    def idle_sagemaker(self) -> IdleSageMaker:
        return self.boto3_sagemaker

    @property
    def inference_components(self) -> InferenceComponents | None:
        return self.boto3_sagemaker

    def _setting(self, name: str) -> str:
        value = getattr(self.settings, name, None)
        if not value:
            raise SettingsError(f"this function's settings have no {name.upper()}")
        return str(value)

    @cached_property
    def alerts(self) -> Notifier:
        return SnsNotifier(aws.client("sns"), self._setting("alerts_topic_arn"))

    @cached_property
    def recheck_queue(self) -> Callable[[Recheck, int], None]:
        return SqsRecheckQueue(aws.client("sqs"), self._setting("tag_queue_url"))

    @cached_property
    def resource_tags(self) -> Callable[[], dict[str, dict[str, str]]]:
        return ResourceTags(aws.client("resourcegroupstaggingapi")).sagemaker_tags

    @cached_property
    def tag_sweep(self) -> TagSweepSources:
        return TagSweepSources(
            resources=self.boto3_sagemaker.governed_resources,
            tags=self.resource_tags,
            add_tags=self.boto3_sagemaker.add_tags,
            read_tags=self.boto3_sagemaker.tags,
        )

    @cached_property
    def month_end_outputs(self) -> MonthEndOutputs:
        return MonthEndOutputs(
            reports=S3Reports(aws.client("s3"), self._setting("reports_bucket")),
            notifier=SnsNotifier(aws.client("sns"), self._setting("reports_topic_arn")),
        )

    @cached_property
    def cost_explorer(self) -> Any:
        # Cost Explorer has one endpoint, in us-east-1, whatever the function's region
        return aws.client("ce", region_name="us-east-1")

    def billed_costs(self, config: SagecostConfig) -> BilledCosts | None:
        """The bill grouped by every spelling of the project key (GetTags finds the ones in use)."""
        return CostExplorer(self.cost_explorer, config.tags.project, discover_spellings=True)

    @cached_property
    def studio(self) -> StudioApps | None:
        return Boto3StudioApps(aws.sagemaker())

    @cached_property
    def traffic(self) -> Traffic:
        return EndpointTraffic(aws.client("cloudwatch"))

    @cached_property
    def serverless_metrics(self) -> HourlyMetrics | None:
        return EndpointTraffic(aws.client("cloudwatch"))

    @cached_property
    def mlflow(self) -> MlflowServers | None:
        return Boto3MlflowServers(aws.sagemaker())

    @cached_property
    def hyperpod(self) -> HyperPodClusters | None:
        return Boto3HyperPodClusters(aws.sagemaker())


def _unset(name: str) -> object:
    raise SettingsError(f"the local wiring gave no {name}")


@dataclass
class LocalAdapters:
    """Adapters given as objects: the simulator's (moto and fakes), the CLI's, the tests'. What a
    function never uses may stay None; reading it then says which one is missing."""

    ledger: DynamoLedger
    config_value: SagecostConfig = field(default_factory=SagecostConfig)
    prices_value: PriceBook | None = None
    sagemaker_value: object | None = None
    alerts_value: Notifier | None = None
    recheck_value: Callable[[Recheck, int], None] | None = None
    tag_sweep_value: TagSweepSources | None = None
    outputs_value: MonthEndOutputs | None = None
    billed_costs_value: BilledCosts | None = None
    studio: StudioApps | None = None
    traffic_value: Traffic | None = None
    serverless_metrics: HourlyMetrics | None = None
    """CloudWatch for serverless on-demand estimates; None: none are made."""
    inference_components: InferenceComponents | None = None
    resource_tags_value: Callable[[], dict[str, dict[str, str]]] | None = None
    mlflow: MlflowServers | None = None
    hyperpod: HyperPodClusters | None = None
    _services: dict[str, tuple[object, object, object]] = field(default_factory=dict, init=False)

    def services(self) -> dict[str, tuple[object, object, object]]:
        return self._services

    def config(self) -> SagecostConfig:
        return self.config_value

    def billed_costs(self, config: SagecostConfig) -> BilledCosts | None:
        return self.billed_costs_value

    def prices(self) -> PriceBook:
        if self.prices_value is None:
            self.prices_value = PriceBook(load_catalog())
        return self.prices_value

    def _given(self, value: object | None, name: str) -> object:
        return value if value is not None else _unset(name)

    @property
    def sagemaker(self) -> SageMakerForTags:
        return self._given(self.sagemaker_value, "SageMaker adapter")  # type: ignore[return-value]

    @property
    def idle_sagemaker(self) -> IdleSageMaker:
        return self._given(self.sagemaker_value, "SageMaker adapter")  # type: ignore[return-value]

    @property
    def alerts(self) -> Notifier:
        return self._given(self.alerts_value, "alerts notifier")  # type: ignore[return-value]

    @property
    def recheck_queue(self) -> Callable[[Recheck, int], None]:
        return self._given(self.recheck_value, "recheck queue")  # type: ignore[return-value]

    @property
    def tag_sweep(self) -> TagSweepSources:
        return self._given(self.tag_sweep_value, "tag sweep sources")  # type: ignore[return-value]

    @property
    def month_end_outputs(self) -> MonthEndOutputs:
        return self._given(self.outputs_value, "month-end outputs")  # type: ignore[return-value]

    @property
    def traffic(self) -> Traffic:
        return self._given(self.traffic_value, "endpoint traffic source")  # type: ignore[return-value]

    @property
    def resource_tags(self) -> Callable[[], dict[str, dict[str, str]]]:
        return self._given(self.resource_tags_value, "resource tags source")  # type: ignore[return-value]


# --- the seam: which adapters the handlers get ------------------------------------------------------

_local: Adapters | None = None
_deployed: dict[type[FunctionSettings], LambdaAdapters] = {}


def use(adapters: Adapters | None) -> None:
    """The handlers get these adapters (the simulator's, a test's); None: their own, from the environment."""
    global _local  # noqa: PLW0603 - the one seam between handlers and local wiring
    _local = adapters


def adapters(settings: FunctionSettings) -> Adapters:
    """The adapters for a function with these settings: the local ones in use, else its own (cached)."""
    if _local is not None:
        return _local
    kind = type(settings)
    if kind not in _deployed or _deployed[kind].settings != settings:
        _deployed[kind] = LambdaAdapters(settings)
    return _deployed[kind]


def reset() -> None:
    """Forget the local adapters and every deployed function's cached clients (tests, the simulator)."""
    use(None)
    _deployed.clear()


# --- services: built here and only here -------------------------------------------------------------

T = TypeVar("T")


def _service(adapters: Adapters, name: str, build: Callable[[SagecostConfig, PriceBook], T]) -> T:
    """One service per function while its config and prices stay the same objects; a config push (seen
    when the parameter cache expires) builds it anew."""
    config, prices = adapters.config(), adapters.prices()
    cached = adapters.services().get(name)
    if cached is not None and cached[0] is config and cached[1] is prices:
        return cast(T, cached[2])
    service = build(config, prices)
    adapters.services()[name] = (config, prices, service)
    return service


def _component_reader(adapters: Adapters) -> Boto3InferenceComponents | None:
    """Inference components (issue 12): describe and tags read through the client that lists them."""
    client = getattr(adapters.inference_components, "client", None)
    return None if client is None else Boto3InferenceComponents(client)


def usage_meter(adapters: Adapters) -> UsageMeter:
    return _service(
        adapters,
        "usage_meter",
        lambda config, prices: _usage_meter(adapters, UsageWriter(adapters.ledger, prices, config)),
    )


def _usage_meter(adapters: Adapters, writer: UsageWriter) -> UsageMeter:
    """Every kind's meter writing through the one `writer`."""
    return UsageMeter(
        adapters.ledger,
        adapters.sagemaker,
        writer.prices,
        writer.config,
        kind_meters=_kind_meters(adapters, writer),
        writer=writer,
    )


def _kind_meters(adapters: Adapters, writer: UsageWriter) -> list[KindMeter]:
    """The kinds beyond the built-in five, sharing one writer, in the order the sweep runs them: blue/green
    deployments, inference components, Studio apps and spaces, then the kinds whose adapter this wiring
    has (warm pools, MLflow tracking servers, HyperPod clusters, serverless estimates from CloudWatch)."""
    meters: list[KindMeter] = [
        EndpointDeploymentMeter(writer),
        InferenceComponentMeter(writer, _component_reader(adapters)),
        *studio_meters(writer, adapters.sagemaker, adapters.studio),
    ]
    if isinstance(adapters.sagemaker, WarmPoolReader):
        meters.append(WarmPoolMeter(writer, adapters.sagemaker))
    if adapters.mlflow is not None:
        meters.append(MlflowMeter(writer, adapters.mlflow))
    if adapters.hyperpod is not None:
        meters.append(HyperPodMeter(writer, adapters.hyperpod))
    if adapters.serverless_metrics is not None:
        meters.append(ServerlessMeter(writer, adapters.sagemaker, adapters.serverless_metrics))
    return meters


def tag_enforcer(adapters: Adapters) -> TagEnforcer:
    return _service(
        adapters,
        "tag_enforcer",
        lambda config, _: TagEnforcer(
            ledger=adapters.ledger,
            sagemaker=adapters.sagemaker,
            notifier=adapters.alerts,
            config=config,
            schedule_recheck=adapters.recheck_queue,
            on_tagged=usage_meter(adapters).reattribute,
        ),
    )


def preflight(adapters: Adapters) -> Preflight | None:
    """The pre-flight check, or None when the config has no budgets (nothing to check against)."""
    if not adapters.config().budgets.limits:
        return None
    return _service(
        adapters,
        "preflight",
        lambda config, prices: Preflight(
            ledger=adapters.ledger,
            notifier=adapters.alerts,
            stopper=adapters.sagemaker,
            prices=prices,
            config=config,
        ),
    )


def budget_alerter(adapters: Adapters) -> BudgetAlerter:
    return _service(
        adapters,
        "budget_alerter",
        lambda config, _: BudgetAlerter(ledger=adapters.ledger, notifier=adapters.alerts, config=config),
    )


def idle_reaper(adapters: Adapters) -> IdleReaper:
    return _service(
        adapters,
        "idle_reaper",
        lambda config, prices: IdleReaper(
            sagemaker=adapters.idle_sagemaker,
            studio=adapters.studio,
            traffic=adapters.traffic,
            tags=adapters.resource_tags,
            ledger=adapters.ledger,
            notifier=adapters.alerts,
            prices=prices,
            config=config,
            inference_components=adapters.inference_components,
        ),
    )


def cost_allocator(adapters: Adapters) -> MonthEndAllocator:
    return _service(
        adapters,
        "cost_allocator",
        lambda config, _: MonthEndAllocator(
            ledger=adapters.ledger,
            config=config,
            billed_costs=adapters.billed_costs(config),
            idle_actions=adapters.ledger.actions,
        ),
    )
