"""Sign-in, sign-out and administration pages (server-side, Jinja2, 中文 / English).

* ``GET/POST /signin``: user name and password; the form carries a CSRF token tied to a
  pre-session cookie (login CSRF); failures show a message in both languages, too many show the
  rate-limit message with ``Retry-After`` (429).
* ``POST /signout``: ends the session (CSRF-checked like every form post).
* ``GET /admin`` and its form posts: users with roles and cities, create and disable users,
  API tokens (create: shown once; revoke), the latest writes and failed sign-ins. Admins only: others are sent to
  sign in, or refused (403) with the reason.

Rights are decided by :mod:`.policy` through :mod:`.deps`, as for the API.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ecobasin import catalog
from ecobasin.services import accounts as account_service
from ecobasin.web.deps import CursorDep, RegionDep
from ecobasin.web.pages.dashboard import page_lang, templates
from ecobasin.web.security import accounts, credentials
from ecobasin.web.security.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    session_signer,
    signin_guards,
)
from ecobasin.web.security.policy import Principal, denial

if TYPE_CHECKING:
    from ecobasin.store import Cursor

__all__ = ["LABELS", "SIGNIN_CSRF_COOKIE", "router"]

router = APIRouter(include_in_schema=False)

SIGNIN_CSRF_COOKIE = "ecobasin_signin_csrf"

#: Page labels, Chinese and English (the page shows those of its language).
LABELS: dict[str, tuple[str, str]] = {
    "signin_title": ("登录", "Sign in"),
    "signin_submit": ("登录", "Sign in"),
    "signin_hint": (
        "账户由管理员创建（ecobasin user add）。",
        "Accounts are created by an administrator (ecobasin user add).",
    ),
    "already_signed_in": ("当前已登录", "Signed in as"),
    "user_name": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "admin_title": ("系统管理", "Administration"),
    "users": ("用户", "Users"),
    "role": ("角色", "Role"),
    "city": ("城市", "City"),
    "status": ("状态", "Status"),
    "created": ("创建时间", "Created"),
    "active": ("有效", "active"),
    "disabled": ("已停用", "disabled"),
    "revoked": ("已吊销", "revoked"),
    "disable": ("停用", "Disable"),
    "revoke": ("吊销", "Revoke"),
    "create": ("创建", "Create"),
    "create_user": ("新建用户", "New user"),
    "city_for_editors": ("城市（仅编辑）", "City (editors only)"),
    "password_optional": ("密码（留空则随机生成）", "Password (empty: generated)"),
    "role_admin": ("管理员", "admin"),
    "role_editor": ("编辑", "editor"),
    "role_viewer": ("查看者", "viewer"),
    "role_partner": ("合作方", "partner"),
    "whole_region": ("全区域", "whole region"),
    "tokens": ("接口令牌", "API tokens"),
    "token_name": ("用途", "Purpose"),
    "expires": ("到期", "Expires"),
    "never": ("不过期", "never"),
    "last_used": ("最近使用", "Last used"),
    "create_token": ("新建令牌", "New token"),
    "expires_days": ("有效天数（可空）", "Valid days (optional)"),
    "shown_once": (
        "请立即复制，此内容只显示这一次：",
        "Copy it now; it is shown only this once:",
    ),
    "audit": ("最近写入记录", "Latest writes"),
    "time": ("时间", "Time"),
    "signin_failures": ("最近登录失败", "Latest failed sign-ins"),
    "address": ("地址", "Address"),
    "reason": ("原因", "Reason"),
    "via": ("方式", "Via"),
    "action": ("操作", "Action"),
    "target": ("对象", "Target"),
}

#: Messages shown in both languages whatever the page language (errors must be understood).
BAD_CREDENTIALS = "用户名或密码错误。 Wrong user name or password."
FORM_EXPIRED = "表单已过期，请重新提交。 The form has expired; please submit it again."


def _rate_limited(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        f"登录失败次数过多，请 {minutes} 分钟后再试。 "
        f"Too many failed sign-ins; try again in {minutes} min."
    )


def _busy(seconds: int) -> str:
    return (
        f"登录请求过多，请 {seconds} 秒后再试。 "
        f"The server is busy with sign-ins; try again in {seconds} s."
    )


def labels(request: Request) -> dict[str, str]:
    """The labels in the page's language."""
    index = 0 if page_lang(request) == "zh" else 1
    return {key: pair[index] for key, pair in LABELS.items()}


