"""tag_sweeper: daily, existing SageMaker resources reconciled with the tag policy (what `sagecost tags sweep
--apply` does): list pages and the Tagging API in bulk, then ListTags and AddTags per resource in tag mode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagecost import clock, wiring
from sagecost.observability import logger, metrics, tracer
from sagecost.services.tag_sweep import sweep_tags

JOBS_LOOK_BACK = timedelta(days=2)
SETTINGS = wiring.function_settings(wiring.TagSweeperSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    adapters = wiring.adapters(SETTINGS)
    sources = adapters.tag_sweep
    report = sweep_tags(
        sources.resources(clock.now() - JOBS_LOOK_BACK),
        sources.tags(),
        adapters.config().tags,
        add_tags=sources.add_tags,
        read_tags=sources.read_tags,  # ListTags before each AddTags: no value is ever overwritten
    )
    summary = {
        "resources": report.resources,
        "compliant": report.compliant,
        "fixed": report.fixed,
        "would_fix": report.would_fix,
        "unresolved": report.unresolved,
        "gone": report.gone,
    }
    logger.info("tag sweep done", extra=summary)
    metrics.add_metric(name="TagsFixed", unit=MetricUnit.Count, value=report.fixed)
    metrics.add_metric(name="TagsUnresolved", unit=MetricUnit.Count, value=report.unresolved)
    return summary
