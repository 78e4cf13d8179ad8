"""Issue 13 item 10: ``ecobasin user reset-password NAME`` prints a new password once; the
old one stops working (and so do the user's sessions); a lost demo password is replaced by
``ecobasin user add NAME --role admin``."""

from __future__ import annotations

from pathlib import Path

from security.auth_server import PASSWORDS, ecobasin, ok, start_server, stop_server


def test_reset_password_prints_a_new_one_once(auth_store: Path) -> None:
    db = auth_store
    result = ecobasin("user", "reset-password", "root", "--db", str(db))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 20  # the password alone, on stdout
    new_password = lines[0]
    assert new_password not in result.stderr
    unknown = ecobasin("user", "reset-password", "nobody", "--db", str(db))
    assert unknown.returncode != 0 and "no user 'nobody'" in unknown.stderr
    second_admin = ok("user", "add", "admin2", "--role", "admin", "--db", str(db)).strip()
    server = start_server(db)
    try:
        assert server.sign_in("root", PASSWORDS["root"], "127.0.7.1").status_code == 401
        assert server.sign_in("root", new_password, "127.0.7.2").status_code == 303
        assert server.sign_in("admin2", second_admin, "127.0.7.3").status_code == 303
    finally:
        stop_server(server)
    listed = ecobasin("user", "list", "--db", str(db))
    assert listed.returncode == 0 and new_password not in listed.stdout + listed.stderr
