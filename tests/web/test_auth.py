"""Sign-in, sessions, CSRF, API tokens, rate limits and the admin page and API (issue 4,
"Rights"), over real HTTP requests (TestClient) on a real DuckDB file per test."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response

from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import users as db
from ecobasin.web import create_app
from ecobasin.web.security import accounts, credentials
from ecobasin.web.security.deps import SESSION_COOKIE
from ecobasin.web.security.ratelimit import VerificationGate

PASSWORDS = {"root": "root-password", "cd": "cd-password", "eve": "eve-password"}


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with an admin (root), a Chengdu editor (cd) and a viewer (eve), made once
    (Argon2id hashing is slow on purpose) and copied for each test."""
    path = tmp_path_factory.mktemp("auth") / "template.duckdb"
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        for name, role, city in (
            ("root", "admin", None),
            ("cd", "editor", 510100),
            ("eve", "viewer", None),
        ):
            accounts.create_user(store.con, name, role, city, PASSWORDS[name])
        store.con.execute("CHECKPOINT")
    return path


@pytest.fixture
def store_path(template_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the template store for one test."""
    monkeypatch.delenv("ECOBASIN_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ecobasin.toml
    path = tmp_path / "auth.duckdb"
    shutil.copyfile(template_store, path)
    return path


@pytest.fixture
def client(store_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store_path)) as test_client:
        yield test_client


def form_token(html: str, form: str | None = None) -> str:
    """The CSRF token of the form with id ``form`` (else of the first form carrying one)."""
    start = html.index(f'id="{form}"') if form else 0
    match = re.search(r'name="csrf_token" value="([^"]+)"', html[start:])
    assert match, "the form carries no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str, next_path: str = "/") -> Response:
    page = client.get("/signin", params={"next": next_path})
    assert page.status_code == 200
    return client.post(
        "/signin",
        data={
            "name": name,
            "password": password,
            "csrf_token": form_token(page.text, "signin-form"),
            "next": next_path,
        },
        follow_redirects=False,
    )


def me(client: TestClient, **kwargs: object) -> dict[str, object]:
    response = client.get("/api/v1/me", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- passwords and tokens --------------------------------------------------------------------
def test_passwords_are_argon2id_hashes() -> None:
    hashed = credentials.hash_password("correct horse")
    assert hashed.startswith("$argon2id$v=19$")  # RFC 9106 Argon2id, PHC string format
    assert "correct horse" not in hashed
    assert credentials.verify_password(hashed, "correct horse")
    assert not credentials.verify_password(hashed, "correct horsE")
    assert not credentials.verify_password("not a hash", "correct horse")


def _sign_in_directly(store: Store, name: str, password: str) -> accounts.SignIn | None:
    guards = (accounts.SigninLimiter(), VerificationGate(1))
    return asyncio.run(
        accounts.sign_in(store.con, name, password, "127.0.0.1", limiter=guards[0], gate=guards[1])
    )


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(store_path: Path) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("eve-password")
    with Store(store_path) as store:
        eve = db.user_by_name(store.con, "eve")
        assert eve is not None
        db.set_password_hash(store.con, eve.user_id, weak)
        first = _sign_in_directly(store, "eve", "eve-password")
        second = _sign_in_directly(store, "eve", "eve-password")
        renewed = db.user_by_name(store.con, "eve")
    assert first is not None and first.rehashed
    assert second is not None and not second.rehashed
    assert renewed is not None and renewed.password_hash != weak
    assert not credentials.needs_rehash(renewed.password_hash)


def test_tokens_are_stored_as_sha256_of_the_secret_only(store_path: Path) -> None:
    with Store(store_path) as store:
        record, text = accounts.create_token(store.con, "cd", "loader")
        rows = store.con.execute("SELECT * FROM api_tokens").fetchall()
    token_id, secret = credentials.parse_token(text) or (0, "")
    assert text == f"eb_{record.token_id}_{secret}" and token_id == record.token_id
    assert len(secret) == 43  # 32 random bytes, URL-safe base64
    assert record.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for row in rows for value in row)


def test_token_life_cycle_over_http(client: TestClient, store_path: Path) -> None:
    with Store(store_path) as store:
        _, text = accounts.create_token(store.con, "cd", "loader")
        _, expired = accounts.create_token(store.con, "cd", "old", expires_days=1)
        store.con.execute(
            "UPDATE api_tokens SET expires_at = now() - INTERVAL 1 HOUR WHERE name = 'old'"
        )
    assert me(client, headers=bearer(text))["name"] == "cd"
    last_used = client.get("/api/v1/tokens", headers=bearer(text)).json()
    assert {t["name"]: t["last_used_at"] is not None for t in last_used} == {
        "loader": True,
        "old": False,
    }
    refused = client.get("/api/v1/me", headers=bearer(expired))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="ecobasin", error="invalid_token"'
    token_id = text.split("_")[1]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(text)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(text)).status_code == 401


# -- sign-in, sessions, CSRF -----------------------------------------------------------------
def test_sign_in_opens_a_signed_httponly_session(client: TestClient) -> None:
    response = sign_in(client, "cd", "cd-password", "/admin")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    identity = me(client)
    assert (identity["name"], identity["role"], identity["city_code"], identity["via"]) == (
        "cd",
        "editor",
        510100,
        "session",
    )
    assert isinstance(identity["csrf_token"], str) and len(identity["csrf_token"]) >= 40


def test_wrong_password_and_missing_form_token_are_refused(client: TestClient) -> None:
    wrong = sign_in(client, "cd", "not-the-password")
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.text and "Wrong user name or password" in wrong.text
    unknown = sign_in(client, "nobody", "whatever-1")
    assert unknown.status_code == 401 and "Wrong user name or password" in unknown.text
    forged = client.post(
        "/signin",
        data={"name": "cd", "password": "cd-password", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "The form has expired" in forged.text
    assert me(client)["role"] == "public"


def test_sign_in_never_redirects_off_site(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = sign_in(client, "eve", "eve-password", target)
        assert response.headers["location"] == "/", target


def test_cookie_sessions_need_the_csrf_token_on_writes(client: TestClient) -> None:
    sign_in(client, "cd", "cd-password")
    body = {"name": "from the browser"}
    refused = client.post("/api/v1/tokens", json=body)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:ecobasin:problem:csrf"
    wrong = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    token = str(me(client)["csrf_token"])
    made = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    # a token request needs no CSRF token (browsers never add an Authorization header)
    token_id = made.json()["token_id"]
    machine = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(made.json()["token"]))
    assert machine.status_code == 200


def test_sign_out_revokes_the_session(client: TestClient) -> None:
    sign_in(client, "eve", "eve-password")
    stolen = client.cookies.get(SESSION_COOKIE)
    assert stolen
    refused = client.post("/signout", follow_redirects=False)
    assert refused.status_code == 403  # the form's CSRF token is missing
    out = client.post(
        "/signout", data={"csrf_token": str(me(client)["csrf_token"])}, follow_redirects=False
    )
    assert out.status_code == 303
    assert me(client)["role"] == "public"
    # the old cookie, replayed, no longer works: the session is revoked in the store
    client.cookies.set(SESSION_COOKIE, stolen)
    assert me(client)["role"] == "public"


def test_a_tampered_cookie_is_no_session(client: TestClient) -> None:
    sign_in(client, "eve", "eve-password")
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert me(client)["role"] == "public"


def test_disabling_a_user_ends_sessions_and_tokens(client: TestClient) -> None:
    sign_in(client, "cd", "cd-password")
    admin = TestClient(client.app)  # another browser, same app
    root_token = _admin_token(client)
    cd_token = client.post(
        "/api/v1/tokens",
        json={"name": "x"},
        headers={"X-CSRF-Token": str(me(client)["csrf_token"])},
    ).json()["token"]
    disabled = admin.post("/api/v1/users/cd/disable", headers=bearer(root_token))
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert me(client)["role"] == "public"
    assert admin.get("/api/v1/me", headers=bearer(cd_token)).status_code == 401
    again = sign_in(TestClient(client.app), "cd", "cd-password")
    assert again.status_code == 401


def _admin_token(client: TestClient) -> str:
    """An admin token, made by signing in as root in a client of its own."""
    root = TestClient(client.app)
    assert sign_in(root, "root", "root-password").status_code == 303
    made = root.post(
        "/api/v1/tokens",
        json={"name": "admin"},
        headers={"X-CSRF-Token": str(me(root)["csrf_token"])},
    )
    assert made.status_code == 201
    return str(made.json()["token"])


def test_sessions_survive_a_restart_with_the_stored_key(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(store_path)) as first:
        assert sign_in(first, "eve", "eve-password").status_code == 303
        cookie = first.cookies.get(SESSION_COOKIE)
    assert cookie
    with TestClient(create_app(store_path), cookies={SESSION_COOKIE: cookie}) as second:
        assert me(second)["name"] == "eve"
    monkeypatch.setenv("ECOBASIN_SECRET_KEY", "k" * 40)  # another key: old cookies are void
    with TestClient(create_app(store_path), cookies={SESSION_COOKIE: cookie}) as third:
        assert me(third)["role"] == "public"
        assert sign_in(third, "eve", "eve-password").status_code == 303
        assert me(third)["name"] == "eve"


# -- rate limit (issue 13 item 7; over a real server: tests/security/test_auth_lockout.py) -----
def test_a_pair_backs_off_after_its_free_failures(
    client: TestClient, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ecobasin.security")
    for _ in range(accounts.PAIR_FREE_FAILURES):
        assert sign_in(client, "eve", "guess-guess").status_code == 401
    held = sign_in(client, "eve", "eve-password")  # even the right password, from here
    assert held.status_code == 429
    retry = int(held.headers["retry-after"])
    assert 0 < retry <= accounts.BACKOFF_BASE.total_seconds()
    assert "登录失败次数过多" in held.text and "Too many failed sign-ins" in held.text
    assert me(client)["role"] == "public"
    failures = [r for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == 3 and all(r.levelno == logging.WARNING for r in failures)
    assert any("rate_limited" in r.getMessage() for r in caplog.records)
    client.close()  # release the store, then read the log
    with Store(store_path) as store:
        log = store.con.execute(
            "SELECT reason, count(*) FROM signin_log WHERE user_name = 'eve' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert log == [("bad_password", 3), ("rate_limited", 1)]


def test_a_success_resets_the_pairs_count(client: TestClient) -> None:
    for _ in range(accounts.PAIR_FREE_FAILURES - 1):
        sign_in(client, "cd", "guess-guess")
    assert sign_in(client, "cd", "cd-password").status_code == 303
    for _ in range(accounts.PAIR_FREE_FAILURES - 1):
        assert sign_in(client, "cd", "guess-guess").status_code == 401
    assert sign_in(client, "cd", "cd-password").status_code == 303


def test_many_failures_slow_a_user_but_never_refuse_a_clean_address(store_path: Path) -> None:
    limiter = accounts.SigninLimiter()
    with Store(store_path) as store:
        for i in range(accounts.USER_SLOW_AFTER):
            db.log_signin(store.con, "root", f"10.0.0.{i}", False, "bad_password")
        clean = limiter.admit(store.con, "root", "10.9.9.9")
        assert clean.delay == accounts.SLOWDOWN  # slowed, not refused
        limiter.settle(clean)
        assert limiter.admit(store.con, "eve", "10.9.9.9").delay == 0.0  # others untouched
        for _ in range(accounts.PAIR_FREE_FAILURES):
            db.log_signin(store.con, "root", "10.0.0.1", False, "bad_password")
        with pytest.raises(accounts.RateLimited) as held:
            limiter.admit(store.con, "root", "10.0.0.1")
    assert 0 < held.value.retry_after <= accounts.BACKOFF_BASE.total_seconds() * 2


def test_attempts_in_flight_count_before_they_are_settled(store_path: Path) -> None:
    limiter = accounts.SigninLimiter()
    with Store(store_path) as store:
        admitted = [limiter.admit(store.con, "eve", "10.1.1.1") for _ in range(3)]
        with pytest.raises(accounts.RateLimited):
            limiter.admit(store.con, "eve", "10.1.1.1")
        for admission in admitted:
            limiter.settle(admission)
        limiter.settle(limiter.admit(store.con, "eve", "10.1.1.1"))  # free again


def test_backoff_doubles_up_to_fifteen_minutes() -> None:
    free = accounts.PAIR_FREE_FAILURES
    waits = [accounts._backoff(n).total_seconds() for n in range(free, free + 8)]
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


# -- the demo's admin ----------------------------------------------------------------------------
def test_ensure_demo_admin_makes_one_admin_once(tmp_path: Path) -> None:
    with Store(tmp_path / "demo.duckdb") as store:
        password = accounts.ensure_demo_admin(store)
        assert password is not None and len(password) == 20
        assert accounts.ensure_demo_admin(store) is None
        result = _sign_in_directly(store, "admin", password)
    assert result is not None and result.user.role == "admin"


# -- admin API -------------------------------------------------------------------------------
def test_users_api_is_for_admins(client: TestClient) -> None:
    root = bearer(_admin_token(client))
    made = client.post(
        "/api/v1/users", json={"name": "dy", "role": "editor", "city_code": 510600}, headers=root
    )
    assert made.status_code == 201, made.text
    created = made.json()
    assert (created["role"], created["city_code"], len(created["password"])) == (
        "editor",
        510600,
        20,
    )
    assert sign_in(TestClient(client.app), "dy", created["password"]).status_code == 303
    listed = client.get("/api/v1/users", headers=root).json()
    assert [u["name"] for u in listed] == ["cd", "dy", "eve", "root"]
    assert all("password" not in u for u in listed)
    twice = client.post("/api/v1/users", json={"name": "dy", "role": "viewer"}, headers=root)
    assert twice.status_code == 409
    no_city = client.post("/api/v1/users", json={"name": "ed", "role": "editor"}, headers=root)
    assert no_city.status_code == 422 and "an editor needs a city" in no_city.json()["detail"]
    assert client.get("/api/v1/users").status_code == 401
    cd = TestClient(client.app)
    sign_in(cd, "cd", "cd-password")
    refused = cd.get("/api/v1/users")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("editor of 510100 (cd) may not administer")


def test_users_manage_their_own_tokens_only(client: TestClient) -> None:
    root = bearer(_admin_token(client))
    sign_in(client, "eve", "eve-password")
    csrf = {"X-CSRF-Token": str(me(client)["csrf_token"])}
    own = client.post("/api/v1/tokens", json={"name": "mine", "expires_days": 30}, headers=csrf)
    assert own.status_code == 201 and own.json()["expires_at"] is not None
    other = client.post("/api/v1/tokens", json={"name": "theirs", "user": "cd"}, headers=csrf)
    assert other.status_code == 403
    # an admin makes a token for cd from a session (a token may not mint tokens)
    minted = client.post("/api/v1/tokens", json={"name": "cd's", "user": "cd"}, headers=root)
    assert minted.status_code == 403
    root_client = TestClient(client.app)
    sign_in(root_client, "root", "root-password")
    root_csrf = {"X-CSRF-Token": str(me(root_client)["csrf_token"])}
    cd_token = root_client.post(
        "/api/v1/tokens", json={"name": "cd's", "user": "cd"}, headers=root_csrf
    )
    assert cd_token.status_code == 201
    assert [t["name"] for t in client.get("/api/v1/tokens").json()] == ["mine"]
    cd_id = cd_token.json()["token_id"]
    assert client.delete(f"/api/v1/tokens/{cd_id}", headers=csrf).status_code == 403
    assert (
        client.delete(f"/api/v1/tokens/{own.json()['token_id']}", headers=csrf).status_code == 200
    )
    assert client.delete(f"/api/v1/tokens/{cd_id}", headers=root).status_code == 200
    assert client.delete(f"/api/v1/tokens/{cd_id}", headers=root).status_code == 409
    everyone = {t["name"] for t in client.get("/api/v1/tokens", headers=root).json()}
    assert {"mine", "cd's", "admin"} <= everyone


# -- pages ---------------------------------------------------------------------------------------
def test_sign_in_page_speaks_both_languages(client: TestClient) -> None:
    zh = client.get("/signin").text
    en = client.get("/signin", params={"lang": "en"}).text
    assert "用户名" in zh and "密码" in zh
    assert "User name" in en and "Password" in en
    assert 'type="password"' in zh and 'name="csrf_token"' in zh


def test_admin_page_sends_the_public_to_sign_in_and_refuses_others(client: TestClient) -> None:
    public = client.get("/admin", follow_redirects=False)
    assert public.status_code == 303 and public.headers["location"] == "/signin?next=/admin"
    sign_in(client, "eve", "eve-password")
    refused = client.get("/admin")
    assert refused.status_code == 403
    assert "viewer (eve) may not administer users and tokens" in refused.text
    assert "eve-password" not in refused.text


def test_admin_page_manages_users_and_tokens(client: TestClient) -> None:
    assert sign_in(client, "root", "root-password", "/admin").status_code == 303
    page = client.get("/admin", params={"lang": "en"})
    assert page.status_code == 200
    for name in ("root", "cd", "eve"):
        assert f'data-user="{name}"' in page.text
    csrf = form_token(page.text, "create-user")
    # create a user: the generated password is shown once
    made = client.post(
        "/admin/users", data={"name": "my", "role": "editor", "city": "510700", "csrf_token": csrf}
    )
    assert made.status_code == 200, made.text
    password = re.search(r'id="admin-secret">([^<]+)<', made.text)
    assert password and len(password.group(1)) == 20
    assert password.group(1) not in client.get("/admin").text
    assert sign_in(TestClient(client.app), "my", password.group(1)).status_code == 303
    # a token for eve: shown once, works, then revoked
    token_page = client.post(
        "/admin/tokens", data={"user": "eve", "name": "etl", "csrf_token": csrf}
    )
    token = re.search(r'id="admin-secret">(eb_\d+_[^<]+)<', token_page.text)
    assert token
    assert me(TestClient(client.app), headers=bearer(token.group(1)))["name"] == "eve"
    token_id = token.group(1).split("_")[1]
    revoked = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 200 and f"token {token_id} revoked" in revoked.text
    assert (
        TestClient(client.app).get("/api/v1/me", headers=bearer(token.group(1))).status_code == 401
    )
    # disable eve; a form without its CSRF token does nothing
    assert client.post("/admin/users/eve/disable", data={}).status_code == 403
    assert client.post("/admin/users/eve/disable", data={"csrf_token": csrf}).status_code == 200
    assert sign_in(TestClient(client.app), "eve", "eve-password").status_code == 401
    # errors are shown on the page: an editor needs a city
    bad = client.post("/admin/users", data={"name": "nocity", "role": "editor", "csrf_token": csrf})
    assert bad.status_code == 422 and "an editor needs a city" in bad.text
    audit = client.get("/api/v1/audit", headers={"X-CSRF-Token": csrf}).json()
    assert [a["action"] for a in audit[:4]] == [
        "users.disable",
        "tokens.revoke",
        "tokens.create",
        "users.create",
    ]


def test_every_page_knows_who_is_signed_in(client: TestClient) -> None:
    assert 'id="sign-in"' in client.get("/").text
    sign_in(client, "root", "root-password")
    page = client.get("/")
    assert page.status_code == 200
    assert '<strong id="user-name">root</strong>' in page.text and 'href="/admin"' in page.text
    # the page's sign-out form carries the session's CSRF token
    signout = re.search(r'action="/signout".*?name="csrf_token" value="([^"]+)"', page.text, re.S)
    assert signout and signout.group(1) == me(client)["csrf_token"]
    out = client.post("/signout", data={"csrf_token": signout.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and me(client)["role"] == "public"
