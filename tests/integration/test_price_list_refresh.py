"""`sagecost prices refresh`: a region's rates rebuilt from recorded GetProducts pages (botocore Stubber)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from sagecost.adapters.prices import (
    PAGE_SIZE,
    PRICE_LIST_SOURCE,
    CatalogError,
    Skipped,
    fetch_region_prices,
    load_catalog,
    price_from_product,
    refresh_catalog,
)
from sagecost.models.prices import Component, PriceCatalog, serverless_type, storage_type

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_pricing import PricingClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pricing"
TODAY = date(2026, 11, 24)
NEXT_TOKEN = "fixture-token-ml-instance-page-2"


def recorded(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def relabelled(response: dict[str, Any], region: str, usage_prefix: str, location: str) -> dict[str, Any]:
    """The same recorded page as another region would answer it."""

    def move(raw: str) -> str:
        return (
            raw.replace('"us-east-1"', f'"{region}"')
            .replace('"USE1-', f'"{usage_prefix}-')
            .replace("US East (N. Virginia)", location)
        )

    return {**response, "PriceList": [move(raw) for raw in response["PriceList"]]}


def pages_for(
    region: str, *, usage_prefix: str = "USE1", location: str = "US East (N. Virginia)"
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(response, exactly the request it answers), in the order the refresher must ask."""

    def request(family: str, **more: Any) -> dict[str, Any]:
        filters = [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family},
        ]
        return {"ServiceCode": "AmazonSageMaker", "Filters": filters, "MaxResults": PAGE_SIZE, **more}

    names = [
        ("get_products_ml_instance_page_1.json", request("ML Instance")),
        ("get_products_ml_instance_page_2.json", request("ML Instance", NextToken=NEXT_TOKEN)),
        ("get_products_storage.json", request("Storage")),
    ]
    pages = [(recorded(name), params) for name, params in names]
    pages.append((serverless_page(), request("ML Serverless")))
    return [(relabelled(response, region, usage_prefix, location), params) for response, params in pages]


SERVERLESS_PRODUCTS = {
    # usage type: (price list unit, USD per unit)
    "USE1-ServerlessInf:Mem-4GB": ("Second", "0.0000800000"),
    "USE1-ServerlessInf:Mem-1GB": ("Second", "0.0000200000"),
    "USE1-ProvisionedConcurrency:Usage-4GB": ("Second", "0.0000192000"),
    "USE1-ProvisionedConcurrency:Mem-4GB": ("Second", "0.0000560000"),
}
"""Illustrative figures, like the recorded pages' (docs/PRICES.md has the real rates' status). The usage
types and the `ML Serverless` family are the ones infracost queries
(`internal/resources/aws/sagemaker_endpoint_configuration.go` @ 057e158b); the unit `Second` is what
public code reading the offer file accepts (`second`/`seconds`, any case)."""


def serverless_page() -> dict[str, Any]:
    """An `ML Serverless` page: the recorded training product re-labelled, so the product and term shape
    stay those of the recorded pages; only family, usage type, unit and price change."""
    (template,) = [
        json.loads(raw)
        for raw in recorded("get_products_ml_instance_page_1.json")["PriceList"]
        if json.loads(raw)["product"]["attributes"]["usagetype"] == "USE1-Train:ml.m5.xlarge"
    ]
    products = []
    for number, (usage_type, (unit, usd)) in enumerate(sorted(SERVERLESS_PRODUCTS.items())):
        product = json.loads(json.dumps(template))
        sku = f"FXTR0SRVLESS{number:04d}"
        product["product"]["productFamily"] = "ML Serverless"
        product["product"]["sku"] = sku
        attributes = product["product"]["attributes"]
        for key in ("instanceName", "instanceType", "component", "vCpu", "memory", "gpu"):
            attributes.pop(key, None)
        attributes.update({"usagetype": usage_type, "operation": "Invoke-Serverless"})
        (term,) = product["terms"]["OnDemand"].values()
        (dimension,) = term["priceDimensions"].values()
        dimension.update(
            {"unit": unit, "pricePerUnit": {"USD": usd}, "description": f"{usage_type} per second"}
        )
        product["terms"]["OnDemand"] = {f"{sku}.JRTCKXETXF": {**term, "sku": sku}}
        products.append(json.dumps(product))
    return {"FormatVersion": "aws_v1", "PriceList": products}


def recorded_products() -> dict[str, dict[str, Any]]:
    """Every recorded product (and every serverless product of `serverless_page`) by usage type."""
    products: dict[str, dict[str, Any]] = {}
    pages = [recorded(name.name) for name in sorted(FIXTURES.glob("get_products_*.json"))]
    for page in [*pages, serverless_page()]:
        for raw in page["PriceList"]:
            product = json.loads(raw)
            products[product["product"]["attributes"]["usagetype"]] = product
    return products


def recorded_rate(usage_type: str) -> tuple[Decimal, date]:
    (term,) = recorded_products()[usage_type]["terms"]["OnDemand"].values()
    (dimension,) = term["priceDimensions"].values()
    return Decimal(dimension["pricePerUnit"]["USD"]), date.fromisoformat(term["effectiveDate"][:10])


