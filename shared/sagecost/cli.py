"""The `sagecost` command: simulate, demo, allocate, reprice, config, tags, prices, idle."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import NoCredentialsError, NoRegionError

from sagecost.adapters.parameters import ParameterError
from sagecost.adapters.prices import CatalogError, load_catalog, save_catalog
from sagecost.adapters.stacks import StackError
from sagecost.models.config import SagecostConfig

DEFAULT_DEMO_OUT = Path("out/demo")


def _load_config(path: Path | None) -> SagecostConfig:
    if path is None:
        return SagecostConfig()
    from sagecost.local.config_file import ConfigError, load_config_file  # noqa: PLC0415

    try:
        return load_config_file(path)
    except ConfigError as error:
        raise SystemExit(f"sagecost: the config file is not valid:\n{error}") from None


def cmd_config_validate(args: argparse.Namespace) -> int:
    from sagecost.local.config_file import ConfigError, load_config_file  # noqa: PLC0415

    try:
        config = load_config_file(args.file)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    policy = config.tags
    modes = ", ".join(f"{kind} {policy.mode_for(kind)}" for kind in policy.scope)
    required = ", ".join(rule.key for rule in policy.rules().values() if rule.required)
    allocation = config.allocation
    shared = ", ".join(allocation.shared_projects) or "none"
    print(
        f"{args.file}: valid. Required tags: {required}. Modes: {modes}. "
        f"Allocation: shared projects {shared}, split {allocation.split.value}"
        f"{', untagged usage shared' if allocation.share_unallocated else ''}"
        f"{', trued up to the bill' if allocation.true_up else ''}. "
        f"Budgets: {', '.join(b.name for b in config.budgets.limits) or 'none'}"
        f" (pre-flight {config.budgets.preflight.value if config.budgets.preflight else 'off'})."
    )
    return 0


def _target_parameter(args: argparse.Namespace, output: str) -> tuple[str, Any]:
    """(parameter name, the stack or None) from --stack (its output `output`) or --parameter."""
    if (args.stack is None) == (args.parameter is None):
        raise SystemExit(
            "sagecost: say where to write: --stack NAME (a deployed sagecost) or --parameter NAME"
        )
    if args.parameter is not None:
        return args.parameter, None
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.stacks import read_stack  # noqa: PLC0415

    stack = read_stack(aws.client("cloudformation"), args.stack)
    return stack.output(output), stack


def _show_push(push: Any, what: str, dry_run: bool) -> int:
    for line in push.diff:
        print(line)
    if push.refused:
        print(f"refused: nothing written to {push.parameter}:", file=sys.stderr)
        for problem in push.refused:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if not push.changed:
        print(f"{push.parameter} already holds this {what}: nothing written")
    elif dry_run:
        print(f"dry run: {push.parameter} not written (without --dry-run it would be)")
    else:
        print(
            f"wrote {push.parameter} (version {push.written_version}); the functions use it within "
            "SAGECOST_PARAMETERS_MAX_AGE (5 minutes by default)"
        )
    return 0


def cmd_config_push(args: argparse.Namespace) -> int:
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.parameters import ParameterWriter  # noqa: PLC0415
    from sagecost.local.config_file import ConfigError, load_config_file  # noqa: PLC0415
    from sagecost.services.publishing import push_config  # noqa: PLC0415

    try:
        config = load_config_file(args.file)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        print("refused: the file is not valid; nothing was written", file=sys.stderr)
        return 1
    name, stack = _target_parameter(args, "ConfigParameterName")
    if stack is None:
        print("note: --parameter: not checked against a stack's IAM conditions (use --stack for that)")
    conditions = stack.conditions() if stack is not None else None
    push = push_config(ParameterWriter(aws.client("ssm")), name, config, conditions, dry_run=args.dry_run)
    return _show_push(push, "config", args.dry_run)


def cmd_prices_push(args: argparse.Namespace) -> int:
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.parameters import ParameterWriter  # noqa: PLC0415
    from sagecost.services.publishing import push_prices  # noqa: PLC0415

    catalog = load_catalog(args.file)
    name, _ = _target_parameter(args, "PricesParameterName")
    push, overridden = push_prices(
        ParameterWriter(aws.client("ssm")), name, catalog, load_catalog(), dry_run=args.dry_run
    )
    print(f"{overridden} prices differ from the catalog the functions ship with")
    return _show_push(push, "price override", args.dry_run)


def cmd_reprice(args: argparse.Namespace) -> int:
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.ledger import DynamoLedger  # noqa: PLC0415
    from sagecost.adapters.parameters import ParameterStore  # noqa: PLC0415
    from sagecost.adapters.stacks import read_stack  # noqa: PLC0415
    from sagecost.domain.pricing import PriceBook  # noqa: PLC0415
    from sagecost.reports.text import usd  # noqa: PLC0415
    from sagecost.services.repricing import reprice_month  # noqa: PLC0415

    _check_month(args.month)
    if (args.stack is None) == (args.table is None):
        raise SystemExit("sagecost: say which ledger: --stack NAME (its prices too) or --table NAME")
    if args.stack is not None:
        stack = read_stack(aws.client("cloudformation"), args.stack)
        table = stack.output("LedgerTableName")
        store = ParameterStore(
            aws.client("ssm"),
            config_name=stack.output("ConfigParameterName"),
            prices_name=stack.output("PricesParameterName"),
            max_age=0,
            catalog_path=args.prices,
        )
        prices = store.prices()  # exactly what the stack's functions price with
    else:
        table, prices = args.table, PriceBook(load_catalog(args.prices))
    report = reprice_month(DynamoLedger(aws.dynamodb(), table), prices, args.month)
    sign = "+" if report.delta >= 0 else "-"
    print(
        f"{args.month}: {report.records} usage records, {report.repriced} re-priced "
        f"({report.newly_priced} priced for the first time), {sign}{usd(abs(report.delta))} in all"
    )
    for project, delta in sorted(report.by_project.items()):
        print(f"  {project}: {'+' if delta >= 0 else '-'}{usd(abs(delta))}")
    if not report.repriced:
        print("nothing to change: every record already has the catalog's rate")
    return 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    from sagecost.local.config_file import config_schema  # noqa: PLC0415

    print(config_schema())
    return 0


def _summary_table(summary: dict[str, Any]) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console()
    for month, figures in summary["months"].items():
        table = Table(title=f"Metered SageMaker cost, {month} (USD, list price)", title_justify="left")
        table.add_column("project")
        table.add_column("cost", justify="right")
        for project, cost in figures["by_project"].items():
            table.add_row(project, f"{float(cost):,.2f}")
        table.add_section()
        table.add_row("[bold]total[/bold]", f"[bold]{float(figures['metered_cost']):,.2f}[/bold]")
        console.print(table)
        teams = ", ".join(f"{t} {float(c):,.2f}" for t, c in figures["by_team"].items())
        console.print(f"  by team: {teams}")
        policy = figures["tag_policy"]
        console.print(
            f"  tag policy: {float(policy['project_added_to_cost']):,.2f} USD attributed by tags it added; "
            f"untagged share {policy['untagged_share_before']} before, {policy['untagged_share_after']} after"
        )
        unpriced = figures["unpriced"]
        console.print(
            f"  untagged: {float(figures['untagged_cost']['project']):,.2f} USD without a project "
            f"({figures['untagged_share_of_project']}); unpriced: {unpriced['records']} records, "
            f"{unpriced['instance_hours']} instance-hours {list(unpriced['by_component_and_type'])}\n"
        )


def _run_simulation(
    lines: list[str],
    out: Path,
    args: argparse.Namespace,
    default_config: SagecostConfig | None = None,
    busy_endpoints: frozenset[str] | None = None,
    **world: Any,
) -> int:
    """`world`: what the simulated account adds to the lines (`simulate`'s serverless_traffic, unseen)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    from sagecost.local.simulator import simulate  # noqa: PLC0415 - moto is imported only when simulating

    try:
        catalog = load_catalog(args.prices)
    except CatalogError as error:
        raise SystemExit(f"sagecost: {error}") from None
    config = _load_config(args.config) if args.config or default_config is None else default_config
    started = time.perf_counter()
    with Progress(
        TextColumn("replaying events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("events", total=len(lines))
        result = simulate(
            lines,
            out,
            catalog=catalog,
            config=config,
            template_path=args.template,
            progress=lambda n: progress.update(task, completed=n),
            busy_endpoints=busy_endpoints,
            **world,
        )
    elapsed = time.perf_counter() - started
    _summary_table(result.summary)
    print(
        f"{result.lines} lines: {result.delivered} events delivered, {len(result.rejected)} rejected "
        f"(see rejected.jsonl), {sum(result.unrouted.values())} routed by no rule in the template "
        f"{result.unrouted}, {result.sweeps} hourly sweeps; {result.summary['records']} usage records; "
        f"SageMaker reads {result.sagemaker_reads}; {elapsed:.1f} s"
    )
    idle = [a for a in result.actions if str(a.get("action", "")).startswith("idle-")]
    for action in idle:
        savings = action.get("projected_savings_usd")
        money = f" ({action.get('hourly_usd')} USD/h, {savings} USD saved to month end)" if savings else ""
        print(
            f"  {action['at'][:16]} {str(action['action']).split('@')[0]} {action.get('kind')} "
            f"{action.get('name')}: {action.get('reason')}{money}"
        )
    for action in [a for a in result.actions if a not in idle]:
        added = action.get("added") or action.get("would_add") or {}
        problems = "; still to fix: " + ", ".join(action["problems"]) if action.get("problems") else ""
        what = ", ".join(f"{k}={v}" for k, v in sorted(added.items()))
        print(
            f"  {action['at'][:16]} {action.get('outcome', action['action'])} "
            f"{action['resource_arn'].rsplit(':', 1)[-1]}: {what}{problems}"
        )
    print(
        f"{len(result.actions) - len(idle)} tag policy actions, {len(idle)} idle shutdown warnings and "
        f"actions, {len(result.alerts)} notifications"
    )
    print(
        f"wrote {out / 'ledger.jsonl'}, {out / 'rejected.jsonl'}, {out / 'summary.json'}, "
        f"{out / 'actions.jsonl'}, {out / 'alerts.jsonl'}"
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from sagecost.local.simulator import read_event_lines  # noqa: PLC0415

    try:
        lines = read_event_lines(args.events)  # one event per "\n": U+2028 inside a value is no line break
    except OSError as error:
        raise SystemExit(f"sagecost: cannot read {args.events}: {error}") from None
    return _run_simulation(lines, args.out, args)


def cmd_demo(args: argparse.Namespace) -> int:
    from sagecost.local.scenario import (  # noqa: PLC0415
        BUSY_ENDPOINTS,
        DEMO_CONFIG,
        SERVERLESS_TRAFFIC,
        demo_events,
        lost_events,
        messy_lines,
    )

    lines = messy_lines(demo_events(args.seed), args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"demo: a month of SageMaker activity for 5 projects in 3 teams and a shared platform, "
        f"{len(lines)} lines in {args.out / 'events.jsonl'}"
    )
    return _run_simulation(
        lines,
        args.out,
        args,
        default_config=DEMO_CONFIG,
        busy_endpoints=BUSY_ENDPOINTS,
        serverless_traffic=SERVERLESS_TRAFFIC,
        unseen=lost_events(),
    )


def _tag_sweep(
    args: argparse.Namespace, *, apply: bool
) -> tuple[Any, dict[str, dict[str, str]], SagecostConfig]:
    from datetime import timedelta  # noqa: PLC0415

    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.sagemaker import Boto3SageMaker  # noqa: PLC0415
    from sagecost.adapters.tagging_api import ResourceTags  # noqa: PLC0415
    from sagecost.services.tag_sweep import sweep_tags  # noqa: PLC0415

    config = _load_config(args.config)
    sagemaker = Boto3SageMaker(aws.sagemaker())
    since = datetime.now(UTC) - timedelta(days=args.since_days)
    tags_by_arn = ResourceTags(aws.client("resourcegroupstaggingapi")).sagemaker_tags()
    report = sweep_tags(
        sagemaker.governed_resources(since),
        tags_by_arn,
        config.tags,
        add_tags=sagemaker.add_tags if apply else None,
        read_tags=sagemaker.tags,
    )
    return report, tags_by_arn, config


def cmd_tags_sweep(args: argparse.Namespace) -> int:
    report, _, _ = _tag_sweep(args, apply=args.apply)
    fixes = (
        f"{report.fixed} fixed ({report.read} read first with ListTags, {report.tagged_since_listed} of them "
        "already carried keys the Tagging API did not show: kept)"
        if args.apply
        else f"{report.would_fix} would be fixed (run with --apply)"
    )
    print(
        f"{report.resources} resources {dict(sorted(report.by_kind.items()))}: {report.compliant} compliant, "
        f"{fixes}, {report.unresolved} need a person (no default or an invalid value), {report.gone} gone"
    )
    return 0


def cmd_tags_report(args: argparse.Namespace) -> int:
    from collections import Counter  # noqa: PLC0415

    from sagecost.domain.tags import snapshot  # noqa: PLC0415
    from sagecost.models.ledger import UNTAGGED  # noqa: PLC0415

    report, tags_by_arn, config = _tag_sweep(args, apply=False)
    groups: dict[str, Counter[tuple[str, bool]]] = {
        "resource kind": Counter(),
        "project": Counter(),
        "team": Counter(),
    }
    for arn, decision in report.decisions:
        attribution = snapshot(tags_by_arn.get(arn), config.tag_keys)
        groups["resource kind"][(decision.kind.value, decision.compliant)] += 1
        groups["project"][(attribution.project or UNTAGGED, decision.compliant)] += 1
        groups["team"][(attribution.team or UNTAGGED, decision.compliant)] += 1
    for label, counter in groups.items():
        print(f"compliance by {label} (resources):")
        for name in sorted({key for key, _ in counter}):
            ok, bad = counter[(name, True)], counter[(name, False)]
            print(f"  {name:28s} {ok:6d} compliant {bad:6d} not   {100 * ok / max(ok + bad, 1):5.1f} %")
    if args.table:
        _spend_compliance(args.table, args.month)
    return 0


def _spend_compliance(table: str, month: str | None) -> None:
    from decimal import Decimal  # noqa: PLC0415

    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.ledger import DynamoLedger  # noqa: PLC0415
    from sagecost.models.ledger import UNTAGGED, Dimension  # noqa: PLC0415

    ledger = DynamoLedger(aws.dynamodb(), table)
    month = month or datetime.now(UTC).strftime("%Y-%m")
    aggregates = ledger.aggregates(month)
    total = ledger.month_total(month, aggregates).cost
    print(f"compliance by spend, {month} (metered {total:.2f} USD):")
    for dimension in (Dimension.PROJECT, Dimension.TEAM, Dimension.COST_CENTER):
        untagged = sum(
            (a.cost for a in aggregates if a.dimension is dimension and a.value == UNTAGGED), Decimal(0)
        )
        share = 100 * (total - untagged) / total if total else Decimal(100)
        print(f"  {dimension.value:12s} {share:6.2f} % of spend attributed ({untagged:.2f} USD without one)")


def _check_month(month: str) -> None:
    from sagecost.domain.periods import parse_month  # noqa: PLC0415

    try:
        parse_month(month)
    except ValueError as error:
        raise SystemExit(f"sagecost: --month: {error}") from None


def cmd_allocate(args: argparse.Namespace) -> int:
    _check_month(args.month)
    if (args.table is None) == (args.ledger is None):
        raise SystemExit("sagecost: say where the ledger is: --table NAME (deployed) or --ledger FILE.jsonl")
    if args.bill is not None and args.table is not None:
        raise SystemExit("sagecost: --bill replaces Cost Explorer for a --ledger file only")
    config = _load_config(args.config)
    if args.table is not None:
        location, summary = _allocate_table(args, config)
    else:
        location, summary = _allocate_ledger_file(args, config)
    print(summary, end="")
    print(f"\nwrote {location}: allocation.json, allocation.csv, focus.csv, report.html, summary.txt")
    return 0


def _allocate_table(args: argparse.Namespace, config: SagecostConfig) -> tuple[str, str]:
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.costs import CostExplorer  # noqa: PLC0415
    from sagecost.adapters.ledger import DynamoLedger  # noqa: PLC0415

    billed = (
        None
        if args.no_bill
        else CostExplorer(
            aws.client("ce", region_name="us-east-1"), config.tags.project, discover_spellings=True
        )
    )
    return _allocate(DynamoLedger(aws.dynamodb(), args.table), config, billed, args)


def _allocate_ledger_file(args: argparse.Namespace, config: SagecostConfig) -> tuple[str, str]:
    """A simulator's ledger.jsonl, written into an in-process moto table through the metering path's own
    aggregation, then allocated exactly as the deployed function would. --bill feeds a saved
    GetCostAndUsage response to moto's Cost Explorer, so the real adapter reads it."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415
    from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: PLC0415
    from moto.moto_api._internal.models import moto_api_backend  # noqa: PLC0415

    from sagecost.adapters.costs import CostExplorer  # noqa: PLC0415
    from sagecost.adapters.ledger import DynamoLedger  # noqa: PLC0415
    from sagecost.domain.aggregates import aggregate_deltas  # noqa: PLC0415
    from sagecost.local.moto_speedups import fast_dynamodb_transactions  # noqa: PLC0415
    from sagecost.local.template import load_template, table_create_args  # noqa: PLC0415
    from sagecost.models.ledger import UsageRecord  # noqa: PLC0415

    try:
        lines = args.ledger.read_text(encoding="utf-8").splitlines()
        records = [UsageRecord.model_validate_json(line) for line in lines if line.strip()]
        bill = json.loads(args.bill.read_text(encoding="utf-8")) if args.bill else None
    except (OSError, ValueError) as error:
        raise SystemExit(f"sagecost: {error}") from None
    with mock_aws(), fast_dynamodb_transactions():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_args(load_template(args.template), table_name="sagecost-ledger"))
        ledger = DynamoLedger(client, "sagecost-ledger")
        for record in records:
            ledger.put_job_records([record], aggregate_deltas([record]))
        billed = None
        if bill is not None:
            moto_api_backend.set_ce_cost_usage(result=bill, account_id=DEFAULT_ACCOUNT_ID)
            billed = CostExplorer(boto3.client("ce", region_name="us-east-1"), config.tags.project)
        return _allocate(ledger, config, billed, args)


def _allocate(ledger: Any, config: SagecostConfig, billed: Any, args: argparse.Namespace) -> tuple[str, str]:
    from sagecost.adapters.reports import DirectoryReports  # noqa: PLC0415
    from sagecost.reports.summary import summary_notice  # noqa: PLC0415
    from sagecost.services.allocation import MonthEndAllocator, render_outputs  # noqa: PLC0415

    month_end = MonthEndAllocator(ledger, config, billed).run(args.month, true_up_bill=args.true_up)
    location = DirectoryReports(args.out, per_month=False).put(
        args.month, render_outputs(month_end, config.tags.primary_keys())
    )
    notice = summary_notice(month_end.report, location)
    return location, f"{notice.subject}\n\n{notice.body}"


def _idle_reaper(args: argparse.Namespace, config: SagecostConfig) -> Any:
    """The reaper as the idle_reaper function is wired, with this machine's credentials and endpoint."""
    from dataclasses import replace  # noqa: PLC0415

    from sagecost import wiring  # noqa: PLC0415
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.ledger import DynamoLedger  # noqa: PLC0415
    from sagecost.adapters.metrics import EndpointTraffic  # noqa: PLC0415
    from sagecost.adapters.notifier import SnsNotifier  # noqa: PLC0415
    from sagecost.adapters.sagemaker import Boto3SageMaker  # noqa: PLC0415
    from sagecost.adapters.studio import Boto3StudioApps  # noqa: PLC0415
    from sagecost.adapters.tagging_api import ResourceTags  # noqa: PLC0415
    from sagecost.domain.pricing import PriceBook  # noqa: PLC0415
    from sagecost.services.idle import UnrecordedLedger  # noqa: PLC0415

    class Printed:
        def publish(self, notice: Any) -> None:
            print(f"--- to the owner ({notice.attributes.get('owner')}): {notice.subject}\n{notice.body}")

    sagemaker = Boto3SageMaker(aws.sagemaker())
    reaper = wiring.idle_reaper(
        wiring.LocalAdapters(
            ledger=DynamoLedger(aws.dynamodb(), args.table or "(no table)"),
            config_value=config,
            prices_value=PriceBook(load_catalog(args.prices)),
            sagemaker_value=sagemaker,
            alerts_value=SnsNotifier(aws.client("sns"), args.topic) if args.topic else Printed(),
            studio=None if args.no_studio else Boto3StudioApps(aws.sagemaker()),
            traffic_value=EndpointTraffic(aws.client("cloudwatch")),
            resource_tags_value=ResourceTags(aws.client("resourcegroupstaggingapi")).sagemaker_tags,
            inference_components=sagemaker,
        )
    )
    return reaper if args.table else replace(reaper, ledger=UnrecordedLedger())


def cmd_idle_sweep(args: argparse.Namespace) -> int:
    from sagecost.models.idle import Phase  # noqa: PLC0415

    config = _load_config(args.config)
    report = _idle_reaper(args, config).sweep(datetime.now(UTC), apply=args.apply)
    for decision in report.decisions:
        observation = decision.observation
        rate = f" {observation.hourly_usd} USD/h" if observation.hourly_usd is not None else ""
        print(
            f"  {decision.phase.value:5s} {observation.kind.value:17s} {observation.name}: "
            f"{decision.reason}{rate}"
        )
        for note in decision.notes:
            print(f"        note: {note}")
    mode = "applied" if args.apply else "dry run (nothing written; --apply to warn and act)"
    print(
        f"{len(report.decisions)} running resources: {report.count(Phase.WARN)} to warn, "
        f"{report.count(Phase.ACT)} due, {len(report.acted)} acted on, {report.count(Phase.CLEAR)} warnings "
        f"cleared, {report.count(Phase.KEEP)} kept; {mode}; saved {report.saved_per_hour} USD/h"
    )
    for arn, error in report.failed:
        print(f"  FAILED {arn}: {error}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_idle_restore(args: argparse.Namespace) -> int:
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.ledger import DynamoLedger  # noqa: PLC0415
    from sagecost.adapters.sagemaker import Boto3SageMaker  # noqa: PLC0415

    ledger = DynamoLedger(aws.dynamodb(), args.table)
    deletions = [
        a
        for a in ledger.actions()
        if str(a.get("action", "")).startswith("idle-deleted")
        and a.get("name") == args.endpoint
        and a.get("kind") == "endpoint"
    ]
    if not deletions:
        raise SystemExit(f"sagecost: no idle deletion of an endpoint named {args.endpoint!r} in {args.table}")
    restore = deletions[-1]["restore"]
    arn = Boto3SageMaker(aws.sagemaker()).create_endpoint(
        args.endpoint, restore["endpoint_config_name"], dict(restore.get("tags", {}))
    )
    print(f"created {arn} from {restore['endpoint_config_name']} (it takes a few minutes to be InService)")
    return 0


def cmd_prices_refresh(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415

    from sagecost.adapters.prices import refresh_catalog  # noqa: PLC0415

    target = args.out or args.base
    if target is None:
        raise SystemExit("sagecost: say where to write the catalog with --out FILE")
    client = boto3.client("pricing", region_name=args.endpoint_region)
    base = load_catalog(args.base) if args.base else load_catalog()
    catalog = refresh_catalog(client, args.region, today=datetime.now(UTC).date(), base=base)
    save_catalog(catalog, target)
    fresh = sum(1 for price in catalog.prices if price.region == args.region)
    print(f"{fresh} prices for {args.region} from the AWS Price List, written to {target}")
    return 0


def cmd_prices_show(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.prices)
    for price in catalog.prices:
        if args.region in (None, price.region):
            print(
                f"{price.region}\t{price.component}\t{price.instance_type}\t{price.usd}/{price.unit}\t{price.source}"
            )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from sagecost.adapters import aws  # noqa: PLC0415
    from sagecost.adapters.account import AccountReader  # noqa: PLC0415
    from sagecost.services.doctor import run_doctor  # noqa: PLC0415

    report = run_doctor(
        AccountReader(aws.client, args.region),
        today=datetime.now(UTC).date(),
        catalog=load_catalog(),
        stack=args.stack,
    )
    for finding in report.findings:
        fix = f"  fix: {finding.fix}" if finding.fix else ""
        print(f"{finding.outcome.value:8s} {finding.check:22s} {finding.detail}{fix}")
    return 0 if report.healthy else 1


def _add_doctor(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check what sagecost needs in the account (read-only); exit 1 on any problem",
        description="Read-only checks against whatever AWS account and endpoint boto3 finds "
        "(AWS_ENDPOINT_URL works, e.g. a moto_server): a CloudTrail trail logging management events, "
        "the tag keys activated as cost allocation tags, Cost Explorer; with --stack, the deployed "
        "stack's subscriptions, config, queues and prices. Each check prints one line: ok, or problem "
        "and its fix.",
    )
    doctor.add_argument("--stack", help="a deployed sagecost stack to check as well")
    doctor.add_argument("--region", help="the region to check (default: the profile's or AWS_REGION)")
    doctor.set_defaults(run=cmd_doctor)


def _add_idle(commands: Any) -> None:
    idle = commands.add_parser("idle", help="idle shutdown of dev resources").add_subparsers(
        dest="action", required=True
    )
    sweep = idle.add_parser(
        "sweep",
        help="find idle endpoints, notebooks and Studio apps; warn, then act (dry run unless --apply)",
        description="One idle sweep against whatever AWS endpoint boto3 is pointed at (AWS_ENDPOINT_URL "
        "works, e.g. a moto_server). Without --apply nothing is written.",
    )
    sweep.add_argument("--apply", action="store_true", help="write warning tags, stop and delete what is due")
    sweep.add_argument("--config", type=Path, help="the sagecost config file (its idle and tags sections)")
    sweep.add_argument("--table", help="the ledger table: read endpoint timelines, record every action")
    sweep.add_argument("--topic", help="an SNS topic ARN for the owners' notices (default: print them)")
    sweep.add_argument("--prices", type=Path, help="a price catalog (default: the shipped one)")
    sweep.add_argument("--no-studio", action="store_true", help="skip Studio apps (ListApps)")
    sweep.set_defaults(run=cmd_idle_sweep)
    restore = idle.add_parser(
        "restore", help="create an endpoint the idle reaper deleted, from its kept config"
    )
    restore.add_argument("endpoint", help="the endpoint's name")
    restore.add_argument("--table", required=True, help="the ledger table that recorded the deletion")
    restore.set_defaults(run=cmd_idle_restore)


def _add_allocate(commands: Any) -> None:
    allocate = commands.add_parser(
        "allocate",
        help="the month-end chargeback of one month, written to --out",
        description="Allocate a month: direct and shared cost per project, team and cost center, reconciled "
        "with Cost Explorer; writes allocation.json, allocation.csv, focus.csv (FOCUS 1.2), report.html and "
        "summary.txt to --out. Reads a deployed ledger table (with whatever AWS credentials and endpoint "
        "boto3 finds) or a simulator's ledger.jsonl.",
    )
    allocate.add_argument("--month", required=True, help="YYYY-MM")
    allocate.add_argument("--out", type=Path, required=True, help="the folder for the files")
    source = allocate.add_mutually_exclusive_group()
    source.add_argument("--table", help="a deployed ledger table (reconciled with Cost Explorer)")
    source.add_argument("--ledger", type=Path, help="a simulator's ledger.jsonl (e.g. out/demo/ledger.jsonl)")
    allocate.add_argument("--config", type=Path, help="the sagecost config file (its allocation rules)")
    allocate.add_argument("--template", type=Path, help="the SAM template (the table's shape, --ledger)")
    allocate.add_argument(
        "--bill", type=Path, help="with --ledger: a saved GetCostAndUsage response to reconcile against"
    )
    allocate.add_argument("--no-bill", action="store_true", help="with --table: skip Cost Explorer")
    allocate.add_argument(
        "--true-up",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="spread the billed total over the rows (default: the config's allocation.true_up)",
    )
    allocate.set_defaults(run=cmd_allocate)


def _add_reprice(commands: Any) -> None:
    reprice = commands.add_parser(
        "reprice",
        help="re-price a month's usage records and aggregates after a price change",
        description="Rewrite every usage record of MONTH whose rate changed, and move the aggregates (and "
        "so the budgets) by exactly the difference. Run twice, the second run changes nothing.",
    )
    reprice.add_argument("--month", required=True, help="YYYY-MM")
    reprice.add_argument("--stack", help="a deployed sagecost: its ledger, with the prices its functions use")
    reprice.add_argument("--table", help="a ledger table, priced with --prices (default: the shipped prices)")
    reprice.add_argument("--prices", type=Path, help="a price catalog instead of the shipped one")
    reprice.set_defaults(run=cmd_reprice)


def _add_config(commands: Any) -> None:
    config = commands.add_parser("config", help="the config file").add_subparsers(
        dest="action", required=True
    )
    validate = config.add_parser("validate", help="check a config file; errors name the line to fix")
    validate.add_argument("file", type=Path)
    validate.set_defaults(run=cmd_config_validate)
    schema = config.add_parser("schema", help="print the config file's JSON Schema (for editors)")
    schema.set_defaults(run=cmd_config_schema)
    push = config.add_parser(
        "push",
        help="validate a config file and write it to a deployed stack (shows the difference first)",
        description="Validate FILE, compare it with the config the stack's functions read (its SSM "
        "parameter), and write it. An invalid file, or one the stack's IAM conditions contradict "
        "(PolicyTagKeys, ProductionEnvironmentValues), is refused and nothing is written. The functions "
        "read it within minutes, without a redeploy.",
    )
    push.add_argument("file", type=Path)
    _add_target(push)
    push.set_defaults(run=cmd_config_push)


def _add_target(command: argparse.ArgumentParser) -> None:
    target = command.add_mutually_exclusive_group()
    target.add_argument("--stack", help="the deployed sagecost stack (its outputs name the parameter)")
    target.add_argument("--parameter", help="the SSM parameter's name, e.g. /sagecost/NAME/config")
    command.add_argument("--dry-run", action="store_true", help="show the difference, write nothing")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="sagecost", description="Cost governance for Amazon SageMaker.")
    commands = root.add_subparsers(dest="command", required=True)

    def replay_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--config", type=Path, help="the sagecost config file (YAML or JSON)")
        command.add_argument("--prices", type=Path, help="a price catalog (default: the shipped one)")
        command.add_argument("--template", type=Path, help="the SAM template whose rules route events")

    simulate = commands.add_parser(
        "simulate",
        help="replay EventBridge events through the real handlers on in-process moto",
        description="Replay a JSONL file of EventBridge envelopes (in arrival order) and write ledger.jsonl, "
        "rejected.jsonl and summary.json to --out.",
    )
    simulate.add_argument("--events", type=Path, required=True, help="one EventBridge event per line")
    simulate.add_argument("--out", type=Path, required=True, help="where to write the results")
    replay_options(simulate)
    simulate.set_defaults(run=cmd_simulate)

    demo = commands.add_parser("demo", help="simulate a realistic month of several teams' SageMaker use")
    demo.add_argument("--out", type=Path, default=DEFAULT_DEMO_OUT, help=f"default: {DEFAULT_DEMO_OUT}")
    demo.add_argument("--seed", type=int, default=7, help="another seed, another month")
    replay_options(demo)
    demo.set_defaults(run=cmd_demo)

    _add_config(commands)

    tags = commands.add_parser("tags", help="tag governance of existing resources").add_subparsers(
        dest="action", required=True
    )
    for name, run, text in (
        (
            "sweep",
            cmd_tags_sweep,
            "reconcile existing resources with the tag policy (dry run unless --apply)",
        ),
        ("report", cmd_tags_report, "compliance by resource kind, and by spend with --table"),
    ):
        command = tags.add_parser(
            name,
            help=text,
            description=text + ". Uses whatever AWS endpoint boto3 is "
            "pointed at (AWS_ENDPOINT_URL works, e.g. a moto_server).",
        )
        command.add_argument("--config", type=Path, help="the sagecost config file with the tag policy")
        command.add_argument("--since-days", type=int, default=7, help="jobs created in the last N days (7)")
        command.set_defaults(run=run)
        if name == "sweep":
            command.add_argument("--apply", action="store_true", help="add the missing tags (tag mode only)")
        else:
            command.add_argument("--table", help="the ledger table, for compliance by spend")
            command.add_argument("--month", help="YYYY-MM (default: this month)")

    _add_allocate(commands)
    _add_reprice(commands)
    _add_idle(commands)
    _add_doctor(commands)

    prices = commands.add_parser("prices", help="the price catalog").add_subparsers(
        dest="action", required=True
    )
    refresh = prices.add_parser("refresh", help="rebuild a region's prices from the AWS Price List API")
    refresh.add_argument("--region", required=True, help="the region to price, e.g. us-west-2")
    refresh.add_argument("--out", type=Path, help="where to write the refreshed catalog")
    refresh.add_argument("--base", type=Path, help="the catalog to update (default: the shipped one)")
    refresh.add_argument(
        "--endpoint-region",
        default="us-east-1",
        help="the Price List API endpoint region (us-east-1, eu-central-1 or ap-south-1)",
    )
    refresh.set_defaults(run=cmd_prices_refresh)
    prices_push = prices.add_parser(
        "push",
        help="make a deployed stack's functions price with FILE (a catalog, e.g. from prices refresh)",
        description="Write the prices of FILE that differ from the shipped catalog to the stack's price "
        "override parameter (at most 8 KB); the functions use them within minutes. Then `sagecost reprice "
        "--month M --stack NAME` re-prices what was already metered.",
    )
    prices_push.add_argument("file", type=Path)
    _add_target(prices_push)
    prices_push.set_defaults(run=cmd_prices_push)
    show = prices.add_parser("show", help="print the catalog")
    show.add_argument("--region")
    show.add_argument("--prices", type=Path)
    show.set_defaults(run=cmd_prices_show)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CatalogError as error:
        print(f"sagecost: {error}", file=sys.stderr)
        return 2
    except (StackError, ParameterError) as error:
        print(f"sagecost: {error}", file=sys.stderr)
        return 2
    except (NoRegionError, NoCredentialsError) as error:
        print(f"sagecost: {error} (set AWS_REGION / AWS_PROFILE, or run `aws configure`)", file=sys.stderr)
        return 2
    except json.JSONDecodeError as error:
        print(f"sagecost: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
