"""The shipped price catalog and the catalog file format: what every cost in the system is multiplied by."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING

import pytest

from sagecost.adapters.prices import (
    CatalogError,
    Skipped,
    classify_usage_type,
    dump_catalog,
    load_catalog,
    parse_catalog,
    save_catalog,
)
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

INSTANCE_COMPONENTS = frozenset(Component) - {Component.ML_STORAGE}


@pytest.fixture(scope="module")
def shipped() -> PriceCatalog:
    return load_catalog()


def packaged_text() -> str:
    return (resources.files("sagecost") / "data" / "prices.json").read_text(encoding="utf-8")


def by_region(catalog: PriceCatalog) -> dict[str, list[Price]]:
    regions: dict[str, list[Price]] = defaultdict(list)
    for price in catalog.prices:
        regions[price.region].append(price)
    return regions


# --- the shipped catalog ----------------------------------------------------------------------------


def test_shipped_catalog_loads_in_usd_and_is_stored_in_canonical_form(shipped: PriceCatalog) -> None:
    assert shipped.currency == "USD"
    assert shipped.prices
    # a hand edit that breaks ordering or number formatting shows up as a diff here
    assert dump_catalog(shipped) == packaged_text()


STORAGE_TYPES = {storage_type(component): component for component in INSTANCE_COMPONENTS}


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_shipped_catalog_prices_instances_and_per_component_ml_storage_in_each_sourced_region(
    shipped: PriceCatalog, region: str
) -> None:
    prices = by_region(shipped)[region]
    assert any(p.component in INSTANCE_COMPONENTS for p in prices)
    storage = [p for p in prices if p.component is Component.ML_STORAGE]
    assert storage
    assert all(p.instance_type in STORAGE_TYPES and p.unit == "GB-month" for p in storage)


def test_shipped_ml_storage_is_keyed_per_component_and_never_by_the_bare_volume_type(
    shipped: PriceCatalog,
) -> None:
    storage = [p for p in shipped.prices if p.component is Component.ML_STORAGE]
    assert all(p.instance_type != ML_STORAGE_VOLUME for p in storage)
    assert {p.instance_type for p in storage} <= set(STORAGE_TYPES)
    # the bill prices processing volumes below the others (eu-west-1, December 2023)
    eu = {p.instance_type: p.usd for p in storage if p.region == "eu-west-1"}
    assert eu[storage_type(Component.PROCESSING)] < eu[storage_type(Component.TRAINING)]
    assert eu[storage_type(Component.TRAINING_WARM_POOL)] == eu[storage_type(Component.TRAINING)]


UNPRICED_COMPONENTS = frozenset(
    {Component.SERVERLESS_INFERENCE, Component.SERVERLESS_PROVISIONED, Component.HYPERPOD, Component.MLFLOW}
)
"""No public source found states a rate for these whose origin can be cited (docs/PRICES.md, "Still
unpriced"): their usage stays unpriced, never $0, until a Price List refresh supplies the rates."""


def test_every_component_has_a_shipped_rate_but_the_documented_gaps(shipped: PriceCatalog) -> None:
    priced = {p.component for p in shipped.prices}
    # pricing one of the gaps must also remove it from UNPRICED_COMPONENTS (and from docs/PRICES.md)
    assert set(Component) - priced == UNPRICED_COMPONENTS


def test_shipped_warm_pool_rates_are_billed_lines_not_copies_of_training(shipped: PriceCatalog) -> None:
    warm = [p for p in shipped.prices if p.component is Component.TRAINING_WARM_POOL]
    assert warm
    assert all(p.source == "sagemaker-ssh-helper-bill-2023-12" for p in warm)
    assert "Training Warm Pool" in shipped.sources["sagemaker-ssh-helper-bill-2023-12"]


REGIONS_WITHOUT_A_SOURCED_ML_STORAGE_RATE = frozenset({"us-west-2"})
"""No public source found states a us-west-2 gp2 ML storage rate (docs/PRICES.md): volumes stay unpriced."""


def test_every_region_in_the_shipped_catalog_has_an_ml_storage_rate_but_the_documented_gap(
    shipped: PriceCatalog,
) -> None:
    without = {
        region
        for region, prices in by_region(shipped).items()
        if not any(p.component is Component.ML_STORAGE for p in prices)
    }
    # adding a sourced us-west-2 gp2 rate must also remove the region from the known gap
    assert without == REGIONS_WITHOUT_A_SOURCED_ML_STORAGE_RATE


def test_shipped_catalog_prices_us_west_2_instances_from_a_published_source(shipped: PriceCatalog) -> None:
    prices = by_region(shipped)["us-west-2"]
    components = {p.component for p in prices}
    expected = {Component.TRAINING, Component.BATCH_TRANSFORM, Component.HOSTING, Component.NOTEBOOK}
    assert expected <= components
    published = [p for p in prices if p.component is not Component.ASYNC_INFERENCE]
    assert all(p.source != "async-inference-from-hosting" for p in published)


def test_shipped_us_east_1_prices_job_and_notebook_components(shipped: PriceCatalog) -> None:
    components = {p.component for p in by_region(shipped)["us-east-1"]}
    assert {Component.TRAINING, Component.PROCESSING, Component.NOTEBOOK} <= components


def test_every_shipped_price_cites_a_described_source_and_every_source_is_cited(
    shipped: PriceCatalog,
) -> None:
    cited = {p.source for p in shipped.prices}
    assert cited == set(shipped.sources)
    for source_id, description in shipped.sources.items():
        assert len(description) > 80, f"{source_id} says too little about where its figures come from"


def test_no_shipped_rate_is_zero_so_nothing_unknown_is_passed_off_as_free(shipped: PriceCatalog) -> None:
    assert all(p.usd > 0 for p in shipped.prices)


def test_every_shipped_rate_is_dated_no_later_than_the_catalog(shipped: PriceCatalog) -> None:
    assert all(p.as_of <= shipped.generated for p in shipped.prices)


def test_shipped_async_inference_rates_repeat_hosting_and_say_so(shipped: PriceCatalog) -> None:
    hosting = {(p.region, p.instance_type): p for p in shipped.prices if p.component is Component.HOSTING}
    async_rates = [p for p in shipped.prices if p.component is Component.ASYNC_INFERENCE]
    assert async_rates
    for price in async_rates:
        twin = hosting[(price.region, price.instance_type)]
        assert (price.usd, price.as_of) == (twin.usd, twin.as_of)
        assert price.source != twin.source, "a copied rate must not pass for a published one"
        assert "hosting" in shipped.sources[price.source]


# --- reading and writing catalog files --------------------------------------------------------------


def sample_catalog() -> PriceCatalog:
    def price(region: str, component: Component, instance_type: str, usd: str) -> Price:
        unit: PriceUnit = "GB-month" if component is Component.ML_STORAGE else "hour"
        return Price(
            region=region,
            component=component,
            instance_type=instance_type,
            unit=unit,
            usd=Decimal(usd),
            source="z-sample",
            as_of=date(2026, 1, 2),
        )

    return PriceCatalog(
        generated=date(2026, 1, 3),
        sources={"z-sample": "made up for the test", "a-unused": "listed, cited by nothing"},
        prices=(
            price("us-west-2", Component.TRAINING, "ml.m5.xlarge", "0.2300"),
            price("eu-west-1", Component.ML_STORAGE, storage_type(Component.PROCESSING), "0.110"),
            price("eu-west-1", Component.HOSTING, "ml.g5.12xlarge", "7.91"),
            price("eu-west-1", Component.HOSTING, "ml.c5.xlarge", "1E+1"),
        ),
    )


def test_dump_then_load_gives_back_the_same_catalog_and_the_same_text() -> None:
    catalog = sample_catalog()
    text = dump_catalog(catalog)
    again = parse_catalog(text)
    assert set(again.prices) == set(catalog.prices)
    assert again.sources == catalog.sources
    assert dump_catalog(again) == text
    assert [str(p.usd) for p in again.prices if p.region == "us-west-2"] == ["0.2300"]


def test_dump_is_sorted_indented_and_ends_with_a_newline() -> None:
    text = dump_catalog(sample_catalog())
    document = json.loads(text)
    keys = [(p["region"], p["component"], p["instance_type"]) for p in document["prices"]]
    assert keys == sorted(keys)
    assert list(document["sources"]) == sorted(document["sources"])
    assert all(isinstance(p["usd"], str) for p in document["prices"])
    assert text.startswith('{\n  "currency": "USD",')
    assert text.endswith("}\n")


def test_saved_catalog_loads_back_from_its_path(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "prices.json"
    save_catalog(sample_catalog(), target)
    assert dump_catalog(load_catalog(target)) == dump_catalog(sample_catalog())


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{ not json", "Invalid JSON"),
        ('{"generated": "2026-01-01", "sources": {}}', "prices"),
        (
            '{"generated": "2026-01-01", "sources": {"s": "x"}, "prices": [{"region": "us-east-1",'
            ' "component": "training", "instance_type": "ml.m5.xlarge", "unit": "GB-month",'
            ' "usd": "0.23", "source": "s", "as_of": "2026-01-01"}]}',
            "per hour",
        ),
        (
            '{"generated": "2026-01-01", "sources": {}, "prices": [{"region": "us-east-1",'
            ' "component": "training", "instance_type": "ml.m5.xlarge", "unit": "hour",'
            ' "usd": "0.23", "source": "nowhere", "as_of": "2026-01-01"}]}',
            "unknown source",
        ),
        (
            '{"generated": "2026-01-01", "sources": {"s": "x"}, "prices": [{"region": "us-east-1",'
            ' "component": "training", "instance_type": "ml.m5.xlarge", "unit": "hour",'
            ' "usd": "-1", "source": "s", "as_of": "2026-01-01"}]}',
            "greater than or equal to 0",
        ),
    ],
)
def test_a_broken_catalog_file_is_rejected_naming_the_file_and_the_problem(
    tmp_path: Path, content: str, complaint: str
) -> None:
    broken = tmp_path / "prices.json"
    broken.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError) as raised:
        load_catalog(broken)
    assert str(broken) in str(raised.value)
    assert complaint in str(raised.value)


