"""The `sagecost` command: simulate, demo, prices."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagecost.adapters.prices import CatalogError, load_catalog, save_catalog
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
    print(f"{args.file}: valid. Required tags: {required}. Modes: {modes}.")
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
    lines: list[str], out: Path, args: argparse.Namespace, default_config: SagecostConfig | None = None
) -> int:
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
        )
    elapsed = time.perf_counter() - started
    _summary_table(result.summary)
    print(
        f"{result.lines} lines: {result.delivered} events delivered, {len(result.rejected)} rejected "
        f"(see rejected.jsonl), {sum(result.unrouted.values())} routed by no rule in the template "
        f"{result.unrouted}, {result.sweeps} hourly sweeps; {result.summary['records']} usage records; "
        f"SageMaker reads {result.sagemaker_reads}; {elapsed:.1f} s"
    )
    for action in result.actions:
        added = action.get("added") or action.get("would_add") or {}
        problems = "; still to fix: " + ", ".join(action["problems"]) if action.get("problems") else ""
        what = ", ".join(f"{k}={v}" for k, v in sorted(added.items()))
        print(
            f"  {action['at'][:16]} {action.get('outcome', action['action'])} "
            f"{action['resource_arn'].rsplit(':', 1)[-1]}: {what}{problems}"
        )
    print(f"{len(result.actions)} tag policy actions, {len(result.alerts)} notifications")
    print(
        f"wrote {out / 'ledger.jsonl'}, {out / 'rejected.jsonl'}, {out / 'summary.json'}, "
        f"{out / 'actions.jsonl'}, {out / 'alerts.jsonl'}"
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    try:
        lines = args.events.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SystemExit(f"sagecost: cannot read {args.events}: {error}") from None
    return _run_simulation(lines, args.out, args)


def cmd_demo(args: argparse.Namespace) -> int:
    from sagecost.local.scenario import DEMO_CONFIG, demo_events, messy_lines  # noqa: PLC0415

    lines = messy_lines(demo_events(args.seed), args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"demo: a month of SageMaker activity for 5 projects in 3 teams and a shared platform, "
        f"{len(lines)} lines in {args.out / 'events.jsonl'}"
    )
    return _run_simulation(lines, args.out, args, default_config=DEMO_CONFIG)


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
    )
    return report, tags_by_arn, config


def cmd_tags_sweep(args: argparse.Namespace) -> int:
    report, _, _ = _tag_sweep(args, apply=args.apply)
    fixes = f"{report.fixed} fixed" if args.apply else f"{report.would_fix} would be fixed (run with --apply)"
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

    config = commands.add_parser("config", help="the config file").add_subparsers(
        dest="action", required=True
    )
    validate = config.add_parser("validate", help="check a config file; errors name the line to fix")
    validate.add_argument("file", type=Path)
    validate.set_defaults(run=cmd_config_validate)
    schema = config.add_parser("schema", help="print the config file's JSON Schema (for editors)")
    schema.set_defaults(run=cmd_config_schema)

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
    except json.JSONDecodeError as error:
        print(f"sagecost: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
