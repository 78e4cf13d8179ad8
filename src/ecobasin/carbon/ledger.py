"""The carbon-inclusive ledger 碳普惠账本 (pure): entries, hash chain, balances, event evaluation.

Every movement of points or grams is one append-only entry (carbon brief §3, "ledger
requirements"): ``earn`` (a low-carbon behaviour credited by a rule), ``redeem`` (points spent at
a merchant), ``donate`` (points or grams given to another account), ``expire`` (points past their
validity), ``issue`` (project reductions of a verified monitoring period) and ``retire`` (grams
taken out of circulation). Amounts are positive magnitudes; the kind gives the sign. Points and
grams [g CO2e] are separate balances, neither may go negative.

The chain: entry *n* stores ``prev_hash`` = the hash of entry *n − 1* (:data:`GENESIS` for the
first) and ``hash`` = SHA-256 of its canonical serialisation: the sorted-key JSON of every field
but the hash, decimals as exact text with three places, instants as ISO 8601 UTC with
microseconds. :func:`verify` recomputes it and names the first entry that is altered, missing or
out of order; a published head hash (seq and hash of the last entry) also catches a rewritten
tail.

Who moved the points: ``partner`` (the partner whose token wrote the entry) and ``consent`` (the
id of the holder's redemption consent) came with migration 12. They are hashed whenever either is
set, and left out of the hashed text when both are empty, so the bytes (and hashes) of entries
written before migration 12 are unchanged, while emptying or adding either on a later entry
changes its hash. Amounts are quantised to :data:`SCALE` before any balance is checked (issue
13, item 3), so the balance checked is the balance stored.

Pure: no I/O; :mod:`ecobasin.store.ledger` reads and writes the tables.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from ecobasin.carbon.rules import RuleError, RuleSet
from ecobasin.timebase import CST, parse_instant

__all__ = [
    "CONSENT_DEFAULT_SECONDS",
    "CONSENT_MAX_SECONDS",
    "GENESIS",
    "GRAMS_PER_TONNE",
    "KINDS",
    "MAX_POINTS",
    "MAX_QUANTITY",
    "Anomaly",
    "Balance",
    "Draft",
    "EarnState",
    "Entry",
    "Event",
    "ExpiryCut",
    "LedgerError",
    "MonitoringPeriod",
    "Rejection",
    "StoredConsent",
    "Verification",
    "anomalies",
    "apply_balances",
    "canonical",
    "chain",
    "check_consent_terms",
    "check_draft",
    "consent_refusal",
    "day_bounds",
    "day_start",
    "effects",
    "entry_hash",
    "evaluate_events",
    "expirable",
    "expiry_cut",
    "expiry_drafts",
    "hashes",
    "issuance_draft",
    "local_day",
    "months_before",
    "parse_events_csv",
    "quantised",
    "rejection_record",
    "same_draft",
    "same_request",
    "verify",
    "verify_hashed",
]

GENESIS = "0" * 64
KINDS = ("earn", "redeem", "donate", "expire", "issue", "retire")
#: Stored scale of points and grams: DECIMAL(·, 3).
SCALE = Decimal("0.001")
ZERO = Decimal(0)
#: Largest amount one entry moves [points] (DECIMAL(18, 3) holds below 10^15).
MAX_POINTS = Decimal(10) ** 12
#: Largest amount one entry moves [g CO2e] (DECIMAL(24, 3) holds below 10^21).
MAX_GRAMS = Decimal(10) ** 18
#: Largest event quantity [km, steps, days, meals, kg]: beyond any one person's day.
MAX_QUANTITY = Decimal(10) ** 9
#: Idempotency keys of partners start with this (``partner:<name>:<key>``), nobody else's.
PARTNER_PREFIX = "partner:"
#: Fields added after the first release (migration 12), hashed only when one of them is set.
LATER_FIELDS = ("consent", "partner")


class LedgerError(ValueError):
    """A movement the ledger refuses; ``code`` is a short machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _amount(value: Decimal) -> Decimal:
    return value.quantize(SCALE, rounding=ROUND_HALF_EVEN)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise LedgerError("naive_time", f"time {value} has no offset: give a UTC instant")
    return value.astimezone(UTC)


def local_day(instant: datetime) -> date:
    """The China Standard Time day of a UTC instant (caps and daily dedupe count by it)."""
    return _utc(instant).astimezone(CST).date()


@dataclass(frozen=True)
class Draft:
    """An entry before it is chained (no seq, no hashes yet).

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    account : str
        Whose balance moves.
    points, grams : Decimal
        Positive magnitudes [points], [g CO2e]; the kind gives the sign.
    idem_key : str
        Idempotency key: the event id of an ``earn``, the caller's key of a redemption, the
        project and period of an issuance. Recorded once.
    occurred_at : datetime
        When it happened (UTC).
    counterparty : str
        The receiving account of a ``donate``; the merchant of a ``redeem``; else ''.
    partner : str
        The partner (user name) whose token asked for it; '' for admins and the CLI.
    consent : str
        The id of the holder's redemption consent a ``redeem`` spends; else ''.
    """

    kind: str
    account: str
    points: Decimal
    grams: Decimal
    idem_key: str
    occurred_at: datetime
    counterparty: str = ""
    rule_set: str = ""
    rule_version: str = ""
    behaviour: str = ""
    evidence_source: str = ""
    evidence_ref: str = ""
    dedupe_key: str = ""
    detail: str = ""
    partner: str = ""
    consent: str = ""


