"""The list spreadsheet (emergency.md §1.5): a real .xlsx written and read back; every bad row
kept aside with its row number and reason while the good rows go through."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from ecobasin.ingest.emergency_list import COLUMNS, parse_measure, read_list_xlsx, write_list_xlsx

GOOD = ["91510100MA0000001X", "水泥甲", "锦江区", "水泥", "重点", "C", "2024-10-01", "MN1、MN2",
        "NOx,PM", "限产30%", "停产", "停产", 2]  # fmt: skip


def _book(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS.values()))  # Chinese headers only
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_bad_rows_are_named_and_good_rows_pass(tmp_path: Path) -> None:
    rows = [
        GOOD,
        [*GOOD[:0], "short", *GOOD[1:]],  # USCC of 5 characters
        ["91510100MA0000002X", *GOOD[1:9], "限产150%", *GOOD[10:]],  # impossible ratio
        GOOD,  # listed twice
        ["91510100MA0000003X", *GOOD[1:7], "", *GOOD[8:]],  # no outlet
        ["91510100MA0000004X", *GOOD[1:8], "CO2", *GOOD[9:]],  # unknown pollutant
    ]
    records, bad = read_list_xlsx(_book(tmp_path / "list.xlsx", rows))
    assert [r.uscc for r in records] == ["91510100MA0000001X"]
    rec = records[0]
    assert (
        rec.category == "key" and rec.outlets == ("MN1", "MN2") and rec.pollutants == ("NOx", "PM")
    )
    assert rec.measures["yellow"] == {"action": "limit", "ratio": 0.3, "grace_hours": 2}
    assert [(b.row, b.column.split()[-1], b.reason.split()[0]) for b in bad] == [
        (3, "uscc", "统一社会信用代码"), (4, "yellow", "measure"), (5, "uscc", "USCC"),
        (6, "outlets", "no"), (7, "pollutants", "unknown"),
    ]  # fmt: skip
    assert {b.sheet for b in bad} == {"企业 enterprises"}


def test_export_reads_back_the_same_records(tmp_path: Path) -> None:
    records, _ = read_list_xlsx(_book(tmp_path / "in.xlsx", [GOOD]))
    write_list_xlsx(records, tmp_path / "out.xlsx")
    again, bad = read_list_xlsx(tmp_path / "out.xlsx")
    assert again == records and bad == []


def test_measure_text() -> None:
    assert parse_measure("limit 50%", 0) == {"action": "limit", "ratio": 0.5, "grace_hours": 0}
    assert parse_measure("自主减排", 0) == {"action": "exempt"}


def test_cli_imports_the_good_rows_and_keeps_the_bad_aside(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app
    from ecobasin.store import Store
    from ecobasin.store import emergency as db

    book = _book(tmp_path / "list.xlsx", [GOOD, ["bad", *GOOD[1:]]])
    dbf = tmp_path / "e.duckdb"
    out = CliRunner().invoke(app, ["emergency", "import-list", str(book), "--city", "510100",
                                   "--version", "1", "--effective-from", "2024-10-01T00:00+08:00",
                                   "--db", str(dbf)])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert '"records": 1' in out.stdout and '"rejected": 1' in out.stdout
    with Store(dbf) as store:
        assert [r.uscc for r in db.list_versions(store, "510100")[0].records] == [GOOD[0]]
        kept = store.rejected(source="list.xlsx")
        assert kept["reason"].str.contains("row 3").tolist() == [True]


def test_cli_export_writes_a_private_workbook_that_reads_back(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app

    book = _book(tmp_path / "list.xlsx", [GOOD])
    dbf = tmp_path / "e.duckdb"
    run = CliRunner()
    run.invoke(app, ["emergency", "import-list", str(book), "--city", "510100", "--version", "1",
                     "--effective-from", "2024-10-01T00:00+08:00", "--db", str(dbf)])  # fmt: skip
    out = run.invoke(app, ["emergency", "export-list", str(tmp_path / "o.xlsx"), "--city", "510100",
                           "--db", str(dbf)])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert (tmp_path / "o.xlsx").stat().st_mode & 0o777 == 0o600
    assert [r.uscc for r in read_list_xlsx(tmp_path / "o.xlsx")[0]] == [GOOD[0]]


def test_meters_column_reads_and_writes_and_a_bad_meter_is_named(tmp_path: Path) -> None:
    metered = ["91510100MA0000009X", *GOOD[1:], "生产:MNP1、治污：MNT1"]
    broken = ["91510100MA0000008X", *GOOD[1:], "电表MNX"]
    records, bad = read_list_xlsx(_book(tmp_path / "list.xlsx", [metered, broken]))
    assert records[0].meters == (
        {"role": "production", "site": "MNP1"},
        {"role": "treatment", "site": "MNT1"},
    )
    assert [(b.row, b.id, b.column) for b in bad] == [
        (3, "91510100MA0000008X", "用电监控电表 meters")
    ]
    assert "电表MNX" in bad[0].reason
    write_list_xlsx(records, tmp_path / "out.xlsx")
    again, _ = read_list_xlsx(tmp_path / "out.xlsx")
    assert again[0].meters == records[0].meters
