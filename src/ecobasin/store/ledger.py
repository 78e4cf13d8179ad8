"""SQL of the carbon-inclusive ledger 碳普惠账本 (migration 9).

The only writer of the ``ledger_*`` tables. Entries are appended, never updated or deleted: this
module has no function that changes or removes one, and :func:`verify` recomputes the hash chain
so a change made directly in SQL (an amount, a removed or reordered row, a rewritten tail) is
found and the first bad entry named.

Appends are serialised: one lock per database file in this process (DuckDB lets one process
write a file), then one transaction that reads the head, chains the new entries after it,
checks balances and moves the head. Two writers therefore never fork the chain, and concurrent
redemptions never overdraw. A crash before COMMIT leaves the ledger as it was.

Functions take the :class:`~ecobasin.store.Store` (writes) or a Store/cursor (reads).
"""

from __future__ import annotations

import calendar
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import Balance, Draft, Entry, Event, LedgerError, Rejection
from ecobasin.carbon.rules import RuleError, RuleSet
from ecobasin.store.database import Store
from ecobasin.timebase import CST

__all__ = [
    "ACCOUNT_KINDS",
    "Appended",
    "Recorded",
    "accounts",
    "add_account",
    "append",
    "balance",
    "balances",
    "donate",
    "entries",
    "expire",
    "head",
    "issue",
    "iter_entries",
    "monitor",
    "monitoring",
    "projects",
    "record_events",
    "redeem",
    "register_project",
    "register_rule_set",
    "retire",
    "summary",
    "verify",
]

Connection = Store | duckdb.DuckDBPyConnection
ACCOUNT_KINDS = ("person", "organisation", "merchant", "project", "pool")
GRAMS_PER_TONNE = Decimal(1_000_000)
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _con(where: Connection) -> duckdb.DuckDBPyConnection:
    return where.con if isinstance(where, Store) else where


