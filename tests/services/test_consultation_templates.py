"""Templates B–D of the brief §1.3 on a real DuckDB file: the monthly minutes (decisions become
action items, listed and closed), the province's warning letter, the public 7-day text; zh and
en, HTML and PDF (the PDFs read back with pdftotext)."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from consultation_helpers import CHENGDU, DEYANG, T0, concluded_store_file
from ecobasin.services import consultation_reports as reports
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import ConsultationError
from store_files import new_store_file

pytestmark = pytest.mark.slow  # WeasyPrint renders six PDFs per template


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    path = tmp_path_factory.mktemp("templates") / "store.duckdb"
    sid = concluded_store_file(path)
    store = Store(path)
    yield store, sid  # type: ignore[misc]
    store.close()


def _text(store: Store, sha: str) -> str:
    media, content = store_consultation.report(store, sha)
    if media == "application/pdf":
        done = subprocess.run(
            ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
        )
        return done.stdout.decode("utf-8")
    return content.decode("utf-8")


def test_minutes_turn_decisions_into_action_items(session: tuple[Store, str]) -> None:
    store, sid = session
    decisions = [
        reports.Decision("德阳牵头核查工业源清单", DEYANG, date(2026, 2, 20)),
        reports.Decision("成都统一春节烟花管控口径", CHENGDU, date(2026, 2, 10)),
    ]
    hashes, ids = reports.issue_minutes(
        store, sid, decisions, "chair", T0 + timedelta(hours=5),
        risks=["春节烟花爆竹"], city_items={DEYANG: "完成重点企业错峰生产"},
    )  # fmt: skip
    assert ids == [f"{sid}#1", f"{sid}#2"]
    zh = _text(store, hashes["zh_pdf"])
    for expected in (
        "月度联合会商纪要",
        "德阳牵头核查工业源清单",
        "2026-02-20",
        "德阳市",
        "春节烟花爆竹",
    ):
        assert expected in zh, expected
    assert "Decisions" in _text(store, hashes["en_pdf"])
    listed = reports.list_actions(store, sid, "open")
    assert [a["action_id"] for a in listed] == [f"{sid}#2", f"{sid}#1"]  # by due day
    assert listed[0]["owner_name"] == "成都市" and listed[0]["due"] == "2026-02-10"


def test_an_action_item_is_closed_once_with_a_note(session: tuple[Store, str]) -> None:
    store, sid = session
    if not reports.list_actions(store, sid):
        reports.issue_minutes(
            store, sid, [reports.Decision("x", DEYANG, date(2026, 3, 1))], "c", T0
        )
    first = reports.list_actions(store, sid, "open")[0]["action_id"]
    with pytest.raises(ValueError, match="closing note"):
        reports.close_action(store, first, "  ", "dy_lead", T0)
    closed = reports.close_action(store, first, "已完成", "dy_lead", T0 + timedelta(days=3))
    assert closed["state"] == "closed" and closed["close_note"] == "已完成"
    with pytest.raises(ValueError, match="already closed"):
        reports.close_action(store, first, "again", "dy_lead", T0)
    with pytest.raises(LookupError):
        reports.close_action(store, "nope#9", "n", "dy_lead", T0)
    assert first not in [a["action_id"] for a in reports.list_actions(store, sid, "open")]


def test_a_decision_needs_a_participating_owner(session: tuple[Store, str]) -> None:
    store, sid = session
    with pytest.raises(ConsultationError, match="owner city"):
        reports.issue_minutes(
            store, sid, [reports.Decision("y", 110000, date(2026, 3, 1))], "c", T0
        )


def test_the_warning_letter_names_cities_levels_starts_and_the_clause(
    session: tuple[Store, str],
) -> None:
    store, sid = session
    hashes = reports.issue_warning_letter(store, sid, "prov", T0, contact="028-00000000")
    zh = _text(store, hashes["zh_pdf"])
    for expected in (
        "建议函",
        "成都市",
        "橙色预警",
        "2026-02-03 00:00",
        "可根据当地情况提前启动预警",
        "028-00000000",
    ):
        assert expected in zh, expected
    assert (
        "德阳市" not in zh.split("建议启动预警的城市")[1].split("提前启动")[0]
    )  # no warning there
    assert "orange" in _text(store, hashes["en"])


def test_the_public_forecast_gives_ranges_levels_colours_and_advice(
    session: tuple[Store, str],
) -> None:
    store, sid = session
    hashes = reports.issue_public_forecast(store, sid, "chair", T0)
    html = _text(store, hashes["zh"])
    assert "160–200" in html and "中度污染" in html and "#FF0000" in html  # HJ 633 level IV
    assert "61–91" in html and "良" in html and "#FFFF00" in html  # level II
    assert "心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻练" in html  # level IV advice
    pdf = _text(store, hashes["zh_pdf"])
    for name in ("成都市", "资阳市", "2026-02-09", "PM2.5"):
        assert name in pdf, name
    assert "Moderate" in _text(store, hashes["en"])


def test_templates_need_a_concluded_session(tmp_path: Path) -> None:
    from ecobasin.services import consultation as service

    with Store(new_store_file(tmp_path / "s.duckdb")) as store:
        s = service.schedule_session(store, "monthly", date(2026, 2, 2), T0, "prov", T0)
        with pytest.raises(ConsultationError, match="not concluded"):
            reports.issue_public_forecast(store, s.session_id, "chair", T0)
