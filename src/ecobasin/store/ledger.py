"""SQL of the carbon-inclusive ledger's operations 碳普惠账本 (migration 9).

The only writer of the ``ledger_*`` tables. Entries are appended, never updated or deleted: this
module has no function that changes or removes one, and :func:`verify` recomputes the hash chain
so a change made directly in SQL (an amount, a removed or reordered row, a rewritten tail) is
found and the first bad entry named.

Appends are serialised: one lock per database file in this process (DuckDB lets one process
write a file), then one transaction that reads the head, chains the new entries after it,
checks balances and moves the head. Two writers therefore never fork the chain, and concurrent
redemptions never overdraw. A crash before COMMIT leaves the ledger as it was.

Single appends (:func:`append`: redeem, donate, retire, the API) go through the group-commit
engine of :mod:`ecobasin.store.ledger_commit`; the tables every operation shares (accounts,
rule sets, head, balances, the one INSERT of entries) are :mod:`ecobasin.store.ledger_tables`;
the pure rules (the hash chain, balances, earning, day bounds) are :mod:`ecobasin.carbon.ledger`.

Partners and holders (migration 12): a partner's idempotency keys and event ids live
in a namespace of its own (``partner:<name>:<key>``); a redemption may spend a holder's consent
(:func:`create_consent`: short-lived, single use, at most so many points, at one merchant if
named), and the entry names the partner and the consent inside the hash chain; merchant
partners are bound to their merchant accounts (:func:`bind_partner_account`), pools to their
administrators (:func:`add_pool_admin`), partners to a daily ceiling of points credited
(:func:`set_partner_limit`). :func:`verify` also checks that no balance is ever negative.

Functions take the :class:`~ecobasin.store.Store` (writes) or a Store/cursor (reads).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import Draft, Entry, Event, LedgerError, Rejection
from ecobasin.carbon.rules import RuleSet
from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.database import Store
from ecobasin.store.ledger_commit import append
from ecobasin.store.ledger_tables import (
    ACCOUNT_KINDS,
    GRAMS_PER_TONNE,
    Appended,
    _count,
    _existing,
    _known_accounts,
    _lock,
    _now,
    _write,
    accounts,
    add_account,
    add_accounts,
    balance,
    balances,
    head,
    register_rule_set,
    stored_rule_sets,
)

__all__ = [
    "ACCOUNT_KINDS",
    "GRAMS_PER_TONNE",
    "Appended",
    "Recorded",
    "accounts",
    "add_account",
    "add_accounts",
    "add_pool_admin",
    "anomalies",
    "append",
    "balance",
    "balances",
    "bind_partner_account",
    "create_consent",
    "donate",
    "entries",
    "expire",
    "head",
    "issue",
    "issue_holder_key",
    "iter_entries",
    "monitor",
    "monitoring",
    "partner_accounts",
    "partner_key",
    "partner_limit",
    "pool_admins",
    "projects",
    "record_events",
    "redeem",
    "register_project",
    "register_rule_set",
    "retire",
    "set_partner_limit",
    "spend_consent",
    "stored_rule_sets",
    "summary",
    "verify",
]


@dataclass
class Recorded:
    """What a batch of events did: the earn entries and the rejected events (kept aside)."""

    entries: list[Entry] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def points(self) -> Decimal:
        return sum((e.points for e in self.entries), Decimal(0))

    @property
    def grams(self) -> Decimal:
        return sum((e.grams for e in self.entries), Decimal(0))

    def counts(self) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for r in self.rejections:
            reasons[r.code] = reasons.get(r.code, 0) + 1
        return {
            "credited": len(self.entries),
            "rejected": len(self.rejections),
            "points": str(self.points),
            "grams": str(self.grams),
            "reasons": reasons,
        }


def partner_key(partner: str, key: str) -> str:
    """``key`` in ``partner``'s namespace (``partner:<name>:<key>``); unchanged without a
    partner. User names hold no ``:``, so two partners' keys never meet, and keys of admins
    and the CLI may not start with ``partner:`` (:func:`_own_key`)."""
    return f"{PARTNER_PREFIX}{partner}:{key}" if partner else key


PARTNER_PREFIX = core.PARTNER_PREFIX


def _own_key(key: str) -> str:
    """A key given by an admin or the CLI: refused when it claims a partner's namespace."""
    if key.startswith(PARTNER_PREFIX):
        raise LedgerError(
            "bad_key", f"key {key!r}: keys starting with {PARTNER_PREFIX!r} belong to partners"
        )
    return key


