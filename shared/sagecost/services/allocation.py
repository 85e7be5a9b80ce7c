"""Month-end allocation: read the month's aggregates, split them, reconcile with the bill, render the outputs.

Reads are two Queries over the month's aggregate items (`allocation` and `resource` lines) and one over its
sealed state changes, never the usage records, so the cost of a run grows with projects and resources, not
with how many records they wrote. The bill is read twice: by the project tag (per project) and by usage
type (per usage-type group, from the same `resource` lines: how much of each kind of charge is metered).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from sagecost import clock
from sagecost.adapters.costs import BilledCosts, BilledMonth, BilledUsageTypes
from sagecost.adapters.ledger import Aggregate
from sagecost.adapters.notifier import Notice
from sagecost.adapters.reports import ReportSink
from sagecost.domain.allocation import (
    DirectCost,
    GroupVariances,
    allocate,
    group_variances,
    percent,
    true_up,
    variances,
)
from sagecost.domain.console import console_url, resource_type
from sagecost.domain.money import cents
from sagecost.domain.usage_types import UsageTypeGroup, group_of_component
from sagecost.models.allocation import (
    AllocationReport,
    BilledMetric,
    IdleSavings,
    Reconciliation,
    ResourceCost,
    Totals,
)
from sagecost.models.config import SagecostConfig
from sagecost.models.ledger import UNTAGGED, Dimension, ResourceLine
from sagecost.models.prices import ESTIMATED_COMPONENTS
from sagecost.reports.focus import focus_csv, focus_rows
from sagecost.reports.html import render_html
from sagecost.reports.spreadsheet import text_cell, write_csv
from sagecost.reports.summary import summary_notice

logger = Logger(service="sagecost")


class AggregateReader(Protocol):
    def aggregates(self, month: str, dimension: Dimension | None = None) -> list[Aggregate]: ...


@runtime_checkable
class SealedReader(Protocol):
    def sealed(self, month: str) -> dict[str, int]: ...


def sealed_note(counts: Mapping[str, int]) -> str | None:
    """The month report's line on state changes that came after the 2-day seal (`DynamoLedger.sealed`)."""
    changes, gaps = counts.get("usage_recorder", 0), counts.get("usage_sweeper", 0)
    if not changes and not gaps:
        return None
    return (
        f"sealed: {changes} state change event(s) and {gaps} change(s) seen by the sweep came after their "
        "usage was sealed (2 days) and were not applied; each is kept as a rejection with reason `sealed`"
    )


@dataclass(frozen=True)
class MonthEnd:
    """A month's allocation and the resource lines behind its FOCUS export."""

    report: AllocationReport
    lines: tuple[ResourceCost, ...]


OUTPUT_FILES = ("allocation.json", "allocation.csv", "focus.csv", "report.html", "summary.txt")

CSV_COLUMNS = (
    "month",
    "project",
    "team",
    "cost_center",
    "kind",
    "direct",
    "shared",
    "total",
    "billed",
    "shared_from",
)