def _safe_next(target: str | None) -> str:
    """Only paths on this site (no ``//host`` or ``scheme:``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


# -- sign-in -------------------------------------------------------------------------------
def _signin_page(
    request: Request,
    *,
    next_path: str,
    name: str = "",
    error: str | None = None,
    status: int = 200,
    who: Principal | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = request.cookies.get(SIGNIN_CSRF_COOKIE) or credentials.new_secret()
    response = templates.TemplateResponse(
        request,
        "signin.html",
        {
            "s": labels(request),
            "page": "signin",
            "form_token": token,
            "next": next_path,
            "name": name,
            "error": error,
            "who_name": who.name if who and who.authenticated else None,
            "user": who if who and who.authenticated else None,
            "csrf_token": who.csrf_token if who else None,
        },
        status_code=status,
        headers=headers,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/signin",
    )
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, principal: CurrentPrincipal, next: str = "/") -> HTMLResponse:
    """The sign-in form."""
    return _signin_page(request, next_path=_safe_next(next), who=principal)


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    cursor: CursorDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (limits first, then a slot of the verification gate); on success
    open a session and go to ``next``. Async: a sign-in waiting for a slot holds no thread."""
    target = _safe_next(next)
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE)
    if not expected or not credentials.tokens_equal(csrf_token, expected):
        return _signin_page(request, next_path=target, name=name, error=FORM_EXPIRED, status=403)
    ip = _client_ip(request)
    guards = signin_guards(request)
    try:
        result = await accounts.sign_in(
            cursor, name.strip(), password, ip, limiter=guards.limiter, gate=guards.gate
        )
    except accounts.RateLimited as limited:
        message = _busy(limited.retry_after) if limited.busy else _rate_limited(limited.retry_after)
        return _signin_page(
            request,
            next_path=target,
            name=name,
            error=message,
            status=429,
            headers={"Retry-After": str(limited.retry_after)},
        )
    if result is None:
        return _signin_page(request, next_path=target, name=name, error=BAD_CREDENTIALS, status=401)
    session_id, _ = await to_thread.run_sync(accounts.start_session, cursor, result.user, ip)
    signer = session_signer(request)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signer.dumps(credentials.SessionCookie(result.user.user_id, session_id)),
        max_age=signer.max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, cursor: CursorDep, principal: CurrentPrincipal) -> Response:
    """End the session (the form's CSRF token was checked by ``CurrentPrincipal``)."""
    if principal.session_id:
        account_service.revoke_session(cursor, credentials.digest(principal.session_id))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- administration ------------------------------------------------------------------------