def _partner_credited_today(store: Store, partner: str, now: datetime) -> Decimal:
    """Points the partner's events earned since the start of today (China Standard Time)."""
    found = _sql.rows(
        store,
        "SELECT coalesce(sum(points), 0) FROM ledger_entries "
        "WHERE kind = 'earn' AND partner = ? AND recorded_at >= ?",
        [partner, core.day_start(now)],
    )
    return Decimal(found[0][0])


def _earn_state(
    store: Store, events: Sequence[Event], rules: RuleSet, partner: str = ""
) -> core.EarnState:
    """What the stored ledger already holds for the batch's accounts, behaviours and days."""
    state = core.EarnState(accounts=_known_accounts(store, (e.account for e in events)))
    state.key_prefix = partner_key(partner, "")
    ids = sorted({state.key(e) for e in events if e.event_id})
    state.seen_ids = set(_existing_keys(store, ids))
    good = [e for e in events if e.account in state.accounts]
    if not good:
        return state
    start, end = core.day_bounds(core.local_day(e.occurred_at) for e in good)
    widest = max((r.dedupe_window_minutes for r in rules.behaviours.values()), default=0)
    margin = timedelta(minutes=widest)
    rows = _sql.rows(
        store,
        "SELECT account, behaviour, occurred_at, points, evidence_source, dedupe_key "
        "FROM ledger_entries WHERE kind = 'earn' AND account = ANY(?) "
        "AND occurred_at >= ? AND occurred_at < ?",
        [sorted({e.account for e in good}), start - margin, end + margin],
    )
    for account, behaviour, occurred, points, source, dedupe_key in rows:
        instant = occurred.astimezone(UTC)
        day = core.local_day(instant)
        key = (str(account), str(behaviour), day)
        state.used_points[key] = state.used_points.get(key, Decimal(0)) + Decimal(points)
        day_key = (str(account), day)
        state.account_used[day_key] = state.account_used.get(day_key, Decimal(0)) + Decimal(points)
        if dedupe_key:
            state.daily_keys.add(str(dedupe_key))
        state.times.setdefault((str(account), str(behaviour)), []).append((instant, str(source)))
    return state


def _existing_keys(where: Connection, keys: Sequence[str]) -> list[str]:
    if not keys:
        return []
    rows = _sql.rows(
        where, "SELECT idem_key FROM ledger_entries WHERE idem_key = ANY(?)", [list(keys)]
    )
    return [str(r[0]) for r in rows]


def _reject_rows(rejections: Sequence[Rejection], source: str) -> pd.DataFrame:
    return pd.DataFrame([core.rejection_record(r, source) for r in rejections])


def record_events(
    store: Store,
    events: Sequence[Event],
    rules: RuleSet | None = None,
    source: str = "ledger",
    extra_rejections: Sequence[Rejection] = (),
    *,
    partner: str = "",
    max_age: timedelta | None = None,
    partner_daily_points: Decimal | None = None,
) -> Recorded:
    """Credit behaviour events under ``rules`` (default: the latest shipped rule set).

    Idempotent: an event id is credited once (a partner's ids in its own namespace); a
    repeated id, the same behaviour from another data source, an event older than
    ``max_age``, over a daily ceiling (the behaviour's, the account's, the partner's
    ``partner_daily_points`` [points per CST day recorded]) … are refused with their reason
    and kept in ``rejected`` (``source``, ``record_ref`` = the event's ref).
    ``extra_rejections`` (rows a reader could not parse) are kept aside with them. The
    entries name ``partner``.
    """
    chosen = rules or carbon_rules.rule_set()
    with _lock(store), store.transaction():
        register_rule_set(store, chosen)
        state = _earn_state(store, events, chosen, partner)
        state.max_age = max_age
        if partner and partner_daily_points is not None:
            state.partner_cap = partner_daily_points
            state.partner_used = _partner_credited_today(store, partner, state.now)
        drafts, rejections = core.evaluate_events(events, chosen, state)
        drafts = [replace(d, partner=partner) for d in drafts]
        written = _write(store, drafts)
        every = [*extra_rejections, *rejections]
        if every:
            store.reject(_reject_rows(every, source))
    return Recorded(written, every)


# -- redeem, donate, expire ------------------------------------------------------------------
def _key(key: str | None, prefix: str, partner: str = "") -> str:
    if key:
        return partner_key(partner, key) if partner else _own_key(key)
    return f"{prefix}:{_now():%Y%m%dT%H%M%S.%f}:{threading.get_ident()}"