@dataclass(frozen=True)
class Entry:
    """A chained ledger entry (the columns of ``ledger_entries``, in order)."""

    seq: int
    prev_hash: str
    hash: str
    kind: str
    account: str
    counterparty: str
    points: Decimal
    grams: Decimal
    rule_set: str
    rule_version: str
    behaviour: str
    evidence_source: str
    evidence_ref: str
    idem_key: str
    dedupe_key: str
    occurred_at: datetime
    recorded_at: datetime
    detail: str
    partner: str = ""
    consent: str = ""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Entry:
        """An entry from a stored row (column order of :data:`COLUMNS`)."""
        values = dict(zip(COLUMNS, row, strict=True))
        for key in ("points", "grams"):
            values[key] = Decimal(values[key])
        for key in ("occurred_at", "recorded_at"):
            values[key] = _utc(values[key])
        for key in COLUMNS:
            if values[key] is None:
                values[key] = ""
        return cls(**values)

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


#: Columns of ``ledger_entries`` in order.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Entry))


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_amount(value):f}"
    if isinstance(value, datetime):
        return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _hashed_fields(values: Mapping[str, Any]) -> set[str]:
    """The fields an entry's hash covers: all but ``hash``; :data:`LATER_FIELDS` only when one
    of them is set (entries before migration 12 keep their bytes)."""
    skip = {"hash"}
    if not any(values.get(k) for k in LATER_FIELDS):
        skip.update(LATER_FIELDS)
    return {k for k in values if k not in skip}


def canonical(entry: Entry | Mapping[str, Any]) -> bytes:
    """The bytes hashed: sorted-key JSON of every field but ``hash`` (``partner`` and
    ``consent`` only when one is set), exact decimals (3 places), UTC instants with
    microseconds, UTF-8."""
    values = entry.as_row() if isinstance(entry, Entry) else dict(entry)
    body = {k: _text(v) for k, v in values.items() if k in _hashed_fields(values)}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: Entry | Mapping[str, Any]) -> str:
    """SHA-256 [hex] of :func:`canonical`."""
    return hashlib.sha256(canonical(entry)).hexdigest()


#: Fields hashed, in the canonical (sorted) order (the later fields only when set).
HASHED: tuple[str, ...] = tuple(sorted(c for c in COLUMNS if c != "hash"))


def _template(names: Sequence[str]) -> str:
    return "{" + ",".join(f'"{k}":%{"d" if k == "seq" else "s"}' for k in names) + "}"


_TEMPLATE = _template(HASHED)
_LATER_AT = tuple(HASHED.index(k) for k in LATER_FIELDS)
_FIRST_TEMPLATE = _template([k for k in HASHED if k not in LATER_FIELDS])


def hashes(columns: Mapping[str, Sequence[Any]]) -> list[str]:
    """SHA-256 [hex] of many entries at once, from their columns as canonical text.

    The same bytes as :func:`canonical` (sorted keys, compact JSON, ``ensure_ascii=False``),
    built column-wise: every string column escaped by the JSON encoder's own C function in one
    pass, then one ``%`` format per row. Several times faster than :func:`entry_hash` per entry
    (``ledger verify`` of a million entries).

    Parameters
    ----------
    columns : mapping
        Every name of :data:`HASHED` to its values: ``seq`` as int, decimals as text with three
        places, instants as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, the rest as text.
    """
    escape = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses
    encoded = [columns[k] if k == "seq" else list(map(escape, columns[k])) for k in HASHED]
    sha = hashlib.sha256
    empty = escape("")
    out = []
    for row in zip(*encoded, strict=True):
        if all(row[i] == empty for i in _LATER_AT):  # as before migration 12
            first = tuple(v for i, v in enumerate(row) if i not in _LATER_AT)
            out.append(sha((_FIRST_TEMPLATE % first).encode()).hexdigest())
        else:
            out.append(sha((_TEMPLATE % row).encode()).hexdigest())
    return out


def quantised(draft: Draft) -> Draft:
    """The draft with its amounts rounded to the stored scale (:data:`SCALE`, half to even):
    what is checked against the balance is what is stored."""
    return replace(draft, points=_amount(draft.points), grams=_amount(draft.grams))


def _check_size(draft: Draft) -> None:
    if not (draft.points.is_finite() and draft.grams.is_finite()):
        raise LedgerError("bad_amount", f"{draft.kind} amounts must be numbers")
    if draft.points > MAX_POINTS or draft.grams > MAX_GRAMS:
        raise LedgerError(
            "too_large",
            f"{draft.kind} of {draft.points} points / {draft.grams} g is larger than one entry "
            f"may move ({MAX_POINTS} points, {MAX_GRAMS} g) 金额过大",
        )
    for name, value in (("points", draft.points), ("grams", draft.grams)):
        if draft.kind != "earn" and ZERO < value < SCALE:
            raise LedgerError(
                "below_unit",
                f"{draft.kind} of {value} {name} is below the smallest unit {SCALE} (低于最小单位)",
            )


