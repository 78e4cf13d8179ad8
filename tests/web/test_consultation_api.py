"""``/api/v1/consultation``: the rota (public), sessions (signed-in only), over real HTTP requests
(TestClient) on a real DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consultation_helpers import concluded_session
from ecobasin import catalog
from ecobasin.services import consultation as service
from ecobasin.store import Store
from ecobasin.store import consultation as store_consultation
from ecobasin.web import create_app
from ecobasin.web.security import accounts

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=CST)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("consultation") / "c.duckdb"
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        service.schedule_session(store, "monthly", date(2026, 2, 2), T0, "prov", T0)
        store_consultation.record_handover(store, date(2026, 3, 9), 511400, "会议", "prov", T0)
        service.act(
            store, "2026-02-02-monthly-1", "open_submissions", "cd", T0, "no model guidance"
        )
        accounts.create_user(store.con, "viewer1", "viewer", None, "password-viewer1")
        token = accounts.create_token(store.con, "viewer1", "tests")[1]
        for name, role, city in PEOPLE:
            accounts.create_user(store.con, name, "viewer", None, f"password-{name}")
            TOKENS[name] = accounts.create_token(store.con, name, "tests")[1]
            store_consultation.grant_role(store, name, role, city, "admin", T0)
    return path, token


PEOPLE = [
    ("cd_lead", "city_approver", 510100),  # Chengdu chairs in February 2026
    ("dy_fc", "city_forecaster", 510600),
    ("my_fc", "city_forecaster", 510700),
    ("cd_fc", "city_forecaster", 510100),
    ("dy_lead", "city_approver", 510600),
    ("prov", "province_coordinator", None),
]
TOKENS: dict[str, str] = {}


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@pytest.fixture(scope="module")
def client(setup: tuple[Path, str]) -> Iterator[TestClient]:
    with TestClient(create_app(setup[0])) as test_client:
        yield test_client


def test_the_rota_is_public_with_its_handovers(client: TestClient) -> None:
    body = client.get("/api/v1/consultation/rota/2026").json()
    assert body["months"][1] == {
        "month": 2,
        "chair": 510100,
        "deputy": 510600,
        "handed_over_to": None,
    }
    assert body["months"][2]["handed_over_to"] == 511400
    missing = client.get("/api/v1/consultation/rota/2031")
    assert missing.status_code == 404 and "2031" in missing.json()["detail"]


def test_sessions_need_a_signed_in_user(client: TestClient, setup: tuple[Path, str]) -> None:
    assert client.get("/api/v1/consultation/sessions").status_code == 401
    headers = {"Authorization": f"Bearer {setup[1]}"}
    listed = client.get("/api/v1/consultation/sessions", headers=headers).json()
    assert [s["session_id"] for s in listed] == ["2026-02-02-monthly-1"]
    one = client.get(
        "/api/v1/consultation/sessions/2026-02-02-monthly-1?lang=en", headers=headers
    ).json()
    assert (
        one["chair_name"] == "Chengdu" and one["state"] == "collecting" and len(one["table"]) == 56
    )
    assert one["audit"][0]["event"] == "schedule"
    gone = client.get("/api/v1/consultation/sessions/nope", headers=headers)
    assert gone.status_code == 404 and "无此会商" in gone.json()["detail"]


URL = "/api/v1/consultation/sessions/2026-02-02-monthly-1"
DAY = {"lead_day": 1, "aqi_low": 60, "aqi_high": 90, "primary": ["PM2.5"]}


def test_a_city_submits_its_own_forecast_not_anothers(
    client: TestClient, setup: tuple[Path, str]
) -> None:
    other = client.post(
        f"{URL}/submissions", json={"city": 510600, "days": [DAY]}, headers=as_("my_fc")
    )
    assert other.status_code == 403 and "for 510600" in other.json()["detail"]
    assert (
        client.post(f"{URL}/submissions", json={"city": 510600, "days": [DAY]}).status_code == 401
    )
    bad = {**DAY, "aqi_low": 20, "aqi_high": 50}
    refused = client.post(
        f"{URL}/submissions", json={"city": 510600, "days": [bad]}, headers=as_("dy_fc")
    )
    assert refused.status_code == 422 and "city 510600 day 1" in refused.json()["detail"]
    gap = [DAY, {**DAY, "lead_day": 3}]  # day 2 left out: refused whole, nothing stored
    gapped = client.post(f"{URL}/submissions", json={"city": 510600, "days": gap}, headers=as_("dy_fc"))  # fmt: skip
    assert gapped.status_code == 422 and "lead day 2 missing" in gapped.json()["detail"]
    named = {**DAY, "levels": [3]}  # 60–90 is level 2 (良), not inside level 3
    wrong = client.post(f"{URL}/submissions", json={"city": 510600, "days": [named]}, headers=as_("dy_fc"))  # fmt: skip
    assert wrong.status_code == 422 and "not inside the levels named [3]" in wrong.json()["detail"]
    mine = {**DAY, "levels": [2], "confidence": "high", "rationale": "静稳"}
    own = client.post(
        f"{URL}/submissions", json={"city": 510600, "days": [mine]}, headers=as_("dy_fc")
    )
    assert own.status_code == 200 and own.json()["state"] == "collecting"
    view = client.get(URL, headers={"Authorization": f"Bearer {setup[1]}"}).json()
    row = next(r for r in view["table"] if (r["city"], r["lead_day"]) == (510600, 1))
    submitted = {k: row["submitted"][k] for k in ("aqi_low", "aqi_high", "primary", "levels")}
    assert submitted == {"aqi_low": 60, "aqi_high": 90, "primary": ["PM2.5"], "levels": [2]}
    assert (row["submitted"]["confidence"], row["submitted"]["rationale"]) == ("high", "静稳")
    assert [a["actor"] for a in view["audit"] if a["event"] == "submit"] == ["dy_fc"]


def test_only_the_chair_closes_collection(client: TestClient) -> None:
    forecaster = client.post(f"{URL}/steps/close_submissions", json={}, headers=as_("dy_fc"))
    assert forecaster.status_code == 403 and "chair" in forecaster.json()["detail"]
    closed = client.post(
        f"{URL}/steps/close_submissions", json={"reason": "截止"}, headers=as_("cd_lead")
    )
    assert closed.status_code == 200 and closed.json()["state"] == "reconciling"
    again = client.post(f"{URL}/steps/close_submissions", json={}, headers=as_("cd_lead"))
    assert again.status_code == 422 and "not allowed in state reconciling" in again.json()["detail"]


def test_the_chair_reconciles_and_concludes(client: TestClient) -> None:
    chair = as_("cd_lead")
    assert (
        client.post(f"{URL}/steps/start_session", json={}, headers=chair).json()["state"]
        == "in_session"
    )
    early = client.post(f"{URL}/steps/conclude", json={}, headers=chair)
    assert early.status_code == 422 and "no consensus for city" in early.json()["detail"]
    days = [{**DAY, "lead_day": d} for d in range(1, 8)]
    refused = client.post(
        f"{URL}/consensus", json={"city": 510600, "days": days}, headers=as_("dy_fc")
    )
    assert refused.status_code == 403
    for city in catalog.load_region().cities:
        done = client.post(f"{URL}/consensus", json={"city": city, "days": days}, headers=chair)
        assert done.status_code == 200, done.text
    unknown = client.post(
        f"{URL}/resolve",
        json={"key": "x", "resolution": "accept_city", "reason": "r"},
        headers=chair,
    )
    assert unknown.status_code == 422 and "no such divergence" in unknown.json()["detail"]
    proposal = {"narrative": "区域以良为主 mostly good", "levels": {"510100": "yellow"},
                "regional": "yellow", "controls": "成都加强夜间施工管控"}  # fmt: skip
    assert client.post(f"{URL}/warning", json=proposal, headers=chair).status_code == 200
    concluded = client.post(f"{URL}/steps/conclude", json={"reason": "会商结束"}, headers=chair)
    assert concluded.status_code == 200 and concluded.json()["state"] == "concluded"
    view = client.get(URL, headers=chair).json()
    assert {w["city"]: w["level"] for w in view["warning"]}[510100] == "yellow"
    assert view["audit"][-1]["reason"] == "会商结束"
    # the region higher than its rule gives (one city is no regional warning): allowed, shown
    assert view["regional_warning"] == {"level": "yellow", "label": "黄色预警", "rule_level": "none",
                                        "override_reason": ""}  # fmt: skip
    assert view["controls"] == "成都加强夜间施工管控"


def test_the_report_is_drafted_signed_and_kept_by_hash(client: TestClient) -> None:
    chair = as_("cd_lead")
    drafted = client.post(f"{URL}/report", json={}, headers=chair)
    assert drafted.status_code == 200 and drafted.json()["state"] == "report_draft"
    hashes = drafted.json()["reports"]
    zh = client.get(f"/api/v1/consultation/reports/{hashes['zh']}", headers=chair)
    assert zh.headers["content-type"].startswith("text/html")
    text = zh.content.decode("utf-8")
    for expected in (
        "联合会商意见",
        "成都市",
        "德阳市",
        "雅安市",
        "60–90",
        "黄色预警",
        "第3天",
        "趋势",
    ):
        assert expected in text, expected
    en = client.get(f"/api/v1/consultation/reports/{hashes['en']}", headers=chair).text
    assert "Chengdu" in en and "yellow" in en and "Day 4 (trend)" in en
    assert client.post(f"{URL}/sign", json={}, headers=as_("dy_fc")).status_code == 403
    signed = client.post(f"{URL}/sign", json={}, headers=chair)
    assert signed.status_code == 200 and signed.json()["state"] == "issued"
    view = client.get(URL, headers=chair).json()
    issued = client.get(f"/api/v1/consultation/reports/{view['report_hash']}", headers=chair)
    # the issued opinion is the draft with its sign-off: who signed and when; the draft is kept
    assert "签发人: cd_lead" in issued.text and "草稿，未签发" in text
    assert issued.text.split('<section id="signoff">')[0] == text.split('<section id="signoff">')[0]
    again = client.get(f"/api/v1/consultation/reports/{hashes['zh']}", headers=chair)
    assert again.content == zh.content
    assert client.get("/api/v1/consultation/reports/" + "0" * 64, headers=chair).status_code == 404
    pdf = client.get(f"/api/v1/consultation/reports/{hashes['zh_pdf']}", headers=chair)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    listed = client.get(f"{URL}/reports", headers=chair).json()
    assert {(r["lang"], r["media_type"]) for r in listed} >= {
        ("zh", "application/pdf"),
        ("en", "application/pdf"),
    }
    late = client.post(f"{URL}/steps/cancel", json={"reason": "x"}, headers=chair)
    assert late.status_code == 422 and "not allowed in state issued" in late.json()["detail"]


def test_a_city_decides_its_warning_never_lower_without_a_reason(client: TestClient) -> None:
    decision = {"city": 510100, "level": "none", "start": "2026-02-05T00:00:00+08:00"}
    early = client.post(f"{URL}/decisions", json=decision, headers=as_("cd_lead"))
    assert early.status_code == 422 and "not allowed in state proposed" in early.json()["detail"]
    step = f"{URL}/warning-proposal/recommend"
    assert client.post(step, json={}, headers=as_("cd_lead")).status_code == 403  # the chair
    recommended = client.post(step, json={"contact": "028-1"}, headers=as_("prov"))
    assert recommended.status_code == 200 and recommended.json()["state"] == "recommended"
    letter = recommended.json()["reports"]["zh"]
    assert (
        "黄色预警" in client.get(f"/api/v1/consultation/reports/{letter}", headers=as_("prov")).text
    )
    assert client.post(f"{URL}/decisions", json=decision, headers=as_("cd_fc")).status_code == 403
    lower = client.post(f"{URL}/decisions", json=decision, headers=as_("cd_lead"))
    assert (
        lower.status_code == 422
        and "lower level than recommended (yellow)" in lower.json()["detail"]
    )
    with_reason = {**decision, "override_reason": "本地降雨 rain expected"}
    kept = client.post(f"{URL}/decisions", json=with_reason, headers=as_("cd_lead"))
    assert kept.status_code == 200 and kept.json()["override_reason"] == "本地降雨 rain expected"
    assert kept.json()["recommended"] == "yellow"
    earlier = {"city": 510100, "level": "orange", "start": "2026-02-02T12:00:00+08:00"}
    assert client.post(f"{URL}/decisions", json=earlier, headers=as_("cd_lead")).status_code == 200
    shown = client.get(URL, headers=as_("cd_lead")).json()["decisions"]
    assert [(d["level"], d["override_reason"]) for d in shown] == [
        ("none", "本地降雨 rain expected"),
        ("orange", ""),
    ]
    view = client.get(f"{URL}/warning-proposal", headers=as_("my_fc")).json()
    chengdu = next(c for c in view["cities"] if c["city"] == 510100)
    assert chengdu["level"] == "yellow" and chengdu["acknowledged"]["level"] == "orange"
    assert [s["event"] for s in view["steps"]] == ["propose", "recommend", "city_ack", "city_ack"]


STEP_ROLES = {"cd_lead": 403, "dy_fc": 403, "dy_lead": 403, "prov": 200}


def test_the_provinces_steps_escalate_de_escalate_and_lift(client: TestClient) -> None:
    base = f"{URL}/warning-proposal"
    up = {"reason": "过程加重", "levels": {"510600": "yellow"}, "episode": "2026-02-03-episode-1"}
    for who, status in STEP_ROLES.items():  # only the province coordinator steps
        if status == 403:
            for step in ("escalate", "de_escalate", "lift", "reject", "recommend"):
                assert client.post(f"{base}/{step}", json=up, headers=as_(who)).status_code == 403
    wrong_way = client.post(f"{base}/de_escalate", json=up, headers=as_("prov"))
    assert wrong_way.status_code == 422 and "must lower" in wrong_way.json()["detail"]
    raised = client.post(f"{base}/escalate", json=up, headers=as_("prov"))
    assert raised.status_code == 200 and raised.json()["reports"]  # a new letter
    down = {"reason": "扩散转好", "levels": {"510600": "none"}, "episode": "2026-02-04-episode-1"}
    assert client.post(f"{base}/de_escalate", json=down, headers=as_("prov")).status_code == 200
    assert (
        client.post(f"{base}/reject", json={"reason": "x"}, headers=as_("prov")).status_code == 422
    )
    no_reason = client.post(f"{base}/lift", json={}, headers=as_("prov"))
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.json()["detail"]
    lifted = client.post(f"{base}/lift", json={"reason": "低于黄色超过36小时"}, headers=as_("prov"))
    assert lifted.json()["state"] == "lifted"
    steps = client.get(base, headers=as_("prov")).json()["steps"]
    assert [s["event"] for s in steps][-3:] == ["escalate", "de_escalate", "lift"]
    assert steps[-1]["actor"] == "prov" and steps[-1]["reason"] == "低于黄色超过36小时"


def test_amending_over_the_api_supersedes_the_issued_version(client: TestClient) -> None:
    chair = as_("cd_lead")
    no_reason = client.post(f"{URL}/amend", json={"reason": ""}, headers=chair)
    assert no_reason.status_code == 422
    change = {"city": 510100, "lead_day": 2, "aqi_low": 100, "aqi_high": 130, "primary": ["PM2.5"]}
    amended = client.post(
        f"{URL}/amend", json={"reason": "模式更新", "changes": [change]}, headers=chair
    )
    assert amended.json() == {
        "session_id": "2026-02-02-monthly-1",
        "version": 2,
        "state": "report_draft",
    }
    old = client.get(f"{URL}?version=1", headers=chair).json()
    new = client.get(URL, headers=chair).json()
    assert old["state"] == "superseded" and new["supersedes"] == "2026-02-02-monthly-1/v1"
    cell = {(r["city"], r["lead_day"]): r["consensus"] for r in new["table"]}[(510100, 2)]
    assert cell["aqi_low"] == 100
    assert {(r["city"], r["lead_day"]): r["consensus"] for r in old["table"]}[(510100, 2)][
        "aqi_low"
    ] == 60


def test_scheduling_and_opening_with_a_snapshot(client: TestClient) -> None:
    body = {
        "kind": "episode",
        "session_date": "2026-02-20",
        "deadline": "2026-02-20T16:00:00+08:00",
    }
    assert (
        client.post("/api/v1/consultation/sessions", json=body, headers=as_("dy_fc")).status_code
        == 403
    )
    made = client.post("/api/v1/consultation/sessions", json=body, headers=as_("cd_lead"))
    assert made.status_code == 200 and made.json()["state"] == "scheduled"
    url = f"/api/v1/consultation/sessions/{made.json()['session_id']}"
    half = client.post(f"{url}/open", json={"model_name": "CDAQS"}, headers=as_("cd_lead"))
    assert half.status_code == 422 and "observation_cutoff" in half.json()["detail"]
    snapshot = {
        "model_name": "CDAQS",
        "model_version": "2026.1",
        "model_issued_at": "2026-02-19T20:00:00+08:00",
        "observation_cutoff": "2026-02-20T08:00:00+08:00",
        "guidance": [
            {"city": 510600, "lead_day": 1, "aqi_low": 80, "aqi_high": 110, "primary": ["PM2.5"]}
        ],
        "other_models": [  # scored in verification; the divergences stay against CDAQS
            {
                "name": "CMAQ",
                "version": "5.4",
                "issued_at": "2026-02-19T20:00:00+08:00",
                "guidance": [{"city": 510600, "lead_day": 1, "aqi_low": 130, "aqi_high": 160}],
            }
        ],
    }
    opened = client.post(f"{url}/open", json=snapshot, headers=as_("cd_lead"))
    assert opened.status_code == 200 and opened.json()["state"] == "collecting"
    gap = {**DAY, "aqi_low": 130, "aqi_high": 160}
    client.post(f"{url}/submissions", json={"city": 510600, "days": [gap]}, headers=as_("dy_fc"))
    client.post(f"{url}/steps/close_submissions", json={}, headers=as_("cd_lead"))
    view = client.get(url, headers=as_("cd_lead")).json()
    assert {d["key"] for d in view["divergences"]} == {"model_gap:510600:d1", "level:510600:d1"}
    scored = client.get(f"{url}/verification", headers=as_("cd_lead")).json()
    assert list(scored["models"]) == ["CDAQS", "CMAQ"]


def test_verification_route_answers_with_the_same_scores(client: TestClient) -> None:
    body = client.get(f"{URL}/verification?version=1", headers=as_("cd_lead")).json()
    assert body["version"] == 1 and body["observed_days"] == 0  # no city daily AQI in this store
    assert set(body["lift"]) == {"range_hit", "level_hit", "primary_hit", "ts_100", "ts_200"}
    assert client.get(f"{URL}/verification").status_code == 401


def test_minutes_actions_letter_and_public_text_over_http(client: TestClient) -> None:
    chair, prov = as_("cd_lead"), as_("prov")
    body = {"decisions": [{"text": "德阳核查工业源", "owner_city": 510600, "due": "2026-02-20"}],
            "risks": ["春节烟花"], "outlook": "2月以良为主"}  # fmt: skip
    assert client.post(f"{URL}/minutes", json=body, headers=as_("dy_fc")).status_code == 403
    made = client.post(f"{URL}/minutes", json=body, headers=chair)
    assert made.status_code == 200, made.text
    action_id = made.json()["actions"][0]
    pdf = client.get(
        f"/api/v1/consultation/reports/{made.json()['reports']['zh_pdf']}", headers=chair
    )
    assert pdf.headers["content-type"] == "application/pdf"
    listed = client.get("/api/v1/consultation/actions?state=open", headers=as_("dy_fc")).json()
    assert [(a["action_id"], a["owner_name"]) for a in listed] == [(action_id, "德阳市")]
    close = f"/api/v1/consultation/actions/{action_id.replace('#', '%23')}/close"
    assert client.post(close, json={"note": "done"}, headers=as_("my_fc")).status_code == 403
    closed = client.post(close, json={"note": "已核查"}, headers=as_("dy_lead"))
    assert closed.status_code == 200 and closed.json()["closed_by"] == "dy_lead"
    assert client.post(close, json={"note": "again"}, headers=chair).status_code == 422
    assert client.post(f"{URL}/letter", json={}, headers=chair).status_code == 403
    letter = client.post(f"{URL}/letter", json={"contact": "028-1"}, headers=prov)
    assert letter.status_code == 200 and set(letter.json()["reports"]) == {
        "zh",
        "en",
        "zh_pdf",
        "en_pdf",
    }
    html = client.get(
        f"/api/v1/consultation/reports/{letter.json()['reports']['zh']}", headers=prov
    )
    assert "建议函" in html.text and "可根据当地情况提前启动预警" in html.text
    public = client.post(f"{URL}/public", json={}, headers=chair)
    text = client.get(
        f"/api/v1/consultation/reports/{public.json()['reports']['en']}", headers=chair
    ).text
    assert "7 days" in text and "Chengdu" in text


def test_notifications_are_ones_own_and_marked_read(
    client: TestClient, setup: tuple[Path, str]
) -> None:
    assert client.get("/api/v1/consultation/notifications").status_code == 401
    no_role = {"Authorization": f"Bearer {setup[1]}"}
    assert client.get("/api/v1/consultation/notifications", headers=no_role).status_code == 403
    mine = client.get(
        "/api/v1/consultation/notifications?unread=true", headers=as_("cd_lead")
    ).json()
    assert {"concluded", "issued"} <= {n["kind"] for n in mine}
    assert any(n["title"] == f"会商 {URL.rsplit('/', 1)[1]} 意见已签发" for n in mine)
    first = mine[0]["notice_id"]
    theirs = client.post(f"/api/v1/consultation/notifications/{first}/read", headers=as_("dy_fc"))
    assert theirs.status_code == 404  # not dy_fc's
    left = client.post(f"/api/v1/consultation/notifications/{first}/read", headers=as_("cd_lead"))
    assert left.status_code == 200 and first not in [n["notice_id"] for n in left.json()]
    english = client.get(
        "/api/v1/consultation/notifications?lang=en", headers=as_("cd_lead")
    ).json()
    assert any("is issued" in n["title"] for n in english)


def test_the_province_records_a_hand_over_over_the_api(client: TestClient) -> None:
    body = {"day": "2026-04-13", "city": 511800, "reason": "Leshan hosts the April exercise"}
    refused = client.post("/api/v1/consultation/handovers", json=body, headers=as_("dy_fc"))
    assert refused.status_code == 403 and "province_coordinator" in refused.json()["detail"]
    assert client.post("/api/v1/consultation/handovers", json=body).status_code == 401
    done = client.post("/api/v1/consultation/handovers", json=body, headers=as_("prov"))
    assert done.status_code == 201, done.text
    april = client.get("/api/v1/consultation/rota/2026").json()["months"][3]
    assert april["handed_over_to"] == 511800


def test_the_province_archives_an_issued_session_over_the_api(client: TestClient) -> None:
    """Issue 16 "API endpoints for every step": archive (the province coordinator, issued only)."""
    store = client.app.state.store  # type: ignore[attr-defined]  # the app holds the file
    sid = concluded_session(store)
    url = f"/api/v1/consultation/sessions/{sid}"
    early = client.post(f"{url}/steps/archive", json={"reason": "核验完成"}, headers=as_("prov"))
    assert early.status_code == 422 and "not allowed in state concluded" in early.json()["detail"]
    service.act(store, sid, "draft_report", "chair", T0, template_version="opinion-1")
    service.act(store, sid, "sign", "chair", T0, report_hash="f" * 64)
    for who in ("cd_lead", "dy_fc"):  # not the chair, not a city: the province
        refused = client.post(f"{url}/steps/archive", json={}, headers=as_(who))
        assert refused.status_code == 403 and "archive" in refused.json()["detail"]
    done = client.post(f"{url}/steps/archive", json={"reason": "核验完成"}, headers=as_("prov"))
    assert done.status_code == 200 and done.json()["state"] == "archived", done.text
    audit = client.get(url, headers=as_("prov")).json()["audit"][-1]
    assert (audit["event"], audit["actor"], audit["reason"]) == ("archive", "prov", "核验完成")


def test_instants_without_an_offset_are_refused_not_a_stuck_session(client: TestClient) -> None:
    """Found trying the API: a deadline without a UTC offset was accepted, and every
    submission to that session then failed with HTTP 500 (naive against aware instants)."""
    naive = {"kind": "ad_hoc", "session_date": "2026-02-20", "deadline": "2026-02-20T10:00:00"}
    refused = client.post("/api/v1/consultation/sessions", json=naive, headers=as_("prov"))
    assert refused.status_code == 422 and "deadline" in refused.json()["detail"]
    snapshot = {"model_name": "CDAQS", "model_issued_at": "2026-02-19T20:00:00",
                "observation_cutoff": "2026-02-20T08:00:00+08:00"}  # fmt: skip
    opened = client.post(f"{URL}/open", json=snapshot, headers=as_("prov"))
    assert opened.status_code == 422 and "model_issued_at" in opened.json()["detail"]
