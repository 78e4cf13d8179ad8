"""Issue 13 item 7: no lockout on demand. Guesses from other addresses never lock a user out
of an address with no failures; spraying from one address does not lock out everyone behind
it; admins see the failures. Over a real ``ecobasin serve``, clients on distinct loopback
addresses."""

from __future__ import annotations

from security.auth_server import PASSWORDS, Server, fresh_server, sign_in

ATTACKERS = [f"127.0.2.{i}" for i in range(1, 9)]


def _guess_from_everywhere(server: Server, user: str) -> None:
    for address in ATTACKERS:
        for _ in range(5):
            answer = server.sign_in(user, "wrong-guess-2025", address)
            assert answer.status_code in (401, 429), answer.text


def test_guesses_from_elsewhere_do_not_lock_out_the_admin(server: Server) -> None:
    _guess_from_everywhere(server, "root")
    # an attacker's address is held back for this user even with the right password
    held = server.sign_in("root", PASSWORDS["root"], ATTACKERS[-1])
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    # the right password from an address without failures gets in (slowed, not locked out)
    assert server.sign_in("root", PASSWORDS["root"], "127.0.3.1").status_code == 303


def test_spraying_from_one_address_does_not_lock_out_its_other_users(server: Server) -> None:
    shared = "127.0.4.1"  # a bureau's NAT address, an attacker behind it
    for i in range(25):
        assert server.sign_in(f"staff{i}", "wrong-guess-2025", shared).status_code in (401, 429)
    assert server.sign_in("eve", PASSWORDS["eve"], shared).status_code == 303


def test_admins_see_the_failed_sign_ins(server: Server) -> None:
    _guess_from_everywhere(server, "eve")
    with server.client("127.0.3.2") as client:
        assert sign_in(client, "root", PASSWORDS["root"]).status_code == 303
        failures = client.get("/api/v1/signins", params={"failures": "true"})
        page = client.get("/admin")
        with server.client("127.0.3.3") as viewer:
            assert sign_in(viewer, "eve", PASSWORDS["eve"]).status_code == 303
            assert viewer.get("/api/v1/signins").status_code == 403
    assert failures.status_code == 200, failures.text
    rows = failures.json()
    assert {row["ip"] for row in rows if row["user_name"] == "eve"} == set(ATTACKERS)
    reasons = {row["reason"] for row in rows}
    assert {"bad_password", "rate_limited"} <= reasons and not any(row["ok"] for row in rows)
    assert (
        page.status_code == 200
        and 'id="signin-failures"' in page.text
        and ATTACKERS[-1] in page.text
    )


__all__ = ["fresh_server"]  # the fixture ``server`` of these tests
