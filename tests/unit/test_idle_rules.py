"""Idle shutdown rules: never production, never untagged, never exempt; working hours across daylight
saving and holidays; warn first, act later only if nothing changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sagecost.domain.idleness import (
    IdleWarning,
    MetricSeries,
    Observation,
    app_observation,
    decide,
    endpoint_kind,
    endpoint_observation,
    exemption,
    notebook_observation,
    plan,
    traffic_series,
)
from sagecost.models.config import TagPolicy
from sagecost.models.idle import EndpointKind, IdleKind, IdlePolicy, Phase, WorkingHours
from sagecost.models.state import EndpointConfigSnapshot, VariantSpec

TAGS = TagPolicy()
BERLIN = WorkingHours(timezone="Europe/Berlin", holidays=(date(2026, 12, 25),))
POLICY = IdlePolicy(working_hours=BERLIN)
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # a Tuesday, 21:00 in Berlin
DEV = {"Project": "fraud", "Environment": "dev", "Owner": "alice"}
MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 11:00 in Berlin


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- working hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        # spring forward in Berlin: Sunday 29 March 2026, 02:00 CET -> 03:00 CEST
        (at(2026, 3, 27, 6, 30), False),  # Friday 07:30 CET: before 08:00
        (at(2026, 3, 27, 7, 30), True),  # Friday 08:30 CET
        (at(2026, 3, 30, 6, 30), True),  # Monday 08:30 CEST: the same UTC hour is now working time
        (at(2026, 3, 30, 17, 30), False),  # Monday 19:30 CEST
        # fall back: Sunday 25 October 2026, 03:00 CEST -> 02:00 CET
        (at(2026, 10, 23, 6, 30), True),  # Friday 08:30 CEST
        (at(2026, 10, 26, 6, 30), False),  # Monday 07:30 CET: the same UTC hour is before work now
        (at(2026, 10, 26, 7, 30), True),  # Monday 08:30 CET
        (at(2026, 10, 26, 17, 59), True),  # Monday 18:59 CET
        (at(2026, 10, 26, 18, 0), False),  # Monday 19:00 CET
        # weekends and a holiday
        (at(2026, 11, 28, 10, 0), False),  # Saturday
        (at(2026, 12, 25, 10, 0), False),  # Friday, Christmas (in the holiday list)
        (at(2026, 12, 24, 10, 0), True),  # Thursday before it
    ],
)
def test_working_hours_are_read_on_the_zones_local_clock(moment: datetime, working: bool) -> None:
    assert BERLIN.contains(moment) is working


def test_working_hours_refuse_what_cannot_be_meant() -> None:
    with pytest.raises(ValidationError, match="IANA"):
        WorkingHours(timezone="Berlin/Europe")
    with pytest.raises(ValidationError, match="start before they end"):
        WorkingHours(start="19:00", end="08:00")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="days are"):
        WorkingHours(days=("monday",))


# --- what is idle -------------------------------------------------------------------------------


def endpoint(
    created: datetime,
    kind: EndpointKind = EndpointKind.REAL_TIME,
    readings: dict[MetricSeries, Decimal | None] | None = None,
    **extra: Any,
) -> Observation:
    return endpoint_observation(
        arn="arn:aws:sagemaker:us-east-1:1:endpoint/e",
        name="e",
        tags=DEV,
        created=created,
        kind=kind,
        readings=readings if readings is not None else {},
        policy=POLICY,
        now=NOW,
        hourly_usd=Decimal("1.21"),
        config_name="e-cfg",
        **extra,
    )


INVOCATIONS = MetricSeries("Invocations", (("EndpointName", "e"), ("VariantName", "AllTraffic")))
OLD = NOW - timedelta(days=3)


def test_a_real_time_endpoint_without_invocations_is_idle_unless_younger_than_the_window() -> None:
    assert endpoint(OLD, readings={INVOCATIONS: Decimal(0)}).idle  # no datapoints at all: no traffic
    busy = endpoint(OLD, readings={INVOCATIONS: Decimal(4)})
    assert not busy.idle and busy.signal == "Invocations per variant"
    young = endpoint(NOW - timedelta(hours=5), readings={INVOCATIONS: Decimal(0)})
    assert not young.idle
    assert "younger than the 24 h" in young.reason


def test_each_kind_is_judged_by_the_series_it_publishes() -> None:
    assert traffic_series(EndpointKind.REAL_TIME, "e", ["A", "B"], ()) == (
        MetricSeries("Invocations", (("EndpointName", "e"), ("VariantName", "A"))),
        MetricSeries("Invocations", (("EndpointName", "e"), ("VariantName", "B"))),
    )
    assert traffic_series(EndpointKind.ASYNC, "e", ["A"], ()) == (
        MetricSeries("InvocationsProcessed", (("EndpointName", "e"), ("VariantName", "A"))),
        MetricSeries("ApproximateBacklogSize", (("EndpointName", "e"),), "Maximum"),
    )
    assert traffic_series(EndpointKind.INFERENCE_COMPONENTS, "e", ["A"], ["ic-1"]) == (
        MetricSeries("Invocations", (("InferenceComponentName", "ic-1"),)),
    )
    assert traffic_series(EndpointKind.SERVERLESS, "e", ["A"], ()) == ()
    assert traffic_series(EndpointKind.UNKNOWN, "e", ["A"], ()) == ()


def config(*variants: VariantSpec, asynchronous: bool = False) -> EndpointConfigSnapshot:
    return EndpointConfigSnapshot(name="c", arn="arn:c", variants=variants, asynchronous=asynchronous)


INSTANCES = VariantSpec(name="A", instance_type="ml.m5.xlarge", hosts_inference_components=False)
COMPONENTS = VariantSpec(name="A", instance_type="ml.g5.xlarge", hosts_inference_components=True)
SERVERLESS = VariantSpec(name="S", serverless=True)


@pytest.mark.parametrize(
    ("snapshot", "kind"),
    [
        (config(INSTANCES), EndpointKind.REAL_TIME),
        (config(INSTANCES, asynchronous=True), EndpointKind.ASYNC),
        (config(COMPONENTS), EndpointKind.INFERENCE_COMPONENTS),
        (config(SERVERLESS), EndpointKind.SERVERLESS),
        (None, EndpointKind.UNKNOWN),
        (config(), EndpointKind.UNKNOWN),
        (config(INSTANCES, SERVERLESS), EndpointKind.UNKNOWN),  # mixed
        (config(INSTANCES, COMPONENTS), EndpointKind.UNKNOWN),  # mixed
        (config(COMPONENTS, asynchronous=True), EndpointKind.UNKNOWN),
        (
            config(VariantSpec(name="A", instance_type="ml.m5.xlarge")),
            EndpointKind.UNKNOWN,
        ),  # an old snapshot
    ],
)
def test_the_kind_comes_from_the_endpoint_config_and_anything_unclear_is_unknown(
    snapshot: EndpointConfigSnapshot | None, kind: EndpointKind
) -> None:
    found, why = endpoint_kind(snapshot)
    assert found is kind
    assert (why is None) is (kind is not EndpointKind.UNKNOWN)


def test_an_async_endpoint_is_busy_by_processed_requests_or_any_backlog() -> None:
    processed, backlog = traffic_series(EndpointKind.ASYNC, "e", ["A"], ())
    quiet = endpoint(OLD, EndpointKind.ASYNC, {processed: Decimal(0), backlog: Decimal(0)})
    assert quiet.idle and quiet.reason == "no InvocationsProcessed and no backlog in the last 24 h"
    assert quiet.signal == "InvocationsProcessed per variant and ApproximateBacklogSize"
    assert not endpoint(OLD, EndpointKind.ASYNC, {processed: Decimal(7), backlog: Decimal(0)}).idle
    queued = endpoint(OLD, EndpointKind.ASYNC, {processed: Decimal(0), backlog: Decimal(3)})
    assert not queued.idle and "backlog of up to 3 requests" in queued.reason


def test_no_signal_no_action() -> None:
    unread = endpoint(OLD, readings={INVOCATIONS: None})
    assert not unread.idle and "could not be read" in unread.reason
    nothing = endpoint(OLD, EndpointKind.INFERENCE_COMPONENTS, {})  # no component listed
    assert not nothing.idle and "no Invocations per inference component series" in nothing.reason
    unknown = endpoint(OLD, EndpointKind.UNKNOWN, unknown_because="its endpoint config could not be read")
    assert not unknown.idle and unknown.reason.startswith("kept: its endpoint config could not be read")
    assert unknown.signal == "none: the endpoint's kind is unknown"


def test_a_serverless_endpoint_is_never_idle_and_its_provisioned_concurrency_is_noted() -> None:
    serverless = endpoint(OLD, EndpointKind.SERVERLESS, provisioned_concurrency=2)
    assert not serverless.idle and serverless.reason.startswith("serverless")
    (note,) = serverless.notes
    assert "provisioned concurrency of 2 bills while idle" in note
    assert decide(serverless, POLICY, TAGS, NOW).notes == serverless.notes


def test_a_notebook_is_idle_outside_working_hours_or_running_too_long() -> None:
    def notebook(now: datetime, since: datetime) -> Observation:
        return notebook_observation(
            arn="arn:aws:sagemaker:us-east-1:1:notebook-instance/n",
            name="n",
            tags=DEV,
            running_since=since,
            policy=POLICY,
            now=now,
            hourly_usd=Decimal("0.05"),
        )

    assert notebook(NOW, NOW - timedelta(hours=1)).idle  # 21:00 in Berlin
    working = at(2026, 11, 24, 10, 0)  # 11:00 in Berlin
    assert not notebook(working, working - timedelta(hours=2)).idle
    assert "more than 12 h" in notebook(working, working - timedelta(hours=13)).reason


def test_a_studio_app_is_idle_after_its_limit_without_activity_and_only_for_governed_types() -> None:
    def app(app_type: str, last: datetime | None, now: datetime = MORNING) -> Observation:
        return app_observation(
            arn="arn:aws:sagemaker:us-east-1:1:app/d-1/alice/jupyterlab/default",
            name="default",
            app_type=app_type,
            tags=DEV,
            created=now - timedelta(hours=6),
            last_activity=last,
            policy=POLICY,
            now=now,
            hourly_usd=Decimal("0.05"),
        )

    now = at(2026, 11, 24, 10, 0)
    assert app("JupyterLab", now - timedelta(minutes=150)).idle
    assert not app("JupyterLab", now - timedelta(minutes=30)).idle
    assert app("JupyterLab", None).idle  # never used since its creation 6 h ago
    assert not app("RSessionGateway", now - timedelta(hours=5)).idle
    assert app("CodeEditor", NOW - timedelta(minutes=5), now=NOW).idle  # left on at 21:00


# --- safety and phases --------------------------------------------------------------------------


def observation(
    tags: dict[str, str], *, idle: bool = True, since: datetime = NOW - timedelta(days=2)
) -> Observation:
    return Observation(
        IdleKind.NOTEBOOK,
        "arn:aws:sagemaker:us-east-1:1:notebook-instance/n",
        "n",
        tags,
        since,
        idle,
        "idle",
        Decimal("0.05"),
    )


def warned(tags: dict[str, str], warned_at: datetime, act_at: datetime) -> dict[str, str]:
    return tags | {"sagecost:idle-warning": IdleWarning(warned_at, act_at).tag_value()}


def test_the_first_idle_sweep_warns_with_the_time_of_the_action_and_a_later_one_acts() -> None:
    first = decide(observation(DEV), POLICY, TAGS, NOW)
    assert first.phase is Phase.WARN
    assert first.warning == IdleWarning(NOW, NOW + timedelta(hours=2))
    assert first.warning.tag_value() == "2026-11-24T20:00:00Z/2026-11-24T22:00:00Z"

    tags = DEV | {"sagecost:idle-warning": first.warning.tag_value()}
    assert decide(observation(tags), POLICY, TAGS, NOW + timedelta(hours=1)).phase is Phase.WAIT
    assert decide(observation(tags), POLICY, TAGS, NOW + timedelta(hours=2)).phase is Phase.ACT


def test_traffic_or_a_restart_between_warning_and_action_voids_the_warning() -> None:
    tags = warned(DEV, NOW - timedelta(hours=3), NOW - timedelta(hours=1))
    assert decide(observation(tags, idle=False), POLICY, TAGS, NOW).phase is Phase.CLEAR
    restarted = decide(observation(tags, since=NOW - timedelta(minutes=30)), POLICY, TAGS, NOW)
    assert restarted.phase is Phase.WARN  # warned afresh, never acted on by the old warning
    assert restarted.warning is not None and restarted.warning.warned_at == NOW


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({"Project": "fraud", "Environment": "prod"}, "production"),
        ({"Project": "fraud", "Environment": "Production"}, "production"),
        ({"Project": "fraud"}, "no environment tag"),
        (DEV | {"sagecost:keep-until": "2026-12-01"}, "exempt"),
        (DEV | {"sagecost:keep-until": "next week"}, "exempt"),  # unreadable: kept, and said
    ],
)
def test_protected_resources_are_never_acted_on_even_when_warned_long_ago(
    tags: dict[str, str], why: str
) -> None:
    decision = decide(
        observation(warned(tags, NOW - timedelta(days=1), NOW - timedelta(hours=20))), POLICY, TAGS, NOW
    )
    assert decision.phase is Phase.CLEAR
    assert why in decision.reason


def test_an_expired_exemption_is_ignored_and_the_owner_told() -> None:
    assert exemption({"sagecost:keep-until": "2026-11-24"}, "sagecost:keep-until", NOW) == (True, None)
    exempt, note = exemption({"sagecost:keep-until": "2026-11-23"}, "sagecost:keep-until", NOW)
    assert not exempt and note is not None and "expired" in note
    decision = decide(observation(DEV | {"sagecost:keep-until": "2026-11-01"}), POLICY, TAGS, NOW)
    assert decision.phase is Phase.WARN
    assert "expired" in decision.notes[0]


def test_environments_can_only_narrow_what_is_governed() -> None:
    narrow = IdlePolicy(environments=("dev",))
    assert decide(observation(DEV | {"Environment": "test"}), narrow, TAGS, NOW).phase is Phase.KEEP
    assert decide(observation(DEV), narrow, TAGS, NOW).phase is Phase.WARN
    # naming production among them changes nothing: production is never acted on
    unwise = IdlePolicy(environments=("dev", "prod"))
    assert decide(observation(DEV | {"Environment": "prod"}), unwise, TAGS, NOW).phase is Phase.KEEP


def test_a_run_acts_on_at_most_the_cap_costliest_first() -> None:
    due = [
        decide(
            Observation(
                IdleKind.ENDPOINT,
                f"arn:aws:sagemaker:us-east-1:1:endpoint/e{i}",
                f"e{i}",
                warned(DEV, NOW - timedelta(hours=5), NOW - timedelta(hours=3)),
                NOW - timedelta(days=5),
                True,
                "idle",
                Decimal(i),
            ),
            POLICY,
            TAGS,
            NOW,
        )
        for i in range(5)
    ]
    planned = plan(due, IdlePolicy(max_actions_per_run=2))
    assert [d.observation.name for d in planned if d.acts] == ["e4", "e3"]
    assert sum(1 for d in planned if d.phase is Phase.WAIT) == 3


# --- the property ---------------------------------------------------------------------------------

environments = st.sampled_from([None, "dev", "test", "staging", "prod", "production", "PROD", ""])
keep_until = st.sampled_from([None, "2026-11-20", "2026-11-24", "2026-12-01", "soon"])


@settings(max_examples=400, deadline=None)
@given(
    environment=environments,
    until=keep_until,
    idle=st.booleans(),
    warned_hours_ago=st.one_of(st.none(), st.integers(0, 72)),
    since_hours_ago=st.integers(0, 200),
    kind=st.sampled_from(list(IdleKind)),
    hours=st.integers(0, 24 * 7),
)
def test_nothing_production_untagged_or_exempt_before_its_expiry_is_ever_acted_on(
    environment: str | None,
    until: str | None,
    idle: bool,
    warned_hours_ago: int | None,
    since_hours_ago: int,
    kind: IdleKind,
    hours: int,
) -> None:
    now = NOW + timedelta(hours=hours)
    tags = {"Project": "p"}
    if environment is not None:
        tags["Environment"] = environment
    if until is not None:
        tags["sagecost:keep-until"] = until
    if warned_hours_ago is not None:
        tags["sagecost:idle-warning"] = IdleWarning(
            now - timedelta(hours=warned_hours_ago),
            now - timedelta(hours=warned_hours_ago) + timedelta(hours=2),
        ).tag_value()
    obs = Observation(
        kind,
        "arn:aws:sagemaker:us-east-1:1:x/y",
        "y",
        tags,
        now - timedelta(hours=since_hours_ago),
        idle,
        "r",
    )
    decision = plan([decide(obs, POLICY, TAGS, now)], POLICY)[0]
    if decision.acts:
        assert environment and environment.lower() not in {"prod", "production"}
        exempt_until = None
        if until and until != "soon":
            exempt_until = datetime.fromisoformat(until).replace(tzinfo=UTC) + timedelta(days=1)
        assert until != "soon" and (exempt_until is None or now >= exempt_until)
        assert idle and warned_hours_ago is not None and warned_hours_ago >= 2
        assert since_hours_ago >= warned_hours_ago  # not restarted since the warning


resources = st.builds(
    lambda env, until, idle, warned, since, kind, rate: (env, until, idle, warned, since, kind, rate),
    environments,
    keep_until,
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 72)),
    st.integers(0, 200),
    st.sampled_from(list(IdleKind)),
    st.integers(0, 50),
)


@settings(max_examples=200, deadline=None)
@given(fleet=st.lists(resources, max_size=30), cap=st.integers(0, 10), hours=st.integers(0, 24 * 7))
def test_over_any_fleet_only_unprotected_warned_idle_resources_are_acted_on_and_never_beyond_the_cap(
    fleet: list[tuple[str | None, str | None, bool, int | None, int, IdleKind, int]], cap: int, hours: int
) -> None:
    now = NOW + timedelta(hours=hours)
    observations = []
    for index, (environment, until, idle, warned_ago, since_ago, kind, rate) in enumerate(fleet):
        tags = {"Project": "p"}
        if environment is not None:
            tags["Environment"] = environment
        if until is not None:
            tags["sagecost:keep-until"] = until
        if warned_ago is not None:
            warned_at = now - timedelta(hours=warned_ago)
            tags["sagecost:idle-warning"] = IdleWarning(warned_at, warned_at + timedelta(hours=2)).tag_value()
        observations.append(
            Observation(
                kind,
                f"arn:aws:sagemaker:us-east-1:1:x/r{index}",
                f"r{index}",
                tags,
                now - timedelta(hours=since_ago),
                idle,
                "r",
                Decimal(rate),
            )
        )
    policy = IdlePolicy(max_actions_per_run=cap)
    planned = plan([decide(o, policy, TAGS, now) for o in observations], policy)
    acted = [d for d in planned if d.acts]
    assert len(acted) <= cap
    for decision in acted:
        kept = decision.observation.tags
        environment = kept.get("Environment", "")
        assert environment and environment.lower() not in {"prod", "production"}
        until = kept.get("sagecost:keep-until")
        assert until != "soon"
        assert until is None or now >= datetime.fromisoformat(until).replace(tzinfo=UTC) + timedelta(days=1)
        assert decision.observation.idle
