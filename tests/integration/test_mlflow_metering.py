"""MLflow tracking servers on moto's DynamoDB: size x hours from CloudTrail calls and the sweep."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagecost.adapters.ledger import DynamoLedger
from sagecost.adapters.mlflow import Boto3MlflowServers
from sagecost.domain.pricing import PriceBook
from sagecost.local.fake_mlflow import FakeMlflowClient, FakeTrackingServer
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import ResourceKind
from sagecost.services.usage import Outcome, UsageMeter
from sagecost.services.usage.mlflow import MlflowMeter
from sagecost.services.usage.writer import UsageWriter

KINDS = Path(__file__).parents[1] / "fixtures" / "kinds"
T0 = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:111122223333:mlflow-tracking-server/team-mlflow"


def call(name: str, at: datetime, **parameters: Any) -> dict[str, Any]:
    """A CloudTrail call of the fixture's shape, at `at` (`name`: Create/Start/Stop/Update/Delete)."""
    base = "Create" if name in ("Create", "Update") else "Delete"
    event: dict[str, Any] = copy.deepcopy(
        json.loads((KINDS / f"cloudtrail-{base}MlflowTrackingServer.json").read_text())
    )
    event["id"] = f"{name}-{at.isoformat()}"
    event["time"] = event["detail"]["eventTime"] = at.isoformat().replace("+00:00", "Z")
    event["detail"]["eventName"] = f"{name}MlflowTrackingServer"
    if name == "Update":
        event["detail"]["requestParameters"] = {"trackingServerName": "team-mlflow"}
    event["detail"]["requestParameters"].update(parameters)
    return event


def build(ledger: DynamoLedger, prices: PriceBook) -> tuple[UsageMeter, FakeMlflowClient]:
    client = FakeMlflowClient()
    config = SagecostConfig()
    writer = UsageWriter(ledger, prices, config)
    meter = UsageMeter(
        ledger,
        FakeSageMaker(),
        prices,
        config,
        kind_meters=[MlflowMeter(writer, Boto3MlflowServers(client))],
    )
    return meter, client


def server_hours(ledger: DynamoLedger) -> dict[str, Decimal]:
    hours: dict[str, Decimal] = {}
    for record in ledger.records():
        if record.resource_kind is ResourceKind.MLFLOW_SERVER:
            hours[record.instance_type] = hours.get(record.instance_type, Decimal(0)) + record.quantity
    return hours


LIFE = [
    call("Create", T0),
    call("Stop", T0 + timedelta(hours=10)),
    call("Start", T0 + timedelta(hours=20)),
    call("Update", T0 + timedelta(hours=22), trackingServerSize="Medium"),
    call("Delete", T0 + timedelta(hours=25)),
]


def test_a_server_bills_its_size_while_running_and_nothing_while_stopped_with_no_reads(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, client = build(ledger, prices)
    outcomes = [meter.record(parse_event(event)).outcome for event in LIFE]
    assert Outcome.RECORDED in outcomes
    # Small 10 h + 2 h after the restart, Medium 3 h after the update; stopped 10 h bill nothing
    assert server_hours(ledger) == {"Small": Decimal(12), "Medium": Decimal(3)}
    total = ledger.month_total("2026-10")
    assert total.cost == Decimal(12) * Decimal("0.6") + Decimal(3) * Decimal("1.2")
    assert {r.tags.cost_center for r in ledger.records()} == {"cc-42"}
    assert client.calls == {}  # every call said the size or the ledger knew it: no Describe


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_the_calls_three_times_shuffled_gives_the_same_records(
    ledger: DynamoLedger, prices: PriceBook, seed: int
) -> None:
    meter, _ = build(ledger, prices)
    replay = LIFE * 3
    random.Random(seed).shuffle(replay)
    for event in replay:
        meter.record(parse_event(event))
    assert server_hours(ledger) == {"Small": Decimal(12), "Medium": Decimal(3)}


def test_a_start_of_a_server_sagecost_never_saw_created_is_priced_once_the_sweep_describes_it(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, client = build(ledger, prices)
    client.servers.append(FakeTrackingServer("team-mlflow", created=T0 - timedelta(days=30), size="Large"))
    # the Start names no size and reads nothing (two requests): its hour is metered at an unknown size
    meter.record(parse_event(call("Start", T0)))
    assert client.calls == {}
    assert server_hours(ledger) == {}
    # the next sweep describes the server once and prices what ran since the Start at its size
    meter.sweep(T0 + timedelta(hours=1))
    meter.record(parse_event(call("Stop", T0 + timedelta(hours=2))))
    assert server_hours(ledger) == {"Large": Decimal(2)}
    assert client.calls == {"ListMlflowTrackingServers": 1, "DescribeMlflowTrackingServer": 1}


def test_the_sweep_opens_a_running_server_meters_it_hourly_and_closes_it_once_gone(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, client = build(ledger, prices)
    client.servers.append(FakeTrackingServer("team-mlflow", created=T0, size="Medium"))
    meter.sweep(T0 + timedelta(hours=3))
    meter.sweep(T0 + timedelta(hours=4))
    assert server_hours(ledger) == {"Medium": Decimal(4)}
    assert client.calls == {"ListMlflowTrackingServers": 2, "DescribeMlflowTrackingServer": 1}
    # a failed listing keeps it open (closes nothing) ...
    client.failure = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "List")
    meter.sweep(T0 + timedelta(hours=5))
    assert server_hours(ledger) == {"Medium": Decimal(4)}
    # ... and once it is no longer listed, the sweep closes it
    client.failure = None
    client.servers.clear()
    meter.sweep(T0 + timedelta(hours=6))
    meter.sweep(T0 + timedelta(hours=7))
    assert server_hours(ledger) == {"Medium": Decimal(6)}
    assert [t.resource.arn for t in ledger.open_timelines()] == []


def test_a_stopped_server_the_ledger_never_saw_is_not_opened_nor_described(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, client = build(ledger, prices)
    client.servers.append(FakeTrackingServer("research-mlflow", created=T0, status="Stopped"))
    meter.sweep(T0 + timedelta(hours=3))
    assert server_hours(ledger) == {}
    assert client.calls == {"ListMlflowTrackingServers": 1}