def _frame(where: Connection, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    frame: pd.DataFrame = _con(where).sql(sql, params=params or None).to_arrow_table().to_pandas()
    return frame


def _rows(where: Connection, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return _con(where).execute(sql, params or []).fetchall()


def _now() -> datetime:
    return datetime.now(UTC)


def _lock(store: Store) -> threading.RLock:
    """The append lock of the store's database file in this process."""
    key = str(store.path.resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


# -- accounts ----------------------------------------------------------------------------------
def add_account(
    store: Store, account_id: str, kind: str, name: str, city_code: int | None = None
) -> None:
    """Register an account (person, organisation, merchant, project or pool).

    Raises
    ------
    LedgerError
        ``bad_account`` (empty id, unknown kind) or ``account_exists``.
    """
    if not account_id.strip() or len(account_id) > 64 or "|" in account_id:
        raise LedgerError("bad_account", f"account id {account_id!r}: 1-64 characters, no '|'")
    if kind not in ACCOUNT_KINDS:
        raise LedgerError("bad_account", f"kind {kind!r} is not one of {', '.join(ACCOUNT_KINDS)}")
    if _rows(store, "SELECT 1 FROM ledger_accounts WHERE account_id = ?", [account_id]):
        raise LedgerError("account_exists", f"account {account_id!r} exists already")
    store.con.execute(
        "INSERT INTO ledger_accounts VALUES (?, ?, ?, ?, ?)",
        [account_id, kind, name, city_code, _now()],
    )


def add_accounts(store: Store, frame: pd.DataFrame) -> int:
    """Register many accounts at once (columns account_id, kind, name, city_code); accounts
    already there are kept. Returns how many were new."""
    if frame.empty:
        return 0
    rows = frame[["account_id", "kind", "name", "city_code"]].copy()
    bad = sorted(set(rows["kind"]) - set(ACCOUNT_KINDS))
    if bad:
        raise LedgerError("bad_account", f"unknown account kinds {bad}")
    rows["created_at"] = _now()
    before = _count(store, "ledger_accounts")
    with store.transaction(), store._registered(account_in=rows):
        store.con.execute("INSERT OR IGNORE INTO ledger_accounts SELECT * FROM account_in")
    return _count(store, "ledger_accounts") - before


def accounts(where: Connection, kind: str | None = None) -> pd.DataFrame:
    """Accounts with their balances (points, grams [g CO2e])."""
    params: list[Any] = []
    condition = ""
    if kind:
        condition, params = " WHERE a.kind = ?", [kind]
    return _frame(
        where,
        f"SELECT a.account_id, a.kind, a.name, a.city_code, a.created_at, "
        f"coalesce(b.points, 0) AS points, coalesce(b.grams, 0) AS grams "
        f"FROM ledger_accounts a LEFT JOIN ({_BALANCES}) b ON b.account = a.account_id"
        f"{condition} ORDER BY a.account_id",
        params,
    )


def _count(where: Connection, table: str) -> int:
    return int(_rows(where, f"SELECT count(*) FROM {table}")[0][0])


# -- rule sets -------------------------------------------------------------------------------
def register_rule_set(store: Store, rules: RuleSet) -> None:
    """Keep the rule set version the ledger credits with (frozen by its content hash).

    Raises
    ------
    RuleError
        The same id and version is stored with other content: publish a new version.
    """
    found = _rows(
        store,
        "SELECT sha256 FROM ledger_rule_sets WHERE rule_set = ? AND version = ?",
        [rules.id, rules.version],
    )
    if found:
        if found[0][0] != rules.sha256:
            raise RuleError(
                f"rule set {rules.key} is stored with other content (sha256 {found[0][0][:12]}…, "
                f"now {rules.sha256[:12]}…): a used version is frozen, publish a new version"
            )
        return
    store.con.execute(
        "INSERT INTO ledger_rule_sets VALUES (?, ?, ?, ?, ?, ?)",
        [
            rules.id,
            rules.version,
            rules.valid_from,
            carbon_rules.canonical_json(rules.content),
            rules.sha256,
            _now(),
        ],
    )


def stored_rule_sets(where: Connection) -> pd.DataFrame:
    return _frame(
        where,
        "SELECT rule_set, version, valid_from, sha256, loaded_at FROM ledger_rule_sets "
        "ORDER BY rule_set, valid_from",
    )


# -- the chain ---------------------------------------------------------------------------------
def head(where: Connection) -> tuple[int, str]:
    """(seq, hash) of the last entry; (0, GENESIS) for an empty ledger."""
    found = _rows(where, "SELECT seq, hash FROM ledger_head WHERE id = 1")
    return (int(found[0][0]), str(found[0][1])) if found else (0, core.GENESIS)


def _arrow(chained: Sequence[Entry]) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for name in core.COLUMNS:
        values = [getattr(e, name) for e in chained]
        if name == "seq":
            columns[name] = pa.array(values, pa.int64())
        elif name == "points":
            columns[name] = pa.array(values, pa.decimal128(18, 3))
        elif name == "grams":
            columns[name] = pa.array(values, pa.decimal128(24, 3))
        elif name in ("occurred_at", "recorded_at"):
            columns[name] = pa.array(values, pa.timestamp("us", tz="UTC"))
        else:
            columns[name] = pa.array(values, pa.string())
    return pa.table(columns)


def _write(store: Store, drafts: Sequence[Draft]) -> list[Entry]:
    """Chain ``drafts`` after the head and insert them (caller holds the lock and a
    transaction)."""
    if not drafts:
        return []
    seq, prev = head(store)
    chained = core.chain(seq, prev, drafts, _now())
    last = chained[-1]
    with store._registered(entry_in=_arrow(chained)):
        store.con.execute("INSERT INTO ledger_entries SELECT * FROM entry_in")
    store.con.execute(
        "INSERT INTO ledger_head VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "seq = excluded.seq, hash = excluded.hash, updated_at = excluded.updated_at",
        [last.seq, last.hash, last.recorded_at],
    )
    return chained


_BALANCES = """
    SELECT account, sum(p) AS points, sum(g) AS grams FROM (
        SELECT account,
               CASE WHEN kind IN ('earn', 'issue') THEN points ELSE -points END AS p,
               CASE WHEN kind IN ('earn', 'issue') THEN grams ELSE -grams END AS g
        FROM ledger_entries
        UNION ALL
        SELECT counterparty, points, grams FROM ledger_entries WHERE kind = 'donate'
    ) GROUP BY account
"""


def balances(where: Connection, account_ids: Sequence[str] | None = None) -> dict[str, Balance]:
    """Points and grams [g CO2e] per account, from the entries (accounts without entries are
    absent)."""
    sql, params = f"SELECT * FROM ({_BALANCES})", []
    if account_ids is not None:
        sql, params = sql + " WHERE account = ANY(?)", [list(account_ids)]
    return {str(a): Balance(Decimal(p), Decimal(g)) for a, p, g in _rows(where, sql, params)}


def balance(where: Connection, account_id: str) -> Balance:
    return balances(where, [account_id]).get(account_id, Balance())


def _known_accounts(where: Connection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = _rows(
        where, "SELECT account_id FROM ledger_accounts WHERE account_id = ANY(?)", [wanted]
    )
    return {str(r[0]) for r in rows}


def _existing(where: Connection, keys: Sequence[str]) -> dict[str, Entry]:
    if not keys:
        return {}
    columns = ", ".join(core.COLUMNS)
    rows = _rows(
        where, f"SELECT {columns} FROM ledger_entries WHERE idem_key = ANY(?)", [list(keys)]
    )
    return {str(r[core.COLUMNS.index("idem_key")]): Entry.from_row(r) for r in rows}


@dataclass(frozen=True)
class Appended:
    """Entries written (or found, when ``replayed``: the same request was recorded before)."""

    entries: list[Entry]
    replayed: bool = False


def _same_request(entry: Entry, draft: Draft) -> bool:
    return (entry.kind, entry.account, entry.counterparty, entry.points, entry.grams) == (
        draft.kind,
        draft.account,
        draft.counterparty,
        draft.points.quantize(core.SCALE),
        draft.grams.quantize(core.SCALE),
    )


def append(store: Store, drafts: Sequence[Draft]) -> Appended:
    """Append drafts as one all-or-nothing step, refusing any that would overdraw.

    A draft whose idempotency key is on file already is a replay: when it asks for the same
    movement, the recorded entries are returned (``replayed``) and nothing is written.

    Raises
    ------
    LedgerError
        ``unknown_account``, ``insufficient_points``/``insufficient_grams``, ``key_reused``
        (the key was used for another movement), or a bad draft (:func:`core.check_draft`).
    """
    for draft in drafts:
        core.check_draft(draft)
    with _lock(store), store.transaction():
        found = _existing(store, [d.idem_key for d in drafts])
        if found:
            for draft in drafts:
                entry = found.get(draft.idem_key)
                if entry is None or not _same_request(entry, draft):
                    raise LedgerError(
                        "key_reused",
                        f"idempotency key {draft.idem_key!r} was used before for another "
                        "movement; use a new key",
                    )
            return Appended([found[d.idem_key] for d in drafts], replayed=True)
        named = {a for d in drafts for a, *_ in core.effects(d)}
        unknown = sorted(named - _known_accounts(store, named))
        if unknown:
            raise LedgerError("unknown_account", f"unknown account(s) {', '.join(unknown)}")
        core.apply_balances(balances(store, sorted(named)), drafts)
        return Appended(_write(store, drafts))


# -- behaviour events -------------------------------------------------------------------------
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


def _day_bounds(days: Iterable[date]) -> tuple[datetime, datetime]:
    ordered = sorted(days)
    start = datetime.combine(ordered[0], time(0), CST).astimezone(UTC)
    end = datetime.combine(ordered[-1] + timedelta(days=1), time(0), CST).astimezone(UTC)
    return start, end


def _earn_state(store: Store, events: Sequence[Event], rules: RuleSet) -> core.EarnState:
    """What the stored ledger already holds for the batch's accounts, behaviours and days."""
    state = core.EarnState(accounts=_known_accounts(store, (e.account for e in events)))
    ids = sorted({e.event_id for e in events if e.event_id})
    state.seen_ids = set(_existing_keys(store, ids))
    good = [e for e in events if e.account in state.accounts]
    if not good:
        return state
    start, end = _day_bounds(core.local_day(e.occurred_at) for e in good)
    widest = max((r.dedupe_window_minutes for r in rules.behaviours.values()), default=0)
    margin = timedelta(minutes=widest)
    rows = _rows(
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
        if dedupe_key:
            state.daily_keys.add(str(dedupe_key))
        state.times.setdefault((str(account), str(behaviour)), []).append((instant, str(source)))
    return state


def _existing_keys(where: Connection, keys: Sequence[str]) -> list[str]:
    if not keys:
        return []
    rows = _rows(where, "SELECT idem_key FROM ledger_entries WHERE idem_key = ANY(?)", [list(keys)])
    return [str(r[0]) for r in rows]


def _reject_rows(rejections: Sequence[Rejection], source: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "source": source,
                "record_ref": r.event.ref or f"event {r.event.event_id}",
                "reason_code": r.code,
                "reason": r.reason,
                "raw": json.dumps(
                    {
                        "event_id": r.event.event_id,
                        "account": r.event.account,
                        "behaviour": r.event.behaviour,
                        "time": r.event.occurred_at.isoformat(),
                        "quantity": str(r.event.quantity),
                        "source": r.event.source,
                        "evidence_ref": r.event.evidence_ref,
                    },
                    ensure_ascii=False,
                ),
            }
            for r in rejections
        ]
    )


def record_events(
    store: Store,
    events: Sequence[Event],
    rules: RuleSet | None = None,
    source: str = "ledger",
    extra_rejections: Sequence[Rejection] = (),
) -> Recorded:
    """Credit behaviour events under ``rules`` (default: the latest shipped rule set).

    Idempotent: an event id is credited once; a repeated id, the same behaviour from another
    data source, an event over the daily cap … are refused with their reason and kept in
    ``rejected`` (``source``, ``record_ref`` = the event's ref). ``extra_rejections`` (rows
    a reader could not parse) are kept aside with them.
    """
    chosen = rules or carbon_rules.rule_set()
    with _lock(store), store.transaction():
        register_rule_set(store, chosen)
        state = _earn_state(store, events, chosen)
        drafts, rejections = core.evaluate_events(events, chosen, state)
        written = _write(store, drafts)
        every = [*extra_rejections, *rejections]
        if every:
            store.reject(_reject_rows(every, source))
    return Recorded(written, every)


# -- redeem, donate, expire ------------------------------------------------------------------
def _key(key: str | None, prefix: str) -> str:
    if key:
        return key
    return f"{prefix}:{_now():%Y%m%dT%H%M%S.%f}:{threading.get_ident()}"


def redeem(
    store: Store,
    account: str,
    points: Decimal,
    merchant: str = "",
    key: str | None = None,
    note: str = "",
) -> Appended:
    """Spend ``points`` of ``account`` (at ``merchant``); refused when the balance is short."""
    if points <= 0:
        raise LedgerError("empty_amount", "redeem a positive number of points")
    draft = Draft(
        kind="redeem",
        account=account,
        points=points,
        grams=Decimal(0),
        idem_key=_key(key, f"redeem:{account}"),
        occurred_at=_now(),
        counterparty=merchant,
        detail=json.dumps({"note": note}, ensure_ascii=False) if note else "",
    )
    return append(store, [draft])


def donate(
    store: Store,
    account: str,
    to: str,
    points: Decimal = Decimal(0),
    grams: Decimal = Decimal(0),
    key: str | None = None,
    note: str = "",
) -> Appended:
    """Give points and/or grams [g CO2e] of ``account`` to account ``to``."""
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
    return append(store, [draft])


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day when shorter)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def expire(store: Store, as_of: date, rules: RuleSet | None = None) -> Appended:
    """Expire points older than the rule set's validity (``valid_months``) at ``as_of`` [CST
    day]: per account, the points credited before the cutoff that were not yet spent (first
    earned, first spent). Running it again for the same day changes nothing.
    """
    chosen = rules or carbon_rules.rule_set()
    if chosen.valid_months <= 0:
        raise LedgerError("no_expiry", f"rule set {chosen.key} sets no validity for points")
    cutoff_day = _months_before(as_of, chosen.valid_months)
    cutoff = datetime.combine(cutoff_day, time(0), CST).astimezone(UTC)
    when = datetime.combine(as_of, time(0), CST).astimezone(UTC)
    with _lock(store), store.transaction():
        rows = _rows(
            store,
            "SELECT account, sum(points) FILTER (WHERE occurred_at < $cutoff) AS credited, "
            "0 AS debited FROM ledger_entries WHERE kind = 'earn' GROUP BY account "
            "UNION ALL SELECT counterparty, sum(points) FILTER (WHERE occurred_at < $cutoff), 0 "
            "FROM ledger_entries WHERE kind = 'donate' GROUP BY counterparty "
            "UNION ALL SELECT account, 0, sum(points) FROM ledger_entries "
            "WHERE kind IN ('redeem', 'donate', 'expire') GROUP BY account",
            {"cutoff": cutoff},  # type: ignore[arg-type]
        )
        credited: dict[str, Decimal] = {}
        debited: dict[str, Decimal] = {}
        for account, c, d in rows:
            credited[account] = credited.get(account, Decimal(0)) + Decimal(c or 0)
            debited[account] = debited.get(account, Decimal(0)) + Decimal(d or 0)
        drafts = []
        for account in sorted(credited):
            amount = core.expirable(credited[account], debited.get(account, Decimal(0)))
            if amount > 0:
                detail = {"cutoff": cutoff_day.isoformat(), "valid_months": chosen.valid_months}
                drafts.append(
                    Draft(
                        kind="expire",
                        account=account,
                        points=amount,
                        grams=Decimal(0),
                        idem_key=f"expire:{account}:{as_of.isoformat()}",
                        occurred_at=when,
                        rule_set=chosen.id,
                        rule_version=chosen.version,
                        detail=json.dumps(detail),
                    )
                )
        drafts = [d for d in drafts if d.idem_key not in set(_existing_keys(store, [d.idem_key]))]
        return Appended(_write(store, drafts))


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
    if _rows(store, "SELECT 1 FROM ledger_projects WHERE project_id = ?", [project_id]):
        raise LedgerError("project_exists", f"project {project_id!r} is registered already")
    if not _known_accounts(store, [owner]):
        raise LedgerError("unknown_account", f"owner account {owner!r} is not registered")
    store.con.execute(
        "INSERT INTO ledger_projects VALUES (?, ?, ?, ?, ?, ?, ?)",
        [project_id, name, methodology, owner, city_code, ef_grid, _now()],
    )


def projects(where: Connection) -> pd.DataFrame:
    """Projects with issued tonnes [t CO2e]."""
    return _frame(
        where,
        "SELECT p.*, coalesce(sum(i.tonnes), 0) AS issued_t, count(i.period_id) AS periods_issued "
        "FROM ledger_projects p LEFT JOIN ledger_issuances i USING (project_id) "
        "GROUP BY ALL ORDER BY p.project_id",
    )


def _project(where: Connection, project_id: str) -> tuple[str, str, Decimal | None]:
    found = _rows(
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
    return _frame(
        where,
        "SELECT m.*, i.seq AS issue_seq, i.issued_at FROM ledger_monitoring m "
        "LEFT JOIN ledger_issuances i USING (project_id, period_id)"
        f"{condition} ORDER BY m.project_id, m.period_start",
        params,
    )


def _issued(where: Connection, project_id: str, period_id: str) -> bool:
    return bool(
        _rows(
            where,
            "SELECT 1 FROM ledger_issuances WHERE project_id = ? AND period_id = ?",
            [project_id, period_id],
        )
    )


def issue(store: Store, project_id: str, period_id: str) -> Entry:
    """Issue the reductions of a verified monitoring period to the project's owner, once.

    Raises
    ------
    LedgerError
        ``unknown_project``, ``no_monitoring``, ``not_verified``, ``already_issued`` or
        ``nothing_to_issue``.
    """
    _, owner, _ = _project(store, project_id)
    with _lock(store), store.transaction():
        found = _rows(
            store,
            "SELECT reduction_t, verified_by, formula, period_start, period_end "
            "FROM ledger_monitoring WHERE project_id = ? AND period_id = ?",
            [project_id, period_id],
        )
        if not found:
            raise LedgerError("no_monitoring", f"{project_id} has no monitoring period {period_id}")
        tonnes, verifier, formula, start, end = found[0]
        if not verifier:
            raise LedgerError(
                "not_verified",
                f"{project_id} {period_id} is not verified: issuance needs a verified period "
                "(ledger project monitor … --verified-by NAME)",
            )
        if _issued(store, project_id, period_id):
            raise LedgerError("already_issued", f"{project_id} {period_id} was issued already")
        if Decimal(tonnes) <= 0:
            raise LedgerError("nothing_to_issue", f"{project_id} {period_id}: ER is 0")
        detail = {"project": project_id, "period": period_id, "formula": formula,
                  "verified_by": verifier, "tonnes": str(tonnes)}  # fmt: skip
        draft = Draft(
            kind="issue",
            account=owner,
            points=Decimal(0),
            grams=Decimal(tonnes) * GRAMS_PER_TONNE,
            idem_key=f"issue:{project_id}:{period_id}",
            occurred_at=datetime.combine(end, time(0), CST).astimezone(UTC),
            evidence_source="monitoring_report",
            evidence_ref=f"{project_id}/{period_id} ({start}–{end}), verified by {verifier}",
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )
        entry = _write(store, [draft])[0]
        store.con.execute(
            "INSERT INTO ledger_issuances VALUES (?, ?, ?, ?, ?)",
            [project_id, period_id, entry.seq, tonnes, entry.recorded_at],
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
    return _frame(where, sql, params)


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
    result = _con(where).execute(f"SELECT {select} FROM ledger_entries ORDER BY seq")
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


def verify(where: Connection, expected_head: str | None = None) -> core.Verification:
    """Recompute the hash chain of the stored ledger against its head (and a published head
    hash ``<seq>:<hash>``, if given)."""
    found = _rows(where, "SELECT seq, hash FROM ledger_head WHERE id = 1")
    stored_head = (int(found[0][0]), str(found[0][1])) if found else (0, core.GENESIS)
    return core.verify(iter_entries(where), stored_head, expected_head)


def summary(where: Connection) -> dict[str, Any]:
    """Totals: entries by kind, points and grams in circulation, tonnes issued and retired."""
    by_kind: dict[str, dict[str, Any]] = {
        str(k): {"entries": int(n), "points": Decimal(p), "grams": Decimal(g)}
        for k, n, p, g in _rows(
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
