"""Issue 12: a kind is judged idle only by a sound signal. Studio apps by their last activity (and acted on
only with none since the warning), inference components through their endpoint per component; spaces,
HyperPod clusters, MLflow servers, warm pools, serverless endpoints and deployments never."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sagecost.adapters.prices import load_catalog
from sagecost.adapters.sagemaker import EndpointSummary, NotebookSummary
from sagecost.adapters.studio import Boto3StudioApps
from sagecost.domain.idleness import IdleWarning, MetricSeries, app_observation, decide
from sagecost.domain.kinds import (
    endpoint_deployment,
    hyperpod,
    inference_component,
    mlflow,
    serverless,
    space,
    studio_app,
    warm_pool,
)
from sagecost.domain.kinds.registry import KINDS
from sagecost.domain.pricing import PriceBook
from sagecost.local.fake_studio import FakeApp, FakeSpace, FakeStudioClient
from sagecost.local.simulator import RecordingNotifier
from sagecost.models.config import SagecostConfig
from sagecost.models.idle import IdleKind, IdlePolicy, Phase, WorkingHours
from sagecost.models.ledger import ResourceKind
from sagecost.models.state import EndpointConfigSnapshot
from sagecost.services.idle import IdleReaper, UnrecordedLedger

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
ACCOUNT, DOMAIN = "123456789012", "d-a1b2c3d4e5f6"
PREFIX = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
WARNING_TAG = IdlePolicy().warning_tag
IDLE_KIND_OF = {
    IdleKind.ENDPOINT: ResourceKind.ENDPOINT,
    IdleKind.NOTEBOOK: ResourceKind.NOTEBOOK_INSTANCE,
    IdleKind.STUDIO_APP: ResourceKind.STUDIO_APP,
}


def test_kinds_without_a_sound_signal_say_so_in_their_spec() -> None:
    for spec in (
        space.SPEC,
        hyperpod.SPEC,
        mlflow.SPEC,
        warm_pool.SPEC,
        serverless.SPEC,
        endpoint_deployment.SPEC,
        inference_component.SPEC,  # judged through its endpoint, never alone
    ):
        assert spec.idle_signal is None, spec
    assert studio_app.SPEC.idle_signal is not None
    assert "LastUserActivityTimestamp" in studio_app.SPEC.idle_signal


def test_only_kinds_with_a_signal_can_be_observed_by_the_idle_reaper() -> None:
    """Every IdleKind is a resource kind some spec gives a signal; no spec without one has an IdleKind."""
    with_signal = {spec.kind for spec in KINDS if spec.idle_signal is not None}
    assert set(IDLE_KIND_OF.values()) <= with_signal
    never = {ResourceKind.SPACE, ResourceKind.HYPERPOD_CLUSTER, ResourceKind.MLFLOW_SERVER}
    never |= {ResourceKind.INFERENCE_COMPONENT}
    assert not never & set(IDLE_KIND_OF.values())
    assert all(spec.idle_signal is None for spec in KINDS if spec.kind in never)


class _SageMaker:
    """No endpoints or notebooks; every write recorded (none may touch a kind without a signal)."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []

    def endpoints(self) -> list[EndpointSummary]:
        return []

    def endpoint(self, name: str) -> EndpointSummary | None:
        return None

    def endpoint_config(self, name: str) -> EndpointConfigSnapshot | None:
        return None

    def notebooks(self) -> list[NotebookSummary]:
        return []

    def add_tags(self, arn: str, tags: dict[str, str]) -> bool:
        self.writes.append(("AddTags", arn))
        return True

    def delete_tags(self, arn: str, keys: list[str]) -> bool:
        self.writes.append(("DeleteTags", arn))
        return True

    def stop_notebook(self, name: str) -> bool:
        self.writes.append(("StopNotebookInstance", name))
        return True

    def delete_endpoint(self, name: str) -> bool:
        self.writes.append(("DeleteEndpoint", name))
        return True


class _Traffic:
    def read(
        self, series: Sequence[MetricSeries], start: datetime, end: datetime
    ) -> dict[MetricSeries, Decimal | None]:
        return {}


PRICES = PriceBook(load_catalog())
ENVIRONMENTS = st.sampled_from(["dev", "test", "prod", ""])
AGES = st.integers(min_value=0, max_value=30 * 24)


