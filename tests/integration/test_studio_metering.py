"""Studio apps and Studio spaces' storage metered end to end on moto's DynamoDB: CloudTrail calls in their
real shape (tests/fixtures/kinds), the Studio fake for ListApps/ListSpaces/Describe*/ListTags, the services
wired as a deployed function wires them (`wiring.usage_meter`)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from sagecost import wiring
from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.sagemaker import Boto3SageMaker
from sagecost.adapters.studio import Boto3StudioApps
from sagecost.domain.pricing import PriceBook
from sagecost.local.fake_studio import FakeApp, FakeSpace, FakeStudioClient
from sagecost.local.template import load_template, table_create_args
from sagecost.models.events import parse_event
from sagecost.models.ledger import ResourceKind, UsageRecord
from sagecost.models.prices import Component
from sagecost.services.usage import Outcome, UsageMeter

KINDS = Path(__file__).parents[1] / "fixtures" / "kinds"
DOMAIN, SPACE, ACCOUNT = "d-a1b2c3d4e5f6", "team-ml-space", "111122223333"
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
TAGS = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-100", "Environment": "dev", "Owner": "alice"}
APP_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:app/{DOMAIN}/{SPACE}/jupyterlab/default"
SPACE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:space/{DOMAIN}/{SPACE}"
STUDIO_RATE = Decimal("1.41")


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def call(name: str, at: datetime, *, event_id: str | None = None, **params: Any) -> dict[str, Any]:
    """A fixture's CloudTrail event at `at`, its request members updated with `params`."""
    raw: dict[str, Any] = copy.deepcopy(json.loads((KINDS / name).read_text()))
    raw["time"] = raw["detail"]["eventTime"] = iso(at)
    raw["detail"]["requestParameters"].update(params)
    if event_id is not None:
        raw["id"] = event_id
    return raw


def create_space(at: datetime = T0 - timedelta(hours=1)) -> dict[str, Any]:
    tags = [{"key": k, "value": v} for k, v in TAGS.items()]
    return call("cloudtrail-CreateSpace.json", at, tags=tags)


def delete_space(at: datetime) -> dict[str, Any]:
    raw = call("cloudtrail-CreateSpace.json", at, event_id="delete-space-1")
    detail = raw["detail"]
    detail["eventName"] = "DeleteSpace"
    detail["requestParameters"] = {"domainId": DOMAIN, "spaceName": SPACE}
    detail["responseElements"] = None
    return raw


class StudioTags(Boto3SageMaker):
    """moto's SageMaker for everything but ListTags of spaces and user profiles: the Studio fake's."""

    def __init__(self, studio: FakeStudioClient) -> None:
        super().__init__(boto3.client("sagemaker"))
        self.studio = Boto3SageMaker(cast(Any, studio))

    def tags(self, arn: str) -> dict[str, str] | None:
        return self.studio.tags(arn)


@pytest.fixture
def studio() -> FakeStudioClient:
    """The space of the fixtures, tagged like the CreateSpace request, in the fixtures' account."""
    return FakeStudioClient(
        spaces=[FakeSpace(DOMAIN, SPACE, T0 - timedelta(hours=1), volume_gb=50, tags=TAGS, account=ACCOUNT)]
    )


def build_meter(ledger: DynamoLedger, prices: PriceBook, studio: FakeStudioClient) -> UsageMeter:
    adapters = wiring.LocalAdapters(
        ledger=ledger, prices_value=prices, sagemaker_value=StudioTags(studio), studio=Boto3StudioApps(studio)
    )
    return wiring.usage_meter(adapters)


@pytest.fixture
def meter(ledger: DynamoLedger, prices: PriceBook, studio: FakeStudioClient) -> UsageMeter:
    return build_meter(ledger, prices, studio)


