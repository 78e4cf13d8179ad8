"""Processes / lines as items of a list record (emergency.md §1.5): measures target a line, the
工序 sheet of the list workbook (bad rows kept aside, template and export round-trip), and the
compliance check judging a stop on one line on that line's outlets and meters only, on a real
DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from ecobasin.ingest.emergency_list import (
    COLUMNS,
    PROCESS_COLUMNS,
    PROCESS_SHEET,
    read_list_xlsx,
    write_list_template,
    write_list_xlsx,
)
from ecobasin.services import emergency as svc
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.workflow.emergency import ListRecord, ListVersion, measure_at_outlet
from store_files import new_synced_store_file

T0 = datetime(2025, 1, 1, tzinfo=UTC)
START = T0 + timedelta(days=7)
END = START + timedelta(hours=24)
USCC = "91510100000000001X"


def _kiln_and_mill(uscc: str = USCC) -> ListRecord:
    """A cement works: kiln line L1 (outlet MN{u}1, meter P{u}1) stops at orange, within 2 h
    plus 1 h grace; grinding line L2 (outlet MN{u}2, meter P{u}2) has no measure and may run."""
    u = uscc[-2:]
    return ListRecord(
        uscc, "水泥厂 cement works", "青白江区", "建材", "key",
        ({"grade": "C", "effective_from": "2024-10-01"},), (f"MN{u}1", f"MN{u}2"), {},
        meters=({"site": f"P{u}1", "role": "production"}, {"site": f"P{u}2", "role": "production"}),
        processes=(
            {"id": "L1", "name": "熟料线 kiln", "capacity": 2500.0, "capacity_unit": "t/d",
             "baseline_load": 0.9, "outlets": [f"MN{u}1"], "meters": [f"P{u}1"],
             "measures": {"orange": {"action": "stop", "effect_hours": 2, "grace_hours": 1}}},
            {"id": "L2", "name": "粉磨 mill", "capacity": 100.0, "capacity_unit": "t/h",
             "baseline_load": 0.8, "outlets": [f"MN{u}2"], "meters": [f"P{u}2"], "measures": {}},
        ),
    )  # fmt: skip


# -- the record -------------------------------------------------------------------------------
def test_a_line_measure_applies_to_its_outlets_and_the_other_line_may_run() -> None:
    rec = _kiln_and_mill()
    kiln = measure_at_outlet(rec, "orange", "MN1X1")
    assert kiln["action"] == "stop" and kiln["target"] == "L1"
    assert kiln["grace_hours"] == 3  # time to take effect 2 h + grace 1 h
    assert measure_at_outlet(rec, "orange", "MN1X2")["action"] == "exempt"
    assert measure_at_outlet(rec, "red", "MN1X1") == {"action": "exempt"}  # no line measure


def test_a_process_on_another_enterprise_outlet_is_refused() -> None:
    rec = _kiln_and_mill()
    wrong = {**rec.processes[0], "outlets": ["MNELSE"]}
    with pytest.raises(ValueError, match="not the enterprise's"):
        ListRecord(**{**rec.__dict__, "processes": (wrong,)})


# -- the workbook -----------------------------------------------------------------------------
def _enterprise_line(uscc: str) -> list[object]:
    u = uscc[-2:]
    return [uscc, "水泥厂", "青白江区", "建材", "重点", "C", "2024-10-01", f"MN{u}1,MN{u}2",
            "NOx", "", "", "", 0, f"生产:P{u}1、生产:P{u}2"]  # fmt: skip


def _book(path: Path, processes: list[list[object]]) -> Path:
    book = Workbook()
    first = book.active
    assert first is not None
    first.append(list(COLUMNS.values()))
    first.append(_enterprise_line(USCC))
    sheet = book.create_sheet(PROCESS_SHEET)
    sheet.append([f"{zh} {k}" for k, zh in PROCESS_COLUMNS.items()])
    for line in processes:
        sheet.append(line)
    book.save(path)
    return path


_GOOD = [
    [USCC, "L1", "熟料线 kiln", 2500, "t/d", 90, "MN1X1", "P1X1", "", "停产", "停产", 2, 1],
    [USCC, "L2", "粉磨 mill", 100, "t/h", 80, "MN1X2", "P1X2", "限产30%", "", "", 0, 0],
]


def test_the_process_sheet_reads_into_the_record_and_bad_rows_are_kept_aside(
    tmp_path: Path,
) -> None:
    bad_rows = [
        ["91510100000000009X", "L9", "", 1, "t/d", 50, "MN1X1", "", "停产", "", "", 0, 0],
        [USCC, "L3", "", 1, "t/d", 50, "MNOTHER", "", "停产", "", "", 0, 0],
        [USCC, "L4", "", 1, "t/d", 50, "MN1X1", "", "关停一半", "", "", 0, 0],
        [USCC, "L1", "", 1, "t/d", 50, "MN1X1", "", "停产", "", "", 0, 0],
    ]
    records, bad = read_list_xlsx(_book(tmp_path / "list.xlsx", [*_GOOD, *bad_rows]))
    assert [(b.sheet, b.row, b.column) for b in bad] == [
        (PROCESS_SHEET, 4, "统一社会信用代码 uscc"),
        (PROCESS_SHEET, 5, "关联排放口MN outlets"),
        (PROCESS_SHEET, 6, "黄色措施 yellow"),
        (PROCESS_SHEET, 7, "工序编号 process_id"),
    ]
    assert "MNOTHER" in bad[1].reason and "listed twice" in bad[3].reason
    (rec,) = records  # the good lines are not held back
    kiln, mill = rec.processes
    assert kiln["measures"] == {
        "orange": {"action": "stop", "grace_hours": 1, "effect_hours": 2},
        "red": {"action": "stop", "grace_hours": 1, "effect_hours": 2},
    }
    assert kiln["baseline_load"] == pytest.approx(0.9) and kiln["capacity"] == 2500
    assert mill["measures"]["yellow"]["ratio"] == pytest.approx(0.3)
    version = ListVersion("510100", 1, T0, "annual", tuple(records))
    report = svc.import_report(version, bad)
    assert (report["processes"], report["rejected_by_sheet"]) == (2, {PROCESS_SHEET: 4})


def test_export_and_template_carry_the_process_sheet(tmp_path: Path) -> None:
    records, bad = read_list_xlsx(_book(tmp_path / "list.xlsx", _GOOD))
    assert bad == []
    write_list_xlsx(records, tmp_path / "out.xlsx")
    again, bad_again = read_list_xlsx(tmp_path / "out.xlsx")
    assert bad_again == [] and again == records
    write_list_template(tmp_path / "template.xlsx")
    book = load_workbook(tmp_path / "template.xlsx", read_only=True)
    header = next(book[PROCESS_SHEET].iter_rows(values_only=True))
    assert header[:2] == ("统一社会信用代码 uscc", "工序编号 process_id")
    assert read_list_xlsx(tmp_path / "template.xlsx") == ([], [])


# -- the stored check -------------------------------------------------------------------------
def _write(store: Store, site: str, parameter: str, values: list[float], start: datetime) -> None:
    frame = pd.DataFrame({
        "site_id": site, "parameter": parameter, "period": "1h",
        "time": [start + timedelta(hours=i + 1) for i in range(len(values))],
        "value": values, "flag": "N",
    })  # fmt: skip
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    store.write_observations(frame, store.begin_batch("test", "tests"))


@pytest.fixture
def store(tmp_path: Path):
    """Two cement works, 7 normal days (200 mg/m³ × 50 m³/s on every stack, 1000 kW per line).
    During the warning both keep the mill L2 running; works 1X stops its kiln after 3 h, works
    2X keeps it running."""
    with Store(new_synced_store_file(tmp_path / "store.duckdb")) as opened:
        sites = [f"{k}{u}{n}" for k in ("MN", "P") for u in ("1X", "2X") for n in (1, 2)]
        opened.upsert_sites(pd.DataFrame({
            "site_id": sites, "kind": "gas_outlet", "level": "enterprise", "city_code": 510100,
            "name_zh": sites, "name_en": sites, "lon": 104.0, "lat": 30.6,
        }), "tests")  # fmt: skip
        for u in ("1X", "2X"):
            for n in (1, 2):
                _write(opened, f"MN{u}{n}", "FG_NOx", [200.0] * 192, T0)
                _write(opened, f"P{u}{n}", "EL_production", [1000.0] * 192, T0)
            _write(opened, f"MN{u}2", "FG_flow", [50.0] * 192, T0)  # the mill runs on
        _write(opened, "MN1X1", "FG_flow", [50.0] * 168 + [50.0] * 3 + [0.0] * 21, T0)
        _write(opened, "P1X1", "EL_production", [0.0] * 21, START + timedelta(hours=3))
        _write(opened, "MN2X1", "FG_flow", [50.0] * 192, T0)
        yield opened


def test_a_stop_on_one_line_is_checked_on_that_line_and_the_other_line_may_run(
    store: Store,
) -> None:
    version = ListVersion("510100", 1, T0 - timedelta(days=90), "annual",
                          (_kiln_and_mill(USCC), _kiln_and_mill("91510100000000002X")))  # fmt: skip
    db.save_version(store, version, "tests", T0)
    key = svc.activate_for_warning(store, "510100", "orange", START, END, "tests", START)
    svc.end_and_check(store, key, END + timedelta(hours=1))
    got = {(v["uscc"][-2:], v["outlet"]): v for v in db.verdicts(store, key)}
    kiln_ok, mill_ok = got[("1X", "MN1X1")], got[("1X", "MN1X2")]
    assert kiln_ok["verdict"] == "compliant" and kiln_ok["measure"]["target"] == "L1"
    # judged on the kiln's own meter: the mill's 1000 kW does not count against the stop
    assert kiln_ok["power"]["meters"] == [{"site": "P1X1", "role": "production"}]
    assert kiln_ok["power"]["verdict"] == "compliant"
    assert mill_ok["verdict"] == "exempt" and mill_ok["power"] is None
    assert got[("2X", "MN2X1")]["verdict"] == "non_compliant"
    assert got[("2X", "MN2X2")]["verdict"] == "exempt"
    assert {(f["uscc"][-2:], f["outlet"]) for f in db.findings(store)} == {("2X", "MN2X1")}
