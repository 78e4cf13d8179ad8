"""History in Delta Lake tables beside the store: closed months of observations and AQI.

The lake is a second storage tier of the store, so it lives in ``store/`` (its SQL, its manifest
table and the read path's union are the store's business; docs/architecture.md, "History in
Delta Lake"). Three Delta tables under the lake folder, each partitioned by ``year``/``month``/
``city`` (the China Standard Time month of the day a value belongs to, HJ 663-2013 §3; the
GB/T 2260 city code as text, ``none`` for a site without a city):

* ``observations``: the ``observations`` view's columns (``site_id``, ``parameter``,
  ``period``, ``time`` [UTC, end of the period], ``value`` [canonical unit], ``flag``,
  ``batch_id``);
* ``aqi_hourly`` and ``aqi_daily``: the AQI tables' columns as stored.

The manifest table ``lake_months`` (one row per table and month: row count, checksum, the
lake's folder, when it was exported, verified and deleted from the store) is the read path's
only guide: a month whose store copy was deleted is read from the lake; every other month from
the store. Readers ask :func:`source` for the relation to put after ``FROM``.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ecobasin.store import _sql
from ecobasin.store import air as store_air
from ecobasin.store._sql import Connection
from ecobasin.store.database import Store
from ecobasin.store.lake_read import dataset as _dataset

if TYPE_CHECKING:  # imported by a lake write: a server or command without a lake never needs it
    import deltalake

__all__ = [
    "CHECKPOINT_INTERVAL",
    "LAKE_TABLES",
    "TABLE_PROPERTIES",
    "MonthCopy",
    "checksum",
    "delete_month",
    "keep_checkpoints",
    "lake_checksum",
    "manifest",
    "month_rows",
    "months_in_store",
    "record_month",
    "write_month",
]

#: Tables the lake holds → the time column that puts a row in a month.
LAKE_TABLES: dict[str, str] = {"observations": "time", "aqi_hourly": "time", "aqi_daily": "day"}
_PARTITIONS = ["year", "month", "city"]
#: [commits] between two checkpoints of a lake table: Delta Lake's own default (delta-rs's is
#: 100, so a table of 48 monthly commits had none and every reader parsed its whole JSON log).
CHECKPOINT_INTERVAL = 10
_INTERVAL_KEY = "delta.checkpointInterval"
#: Table properties of every lake table (Delta protocol, "Table Properties"; Spark, Trino and
#: delta-rs writers all honour the checkpoint interval).
TABLE_PROPERTIES: dict[str, str] = {_INTERVAL_KEY: str(CHECKPOINT_INTERVAL)}
_CST = timedelta(hours=8)


@dataclass(frozen=True)
class MonthCopy:
    """What one month of one table holds: rows and the order-free checksum of its values."""

    table: str
    year: int
    month: int
    rows: int
    checksum: str


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """(exclusive start, inclusive end) [UTC] of the hour-ending instants of a CST month: the
    value ending at 00:00 CST on the 1st belongs to the last day of the month before
    (HJ 663-2013 §3)."""
    first = datetime(year, month, 1, tzinfo=UTC) - _CST
    days = calendar.monthrange(year, month)[1]
    return first, first + timedelta(days=days)


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_sql(table: str, year: int, month: int, params: list[Any]) -> str:
    """SELECT of one month of ``table`` with its ``city``, ``year`` and ``month`` columns."""
    if table == "aqi_daily":
        params.extend([date(year, month, 1), _last_day(year, month)])
        cond = "a.day BETWEEN ? AND ?"
    else:
        start, end = _month_bounds(year, month)
        params.extend([start, end])
        cond = "a.time > ? AND a.time <= ?"
    parts = f"{year}::INTEGER AS year, {month}::INTEGER AS month"
    if table == "observations":
        return (
            f"SELECT a.*, coalesce(s.city_code::VARCHAR, 'none') AS city, {parts} "
            f"FROM observations a JOIN sites s USING (site_id) WHERE {cond}"
        )
    city = (
        "CASE WHEN a.scope = 'city' THEN a.scope_id ELSE coalesce(s.city_code::VARCHAR, 'none') END"
    )
    return (
        f"SELECT a.*, {city} AS city, {parts} FROM {table} a "
        f"LEFT JOIN sites s ON a.scope = 'site' AND s.site_id = a.scope_id WHERE {cond}"
    )


def month_rows(where: Connection, table: str, year: int, month: int) -> pa.Table:
    """The store's rows of one CST month of ``table``, with their partition columns."""
    params: list[Any] = []
    sql = _month_sql(table, year, month, params)
    answer: pa.Table = _sql.cursor_of(where).sql(sql, params=params).to_arrow_table()
    return answer


