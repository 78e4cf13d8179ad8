"""``/api/v1/ledger/…``: the carbon-inclusive ledger 碳普惠账本.

Public reads: the behaviour rules and methodologies, the totals with the head hash (``<seq>:
<hash>``, to publish and check later), the chain check, projects and their issuance. Accounts,
balances and entries concern people: they need a viewer, editor or admin. Writes go to the
audit log: behaviour events need an admin or a partner token with scope ``ledger:events`` (a
transport app), redemptions an admin or scope ``ledger:redeem`` (a merchant), donations an
admin. A partner is held to its rate limit (token bucket per partner: 429 with
``Retry-After``). A retried request with the same key is not applied twice (the recorded entry
is answered with ``replayed: true``); concurrent appends share group commits. The numbers are
those of ``ecobasin ledger …``: both ask :mod:`ecobasin.services.ledger` (over :mod:`ecobasin.store.ledger`
and the pure :mod:`ecobasin.carbon.ledger`).

Value people can spend is guarded: a redemption, and a donation from any account but a pool,
spends the holder's consent (``POST /ledger/consents`` with the holder key: a short-lived,
single-use code), and a merchant partner
credits only its own merchant accounts; pools are debited only by their administrators; a
partner's keys and event ids live in its own namespace; events older than
``ledger_max_event_age_days`` or over the partner's daily ceiling are refused; amounts beyond
what an entry may hold are 400 problems.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import Event, LedgerError, Rejection
from ecobasin.carbon.rules import RuleError
from ecobasin.errors import NotFound
from ecobasin.services import ledger as ledger_service
from ecobasin.settings import load_settings
from ecobasin.timebase import parse_instant
from ecobasin.web.deps import CursorDep, StoreViewDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import (
    AdminPrincipal,
    CurrentPrincipal,
    RestrictedReader,
    authorize,
)
from ecobasin.web.security.policy import Action, Principal
from ecobasin.web.security.ratelimit import RateLimiter

if TYPE_CHECKING:
    from ecobasin.store import Store

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=problem_responses(401, 403, 422))

MAX_EVENTS = 10_000
_CONFLICTS = ("insufficient_points", "insufficient_grams", "key_reused", "already_issued")
#: Refusals of the request itself (numbers no entry may hold, keys of another namespace).
_BAD_REQUEST = ("too_large", "below_unit", "bad_amount", "bad_key", "bad_quantity")
#: Refusals of the caller's right to move these points.
_FORBIDDEN = ("bad_consent", "bad_holder_key", "not_your_merchant", "pool_admins_only")


def _status(code: str) -> int:
    if code in _CONFLICTS:
        return 409
    if code in _BAD_REQUEST:
        return 400
    return 403 if code in _FORBIDDEN else 422


def _problem(error: LedgerError | RuleError) -> ProblemError:
    code = getattr(error, "code", "rule")
    return ProblemError(
        _status(code),
        str(error),
        type=f"urn:ecobasin:problem:ledger:{code}",
        title="Refused by the ledger 账本拒绝",
    )


LedgerStore = StoreViewDep


@dataclass(frozen=True)
class LedgerLimits:
    """The ledger's configured limits (:class:`ecobasin.settings.Settings`)."""

    max_event_age: timedelta
    partner_daily_points: Decimal


def ledger_limits(request: Request) -> LedgerLimits:
    """The limits of this app (``app.state.ledger_limits``, read from the settings once)."""
    state = request.app.state
    if getattr(state, "ledger_limits", None) is None:
        settings = load_settings()
        state.ledger_limits = LedgerLimits(
            timedelta(days=settings.ledger_max_event_age_days),
            Decimal(settings.ledger_partner_daily_points),
        )
    limits: LedgerLimits = state.ledger_limits
    return limits


LimitsDep = Annotated[LedgerLimits, Depends(ledger_limits)]
RATE_LIMITED = "urn:ecobasin:problem:rate_limited"
_limiter_guard = threading.Lock()


def rate_limiter(request: Request) -> RateLimiter:
    """The app's partner buckets (``app.state.rate_limiter``; a test sets one with its own
    clock)."""
    state = request.app.state
    with _limiter_guard:
        if getattr(state, "rate_limiter", None) is None:
            state.rate_limiter = RateLimiter()
    limiter: RateLimiter = state.rate_limiter
    return limiter