@dataclass
class MonthEndAllocator:
    ledger: AggregateReader
    config: SagecostConfig
    billed_costs: BilledCosts | None = None
    idle_actions: Callable[[str], list[dict[str, Any]]] | None = None
    """The month's recorded actions (`DynamoLedger.actions`), for the idle shutdown savings."""

    def run(self, month: str, *, true_up_bill: bool | None = None) -> MonthEnd:
        """Allocate `month`. `true_up_bill` overrides the config's `allocation.true_up`."""
        policy = self.config.allocation
        if true_up_bill is not None:
            policy = policy.model_copy(update={"true_up": true_up_bill})
        allocation_items = [a for a in self.ledger.aggregates(month, Dimension.ALLOCATION) if a.records]
        direct = [DirectCost.from_key(a.value, a.cost) for a in allocation_items]
        split = allocate(direct, policy)
        notes = list(split.notes)
        if isinstance(self.ledger, SealedReader) and (note := sealed_note(self.ledger.sealed(month))):
            notes.append(note)

        tag_key = self.config.tags.project.key
        bill = self._bill(month, tag_key, policy.billed_metric, notes)
        rows = split.rows
        if bill is not None and policy.true_up:
            rows = true_up(rows, bill.total)
        metered_by_project: dict[str, Decimal] = {}
        for cost in direct:
            metered_by_project[cost.project] = metered_by_project.get(cost.project, Decimal(0)) + cost.cost
        resource_items = [a for a in self.ledger.aggregates(month, Dimension.RESOURCE) if a.records]
        if note := estimated_note(resource_items):
            notes.append(note)
        reconciliation = None
        if bill is not None:
            reconciliation = Reconciliation(
                metric=policy.billed_metric,
                source=bill.source,
                tag_key=tag_key,
                billed=cents(bill.total),
                estimated=bill.estimated,
                projects=variances(metered_by_project, bill.by_tag_value),
            )
            groups = self._by_group(month, policy.billed_metric, resource_items, bill, notes)
            if groups is not None:
                reconciliation = reconciliation.model_copy(
                    update={
                        "by_group": groups.rows,
                        "group_metered": groups.metered,
                        "group_billed": groups.billed,
                        "metered_share_pct": groups.metered_share_pct,
                    }
                )
        billed_total = cents(bill.total) if bill is not None else None
        variance = split.metered - billed_total if billed_total is not None else None
        lines = tuple(_resource_cost(a) for a in resource_items)
        top = sorted(lines, key=lambda line: (-line.cost, line.resource_arn, line.component))
        report = AllocationReport(
            month=month,
            generated_at=clock.now(),
            policy=policy,
            totals=Totals(
                metered=split.metered,
                billed=billed_total,
                variance=variance,
                variance_pct=percent(variance, billed_total)
                if variance is not None and billed_total
                else None,
                shared_pool=split.shared_pool,
                untagged=cents(metered_by_project.get(UNTAGGED, Decimal(0))),
                unpriced_records=sum(a.unpriced_records for a in allocation_items),
                unpriced_instance_hours=sum(
                    (a.unpriced_instance_hours for a in allocation_items), Decimal(0)
                ),
                records=sum(a.records for a in allocation_items),
            ),
            shared_pool=split.pool,
            project_ratios=split.project_ratios,
            rows=rows,
            reconciliation=reconciliation,
            top_resources=tuple(top[: policy.top_resources]),
            idle_savings=self._idle_savings(month),
            notes=tuple(notes),
        )
        return MonthEnd(report=report, lines=lines)

    def _by_group(
        self,
        month: str,
        metric: BilledMetric,
        resource_items: list[Aggregate],
        bill: BilledMonth,
        notes: list[str],
    ) -> GroupVariances | None:
        """Metered against billed per usage-type group; None when the bill by usage type is unknown."""
        billed = self._usage_types(month, metric, notes)
        if billed is None:
            return None
        metered: dict[UsageTypeGroup, Decimal] = {}
        unpriced: dict[UsageTypeGroup, int] = {}
        for item in resource_items:
            group = group_of_component(ResourceLine.parse(item.value).component)
            metered[group] = metered.get(group, Decimal(0)) + item.cost
            if item.unpriced_records:
                unpriced[group] = unpriced.get(group, 0) + item.unpriced_records
        result = group_variances(
            metered, billed.by_group, unpriced_records=unpriced, usage_types=billed.usage_types
        )
        if abs(result.billed - cents(bill.total)) > Decimal("0.01"):
            notes.append(
                f"the bill by usage type ({result.billed}) and by project tag ({cents(bill.total)}) differ: "
                "Cost Explorer answered the two questions from different data"
            )
        return result

    def _usage_types(self, month: str, metric: BilledMetric, notes: list[str]) -> BilledUsageTypes | None:
        if self.billed_costs is None:
            return None
        try:
            return self.billed_costs.sagemaker_usage_types(month, metric)
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "Cost Explorer by usage type failed; no per-group reconciliation", error=str(error)
            )
            notes.append(f"not reconciled per usage type: Cost Explorer failed ({error})")
            return None

    def _idle_savings(self, month: str) -> tuple[IdleSavings, ...]:
        if self.idle_actions is None:
            return ()
        by_project: dict[str, list[dict[str, Any]]] = {}
        for action in self.idle_actions(month):
            if str(action.get("action", "")).startswith(("idle-stopped", "idle-deleted")):
                by_project.setdefault(str(action.get("project") or UNTAGGED), []).append(action)
        return tuple(
            IdleSavings(
                project=project,
                actions=len(actions),
                hourly_usd=cents(sum((Decimal(str(a.get("hourly_usd") or 0)) for a in actions), Decimal(0))),
                projected_savings=cents(
                    sum((Decimal(str(a.get("projected_savings_usd") or 0)) for a in actions), Decimal(0))
                ),
            )
            for project, actions in sorted(by_project.items())
        )

    def _bill(self, month: str, tag_key: str, metric: BilledMetric, notes: list[str]) -> BilledMonth | None:
        if self.billed_costs is None:
            notes.append("not reconciled: no Cost Explorer access configured")
            return None
        try:
            return self.billed_costs.sagemaker_month(month, tag_key, metric)
        except (ClientError, BotoCoreError) as error:
            logger.warning("Cost Explorer failed; the allocation goes out unreconciled", error=str(error))
            notes.append(f"not reconciled: Cost Explorer failed ({error})")
            return None


