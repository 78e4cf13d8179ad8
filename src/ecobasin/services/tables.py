"""A table people see, written as an Excel workbook (.xlsx, Office Open XML, ECMA-376) with
openpyxl (issue 15: every dashboard table downloads as CSV and Excel).

Cells arrive as the text a page shows; a cell that is a plain decimal number ("12.5", "-3",
"85%" → 0.85) is written as a number so a spreadsheet sorts and sums it; codes with leading
zeros and everything else stay text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

__all__ = ["MAX_CELL_CHARS", "MAX_COLUMNS", "MAX_ROWS", "as_cell_value", "xlsx_bytes"]

MAX_ROWS = 20_000
MAX_COLUMNS = 60
MAX_CELL_CHARS = 2_000
_NUMBER = re.compile(r"^[-+]?(0|[1-9]\d*)(\.\d+)?$")
_PERCENT = re.compile(r"^[-+]?(0|[1-9]\d*)(\.\d+)?\s*%$")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Text a spreadsheet would run as a formula (CSV/formula injection, OWASP): kept as text.
_FORMULA_START = ("=", "+", "-", "@")


def as_cell_value(text: str) -> str | float:
    """A shown cell as the value to write: a number when it is one, else the text."""
    stripped = text.strip()
    if _NUMBER.match(stripped):
        return float(stripped)
    if _PERCENT.match(stripped):
        return float(stripped.rstrip("% ")) / 100
    return text


def xlsx_bytes(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """A one-sheet workbook: a bold header row, then the rows (write-only mode: memory stays
    flat for large tables)."""
    # here, not at the top: the web app and the CLI import this module
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_SHEET_FORBIDDEN.sub("_", title)[:31] or "table")
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        values = [as_cell_value(text) for text in row]
        sheet.append([_no_formula(v) for v in values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _no_formula(value: str | float) -> str | float:
    """Text starting like a formula gets a leading apostrophe, so no spreadsheet runs it."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
