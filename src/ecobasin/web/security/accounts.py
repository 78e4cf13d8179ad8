"""Account operations shared by the command line, the admin API and the admin page: create
and disable users, reset passwords, create and revoke API tokens (never from a token), sign in
with a password (limits charged before verification, the Argon2 gate, logged), open sessions
(ids kept as hashes), the cookie-signing key and the demo's admin (``docs/security.md``).

Every function takes a DuckDB connection or cursor (``store.con``, a request's cursor) and
raises :class:`AccountError` with a sentence a person can act on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anyio import to_thread

from ecobasin import catalog
from ecobasin.store import Cursor, Store, keyfile
from ecobasin.store import users as db
from ecobasin.web.security import credentials
from ecobasin.web.security.policy import SCOPES, Principal
from ecobasin.web.security.ratelimit import GateBusy, VerificationGate

__all__ = [
    "ADDRESS_SLOW_AFTER",
    "PAIR_FREE_FAILURES",
    "PARTNER_BURST",
    "PARTNER_RATE_PER_MINUTE",
    "SESSION_HOURS",
    "USER_SLOW_AFTER",
    "WINDOW",
    "AccountError",
    "Admission",
    "RateLimited",
    "SignIn",
    "SigninLimiter",
    "audit",
    "create_token",
    "create_user",
    "disable_user",
    "ensure_demo_admin",
    "principal_of",
    "refuse_token_minting",
    "reset_password",
    "resolve_token",
    "revoke_token",
    "session_keys",
    "sign_in",
    "start_session",
]

log = logging.getLogger("ecobasin.security")

#: Failures a (user name, address) pair makes before its back-off starts.
PAIR_FREE_FAILURES = 3
#: The pair's wait after its last failure: doubling from BACKOFF_BASE, at most BACKOFF_MAX.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=15)
#: How far back a pair's failures count (after its last success).
PAIR_WINDOW = timedelta(hours=1)
#: Failures on one user name (from anywhere, since the user's last success) within WINDOW
#: after which every attempt on it is slowed by SLOWDOWN (never refused for that).
USER_SLOW_AFTER = 10
#: Failures from one address (over all names) within WINDOW after which its attempts are
#: slowed (higher than per user: a bureau's staff often share one address behind NAT).
ADDRESS_SLOW_AFTER = 20
WINDOW = timedelta(minutes=15)
#: The wait of a slowed attempt before its password is verified [s].
SLOWDOWN = 2.0
#: How long a session lasts after sign-in [h].
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")


class AccountError(ValueError):
    """A request about users or tokens that cannot be done, with the reason."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(Exception):
    """Too many failed sign-ins (or, ``busy``, too many at once); try again after
    ``retry_after`` seconds."""

    def __init__(self, retry_after: int, key: str, *, busy: bool = False) -> None:
        what = "sign-ins at once" if busy else "failed sign-ins"
        super().__init__(f"too many {what} for {key}; retry after {retry_after} s")
        self.retry_after = retry_after
        self.busy = busy


def _now() -> datetime:
    return datetime.now(UTC)


def principal_of(
    user: db.UserRow, via: str, partner: db.PartnerRow | None = None, **session: str
) -> Principal:
    """The principal a stored user acts as (a partner with its scopes and rate limit)."""
    # an unknown role gets the least: the public's rights (never a reader's)
    known = ("admin", "editor", "viewer", "partner", "enterprise")
    role = user.role if user.role in known else "public"
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


def resolve_token(con: Cursor, text: str) -> Principal | None:
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
    db.touch_token(con, token_id)
    partner = db.partner(con, user.user_id) if user.role == "partner" else None
    return principal_of(user, f"token {token_id}", partner)


# -- sign-in -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user, and whether their hash was renewed."""

    user: db.UserRow
    rehashed: bool


@dataclass(frozen=True)
class Admission:
    """An attempt let through the limits: its (user name, address) pair and how long it
    waits before its password is verified [s]."""

    pair: tuple[str, str]
    delay: float


def _backoff(failures: int) -> timedelta:
    """How long a pair waits after its last failure once past its free ones: doubling from
    :data:`BACKOFF_BASE` up to :data:`BACKOFF_MAX`."""
    steps = min(failures - PAIR_FREE_FAILURES, 16)
    return min(BACKOFF_MAX, BACKOFF_BASE * (1 << steps))


