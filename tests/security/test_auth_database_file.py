"""Issue 13 item 9: the database file and the raw-log folder are private (0600 / 0700); the
file holds no cookie-signing key, no session id and no CSRF token a copy could use; the key
lives in a 0600 file beside the database (or ECOBASIN_SECRET_KEY) and can be rotated."""

from __future__ import annotations

import base64
import json
import stat
import zlib
from pathlib import Path

import duckdb

from ecobasin.gateway.rawlog import RawLog
from ecobasin.store import Store
from ecobasin.store.migrations import MIGRATIONS
from security.auth_server import (
    PASSWORDS,
    add_users,
    ok,
    ok_in_process,
    sign_in,
    start_server,
    stop_server,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _session_id(cookie: str) -> str:
    """The session id inside an itsdangerous cookie (signed, not encrypted)."""
    payload = cookie.split(".")[1] if cookie.startswith(".") else cookie.split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = json.loads(zlib.decompress(raw) if cookie.startswith(".") else raw)
    return str(data["s"])


def _every_text(db: Path) -> str:
    """Every text value of every table, in one string."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        ]
        return "\n".join(
            str(value)
            for table in tables
            for row in con.execute(f'SELECT * FROM "{table}"').fetchall()
            for value in row
        )
    finally:
        con.close()


def test_a_copy_of_the_database_holds_no_usable_secret(tmp_path: Path) -> None:
    db = tmp_path / "file.duckdb"
    ok("init", "--db", str(db))  # its own process: the file ``init`` makes is the subject
    add_users(db, ok_in_process)  # here: ``user add`` is not (~1.5 CPU-s per process)
    assert _mode(db) == 0o600
    server = start_server(db)
    try:
        with server.client("127.0.6.1") as client:
            assert sign_in(client, "root", PASSWORDS["root"]).status_code == 303
            cookie = client.cookies["ecobasin_session"]
            csrf = client.get("/api/v1/me").json()["csrf_token"]
            key_file = db.with_name(db.name + ".key")
            key = key_file.read_text().strip()
            assert _mode(key_file) == 0o600 and len(key) >= 32
            # rotating the key (while the server runs) signs everyone out
            ok_in_process("secret", "rotate", "--db", str(db))  # the server reads the file
            assert _mode(key_file) == 0o600 and key_file.read_text().strip() != key
            assert client.get("/api/v1/me").json()["role"] == "public"
    finally:
        stop_server(server)
    for path in (db, db.with_name(db.name + ".wal")):
        assert not path.exists() or _mode(path) == 0o600, path
    stored = _every_text(db)
    assert key not in stored and _session_id(cookie) not in stored and csrf not in stored


def test_an_existing_file_is_made_private_and_its_plain_sessions_end(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))  # a store as the last release left it (migrations 1-11)
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                "description VARCHAR, applied_at TIMESTAMPTZ)")  # fmt: skip
    for version, description, sql in MIGRATIONS[:11]:
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, description])
    con.execute("INSERT INTO users (name, role, password_hash, created_at) "
                "VALUES ('root', 'admin', 'x', now())")  # fmt: skip
    con.execute("INSERT INTO sessions VALUES ('plain-session-id', 1, 'plain-csrf', now(), "
                "now() + INTERVAL 1 HOUR, NULL, '127.0.0.1')")  # fmt: skip
    con.execute("INSERT INTO secrets VALUES ('session_key', 'the-old-key-kept-in-the-file', now())")
    con.close()
    db.chmod(0o644)
    Store(db).close()
    assert _mode(db) == 0o600
    stored = _every_text(db)
    assert "plain-session-id" not in stored and "plain-csrf" not in stored
    assert "the-old-key-kept-in-the-file" not in stored


def test_the_raw_log_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "store.duckdb.rawlog"
    raw_log = RawLog.open(folder)
    raw_log.close()
    assert _mode(folder) == 0o700
    assert all(_mode(segment) == 0o600 for segment in folder.iterdir())
