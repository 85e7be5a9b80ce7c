"""`python -m bench [--quick]` (or `make bench`): sagecost's performance numbers, as plain-text tables.

Run from the repository root with PYTHONPATH=shared:functions. Nothing here passes or fails on timing: the
numbers are for reading (bench/README.md says what each one means and how it is measured).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import bench
from bench import (
    REQUEST_TARGET,
    SWEEP_PAGE,
    ImportResult,
    SweepResult,
    format_operations,
)
from bench.allocation import measure_allocation
from bench.idle import section_idle
from bench.kinds import SWEEP_N as KINDS_SWEEP_N
from bench.tag_sweep import section_tag_sweep


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """A plain-text table; `align` has one `l` or `r` per column."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if how == "l" else cell.rjust(width)
            for cell, width, how in zip(cells, widths, align, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join(["  " + line(headers), "  " + rule, *("  " + line(row) for row in rows)])


def header(number: int, title: str, how: Sequence[str]) -> None:
    print()
    print(f"== {number}. {title} ==")
    for text in how:
        print(f"   {text}")
    print()


def note(text: str) -> None:
    print(f"  {text}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


# --- 1 ----------------------------------------------------------------------------------------------


def section_requests(per_kind: int) -> None:
    header(
        1,
        "AWS requests per ingested event, by event kind",
        [
            "run:     UsageMeter.record(parse_event(raw)), Boto3SageMaker + DynamoLedger on in-process",
            "         moto (mock_aws), ledger table from template.yaml (table_create_args), shipped prices",
            "count:   botocore 'before-send' hook on the meter's dynamodb and sagemaker clients (the clients",
            "         sagecost.adapters.aws builds): every HTTP attempt, retries included, by operation",
            f"input:   {per_kind} resource(s) per kind; each event delivered, then delivered again at once",
            "         (the '- duplicate' rows); BatchGetItem reads of the ledger's own state count",
        ],
    )
    print_event_requests(bench.measure_event_requests(per_kind))


def print_event_requests(results: Sequence[bench.KindResult]) -> None:
    """Section 1's table and notes (section 10 prints the new kinds' with it)."""
    rows = []
    for r in results:
        over = r.max - REQUEST_TARGET
        rows.append(
            [
                r.kind,
                str(r.events),
                f"{r.mean:.2f}",
                str(r.max),
                f"<= {REQUEST_TARGET}",
                "yes" if over <= 0 else f"NO (+{over})",
                r.per_event_operations(),
                ", ".join(f"{o} {n}" for o, n in sorted(r.outcomes.items())),
            ]
        )
    print(
        table(
            [
                "event kind",
                "events",
                "req/event mean",
                "max",
                "target",
                "within",
                "operations per event",
                "outcome reported",
            ],
            rows,
            "lrrrllll",
        )
    )
    print()
    fleet = {r.kind: r.fleet_lists for r in results if r.fleet_lists}
    note(
        "fleet-wide List* calls (ListEndpoints, ListTrainingJobs, ...: cost grows with the fleet): "
        + (f"YES {fleet}" if fleet else "none")
    )
    tags = [r for r in results if r.fixed_lists]
    if tags:
        note(
            f"ListTags (one resource's tags, a fixed-cost read counted above, not a listing): "
            f"{sum(r.fixed_lists for r in tags)} calls, in: {'; '.join(r.kind for r in tags)}"
        )
    above = [r for r in results if r.max > REQUEST_TARGET]
    for r in above:
        note(f"ABOVE the target of {REQUEST_TARGET}: {r.kind}: {r.max} ({r.per_event_operations()})")
    if not above:
        note(f"every kind is within the target of {REQUEST_TARGET} requests per event")
    misreported = [
        r.kind
        for r in results
        if not r.kind.endswith(bench.DUPLICATE)
        and r.outcomes.get("duplicate")
        and any(op == "TransactWriteItems" for (_, op) in r.operations)
    ]
    if misreported:
        note(
            "first deliveries that wrote the ledger but were reported 'duplicate' (DuplicateEvents metric): "
            + "; ".join(misreported)
        )
    all_ops: Counter[tuple[str, str]] = Counter()
    for r in results:
        all_ops.update(r.operations)
    note(f"all {sum(r.events for r in results)} deliveries: {format_operations(all_ops)}")


# --- 2 ----------------------------------------------------------------------------------------------


def section_throughput(target_events: int) -> None:
    header(
        2,
        "Recorder throughput",
        [
            "run:     usage_recorder.handler.lambda_handler(sqs_event, context), SQS-shaped batches of",
            "         10, on in-process moto (ledger table from template.yaml), fast_dynamodb_transactions;",
            "         wiring.use(LocalAdapters(DynamoLedger, FakeSageMaker, ...)); FakeSageMaker",
            "         .observe(raw) runs before each batch, untimed; POWERTOOLS_METRICS_DISABLED=true,",
            "         POWERTOOLS_TRACE_DISABLED=true, POWERTOOLS_LOG_LEVEL=ERROR",
            "caveat:  this measures moto's speed as much as ours: every DynamoDB request is served by",
            "         moto in this process (its share is shown below); real DynamoDB adds network latency",
        ],
    )
    emf = io.StringIO()
    with contextlib.redirect_stdout(emf), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # powertools: "No application metrics to publish"
        r = bench.measure_recorder_throughput(target_events)
    leaked = sum(1 for line in emf.getvalue().splitlines() if line.startswith('{"_aws"'))
    dynamodb = sum(n for (service, _), n in r.requests.items() if service == "dynamodb")
    reads = sum(r.sagemaker_reads.values())
    batch = sorted(r.batch_seconds)
    p95 = batch[min(len(batch) - 1, round(0.95 * (len(batch) - 1)))]
    outside = r.seconds - r.seconds_in_calls
    rows = [
        ["events delivered", f"{r.events}", ", ".join(f"{k} {n}" for k, n in r.kinds.most_common())],
        ["batches", f"{r.batches}", "10 messages each (the last may be short)"],
        ["handler time", f"{r.seconds:.2f} s", "sum over batches of lambda_handler wall time"],
        ["THROUGHPUT", f"{r.events_per_second:.0f} events/s", "events / handler time"],
        [
            "ms per batch",
            f"{ms(statistics.median(batch))} p50",
            f"p95 {ms(p95)}, max {ms(batch[-1])}",
        ],
        [
            "inside boto3 calls",
            f"{r.seconds_in_calls:.2f} s",
            f"{r.seconds_in_calls / r.seconds:.0%} of handler time: botocore + moto (before- to after-call)",
        ],
        [
            "outside boto3 calls",
            f"{outside / r.events * 1000:.2f} ms/event",
            "sagecost + powertools + pydantic: what real DynamoDB would not change",
        ],
        [
            "DynamoDB requests",
            f"{dynamodb / r.events:.2f} per event",
            format_operations(r.requests),
        ],
        [
            "SageMaker reads",
            f"{reads / r.events:.2f} per event",
            ", ".join(f"{k} {n}" for k, n in sorted(r.sagemaker_reads.items())) + " (FakeSageMaker, no AWS)",
        ],
        ["batchItemFailures", f"{r.failures}", "messages the handler reported failed"],
        [
            "EMF lines printed",
            f"{leaked}",
            "powertools prints metrics at 100 values even with POWERTOOLS_METRICS_DISABLED=true",
        ],
    ]
    print(table(["measure", "value", "detail"], rows, "lrl"))


# --- 3 ----------------------------------------------------------------------------------------------


SWEEP_COLUMNS = (
    "ListEndpoints",
    "ListNotebookInstances",
    "Query",
    "DescribeEndpoint",
    "DescribeNotebookInstance",
    "TransactWriteItems",
)


def section_sweep(sizes: Sequence[int], skipped: str | None) -> None:
    header(
        3,
        "Sweep requests over N open endpoints and N notebooks",
        [
            "run:     UsageMeter.sweep(now), Boto3SageMaker + DynamoLedger on in-process moto: N endpoints",
            "         (create_model/create_endpoint_config/create_endpoint: InService at once in moto)",
            "         and N notebooks (create_notebook_instance), each opened by one IN_SERVICE/InService",
            "         event; then a first sweep 1 h later, the next 2 h later; requests counted as in 1.",
            f"design:  ceil(N/{SWEEP_PAGE}) pages per List* operation + per-resource describes/transactions;",
            "         (DESIGN.md, Cloud Custodian at N=1000+1000: 4,021 requests to find nothing to do)",
        ],
    )
    results: list[SweepResult] = [bench.measure_sweep(n) for n in sizes]
    rows = []
    for result in results:
        for run in result.runs:
            extra = sorted(op for (_, op) in run.operations if op not in SWEEP_COLUMNS)
            lists = run.count("ListEndpoints") + run.count("ListNotebookInstances")
            per_resource = run.total - lists - run.count("Query")
            rows.append(
                [
                    str(result.n),
                    run.label,
                    *(str(run.count(op)) for op in SWEEP_COLUMNS),
                    str(run.total) + (f" (+{', '.join(extra)})" if extra else ""),
                    f"{lists} vs 2 x {result.list_pages}",
                    f"{per_resource / (2 * result.n):.2f}",
                    f"{run.seconds:.1f}",
                ]
            )
    print(
        table(
            [
                "N",
                "sweep",
                *SWEEP_COLUMNS,
                "total",
                "list pages vs design",
                "per resource",
                "sweep s",
            ],
            rows,
            "lrrrrrrrrrrr",
        )
    )
    print()
    note("list pages: ListEndpoints + ListNotebookInstances pages; design 2 x ceil(N/100)")
    note("Query: pages of the ledger's open_resources index (1 MB each), not in the design's formula")
    note("per resource: (describes + transactions) / 2N resources, every running resource being metered")
    note("TransactWriteItems: transactions sent (the sweep may pack several resources into one)")
    for result in results:
        first = result.runs[0]
        describes = first.count("DescribeEndpoint") + first.count("DescribeNotebookInstance")
        note(
            f"N={result.n}: formula 2 x ceil({result.n}/{SWEEP_PAGE}) + describes + transactions = "
            f"{2 * result.list_pages} + {describes} + {first.count('TransactWriteItems')} "
            f"(+ {first.count('Query')} Query) = {first.total} on the first sweep; "
            f"setup {result.setup_seconds:.1f} s"
        )
    if skipped:
        note(skipped)


# --- 4 ----------------------------------------------------------------------------------------------


def section_imports(repeats: int) -> None:
    modules = ("usage_recorder.handler", "usage_sweeper.handler")
    header(
        4,
        "Handler import time (cold start)",
        [
            *(f'run:     python -X importtime -c "import {m}"' for m in modules),
            "         subprocesses, PYTHONPATH=shared:functions, the handlers' environment; cumulative us",
            "         of the top-level entries of the handler's package, after one warm-up run (.pyc cached)",
            '         and the wall time of a cold `python -c "import ..."` next to `python -c pass`',
            f"repeats: {repeats}",
        ],
    )
    bare = bench.measure_bare_interpreter(repeats)
    results: list[ImportResult] = [bench.measure_import(m, repeats) for m in modules]
    rows = [
        [
            r.module,
            f"{r.median_ms:.0f}",
            f"{r.min_ms:.0f}",
            ms(statistics.median(r.cold_wall)),
            ms(statistics.median(bare)),
            ", ".join(f"{name} {us / 1000:.0f}" for name, us in r.runs[0].children[:4]),
        ]
        for r in results
    ]
    print(
        table(
            [
                "module",
                "import ms (median)",
                "min",
                "cold python -c ms",
                "python -c pass ms",
                "heaviest direct imports (ms, first run)",
            ],
            rows,
            "lrrrrl",
        )
    )
    print()
    for r in results:
        heaviest = ", ".join(f"{name} {us / 1000:.0f}" for name, us in r.runs[0].packages[:8])
        note(f"{r.module}: heaviest packages anywhere in its import (ms, first run): {heaviest}")
    note("(a package imported by another counts in both: boto3's figure includes s3transfer's)")


# --- 5 ----------------------------------------------------------------------------------------------


def section_demo(quick_lines: int | None) -> None:
    what = (
        "python -m sagecost.cli demo --out <tmpdir>"
        if quick_lines is None
        else f"(--quick) python -m sagecost.cli simulate --events <first {quick_lines} lines> --out <tmp>"
    )
    header(
        5,
        "Peak memory of a demo run",
        [
            f"run:     {what}",
            "         in a subprocess; peak RSS from os.wait4 (the child's own ru_maxrss, as",
            "         getrusage(RUSAGE_CHILDREN) reports it after it exits), and its wall time",
        ],
    )
    with tempfile.TemporaryDirectory(prefix="sagecost-bench-") as out:
        run = bench.measure_demo(Path(out), quick_lines)
    rows = [
        ["peak RSS", f"{run.peak_rss_mib:.0f} MiB"],
        ["wall time", f"{run.seconds:.1f} s"],
        ["exit code", str(run.returncode)],
    ]
    print(table(["measure", "value"], rows, "lr"))
    print()
    if run.returncode != 0:
        note("it FAILED; the end of its output:")
        for line in run.last_lines:
            note("  " + line)
        return
    summary = [line for line in run.last_lines if "events delivered" in line]
    if summary:
        note("its summary line: " + summary[-1])


# --- 7 ----------------------------------------------------------------------------------------------


def section_allocation(
    record_counts: Sequence[int], project_counts: Sequence[int], records_for_projects: int
) -> None:
    header(
        7,
        "Month-end allocation time: grows with projects, not with usage records",
        [
            "run:     MonthEndAllocator.run (Query the month's allocation and resource-line aggregate items,",
            "         split, reconcile) then render_outputs (JSON, CSV, FOCUS, HTML, summary), on in-process",
            "         moto with the production dynamodb client, its requests counted (no Cost Explorer)",
            "input:   N generated usage records (project, resource, environment, cost) summed into the",
            "         aggregate items metering leaves; 5 resources per project, 1 shared project",
        ],
    )
    runs = [measure_allocation(n, project_counts[len(project_counts) // 2]) for n in record_counts]
    runs += [
        measure_allocation(records_for_projects, p)
        for p in project_counts
        if p != project_counts[len(project_counts) // 2]
    ]
    rows = [
        [
            f"{r.records:,}",
            f"{r.projects:,}",
            f"{r.allocation_items:,}",
            f"{r.resource_lines:,}",
            str(r.requests),
            ms(r.allocate_seconds),
            ms(r.render_seconds),
            f"{r.metered:,}",
        ]
        for r in runs
    ]
    print(
        table(
            [
                "usage records",
                "projects",
                "allocation items",
                "resource lines",
                "requests",
                "allocate ms",
                "render ms",
                "metered USD",
            ],
            rows,
            "rrrrrrrr",
        )
    )
    print()
    note("requests are Query pages (1 MB each): they follow the items, and the items follow projects and")
    note("resources; the record count never enters (no usage record is read).")


# --- main ------------------------------------------------------------------------------------------


# --- 9 ----------------------------------------------------------------------------------------------


def section_layer(repeats: int) -> None:
    from bench import layer

    header(
        9,
        "The Lambda layer as built, and each handler's import time on python3.12 against it",
        [
            "run:     make build (sam build), then zip .aws-sam/build/SharedLayer in memory (deflate);",
            '         .venv-lambda/bin/python -X importtime -c "import <handler>" with PYTHONPATH =',
            "         the built function folder + the built layer; .venv-lambda is python3.12 with only",
            "         boto3/botocore (the Lambda runtime's part); after one warm-up run (.pyc cached)",
            f"repeats: {repeats}",
        ],
    )
    if not layer.LAYER.exists():
        note("skipped: no .aws-sam/build/SharedLayer: run `make build` first")
        return
    zipped, unzipped, files = layer.zipped_bytes(layer.LAYER)
    forbidden = layer.forbidden_contents(layer.LAYER)
    note(
        f"layer: {zipped / 1024 / 1024:.1f} MiB zipped, {unzipped / 1024 / 1024:.1f} MiB unzipped, "
        f"{files} files; holds {', '.join(forbidden) or 'none'} of {', '.join(layer.RUNTIME_CODE_ONLY)}"
    )
    py312 = layer.python312()
    if py312 is None:
        note("import times skipped: no python3.12 on this machine")
        return
    python = layer.lambda_python(py312)
    rows = []
    for function, module, folder in layer.handler_folders():
        result = layer.measure_handler(python, function, module, folder, repeats)
        rows.append(
            [
                function,
                module,
                f"{result.median_ms:.0f}",
                f"{result.min_ms:.0f}",
                "yes" if result.loads_local_code else "no",
            ]
        )
    print(
        table(["function", "handler", "import ms (median)", "min", "imports moto/CLI/local"], rows, "llrrl")
    )
    note("target (DESIGN.md): <= 150 ms per handler on the built layer, python3.12")


# --- 10 ---------------------------------------------------------------------------------------------


def section_kinds(per_kind: int, n: int, why: str | None) -> None:
    from bench import kinds

    header(
        10,
        "The new kinds (issue 12): AWS requests per event, and sweep requests at N of each kind",
        [
            "run:     wiring.usage_meter(LocalAdapters(...)): every kind meter a deployed function",
            "         registers, DynamoLedger on in-process moto, the local fakes for the SageMaker APIs",
            "         moto lacks (Studio, inference components, MLflow, HyperPod), FakeSageMaker and",
            "         FakeHourlyMetrics",
            "count:   DynamoDB as in 1 (botocore before-send); the fakes through a counting proxy: one",
            "         request per call and one per page paginated; FakeSageMaker's reads (listings in pages",
            "         of 100); GetMetricData per 500 series. Events: tests/fixtures/kinds, re-addressed",
            f"input:   {per_kind} resource(s) per kind, each event delivered then again at once",
            "         (the '- duplicate' rows)",
        ],
    )
    print_event_requests(kinds.measure_kind_event_requests(per_kind))
    note(kinds.SWEEP_ONLY)
    note("setup events of built-in kinds (endpoint configs, endpoints in service): delivered, not counted")
    print()
    began = time.perf_counter()
    results = kinds.measure_kind_sweeps(n)
    baseline = next(r for r in results if r.kind == "baseline")
    base = {run.label: run.total for run in baseline.runs}
    rows = []
    for result in results:
        for run in result.runs:
            own = run.total - base[run.label]
            rows.append(
                [
                    result.kind,
                    str(result.n),
                    run.label,
                    str(run.total),
                    str(own) if result.n else "-",
                    f"{own / result.n:.2f}" if result.n else "-",
                    f"{sum(n for (_, op), n in run.operations.items() if is_list(op))}",
                    f"{run.records}",
                    f"{run.seconds:.1f}",
                ]
            )
    print(
        table(
            [
                "kind",
                "N",
                "sweep",
                "requests",
                "beyond baseline",
                "per resource",
                "list pages",
                "records",
                "sweep s",
            ],
            rows,
            "lrlrrrrrr",
        )
    )
    print()
    note("each kind in its own ledger, the other kinds' listings empty: 'baseline' is what every sweep")
    note("costs with nothing to meter (each listing's one empty page, the open-resources Query pages)")
    note("list pages: List* requests (one resource's ListTags excluded); the design: ceil(N/100) each")
    for result in results:
        note(f"{result.kind} (N={result.n}): {result.what}; setup {result.setup_seconds:.1f} s")
        for run in result.runs:
            note(f"  {run.label}: {format_operations(run.operations)}")
    if why:
        note(why)
    note(f"sweeps of section 10 took {time.perf_counter() - began:.0f} s (setup included)")


def is_list(operation: str) -> bool:
    return operation.startswith("List") and operation not in bench.FIXED_COST_LISTS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs (CI smoke): seconds, not minutes")
    parser.add_argument(
        "--section",
        type=int,
        action="append",
        choices=range(1, 11),
        help="run only this section (repeatable); default: all",
    )
    args = parser.parse_args(argv)
    bench.prepare_environment()
    quick: bool = args.quick
    sweep_sizes = (10,) if quick else (10, 100, 1000)
    sections: dict[int, Callable[[], None]] = {
        1: lambda: section_requests(1 if quick else 5),
        2: lambda: section_throughput(200 if quick else 2000),
        3: lambda: section_sweep(
            sweep_sizes, "--quick: N=10 only (a full run also sweeps N=100 and N=1000)" if quick else None
        ),
        4: lambda: section_imports(2 if quick else 5),
        5: lambda: section_demo(60 if quick else None),
        6: lambda: section_tag_sweep(20 if quick else 1000),
        7: lambda: section_allocation(
            (1_000, 10_000) if quick else (10_000, 100_000, 1_000_000),
            (20, 100, 200) if quick else (100, 1_000, 3_000),
            10_000 if quick else 100_000,
        ),
        8: lambda: section_idle(20 if quick else 1000),
        9: lambda: section_layer(2 if quick else 5),
        10: lambda: section_kinds(
            1 if quick else 5,
            10 if quick else KINDS_SWEEP_N,
            "--quick: N=10 (a full run sweeps N=1000 of each kind)" if quick else None,
        ),
    }
    started = time.perf_counter()
    print(
        f"sagecost bench{' --quick' if quick else ''}: python {sys.version.split()[0]}, "
        "numbers only (no pass/fail on timing); see bench/README.md"
    )
    for number in sorted(set(args.section or sections)):
        sections[number]()
    print()
    print(f"bench done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
