"""`simulate` on one bad line among good ones: it finishes, the line is accounted for (rejected with a reason,
or counted as unrouted), and a line that is not delivered neither moves the virtual clock nor teaches the
fake SageMaker anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sagecost.domain.pricing import PriceBook
from sagecost.local import events
from sagecost.local.fake_sagemaker import FakeSageMaker
from sagecost.local.simulator import SimulationResult, out_of_place, read_event_lines, simulate

# The handlers import the X-Ray SDK, whose recorder creates a UDP socket on first import: pytest-socket
# allows that while tests are collected, not while they run. Imported here, the replay stays socket-free.
from usage_recorder import handler as _recorder  # noqa: F401

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
FRAUD = {"Project": "fraud", "Team": "risk", "CostCenter": "cc-1", "Owner": "alice"}


def training(name: str, status: str, at: datetime, **figures: Any) -> dict[str, Any]:
    return events.training_job(name, status, at=at, instance_type="ml.m5.xlarge", tags=FRAUD, **figures)


STARTED = training("t1", "InProgress", T0)
DONE = training("t1", "Completed", T0 + 2 * H, start=T0, end=T0 + 2 * H)
GOOD = [json.dumps(STARTED), json.dumps(DONE)]
CLAIM = events.cloudtrail_create(
    "CreateTrainingJob",
    events.arn("training-job", "t1"),
    {"trainingJobName": "t1", "tags": [{"key": "Project", "value": "evil"}]},
    at=T0 - H,
)
"""A create call for the job above that claims it for another project."""


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, prices: PriceBook) -> SimulationResult:
    """The good lines alone: the sweeps and the money every bad line must leave as they are."""
    return simulate(GOOD, tmp_path_factory.mktemp("baseline"), catalog=prices.catalog)


def run(lines: list[str], out: Path, prices: PriceBook) -> tuple[SimulationResult, dict[str, Any]]:
    result = simulate(lines, out, catalog=prices.catalog)
    return result, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def rejected(out: Path) -> dict[int, str]:
    rows = [json.loads(text) for text in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    return {row["line"]: row["reason"] for row in rows}


def training_cost(summary: dict[str, Any]) -> str:
    return str(summary["months"]["2026-11"]["by_project"]["fraud"])


def with_envelope(**fields: Any) -> str:
    """A copy of the completed job's event, named t2, with envelope fields replaced."""
    event = json.loads(json.dumps(DONE))
    event["detail"]["TrainingJobName"] = "t2"
    event.update(fields)
    return json.dumps(event)


@pytest.mark.parametrize(
    ("bad", "reason", "where"),
    [
        (with_envelope(detail=None), "EventBridge refused it: MalformedDetail: the detail is null", "last"),
        (
            with_envelope(detail="x"),
            "EventBridge refused it: MalformedDetail: the detail is a string",
            "last",
        ),
        (
            with_envelope(detail=[1]),
            "EventBridge refused it: MalformedDetail: the detail is an array",
            "first",
        ),
        ("[" * 100_000 + "]" * 100_000, "unreadable line: JSON nested too deeply to read", "last"),
        ('{"a":' * 40 + "1" + "}" * 40, "unreadable line: JSON nested deeper than 32 levels", "last"),
        (with_envelope(time="9999-12-31T23:59:59-05:00"), "unreadable line: the envelope's time", "last"),
        (
            with_envelope(time="9999-12-31T00:00:00Z"),
            "implausible time: 9999-12-31T00:00:00+00:00 is in",
            "last",
        ),
        (
            with_envelope(time="9999-12-31T00:00:00Z"),
            "implausible time: 9999-12-31T00:00:00+00:00 is in",
            "first",
        ),
        (
            with_envelope(time="2100-01-01T00:00:00Z"),
            "implausible time: 2100-01-01T00:00:00+00:00 is in",
            "last",
        ),
        (with_envelope(time=0), "implausible time: 1970-01-01T00:00:00+00:00 is before SageMaker", "first"),
        (
            with_envelope(time="2017-06-01T00:00:00Z"),
            "implausible time: 2017-06-01T00:00:00+00:00 is",
            "last",
        ),
    ],
    ids=[
        "detail-null",
        "detail-string",
        "detail-array",
        "nested-100000",
        "nested-40",
        "time-overflows",
        "time-9999-last",
        "time-9999-first",
        "time-2100",
        "time-1970-first",
        "time-before-sagemaker",
    ],
)
def test_a_bad_line_is_rejected_with_a_reason_before_it_moves_the_clock(
    bad: str, reason: str, where: str, baseline: SimulationResult, tmp_path: Path, prices: PriceBook
) -> None:
    lines = [bad, *GOOD] if where == "first" else [*GOOD, bad]
    number = 1 if where == "first" else 3

    result, summary = run(lines, tmp_path, prices)

    assert rejected(tmp_path)[number].startswith(reason), rejected(tmp_path)
    assert result.sweeps == baseline.sweeps  # the clock ran exactly as without the line
    assert training_cost(summary) == training_cost(baseline.summary)
    assert summary["lines"] == {
        "read": 3,
        "delivered": 2,
        "rejected": 1,
        "unrouted": 0,
        "blank": 0,
        "rejected_by_reason": {reason.split(":", 1)[0]: 1},
        "delivered_then_rejected": 0,
    }


