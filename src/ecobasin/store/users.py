"""Users, sessions, API tokens, the sign-in log, stored secrets and the audit of writes (SQL).

Every function takes the caller's DuckDB connection or cursor first (a request's own cursor in
the web app, the store's connection in the command line) and returns plain data. Hashing,
policy and cookies live in :mod:`ecobasin.web.security`; this module only stores and reads.
Times are UTC instants (migration 5).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from ecobasin.store._sql import Cursor

__all__ = [
    "ROLES",
    "AuditEntry",
    "PartnerRow",
    "SessionRow",
    "SigninEntry",
    "TokenRow",
    "UserRow",
    "active_session",
    "add_token",
    "add_user",
    "any_active_admin",
    "audit",
    "audit_entries",
    "failed_signins",
    "get_or_create_secret",
    "list_tokens",
    "list_users",
    "log_signin",
    "open_session",
    "partner",
    "revoke_session",
    "revoke_token",
    "revoke_user_sessions",
    "set_disabled",
    "set_partner",
    "set_password_hash",
    "signin_entries",
    "token",
    "touch_token",
    "user_by_id",
    "user_by_name",
]


#: Roles a user may hold (``users.role`` check constraint, migrations 5 and 10, and the
#: emergency migration adding ``enterprise``, issue 17).
ROLES = ("admin", "editor", "viewer", "partner", "enterprise", "gate")


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: Any) -> datetime | None:
    """A stored TIMESTAMPTZ as an aware UTC datetime (None stays None)."""
    if value is None:
        return None
    stamp: datetime = value
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


@dataclass(frozen=True)
class UserRow:
    """One user as stored."""

    user_id: int
    name: str
    role: str
    city_code: int | None
    password_hash: str
    disabled: bool
    created_at: datetime


_USER_COLUMNS = "user_id, name, role, city_code, password_hash, disabled, created_at"


def _user(row: tuple[Any, ...] | None) -> UserRow | None:
    if row is None:
        return None
    user_id, name, role, city, hashed, disabled, created = row
    created_at = _utc(created)
    assert created_at is not None
    return UserRow(int(user_id), name, role, city, hashed, bool(disabled), created_at)


def _one(con: Cursor, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def add_user(
    con: Cursor, name: str, role: str, city_code: int | None, password_hash: str
) -> UserRow:
    """Insert a user; returns it.

    Raises
    ------
    duckdb.ConstraintException
        When the name is taken or an editor has no city (callers check first to say why).
    """
    row = _one(
        con,
        "INSERT INTO users (name, role, city_code, password_hash, created_at) "
        f"VALUES (?, ?, ?, ?, ?) RETURNING {_USER_COLUMNS}",
        [name, role, city_code, password_hash, _now()],
    )
    user = _user(row)
    assert user is not None
    return user


def user_by_name(con: Cursor, name: str) -> UserRow | None:
    return _user(_one(con, f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name]))


def user_by_id(con: Cursor, user_id: int) -> UserRow | None:
    return _user(_one(con, f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", [user_id]))


def list_users(con: Cursor) -> list[UserRow]:
    """Every user, by name."""
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name").fetchall()
    return [user for user in map(_user, rows) if user is not None]


def any_active_admin(con: Cursor) -> bool:
    return _one(con, "SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled", []) is not None


def set_disabled(con: Cursor, user_id: int, disabled: bool = True) -> None:
    """Disable (or enable) a user; disabling also revokes every open session of theirs."""
    con.execute("UPDATE users SET disabled = ? WHERE user_id = ?", [disabled, user_id])
    if disabled:
        revoke_user_sessions(con, user_id)


def set_password_hash(con: Cursor, user_id: int, password_hash: str) -> None:
    """Store a new hash (a rehash after the Argon2 parameters changed, or a new password)."""
    con.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", [password_hash, user_id])


# -- partners (migration 10) ---------------------------------------------------------------
@dataclass(frozen=True)
class PartnerRow:
    """What a partner user may do on the ledger API, and how often."""

    user_id: int
    scopes: tuple[str, ...]
    rate_per_minute: float
    burst: int


def set_partner(
    con: Cursor, user_id: int, scopes: list[str], rate_per_minute: float, burst: int
) -> None:
    """Record (or replace) a partner's scopes and rate limit."""
    con.execute(
        "INSERT OR REPLACE INTO partners VALUES (?, ?, ?, ?, ?)",
        [user_id, sorted(set(scopes)), rate_per_minute, burst, _now()],
    )