def redeem(
    store: Store,
    account: str,
    points: Decimal,
    merchant: str = "",
    key: str | None = None,
    note: str = "",
    *,
    partner: str = "",
    consent_code: str | None = None,
) -> Appended:
    """Spend ``points`` of ``account`` (at ``merchant``); refused when the balance is short.

    With ``consent_code`` the holder's consent is checked and spent in the same transaction
    (:func:`spend_consent`), and the entry names it; ``partner`` names who asked (its key in
    its own namespace). A retry with the same key answers the recorded entry.
    """
    if points <= 0:
        raise LedgerError("empty_amount", "redeem a positive number of points")
    draft = Draft(
        kind="redeem",
        account=account,
        points=points,
        grams=Decimal(0),
        idem_key=_key(key, f"redeem:{account}", partner),
        occurred_at=_now(),
        counterparty=merchant,
        detail=json.dumps({"note": note}, ensure_ascii=False) if note else "",
        partner=partner,
    )
    if consent_code is None:
        return append(store, [draft])
    return _with_consent(store, draft, consent_code, partner)


def _with_consent(store: Store, draft: Draft, code: str, spender: str) -> Appended:
    """Append ``draft`` spending the holder's consent ``code``, both in one transaction under
    the write lock (a code raced by many requests is spent once); a retry of the recorded
    request is answered from the record."""
    core.check_draft(draft)
    with _lock(store), store.transaction():
        earlier = _existing(store, [draft.idem_key]).get(draft.idem_key)
        if earlier is not None:  # a retry: answered from the record, the consent is spent
            if earlier.consent and core.same_request(earlier, draft):
                return Appended([earlier], replayed=True)
            raise LedgerError(
                "key_reused",
                f"idempotency key {draft.idem_key!r} was used before for another movement",
            )
        consent_id = spend_consent(store, code, core.quantised(draft), spender)
        done = append(store, [replace(draft, consent=consent_id)])
        store.con.execute(
            "UPDATE ledger_consents SET used_seq = ? WHERE consent_id = ?",
            [done.entries[0].seq, consent_id],
        )
    return done


# -- holders' consent -------------------------------------------------------------------------
#: How long a redemption consent lives at most [s] (a payment code's minutes): the core's rule.
CONSENT_MAX_SECONDS = core.CONSENT_MAX_SECONDS
CONSENT_DEFAULT_SECONDS = core.CONSENT_DEFAULT_SECONDS


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def account_kind(where: Connection, account_id: str) -> str | None:
    """The kind of a registered account (person, merchant, pool …); None when unknown."""
    found = _sql.rows(where, "SELECT kind FROM ledger_accounts WHERE account_id = ?", [account_id])
    return str(found[0][0]) if found else None


def holder_key_account(where: Connection, holder_key: str) -> str | None:
    """The account whose holder key ``holder_key`` is; None for a key nobody holds."""
    found = _sql.rows(
        where,
        "SELECT account_id FROM ledger_holder_keys WHERE key_sha256 = ?",
        [_sha256(holder_key)],
    )
    return str(found[0][0]) if found else None


def issue_holder_key(store: Store, account_id: str) -> str:
    """A new holder key of ``account_id`` (returned once; only its SHA-256 is kept; an
    earlier key stops working). The holder's app signs consents with it.

    Raises
    ------
    LedgerError
        ``unknown_account``, or ``pool_account`` (pools are debited by their administrators).
    """
    kind = account_kind(store, account_id)
    if kind is None:
        raise LedgerError("unknown_account", f"no account {account_id!r}")
    if kind == "pool":
        raise LedgerError(
            "pool_account",
            f"{account_id} is a pool: it has administrators, not a holder (ledger pool admin)",
        )
    key = secrets.token_urlsafe(32)
    with _lock(store), store.transaction():
        store.con.execute("DELETE FROM ledger_holder_keys WHERE account_id = ?", [account_id])
        store.con.execute(
            "INSERT INTO ledger_holder_keys VALUES (?, ?, ?)", [account_id, _sha256(key), _now()]
        )
    return key


@dataclass(frozen=True)
class Consent:
    """A holder's consent to one redemption; ``code`` is shown once, to the holder."""

    consent_id: str
    account: str
    code: str
    merchant: str
    max_points: Decimal
    max_grams: Decimal
    expires_at: datetime


