"""idle_reaper: hourly, idle dev resources found, warned, and stopped or deleted once the warning time has
passed (endpoints without traffic, notebook instances and Studio apps left on). Dry run (warnings and
actions only reported and recorded as what would happen) until the config's `idle.enforce` is true.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagecost import clock, wiring
from sagecost.models.idle import Phase
from sagecost.observability import logger, metrics, tracer

SETTINGS = wiring.function_settings(wiring.IdleReaperSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reaper = wiring.idle_reaper(wiring.adapters(SETTINGS))
    report = reaper.sweep(clock.now(), apply=reaper.config.idle.enforce)
    summary = {
        "dry_run": report.dry_run,
        "resources": len(report.decisions),
        "warned": report.count(Phase.WARN),
        "acted": len(report.acted),
        "would_act": report.count(Phase.ACT) if report.dry_run else 0,
        "cleared": report.count(Phase.CLEAR),
        "failed": len(report.failed),
        "saved_usd_per_hour": str(report.saved_per_hour),
    }
    logger.info("idle sweep done", extra=summary)
    metrics.add_metric(name="IdleActions", unit=MetricUnit.Count, value=len(report.acted))
    metrics.add_metric(name="IdleWarnings", unit=MetricUnit.Count, value=report.count(Phase.WARN))
    if report.failed:
        metrics.add_metric(name="IdleActionFailures", unit=MetricUnit.Count, value=len(report.failed))
    return summary
