"""A shown table as an Excel workbook (issue 15): numbers become numbers, codes and formulas
stay text, and the export route caps what it accepts."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from ecobasin.services.tables import MAX_CELL_CHARS, as_cell_value, xlsx_bytes
from ecobasin.web import create_app


def test_numbers_become_numbers_and_codes_stay_text() -> None:
    assert as_cell_value("12.5") == 12.5
    assert as_cell_value("-3") == -3.0
    assert as_cell_value("77.8 %") == 0.778
    assert as_cell_value("0123") == "0123"  # a code with a leading zero
    assert as_cell_value("1431A") == "1431A"
    assert as_cell_value("120–150") == "120–150"


def test_workbook_has_a_header_and_the_rows_with_formulas_defused() -> None:
    content = xlsx_bytes("rank:ings", ["城市", "AQI"], [["成都市", "85"], ["=1+1", "x"]])
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.title == "rank_ings"
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["城市", "AQI"],
        ["成都市", 85],
        ["'=1+1", "x"],
    ]
    assert sheet["A1"].font.bold


def test_route_answers_xlsx_and_refuses_oversized_cells(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "empty.duckdb")) as client:
        ok = client.post("/tables/xlsx", json={"title": "t", "columns": ["a"], "rows": [["1"]]})
        assert ok.status_code == 200
        assert ok.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "filename*=UTF-8''t.xlsx" in ok.headers["content-disposition"]
        big = client.post(
            "/tables/xlsx",
            json={"title": "t", "columns": ["a"], "rows": [["x" * (MAX_CELL_CHARS + 1)]]},
        )
        assert big.status_code == 422
        assert "row 1" in big.json()["detail"]
        bad_title = client.post("/tables/xlsx", json={"title": "../x", "columns": [], "rows": []})
        assert bad_title.status_code == 422