def create_consent(
    store: Store,
    account_id: str,
    holder_key: str,
    max_points: Decimal,
    merchant: str = "",
    seconds: int = CONSENT_DEFAULT_SECONDS,
    max_grams: Decimal = Decimal(0),
) -> Consent:
    """The holder of ``account_id`` (proved by its holder key) consents to one redemption or
    donation of at most ``max_points`` [points] and ``max_grams`` [g CO2e], to ``merchant``
    (the merchant, or the receiving account of a donation) if named, within ``seconds`` [s]
    (at most :data:`CONSENT_MAX_SECONDS`). The code (18 digits, like a payment code) is random; only
    its SHA-256 is kept.

    Raises
    ------
    LedgerError
        ``bad_holder_key`` (no such key for this account), ``bad_consent`` (amount or lifetime
        out of range).
    """
    found = _sql.rows(
        store,
        "SELECT account_id FROM ledger_holder_keys WHERE key_sha256 = ?",
        [_sha256(holder_key)],
    )
    if not found or not secrets.compare_digest(str(found[0][0]), account_id):
        raise LedgerError(
            "bad_holder_key", f"the holder key is not the key of account {account_id!r}"
        )
    core.check_consent_terms(max_points, max_grams, seconds)
    now = _now()
    consent = Consent(
        consent_id=f"c-{secrets.token_hex(8)}",
        account=account_id,
        code=f"{secrets.randbelow(10**18):018d}",
        merchant=merchant,
        max_points=max_points.quantize(core.SCALE),
        max_grams=max_grams.quantize(core.SCALE),
        expires_at=now + timedelta(seconds=seconds),
    )
    store.con.execute(
        "INSERT INTO ledger_consents (consent_id, account_id, code_sha256, merchant, max_points, "
        "max_grams, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [consent.consent_id, account_id, _sha256(consent.code), merchant, consent.max_points,
         consent.max_grams, now, consent.expires_at],
    )  # fmt: skip
    return consent


def spend_consent(store: Store, code: str, draft: Draft, spender: str) -> str:
    """Check the consent of ``code`` against a redemption and mark it used (caller holds the
    lock and a transaction). Returns the consent id.

    Raises
    ------
    LedgerError
        ``bad_consent``: no such code, another account, expired, used, more points than
        consented, another merchant.
    """
    found = _sql.rows(
        store,
        "SELECT consent_id, account_id, merchant, max_points, max_grams, expires_at, used_at "
        "FROM ledger_consents WHERE code_sha256 = ?",
        [_sha256(code)],
    )
    consent = None
    if found:
        consent_id, account, merchant, max_points, max_grams, expires_at, used_at = found[0]
        consent = core.StoredConsent(
            str(consent_id), str(account), str(merchant or ""), Decimal(max_points),
            Decimal(max_grams), expires_at, used_at,
        )  # fmt: skip
    why = core.consent_refusal(consent, draft, _now())
    if why or consent is None:
        raise LedgerError(
            "bad_consent", f"redemption from {draft.account} refused: {why} (需要持有人授权)"
        )
    store.con.execute(
        "UPDATE ledger_consents SET used_at = ?, used_by = ? WHERE consent_id = ?",
        [_now(), spender or "admin", consent_id],
    )
    return consent.consent_id


# -- partners and pools -----------------------------------------------------------------------
def bind_partner_account(store: Store, partner: str, account_id: str) -> None:
    """Let merchant partner ``partner`` (a user name) credit merchant account ``account_id``.

    Raises
    ------
    LedgerError
        ``unknown_account`` or ``not_merchant``.
    """
    kind = account_kind(store, account_id)
    if kind is None:
        raise LedgerError("unknown_account", f"no account {account_id!r}")
    if kind != "merchant":
        raise LedgerError("not_merchant", f"{account_id} is a {kind} account, not a merchant")
    store.con.execute(
        "INSERT OR IGNORE INTO ledger_partner_accounts VALUES (?, ?, ?)",
        [partner, account_id, _now()],
    )


def partner_accounts(where: Connection, partner: str) -> list[str]:
    """The merchant accounts ``partner`` may credit."""
    rows = _sql.rows(
        where,
        "SELECT account_id FROM ledger_partner_accounts WHERE partner = ? ORDER BY account_id",
        [partner],
    )
    return [str(r[0]) for r in rows]


def set_partner_limit(store: Store, partner: str, daily_points: Decimal) -> None:
    """The most points ``partner``'s events may earn per China Standard Time day [points]."""
    if daily_points < 0:
        raise LedgerError("bad_limit", "a daily ceiling is 0 or more points")
    store.con.execute(
        "INSERT OR REPLACE INTO ledger_partner_limits VALUES (?, ?, ?)",
        [partner, daily_points, _now()],
    )


