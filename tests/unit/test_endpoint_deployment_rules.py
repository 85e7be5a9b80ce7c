"""Blue/green endpoint deployments: the second fleet's lines, from the AWS sample event (fixture) and the
pending config, worked out by hand. Test rates: hosting ml.m5.xlarge $0.23/h, ml.c5.xlarge $0.204/h."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sagecost.domain.kinds import endpoint_deployment
from sagecost.domain.kinds.endpoint import UNKNOWN_INSTANCE_TYPE, endpoint_lines
from sagecost.domain.metering import ResourceRef
from sagecost.domain.pricing import PriceBook
from sagecost.domain.timeline import meter_timeline
from sagecost.models.events import EndpointDeploymentEvent, parse_event
from sagecost.models.ledger import ResourceKind, TagSnapshot
from sagecost.models.prices import Component, storage_type
from sagecost.models.state import BillingLine, EndpointConfigSnapshot, Transition, VariantSpec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kinds" / "endpoint-deployment-state-change.json"
ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/sample-endpoint"
OLD = EndpointConfigSnapshot(
    name="sample-endpoint-config-1",
    arn="arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/sample-endpoint-config-1",
    variants=(VariantSpec(name="AllTraffic", instance_type="ml.m5.xlarge", initial_count=3),),
)
NEW = EndpointConfigSnapshot(
    name="sample-endpoint-config-2",
    arn="arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/sample-endpoint-config-2",
    variants=(VariantSpec(name="AllTraffic", instance_type="ml.c5.xlarge", initial_count=3, volume_gb=10),),
)
CHANGED = datetime(2026, 10, 12, 13, 50, tzinfo=UTC)  # LastModifiedTime of the sample
BAKING = datetime(2026, 10, 12, 13, 58, tzinfo=UTC)  # its VariantStatus StartTime


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


def deployment(raw: dict[str, Any]) -> EndpointDeploymentEvent:
    event = parse_event(raw)
    assert isinstance(event, EndpointDeploymentEvent)
    return event


def test_the_sample_event_is_a_deployment_with_a_canary_of_one_instance() -> None:
    event = deployment(sample())
    pending = event.detail.pending_deployment_summary
    assert pending is not None and pending.endpoint_config_name == "sample-endpoint-config-2"
    (variant,) = pending.production_variants
    assert (variant.variant_name, variant.instance_count) == ("AllTraffic", 1)
    assert event.detail.last_modified_time == CHANGED
    assert endpoint_deployment.deployment_time(event) == BAKING


def test_both_fleets_bill_while_the_new_one_runs() -> None:
    transition = endpoint_deployment.deployment_transition(deployment(sample()), OLD, NEW)
    assert transition is not None
    assert (transition.at, transition.status) == (BAKING, "UPDATING")
    assert transition.lines == (
        BillingLine(
            line="variant/AllTraffic", component=Component.HOSTING, instance_type="ml.m5.xlarge", count=3
        ),
        BillingLine(
            line="variant/AllTraffic/new-fleet",
            component=Component.HOSTING,
            instance_type="ml.c5.xlarge",
            count=1,
        ),
        BillingLine(
            line="variant/AllTraffic/new-fleet/storage",
            component=Component.ML_STORAGE,
            instance_type=storage_type(Component.HOSTING),
            count=1,
            volume_gb=10,
        ),
    )
    assert transition.variant_counts == (("AllTraffic", 3), ("AllTraffic/new-fleet", 1))


def test_the_instance_type_the_event_names_wins_and_without_a_config_it_is_unknown() -> None:
    raw = sample()
    raw["detail"]["PendingDeploymentSummary"]["ProductionVariants"][0]["InstanceType"] = "ml.g5.xlarge"
    typed = endpoint_deployment.deployment_transition(deployment(raw), OLD, None)
    assert typed is not None
    assert [(line.line, line.instance_type) for line in typed.lines] == [
        ("variant/AllTraffic", "ml.m5.xlarge"),
        ("variant/AllTraffic/new-fleet", "ml.g5.xlarge"),
    ]
    unknown = endpoint_deployment.deployment_transition(deployment(sample()), OLD, None)
    assert unknown is not None and unknown.lines[-1].instance_type == UNKNOWN_INSTANCE_TYPE


def test_repricing_a_deployment_without_its_pending_config_keeps_the_new_fleet_unpriced() -> None:
    counts = (("AllTraffic", 3), ("AllTraffic/new-fleet", 1))
    assert endpoint_lines("UPDATING", counts, OLD)[-1] == BillingLine(
        line="variant/AllTraffic/new-fleet",
        component=Component.HOSTING,
        instance_type=UNKNOWN_INSTANCE_TYPE,
        count=1,
    )
    assert endpoint_lines("UPDATING", (*counts[:1], ("AllTraffic/new-fleet", 0)), OLD) == endpoint_lines(
        "UPDATING", counts[:1], OLD
    )


def test_a_deployment_event_without_a_second_fleet_adds_nothing() -> None:
    raw = sample()
    del raw["detail"]["PendingDeploymentSummary"]
    assert endpoint_deployment.deployment_transition(deployment(raw), OLD, NEW) is None


def test_the_deployment_follows_the_endpoint_event_of_the_same_change() -> None:
    raw = sample()
    for variant in raw["detail"]["PendingDeploymentSummary"]["ProductionVariants"]:
        variant["VariantStatus"] = []
    assert endpoint_deployment.deployment_time(deployment(raw)) == CHANGED + timedelta(milliseconds=1)


def test_canary_then_full_fleet_then_in_service_bills_hand_computed_hours(prices: PriceBook) -> None:
    """Old fleet 3 x ml.m5.xlarge from 13:00; canary (1 new instance) from 13:58; all 3 new instances from
    14:10; IN_SERVICE on the new config at 14:20 ends the old fleet; deleted at 15:00.
    ml.m5.xlarge: 3 x 1h20 = 4 h. New fleet ml.c5.xlarge: 1 x 12 min + 3 x 10 min = 0.7 h; then
    3 x 40 min = 2 h as the endpoint's own: 2.7 h."""
    canary = deployment(sample())
    full_raw = copy.deepcopy(sample())
    full_raw["id"] = "full"
    pending = full_raw["detail"]["PendingDeploymentSummary"]["ProductionVariants"][0]
    pending["CurrentInstanceCount"] = 3
    pending["VariantStatus"] = [{"Status": "ActivatingTraffic", "StartTime": 1791814200000}]  # 14:10
    full = deployment(full_raw)
    start = CHANGED - timedelta(minutes=50)
    done = datetime(2026, 10, 12, 14, 20, tzinfo=UTC)
    transitions = [
        Transition(
            at=start,
            status="IN_SERVICE",
            lines=endpoint_lines("IN_SERVICE", [("AllTraffic", 3)], OLD),
            event_id="a",
        ),
        Transition(
            at=CHANGED,
            status="UPDATING",
            lines=endpoint_lines("UPDATING", [("AllTraffic", 3)], OLD),
            event_id="b",
        ),
        endpoint_deployment.deployment_transition(canary, OLD, NEW),
        endpoint_deployment.deployment_transition(full, OLD, NEW),
        Transition(
            at=done,
            status="IN_SERVICE",
            lines=endpoint_lines("IN_SERVICE", [("AllTraffic", 3)], NEW),
            event_id="c",
        ),
        Transition(at=done + timedelta(minutes=40), status="DELETING", lines=(), event_id="d"),
    ]
    resource = ResourceRef.from_arn(ARN, ResourceKind.ENDPOINT, "sample-endpoint")
    records = meter_timeline(
        [t for t in transitions if t is not None],
        resource,
        start,
        start + timedelta(hours=3),
        prices,
        TagSnapshot(),
    )
    hours = {
        instance_type: sum(r.quantity for r in records if r.instance_type == instance_type)
        for instance_type in ("ml.m5.xlarge", "ml.c5.xlarge")
    }
    assert hours == {"ml.m5.xlarge": 4, "ml.c5.xlarge": Decimal("2.7")}
    new_fleet = sum(r.quantity for r in records if r.line == "variant/AllTraffic/new-fleet")
    assert new_fleet == Decimal("0.7")
