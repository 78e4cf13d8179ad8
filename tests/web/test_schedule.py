"""The periodic work of ``serve`` (issues 18 and 22) on a real DuckDB file: overdue incident
notices escalated every tick, overdue rectification cases recorded once a CST day, and the same
inside a real ``serve`` process on a real socket, mailing the notices to a real SMTP server."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

import loopback
from ecobasin import catalog
from ecobasin.services import cases as case_service
from ecobasin.services import incident_mail
from ecobasin.services import incidents as incident_service
from ecobasin.store import cases as store_cases
from ecobasin.store import incidents as incident_store
from ecobasin.store.database import Store
from ecobasin.web.schedule import Schedule, every_s_from_env
from ecobasin.web.security import accounts

T0 = datetime(2026, 7, 14, 14, 40, tzinfo=UTC)  # 22:40 CST
REGION = ["510100", "510600", "510700", "510900", "511100", "511400", "511800", "512000"]
DATA = resources.files("ecobasin.demo") / "data"


def _prepare(path: Path) -> tuple[str, str]:
    """A store with a spill opened at T0 (its notices unacknowledged) and a task transferred
    at T0 (its plan due 30 working days later): (incident id, case id)."""
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        nodes, reaches = incident_service.read_network_files(
            Path(str(DATA / "river_nodes.csv")), Path(str(DATA / "river_reaches.csv"))
        )
        incident_service.import_network(store, "demo", nodes, reaches, T0)
        incident_id = incident_service.open_incident(
            store, title="沱江苯泄漏 spill", network="demo", node_id="T03", city="510100",
            substance="benzene", release={"mode": "instantaneous", "mass_kg": 2000.0},
            facts={"deaths": 0, "poisoned_or_injured": 0, "evacuated": 0, "direct_loss_cny": 1e6},
            occurred_at=T0 - timedelta(hours=1), discovered_at=T0 - timedelta(minutes=30),
            determined_at=T0, actor="chengdu-duty", region_cities=REGION, now=T0,
        )  # fmt: skip
        case = case_service.register(
            store, "task",
            {"source_type": "inspection_feedback", "title": "工地噪声", "problem_text": "夜间施工",
             "category": "noise_cooking_fumes", "city_code": 510100},
            "so", "supervision_office", T0,
        )  # fmt: skip
        case_service.act(
            store, case.case_id, "transfer", "so", "supervision_office",
            {"lead_unit": "u", "acceptance_level": "city", "rectify_due": date(2026, 12, 30),
             "term_type": "限期"}, T0,
        )  # fmt: skip
    return incident_id, case.case_id


def _escalated(store: Store, incident_id: str) -> set[int]:
    notices = incident_store.notices(store, incident_id)
    return {int(n) for n in notices.loc[notices["escalated_at"].notna(), "notice_id"]}


def test_a_tick_escalates_every_time_and_sweeps_once_a_day(tmp_path: Path) -> None:
    incident_id, case_id = _prepare(tmp_path / "s.duckdb")
    now = [T0 + timedelta(minutes=10)]
    with Store(tmp_path / "s.duckdb") as store:
        jobs = Schedule(store, clock=lambda: now[0])
        assert jobs.tick() == {"swept": [], "escalated": []}  # nothing is late yet
        now[0] = T0 + timedelta(minutes=31)  # the cross-boundary notices are overdue
        first = jobs.tick()
        assert "swept" not in first  # the same CST day: swept once already
        assert set(map(int, first["escalated"])) == _escalated(store, incident_id) != set()
        assert jobs.tick()["escalated"] == []  # once each
        now[0] = datetime(2026, 9, 1, 1, tzinfo=UTC)  # a new day, past the plan's due day
        assert jobs.tick()["swept"] == [case_id]
        now[0] += timedelta(days=1)
        assert jobs.tick()["swept"] == []  # recorded once
        events = [t["event"] for t in store_cases.transitions(store, case_id)]
    assert events == ["register", "transfer", "overdue"]


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECOBASIN_SCHEDULE_EVERY_S", raising=False)
    assert every_s_from_env() == 60.0
    monkeypatch.setenv("ECOBASIN_SCHEDULE_EVERY_S", "0.5")
    assert every_s_from_env() == 0.5
    monkeypatch.setenv("ECOBASIN_SCHEDULE_EVERY_S", "often")
    assert every_s_from_env() == 60.0


def test_a_failing_round_does_not_stop_the_task(tmp_path: Path) -> None:
    calls: list[int] = []

    def clock() -> datetime:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a broken first round")
        return T0

    async def run() -> None:
        with Store(tmp_path / "f.duckdb") as store:
            jobs = Schedule(store, every_s=0.01, clock=clock)
            jobs.start()
            while jobs.ticks < 2:
                await asyncio.sleep(0.01)
            await jobs.stop()

    asyncio.run(asyncio.wait_for(run(), timeout=60))
    assert len(calls) >= 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.mark.slow
def test_serve_escalates_sweeps_and_mails_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "served.duckdb"
    incident_id, case_id = _prepare(path)
    with Store(path) as store:
        accounts.create_user(store.con, "root", "admin", None, "password-of-root")
        token = accounts.create_token(store.con, "root", "tests")[1]
        incident_mail.add_contact(store, "512000", "duty@ziyang.example", "", "t", T0)
    inbox, smtp_port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = _free_port()
    code = (
        "import sys; from ecobasin.web import serve; "
        "serve(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), region='chengdu_plain')"
    )
    env = {
        **os.environ, "ECOBASIN_SCHEDULE_EVERY_S": "0.5", "ECOBASIN_SMTP_HOST": "127.0.0.1",
        "ECOBASIN_SMTP_PORT": str(smtp_port),
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api/v1/incidents/{incident_id}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:  # the notices of July are long overdue: the first tick escalates them
            try:
                notices = loopback.get(url, headers=headers).json()["notices"]
                if any(n.get("escalated_at") for n in notices) and inbox.messages:
                    break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "no escalation and no mail within 60 s"
            time.sleep(0.2)
    finally:
        controller.stop()
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
    with Store(path, read_only=True) as store:
        events = [t["event"] for t in store_cases.transitions(store, case_id)]
        escalated = _escalated(store, incident_id)
    assert events == ["register", "transfer", "overdue"]  # swept in the first tick, before
    assert escalated and all(isinstance(n, int) for n in escalated)
    assert {m["To"] for m in inbox.messages} == {"duty@ziyang.example"}
    assert incident_id in str(inbox.messages[0]["Subject"])