def partner_limit(where: Connection, partner: str, default: Decimal) -> Decimal:
    """``partner``'s daily ceiling [points], else ``default``."""
    found = _sql.rows(
        where, "SELECT daily_points FROM ledger_partner_limits WHERE partner = ?", [partner]
    )
    return Decimal(found[0][0]) if found else default


def add_pool_admin(store: Store, pool: str, user_name: str) -> None:
    """Make ``user_name`` an administrator of pool account ``pool`` (who may debit it).

    Raises
    ------
    LedgerError
        ``unknown_account`` or ``not_pool``.
    """
    kind = account_kind(store, pool)
    if kind is None:
        raise LedgerError("unknown_account", f"no account {pool!r}")
    if kind != "pool":
        raise LedgerError("not_pool", f"{pool} is a {kind} account, not a pool")
    store.con.execute(
        "INSERT OR IGNORE INTO ledger_pool_admins VALUES (?, ?, ?)", [pool, user_name, _now()]
    )


def pool_admins(where: Connection, pool: str) -> list[str]:
    """The users who may debit pool ``pool``."""
    rows = _sql.rows(
        where,
        "SELECT user_name FROM ledger_pool_admins WHERE account_id = ? ORDER BY user_name",
        [pool],
    )
    return [str(r[0]) for r in rows]


def donate(
    store: Store,
    account: str,
    to: str,
    points: Decimal = Decimal(0),
    grams: Decimal = Decimal(0),
    key: str | None = None,
    note: str = "",
    *,
    consent_code: str | None = None,
    require_consent: bool = False,
) -> Appended:
    """Give points and/or grams [g CO2e] of ``account`` to account ``to``; with
    ``consent_code`` the holder's consent is checked and spent (the API requires one for every
    account but a pool: ``require_consent``)."""
    draft = Draft(
        kind="donate",
        account=account,
        points=points,
        grams=grams,
        idem_key=_key(key, f"donate:{account}"),
        occurred_at=_now(),
        counterparty=to,
        detail=json.dumps({"note": note}, ensure_ascii=False) if note else "",
    )
    if consent_code is not None:
        return _with_consent(store, draft, consent_code, "")
    if require_consent:
        core.check_draft(draft)
        raise LedgerError(
            "bad_consent",
            f"a donation from {account} needs its holder's consent (consent code) 需要持有人授权",
        )
    return append(store, [draft])


def expire(store: Store, as_of: date, rules: RuleSet | None = None) -> Appended:
    """Expire points older than the rule set's validity (``valid_months``) at ``as_of`` [CST
    day]: per account, the points credited before the cutoff that were not yet spent (first
    earned, first spent; :func:`ecobasin.carbon.ledger.expiry_drafts`). Running it again for
    the same day changes nothing.
    """
    chosen = rules or carbon_rules.rule_set()
    cut = core.expiry_cut(as_of, chosen)
    with _lock(store), store.transaction():
        credited, debited = _expirable_balances(store, cut.cutoff)
        drafts = core.expiry_drafts(cut, credited, debited, chosen)
        drafts = [d for d in drafts if d.idem_key not in set(_existing_keys(store, [d.idem_key]))]
        return Appended(_write(store, drafts))


