"""Accounts, for the command line, the admin API and the admin page alike: create and disable
users, reset passwords, create and revoke API tokens, open sessions (ids kept as hashes), the
cookie-signing key, the demo's admin, the audit log; and the reads of users, tokens and the
logs (``docs/security.md``). Who a request acts as and the sign-in limits are the web's
(``web.security.accounts``, ``web.security.policy``).

Every function takes a DuckDB connection or cursor (``store.con``, a request's cursor) and
raises :class:`AccountError` with a sentence a person can act on. The SQL stays in
:mod:`ecobasin.store.users`; passwords and token secrets are hashed by
:mod:`ecobasin.services.credentials` (Argon2id, SHA-256).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecobasin import catalog
from ecobasin.services import credentials
from ecobasin.store import Cursor, Store, keyfile
from ecobasin.store import users as db
from ecobasin.store.keyfile import key_stamp, read_or_create_key
from ecobasin.store.users import (
    AuditEntry,
    PartnerRow,
    SessionRow,
    SigninEntry,
    TokenRow,
    UserRow,
    active_session,
    audit_entries,
    failed_signins,
    list_tokens,
    list_users,
    log_signin,
    partner,
    revoke_session,
    set_password_hash,
    signin_entries,
    token,
    touch_token,
    user_by_id,
    user_by_name,
)

__all__ = [
    "PARTNER_BURST",
    "PARTNER_RATE_PER_MINUTE",
    "SCOPES",
    "SESSION_HOURS",
    "AccountError",
    "AuditEntry",
    "PartnerRow",
    "SessionRow",
    "SigninEntry",
    "TokenRow",
    "UserRow",
    "active_session",
    "audit_as",
    "audit_entries",
    "create_token",
    "create_user",
    "disable_user",
    "ensure_demo_admin",
    "failed_signins",
    "key_stamp",
    "list_tokens",
    "list_users",
    "log_signin",
    "partner",
    "read_or_create_key",
    "reset_password",
    "revoke_session",
    "revoke_token",
    "session_keys",
    "set_password_hash",
    "signin_entries",
    "start_session",
    "token",
    "touch_token",
    "user_by_id",
    "user_by_name",
]

log = logging.getLogger("ecobasin.security")

#: The scopes a partner may hold, with what each allows (bilingual).
SCOPES: dict[str, str] = {
    "ledger:events": "post low-carbon behaviour events (a transport app) 上报低碳行为",
    "ledger:redeem": "redeem points (a merchant) 积分兑换",
}

#: How long a session lasts after sign-in [h].
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")


class AccountError(ValueError):
    """A request about users or tokens that cannot be done, with the reason."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC)


# -- users ---------------------------------------------------------------------------------
def _check_city(role: str, city_code: int | str | None) -> int | None:
    if role == "editor":
        if city_code is None:
            raise AccountError("an editor needs a city: give its GB/T 2260 code (--city 510100)")
        try:
            return catalog.city_code(city_code)
        except KeyError:
            raise AccountError(
                f"unknown city {city_code!r}; give a GB/T 2260 code (510100) or a name "
                "(成都, Chengdu)"
            ) from None
    if city_code is not None:
        raise AccountError(f"only editors have a city; role {role} acts on the whole region")
    return None


#: A partner's default rate limit: requests per minute and bucket size.
PARTNER_RATE_PER_MINUTE = 600.0
PARTNER_BURST = 60


def _check_partner(role: str, scopes: Sequence[str], rate_per_minute: float, burst: int) -> None:
    if role != "partner":
        if scopes:
            raise AccountError(f"only partners have scopes; role {role} has its own rights")
        return
    if not scopes:
        known = "; ".join(f"{k}: {v}" for k, v in SCOPES.items())
        raise AccountError(f"a partner needs at least one scope (--scope): {known}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise AccountError(f"unknown scope(s) {', '.join(unknown)}; use {', '.join(SCOPES)}")
    if not (rate_per_minute > 0 and burst >= 1):
        raise AccountError(
            f"a rate limit needs a rate > 0 per minute and a burst ≥ 1 (got {rate_per_minute}, "
            f"{burst})"
        )


def create_user(
    con: Cursor,
    name: str,
    role: str,
    city_code: int | str | None = None,
    password: str | None = None,
    *,
    scopes: Sequence[str] = (),
    rate_per_minute: float = PARTNER_RATE_PER_MINUTE,
    burst: int = PARTNER_BURST,
) -> tuple[db.UserRow, str | None]:
    """Create a user; returns the user and the generated password (None when one was given).

    A ``partner`` also gets its ``scopes`` (:data:`~.policy.SCOPES`) and its rate limit
    (``rate_per_minute`` [1/min], ``burst`` [requests]).

    Raises
    ------
    AccountError
        Bad name, unknown role, editor without city (or a city for another role), unknown
        city, short password (< 8 characters), a partner without scopes or with unknown
        ones, scopes for another role, a bad rate limit, or the name is taken (409).
    """
    if not _NAME.match(name):
        raise AccountError(
            f"user name {name!r} is not allowed: 2-64 letters, digits or . _ @ -, "
            "starting with a letter or digit"
        )
    if role not in db.ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(db.ROLES)}")
    city = _check_city(role, city_code)
    _check_partner(role, scopes, rate_per_minute, burst)
    generated = None
    if password is None:
        password = generated = credentials.generate_password()
    if len(password) < credentials.MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password is too short: at least {credentials.MIN_PASSWORD_LENGTH} characters"
        )
    if db.user_by_name(con, name) is not None:
        raise AccountError(f"user {name!r} exists already", status=409)
    user = db.add_user(con, name, role, city, credentials.hash_password(password))
    if role == "partner":
        db.set_partner(con, user.user_id, list(scopes), rate_per_minute, burst)
    log.info("user %s created (role %s, city %s)", name, role, city)
    return user, generated


