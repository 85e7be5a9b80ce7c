"""Issue 12: the tag policy's kinds include spaces, user profiles, inference components, HyperPod clusters
and MLflow tracking servers; existing configs stay valid and govern them in their default mode."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sagecost.models.config import Mode, PolicyKind, SagecostConfig
from sagecost.models.tagging import CREATE_CALLS

NEW = {
    "space": PolicyKind.SPACE,
    "user-profile": PolicyKind.USER_PROFILE,
    "inference-component": PolicyKind.INFERENCE_COMPONENT,
    "cluster": PolicyKind.HYPERPOD_CLUSTER,
    "mlflow-tracking-server": PolicyKind.MLFLOW_TRACKING_SERVER,
}


def test_the_new_kinds_are_named_as_their_arns_name_them_and_have_a_create_call() -> None:
    assert {kind.value: kind for kind in NEW.values()} == NEW
    created = {kind for kind, _ in CREATE_CALLS.values()}
    assert set(NEW.values()) <= created
    assert CREATE_CALLS["CreateMlflowTrackingServer"] == (
        PolicyKind.MLFLOW_TRACKING_SERVER,
        "trackingServerArn",
    )
    assert CREATE_CALLS["CreateCluster"] == (PolicyKind.HYPERPOD_CLUSTER, "clusterArn")


def test_a_config_without_scope_governs_them_in_its_default_mode() -> None:
    config = SagecostConfig.model_validate(
        {"tags": {"default_mode": "report", "modes": {"training-job": "tag"}}}
    )
    for kind in NEW.values():
        assert config.tags.mode_for(kind) is Mode.REPORT


def test_a_config_can_set_their_modes_or_leave_them_out_of_scope() -> None:
    config = SagecostConfig.model_validate(
        {"tags": {"scope": ["training-job", "space"], "modes": {"space": "tag", "cluster": "tag"}}}
    )
    assert config.tags.mode_for(PolicyKind.SPACE) is Mode.TAG
    assert config.tags.mode_for(PolicyKind.HYPERPOD_CLUSTER) is None  # out of scope: left alone
    assert config.tags.mode_for(PolicyKind.INFERENCE_COMPONENT) is None


@pytest.mark.parametrize("kind", sorted(NEW))
def test_none_of_them_can_be_enforced_sagecost_never_stops_them(kind: str) -> None:
    with pytest.raises(ValidationError, match="only training, processing and transform jobs"):
        SagecostConfig.model_validate({"tags": {"modes": {kind: "enforce"}}})