def partner_action(scope: Action) -> Any:
    """A dependency: an admin, or a partner holding ``scope`` within its rate limit."""

    def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        authorize(principal, scope)
        if principal.role == "partner" and principal.rate_per_minute and principal.burst:
            assert principal.user_id is not None
            wait = rate_limiter(request).take(
                principal.user_id, principal.rate_per_minute, principal.burst
            )
            if wait:
                raise ProblemError(
                    429,
                    f"{principal.describe()} exceeded its rate limit of "
                    f"{principal.rate_per_minute:g} requests a minute (burst {principal.burst}); "
                    f"retry after {wait} s 请求过于频繁，请稍后再试",
                    type=RATE_LIMITED,
                    title="Too many requests 请求过多",
                    headers={"Retry-After": str(wait)},
                )
        return principal

    dependency.__name__ = f"partner_{scope.replace(':', '_')}"
    return Depends(dependency)


EventPoster = Annotated[Principal, partner_action("ledger:events")]
Redeemer = Annotated[Principal, partner_action("ledger:redeem")]


# -- answers ----------------------------------------------------------------------------------
class _Open(BaseModel):
    """Answers whose rows carry the ledger's own columns (amounts as exact text)."""

    model_config = ConfigDict(extra="allow")


class LedgerRules(BaseModel):
    """A behaviour rule set (points valid [months], daily cap [points])."""

    rule_set: str
    version: str
    valid_from: str = Field(description="ISO 8601 day.")
    name_zh: str
    name_en: str
    status: str
    points_valid_months: int
    account_daily_cap_points: str | None
    sha256: str
    behaviours: list[dict[str, Any]]


class LedgerRows(BaseModel):
    """Rows of the ledger (methodologies, accounts, entries)."""

    count: int
    results: list[dict[str, Any]]


class LedgerProjects(LedgerRows):
    """Projects with their monitoring periods and issuance."""

    unit: str = Field(description="Unit of the reductions: t CO2e.")


class LedgerSummary(_Open):
    """Totals: points [points] and grams [g CO2e] in circulation, tonnes [t CO2e] issued and
    retired, the head ``<seq>:<hash>``."""

    entries: int
    head: str
    accounts: int
    by_kind: dict[str, dict[str, Any]]
    points_in_circulation: str
    grams_in_circulation: str
    issued_t: str
    retired_t: str


class LedgerVerification(BaseModel):
    """The chain check: ``ok`` false names the first bad entry."""

    ok: bool
    entries: int
    head: str
    bad_seq: int | None
    reason: str | None


class LedgerAccount(BaseModel):
    """One account with its balance and its last entries."""

    account: dict[str, Any]
    entries: list[dict[str, Any]]


class LedgerRecorded(_Open):
    """What a batch of events did: entries credited, events refused with their reasons."""

    credited: int
    rejected: int
    points: str
    grams: str
    reasons: dict[str, int]
    entries: list[dict[str, Any]]
    rejections: list[dict[str, Any]]


class LedgerAppended(BaseModel):
    """The entry written, or found when ``replayed`` (the same key was recorded before)."""

    replayed: bool
    entry: dict[str, Any]


# -- public reads ------------------------------------------------------------------------------
@router.get("/rules", response_model=LedgerRules)
def get_rules(
    rule_set: Annotated[str | None, Query(description="Rule set id.")] = None,
    version: Annotated[str | None, Query(description="Version (default: the latest).")] = None,
) -> dict[str, Any]:
    """A behaviour rule set: per behaviour the method, its numbers, points, daily cap, how the
    same behaviour from two sources is recognised, the evidence accepted and the sources."""
    try:
        chosen = ledger_service.rule_set(rule_set, version)
    except NotFound as error:
        raise ProblemError.unknown("rule_set", str(error)) from None
    return ledger_service.rules(chosen)


@router.get("/methodologies", response_model=LedgerRows)
def get_methodologies() -> dict[str, Any]:
    """Project methodologies (ER = BE − PE − LE [t CO2e]) with their inputs and sources."""
    rows = ledger_service.methodologies()
    return {"count": len(rows), "results": rows}


@router.get("/summary", response_model=LedgerSummary)
def get_summary(cursor: CursorDep) -> dict[str, Any]:
    """Totals: entries by kind, points and grams [g CO2e] in circulation, tonnes issued and
    retired, and the head ``<seq>:<hash>`` (publish it; ``ledger verify --expect-head``)."""
    return ledger_service.summary(cursor)