def _user(con: Cursor, name: str) -> db.UserRow:
    user = db.user_by_name(con, name)
    if user is None:
        raise AccountError(f"no user {name!r}", status=404)
    return user


def disable_user(con: Cursor, name: str) -> db.UserRow:
    """Disable a user: their sessions end now and their tokens stop working."""
    user = _user(con, name)
    db.set_disabled(con, user.user_id)
    log.info("user %s disabled", name)
    disabled = db.user_by_id(con, user.user_id)
    assert disabled is not None
    return disabled


def ensure_demo_admin(store: Store) -> str | None:
    """Create user ``admin`` with a random password and return the password (to print once);
    None when an enabled admin exists already (the demo was built before)."""
    if db.any_active_admin(store.con):
        return None
    name = "admin"
    existing = db.user_by_name(store.con, name)
    if existing is not None:  # a disabled "admin": give the demo another name
        name = f"admin-{credentials.new_secret(3).lower()}"
    _, password = create_user(store.con, name, "admin")
    return password


# -- tokens --------------------------------------------------------------------------------
def create_token(
    con: Cursor, user_name: str, token_name: str, expires_days: float | None = None
) -> tuple[db.TokenRow, str]:
    """Create an API token for ``user_name``; returns its record and the token text, which is
    shown once (the store keeps only a SHA-256 of its secret)."""
    user = _user(con, user_name)
    if user.disabled:
        raise AccountError(f"user {user_name!r} is disabled", status=409)
    if not token_name.strip() or len(token_name) > 100:
        raise AccountError("a token needs a name of 1-100 characters saying what it is for")
    if expires_days is not None and not (0 < expires_days <= 3650):
        raise AccountError(f"expiry must be 0-3650 days (got {expires_days})")
    expires = None if expires_days is None else _now() + timedelta(days=expires_days)
    secret = credentials.new_secret()
    token_id = db.add_token(
        con, user.user_id, token_name.strip(), credentials.digest(secret), expires
    )
    record = db.token(con, token_id)
    assert record is not None
    log.info("token %d (%s) created for %s", token_id, token_name, user_name)
    return record, credentials.format_token(token_id, secret)


def revoke_token(con: Cursor, token_id: int) -> db.TokenRow:
    """Revoke a token (409 when it was revoked before, 404 when there is none)."""
    record = db.token(con, token_id)
    if record is None:
        raise AccountError(f"no token {token_id}", status=404)
    if not db.revoke_token(con, token_id):
        raise AccountError(f"token {token_id} was revoked already", status=409)
    log.info("token %d revoked", token_id)
    revoked = db.token(con, token_id)
    assert revoked is not None
    return revoked


def start_session(con: Cursor, user: db.UserRow, ip: str | None) -> tuple[str, datetime]:
    """Open a session of ``SESSION_HOURS`` hours; returns its id (for the cookie only: the
    store keeps its SHA-256) and its expiry."""
    session_id = credentials.new_secret()
    expires = _now() + timedelta(hours=SESSION_HOURS)
    db.open_session(con, credentials.digest(session_id), user.user_id, expires, ip)
    return session_id, expires


def session_keys(db_path: Path, configured: str | None) -> str:
    """The key that signs session cookies: ``configured`` (``ECOBASIN_SECRET_KEY``) when set,
    else the key file beside the database (made at first use; ``ecobasin secret rotate``)."""
    if configured:
        if len(configured) < 32:
            raise ValueError("ECOBASIN_SECRET_KEY must be at least 32 characters long")
        return configured
    return keyfile.read_or_create_key(db_path)


def reset_password(con: Cursor, name: str, password: str | None = None) -> str | None:
    """Give ``name`` a new password (generated when None; returned then, to show once); their
    sessions end (OWASP ASVS 4.0 §3.3.3)."""
    user = _user(con, name)
    generated = None
    if password is None:
        password = generated = credentials.generate_password()
    if len(password) < credentials.MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password is too short: at least {credentials.MIN_PASSWORD_LENGTH} characters"
        )
    db.set_password_hash(con, user.user_id, credentials.hash_password(password))
    db.revoke_user_sessions(con, user.user_id)
    log.info("password of %s reset; their sessions ended", name)
    return generated


def audit_as(
    con: Cursor,
    name: str | None,
    via: str | None,
    action: str,
    target: str,
    city_code: int | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Record a write by ``name`` (signed in ``via``: session, token, cli) in the audit log."""
    db.audit(con, name or "-", via or "-", action, target, city_code, detail)