def test_null_resources_reach_the_recorder_which_rejects_them(tmp_path: Path, prices: PriceBook) -> None:
    result, summary = run([*GOOD, with_envelope(resources=None)], tmp_path, prices)

    assert rejected(tmp_path)[3].startswith("rejected by the recorder: "), rejected(tmp_path)
    assert "resources" in rejected(tmp_path)[3]
    assert (summary["lines"]["delivered"], summary["lines"]["delivered_then_rejected"]) == (3, 1)
    assert result.delivered == 3


def test_a_line_far_from_the_times_around_it_is_rejected(
    baseline: SimulationResult, tmp_path: Path, prices: PriceBook
) -> None:
    # a dense stream: an event every ten minutes, and one that claims to be three days ahead
    stream = [training(f"n{i}", "InProgress", T0 - 3 * H + i * timedelta(minutes=10)) for i in range(12)]
    lines = [json.dumps(e) for e in stream[:6]]
    lines += [with_envelope(time=(T0 + 72 * H).isoformat()), *(json.dumps(e) for e in stream[6:]), *GOOD]

    result, summary = run(lines, tmp_path, prices)

    (reason,) = rejected(tmp_path).values()
    assert reason == (
        "implausible time: 2026-11-13T09:00:00+00:00 is more than a day after most of the lines delivered "
        "after it"
    )
    assert rejected(tmp_path) == {7: reason}
    assert result.sweeps < 10  # not the 72 hourly sweeps up to the line's time
    assert training_cost(summary) == training_cost(baseline.summary)


def test_out_of_place_knows_no_event_arrives_more_than_a_day_late() -> None:
    daily = [T0 + timedelta(days=day) for day in range(12)]
    lonely_weekend = (
        [T0 + i * H for i in range(10)] + [T0 + 60 * H] + [T0 + 110 * H + i * H for i in range(10)]
    )
    assert out_of_place(daily) == out_of_place(lonely_weekend) == {}  # sparse, but in arrival order
    far_ahead = {6: "more than a day after most of the lines delivered after it"}
    assert out_of_place([*daily[:6], T0 + timedelta(days=60), *daily[6:]]) == far_ahead
    redelivered = {6: "more than a day before most of the lines delivered before it"}
    assert out_of_place([*daily[:6], T0 - timedelta(days=20), *daily[6:]]) == redelivered
    dense = [T0 + i * timedelta(minutes=10) for i in range(12)]
    last = {12: "more than a day after every line delivered after it"}
    assert out_of_place([*dense, T0 + 3 * 24 * H, dense[-1]]) == last  # near the end: fewer lines after it
    assert out_of_place([*dense, T0 + 3 * 24 * H]) == {}  # the last line: nothing after it to contradict
    assert out_of_place([T0, T0 + timedelta(days=30)]) == {}  # too few lines to say which is wrong
    assert set(out_of_place([T0, T0, T0 + timedelta(days=400)])) == {2}


