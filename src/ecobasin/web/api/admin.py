"""Rights API: who am I, users (admin), API tokens (admin, or a user's own; created by sessions
only), the audit log and sign-in log (admin) and rejected records (restricted readers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ecobasin.services import accounts as account_service
from ecobasin.services import reference
from ecobasin.web.deps import CursorDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import (
    AdminPrincipal,
    CurrentPrincipal,
    RestrictedReader,
    authorize,
    signin_guards,
    unauthorized,
)
from ecobasin.web.security.policy import Principal, can

router = APIRouter(tags=["rights"], responses=problem_responses(401, 403, 422))


class Me(BaseModel):
    """Who the request is made as."""

    name: str | None = Field(description="User name; null for the public.")
    role: Literal["admin", "editor", "viewer", "partner", "enterprise", "gate", "public"]
    city_code: int | None = Field(description="An editor's city (GB/T 2260 code).")
    via: str | None = Field(description="session or 'token <id>'; null for the public.")
    csrf_token: str | None = Field(
        description="Cookie sessions only: send it as X-CSRF-Token with every POST, PATCH "
        "or DELETE."
    )
    can_read_restricted: bool
    can_administer: bool


class UserOut(BaseModel):
    name: str
    role: Literal["admin", "editor", "viewer", "partner"]  # partners: `ecobasin user add`
    city_code: int | None = Field(description="Editors: the one city they write.")
    disabled: bool
    created_at: datetime


class UserCreate(BaseModel):
    name: str = Field(min_length=2, max_length=64, examples=["cd_editor"])
    role: Literal["admin", "editor", "viewer"]
    city_code: int | None = Field(
        default=None, description="Required for editors, refused for others.", examples=[510100]
    )
    password: str | None = Field(
        default=None,
        min_length=8,
        max_length=1024,
        description="Leave out to have one generated (returned once).",
    )


class UserCreated(UserOut):
    password: str | None = Field(
        description="The generated password, shown only in this answer; null when given."
    )


class TokenOut(BaseModel):
    token_id: int
    user: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    user: str | None = Field(
        default=None, description="Whose token (admins only; default: yourself)."
    )
    expires_days: float | None = Field(
        default=None, gt=0, le=3650, description="Valid for this many days; null: until revoked."
    )


class TokenCreated(TokenOut):
    token: str = Field(
        description="Send as 'Authorization: Bearer <token>'. Shown only in this answer."
    )


class AuditItem(BaseModel):
    time: datetime
    user_name: str
    via: str
    action: str
    target: str
    city_code: int | None
    detail: dict[str, object] | None


class RejectedItem(BaseModel):
    source: str
    record_ref: str
    reason_code: str
    reason: str
    raw: str | None
    batch_id: int | None
    rejected_at: datetime


def _user_out(user: account_service.UserRow) -> UserOut:
    return UserOut(
        name=user.name,
        role=user.role,  # type: ignore[arg-type]
        city_code=user.city_code,
        disabled=user.disabled,
        created_at=user.created_at,
    )


def _token_out(token: account_service.TokenRow) -> TokenOut:
    return TokenOut(**{k: v for k, v in token.public().items()})


def _problem(error: accounts.AccountError) -> ProblemError:
    return ProblemError(error.status, str(error))


def _signed_in(principal: Principal) -> Principal:
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to manage your tokens")
    return principal


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    """The caller's identity, role and rights, and (cookie sessions) the CSRF token scripts
    send in ``X-CSRF-Token``."""
    return Me(
        name=principal.name,
        role=principal.role,
        city_code=principal.city_code,
        via=principal.via,
        csrf_token=principal.csrf_token,
        can_read_restricted=can(principal, "read_restricted"),
        can_administer=can(principal, "admin"),
    )


@router.get("/users", response_model=list[UserOut])
def list_users(_: AdminPrincipal, cursor: CursorDep) -> list[UserOut]:
    """Every user with role, city and status (admins only)."""
    return [_user_out(user) for user in account_service.list_users(cursor)]


@router.post(
    "/users",
    response_model=UserCreated,
    status_code=201,
    responses=problem_responses(409),
)
def create_user(body: UserCreate, principal: AdminPrincipal, cursor: CursorDep) -> UserCreated:
    """Create a user (admins only); without a password one is generated and returned once."""
    try:
        user, generated = accounts.create_user(
            cursor, body.name, body.role, body.city_code, body.password
        )
    except accounts.AccountError as error:
        raise _problem(error) from None
    accounts.audit(
        cursor, principal, "users.create", user.name, user.city_code, {"role": user.role}
    )
    return UserCreated(**_user_out(user).model_dump(), password=generated)


@router.post("/users/{name}/disable", response_model=UserOut, responses=problem_responses(404, 409))
def disable_user(name: str, principal: AdminPrincipal, cursor: CursorDep) -> UserOut:
    """Disable a user (admins only): their sessions end and their tokens stop working."""
    if name == principal.name:
        raise ProblemError(409, "you cannot disable yourself; ask another admin")
    try:
        user = accounts.disable_user(cursor, name)
    except accounts.AccountError as error:
        raise _problem(error) from None
    accounts.audit(cursor, principal, "users.disable", name)
    return _user_out(user)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    principal: CurrentPrincipal,
    cursor: CursorDep,
    user: Annotated[str | None, Query(description="Admins: only this user's tokens.")] = None,
) -> list[TokenOut]:
    """API tokens, newest first: an admin's listing shows everyone's (or ``user``'s), anyone
    else's their own. Secrets are never shown again."""
    _signed_in(principal)
    if can(principal, "admin"):
        if user is None:
            return [_token_out(t) for t in account_service.list_tokens(cursor)]
        owner = account_service.user_by_name(cursor, user)
        if owner is None:
            raise ProblemError.unknown("user", f"no user {user!r}")
        return [_token_out(t) for t in account_service.list_tokens(cursor, owner.user_id)]
    if user is not None and user != principal.name:
        authorize(principal, "admin")
    return [_token_out(t) for t in account_service.list_tokens(cursor, principal.user_id)]


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=problem_responses(404, 409),
)
def create_token(body: TokenCreate, principal: CurrentPrincipal, cursor: CursorDep) -> TokenCreated:
    """Create an API token for yourself (or, admins, for ``user``); the token is returned only
    in this answer."""
    _signed_in(principal)
    try:
        accounts.refuse_token_minting(principal)  # sessions only
    except accounts.AccountError as error:
        raise _problem(error) from None
    owner = body.user or principal.name
    assert owner is not None
    if owner != principal.name:
        authorize(principal, "admin")
    try:
        record, text = accounts.create_token(cursor, owner, body.name, body.expires_days)
    except accounts.AccountError as error:
        raise _problem(error) from None
    accounts.audit(cursor, principal, "tokens.create", str(record.token_id), None, {"user": owner})
    return TokenCreated(**_token_out(record).model_dump(), token=text)


