"""From raw-log records to the store: decode, deduplicate, reassemble, validate, write, checkpoint.

:class:`StoreWriter` is used by the gateway's writer thread (live frames, and the raw-log tail
recovered at start) and by ``ecobasin gateway replay``. One call of :meth:`StoreWriter.write`
is one transaction holding the observations, the rejected records, the dedup rows, the waiting
sub-packets and the raw-log checkpoint: after a crash either all of it is there or none, and
the records past the checkpoint are written again.

Poison isolation (issue 12): an exception while decoding one message moves that message to
``rejected`` (``decode_error``, with the exception's text) and the rest is written; a write the
store refuses is retried a bounded number of times when the error is transient (locked file,
I/O) and otherwise split until the record that fails is alone, then that record is quarantined
(``store_error``) with its reason. Nothing is retried forever, and the live gateway, the
recovery at start and ``gateway replay`` all go through :meth:`StoreWriter.write`.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ecobasin import catalog
from ecobasin.gateway.costs import WriteCosts
from ecobasin.gateway.datatime import (
    DataTimeWindow,
    TextWindow,
    data_time_of,
    implausible_reason,
)
from ecobasin.gateway.devices import Device, load_devices
from ecobasin.gateway.front import reason_code
from ecobasin.gateway.rawlog import RawRecord
from ecobasin.ingest.hj212 import CpItem, FrameError, Message, read_segment
from ecobasin.ingest.hj212.codec import (
    CpTemplate,
    Upload,
    UsualBatch,
    read_upload_items,
    read_usual_batch,
)
from ecobasin.ingest.hj212.observations import (
    OBSERVATION_COMMANDS,
    CandidateArrays,
    PlannedBlock,
    RowBuffer,
    _Plan,
    block_rows_ok,
    plan_for,
    upload_micros,
)
from ecobasin.ingest.validate import Validated, suspect_rows, validate_observations
from ecobasin.limits import plausible_window
from ecobasin.store import TRANSIENT_STORE_ERRORS, Store, keyed_table, observation_table
from ecobasin.store import gateway as sql

__all__ = [
    "SOURCE",
    "AfterWrite",
    "RejectEvent",
    "StoreWriter",
    "WriteReport",
    "message_key",
    "reason_code",
    "settle_heap",
]

log = logging.getLogger(__name__)

#: ``rejected.source`` of everything the gateway keeps aside.
SOURCE = "gateway"
AfterWrite = Callable[[Store, set[str], datetime, datetime], None]
_EMPTY_REJECTS = pd.DataFrame(columns=["record_ref", "reason_code", "reason", "raw"])
#: Store errors worth retrying as they are (a locked file, an I/O hiccup); others are split.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    *TRANSIENT_STORE_ERRORS,
)
#: [s] Pauses between the attempts of a write failing with a transient error.
RETRY_DELAYS = (0.2, 0.5, 1.0)


@dataclass(frozen=True, slots=True)
class RejectEvent:
    """A frame refused or broken before the raw log (framing, CRC, device, head fields)."""

    record_ref: str
    reason_code: str
    reason: str
    raw: str


@dataclass
class WriteReport:
    """What one or more writes did."""

    records: int = 0
    messages: int = 0  # data messages stored (first sends)
    observations: int = 0  # observation rows inserted or replaced
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    other: int = 0  # logged frames that carry no observations (1062, 2021, 9011 …)
    last_seq: int = 0
    damaged: int = 0  # damaged raw-log records skipped by the reader (resynchronised after)

    def __iadd__(self, other: WriteReport) -> WriteReport:
        self.records += other.records
        self.messages += other.messages
        self.observations += other.observations
        self.duplicates += other.duplicates
        self.rejected.update(other.rejected)
        self.other += other.other
        self.damaged += other.damaged
        self.last_seq = max(self.last_seq, other.last_seq)
        return self


def message_key(message: Message | Upload, seq: int) -> tuple[str, str, str, int]:
    """The dedup key (MN, CN, DataTime, PNO) of a message (hj212 brief §10 item 7).

    DataTime as sent (QN when there is none, the record number when neither is there), PNO 0
    for a whole message.
    """
    data_time = message.data_time or (f"QN:{message.qn}" if message.qn else f"#{seq}")
    pno = message.head.get("PNO", "")
    return (message.mn or "", message.cn or "", data_time, int(pno) if pno.isdigit() else 0)


MessageKey = tuple[str, str, str, int]


class RecentKeys:
    """The dedup cache in front of ``gateway_messages`` (issue 12, Speed): the store stays the
    truth, the cache only spares it the question for keys it can answer exactly.

    It holds the keys this writer stored since it started (at most ``max_keys``, the oldest
    forgotten first) and, per (MN, CN), a *floor*: a DataTime (14 digits, as sent) such that
    every stored key of that pair that is not in the cache has a DataTime at or before it
    (at start: ``gateway_message_floors``, raised with every key recorded in the store; in
    memory also raised to each forgotten key's DataTime). So a key is

    - in the cache: stored (a duplicate);
    - else with a 14-digit DataTime after its pair's floor: not stored (new), no query;
    - else (a resend of a forgotten or older message, a history upload 补发, a key without a
      14-digit DataTime): asked of the store, as before.

    A resend after a restart is therefore still dropped: the cache starts empty with the
    stored floors, and a DataTime at or before them goes to the store. Only valid
    while this writer is the store's only message writer (the gateway's own writer thread);
    a prune of the table (:meth:`forget`) empties the cache into the floors.
    """

    def __init__(self, floors: dict[tuple[str, str], str], max_keys: int) -> None:
        self.floors = floors
        self.max_keys = max_keys
        self.keys: dict[MessageKey, None] = {}  # insertion order: the oldest first

    def stored(self, key: MessageKey) -> bool | None:
        """True: stored; False: not stored; None: ask the store."""
        if key in self.keys:
            return True
        data_time = key[2]
        after_floor = data_time > self.floors.get((key[0], key[1]), "")
        return False if after_floor and len(data_time) == 14 and data_time.isdigit() else None

    def add(self, keys: Iterable[MessageKey]) -> None:
        """Keys just committed to the store (never before the commit: a key in the cache is
        taken as stored)."""
        for key in keys:
            self.keys[key] = None
        excess = len(self.keys) - self.max_keys
        if excess > 0:
            self._drop(list(itertools.islice(self.keys, excess)))

    def forget(self) -> None:
        """Empty the cache into the floors (after rows of the table were deleted)."""
        self._drop(list(self.keys))

    def _drop(self, keys: list[MessageKey]) -> None:
        floors = self.floors
        for key in keys:
            del self.keys[key]
            data_time = key[2]
            if len(data_time) == 14 and data_time.isdigit():
                pair = (key[0], key[1])
                if data_time > floors.get(pair, ""):
                    floors[pair] = data_time


def settle_heap() -> None:
    """Take the objects alive now out of the cyclic garbage collector's full collections
    (``gc.collect()`` then ``gc.freeze()``), once the writer is ready (issue 12, Speed, ninth
    pass).

    Why: a write allocates and keeps hundreds of thousands of objects (rows, keys, strings)
    until it commits, so the collector runs its full collection every few writes, and each
    one walked the whole heap of the process — the modules of pandas, pyarrow and DuckDB,
    the registry, the caches: ≈ 8 µs of CPU per record written, 13 % of the writer alone.
    What is alive after the start mostly stays alive for the life of the process (the store,
    the registry, the modules, the caches); frozen, it is no longer walked. Frozen objects are
    still freed when their last reference goes; only a reference cycle among them that
    becomes garbage later is not collected. Objects made later are collected as before.
    Process-wide, so it is called by the process that runs the writer, not by
    :class:`StoreWriter` itself (``gc.unfreeze()`` undoes it).
    """
    gc.collect()
    gc.freeze()


def _ref(record: RawRecord, message: Message | Upload) -> str:
    return f"raw {record.seq} {record.peer} MN={message.mn} QN={message.qn or '-'}"


def _frame_text(frame: bytes) -> str:
    return frame.decode("utf-8", errors="replace").rstrip("\r\n")


def _problem_rejects(record: RawRecord, message: Message | Upload) -> list[dict[str, str]]:
    """One rejected record per kind of problem in a message (reasons joined)."""
    if not message.problems:
        return []
    by_code: dict[str, list[str]] = {}
    for problem in message.problems:
        by_code.setdefault(reason_code(problem), []).append(problem.reason)
    ref, raw = _ref(record, message), _frame_text(record.frame)
    return [
        {"record_ref": ref, "reason_code": code, "reason": "; ".join(reasons), "raw": raw}
        for code, reasons in by_code.items()
    ]


#: Reasons of message_rows' skipped items that are errors, by prefix → reason code.
#: Items "kept in the raw log only" are not errors; "is not a number" is already a codec problem.
_SKIP_CODES = (
    ("factor code", "unknown_code"),
    ("unknown data flag", "unknown_flag"),
    ("no DataTime", "bad_time"),
    ("DataTime", "bad_time"),
)


def _skip_rejects(
    ref: str, skipped: list[tuple[str, str]], message: Message | Upload
) -> list[dict[str, str]]:
    out = []
    for key, reason in skipped:
        if key != "DataTime" and "cannot be placed in time" in reason:
            continue  # the DataTime entry says it once for the message
        code = next((c for prefix, c in _SKIP_CODES if reason.startswith(prefix)), None)
        if code is None:
            continue
        raw = f"{key}={message.cp.get(key, '')}"
        out.append(
            {"record_ref": f"{ref} {key}", "reason_code": code, "reason": reason, "raw": raw}
        )
    return out


@dataclass
class _Decoded:
    candidates: RowBuffer
    rejects: list[dict[str, str]] = field(default_factory=list)
    new_messages: list[tuple[str, str, str, int, int, datetime]] = field(default_factory=list)
    duplicates: Counter[tuple[str, str, str, int]] = field(default_factory=Counter)
    parts: list[dict[str, Any]] = field(default_factory=list)
    done_sets: list[tuple[str, str]] = field(default_factory=list)
    messages: int = 0
    other: int = 0
    waiting: dict[tuple[str, str], dict[int, dict[str, Any]]] | None = None  # after reassembly


def merge_subpackets(parts: list[Message]) -> Message:
    """One message from a complete set of sub-packets (HJ 212-2017 表3 PNUM/PNO, Flag.D).

    Head fields come from packet 1 without PNUM/PNO (Flag.D cleared); CP items are taken in
    PNO order, an item repeated in a later packet (DataTime) kept once.
    """
    ordered = sorted(parts, key=lambda m: int(m.head["PNO"]))
    head = {k: v for k, v in ordered[0].head.items() if k not in ("PNUM", "PNO")}
    flag = ordered[0].flag
    if flag is not None:
        head["Flag"] = str(flag & ~2)
    items: list[CpItem] = []
    seen: set[str] = set()
    problems: list[FrameError] = []
    for part in ordered:
        problems.extend(part.problems)
        for item in part.items:
            if item.key not in seen:
                seen.add(item.key)
                items.append(item)
    return Message(head=head, items=tuple(items), problems=tuple(problems))


class StoreWriter:
    """Writes raw-log records of one raw log into a store, exactly once.

    Parameters
    ----------
    store : Store
        The store, or this thread's view of it (``store.reader()``).
    log_id : str
        The raw log's id: the checkpoint is kept per log.
    after_write : callable, optional
        ``after_write(store, site_ids, start, end)`` after each committed write that stored
        observations (UTC span of their times).
    partial_max_age : timedelta
        A set of sub-packets still incomplete this long after its first packet is rejected
        (``subpacket_incomplete``).
    partial_max_sets : int
        At most this many incomplete sets are kept; beyond it the oldest are rejected.
    lenient : bool
        Accept a 17-digit DataTime (truncated); strict: such a message is rejected.
    datatime_window : DataTimeWindow or None
        Messages whose DataTime is outside it, relative to their receive time, are rejected
        (``implausible_datatime``), as the front refuses them (records logged before it did).
        None: no check (then the decoder's errors show).
    stopping : threading.Event, optional
        Set when the gateway stops: retry pauses end at once.
    recent_keys : int
        Keep this many recently stored message keys in memory (:class:`RecentKeys`) so most
        dedup questions are answered without a join over ``gateway_messages``; 0: ask the
        store every time. Only for the store's one message writer (the gateway's).
    costs : WriteCosts, optional
        Where the CPU of each write is added by part (:mod:`ecobasin.gateway.costs`).
    batch_decode : bool
        Read the usual uploads of a write all at once and make their rows by plan
        (``codec.read_usual_batch``, ``RowBuffer.add_block``); False: one by one (the same
        rows, the bench's baseline).
    array_rows : bool
        Validate and store the candidate rows as arrays: only the rows that could fail a
        check (``validate.suspect_rows``) go through the pandas frame and
        ``validate_observations``, the others straight to an Arrow table (the same rows
        stored, the same rejects); False: every row through the frame (the eighth pass, the
        bench's baseline "pandas rows").
    """

    def __init__(
        self,
        store: Store,
        log_id: str,
        *,
        after_write: AfterWrite | None = None,
        partial_max_age: timedelta = timedelta(minutes=10),
        partial_max_sets: int = 10_000,
        lenient: bool = False,
        datatime_window: DataTimeWindow | None = DataTimeWindow(),  # noqa: B008 (frozen)
        stopping: threading.Event | None = None,
        recent_keys: int = 0,
        costs: WriteCosts | None = None,
        batch_decode: bool = True,
        array_rows: bool = True,
    ) -> None:
        self.lenient = lenient
        self._costs = costs or WriteCosts()
        self._part = self._costs.part
        self.recent = RecentKeys(sql.message_floors(store), recent_keys) if recent_keys else None
        self.datatime_window = datatime_window
        self._text_window = None if datatime_window is None else TextWindow(datatime_window)
        self.stopping = stopping or threading.Event()
        self.batch = batch_decode
        self.array_rows = array_rows
        self._times: dict[tuple[str, timedelta], int | None] = {}
        self.store = store
        self.log_id = log_id
        self.after_write = after_write
        self.partial_max_age = partial_max_age
        self.partial_max_sets = partial_max_sets
        self.registry = catalog.parameters()
        self.devices: dict[str, Device] = {}
        self.known_sites: set[str] = set()
        #: Sub-packets waiting for their set, by (MN, set key) and PNO (= ``gateway_subpackets``,
        #: whose ``qn`` column holds the set key: see :func:`subpacket_set`).
        self._partials: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
        self.reload()

    def reload(self) -> dict[str, Device]:
        """Read the device registry and the sites again (after ``ecobasin device add``)."""
        self.devices = load_devices(self.store)
        self.known_sites = sql.site_ids(self.store)
        self._key_maps = self.store.key_maps()
        self._partials = {}
        for row in sql.subpackets(self.store).to_dict("records"):
            part = {str(k): v for k, v in row.items()}
            part["received_at"] = pd.Timestamp(part["received_at"]).to_pydatetime()
            part["frame"] = bytes(part["frame"])
            part["pnum"], part["pno"], part["seq"] = (int(part[k]) for k in ("pnum", "pno", "seq"))
            self._partials.setdefault((part["mn"], part["qn"]), {})[part["pno"]] = part
        return self.devices

    @property
    def has_partials(self) -> bool:
        """Whether sub-packet sets are waiting for their missing parts."""
        return bool(self._partials)

    @property
    def checkpoint(self) -> int:
        """The last record of this raw log already in the store."""
        return sql.checkpoint(self.store, self.log_id)

    # -- decoding -----------------------------------------------------------------------------
    def _decode(self, records: list[RawRecord], now: datetime) -> _Decoded:
        out = _Decoded(RowBuffer(self.registry))
        # the usual uploads of the batch read at once (int: their number in ``usual``)
        usual = read_usual_batch([record.frame[6:-6] for record in records]) if self.batch else None
        lane = {at: n for n, at in enumerate(usual.positions)} if usual is not None else {}
        pending: list[tuple[RawRecord, Message | Upload | int, Device, MessageKey]] = []
        for at, record in enumerate(records):
            n = lane.get(at)
            if n is not None and usual is not None:
                usual_pending = self._usual_pending(record, usual, n)
                if usual_pending is not None:
                    pending.append(usual_pending)
                    continue
            try:
                segment = record.frame[6:-6]
                # the common clean upload first: checked strings, straight to float columns
                message: Message | Upload | None = read_upload_items(segment)
                if message is None:
                    message = read_segment(segment, lenient=self.lenient)
            except Exception as error:
                out.rejects.append(_poison(record, "decode_error", error))
                continue
            refusal = self._refusal(record, message)
            if refusal is not None:
                ref, raw = _ref(record, message), _frame_text(record.frame)
                out.rejects.append(_reject(ref, "implausible_datatime", refusal, raw))
                continue
            device = self.devices.get(message.mn or "")
            if device is None:
                reason = f"device MN={message.mn} is not registered (ecobasin device add)"
                raw = _frame_text(record.frame)
                out.rejects.append(_reject(_ref(record, message), "unknown_device", reason, raw))
                continue
            if not message.head_ok:
                out.rejects.extend(_problem_rejects(record, message))
                continue
            if message.cn not in OBSERVATION_COMMANDS:
                out.rejects.extend(_problem_rejects(record, message))
                out.other += 1
                continue
            pending.append((record, message, device, message_key(message, record.seq)))
        stored = self._stored([p[3] for p in pending])
        seen: set[tuple[str, str, str, int]] = set()
        batched: list[tuple[int, RawRecord, int, Device]] = []
        for position, (record, entry, device, key) in enumerate(pending):
            if key in stored or key in seen:
                out.duplicates[key] += 1
                continue
            seen.add(key)
            out.new_messages.append((*key, record.seq, record.received_at))
            if isinstance(entry, int):
                batched.append((position, record, entry, device))
            elif isinstance(entry, Message) and entry.has_pno:  # (never a fast Upload)
                out.parts.append(_part(record, entry))
            else:
                out.candidates.position = position
                self._observe_isolated(record, entry, device, out)
        if batched and usual is not None:
            self._observe_batch(batched, usual, out)
        out.candidates.position = len(pending)  # reassembled sets after every message
        if out.parts or self._partials:
            with self._part("reassemble"):
                self._reassemble(out, now)
        return out

    def _usual_pending(
        self, record: RawRecord, usual: UsualBatch, n: int
    ) -> tuple[RawRecord, int, Device, MessageKey] | None:
        """The pending entry of usual upload ``n`` of the batch when it needs no other check
        than the ones made here (inside the DataTime window, registered device; its command
        2011/2051/2061 carries observations); None: the one-by-one path decides."""
        data_time = usual.data_times[n]
        window = self._text_window
        if record.refused or not (
            window.inside(data_time, record.received_at)
            if window is not None
            else self.datatime_window is None
        ):
            return None
        head = usual.heads[n]
        mn = head["MN"]
        device = self.devices.get(mn)
        if device is None or device.period_end:  # its own DataTime convention: one by one
            return None
        return record, n, device, (mn, head["CN"], data_time, 0)

    def _observe_batch(
        self, batched: list[tuple[int, RawRecord, int, Device]], usual: UsualBatch, out: _Decoded
    ) -> None:
        """The rows of the batch's new usual uploads, a block per plan
        (:meth:`RowBuffer.add_block`); an upload its plan does not fit (a flag outside 表8, an
        empty hourly amount, an item that is an error, a time out of range) goes one by one
        (:meth:`_observe_isolated`), which names what is wrong."""
        buffer = out.candidates
        groups: dict[_Plan, list[tuple[int, RawRecord, int, Device, int]]] = {}
        one_by_one: list[tuple[int, RawRecord, int, Device]] = []
        plans: dict[tuple[CpTemplate, str, tuple[str, ...]], _Plan | None] = {}
        templates, heads, data_times, times = (
            usual.templates,
            usual.heads,
            usual.data_times,
            self._times,
        )
        for position, record, n, device in batched:
            plan_key = (templates[n], heads[n]["CN"], device.domains)
            plan = plans.get(plan_key, _NO_PLAN)
            if plan is _NO_PLAN:
                plan = plans[plan_key] = plan_for(*plan_key, 10, buffer.known)
                if plan is not None and _plan_has_errors(plan):
                    plan = plans[plan_key] = None
            if plan is not None:
                micros = times.get((data_times[n], plan.length), -1)
                if micros == -1:
                    micros = self._micros(data_times[n], plan)
                if micros is not None:
                    groups.setdefault(plan, []).append((position, record, n, device, micros))
                    continue
            one_by_one.append((position, record, n, device))
        values = usual.texts
        for plan, members in groups.items():
            starts = np.array([usual.starts[m[2]] - 1 for m in members], dtype=np.int64)
            ok = block_rows_ok(plan, values, starts)
            if not ok.all():
                one_by_one += [m[:4] for m, fits in zip(members, ok, strict=True) if not fits]
                members = [m for m, fits in zip(members, ok, strict=True) if fits]
                starts = starts[ok]
            refs = [
                f"{record.peer} MN={usual.heads[n]['MN']} QN={_qn(usual, n)}"
                for _, record, n, _, _ in members
            ]
            buffer.add_block(
                plan,
                PlannedBlock(
                    values=values,
                    numbers=usual.numbers,
                    starts=starts,
                    site_ids=np.array([m[3].site_id for m in members], dtype=object),
                    refs=np.array(refs, dtype=object),
                    lines=np.array([m[1].seq for m in members], dtype=np.int64),
                    micros=np.array([m[4] for m in members], dtype=np.int64),
                    positions=np.array([m[0] for m in members], dtype=np.int64),
                ),
            )
            out.messages += len(members)  # plan.skipped: no error among them (_plan_has_errors)
        for position, record, n, device in one_by_one:
            buffer.position = position
            self._observe_isolated(record, usual.upload(n), device, out)

    def _micros(self, data_time: str, plan: _Plan) -> int | None:
        """The row time of a DataTime for a plan's period (remembered per pair; bounded)."""
        key = (data_time, plan.length)
        micros = self._times.get(key, -1)
        if micros == -1:
            if len(self._times) >= 100_000:
                self._times.clear()
            micros = self._times[key] = upload_micros(data_time, plan.length)
        return micros

    def _validated(self, rows: CandidateArrays) -> tuple[Validated, GoodRows]:
        """``validate_observations`` of the rows that could fail a check (in message order),
        and every good row: those and all the others, which pass every check unchanged
        (``validate.suspect_rows``)."""
        columns = {"site_id": rows.site_id, "parameter": rows.parameter, "period": rows.period}
        factorized = {name: pd.factorize(column) for name, column in columns.items()}
        window = plausible_window()
        suspect = suspect_rows(
            {**columns, "micros": rows.micros, "value": rows.value, "unit": rows.unit},
            self.known_sites,
            self.registry,
            time_window=window,
            factorized=factorized,
        )
        clean = ~suspect
        kept = GoodRows(
            **{name: column[clean] for name, column in columns.items()},
            micros=rows.micros[clean],
            value=rows.value[clean],
            flag=rows.flag[clean],
            codes=tuple((codes[clean], uniques) for codes, uniques in factorized.values()),
        )
        if not suspect.any():
            return Validated(good=pd.DataFrame(), rejected=_EMPTY_REJECTS), kept
        validated = validate_observations(
            rows.frame(np.flatnonzero(suspect)), self.known_sites, self.registry, time_window=window
        )
        return validated, kept + GoodRows.of(validated.good)

    def _keyed(self, good: pd.DataFrame | GoodRows, batch: int) -> pa.Table:
        """The validated rows as the store keeps them (site and parameter keys), keyed with
        the maps read at :meth:`reload` — two queries less per write; read again once when a
        site or parameter is newer than them."""
        table = good.table(batch) if isinstance(good, GoodRows) else observation_table(good, batch)
        try:
            return keyed_table(table, *self._key_maps)
        except ValueError:
            self._key_maps = self.store.key_maps()
            return keyed_table(table, *self._key_maps)

    def _stored(self, keys: list[MessageKey]) -> set[MessageKey]:
        """Which of ``keys`` the store has (the cache answers what it can, the store the rest)."""
        ask = keys
        found: set[MessageKey] = set()
        if self.recent is not None:
            ask = []
            for key in keys:
                verdict = self.recent.stored(key)
                if verdict is None:
                    ask.append(key)
                elif verdict:
                    found.add(key)
        if ask:
            with self._part("dedup_lookup"):
                found |= sql.known_messages(
                    self.store, pd.DataFrame(ask, columns=list(sql.MESSAGE_KEY))
                )
        return found

    def forget_recent(self) -> None:
        """Rows of ``gateway_messages`` were deleted (pruned): the cache may not say
        "stored" for them any more (:meth:`RecentKeys.forget`)."""
        if self.recent is not None:
            self.recent.forget()

    def _refusal(self, record: RawRecord, message: Message | Upload) -> str | None:
        """Why a record is refused for its DataTime (the front's mark, or the same window
        applied at its receive time); None when it is not."""
        if (
            not record.refused
            and isinstance(message, Upload)
            and self._text_window is not None
            and self._text_window.inside(message.data_time, record.received_at)
        ):
            return None  # the usual upload: its checked 14 digits compared as text
        raw_time = data_time_of(record.frame)  # not ``message.cp``: it builds a dict per call
        data_time = None if raw_time is None else raw_time.decode("ascii", "replace")
        if record.refused:
            why = None
            if self.datatime_window is not None:
                why = implausible_reason(data_time, record.received_at, self.datatime_window)
            return why or f"DataTime={data_time}: refused by the front without reply"
        if self.datatime_window is None:
            return None
        return implausible_reason(data_time, record.received_at, self.datatime_window)

    def _observe_isolated(
        self, record: RawRecord, message: Message | Upload, device: Device, out: _Decoded
    ) -> None:
        """:meth:`_observe`; an exception rejects this message alone (its rows taken back)."""
        rows, rejects, messages = len(out.candidates), len(out.rejects), out.messages
        try:
            self._observe(record, message, device, out)
        except Exception as error:
            _truncate(out.candidates, rows)
            del out.rejects[rejects:]
            out.messages = messages
            out.rejects.append(_poison(record, "decode_error", error, message))

    def _observe(
        self, record: RawRecord, message: Message | Upload, device: Device, out: _Decoded
    ) -> None:
        out.messages += 1
        if message.problems:
            out.rejects.extend(_problem_rejects(record, message))
        data_time = message.data_time or ""
        if data_time and not self.lenient and len(data_time) != 14:
            return  # no valid time to place the values at: the problem above says why
        skipped = out.candidates.add(
            message,
            site_id=device.site_id,
            domains=device.domains,
            source_ref=f"{record.peer} MN={message.mn} QN={message.qn or '-'}",
            line=record.seq,
            period_end=device.period_end,
        )
        if skipped:
            out.rejects.extend(_skip_rejects(_ref(record, message), skipped, message))

    def _reassemble(self, out: _Decoded, now: datetime) -> None:
        """Complete sets of sub-packets become messages; expired or surplus sets are rejected.

        Works on a copy of the waiting sets (:attr:`_partials`, the store's
        ``gateway_subpackets`` in memory); the copy replaces them only once the write commits.
        """
        waiting = dict(self._partials)
        for part in out.parts:
            key = (part["mn"], part["qn"])
            parts = dict(waiting.get(key, {}))
            parts.pop(part["pno"], None)  # a resent part replaces the waiting one
            parts[part["pno"]] = part
            waiting[key] = parts
        first_at = {
            key: min(p["received_at"] for p in parts.values()) for key, parts in waiting.items()
        }
        sets = sorted(waiting, key=lambda key: (first_at[key], key))
        complete, expired = [], []
        for key in sets:
            parts = waiting[key]
            pnum = max(p["pnum"] for p in parts.values())
            if set(parts) >= set(range(1, pnum + 1)):
                complete.append(key)
            elif now - first_at[key] > self.partial_max_age:
                expired.append((key, "older than the reassembly limit"))
        live = len(sets) - len(complete) - len(expired)
        if live > self.partial_max_sets:
            taken = set(complete) | {key for key, _ in expired}
            for key in sets:
                if live <= self.partial_max_sets:
                    break
                if key not in taken:
                    expired.append((key, "too many incomplete sets waiting"))
                    live -= 1
        for key in complete:
            parts = waiting[key]
            messages = [
                read_segment(p["frame"][6:-6], lenient=self.lenient) for p in parts.values()
            ]
            merged = merge_subpackets(messages)
            last = max(parts.values(), key=lambda p: p["seq"])
            record = RawRecord(last["seq"], last["received_at"], last["peer"], b"")
            device = self.devices.get(key[0])
            if device is not None:
                self._observe_isolated(record, merged, device, out)
            out.done_sets.append(key)
        for (mn, qn), why in expired:
            parts = waiting[(mn, qn)]
            have = ",".join(str(p) for p in sorted(parts))
            pnum = max(p["pnum"] for p in parts.values())
            out.rejects.append(
                _reject(
                    f"sub-packets MN={mn} {qn}",
                    "subpacket_incomplete",
                    f"sub-packet set MN={mn} {qn} has PNO {have} of PNUM={pnum}: {why}; not stored",
                    " | ".join(_frame_text(p["frame"]) for p in parts.values()),
                )
            )
            out.done_sets.append((mn, qn))
        done = set(out.done_sets)
        out.parts = [p for p in out.parts if (p["mn"], p["qn"]) not in done]
        for key in done:
            del waiting[key]
        out.waiting = waiting

    # -- writing ------------------------------------------------------------------------------
    def write(
        self,
        records: list[RawRecord],
        rejects: Iterable[RejectEvent] = (),
        *,
        now: datetime | None = None,
    ) -> WriteReport:
        """Write records (in sequence order, all after the checkpoint) and refused frames,
        isolating poison: see the module docstring. Never raises for the records' sake; it
        raises only when the store cannot take even a quarantine record and the gateway is
        stopping (the records stay in the raw log for the next start).

        Returns
        -------
        WriteReport
            Counts of this write (and of its parts when it was split).
        """
        events = list(rejects)
        error = self._attempt(records, events, now)
        if isinstance(error, WriteReport):
            return error
        if len(records) <= 1:
            return self._quarantine(records, events, error, now)
        half = len(records) // 2
        log.warning("store write of %d records failed (%s); splitting", len(records), error)
        report = self.write(records[:half], events, now=now)
        report += self.write(records[half:], (), now=now)
        return report

    def _attempt(
        self, records: list[RawRecord], events: list[RejectEvent], now: datetime | None
    ) -> WriteReport | Exception:
        """One write, retried after transient errors; the report, or the last error."""
        for delay in (*RETRY_DELAYS, None):
            try:
                return self._write_once(records, events, now=now)
            except TRANSIENT_ERRORS as error:
                if delay is None or self.stopping.is_set():
                    return error
                log.warning("store write failed (%s); retrying in %g s", error, delay)
                self.stopping.wait(delay)
            except Exception as error:
                return error
        raise AssertionError("unreachable")

    def _quarantine(
        self,
        records: list[RawRecord],
        events: list[RejectEvent],
        error: Exception,
        now: datetime | None,
    ) -> WriteReport:
        """The one record the store refuses goes to ``rejected`` (``store_error``) with the
        reason, and the checkpoint passes it; when even that fails the store is down: wait
        (until stopping) and try again."""
        rows = [_poison(record, "store_error", error) for record in records]
        rows += [_reject(e.record_ref, e.reason_code, e.reason, e.raw) for e in events]
        while True:
            try:
                return self._write_rejects_only(records, rows, now)
            except Exception as failure:
                if self.stopping.is_set():
                    raise
                log.error("store unavailable (%s); waiting", failure)
                self.stopping.wait(RETRY_DELAYS[-1])

    def _write_rejects_only(
        self, records: list[RawRecord], rows: list[dict[str, str]], now: datetime | None
    ) -> WriteReport:
        store = self.store
        frame = pd.DataFrame(rows) if rows else _EMPTY_REJECTS
        last_seq = records[-1].seq if records else 0
        with store.transaction():
            batch = store.new_batch_ids(1)[0]
            started = now or datetime.now(UTC)
            store.record_batches(
                [
                    {
                        "batch_id": batch,
                        "kind": "gateway",
                        "source": f"raw log {self.log_id} quarantine up to {last_seq}",
                        "started_at": started,
                        "finished_at": datetime.now(UTC),
                        "counts": {"records": len(records), "rejected": len(frame)},
                    }
                ]
            )
            if len(frame):
                store.reject(frame.assign(source=SOURCE), batch_id=batch)
            if last_seq:
                sql.set_checkpoint(store, self.log_id, last_seq)
        report = WriteReport(records=len(records), last_seq=last_seq)
        report.rejected.update(row["reason_code"] for row in rows[: len(records)])
        for record, row in zip(records, rows, strict=False):
            log.error("raw record %d quarantined: %s", record.seq, row["reason"])
        return report

    def _write_once(
        self,
        records: list[RawRecord],
        rejects: Iterable[RejectEvent] = (),
        *,
        now: datetime | None = None,
    ) -> WriteReport:
        """Records and refused frames in one transaction, then ``after_write``."""
        now = now or datetime.now(UTC)
        report = WriteReport(records=len(records))
        part = self._part
        started = self._costs.write_started()
        with part("decode"):
            decoded = self._decode(records, now)
        with part("frames"):
            events = [
                {
                    "record_ref": e.record_ref,
                    "reason_code": e.reason_code,
                    "reason": e.reason,
                    "raw": e.raw,
                }
                for e in rejects
            ]
            rows = decoded.candidates.arrays() if self.array_rows else None
            candidates = decoded.candidates.frame() if rows is None else pd.DataFrame()
        with part("validate"):
            if rows is None:
                validated = validate_observations(
                    candidates, self.known_sites, self.registry, time_window=plausible_window()
                )
                good: pd.DataFrame | GoodRows = validated.good
            else:
                validated, good = self._validated(rows)
            found = pd.DataFrame(decoded.rejects)  # counted here; events counted by the loop
            parts = [f for f in (found, validated.rejected, pd.DataFrame(events)) if len(f)]
            rejected = pd.concat(parts or [_EMPTY_REJECTS], ignore_index=True)
        store = self.store
        last_seq = records[-1].seq if records else 0
        written = None
        with part("commit"), store.transaction():
            with part("batch_row"):
                first_seq = records[0].seq if records else 0
                counts = {
                    "records": len(records),
                    "messages": decoded.messages,
                    "duplicates": sum(decoded.duplicates.values()),
                    "rejected": len(rejected),
                }
                batch = sql.record_batch(
                    store, f"raw log {self.log_id} records {first_seq}-{last_seq}", now, counts
                )
            with part("observations"):
                written = (
                    store.write_observations(self._keyed(good, batch), overlap_expected=True)
                    if len(good)
                    else None
                )
            with part("rejects"):
                if len(rejected):
                    store.reject(rejected.assign(source=SOURCE), batch_id=batch)
            with part("dedup_rows"):
                sql.record_messages(store, sql.message_table(decoded.new_messages, self.log_id))
                duplicates = pd.DataFrame(
                    [(*k, n) for k, n in decoded.duplicates.items()],
                    columns=[*sql.MESSAGE_KEY, "n"],
                )
                sql.count_duplicates(store, duplicates)
            with part("subpackets"):
                sql.drop_subpackets(store, decoded.done_sets)
                sql.add_subpackets(store, decoded.parts)
            with part("checkpoint"):
                if last_seq:
                    sql.set_checkpoint(store, self.log_id, last_seq)
        self._costs.write_done(started, len(records), bool(written and written.compared))
        if decoded.waiting is not None:  # committed: the waiting sets are now these
            self._partials = decoded.waiting
        if self.recent is not None:  # committed: these keys are in the store now
            self.recent.add(message[:4] for message in decoded.new_messages)
        report.messages = decoded.messages
        report.observations = written.inserted + written.replaced if written else 0
        report.duplicates = sum(decoded.duplicates.values())
        report.rejected.update(found["reason_code"].astype(str) if len(found) else [])
        report.rejected.update(validated.counts)
        report.other = decoded.other
        report.last_seq = last_seq
        if len(good) and self.after_write is not None:
            try:
                self.after_write(store, *_span(good))
            except Exception:  # a hook's bug must not stop the gateway's writes
                log.exception("after_write hook failed")
        return report


@dataclass(frozen=True, slots=True)
class GoodRows:
    """Validated observations as numpy columns (the candidate frame skipped, issue 12,
    ninth pass); :meth:`table` is what :func:`~ecobasin.store.observation_table` makes of
    the same rows."""

    site_id: np.ndarray  # object (str)
    parameter: np.ndarray  # object (str)
    period: np.ndarray  # object (str)
    micros: np.ndarray  # int64 [µs since 1970, UTC]
    value: np.ndarray  # float64
    flag: np.ndarray  # object (str or None)
    #: ``pd.factorize`` of site_id, parameter and period when the writer has it (the codes
    #: taken with these rows, the distinct values of the whole write's rows): :meth:`table`
    #: then hashes those columns no second time. None: factorized in :meth:`table`.
    codes: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None

    @classmethod
    def of(cls, good: pd.DataFrame) -> GoodRows:
        """The good rows of ``validate_observations``."""
        if not len(good):
            empty = np.array([], dtype=object)
            return cls(empty, empty, empty, np.array([], np.int64), np.array([]), empty)
        flags = good["flag"].to_numpy(object, copy=True)
        flags[pd.isna(flags)] = None
        return cls(
            site_id=good["site_id"].to_numpy(object),
            parameter=good["parameter"].to_numpy(object),
            period=good["period"].to_numpy(object),
            micros=pd.DatetimeIndex(good["time"]).as_unit("us").asi8,
            value=good["value"].to_numpy(np.float64),
            flag=flags,
        )

    def __len__(self) -> int:
        return len(self.micros)

    def __add__(self, other: GoodRows) -> GoodRows:
        if not len(other):
            return self
        site_id, parameter, period, micros, value, flag = (
            np.concatenate([mine, theirs])
            for mine, theirs in zip(_columns(self), _columns(other), strict=True)
        )
        return GoodRows(site_id, parameter, period, micros, value, flag)

    def span(self) -> tuple[set[str], datetime, datetime]:
        """The sites and the first and last time [UTC] of the rows (for ``after_write``)."""
        first, last = (
            datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(m))
            for m in (self.micros.min(), self.micros.max())
        )
        return {str(site) for site in pd.unique(self.site_id)}, first, last

    def table(self, batch_id: int) -> pa.Table:
        """The rows as :func:`~ecobasin.store.observation_table` gives them (site and
        parameter ids dictionary-encoded: :func:`~ecobasin.store.keyed_table` looks each
        distinct id up once)."""
        n = len(self)
        site, parameter, period = self.codes or (None, None, None)
        return pa.table(
            {
                "site_id": _dictionary(self.site_id, site),
                "parameter": _dictionary(self.parameter, parameter),
                "period": _dictionary(self.period, period).dictionary_decode(),
                "time": pa.array(self.micros, pa.timestamp("us", tz="UTC")),
                "value": pa.array(self.value, pa.float64()),
                "flag": _dictionary(self.flag).dictionary_decode(),
                "batch_id": pa.array(np.full(n, batch_id, np.int32)),
            }
        )


def _span(good: pd.DataFrame | GoodRows) -> tuple[set[str], datetime, datetime]:
    """The sites and the first and last time [UTC] of good rows (for ``after_write``)."""
    if isinstance(good, GoodRows):
        return good.span()
    times = pd.DatetimeIndex(good["time"])
    return (
        set(good["site_id"].astype(str)),
        times.min().to_pydatetime(),
        times.max().to_pydatetime(),
    )


def _columns(rows: GoodRows) -> tuple[np.ndarray, ...]:
    return (rows.site_id, rows.parameter, rows.period, rows.micros, rows.value, rows.flag)


def _dictionary(
    column: np.ndarray, factorized: tuple[np.ndarray, np.ndarray] | None = None
) -> pa.DictionaryArray:
    """A string column as codes and its distinct values (None: null), by one hash pass, or
    from ``factorized`` (its codes and distinct values; a value no row has any more is an
    unused dictionary entry: ``keyed_table`` looks keys up by code, so it is never used)."""
    codes, uniques = pd.factorize(column) if factorized is None else factorized
    missing = codes < 0
    indices = pa.array(codes.astype(np.int32), mask=missing if missing.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(uniques.astype(object), pa.string()))


def _poison(
    record: RawRecord, code: str, error: BaseException, message: Message | Upload | None = None
) -> dict[str, str]:
    """The rejected record of a message that raised ``error`` (its type and text)."""
    ref = _ref(record, message) if message is not None else f"raw {record.seq} {record.peer}"
    reason = f"{type(error).__name__}: {error}; not stored"
    return _reject(ref, code, reason, _frame_text(record.frame))


def _truncate(buffer: RowBuffer, rows: int) -> None:
    """Take back the rows a failed message may have added to the buffer."""
    for column in buffer.columns.values():
        del column[rows:]
    del buffer.micros[rows:]
    del buffer.order[rows:]


#: "Not looked up yet" in :meth:`StoreWriter._observe_batch`'s plans.
_NO_PLAN: Any = object()


def _qn(usual: UsualBatch, n: int) -> str:
    """QN of usual upload ``n`` as a record reference shows it ("-": none)."""
    qn = usual.qns[n]
    return qn if qn is not None else usual.heads[n].get("QN") or "-"


def _plan_has_errors(plan: _Plan) -> bool:
    """Whether a plan leaves out an item for a reason that is an error (``_SKIP_CODES``:
    then each upload goes one by one, which rejects it with its value)."""
    return any(
        key != "DataTime"
        and "cannot be placed in time" not in reason
        and any(reason.startswith(prefix) for prefix, _ in _SKIP_CODES)
        for key, reason in plan.skipped
    )


def _reject(ref: str, code: str, reason: str, raw: str) -> dict[str, str]:
    return {"record_ref": ref, "reason_code": code, "reason": reason, "raw": raw}


def subpacket_set(message: Message) -> str:
    """The key joining the parts of one upload besides MN: CN, DataTime and PNUM.

    HJ 212-2017 表C.50 (and 表3): the parts of one upload share MN, CN and the CP's DataTime
    and carry PNUM/PNO; each part has its own QN (it is the request number of that packet,
    echoed by its own 9014), so QN never joins them. The key is kept in the ``qn`` column of
    ``gateway_subpackets``.
    """
    data_time = message.cp.get("DataTime", "") or "-"
    return f"CN={message.cn};DataTime={data_time};PNUM={int(message.head['PNUM'])}"


def _part(record: RawRecord, message: Message) -> dict[str, Any]:
    return {
        "mn": message.mn,
        "qn": subpacket_set(message),
        "pnum": int(message.head["PNUM"]),
        "pno": int(message.head["PNO"]),
        "seq": record.seq,
        "received_at": record.received_at,
        "peer": record.peer,
        "frame": record.frame,
    }
