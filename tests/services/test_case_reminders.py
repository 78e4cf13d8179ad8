"""E-mail reminders of due rectification cases (issue 18, item 5) on a real DuckDB file through a
real SMTP server (aiosmtpd) on a loopback port: the responsible unit's contacts are mailed N
working days before a deadline and again once overdue, by ``ecobasin serve``'s schedule, once per
case, deadline and address (also after a restart), with a bilingual text and the case's link; a
server that does not answer is recorded and tried again."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ecobasin import catalog
from ecobasin.errors import InputError
from ecobasin.services import case_mail
from ecobasin.services import cases as case_service
from ecobasin.settings import Settings
from ecobasin.store import Store
from ecobasin.store import case_mail as db
from ecobasin.web.schedule import Schedule

pytestmark = pytest.mark.slow  # a real SMTP server on a socket
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
UNIT = "成华区住建局"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

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


def _transferred_case(store: Store) -> tuple[str, datetime]:
    """A task transferred to the unit at T0; returns its id and its plan's due day (CST 09:00)."""
    case = case_service.register(store, "task", {
        "source_type": "inspection_feedback", "title": "工地扬尘", "problem_text": "未覆盖",
        "category": "construction_sites", "city_code": 510100}, "so", "supervision_office", T0)  # fmt: skip
    case_service.act(store, case.case_id, "transfer", "so", "supervision_office", {
        "lead_unit": UNIT, "acceptance_level": "city", "rectify_due": T0.date() + timedelta(days=120),
        "term_type": "限期"}, T0)  # fmt: skip
    row = next(r for r in case_service.board(store, T0.date()) if r["case_id"] == case.case_id)
    due = datetime.fromisoformat(row["due"]).replace(hour=9, tzinfo=CST)
    return case.case_id, due


def subject(message: Message) -> str:
    return str(make_header(decode_header(str(message["Subject"]))))


def test_reminders_before_the_deadline_and_when_overdue_once_each(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    path = tmp_path / "cases.duckdb"
    store = Store(path)
    store.sync_catalog(catalog.load_region())
    case_id, due = _transferred_case(store)
    case_mail.add_contact(store, UNIT, "duty@chenghua.example", "值班", "admin", T0)
    case_mail.add_contact(store, UNIT, "chief@chenghua.example", "", "admin", T0)
    case_mail.add_contact(store, "另一单位", "other@example.org", "", "admin", T0)
    with pytest.raises(InputError, match="e-mail"):
        case_mail.add_contact(store, UNIT, "not-an-address", "", "admin", T0)
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, case_reminder_wd=3,
                        public_url="https://eco.example")  # fmt: skip
    # a month before the deadline: nothing owed
    assert Schedule(store, settings=settings, clock=lambda: T0 + timedelta(days=1)).tick().get(
        "reminded") == []  # fmt: skip
    soon = due - timedelta(days=1)  # one working day or so before
    # the server down first: recorded with its error, then sent when it answers
    down = Settings(smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_timeout_s=2)
    assert case_mail.send_reminders(store, down, soon) == (0, 2)
    assert db.reminders(store)["error"].notna().all()
    done = Schedule(store, settings=settings, clock=lambda: soon).tick()
    assert done["reminded"] == ["2 sent", "0 failed"]
    assert sorted(str(m["To"]) for m in inbox.messages) == [
        "chief@chenghua.example", "duty@chenghua.example"]  # fmt: skip
    first = inbox.messages[0]
    assert "整改临期" in subject(first) and "due soon" in subject(first)
    body = first.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert f"https://eco.example/supervision/case/{case_id}" in body
    assert "剩余" in body and "working days left" in body and UNIT in body
    # again, and after a restart (a new Store on the same file): nothing twice
    assert case_mail.send_reminders(store, settings, soon + timedelta(hours=1)) == (0, 0)
    store.close()
    store = Store(path)
    assert case_mail.send_reminders(store, settings, soon + timedelta(hours=2)) == (0, 0)
    # overdue: one more reminder per address, of its own kind
    late = due + timedelta(days=3)
    assert case_mail.send_reminders(store, settings, late) == (2, 0)
    assert "整改逾期" in subject(inbox.messages[-1]) and "Overdue" in subject(inbox.messages[-1])
    assert case_mail.send_reminders(store, settings, late + timedelta(days=1)) == (0, 0)
    assert len(inbox.messages) == 4
    store.close()


def test_no_smtp_server_no_reminder_and_nothing_recorded(tmp_path: Path) -> None:
    with Store(tmp_path / "c.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        _, due = _transferred_case(store)
        case_mail.add_contact(store, UNIT, "duty@chenghua.example", "", "admin", T0)
        assert case_mail.send_reminders(store, Settings(), due) == (0, 0)
        assert db.reminders(store).empty
