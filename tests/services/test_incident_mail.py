"""Incident notices by e-mail (issue 22) on a real DuckDB file through a real SMTP server
(aiosmtpd) on a loopback port: every sent notice to each contact of its city, once; a failing
server recorded with its error and retried."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from test_incident_service import T0, network_store, open_spill
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.services import incident_mail
from ecobasin.settings import Settings
from ecobasin.store import incidents as db
from ecobasin.store.database import Store
from store_files import built_store_file

pytestmark = pytest.mark.slow  # a real SMTP server on a socket


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
def store(tmp_path: Path) -> Iterator[Store]:
    """A store holding the demo river network (as the incident service's tests build it)."""
    path = built_store_file(tmp_path / "mail.duckdb", "demo network", network_store)
    with Store(path) as opened:
        yield opened


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_each_notice_goes_to_its_citys_contacts_once(
    store: Store,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    incident_id = open_spill(store)
    incident_mail.add_contact(store, "512000", "duty@ziyang.example", "资阳值班室", "t", T0)
    incident_mail.add_contact(store, "512000", "chief@ziyang.example", "", "t", T0)
    incident_mail.add_contact(store, "511000", "duty@neijiang.example", "", "t", T0)
    notices = db.notices(store, incident_id)
    expected = 2 * int((notices["to_city"] == "512000").sum()) + int(
        (notices["to_city"] == "511000").sum()
    )
    assert expected >= 3
    # a server that does not answer: recorded with the error, nothing lost
    down = Settings(smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_timeout_s=2)
    assert incident_mail.deliver_notices(store, down, T0) == (0, expected)
    tried = incident_mail.deliveries(store, incident_id)
    assert len(tried) == expected and tried["mailed_at"].isna().all()
    assert tried["error"].str.contains("ConnectionRefusedError").all()
    up = Settings(smtp_host="127.0.0.1", smtp_port=port)
    assert incident_mail.deliver_notices(store, up, T0) == (expected, 0)
    assert incident_mail.deliver_notices(store, up, T0) == (0, 0)  # once
    assert len(inbox.messages) == expected
    to_ziyang = [m for m in inbox.messages if m["To"] == "duty@ziyang.example"]
    assert to_ziyang and incident_id in str(to_ziyang[0]["Subject"])
    body = to_ziyang[0].get_payload(decode=True).decode()
    assert "Acknowledge on the platform by" in body and f"/incidents/{incident_id}" in body
    done = incident_mail.deliveries(store, incident_id)
    assert done["mailed_at"].notna().all() and (done["attempts"] == 1).all()


def test_without_an_smtp_server_nothing_is_sent_nor_recorded(store: Store) -> None:
    incident_id = open_spill(store)
    incident_mail.add_contact(store, "512000", "duty@ziyang.example", "", "t", T0)
    assert incident_mail.deliver_notices(store, Settings(smtp_host=None), T0) == (0, 0)
    assert incident_mail.deliveries(store, incident_id).empty


def test_contacts_are_kept_per_city(store: Store) -> None:
    incident_mail.add_contact(store, "512000", "a@x.example", "A", "t", T0)
    incident_mail.add_contact(store, "512000", "a@x.example", "A2", "t", T0)  # renamed
    incident_mail.add_contact(store, "510600", "b@x.example", "", "t", T0)
    assert list(incident_mail.contacts(store, "512000")["name"]) == ["A2"]
    assert incident_mail.remove_contact(store, "512000", "a@x.example")
    assert not incident_mail.remove_contact(store, "512000", "a@x.example")
    assert list(incident_mail.contacts(store)["email"]) == ["b@x.example"]


def test_the_cli_keeps_contacts_and_refuses_a_bad_address(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    added = runner.invoke(
        app, ["incident", "contacts", "512000", "--add", "duty@ziyang.example", "--db", db]
    )
    assert added.exit_code == 0, added.output
    assert "duty@ziyang.example" in added.output
    bad = runner.invoke(
        app, ["incident", "contacts", "512000", "--add", "not an address", "--db", db]
    )
    assert bad.exit_code != 0 and "is not an e-mail address" in bad.output
    no_server = runner.invoke(app, ["incident", "mail", "--db", db], env={"ECOBASIN_SMTP_HOST": ""})
    assert no_server.exit_code != 0 and "no SMTP server configured" in no_server.output
