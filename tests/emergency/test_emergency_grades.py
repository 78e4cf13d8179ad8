"""Sub-industry and the grade's source (emergency.md §1.2, §1.5): the workbook carries them
(the grade checked against the versioned grade scheme in force at its date, which is the default
source), and a check uses the grade in force at the warning start: a re-grade during the year
changes the verdicts of later warnings only (real DuckDB file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from ecobasin.ingest.emergency_list import COLUMNS, read_list_xlsx, write_list_xlsx
from ecobasin.services import emergency as svc
from ecobasin.standards import emergency as em
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.workflow.emergency import ListRecord, ListVersion, apply_change
from store_files import new_synced_store_file

JAN = datetime(2025, 1, 8, tzinfo=UTC)
MAR = datetime(2025, 3, 10, tzinfo=UTC)
SICHUAN_Q4 = "川环办〔2024〕绩效分级名单（第四季度）"
SICHUAN_Q1 = "川环办〔2025〕绩效分级名单（第一季度）"
DOC_2020 = em.grade_scheme_at("2024-01-01")["document"]
DOC_2026 = em.grade_scheme_at("2026-01-01")["document"]


def _line(uscc: str, grade: str, since: str, source: str = "") -> list[object]:
    return [uscc, "水泥厂", "青白江区", "建材", "重点", grade, since, "MN1", "NOx", "限产30%",
            "停产", "停产", 0, "", "水泥熟料 clinker", source]  # fmt: skip


def _book(path: Path, lines: list[list[object]]) -> Path:
    book = Workbook()
    first = book.active
    assert first is not None
    first.append([f"{zh} {k}" for k, zh in COLUMNS.items()])
    for line in lines:
        first.append(line)
    book.save(path)
    return path


def test_the_workbook_carries_sub_industry_and_grade_source(tmp_path: Path) -> None:
    lines = [
        _line("91510100000000001X", "B", "2024-10-01", SICHUAN_Q4),
        _line("91510100000000002X", "A+", "2026-02-01"),  # no source: the 2026 scheme's document
        _line("91510100000000003X", "A+", "2025-01-01"),  # A+ does not exist before 2026
    ]
    records, bad = read_list_xlsx(_book(tmp_path / "in.xlsx", lines))
    assert [(b.row, b.column) for b in bad] == [(4, "绩效等级 grade")]
    assert "2020" in bad[0].reason  # names the scheme in force at that date
    first, second = records
    assert first.sub_industry == "水泥熟料 clinker"
    assert first.grades == ({"grade": "B", "effective_from": "2024-10-01", "source": SICHUAN_Q4},)
    assert second.grades[0]["source"] == DOC_2026
    write_list_xlsx(records, tmp_path / "out.xlsx")
    assert read_list_xlsx(tmp_path / "out.xlsx") == (records, [])


@pytest.fixture
def store(tmp_path: Path):
    with Store(new_synced_store_file(tmp_path / "store.duckdb")) as opened:
        yield opened


def test_a_check_uses_the_grade_in_force_at_the_warning_start(store: Store) -> None:
    record = ListRecord(
        "91510100000000001X", "水泥厂", "青白江区", "建材", "key",
        ({"grade": "C", "effective_from": "2024-10-01", "source": SICHUAN_Q4},), ("MN1",),
        {"orange": {"action": "limit", "ratio": 0.5}}, sub_industry="水泥熟料",
    )  # fmt: skip
    v1 = ListVersion("510100", 1, datetime(2024, 10, 1, tzinfo=UTC), "annual", (record,))
    regrade = {"kind": "regraded", "uscc": record.uscc, "grade": "B", "source": SICHUAN_Q1}
    v2 = apply_change(v1, regrade, datetime(2025, 2, 1, tzinfo=UTC))
    for v in (v1, v2):
        db.save_version(store, v, "tests", JAN)
    grades = {}
    for start in (JAN, MAR):
        key = svc.activate_for_warning(
            store, "510100", "orange", start, start + timedelta(hours=24), "tests", start
        )
        (verdict,) = svc.end_and_check(store, key, start + timedelta(days=2))
        assert db.verdicts(store, key)[0]["grade"] == verdict["grade"]  # stored as computed
        grades[start.month] = verdict["grade"]
    assert grades == {
        1: {"grade": "C", "source": SICHUAN_Q4, "effective_from": "2024-10-01"},
        3: {"grade": "B", "source": SICHUAN_Q1, "effective_from": "2025-02-01"},
    }


def test_a_grade_stored_without_its_source_takes_the_scheme_in_force() -> None:
    rec = ListRecord("U", "n", "d", "i", "key", ({"grade": "B", "effective_from": "2024-10-01"},),
                     ("MN1",), {})  # fmt: skip
    assert svc.grade_info(rec, JAN) == {
        "grade": "B", "source": DOC_2020, "effective_from": "2024-10-01",
    }  # fmt: skip
