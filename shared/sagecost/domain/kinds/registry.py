"""Every resource kind sagecost meters, in one place: which events meter it, its price component, whether
the hourly sweep lists it, and its idle signal. The template's usage rule routes exactly the events
listed here (a test holds them equal); `docs/COVERAGE.md` says what each covers of the bill."""

from __future__ import annotations

from sagecost.domain.kinds import (
    endpoint,
    endpoint_deployment,
    hyperpod,
    inference_component,
    mlflow,
    notebook,
    processing,
    serverless,
    space,
    studio_app,
    training,
    transform,
    warm_pool,
)
from sagecost.domain.kinds.spec import KindSpec
from sagecost.models.ledger import ResourceKind

KINDS: tuple[KindSpec, ...] = (
    training.SPEC,
    processing.SPEC,
    transform.SPEC,
    endpoint.SPEC,
    endpoint.CONFIG_SPEC,
    notebook.SPEC,
    serverless.SPEC,
    endpoint_deployment.SPEC,
    inference_component.SPEC,
    studio_app.SPEC,
    space.SPEC,
    # issue 12 (helper e): warm pools, MLflow, HyperPod
    warm_pool.SPEC,
    mlflow.SPEC,
    hyperpod.SPEC,
)


def metered_detail_types() -> tuple[str, ...]:
    """The state-change `detail-type`s the usage rule sends to the recorder, in registry order."""
    return tuple(detail_type for spec in KINDS for detail_type in spec.detail_types)


def metered_cloudtrail_calls() -> tuple[str, ...]:
    """The CloudTrail event names the usage rule sends to the recorder."""
    return tuple(call for spec in KINDS for call in spec.cloudtrail_calls)


def specs_of(kind: ResourceKind) -> tuple[KindSpec, ...]:
    """The specs metering usage of `kind`: one, or several facets of one resource (an endpoint's instances,
    its serverless estimate, its blue/green fleet)."""
    return tuple(spec for spec in KINDS if spec.kind is kind)