class Requests:
    """AWS requests made: the Studio fake's calls and the ledger's DynamoDB reads and transactions."""

    def __init__(
        self, ledger: DynamoLedger, studio: FakeStudioClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.studio = studio
        self.dynamodb = 0
        client = ledger.client
        for operation in ("transact_write_items", "batch_get_item", "get_item", "query"):
            monkeypatch.setattr(client, operation, self._counted(getattr(client, operation)))

    def _counted(self, original: Any) -> Any:
        def counted(**kwargs: Any) -> Any:
            self.dynamodb += 1
            return original(**kwargs)

        return counted

    def total(self) -> int:
        return sum(self.studio.calls.values()) + self.dynamodb


@pytest.fixture
def requests(ledger: DynamoLedger, studio: FakeStudioClient, monkeypatch: pytest.MonkeyPatch) -> Requests:
    return Requests(ledger, studio, monkeypatch)


def app_records(ledger: DynamoLedger, arn: str = APP_ARN) -> list[UsageRecord]:
    return [r for r in ledger.resource_records(arn.lower()) if r.resource_kind is ResourceKind.STUDIO_APP]


def test_a_jupyterlab_app_on_g5_for_3_hours_is_3_studio_instance_hours_of_the_spaces_project(
    meter: UsageMeter, ledger: DynamoLedger, prices: PriceBook, requests: Requests
) -> None:
    # Given a space created with the business tags, and a JupyterLab app on ml.g5.xlarge in it
    events = [
        create_space(),
        call("cloudtrail-CreateApp-space.json", T0),
        call("cloudtrail-DeleteApp-space.json", T0 + timedelta(hours=3)),
    ]
    # When the three CloudTrail calls are recorded, counting the requests each makes
    per_event = []
    for raw in events:
        before = requests.total()
        meter.record(parse_event(raw))
        per_event.append(requests.total() - before)

    # Then exactly 3 instance-hours at the Studio rate, attributed to the space's project and owner
    records = app_records(ledger)
    assert sum(r.quantity for r in records) == Decimal(3)
    assert {(r.component, r.instance_type, r.unit, r.unit_price) for r in records} == {
        (Component.STUDIO_APP, "ml.g5.xlarge", "instance-hour", STUDIO_RATE)
    }
    assert sum(r.cost or 0 for r in records) == 3 * STUDIO_RATE
    assert {(r.tags.project, r.tags.team, r.tags.owner) for r in records} == {("fraud", "risk", "alice")}
    assert (records[0].start, records[-1].end) == (T0, T0 + timedelta(hours=3))
    # and no event made more than two requests: one ledger read (for CreateApp it holds the space's tags
    # too) and one transaction
    assert per_event == [2, 2, 2]
    assert requests.studio.calls == {}
    assert not any(t.resource.arn == APP_ARN for t in ledger.open_timelines())


def test_an_app_whose_delete_event_was_lost_is_closed_by_the_sweep(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient, requests: Requests
) -> None:
    # Given a CodeEditor app whose CreateApp was recorded, deleted in SageMaker without the event arriving
    created = call("cloudtrail-CreateApp-space.json", T0, appType="CodeEditor")
    meter.record(parse_event(created))
    studio.apps.append(
        FakeApp(DOMAIN, SPACE, "CodeEditor", "default", T0, instance_type="ml.g5.xlarge", is_space=True)
    )
    studio.apps[0].status = "Deleted"
    arn = APP_ARN.replace("jupyterlab", "codeeditor")
    # When the sweep runs 5 hours later
    report = meter.sweep(T0 + timedelta(hours=5))
    # Then the app is closed then: 5 instance-hours, the timeline no longer open
    assert report.closed >= 1
    assert sum(r.quantity for r in app_records(ledger, arn)) == Decimal(5)
    assert not any(t.resource.arn == arn for t in ledger.open_timelines())
    # and the sweep read nothing but the lists for it (the space's storage is new to it: DescribeSpace
    # and ListTags for that one)
    assert studio.calls.get("DescribeApp", 0) == 0


def test_an_app_gone_from_list_apps_is_closed_as_vanished_and_a_failed_listing_keeps_apps_open(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient
) -> None:
    meter.record(parse_event(call("cloudtrail-CreateApp-space.json", T0)))
    studio.apps.append(
        FakeApp(DOMAIN, SPACE, "JupyterLab", "default", T0, instance_type="ml.g5.xlarge", is_space=True)
    )
    # When ListApps fails, the app stays open (it is not taken for vanished)
    studio.failure = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "ListApps"
    )
    meter.sweep(T0 + timedelta(hours=1))
    assert any(t.resource.arn == APP_ARN for t in ledger.open_timelines())
    # And when it lists again without the app, the app is closed at that sweep
    studio.failure = None
    studio.apps.clear()
    meter.sweep(T0 + timedelta(hours=2))
    assert not any(t.resource.arn == APP_ARN for t in ledger.open_timelines())
    assert sum(r.quantity for r in app_records(ledger)) == Decimal(2)


