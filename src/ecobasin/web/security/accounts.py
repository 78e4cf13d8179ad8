"""Account operations shared by the command line, the admin API and the admin page: create
and disable users, create and revoke API tokens, sign in with a password (rate-limited and
logged), open and close sessions, and the demo's admin.

Every function takes a DuckDB connection or cursor (``store.con``, a request's cursor) and
raises :class:`AccountError` with a sentence a person can act on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import users as db
from ecobasin.web.security import credentials
from ecobasin.web.security.policy import SCOPES, Principal

__all__ = [
    "MAX_FAILURES",
    "MAX_FAILURES_PER_ADDRESS",
    "PARTNER_BURST",
    "PARTNER_RATE_PER_MINUTE",
    "SESSION_HOURS",
    "WINDOW",
    "AccountError",
    "RateLimited",
    "SignIn",
    "audit",
    "create_token",
    "create_user",
    "disable_user",
    "ensure_demo_admin",
    "principal_of",
    "resolve_token",
    "revoke_token",
    "session_key",
    "sign_in",
    "start_session",
]

log = logging.getLogger("ecobasin.security")

Connection = duckdb.DuckDBPyConnection

#: Failed sign-ins allowed per user name within :data:`WINDOW` (since the user's last success).
MAX_FAILURES = 5
#: Failed sign-ins allowed per client address within :data:`WINDOW`: higher than per user,
#: as a bureau's staff often share one address (NAT), and a success does not reset it.
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)
#: How long a session lasts after sign-in [h].
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")


class AccountError(ValueError):
    """A request about users or tokens that cannot be done, with the reason."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(Exception):
    """Too many failed sign-ins; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int, key: str) -> None:
        super().__init__(f"too many failed sign-ins for {key}; retry after {retry_after} s")
        self.retry_after = retry_after


def _now() -> datetime:
    return datetime.now(UTC)


def principal_of(
    user: db.UserRow, via: str, partner: db.PartnerRow | None = None, **session: str
) -> Principal:
    """The principal a stored user acts as (a partner with its scopes and rate limit)."""
    role = user.role if user.role in ("admin", "editor", "viewer", "partner") else "viewer"
    return Principal(
        name=user.name,
        role=role,  # type: ignore[arg-type]
        city_code=user.city_code,
        user_id=user.user_id,
        via=via,
        session_id=session.get("session_id"),
        csrf_token=session.get("csrf_token"),
        scopes=partner.scopes if partner else (),
        rate_per_minute=partner.rate_per_minute if partner else None,
        burst=partner.burst if partner else None,
    )


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
    con: Connection,
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


def _user(con: Connection, name: str) -> db.UserRow:
    user = db.user_by_name(con, name)
    if user is None:
        raise AccountError(f"no user {name!r}", status=404)
    return user


def disable_user(con: Connection, name: str) -> db.UserRow:
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
    con: Connection, user_name: str, token_name: str, expires_days: float | None = None
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


def revoke_token(con: Connection, token_id: int) -> db.TokenRow:
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


def resolve_token(con: Connection, text: str) -> Principal | None:
    """The principal of a Bearer token, or None when it is malformed, unknown, wrong,
    revoked, expired or its user disabled."""
    parsed = credentials.parse_token(text)
    if parsed is None:
        return None
    token_id, secret = parsed
    record = db.token(con, token_id)
    if record is None or not credentials.tokens_equal(
        record.secret_sha256, credentials.digest(secret)
    ):
        return None
    if not record.usable(_now()):
        return None
    user = db.user_by_id(con, record.user_id)
    if user is None or user.disabled:
        return None
    with contextlib.suppress(duckdb.TransactionException):  # a concurrent request touched it
        db.touch_token(con, token_id)
    partner = db.partner(con, user.user_id) if user.role == "partner" else None
    return principal_of(user, f"token {token_id}", partner)


# -- sign-in -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user, and whether their hash was renewed."""

    user: db.UserRow
    rehashed: bool


def _retry_after(failures: list[datetime], limit: int, now: datetime) -> int:
    """Seconds until enough failures leave the window to allow one more try."""
    oldest = failures[-limit]
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))


def _check_rate(con: Connection, name: str, ip: str | None) -> None:
    now = _now()
    since = now - WINDOW
    for key, failures, limit in (
        (f"user {name!r}", db.failed_signins(con, since, user_name=name), MAX_FAILURES),
        (
            f"address {ip}",
            db.failed_signins(con, since, ip=ip) if ip else [],
            MAX_FAILURES_PER_ADDRESS,
        ),
    ):
        if len(failures) >= limit:
            raise RateLimited(_retry_after(failures, limit, now), key)


def sign_in(con: Connection, name: str, password: str, ip: str | None) -> SignIn | None:
    """Check a user name and password; log the attempt; None when they do not match.

    Raises
    ------
    RateLimited
        After :data:`MAX_FAILURES` failures within :data:`WINDOW` for the user name (since
        their last success), or :data:`MAX_FAILURES_PER_ADDRESS` for the client address; the
        password is not even checked then.
    """
    try:
        _check_rate(con, name, ip)
    except RateLimited as limited:
        db.log_signin(con, name, ip, False, "rate_limited")
        log.warning("sign-in refused (rate limit): user %r from %s: %s", name, ip, limited)
        raise
    user = db.user_by_name(con, name)
    if user is None:
        credentials.burn_verify(password)
        reason = "unknown_user"
    elif not credentials.verify_password(user.password_hash, password):
        reason = "bad_password"
    elif user.disabled:
        reason = "disabled"
    else:
        rehashed = credentials.needs_rehash(user.password_hash)
        if rehashed:
            db.set_password_hash(con, user.user_id, credentials.hash_password(password))
        db.log_signin(con, name, ip, True, "ok")
        log.info("sign-in: %s from %s", name, ip)
        return SignIn(user, rehashed)
    db.log_signin(con, name, ip, False, reason)
    log.warning("sign-in failed (%s): user %r from %s", reason, name, ip)
    return None


def start_session(con: Connection, user: db.UserRow, ip: str | None) -> db.SessionRow:
    """Open a session of ``SESSION_HOURS`` hours with a fresh CSRF token."""
    session_id, csrf = credentials.new_secret(), credentials.new_secret()
    expires = _now() + timedelta(hours=SESSION_HOURS)
    db.open_session(con, session_id, user.user_id, csrf, expires, ip)
    return db.SessionRow(session_id, csrf, expires, user)


def session_key(con: Connection, configured: str | None) -> str:
    """The key that signs session cookies: ``configured`` (``ECOBASIN_SECRET_KEY``) when set,
    else one generated at the first start and kept in the store, so restarts keep sessions."""
    if configured:
        if len(configured) < 32:
            raise ValueError("ECOBASIN_SECRET_KEY must be at least 32 characters long")
        return configured
    return db.get_or_create_secret(con, "session_key", credentials.new_secret(48))


def audit(
    con: Connection,
    principal: Principal,
    action: str,
    target: str,
    city_code: int | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Record a write by ``principal`` (who, how, what, when) in the audit log."""
    db.audit(con, principal.name or "-", principal.via or "-", action, target, city_code, detail)
