"""CSV that is safe to open in a spreadsheet: a cell never starts a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
"""What Excel, LibreOffice and Google Sheets read as the start of a formula or a DDE call (OWASP)."""


def text_cell(value: str) -> str:
    """A text value (a tag, a name) made inert: a leading formula character is escaped with `'`."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """Rows as RFC 4180 CSV (`\\r\\n`, quoted where needed); None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: "" if row.get(column) is None else row[column] for column in columns})
    return buffer.getvalue()
