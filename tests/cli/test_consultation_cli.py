"""``ecobasin consultation``: the rota, scheduling, hand-overs and the session view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ecobasin.cli import app
from store_files import new_store_file, new_synced_store_file


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ECOBASIN_DB", "ECOBASIN_REGION", "ECOBASIN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["consultation", *[str(a) for a in args]])


def test_schedule_takes_the_chair_from_the_rota_and_the_handover(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "c.duckdb")  # as `ecobasin init` makes it
    first = run("schedule", "monthly", "2026-02-02", "--as", "prov", "--db", db)
    assert first.exit_code == 0, first.output
    assert "2026-02-02-monthly-1" in first.output and "510100" in first.output
    refused = run("handover", "2026-02-10", "511400", "--reason", " ", "--as", "prov", "--db", db)
    assert refused.exit_code == 1 and "reason is required" in refused.output
    assert (
        run(
            "handover", "2026-02-10", "511400", "--reason", "会议", "--as", "prov", "--db", db
        ).exit_code
        == 0
    )
    second = run("schedule", "episode", "2026-02-12", "--as", "prov", "--db", db)
    assert "chair 主席 511400" in second.output
    shown = run("show", "2026-02-12-episode-1", "--lang", "en", "--db", db)
    view = json.loads(shown.stdout)
    assert (
        view["chair_name"] == "Meishan"
        and view["state"] == "scheduled"
        and len(view["table"]) == 56
    )
    listed = run("list", "--db", db)
    assert "2026-02-12-episode-1" in listed.output and "2026-02-02-monthly-1" in listed.output
    assert "2026-02-10: 511400" in run("rota", "--db", db).output


def test_bad_input_is_refused_with_the_reason(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "c.duckdb")  # as `ecobasin init` makes it
    bad_kind = run("schedule", "weekly", "2026-02-02", "--as", "p", "--db", db)
    assert bad_kind.exit_code == 1 and "kind must be one of" in bad_kind.output
    bad_date = run("schedule", "monthly", "2026-13-02", "--as", "p", "--db", db)
    assert bad_date.exit_code == 1 and "not YYYY-MM-DD" in bad_date.output
    no_rota = run("schedule", "monthly", "2031-01-02", "--as", "p", "--db", db)
    assert no_rota.exit_code == 1
    assert run("show", "nope", "--db", db).exit_code == 1


def test_grant_checks_the_role_and_the_city(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "c.duckdb")  # as `ecobasin init` makes it
    assert run("grant", "dy", "city_forecaster", "--as", "admin", "--db", db).exit_code == 1
    assert "unknown role" in run("grant", "dy", "chair", "--as", "admin", "--db", db).output
    done = run("grant", "dy", "city_forecaster", "--city", "510600", "--as", "admin", "--db", db)
    assert done.exit_code == 0 and "city_forecaster of 510600" in done.output


def test_reports_are_listed_and_written_back_byte_for_byte(tmp_path: Path) -> None:
    from consultation_helpers import T0, concluded_session
    from ecobasin.services import consultation as service
    from ecobasin.services import consultation_reports as reports
    from ecobasin.store import Store

    db = new_store_file(tmp_path / "r.duckdb")  # as `Store(db)` makes it
    with Store(db) as store:
        sid = concluded_session(store)
        hashes = reports.issue_public_forecast(store, sid, "chair", T0)
        reports.issue_minutes(store, sid, [reports.Decision("核查", 510600, T0.date())], "c", T0)
        assert service.reports_of(store, sid)
    listed = run("reports", sid, "--db", db)
    assert listed.exit_code == 0 and hashes["zh_pdf"][:12] in listed.output
    out = tmp_path / "public.pdf"
    written = run("report", hashes["zh_pdf"], "-o", out, "--db", db)
    assert written.exit_code == 0, written.output
    assert out.read_bytes().startswith(b"%PDF-") and (out.stat().st_mode & 0o077) == 0
    assert run("report", "0" * 64, "-o", out, "--db", db).exit_code == 1
    actions = run("actions", "--state", "open", "--db", db)
    assert actions.exit_code == 0 and "德阳市" in actions.output and "核查" in actions.output


def test_grant_keeps_an_email_address_for_notifications(tmp_path: Path) -> None:
    from ecobasin.store import Store

    db = new_synced_store_file(tmp_path / "e.duckdb")  # as `ecobasin init` makes it
    bad = run(
        "grant",
        "dy_fc",
        "city_forecaster",
        "--city",
        "510600",
        "--email",
        "nope",
        "--as",
        "a",
        "--db",
        db,
    )
    assert bad.exit_code == 1 and "not an e-mail address" in bad.output
    good = run("grant", "dy_fc", "city_forecaster", "--city", "510600", "--email", "dy@x.example", "--as", "a",
               "--db", db)  # fmt: skip
    assert good.exit_code == 0, good.output
    with Store(db) as store:
        assert store.con.execute("SELECT email FROM consultation_contacts").fetchall() == [
            ("dy@x.example",)
        ]