@pytest.fixture
def pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PricingClient, Stubber]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    client = boto3.client("pricing", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def stub_region(stubber: Stubber, region: str, **labels: str) -> None:
    for response, params in pages_for(region, **labels):
        stubber.add_response("get_products", response, params)


# --- requests ---------------------------------------------------------------------------------------


def test_refresh_asks_only_for_the_regions_instances_storage_and_serverless_following_next_token(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")  # the Stubber fails the call if any request differs from these

    refresh_catalog(client, "us-east-1", today=TODAY)

    stubber.assert_no_pending_responses()  # every recorded page was asked for, in order, and nothing more


# --- what comes out ---------------------------------------------------------------------------------

EXPECTED_USAGE_TYPES = {
    (Component.TRAINING, "ml.m5.xlarge"): "USE1-Train:ml.m5.xlarge",
    (Component.HOSTING, "ml.m5.xlarge"): "USE1-Host:ml.m5.xlarge",
    (Component.NOTEBOOK, "ml.t3.medium"): "USE1-Notebk:ml.t3.medium",
    (Component.PROCESSING, "ml.m5.xlarge"): "USE1-Processing:ml.m5.xlarge",
    (Component.BATCH_TRANSFORM, "ml.m5.xlarge"): "USE1-Tsform:ml.m5.xlarge",
    (Component.ASYNC_INFERENCE, "ml.g5.xlarge"): "USE1-AsyncInf:ml.g5.xlarge",
    (Component.STUDIO_APP, "ml.t3.medium"): "USE1-Studio:JupyterLab-ml.t3.medium",
}
PER_SECOND_USAGE_TYPES = {
    (Component.SERVERLESS_INFERENCE, serverless_type(4096)): "USE1-ServerlessInf:Mem-4GB",
    (Component.SERVERLESS_INFERENCE, serverless_type(1024)): "USE1-ServerlessInf:Mem-1GB",
    (Component.SERVERLESS_PROVISIONED, serverless_type(4096)): "USE1-ProvisionedConcurrency:Usage-4GB",
}


def test_each_component_gets_the_on_demand_rate_and_effective_date_of_its_usage_type(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")

    catalog = refresh_catalog(client, "us-east-1", today=TODAY)

    hourly = {(p.component, p.instance_type): p for p in catalog.prices if p.unit == "hour"}
    assert set(hourly) == set(EXPECTED_USAGE_TYPES) | set(PER_SECOND_USAGE_TYPES)
    for key, usage_type in EXPECTED_USAGE_TYPES.items():
        usd, effective = recorded_rate(usage_type)
        assert (hourly[key].usd, hourly[key].as_of) == (usd, effective), usage_type
        assert (hourly[key].region, hourly[key].source) == ("us-east-1", PRICE_LIST_SOURCE)
    assert catalog.generated == TODAY


def test_serverless_rates_are_the_per_second_rate_of_the_memory_size_times_3600(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")

    catalog = refresh_catalog(client, "us-east-1", today=TODAY)

    hourly = {(p.component, p.instance_type): p for p in catalog.prices}
    for key, usage_type in PER_SECOND_USAGE_TYPES.items():
        per_second, effective = recorded_rate(usage_type)
        assert hourly[key].usd == per_second * 3600, usage_type
        assert (hourly[key].unit, hourly[key].as_of) == ("hour", effective)
    assert str(hourly[(Component.SERVERLESS_INFERENCE, serverless_type(4096))].usd) == "0.288"
    # the inference duration of provisioned concurrency is a second charge, not the provisioned capacity
    pc_duration = recorded_rate("USE1-ProvisionedConcurrency:Mem-4GB")[0] * 3600
    assert all(p.usd != pc_duration for p in catalog.prices)


def test_ml_storage_is_priced_per_component_at_each_components_own_rate(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")

    catalog = refresh_catalog(client, "us-east-1", today=TODAY)

    storage = {p.instance_type: p for p in catalog.prices if p.component is Component.ML_STORAGE}
    expected = {
        storage_type(Component.HOSTING): "USE1-Host:VolumeUsage.gp2",
        storage_type(Component.NOTEBOOK): "USE1-Notebk:VolumeUsage.gp2",
        storage_type(Component.TRAINING): "USE1-Train:VolumeUsage.gp2",
        storage_type(Component.STUDIO_APP): "USE1-Studio:VolumeUsage.gp3",
    }
    assert set(storage) == set(expected)
    for instance_type, usage_type in expected.items():
        assert (storage[instance_type].unit, storage[instance_type].usd) == (
            "GB-month",
            recorded_rate(usage_type)[0],
        ), usage_type
    assert len({p.usd for p in storage.values()}) > 1, "the fixture should disagree across components"


def test_products_that_are_not_on_demand_instance_time_are_skipped_and_counted(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")

    fetched = fetch_region_prices(client, "us-east-1", today=TODAY)

    assert fetched.skipped == {
        "spot": 1,  # USE1-TrSpt:ml.m5.xlarge
        "unrecognised usage type": 1,  # USE1-TrainingPlanUpfrontFee:ml.p4d.24xlarge, unit Quantity
        "duplicate of a kept rate": 1,  # CodeEditor = JupyterLab on ml.t3.medium
        "provisioned-concurrency inference duration": 1,  # USE1-ProvisionedConcurrency:Mem-4GB
    }
    assert len(fetched.prices) + fetched.skipped_total == len(recorded_products())
    assert all(p.instance_type != "ml.p4d.24xlarge" for p in fetched.prices)
    assert all(p.usd != recorded_rate("USE1-TrSpt:ml.m5.xlarge")[0] for p in fetched.prices)


def test_a_hyperpod_node_and_its_volume_are_priced_from_a_recorded_product_shape() -> None:
    """HyperPod bills `<REGION>-Cluster:ml.<type>` and `<REGION>-Cluster:VolumeUsage.gp2`."""
    products = recorded_products()

    def as_cluster(usage_type: str) -> str:
        product = json.loads(json.dumps(products[usage_type]))
        attributes = product["product"]["attributes"]
        attributes["usagetype"] = usage_type.replace("-Train:", "-Cluster:")
        return json.dumps(product)

    node = price_from_product(as_cluster("USE1-Train:ml.m5.xlarge"), region="us-east-1", today=TODAY)
    volume = price_from_product(as_cluster("USE1-Train:VolumeUsage.gp2"), region="us-east-1", today=TODAY)

    assert not isinstance(node, Skipped) and not isinstance(volume, Skipped)
    assert (node.component, node.instance_type, node.unit) == (Component.HYPERPOD, "ml.m5.xlarge", "hour")
    assert node.usd == recorded_rate("USE1-Train:ml.m5.xlarge")[0]
    assert (volume.component, volume.instance_type) == (
        Component.ML_STORAGE,
        storage_type(Component.HYPERPOD),
    )


def test_a_serverless_product_in_an_unknown_unit_is_skipped_not_guessed() -> None:
    product = recorded_products()["USE1-ServerlessInf:Mem-4GB"]
    (term,) = product["terms"]["OnDemand"].values()
    (dimension,) = term["priceDimensions"].values()
    dimension["unit"] = "GB-Second"

    result = price_from_product(json.dumps(product), region="us-east-1", today=TODAY)

    assert isinstance(result, Skipped)
    assert result.reason.startswith("no on-demand price per")


# --- merging into an existing catalog ---------------------------------------------------------------


def test_refresh_replaces_the_region_and_keeps_every_other_region_of_the_base(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")
    base = load_catalog()
    assert {p.region for p in base.prices} >= {"us-east-1", "eu-west-1"}

    refreshed = refresh_catalog(client, "us-east-1", today=TODAY, base=base)

    others = {p for p in base.prices if p.region != "us-east-1"}
    assert {p for p in refreshed.prices if p.region != "us-east-1"} == others
    assert {p.source for p in refreshed.prices if p.region == "us-east-1"} == {PRICE_LIST_SOURCE}
    # sources nothing cites any more are dropped; the ones the kept regions cite stay, word for word
    assert {p.source for p in refreshed.prices} == set(refreshed.sources)
    for source in {p.source for p in others}:
        assert refreshed.sources[source] == base.sources[source]
    description = refreshed.sources[PRICE_LIST_SOURCE]
    assert "GetProducts" in description
    assert "us-east-1 on 2026-11-24" in description


def test_a_second_region_refreshed_later_is_added_to_the_price_list_source(
    pricing: tuple[PricingClient, Stubber],
) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")
    stub_region(stubber, "eu-west-1", usage_prefix="EU", location="EU (Ireland)")

    first = refresh_catalog(client, "us-east-1", today=TODAY, base=load_catalog())
    later = date(2026, 12, 1)
    second = refresh_catalog(client, "eu-west-1", today=later, base=first)

    assert {p.region for p in second.prices if p.source == PRICE_LIST_SOURCE} == {"us-east-1", "eu-west-1"}
    assert {p for p in second.prices if p.region == "us-east-1"} == {
        p for p in first.prices if p.region == "us-east-1"
    }
    description = second.sources[PRICE_LIST_SOURCE]
    assert "eu-west-1 on 2026-12-01" in description
    assert "us-east-1 on 2026-11-24" in description
    assert second.generated == later


def test_an_empty_price_list_is_an_error_and_replaces_nothing(pricing: tuple[PricingClient, Stubber]) -> None:
    client, stubber = pricing
    for _, params in pages_for("us-east-2"):
        if "NextToken" not in params:  # an empty first page ends the listing
            stubber.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []}, params)
    base = load_catalog()

    with pytest.raises(CatalogError, match="no usable on-demand SageMaker rate for us-east-2"):
        refresh_catalog(client, "us-east-2", today=TODAY, base=base)


def test_a_refreshed_catalog_still_validates_as_a_catalog(pricing: tuple[PricingClient, Stubber]) -> None:
    client, stubber = pricing
    stub_region(stubber, "us-east-1")

    refreshed = refresh_catalog(client, "us-east-1", today=TODAY, base=load_catalog())

    assert PriceCatalog.model_validate(refreshed.model_dump()) == refreshed
