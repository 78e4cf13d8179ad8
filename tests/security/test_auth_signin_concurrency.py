"""Issue 13 item 6: concurrent sign-ins cannot bypass the limits, and Argon2 verifications
(64 MiB each) run a few at a time, over a real ``ecobasin serve``.

The assertions count answers and memory, never time: the machine is shared and noisy. The
two tests share one server (:func:`~security.auth_server.production_cost_server`); the memory
test is defined first, so it runs first, and checks that its burst was the server's first.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from security.auth_server import PASSWORDS, Server, production_cost_server, sign_in

BURST = 24
#: Failed attempts a (user, address) pair may make before its back-off starts (docs/security.md).
FREE_FAILURES = 3
#: Extra attempts the pair's back-off (1 s, 2 s, 4 s, ...) can let through while a slow,
#: shared machine answers the burst (the burst ends well within 2**4 s).
BACKOFF_SLACK = 4
ARGON2_MEMORY = 64 * 2**20  # [bytes] argon2-cffi's default m (RFC 9106 low-memory profile)
MAX_SLOTS = 4  # the verification gate is sized to the machine, never above 4


def _burst(server: Server, attempts: list[tuple[str, str, str]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(lambda a: server.sign_in(*a), attempts))


def test_argon2_verifications_run_a_few_at_a_time(server: Server) -> None:
    with server.client("127.0.0.3") as client:
        assert client.get("/api/v1/health").status_code == 200
    assert server.sign_in("eve", PASSWORDS["eve"], "127.0.0.3").status_code == 303  # warm
    before = server.peak_memory()
    # distinct names from distinct addresses: no limit applies, every one needs a verification
    answers = _burst(
        server, [(f"nobody{i}", "wrong-guess-2025", f"127.0.1.{i + 1}") for i in range(BURST)]
    )
    grown = server.peak_memory() - before
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    # at most MAX_SLOTS Argon2 memories were held at once (and the rest of the process)
    assert grown < (MAX_SLOTS + 1) * ARGON2_MEMORY, f"peak memory grew by {grown / 2**20:.0f} MiB"
    with server.client("127.0.0.3") as client:
        token = _admin_token(server, client)
        gate = client.get("/api/v1/signins/gate", headers={"Authorization": f"Bearer {token}"})
    assert gate.status_code == 200, gate.text
    body = gate.json()
    assert 1 <= body["slots"] <= MAX_SLOTS
    assert 1 <= body["peak_in_flight"] <= body["slots"]
    assert body["in_flight"] == 0
    # every attempt of this test went through the gate, and none before it (the warm-up, the
    # burst, the admin's sign-in): the peak above is this burst's, on a fresh server
    assert body["verified"] >= 2 and body["verified"] + body["refused_busy"] == BURST + 2


def test_a_burst_of_guesses_is_charged_before_any_password_is_checked(server: Server) -> None:
    answers = _burst(server, [("root", "wrong-guess-2025", "127.0.0.2")] * BURST)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {401, 429}, statuses
    # each attempt took its place in the limit before its password was verified
    assert statuses[401] <= FREE_FAILURES + BACKOFF_SLACK, statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    assert all("Too many" in a.text or "busy" in a.text for a in answers if a.status_code == 429)


def _admin_token(server: Server, client: httpx.Client) -> str:

    assert sign_in(client, "root", PASSWORDS["root"]).status_code == 303
    me = client.get("/api/v1/me").json()
    made = client.post(
        "/api/v1/tokens", json={"name": "gate"}, headers={"X-CSRF-Token": me["csrf_token"]}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


# the fixture ``server`` of these tests: at the production Argon2id cost, as the memory bound
# below counts its 64 MiB per verification (the rest of the suite hashes cheaply)
__all__ = ["production_cost_server"]
