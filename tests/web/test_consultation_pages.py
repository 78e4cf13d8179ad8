"""The consultation pages render for a signed-in user (TestClient on a real DuckDB file):
console, submission form pre-filled, divergence board, report page, verification; the public
gets the sign-in page; bilingual."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from consultation_helpers import T0, concluded_session, concluded_store_file
from ecobasin.services import consultation as service
from ecobasin.store import Store
from ecobasin.store import consultation as store_consultation
from ecobasin.web import create_app
from ecobasin.web.pages.consultation import STATE_WORDS
from ecobasin.web.security import accounts
from store_files import new_synced_store_file


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    path = tmp_path_factory.mktemp("pages") / "p.duckdb"
    sid = concluded_store_file(path)
    with Store(path) as store:
        accounts.create_user(store.con, "dy_fc", "viewer", None, "password-dy_fc")
        token = accounts.create_token(store.con, "dy_fc", "tests")[1]
        store_consultation.grant_role(store, "dy_fc", "city_forecaster", 510600, "admin", T0)
    with TestClient(create_app(path)) as test_client:
        yield test_client, sid, token


def test_pages_need_a_signed_in_user(client: tuple[TestClient, str, str]) -> None:
    http, sid, _ = client
    answer = http.get(f"/consultation/{sid}")
    assert answer.status_code == 401 and "consultation-signin" in answer.text


def test_console_submission_divergences_report_verification(
    client: tuple[TestClient, str, str],
) -> None:
    http, sid, token = client
    auth = {"Authorization": f"Bearer {token}"}
    console = http.get(f"/consultation/{sid}", headers=auth)
    assert console.status_code == 200 and 'data-state="concluded"' in console.text
    assert (
        "逾期" in console.text and "7 / 7" in console.text and "step-draft_report" in console.text
    )
    form = http.get(f"/consultation/{sid}/submit", headers=auth).text  # Deyang's own by default
    assert "德阳市" in form and 'name="d1_low"' in form and 'value="130"' in form  # its own day 1
    board = http.get(f"/consultation/{sid}/divergences", headers=auth).text
    assert "记录保留意见: 德阳工业源排放偏高" in board
    report = http.get(f"/consultation/{sid}/report", headers=auth).text
    assert "draft-form" in report and "尚无报告" in report
    english = http.get(f"/consultation/{sid}/report?lang=en", headers=auth).text
    assert "Report and sign-off" in english
    assert "lift-table" in http.get("/consultation/verification", headers=auth).text
    index = http.get("/consultation", headers=auth).text
    assert sid in index and "我的未读通知" in index
    assert http.get("/consultation/nope", headers=auth).status_code == 404


def test_report_page_lists_pdfs_after_the_draft(client: tuple[TestClient, str, str]) -> None:
    http, sid, token = client
    app_store = http.app.state.store  # type: ignore[attr-defined]  # the app holds the file
    service.draft_report(app_store, sid, "chair", T0)
    page = http.get(
        f"/consultation/{sid}/report", headers={"Authorization": f"Bearer {token}"}
    ).text
    assert page.count(">PDF<") == 2 and "sign-form" in page


def test_the_lift_per_month_and_city_on_the_page_and_the_api(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 "verification": the consensus lift per month and per city, on a page and in the
    API (Chengdu's day 1 observed inside the consensus, Deyang's far above it)."""
    path = tmp_path_factory.mktemp("lift") / "l.duckdb"
    sid = concluded_store_file(path)
    with Store(path) as store:
        service.act(store, sid, "draft_report", "chair", T0, template_version="opinion-1")
        service.act(store, sid, "sign", "chair", T0, report_hash="e" * 64)
        store.con.executemany(
            "INSERT INTO aqi_daily (scope, scope_id, day, rule_set, aqi, level, primary_pollutant,"
            " publish_aqi, incomplete, over_range, computed_at) VALUES ('city', ?, DATE '2026-02-03',"
            " 'HJ633-2012', ?, NULL, 'PM2.5', true, false, false, now())",
            [("510100", 180), ("510600", 140)],
        )
        accounts.create_user(store.con, "obs", "viewer", None, "password-obs")
        auth = {"Authorization": f"Bearer {accounts.create_token(store.con, 'obs', 't')[1]}"}
    with TestClient(create_app(path)) as http:
        assert http.get("/api/v1/consultation/verification").status_code == 401
        (month,) = http.get("/api/v1/consultation/verification", headers=auth).json()
        page = http.get("/consultation/verification", headers=auth).text
    # consensus: Chengdu 160–200 hits 180, Deyang 61–91 misses 140; Deyang said 130–160 (a hit)
    assert month["month"] == "2026-02" and month["observed_days"] == 2
    assert month["lift"]["range_hit"]["consensus"] == 0.5
    assert month["cities"]["510600"]["range_hit"] == -1.0
    assert month["cities"]["510100"]["range_hit"] == 0.0
    deyang_cell = page.split('data-month="2026-02"', 1)[1].split("</tr>", 1)[0]
    assert "-1.00" in deyang_cell  # level hit: consensus on Deyang's day (miss) − Deyang's (hit)


