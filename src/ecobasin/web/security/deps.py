"""FastAPI dependencies of the rights model, used by the API and the pages alike.

``CurrentPrincipal`` says who is asking: an API token (``Authorization: Bearer
eb_<id>_<secret>``), else a signed session cookie, else the public. On unsafe methods (POST,
PUT, PATCH, DELETE) a cookie-authenticated request must also carry the session's CSRF token,
in the form field ``csrf_token`` or the ``X-CSRF-Token`` header; token requests are exempt (a
browser never adds an ``Authorization`` header by itself).

``require(action)`` builds a dependency that refuses with 401 (problem details with
``WWW-Authenticate``) when credentials are needed and missing, and 403 naming the missing right
otherwise; :func:`authorize` does the same inside an endpoint, once it knows which city's data
a request writes. The decisions themselves are :mod:`ecobasin.web.security.policy`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from ecobasin.services import accounts as account_service
from ecobasin.services import machinery as machinery_service
from ecobasin.services.writes import Actor
from ecobasin.settings import load_settings
from ecobasin.web.deps import CursorDep
from ecobasin.web.problems import ProblemError
from ecobasin.web.security import accounts, credentials
from ecobasin.web.security.policy import PUBLIC, RESTRICTED_KINDS, Action, Principal, denial
from ecobasin.web.security.ratelimit import VerificationGate

if TYPE_CHECKING:
    from ecobasin.store import Store

__all__ = [
    "CSRF_HEADER",
    "FORBIDDEN",
    "SESSION_COOKIE",
    "UNAUTHORIZED",
    "AdminPrincipal",
    "CurrentPrincipal",
    "RestrictedReader",
    "SigninGuards",
    "Writer",
    "actor_of",
    "authorize",
    "authorize_kind_change",
    "authorize_sites",
    "current_principal",
    "require",
    "session_signer",
    "signin_guards",
    "unauthorized",
]

SESSION_COOKIE = "ecobasin_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Problem types of refusals (RFC 9457 ``type``).
UNAUTHORIZED = "urn:ecobasin:problem:unauthorized"
FORBIDDEN = "urn:ecobasin:problem:forbidden"
CSRF_FAILED = "urn:ecobasin:problem:csrf"

_signer_lock = threading.Lock()


def session_signer(request: Request) -> credentials.SessionSigner:
    """The app's cookie signer. Its key is ``app.state.secret_key``, else
    ``ECOBASIN_SECRET_KEY`` (settings), else the key file beside the database, re-read when
    it changes (``ecobasin secret rotate`` signs everyone out without a restart)."""
    state = request.app.state
    store: Store = state.store
    configured = getattr(state, "secret_key", None) or load_settings().secret_key
    version = (configured, None if configured else account_service.key_stamp(store.path))
    cached: tuple[object, credentials.SessionSigner] | None = getattr(state, "session_signer", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _signer_lock:
        key = accounts.session_keys(store.path, configured)
        signer = credentials.SessionSigner(key, accounts.SESSION_HOURS * 3600)
        made = (configured, None if configured else account_service.key_stamp(store.path))
        state.session_signer = (made, signer)
    return signer


@dataclass(frozen=True)
class SigninGuards:
    """The sign-in limits and the verification gate of one server (made at first use)."""

    limiter: accounts.SigninLimiter
    gate: VerificationGate


def signin_guards(request: Request) -> SigninGuards:
    """The app's :class:`SigninGuards`; the gate's slots are ``app.state.signin_gate_slots``,
    else ``ECOBASIN_SIGNIN_SLOTS`` (settings), else sized to the machine."""
    state = request.app.state
    guards: SigninGuards | None = getattr(state, "signin_guards", None)
    if guards is None:
        with _signer_lock:
            guards = getattr(state, "signin_guards", None)
            if guards is None:
                slots = getattr(state, "signin_gate_slots", None) or load_settings().signin_slots
                guards = SigninGuards(accounts.SigninLimiter(), VerificationGate(slots))
                state.signin_guards = guards
    return guards


def unauthorized(detail: str, error: str | None = None) -> ProblemError:
    """401 with the challenge a client needs (RFC 6750 §3 for Bearer tokens)."""
    challenge = 'Bearer realm="ecobasin"'
    if error:
        challenge += f', error="{error}"'
    return ProblemError(
        401,
        detail,
        type=UNAUTHORIZED,
        title="Credentials needed 需要登录",
        headers={"WWW-Authenticate": challenge},
    )


def _bearer(cursor: CursorDep, header: str) -> Principal:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized(
            "the Authorization header must be 'Bearer eb_<id>_<secret>' (an API token)",
            "invalid_request",
        )
    principal = accounts.resolve_token(cursor, value.strip())
    if principal is None:
        raise unauthorized(
            "the API token is unknown, revoked or expired, or its user is disabled",
            "invalid_token",
        )
    return principal


def authenticate(request: Request, cursor: CursorDep) -> Principal:
    """Who sent the request: token, else session cookie, else the public (sync: reads the
    store, so FastAPI runs it in the thread pool).

    A bad token is refused (401) rather than treated as the public; a bad, expired or revoked
    cookie counts as no cookie (the page then offers to sign in).
    """
    header = request.headers.get("authorization")
    if header:
        return _bearer(cursor, header)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        signer = session_signer(request)
        content = signer.loads(cookie)
        if content is not None:
            session = account_service.active_session(cursor, credentials.digest(content.session_id))
            if session is not None and session.user.user_id == content.user_id:
                return accounts.principal_of(
                    session.user,
                    "session",
                    session_id=content.session_id,
                    csrf_token=signer.csrf_token(content.session_id),
                )
    return PUBLIC


async def _sent_csrf_token(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)  # cached: the endpoint reads it again
        return value if isinstance(value, str) else None
    return None


async def current_principal(
    request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Principal:
    """The request's principal, CSRF-checked on unsafe methods of cookie sessions; also put
    on ``request.state.user`` (None for the public) and ``request.state.csrf_token`` for the
    page templates."""
    if request.method in UNSAFE_METHODS and principal.via == "session":
        sent = await _sent_csrf_token(request)
        expected = principal.csrf_token or ""
        if not sent or not credentials.tokens_equal(sent, expected):
            raise ProblemError(
                403,
                "the CSRF token is missing or wrong: a form sends it in the hidden field "
                f"'{CSRF_FIELD}', a script in the '{CSRF_HEADER}' header (GET /api/v1/me "
                "gives it); reload the page and try again",
                type=CSRF_FAILED,
                title="CSRF check failed 跨站请求校验失败",
            )
    request.state.user = principal if principal.authenticated else None
    request.state.csrf_token = principal.csrf_token
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def gate_principal(cursor: CursorDep, principal: CurrentPrincipal) -> Principal:
    """The request's principal; a gate operator's carries the site it is bound to."""
    if principal.role != "gate":
        return principal
    return replace(principal, site_id=machinery_service.gate_site_of(cursor, principal.user_id))


GatePrincipal = Annotated[Principal, Depends(gate_principal)]


def authorize(
    principal: Principal,
    action: Action,
    city_code: int | None = None,
    what: str | None = None,
) -> None:
    """Refuse unless ``principal`` may do ``action`` (on ``city_code``'s ``what``).

    Raises
    ------
    ProblemError
        401 for the public (with ``WWW-Authenticate``), 403 naming the missing right.
    """
    reason = denial(principal, action, city_code, what)
    if reason is None:
        return
    if not principal.authenticated:
        raise unauthorized(f"sign in or send an API token: {reason}")
    raise ProblemError(403, reason, type=FORBIDDEN, title="Not allowed 无权限")


def authorize_sites(principal: Principal, cities: Mapping[str, int]) -> None:
    """Refuse unless ``principal`` may write every site (site id -> city code [GB/T 2260]):
    the refusal names the first site refused and how many more (nothing is written then)."""
    refused = []
    for site, city in sorted(cities.items()):
        try:
            authorize(principal, "write", city, f"site {site}")
        except ProblemError as error:
            refused.append(error)
    if refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more sites)" if len(refused) > 1 else ""
        raise ProblemError(first.status, first.detail + more, type=first.type, title=first.title)


def authorize_kind_change(principal: Principal, site_id: str, before: str, after: str) -> None:
    """Refuse (403) a non-admin moving a site across the public/restricted line: an outlet
    made an air station would publish an enterprise's data; the reverse would hide a station."""
    crosses = (before in RESTRICTED_KINDS) != (after in RESTRICTED_KINDS)
    if crosses and principal.role != "admin":
        raise ProblemError(
            403,
            f"{principal.describe()} may not change site {site_id} from {before} to {after}: that moves it across "
            "the public/restricted line; an admin may 只有管理员可以在公开与受限类型之间更改站点类型",
            type=FORBIDDEN,
            title="Not allowed 无权限",
        )


def actor_of(principal: Principal) -> Actor:
    """The writer as :mod:`ecobasin.services.writes` needs it, with this module's checks."""
    return Actor(
        name=principal.name,
        via=principal.via,
        may_write=lambda city, what: authorize(principal, "write", city, what),
        may_write_sites=lambda cities: authorize_sites(principal, cities),
        may_change_kind=lambda site, before, after: authorize_kind_change(
            principal, site, before, after
        ),
    )


def require(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that lets the request through only if its principal may do ``action``;
    it returns the principal. Use as ``Depends(require("read_restricted"))``."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        authorize(principal, action)
        return principal

    dependency.__name__ = f"require_{action}"
    return dependency


RestrictedReader = Annotated[Principal, Depends(require("read_restricted"))]
Writer = Annotated[Principal, Depends(require("write"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