def _expirable_balances(
    where: Connection, cutoff: datetime
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Per account: points credited (earned, or donated to it) before ``cutoff``, and points
    debited (redeemed, donated, expired) ever [points]."""
    rows = _sql.rows(
        where,
        "SELECT account, sum(points) FILTER (WHERE occurred_at < $cutoff) AS credited, "
        "0 AS debited FROM ledger_entries WHERE kind = 'earn' GROUP BY account "
        "UNION ALL SELECT counterparty, sum(points) FILTER (WHERE occurred_at < $cutoff), 0 "
        "FROM ledger_entries WHERE kind = 'donate' GROUP BY counterparty "
        "UNION ALL SELECT account, 0, sum(points) FROM ledger_entries "
        "WHERE kind IN ('redeem', 'donate', 'expire') GROUP BY account",
        {"cutoff": cutoff},
    )
    credited: dict[str, Decimal] = {}
    debited: dict[str, Decimal] = {}
    for account, c, d in rows:
        credited[account] = credited.get(account, Decimal(0)) + Decimal(c or 0)
        debited[account] = debited.get(account, Decimal(0)) + Decimal(d or 0)
    return credited, debited


# -- projects ----------------------------------------------------------------------------------
def register_project(
    store: Store,
    project_id: str,
    name: str,
    methodology: str,
    owner: str,
    city_code: int | None = None,
    ef_grid: Decimal | None = None,
) -> None:
    """Register a reduction project under a methodology, credited to account ``owner``.

    Raises
    ------
    RuleError
        Unknown methodology.
    LedgerError
        ``project_exists`` or ``unknown_account``.
    """
    carbon_rules.methodology(methodology)
    if _sql.rows(store, "SELECT 1 FROM ledger_projects WHERE project_id = ?", [project_id]):
        raise LedgerError("project_exists", f"project {project_id!r} is registered already")
    if not _known_accounts(store, [owner]):
        raise LedgerError("unknown_account", f"owner account {owner!r} is not registered")
    store.con.execute(
        "INSERT INTO ledger_projects VALUES (?, ?, ?, ?, ?, ?, ?)",
        [project_id, name, methodology, owner, city_code, ef_grid, _now()],
    )


def projects(where: Connection) -> pd.DataFrame:
    """Projects with issued tonnes [t CO2e]."""
    return _sql.frame(
        where,
        "SELECT p.*, coalesce(sum(i.tonnes), 0) AS issued_t, count(i.period_id) AS periods_issued "
        "FROM ledger_projects p LEFT JOIN ledger_issuances i USING (project_id) "
        "GROUP BY ALL ORDER BY p.project_id",
    )


def _project(where: Connection, project_id: str) -> tuple[str, str, Decimal | None]:
    found = _sql.rows(
        where,
        "SELECT methodology, owner, ef_grid FROM ledger_projects WHERE project_id = ?",
        [project_id],
    )
    if not found:
        raise LedgerError("unknown_project", f"no project {project_id!r} (ledger project register)")
    methodology, owner, ef = found[0]
    return str(methodology), str(owner), None if ef is None else Decimal(ef)


def monitor(
    store: Store,
    project_id: str,
    period_id: str,
    start: date,
    end: date,
    inputs: dict[str, Any],
    verified_by: str | None = None,
) -> carbon_rules.MonitoringResult:
    """Record (or replace, until issued) a monitoring period with ER = BE − PE − LE [t CO2e];
    ``verified_by`` names the verifier and makes the period issuable.

    Raises
    ------
    LedgerError
        ``unknown_project``, ``bad_period`` (end before start) or ``already_issued``.
    RuleError
        Inputs the methodology cannot use.
    """
    methodology_id, _, ef = _project(store, project_id)
    if end < start:
        raise LedgerError("bad_period", f"period {period_id}: end {end} is before start {start}")
    result = carbon_rules.methodology(methodology_id).reduction(inputs, ef)
    with _lock(store), store.transaction():
        if _issued(store, project_id, period_id):
            raise LedgerError(
                "already_issued", f"{project_id} {period_id} was issued: its monitoring is frozen"
            )
        now = _now()
        store.con.execute(
            "INSERT OR REPLACE INTO ledger_monitoring VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                project_id, period_id, start, end, json.dumps(inputs, default=str),
                result.baseline_t, result.project_t, result.leakage_t, result.reduction_t,
                result.formula, verified_by, now if verified_by else None, now,
            ],
        )  # fmt: skip
    return result


def monitoring(where: Connection, project_id: str | None = None) -> pd.DataFrame:
    params: list[Any] = []
    condition = ""
    if project_id:
        condition, params = " WHERE m.project_id = ?", [project_id]
    return _sql.frame(
        where,
        "SELECT m.*, i.seq AS issue_seq, i.issued_at FROM ledger_monitoring m "
        "LEFT JOIN ledger_issuances i USING (project_id, period_id)"
        f"{condition} ORDER BY m.project_id, m.period_start",
        params,
    )


def _issued(where: Connection, project_id: str, period_id: str) -> bool:
    return bool(
        _sql.rows(
            where,
            "SELECT 1 FROM ledger_issuances WHERE project_id = ? AND period_id = ?",
            [project_id, period_id],
        )
    )


def issue(store: Store, project_id: str, period_id: str) -> Entry:
    """Issue the reductions of a verified monitoring period to the project's owner, once
    (the decision: :func:`ecobasin.carbon.ledger.issuance_draft`).

    Raises
    ------
    LedgerError
        ``unknown_project``, ``no_monitoring``, ``not_verified``, ``already_issued`` or
        ``nothing_to_issue``.
    """
    _, owner, _ = _project(store, project_id)
    with _lock(store), store.transaction():
        found = _sql.rows(
            store,
            "SELECT reduction_t, verified_by, formula, period_start, period_end "
            "FROM ledger_monitoring WHERE project_id = ? AND period_id = ?",
            [project_id, period_id],
        )
        period = None
        if found:
            tonnes, verifier, formula, start, end = found[0]
            period = core.MonitoringPeriod(Decimal(tonnes), verifier, formula, start, end)
        issued = period is not None and _issued(store, project_id, period_id)
        draft = core.issuance_draft(project_id, period_id, owner, period, issued)
        entry = _write(store, [draft])[0]
        assert period is not None  # issuance_draft refuses a missing period
        store.con.execute(
            "INSERT INTO ledger_issuances VALUES (?, ?, ?, ?, ?)",
            [project_id, period_id, entry.seq, period.tonnes, entry.recorded_at],
        )
    return entry


def retire(
    store: Store, account: str, grams: Decimal, reason: str, key: str | None = None
) -> Appended:
    """Retire ``grams`` [g CO2e] held by ``account`` (taken out of circulation for good, e.g.
    to offset an event); refused when the account holds less."""
    if grams <= 0:
        raise LedgerError("empty_amount", "retire a positive amount of grams")
    if not reason.strip():
        raise LedgerError("no_reason", "say what the retirement is for (--reason)")
    draft = Draft(
        kind="retire",
        account=account,
        points=Decimal(0),
        grams=grams,
        idem_key=_key(key, f"retire:{account}"),
        occurred_at=_now(),
        detail=json.dumps({"reason": reason}, ensure_ascii=False),
    )
    return append(store, [draft])


# -- reading and verifying -------------------------------------------------------------------
def entries(
    where: Connection,
    account: str | None = None,
    kinds: Sequence[str] | None = None,
    limit: int | None = None,
    after_seq: int = 0,
) -> pd.DataFrame:
    """Entries in chain order (an account's own and those it received as a donation)."""
    params: list[Any] = [after_seq]
    sql = f"SELECT {', '.join(core.COLUMNS)} FROM ledger_entries WHERE seq > ?"
    if account:
        sql += " AND (account = ? OR (kind = 'donate' AND counterparty = ?))"
        params += [account, account]
    if kinds:
        sql += " AND kind = ANY(?)"
        params.append(list(kinds))
    sql += " ORDER BY seq"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return _sql.frame(where, sql, params)


def iter_entries(where: Connection, chunk: int = 100_000) -> Iterator[Entry]:
    """Every entry in stored seq order, read in chunks.

    Instants are read as epoch microseconds and decimals as text: exact, and several times
    faster than DuckDB's conversion to Python datetimes with time zones.
    """
    select = ", ".join(
        f"epoch_us({c})" if c in ("occurred_at", "recorded_at")
        else f"CAST({c} AS VARCHAR)" if c in ("points", "grams")
        else c
        for c in core.COLUMNS
    )  # fmt: skip
    at = core.COLUMNS.index("occurred_at"), core.COLUMNS.index("recorded_at")
    result = _sql.cursor_of(where).execute(f"SELECT {select} FROM ledger_entries ORDER BY seq")
    while True:
        rows = result.fetchmany(chunk)
        if not rows:
            return
        for row in rows:
            values = list(row)
            for i in at:
                values[i] = _EPOCH + timedelta(microseconds=values[i])
            yield Entry.from_row(values)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _hash_text(column: str) -> str:
    """SQL giving a column as the canonical text :func:`core.hashes` expects."""
    if column in ("occurred_at", "recorded_at"):
        return f"strftime({column} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS {column}"
    if column in ("points", "grams"):
        return f"CAST({column} AS VARCHAR) AS {column}"
    return column


def _hashed_select() -> str:
    """The query of every entry as :func:`core.hashes` reads it, in seq order."""
    select = ", ".join(["hash", *(_hash_text(c) for c in core.HASHED)])
    return f"SELECT {select} FROM ledger_entries ORDER BY seq"


def _hashed_rows(where: Connection, chunk: int) -> Iterator[tuple[int, str, str, str]]:
    """(seq, prev_hash, hash, recomputed hash) of every entry in seq order, hashed in batches:
    DuckDB formats decimals and instants, :func:`core.hashes` hashes a batch at a time."""
    reader = _sql.cursor_of(where).sql(_hashed_select()).to_arrow_reader(chunk)
    for batch in reader:
        columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        recomputed = core.hashes(columns)
        yield from zip(columns["seq"], columns["prev_hash"], columns["hash"], recomputed,
                       strict=True)  # fmt: skip


def verify(
    where: Connection, expected_head: str | None = None, chunk: int = 100_000
) -> core.Verification:
    """Recompute the hash chain of the stored ledger against its head (and a published head
    hash ``<seq>:<hash>``, if given)."""
    found = _sql.rows(where, "SELECT seq, hash FROM ledger_head WHERE id = 1")
    stored_head = (int(found[0][0]), str(found[0][1])) if found else (0, core.GENESIS)
    result = core.verify_hashed(_hashed_rows(where, chunk), stored_head, expected_head)
    if not result.ok:
        return result
    negative = _first_negative(where)
    if negative is None:
        return result
    seq, account, points, grams = negative
    why = (
        f"entry {seq}: the balance of {account} goes negative ({points} points, {grams} g "
        "CO2e): no balance may ever be below 0 (余额为负)"
    )
    return replace(result, ok=False, bad_seq=seq, reason=why)


#: Every entry's effect on each account it touches, with the running balances in seq order.
_RUNNING = """
    WITH moves AS (
        SELECT seq, account,
               CASE WHEN kind IN ('earn', 'issue') THEN points ELSE -points END AS p,
               CASE WHEN kind IN ('earn', 'issue') THEN grams ELSE -grams END AS g
        FROM ledger_entries
        UNION ALL
        SELECT seq, counterparty, points, grams FROM ledger_entries WHERE kind = 'donate'
    )
    SELECT seq, account,
           sum(p) OVER w AS points, sum(g) OVER w AS grams
    FROM moves
    WINDOW w AS (PARTITION BY account ORDER BY seq ROWS UNBOUNDED PRECEDING)
"""


def _first_negative(where: Connection) -> tuple[int, str, Decimal, Decimal] | None:
    """(seq, account, points, grams) of the first entry after which a balance is below 0."""
    found = _sql.rows(
        where,
        f"SELECT seq, account, points, grams FROM ({_RUNNING}) "
        "WHERE points < 0 OR grams < 0 ORDER BY seq LIMIT 1",
    )
    if not found:
        return None
    seq, account, points, grams = found[0]
    return int(seq), str(account), Decimal(points), Decimal(grams)


def anomalies(
    where: Connection,
    as_of: datetime | None = None,
    days: int = 30,
    threshold: Decimal = Decimal(10),
) -> pd.DataFrame:
    """Accounts whose points earned in the ``days`` before ``as_of`` lie far above the
    distribution (:func:`core.anomalies`: robust score above ``threshold``), with the
    partners that credited them. Every person and organisation account counts, 0 when it
    earned nothing."""
    end = as_of or _now()
    start = end - timedelta(days=days)
    rows = _sql.rows(
        where,
        "SELECT a.account_id, coalesce(sum(e.points), 0), "
        "string_agg(DISTINCT nullif(e.partner, ''), ', ') "
        "FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account = a.account_id "
        "AND e.kind = 'earn' AND e.occurred_at >= ? AND e.occurred_at < ? "
        "WHERE a.kind IN ('person', 'organisation') GROUP BY a.account_id",
        [start, end],
    )
    earned = {str(a): Decimal(p) for a, p, _ in rows}
    partners = {str(a): str(who or "") for a, _, who in rows}
    found = core.anomalies(earned, threshold)
    return pd.DataFrame(
        [
            {
                "account": a.account,
                "points": a.points,
                "median": a.median,
                "spread": a.spread,
                "score": a.score,
                "partners": partners[a.account],
            }
            for a in found
        ],
        columns=["account", "points", "median", "spread", "score", "partners"],
    )


def summary(where: Connection) -> dict[str, Any]:
    """Totals: entries by kind, points and grams in circulation, tonnes issued and retired."""
    by_kind: dict[str, dict[str, Any]] = {
        str(k): {"entries": int(n), "points": Decimal(p), "grams": Decimal(g)}
        for k, n, p, g in _sql.rows(
            where,
            "SELECT kind, count(*), sum(points), sum(grams) FROM ledger_entries GROUP BY kind",
        )
    }
    seq, digest = head(where)
    held = balances(where)
    return {
        "entries": seq,
        "head": f"{seq}:{digest}",
        "accounts": _count(where, "ledger_accounts"),
        "by_kind": by_kind,
        "points_in_circulation": sum((b.points for b in held.values()), Decimal(0)),
        "grams_in_circulation": sum((b.grams for b in held.values()), Decimal(0)),
        "issued_t": by_kind.get("issue", {}).get("grams", Decimal(0)) / GRAMS_PER_TONNE,
        "retired_t": by_kind.get("retire", {}).get("grams", Decimal(0)) / GRAMS_PER_TONNE,
    }