def test_a_missing_catalog_file_is_a_catalog_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(CatalogError, match="cannot read price catalog"):
        load_catalog(missing)


# --- reading usage types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage_type", "component", "instance_type"),
    [
        ("USE1-Train:ml.m5.xlarge", Component.TRAINING, "ml.m5.xlarge"),
        ("EU-Processing:ml.m5.large", Component.PROCESSING, "ml.m5.large"),
        ("USW2-Tsform:ml.c5.9xlarge", Component.BATCH_TRANSFORM, "ml.c5.9xlarge"),
        ("Host:ml.g5.12xlarge", Component.HOSTING, "ml.g5.12xlarge"),
        ("USE1-AsyncInf:ml.inf2.xlarge", Component.ASYNC_INFERENCE, "ml.inf2.xlarge"),
        ("APS3-Notebk:ml.t3.medium", Component.NOTEBOOK, "ml.t3.medium"),
        ("USE1-Studio:JupyterLab-ml.t3.medium", Component.STUDIO_APP, "ml.t3.medium"),
        ("USE1-Studio:KernelGateway-ml.g4dn.xlarge", Component.STUDIO_APP, "ml.g4dn.xlarge"),
        ("USE1-Studio:CodeEditor-ml.m5.large", Component.STUDIO_APP, "ml.m5.large"),
        ("USE1-Cluster:ml.p5.48xlarge", Component.HYPERPOD, "ml.p5.48xlarge"),
        ("USW2-Cluster:ml.p4d.24xlarge", Component.HYPERPOD, "ml.p4d.24xlarge"),
        ("EU-Host:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.HOSTING)),
        ("USE1-Train:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.TRAINING)),
        ("EU-Processing:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.PROCESSING)),
        ("APS3-Notebk:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.NOTEBOOK)),
        ("USW2-Tsform:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.BATCH_TRANSFORM)),
        ("USE1-AsyncInf:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.ASYNC_INFERENCE)),
        ("USE1-Cluster:VolumeUsage.gp2", Component.ML_STORAGE, storage_type(Component.HYPERPOD)),
        ("USE1-Studio:VolumeUsage.gp3", Component.ML_STORAGE, storage_type(Component.STUDIO_APP)),
        ("USE2-ServerlessInf:Mem-4GB", Component.SERVERLESS_INFERENCE, serverless_type(4096)),
        ("EU-ServerlessInf:Mem-6GB", Component.SERVERLESS_INFERENCE, serverless_type(6144)),
        ("USE1-ProvisionedConcurrency:Usage-1GB", Component.SERVERLESS_PROVISIONED, serverless_type(1024)),
    ],
)
def test_usage_types_map_to_the_component_and_instance_they_bill(
    usage_type: str, component: Component, instance_type: str
) -> None:
    kind = classify_usage_type(usage_type)
    assert not isinstance(kind, Skipped)
    assert (kind.component, kind.instance_type) == (component, instance_type)


@pytest.mark.parametrize(
    ("usage_type", "reason"),
    [
        ("USE1-ProvisionedConcurrency:Mem-4GB", "provisioned-concurrency inference duration"),
        ("USE1-ServerlessInf:Mem-0GB", "unrecognised usage type"),
        ("USE1-ServerlessInf:Usage-4GB", "unrecognised usage type"),
        ("USE1-Cluster:ml.p5.48xlarge-Reserved", "unrecognised usage type"),
        ("USE1-TrSpt:ml.m5.xlarge", "spot"),
        ("USE1-Studio:VolumeUsage.gp2", "storage other than ML storage"),
        ("USE1-Host:VolumeUsage.gp3", "storage other than ML storage"),
        ("USE1-Host:VolumeUsage.st1", "storage other than ML storage"),
        ("USE1-TrainingPlanUpfrontFee:ml.p4d.24xlarge", "unrecognised usage type"),
        ("USE1-Canvas:Session-Hrs", "unrecognised usage type"),
        ("USE1-Train:ml.m5.xlarge-extra", "unrecognised usage type"),
        ("no colon at all", "unrecognised usage type"),
    ],
)
def test_usage_types_that_are_not_on_demand_instance_time_are_skipped_with_a_reason(
    usage_type: str, reason: str
) -> None:
    assert classify_usage_type(usage_type) == Skipped(reason)
