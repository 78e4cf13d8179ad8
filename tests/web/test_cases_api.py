"""``/api/v1/cases``, ``/api/v1/keytasks`` and ``/open311/v2`` over real HTTP requests
(TestClient) on a real DuckDB file: rights per case role, a task from registration to public
notice, evidence upload, findings, the public view (issue 18)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.workflow.cases import ACCEPTANCE_CRITERIA, categories

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=CST)
PEOPLE = [
    ("so", "supervision_office", None, ""),
    ("lu", "lead_unit", 510100, "成华区住建局"),
    ("other_lu", "lead_unit", 510100, "成华区水务局"),
    ("co", "city_office", 510100, ""),
    ("dy_co", "city_office", 510600, ""),
    ("prov", "province", None, ""),
    ("ms_jo", "joint_office", 511400, ""),
]
TOKENS: dict[str, str] = {}


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("cases") / "c.duckdb"
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        accounts.create_user(store.con, "nobody", "viewer", None, "password-nobody")
        TOKENS["nobody"] = accounts.create_token(store.con, "nobody", "tests")[1]
        for name, role, city, unit in PEOPLE:
            accounts.create_user(store.con, name, "viewer", None, f"password-{name}")
            TOKENS[name] = accounts.create_token(store.con, name, "tests")[1]
            store_cases.grant_role(store, name, role, city, unit, "admin", T0)
    with TestClient(create_app(path)) as test_client:
        yield test_client


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="PNG")
    return out.getvalue()


def step(
    client: TestClient, who: str, case_id: str, action: str, facts: dict, code: int = 200
) -> dict:
    answer = client.post(
        f"/api/v1/cases/{case_id}/actions/{action}",
        json={"facts": facts, "reason": "r"},
        headers=as_(who),
    )
    assert answer.status_code == code, answer.text
    return answer.json()  # type: ignore[no-any-return]


def register(client: TestClient) -> str:
    body = {
        "source_type": "inspection_feedback", "title": "工地扬尘未覆盖", "problem_text": "原文",
        "category": "construction_sites", "city_code": 510100, "location_text": "成华区",
    }  # fmt: skip
    answer = client.post("/api/v1/cases", json=body, headers=as_("so"))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_id"])


def test_reading_needs_a_case_role(client: TestClient) -> None:
    assert client.get("/api/v1/cases").status_code == 401
    refused = client.get("/api/v1/cases", headers=as_("nobody"))
    assert refused.status_code == 403 and "read_internal" in refused.json()["detail"]
    assert client.get("/api/v1/cases", headers=as_("co")).status_code == 200


def test_a_task_from_registration_to_public_notice(client: TestClient) -> None:
    case_id = register(client)
    # the lead unit may not transfer; the supervision office may
    step(client, "lu", case_id, "transfer", {}, 403)
    step(
        client,
        "so",
        case_id,
        "transfer",
        {
            "lead_unit": "成华区住建局",
            "acceptance_level": "city",
            "rectify_due": "2026-06-30",
            "term_type": "限期",
        },
    )
    step(client, "other_lu", case_id, "accept", {"contact": "x"}, 403)  # another unit
    step(client, "lu", case_id, "accept", {"contact": "张工"})
    step(
        client,
        "lu",
        case_id,
        "submit_plan",
        {
            "measures": [
                {"text": "覆盖", "owner": "项目部", "due": "2026-04-01", "deliverable": "照片"}
            ],
            "target": "全部覆盖",
        },
    )
    step(client, "so", case_id, "approve_plan", {})
    step(client, "lu", case_id, "report_progress", {"narrative": "完成", "percents": {"0": 100}})
    refused = step(client, "lu", case_id, "request_acceptance", {"self_check": "ok"}, 422)
    assert "checklist" in refused["detail"]
    for kind in categories()["construction_sites"].evidence:
        up = client.post(
            f"/api/v1/cases/{case_id}/evidence", headers=as_("lu"),
            files={"file": (f"{kind}.png", png(), "image/png")}, data={"kind": kind, "phase": "after"},
        )  # fmt: skip
        assert up.status_code == 201, up.text
    step(client, "lu", case_id, "request_acceptance", {"self_check": "ok"})
    step(client, "dy_co", case_id, "start_check", {"team": "t", "check_date": "2026-02-02"}, 403)
    step(client, "co", case_id, "start_check", {"team": "市验收组", "check_date": "2026-02-02"})
    done = step(
        client,
        "co",
        case_id,
        "pass",
        {
            "opinion": "同意销号",
            "criteria": [[c, True, ""] for c in ACCEPTANCE_CRITERIA],
            "onsite_record": "现场核查",
            "signatures": ["甲", "乙"],
        },
    )
    assert done["state"] == "public_notice"
    whole = client.get(f"/api/v1/cases/{case_id}", headers=as_("lu")).json()
    assert [a["event"] for a in whole["audit"]][:3] == ["register", "transfer", "accept"]
    assert whole["audit"][-1]["actor"] == "co" and whole["audit"][-1]["role"] == "city_office"
    sha = whole["evidence"][0]["sha256"]
    thumb = client.get(f"/api/v1/cases/{case_id}/evidence/{sha}?thumbnail=true", headers=as_("so"))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    # the public sees it in Open311 with the notice; API writes need credentials (the public
    # objects through the disclosure page's form), any account may object
    public = client.get(f"/open311/v2/requests/{case_id}.json").json()[0]
    assert public["status"] == "open" and "公示期" in public["service_notice"]
    anonymous = client.post(
        f"/api/v1/cases/{case_id}/actions/objection", json={"facts": {"objection": "x"}}
    )
    assert anonymous.status_code == 401
    objected = step(client, "nobody", case_id, "objection", {"objection": "仍有扬尘"})
    assert objected["state"] == "under_check"
    assert (
        client.get(f"/api/v1/cases/{case_id}", headers=as_("so")).json()["audit"][-1]["role"]
        == "public"
    )


def test_bad_upload_is_refused_with_the_reason(client: TestClient) -> None:
    case_id = register(client)
    bad = client.post(
        f"/api/v1/cases/{case_id}/evidence", headers=as_("so"),
        files={"file": ("x.png", b"MZ\x90\x00 not an image", "image/png")}, data={"kind": "photo_before"},
    )  # fmt: skip
    assert bad.status_code == 422 and "allowed" in bad.json()["detail"]


def test_finding_opens_a_linked_case_once(client: TestClient) -> None:
    body = {
        "source_kind": "noise_complaint",
        "source_id": "NC-1",
        "title": "夜间施工噪声",
        "problem_text": "投诉",
        "category": "noise_cooking_fumes",
        "city_code": 510100,
    }
    first = client.post("/api/v1/cases/from-finding", json=body, headers=as_("so"))
    again = client.post("/api/v1/cases/from-finding", json=body, headers=as_("so"))
    assert first.status_code == again.status_code == 201
    assert first.json()["created"] and not again.json()["created"]
    assert (
        client.post("/api/v1/cases/from-finding", json=body, headers=as_("lu")).status_code == 403
    )


def test_open311_services_and_unpublished_cases(client: TestClient) -> None:
    services = client.get("/open311/v2/services.json").json()
    assert {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    } == set(services[0])
    case_id = register(client)  # registered only: not published
    assert client.get(f"/open311/v2/requests/{case_id}.json").status_code == 404
    assert case_id not in {
        r["service_request_id"] for r in client.get("/open311/v2/requests.json").json()
    }


def test_key_tasks_import_board_and_progress(client: TestClient) -> None:
    plan = {
        "plan_id": "cdp-2026",
        "year": 2026,
        "title": "八市2026年重点任务",
        "issuer": "联席会议",
    }
    assert client.post("/api/v1/keytasks/plans", json=plan, headers=as_("lu")).status_code == 403
    assert client.post("/api/v1/keytasks/plans", json=plan, headers=as_("so")).status_code == 201
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["area", "code", "title", "owners", "due"])
    sheet.append(["大气", "A1", "VOCs治理", "成都市", "2026-06-30"])
    sheet.append(["大气", "A2", "坏日期", "德阳市", "soon"])
    data = io.BytesIO()
    book.save(data)
    result = client.post(
        "/api/v1/keytasks/import/cdp-2026",
        headers=as_("so"),
        files={"file": ("t.xlsx", data.getvalue())},
    ).json()
    assert result["imported"] == 1 and result["rejects"][0]["row"] == 3
    groups = client.get(
        "/api/v1/keytasks/board?plan_id=cdp-2026&by=owner", headers=as_("co")
    ).json()
    assert groups[0]["group"] == "成都市"
    url = "/api/v1/keytasks/progress/cdp-2026/A1"
    started = client.post(
        url, headers=as_("co"), json={"action": "start", "percent": 10, "narrative": "启动"}
    )
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    moved = client.post(
        url, headers=as_("co"), json={"action": "complete", "percent": 100, "narrative": "done"}
    )
    assert moved.status_code == 422 and "evidence" in moved.json()["detail"]
    unknown = client.post(
        url,
        headers=as_("co"),
        json={"action": "complete", "percent": 100, "narrative": "done", "evidence": ["ab" * 32]},
    )
    assert unknown.status_code == 422 and "no uploaded attachment" in unknown.json()["detail"]
    sha = client.post(
        "/api/v1/keytasks/evidence", headers=as_("co"), files={"file": ("p.png", png())}
    ).json()["sha256"]
    done = client.post(
        url,
        headers=as_("co"),
        json={"action": "complete", "percent": 100, "narrative": "done", "evidence": [sha]},
    )
    assert done.json()["state"] == "completed" and len(done.json()["progress"]) == 2


def test_boundary_river_joint_case_links_both_sides_sections(client: TestClient) -> None:
    body = {
        "kind": "joint", "source_type": "joint_inspection", "title": "岷江交界断面",
        "problem_text": "总磷超标", "category": "other", "jurisdictions": [511400, 511100],
        "standard": "III类",
        "links": [{"source_kind": "water_section", "source_id": "DW05M03"},
                  {"source_kind": "water_section", "source_id": "DW04M05"}],
    }  # fmt: skip
    assert client.post("/api/v1/cases", json=body, headers=as_("so")).status_code == 403
    made = client.post("/api/v1/cases", json=body, headers=as_("ms_jo"))
    assert made.status_code == 201, made.text
    case = client.get(f"/api/v1/cases/{made.json()['case_id']}", headers=as_("ms_jo")).json()
    assert [link["url"] for link in case["links"]] == [
        "/water/section/DW05M03",
        "/water/section/DW04M05",
    ]
