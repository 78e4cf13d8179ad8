"""The web's side of accounts: who a stored user or a Bearer token acts as (a
:class:`~.policy.Principal`), sign-in with a password (limits charged before verification, the
Argon2 gate, logged), the refusal of tokens minting tokens, the audit of a principal's writes
(``docs/security.md``).

Account management (users, passwords, tokens, sessions, the demo's admin) is
:mod:`ecobasin.services.accounts`, which the command line shares; its names are re-exported
here for the web's callers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from anyio import to_thread

from ecobasin.services import accounts
from ecobasin.services.accounts import (
    PARTNER_BURST,
    PARTNER_RATE_PER_MINUTE,
    SESSION_HOURS,
    AccountError,
    create_token,
    create_user,
    disable_user,
    ensure_demo_admin,
    reset_password,
    revoke_token,
    session_keys,
    start_session,
)
from ecobasin.web.security import credentials
from ecobasin.web.security.policy import Principal
from ecobasin.web.security.ratelimit import GateBusy, VerificationGate

if TYPE_CHECKING:
    from ecobasin.store import Cursor

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
    user: accounts.UserRow, via: str, partner: accounts.PartnerRow | None = None, **session: str
) -> Principal:
    """The principal a stored user acts as (a partner with its scopes and rate limit)."""
    # an unknown role gets the least: the public's rights (never a reader's)
    known = ("admin", "editor", "viewer", "partner", "enterprise", "gate")
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


def resolve_token(con: Cursor, text: str) -> Principal | None:
    """The principal of a Bearer token, or None when it is malformed, unknown, wrong,
    revoked, expired or its user disabled."""
    parsed = credentials.parse_token(text)
    if parsed is None:
        return None
    token_id, secret = parsed
    record = accounts.token(con, token_id)
    if record is None or not credentials.tokens_equal(
        record.secret_sha256, credentials.digest(secret)
    ):
        return None
    if not record.usable(_now()):
        return None
    user = accounts.user_by_id(con, record.user_id)
    if user is None or user.disabled:
        return None
    accounts.touch_token(con, token_id)
    partner = accounts.partner(con, user.user_id) if user.role == "partner" else None
    return principal_of(user, f"token {token_id}", partner)


# -- sign-in -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user, and whether their hash was renewed."""

    user: accounts.UserRow
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
            failures = accounts.failed_signins(con, now - PAIR_WINDOW, user_name=name, ip=address)
            in_flight = self._in_flight[pair]
            count = len(failures) + in_flight
            if count >= PAIR_FREE_FAILURES:
                last = now if in_flight else failures[-1]
                ready = last + _backoff(count)
                if ready > now:
                    wait = max(1, math.ceil((ready - now).total_seconds()))
                    raise RateLimited(wait, f"user {name!r} from {address}")
            since = now - WINDOW
            busy_user = len(accounts.failed_signins(con, since, user_name=name)) >= USER_SLOW_AFTER
            busy_address = (
                len(accounts.failed_signins(con, since, ip=address)) >= ADDRESS_SLOW_AFTER
            )
            self._in_flight[pair] += 1
        return Admission(pair, SLOWDOWN if busy_user or busy_address else 0.0)

    def settle(self, admission: Admission) -> None:
        """The attempt is over (its outcome is logged): it no longer counts as in flight."""
        with self._lock:
            self._in_flight[admission.pair] -= 1
            if self._in_flight[admission.pair] <= 0:
                del self._in_flight[admission.pair]


def _log_refusal(con: Cursor, name: str, ip: str | None, reason: str, why: str) -> None:
    accounts.log_signin(con, name, ip, False, reason)
    log.warning("sign-in refused (%s): user %r from %s: %s", reason, name, ip, why)


def _check(con: Cursor, name: str, password: str) -> tuple[accounts.UserRow | None, str]:
    """The user (None when unknown) and the hash to verify the password against: a dummy one
    for an unknown user, so timing does not tell which names exist."""
    user = accounts.user_by_name(con, name)
    return user, user.password_hash if user else credentials.dummy_hash()


def _outcome(
    con: Cursor, name: str, password: str, ip: str | None, user: accounts.UserRow | None, ok: bool
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
            accounts.set_password_hash(con, user.user_id, credentials.hash_password(password))
        accounts.log_signin(con, name, ip, True, "ok")
        log.info("sign-in: %s from %s", name, ip)
        return SignIn(user, rehashed)
    accounts.log_signin(con, name, ip, False, reason)
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
    accounts.audit_as(con, principal.name, principal.via, action, target, city_code, detail)
