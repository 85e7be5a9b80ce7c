"""Text from outside (tags, names, ARNs, instance types) made safe for every output, in one place.

Every writer under `reports/` passes what it did not write itself through one of these:

- `line(value)` for plain text (summaries, alert emails): no value can start a new line or send a terminal
  escape. A control character is shown as an escape (`\\n`, `\\x1b`), never dropped, so the reader still
  sees that the value held one.
- `cell(value)` for CSV: the same, and a value that a spreadsheet would read as a formula is made inert.
- `markup(value)` for HTML: the same, then HTML-escaped (quotes too: values land in attributes).
"""

from __future__ import annotations

import html

CONTROLS = (
    *range(0x00, 0x20),  # C0: NUL, BEL, ESC, TAB, LF, CR ...
    0x7F,  # DEL
    *range(0x80, 0xA0),  # C1 (CSI, NEL ...)
    0x2028,  # line separator
    0x2029,  # paragraph separator
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2066, 0x206A),  # bidi isolates
)
"""Characters no value may carry into an output as they are."""

_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_VISIBLE = {
    code: _NAMED.get(code, f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}") for code in CONTROLS
}

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
"""What Excel, LibreOffice and Google Sheets read as the start of a formula or a DDE call (OWASP)."""


def line(value: str) -> str:
    """A value on one line of plain text: every control character shown as an escape."""
    return value.translate(_VISIBLE)


def cell(value: str) -> str:
    """A CSV text value: on one line, and a leading formula character escaped with `'`. Idempotent."""
    shown = line(value)
    return "'" + shown if shown.startswith(FORMULA_STARTS) else shown


def markup(value: str) -> str:
    """A value in HTML text or a quoted attribute."""
    return html.escape(line(value), quote=True)
