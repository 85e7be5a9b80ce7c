"""`simulate` on a small, messy day of events: what a user reads in ledger.jsonl, rejected.jsonl and
summary.json after replaying duplicates, late events, garbage and events no rule routes."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sagecost.domain.allocation import percent
from sagecost.domain.money import cents
from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.simulator import SimulationResult, simulate
from sagecost.models.ledger import UNTAGGED
from sagecost.services.allocation import OUTPUT_FILES

# The handlers import the X-Ray SDK, whose recorder creates a UDP socket on first import: pytest-socket
# allows that while tests are collected, not while they run. Imported here, the replay stays socket-free.
from usage_recorder import handler as _recorder  # noqa: F401
from usage_sweeper import handler as _sweeper  # noqa: F401

T0 = datetime(2026, 11, 10, tzinfo=UTC)
H, M = timedelta(hours=1), timedelta(minutes=1)
FRAUD = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-1", "Owner": "alice"}
RECS = {"Project": "recs", "Team": "growth", "CostCenter": "cc-2", "Owner": "bob"}


def line(event: dict[str, Any]) -> str:
    return json.dumps(event)


def endpoint(status: str, at: datetime, count: int) -> str:
    variants = [("AllTraffic", count)] if status != "DELETED" else []
    tags = FRAUD if status != "DELETED" else {}
    return line(events.endpoint("ep-a", status, at=at, config_name="cfg-a", variants=variants, tags=tags))


TRAINING_DONE = line(
    events.training_job(
        "train-a",
        "Completed",
        at=T0 + 5 * H + M,
        instance_type="ml.m5.xlarge",
        instance_count=2,
        start=T0 + 3 * H,
        end=T0 + 5 * H,
        created=T0 + 2 * H,
        tags=FRAUD,
        time_format="epoch_str",
    )
)
# Garbage, each delivered once. Lines 3 and 4 are well-formed JSON a rule routes, which the recorder refuses.
NOT_JSON = "this is not json"
AN_ARRAY = '["an", "array"]'
NO_ARN = json.loads(TRAINING_DONE)
del NO_ARN["detail"]["TrainingJobArn"]
KEYLESS_TAG = json.loads(TRAINING_DONE)
KEYLESS_TAG["detail"]["TrainingJobName"] = "train-keyless"
KEYLESS_TAG["detail"]["Tags"] = [{"Key": "Project", "Value": "fraud"}, {"Value": "orphan"}]
BAD_TIME = (
    '{"detail-type": "SageMaker Endpoint State Change", "source": "aws.sagemaker", "time": "yesterday"}'
)
# Events no rule in template.yaml routes: counted, never rejected
CREATE_PROCESSING = line(
    events.cloudtrail_create(
        "CreateProcessingJob",
        events.arn("processing-job", "prep-b"),
        {"processingJobName": "prep-b", "tags": [{"key": k, "value": v} for k, v in RECS.items()]},
        at=T0 + 6 * H,
    )
)
EC2 = line(
    {
        "version": "0",
        "id": "ec2-1",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "time": "2026-11-10T07:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"state": "running"},
    }
)
TUNING = line(
    events.envelope(
        "SageMaker HyperParameter Tuning Job State Change",
        {"HyperParameterTuningJobName": "hpo-1", "HyperParameterTuningJobStatus": "Completed", "Tags": {}},
        at=T0 + 7 * H,
        resource_arn=events.arn("hyper-parameter-tuning-job", "hpo-1"),
    )
)

DELIVERED = [
    line(events.endpoint_config("cfg-a", [("AllTraffic", "ml.m5.xlarge", 2)], at=T0 + 50 * M)),
    endpoint("CREATING", T0 + H + 2 * M, 2),
    endpoint("IN_SERVICE", T0 + H + 8 * M, 2),
    endpoint("IN_SERVICE", T0 + H + 8 * M, 2),  # duplicate
    line(
        events.training_job("train-a", "InProgress", at=T0 + 2 * H, instance_type="ml.m5.xlarge", tags=FRAUD)
    ),
    NOT_JSON,  # line 6
    TRAINING_DONE,
    CREATE_PROCESSING,
    AN_ARRAY,  # line 9
    TRAINING_DONE,  # duplicate
    line(
        events.processing_job(
            "prep-b",
            "Completed",
            at=T0 + 7 * H + M,
            instance_type="ml.m5.xlarge",
            instance_count=2,
            start=T0 + 6 * H,
            end=T0 + 7 * H,
        )
    ),
    EC2,
    line(NO_ARN),  # line 13
    TUNING,
    endpoint("IN_SERVICE", T0 + 20 * H + 5 * M, 3),  # delivered before the UPDATING that preceded it
    endpoint("UPDATING", T0 + 20 * H, 3),
    BAD_TIME,  # line 17
    line(KEYLESS_TAG),  # line 18
    endpoint("DELETING", T0 + 26 * H, 3),
    endpoint("DELETED", T0 + 26 * H + 3 * M, 0),
    endpoint("DELETING", T0 + 26 * H, 3),  # duplicate, late
]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, prices: PriceBook) -> tuple[Path, SimulationResult]:
    out = tmp_path_factory.mktemp("simulated")
    return out, simulate(DELIVERED, out, catalog=prices.catalog)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]


def ledger(out: Path) -> list[dict[str, Any]]:
    return read_jsonl(out / "ledger.jsonl")


def test_each_malformed_line_is_rejected_once_with_its_line_number_and_a_reason(
    simulated: tuple[Path, SimulationResult],
) -> None:
    out, _ = simulated
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["line"], r["raw"]) for r in rejected] == [
        (6, NOT_JSON),
        (9, AN_ARRAY),
        (13, line(NO_ARN)),
        (17, BAD_TIME),
        (18, line(KEYLESS_TAG)),
    ]
    reasons = [r["reason"] for r in rejected]
    assert reasons[0].startswith("unreadable line: ")
    assert reasons[1] == "unreadable line: a line must hold one JSON object, not list"
    assert reasons[2] == (
        "rejected by the recorder: SageMaker Training Job State Change: detail.TrainingJobArn: Field required"
    )
    assert reasons[3].startswith("unreadable line: ")
    assert reasons[4].startswith(
        "rejected by the recorder: SageMaker Training Job State Change: detail.Tags:"
    )
    assert "Key" in reasons[4]


def test_an_unreadable_time_is_rejected_with_a_reason_naming_the_field(
    simulated: tuple[Path, SimulationResult],
) -> None:
    out, _ = simulated
    (reason,) = [r["reason"] for r in read_jsonl(out / "rejected.jsonl") if r["raw"] == BAD_TIME]
    assert re.search(r"\btime\b", reason), reason


def test_events_no_rule_routes_are_counted_not_rejected(simulated: tuple[Path, SimulationResult]) -> None:
    out, result = simulated
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # (a CloudTrail Create* call is routed: the tag enforcer's rule takes it)
    assert summary["unrouted_events"] == {
        "aws.ec2: EC2 Instance State-change Notification": 1,
        "aws.sagemaker: SageMaker HyperParameter Tuning Job State Change": 1,
    }
    assert summary["rejected"] == 5 == len(result.rejected)
    rejected_lines = {r["raw"] for r in read_jsonl(out / "rejected.jsonl")}
    assert rejected_lines.isdisjoint({EC2, CREATE_PROCESSING, TUNING})


def test_the_endpoint_bills_its_instance_hours_once_whatever_the_delivery(
    simulated: tuple[Path, SimulationResult],
) -> None:
    out, _ = simulated
    hosting = sorted(
        (r["start"], r["end"], Decimal(r["quantity"]), r["instance_count"])
        for r in ledger(out)
        if r["resource_name"] == "ep-a" and r["component"] == "hosting"
    )
    # 2 instances 01:08-20:00 (18 h 52 min), 3 instances 20:00-02:00 cut at midnight; CREATING,
    # DELETING and DELETED bill nothing; the duplicate and late events change nothing
    assert hosting == [
        ("2026-11-10T01:08:00Z", "2026-11-10T20:00:00Z", Decimal("37.733333"), 2),
        ("2026-11-10T20:00:00Z", "2026-11-11T00:00:00Z", Decimal(12), 3),
        ("2026-11-11T00:00:00Z", "2026-11-11T02:00:00Z", Decimal(6), 3),
    ]
    assert sum(quantity for _, _, quantity, _ in hosting) == Decimal("55.733333")


def test_the_training_job_bills_once_at_the_catalog_rate(simulated: tuple[Path, SimulationResult]) -> None:
    out, _ = simulated
    records = {r["line"]: r for r in ledger(out) if r["resource_name"] == "train-a"}
    assert set(records) == {"compute", "storage"}
    compute, storage = records["compute"], records["storage"]
    # 2 instances for the 2 h between its start and end: 4 instance-hours at 0.23
    assert (Decimal(compute["quantity"]), Decimal(compute["cost"])) == (Decimal(4), Decimal("0.92"))
    # 30 GB on each of the 2 instances for 2 h of November's 720 h: 0.166667 GB-month at 0.14
    assert (Decimal(storage["quantity"]), Decimal(storage["cost"])) == (
        Decimal("0.166667"),
        Decimal("0.023333"),
    )
    assert compute["tags"]["project"] == "fraud"
    assert not any(r["resource_name"] == "train-keyless" for r in ledger(out))


def test_a_processing_job_gets_its_tags_from_the_cloudtrail_create_call(
    simulated: tuple[Path, SimulationResult],
) -> None:
    out, _ = simulated
    (compute,) = [r for r in ledger(out) if r["resource_name"] == "prep-b" and r["line"] == "compute"]
    assert (Decimal(compute["quantity"]), compute["tags"]["project"], compute["tags"]["team"]) == (
        Decimal(2),
        "recs",
        "growth",
    )


def test_summary_costs_per_project_are_the_ledger_summed_to_the_cent(
    simulated: tuple[Path, SimulationResult],
) -> None:
    out, _ = simulated
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    records = ledger(out)
    per_project: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for record in records:
        assert record["cost"] is not None, "every type in this scenario has a price"
        per_project[record["month"]][record["tags"]["project"] or UNTAGGED] += Decimal(record["cost"])
    assert set(summary["months"]) == set(per_project) == {"2026-11"}
    for month, projects in per_project.items():
        reported = summary["months"][month]["by_project"]
        assert reported == {project: str(cents(total)) for project, total in projects.items()}
        assert summary["months"][month]["metered_cost"] == str(cents(sum(projects.values(), Decimal(0))))
    # worked by hand: fraud = endpoint 8.678667 + 2.76 + 1.38, training 0.92 + storage 0.023333
    #                 recs  = processing 2 instance-hours 0.46 + storage 0.083333 GB-month 0.011667
    assert summary["months"]["2026-11"]["by_project"] == {"fraud": "13.76", "recs": "0.47"}
    assert summary["records"] == len(records)


def test_the_same_lines_always_give_the_same_files(
    simulated: tuple[Path, SimulationResult], tmp_path: Path, prices: PriceBook
) -> None:
    out, _ = simulated
    simulate(DELIVERED, tmp_path, catalog=prices.catalog)
    names = ["ledger.jsonl", "rejected.jsonl", "summary.json", "reports.jsonl"]
    names += [f"allocation/2026-11/{name}" for name in OUTPUT_FILES]
    for name in names:
        assert (tmp_path / name).read_text(encoding="utf-8") == (out / name).read_text(encoding="utf-8"), name


def test_the_run_ends_with_the_allocation_of_every_month_it_covers(
    simulated: tuple[Path, SimulationResult],
) -> None:
    out, result = simulated
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(result.allocations) == set(summary["allocations"]) == set(summary["months"]) == {"2026-11"}
    allocation = json.loads((out / "allocation" / "2026-11" / "allocation.json").read_text(encoding="utf-8"))
    assert allocation["totals"]["metered"] == summary["months"]["2026-11"]["metered_cost"]
    assert {row["project"]: row["total"] for row in allocation["rows"]} == {"fraud": "13.76", "recs": "0.47"}
    assert allocation["reconciliation"]["billed"] == summary["allocations"]["2026-11"]["billed"]
    # the bill per usage-type group: what ran at the simulated account's rates (training discounted) and
    # what sagecost does not meter (data processed); each column adds up to its total
    groups = summary["allocations"]["2026-11"]["by_usage_type"]
    assert groups["billed"] == allocation["reconciliation"]["billed"]
    assert groups["metered"] == allocation["totals"]["metered"]
    for column in ("metered", "billed"):
        assert sum(Decimal(g[column]) for g in groups["groups"].values()) == Decimal(groups[column])
    assert "Serverless inference" not in groups["groups"]  # none ran, so none is billed
    assert groups["groups"]["Data transfer/processed"]["metered_share"] == "0.00 %"
    assert groups["metered_share"] == f"{percent(Decimal(groups['metered']), Decimal(groups['billed']))} %"
    (sent,) = read_jsonl(out / "reports.jsonl")  # the summary on the reports topic, at the simulated time
    assert sent["attributes"]["month"] == "2026-11"
    assert sent["at"].startswith("2026-11-")
    assert "in allocation/2026-11." in sent["message"]


def test_the_summary_accounts_for_every_line(simulated: tuple[Path, SimulationResult]) -> None:
    out, result = simulated
    lines = json.loads((out / "summary.json").read_text(encoding="utf-8"))["lines"]
    # not JSON, an array and an unreadable time are rejected before delivery; the EC2 and tuning events
    # are routed by no rule; the training events without an ARN or with a keyless tag are delivered, and
    # then rejected by the recorder
    assert lines == {
        "read": len(DELIVERED),
        "delivered": 16,
        "rejected": 3,
        "unrouted": 2,
        "blank": 0,
        "rejected_by_reason": {"unreadable line": 3},
        "delivered_then_rejected": 2,
    }
    assert lines["delivered"] + lines["rejected"] + lines["unrouted"] + lines["blank"] == result.lines == 21
