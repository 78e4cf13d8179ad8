"""The DuckDB store: the only place in ecobasin that speaks SQL.

One database file; the schema is migrated on open. Writes are upserts keyed by
(site, parameter, period, time): writing the same observation again keeps one row, the later
value wins, and the result counts how many rows were new, replaced or unchanged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecobasin import catalog
from ecobasin.errors import StoreBusyError
from ecobasin.store import queries
from ecobasin.store.migrations import MIGRATIONS, migration_batches

__all__ = ["Store", "WriteCounts", "interrupted", "make_private"]

log = logging.getLogger("ecobasin.store")

OBSERVATION_KEY = ("site_id", "parameter", "period", "time")
SITE_COLUMNS = ("site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat")


@dataclass
class WriteCounts:
    """What one write did: rows new to the store, rows whose value changed, rows already there;
    ``compared``: writes that compared with stored rows (their time span had some, or the
    caller expected so: ``overlap_expected``)."""

    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    compared: int = field(default=0, compare=False)  # a diagnostic, not a count of rows

    def __iadd__(self, other: WriteCounts) -> WriteCounts:
        self.inserted += other.inserted
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.compared += other.compared
        return self

    def as_dict(self) -> dict[str, int]:
        """The row counts (``compared`` is a diagnostic of the writes, not a count of rows)."""
        return {k: v for k, v in asdict(self).items() if k != "compared"}


def _first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a result, consuming it all (DuckDB wants results finished)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def observation_table(frame: pd.DataFrame, batch_id: int | None = None) -> pa.Table:
    """Observations as an Arrow table in the observations table's column order.

    ``batch_id`` fills the batch column; without it the frame's ``batch_id`` column is used
    (or 0, for a table whose batch is set later with :func:`with_batch`). Arrow scans into
    DuckDB about twice as fast as pandas; categoricals become dictionaries and an all-missing
    flag column stays a null array (no million ``None`` objects).
    """
    n = len(frame)
    flags = frame["flag"]
    flag = (
        pa.nulls(n, pa.string())
        if flags.isna().all()
        else pa.array(flags.astype(object).where(flags.notna(), None), pa.string())
    )
    if batch_id is not None:
        batch = np.full(n, batch_id, np.int32)
    elif "batch_id" in frame:
        batch = frame["batch_id"].to_numpy(np.int32)
    else:
        batch = np.zeros(n, np.int32)
    return pa.table(
        {
            "site_id": pa.array(frame["site_id"]),
            "parameter": pa.array(frame["parameter"]),
            "period": pa.array(frame["period"]),
            "time": pa.array(pd.DatetimeIndex(frame["time"]).tz_convert("UTC")),
            "value": pa.array(frame["value"].to_numpy(np.float64)),
            "flag": flag,
            "batch_id": pa.array(batch),
        }
    )


def _keys(
    column: pa.ChunkedArray | pa.Array, keys: dict[Any, int], what: str, dtype: type
) -> pa.Array:
    """Integer keys for a column of ids, looked up once per distinct id."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_dictionary(column.type) and column.null_count == 0:
        # Arrow's own encoding: the ids in order of first appearance, as pandas.factorize
        # gives them, without making a Python object of every row
        column = pc.dictionary_encode(column)
    if pa.types.is_dictionary(column.type):
        names = column.dictionary.to_pylist()
        codes = column.indices.to_numpy(zero_copy_only=False)
    else:
        codes, uniques = pd.factorize(column.to_numpy(zero_copy_only=False))
        names = list(uniques)
    lookup = np.array([keys.get(name, -1) for name in names] + [-1], dtype=np.int64)
    found = lookup[codes]
    if (found < 0).any():
        unknown = sorted({str(n) for n, k in zip(names, lookup, strict=False) if k < 0})
        raise ValueError(f"unknown {what}(s) {unknown[:5]}: register them before writing values")
    return pa.array(found.astype(dtype))


def _parameter_rows() -> pd.DataFrame:
    """The bundled registry as rows of the parameters table (empty codes become NULL)."""
    rows = catalog.parameters().reset_index(drop=True)
    for column in ("hj212_2017", "hj212_2005"):
        rows[column] = rows[column].where(rows[column] != "", None)
    return rows