def partner(con: Cursor, user_id: int) -> PartnerRow | None:
    row = _one(
        con,
        "SELECT user_id, scopes, rate_per_minute, burst FROM partners WHERE user_id = ?",
        [user_id],
    )
    if row is None:
        return None
    return PartnerRow(int(row[0]), tuple(row[1]), float(row[2]), int(row[3]))


# -- sessions ------------------------------------------------------------------------------
# The table keeps the hex SHA-256 of each session id (migration 13): the id itself lives only
# in the user's signed cookie, so a copy of the file cannot be used to act as anyone.
@dataclass(frozen=True)
class SessionRow:
    """An open session with its user (``session_hash``: the SHA-256 of its id)."""

    session_hash: str
    expires_at: datetime
    user: UserRow


def open_session(
    con: Cursor, session_hash: str, user_id: int, expires_at: datetime, ip: str | None
) -> None:
    con.execute(
        "INSERT INTO sessions (session_id, user_id, created_at, expires_at, ip) "
        "VALUES (?, ?, ?, ?, ?)",
        [session_hash, user_id, _now(), expires_at, ip],
    )


def active_session(con: Cursor, session_hash: str) -> SessionRow | None:
    """The session if it is neither revoked nor expired and its user is enabled."""
    row = _one(
        con,
        "SELECT s.session_id, s.expires_at, "
        + ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))
        + " FROM sessions s JOIN users u USING (user_id) WHERE s.session_id = ? "
        "AND s.revoked_at IS NULL AND s.expires_at > ? AND NOT u.disabled",
        [session_hash, _now()],
    )
    if row is None:
        return None
    user = _user(row[2:])
    expires_at = _utc(row[1])
    assert user is not None and expires_at is not None
    return SessionRow(str(row[0]), expires_at, user)


def revoke_session(con: Cursor, session_hash: str) -> None:
    con.execute(
        "UPDATE sessions SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL",
        [_now(), session_hash],
    )


def revoke_user_sessions(con: Cursor, user_id: int) -> None:
    """End every open session of a user (a new password, a disabled user)."""
    con.execute(
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        [_now(), user_id],
    )


# -- API tokens ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenRow:
    """An API token's record (never its secret)."""

    token_id: int
    user_id: int
    user_name: str
    name: str
    secret_sha256: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def public(self) -> dict[str, Any]:
        """The record without its hash, for listings."""
        return {
            "token_id": self.token_id,
            "user": self.user_name,
            "name": self.name,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


_TOKEN_SELECT = (
    "SELECT t.token_id, t.user_id, u.name, t.name, t.secret_sha256, t.created_at, t.expires_at, "
    "t.last_used_at, t.revoked_at FROM api_tokens t JOIN users u USING (user_id)"
)


def _token(row: tuple[Any, ...]) -> TokenRow:
    created = _utc(row[5])
    assert created is not None
    return TokenRow(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        created,
        _utc(row[6]),
        _utc(row[7]),
        _utc(row[8]),
    )


def add_token(
    con: Cursor, user_id: int, name: str, secret_sha256: str, expires_at: datetime | None
) -> int:
    """Record a token; returns its id (the ``<id>`` of ``eb_<id>_<secret>``)."""
    row = _one(
        con,
        "INSERT INTO api_tokens (user_id, name, secret_sha256, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING token_id",
        [user_id, name, secret_sha256, _now(), expires_at],
    )
    assert row is not None
    return int(row[0])


def token(con: Cursor, token_id: int) -> TokenRow | None:
    row = _one(con, _TOKEN_SELECT + " WHERE t.token_id = ?", [token_id])
    return None if row is None else _token(row)


def list_tokens(con: Cursor, user_id: int | None = None) -> list[TokenRow]:
    """Tokens of one user (or all), newest first."""
    where, params = ("", []) if user_id is None else (" WHERE t.user_id = ?", [user_id])
    rows = con.execute(_TOKEN_SELECT + where + " ORDER BY t.token_id DESC", params).fetchall()
    return [_token(row) for row in rows]


def revoke_token(con: Cursor, token_id: int) -> bool:
    """Revoke a token; False when it was already revoked or does not exist."""
    row = _one(
        con,
        "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL "
        "RETURNING token_id",
        [_now(), token_id],
    )
    return row is not None


def touch_token(con: Cursor, token_id: int, every_seconds: int = 60) -> None:
    """Set ``last_used_at`` to now, at most once per ``every_seconds`` (busy machines call
    with every request; one write a minute keeps the answer without a write per call)."""
    now = _now()
    # best effort: a concurrent request that touched the same token wins, and its time stands
    with contextlib.suppress(duckdb.TransactionException):
        con.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_id = ? AND "
            "(last_used_at IS NULL OR last_used_at < ? - to_seconds(?))",
            [now, token_id, now, every_seconds],
        )


