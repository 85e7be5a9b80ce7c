"""HyperPod clusters on moto's DynamoDB: instance groups x current counts x hours, from the cluster's
state-change events and the sweep's DescribeCluster."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sagecost.adapters.hyperpod import Boto3HyperPodClusters
from sagecost.adapters.ledger import DynamoLedger
from sagecost.domain.pricing import PriceBook
from sagecost.local.fake_hyperpod import FakeCluster, FakeHyperPodClient, FakeInstanceGroup
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.models.config import SagecostConfig
from sagecost.models.events import parse_event
from sagecost.models.ledger import ResourceKind
from sagecost.services.usage import UsageMeter
from sagecost.services.usage.hyperpod import HyperPodMeter
from sagecost.services.usage.writer import UsageWriter

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kinds" / "hyperpod-cluster-state-change.json"
T0 = datetime(2026, 10, 10, 7, 0, tzinfo=UTC)
CREATED = datetime.fromtimestamp(1791614400, tz=UTC)


def state_change(at: datetime, status: str = "InService", workers: int = 2) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads(FIXTURE.read_text()))
    event["id"] = f"{status}-{at.isoformat()}-{workers}"
    event["time"] = at.isoformat().replace("+00:00", "Z")
    event["detail"]["ClusterStatus"] = status
    event["detail"]["InstanceGroups"][0]["CurrentCount"] = workers
    return event


def build(ledger: DynamoLedger, prices: PriceBook) -> tuple[UsageMeter, FakeHyperPodClient]:
    cluster = FakeCluster(
        "a1b2c3d4e5f6",
        "train-cluster",
        created=CREATED,
        groups=[
            FakeInstanceGroup("worker-group-1", "ml.g5.12xlarge", 2),
            FakeInstanceGroup("controller-group", "ml.m5.xlarge", 1),
        ],
        tags={"Project": "llm", "Team": "research"},
    )
    client = FakeHyperPodClient(clusters=[cluster])
    config = SagecostConfig()
    meter = UsageMeter(
        ledger,
        FakeSageMaker(),
        prices,
        config,
        kind_meters=[HyperPodMeter(UsageWriter(ledger, prices, config), Boto3HyperPodClusters(client))],
    )
    return meter, client


def instance_hours(ledger: DynamoLedger) -> dict[str, Decimal]:
    hours: dict[str, Decimal] = {}
    for record in ledger.records():
        if record.resource_kind is ResourceKind.HYPERPOD_CLUSTER:
            hours[record.instance_type] = hours.get(record.instance_type, Decimal(0)) + record.quantity
    return hours


EVENTS = [
    state_change(T0),
    state_change(T0 + timedelta(hours=10), "Updating", workers=2),
    state_change(T0 + timedelta(hours=10, minutes=30), "InService", workers=4),
    state_change(T0 + timedelta(hours=12), "Deleting", workers=0),
]


def test_events_bill_every_group_by_its_current_count_and_the_sweep_reads_tags_once(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, client = build(ledger, prices)
    # the events of the first hours (they carry no tags, and read none: one ledger read, one transaction)
    early = [e for e in EVENTS if e["time"] < (T0 + timedelta(hours=1)).isoformat()]
    for event in early:
        meter.record(parse_event(event))
    assert client.calls == {}
    # the hourly sweep reads the cluster's tags once (and DescribeCluster, as every hour)
    meter.sweep(T0 + timedelta(hours=1))
    for event in EVENTS[len(early) :]:
        meter.record(parse_event(event))
    # workers: 2 x 10.5 h + 4 x 1.5 h = 27; controller: 1 x 12 h (still there while Deleting) ...
    expected = {"ml.g5.12xlarge": Decimal(27), "ml.m5.xlarge": Decimal(12)}
    assert instance_hours(ledger) == expected
    assert ledger.month_total("2026-10").cost == Decimal(27) * Decimal("7.09") + Decimal(12) * Decimal("0.23")
    # ... all of it on the cluster's tags, the hour metered before the sweep read them included
    assert {(r.tags.project, r.tags.team) for r in ledger.records()} == {("llm", "research")}
    assert client.calls["ListTags"] == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_the_events_three_times_shuffled_gives_the_same_records(
    ledger: DynamoLedger, prices: PriceBook, seed: int
) -> None:
    meter, _ = build(ledger, prices)
    replay = EVENTS * 3
    random.Random(seed).shuffle(replay)
    for event in replay:
        meter.record(parse_event(event))
    assert instance_hours(ledger) == {"ml.g5.12xlarge": Decimal(27), "ml.m5.xlarge": Decimal(12)}


def test_the_sweep_opens_a_cluster_no_event_announced_follows_its_counts_and_closes_it_when_gone(
    ledger: DynamoLedger, prices: PriceBook
) -> None:
    meter, client = build(ledger, prices)
    meter.sweep(CREATED + timedelta(hours=3))
    assert instance_hours(ledger) == {"ml.g5.12xlarge": Decimal(6), "ml.m5.xlarge": Decimal(3)}
    assert client.calls == {"ListClusters": 1, "DescribeCluster": 1, "ListTags": 1}
    client.clusters[0].groups[0].count = 3  # a node added, no event
    meter.sweep(CREATED + timedelta(hours=4))
    meter.sweep(CREATED + timedelta(hours=5))
    # the change is seen at the 4 h sweep: 2 x 4 + 3 x 1 worker hours
    assert instance_hours(ledger) == {"ml.g5.12xlarge": Decimal(11), "ml.m5.xlarge": Decimal(5)}
    client.clusters.clear()
    meter.sweep(CREATED + timedelta(hours=6))
    meter.sweep(CREATED + timedelta(hours=7))
    assert instance_hours(ledger) == {"ml.g5.12xlarge": Decimal(14), "ml.m5.xlarge": Decimal(6)}
    assert list(ledger.open_timelines()) == []