def test_each_model_has_its_row_and_the_lift_is_against_the_best(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 V1 "each model scored the same way … minus the best model": a second model
    that saw Deyang's 140 coming is scored in its own row on the page and in the API, the lift
    is taken against it, and the opinion's annex names it with its issue time."""
    from consultation_helpers import fc
    from ecobasin.workflow.consultation import DayForecast, ModelRun

    blend = tuple(
        DayForecast(c, d, 130, 160, ("PM2.5",)) if (c, d) == (510600, 1) else fc(c, d)
        for c in (510100, 510600) for d in (1, 2)
    )  # fmt: skip
    second = ModelRun("lightgbm:blend", "forecast-job", T0 - timedelta(hours=3), blend)
    path = new_synced_store_file(tmp_path_factory.mktemp("models") / "m.duckdb")
    with Store(path) as store:
        sid = concluded_session(store, other_models=(second,))
        service.act(store, sid, "draft_report", "chair", T0, template_version="opinion-1")
        service.act(store, sid, "sign", "chair", T0, report_hash="e" * 64)
        store.con.executemany(
            "INSERT INTO aqi_daily (scope, scope_id, day, rule_set, aqi, level, primary_pollutant,"
            " publish_aqi, incomplete, over_range, computed_at) VALUES ('city', ?, DATE '2026-02-03',"
            " 'HJ633-2012', ?, NULL, 'PM2.5', true, false, false, now())",
            [("510100", 180), ("510600", 140)],
        )
        annex = service.render_opinion(service.load(store, sid), "en").decode()
        accounts.create_user(store.con, "obs", "viewer", None, "password-obs")
        auth = {"Authorization": f"Bearer {accounts.create_token(store.con, 'obs', 't')[1]}"}
    with TestClient(create_app(path)) as http:
        (month,) = http.get("/api/v1/consultation/verification", headers=auth).json()
        one = http.get(f"/api/v1/consultation/sessions/{sid}/verification", headers=auth).json()
        page = http.get("/consultation/verification", headers=auth).text
    # consensus and CDAQS: Chengdu 160–200 hits 180, Deyang 61–91 misses 140; the blend hits both
    assert one["models"]["CDAQS"]["range_hit"] == 0.5
    assert one["models"]["lightgbm:blend"]["range_hit"] == 1.0
    assert one["lift"]["range_hit"]["minus_best_model"] == -0.5
    assert month["models"]["lightgbm:blend"]["range_hit"] == 1.0
    assert month["lift"]["level_hit"]["minus_best_model"] == -0.5
    row = page.split('data-source="lightgbm:blend"', 1)[1].split("</tr>", 1)[0]
    assert "1.00" in row and 'data-source="CDAQS"' in page and 'data-source="consensus"' in page
    best = page.split('id="lift-table"', 1)[1].split('data-month="2026-02"', 1)[1]
    assert "-0.50" in best.split("</tr>", 1)[0]  # level hit: consensus 0.5 − the blend's 1.0
    other = annex.split('id="annex"', 1)[1]
    assert "lightgbm:blend forecast-job" in other and "2026-02-02T06:00:00+08:00" in other


def test_the_chair_enters_the_consensus_and_the_proposal_from_the_pages(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 "the chair's session console": in session, a consensus form per city pre-filled
    from the city's submission, and the narrative, warning and control-suggestion form with the
    648号 level as default; scheduled, opening collection."""
    from consultation_helpers import fc
    from ecobasin.workflow.consultation import Submission

    path = new_synced_store_file(tmp_path_factory.mktemp("chair") / "c.duckdb")
    with Store(path) as store:
        sid = service.schedule_session(store, "episode", T0.date(), T0, "prov", T0).session_id
        waiting = service.schedule_session(store, "ad_hoc", T0.date(), T0, "prov", T0).session_id
        service.act(store, sid, "open_submissions", "chair", T0, "no model guidance")
        for d in range(1, 8):  # Chengdu 160–200 on days 1–3: orange by 648号
            service.act(
                store, sid, "submit", "cd", T0, submission=Submission(fc(510100, d), "cd", T0)
            )
        service.act(store, sid, "close_submissions", "chair", T0)
        service.act(store, sid, "start_session", "chair", T0)
        for d in range(1, 8):
            service.act(store, sid, "set_consensus", "chair", T0, forecast=fc(510100, d))
        accounts.create_user(store.con, "obs", "viewer", None, "password-obs")
        auth = {"Authorization": f"Bearer {accounts.create_token(store.con, 'obs', 't')[1]}"}
    with TestClient(create_app(path)) as http:
        chengdu = http.get(f"/consultation/{sid}/consensus?city=510100", headers=auth).text
        deyang = http.get(f"/consultation/{sid}/consensus?city=510600", headers=auth).text
        console = http.get(f"/consultation/{sid}", headers=auth).text
        scheduled = http.get(f"/consultation/{waiting}", headers=auth).text
    assert f"/api/v1/consultation/sessions/{sid}/consensus" in chengdu
    assert 'name="d1_low" min="0" max="500" required value="160"' in chengdu
    assert 'name="d1_low" min="0" max="500" required value=""' in deyang  # nothing to start from
    assert 'id="warning-form"' in console and 'data-consensus="7"' in console
    assert 'value="orange" selected' in console  # Chengdu's default: 648号 on its consensus
    assert 'id="step-open_submissions"' in scheduled


def test_tables_scroll_on_a_phone_times_in_cst_states_in_words(
    client: tuple[TestClient, str, str],
) -> None:
    """Found trying the pages at 390 px: the submission form's confidence and rationale and the
    audit's reasons were cut off (no scrolling wrapper); the deadline and the audit showed UTC
    ISO instants and the state its code. Every table now scrolls in a .table-wrap, instants show
    as China Standard Time, the state in words."""
    http, sid, token = client
    auth = {"Authorization": f"Bearer {token}"}
    for page in ("", "/submit", "/consensus", "/divergences", "/report", "/verification", "s"):
        path = (
            f"/consultation/{sid}{page}" if page not in ("/verification", "s") else "/consultation"
        )
        path = "/consultation/verification" if page == "/verification" else path
        html = http.get(path, headers=auth).text
        assert html.count("<table") == html.count('<div class="table-wrap"><table'), page
    console = http.get(f"/consultation/{sid}", headers=auth).text
    assert "2026-02-02 11:00" in console  # the deadline, T0 + 2 h, 09:00 CST + 2 h
    assert "T01:00:00+00:00" not in console and "+08:00" not in console
    state = console.split('data-state="', 1)[1].split('"', 1)[0]  # concluded or drafted
    zh, en = STATE_WORDS[state]
    assert f'<dd id="session-state">{zh}</dd>' in console
    english = http.get(f"/consultation/{sid}?lang=en", headers=auth).text
    assert f'<dd id="session-state">{en}</dd>' in english


def test_audit_events_and_resolutions_in_words(client: tuple[TestClient, str, str]) -> None:
    """Labels people see are bilingual: the audit's events and the divergence resolutions in
    words (the code kept in a data attribute for scripts and tests)."""
    http, sid, token = client
    auth = {"Authorization": f"Bearer {token}"}
    console = http.get(f"/consultation/{sid}", headers=auth).text
    assert '<td data-event="close_submissions">截止收集</td>' in console
    english = http.get(f"/consultation/{sid}?lang=en", headers=auth).text
    assert '<td data-event="close_submissions">Close collection</td>' in english
    board = http.get(f"/consultation/{sid}/divergences", headers=auth).text
    assert "记录保留意见: 德阳工业源排放偏高" in board and "note_dissent:" not in board