def _admin_page(
    request: Request,
    cursor: Cursor,
    region: catalog.Region,
    principal: Principal,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    lang = page_lang(request)
    city_frame = catalog.cities().set_index("code")
    name_column = "name_zh" if lang == "zh" else "name_en"
    city_names = {int(code): str(city_frame.at[code, name_column]) for code in city_frame.index}
    context: dict[str, Any] = {
        "s": labels(request),
        "page": "admin",
        "user": principal,
        "who_name": principal.name,
        "csrf_token": principal.csrf_token,
        "forbidden": None,
        "users": [],
        "tokens": [],
        "audit": [],
        "signin_failures": [],
        "cities": [(code, city_names.get(code, str(code))) for code in region.cities],
        "city_names": city_names,
        "notice": None,
        "secret": None,
        "error": None,
    }
    if "forbidden" not in extra:
        context.update(
            users=account_service.list_users(cursor),
            tokens=account_service.list_tokens(cursor),
            audit=account_service.audit_entries(cursor, 20),
            signin_failures=account_service.signin_entries(cursor, failures_only=True, limit=50),
        )
    context.update(extra)
    return templates.TemplateResponse(request, "admin.html", context, status_code=status)


def _admin_gate(
    request: Request,
    cursor: Cursor,
    region: catalog.Region,
    principal: Principal,
) -> Response | None:
    """Send the public to sign in; refuse non-admins (403) with the reason; None for admins."""
    if not principal.authenticated:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    reason = denial(principal, "admin")
    if reason is not None:
        return _admin_page(request, cursor, region, principal, status=403, forbidden=reason)
    return None


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request, cursor: CursorDep, region: RegionDep, principal: CurrentPrincipal
) -> Response:
    """Users, tokens and the latest writes (admins only)."""
    return _admin_gate(request, cursor, region, principal) or _admin_page(
        request, cursor, region, principal
    )


def _after(
    request: Request,
    cursor: Cursor,
    region: catalog.Region,
    principal: Principal,
    action: Any,
) -> Response:
    """Run an admin form's action; render the page with its notice or its error."""
    gate = _admin_gate(request, cursor, region, principal)
    if gate is not None:
        return gate
    try:
        notice, secret = action()
    except accounts.AccountError as error:
        return _admin_page(
            request, cursor, region, principal, status=error.status, error=str(error)
        )
    return _admin_page(request, cursor, region, principal, notice=notice, secret=secret)


@router.post("/admin/users", response_class=HTMLResponse)
def admin_create_user(
    request: Request,
    cursor: CursorDep,
    region: RegionDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form()],
    city: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    def create() -> tuple[str, str | None]:
        user, generated = accounts.create_user(
            cursor, name.strip(), role, city.strip() or None, password or None
        )
        accounts.audit(cursor, principal, "users.create", user.name, user.city_code, {"role": role})
        notice = f"用户 {user.name} 已创建 · user {user.name} created ({user.role})"
        return notice, generated

    return _after(request, cursor, region, principal, create)


@router.post("/admin/users/{name}/disable", response_class=HTMLResponse)
def admin_disable_user(
    request: Request, cursor: CursorDep, region: RegionDep, principal: CurrentPrincipal, name: str
) -> Response:
    def disable() -> tuple[str, str | None]:
        if name == principal.name:
            raise accounts.AccountError("you cannot disable yourself 不能停用自己", status=409)
        accounts.disable_user(cursor, name)
        accounts.audit(cursor, principal, "users.disable", name)
        return f"用户 {name} 已停用 · user {name} disabled", None

    return _after(request, cursor, region, principal, disable)


@router.post("/admin/tokens", response_class=HTMLResponse)
def admin_create_token(
    request: Request,
    cursor: CursorDep,
    region: RegionDep,
    principal: CurrentPrincipal,
    user: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=100)],
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    def create() -> tuple[str, str | None]:
        try:
            days = float(expires_days) if expires_days.strip() else None
        except ValueError:
            raise accounts.AccountError(
                f"valid days must be a number (got {expires_days!r})"
            ) from None
        record, text = accounts.create_token(cursor, user, name, days)
        accounts.audit(
            cursor, principal, "tokens.create", str(record.token_id), None, {"user": user}
        )
        return f"令牌 {record.token_id} 已创建 · token {record.token_id} created for {user}", text

    return _after(request, cursor, region, principal, create)


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def admin_revoke_token(
    request: Request,
    cursor: CursorDep,
    region: RegionDep,
    principal: CurrentPrincipal,
    token_id: int,
) -> Response:
    def revoke() -> tuple[str, str | None]:
        accounts.revoke_token(cursor, token_id)
        accounts.audit(cursor, principal, "tokens.revoke", str(token_id))
        return f"令牌 {token_id} 已吊销 · token {token_id} revoked", None

    return _after(request, cursor, region, principal, revoke)
