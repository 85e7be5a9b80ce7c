"""The price catalog on disk, and its refresh from the AWS Price List Query API.

The shipped default is `sagecost/data/prices.json` (see docs/PRICES.md for where its figures come from).
`refresh_catalog` rebuilds one region's rates from `pricing:GetProducts` for service code
`AmazonSageMaker`: it asks for the region's on-demand `ML Instance`, `Storage` and `ML Serverless`
products and reads each product's `usagetype`, whose shape AWS documents for Cost Explorer and CUR
(`USE1-Train:ml.m5.xlarge`, `USE1-Host:VolumeUsage.gp2`, `EU-Processing:ml.m5.large`, ...):

| usage type (after the region prefix) | component | instance_type |
|---|---|---|
| `Train:ml.*` | training | the instance |
| `Processing:ml.*` | processing | the instance |
| `Tsform:ml.*` | batch-transform | the instance |
| `Host:ml.*` | hosting | the instance |
| `AsyncInf:ml.*` | async-inference | the instance |
| `Notebk:ml.*` | notebook | the instance |
| `Studio:<App>-ml.*` (`JupyterLab`, `CodeEditor`, `KernelGateway`, ...) | studio-app | the instance |
| `Cluster:ml.*` | hyperpod | the instance |
| `ServerlessInf:Mem-<N>GB`, per s | serverless-inference | `serverless-<N*1024>mb`, x 3,600 |
| `ProvisionedConcurrency:Usage-<N>GB`, per s | serverless-provisioned | `serverless-<N*1024>mb`, x 3,600 |
| `<kind>:VolumeUsage.gp2`, every kind above but Studio | ml-storage | `gp2.<component>` |
| `Studio:VolumeUsage.gp3` (Studio space volumes) | ml-storage | `gp2.studio-app` |

Where those strings were seen (public material, read 2026-11-25):
- `Train`, `Host`, `Notebk`, `Processing`, `Tsform`, `AsyncInf`, `Studio:JupyterLab-...`,
  `...:VolumeUsage.gp2`, `Studio:VolumeUsage.gp3`: tests/fixtures/pricing/README.md lists the sources.
- `ServerlessInf:Mem-<N>GB` (productFamily `ML Serverless`), `ProvisionedConcurrency:Usage-<N>GB` (group
  `ServerlessProvisionedConcurrency-Usage`: the provisioned-concurrency charge) and
  `ProvisionedConcurrency:Mem-<N>GB` (group `ServerlessProvisionedConcurrency-Duration`: the inference
  duration of requests served by provisioned concurrency): infracost/infracost,
  `internal/resources/aws/sagemaker_endpoint_configuration.go` @ 057e158b6704fbf067e451539eceb5fa860d05dd.
  Public code reading the bulk offer file accepts the unit `second`/`seconds` (any case) for
  `ServerlessInf` products; a product in another unit is skipped, not guessed.
- `<REGION>-Cluster:ml.<type>` for HyperPod nodes and `<REGION>-Cluster:VolumeUsage.gp2` for their EBS
  volumes: public HyperPod cost-allocation write-ups and code querying the Price List
  (`USE1-Cluster:ml.g5.8xlarge`, `USW2-Cluster:ml.p4d.24xlarge`, instanceType `ml.c5.4xlarge-Cluster`,
  component `Cluster`); their repositories could not be identified, see docs/PRICES.md. HyperPod
  reserved-capacity SKUs (`Cluster:ml.<type>-Reserved`) are not on-demand and stay unrecognised.

Not classified, because no public source found shows their usage types: training warm pools (the bill
prints "Training Warm Pool ml.m5.xlarge hour", the usage type is not shown) and managed MLflow tracking
servers. They, the provisioned-concurrency inference duration, managed spot, training plans, Savings Plans
and every unknown kind are skipped and counted by reason, never priced, and never priced $0.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from sagecost.models.prices import (
    ML_STORAGE_VOLUME,
    Component,
    Price,
    PriceCatalog,
    PriceUnit,
    serverless_type,
    storage_type,
)

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_pricing import PricingClient
    from mypy_boto3_pricing.type_defs import FilterTypeDef

logger = logging.getLogger(__name__)

SERVICE_CODE: Final = "AmazonSageMaker"
PRICE_LIST_SOURCE: Final = "aws-price-list-api"
PAGE_SIZE: Final = 100
PRODUCT_FAMILIES: Final = ("ML Instance", "Storage", "ML Serverless")
"""`productFamily` values of SageMaker instance-hour, ML storage and serverless products in the Price List
(`ML Serverless`: infracost, `internal/resources/aws/sagemaker_endpoint_configuration.go`)."""

_PRICE_LIST_DESCRIPTION: Final = (
    "AWS Price List Query API: pricing:GetProducts for service code AmazonSageMaker, "
    "filtered on regionCode and productFamily (ML Instance, Storage, ML Serverless); on-demand list prices "
    "(OnDemand terms), classified by usagetype. Serverless rates are the per-second rate times 3,600. "
    "as_of is each term's effectiveDate."
)
_REFRESHED_MARK: Final = " Refreshed: "
_REFRESH_ENTRY = re.compile(r"(?P<region>[a-z0-9-]+) on (?P<day>\d{4}-\d{2}-\d{2})")

_INSTANCE_KINDS: Final[Mapping[str, Component]] = {
    "Train": Component.TRAINING,
    "Processing": Component.PROCESSING,
    "Tsform": Component.BATCH_TRANSFORM,
    "Host": Component.HOSTING,
    "AsyncInf": Component.ASYNC_INFERENCE,
    "Notebk": Component.NOTEBOOK,
    "Studio": Component.STUDIO_APP,
    "Cluster": Component.HYPERPOD,
}
_ML_STORAGE_KINDS: Final[Mapping[tuple[str, str], Component]] = {
    **{
        (head, f"VolumeUsage.{ML_STORAGE_VOLUME}"): component
        for head, component in _INSTANCE_KINDS.items()
        if component is not Component.STUDIO_APP
    },
    ("Studio", "VolumeUsage.gp3"): Component.STUDIO_APP,
}
"""(kind, detail) of the ML storage volumes of each component's instances. Studio spaces bill
`Studio:VolumeUsage.gp3`; the catalog keys every component's ML storage as `gp2.<component>`
(`storage_type`), whatever the volume generation."""
_SERVERLESS_KINDS: Final[Mapping[str, tuple[str, Component]]] = {
    "ServerlessInf": ("Mem", Component.SERVERLESS_INFERENCE),
    "ProvisionedConcurrency": ("Usage", Component.SERVERLESS_PROVISIONED),
}
"""kind -> (detail prefix, component) of per-second serverless rates: `ServerlessInf:Mem-4GB`,
`ProvisionedConcurrency:Usage-4GB`."""
_SERVERLESS_DETAIL = re.compile(r"(?P<prefix>[A-Za-z]+)-(?P<gb>[1-9][0-9]*)GB")
_PC_DURATION_PREFIX: Final = "Mem"
"""`ProvisionedConcurrency:Mem-<N>GB` is the inference duration of requests served by provisioned
concurrency: a second charge, not the provisioned capacity the catalog prices."""
_SECONDS_PER_HOUR: Final = Decimal(3600)
_PRICE_LIST_UNITS: Final[Mapping[PriceUnit, str]] = {"hour": "Hrs", "GB-month": "GB-Mo"}
_PER_SECOND_UNITS: Final = frozenset({"second", "seconds"})
"""Lower-cased Price List units of a per-second serverless rate."""

_REGION_PREFIX = re.compile(r"^[A-Z]{2,4}\d{0,2}-")
"""`USE1-`, `USW2-`, `EU-`, `APS3-`, ...; us-east-1 usage types may also come without one."""
_INSTANCE_TYPE: Final = r"ml\.[a-z0-9-]+\.[a-z0-9]+"
_INSTANCE_DETAIL = re.compile(rf"(?P<instance>{_INSTANCE_TYPE})")
_STUDIO_DETAIL = re.compile(rf"(?:[A-Za-z]+-)?(?P<instance>{_INSTANCE_TYPE})")
"""Studio usage types name the app before the instance: `Studio:JupyterLab-ml.t3.medium`."""
_UNPRICED_KINDS: Final = (
    ("spot", "spot"),
    ("spt", "spot"),
    ("savingsplan", "savings plan"),
)
"""Usage-type kinds that are not on-demand instance time: (marker in the lower-cased kind, reason)."""


class CatalogError(ValueError):
    """A price catalog that cannot be read or is not a valid catalog, or a refresh that found nothing."""


# --- the catalog on disk ---------------------------------------------------------------------------


def load_catalog(path: Path | None = None) -> PriceCatalog:
    """Read a catalog: `path`, or (None) the one packaged as `sagecost/data/prices.json`."""
    if path is None:
        packaged = resources.files("sagecost") / "data" / "prices.json"
        return parse_catalog(packaged.read_text(encoding="utf-8"), where=str(packaged))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read price catalog {path}: {exc}") from exc
    return parse_catalog(text, where=str(path))


def parse_catalog(text: str, *, where: str = "<text>") -> PriceCatalog:
    """Validate catalog JSON; `where` names the file in the error."""
    try:
        return PriceCatalog.model_validate_json(text)
    except ValidationError as exc:
        raise CatalogError(f"invalid price catalog {where}: {exc}") from exc


def dump_catalog(catalog: PriceCatalog) -> str:
    """Canonical JSON: sources by id, prices by (region, component, instance type), indent 2, final newline.

    Amounts are written as strings exactly as held (`"0.23"`), so dump -> load -> dump is the identity.
    """
    ordered = catalog.model_copy(
        update={
            "sources": dict(sorted(catalog.sources.items())),
            "prices": tuple(sorted(catalog.prices, key=_sort_key)),
        }
    )
    return json.dumps(ordered.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def save_catalog(catalog: PriceCatalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_catalog(catalog), encoding="utf-8")


def _sort_key(price: Price) -> tuple[str, str, str]:
    return (price.region, price.component.value, price.instance_type)


# --- refresh from the Price List API ---------------------------------------------------------------


@dataclass(frozen=True)
class RegionPrices:
    """What one region's Price List yielded: the rates kept and, by reason, the products skipped."""

    region: str
    prices: tuple[Price, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class Skipped:
    """A Price List product that yields no catalog rate, and why."""

    reason: str


@dataclass(frozen=True)
class _RateKind:
    component: Component
    instance_type: str
    unit: PriceUnit
    per_second: bool = False
    """The Price List states the rate per second; the catalog holds it per hour (x 3,600)."""


def refresh_catalog(
    pricing_client: PricingClient, region: str, *, today: date, base: PriceCatalog | None = None
) -> PriceCatalog:
    """A catalog whose `region` rates come fresh from the Price List; other regions are kept from `base`.

    Raises CatalogError when the Price List yields no usable rate for the region (a wrong region code
    or an API change), rather than wiping the region's rates.
    """
    fetched = fetch_region_prices(pricing_client, region, today=today)
    if not fetched.prices:
        raise CatalogError(
            f"the Price List returned no usable on-demand SageMaker rate for {region} "
            f"(skipped {dict(fetched.skipped)}); nothing was replaced"
        )
    logger.info(
        "price list refresh",
        extra={"region": region, "prices": len(fetched.prices), "skipped": dict(fetched.skipped)},
    )
    kept = tuple(p for p in base.prices if p.region != region) if base else ()
    prices = kept + fetched.prices
    sources = _cited_sources(base.sources if base else {}, prices)
    sources[PRICE_LIST_SOURCE] = _price_list_description(
        base.sources.get(PRICE_LIST_SOURCE) if base else None,
        refreshed={region: today},
        still_cited={p.region for p in prices if p.source == PRICE_LIST_SOURCE},
    )
    return PriceCatalog(generated=today, sources=sources, prices=prices)


def fetch_region_prices(pricing_client: PricingClient, region: str, *, today: date) -> RegionPrices:
    """Every on-demand SageMaker instance-hour and gp2 ML storage rate the Price List has for `region`."""
    skipped: Counter[str] = Counter()
    chosen: dict[tuple[str, Component, str], Price] = {}
    for raw in _price_list(pricing_client, region):
        candidate = price_from_product(raw, region=region, today=today)
        if isinstance(candidate, Skipped):
            skipped[candidate.reason] += 1
            continue
        previous = chosen.get(candidate.key)
        if previous is None:
            chosen[candidate.key] = candidate
        elif previous.usd == candidate.usd:
            skipped["duplicate of a kept rate"] += 1
        else:
            # e.g. two Studio apps on one instance type at different rates: keep the higher
            # rate (an estimate should not understate) and count the other.
            skipped["lower rate for the same key"] += 1
            chosen[candidate.key] = max(previous, candidate, key=lambda p: p.usd)
    prices = tuple(sorted(chosen.values(), key=_sort_key))
    return RegionPrices(region=region, prices=prices, skipped=dict(skipped))


def price_list_filters(region: str, product_family: str) -> list[FilterTypeDef]:
    return [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": product_family},
    ]


def _price_list(pricing_client: PricingClient, region: str) -> Iterator[str]:
    paginator = pricing_client.get_paginator("get_products")
    for family in PRODUCT_FAMILIES:
        pages = paginator.paginate(
            ServiceCode=SERVICE_CODE,
            Filters=price_list_filters(region, family),
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield from page.get("PriceList", [])


def price_from_product(raw: str, *, region: str, today: date) -> Price | Skipped:
    """One PriceList entry (a JSON string) -> a catalog Price, or the reason it is not one."""
    try:
        document = json.loads(raw)
        attributes: Mapping[str, Any] = document["product"]["attributes"]
    except (ValueError, KeyError, TypeError):
        return Skipped("unreadable product")
    if attributes.get("regionCode") != region:
        return Skipped("other region")
    kind = classify_usage_type(str(attributes.get("usagetype", "")))
    if isinstance(kind, Skipped):
        return kind
    units = _PER_SECOND_UNITS if kind.per_second else frozenset({_PRICE_LIST_UNITS[kind.unit].lower()})
    rate = _on_demand_rate(document.get("terms"), units)
    if isinstance(rate, Skipped):
        return rate
    usd, effective = rate
    if kind.per_second:
        usd = _plain(usd * _SECONDS_PER_HOUR)
    return Price(
        region=region,
        component=kind.component,
        instance_type=kind.instance_type,
        unit=kind.unit,
        usd=usd,
        source=PRICE_LIST_SOURCE,
        as_of=effective or today,
    )


def classify_usage_type(usage_type: str) -> _RateKind | Skipped:
    """`USE1-Train:ml.m5.xlarge` -> training/ml.m5.xlarge;
    `EU-Host:VolumeUsage.gp2` -> ml-storage/gp2.hosting;
    `USE1-ServerlessInf:Mem-4GB` -> serverless-inference/serverless-4096mb (per second)."""
    head, colon, detail = _REGION_PREFIX.sub("", usage_type, count=1).partition(":")
    reason = _unpriced_kind(head) if colon else "unrecognised usage type"
    if reason is not None:
        return Skipped(reason)
    if detail.startswith("VolumeUsage"):
        return _storage_kind(head, detail)
    if head in _SERVERLESS_KINDS:
        return _serverless_kind(head, detail)
    return _instance_kind(head, detail)


def _unpriced_kind(head: str) -> str | None:
    lowered = head.lower()
    return next((reason for marker, reason in _UNPRICED_KINDS if marker in lowered), None)


def _storage_kind(head: str, detail: str) -> _RateKind | Skipped:
    component = _ML_STORAGE_KINDS.get((head, detail))
    if component is None:
        return Skipped("storage other than ML storage")
    return _RateKind(Component.ML_STORAGE, storage_type(component), "GB-month")


def _serverless_kind(head: str, detail: str) -> _RateKind | Skipped:
    prefix, component = _SERVERLESS_KINDS[head]
    matched = _SERVERLESS_DETAIL.fullmatch(detail)
    if matched is None:
        return Skipped("unrecognised usage type")
    if component is Component.SERVERLESS_PROVISIONED and matched["prefix"] == _PC_DURATION_PREFIX:
        return Skipped("provisioned-concurrency inference duration")
    if matched["prefix"] != prefix:
        return Skipped("unrecognised usage type")
    return _RateKind(component, serverless_type(int(matched["gb"]) * 1024), "hour", per_second=True)


def _instance_kind(head: str, detail: str) -> _RateKind | Skipped:
    component = _INSTANCE_KINDS.get(head)
    pattern = _STUDIO_DETAIL if component is Component.STUDIO_APP else _INSTANCE_DETAIL
    matched = pattern.fullmatch(detail)
    if component is None or matched is None:
        return Skipped("unrecognised usage type")
    return _RateKind(component, matched["instance"], "hour")


def _on_demand_rate(terms: Any, units: frozenset[str]) -> tuple[Decimal, date | None] | Skipped:
    """The single USD on-demand price in one of `units` (lower-cased), and its term's effective date."""
    on_demand = terms.get("OnDemand") if isinstance(terms, Mapping) else None
    if not on_demand:
        return Skipped("no on-demand term")
    found = [
        (dimension, term)
        for term in on_demand.values()
        for dimension in term.get("priceDimensions", {}).values()
        if str(dimension.get("unit", "")).lower() in units
    ]
    if not found:
        return Skipped(f"no on-demand price per {'/'.join(sorted(units))}")
    if len(found) > 1:
        return Skipped("several on-demand prices (tiers)")
    dimension, term = found[0]
    usd = _plain_decimal(dimension.get("pricePerUnit", {}).get("USD"))
    if usd is None:
        return Skipped("unreadable price")
    if usd == 0:
        return Skipped("zero price")
    return usd, _effective_date(term.get("effectiveDate"))


def _plain_decimal(text: Any) -> Decimal | None:
    """`"0.2300000000"` -> Decimal("0.23"): the Price List pads to ten places; trailing zeros say nothing."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if "." in stripped:
        stripped = stripped.rstrip("0").rstrip(".")
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _plain(value: Decimal) -> Decimal:
    """`Decimal("0.07200")` -> `Decimal("0.072")`, without the exponent notation `normalize` gives 1E+1."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


def _effective_date(text: Any) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _cited_sources(sources: Mapping[str, str], prices: Iterable[Price]) -> dict[str, str]:
    cited = {p.source for p in prices}
    return {key: text for key, text in sources.items() if key in cited}


def _price_list_description(
    previous: str | None, *, refreshed: Mapping[str, date], still_cited: set[str]
) -> str:
    """The Price List source text, naming each region it supplies and the day that region was fetched."""
    days: dict[str, str] = {}
    if previous and _REFRESHED_MARK in previous:
        for entry in _REFRESH_ENTRY.finditer(previous.split(_REFRESHED_MARK, 1)[1]):
            days[entry["region"]] = entry["day"]
    days.update({region: day.isoformat() for region, day in refreshed.items()})
    listed = "; ".join(f"{region} on {day}" for region, day in sorted(days.items()) if region in still_cited)
    return f"{_PRICE_LIST_DESCRIPTION}{_REFRESHED_MARK}{listed}."
