"""SQL of the carbon-inclusive ledger's accounts, rule sets and entries 碳普惠账本 (migration 9).

The tables every ledger operation reads and writes: accounts and their kinds, the rule sets
(stored once per id and version, content-hashed), the chain's head, balances, entries by
idempotency key, and :func:`_write`, the one INSERT of entries (chained after the stored head).
Entries are appended, never updated or deleted. :func:`_lock` is the per-file write lock every
writer of the ledger takes (DuckDB lets one process write a file).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import Balance, Draft, Entry, LedgerError
from ecobasin.carbon.rules import RuleError, RuleSet
from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.database import Store

ACCOUNT_KINDS = ("person", "organisation", "merchant", "project", "pool")
GRAMS_PER_TONNE = core.GRAMS_PER_TONNE
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


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
    if _sql.rows(store, "SELECT 1 FROM ledger_accounts WHERE account_id = ?", [account_id]):
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
    return _sql.frame(
        where,
        f"SELECT a.account_id, a.kind, a.name, a.city_code, a.created_at, "
        f"coalesce(b.points, 0) AS points, coalesce(b.grams, 0) AS grams "
        f"FROM ledger_accounts a LEFT JOIN ({_BALANCES}) b ON b.account = a.account_id"
        f"{condition} ORDER BY a.account_id",
        params,
    )


def _count(where: Connection, table: str) -> int:
    return int(_sql.rows(where, f"SELECT count(*) FROM {table}")[0][0])


# -- rule sets -------------------------------------------------------------------------------
def register_rule_set(store: Store, rules: RuleSet) -> None:
    """Keep the rule set version the ledger credits with (frozen by its content hash).

    Raises
    ------
    RuleError
        The same id and version is stored with other content: publish a new version.
    """
    found = _sql.rows(
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
    return _sql.frame(
        where,
        "SELECT rule_set, version, valid_from, sha256, loaded_at FROM ledger_rule_sets "
        "ORDER BY rule_set, valid_from",
    )


# -- the chain ---------------------------------------------------------------------------------
def head(where: Connection) -> tuple[int, str]:
    """(seq, hash) of the last entry; (0, GENESIS) for an empty ledger."""
    found = _sql.rows(where, "SELECT seq, hash FROM ledger_head WHERE id = 1")
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


def _write(
    store: Store, drafts: Sequence[Draft], after: tuple[int, str] | None = None
) -> list[Entry]:
    """Chain ``drafts`` after the head (read unless ``after`` gives it) and insert them
    (caller holds the lock and a transaction)."""
    if not drafts:
        return []
    seq, prev = after or head(store)
    chained = core.chain(seq, prev, drafts, _now())
    last = chained[-1]
    store.con.from_arrow(_arrow(chained)).insert_into("ledger_entries")
    if seq:  # the head row exists: a plain UPDATE is cheaper than an upsert
        store.con.execute(
            "UPDATE ledger_head SET seq = ?, hash = ?, updated_at = ? WHERE id = 1",
            [last.seq, last.hash, last.recorded_at],
        )
    else:
        store.con.execute(
            "INSERT INTO ledger_head VALUES (1, ?, ?, ?)", [last.seq, last.hash, last.recorded_at]
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
    return {str(a): Balance(Decimal(p), Decimal(g)) for a, p, g in _sql.rows(where, sql, params)}


def balance(where: Connection, account_id: str) -> Balance:
    return balances(where, [account_id]).get(account_id, Balance())


def _known_accounts(where: Connection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = _sql.rows(
        where, "SELECT account_id FROM ledger_accounts WHERE account_id = ANY(?)", [wanted]
    )
    return {str(r[0]) for r in rows}


def _accounts_and_balances(
    where: Connection, ids: Iterable[str]
) -> tuple[set[str], dict[str, Balance]]:
    """The registered accounts among ``ids`` and their balances, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return set(), {}
    rows = _sql.rows(
        where,
        "SELECT a.account_id, b.points, b.grams FROM ledger_accounts a LEFT JOIN ("
        "SELECT account, sum(p) AS points, sum(g) AS grams FROM ("
        "SELECT account, CASE WHEN kind IN ('earn', 'issue') THEN points ELSE -points END AS p, "
        "CASE WHEN kind IN ('earn', 'issue') THEN grams ELSE -grams END AS g "
        "FROM ledger_entries WHERE account = ANY($ids) UNION ALL "
        "SELECT counterparty, points, grams FROM ledger_entries "
        "WHERE kind = 'donate' AND counterparty = ANY($ids)) GROUP BY account"
        ") b ON b.account = a.account_id WHERE a.account_id = ANY($ids)",
        {"ids": wanted},
    )
    known = {str(r[0]) for r in rows}
    held = {str(a): Balance(Decimal(p or 0), Decimal(g or 0)) for a, p, g in rows}
    return known, held


def _existing(where: Connection, keys: Sequence[str]) -> dict[str, Entry]:
    if not keys:
        return {}
    columns = ", ".join(core.COLUMNS)
    wanted = sorted(set(keys))
    # a short IN list is answered from the UNIQUE index; a long one by a scan
    condition = f"IN ({', '.join('?' * len(wanted))})" if len(wanted) <= 256 else "= ANY(?)"
    params: list[Any] = wanted if len(wanted) <= 256 else [wanted]
    rows = _sql.rows(
        where, f"SELECT {columns} FROM ledger_entries WHERE idem_key {condition}", params
    )
    return {str(r[core.COLUMNS.index("idem_key")]): Entry.from_row(r) for r in rows}


@dataclass(frozen=True)
class Appended:
    """Entries written (or found, when ``replayed``: the same request was recorded before)."""

    entries: list[Entry]
    replayed: bool = False
