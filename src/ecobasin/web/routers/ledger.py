"""``/api/v1/ledger/…``: the carbon-inclusive ledger 碳普惠账本.

Public reads: the behaviour rules and methodologies, the totals with the head hash (``<seq>:
<hash>``, to publish and check later), the chain check, projects and their issuance. Accounts,
balances and entries concern people: they need a viewer, editor or admin. Writes go to the
audit log: behaviour events need an admin or a partner token with scope ``ledger:events`` (a
transport app), redemptions an admin or scope ``ledger:redeem`` (a merchant), donations an
admin. A partner is held to its rate limit (token bucket per partner: 429 with
``Retry-After``). A retried request with the same key is not applied twice (the recorded entry
is answered with ``replayed: true``); concurrent appends share group commits. The numbers are those of ``ecobasin ledger …``: both go through
:mod:`ecobasin.store.ledger` and the pure :mod:`ecobasin.carbon.ledger`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import Entry, Event, LedgerError, Rejection
from ecobasin.carbon.rules import RuleError
from ecobasin.store import Store
from ecobasin.store import ledger as store_ledger
from ecobasin.timebase import parse_instant
from ecobasin.web.deps import CursorDep, StoreDep
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

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=problem_responses(401, 403, 422))

MAX_EVENTS = 10_000
_CONFLICTS = ("insufficient_points", "insufficient_grams", "key_reused", "already_issued")


def _problem(error: LedgerError | RuleError) -> ProblemError:
    code = getattr(error, "code", "rule")
    return ProblemError(
        409 if code in _CONFLICTS else 422,
        str(error),
        type=f"urn:ecobasin:problem:ledger:{code}",
        title="Refused by the ledger 账本拒绝",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _entry(entry: Entry) -> dict[str, Any]:
    return {k: _plain(v) for k, v in entry.as_row().items()}


def ledger_store(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request's writes."""
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


LedgerStore = Annotated[Store, Depends(ledger_store)]
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


# -- public reads ------------------------------------------------------------------------------
@router.get("/rules")
def get_rules(
    rule_set: Annotated[str | None, Query(description="Rule set id.")] = None,
    version: Annotated[str | None, Query(description="Version (default: the latest).")] = None,
) -> dict[str, Any]:
    """A behaviour rule set: per behaviour the method, its numbers, points, daily cap, how the
    same behaviour from two sources is recognised, the evidence accepted and the sources."""
    try:
        chosen = carbon_rules.rule_set(rule_set, version)
    except RuleError as error:
        raise ProblemError.unknown("rule_set", str(error)) from None
    behaviours = [
        {
            "behaviour": r.behaviour,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "method": r.method,
            "unit": r.unit,
            "numbers": {k: str(v) for k, v in r.params.items()},
            "daily_cap_points": _plain(r.daily_cap_points),
            "dedupe": r.dedupe,
            "dedupe_window_minutes": r.dedupe_window_minutes,
            "evidence": list(r.evidence),
            "source": r.source,
        }
        for r in chosen.behaviours.values()
    ]
    return {
        "rule_set": chosen.id,
        "version": chosen.version,
        "valid_from": chosen.valid_from.isoformat(),
        "name_zh": chosen.name_zh,
        "name_en": chosen.name_en,
        "status": chosen.status,
        "points_valid_months": chosen.valid_months,
        "sha256": chosen.sha256,
        "behaviours": behaviours,
    }


@router.get("/methodologies")
def get_methodologies() -> dict[str, Any]:
    """Project methodologies (ER = BE − PE − LE [t CO2e]) with their inputs and sources."""
    rows = [
        {
            "methodology": m.id,
            "name_zh": m.name_zh,
            "name_en": m.name_en,
            "kind": m.kind,
            "inputs": list(m.inputs),
            "grid_factor": m.grid_factor or None,
            "source": m.source,
        }
        for m in carbon_rules.methodologies().values()
    ]
    return {"count": len(rows), "results": rows}


@router.get("/summary")
def get_summary(cursor: CursorDep) -> dict[str, Any]:
    """Totals: entries by kind, points and grams [g CO2e] in circulation, tonnes issued and
    retired, and the head ``<seq>:<hash>`` (publish it; ``ledger verify --expect-head``)."""
    result: dict[str, Any] = _plain(store_ledger.summary(cursor))
    return result


@router.get("/verify")
def get_verify(
    cursor: CursorDep,
    expect_head: Annotated[
        str | None, Query(description="A head published earlier, '<seq>:<hash>'.")
    ] = None,
) -> dict[str, Any]:
    """Recompute the hash chain; ``ok`` false names the first bad entry (``bad_seq``)."""
    try:
        result = store_ledger.verify(cursor, expect_head)
    except LedgerError as error:
        raise ProblemError.invalid("expect_head", str(error)) from None
    return {
        "ok": result.ok,
        "entries": result.checked,
        "head": f"{result.head_seq}:{result.head_hash}",
        "bad_seq": result.bad_seq,
        "reason": result.reason or None,
    }


