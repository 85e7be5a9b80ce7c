"""cost_allocator: the month-end chargeback. EventBridge Scheduler runs it at 00:30 UTC on the 1st for the
month just closed; invoked with `{"month": "2026-10"}` it (re)allocates that month. A re-run overwrites
the month's files in the reports bucket with the same content (only the run timestamp differs).

Optional `"true_up": true|false` overrides the config's `allocation.true_up` for this run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from sagecost import clock, wiring
from sagecost.domain.periods import parse_month, previous_month
from sagecost.observability import logger, metrics, tracer
from sagecost.services.allocation import deliver

SETTINGS = wiring.function_settings(wiring.CostAllocatorSettings)


class AllocationRequest(BaseModel):
    """The invocation: an explicit month, or none (the schedule) for the month that just closed."""

    model_config = ConfigDict(extra="ignore")

    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    true_up: bool | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AllocationRequest.model_validate(event)
    month = request.month or previous_month(clock.now())
    parse_month(month)
    adapters = wiring.adapters(SETTINGS)
    allocator = wiring.cost_allocator(adapters)
    month_end = allocator.run(month, true_up_bill=request.true_up)
    outputs = adapters.month_end_outputs
    location = deliver(
        month_end, outputs.reports, outputs.notifier.publish, allocator.config.tags.primary_keys()
    )
    totals = month_end.report.totals
    logger.info(
        "month allocated", extra={"month": month, "metered": str(totals.metered), "location": location}
    )
    metrics.add_metric(name="AllocatedRows", unit=MetricUnit.Count, value=len(month_end.report.rows))
    return {
        "month": month,
        "metered": str(totals.metered),
        "billed": None if totals.billed is None else str(totals.billed),
        "rows": len(month_end.report.rows),
        "location": location,
    }
