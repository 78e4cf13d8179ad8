"""The list workbook's sector-measure and baseline sheets (emergency.md §1.4, §1.5): the
worked example of §3.1 (four enterprises, five sector measures) entered as a real .xlsx, its
accounting with the sector measures in the shares, every bad row kept aside with its sheet,
row, column and reason, the export read back to the same list, and the template."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.ingest.emergency_list import (
    BASELINE_COLUMNS,
    COLUMNS,
    SECTOR_COLUMNS,
    read_list_xlsx,
    write_list_template,
    write_list_xlsx,
)
from ecobasin.services import emergency as svc
from ecobasin.store import Store
from ecobasin.workflow.emergency import ListVersion
from store_files import new_store_file

CITY = "510100"  # its configured baseline is §3.1's: SO2 10, NOx 50, PM 25, VOCs 60 t/d
AT = datetime(2025, 12, 1, tzinfo=UTC)


def _uscc(n: int) -> str:
    return f"9151010000000{n:04d}X"


#: §3.1 enterprises E1–E4: (n, name, grade, yellow, orange, red)
ENTERPRISES = [
    (1, "E1 cement clinker", "C", "限产30%", "停产", "停产"),
    (2, "E2 ceramics", "B", "限产20%", "限产50%", "停产"),
    (3, "E3 packaging printing", "C", "限产50%", "停产", "停产"),
    (4, "E4 power plant", "A", "豁免", "豁免", "豁免"),
]
#: §3.1 sector measures S1–S5: (id, sector, fractions Y/O/R [%], baseline SO2/NOx/PM/VOCs t/d)
SECTORS = [
    ("S1", "施工工地", (30, 60, 80), (None, None, 6.0, None)),
    ("S2", "nonroad", (20, 50, 80), (None, 5.0, 0.6, None)),
    ("S3", "货车", (5, 15, 25), (None, 10.0, 0.5, 1.0)),
    ("S4", "VOCs作业", (30, 50, 80), (None, None, None, 6.0)),
    ("S5", "other", (20, 30, 40), (3.0, 6.0, 2.0, 10.0)),
]
BASELINES = {1: (0.8, 6.0, 0.9, None), 2: (1.5, 2.0, 1.2, None), 3: (None, None, None, 3.0),
             4: (2.0, 8.0, 0.5, None)}  # fmt: skip


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[object]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append(row)


def _workbook(path: Path, sectors: list[list[object]], baselines: list[list[object]]) -> Path:
    book = Workbook()
    first = book.active
    assert first is not None
    first.append(list(COLUMNS))  # English headers on this one
    for n, name, grade, y, o, r in ENTERPRISES:
        first.append([_uscc(n), name, "青白江区", "建材", "重点", grade, "2024-10-01",
                      f"MN{n}", "SO2,NOx,PM", y, o, r, 0])  # fmt: skip
    _sheet(book, "行业措施", list(SECTOR_COLUMNS.values()), sectors)  # Chinese headers
    _sheet(book, "基准排放 baselines", [f"{zh} {k}" for k, zh in BASELINE_COLUMNS.items()],
           baselines)  # fmt: skip
    book.save(path)
    return path


def _sector_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for sid, sector, fractions, base in SECTORS:
        for level, f in zip(("黄色", "橙色", "红色"), fractions, strict=True):
            claimed = [None if b is None else round(b * f / 100, 6) for b in base]
            rows.append([sid, CITY, f"{sid} 行业措施", sector, "全市", level, "限制",
                         f"{sid} 停止或限制作业 stop or limit work", f, *claimed])  # fmt: skip
    return rows


def _baseline_rows() -> list[list[object]]:
    rows: list[list[object]] = [[_uscc(n), *b, "排污许可", "2024-11-01", "2024-11-30"]
                                for n, b in BASELINES.items()]  # fmt: skip
    rows += [[sid, *b, "inventory", "", ""] for sid, _s, _f, b in SECTORS]
    return rows


def _stored(tmp_path: Path, records: list) -> Store:  # type: ignore[type-arg]
    store = Store(new_store_file(tmp_path / "l.duckdb"))
    version = ListVersion(CITY, 1, datetime(2025, 1, 1, tzinfo=UTC), "annual", tuple(records))
    from ecobasin.store import emergency as db

    db.save_version(store, version, "test", AT)
    return store


def test_sector_measures_and_baselines_come_in_and_count_in_the_shares(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "list.xlsx", _sector_rows(), _baseline_rows())
    records, bad = read_list_xlsx(book, CITY)
    assert bad == []
    by_id = {r.uscc: r for r in records}
    s3 = by_id["S3"]
    assert (s3.category, s3.industry, s3.outlets) == ("sector", "trucks", ())
    assert s3.measures["orange"]["fraction"] == pytest.approx(0.15)
    assert s3.baseline_t_per_d == {"NOx": 10.0, "PM": 0.5, "VOCs": 1.0}
    assert by_id[_uscc(1)].baseline_method == "permit"
    assert by_id[_uscc(1)].baseline_reference == {"from": "2024-11-01", "to": "2024-11-30"}
    with _stored(tmp_path, records) as store:
        yellow = svc.list_overview(store, CITY, "yellow", AT)
        red = svc.list_overview(store, CITY, "red", AT)
    assert yellow is not None and red is not None
    acc = yellow["accounting"]
    # §3.1 by hand: yellow NOx 6.0×0.3 + 2.0×0.2 + 5.0×0.2 + 10×0.05 + 6.0×0.2 = 4.9 t/d
    assert acc["reduction_t_per_d"]["NOx"] == pytest.approx(4.9)
    assert acc["ratio"]["NOx"] == pytest.approx(0.098) and not acc["meets"]["NOx"]
    assert acc["shortfall_t_per_d"]["NOx"] == pytest.approx(0.1)
    assert acc["shortfall_t_per_d"]["VOCs"] == pytest.approx(0.65)
    assert acc["ratio"]["PM"] == pytest.approx(0.1142) and acc["meets"]["SO2"]
    # the shares: enterprises 1.8 + 0.4 = 2.2 t/d, sectors 1.0 + 0.5 + 1.2 = 2.7 t/d of 50
    assert acc["share_by_kind"]["enterprises"]["NOx"] == pytest.approx(0.044)
    assert acc["share_by_kind"]["sectors"]["NOx"] == pytest.approx(0.054)
    assert red["accounting"]["reduction_t_per_d"]["VOCs"] == pytest.approx(12.05)
    assert red["accounting"]["shortfall_t_per_d"]["VOCs"] == pytest.approx(5.95)


def test_bad_sector_and_baseline_rows_are_named_and_the_rest_goes_through(
    tmp_path: Path,
) -> None:
    good = _sector_rows()
    s1_yellow = good[0]
    sectors = [
        *good,
        ["S6", CITY, "道路", "roads", "全市", "紫色", "限制", "洗路", 10],  # unknown level
        ["S7", CITY, "道路", "roads", "全市", "黄色", "限制", "洗路", 150],  # impossible share
        ["S8", "510600", "道路", "roads", "", "黄色", "限制", "洗路", 10],  # another city
        ["S9", CITY, "扫地", "sweeping", "", "黄色", "限制", "扫地", 10],  # unknown sector
        [*s1_yellow],  # S1 at yellow twice
        ["S10", CITY, "道路", "roads", "", "黄色", "限制", "", 10],  # says nothing
    ]
    # S2 at orange claims 3.0 t/d NOx where 5.0 t/d × 50 % = 2.5
    s2_orange = next(i for i, r in enumerate(sectors) if r[0] == "S2" and r[5] == "橙色")
    sectors[s2_orange] = [*sectors[s2_orange][:10], 3.0, *sectors[s2_orange][11:]]
    baselines = [
        *_baseline_rows(),
        ["NOBODY", 1.0, None, None, None, "inventory", "", ""],  # names no record
        [_uscc(1), 1.0, None, None, None, "inventory", "", ""],  # E1 twice
        ["S6", -1.0, None, None, None, "inventory", "", ""],  # negative (S6 is not a record)
    ]
    records, bad = read_list_xlsx(_workbook(tmp_path / "bad.xlsx", sectors, baselines), CITY)
    named = {(b.sheet.split()[0], b.row, b.column.split()[-1]) for b in bad}
    first_bad = len(good) + 2  # header row, then the good sector rows
    assert named == {
        ("行业措施", first_bad, "level"), ("行业措施", first_bad + 1, "fraction"),
        ("行业措施", first_bad + 2, "city"), ("行业措施", first_bad + 3, "sector"),
        ("行业措施", first_bad + 4, "level"), ("行业措施", first_bad + 5, "measure"),
        ("行业措施", s2_orange + 2, "claimed_NOx"),
        ("基准排放", len(_baseline_rows()) + 2, "id"),
        ("基准排放", len(_baseline_rows()) + 3, "id"),
        ("基准排放", len(_baseline_rows()) + 4, "id"),
    }  # fmt: skip
    claim = next(b for b in bad if b.column.endswith("claimed_NOx"))
    assert "5 t/d × 50% = 2.5 t/d" in claim.reason and claim.id == "S2"
    by_id = {r.uscc: r for r in records}
    # the good rows went through: S2 keeps yellow and red, loses only the refused orange row
    assert set(by_id["S2"].measures) == {"yellow", "red"}
    assert {"S1", "S3", "S4", "S5", _uscc(4)} <= set(by_id) and "S6" not in by_id
    assert by_id[_uscc(1)].baseline_t_per_d["NOx"] == 6.0  # the first baseline row holds


def test_export_then_import_gives_the_same_list(tmp_path: Path) -> None:
    records, bad = read_list_xlsx(_workbook(tmp_path / "in.xlsx", _sector_rows(),
                                            _baseline_rows()), CITY)  # fmt: skip
    assert bad == []
    write_list_xlsx(records, tmp_path / "out.xlsx", CITY)
    again, bad_again = read_list_xlsx(tmp_path / "out.xlsx", CITY)
    assert bad_again == [] and again == records
    sheets = load_workbook(tmp_path / "out.xlsx", read_only=True).sheetnames
    assert sheets == ["企业 enterprises", "行业措施 sector measures", "基准排放 baselines",
                      "工序 processes"]  # fmt: skip


def test_the_template_has_bilingual_headers_and_reads_as_an_empty_list(tmp_path: Path) -> None:
    write_list_template(tmp_path / "t.xlsx")
    book = load_workbook(tmp_path / "t.xlsx")
    heads = {s.title: [c.value for c in s[1]] for s in book.worksheets}
    assert heads["行业措施 sector measures"][:3] == ["编号 id", "城市 city", "措施名称 name"]
    assert "基准NOx(t/d) base_NOx" in heads["基准排放 baselines"]
    assert "说明 notes" in heads and len(list(book["说明 notes"].rows)) > 10
    assert read_list_xlsx(tmp_path / "t.xlsx") == ([], [])
    # filled in, it imports
    book["行业措施 sector measures"].append(["S1", CITY, "施工扬尘", "construction", "", "橙色",
                                         "停止", "停止土石方作业", 60, None, None, 3.6])  # fmt: skip
    book["基准排放 baselines"].append(["S1", None, None, 6.0, None, "inventory"])
    book.save(tmp_path / "t.xlsx")
    records, bad = read_list_xlsx(tmp_path / "t.xlsx", CITY)
    assert bad == [] and records[0].measures["orange"]["action"] == "stop"


def test_cli_import_report_counts_the_rows_kept_aside_per_sheet(tmp_path: Path) -> None:
    sectors = [*_sector_rows(), ["S9", CITY, "扫地", "sweeping", "", "黄色", "限制", "扫地", 10]]
    baselines = [*_baseline_rows(), ["NOBODY", 1.0, None, None, None, "inventory"]]
    book = _workbook(tmp_path / "list.xlsx", sectors, baselines)
    dbf = tmp_path / "c.duckdb"
    run = CliRunner()
    out = run.invoke(app, ["emergency", "import-list", str(book), "--city", CITY, "--version",
                           "1", "--effective-from", "2025-01-01T00:00+08:00", "--db", str(dbf)])  # fmt: skip
    assert out.exit_code == 0, out.output
    import json

    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert (report["enterprises"], report["sector_measures"], report["baselines"]) == (4, 5, 9)
    assert report["rejected"] == 2
    assert report["rejected_by_sheet"] == {"行业措施 sector measures": 1, "基准排放 baselines": 1}
    with Store(dbf) as store:
        kept = store.rejected(source="list.xlsx")["reason"].tolist()
    assert any("行业措施 sector measures row" in k and "行业类别 sector" in k for k in kept)
    template = run.invoke(app, ["emergency", "list-template", str(tmp_path / "t.xlsx")])
    assert template.exit_code == 0 and (tmp_path / "t.xlsx").exists()


def test_the_template_downloads_from_the_api(tmp_path: Path) -> None:
    import io

    from fastapi.testclient import TestClient

    from ecobasin.web.app import create_app

    with TestClient(create_app(tmp_path / "t.duckdb")) as client:
        answer = client.get("/api/v1/emergency/list-template.xlsx")
    assert answer.status_code == 200
    assert "emergency-list-template.xlsx" in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content), read_only=True)
    assert book.sheetnames[:3] == ["企业 enterprises", "行业措施 sector measures",
                                   "基准排放 baselines"]  # fmt: skip


def test_a_sector_measure_reads_as_what_it_stops_and_the_share_it_removes(
    tmp_path: Path,
) -> None:
    from ecobasin.services.emergency_report import measure_text

    records, _ = read_list_xlsx(_workbook(tmp_path / "in.xlsx", _sector_rows(),
                                          _baseline_rows()), CITY)  # fmt: skip
    s1 = next(r for r in records if r.uscc == "S1")
    assert (
        measure_text(s1.measures["orange"])
        == "S1 停止或限制作业 stop or limit work（削减 60% of its baseline）"
    )


def test_row_numbers_are_the_sheets_even_after_blank_rows(tmp_path: Path) -> None:
    rows = _sector_rows()
    blank: list[object] = [None] * 9
    bad = ["S9", CITY, "扫地", "sweeping", "", "黄色", "限制", "扫地", 10]
    _, found = read_list_xlsx(
        _workbook(tmp_path / "b.xlsx", [*rows, blank, blank, bad], _baseline_rows()), CITY
    )
    assert [(b.row, b.id) for b in found] == [(len(rows) + 4, "S9")]  # header + rows + 2 blank


def test_a_file_that_is_no_workbook_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "list.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    out = CliRunner().invoke(app, ["emergency", "import-list", str(bad), "--city", CITY,
                                   "--version", "1", "--effective-from", "2025-01-01T00:00+08:00",
                                   "--db", str(tmp_path / "x.duckdb")])  # fmt: skip
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit)  # no traceback
    said = " ".join(out.output.split())  # the console wraps long lines (tmp paths vary)
    assert f"{bad}: not an .xlsx workbook" in said
    assert said.count(str(bad)) == 1  # named once
