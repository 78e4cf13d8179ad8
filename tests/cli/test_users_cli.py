"""``ecobasin user add/list/disable`` and ``ecobasin token create/list/revoke`` on real database
files, run in-process with Typer's CliRunner; the secrets they print are checked against the
store and the account functions the server uses."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.store import users as db
from ecobasin.web.security import accounts
from ecobasin.web.security.ratelimit import VerificationGate
from store_files import new_synced_store_file


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ECOBASIN_DB", "ECOBASIN_REGION", "ECOBASIN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def dbfile(tmp_path: Path) -> Path:
    """A new database as `ecobasin init` makes it (creating one is test_data_cli's)."""
    return new_synced_store_file(tmp_path / "users.duckdb")


def run(*args: str | Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], input=stdin)


def ok(*args: str | Path, stdin: str | None = None) -> Result:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result


def failed(*args: str | Path, stdin: str | None = None) -> Result:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def sign_in(store: Store, name: str, password: str) -> accounts.SignIn | None:
    """The server's sign-in (limits, verification gate) on the store's connection."""
    limiter, gate = accounts.SigninLimiter(), VerificationGate(1)
    return asyncio.run(
        accounts.sign_in(store.con, name, password, None, limiter=limiter, gate=gate)
    )


def test_user_add_generates_a_password_printed_once_to_stdout(dbfile: Path) -> None:
    result = ok("user", "add", "root", "--role", "admin", "--db", dbfile)
    password = result.stdout.strip()
    assert len(password) == 20 and "\n" not in password  # stdout holds only the secret
    assert "user created 用户已创建" in result.stderr and "shown once" in result.stderr
    with Store(dbfile) as store:
        signed = sign_in(store, "root", password)
        user = db.user_by_name(store.con, "root")
    assert signed is not None and user is not None and user.role == "admin"
    assert user.password_hash.startswith("$argon2id$") and password not in user.password_hash


def test_user_add_reads_the_password_from_stdin_and_resolves_the_city(dbfile: Path) -> None:
    result = ok(
        "user", "add", "cd", "--role", "editor", "--city", "成都", "--password-stdin",
        "--db", dbfile, stdin="a-long-password\n",
    )  # fmt: skip
    assert result.stdout == ""  # nothing generated, nothing printed
    assert "editor of city 510100" in result.stderr
    with Store(dbfile) as store:
        assert sign_in(store, "cd", "a-long-password") is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "editor"), "an editor needs a city"),
        (("--role", "viewer", "--city", "510100"), "only editors have a city"),
        (("--role", "editor", "--city", "Atlantis"), "unknown city 'Atlantis'"),
        (("--role", "boss"), "unknown role 'boss'"),
    ],
)
def test_user_add_refuses_bad_roles_and_cities(
    dbfile: Path, args: tuple[str, ...], message: str
) -> None:
    result = failed("user", "add", "someone", *args, "--db", dbfile)
    assert message in result.stderr
    ok("user", "list", "--db", dbfile)
    with Store(dbfile) as store:
        assert db.list_users(store.con) == []


def test_short_passwords_and_taken_names_are_refused(dbfile: Path) -> None:
    short = failed(
        "user",
        "add",
        "eve",
        "--role",
        "viewer",
        "--password-stdin",
        "--db",
        dbfile,
        stdin="short\n",
    )
    assert "at least 8 characters" in short.stderr
    ok("user", "add", "eve", "--role", "viewer", "--db", dbfile)
    taken = failed("user", "add", "eve", "--role", "viewer", "--db", dbfile)
    assert "user 'eve' exists already" in taken.stderr


def test_user_list_and_disable(dbfile: Path) -> None:
    ok("user", "add", "eve", "--role", "viewer", "--db", dbfile)
    ok("user", "add", "dy", "--role", "editor", "--city", "510600", "--db", dbfile)
    listed = ok("user", "list", "--db", dbfile).stderr
    assert "users 用户 (2)" in listed and "510600" in listed and "active" in listed
    ok("user", "disable", "eve", "--db", dbfile)
    assert "disabled" in ok("user", "list", "--db", dbfile).stderr
    assert "no user 'nobody'" in failed("user", "disable", "nobody", "--db", dbfile).stderr
    with Store(dbfile) as store:
        eve = db.user_by_name(store.con, "eve")
        audit = [(a.user_name, a.action, a.target) for a in db.audit_entries(store.con)]
    assert eve is not None and eve.disabled
    assert audit[0] == ("cli", "users.disable", "eve")


def test_token_create_prints_it_once_and_revoke_ends_it(dbfile: Path) -> None:
    ok("user", "add", "loader", "--role", "editor", "--city", "510100", "--db", dbfile)
    created = ok(
        "token", "create", "nightly import", "--user", "loader", "--expires", "30", "--db", dbfile
    )
    token = created.stdout.strip()
    assert token.startswith("eb_1_") and "Authorization: Bearer" in created.stderr
    secret = token.split("_", 2)[2]
    with Store(dbfile) as store:
        principal = accounts.resolve_token(store.con, token)
        [record] = db.list_tokens(store.con)
    assert principal is not None and (principal.name, principal.city_code) == ("loader", 510100)
    assert record.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert record.expires_at is not None
    listed = ok("token", "list", "--db", dbfile).stderr
    assert "nightly import" in listed and secret not in listed
    ok("token", "revoke", "1", "--db", dbfile)
    assert "revoked" in ok("token", "list", "--user", "loader", "--db", dbfile).stderr
    assert "revoked already" in failed("token", "revoke", "1", "--db", dbfile).stderr
    assert "no token 7" in failed("token", "revoke", "7", "--db", dbfile).stderr
    with Store(dbfile) as store:
        assert accounts.resolve_token(store.con, token) is None


def test_token_create_for_an_unknown_user_fails(dbfile: Path) -> None:
    result = failed("token", "create", "x", "--user", "ghost", "--db", dbfile)
    assert "no user 'ghost'" in result.stderr


def test_reset_password_prints_a_new_one_and_ends_sessions(dbfile: Path) -> None:
    old = ok("user", "add", "eve", "--role", "viewer", "--db", dbfile).stdout.strip()
    with Store(dbfile) as store:
        eve = db.user_by_name(store.con, "eve")
        assert eve is not None
        session_id, _ = accounts.start_session(store.con, eve, None)
    result = ok("user", "reset-password", "eve", "--db", dbfile)
    new = result.stdout.strip()
    assert len(new) == 20 and new != old and "password reset 密码已重置" in result.stderr
    with Store(dbfile) as store:
        assert sign_in(store, "eve", old) is None
        assert sign_in(store, "eve", new) is not None
        assert db.active_session(store.con, hashlib.sha256(session_id.encode()).hexdigest()) is None
        actions = [e.action for e in db.audit_entries(store.con)]
    assert "users.reset_password" in actions
    ok("user", "reset-password", "eve", "--password-stdin", "--db", dbfile, stdin="x" * 12 + "\n")
    assert (
        "too short"
        in failed(
            "user", "reset-password", "eve", "--password-stdin", "--db", dbfile, stdin="short\n"
        ).stderr
    )
