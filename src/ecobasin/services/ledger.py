"""The carbon-inclusive ledger's questions 碳普惠账本, answered once for ``ecobasin ledger …`` and
``/api/v1/ledger/…``: behaviour rules, methodologies, totals, the chain check, projects with
their monitoring periods, accounts and entries.

Amounts stay exact: points [points] and grams [g CO2e] are :class:`~decimal.Decimal` in the
store and their exact text in the answers (:func:`plain`), tonnes [t CO2e] likewise. The rules
and the hash chain are :mod:`ecobasin.carbon.ledger` and :mod:`ecobasin.carbon.rules`; the SQL is
:mod:`ecobasin.store.ledger`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import Entry
from ecobasin.errors import NotFound
from ecobasin.services.cells import json_cell
from ecobasin.store import Connection, Store
from ecobasin.store import ledger as store_ledger

# the ledger's writes the API and the CLI make (its group commit, consents, partners, pools,
# projects), answered by the store's operations; their rules are the core's (carbon.ledger)
from ecobasin.store.ledger import (
    CONSENT_DEFAULT_SECONDS,
    CONSENT_MAX_SECONDS,
    account_kind,
    add_pool_admin,
    anomalies,
    bind_partner_account,
    create_consent,
    donate,
    holder_key_account,
    issue_holder_key,
    monitor,
    partner_accounts,
    partner_limit,
    pool_admins,
    record_events,
    redeem,
    register_project,
    retire,
    set_partner_limit,
)
from ecobasin.store.ledger_tables import GRAMS_PER_TONNE, Appended, add_account

__all__ = [
    "CONSENT_DEFAULT_SECONDS",
    "CONSENT_MAX_SECONDS",
    "GRAMS_PER_TONNE",
    "Appended",
    "account",
    "account_kind",
    "accounts",
    "add_account",
    "add_pool_admin",
    "anomalies",
    "balances",
    "bind_partner_account",
    "create_consent",
    "donate",
    "entries",
    "entry",
    "expire",
    "holder_key_account",
    "issue",
    "issue_holder_key",
    "methodologies",
    "monitor",
    "monitoring",
    "partner_accounts",
    "partner_limit",
    "plain",
    "pool_admins",
    "projects",
    "record_events",
    "redeem",
    "register_project",
    "reject_events",
    "retire",
    "rows",
    "rule_set",
    "rules",
    "set_partner_limit",
    "summary",
    "verify",
]


def plain(value: Any) -> Any:
    """A ledger cell (or dict of cells) as a JSON value: amounts as their exact text, instants
    as ISO 8601 text, NULL/NaN as ``None`` (:func:`ecobasin.services.cells.json_cell`)."""
    if isinstance(value, datetime):  # pd.Timestamp too: ISO 8601 with its offset
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return json_cell(value, exact_decimals=True)


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a ledger table as JSON objects (cells through :func:`plain`)."""
    return [{str(k): plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def entry(found: Entry) -> dict[str, Any]:
    """One entry as JSON: every column of the chain (amounts exact, instants ISO 8601)."""
    return {k: plain(v) for k, v in found.as_row().items()}


def rule_set(rule_set_id: str | None, version: str | None) -> carbon_rules.RuleSet:
    """The behaviour rule set ``rule_set_id`` at ``version`` (default: the current one and its
    latest version).

    Raises
    ------
    NotFound
        No such rule set or version.
    """
    try:
        return carbon_rules.rule_set(rule_set_id, version)
    except carbon_rules.RuleError as error:
        raise NotFound(str(error)) from None


def rules(chosen: carbon_rules.RuleSet) -> dict[str, Any]:
    """A behaviour rule set: per behaviour the method, its numbers, points, daily cap [points],
    how the same behaviour from two sources is recognised, the evidence and the sources."""
    behaviours = [
        {
            "behaviour": r.behaviour,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "method": r.method,
            "unit": r.unit,
            "numbers": {k: str(v) for k, v in r.params.items()},
            "daily_cap_points": plain(r.daily_cap_points),
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
        "account_daily_cap_points": plain(chosen.account_daily_cap_points),
        "sha256": chosen.sha256,
        "behaviours": behaviours,
    }


def methodologies() -> list[dict[str, Any]]:
    """Project methodologies (ER = BE − PE − LE [t CO2e]) with their inputs and sources."""
    return [
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


def summary(where: Connection) -> dict[str, Any]:
    """Totals: entries by kind, points [points] and grams [g CO2e] in circulation, tonnes
    [t CO2e] issued and retired, and the head ``<seq>:<hash>`` to publish."""
    answer: dict[str, Any] = plain(store_ledger.summary(where))
    return answer


def verify(where: Connection, expect_head: str | None = None) -> core.Verification:
    """The hash chain recomputed, every running balance checked (none negative), against a
    head published earlier (``<seq>:<hash>``) when given.

    Raises
    ------
    ecobasin.carbon.ledger.LedgerError
        ``expect_head`` is not ``<seq>:<hash>``.
    """
    return store_ledger.verify(where, expect_head)


def projects(where: Connection) -> list[dict[str, Any]]:
    """Registered projects, each with its monitoring periods (BE, PE, LE, ER [t CO2e],
    verifier) and issuance."""
    periods = rows(monitoring(where))
    registered = rows(store_ledger.projects(where))
    for row in registered:
        row["periods"] = [p for p in periods if p["project_id"] == row["project_id"]]
    return registered


def accounts(where: Connection, kind: str | None = None) -> pd.DataFrame:
    """Accounts with their balances: points [points] and grams [g CO2e]."""
    return store_ledger.accounts(where, kind)


def balances(where: Connection, account_id: str | None = None) -> pd.DataFrame:
    """Balances of every account, or of ``account_id``: points [points] and grams [g CO2e].

    Raises
    ------
    ecobasin.carbon.ledger.LedgerError
        ``unknown_account``: no account ``account_id``.
    """
    frame = store_ledger.accounts(where)
    if account_id is not None:
        frame = frame[frame["account_id"] == account_id]
        if frame.empty:
            raise core.LedgerError("unknown_account", f"no account {account_id!r}")
    return frame[["account_id", "kind", "name", "points", "grams"]]


def monitoring(where: Connection) -> pd.DataFrame:
    """The projects' monitoring periods (BE, PE, LE, ER [t CO2e], verifier) and issuance."""
    return store_ledger.monitoring(where)


def account(where: Connection, account_id: str, recent: int = 100) -> dict[str, Any]:
    """One account: its balance and its last ``recent`` entries.

    Raises
    ------
    NotFound
        No ledger account ``account_id``.
    """
    frame = store_ledger.accounts(where)
    found = frame[frame["account_id"] == account_id]
    if found.empty:
        raise NotFound(f"no ledger account {account_id!r}")
    latest = store_ledger.entries(where, account_id).tail(recent)
    return {"account": rows(found)[0], "entries": rows(latest)}


def entries(
    where: Connection,
    account_id: str | None = None,
    kinds: Sequence[str] | None = None,
    limit: int | None = None,
    after_seq: int = 0,
) -> pd.DataFrame:
    """Entries in chain order with their hashes (the audit export; page with ``after_seq``)."""
    return store_ledger.entries(where, account_id, kinds, limit, after_seq)


def reject_events(store: Store, rejections: Sequence[core.Rejection], source: str) -> None:
    """Keep refused events aside in ``rejected`` (each with its reason), counted, never dropped."""
    store.reject(store_ledger._reject_rows(rejections, source))


def expire(store: Store, as_of: date, rules: carbon_rules.RuleSet | None = None) -> Appended:
    """Expire the points older than the validity of ``rules`` (default: the rule set in force)
    at the CST day ``as_of``; the cut and the amounts are the core's
    (:func:`ecobasin.carbon.ledger.expiry_cut`, :func:`~ecobasin.carbon.ledger.expiry_drafts`),
    the balances and the appends the store's, in one transaction."""
    return store_ledger.expire(store, as_of, rules or carbon_rules.rule_set())


def issue(store: Store, project_id: str, period_id: str) -> Entry:
    """Issue a verified monitoring period's reductions [g CO2e] to the project's owner, once
    (the decision: :func:`ecobasin.carbon.ledger.issuance_draft`)."""
    return store_ledger.issue(store, project_id, period_id)
