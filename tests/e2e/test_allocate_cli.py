"""`sagecost allocate` on a simulator's ledger.jsonl, with a saved Cost Explorer response as the bill."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.integration.test_cost_allocation import job

from sagecost.cli import main
from sagecost.services.allocation import OUTPUT_FILES

CONFIG = """\
allocation:
  shared_projects: [platform]
  split: even
"""

BILL = {
    "ResultsByTime": [
        {
            "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
            "Total": {},
            "Groups": [
                {"Keys": ["Project$A"], "Metrics": {"UnblendedCost": {"Amount": "595.00", "Unit": "USD"}}},
                {"Keys": ["Project$"], "Metrics": {"UnblendedCost": {"Amount": "4.00", "Unit": "USD"}}},
            ],
            "Estimated": True,
        }
    ]
}


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.jsonl"
    records = [
        job("a", "600.00", project="A"),
        job("b", "300.00", project="B"),
        job("c", "100.00", project="C"),
        job("p", "90.00", project="platform", team="platform"),
    ]
    path.write_text("".join(record.model_dump_json() + "\n" for record in records), encoding="utf-8")
    return path


def test_allocate_writes_every_file_and_prints_the_summary(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sagecost.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    bill = tmp_path / "bill.json"
    bill.write_text(json.dumps(BILL), encoding="utf-8")
    out = tmp_path / "out"

    status = main(
        [
            "allocate",
            "--month",
            "2026-10",
            "--ledger",
            str(ledger_file),
            "--out",
            str(out),
            "--config",
            str(config),
            "--bill",
            str(bill),
        ]
    )

    assert status == 0
    assert sorted(path.name for path in out.iterdir()) == sorted(OUTPUT_FILES)
    report = json.loads((out / "allocation.json").read_text(encoding="utf-8"))
    assert {row["project"]: row["total"] for row in report["rows"]} == {
        "A": "630.00",
        "B": "330.00",
        "C": "130.00",
    }
    assert report["reconciliation"]["estimated"] is True
    printed = capsys.readouterr().out
    assert "$1,090.00" in printed and "[month still estimated]" in printed
    assert f"wrote {out}" in printed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--month", "2026-13"], "a month is written YYYY-MM"),
        (["--month", "2026-10"], "--table NAME (deployed) or --ledger FILE.jsonl"),
        (["--month", "2026-10", "--table", "t", "--bill", "b.json"], "--bill replaces Cost Explorer"),
    ],
)
def test_allocate_explains_what_is_wrong_with_its_arguments(
    arguments: list[str], message: str, tmp_path: Path, ledger_file: Path
) -> None:
    if "--table" not in arguments and "2026-13" in arguments:
        arguments = [*arguments, "--ledger", str(ledger_file)]
    with pytest.raises(SystemExit, match=re.escape(message)):
        main(["allocate", "--out", str(tmp_path), *arguments])


def test_config_validate_names_the_line_of_an_allocation_rule_that_cannot_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(CONFIG, encoding="utf-8")
    bad.write_text("tags: {}\nallocation:\n  split: fixed\n", encoding="utf-8")
    assert main(["config", "validate", str(good)]) == 0
    printed = capsys.readouterr().out
    assert "Allocation: shared projects platform, split even." in printed
    assert "Budgets: none (pre-flight report)." in printed
    assert main(["config", "validate", str(bad)]) == 1
    assert (
        f"{bad}:3: allocation: Value error, split: fixed needs at least one project"
        in capsys.readouterr().err
    )