def check_draft(draft: Draft) -> None:
    """Refuse a draft whose amounts do not fit its kind.

    Raises
    ------
    LedgerError
        ``bad_kind``, ``negative_amount``, ``too_large``, ``below_unit`` (a movement smaller
        than :data:`SCALE`), ``empty_amount``, ``no_counterparty`` or ``bad_amount`` (issue
        and retire move grams only).
    """
    if draft.kind not in KINDS:
        raise LedgerError("bad_kind", f"kind {draft.kind!r} is not one of {', '.join(KINDS)}")
    if draft.points < 0 or draft.grams < 0:
        raise LedgerError(
            "negative_amount", f"{draft.kind} amounts are magnitudes: they must not be negative"
        )
    _check_size(draft)
    if not draft.account:
        raise LedgerError("no_account", f"{draft.kind} needs an account")
    if not draft.idem_key:
        raise LedgerError("no_key", f"{draft.kind} needs an idempotency key")
    if draft.kind in ("issue", "retire") and draft.points:
        raise LedgerError("bad_amount", f"{draft.kind} moves grams only, not points")
    if draft.kind in ("redeem", "expire") and draft.grams:
        raise LedgerError("bad_amount", f"{draft.kind} moves points only, not grams")
    if draft.kind != "earn" and not (draft.points or draft.grams):
        raise LedgerError("empty_amount", f"{draft.kind} of nothing: give points or grams")
    if draft.kind == "donate" and (not draft.counterparty or draft.counterparty == draft.account):
        raise LedgerError("no_counterparty", "donate needs another account to receive it")


def chain(
    head_seq: int, head_hash: str, drafts: Iterable[Draft], recorded_at: datetime
) -> list[Entry]:
    """Drafts as chained entries after the head (``head_seq`` 0 and :data:`GENESIS` for an
    empty ledger)."""
    out: list[Entry] = []
    seq, prev = head_seq, head_hash
    when = _utc(recorded_at)
    for draft in drafts:
        check_draft(draft)
        seq += 1
        values = {f.name: getattr(draft, f.name) for f in fields(Draft)}
        values.update(
            seq=seq,
            prev_hash=prev,
            hash="",
            points=_amount(draft.points),
            grams=_amount(draft.grams),
            occurred_at=_utc(draft.occurred_at),
            recorded_at=when,
        )
        entry = Entry(**values)
        entry = replace(entry, hash=entry_hash(entry))
        out.append(entry)
        prev = entry.hash
    return out


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: ``ok``, entries checked, the head, and the first bad entry."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    reason: str = ""


def verify(
    entries: Iterable[Entry],
    head: tuple[int, str] | None = None,
    expected_head: str | None = None,
) -> Verification:
    """Recompute the chain of ``entries`` (ordered by seq) and name the first bad entry.

    Parameters
    ----------
    entries : iterable of Entry
        In stored order of ``seq``.
    head : (int, str), optional
        The stored head (seq, hash of the last entry): catches removed last entries.
    expected_head : str, optional
        A head hash published earlier (``seq:hash`` or just the hash of an entry): the chain
        must still contain it unchanged, which catches a tail rewritten with fresh hashes.
    """
    hashed = ((e.seq, e.prev_hash, e.hash, entry_hash(e)) for e in entries)
    return verify_hashed(hashed, head, expected_head)


def verify_hashed(
    rows: Iterable[tuple[int, str, str, str]],
    head: tuple[int, str] | None = None,
    expected_head: str | None = None,
) -> Verification:
    """:func:`verify` of entries given as (seq, prev_hash, stored hash, recomputed hash), in
    stored order of ``seq`` (the recomputed hashes from :func:`hashes`)."""
    seq, prev, checked = 0, GENESIS, 0
    anchor_seq, anchor_hash = _anchor(expected_head)
    for entry_seq, prev_hash, stored, recomputed in rows:
        checked += 1
        expected = seq + 1
        if entry_seq != expected:
            if entry_seq > expected:
                why = f"entry {expected} is missing (the next stored entry is {entry_seq})"
                return Verification(False, checked, seq, prev, expected, why)
            why = f"entry {entry_seq} appears again or out of order after entry {seq}"
            return Verification(False, checked, seq, prev, entry_seq, why)
        if prev_hash != prev:
            why = (
                f"entry {entry_seq}: prev_hash does not match entry {seq} "
                "(an entry before it was removed, replaced or reordered)"
            )
            return Verification(False, checked, seq, prev, entry_seq, why)
        if recomputed != stored:
            why = f"entry {entry_seq}: content altered (hash {recomputed[:16]}… ≠ stored {stored[:16]}…)"
            return Verification(False, checked, seq, prev, entry_seq, why)
        if anchor_seq == entry_seq and anchor_hash != stored:
            why = f"entry {entry_seq}: differs from the published head hash {anchor_hash[:16]}…"
            return Verification(False, checked, seq, prev, entry_seq, why)
        seq, prev = entry_seq, stored
    if head is not None and (head[0] != seq or head[1] != prev):
        why = (
            f"the head says entry {head[0]} ({head[1][:16]}…) but the chain ends at entry {seq}: "
            "entries at the end were removed, added or rewritten outside the ledger"
        )
        bad = seq if head[0] == seq else min(seq, head[0]) + 1
        return Verification(False, checked, seq, prev, bad, why)
    if anchor_seq is not None and anchor_seq > seq:
        why = f"the published head entry {anchor_seq} is no longer in the ledger (ends at {seq})"
        return Verification(False, checked, seq, prev, seq + 1, why)
    return Verification(True, checked, seq, prev)