@router.get("/projects")
def get_projects(cursor: CursorDep) -> dict[str, Any]:
    """Registered projects with their monitoring periods (BE, PE, LE, ER [t CO2e], verifier)
    and issuance."""
    periods = _rows(store_ledger.monitoring(cursor))
    rows = _rows(store_ledger.projects(cursor))
    for row in rows:
        row["periods"] = [p for p in periods if p["project_id"] == row["project_id"]]
    return {"count": len(rows), "unit": "t CO2e", "results": rows}


# -- restricted reads --------------------------------------------------------------------------
@router.get("/accounts")
def get_accounts(
    _: RestrictedReader,
    cursor: CursorDep,
    kind: Annotated[str | None, Query(description="person, organisation, merchant …")] = None,
) -> dict[str, Any]:
    """Accounts with balances: points and grams [g CO2e] (restricted: personal data)."""
    rows = _rows(store_ledger.accounts(cursor, kind))
    return {"count": len(rows), "results": rows}


@router.get("/accounts/{account_id}")
def get_account(_: RestrictedReader, cursor: CursorDep, account_id: str) -> dict[str, Any]:
    """One account: balance and its last 100 entries."""
    frame = store_ledger.accounts(cursor)
    found = frame[frame["account_id"] == account_id]
    if found.empty:
        raise ProblemError(404, f"no ledger account {account_id!r}", title="Not found 未找到")
    recent = store_ledger.entries(cursor, account_id).tail(100)
    return {"account": _rows(found)[0], "entries": _rows(recent)}


@router.get("/entries")
def get_entries(
    _: RestrictedReader,
    cursor: CursorDep,
    account: Annotated[str | None, Query(description="Account.")] = None,
    kind: Annotated[list[str] | None, Query(description="earn, redeem … (repeatable).")] = None,
    after: Annotated[int, Query(ge=0, description="Entries after this seq (paging).")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Entries in chain order with their hashes (audit export; page with ``after``)."""
    rows = _rows(store_ledger.entries(cursor, account, kind, limit, after))
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
    points: Decimal = Field(gt=0)
    merchant: str = Field(default="", max_length=64)
    key: str = Field(min_length=1, max_length=200, description="Idempotency key.")


class DonateIn(BaseModel):
    account: str = Field(max_length=64)
    to: str = Field(max_length=64)
    points: Decimal = Field(default=Decimal(0), ge=0)
    grams: Decimal = Field(default=Decimal(0), ge=0)
    key: str = Field(min_length=1, max_length=200, description="Idempotency key.")


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


@router.post("/events", responses=problem_responses(401, 403, 422, 429))
def post_events(principal: EventPoster, store: LedgerStore, batch: EventBatch) -> dict[str, Any]:
    """Credit behaviour events (admin, or a partner with scope ``ledger:events``). Idempotent
    by event id; refused events are answered with their reasons and kept in ``rejected``
    (source: the partner's name first)."""
    source = f"{principal.name}:{batch.source}" if principal.role == "partner" else batch.source
    try:
        chosen = carbon_rules.rule_set(batch.rule_set, batch.version)
        events, bad = _events(batch)
        result = store_ledger.record_events(store, events, chosen, source, bad)
    except (LedgerError, RuleError) as error:
        raise _problem(error) from None
    counts = result.counts()
    accounts.audit(store.con, principal, "ledger.events", source, None, counts)
    return {
        **counts,
        "entries": [_entry(e) for e in result.entries],
        "rejections": [
            {"ref": r.event.ref, "event_id": r.event.event_id, "code": r.code, "reason": r.reason}
            for r in result.rejections
        ],
    }


def _answer(done: store_ledger.Appended) -> dict[str, Any]:
    return {"replayed": done.replayed, "entry": _entry(done.entries[0])}


@router.post("/redeem", responses=problem_responses(401, 403, 409, 422, 429))
def post_redeem(principal: Redeemer, store: LedgerStore, body: RedeemIn) -> dict[str, Any]:
    """Spend points (admin, or a partner with scope ``ledger:redeem``); 409 when the balance
    is short or the key was used otherwise."""
    try:
        done = store_ledger.redeem(store, body.account, body.points, body.merchant, body.key)
    except LedgerError as error:
        raise _problem(error) from None
    if not done.replayed:
        accounts.audit(store.con, principal, "ledger.redeem", body.account, None, body.model_dump())
    return _answer(done)


@router.post("/donate", responses=problem_responses(401, 403, 409, 422))
def post_donate(principal: AdminPrincipal, store: LedgerStore, body: DonateIn) -> dict[str, Any]:
    """Give points or grams to another account (admin)."""
    try:
        done = store_ledger.donate(store, body.account, body.to, body.points, body.grams, body.key)
    except LedgerError as error:
        raise _problem(error) from None
    if not done.replayed:
        accounts.audit(store.con, principal, "ledger.donate", body.account, None, body.model_dump())
    return _answer(done)