def test_an_unrouted_line_neither_moves_the_clock_nor_teaches_the_fake_its_tags(
    baseline: SimulationResult, tmp_path: Path, prices: PriceBook
) -> None:
    # the claim where no rule routes it (a misspelt source), and an EC2 event twenty hours after the last
    # SageMaker event
    ec2 = {**CLAIM, "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}
    ec2["time"] = (T0 + 22 * H).isoformat()
    lines = [json.dumps({**CLAIM, "source": "aws.sagemakr"}), *GOOD, json.dumps(ec2)]

    result, summary = run(lines, tmp_path, prices)

    assert result.unrouted_lines == [1, 4]
    assert summary["lines"]["unrouted"] == 2
    assert result.sweeps == baseline.sweeps
    assert training_cost(summary) == training_cost(baseline.summary)
    assert "evil" not in json.dumps(summary["months"])


def test_a_rejected_create_call_teaches_the_fake_nothing(
    baseline: SimulationResult, tmp_path: Path, prices: PriceBook
) -> None:
    lines = [json.dumps({**CLAIM, "time": "1999-01-01T00:00:00Z"}), *GOOD]

    _, summary = run(lines, tmp_path, prices)

    assert rejected(tmp_path)[1].startswith("implausible time: ")
    assert "evil" not in json.dumps(summary["months"])
    assert training_cost(summary) == training_cost(baseline.summary)


def test_an_event_the_recorder_rejects_teaches_the_fake_nothing(
    baseline: SimulationResult, tmp_path: Path, prices: PriceBook
) -> None:
    # the job's own name, a week of billable time, and a tag list the recorder refuses (a tag without Key)
    poisoned = training("t1", "Stopping", T0 + H, billable_seconds=7 * 24 * 3600)
    poisoned["detail"]["Tags"] = [{"Value": "orphan"}]

    _, summary = run([GOOD[0], json.dumps(poisoned), GOOD[1]], tmp_path, prices)

    assert rejected(tmp_path)[2].startswith("rejected by the recorder: ")
    assert training_cost(summary) == training_cost(baseline.summary)


def test_a_batch_whose_every_message_fails_is_retried_then_parked(
    monkeypatch: pytest.MonkeyPatch, baseline: SimulationResult, tmp_path: Path, prices: PriceBook
) -> None:
    # DescribeTrainingJob throttled on every try: the recorder fails the batch's one message each time
    # (Powertools raises BatchProcessingError when every record of a batch failed)
    def throttled(self: FakeSageMaker, name: str) -> None:
        raise RuntimeError(f"ThrottlingException: DescribeTrainingJob {name}")

    monkeypatch.setattr(FakeSageMaker, "training_billing", throttled)

    result, summary = run(GOOD, tmp_path, prices)

    assert rejected(tmp_path)[2] == (
        "failed 5 times (RuntimeError: ThrottlingException: DescribeTrainingJob t1): parked in the DLQ"
    )
    assert result.sweeps == baseline.sweeps
    assert summary["lines"]["delivered_then_rejected"] == 1


def test_a_line_with_u2028_in_a_value_is_one_line(tmp_path: Path, prices: PriceBook) -> None:
    # JSON allows U+2028 and U+0085 unescaped in a string; str.splitlines would cut the line at each
    event = json.loads(with_envelope())
    event["detail"]["FailureReason"] = "one\u2028two\x85three"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([*GOOD, json.dumps(event, ensure_ascii=False)]) + "\n", encoding="utf-8")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 5  # what str.splitlines would make of it

    lines = read_event_lines(path)
    result, summary = run(lines, tmp_path / "out", prices)

    assert len(lines) == 3
    assert (summary["lines"]["read"], summary["lines"]["delivered"], summary["lines"]["rejected"]) == (
        3,
        3,
        0,
    )
    assert result.rejected == []


def test_every_line_is_accounted_for(tmp_path: Path, prices: PriceBook) -> None:
    ec2 = {**DONE, "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}
    lines = [
        "",
        *GOOD,
        "   ",
        "not json",
        json.dumps(ec2),
        with_envelope(detail=None),
        with_envelope(resources=7),
    ]

    result, summary = run(lines, tmp_path, prices)

    accounting = summary["lines"]
    assert accounting == {
        "read": 8,
        "delivered": 3,
        "rejected": 2,
        "unrouted": 1,
        "blank": 2,
        "rejected_by_reason": {"EventBridge refused it": 1, "unreadable line": 1},
        "delivered_then_rejected": 1,
    }
    assert sum(accounting[fate] for fate in ("delivered", "rejected", "unrouted", "blank")) == result.lines