def keyed_table(
    table: pa.Table, site_keys: dict[str, int], parameter_keys: dict[str, int]
) -> pa.Table:
    """Observations with site and parameter ids replaced by their integer keys, in the
    column order of the ``observation_values`` table.

    Raises
    ------
    ValueError
        When a site or parameter is not registered (importers validate first).
    """
    return pa.table(
        {
            "site_key": _keys(table["site_id"], site_keys, "site", np.int32),
            "parameter_key": _keys(table["parameter"], parameter_keys, "parameter", np.int16),
            "period": table["period"],
            "time": table["time"],
            "value": table["value"],
            "flag": table["flag"],
            "batch_id": table["batch_id"],
        }
    )


def with_batch(table: pa.Table, batch_id: int) -> pa.Table:
    """The same observations with every row's batch set to ``batch_id``."""
    index = table.schema.get_field_index("batch_id")
    return table.set_column(index, "batch_id", pa.array(np.full(len(table), batch_id, np.int32)))


#: CST label of a period end, midnight as 24:00 of the day it closes (HJ 663-2013 §3), as
#: ``ecobasin.timebase.period_end_label`` writes it.
_PERIOD_END_LABEL = (
    "CASE WHEN o.period <> 'instant' AND strftime(o.time + INTERVAL 8 HOUR, '%H:%M') = '00:00' "
    "THEN strftime(o.time + INTERVAL 7 HOUR, '%Y-%m-%d') || ' 24:00' "
    "ELSE strftime(o.time + INTERVAL 8 HOUR, '%Y-%m-%d %H:%M') END"
)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _private_files() -> Iterator[None]:
    """Files created inside are readable by their owner only (umask 077): the database and
    its write-ahead log hold password hashes and everyone's data (OWASP ASVS 4.0 §14.1.3)."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def make_private(database: Path) -> None:
    """Make the database file and its write-ahead log 0600 when others may read them (a file
    made by an older release was 0644)."""
    for path in (database, database.with_name(database.name + ".wal")):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            path.chmod(mode & 0o700)
            log.warning("%s was readable by others (mode %o): made private", path, mode)


#: DuckDB errors worth retrying as they are: a locked file, an I/O hiccup, a write conflict
TRANSIENT_STORE_ERRORS: tuple[type[Exception], ...] = (
    duckdb.IOException,
    duckdb.TransactionException,
)


#: the end of DuckDB's error for a Ctrl+C that landed in Python code DuckDB called back (pandas
#: while it registers or scans a frame, a UDF): DuckDB re-raises it as ``duckdb.Error`` whose
#: text is the Python traceback or "… while executing the UDF: KeyboardInterrupt: "
_PYTHON_INTERRUPT = re.compile(r"\bKeyboardInterrupt:?\s*\Z")


def interrupted(error: BaseException) -> bool:
    """Whether ``error`` is DuckDB's form of a Ctrl+C that landed in a statement
    (``InterruptException``, a ``Query interrupted`` error, or a ``KeyboardInterrupt`` raised in
    Python code DuckDB called back): the caller must raise ``KeyboardInterrupt``, never treat it
    as a failed write and go on."""
    if isinstance(error, duckdb.InterruptException) or str(error) == "Query interrupted":
        return True
    return isinstance(error, duckdb.Error) and _PYTHON_INTERRUPT.search(str(error)) is not None


class Store:
    """A DuckDB database file holding ecobasin's data.

    Parameters
    ----------
    path : str or Path
        The database file; created with the current schema when it does not exist.
    read_only : bool, default False
        Open without the write lock (other readers may share it; a writer may not be running).

    Raises
    ------
    StoreBusyError
        When another process holds the file. DuckDB lets one process write a file; while
        ``ecobasin serve`` runs, write through its API instead.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._depth = 0
        try:
            with _private_files():
                self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise StoreBusyError(
                    f"{self.path} is in use by another ecobasin process (DuckDB allows one "
                    f"writer per file). Stop it, or send writes through its API. ({error})"
                ) from None
            raise
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        if not read_only:
            with _private_files():
                self._migrate()
            make_private(self.path)

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the same database, for one thread (FastAPI request, worker)."""
        cursor = self.con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def _migrate(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
        )
        done = {row[0] for row in self.con.execute("SELECT version FROM schema_version").fetchall()}
        for batch in migration_batches(MIGRATIONS, done):
            self.con.execute("BEGIN")
            try:
                for version, description, sql in batch:
                    self.con.execute(sql)
                    self.con.execute(
                        "INSERT INTO schema_version VALUES (?, ?, ?)",
                        [version, description, _now()],
                    )
                self.con.execute("COMMIT")
            except Exception as error:
                self._rollback_if_open()
                if interrupted(error):
                    raise KeyboardInterrupt from error
                raise

    def _rollback_if_open(self) -> None:
        """Roll back the open transaction; an interrupted COMMIT has already ended it."""
        with contextlib.suppress(duckdb.TransactionException):
            self.con.execute("ROLLBACK")

    @property
    def schema_version(self) -> int:
        row = _first(self.con.execute("SELECT max(version) FROM schema_version"))
        return int(row[0]) if row and row[0] is not None else 0

    # -- reference data ------------------------------------------------------------------
    def sync_catalog(self, region: catalog.Region) -> None:
        """Write the bundled cities and parameter registry; mark the region's cities."""
        city_frame = catalog.cities()
        city_frame["in_region"] = city_frame["code"].isin(region.cities)
        with (
            self.transaction(),
            self._registered(city_in=city_frame, parameter_in=_parameter_rows()),
        ):
            self.con.execute("DELETE FROM cities")
            self.con.execute(
                "INSERT INTO cities SELECT code, name_zh, name_en, province_zh, province_en, "
                "lon, lat, in_region FROM city_in"
            )
            # update and add, never delete: stored values refer to each parameter's key, and
            # only new parameters draw a key (an upsert would draw one per row, every time)
            fields = [
                "domain", "hj212_2017", "hj212_2005", "name_zh", "name_en", "unit",
                "min_value", "max_value", "decimals",
            ]  # fmt: skip
            self.con.execute(
                "UPDATE parameters p SET "
                + ", ".join(f"{f} = i.{f}" for f in fields)
                + " FROM parameter_in i WHERE i.parameter = p.parameter"
            )
            self.con.execute(
                f"INSERT INTO parameters (parameter, {', '.join(fields)}) "
                f"SELECT parameter, {', '.join(fields)} FROM parameter_in "
                "WHERE parameter NOT IN (SELECT parameter FROM parameters)"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested uses join the outermost one (all or nothing)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._depth = 0

    @contextmanager
    def _registered(self, **frames: pd.DataFrame | pa.Table) -> Iterator[None]:
        """Expose DataFrames to SQL under explicit names (never by Python variable lookup).

        Registering and scanning a frame runs pandas code, where a Ctrl+C arrives as a
        ``duckdb.Error``: it leaves as ``KeyboardInterrupt``, as everywhere else."""
        try:
            for name, frame in frames.items():
                self.con.register(name, frame)
            yield
        except BaseException as error:
            for name in frames:  # in an aborted transaction this fails: keep the real error
                with suppress(Exception):
                    self.con.unregister(name)
            if interrupted(error) and not isinstance(error, KeyboardInterrupt):
                raise KeyboardInterrupt from error
            raise
        for name in frames:
            self.con.unregister(name)

    def cities(self, *, region_only: bool = False) -> pd.DataFrame:
        """Cities in the store (``region_only``: the configured region's), ordered by code."""
        frame = queries.cities(self.con)
        return frame[frame["in_region"]].reset_index(drop=True) if region_only else frame

    def parameters(self, domain: str | None = None) -> pd.DataFrame:
        """The parameter registry as stored, optionally for one domain."""
        return queries.parameters(self.con, domain=domain)

    # -- sites -----------------------------------------------------------------------------
    def upsert_sites(self, sites: pd.DataFrame, source: str) -> WriteCounts:
        """Insert or update sites (columns as ``SITE_COLUMNS`` plus optional ``attributes``)."""
        frame = sites.copy()
        if "attributes" not in frame:
            frame["attributes"] = None
        frame["attributes"] = [
            None
            if a is None or (isinstance(a, float) and pd.isna(a))
            else json.dumps(a)
            if not isinstance(a, str)
            else a
            for a in frame["attributes"]
        ]
        frame["source"] = source
        frame["updated_at"] = _now()
        columns = [*SITE_COLUMNS, "attributes", "source", "updated_at"]
        frame = frame[columns]
        existing = set(
            self.con.execute(
                "SELECT site_id FROM sites WHERE site_id = ANY(?)", [list(frame["site_id"])]
            ).fetchall()
        )
        existing_ids = {row[0] for row in existing}
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "site_id")
        with self._registered(site_in=frame):
            self.con.execute(
                f"INSERT INTO sites ({', '.join(columns)}) SELECT {', '.join(columns)} "
                f"FROM site_in ON CONFLICT (site_id) DO UPDATE SET {updates}"
            )
        replaced = int(frame["site_id"].isin(existing_ids).sum())
        return WriteCounts(inserted=len(frame) - replaced, replaced=replaced)

    def sites(
        self,
        *,
        cities: Sequence[int] | None = None,
        kinds: Sequence[str] | None = None,
        site_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Sites joined with their city names, ordered by city and site id."""
        return queries.sites(self.con, cities=cities, kinds=kinds, site_ids=site_ids)

    # -- observations ------------------------------------------------------------------------
    def write_observations(
        self,
        frame: pd.DataFrame | pa.Table,
        batch_id: int | None = None,
        *,
        overlap_expected: bool = False,
    ) -> WriteCounts:
        """Upsert observations; the later value wins and replacements are counted.

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns site_id, parameter, period, time (tz-aware UTC), value, flag and, unless
            ``batch_id`` is given, batch_id (from :meth:`begin_batch`: where and when the rows
            came in); or an Arrow table made by :func:`observation_table` (optionally keyed
            by :func:`keyed_table`). Keys must be unique
            within the frame (the importers reject in-file duplicates before calling this).
            Large frames (~1M rows) write fastest.
        overlap_expected : bool
            The caller expects stored rows of the same sites in the rows' time span (the
            gateway's writes, docs/gateway-scaling.md "tenth pass"): the rows are compared at
            once, without first counting the stored rows of the span (the same rows stored,
            the same counts; one statement less). False: counted first, and rows with none
            there appended without the compare.
        """
        if len(frame) == 0:
            return WriteCounts()
        if isinstance(frame, pa.Table):
            arrow = frame if batch_id is None else with_batch(frame, batch_id)
        else:
            arrow = observation_table(frame, batch_id)
        keyed = arrow if "site_key" in arrow.column_names else keyed_table(arrow, *self.key_maps())
        span_of = pc.min_max(keyed["time"])
        start, end = span_of["min"].as_py(), span_of["max"].as_py()
        con = self.con
        # The key join is restricted to the batch's time span so zone maps skip old row groups.
        same_key = (
            "o.site_key = s.site_key AND o.parameter_key = s.parameter_key "
            "AND o.period = s.period AND o.time = s.time AND o.time BETWEEN $start AND $end"
        )
        identical = "o.value IS NOT DISTINCT FROM s.value AND o.flag IS NOT DISTINCT FROM s.flag"
        span = {"start": start, "end": end}
        with self.transaction(), self._registered(observation_in=keyed):
            if not overlap_expected and not self._overlap(span):  # new data: append
                con.execute("INSERT INTO observation_values SELECT * FROM observation_in")
                return WriteCounts(inserted=len(frame))
            row = _first(
                con.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE {identical}) "
                    f"FROM observation_in s JOIN observation_values o ON {same_key}",
                    span,
                )
            )
            assert row is not None
            existing, unchanged = int(row[0]), int(row[1])
            if not existing:  # stored rows nearby, none with these keys: append, no stage copy
                con.execute("INSERT INTO observation_values SELECT * FROM observation_in")
                return WriteCounts(inserted=len(frame), compared=1)
            con.execute("CREATE OR REPLACE TEMP TABLE stage AS SELECT * FROM observation_in")
            con.execute(
                f"DELETE FROM observation_values o USING stage s "
                f"WHERE {same_key} AND NOT ({identical})",
                span,
            )
            con.execute(
                f"DELETE FROM stage s USING observation_values o WHERE {same_key} AND {identical}",
                span,
            )
            con.execute("INSERT INTO observation_values SELECT * FROM stage")
            con.execute("DROP TABLE stage")
        return WriteCounts(
            inserted=len(frame) - existing,
            replaced=existing - unchanged,
            unchanged=unchanged,
            compared=1,
        )

    def _overlap(self, span: dict[str, Any]) -> bool:
        """Whether stored rows of the registered ``observation_in``'s sites lie in ``span``."""
        overlap = _first(
            self.con.execute(
                "SELECT count(*) FROM observation_values o "
                "WHERE o.time BETWEEN $start AND $end "
                "AND o.site_key IN (SELECT DISTINCT site_key FROM observation_in)",
                span,
            )
        )
        return overlap is not None and overlap[0] > 0

    def key_maps(self) -> tuple[dict[str, int], dict[str, int]]:
        """Site id → site key and parameter id → parameter key, as stored now."""
        sites = dict(self.con.execute("SELECT site_id, site_key FROM sites").fetchall())
        params = dict(
            self.con.execute("SELECT parameter, parameter_key FROM parameters").fetchall()
        )
        return sites, params

    def observations(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        **filters: Any,
    ) -> pd.DataFrame:
        """Observations as a tidy DataFrame, ordered by site, parameter and time.

        Filters as :class:`queries.ObservationFilter` (sites, cities, parameters, periods,
        start, end: inclusive tz-aware instants). Columns: site_id, city_code, parameter,
        period, time (UTC, end of the averaging period), value, unit, flag, source.
        """
        where = queries.ObservationFilter(**filters)
        return queries.observations(self.con, where, limit=limit, offset=offset)

    def count_observations(self, **filters: Any) -> int:
        return queries.count_observations(self.con, queries.ObservationFilter(**filters))

    def export_observations(self, path: str | Path, fmt: str, **filters: Any) -> int:
        """Write observations to CSV (one file, UTF-8) or Parquet (Hive-partitioned by
        year/month/city under ``path``). Returns the number of rows written.

        Rows carry both the UTC instant and the China Standard Time hour-ending label.
        """
        params: list[Any] = []
        where = queries.ObservationFilter(**filters).where(params)
        select = (
            "SELECT o.site_id, s.city_code AS city, o.parameter, o.period, o.time AS time_utc, "
            f"{_PERIOD_END_LABEL} AS time_cst, o.value, "
            "p.unit, o.flag, b.source, "
            "year(o.time + INTERVAL 7 HOUR) AS year, month(o.time + INTERVAL 7 HOUR) AS month "
            "FROM observations o JOIN sites s USING (site_id) "
            "LEFT JOIN parameters p USING (parameter) LEFT JOIN import_batches b USING (batch_id) "
            "WHERE true" + where + " ORDER BY o.site_id, o.parameter, o.time"
        )
        n = _first(self.con.execute(f"SELECT count(*) FROM ({select})", params))
        target = str(path).replace("'", "''")
        if fmt == "csv":
            self.con.execute(
                f"COPY (SELECT * EXCLUDE (year, month) FROM ({select})) TO '{target}' "
                "(FORMAT csv, HEADER true)",
                params,
            )
        elif fmt == "parquet":
            self.con.execute(
                f"COPY ({select}) TO '{target}' "
                "(FORMAT parquet, PARTITION_BY (year, month, city), OVERWRITE_OR_IGNORE true)",
                params,
            )
        else:
            raise ValueError(f"unknown export format {fmt!r}: use csv or parquet")
        return int(n[0]) if n else 0

    # -- meteorology ---------------------------------------------------------------------------
    def write_meteorology(self, frame: pd.DataFrame, source: str) -> WriteCounts:
        """Upsert city meteorology (city_code, parameter, period, time, value)."""
        if frame.empty:
            return WriteCounts()
        batch = frame[["city_code", "parameter", "period", "time", "value"]].copy()
        batch["source"] = source
        batch["ingested_at"] = _now()
        with self.transaction(), self._registered(met_in=batch):
            row = _first(
                self.con.execute(
                    "SELECT count(*), count(*) FILTER (WHERE m.value IS NOT DISTINCT FROM b.value) "
                    "FROM met_in b JOIN meteorology m USING (city_code, parameter, period, time)"
                )
            )
            assert row is not None
            self.con.execute(
                "INSERT INTO meteorology SELECT * FROM met_in "
                "ON CONFLICT (city_code, parameter, period, time) DO UPDATE SET "
                "value = excluded.value, source = excluded.source, ingested_at = excluded.ingested_at"
            )
        existing, unchanged = int(row[0]), int(row[1])
        return WriteCounts(len(batch) - existing, existing - unchanged, unchanged)

    def meteorology(self, *, cities: Sequence[int] | None = None) -> pd.DataFrame:
        return queries.meteorology(self.con, cities=cities)

    # -- rejected records and batches ---------------------------------------------------------
    def reject(self, records: pd.DataFrame, batch_id: int | None = None) -> int:
        """Keep bad records aside with their reason (columns source, record_ref, reason_code,
        reason, raw). A record already on file for the same reason is not added twice, so a
        re-import changes nothing. Returns the number of new entries."""
        if records.empty:
            return 0
        frame = records[["source", "record_ref", "reason_code", "reason", "raw"]].copy()
        frame["batch_id"] = batch_id
        frame["rejected_at"] = _now()
        frame = frame.drop_duplicates(["source", "record_ref", "reason_code"])
        before = self._count("rejected")
        with self._registered(rejected_in=frame):
            self.con.execute("INSERT OR IGNORE INTO rejected SELECT * FROM rejected_in")
        return self._count("rejected") - before

    def rejected(self, *, source: str | None = None, limit: int | None = None) -> pd.DataFrame:
        return queries.rejected(self.con, source=source, limit=limit)

    def rejected_summary(self) -> pd.DataFrame:
        return queries.rejected_summary(self.con)

    def new_batch_ids(self, n: int) -> list[int]:
        """Reserve ``n`` batch ids (one statement for many files)."""
        rows = self.con.execute("SELECT nextval('batch_ids') FROM range(?)", [n]).fetchall()
        return [int(row[0]) for row in rows]

    def record_batches(self, batches: list[dict[str, Any]]) -> None:
        """Record finished batches in one insert (batch_id, kind, source, started_at,
        finished_at, counts)."""
        if not batches:
            return
        frame = pd.DataFrame(batches)
        frame["counts"] = [json.dumps(c, ensure_ascii=False) for c in frame["counts"]]
        with self._registered(batch_in=frame):
            self.con.execute(
                "INSERT INTO import_batches SELECT batch_id, kind, source, started_at, "
                "finished_at, counts FROM batch_in"
            )

    def begin_batch(self, kind: str, source: str) -> int:
        """Record the start of an import batch (a file, a generated chunk); returns its id."""
        row = _first(
            self.con.execute(
                "INSERT INTO import_batches (kind, source, started_at) VALUES (?, ?, ?) "
                "RETURNING batch_id",
                [kind, source, _now()],
            )
        )
        assert row is not None
        return int(row[0])

    def finish_batch(self, batch_id: int, counts: dict[str, Any]) -> None:
        self.con.execute(
            "UPDATE import_batches SET finished_at = ?, counts = ? WHERE batch_id = ?",
            [_now(), json.dumps(counts, ensure_ascii=False), batch_id],
        )

    # -- small helpers -------------------------------------------------------------------------
    def _count(self, table: str) -> int:
        row = _first(self.con.execute(f"SELECT count(*) FROM {table}"))
        return int(row[0]) if row else 0

    def summary(self) -> dict[str, Any]:
        """Row counts and the observed time span, for status lines and the API."""
        return queries.summary(self.con)

    def reader(self) -> Store:
        """A Store over a new cursor of this database, for one thread (a request, a worker)."""
        view = object.__new__(Store)
        view.path, view._depth, view.con = self.path, 0, self.cursor()
        return view
