"""The SQL of the HJ 212 gateway's tables (migration 3): devices, checkpoints, dedup, sub-packets.

Every function takes a :class:`~ecobasin.store.Store` (or a thread's ``store.reader()`` view) and
runs inside the caller's transaction when there is one, so the gateway's writer commits
observations, rejected records, dedup rows and the raw-log checkpoint all at once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from ecobasin.store import _sql
from ecobasin.store.database import Store

__all__ = [
    "DEVICE_COLUMNS",
    "MESSAGE_KEY",
    "add_subpackets",
    "checkpoint",
    "count_duplicates",
    "devices",
    "drop_subpackets",
    "known_messages",
    "message_floors",
    "message_table",
    "prune_messages",
    "record_batch",
    "record_messages",
    "set_checkpoint",
    "set_device_enabled",
    "subpackets",
    "upsert_devices",
]

DEVICE_COLUMNS = (
    "mn",
    "password",
    "site_id",
    "protocol",
    "crc_mode",
    "enabled",
    "interval_s",
    "added_at",
)
MESSAGE_KEY = ("mn", "cn", "data_time", "pno")


@contextmanager
def _registered(store: Store, name: str, frame: pd.DataFrame | pa.Table) -> Iterator[None]:
    """Expose a frame to SQL under an explicit name (never by Python variable lookup)."""
    store.con.register(name, frame)
    try:
        yield
    except BaseException:
        # the statement failed and aborted the transaction: unregistering now fails too
        # ("transaction is aborted"), and must not replace the real error (a constraint
        # names the record; the writer quarantines it instead of retrying a mask)
        with contextlib.suppress(Exception):
            store.con.unregister(name)
        raise
    store.con.unregister(name)


def site_ids(store: Store) -> set[str]:
    """The ids of the registered sites (the writer refuses observations of any other)."""
    return {str(row[0]) for row in _sql.rows(store, "SELECT site_id FROM sites")}


# -- devices ------------------------------------------------------------------------------------
def upsert_devices(store: Store, frame: pd.DataFrame) -> tuple[int, int]:
    """Insert or update devices (columns of ``DEVICE_COLUMNS``; ``added_at`` optional).

    Returns
    -------
    (int, int)
        Devices added and devices updated.
    """
    rows = frame.copy()
    if "added_at" not in rows:
        rows["added_at"] = datetime.now(UTC)
    rows = rows[list(DEVICE_COLUMNS)]
    existing = {
        row[0]
        for row in _sql.rows(store, "SELECT mn FROM devices WHERE mn = ANY(?)", [list(rows["mn"])])
    }
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in DEVICE_COLUMNS if c not in ("mn", "added_at")
    )
    with _registered(store, "device_in", rows):
        store.con.execute(
            f"INSERT INTO devices SELECT {', '.join(DEVICE_COLUMNS)} FROM device_in "
            f"ON CONFLICT (mn) DO UPDATE SET {updates}"
        )
    updated = int(rows["mn"].isin(existing).sum())
    return len(rows) - updated, updated


def devices(store: Store) -> pd.DataFrame:
    """The device registry ordered by MN, with each site's kind (``site_kind``, NULL when the
    site is not registered) and its DataTime convention (``site_datatime``: the site attribute
    ``hj212_datatime``, NULL when unset)."""
    return _sql.frame(
        store,
        "SELECT d.mn, d.password, d.site_id, d.protocol, d.crc_mode, d.enabled, d.interval_s, "
        "d.added_at, s.kind AS site_kind, "
        "json_extract_string(s.attributes, '$.hj212_datatime') AS site_datatime "
        "FROM devices d LEFT JOIN sites s USING (site_id) "
        "ORDER BY d.mn",
    )


def device_sites(store: Store) -> list[dict[str, Any]]:
    """Each device's MN, site, protocol, interval and its site's city code (NULL when the site
    is not registered): the broker's subject and device bucket need them."""
    return [
        {"mn": r[0], "site_id": r[1], "protocol": r[2], "interval_s": r[3], "city_code": r[4]}
        for r in _sql.rows(
            store,
            "SELECT d.mn, d.site_id, d.protocol, d.interval_s, s.city_code "
            "FROM devices d LEFT JOIN sites s USING (site_id) ORDER BY d.mn",
        )
    ]


