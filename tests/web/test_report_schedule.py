"""Bulletins on the schedule of ``serve`` (issue 19) on a real DuckDB file, the schedule's clock
driven by the test: nothing before the settings' day of the month; on it, the month's air
bulletins (region and cities with data) and, after March, the quarter's; the same day again or
after a restart nothing new while the numbers are unchanged; late data make them written again;
every writing mailed to the subscribers through a real SMTP server on a loopback port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ecobasin.services import report_schedule
from ecobasin.services import reports as reports_service
from ecobasin.settings import Settings
from ecobasin.store import Store
from ecobasin.web.schedule import Schedule

from .aqi_fixtures import BASE, CHENGDU, DEYANG, build_air_store, import_and_index

pytestmark = pytest.mark.slow  # WeasyPrint lays out CJK text (seconds per PDF)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_due_periods() -> None:
    assert report_schedule.due_periods(date(2025, 2, 4), 5) == []
    assert report_schedule.due_periods(date(2025, 2, 5), 5) == [("month", "2025-01")]
    assert report_schedule.due_periods(date(2025, 4, 28), 5) == [
        ("month", "2025-03"), ("quarter", "2025Q1"),
    ]  # fmt: skip
    assert report_schedule.due_periods(date(2026, 1, 9), 5) == [
        ("month", "2025-12"), ("quarter", "2025Q4"), ("year", "2025"),
    ]  # fmt: skip


def _kinds(store: Store) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["scope"], r["period"]) for r in reports_service.report_files(store)}


def test_the_schedule_writes_each_bulletin_once_until_its_data_change(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    path = build_air_store(tmp_path / "air.duckdb")  # three days of January 2025
    settings = Settings(
        reports_scheduled=True, reports_day=3, reports_langs=["zh"],
        reports_subscribers=["duty@cd.example"], smtp_host="127.0.0.1", smtp_port=port,
    )  # fmt: skip
    now = [datetime(2025, 2, 2, 1, 0, tzinfo=UTC)]  # 09:00 CST on the 2nd: not yet
    with Store(path) as store:
        jobs = Schedule(store, settings=settings, clock=lambda: now[0])
        assert jobs.tick()["reports"] == []
        now[0] = datetime(2025, 2, 3, 1, 0, tzinfo=UTC)
        written = jobs.tick()["reports"]
        month = {("air", "region", "2025-01"), ("air", str(CHENGDU), "2025-01"),
                 ("air", str(DEYANG), "2025-01")}  # fmt: skip
        assert {tuple(w.split()) for w in written} == month
        assert _kinds(store) == month
        files = len(reports_service.report_files(store))
        assert files == 3 * 2  # zh HTML and PDF each
        assert "reports" not in jobs.tick()  # once a CST day
        assert len(inbox.messages) == 3
        assert inbox.messages[0]["To"] == "duty@cd.example"
        assert "2025-01" in str(inbox.messages[0]["Subject"])

        restarted = Schedule(store, settings=settings, clock=lambda: now[0])
        assert restarted.tick()["reports"] == []  # the same numbers: nothing written again
        assert len(reports_service.report_files(store)) == files and len(inbox.messages) == 3

        late = {s: {**BASE, "PM2.5": 90.0} for s in ("A", "B", "C")}
        import_and_index(store, (date(2025, 1, 20),), late)  # a late day of January
        now[0] = datetime(2025, 2, 4, 1, 0, tzinfo=UTC)
        rewritten = restarted.tick()["reports"]
        assert {tuple(w.split()) for w in rewritten} == month
        assert len(reports_service.report_files(store)) == files + 6
        assert len(inbox.messages) == 6

        now[0] = datetime(2025, 4, 3, 1, 0, tzinfo=UTC)  # March has no data; Q1 has January
        quarter = {tuple(w.split()) for w in restarted.tick()["reports"]}
        assert quarter == {("air", s, "2025Q1") for s in ("region", str(CHENGDU), str(DEYANG))}


def test_no_scheduled_reports_unless_asked(tmp_path: Path) -> None:
    path = build_air_store(tmp_path / "air.duckdb")
    with Store(path) as store:
        jobs = Schedule(store, settings=Settings(), clock=lambda: datetime(2025, 2, 20, tzinfo=UTC))
        assert "reports" not in jobs.tick()
        assert reports_service.report_files(store) == []