@router.get("/verify", response_model=LedgerVerification)
def get_verify(
    cursor: CursorDep,
    expect_head: Annotated[
        str | None, Query(description="A head published earlier, '<seq>:<hash>'.")
    ] = None,
) -> dict[str, Any]:
    """Recompute the hash chain; ``ok`` false names the first bad entry (``bad_seq``)."""
    try:
        result = ledger_service.verify(cursor, expect_head)
    except LedgerError as error:
        raise ProblemError.invalid("expect_head", str(error)) from None
    return {
        "ok": result.ok,
        "entries": result.checked,
        "head": f"{result.head_seq}:{result.head_hash}",
        "bad_seq": result.bad_seq,
        "reason": result.reason or None,
    }


@router.get("/projects", response_model=LedgerProjects)
def get_projects(cursor: CursorDep) -> dict[str, Any]:
    """Registered projects with their monitoring periods (BE, PE, LE, ER [t CO2e], verifier)
    and issuance."""
    rows = ledger_service.projects(cursor)
    return {"count": len(rows), "unit": "t CO2e", "results": rows}


# -- restricted reads --------------------------------------------------------------------------
@router.get("/accounts", response_model=LedgerRows)
def get_accounts(
    _: RestrictedReader,
    cursor: CursorDep,
    kind: Annotated[str | None, Query(description="person, organisation, merchant …")] = None,
) -> dict[str, Any]:
    """Accounts with balances: points and grams [g CO2e] (restricted: personal data)."""
    rows = ledger_service.rows(ledger_service.accounts(cursor, kind))
    return {"count": len(rows), "results": rows}


@router.get("/accounts/{account_id}", response_model=LedgerAccount)
def get_account(_: RestrictedReader, cursor: CursorDep, account_id: str) -> dict[str, Any]:
    """One account: balance and its last 100 entries."""
    try:
        return ledger_service.account(cursor, account_id)
    except NotFound as error:
        raise ProblemError(404, str(error), title="Not found 未找到") from None