def test_a_system_jupyter_server_bills_nothing_by_event_or_sweep(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient
) -> None:
    studio.profile_tags[f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:user-profile/{DOMAIN}/alice"] = TAGS
    raw = call(
        "cloudtrail-CreateApp-userprofile.json",
        T0,
        appType="JupyterServer",
        appName="default",
        resourceSpec={"instanceType": "system"},
    )
    result = meter.record(parse_event(raw))
    studio.apps.append(FakeApp(DOMAIN, "alice", "JupyterServer", "default", T0, instance_type="system"))
    meter.sweep(T0 + timedelta(hours=4))
    assert result.outcome is Outcome.NOTHING_TO_METER
    assert [r for r in ledger.records("2026-10") if r.resource_kind is ResourceKind.STUDIO_APP] == []


def test_the_sweep_opens_an_app_no_event_announced_with_its_spaces_tags(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient
) -> None:
    studio.apps.append(
        FakeApp(
            DOMAIN,
            SPACE,
            "JupyterLab",
            "default",
            T0,
            instance_type="ml.g5.xlarge",
            is_space=True,
            account=ACCOUNT,
        )
    )
    meter.sweep(T0 + timedelta(hours=2))
    records = app_records(ledger)
    assert sum(r.quantity for r in records) == Decimal(2)
    assert {(r.tags.project, r.instance_type, r.unit_price) for r in records} == {
        ("fraud", "ml.g5.xlarge", STUDIO_RATE)
    }
    # one DescribeApp and one ListTags for the app; DescribeSpace and ListTags for its space, new too
    assert studio.calls == {
        "ListApps": 1,
        "ListSpaces": 1,
        "DescribeApp": 1,
        "DescribeSpace": 1,
        "ListTags": 2,
    }
    # and an hour later it meters on, reading nothing more for it
    meter.sweep(T0 + timedelta(hours=3))
    assert sum(r.quantity for r in app_records(ledger)) == Decimal(3)
    assert studio.calls["DescribeApp"] == 1


def test_an_app_created_without_a_type_is_kept_unpriced_then_repriced_with_the_listed_type(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient
) -> None:
    # Given a CreateApp that names no instance type (the space's default applies), metered to its delete
    meter.record(parse_event(call("cloudtrail-CreateApp-space.json", T0, resourceSpec={})))
    meter.record(parse_event(call("cloudtrail-DeleteApp-space.json", T0 + timedelta(hours=1))))
    meter.record(
        parse_event(
            call(
                "cloudtrail-CreateApp-space.json", T0 + timedelta(hours=2), event_id="again", resourceSpec={}
            )
        )
    )
    assert {r.unpriced for r in app_records(ledger)} == {True}
    # When the sweep lists the running app with its type
    studio.apps.append(
        FakeApp(
            DOMAIN,
            SPACE,
            "JupyterLab",
            "default",
            T0 + timedelta(hours=2),
            instance_type="ml.g5.xlarge",
            is_space=True,
        )
    )
    meter.sweep(T0 + timedelta(hours=3))
    # Then all of its usage is priced at that type, none unpriced
    records = app_records(ledger)
    assert {(r.instance_type, r.unit_price) for r in records} == {("ml.g5.xlarge", STUDIO_RATE)}
    assert sum(r.quantity for r in records) == Decimal(2)


def test_space_storage_from_create_to_delete_space_and_the_default_size_read_once_by_the_sweep(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient, requests: Requests
) -> None:
    # Given a 50 GB space that lived one day
    start = T0 - timedelta(hours=1)
    for raw in (create_space(start), delete_space(start + timedelta(days=1))):
        before = requests.total()
        meter.record(parse_event(raw))
        assert requests.total() - before == 2  # one ledger read, one transaction
    records = ledger.resource_records(SPACE_ARN)
    assert sum(r.quantity for r in records) == pytest.approx(Decimal(50 * 24) / 744, abs=Decimal("1e-5"))
    assert {(r.component, r.instance_type, r.tags.project) for r in records} == {
        (Component.ML_STORAGE, "gp2.studio-app", "fraud")
    }
    studio.spaces[0].status = "Deleted"  # as SageMaker has it after DeleteSpace
    # Given another space created without a size (the domain default of 20 GB applies)
    other = call("cloudtrail-CreateSpace.json", start, spaceName="other-space", spaceSettings={})
    meter.record(parse_event(other))
    studio.spaces.append(
        FakeSpace(DOMAIN, "other-space", start, volume_gb=None, default_gb=20, account=ACCOUNT)
    )
    # When the sweep runs twice, it describes the space once and re-prices the day at 20 GB
    other_arn = SPACE_ARN.replace(SPACE, "other-space")
    meter.sweep(start + timedelta(days=1))
    meter.sweep(start + timedelta(days=2))
    assert studio.calls["DescribeSpace"] == 1
    quantity = sum(r.quantity for r in ledger.resource_records(other_arn))
    assert quantity == pytest.approx(Decimal(20 * 48) / 744, abs=Decimal("1e-5"))


def replay(ledger: DynamoLedger, prices: PriceBook, events: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    meter = build_meter(
        ledger, prices, FakeStudioClient(spaces=[FakeSpace(DOMAIN, SPACE, T0, tags=TAGS, account=ACCOUNT)])
    )
    for raw in events:
        meter.record(parse_event(raw))
    return {
        (r.record_id, r.quantity, r.cost, r.tags.project, r.instance_type) for r in ledger.records("2026-10")
    }


@pytest.fixture
def second_ledger(ledger: DynamoLedger) -> Iterator[DynamoLedger]:
    client = boto3.client("dynamodb")
    client.create_table(**table_create_args(load_template(), table_name="sagecost-replay"))
    yield DynamoLedger(client, "sagecost-replay")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_the_studio_calls_three_times_shuffled_gives_the_same_records(
    ledger: DynamoLedger, second_ledger: DynamoLedger, prices: PriceBook, seed: int
) -> None:
    events = [
        create_space(),
        call("cloudtrail-CreateApp-space.json", T0),
        call("cloudtrail-DeleteApp-space.json", T0 + timedelta(hours=3)),
        call("cloudtrail-CreateApp-space.json", T0 + timedelta(hours=5), event_id="create-again"),
        call("cloudtrail-DeleteApp-space.json", T0 + timedelta(hours=6), event_id="delete-again"),
        delete_space(T0 + timedelta(days=1)),
    ]
    in_order = replay(ledger, prices, events)
    shuffled = events * 3
    random.Random(seed).shuffle(shuffled)
    assert replay(second_ledger, prices, shuffled) == in_order
    app = [row for row in in_order if row[4] == "ml.g5.xlarge"]
    assert sum(row[1] for row in app) == Decimal(4)
    assert {row[3] for row in in_order} == {"fraud"}


def test_a_user_profiles_app_gets_the_profiles_tags_from_the_next_sweep_within_two_requests_an_event(
    meter: UsageMeter, ledger: DynamoLedger, studio: FakeStudioClient, requests: Requests
) -> None:
    # Given a KernelGateway app of user profile alice, whose profile (not metered, so not in the ledger)
    # carries the business tags, and which SageMaker lists as running
    profile = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:user-profile/{DOMAIN}/alice"
    studio.profile_tags[profile] = TAGS
    studio.spaces.clear()  # only the profile's app in this account
    app = "sagemaker-data-science-ml-m5-large-6789abcdef0123456"
    studio.apps.append(
        FakeApp(DOMAIN, "alice", "KernelGateway", app, T0, instance_type="ml.m5.large", account=ACCOUNT)
    )
    # When its CreateApp is recorded: one ledger read, one transaction, no ListTags
    before = requests.total()
    meter.record(parse_event(call("cloudtrail-CreateApp-userprofile.json", T0)))
    assert requests.total() - before == 2
    assert studio.calls == {}
    app_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:app/{DOMAIN}/alice/kernelgateway/{app}"
    # Then the next sweep reads the profile's tags once and moves the usage metered so far to them
    meter.sweep(T0 + timedelta(hours=2))
    records = app_records(ledger, app_arn)
    assert sum(r.quantity for r in records) == Decimal(2)
    assert {(r.tags.project, r.tags.owner) for r in records} == {("fraud", "alice")}
    assert studio.calls.get("ListTags") == 1
    # and later sweeps do not ask again
    meter.sweep(T0 + timedelta(hours=3))
    assert studio.calls.get("ListTags") == 1
    assert {r.tags.project for r in app_records(ledger, app_arn)} == {"fraud"}