@router.delete("/tokens/{token_id}", response_model=TokenOut, responses=problem_responses(404, 409))
def revoke_token(token_id: int, principal: CurrentPrincipal, cursor: CursorDep) -> TokenOut:
    """Revoke a token: your own, or (admins) anyone's."""
    _signed_in(principal)
    record = account_service.token(cursor, token_id)
    if record is None:
        raise ProblemError(404, f"no token {token_id}")
    if record.user_id != principal.user_id:
        authorize(principal, "admin")
    try:
        revoked = accounts.revoke_token(cursor, token_id)
    except accounts.AccountError as error:
        raise _problem(error) from None
    accounts.audit(
        cursor, principal, "tokens.revoke", str(token_id), None, {"user": record.user_name}
    )
    return _token_out(revoked)


@router.get("/audit", response_model=list[AuditItem])
def audit_log(
    _: AdminPrincipal,
    cursor: CursorDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest entries to return.")] = 100,
) -> list[AuditItem]:
    """The latest writes (who, how, what, when), newest first (admins only)."""
    return [AuditItem(**vars(entry)) for entry in account_service.audit_entries(cursor, limit)]


class SigninItem(BaseModel):
    time: datetime
    user_name: str = Field(description="As typed; may name no user.")
    ip: str | None
    ok: bool
    reason: str = Field(
        description="ok, bad_password, unknown_user, disabled, rate_limited (refused by the "
        "limits), busy (no verification slot)"
    )


class SigninGate(BaseModel):
    """The verification gate since the server started (docs/security.md)."""

    slots: int = Field(description="Argon2 verifications allowed at once.")
    in_flight: int
    peak_in_flight: int
    waiting: int
    verified: int
    refused_busy: int


@router.get("/signins", response_model=list[SigninItem])
def signins(
    _: AdminPrincipal,
    cursor: CursorDep,
    failures: Annotated[bool, Query(description="Only failed and refused sign-ins.")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest entries to return.")] = 200,
) -> list[SigninItem]:
    """The latest sign-in attempts, newest first (admins only)."""
    entries = account_service.signin_entries(cursor, failures_only=failures, limit=limit)
    return [SigninItem(**vars(entry)) for entry in entries]


@router.get("/signins/gate", response_model=SigninGate)
def signin_gate(_: AdminPrincipal, request: Request) -> SigninGate:
    """How many password verifications run, ran at most and were refused (admins only)."""
    return SigninGate(**vars(signin_guards(request).gate.stats))


@router.get("/rejected", response_model=list[RejectedItem])
def rejected(
    _: RestrictedReader,
    cursor: CursorDep,
    source: Annotated[str | None, Query(description="Only records of this source.")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000, description="At most this many.")] = 1000,
) -> list[RejectedItem]:
    """Records kept aside with their reason, oldest first (viewers, editors, admins)."""
    frame = reference.rejected(cursor, source=source, limit=limit)
    frame["batch_id"] = frame["batch_id"].astype(object).where(frame["batch_id"].notna(), None)
    frame["raw"] = frame["raw"].astype(object).where(frame["raw"].notna(), None)
    return [RejectedItem.model_validate(row) for row in frame.to_dict("records")]
