"""CSV that is safe to open in a spreadsheet: no text cell starts a formula or carries a control character."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from sagecost.reports.safe_text import cell

text_cell = cell
"""A text value (a tag, a name) made inert (`safe_text.cell`); `write_csv` applies it to every text cell."""


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """Rows as RFC 4180 CSV (`\\r\\n`, quoted where needed); None is an empty cell, every text cell goes
    through `safe_text.cell` (numbers are written as they are)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _value(row.get(column)) for column in columns})
    return buffer.getvalue()


def _value(value: object) -> object:
    if value is None:
        return ""
    return cell(value) if isinstance(value, str) else value
