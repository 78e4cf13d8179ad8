"""ASGI middleware guarding every request before the app reads it.

* **Cookie cap** — a ``Cookie`` header above ``max_cookie_bytes`` is answered 431 before any
  cookie parser sees it (CPython's ``http.cookies`` is quadratic before 3.11.10/3.12.6,
  CVE-2024-7592; OWASP ASVS 4.0 V12.1.1, V13.1.5).
* **Body cap** — a declared ``Content-Length`` above ``max_body_bytes`` is answered 413 at
  once; a chunked body is counted as it arrives and refused with 413 at the cap (V13.1.5).
* **Credentials first** — an unsafe request to ``/api/`` is authenticated from its headers
  before its body is read: no credentials, 401 without reading a byte of it (V4.1.1).
* **Security headers** on every response: a Content-Security-Policy without inline script and
  with ``frame-ancestors 'none'``, ``X-Content-Type-Options``, ``Referrer-Policy`` (V14.4).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Match

from ecobasin.limits import Limits
from ecobasin.web.problems import Problem, ProblemError, problem_response

__all__ = [
    "API_DOCS_CONTENT_SECURITY_POLICY",
    "CONTENT_SECURITY_POLICY",
    "DOCUMENT_CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "RequestGuard",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _policy(style: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            style,
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


#: No inline or foreign script, and no <style> element or foreign stylesheet: an injected
#: <style> could read a page's values through attribute selectors (CSS exfiltration). Style
#: *attributes* stay allowed (``style-src-attr``, CSP Level 3): ECharts writes its tooltips'
#: colour markers as ``style="…"`` markup, and a style attribute cannot select or load.
CONTENT_SECURITY_POLICY = _policy("style-src 'self'; style-src-attr 'unsafe-inline'")
#: ``/docs`` and ``/redoc`` only (set by their routes): the vendored Swagger UI and Redoc
#: (styled-components) insert <style> elements at run time.
API_DOCS_CONTENT_SECURITY_POLICY = _policy("style-src 'self' 'unsafe-inline'")
#: Stored documents served as HTML (bulletins, scorecards, consultation reports): standalone
#: files with their own inline <style>; no script at all, nothing fetched but images and fonts.
DOCUMENT_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_TOO_LARGE = "urn:ecobasin:problem:body-too-large"
HEADER_TOO_LARGE = "urn:ecobasin:problem:header-too-large"


class BodyTooLargeError(Exception):
    """The body passed ``max_body_bytes`` while it was being read."""


#: Routes an account holder's app calls with its holder key (``X-Holder-Key``) instead of a
#: user's credentials.
HOLDER_ROUTES = frozenset({"/api/v1/ledger/consents"})


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", ()) if key == name]


def _is_api_route(scope: Scope) -> bool:
    """Whether an API route takes this method and path (else the app's 404 or 405 answers,
    without reading the body)."""
    if not scope["path"].startswith("/api/"):
        return False
    routes = scope["app"].router.routes
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def _with_security_headers(message: Message) -> Message:
    """``message`` (a response start) with the security headers it does not set itself."""
    headers = list(message.get("headers", ()))
    present = {key.lower() for key, _ in headers}
    headers.extend(pair for pair in SECURITY_HEADERS if pair[0] not in present)
    return {**message, "headers": headers}


class RequestGuard:
    """Caps on cookies and bodies, credentials before bodies, security headers (pure ASGI,
    so nothing upstream has parsed the request yet)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_security_headers(message)
            await send(message)

        refusal = await self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        await self._run_capped(scope, receive, secured)

    async def _refusal(self, scope: Scope) -> Any:
        """A response refusing the request from its head alone, or None to go on."""
        cookie = sum(len(value) for value in _header(scope, b"cookie"))
        if cookie > self.limits.max_cookie_bytes:
            return self._problem(
                scope,
                431,
                HEADER_TOO_LARGE,
                f"the Cookie header has {cookie} bytes, above the limit of "
                f"{self.limits.max_cookie_bytes}; clear this site's cookies",
            )
        if scope["method"] in UNSAFE_METHODS and _is_api_route(scope):
            refused = await self._unauthenticated(scope)
            if refused is not None:
                return refused
        declared = self._declared_length(scope)
        if declared is not None and declared > self.limits.max_body_bytes:
            return self._too_large(scope, f"the body declares {declared} bytes")
        return None

    def _declared_length(self, scope: Scope) -> int | None:
        values = _header(scope, b"content-length")
        try:
            return int(values[0]) if values else None
        except ValueError:
            return None  # h11 refuses a malformed Content-Length before we see it

    async def _unauthenticated(self, scope: Scope) -> Any:
        """401 for an unsafe API request without valid credentials, read from the headers
        only (the app authenticates again, with the CSRF check, once the body is read)."""
        from ecobasin.web.security import deps  # late: the security package imports web

        request = Request(scope)
        holder_key = request.headers.get("x-holder-key")
        if holder_key and scope["path"] in HOLDER_ROUTES:
            return await self._unknown_holder(scope, holder_key)
        if not request.headers.get("authorization") and not request.cookies.get(
            deps.SESSION_COOKIE
        ):
            error = deps.unauthorized("sign in or send an API token: writes need credentials")
            return self._from_error(scope, error)
        store = scope["app"].state.store
        cursor = store.cursor()
        try:
            principal = await run_in_threadpool(deps.authenticate, request, cursor)
        except ProblemError as refused:
            return self._from_error(scope, refused)
        finally:
            cursor.close()
        if not principal.authenticated:
            ended = deps.unauthorized("the session has ended; sign in again")
            return self._from_error(scope, ended)
        return None

    async def _unknown_holder(self, scope: Scope, holder_key: str) -> Any:
        """401 unless ``holder_key`` is an account holder's key (the holder's app has no user
        account: its key is its credential, checked again with the account by the route)."""
        from ecobasin.services import ledger as ledger_service
        from ecobasin.web.security import deps

        cursor = scope["app"].state.store.cursor()
        try:
            account = await run_in_threadpool(ledger_service.holder_key_account, cursor, holder_key)
        finally:
            cursor.close()
        if account is None:
            return self._from_error(scope, deps.unauthorized("unknown holder key"))
        return None

    async def _run_capped(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with the body counted; past the cap the answer becomes 413."""
        limit = self.limits.max_body_bytes
        state = {"read": 0, "over": False, "replied": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["over"] = True
                    raise BodyTooLargeError
            return message

        async def replace_when_over(message: Message) -> None:
            if not state["over"]:
                await send(message)
            elif message["type"] == "http.response.start" and not state["replied"]:
                state["replied"] = True  # the app's own error answer is replaced by a 413
                await self._too_large(scope, f"the body passed {limit} bytes")(scope, receive, send)

        try:
            await self.app(scope, counted, replace_when_over)
        except BodyTooLargeError:
            if not state["replied"]:
                await self._too_large(scope, f"the body passed {limit} bytes")(scope, receive, send)

    def _too_large(self, scope: Scope, what: str) -> Any:
        return self._problem(
            scope,
            413,
            BODY_TOO_LARGE,
            f"{what}, above the limit of {self.limits.max_body_bytes} bytes "
            "(max_body_bytes); send smaller batches",
        )

    def _problem(self, scope: Scope, status: int, kind: str, detail: str) -> Any:
        title = {413: "Content Too Large 请求体过大", 431: "Header Too Large 请求头过大"}
        problem = Problem(type=kind, title=title[status], status=status, detail=detail)
        return problem_response(Request(scope), problem, {"Connection": "close"})

    def _from_error(self, scope: Scope, error: ProblemError) -> Any:
        problem = Problem(
            type=error.type, title=error.title, status=error.status, detail=error.detail
        )
        return problem_response(Request(scope), problem, error.headers)
