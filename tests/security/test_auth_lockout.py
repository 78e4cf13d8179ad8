"""Issue 13 item 7: no lockout on demand. Guesses from other addresses never lock a user out
of an address with no failures; spraying from one address does not lock out everyone behind
it; admins see the failures. Over a real ``ecobasin serve``, clients on distinct loopback
addresses.

The module's tests share one server (its start-up cost ~3 CPU-s of imports): each test signs
in as users and from addresses no other test of the module uses, so the limiter's state a test
meets for its users and addresses is the one it made (docs/security.md: the limits are per
user name, per address and per pair of them, never server-wide).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from security.auth_server import (
    PASSWORDS,
    Server,
    copy_store,
    ok_in_process,
    sign_in,
    start_server,
    stop_server,
)

#: Users the module adds to the sign-in store, one test each: name -> (role, password).
MODULE_USERS = {
    "ada": ("admin", "ada-password-2025"),  # guessed at from everywhere
    "vic": ("viewer", "vic-password-2025"),  # behind the sprayed address
}
#: Each test's own addresses: failures one test leaves never meet another's.
ADMIN_ATTACKERS = [f"127.0.2.{i}" for i in range(1, 9)]
VIEWER_ATTACKERS = [f"127.0.6.{i}" for i in range(1, 9)]
#: Sprayed guesses in flight at once: below the verification gate's queue (8 per slot), so
#: each guess is verified and logged, not refused as "busy".
SPRAY_AT_ONCE = 5


@pytest.fixture(scope="module")
def server(auth_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``ecobasin serve`` for the module, over a copy of the sign-in store with
    :data:`MODULE_USERS` added (in this process: no test here is about ``user add``)."""
    db = copy_store(auth_store_template, tmp_path_factory.mktemp("lockout") / "auth.duckdb")
    for name, (role, password) in MODULE_USERS.items():
        ok_in_process("user", "add", name, "--role", role, "--password-stdin", "--db", str(db),
                      stdin=password + "\n")  # fmt: skip
    running = start_server(db)
    try:
        yield running
    finally:
        stop_server(running)


def _guess_five_times(server: Server, user: str, address: str) -> None:
    for _ in range(5):
        answer = server.sign_in(user, "wrong-guess-2025", address)
        assert answer.status_code in (401, 429), answer.text


def _guess_from_everywhere(server: Server, user: str, attackers: list[str]) -> None:
    """Five wrong guesses at ``user`` from each address, the addresses at once (as a botnet
    guesses): each slowed attempt waits its :data:`~ecobasin.web.security.accounts.SLOWDOWN`
    beside the others', not after them."""
    with ThreadPoolExecutor(len(attackers)) as pool:
        list(pool.map(lambda address: _guess_five_times(server, user, address), attackers))


def test_guesses_from_elsewhere_do_not_lock_out_the_admin(server: Server) -> None:
    password = MODULE_USERS["ada"][1]
    _guess_from_everywhere(server, "ada", ADMIN_ATTACKERS)
    # an attacker's address is held back for this user even with the right password
    held = server.sign_in("ada", password, ADMIN_ATTACKERS[-1])
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    # the right password from an address without failures gets in (slowed, not locked out)
    assert server.sign_in("ada", password, "127.0.3.1").status_code == 303


def test_spraying_from_one_address_does_not_lock_out_its_other_users(server: Server) -> None:
    shared = "127.0.4.1"  # a bureau's NAT address, an attacker behind it
    names = [f"staff{i}" for i in range(25)]
    with ThreadPoolExecutor(SPRAY_AT_ONCE) as pool:  # one guess per name: no pair is held back
        answers = list(pool.map(lambda name: server.sign_in(name, "wrong-guess-2025", shared),
                                names))  # fmt: skip
    assert all(answer.status_code in (401, 429) for answer in answers), answers
    assert server.sign_in("vic", MODULE_USERS["vic"][1], shared).status_code == 303


def test_admins_see_the_failed_sign_ins(server: Server) -> None:
    _guess_from_everywhere(server, "eve", VIEWER_ATTACKERS)
    with server.client("127.0.3.2") as client:
        assert sign_in(client, "root", PASSWORDS["root"]).status_code == 303
        failures = client.get("/api/v1/signins", params={"failures": "true"})
        page = client.get("/admin")
        with server.client("127.0.3.3") as viewer:
            assert sign_in(viewer, "eve", PASSWORDS["eve"]).status_code == 303
            assert viewer.get("/api/v1/signins").status_code == 403
    assert failures.status_code == 200, failures.text
    # this test's rows: the other tests' users and addresses share the server's log
    rows = [row for row in failures.json() if row["user_name"] == "eve"]
    assert {row["ip"] for row in rows} == set(VIEWER_ATTACKERS)
    reasons = {row["reason"] for row in rows}
    assert {"bad_password", "rate_limited"} <= reasons and not any(row["ok"] for row in rows)
    assert (
        page.status_code == 200
        and 'id="signin-failures"' in page.text
        and VIEWER_ATTACKERS[-1] in page.text
    )