@settings(max_examples=40, deadline=None)
@given(
    spaces=st.lists(st.tuples(ENVIRONMENTS, AGES), max_size=4),
    others=st.lists(
        st.tuples(
            st.sampled_from(["cluster", "mlflow-tracking-server", "inference-component"]), ENVIRONMENTS
        ),
        max_size=4,
    ),
    warned_hours_ago=st.one_of(st.none(), st.integers(min_value=0, max_value=72)),
    app_quiet_hours=st.integers(min_value=0, max_value=48),
    enforce=st.booleans(),
)
def test_spaces_clusters_and_mlflow_servers_are_never_warned_or_acted_on(
    spaces: list[tuple[str, int]],
    others: list[tuple[str, str]],
    warned_hours_ago: int | None,
    app_quiet_hours: int,
    enforce: bool,
) -> None:
    """However idle-looking (non-production, old, even carrying a stale warning tag), a resource of a kind
    without a signal is never observed, decided, tagged, deleted or told about; apps beside them may be."""
    studio = FakeStudioClient()
    tags: dict[str, dict[str, str]] = {}
    warning = (
        {WARNING_TAG: IdleWarning(NOW - timedelta(hours=warned_hours_ago), NOW).tag_value()}
        if warned_hours_ago is not None
        else {}
    )
    for index, (environment, age) in enumerate(spaces):
        fake = FakeSpace(DOMAIN, f"space-{index}", NOW - timedelta(hours=age), account=ACCOUNT)
        studio.spaces.append(fake)
        tags[fake.arn] = {"Environment": environment, **warning} if environment else dict(warning)
        studio.apps.append(
            FakeApp(
                DOMAIN,
                fake.name,
                "JupyterLab",
                "default",
                NOW - timedelta(hours=age + 1),
                last_activity=NOW - timedelta(hours=app_quiet_hours),
                is_space=True,
                account=ACCOUNT,
            )
        )
    for index, (kind, environment) in enumerate(others):
        tags[f"{PREFIX}:{kind}/r{index}"] = {"Environment": environment, **warning} if environment else {}
    without_signal = set(tags)
    for app in studio.apps:
        tags[app.arn] = {"Environment": "dev"}
    sagemaker = _SageMaker()
    notifier = RecordingNotifier()
    reaper = IdleReaper(
        sagemaker=sagemaker,
        studio=Boto3StudioApps(studio),
        traffic=_Traffic(),
        tags=lambda: tags,
        ledger=UnrecordedLedger(),
        notifier=notifier,
        prices=PRICES,
        config=SagecostConfig(idle=IdlePolicy(working_hours=WorkingHours(days=()), enforce=enforce)),
    )

    report = reaper.sweep(NOW, apply=True)

    judged = {decision.observation.arn for decision in report.decisions}
    assert not judged & without_signal
    assert {d.observation.kind for d in report.decisions} <= {IdleKind.STUDIO_APP}
    assert not {arn for _, arn in sagemaker.writes} & without_signal
    assert all(not any(arn in sent["message"] for arn in without_signal) for sent in notifier.sent)


QUIET = st.integers(min_value=0, max_value=48 * 60)


@settings(max_examples=200, deadline=None)
@given(
    quiet_minutes=QUIET,
    warned_minutes_ago=st.one_of(st.none(), QUIET),
    working=st.booleans(),
)
def test_an_app_is_acted_on_only_when_no_activity_came_since_a_warning_old_enough(
    quiet_minutes: int, warned_minutes_ago: int | None, working: bool
) -> None:
    """Whatever first warned it (its idle limit, or being left on outside working hours), an app is deleted
    only if its last activity is before the warning and the warning is `warning_hours` old: its last
    activity is the signal the action rests on."""
    policy = IdlePolicy(working_hours=WorkingHours() if working else WorkingHours(days=()))
    last_activity = NOW - timedelta(minutes=quiet_minutes)
    tags: dict[str, Any] = {"Environment": "dev"}
    warning = None
    if warned_minutes_ago is not None:
        warned_at = NOW - timedelta(minutes=warned_minutes_ago)
        warning = IdleWarning(warned_at, warned_at + timedelta(hours=float(policy.warning_hours)))
        tags[policy.warning_tag] = warning.tag_value()
    observation = app_observation(
        arn=f"{PREFIX}:app/{DOMAIN}/alice/jupyterlab/default",
        name="alice/JupyterLab/default",
        app_type="JupyterLab",
        tags=tags,
        created=NOW - timedelta(days=3),
        last_activity=last_activity,
        policy=policy,
        now=NOW,
        hourly_usd=Decimal("0.2"),
    )
    decision = decide(observation, policy, SagecostConfig().tags, NOW)
    if decision.phase is Phase.ACT:
        assert warning is not None
        assert last_activity <= warning.warned_at
        assert warning.act_at <= NOW