def _resource_cost(aggregate: Aggregate) -> ResourceCost:
    line = ResourceLine.parse(aggregate.value)
    return ResourceCost(
        resource_arn=line.resource_arn,
        resource_name=line.resource_name,
        resource_type=resource_type(line.resource_arn),
        region=line.region,
        account=line.account,
        component=line.component.value,
        instance_type=line.instance_type,
        project=line.project,
        team=line.team,
        cost_center=line.cost_center,
        environment=line.environment,
        quantity=aggregate.quantity,
        unit=line.unit,
        cost=aggregate.cost,
        unpriced_quantity=aggregate.unpriced_instance_hours if aggregate.unpriced_records else Decimal(0),
        console_url=console_url(line.resource_arn),
    )


def allocation_csv(report: AllocationReport) -> str:
    rows = [
        {
            "month": report.month,
            "project": text_cell(row.project),
            "team": text_cell(row.team),
            "cost_center": text_cell(row.cost_center),
            "kind": row.kind,
            "direct": row.direct,
            "shared": row.shared,
            "total": row.total,
            "billed": row.billed,
            "shared_from": text_cell("; ".join(f"{part.source}: {part.amount}" for part in row.shared_from)),
        }
        for row in report.rows
    ]
    return write_csv(CSV_COLUMNS, rows)


def render_outputs(month_end: MonthEnd, tag_keys: Mapping[str, str]) -> dict[str, bytes]:
    """Every output file of the month, by name. The same month end always renders the same bytes."""
    report = month_end.report
    notice = summary_notice(report)
    return {
        "allocation.json": (
            json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        ).encode(),
        "allocation.csv": allocation_csv(report).encode(),
        "focus.csv": focus_csv(focus_rows(report, month_end.lines, tag_keys)).encode(),
        "report.html": render_html(report).encode(),
        "summary.txt": (notice.subject + "\n\n" + notice.body).encode(),
    }


def deliver(
    month_end: MonthEnd, sink: ReportSink, publish: Callable[[Notice], None], tag_keys: Mapping[str, str]
) -> str:
    """Write the month's files (replacing a previous run's), then send the summary that points at them."""
    location = sink.put(month_end.report.month, render_outputs(month_end, tag_keys))
    publish(summary_notice(month_end.report, location))
    return location


def estimated_note(resource_items: list[Aggregate]) -> str | None:
    """What of the month is an estimate rather than a metered quantity: serverless on-demand compute, from
    CloudWatch (`Component.SERVERLESS_INFERENCE` holds only estimated records), trued up by the bill."""
    estimated = [
        item for item in resource_items if ResourceLine.parse(item.value).component in ESTIMATED_COMPONENTS
    ]
    if not estimated:
        return None
    cost = sum((item.cost for item in estimated), Decimal(0))
    return (
        f"estimated: {cents(cost)} USD of serverless on-demand compute ({len(estimated)} resource lines),"
        " from CloudWatch invocations x latency, not a billed quantity; the reconciliation with the bill"
        " trues it up"
    )
