"""The price catalog on disk, and its refresh from the AWS Price List Query API.

The shipped default is `sagecost/data/prices.json` (see docs/PRICES.md for where its figures come from).
`refresh_catalog` rebuilds one region's rates from `pricing:GetProducts` for service code
`AmazonSageMaker`: it asks for the region's on-demand `ML Instance` and `Storage` products and reads
each product's `usagetype`, whose shape AWS documents for Cost Explorer and CUR
(`USE1-Train:ml.m5.xlarge`, `USE1-Host:VolumeUsage.gp2`, `EU-Processing:ml.m5.large`, ...):

| usage type kind | component |
|---|---|
| `Train` | training |
| `Processing` | processing |
| `Tsform` | batch-transform |
| `Host` | hosting |
| `AsyncInf` | async-inference |
| `Notebk` | notebook |
| `Studio` (`Studio:JupyterLab-ml.t3.medium`, ...) | studio-app |
| any of those but `Studio`, with detail `VolumeUsage.gp2` | ml-storage (`gp2`) |

Everything else (managed spot, serverless, training plans, Studio gp3 space storage, unknown kinds) is
skipped and counted, never guessed.
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

from sagecost.models.prices import ML_STORAGE_VOLUME, Component, Price, PriceCatalog, PriceUnit

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_pricing import PricingClient
    from mypy_boto3_pricing.type_defs import FilterTypeDef

logger = logging.getLogger(__name__)

SERVICE_CODE: Final = "AmazonSageMaker"
PRICE_LIST_SOURCE: Final = "aws-price-list-api"
PAGE_SIZE: Final = 100
PRODUCT_FAMILIES: Final = ("ML Instance", "Storage")
"""`productFamily` values of SageMaker instance-hour and ML storage products in the Price List."""

_PRICE_LIST_DESCRIPTION: Final = (
    "AWS Price List Query API: pricing:GetProducts for service code AmazonSageMaker, "
    "filtered on regionCode and productFamily (ML Instance, Storage); on-demand list prices "
    "(OnDemand terms), classified by usagetype. as_of is each term's effectiveDate."
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
}
_ML_STORAGE_KINDS: Final = frozenset(_INSTANCE_KINDS) - {"Studio"}
"""Kinds whose `VolumeUsage.gp2` is the ML storage volume of a job, endpoint or notebook (Studio spaces
bill `Studio:VolumeUsage.gp3` instead)."""
_PRICE_LIST_UNITS: Final[Mapping[PriceUnit, str]] = {"hour": "Hrs", "GB-month": "GB-Mo"}
_ML_STORAGE_DETAIL: Final = f"VolumeUsage.{ML_STORAGE_VOLUME}"

_REGION_PREFIX = re.compile(r"^[A-Z]{2,4}\d{0,2}-")
"""`USE1-`, `USW2-`, `EU-`, `APS3-`, ...; us-east-1 usage types may also come without one."""
_INSTANCE_TYPE: Final = r"ml\.[a-z0-9-]+\.[a-z0-9]+"
_INSTANCE_DETAIL = re.compile(rf"(?P<instance>{_INSTANCE_TYPE})")
_STUDIO_DETAIL = re.compile(rf"(?:[A-Za-z]+-)?(?P<instance>{_INSTANCE_TYPE})")
"""Studio usage types name the app before the instance: `Studio:JupyterLab-ml.t3.medium`."""
_UNPRICED_KINDS: Final = (
    ("spot", "spot"),
    ("spt", "spot"),
    ("serverless", "serverless"),
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
            # e.g. ML storage per component, or two Studio apps on one instance type: keep the higher
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
    rate = _on_demand_rate(document.get("terms"), _PRICE_LIST_UNITS[kind.unit])
    if isinstance(rate, Skipped):
        return rate
    usd, effective = rate
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
    """`USE1-Train:ml.m5.xlarge` -> training/ml.m5.xlarge; `EU-Host:VolumeUsage.gp2` -> ml-storage/gp2."""
    head, colon, detail = _REGION_PREFIX.sub("", usage_type, count=1).partition(":")
    reason = _unpriced_kind(head) if colon else "unrecognised usage type"
    if reason is not None:
        return Skipped(reason)
    if detail.startswith("VolumeUsage"):
        return _storage_kind(head, detail)
    return _instance_kind(head, detail)


def _unpriced_kind(head: str) -> str | None:
    lowered = head.lower()
    return next((reason for marker, reason in _UNPRICED_KINDS if marker in lowered), None)


def _storage_kind(head: str, detail: str) -> _RateKind | Skipped:
    if detail != _ML_STORAGE_DETAIL or head not in _ML_STORAGE_KINDS:
        return Skipped("storage other than gp2 ML storage")
    return _RateKind(Component.ML_STORAGE, ML_STORAGE_VOLUME, "GB-month")


def _instance_kind(head: str, detail: str) -> _RateKind | Skipped:
    component = _INSTANCE_KINDS.get(head)
    pattern = _STUDIO_DETAIL if component is Component.STUDIO_APP else _INSTANCE_DETAIL
    matched = pattern.fullmatch(detail)
    if component is None or matched is None:
        return Skipped("unrecognised usage type")
    return _RateKind(component, matched["instance"], "hour")


def _on_demand_rate(terms: Any, unit: str) -> tuple[Decimal, date | None] | Skipped:
    """The single USD on-demand price in `unit`, and its term's effective date when readable."""
    on_demand = terms.get("OnDemand") if isinstance(terms, Mapping) else None
    if not on_demand:
        return Skipped("no on-demand term")
    found = [
        (dimension, term)
        for term in on_demand.values()
        for dimension in term.get("priceDimensions", {}).values()
        if dimension.get("unit") == unit
    ]
    if not found:
        return Skipped(f"no on-demand price per {unit}")
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
