"""Validate a sagecost FOCUS CSV with focus-validator. Runs in the Python 3.12 virtualenv `.venv-focus`
(focus-validator 2.2.1 needs >= 3.12), not in the project's: `make focus-env` creates it.

    .venv-focus/bin/python tests/tools/focus_check.py focus.csv columns.json result.json

`columns.json` maps each column to string|decimal|datetime (sagecost's `FOCUS_COLUMNS`). The CSV is
written as typed Parquet first: with CSV input the validator infers types (an account id becomes an int).
The validator exits 0 even when checks fail, so the JUnit report it writes is parsed instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import focus_validator
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TYPES = {"string": pa.string(), "decimal": pa.decimal128(38, 10), "datetime": pa.timestamp("s", tz="UTC")}


def to_parquet(csv_path: Path, columns: dict[str, str], parquet_path: Path) -> None:
    schema = {name: pa.string() for name in columns}
    table = pacsv.read_csv(
        csv_path,
        convert_options=pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True),
    )
    arrays = []
    for name, kind in columns.items():
        column = table.column(name)
        if kind == "datetime":
            column = pa.compute.strptime(column, format="%Y-%m-%dT%H:%M:%SZ", unit="s").cast(TYPES[kind])
        elif kind == "decimal":
            column = column.cast(TYPES[kind])
        arrays.append(column)
    pq.write_table(pa.table(arrays, names=list(columns)), parquet_path)


def main() -> None:
    csv_path, columns_path, result_path = (Path(arg).resolve() for arg in sys.argv[1:4])
    columns = json.loads(columns_path.read_text())
    with tempfile.TemporaryDirectory() as work:
        parquet_path = Path(work) / "focus.parquet"
        junit_path = Path(work) / "junit.xml"
        to_parquet(csv_path, columns, parquet_path)
        validator = Path(sys.executable).parent / "focus-validator"
        # it opens rules/currency_codes.csv relative to the working directory: run it from its package
        completed = subprocess.run(
            [
                str(validator),
                "--data-file",
                str(parquet_path),
                "--validate-version",
                "1.2",
                "--block-download",
                "--output-type",
                "unittest",
                "--output-destination",
                str(junit_path),
            ],
            cwd=Path(focus_validator.__file__).parent.parent,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            check=False,
        )
        if not junit_path.exists():
            raise SystemExit(f"focus-validator wrote no report:\n{completed.stdout}\n{completed.stderr}")
        root = ET.parse(junit_path).getroot()
        cases = root.iter("testcase")
        failures = []
        counts = {"checks": 0, "failed": 0, "skipped": 0}
        for case in cases:
            counts["checks"] += 1
            failed = case.find("failure") if case.find("failure") is not None else case.find("error")
            if failed is not None:
                counts["failed"] += 1
                failures.append({"check": case.get("name"), "message": (failed.get("message") or "")[:500]})
            elif case.find("skipped") is not None:
                counts["skipped"] += 1
    Path(result_path).write_text(json.dumps({"counts": counts, "failures": failures}, indent=2))


if __name__ == "__main__":
    main()