def _anchor(text: str | None) -> tuple[int | None, str]:
    if not text:
        return None, ""
    seq_text, _, digest = text.partition(":")
    if not digest or not seq_text.isdigit():
        raise LedgerError("bad_anchor", f"a published head is '<seq>:<hash>', got {text!r}")
    return int(seq_text), digest


# -- balances ----------------------------------------------------------------------------------
@dataclass
class Balance:
    """Points and grams [g CO2e] of one account."""

    points: Decimal = ZERO
    grams: Decimal = ZERO


def effects(entry: Draft | Entry) -> list[tuple[str, Decimal, Decimal]]:
    """(account, Δpoints, Δgrams) of an entry: credits for earn/issue and the receiver of a
    donation, debits for redeem, donate, expire and retire."""
    if entry.kind in ("earn", "issue"):
        return [(entry.account, entry.points, entry.grams)]
    out = [(entry.account, -entry.points, -entry.grams)]
    if entry.kind == "donate":
        out.append((entry.counterparty, entry.points, entry.grams))
    return out


def apply_balances(balances: Mapping[str, Balance], drafts: Iterable[Draft]) -> dict[str, Balance]:
    """Balances after ``drafts``, refusing any that would go negative.

    Raises
    ------
    LedgerError
        ``insufficient_points`` / ``insufficient_grams`` naming the account, its balance and
        what was asked.
    """
    out = {k: Balance(v.points, v.grams) for k, v in balances.items()}
    for draft in drafts:
        for account, d_points, d_grams in effects(quantised(draft)):
            balance = out.setdefault(account, Balance())
            if balance.points + d_points < 0:
                raise LedgerError(
                    "insufficient_points",
                    f"account {account} has {balance.points} points; a {draft.kind} of "
                    f"{-d_points} would leave {balance.points + d_points} (积分不足)",
                )
            if balance.grams + d_grams < 0:
                raise LedgerError(
                    "insufficient_grams",
                    f"account {account} holds {balance.grams} g CO2e; a {draft.kind} of "
                    f"{-d_grams} g would leave {balance.grams + d_grams} (减排量不足)",
                )
            balance.points += d_points
            balance.grams += d_grams
    return out


def expirable(credited_before_cutoff: Decimal, debited: Decimal) -> Decimal:
    """Points that expire: first earned, first spent, so what was credited before the cutoff
    and not yet debited (redeemed, donated or expired) [points]."""
    return max(ZERO, credited_before_cutoff - debited)


