"""Consultation notifications on a real DuckDB file: who gets which in-app item, read marks, and
e-mail through a real SMTP server (aiosmtpd) on a loopback port, with a failure kept pending."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from consultation_helpers import CHENGDU, DEYANG, T0, concluded_session, concluded_store_file
from ecobasin.services import consultation as service
from ecobasin.services import consultation_notices as notices
from ecobasin.settings import Settings
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from store_files import new_store_file, new_synced_store_file

pytestmark = pytest.mark.slow  # a real SMTP server on a socket

PEOPLE = [
    ("cd_lead", "city_approver", CHENGDU),  # Chengdu chairs in February 2026
    ("dy_fc", "city_forecaster", DEYANG),
    ("dy_lead", "city_approver", DEYANG),
    ("prov", "province_coordinator", None),
    ("expert1", "expert", None),
]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(new_store_file(tmp_path / "n.duckdb")) as opened:
        for user, role, city in PEOPLE:
            store_consultation.grant_role(opened, user, role, city, "admin", T0)
        yield opened


@pytest.fixture
def concluded(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    """A copy of the store ``store`` gives after :func:`concluded_session` (opened, Deyang
    late, divergences on Deyang, concluded), built once per process; the session id."""
    sid = concluded_store_file(tmp_path / "n.duckdb", tuple(PEOPLE))
    with Store(tmp_path / "n.duckdb") as opened:
        yield opened, sid


def kinds(store: Store, user: str) -> list[str]:
    return sorted(n["kind"] for n in store_consultation.notices_of(store, user))


def test_each_step_notifies_the_people_it_concerns(concluded: tuple[Store, str]) -> None:
    store, sid = concluded  # opened, Deyang late, divergences on Deyang, concluded
    assert kinds(store, "dy_fc") == ["concluded", "divergences", "opened"]
    assert kinds(store, "cd_lead") == ["concluded", "divergences", "late", "opened"]
    assert kinds(store, "prov") == ["concluded", "divergences", "late"]
    assert kinds(store, "expert1") == ["concluded"]
    service.draft_report(store, sid, "cd_lead", T0)
    service.sign_report(store, sid, "cd_lead", T0)
    service.warning_act(store, sid, "recommend", "prov", T0)
    assert "issued" in kinds(store, "expert1")
    assert "recommended" in kinds(store, "cd_lead")  # Chengdu has a level
    assert "recommended" not in kinds(store, "dy_lead")  # Deyang none
    titles = [n["title_zh"] for n in store_consultation.notices_of(store, "cd_lead")]
    assert f"会商 {sid} 预警建议已下达" in titles


def test_read_marks_are_ones_own(concluded: tuple[Store, str]) -> None:
    store, _ = concluded
    mine = store_consultation.notices_of(store, "dy_fc", unread_only=True)
    other = store_consultation.notices_of(store, "prov")[0]["notice_id"]
    assert not store_consultation.mark_read(store, "dy_fc", other, T0)
    assert store_consultation.mark_read(store, "dy_fc", mine[0]["notice_id"], T0)
    assert len(store_consultation.notices_of(store, "dy_fc", unread_only=True)) == len(mine) - 1


def test_notifications_are_mailed_once_through_smtp(
    concluded: tuple[Store, str], smtp: tuple[Inbox, int]
) -> None:
    (store, _), (inbox, port) = concluded, smtp  # the address counts when mail is delivered
    store_consultation.set_email(store, "dy_fc", "dy_fc@deyang.example")
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="ecobasin@bureau.example")
    assert notices.deliver_mail(store, settings, T0) == (3, 0)  # opened, divergences, concluded
    assert notices.deliver_mail(store, settings, T0) == (0, 0)  # nothing twice
    assert len(inbox.messages) == 3
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]
    assert any("开始收集各市预报" in s and "collecting forecasts" in s for s in subjects)
    assert all(m["To"] == "dy_fc@deyang.example" for m in inbox.messages)
    assert all(n["mailed_at"] is not None for n in store_consultation.notices_of(store, "dy_fc"))


def test_a_mail_server_down_keeps_the_items_pending(store: Store) -> None:
    store_consultation.set_email(store, "prov", "prov@sc.example")
    s = service.schedule_session(
        store, "monthly", date(2026, 2, 2), T0 + timedelta(hours=1), "prov", T0
    )
    service.act(store, s.session_id, "cancel", "prov", T0, "改期")  # no notification
    concluded_session(store)
    down = Settings(smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_timeout_s=2)
    sent, failed = notices.deliver_mail(store, down, T0)
    assert sent == 0 and failed == len(store_consultation.pending_mail(store)) > 0
    assert notices.deliver_mail(store, Settings(smtp_host=None), T0) == (0, 0)  # no server: no mail


def test_the_api_mails_after_the_step(
    tmp_path: Path, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from ecobasin.web import create_app
    from ecobasin.web.security import accounts

    inbox, port = smtp
    monkeypatch.setenv("ECOBASIN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ECOBASIN_SMTP_PORT", str(port))
    path = new_synced_store_file(tmp_path / "api.duckdb")
    with Store(path) as store:
        accounts.create_user(store.con, "prov", "viewer", None, "password-prov")
        token = accounts.create_token(store.con, "prov", "tests")[1]
        store_consultation.grant_role(store, "prov", "province_coordinator", None, "admin", T0)
        store_consultation.grant_role(store, "dy_fc", "city_forecaster", DEYANG, "admin", T0)
        store_consultation.set_email(store, "dy_fc", "dy_fc@deyang.example")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(path)) as http:
        made = http.post("/api/v1/consultation/sessions", headers=auth,
                         json={"kind": "monthly", "session_date": "2026-02-02", "deadline": "2026-02-02T12:00:00+08:00"})  # fmt: skip
        sid = made.json()["session_id"]
        opened = http.post(f"/api/v1/consultation/sessions/{sid}/open", headers=auth, json={})
        assert opened.status_code == 200, opened.text
    assert len(inbox.messages) == 1 and inbox.messages[0]["To"] == "dy_fc@deyang.example"
    assert "collecting forecasts" in str(make_header(decode_header(inbox.messages[0]["Subject"])))
