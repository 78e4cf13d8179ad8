"""``POST /tables/xlsx``: the rows a dashboard table shows, as an Excel workbook (issue 15).

A helper of the pages (``static/js/tables.js`` sends the header and the shown rows), not a data
API: it reads nothing from the store and writes nothing, so it needs no rights; its input is
capped (rows, columns, cell length; the request body by ``max_body_bytes``).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ecobasin.services import tables
from ecobasin.web.problems import ProblemError

__all__ = ["TableIn", "router"]

router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Cell = str


class TableIn(BaseModel):
    """A table as shown: its name, the column headers and the rows' cell texts."""

    title: str = Field(min_length=1, max_length=80, pattern=r"^[\w.-]+$")
    columns: list[str] = Field(max_length=tables.MAX_COLUMNS)
    rows: list[list[Cell]] = Field(max_length=tables.MAX_ROWS)

    def too_long(self) -> str | None:
        for i, row in enumerate(self.rows, start=1):
            if len(row) > tables.MAX_COLUMNS:
                return f"row {i} has {len(row)} cells (at most {tables.MAX_COLUMNS})"
            if any(len(text) > tables.MAX_CELL_CHARS for text in row):
                return f"row {i} has a cell over {tables.MAX_CELL_CHARS} characters"
        return None


@router.post("/tables/xlsx", response_class=Response)
def table_xlsx(body: TableIn) -> Response:
    """The table as ``NAME.xlsx`` (one sheet, header in bold, numbers as numbers)."""
    problem = body.too_long()
    if problem is not None:
        raise ProblemError.invalid("rows", problem)
    content = tables.xlsx_bytes(body.title, body.columns, body.rows)
    name = quote(f"{body.title}.xlsx")
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