# -- sign-in log ---------------------------------------------------------------------------
def log_signin(con: Cursor, user_name: str, ip: str | None, ok: bool, reason: str) -> None:
    con.execute(
        "INSERT INTO signin_log VALUES (?, ?, ?, ?, ?)", [_now(), user_name, ip, ok, reason]
    )


#: Sign-in outcomes that count towards the limits (an attempt refused while limited, or
#: because the server was busy, does not extend the limit, so a flood cannot keep anyone out).
FAILURES = ("bad_password", "unknown_user", "disabled")


def failed_signins(
    con: Cursor, since: datetime, *, user_name: str | None = None, ip: str | None = None
) -> list[datetime]:
    """Times of failed sign-ins since ``since``, oldest first: of a user name, of an address,
    or of a (user name, address) pair. With a user name, only failures after that user's last
    success (from that address, for a pair) count."""
    if user_name is None and ip is None:
        raise ValueError("give a user name, an address or both")
    where = ["NOT ok", "reason = ANY($failures)", "time >= $since"]
    params: dict[str, Any] = {"failures": list(FAILURES), "since": since}
    if user_name is not None:
        where.append("user_name = $user")
        params["user"] = user_name
    if ip is not None:
        where.append("ip = $ip")
        params["ip"] = ip
    if user_name is not None:
        same = " AND ".join(part for part in where[3:])
        where.append(
            "time > coalesce((SELECT max(time) FROM signin_log WHERE ok AND "
            f"{same}), '-infinity'::TIMESTAMPTZ)"
        )
    rows = con.execute(
        f"SELECT time FROM signin_log WHERE {' AND '.join(where)} ORDER BY time", params
    ).fetchall()
    return [stamp for stamp in (_utc(row[0]) for row in rows) if stamp is not None]


@dataclass(frozen=True)
class SigninEntry:
    """One sign-in attempt as logged."""

    time: datetime
    user_name: str
    ip: str | None
    ok: bool
    reason: str


def signin_entries(con: Cursor, *, failures_only: bool, limit: int) -> list[SigninEntry]:
    """The latest sign-in attempts (or failures and refusals only), newest first."""
    where = " WHERE NOT ok" if failures_only else ""
    rows = con.execute(
        f"SELECT time, user_name, ip, ok, reason FROM signin_log{where} ORDER BY time DESC LIMIT ?",
        [limit],
    ).fetchall()
    entries = []
    for time, user, ip, ok, reason in rows:
        stamp = _utc(time)
        assert stamp is not None
        entries.append(SigninEntry(stamp, user, ip, bool(ok), reason))
    return entries


# -- secrets -------------------------------------------------------------------------------
def get_or_create_secret(con: Cursor, name: str, candidate: str) -> str:
    """The stored secret ``name``; when there is none, store ``candidate`` and return it.

    Two processes or threads racing here both end with the one value that was stored first.
    """
    con.execute("INSERT OR IGNORE INTO secrets VALUES (?, ?, ?)", [name, candidate, _now()])
    row = _one(con, "SELECT value FROM secrets WHERE name = ?", [name])
    assert row is not None
    return str(row[0])


# -- audit ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditEntry:
    time: datetime
    user_name: str
    via: str
    action: str
    target: str
    city_code: int | None
    detail: dict[str, Any] | None


def audit(
    con: Cursor,
    user_name: str,
    via: str,
    action: str,
    target: str,
    city_code: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record who wrote what, when (``detail`` is stored as JSON)."""
    con.execute(
        "INSERT INTO audit_log (time, user_name, via, action, target, city_code, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            _now(),
            user_name,
            via,
            action,
            target,
            city_code,
            None if detail is None else json.dumps(detail, ensure_ascii=False, default=str),
        ],
    )


def audit_entries(
    con: Cursor, limit: int = 100, *, city_code: int | None = None
) -> list[AuditEntry]:
    """The latest audit entries, newest first (of one city's data when ``city_code`` is set)."""
    where, params = ("WHERE city_code = ? ", [city_code]) if city_code is not None else ("", [])
    rows = con.execute(
        "SELECT time, user_name, via, action, target, city_code, detail::VARCHAR "
        f"FROM audit_log {where}ORDER BY audit_id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    entries = []
    for time, user, via, action, target, city, detail in rows:
        stamp = _utc(time)
        assert stamp is not None
        entries.append(
            AuditEntry(
                stamp, user, via, action, target, city, json.loads(detail) if detail else None
            )
        )
    return entries