class SigninLimiter:
    """Checks and charges the sign-in limits in one step, before any password is verified
    (OWASP ASVS 4.0 §2.2.1).

    * A (user name, address) pair has :data:`PAIR_FREE_FAILURES` failures free; then it
      waits :func:`_backoff` after its last failure (429 with ``Retry-After``). Attempts in
      flight count as failures until they are settled, so a burst cannot pass the check
      together.
    * A user with :data:`USER_SLOW_AFTER` failures within :data:`WINDOW` (from anywhere), or
      an address with :data:`ADDRESS_SLOW_AFTER`, is slowed: each attempt waits
      :data:`SLOWDOWN` first. It is never refused for that: the right password from an
      address without failures still signs in, so guesses cannot lock anyone out.

    One server process owns the store, so a lock in the process makes the check atomic.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[tuple[str, str]] = Counter()

    def admit(self, con: Cursor, name: str, ip: str | None) -> Admission:
        """Charge one attempt of ``name`` from ``ip``, or refuse it.

        Raises
        ------
        RateLimited
            The pair is in its back-off.
        """
        address = ip or "-"
        pair = (name, address)
        with self._lock:
            now = _now()
            failures = db.failed_signins(con, now - PAIR_WINDOW, user_name=name, ip=address)
            in_flight = self._in_flight[pair]
            count = len(failures) + in_flight
            if count >= PAIR_FREE_FAILURES:
                last = now if in_flight else failures[-1]
                ready = last + _backoff(count)
                if ready > now:
                    wait = max(1, math.ceil((ready - now).total_seconds()))
                    raise RateLimited(wait, f"user {name!r} from {address}")
            since = now - WINDOW
            busy_user = len(db.failed_signins(con, since, user_name=name)) >= USER_SLOW_AFTER
            busy_address = len(db.failed_signins(con, since, ip=address)) >= ADDRESS_SLOW_AFTER
            self._in_flight[pair] += 1
        return Admission(pair, SLOWDOWN if busy_user or busy_address else 0.0)

    def settle(self, admission: Admission) -> None:
        """The attempt is over (its outcome is logged): it no longer counts as in flight."""
        with self._lock:
            self._in_flight[admission.pair] -= 1
            if self._in_flight[admission.pair] <= 0:
                del self._in_flight[admission.pair]


def _log_refusal(con: Cursor, name: str, ip: str | None, reason: str, why: str) -> None:
    db.log_signin(con, name, ip, False, reason)
    log.warning("sign-in refused (%s): user %r from %s: %s", reason, name, ip, why)


def _check(con: Cursor, name: str, password: str) -> tuple[db.UserRow | None, str]:
    """The user (None when unknown) and the hash to verify the password against: a dummy one
    for an unknown user, so timing does not tell which names exist."""
    user = db.user_by_name(con, name)
    return user, user.password_hash if user else credentials.dummy_hash()


def _outcome(
    con: Cursor, name: str, password: str, ip: str | None, user: db.UserRow | None, ok: bool
) -> SignIn | None:
    """Log the verified attempt; on success renew an outdated hash."""
    if user is None:
        reason = "unknown_user"
    elif not ok:
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


async def sign_in(
    con: Cursor,
    name: str,
    password: str,
    ip: str | None,
    *,
    limiter: SigninLimiter,
    gate: VerificationGate,
) -> SignIn | None:
    """Check a user name and password; log the attempt; None when they do not match.

    The limits are charged first (:class:`SigninLimiter`), then the Argon2 verification waits
    for a slot of ``gate``; the store is read and written in worker threads.

    Raises
    ------
    RateLimited
        The (user, address) pair is in its back-off, or no verification slot came free
        (``busy``); the password is not checked then.
    """
    try:
        admission = await to_thread.run_sync(limiter.admit, con, name, ip)
    except RateLimited as limited:
        await to_thread.run_sync(_log_refusal, con, name, ip, "rate_limited", str(limited))
        raise
    try:
        if admission.delay:
            await asyncio.sleep(admission.delay)
        user, hashed = await to_thread.run_sync(_check, con, name, password)
        try:
            ok = await gate.run(credentials.verify_password, hashed, password)
        except GateBusy as busy:
            await to_thread.run_sync(_log_refusal, con, name, ip, "busy", str(busy))
            raise RateLimited(busy.retry_after, "the server", busy=True) from None
        return await to_thread.run_sync(_outcome, con, name, password, ip, user, ok)
    finally:
        limiter.settle(admission)


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


def refuse_token_minting(principal: Principal) -> None:
    """API tokens may not create tokens: only a signed-in person (a session), the admin page
    or the command line may, so no token outlives the one that made it.

    Raises
    ------
    AccountError
        403 for a principal authenticated by a token.
    """
    if principal.via and principal.via.startswith("token"):
        raise AccountError(
            "an API token cannot create tokens: sign in (a session) or use `ecobasin token "
            "create` 令牌不能创建令牌，请登录后创建",
            status=403,
        )


def audit(
    con: Cursor,
    principal: Principal,
    action: str,
    target: str,
    city_code: int | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Record a write by ``principal`` (who, how, what, when) in the audit log."""
    db.audit(con, principal.name or "-", principal.via or "-", action, target, city_code, detail)
