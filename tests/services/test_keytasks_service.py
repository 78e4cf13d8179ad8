"""Key tasks (issue 18) through the services on a real DuckDB file: a real .xlsx list with bad
rows kept aside, decisions into tasks, progress with evidence, boards per area and owner."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from ecobasin import catalog
from ecobasin.services import keytasks as service
from ecobasin.services.cases import store_attachment
from ecobasin.store import Store
from ecobasin.store import keytasks as store_keytasks
from ecobasin.workflow.keytasks import KeyTaskError
from store_files import new_store_file

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(new_store_file(tmp_path / "keytasks.duckdb"))
    s.sync_catalog(catalog.load_region())
    service.create_plan(
        s, "cy-2026", 2026, "川渝生态共建环境共保2026年工作要点", "川渝两省市", "demo"
    )
    return s


def workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["方面", "编号", "任务", "牵头单位", "配合单位", "成果", "完成时限"])
    sheet.append(
        ["推进绿色转型", "1", "清洁生产审核", "成都市、德阳市", "", "审核报告", date(2026, 12, 31)]
    )
    sheet.append(
        ["共治跨界污染", "2", "跨界河流联防", "乐山市", "眉山市", "联合方案", "2026-09-30"]
    )
    sheet.append(["共治跨界污染", "", "无编号任务", "乐山市", "", "", "2026-09-30"])  # no code
    sheet.append(["共治跨界污染", "3", "日期错误", "乐山市", "", "", "明年"])  # bad date
    sheet.append(["共治跨界污染", "2", "重复编号", "乐山市", "", "", "2026-09-30"])  # duplicate
    book.save(path)
    return path


def test_import_keeps_every_bad_row_aside_with_its_reason(store: Store, tmp_path: Path) -> None:
    result = service.import_xlsx(store, workbook(tmp_path / "tasks.xlsx"), "cy-2026", T0)
    assert result["imported"] == 2 and result["rejected"] == 3
    reasons = {r["row"]: r["reason"] for r in result["rejects"]}
    assert "code" in reasons[4] and "not a date" in reasons[5] and "duplicate" in reasons[6]
    assert len(store_keytasks.rejects(store)) == 3
    task = store_keytasks.task(store, "cy-2026/1")
    assert task["owners"] == ["成都市", "德阳市"] and task["due"] == date(2026, 12, 31)


def test_not_a_workbook_is_a_clear_error(store: Store) -> None:
    with pytest.raises(KeyTaskError, match=r"not an \.xlsx"):
        service.import_xlsx(store, b"hello", "cy-2026", T0, name="x.xlsx")


def test_decision_becomes_a_task_and_completion_needs_evidence(store: Store) -> None:
    task = service.from_decision(
        store, "cy-2026", "consultation_decision", "2026-03-02-monthly-1",
        "/api/v1/consultation/sessions/2026-03-02-monthly-1", "联合执法检查", ["德阳市"],
        date(2026, 4, 30), T0,
    )  # fmt: skip
    assert task["source_kind"] == "consultation_decision" and task["state"] == "planned"
    service.report(store, task["task_id"], "report_progress", "dy", T0, 50, "半数完成", [])
    with pytest.raises(KeyTaskError, match="evidence"):
        service.report(store, task["task_id"], "complete", "dy", T0, 100, "完成", [])
    with pytest.raises(KeyTaskError, match="no uploaded attachment"):
        service.report(store, task["task_id"], "complete", "dy", T0, 100, "完成", ["ab" * 32])
    sha, _, _ = store_attachment(store, b"%PDF-1.4\n%minimal\n", "report.pdf", T0)
    done = service.report(store, task["task_id"], "complete", "dy", T0, 100, "完成", [sha])
    assert done["state"] == "completed"
    assert [p["action"] for p in store_keytasks.progress(store, task["task_id"])] == [
        "report_progress", "complete",
    ]  # fmt: skip


def test_boards_per_area_and_per_owner(store: Store, tmp_path: Path) -> None:
    service.import_xlsx(store, workbook(tmp_path / "tasks.xlsx"), "cy-2026", T0)
    areas = service.board(store, "cy-2026", "area", today=date(2026, 10, 1))
    assert [a["group"] for a in areas] == ["共治跨界污染", "推进绿色转型"]
    assert areas[0]["overdue"] == 1  # due 30 September, still planned
    owners = {g["group"]: len(g["tasks"]) for g in service.board(store, "cy-2026", "owner")}
    assert owners == {"成都市": 1, "德阳市": 1, "乐山市": 1}