def _hash_sql(relation: str, columns: list[str]) -> str:
    cols = ", ".join(f'"{c}"' for c in columns)
    # a sum of row hashes: independent of row order and file layout, changed by any value
    return f"SELECT count(*), coalesce(sum(hash({cols})::HUGEINT), 0)::VARCHAR FROM {relation}"


def _value_columns(where: Connection, table: str) -> list[str]:
    rows = _sql.cursor_of(where).execute(f"SELECT * FROM {table} LIMIT 0").description or []
    return [str(r[0]) for r in rows]


def checksum(where: Connection, table: str, year: int, month: int) -> MonthCopy:
    """Rows and checksum of one month of ``table`` as the store holds it."""
    params: list[Any] = []
    inner = _month_sql(table, year, month, params)
    sql = _hash_sql(f"({inner})", _value_columns(where, table))
    rows, digest = _sql.cursor_of(where).execute(sql, params).fetchone() or (0, "0")
    return MonthCopy(table, year, month, int(rows), str(digest))


def _table_path(lake: Path, table: str) -> str:
    return str(lake / table)


def write_month(lake: Path, table: str, year: int, month: int, rows: pa.Table) -> None:
    """Replace the month's partitions of ``table`` in the lake by ``rows`` (one Delta commit;
    re-running it replaces the same partitions: idempotent), then keep the table's checkpoints
    (:func:`_keep_checkpoints`)."""
    import deltalake

    lake.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = _table_path(lake, table)
    # the writer opens an existing table anyway: open it once and keep it for the checkpoint
    delta = deltalake.DeltaTable(path) if deltalake.DeltaTable.is_deltatable(path) else None
    deltalake.write_deltalake(
        path if delta is None else delta,
        rows,
        partition_by=_PARTITIONS,
        mode="overwrite",
        predicate=f"year = {int(year)} AND month = {int(month)}",
        configuration=TABLE_PROPERTIES,  # a new table's; an existing one keeps its own
    )
    _keep_checkpoints(deltalake.DeltaTable(path) if delta is None else delta, path)


def keep_checkpoints(lake: Path, table: str) -> bool:
    """Bring an existing lake table's checkpoints up to date (:func:`_keep_checkpoints`; what
    :func:`write_month` does after each commit) and say whether one was written now; False for
    a table not in the lake."""
    import deltalake

    path = _table_path(lake, table)
    if not deltalake.DeltaTable.is_deltatable(path):
        return False
    return _keep_checkpoints(deltalake.DeltaTable(path), path)


def _keep_checkpoints(delta: deltalake.DeltaTable, path: str) -> bool:
    """Give a lake table a checkpoint at least every :data:`CHECKPOINT_INTERVAL` commits; True
    when one was written now.

    Without a checkpoint every reader parses the whole JSON log (Delta protocol, "Checkpoints"):
    one commit per month and table, 340 partitions each at national size, 13 MB at 48 months.
    A table made before :data:`TABLE_PROPERTIES` gets the property (one metadata commit) so
    delta-rs's post-commit hook writes the next ones itself, and a checkpoint now if its last
    one is :data:`CHECKPOINT_INTERVAL` commits old or more."""
    if delta.metadata().configuration.get(_INTERVAL_KEY) != TABLE_PROPERTIES[_INTERVAL_KEY]:
        delta.alter.set_table_properties(TABLE_PROPERTIES)
    if delta.version() - _last_checkpoint(path) < CHECKPOINT_INTERVAL:
        return False
    delta.create_checkpoint()
    return True