# -- behaviour events --------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """One reported low-carbon behaviour (a row of an events CSV, a partner's POST).

    Attributes
    ----------
    event_id : str
        The data source's unique id of the report (the idempotency key).
    quantity : Decimal
        In the rule's unit: km, steps, days, meals, kg …
    source : str
        The evidence source (``metro_ticket``, ``phone_steps`` …); must be one the rule accepts.
    ref : str
        Where the record came from (``events.csv line 12``), for rejections.
    """

    event_id: str
    account: str
    behaviour: str
    occurred_at: datetime
    quantity: Decimal
    source: str
    evidence_ref: str = ""
    ref: str = ""


@dataclass(frozen=True)
class Rejection:
    """An event not credited, with a reason code and a sentence."""

    event: Event
    code: str
    reason: str


@dataclass
class EarnState:
    """What evaluation needs to know of the stored ledger (and learns from the batch).

    Attributes
    ----------
    accounts : set of str
        Known accounts.
    seen_ids : set of str
        Idempotency keys recorded already.
    used_points : dict
        Points earned per (account, behaviour, CST day).
    daily_keys : set of str
        ``account|behaviour|day`` of behaviours credited once a day.
    times : dict
        (account, behaviour) → [(instant, evidence source)] of window-deduplicated behaviours.
    now : datetime
        Events later than ``now`` + 1 day are refused.
    key_prefix : str
        Put before each event id to make its idempotency key: ``partner:<name>:`` for a
        partner (its ids live in a namespace of their own), '' for admins and the CLI.
    max_age : timedelta or None
        Events older than ``now`` − ``max_age`` are refused (``too_old``); None: no limit.
    account_used : dict
        Points earned per (account, CST day), every behaviour (the rule set's account cap).
    partner_cap, partner_used : Decimal or None, Decimal
        Most points the sending partner may credit per CST day of recording [points], and
        what it credited today already.
    """

    accounts: set[str]
    seen_ids: set[str] = field(default_factory=set)
    used_points: dict[tuple[str, str, date], Decimal] = field(default_factory=dict)
    daily_keys: set[str] = field(default_factory=set)
    times: dict[tuple[str, str], list[tuple[datetime, str]]] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    key_prefix: str = ""
    max_age: timedelta | None = None
    account_used: dict[tuple[str, date], Decimal] = field(default_factory=dict)
    partner_cap: Decimal | None = None
    partner_used: Decimal = ZERO

    def key(self, event: Event) -> str:
        """The idempotency key of ``event``: its id in the sender's namespace."""
        return f"{self.key_prefix}{event.event_id}"


def _refuse(event: Event, state: EarnState, rules: RuleSet) -> tuple[str, str] | None:
    if not event.event_id:
        return "missing_event_id", "the event has no event id (the idempotency key)"
    if not state.key_prefix and event.event_id.startswith(PARTNER_PREFIX):
        return (
            "bad_event_id",
            f"event id {event.event_id!r}: ids starting with {PARTNER_PREFIX!r} belong to partners",
        )
    if state.key(event) in state.seen_ids:
        return "duplicate_event", f"event {event.event_id} was recorded already (counted once)"
    if event.account not in state.accounts:
        return (
            "unknown_account",
            f"account {event.account!r} is not registered (ledger account add)",
        )
    if event.behaviour not in rules.behaviours:
        known = ", ".join(sorted(rules.behaviours))
        return "unknown_behaviour", f"behaviour {event.behaviour!r} is not in {rules.key} ({known})"
    rule = rules.behaviours[event.behaviour]
    if event.source not in rule.evidence:
        return (
            "evidence_not_accepted",
            f"evidence source {event.source!r} is not accepted for {event.behaviour} "
            f"(accepted: {', '.join(rule.evidence)})",
        )
    day = local_day(event.occurred_at)
    if day < rules.valid_from:
        return "before_rule_set", f"{day} is before {rules.key} applies ({rules.valid_from})"
    if event.occurred_at > state.now + timedelta(days=1):
        return "in_future", f"the event time {event.occurred_at:%Y-%m-%dT%H:%MZ} is in the future"
    if state.max_age is not None and event.occurred_at < state.now - state.max_age:
        return (
            "too_old",
            f"the event time {event.occurred_at:%Y-%m-%dT%H:%MZ} is more than "
            f"{state.max_age.days} days ago: events are credited within {state.max_age.days} "
            "days (事件过旧)",
        )
    if not (event.quantity.is_finite() and event.quantity <= MAX_QUANTITY):
        return (
            "bad_quantity",
            f"quantity {event.quantity} is not a number of at most {MAX_QUANTITY} (数量无效)",
        )
    return None


def _same_behaviour(event: Event, rules: RuleSet, state: EarnState) -> str | None:
    rule = rules.behaviours[event.behaviour]
    day = local_day(event.occurred_at)
    if rule.dedupe == "daily":
        if f"{event.account}|{event.behaviour}|{day}" in state.daily_keys:
            return (
                f"{event.behaviour} of {event.account} on {day} was credited already (once a day)"
            )
    elif rule.dedupe == "window":
        window = timedelta(minutes=rule.dedupe_window_minutes)
        for instant, source in state.times.get((event.account, event.behaviour), []):
            if source != event.source and abs(instant - event.occurred_at) < window:
                return (
                    f"the same {event.behaviour} was credited from {source} at "
                    f"{instant:%Y-%m-%dT%H:%MZ} (within {rule.dedupe_window_minutes} min)"
                )
    return None


def _room(
    event: Event, behaviour_cap: Decimal | None, used: Decimal, rules: RuleSet, state: EarnState
) -> tuple[Decimal, str, str]:
    """Points ``event`` may still earn under the three daily ceilings, and the code and reason
    of the tightest: the behaviour's cap, the account's cap over all behaviours (rule set
    ``account_daily_cap_points``) and the sending partner's ceiling (per CST day recorded)."""
    day = local_day(event.occurred_at)
    infinite = Decimal("Infinity")
    ceilings = [
        (
            infinite if behaviour_cap is None else behaviour_cap - used,
            "daily_cap",
            f"{event.account} reached the daily cap of {behaviour_cap} points for "
            f"{event.behaviour} on {day}",
        ),
        (
            infinite
            if rules.account_daily_cap_points is None
            else rules.account_daily_cap_points
            - state.account_used.get((event.account, day), ZERO),
            "account_daily_cap",
            f"{event.account} reached the daily ceiling of {rules.account_daily_cap_points} "
            f"points over all behaviours on {day} (账户每日上限)",
        ),
        (
            infinite if state.partner_cap is None else state.partner_cap - state.partner_used,
            "partner_daily_cap",
            f"the sending partner reached its ceiling of {state.partner_cap} points credited "
            "today (合作方每日上限)",
        ),
    ]
    return min(ceilings, key=lambda c: c[0])


def evaluate_events(
    events: Iterable[Event], rules: RuleSet, state: EarnState
) -> tuple[list[Draft], list[Rejection]]:
    """Earn drafts of the events the rules credit, and the rejected ones with reasons.

    Events are taken in time order. Each is refused when its id was seen, its account or
    behaviour is unknown, its evidence source is not accepted, it precedes the rule set or
    lies in the future or further back than ``state.max_age`` (``too_old``), its quantity is
    invalid, the same behaviour was credited from another source (``same_behaviour``), or a
    daily ceiling is reached: the behaviour's (``daily_cap``), the account's over every
    behaviour (``account_daily_cap``) or the sending partner's (``partner_daily_cap``). An
    event over part of a ceiling earns the rest of it, its grams scaled by the same share.
    ``state`` is updated with what is credited.
    """
    drafts: list[Draft] = []
    rejections: list[Rejection] = []
    for event in sorted(events, key=lambda e: (_utc(e.occurred_at), e.event_id)):
        refused = _refuse(event, state, rules)
        if refused is not None:
            rejections.append(Rejection(event, *refused))
            continue
        rule = rules.behaviours[event.behaviour]
        try:
            credit = rule.credit(event.quantity)
        except RuleError as error:
            rejections.append(Rejection(event, "bad_quantity", str(error)))
            continue
        if not credit.points and not credit.grams:
            why = f"{event.quantity} {rule.unit} earns nothing under {rules.key}"
            rejections.append(Rejection(event, "nothing_to_credit", why))
            continue
        duplicate = _same_behaviour(event, rules, state)
        if duplicate is not None:
            rejections.append(Rejection(event, "same_behaviour", duplicate))
            continue
        day = local_day(event.occurred_at)
        cap_key = (event.account, event.behaviour, day)
        used = state.used_points.get(cap_key, ZERO)
        points, grams, detail = credit.points, credit.grams, {"formula": credit.formula}
        if points > 0:
            room, code, why = _room(event, rule.daily_cap_points, used, rules, state)
            if room <= 0:
                rejections.append(Rejection(event, code, why))
                continue
            if points > room:
                detail["capped_from"] = f"{points} pt, {grams} g"
                grams = _amount(grams * room / points)
                points = room
        state.seen_ids.add(state.key(event))
        state.used_points[cap_key] = used + points
        account_day = (event.account, day)
        state.account_used[account_day] = state.account_used.get(account_day, ZERO) + points
        state.partner_used += points
        daily_key = ""
        if rule.dedupe == "daily":
            daily_key = f"{event.account}|{event.behaviour}|{day}"
            state.daily_keys.add(daily_key)
        elif rule.dedupe == "window":
            state.times.setdefault((event.account, event.behaviour), []).append(
                (_utc(event.occurred_at), event.source)
            )
        detail |= {"quantity": f"{event.quantity}", "unit": rule.unit}
        drafts.append(
            Draft(
                kind="earn",
                account=event.account,
                points=points,
                grams=grams,
                idem_key=state.key(event),
                occurred_at=_utc(event.occurred_at),
                rule_set=rules.id,
                rule_version=rules.version,
                behaviour=event.behaviour,
                evidence_source=event.source,
                evidence_ref=event.evidence_ref,
                dedupe_key=daily_key,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )
    return drafts, rejections


#: Columns of an events CSV (``evidence_ref`` optional).
EVENT_COLUMNS = ("event_id", "account", "behaviour", "time", "quantity", "source")


def parse_events_csv(text: str, name: str = "events.csv") -> tuple[list[Event], list[Rejection]]:
    """Events from CSV text: columns ``event_id, account, behaviour, time, quantity, source``
    and optional ``evidence_ref``. ``time`` is ISO 8601; without an offset it is China Standard
    Time. Unreadable rows are returned as rejections (``bad_row``) naming line and reason.

    Raises
    ------
    LedgerError
        ``bad_header`` when a required column is missing.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in EVENT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LedgerError(
            "bad_header",
            f"{name}: missing column(s) {', '.join(missing)}; expected "
            f"{', '.join(EVENT_COLUMNS)}[, evidence_ref]",
        )
    events: list[Event] = []
    rejections: list[Rejection] = []
    for line, row in enumerate(reader, start=2):
        values = {k: (row.get(k) or "").strip() for k in (*EVENT_COLUMNS, "evidence_ref")}
        ref = f"line {line}"
        problem = ""
        try:
            instant = parse_instant(values["time"])
        except ValueError:
            instant, problem = (
                datetime(1970, 1, 1, tzinfo=UTC),
                f"cannot read time {values['time']!r}",
            )
        try:
            quantity = Decimal(values["quantity"])
            if not quantity.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            quantity = Decimal(0)
            problem = problem or f"quantity {values['quantity']!r} is not a number"
        event = Event(
            event_id=values["event_id"],
            account=values["account"],
            behaviour=values["behaviour"],
            occurred_at=instant,
            quantity=quantity,
            source=values["source"],
            evidence_ref=values["evidence_ref"],
            ref=ref,
        )
        if problem:
            rejections.append(Rejection(event, "bad_row", f"{name} {ref}: {problem}"))
        else:
            events.append(event)
    return events, rejections


# -- anomalies ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Anomaly:
    """An account whose points earned in a window lie far above the distribution."""

    account: str
    points: Decimal
    median: Decimal
    spread: Decimal
    score: Decimal


def anomalies(
    earned: Mapping[str, Decimal], threshold: Decimal = Decimal(10), floor: Decimal = Decimal(1)
) -> list[Anomaly]:
    """Accounts far above the distribution of points earned [points] in a window.

    The robust score of each account is (points − median) / spread, with spread = 1.4826 ×
    MAD (the median absolute deviation, scaled to a standard deviation for normal data) but
    at least ``floor`` points, so that a window where most accounts earn the same still
    flags an account earning far more. Accounts whose score exceeds ``threshold`` are
    returned, highest first. Accounts that earned nothing should be given as 0 (they are part
    of the distribution).
    """
    if not earned:
        return []
    values = sorted(earned.values())
    median = _median(values)
    mad = _median(sorted(abs(v - median) for v in values))
    spread = max(mad * Decimal("1.4826"), floor)
    found = [
        Anomaly(account, points, median, spread, ((points - median) / spread).quantize(SCALE))
        for account, points in earned.items()
        if (points - median) / spread > threshold
    ]
    return sorted(found, key=lambda a: (-a.score, a.account))


def _median(ordered: Sequence[Decimal]) -> Decimal:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def same_request(entry: Entry, draft: Draft) -> bool:
    """Whether ``entry`` records the movement ``draft`` asks for (kind, accounts, amounts at the
    ledger's scale): a retry under the same idempotency key is answered from the record, any
    other movement under that key is refused."""
    return (entry.kind, entry.account, entry.counterparty, entry.points, entry.grams) == (
        draft.kind,
        draft.account,
        draft.counterparty,
        draft.points.quantize(SCALE),
        draft.grams.quantize(SCALE),
    )


def same_draft(a: Draft, b: Draft) -> bool:
    """Whether two drafts ask for the same movement (the same key twice in one batch)."""
    return (a.kind, a.account, a.counterparty, a.points.quantize(SCALE),
            a.grams.quantize(SCALE)) == (b.kind, b.account, b.counterparty,
            b.points.quantize(SCALE), b.grams.quantize(SCALE))  # fmt: skip


def day_bounds(days: Iterable[date]) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the China Standard Time days ``days`` span (first to last)."""
    ordered = sorted(days)
    start = datetime.combine(ordered[0], time(0), CST).astimezone(UTC)
    end = datetime.combine(ordered[-1] + timedelta(days=1), time(0), CST).astimezone(UTC)
    return start, end


def day_start(now: datetime) -> datetime:
    """The start (UTC) of the China Standard Time day of ``now``: partners' daily ceilings."""
    return datetime.combine(local_day(now), time(0), CST).astimezone(UTC)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day when shorter)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


# -- expiry, issuance, holders' consents: the decisions, without the store ---------------------
#: How long a redemption consent lives at most [s] (a payment code's minutes).
CONSENT_MAX_SECONDS = 600
CONSENT_DEFAULT_SECONDS = 300
#: Grams in a tonne [g/t]: issued reductions are kept in grams of CO2e.
GRAMS_PER_TONNE = Decimal(1_000_000)


@dataclass(frozen=True)
class ExpiryCut:
    """Where an expiry run at ``as_of`` cuts: points credited before ``cutoff`` (the CST day
    ``cutoff_day``, ``valid_months`` before ``as_of``) expire; the entries are dated ``when``."""

    as_of: date
    cutoff_day: date
    cutoff: datetime
    when: datetime
    valid_months: int


def expiry_cut(as_of: date, rules: RuleSet) -> ExpiryCut:
    """The cut of an expiry at the CST day ``as_of`` under ``rules`` (``valid_months``).

    Raises
    ------
    LedgerError
        ``no_expiry`` when the rule set gives points no validity.
    """
    if rules.valid_months <= 0:
        raise LedgerError("no_expiry", f"rule set {rules.key} sets no validity for points")
    cutoff_day = months_before(as_of, rules.valid_months)
    return ExpiryCut(
        as_of=as_of,
        cutoff_day=cutoff_day,
        cutoff=datetime.combine(cutoff_day, time(0), CST).astimezone(UTC),
        when=datetime.combine(as_of, time(0), CST).astimezone(UTC),
        valid_months=rules.valid_months,
    )


def expiry_drafts(
    cut: ExpiryCut,
    credited: Mapping[str, Decimal],
    debited: Mapping[str, Decimal],
    rules: RuleSet,
) -> list[Draft]:
    """One ``expire`` draft per account with points to expire (:func:`expirable` of what it
    was credited before the cut [points] and what it has debited [points]), keyed by account
    and day so that running the same day again adds nothing."""
    drafts = []
    for account in sorted(credited):
        amount = expirable(credited[account], debited.get(account, ZERO))
        if amount > 0:
            detail = {"cutoff": cut.cutoff_day.isoformat(), "valid_months": cut.valid_months}
            drafts.append(
                Draft(
                    kind="expire",
                    account=account,
                    points=amount,
                    grams=ZERO,
                    idem_key=f"expire:{account}:{cut.as_of.isoformat()}",
                    occurred_at=cut.when,
                    rule_set=rules.id,
                    rule_version=rules.version,
                    detail=json.dumps(detail),
                )
            )
    return drafts


@dataclass(frozen=True)
class MonitoringPeriod:
    """A project's monitoring period as stored: its reduction ER [t CO2e], verifier, formula."""

    tonnes: Decimal
    verified_by: str | None
    formula: str
    start: date
    end: date


def issuance_draft(
    project_id: str,
    period_id: str,
    owner: str,
    period: MonitoringPeriod | None,
    issued_before: bool,
) -> Draft:
    """The ``issue`` entry of a verified monitoring period's reductions to the project's owner
    [g CO2e], once per period.

    Raises
    ------
    LedgerError
        ``no_monitoring``, ``not_verified``, ``already_issued`` or ``nothing_to_issue``.
    """
    if period is None:
        raise LedgerError("no_monitoring", f"{project_id} has no monitoring period {period_id}")
    if not period.verified_by:
        raise LedgerError(
            "not_verified",
            f"{project_id} {period_id} is not verified: issuance needs a verified period "
            "(ledger project monitor … --verified-by NAME)",
        )
    if issued_before:
        raise LedgerError("already_issued", f"{project_id} {period_id} was issued already")
    if period.tonnes <= 0:
        raise LedgerError("nothing_to_issue", f"{project_id} {period_id}: ER is 0")
    detail = {"project": project_id, "period": period_id, "formula": period.formula,
              "verified_by": period.verified_by, "tonnes": str(period.tonnes)}  # fmt: skip
    return Draft(
        kind="issue",
        account=owner,
        points=ZERO,
        grams=period.tonnes * GRAMS_PER_TONNE,
        idem_key=f"issue:{project_id}:{period_id}",
        occurred_at=datetime.combine(period.end, time(0), CST).astimezone(UTC),
        evidence_source="monitoring_report",
        evidence_ref=f"{project_id}/{period_id} ({period.start}–{period.end}), verified by "
        f"{period.verified_by}",
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
    )


def check_consent_terms(max_points: Decimal, max_grams: Decimal, seconds: int) -> None:
    """A consent covers :data:`SCALE` to :data:`MAX_POINTS` points (or up to ``MAX_GRAMS`` g
    CO2e) for 1 to :data:`CONSENT_MAX_SECONDS` s.

    Raises
    ------
    LedgerError
        ``bad_consent`` naming the amounts and the lifetime asked.
    """
    in_range = (
        0 <= max_points <= MAX_POINTS
        and 0 <= max_grams <= MAX_GRAMS
        and max(max_points, max_grams) >= SCALE
        and 1 <= seconds <= CONSENT_MAX_SECONDS
    )
    if not in_range:
        raise LedgerError(
            "bad_consent",
            f"a consent covers {SCALE} to {MAX_POINTS} points (or up to "
            f"{MAX_GRAMS} g) for 1 to {CONSENT_MAX_SECONDS} s (got {max_points} points, "
            f"{max_grams} g, {seconds} s)",
        )


@dataclass(frozen=True)
class StoredConsent:
    """A holder's consent as stored (its code only as a hash)."""

    consent_id: str
    account: str
    merchant: str
    max_points: Decimal
    max_grams: Decimal
    expires_at: datetime
    used_at: datetime | None


def consent_refusal(consent: StoredConsent | None, draft: Draft, now: datetime) -> str:
    """Why ``consent`` does not cover ``draft`` at ``now`` (empty when it does): no such code,
    another account (no hint of whose it is), used already, expired, more points or grams than
    consented, another merchant."""
    if consent is None or consent.account != draft.account:
        return "no consent has this code"
    name = consent.consent_id
    if consent.used_at is not None:
        return f"consent {name} was used already (single use)"
    if consent.expires_at <= now:
        return f"consent {name} expired at {consent.expires_at:%Y-%m-%dT%H:%M:%SZ}"
    if draft.points > consent.max_points:
        return f"consent {name} covers at most {consent.max_points} points, not {draft.points}"
    if draft.grams > consent.max_grams:
        return f"consent {name} covers at most {consent.max_grams} g, not {draft.grams}"
    if consent.merchant and consent.merchant != draft.counterparty:
        return f"consent {name} is for {consent.merchant}, not {draft.counterparty!r}"
    return ""


def rejection_record(rejection: Rejection, source: str) -> dict[str, str]:
    """A refused event as a row of the ``rejected`` records: its reference, reason and the
    event as JSON (``raw``)."""
    event = rejection.event
    raw = {
        "event_id": event.event_id,
        "account": event.account,
        "behaviour": event.behaviour,
        "time": event.occurred_at.isoformat(),
        "quantity": str(event.quantity),
        "source": event.source,
        "evidence_ref": event.evidence_ref,
    }
    return {
        "source": source,
        "record_ref": event.ref or f"event {event.event_id}",
        "reason_code": rejection.code,
        "reason": rejection.reason,
        "raw": json.dumps(raw, ensure_ascii=False),
    }
