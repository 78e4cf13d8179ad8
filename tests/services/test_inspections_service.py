"""Inspections (督察) and their feedback problems as records of their own (issue 18, item 6) on a
real DuckDB file: each problem opens a rectification task carrying the inspection and the item,
or links an open case; every bad row (city not inspected, unknown category, an item twice, no
text, a case that does not exist) is kept aside with its row and reason; the .xlsx import, the
API per case role and the CLI."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app as cli_app
from ecobasin.services import cases as case_service
from ecobasin.services import inspections as service
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.workflow.inspections import InspectionError
from store_files import new_store_file

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
REGION = [510100, 510600, 510700, 510900, 511100, 511400, 511800, 512000]
ROUND = {"title": "省级第三轮第四批", "kind": "provincial", "inspector": "省第三生态环境保护督察组",
         "started_on": "2026-02-20", "ended_on": "2026-03-01", "cities": [510100, 510600]}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(new_store_file(tmp_path / "inspections.duckdb"))
    db.sync_catalog(catalog.load_region())
    return db


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "城市", "类别", "问题", "案件"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_inspection_is_checked_field_by_field(store: Store) -> None:
    made = service.create_inspection(store, ROUND, "so", AT, REGION)
    assert (made["kind_zh"], made["cities"], made["started_on"]) == (
        "省级督察", [510100, 510600], date(2026, 2, 20))  # fmt: skip
    for bad, words in (({"kind": "secret"}, "kind"), ({"cities": [440100]}, "440100"),
                       ({"ended_on": "2026-01-01"}, "before"), ({"title": " "}, "title")):  # fmt: skip
        with pytest.raises(InspectionError, match=words):
            service.create_inspection(store, {**ROUND, **bad}, "so", AT, REGION)


def test_each_problem_opens_a_task_or_links_a_case_and_bad_rows_are_kept_aside(
    store: Store,
) -> None:
    inspection = service.create_inspection(store, ROUND, "so", AT, REGION)["inspection_id"]
    open_case = case_service.register(store, "task", {
        "source_type": "routine_patrol", "title": "已有案件", "problem_text": "x",
        "category": "vocs", "city_code": 510600}, "so", "supervision_office", AT)  # fmt: skip
    rows = [
        {"item_no": "1", "city": 510100, "category": "construction_sites", "text": "工地扬尘未覆盖"},
        {"item_no": "2", "city": 510600, "category": "vocs", "text": "喷涂废气直排",
         "case_id": open_case.case_id},
        {"item_no": "3", "city": 511100, "category": "vocs", "text": "乐山未被督察"},
        {"item_no": "4", "city": 510100, "category": "noise", "text": "类别不存在"},
        {"item_no": "1", "city": 510100, "category": "vocs", "text": "编号重复"},
        {"item_no": "5", "city": 510100, "category": "vocs", "text": ""},
        {"item_no": "6", "city": 510100, "category": "vocs", "text": "案件不存在", "case_id": "DC-X"},
    ]  # fmt: skip
    done = service.add_problems(store, inspection, rows, "so", "supervision_office", AT)
    assert (done["added"], done["linked"]) == (2, [open_case.case_id])
    reasons = {r["row"]: r["reason"] for r in done["rejects"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert "not inspected" in reasons[3] and "unknown" in reasons[4] and "twice" in reasons[5]
    assert "text" in reasons[6] and "DC-X" in reasons[7]
    assert len(store.rejected(source=f"inspection-problems:{inspection}:api")) == 5
    task = case_service.load(store, done["opened"][0])
    assert (task.source_type, task.category, task.city_code) == (
        "inspection_feedback", "construction_sites", 510100)  # fmt: skip
    assert (task.inspection, task.feedback_ref) == ("省级第三轮第四批", "1")
    assert [(link.source_kind, link.url) for link in task.links] == [
        ("inspection_problem", f"/supervision/inspections/{inspection}")]  # fmt: skip
    detail = service.inspection_detail(store, inspection)
    assert [(p["item_no"], [c["case_id"] for c in p["cases"]]) for p in detail["problems"]] == [
        ("1", [task.case_id]), ("2", [open_case.case_id])]  # fmt: skip
    assert detail["problems"][0]["cases"][0]["state"] == "registered"
    listed = service.inspection_list(store)
    assert (listed[0]["problems"], listed[0]["cases"]) == (2, 2)


def test_a_joint_inspections_problem_opens_a_joint_inspection_task(store: Store) -> None:
    joint = service.create_inspection(store, {**ROUND, "kind": "joint"}, "so", AT, REGION)
    done = service.import_problems(store, joint["inspection_id"], workbook([
        ["J1", 510600, "mobile_sources", "非道路机械冒黑烟", None],
        ["J2", "德阳", "mobile_sources", "城市不是代码", None],
    ]), "so", "supervision_office", AT, "joint.xlsx")  # fmt: skip
    assert len(done["opened"]) == 1 and [r["row"] for r in done["rejects"]] == [3]
    assert case_service.load(store, done["opened"][0]).source_type == "joint_inspection"
    with pytest.raises(InspectionError, match=r"not an \.xlsx"):
        service.import_problems(store, joint["inspection_id"], b"no", "so", "x", AT)


def test_api_per_case_role_and_cli_import(store: Store, tmp_path: Path) -> None:
    tokens = {}
    for name, role in (("so", "supervision_office"), ("lu", "lead_unit")):
        accounts.create_user(store.con, name, "viewer", None, f"password-{name}")
        tokens[name] = accounts.create_token(store.con, name, "tests")[1]
        store_cases.grant_role(store, name, role, 510100, "成华区住建局", "admin", AT)
    db = store.path
    store.close()
    with TestClient(create_app(db)) as client:
        so, lu = ({"Authorization": f"Bearer {tokens[n]}"} for n in ("so", "lu"))
        assert client.post("/api/v1/inspections", json=ROUND).status_code == 401
        assert client.post("/api/v1/inspections", json=ROUND, headers=lu).status_code == 403
        made = client.post("/api/v1/inspections", json=ROUND, headers=so)
        assert made.status_code == 201, made.text
        number = made.json()["inspection_id"]
        bad = client.post("/api/v1/inspections", json={**ROUND, "cities": [1]}, headers=so)
        assert bad.status_code == 422
        problems = {"problems": [{"item_no": "1", "city": 510100, "category": "vocs",
                                  "text": "VOCs 无组织排放"}]}  # fmt: skip
        assert client.post(f"/api/v1/inspections/{number}/problems", json=problems,
                           headers=lu).status_code == 403  # fmt: skip
        added = client.post(f"/api/v1/inspections/{number}/problems", json=problems, headers=so)
        assert added.status_code == 200 and len(added.json()["opened"]) == 1
        upload = client.post(
            f"/api/v1/inspections/{number}/problems/import", headers=so,
            files={"file": ("p.xlsx", workbook([["2", 510600, "vocs", "第二项", None]]))},
        )  # fmt: skip
        assert upload.status_code == 200 and len(upload.json()["opened"]) == 1
        seen = client.get(f"/api/v1/inspections/{number}", headers=lu).json()
        assert [p["item_no"] for p in seen["problems"]] == ["1", "2"]
        assert client.get("/api/v1/inspections/999", headers=lu).status_code == 404
        assert client.get("/api/v1/inspections", headers=lu).json()[0]["problems"] == 2
        board = client.get("/supervision", headers=lu).text
        assert f'data-inspection="{number}"' in board and "省级第三轮第四批" in board
        page = client.get(f"/supervision/inspections/{number}", headers=lu).text
        assert 'data-item="1"' in page and 'data-item="2"' in page and "VOCs 无组织排放" in page
        assert client.get("/supervision/inspections/999", headers=lu).status_code == 404
    path = tmp_path / "problems.xlsx"
    path.write_bytes(
        workbook([["3", 510100, "vocs", "第三项", None], ["4", 510100, "", "x", None]])
    )
    result = CliRunner().invoke(
        cli_app, ["cases", "problems", str(number), str(path), "--as", "so", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert "1 cases opened" in result.output and "row 3: missing category" in result.output
    refused = CliRunner().invoke(
        cli_app, ["cases", "problems", str(number), str(path), "--as", "lu", "--db", str(db)]
    )
    assert refused.exit_code != 0
