"""The kinds' registry is the one list of what sagecost meters: the event models accept exactly its events,
and the template's usage rule routes exactly them, so adding a kind cannot meter events nobody routes."""

from __future__ import annotations

from typing import Any

import pytest

from sagecost.domain.kinds import registry
from sagecost.domain.kinds.spec import Metering
from sagecost.local.template import load_template
from sagecost.models.events import (
    API_CALL,
    METERED_API_CALLS,
    METERED_DETAIL_TYPES,
    InvalidEvent,
    parse_event,
)
from sagecost.models.ledger import ResourceKind


def _usage_rule_patterns() -> list[dict[str, Any]]:
    pattern = load_template()["Resources"]["UsageEventsRule"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    return list(pattern.get("$or", [pattern]))


def _routed_detail_types() -> set[str]:
    return {
        detail_type
        for pattern in _usage_rule_patterns()
        for detail_type in pattern["detail-type"]
        if detail_type != API_CALL
    }


def _routed_api_calls() -> set[str]:
    calls: set[str] = set()
    for pattern in _usage_rule_patterns():
        if pattern["detail-type"] == [API_CALL]:
            assert pattern["detail"]["eventSource"] == ["sagemaker.amazonaws.com"]
            calls |= set(pattern["detail"]["eventName"])
    return calls


def test_the_registry_the_event_models_and_the_usage_rule_name_the_same_state_changes() -> None:
    assert set(registry.metered_detail_types()) == set(METERED_DETAIL_TYPES) == _routed_detail_types()


def test_the_registry_the_event_models_and_the_usage_rule_name_the_same_cloudtrail_calls() -> None:
    assert set(registry.metered_cloudtrail_calls()) == set(METERED_API_CALLS) == _routed_api_calls()


def test_no_two_kinds_claim_the_same_event() -> None:
    claimed = [*registry.metered_detail_types(), *registry.metered_cloudtrail_calls()]
    assert len(claimed) == len(set(claimed))


def test_every_metering_kind_has_a_resource_kind_and_a_price_component() -> None:
    for spec in registry.KINDS:
        if spec.metering is not Metering.CACHE:
            assert spec.kind is not None and spec.component is not None, spec
            assert spec in registry.specs_of(spec.kind)


def test_every_resource_kind_of_the_ledger_is_metered_by_some_kind_module() -> None:
    assert {kind for kind in ResourceKind if not registry.specs_of(kind)} == set()


@pytest.mark.parametrize("call", ["CreateTrainingJob", "StopNotebookInstance", None])
def test_a_cloudtrail_call_no_kind_meters_is_rejected_with_its_name(call: str | None) -> None:
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": API_CALL,
        "source": "aws.sagemaker",
        "account": "111122223333",
        "time": "2026-10-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventName": call,
            "eventSource": "sagemaker.amazonaws.com",
            "eventTime": "2026-10-01T00:00:00Z",
        },
    }
    with pytest.raises(InvalidEvent, match=f"CloudTrail call {call!r} is not one sagecost meters"):
        parse_event(event)