def set_device_enabled(store: Store, mn: str, enabled: bool) -> bool:
    """Enable or disable a device; False when no such MN is registered."""
    found = _sql.rows(store, "SELECT count(*) FROM devices WHERE mn = ?", [mn])[0][0]
    if found:
        store.con.execute("UPDATE devices SET enabled = ? WHERE mn = ?", [enabled, mn])
    return bool(found)


# -- the batch row of a write ------------------------------------------------------------------
def record_batch(store: Store, source: str, started_at: datetime, counts: dict[str, int]) -> int:
    """One ``import_batches`` row of kind ``gateway`` (finished now), its id taken from the
    sequence in the same statement (one statement instead of two and a pandas frame: a
    gateway write's fixed cost, docs/gateway-scaling.md "seventh pass"). Returns the id."""
    row = store.con.execute(
        "INSERT INTO import_batches (kind, source, started_at, finished_at, counts) "
        "VALUES ('gateway', ?, ?, ?, ?) RETURNING batch_id",
        [source, started_at, datetime.now(UTC), json.dumps(counts, ensure_ascii=False)],
    ).fetchone()
    assert row is not None
    return int(row[0])


# -- raw-log checkpoint -------------------------------------------------------------------------
def checkpoint(store: Store, log_id: str) -> int:
    """The last raw-log sequence number of ``log_id`` written to the store (0: none)."""
    rows = _sql.rows(store, "SELECT last_seq FROM gateway_checkpoints WHERE log_id = ?", [log_id])
    return int(rows[0][0]) if rows else 0


def set_checkpoint(store: Store, log_id: str, last_seq: int) -> None:
    """Record that every record of ``log_id`` up to ``last_seq`` is in the store."""
    store.con.execute(
        "INSERT INTO gateway_checkpoints VALUES (?, ?, ?) ON CONFLICT (log_id) DO UPDATE SET "
        "last_seq = greatest(gateway_checkpoints.last_seq, excluded.last_seq), "
        "updated_at = excluded.updated_at",
        [log_id, last_seq, datetime.now(UTC)],
    )


# -- message dedup -----------------------------------------------------------------------------
def known_messages(store: Store, keys: pd.DataFrame) -> set[tuple[str, str, str, int]]:
    """The message keys (mn, cn, data_time, pno) of ``keys`` already in the store."""
    if keys.empty:
        return set()
    frame = keys[list(MESSAGE_KEY)].drop_duplicates()
    with _registered(store, "message_keys_in", frame):
        rows = _sql.rows(
            store,
            "SELECT m.mn, m.cn, m.data_time, m.pno FROM gateway_messages m "
            "JOIN message_keys_in k USING (mn, cn, data_time, pno)",
        )
    return {(str(a), str(b), str(c), int(d)) for a, b, c, d in rows}


def message_floors(store: Store) -> dict[tuple[str, str], str]:
    """Per (MN, CN), a DataTime (14 digits, as sent) at or after that of every stored message
    key of the pair with a 14-digit DataTime (``gateway_message_floors``, kept by
    :func:`record_messages`): the writer's dedup cache decides later DataTimes without asking
    the store. Reads the small table, not the dedup table."""
    rows = _sql.rows(store, "SELECT mn, cn, data_time FROM gateway_message_floors")
    return {(str(mn), str(cn)): str(data_time) for mn, cn, data_time in rows}


#: ``gateway_messages`` rows as the writer inserts them (Arrow: no pandas frame per write).
MESSAGE_SCHEMA = pa.schema(
    [
        ("mn", pa.string()),
        ("cn", pa.string()),
        ("data_time", pa.string()),
        ("pno", pa.int32()),
        ("first_seq", pa.int64()),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("log_id", pa.string()),
    ]
)
#: ``gateway_subpackets`` rows.
SUBPACKET_SCHEMA = pa.schema(
    [
        ("mn", pa.string()),
        ("qn", pa.string()),
        ("pnum", pa.int32()),
        ("pno", pa.int32()),
        ("seq", pa.int64()),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("peer", pa.string()),
        ("frame", pa.binary()),
    ]
)


