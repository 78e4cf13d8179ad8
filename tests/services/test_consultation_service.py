"""The consultation service on a real DuckDB file: every step stored, issued versions immutable."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from consultation_helpers import concluded_store_file
from ecobasin import catalog
from ecobasin.services import consultation as service
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import (
    ConsultationError,
    DayForecast,
    InputSnapshot,
    ModelRun,
    Observed,
    Submission,
)
from store_files import new_store_file

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=CST)
CHENGDU, DEYANG, MEISHAN = 510100, 510600, 511400
CITIES = (CHENGDU, DEYANG)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(new_store_file(tmp_path / "store.duckdb"))
    yield opened  # type: ignore[misc]
    opened.close()


def fc(city: int, day: int, low: int = 60) -> DayForecast:
    return DayForecast(city, day, low, low + 30, ("PM2.5",))


def issued_session(store: Store, other_models: tuple[ModelRun, ...] = ()) -> str:
    s = service.schedule_session(
        store, "monthly", date(2026, 2, 2), T0 + timedelta(hours=2), "prov", T0, CITIES
    )
    sid = s.session_id
    snap = InputSnapshot(
        "CDAQS",
        "2026.1",
        T0 - timedelta(hours=8),
        T0,
        (),
        tuple(fc(c, d) for c in CITIES for d in range(1, 8)),
        other_models=other_models,
    )
    service.act(store, sid, "open_submissions", "chair", T0, snapshot=snap)
    for c in CITIES:
        for d in range(1, 8):
            low = 160 if (c, d) == (DEYANG, 1) else 60
            at = T0 + timedelta(hours=2, minutes=30) if c == DEYANG else T0  # Deyang is late
            sub = Submission(fc(c, d, low), f"fc{c}", at)
            service.act(store, sid, "submit", f"fc{c}", at, submission=sub)
    service.act(store, sid, "close_submissions", "chair", T0 + timedelta(hours=3))
    s = service.act(store, sid, "start_session", "chair", T0 + timedelta(hours=3))
    for item in s.divergences:
        service.act(
            store, sid, "resolve", "chair", T0, "德阳工业源", key=item.key, resolution="adjust_city"
        )
    for c in CITIES:
        for d in range(1, 8):
            service.act(store, sid, "set_consensus", "chair", T0, forecast=fc(c, d))
    service.act(store, sid, "set_warning", "chair", T0, narrative="良", levels={})
    service.act(store, sid, "conclude", "chair", T0)
    service.act(store, sid, "draft_report", "chair", T0, template_version="opinion-1")
    service.act(store, sid, "sign", "chair", T0 + timedelta(hours=4), report_hash="d" * 64)
    return sid


def test_a_session_survives_a_reopen_with_its_audit(store: Store, tmp_path: Path) -> None:
    sid = issued_session(store)
    before = store_consultation.load(store, sid)
    store.close()
    with Store(tmp_path / "store.duckdb") as reopened:
        after = store_consultation.load(reopened, sid)
        rows = reopened.con.execute(
            "SELECT count(*), count(DISTINCT event) FROM consultation_audit WHERE session_id = ?",
            [sid],
        ).fetchone()
    assert after == before and after.state == "issued"
    assert rows == (len(before.audit), 11)
    assert stat.S_IMODE(os.stat(tmp_path / "store.duckdb").st_mode) == 0o600


def test_the_chair_comes_from_the_rota_and_a_recorded_handover(store: Store) -> None:
    assert service.chair_for(store, date(2026, 2, 20)) == CHENGDU
    store_consultation.record_handover(
        store, date(2026, 2, 15), MEISHAN, "成都承办全国会议", "prov", T0
    )
    assert service.chair_for(store, date(2026, 2, 20)) == MEISHAN
    s = service.schedule_session(store, "episode", date(2026, 2, 20), T0, "prov", T0, CITIES)
    assert s.chair_city == MEISHAN
    with pytest.raises(ValueError, match="reason is required"):
        store_consultation.record_handover(store, date(2026, 2, 16), DEYANG, " ", "prov", T0)


def test_an_issued_version_is_never_rewritten_and_amending_adds_a_version(store: Store) -> None:
    sid = issued_session(store)
    issued = store_consultation.load(store, sid)
    edited = issued.__class__(**{**issued.__dict__, "narrative": "改过的"})
    with pytest.raises(store_consultation.ImmutableSessionError, match="amend it instead"):
        store_consultation.save(store, edited, T0)
    with pytest.raises(ConsultationError, match="not allowed in state issued"):
        service.act(store, sid, "set_consensus", "chair", T0, forecast=fc(CHENGDU, 1, 100))
    new = service.act(
        store,
        sid,
        "amend",
        "prov",
        T0 + timedelta(days=1),
        "模式更新",
        changes=[fc(CHENGDU, 2, 100)],
    )
    assert (new.version, new.state, new.supersedes) == (2, "report_draft", f"{sid}/v1")
    old = store_consultation.load(store, sid, 1)
    assert old.state == "superseded" and old.consensus == issued.consensus
    assert service.list_view(store)[0]["version"] == 2


def test_views_are_bilingual_and_mark_late_and_firm_days(store: Store) -> None:
    sid = issued_session(store)
    zh, en = service.session_view(store, sid, "zh"), service.session_view(store, sid, "en")
    assert zh["chair_name"] == "成都市" and en["chair_name"] == "Chengdu"
    assert [row["firm"] for row in zh["table"][:7]] == [True] * 3 + [False] * 4
    late = {row["city"]: row["late"] for row in zh["table"] if row["lead_day"] == 1}
    assert late == {CHENGDU: False, DEYANG: True}  # deadline 11:00, Deyang sent at 11:30
    assert {w["label"] for w in zh["warning"]} == {"无预警"} and {
        w["label"] for w in en["warning"]
    } == {"no warning"}
    assert zh["divergences"][0]["rationale"] == "德阳工业源"


def test_prefill_takes_the_frozen_guidance_then_the_citys_own(store: Store) -> None:
    s = service.schedule_session(store, "routine", date(2026, 2, 3), T0, "prov", T0, CITIES)
    snap = InputSnapshot("CDAQS", "1", T0, T0, (), (fc(CHENGDU, 1, 80),))
    service.act(store, s.session_id, "open_submissions", "chair", T0, snapshot=snap)
    service.act(
        store, s.session_id, "submit", "fc", T0, submission=Submission(fc(CHENGDU, 2, 40), "fc", T0)
    )
    rows = service.prefill(store, s.session_id, CHENGDU)
    assert [(r["lead_day"], r.get("aqi_low")) for r in rows[:3]] == [(1, 80), (2, 40), (3, None)]


def test_reports_are_stored_once_under_their_hash(store: Store) -> None:
    sid = issued_session(store)
    s = store_consultation.load(store, sid)
    digest = store_consultation.store_report(
        store, s, "opinion", "zh", "text/html", "<p>会商</p>".encode(), T0
    )
    again = store_consultation.store_report(
        store, s, "opinion", "zh", "text/html", "<p>会商</p>".encode(), T0
    )
    assert digest == again and len(digest) == 64
    assert store_consultation.report(store, digest) == ("text/html", "<p>会商</p>".encode())
    with pytest.raises(LookupError, match="无此报告"):
        store_consultation.report(store, "0" * 64)


def test_verification_scores_cities_consensus_and_model_alike(store: Store) -> None:
    sid = issued_session(store)
    nothing = service.verification(store, sid)  # no city daily AQI stored yet: nothing final
    assert nothing["observed_days"] == 0 and nothing["consensus"]["range_hit"] is None
    observed = {(CHENGDU, 1): Observed(75, ("PM2.5",)), (DEYANG, 1): Observed(175, ("PM2.5",))}
    result = service.verification(store, sid, observed=observed)
    # consensus 60-90 both: Chengdu hit, Deyang miss (0.5); cities 60-90 and 160-190 both hit (1.0)
    assert result["consensus"]["range_hit"] == 0.5
    assert result["cities"][str(DEYANG)]["range_hit"] == 1.0
    assert result["models"]["CDAQS"]["range_hit"] == 0.5
    assert result["lift"]["range_hit"] == {
        "consensus": 0.5,
        "minus_mean_city": -0.5,
        "minus_best_model": 0.0,
    }


def _observe(store: Store, rows: list[tuple[int, date, int]]) -> None:
    """Final city daily AQI [AQI] (PM2.5 primary) as the AQI job stores it."""
    store.con.executemany(
        "INSERT INTO aqi_daily (scope, scope_id, day, rule_set, aqi, level, primary_pollutant, "
        "publish_aqi, incomplete, over_range, computed_at) VALUES ('city', ?, ?, 'HJ633-2012', ?, "
        "NULL, 'PM2.5', true, false, false, now())",
        [(str(city), day, aqi) for city, day, aqi in rows],
    )


def test_the_lift_per_month_and_city_over_every_metric(store: Store) -> None:
    sid = issued_session(store)
    assert service.lift_by_month(store) == []  # nothing observed yet: no month to show
    _observe(store, [(CHENGDU, date(2026, 2, 3), 75), (DEYANG, date(2026, 2, 3), 175)])
    (month,) = service.lift_by_month(store)
    assert (month["month"], month["sessions"], month["observed_days"]) == ("2026-02", 1, 2)
    assert month["session_ids"] == [sid]
    # consensus 60-90 both days: Chengdu hit, Deyang miss (0.5); the cities 1.0; the model 0.5
    assert month["lift"]["range_hit"] == {
        "consensus": 0.5,
        "minus_mean_city": -0.5,
        "minus_best_model": 0.0,
    }
    # per city: the consensus on that city's days minus the city's own submission
    assert month["cities"][str(CHENGDU)]["range_hit"] == 0.0
    assert month["cities"][str(DEYANG)]["range_hit"] == -1.0
    assert month["cities"][str(DEYANG)]["ts_100"] == -1.0  # said > 100 and it was: 0 − 1


def test_the_opinion_has_control_suggestions_the_region_and_who_signed(tmp_path: Path) -> None:
    """Brief §1.3 A.7, A.8, A.10 (issue 16 "the consultation opinion … the warning proposal,
    control suggestions, sign-off"): measures by source type per city at its level, the chair's
    own text, the region's level, and the signer with the time (a draft says it is unsigned)."""
    sid = concluded_store_file(tmp_path / "concluded.duckdb")  # Chengdu orange, the others none
    with Store(tmp_path / "concluded.duckdb", read_only=True) as store:
        s = service.load(store, sid)
    s = replace(s, controls="成都市区夜间禁止渣土运输")
    draft = service.render_opinion(s, "zh").decode()
    controls = draft.split('id="controls"', 1)[1].split("</section>", 1)[0]
    assert "成都市区夜间禁止渣土运输" in controls
    assert "按应急减排清单执行橙色预警减排措施" in controls  # Chengdu at orange
    assert "严禁露天焚烧" in controls and "德阳市" in controls
    assert '<p id="regional-warning">区域: 无预警</p>' in draft  # one city is no regional warning
    assert "草稿，未签发" in draft
    signed = service.render_opinion(s, "en", signed=("cd_lead", T0)).decode()
    assert "Signed by: cd_lead" in signed and "2026-02-02 09:00" in signed
    assert "Control suggestions" in signed and "orange-level measures" in signed


def test_the_snapshot_freezes_the_observations_up_to_the_cutoff(store: Store) -> None:
    """Issue 16 "input snapshot … observations up to the cut-off …; later data never changes
    what the session saw": the city daily AQI of the days complete at the cut-off is copied
    into the snapshot when collection opens; a later correction changes neither the session nor
    its report."""
    store.sync_catalog(catalog.load_region())
    _observe(store, [(CHENGDU, date(2026, 1, 31), 120), (CHENGDU, date(2026, 2, 1), 95),
                     (DEYANG, date(2026, 2, 1), 80), (CHENGDU, date(2026, 2, 2), 70)])  # fmt: skip
    sid = service.schedule_session(
        store, "episode", date(2026, 2, 2), T0 + timedelta(hours=2), "prov", T0, CITIES
    ).session_id
    snap = InputSnapshot("CDAQS", "2026.1", T0 - timedelta(hours=8), T0, (), ())
    s = service.open_session(store, sid, snap, "chair", T0)
    assert s.snapshot is not None
    seen = {(o.city, o.day.isoformat()): o.aqi for o in s.snapshot.observations}
    # 2 February is not complete at 09:00 CST of 2 February: not part of what the session saw
    assert seen == {(CHENGDU, "2026-01-31"): 120, (CHENGDU, "2026-02-01"): 95,
                    (DEYANG, "2026-02-01"): 80}  # fmt: skip
    store.con.execute(
        "UPDATE aqi_daily SET aqi = 150 WHERE scope_id = '510100' AND day = '2026-02-01'"
    )
    again = service.load(store, sid)
    assert again.snapshot is not None and again.snapshot.observations == s.snapshot.observations
    review = service.render_opinion(again, "zh").decode().split('id="review"', 1)[1]
    review = review.split("</section>", 1)[0]
    assert "成都市" in review and "95" in review and "150" not in review


def test_prefill_takes_the_citys_own_adjusted_forecast_before_the_model(store: Store) -> None:
    """Issue 16 "pre-filled from the model and the city's own adjusted forecast": the range a
    city's forecaster adjusted on the forecast pages (the latest issue day up to the session
    date) comes before the model guidance; the city's submission before both."""
    store.con.executemany(
        "INSERT INTO forecasts (issue_day, issued_at, scope, scope_id, target_day, lead, model, "
        "parameter, value, lower, upper, level, primary_pollutant, with_meteorology, author, "
        "adjusted_lower, adjusted_upper, adjusted_primary, adjusted_by, adjusted_at) VALUES "
        "(?, now(), 'city', ?, ?, 1, 'lightgbm:demo', 'AQI', 75, 60, 90, 2, 'PM2.5', false, "
        "'model', ?, ?, ?, ?, now())",
        [(date(2026, 2, 1), "510100", date(2026, 2, 3), 95, 125, "PM2.5,O3", "cd_fc"),
         (date(2026, 1, 31), "510100", date(2026, 2, 4), 140, 170, "PM2.5", "cd_fc"),
         (date(2026, 2, 1), "510600", date(2026, 2, 3), None, None, None, None)],
    )  # fmt: skip
    s = service.schedule_session(store, "routine", date(2026, 2, 2), T0, "prov", T0, CITIES)
    guidance = tuple(fc(c, d, 50 + d) for c in CITIES for d in (1, 2, 3))
    snap = InputSnapshot("CDAQS", "1", T0, T0, (), guidance)
    service.act(store, s.session_id, "open_submissions", "chair", T0, snapshot=snap)
    rows = service.prefill(store, s.session_id, CHENGDU)
    assert [(r["aqi_low"], r["aqi_high"], tuple(r["primary"])) for r in rows[:3]] == [
        (95, 125, ("PM2.5", "O3")),  # adjusted by Chengdu's forecaster
        (140, 170, ("PM2.5",)),
        (53, 83, ("PM2.5",)),  # not adjusted: the model guidance
    ]
    assert service.prefill(store, s.session_id, DEYANG)[0]["aqi_low"] == 51  # no adjustment
    mine = Submission(fc(CHENGDU, 1, 70), "cd_fc", T0)
    service.act(store, s.session_id, "submit", "cd_fc", T0, submission=mine)
    assert service.prefill(store, s.session_id, CHENGDU)[0]["aqi_low"] == 70


def test_the_lift_takes_the_best_of_every_model_per_metric(store: Store) -> None:
    """Issue 16 V1 "each model scored the same way …; consensus minus the best model": a
    second model that is better than the primary is scored in its own row and the lift is taken
    against it, metric by metric."""
    blend = tuple(fc(c, d, 160 if (c, d) == (DEYANG, 1) else 60) for c in CITIES for d in (1, 2))
    second = ModelRun("lightgbm:blend", "ecobasin", T0 - timedelta(hours=2), blend)
    sid = issued_session(store, other_models=(second,))
    observed = {(CHENGDU, 1): Observed(75, ("PM2.5",)), (DEYANG, 1): Observed(175, ("PM2.5",))}
    result = service.verification(store, sid, observed=observed)
    assert list(result["models"]) == ["CDAQS", "lightgbm:blend"]
    assert result["models"]["CDAQS"]["range_hit"] == 0.5
    assert result["models"]["lightgbm:blend"]["range_hit"] == 1.0  # hit Deyang's 175 as well
    assert result["lift"]["range_hit"]["minus_best_model"] == -0.5  # 0.5 − the blend's 1.0
    # TS > 100: only the blend said it (Deyang 160-190) and it happened: 1.0; consensus 0
    assert result["lift"]["ts_100"]["minus_best_model"] == -1.0


def test_a_snapshot_stored_before_several_models_loads_verifies_and_archives(
    store: Store,
) -> None:
    """Sessions stored before ``other_models`` existed (their JSON has no such field) load with
    none, verify against the primary model alone, and an issued one can still be archived
    (its content compares equal: the missing field is not an edit)."""
    sid = issued_session(store)
    body = store.con.execute(
        "SELECT body FROM consultation_sessions WHERE session_id = ?", [sid]
    ).fetchone()[0]
    raw = json.loads(body)
    del raw["snapshot"]["other_models"]
    store.con.execute(
        "UPDATE consultation_sessions SET body = ? WHERE session_id = ?", [json.dumps(raw), sid]
    )
    old = service.load(store, sid)
    assert old.snapshot is not None and old.snapshot.other_models == ()
    observed = {(CHENGDU, 1): Observed(75, ("PM2.5",)), (DEYANG, 1): Observed(175, ("PM2.5",))}
    result = service.verification(store, sid, observed=observed)
    assert list(result["models"]) == ["CDAQS"]
    assert result["lift"]["range_hit"]["minus_best_model"] == 0.0
    archived = service.act(store, sid, "archive", "prov", T0 + timedelta(days=9), "verified")
    assert archived.state == "archived"


def _stored_forecast(
    store: Store, model: str, issued_at: datetime, rows: list[tuple[int, int, int, int, str]]
) -> None:
    """ecobasin's city AQI forecast rows of issue day 2 February as the forecast job stores
    them: (city, lead [d], lower, upper [AQI], primary)."""
    store.con.executemany(
        "INSERT INTO forecasts (issue_day, issued_at, scope, scope_id, target_day, lead, model, "
        "parameter, value, lower, upper, level, primary_pollutant, with_meteorology, author, "
        "rule_set) VALUES ('2026-02-02', ?, 'city', ?, ?, ?, ?, 'AQI', ?, ?, ?, 2, ?, false, "
        "'forecast-job', 'HJ633-2012')",
        [(issued_at, str(c), date(2026, 2, 2) + timedelta(days=lead), lead, model,
          (low + high) / 2, low, high, primary) for c, lead, low, high, primary in rows],
    )  # fmt: skip


def test_the_snapshot_freezes_every_stored_model_and_a_later_forecast_changes_nothing(
    store: Store,
) -> None:
    """Issue 16 "input snapshot … the report and the verification refer to this snapshot": when
    collection opens, ecobasin's own forecasts of the session day issued by the cut-off (the
    LightGBM/blend run, persistence) are frozen beside the primary model, each with its issue
    time; a run issued after the cut-off, or a later correction, changes nothing."""
    early = T0 - timedelta(hours=3)
    _stored_forecast(store, "lightgbm:blend", early,
                     [(CHENGDU, 1, 80, 110, "PM2.5"), (DEYANG, 1, 60, 90, "O3_8h")])  # fmt: skip
    _stored_forecast(store, "persistence", early - timedelta(hours=1),
                     [(CHENGDU, 1, 95, 95, "PM2.5,PM10")])  # fmt: skip
    _stored_forecast(store, "climatology", T0 + timedelta(hours=1), [(CHENGDU, 1, 70, 90, "")])
    sid = service.schedule_session(
        store, "routine", date(2026, 2, 2), T0 + timedelta(hours=2), "prov", T0, CITIES
    ).session_id
    snap = InputSnapshot("CDAQS", "2026.1", T0 - timedelta(hours=8), T0, (), (fc(CHENGDU, 1),))
    s = service.open_session(store, sid, snap, "chair", T0)
    assert s.snapshot is not None
    runs = {m.name: m for m in s.snapshot.other_models}
    assert sorted(runs) == ["lightgbm:blend", "persistence"]  # climatology came after 09:00
    assert runs["lightgbm:blend"].issued_at == early and runs["lightgbm:blend"].version
    assert runs["lightgbm:blend"].guidance == (
        DayForecast(CHENGDU, 1, 80, 110, ("PM2.5",)),
        DayForecast(DEYANG, 1, 60, 90, ("O3",)),
    )
    assert runs["persistence"].guidance == (DayForecast(CHENGDU, 1, 95, 95, ("PM2.5", "PM10")),)
    assert s.snapshot.guidance == (fc(CHENGDU, 1),)  # the primary model as it was given
    store.con.execute("UPDATE forecasts SET lower = 200, upper = 250 WHERE model = 'persistence'")
    _stored_forecast(store, "lightgbm:rerun", T0 - timedelta(hours=1), [(DEYANG, 2, 60, 90, "")])
    again = service.load(store, sid)
    assert again.snapshot == s.snapshot
