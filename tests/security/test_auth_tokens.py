"""Issue 13 item 8: an API token cannot create tokens (sessions only), so no token outlives
the credential that made it. Over a real ``ecobasin serve``."""

from __future__ import annotations

from pathlib import Path

from security.auth_server import PASSWORDS, ok_in_process, sign_in, start_server, stop_server


def test_tokens_cannot_mint_tokens_sessions_can(auth_store: Path) -> None:
    db = auth_store
    # a token with an expiry, made by the command line (the server is not running yet); a day,
    # not seconds: at load 15 the server took longer than the 26 s of 0.0003 days to answer,
    # and the refusal to mint is the same whatever the parent's expiry; made in this process
    # (no test here is about the command's process)
    parent = ok_in_process("token", "create", "short", "--user", "root", "--expires", "1",
                "--db", str(db)).strip()  # fmt: skip
    server = start_server(db)
    try:
        with server.client("127.0.5.1") as client:
            bearer = {"Authorization": f"Bearer {parent}"}
            assert client.get("/api/v1/me", headers=bearer).json()["name"] == "root"
            minted = client.post("/api/v1/tokens", json={"name": "child"}, headers=bearer)
            assert minted.status_code == 403, minted.text
            assert "session" in minted.json()["detail"]
            for_other = client.post(
                "/api/v1/tokens", json={"name": "child", "user": "eve"}, headers=bearer
            )
            assert for_other.status_code == 403
            listed = client.get("/api/v1/tokens", headers=bearer).json()
            assert [t["name"] for t in listed] == ["short"]  # nothing was created
            # a signed-in person still creates tokens (with the session's CSRF token)
            assert sign_in(client, "root", PASSWORDS["root"]).status_code == 303
            csrf = client.get("/api/v1/me").json()["csrf_token"]
            made = client.post(
                "/api/v1/tokens", json={"name": "by-hand"}, headers={"X-CSRF-Token": csrf}
            )
            assert made.status_code == 201, made.text
    finally:
        stop_server(server)