def message_table(
    messages: list[tuple[str, str, str, int, int, datetime]], log_id: str
) -> pa.Table:
    """Rows of ``gateway_messages`` (:data:`MESSAGE_SCHEMA`) from (mn, cn, data_time, pno,
    first_seq, received_at) tuples of first-seen messages of raw log ``log_id``."""
    columns = [list(column) for column in zip(*messages, strict=True)] or [[]] * 6
    types = [f.type for f in MESSAGE_SCHEMA][:6]  # the last, log_id, is the same for all
    arrays = [pa.array(values, type=t) for values, t in zip(columns, types, strict=True)]
    arrays.append(pa.array([log_id] * len(messages), type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=MESSAGE_SCHEMA)


def _rows(frame: pd.DataFrame | pa.Table, columns: list[str]) -> pd.DataFrame | pa.Table:
    return frame.select(columns) if isinstance(frame, pa.Table) else frame[columns]


def record_messages(store: Store, messages: pd.DataFrame | pa.Table) -> None:
    """Add first-seen messages (mn, cn, data_time, pno, log_id, first_seq, received_at) and
    raise their (MN, CN) floors (``gateway_message_floors``) in the same transaction."""
    if len(messages) == 0:
        return
    columns = [*MESSAGE_KEY, "log_id", "first_seq", "received_at"]
    with _registered(store, "messages_in", _rows(messages, columns)):
        store.con.execute(
            f"INSERT INTO gateway_messages ({', '.join(columns)}) "
            f"SELECT {', '.join(columns)} FROM messages_in"
        )
        store.con.execute(  # the pairs' floors follow (message_floors)
            "INSERT INTO gateway_message_floors SELECT mn, cn, max(data_time) FROM messages_in "
            "WHERE regexp_full_match(data_time, '[0-9]{14}') GROUP BY mn, cn "
            "ON CONFLICT (mn, cn) DO UPDATE SET data_time = "
            "greatest(gateway_message_floors.data_time, excluded.data_time)"
        )


def count_duplicates(store: Store, duplicates: pd.DataFrame) -> None:
    """Add the number of repeated sends per message key (column ``n``)."""
    if duplicates.empty:
        return
    with _registered(store, "duplicates_in", duplicates[[*MESSAGE_KEY, "n"]]):
        store.con.execute(
            "UPDATE gateway_messages m SET duplicates = m.duplicates + d.n FROM duplicates_in d "
            "WHERE m.mn = d.mn AND m.cn = d.cn AND m.data_time = d.data_time AND m.pno = d.pno"
        )


def prune_messages(store: Store, older_than: timedelta) -> int:
    """Forget dedup rows received longer ago than ``older_than`` (devices retry for minutes,
    not weeks); returns how many were removed."""
    cutoff = datetime.now(UTC) - older_than
    before = _sql.rows(store, "SELECT count(*) FROM gateway_messages")[0][0]
    store.con.execute("DELETE FROM gateway_messages WHERE received_at < ?", [cutoff])
    after = _sql.rows(store, "SELECT count(*) FROM gateway_messages")[0][0]
    return int(before) - int(after)


# -- sub-packets waiting for their set ---------------------------------------------------------
def add_subpackets(store: Store, parts: pd.DataFrame | list[dict[str, Any]]) -> None:
    """Keep sub-packets (mn, qn, pnum, pno, seq, received_at, peer, frame; a frame or the
    writer's dicts) until their set is complete; a resent part replaces the stored one."""
    if len(parts) == 0:
        return
    columns = ["mn", "qn", "pnum", "pno", "seq", "received_at", "peer", "frame"]
    rows = (
        parts[columns]
        if isinstance(parts, pd.DataFrame)
        else pa.Table.from_pylist(parts, schema=SUBPACKET_SCHEMA)
    )
    with _registered(store, "subpackets_in", rows):
        store.con.execute(
            f"INSERT OR REPLACE INTO gateway_subpackets SELECT {', '.join(columns)} "
            "FROM subpackets_in"
        )


def subpackets(store: Store) -> pd.DataFrame:
    """Every waiting sub-packet, by set and packet number."""
    frame = _sql.frame(
        store,
        "SELECT mn, qn, pnum, pno, seq, received_at, peer, frame FROM gateway_subpackets "
        "ORDER BY mn, qn, pno",
    )
    return frame


def drop_subpackets(store: Store, sets: list[tuple[str, str]]) -> None:
    """Remove the sub-packets of the given (mn, qn) sets (reassembled or expired)."""
    if not sets:
        return
    mns, qns = zip(*sets, strict=True)
    frame = pa.table({"mn": pa.array(mns, pa.string()), "qn": pa.array(qns, pa.string())})
    with _registered(store, "subpacket_sets_in", frame):
        store.con.execute(
            "DELETE FROM gateway_subpackets g USING subpacket_sets_in s "
            "WHERE g.mn = s.mn AND g.qn = s.qn"
        )