def _last_checkpoint(path: str) -> int:
    """The version of a table's latest checkpoint, -1 without one (Delta protocol, "Last
    Checkpoint File": ``_delta_log/_last_checkpoint``, JSON with its ``version``)."""
    marker = Path(path) / "_delta_log" / "_last_checkpoint"
    try:
        return int(json.loads(marker.read_text(encoding="utf-8"))["version"])
    except FileNotFoundError:
        return -1


def lake_checksum(where: Connection, lake: Path, table: str, year: int, month: int) -> MonthCopy:
    """Rows and checksum of one month of ``table`` as the lake holds it (read back by DuckDB
    from the Delta table's files), comparable with :func:`checksum`."""
    columns = _value_columns(where, table)
    data = _dataset(str(lake), table)
    if data is None:
        return MonthCopy(table, year, month, 0, "0")
    cursor = _sql.cursor_of(where).cursor()
    try:
        cursor.register("lake_check", data)
        relation = f"(SELECT * FROM lake_check WHERE year = {int(year)} AND month = {int(month)})"
        rows, digest = cursor.execute(_hash_sql(relation, columns)).fetchone() or (0, "0")
    finally:
        cursor.close()
    return MonthCopy(table, year, month, int(rows), str(digest))


def months_in_store(where: Connection, table: str) -> list[tuple[int, int]]:
    """The CST months (year, month) holding rows of ``table`` in the store."""
    column = LAKE_TABLES[table]
    if column == "day":
        expr = "day"
    else:
        # the day an hour-ending instant belongs to: CST, one hour back (HJ 663-2013 §3)
        expr = f"({column} AT TIME ZONE 'Asia/Shanghai') - INTERVAL 1 HOUR"
    sql = (
        f"SELECT DISTINCT year({expr})::INTEGER, month({expr})::INTEGER FROM {table} ORDER BY 1, 2"
    )
    return [(int(y), int(m)) for y, m in _sql.cursor_of(where).execute(sql).fetchall()]


def record_month(
    store: Store, copy: MonthCopy, lake: Path, *, verified: bool, at: datetime
) -> None:
    """Write the manifest row of an exported month (replacing an earlier export's)."""
    with store.transaction():
        con = store.con
        con.execute(
            "DELETE FROM lake_months WHERE table_name = ? AND year = ? AND month = ?",
            [copy.table, copy.year, copy.month],
        )
        con.execute(
            "INSERT INTO lake_months VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                copy.table,
                copy.year,
                copy.month,
                copy.rows,
                copy.checksum,
                str(lake.resolve()),
                at,
                at if verified else None,
            ],
        )


def delete_month(store: Store, table: str, year: int, month: int, at: datetime) -> int:
    """Delete one verified month of ``table`` from the store and mark it in the manifest, in
    one transaction (a crash leaves both or neither). Returns the rows deleted."""
    with store.transaction():
        con = store.con
        verified = con.execute(
            "SELECT verified_at IS NOT NULL FROM lake_months "
            "WHERE table_name = ? AND year = ? AND month = ?",
            [table, year, month],
        ).fetchone()
        if not verified or not verified[0]:
            raise ValueError(f"{table} {year}-{month:02d} is not verified in the lake")
        if table == "aqi_daily":
            sql = "DELETE FROM aqi_daily WHERE day BETWEEN ? AND ?"
            params: list[Any] = [date(year, month, 1), _last_day(year, month)]
        elif table == "aqi_hourly":
            sql = "DELETE FROM aqi_hourly WHERE time > ? AND time <= ?"
            params = list(_month_bounds(year, month))
        else:
            sql = "DELETE FROM observation_values WHERE time > ? AND time <= ?"
            params = list(_month_bounds(year, month))
        deleted = con.execute(sql, params).fetchone()
        con.execute(
            "UPDATE lake_months SET deleted_at = ? WHERE table_name = ? AND year = ? AND month = ?",
            [at, table, year, month],
        )
    if table != "observations":
        store_air.bump_generation()  # the cached AQI answers of this process read the store
    return int(deleted[0]) if deleted else 0


def manifest(where: Connection) -> list[dict[str, Any]]:
    """Every manifest row, by table and month."""
    cursor = _sql.cursor_of(where)
    rel = cursor.execute("SELECT * FROM lake_months ORDER BY table_name, year, month")
    names = [str(d[0]) for d in rel.description or []]
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