@router.get("/entries", response_model=LedgerRows)
def get_entries(
    _: RestrictedReader,
    cursor: CursorDep,
    account: Annotated[str | None, Query(description="Account.")] = None,
    kind: Annotated[list[str] | None, Query(description="earn, redeem … (repeatable).")] = None,
    after: Annotated[int, Query(ge=0, description="Entries after this seq (paging).")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Entries in chain order with their hashes (audit export; page with ``after``)."""
    rows = ledger_service.rows(ledger_service.entries(cursor, account, kind, limit, after))
    return {"count": len(rows), "results": rows}


# -- admin writes --------------------------------------------------------------------------------
class EventIn(BaseModel):
    """One reported low-carbon behaviour."""

    event_id: str = Field(min_length=1, max_length=200, description="Unique id at its source.")
    account: str = Field(max_length=64)
    behaviour: str = Field(max_length=64, examples=["metro"])
    time: str = Field(max_length=40, description="ISO 8601; without an offset China Standard Time.")
    quantity: Decimal = Field(description="In the rule's unit: km, steps, days, meals, kg.")
    source: str = Field(max_length=64, description="Evidence source, e.g. metro_ticket.")
    evidence_ref: str = Field(default="", max_length=200)


class EventBatch(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)
    source: str = Field(default="api", max_length=100, description="Who sends them.")
    rule_set: str | None = None
    version: str | None = None


class RedeemIn(BaseModel):
    account: str = Field(max_length=64)
    points: Decimal = Field(gt=0, description="Points to spend [points], at most 10^12.")
    merchant: str = Field(default="", max_length=64, description="The merchant account credited.")
    key: str = Field(min_length=1, max_length=200, description="Idempotency key.")
    consent: str = Field(
        min_length=1,
        max_length=64,
        description="The holder's redemption code (POST /ledger/consents): single use, "
        "short-lived.",
    )


class DonateIn(BaseModel):
    account: str = Field(max_length=64)
    to: str = Field(max_length=64)
    points: Decimal = Field(default=Decimal(0), ge=0)
    grams: Decimal = Field(default=Decimal(0), ge=0)
    key: str = Field(min_length=1, max_length=200, description="Idempotency key.")
    consent: str | None = Field(
        default=None,
        max_length=64,
        description="The holder's consent code (every account but a pool, debited by its "
        "administrators).",
    )


class ConsentIn(BaseModel):
    """A holder's consent to one redemption or donation."""

    account: str = Field(max_length=64)
    points: Decimal = Field(
        default=Decimal(0), ge=0, description="Most points it may spend [points]."
    )
    grams: Decimal = Field(
        default=Decimal(0), ge=0, description="Most grams a donation may give [g CO2e]."
    )
    merchant: str = Field(
        default="", max_length=64, description="Only at this merchant (or to this receiver)."
    )
    seconds: int = Field(
        default=ledger_service.CONSENT_DEFAULT_SECONDS,
        ge=1,
        le=ledger_service.CONSENT_MAX_SECONDS,
        description="Lifetime [s].",
    )


class ConsentOut(BaseModel):
    """The redemption code, shown once: the holder gives it to the merchant."""

    consent_id: str
    account: str
    code: str
    merchant: str
    max_points: str
    max_grams: str
    expires_at: datetime


def _check_amounts(**amounts: Decimal) -> None:
    """Amounts beyond what one entry holds are refused (400), never a server error."""
    limits = {"points": core.MAX_POINTS, "grams": core.MAX_GRAMS}
    for name, value in amounts.items():
        if not value.is_finite() or value > limits[name]:
            raise ProblemError(
                400,
                f"{name} {value} is larger than one entry may move (at most {limits[name]}) "
                "金额过大",
                type="urn:ecobasin:problem:ledger:too_large",
                title="Refused by the ledger 账本拒绝",
            )


def _may_debit(principal: Principal, store: Store, account: str) -> None:
    """Pools are debited only by their administrators (region admins included)."""
    if ledger_service.account_kind(store, account) != "pool":
        return
    if principal.name not in ledger_service.pool_admins(store, account):
        raise ProblemError(
            403,
            f"{account} is a pool: only its administrators may debit it, not "
            f"{principal.describe()} (资金池仅限其管理员支出)",
            type="urn:ecobasin:problem:ledger:pool_admins_only",
            title="Forbidden 禁止",
        )


def _merchant_of(principal: Principal, store: Store, merchant: str) -> None:
    """A merchant partner credits only the merchant accounts it is bound to."""
    if principal.role != "partner":
        return
    own = ledger_service.partner_accounts(store, principal.name or "")
    if merchant not in own:
        held = ", ".join(own) or "none"
        raise ProblemError(
            403,
            f"{principal.describe()} may credit only its own merchant accounts ({held}), not "
            f"{merchant!r} (仅限本商户账户)",
            type="urn:ecobasin:problem:ledger:not_your_merchant",
            title="Forbidden 禁止",
        )


def _events(batch: EventBatch) -> tuple[list[Event], list[Rejection]]:
    events: list[Event] = []
    bad: list[Rejection] = []
    for i, item in enumerate(batch.events, start=1):
        ref = f"event {i} {item.event_id}"
        try:
            instant = parse_instant(item.time)
        except ValueError:
            instant = None
        event = Event(
            event_id=item.event_id,
            account=item.account,
            behaviour=item.behaviour,
            occurred_at=instant or datetime.fromisoformat("1970-01-01T00:00:00+00:00"),
            quantity=item.quantity,
            source=item.source,
            evidence_ref=item.evidence_ref,
            ref=ref,
        )
        if instant is None:
            bad.append(Rejection(event, "bad_row", f"{ref}: cannot read time {item.time!r}"))
        else:
            events.append(event)
    return events, bad


def _bad_quantities(events: list[Event]) -> list[Rejection]:
    return [
        Rejection(
            e,
            "bad_quantity",
            f"{e.ref}: quantity {e.quantity} is not a number from 0 to {core.MAX_QUANTITY}",
        )
        for e in events
        if not (e.quantity.is_finite() and 0 <= e.quantity <= core.MAX_QUANTITY)
    ]


@router.post(
    "/events", response_model=LedgerRecorded, responses=problem_responses(400, 401, 403, 422, 429)
)
def post_events(
    principal: EventPoster, store: LedgerStore, limits: LimitsDep, batch: EventBatch
) -> dict[str, Any]:
    """Credit behaviour events (admin, or a partner with scope ``ledger:events``). Idempotent
    by event id (a partner's ids in its own namespace); refused events are answered with their
    reasons and kept in ``rejected`` (source: the partner's name first). Events older than
    the configured age, or over the daily ceilings (behaviour, account, partner), are
    refused. A quantity beyond any real one (above 10^9) makes the request a 400 problem
    naming the events, which are kept aside."""
    partner = (principal.name or "") if principal.role == "partner" else ""
    source = f"{principal.name}:{batch.source}" if partner else batch.source
    try:
        chosen = carbon_rules.rule_set(batch.rule_set, batch.version)
        events, bad = _events(batch)
        absurd = _bad_quantities(events)
        if absurd:
            ledger_service.reject_events(store, absurd, source)
            listed = "; ".join(r.reason for r in absurd[:5])
            raise ProblemError(
                400,
                f"{len(absurd)} event(s) refused, nothing recorded: {listed}",
                type="urn:ecobasin:problem:ledger:bad_quantity",
                title="Refused by the ledger 账本拒绝",
            )
        ceiling = (
            ledger_service.partner_limit(store, partner, limits.partner_daily_points)
            if partner
            else None
        )
        result = ledger_service.record_events(
            store, events, chosen, source, bad,
            partner=partner, max_age=limits.max_event_age, partner_daily_points=ceiling,
        )  # fmt: skip
    except (LedgerError, RuleError) as error:
        raise _problem(error) from None
    counts = result.counts()
    accounts.audit(store.con, principal, "ledger.events", source, None, counts)
    return {
        **counts,
        "entries": [ledger_service.entry(e) for e in result.entries],
        "rejections": [
            {"ref": r.event.ref, "event_id": r.event.event_id, "code": r.code, "reason": r.reason}
            for r in result.rejections
        ],
    }


def _answer(done: ledger_service.Appended) -> dict[str, Any]:
    return {"replayed": done.replayed, "entry": ledger_service.entry(done.entries[0])}


@router.post("/consents", status_code=201, responses=problem_responses(400, 403, 422))
def post_consent(
    store: LedgerStore,
    body: ConsentIn,
    holder_key: Annotated[
        str, Header(alias="X-Holder-Key", max_length=100, description="The holder's key.")
    ],
) -> ConsentOut:
    """The account holder consents to one redemption (its app, with the holder key from
    ``ecobasin ledger account key``): a code of 18 digits, single use, valid ``seconds`` (at
    most 10 min), for at most ``points``, at ``merchant`` if named. The merchant's redemption
    must give it."""
    _check_amounts(points=body.points, grams=body.grams)
    try:
        made = ledger_service.create_consent(
            store, body.account, holder_key, body.points, body.merchant, body.seconds, body.grams
        )
    except LedgerError as error:
        raise _problem(error) from None
    return ConsentOut(
        consent_id=made.consent_id,
        account=made.account,
        code=made.code,
        merchant=made.merchant,
        max_points=str(made.max_points),
        max_grams=str(made.max_grams),
        expires_at=made.expires_at,
    )


@router.post(
    "/redeem",
    response_model=LedgerAppended,
    responses=problem_responses(400, 401, 403, 409, 422, 429),
)
def post_redeem(principal: Redeemer, store: LedgerStore, body: RedeemIn) -> dict[str, Any]:
    """Spend points (admin, or a partner with scope ``ledger:redeem``) with the holder's
    consent code; a merchant partner credits only its own merchant accounts; a pool only by
    its administrators. 403 without a valid consent, 409 when the balance is short or the
    key was used otherwise. The entry names the partner and the consent."""
    _check_amounts(points=body.points)
    _merchant_of(principal, store, body.merchant)
    _may_debit(principal, store, body.account)
    partner = (principal.name or "") if principal.role == "partner" else ""
    try:
        done = ledger_service.redeem(
            store, body.account, body.points, body.merchant, body.key,
            partner=partner, consent_code=body.consent,
        )  # fmt: skip
    except LedgerError as error:
        raise _problem(error) from None
    if not done.replayed:
        said = body.model_dump(exclude={"consent"})
        accounts.audit(store.con, principal, "ledger.redeem", body.account, None, said)
    return _answer(done)


@router.post(
    "/donate", response_model=LedgerAppended, responses=problem_responses(400, 401, 403, 409, 422)
)
def post_donate(principal: AdminPrincipal, store: LedgerStore, body: DonateIn) -> dict[str, Any]:
    """Give points or grams to another account (admin): from a pool, by its administrators;
    from any other account, with its holder's consent code (403 without)."""
    _check_amounts(points=body.points, grams=body.grams)
    _may_debit(principal, store, body.account)
    pool = ledger_service.account_kind(store, body.account) == "pool"
    try:
        done = ledger_service.donate(
            store, body.account, body.to, body.points, body.grams, body.key,
            consent_code=body.consent, require_consent=not pool,
        )  # fmt: skip
    except LedgerError as error:
        raise _problem(error) from None
    if not done.replayed:
        said = body.model_dump(exclude={"consent"})
        accounts.audit(store.con, principal, "ledger.donate", body.account, None, said)
    return _answer(done)
