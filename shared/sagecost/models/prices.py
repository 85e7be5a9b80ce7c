"""The price catalog: on-demand rates keyed by (region, component, instance type), each with its source."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Component(StrEnum):
    """What SageMaker bills an instance for; the same instance type has a different rate per component."""

    TRAINING = "training"
    PROCESSING = "processing"
    BATCH_TRANSFORM = "batch-transform"
    HOSTING = "hosting"
    ASYNC_INFERENCE = "async-inference"
    NOTEBOOK = "notebook"
    STUDIO_APP = "studio-app"
    TRAINING_WARM_POOL = "training-warm-pool"
    """Instances a finished training job keeps in its warm pool (`KeepAlivePeriodInSeconds`)."""
    SERVERLESS_INFERENCE = "serverless-inference"
    """On-demand serverless compute; `instance_type` is the memory size (`serverless_type`)."""
    SERVERLESS_PROVISIONED = "serverless-provisioned"
    """Provisioned concurrency of a serverless variant, billed while it exists; per memory size."""
    HYPERPOD = "hyperpod"
    MLFLOW = "mlflow"
    """A managed MLflow tracking server; `instance_type` is its size (`Small`, `Medium`, `Large`)."""
    ML_STORAGE = "ml-storage"


ESTIMATED_COMPONENTS = frozenset({Component.SERVERLESS_INFERENCE})
"""Components whose usage is estimated (from CloudWatch), never read from a billed quantity: their records
are marked `estimated` and the month's report says how much of it there is."""

PriceUnit = Literal["hour", "GB-month"]

ML_STORAGE_VOLUME = "gp2"
"""The volume type of ML storage (EBS general purpose SSD)."""


def storage_type(component: Component) -> str:
    """The `instance_type` under which the ML storage of `component`'s instances is priced: `gp2.training`.

    The bill prices ML storage per component (`<REGION>-Host:VolumeUsage.gp2`, `-Train:`, `-Processing:`,
    ...), and the rates differ (eu-west-1, December 2023: processing $0.110, the others $0.154 per
    GB-month), so each component's volumes have their own price key."""
    return f"{ML_STORAGE_VOLUME}.{component.value}"


def serverless_type(memory_mb: int) -> str:
    """The `instance_type` of serverless usage of a memory size: `serverless-4096mb`. Its hourly rate is the
    per-second rate of that memory size times 3,600; its quantity is concurrency-hours."""
    return f"serverless-{memory_mb}mb"


class Price(BaseModel):
    """One on-demand list price and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str = Field(min_length=1, examples=["us-east-1"])
    component: Component
    instance_type: str = Field(min_length=1, examples=["ml.m5.xlarge", "gp2"])
    unit: PriceUnit
    usd: Decimal = Field(ge=0, description="USD per unit, as the Price List publishes it")
    source: str = Field(min_length=1, description="a source id from the catalog's `sources`, or an API")
    as_of: date

    @model_validator(mode="after")
    def _unit_matches_component(self) -> Price:
        expected = "GB-month" if self.component is Component.ML_STORAGE else "hour"
        if self.unit != expected:
            raise ValueError(f"{self.component} prices are per {expected}, not per {self.unit}")
        return self

    @property
    def key(self) -> tuple[str, Component, str]:
        return (self.region, self.component, self.instance_type)


class PriceCatalog(BaseModel):
    """Every known price, with the sources they cite. Lookups go through `sagecost.domain.pricing`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Literal["USD"] = "USD"
    generated: date
    sources: dict[str, str] = Field(description="source id -> what it is and where to find it")
    prices: tuple[Price, ...]

    @model_validator(mode="after")
    def _consistent(self) -> PriceCatalog:
        seen: set[tuple[str, Component, str]] = set()
        for price in self.prices:
            if price.key in seen:
                raise ValueError(f"duplicate price for {price.key}")
            seen.add(price.key)
            if price.source not in self.sources:
                raise ValueError(f"price {price.key} cites unknown source {price.source!r}")
        return self

    def with_override(self, override: PriceCatalog) -> PriceCatalog:
        """This catalog with `override`'s prices replacing (or adding to) the ones of the same key."""
        prices = {price.key: price for price in self.prices} | {price.key: price for price in override.prices}
        return PriceCatalog(
            generated=max(self.generated, override.generated),
            sources=self.sources | override.sources,
            prices=tuple(prices[key] for key in sorted(prices)),
        )
