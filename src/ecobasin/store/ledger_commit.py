"""The group-commit engine of the carbon-inclusive ledger's single appends.

Concurrent callers of :func:`append` (redeem, donate, retire, the API) queue; one leads and
decides, chains and commits every queued request in one transaction, and each caller is
answered after that COMMIT; the lead then passes to the next waiting caller. Per batch the
leader reads the head, the batch's idempotency keys (through the UNIQUE index) and only the
accounts it has not seen: it remembers the balances it committed, and trusts them only while
the stored head is the one it wrote last (any other writer moves the head, and everything is
read again). docs/carbon.md, "Fast durable appends", has the measurements.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import sleep

import duckdb

from ecobasin.carbon import ledger as core
from ecobasin.carbon.ledger import Balance, Draft, Entry, LedgerError
from ecobasin.store.database import Store
from ecobasin.store.ledger_tables import (
    Appended,
    _accounts_and_balances,
    _existing,
    _lock,
    _locks_guard,
    _write,
    head,
)

__all__ = ["append"]


@dataclass(eq=False)
class _Request:
    """One caller's drafts waiting for a group commit, and its answer once committed."""

    drafts: list[Draft]
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Appended | None = None
    error: BaseException | None = None

    @property
    def answered(self) -> bool:
        return self.result is not None or self.error is not None

    def answer(self, result: Appended | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.wake.set()


@dataclass
class _Queue:
    """Requests of one database file waiting for the writer, and whether one leads."""

    mutex: threading.Lock = field(default_factory=threading.Lock)
    pending: list[_Request] = field(default_factory=list)
    leading: bool = False

    def join(self, request: _Request) -> bool:
        """Queue ``request``; True when its caller must lead (nobody does)."""
        with self.mutex:
            self.pending.append(request)
            if self.leading:
                return False
            self.leading = True
            return True

    def hand_over(self) -> list[_Request]:
        """Take every pending request (the leader's batch)."""
        with self.mutex:
            batch, self.pending = self.pending, []
        return batch

    def pass_baton(self) -> None:
        """After a batch: the oldest waiting caller leads the next one, else nobody."""
        with self.mutex:
            if not self.pending:
                self.leading = False
                return
            successor = self.pending[0]
        successor.lead = True
        successor.wake.set()


_queues: dict[str, _Queue] = {}


@dataclass
class _Known:
    """What the group-commit writer of one file knows after its last COMMIT: the head, and the
    accounts it has seen with their balances. Trusted only while the stored head is still
    this head (nothing else was appended since); any other writer moves the head, and the
    next batch then reads everything again."""

    head: tuple[int, str] = (-1, "")
    balances: dict[str, Balance] = field(default_factory=dict)

    def check(self, stored_head: tuple[int, str]) -> None:
        if stored_head != self.head:
            self.head, self.balances = stored_head, {}


_known: dict[str, _Known] = {}


def _known_state(store: Store) -> _Known:
    key = str(store.path.resolve())
    with _locks_guard:
        return _known.setdefault(key, _Known())


def _queue(store: Store) -> _Queue:
    key = str(store.path.resolve())
    with _locks_guard:
        return _queues.setdefault(key, _Queue())


def append(store: Store, drafts: Sequence[Draft]) -> Appended:
    """Append drafts as one all-or-nothing step, refusing any that would overdraw.

    A draft whose idempotency key is on file already is a replay: when it asks for the same
    movement, the recorded entries are returned (``replayed``) and nothing is written.

    Group commit: concurrent callers queue their drafts and one of them, the leader, chains
    every queued request in one transaction and one COMMIT, answers them all, and hands the
    lead to the oldest caller that queued meanwhile (whose batch formed during this commit).
    Each request is still decided on its own (a refusal does not touch the others) and is
    answered only after the COMMIT that holds its entries.

    Raises
    ------
    LedgerError
        ``unknown_account``, ``insufficient_points``/``insufficient_grams``, ``key_reused``
        (the key was used for another movement), or a bad draft (:func:`core.check_draft`).
    """
    for draft in drafts:
        core.check_draft(draft)
    request = _Request([core.quantised(d) for d in drafts])
    if store._depth:  # inside the caller's transaction: its COMMIT is not ours to batch
        with _lock(store):
            _commit(store, [request])
        return _result(request)
    queue = _queue(store)
    leads = queue.join(request)
    while not leads:
        request.wake.wait()
        if request.answered:
            return _result(request)
        request.wake.clear()
        leads = request.lead
    try:
        with _lock(store):
            sleep(0)  # a moment for callers answered by the last batch to queue again
            _commit(store, queue.hand_over())
    finally:
        queue.pass_baton()
    return _result(request)


def _result(request: _Request) -> Appended:
    if request.error is not None:
        raise request.error
    assert request.result is not None
    return request.result


def _commit(store: Store, batch: list[_Request]) -> None:
    """Decide, chain and commit a batch of requests (caller holds the lock); answer each."""
    known = _known_state(store)
    try:
        try:  # optimistic: no key of the batch is on file, no request is refused
            if store._depth:  # a failed insert would abort the caller's transaction
                raise _Recheck
            with store.transaction():
                outcomes, after, running = _decide(store, batch, known, optimistic=True)
        except (_Recheck, duckdb.ConstraintException):  # a replay or a refusal: decide carefully
            with store.transaction():
                outcomes, after, running = _decide(store, batch, known)
    except BaseException as error:  # nothing of the batch is stored: tell every caller
        known.head = (-1, "")
        for request in batch:
            if not request.answered:
                request.answer(error=error)
        if not isinstance(error, Exception):
            raise
        return
    known.head = after  # committed: the balances now match the stored head
    known.balances.update(running)
    for request, outcome in outcomes:
        if isinstance(outcome, Appended):
            request.answer(result=outcome)
        else:
            request.answer(error=outcome)


class _Recheck(Exception):
    """An optimistic batch met a refusal: decide it again with the stored keys read."""


def _replay(
    drafts: Sequence[Draft], found: dict[str, Entry], fresh: dict[str, Draft]
) -> list[str] | None:
    """The keys of a replayed request (None when no key of it is known); refuses a key used
    for another movement."""
    keys = [d.idem_key for d in drafts]
    if not any(k in found or k in fresh for k in keys):
        return None
    for draft in drafts:
        earlier = found.get(draft.idem_key)
        same = (
            core.same_request(earlier, draft)
            if earlier is not None
            else draft.idem_key in fresh and core.same_draft(fresh[draft.idem_key], draft)
        )
        if not same:
            raise LedgerError(
                "key_reused",
                f"idempotency key {draft.idem_key!r} was used before for another "
                "movement; use a new key",
            )
    return keys


Outcome = Appended | LedgerError | list[str]


def _decide(
    store: Store, batch: Sequence[_Request], known: _Known, optimistic: bool = False
) -> tuple[list[tuple[_Request, Appended | LedgerError]], tuple[int, str], dict[str, Balance]]:
    """Each request in turn against the running balances, then one insert of every accepted
    entry. Reads: the head, the batch's stored keys (UNIQUE index), and the accounts not seen
    since the last batch with their balances; nothing more while the writer keeps the head.

    ``optimistic`` skips reading the stored keys (retries are rare): the UNIQUE index then
    refuses a replayed key at the insert, and any refusal raises :class:`_Recheck`, so that
    the batch is decided again with the keys read (a replay is answered, never refused).

    Returns the outcomes, the new head and the balances of the accounts touched.
    """
    stored_head = head(store)
    known.check(stored_head)
    every = [d for request in batch for d in request.drafts]
    found = {} if optimistic else _existing(store, [d.idem_key for d in every])
    named = {a for d in every for a, *_ in core.effects(d)}
    _, loaded = _accounts_and_balances(store, named - known.balances.keys())
    running = {a: known.balances[a] for a in named if a in known.balances} | loaded
    fresh: dict[str, Draft] = {}
    accepted: list[Draft] = []
    outcomes: list[tuple[_Request, Outcome]] = []
    for request in batch:
        try:
            keys = [d.idem_key for d in request.drafts]
            if len(set(keys)) != len(keys):
                raise LedgerError("key_reused", "one request uses an idempotency key twice")
            replayed = _replay(request.drafts, found, fresh)
            if replayed is not None:
                outcomes.append((request, replayed))
                continue
            mine = {a for d in request.drafts for a, *_ in core.effects(d)}
            unknown = sorted(mine - running.keys())
            if unknown:
                raise LedgerError("unknown_account", f"unknown account(s) {', '.join(unknown)}")
            running.update(core.apply_balances({a: running[a] for a in mine}, request.drafts))
            fresh.update((d.idem_key, d) for d in request.drafts)
            accepted.extend(request.drafts)
            outcomes.append((request, Appended([])))
        except LedgerError as error:
            if optimistic:
                raise _Recheck from error
            outcomes.append((request, error))
    written = _write(store, accepted, stored_head)
    chained = {e.idem_key: e for e in written}
    after = (written[-1].seq, written[-1].hash) if written else stored_head
    out: list[tuple[_Request, Appended | LedgerError]] = []
    for request, outcome in outcomes:
        if isinstance(outcome, list):  # a replay: of a stored entry or one of this batch
            out.append((request, Appended([found.get(k) or chained[k] for k in outcome], True)))
        elif isinstance(outcome, Appended):
            out.append((request, Appended([chained[d.idem_key] for d in request.drafts])))
        else:
            out.append((request, outcome))
    return out, after, running
