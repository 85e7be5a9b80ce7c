"""The pure rules of Studio apps and Studio spaces' storage, on the real CloudTrail shapes (fixtures)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sagecost.domain.kinds import registry, space, studio_app
from sagecost.domain.metering import ResourceRef
from sagecost.domain.pricing import PriceBook
from sagecost.domain.timeline import meter_timeline
from sagecost.models.events import METERED_API_CALLS, ApiCallEvent, InvalidEvent, parse_event
from sagecost.models.ledger import ResourceKind, TagSnapshot
from sagecost.models.prices import Component, storage_type

KINDS = Path(__file__).parents[1] / "fixtures" / "kinds"


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((KINDS / name).read_text()))


def api_call(name: str, **params: Any) -> ApiCallEvent:
    raw = fixture(name)
    raw["detail"]["requestParameters"].update(params)
    event = parse_event(raw)
    assert isinstance(event, ApiCallEvent)
    return event


def test_the_registry_meters_the_four_calls_and_the_event_models_accept_them() -> None:
    assert {"CreateApp", "DeleteApp", "CreateSpace", "DeleteSpace"} <= set(
        registry.metered_cloudtrail_calls()
    )
    assert set(registry.metered_cloudtrail_calls()) <= set(METERED_API_CALLS)
    assert all(
        spec.swept
        for kind in (ResourceKind.STUDIO_APP, ResourceKind.SPACE)
        for spec in registry.specs_of(kind)
    )


def test_delete_app_builds_the_arn_create_app_returned_whatever_the_app_type_case() -> None:
    # Given CreateApp (which returns the ARN) and DeleteApp (which does not) of the same app
    created = api_call("cloudtrail-CreateApp-space.json")
    deleted = api_call("cloudtrail-DeleteApp-space.json", appType="JUPYTERLAB")
    # When both are keyed
    key_created = studio_app.AppKey.from_request(created.detail.request_parameters)
    key_deleted = studio_app.AppKey.from_request(deleted.detail.request_parameters)
    # Then both name the ARN SageMaker gave, in lower case
    arn = created.detail.response["appArn"].lower()
    assert key_created.arn("us-east-1", "111122223333") == arn
    assert key_deleted.arn("us-east-1", "111122223333") == arn
    assert key_created.owner_arn("us-east-1", "111122223333") == (
        "arn:aws:sagemaker:us-east-1:111122223333:space/d-a1b2c3d4e5f6/team-ml-space"
    )
    profile = studio_app.AppKey.from_request(
        api_call("cloudtrail-CreateApp-userprofile.json").detail.request_parameters
    )
    assert ":user-profile/d-a1b2c3d4e5f6/" in profile.owner_arn("cn-north-1", "111122223333")
    assert profile.owner_arn("cn-north-1", "111122223333").startswith("arn:aws-cn:")


def test_an_app_call_without_its_identifying_members_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="appName"):
        studio_app.AppKey.from_request(
            {"domainId": "d-a1b2c3d4e5f6", "spaceName": "s", "appType": "JupyterLab"}
        )


def test_create_app_bills_one_instance_of_the_requested_type_and_delete_app_nothing() -> None:
    created = api_call("cloudtrail-CreateApp-space.json")
    key = studio_app.AppKey.from_request(created.detail.request_parameters)
    (line,) = studio_app.event_transition(created, key).lines
    assert (line.component, line.instance_type, line.count) == (Component.STUDIO_APP, "ml.g5.xlarge", 1)
    deleted = studio_app.event_transition(api_call("cloudtrail-DeleteApp-space.json"), key)
    assert deleted.lines == () and deleted.status == studio_app.GONE


@pytest.mark.parametrize(
    ("app_type", "instance_type", "billed"),
    [
        ("JupyterServer", "system", None),
        ("JupyterServer", None, None),
        ("KernelGateway", "system", None),
        ("JupyterLab", None, "unknown"),  # runs on the space's default type: kept, unpriced
        ("CodeEditor", "ml.t3.medium", "ml.t3.medium"),
    ],
)
def test_the_free_jupyter_server_bills_nothing_and_an_unnamed_type_is_kept_unpriced(
    app_type: str, instance_type: str | None, billed: str | None
) -> None:
    lines = studio_app.app_lines(studio_app.RUNNING, app_type, instance_type)
    assert [line.instance_type for line in lines] == ([billed] if billed else [])
    assert studio_app.app_lines(studio_app.GONE, app_type, instance_type) == ()


def test_listed_app_statuses_bill_while_pending_or_in_service_only() -> None:
    assert [
        studio_app.listed_status(s) for s in ("InService", "Pending", "Deleting", "Deleted", "Failed")
    ] == [
        "InService",
        "InService",
        "Deleted",
        "Deleted",
        "Deleted",
    ]


def test_usage_metered_with_an_unknown_type_is_repriced_with_the_listed_one() -> None:
    created = api_call("cloudtrail-CreateApp-space.json", resourceSpec={})
    key = studio_app.AppKey.from_request(created.detail.request_parameters)
    transition = studio_app.event_transition(created, key)
    assert transition.unknown_lines == 1
    (repriced,) = studio_app.priced_with_type([transition], "ml.g5.xlarge")
    assert repriced.lines[0].instance_type == "ml.g5.xlarge" and repriced.at == transition.at


def test_create_space_bills_the_requested_volume_as_studio_ml_storage() -> None:
    created = api_call("cloudtrail-CreateSpace.json")
    assert space.requested_volume_gb(created.detail.request_parameters) == 50
    (line,) = space.event_transition(created, 50).lines
    assert (line.component, line.instance_type, line.volume_gb) == (
        Component.ML_STORAGE,
        storage_type(Component.STUDIO_APP),
        50,
    )
    assert created.detail.tags == {"cost-center": "cc-42", "project": "churn-model"}
    key = space.SpaceKey.from_request(created.detail.request_parameters)
    assert key.arn("us-east-1", "111122223333") == created.detail.response["spaceArn"].lower()


def test_a_space_without_a_size_bills_the_documented_5_gb_default() -> None:
    raw = fixture("cloudtrail-CreateSpace.json")
    del raw["detail"]["requestParameters"]["spaceSettings"]["spaceStorageSettings"]
    created = parse_event(raw)
    assert isinstance(created, ApiCallEvent)
    assert space.requested_volume_gb(created.detail.request_parameters) is None
    (line,) = space.event_transition(created, None).lines
    assert line.volume_gb == space.DEFAULT_SPACE_VOLUME_GB == 5


def test_a_day_of_a_50_gb_space_in_october_is_50_x_24_over_744_gb_months(prices: PriceBook) -> None:
    # Given a 50 GB space that existed for one day of October (744 hours)
    start = datetime(2026, 10, 5, 8, tzinfo=UTC)
    created = space.event_transition(api_call("cloudtrail-CreateSpace.json"), 50)
    arn = "arn:aws:sagemaker:us-east-1:111122223333:space/d-a1b2c3d4e5f6/team-ml-space"
    resource = ResourceRef.from_arn(arn, ResourceKind.SPACE, "team-ml-space")
    # When it is metered for 24 hours
    records = meter_timeline([created], resource, start, start + timedelta(days=1), prices, TagSnapshot())
    # Then 50 x 24 / 744 GB-months, cut at midnight, at the test rate of 0.14 per GB-month
    assert sum(r.quantity for r in records) == pytest.approx(
        Decimal(50 * 24) / Decimal(744), abs=Decimal("1e-5")
    )
    assert {r.unit for r in records} == {"GB-month"}
    assert {r.unit_price for r in records} == {Decimal("0.14")}
