"""MLflow tracking servers and HyperPod clusters: the pure rules, on the real shapes (fixtures/kinds)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sagecost.adapters.hyperpod import Boto3HyperPodClusters
from sagecost.adapters.mlflow import Boto3MlflowServers
from sagecost.domain.kinds import hyperpod, mlflow
from sagecost.domain.kinds.registry import metered_cloudtrail_calls, metered_detail_types
from sagecost.local.fake_hyperpod import FakeCluster, FakeHyperPodClient, FakeInstanceGroup
from sagecost.local.fake_mlflow import FakeMlflowClient, FakeTrackingServer
from sagecost.models.events import (
    METERED_API_CALLS,
    METERED_DETAIL_TYPES,
    ApiCallEvent,
    ClusterInstanceGroupState,
    HyperPodClusterEvent,
    InvalidEvent,
    parse_event,
)
from sagecost.models.prices import Component

KINDS = Path(__file__).parents[1] / "fixtures" / "kinds"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((KINDS / name).read_text())
    return loaded


def test_the_create_call_names_arn_size_and_tags() -> None:
    event = parse_event(fixture("cloudtrail-CreateMlflowTrackingServer.json"))
    assert isinstance(event, ApiCallEvent)
    assert mlflow.arn_of(event).endswith(":mlflow-tracking-server/team-mlflow")
    assert mlflow.requested_size(event) == "Small"
    assert event.detail.tags == {"cost-center": "cc-42"}
    transition = mlflow.call_transition(event, "Small")
    assert transition.status == "Creating"
    (line,) = transition.lines
    assert (line.component, line.instance_type, line.count) == (Component.MLFLOW, "Small", 1)


def test_a_create_without_a_size_is_small_and_a_bad_size_is_refused() -> None:
    raw = fixture("cloudtrail-CreateMlflowTrackingServer.json")
    del raw["detail"]["requestParameters"]["trackingServerSize"]
    event = parse_event(raw)
    assert isinstance(event, ApiCallEvent)
    assert mlflow.requested_size(event) == "Small"
    raw["detail"]["requestParameters"]["trackingServerSize"] = "Huge"
    event = parse_event(raw)
    assert isinstance(event, ApiCallEvent)
    with pytest.raises(InvalidEvent):
        mlflow.requested_size(event)


def test_stopped_deleted_and_failed_servers_bill_nothing_the_others_their_size() -> None:
    for status in ("Stopped", "Deleted", "Deleting", "CreateFailed"):
        assert mlflow.server_lines(status, "Large") == ()
    for status in ("Creating", "Created", "Started", "Updating", "MaintenanceInProgress"):
        assert [line.instance_type for line in mlflow.server_lines(status, "Large")] == ["Large"]
    assert not mlflow.needs_size("Stopped", None)
    assert mlflow.needs_size("Started", None)
    assert not mlflow.needs_size("Started", "Small")


def test_the_delete_call_carries_the_arn_and_no_size() -> None:
    event = parse_event(fixture("cloudtrail-DeleteMlflowTrackingServer.json"))
    assert isinstance(event, ApiCallEvent)
    assert mlflow.requested_size(event) is None
    assert mlflow.call_transition(event, "Small").lines == ()


def test_the_hyperpod_event_gives_one_line_per_group_at_its_current_count() -> None:
    event = parse_event(fixture("hyperpod-cluster-state-change.json"))
    assert isinstance(event, HyperPodClusterEvent)
    transition = hyperpod.event_transition(event)
    assert transition.at == datetime(2026, 10, 10, 7, tzinfo=UTC)
    assert [(line.line, line.instance_type, line.count) for line in transition.lines] == [
        ("group/controller-group", "ml.m5.xlarge", 1),
        ("group/worker-group-1", "ml.g5.12xlarge", 2),
    ]
    assert {line.component for line in transition.lines} == {Component.HYPERPOD}


def test_a_hyperpod_event_with_an_unknown_status_or_arn_is_refused() -> None:
    raw = fixture("hyperpod-cluster-state-change.json")
    raw["detail"]["ClusterStatus"] = "Exploded"
    with pytest.raises(InvalidEvent):
        parse_event(raw)
    raw = fixture("hyperpod-cluster-state-change.json")
    raw["detail"]["ClusterArn"] = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/x"
    with pytest.raises(InvalidEvent):
        parse_event(raw)


def test_the_registry_and_the_event_models_route_the_same_new_events() -> None:
    assert "SageMaker HyperPod Cluster State Change" in metered_detail_types()
    assert set(metered_detail_types()) == set(METERED_DETAIL_TYPES)
    assert set(metered_cloudtrail_calls()) == set(METERED_API_CALLS)


def test_the_adapters_read_the_real_shapes_through_the_fakes() -> None:
    created = datetime(2026, 10, 1, tzinfo=UTC)
    servers = FakeMlflowClient(
        [FakeTrackingServer(f"s{i}", created=created.replace(hour=i % 24)) for i in range(150)]
    )
    listed = Boto3MlflowServers(servers).tracking_servers()
    assert len(listed) == 150 and servers.calls == {"ListMlflowTrackingServers": 2}
    assert Boto3MlflowServers(servers).tracking_server_size("s3") == "Small"
    assert Boto3MlflowServers(servers).tracking_server_size("nope") is None
    cluster = FakeCluster("a1b2c3d4e5f6", "c", created, [FakeInstanceGroup("g", "ml.m5.xlarge", 3)])
    clusters = Boto3HyperPodClusters(FakeHyperPodClient([cluster]))
    (summary,) = clusters.clusters()
    state = clusters.cluster(summary.name)
    assert state is not None and [g.current_count for g in state.groups] == [3]
    assert clusters.cluster("gone") is None
    described = fixture("DescribeCluster.json")
    groups = [ClusterInstanceGroupState.model_validate(g) for g in described["InstanceGroups"]]
    assert [(line.instance_type, line.count) for line in hyperpod.cluster_lines(groups)] == [
        ("ml.m5.xlarge", 1),
        ("ml.g5.12xlarge", 2),
    ]
