"""HJ 640 survey results from Excel (issue 23) on a real DuckDB file: workbooks written by
openpyxl as people make them (a merged title row, a two-row header with merged cells, dates as
Excel dates and as text), every bad row kept aside with its row number and reason."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.services import noise as service
from ecobasin.store import Store
from ecobasin.store import noise as noise_store
from store_files import new_synced_store_file

COLUMNS = ["year", "period", "grid_id", "city", "valid", "start_time", "Leq", "L10", "L90"]
#: Data rows of the report sheet; start_time as an Excel date or as text.
ROWS = [
    [2026, "day", "G001", 510100, True, dt.datetime(2026, 5, 12, 10, 0), 52.3, 55.0, 47.0],
    [2026, "day", "G002", "成都", "是", "2026-05-12 10:20", 55.8, None, None],
    [2026, "day", "G003", 510100, True, dt.datetime(2026, 5, 12, 10, 40), "abc", None, None],
    [None, None, None, None, None, None, None, None, None],  # a blank row people leave
    [2026, "day", "G004", 510100, True, "12/05/2025", 50.0, None, None],  # not in 2026
    [2026, "night", "G001", 510100, True, dt.datetime(2026, 5, 12, 23, 0), 46.2, None, None],
    [2026, "day", "G005", 999999, True, "2026-05-12T11:20", 50.0, None, None],
    [None, "day", "G006", 510600, True, dt.date(2026, 5, 13), 49.9, None, None],  # year from date
]


@pytest.fixture
def store(tmp_path: Path):
    store = Store(new_synced_store_file(tmp_path / "noise.duckdb"))
    yield store
    store.close()


def _report_workbook(path: Path, sheet: str = "区域声环境") -> Path:
    """A sheet as a monitoring station lays it out: a merged title row, then a two-row header
    (the level columns grouped under a merged 声级 dB(A) cell, the others merged down)."""
    book = Workbook()
    work = book.active
    assert work is not None
    work.title = sheet
    work.append(["2026年区域声环境监测结果 Regional noise survey 2026"])
    work.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    work.append([*COLUMNS[:6], "声级 dB(A)", None, None])
    work.merge_cells(start_row=2, start_column=7, end_row=2, end_column=9)
    work.append([None] * 6 + COLUMNS[6:])
    for column in range(1, 7):  # year … start_time merged over both header rows
        work.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    for row in ROWS:
        work.append(row)
    book.save(path)
    return path


def test_excel_rows_go_through_the_csv_validation(store: Store, tmp_path: Path) -> None:
    path = _report_workbook(tmp_path / "regional.xlsx")
    result = noise_store.import_survey_file(store, path, "regional")
    # 7 data rows (the blank one is no row); G003, G004 and G005 are kept aside
    assert (result.read, result.stored, result.rejected) == (7, 4, 3)
    kept = store.rejected(source=str(path)).sort_values("record_ref")
    assert list(kept["record_ref"]) == ["row 10", "row 6", "row 8"]
    reasons = dict(zip(kept["record_ref"], kept["reason"], strict=True))
    assert reasons["row 6"] == "row 6: Leq 'abc' is not a number"
    assert "start_time 12/05/2025 is not in the survey year 2026" in reasons["row 8"]
    assert "city '999999'" in reasons["row 10"]
    assert json.loads(kept.iloc[1]["raw"])["start_time"] == "2026-05-12T10:40"
    # the good rows are the CSV test's numbers: (52.3 + 55.8) / 2 = 54.05 → 54.0, 二级
    day = {r["city_code"]: r for r in service.survey_results(store, "regional", 2026, "day")}
    assert day[510100]["n"] == 2 and day[510100]["mean_dBA"] == 54.0
    assert day[510600]["n"] == 1  # its year came from the Excel date
    [night] = service.survey_results(store, "regional", 2026, "night")
    assert (night["mean_dBA"], night["grade_zh"], night["rating_en"]) == (46.2, "三级", "moderate")
    again = noise_store.import_survey_file(store, path, "regional")
    assert again.stored == 4 and len(store.rejected(source=str(path))) == 3


def test_a_named_sheet_is_read_and_an_unknown_one_is_named(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "two_sheets.xlsx"
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "说明"
    cover.append(["道路交通声环境 2026"])
    roads = book.create_sheet("道路")
    roads.append(["year", "period", "segment_id", "city", "road_name", "length_km", "Leq"])
    roads.append([2026, "day", "S1", "成都", "人民南路", 2.4, 71.2])
    roads.append([2026, "day", "S2", "Chengdu", "红星路", 1.1, 68.5])
    roads.append([2026, "day", "S3", "成都", "蜀都大道", 0, 73.6])
    book.save(path)
    with pytest.raises(ValueError, match="sheet '说明' has no header row with segment_id"):
        noise_store.import_survey_file(store, path, "traffic")
    with pytest.raises(ValueError, match=r"no sheet 'roads' \(sheets: 说明, 道路\)"):
        noise_store.import_survey_file(store, path, "traffic", sheet="roads")
    result = noise_store.import_survey_file(store, path, "traffic", sheet="道路")
    assert (result.stored, result.rejected) == (2, 1)
    [city] = service.survey_results(store, "traffic", 2026, "day")
    assert city["mean_dBA"] == 70.4 and city["share_over_70_pct"] == 68.6


def test_cli_imports_excel_and_fails_clearly_on_empty_or_non_excel_files(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "cli.duckdb")  # as `ecobasin init` makes it
    runner = CliRunner()
    path = _report_workbook(tmp_path / "regional.xlsx")
    done = runner.invoke(app, ["noise", "survey-import", str(path), "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "4 stored" in done.output and "3 kept aside" in done.output
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    failed = runner.invoke(app, ["noise", "survey-import", str(empty), "--db", str(db)])
    assert failed.exit_code == 1 and "empty.xlsx" in failed.output
    assert "not an Excel workbook" in failed.output
    fake = tmp_path / "fake.xlsx"
    fake.write_text("year,period,grid_id\n2026,day,G1\n", encoding="utf-8")
    failed = runner.invoke(app, ["noise", "survey-import", str(fake), "--db", str(db)])
    assert failed.exit_code == 1 and "fake.xlsx: not an Excel workbook" in failed.output
    blank = tmp_path / "blank.xlsx"
    Workbook().save(blank)
    failed = runner.invoke(app, ["noise", "survey-import", str(blank), "--db", str(db)])
    assert failed.exit_code == 1 and "blank.xlsx" in failed.output
    assert "no header row with grid_id and Leq" in failed.output
    csv = tmp_path / "r.csv"
    csv.write_text("year,period,grid_id,city,Leq\n", encoding="utf-8")
    failed = runner.invoke(
        app, ["noise", "survey-import", str(csv), "--sheet", "x", "--db", str(db)]
    )
    assert failed.exit_code == 1 and "--sheet applies to Excel" in failed.output


def test_cli_survey_shows_day_and_night_grades(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "cli.duckdb")  # as `ecobasin init` makes it
    runner = CliRunner()
    path = _report_workbook(tmp_path / "regional.xlsx")
    assert runner.invoke(app, ["noise", "survey-import", str(path), "--db", str(db)]).exit_code == 0
    shown = runner.invoke(
        app,
        [
            "noise",
            "survey",
            "--year",
            "2026",
            "--city",
            "510100",
            "--format",
            "json",
            "--db",
            str(db),
        ],
    )
    assert shown.exit_code == 0, shown.output
    items = json.loads(shown.stdout)["items"]
    # day then night, each graded on its own HJ 640 scale
    assert [(i["period"], i["mean_dBA"], i["grade_zh"]) for i in items] == [
        ("day", 54.0, "二级"),
        ("night", 46.2, "三级"),
    ]
    table = runner.invoke(app, ["noise", "survey", "--year", "2026", "--db", str(db)])
    assert table.exit_code == 0 and "night" in table.output and "day" in table.output
    wrong = runner.invoke(
        app, ["noise", "survey", "--year", "2026", "--period", "dusk", "--db", str(db)]
    )
    assert wrong.exit_code == 1 and "period must be day, night or both" in wrong.output


def test_a_workbook_that_unpacks_past_the_cap_is_refused_before_opening(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "large.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["year", "period", "grid_id", "city", "Leq"])
    for n in range(2000):  # a few hundred KiB of sheet XML
        sheet.append([2026, "day", f"G{n}", "成都", 55.0])
    book.save(path)
    monkeypatch.setattr(noise_store, "MAX_WORKBOOK_BYTES", 64 * 1024)
    with pytest.raises(ValueError, match=r"large\.xlsx: the workbook unpacks to .* split it"):
        noise_store.import_survey_file(store, path, "regional")
    monkeypatch.setattr(noise_store, "MAX_WORKBOOK_BYTES", 64 * 1024 * 1024)
    assert noise_store.import_survey_file(store, path, "regional").stored == 2000
