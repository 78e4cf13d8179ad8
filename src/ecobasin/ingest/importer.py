"""Import files into the store: read, validate, write, keep the bad records aside, count.

This is the shell around the pure readers (``cnemc``, ``csvmap``) and ``validate``: one bad row
never aborts a batch, a bad file is reported and skipped, and re-importing the same files
changes nothing (the store upserts; rejected records are keyed by source, record and reason).
"""

from __future__ import annotations

import copy
import ctypes
import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecobasin import catalog
from ecobasin.catalog import geo
from ecobasin.ingest import cnemc, csvmap
from ecobasin.ingest.sourcefile import read_source
from ecobasin.ingest.validate import TimeWindow, Validated, as_float, validate_observations
from ecobasin.limits import plausible_window
from ecobasin.store import (
    Store,
    WriteCounts,
    aqi_pending,
    keyed_table,
    observation_table,
    with_batch,
)
from ecobasin.store.database import interrupted
from ecobasin.timebase import day_of_hour_ending

__all__ = ["ImportReport", "import_cnemc", "import_csv", "import_sites"]

Reader = Callable[[Path], tuple[pd.DataFrame, dict[str, Any]]]
#: Rows queued before one write and commit (each commit syncs the write-ahead log).
WRITE_EVERY = 1_000_000
#: From this many files on, files are read and validated in worker processes.
PARALLEL_FROM = 8
Progress = Callable[[Path], None]
#: Called with the source names of each group of batches once it is committed.
Committed = Callable[[list[str]], None]


@dataclass
class ImportReport:
    """Counts of one import: what was read, stored, replaced, rejected (by reason), missing."""

    files: int = 0
    records: int = 0
    stored: WriteCounts = field(default_factory=WriteCounts)
    missing: int = 0
    derived: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    sites_added: int = 0
    meteorology: WriteCounts = field(default_factory=WriteCounts)
    meteorology_records: int = 0
    meteorology_missing: int = 0
    meteorology_rejected: Counter[str] = field(default_factory=Counter)
    failed_files: list[tuple[str, str]] = field(default_factory=list)
    #: (site_id, local day) pairs that received values: what derived products must recompute.
    touched: set[tuple[str, date]] = field(default_factory=set)

    def touched_frame(self) -> pd.DataFrame:
        """``touched`` as a frame of site_id and day (local CST calendar day), sorted."""
        frame = pd.DataFrame(sorted(self.touched), columns=["site_id", "day"])
        return frame

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "inserted": self.stored.inserted,
            "replaced": self.stored.replaced,
            "unchanged": self.stored.unchanged,
            "missing": self.missing,
            "derived_not_stored": self.derived,
            "rejected": dict(self.rejected),
            "sites_added": self.sites_added,
            "meteorology": {
                **self.meteorology.as_dict(),
                "records": self.meteorology_records,
                "missing": self.meteorology_missing,
                "rejected": dict(self.meteorology_rejected),
            },
            "failed_files": [f"{name}: {reason}" for name, reason in self.failed_files],
        }


def _keep_aside(store: Store, validated: Validated, source: str, batch: int) -> None:
    if len(validated.rejected):
        records = validated.rejected.assign(source=source)
        store.reject(records, batch_id=batch)


@dataclass
class _Prepared:
    """A source read and validated, ready to be written by the one process that writes."""

    meta: dict[str, Any]
    validated: Validated  # its ``good`` frame is emptied: the rows travel as ``table``
    records: int
    touched: set[tuple[str, date]]
    table: pa.Table  # the good rows, ready to write (batch id set by the writer)


def _site_days(good: pd.DataFrame) -> set[tuple[str, date]]:
    """The (site, local day) pairs of stored rows; hour-ending labels: 24:00 closes the day."""
    if good.empty:
        return set()
    # distinct times first: a file has ~100k values but only a few hundred distinct hours
    stamps, time_codes = np.unique(pd.DatetimeIndex(good["time"]).asi8, return_inverse=True)
    site_codes, sites = pd.factorize(good["site_id"])
    local_days = day_of_hour_ending(pd.Series(pd.to_datetime(stamps, unit="us", utc=True)))
    day_of_time, days = pd.factorize(local_days.dt.date)
    pairs = np.unique(site_codes.astype(np.int64) * len(days) + day_of_time[time_codes])
    site_names, day_list = [str(s) for s in sites], list(days)
    return {(site_names[p // len(day_list)], day_list[p % len(day_list)]) for p in pairs}


def _described_sites(meta: dict[str, Any]) -> set[str]:
    """Site ids a source describes itself (live CNEMC rows, a mapping's [sites])."""
    sites = meta.get("sites")
    if sites is None:
        sites = meta.get("new_sites")
    return set() if sites is None or sites.empty else set(sites["site_id"])


@dataclass
class _Context:
    """What validation needs to know of the store, copied once into each worker."""

    known: set[str]
    registry: pd.DataFrame
    site_keys: dict[str, int]
    parameter_keys: dict[str, int]
    time_window: TimeWindow | None = None
    #: The writing process: a worker exits when it is no longer its parent.
    parent_pid: int = 0


def _with_line_rejects(validated: Validated, meta: dict[str, Any]) -> None:
    """Add the lines a reader kept aside (truncated, wrong cell count ...) to the rejects."""
    lines = pd.DataFrame(meta.get("line_rejects") or [])
    if lines.empty:
        return
    validated.rejected = pd.concat([lines, validated.rejected], ignore_index=True)
    for code, n in lines["reason_code"].value_counts().items():
        validated.counts[str(code)] = validated.counts.get(str(code), 0) + int(n)


def _prepare(frame: pd.DataFrame, meta: dict[str, Any], context: _Context) -> _Prepared:
    validated = validate_observations(
        frame,
        context.known | _described_sites(meta),
        context.registry,
        keys_unique=meta.get("keys_unique", False),
        time_window=context.time_window,
    )
    _with_line_rejects(validated, meta)
    validated.missing += int(meta.get("missing", 0))
    touched, table = _site_days(validated.good), observation_table(validated.good)
    # keyed here when every site is known already; else by the writer, once it registered them
    with suppress(ValueError):
        table = keyed_table(table, context.site_keys, context.parameter_keys)
    validated.good = validated.good.iloc[:0]
    records = len(frame) + int(meta.get("missing", 0)) + len(meta.get("line_rejects") or [])
    return _Prepared(meta, validated, records, touched, table)


# Worker state for parallel imports: set once per worker process by _init_worker.
_WORKER: dict[str, _Context] = {}
#: Linux prctl option: the signal a process gets when its parent dies (prctl(2)).
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker die when the importing process dies, even by ``kill -9``.

    Linux delivers SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG); the parent may
    have died before this call, so its pid is checked afterwards. Elsewhere the pool's own
    pipe closing ends idle workers.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def _init_worker(context: _Context) -> None:
    if context.parent_pid and context.parent_pid != os.getpid():
        _die_with_parent(context.parent_pid)
    _WORKER["context"] = context


def _read_and_prepare(read: Reader, path: Path) -> _Prepared | tuple[Path, str]:
    """Runs in a worker: read and validate one file (or say why it could not be read)."""
    try:
        frame, meta = read(path)
        return _prepare(frame, meta, _WORKER["context"])
    except (ValueError, OSError, KeyError, pd.errors.ParserError) as error:
        return path, f"{type(error).__name__}: {error}"
    except Exception as error:  # a reader's bug must cost this file only, never the import
        return path, f"unexpected error while reading ({type(error).__name__}: {error})"


@dataclass
class _FileWork:
    """One file (or frame) queued for writing: its own batch, rejects, sites and rows."""

    prepared: _Prepared
    batch: dict[str, Any]


class _Session:
    """One import run in the writing process: each source is its own batch (rejects, sites,
    batch record, rows); batches are committed in groups for speed (DuckDB appends ~1M rows
    much faster per row than 60k), and a group that fails is written again source by source,
    so one source's failure never takes another's rows with it.

    Each commit also records the stored (site, day) pairs as "AQI pending" in the same
    transaction; the AQI refresh consumes them, so a killed import's AQI is computed by the
    next run.
    """

    def __init__(
        self,
        store: Store,
        kind: str,
        time_window: TimeWindow | None = None,
        committed: Committed | None = None,
    ) -> None:
        self.store, self.kind = store, kind
        self.report = ImportReport()
        site_keys, parameter_keys = store.key_maps()
        self.context = _Context(
            set(site_keys),
            catalog.parameters(),
            site_keys,
            parameter_keys,
            time_window if time_window is not None else default_time_window(),
            os.getpid(),
        )
        self.queued: list[_FileWork] = []
        self.pending_rows = 0
        self.batch_ids: list[int] = []
        self.committed = committed

    def _batch_id(self) -> int:
        if not self.batch_ids:
            self.batch_ids = self.store.new_batch_ids(64)
        return self.batch_ids.pop(0)

    def add(self, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Validate and queue one source read in this process."""
        self.commit(_prepare(frame, meta, self.context))

    def commit(self, prepared: _Prepared) -> None:
        """Queue a validated source as its own batch; write when enough rows are queued."""
        counts = {"records": prepared.records, **prepared.validated.counts}
        if prepared.meta.get("encoding"):
            counts["encoding"] = prepared.meta["encoding"]
        batch = {
            "batch_id": self._batch_id(),
            "kind": self.kind,
            "source": prepared.meta["source"],
            "started_at": datetime.now(UTC),
            "finished_at": datetime.now(UTC),
            "counts": counts,
        }
        self.queued.append(_FileWork(prepared, batch))
        # later files may name the sites this one registers (written before their rows)
        self.context.known |= _described_sites(prepared.meta)
        self.pending_rows += len(prepared.table)
        if self.pending_rows >= WRITE_EVERY:
            self.flush()

    def _apply(self, work: _FileWork) -> tuple[pa.Table, WriteCounts]:
        """Keep one source's rejects, register its sites, weather; its rows keyed, to write."""
        store, report, prepared = self.store, self.report, work.prepared
        meta, validated, batch = prepared.meta, prepared.validated, work.batch["batch_id"]
        self.context.known |= _register_sites(store, meta, report)
        _keep_aside(store, validated, meta["source"], batch)
        weather = WriteCounts()
        if meta.get("meteorology") is not None:
            weather = _import_meteorology(store, meta, self.context.registry, batch, report)
        table = prepared.table
        if "site_key" not in table.column_names:  # sites this source registered just now
            table = keyed_table(table, *store.key_maps())
        return with_batch(table, batch), weather

    def _count(self, work: _FileWork) -> None:
        report, prepared = self.report, work.prepared
        report.files += 1
        report.records += prepared.records
        report.missing += prepared.validated.missing
        report.derived += int(prepared.meta.get("derived", 0))
        report.rejected.update(prepared.validated.counts)
        report.touched |= prepared.touched

    def _write(self, works: list[_FileWork]) -> None:
        """Write sources in one transaction, with their AQI-pending marks (all or nothing)."""
        snapshot = copy.deepcopy(self.report)
        try:
            with self.store.transaction():
                tables, weather = [], WriteCounts()
                for work in works:
                    table, counts = self._apply(work)
                    tables.append(table)
                    weather += counts
                self.store.record_batches([work.batch for work in works])
                if any(len(t) for t in tables):
                    # one dictionary per column and one chunk: DuckDB scans that ~2x faster
                    good = _concat(tables)
                    good = good.unify_dictionaries().combine_chunks()
                    stored = self.store.write_observations(good)
                else:
                    stored = WriteCounts()
                touched = set().union(*(work.prepared.touched for work in works))
                aqi_pending.mark_aqi_pending(self.store, touched)
        except BaseException:
            self.report = snapshot
            raise
        self.report.stored += stored
        self.report.meteorology += weather
        for work in works:
            self._count(work)
        if self.committed:
            self.committed([work.batch["source"] for work in works])

    def fail(self, path: Path, reason: str) -> None:
        """Record a file that could not be read (or written) at all."""
        self.report.failed_files.append((path.name, reason))
        failure = {"source": path.name, "record_ref": "file", "reason_code": "unreadable_file"}
        with self.store.transaction():
            batch = self.store.begin_batch(self.kind, str(path))
            self.store.reject(
                pd.DataFrame([{**failure, "reason": reason, "raw": str(path)}]), batch
            )
            self.store.finish_batch(batch, {"failed": reason})
        self.report.rejected["unreadable_file"] += 1

    def flush(self) -> None:
        """Write the queued sources; if the group fails, each source again on its own."""
        works, self.queued, self.pending_rows = self.queued, [], 0
        if not works:
            return
        try:
            self._write(works)
        except Exception as error:
            if interrupted(error):  # a Ctrl+C during the write: stop, do not fail the files
                raise KeyboardInterrupt from error
            if len(works) == 1:
                self._fail_work(works[0])
                return
            for work in works:
                try:
                    self._write([work])
                except Exception as again:
                    if interrupted(again):
                        raise KeyboardInterrupt from again
                    self._fail_work(work)

    def _fail_work(self, work: _FileWork) -> None:
        error = sys.exc_info()[1]
        self.fail(
            Path(work.batch["source"]),
            f"could not be stored ({type(error).__name__}: {error}); nothing of it was written",
        )


def _concat(tables: list[pa.Table]) -> pa.Table:
    """One table of many; text columns made plain strings when readers' types differ (a
    dictionary from one reader, a large string from another)."""
    if all(t.schema == tables[0].schema for t in tables):
        return pa.concat_tables(tables)
    return pa.concat_tables([_plain(t) for t in tables], promote_options="permissive")


def _plain(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        columns.append(pc.cast(column, pa.string()) if is_text else column)
    return pa.table(columns, names=table.column_names)


def default_time_window(now: datetime | None = None) -> TimeWindow:
    """The plausibility window of observation times from the configuration."""
    return plausible_window(now)


def _prepared_in_workers(
    paths: list[Path], read: Reader, context: _Context, workers: int, session: _Session
) -> Iterator[_Prepared | tuple[Path, str]]:
    """Read and validate files in worker processes, yielding results in file order.

    DuckDB allows one writer, so only reading and validating are spread out; the caller
    writes, and whenever the next file is not ready yet it commits what it has (the writer
    would wait anyway). Workers are spawned (not forked) because the parent holds DuckDB's
    threads, and die with the parent (``_die_with_parent``).
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, spawn, _init_worker, (context,)) as pool:
        futures = [pool.submit(_read_and_prepare, read, path) for path in paths]
        try:
            for future in futures:
                if not future.done():
                    session.flush()
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _import_files(
    store: Store,
    paths: Iterable[Path],
    read: Reader,
    kind: str,
    progress: Progress | None,
    workers: int | None = None,
    *,
    time_window: TimeWindow | None = None,
    committed: Committed | None = None,
) -> ImportReport:
    files = list(paths)
    session = _Session(store, kind, time_window, committed)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers > 1 and len(files) >= PARALLEL_FROM:
        results: Iterable[_Prepared | tuple[Path, str]] = _prepared_in_workers(
            files, read, session.context, workers, session
        )
    else:
        _init_worker(session.context)
        results = (_read_and_prepare(read, path) for path in files)
    for path, result in zip(files, results, strict=True):
        if isinstance(result, _Prepared):
            session.commit(result)
        else:
            session.fail(path, result[1])
        if progress:
            progress(path)
    session.flush()
    return session.report


def import_frames(
    store: Store,
    frames: Iterable[tuple[pd.DataFrame, dict[str, Any]]],
    kind: str,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    time_window: TimeWindow | None = None,
) -> ImportReport:
    """Import candidate frames made in memory (the demo generator, a simulator) or read
    already (an upload whose sites were checked first: ``services.editing``).

    Each item is ``(frame, meta)`` as a reader returns it; it goes through the same validation
    as a file, so a generated bad value is rejected like a real one; values outside
    ``time_window`` (default: :func:`default_time_window`) are kept aside.
    """
    session = _Session(store, kind, time_window)
    for frame, meta in frames:
        session.add(frame, meta)
        if progress:
            progress(meta)
    session.flush()
    return session.report


def _register_sites(store: Store, meta: dict[str, Any], report: ImportReport) -> set[str]:
    """Register the sites a file describes (live CNEMC rows, a mapping's [sites]) when new."""
    sites = meta.get("sites")
    if sites is None:
        sites = meta.get("new_sites")
    for line, station, reason, *coded in meta.get("site_errors", []):
        code = coded[0] if coded else "unknown_city"  # or implausible_location
        store.reject(
            pd.DataFrame(
                [
                    {
                        "source": meta["source"],
                        "record_ref": f"line {line}",
                        "reason_code": code,
                        "reason": f"station {station}: {reason}",
                        "raw": station,
                    }
                ]
            )
        )
        report.rejected[code] += 1
    if sites is None or sites.empty:
        return set()
    existing = set(store.sites(site_ids=list(sites["site_id"]))["site_id"])
    new = sites[~sites["site_id"].isin(existing)]
    if len(new):
        store.upsert_sites(new, source=meta["source"])
        report.sites_added += len(new)
    return set(sites["site_id"])


#: Decimals of a mean wind direction [°] (:func:`_mean_per_key`).
DIRECTION_DECIMALS = 9


def _mean_per_key(good: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean value per key; wind direction as the circular mean (the mean of 350° and 10° is 0°)."""
    direction = good["parameter"] == "wind_direction"
    means = good[~direction].groupby(keys, observed=True)["value"].mean().reset_index()
    if direction.any():
        radians = np.deg2rad(good.loc[direction, "value"])
        parts = good.loc[direction, keys].assign(sin=np.sin(radians), cos=np.cos(radians))
        vector = parts.groupby(keys, observed=True)[["sin", "cos"]].mean().reset_index()
        angle = np.rad2deg(np.arctan2(vector["sin"], vector["cos"]))
        # sin, cos and atan2 do not round-trip: 225° alone comes back as 224.99999999999997
        # (which ulp depends on numpy's SIMD kernels); sources give directions to 1° or a
        # 16-point compass, so the last 1e-9° is noise and is rounded away
        vector["value"] = np.round(angle, DIRECTION_DECIMALS) % 360.0
        means = pd.concat([means, vector[[*keys, "value"]]], ignore_index=True)
    return means


def _import_meteorology(
    store: Store,
    meta: dict[str, Any],
    registry: pd.DataFrame,
    batch: int,
    report: ImportReport,
) -> WriteCounts:
    """Validate meteorology like observations, then average per city and hour."""
    candidates: pd.DataFrame = meta["meteorology"]
    fixed_city = meta.get("meteorology_city")
    if fixed_city is not None:
        candidates = candidates.assign(site_id=candidates["site_id"].fillna(f"city {fixed_city}"))
    # Validate per source site (a duplicate is the same site and hour twice), then average the
    # sites of a city: the meteorology table is keyed by city and hour.
    # the distinct sites first: iterating every row of an Arrow column costs seconds
    sites = set(candidates["site_id"].unique())
    validated = validate_observations(
        candidates, sites, registry, time_window=default_time_window()
    )
    _keep_aside(store, validated, meta["source"] + " (meteorology)", batch)
    # weather is counted apart, so each half of the report adds up on its own
    report.meteorology_records += len(candidates)
    report.meteorology_rejected.update(validated.counts)
    report.meteorology_missing += validated.missing
    good = validated.good
    if fixed_city is not None:
        good["site_id"] = str(fixed_city)
    else:
        site_city = store.sites(site_ids=list(set(good["site_id"].unique())))
        good["site_id"] = (
            good["site_id"].map(site_city.set_index("site_id")["city_code"]).astype(str)
        )
    if good.empty:
        return WriteCounts()
    means = _mean_per_key(good, ["site_id", "parameter", "period", "time"])
    means = means.rename(columns={"site_id": "city_code"})
    means["city_code"] = means["city_code"].astype(int)
    return store.write_meteorology(means, source=meta["source"])


def import_cnemc(
    store: Store,
    paths: Iterable[Path],
    progress: Progress | None = None,
    *,
    time_window: TimeWindow | None = None,
    committed: Committed | None = None,
) -> ImportReport:
    """Import CNEMC archive (``china_sites_YYYYMMDD.csv``) and live-feed files."""
    return _import_files(
        store,
        paths,
        cnemc.read_cnemc,
        "cnemc",
        progress,
        time_window=time_window,
        committed=committed,
    )


def import_csv(
    store: Store,
    paths: Iterable[Path],
    mapping: csvmap.Mapping | None = None,
    *,
    tz: str = "CST",
    hour_beginning: bool = False,
    progress: Progress | None = None,
    time_window: TimeWindow | None = None,
    committed: Committed | None = None,
) -> ImportReport:
    """Import tidy CSV files, or any layout through a mapping."""
    options: dict[str, Any] = {"time_window": time_window, "committed": committed}
    if mapping is not None:
        read: Reader = partial(csvmap.read_mapped_csv, mapping=mapping)
        return _import_files(store, paths, read, "csv-mapped", progress, **options)
    read = partial(csvmap.read_tidy_csv, tz=tz, hour_beginning=hour_beginning)
    return _import_files(store, paths, read, "csv", progress, **options)


SITE_ALIASES = {
    "site_id": ("site_id", "site", "station_code", "stationcode", "code"),
    "city": ("city_code", "city", "city_zh", "city_en", "area"),
    "name_zh": ("name_zh", "positionname", "name_zh_2022", "name"),
    "name_en": ("name_en",),
    "lon": ("lon", "longitude", "lon_2022", "lon_match1"),
    "lat": ("lat", "latitude", "lat_2022", "lat_match1"),
    "kind": ("kind",),
    "level": ("level",),
}


def _first_present(table: pd.DataFrame, names: tuple[str, ...]) -> pd.Series | None:
    """The first non-empty value across the alias columns, row by row."""
    present = [table[n].replace("", None) for n in names if n in table]
    if not present:
        return None
    result = present[0]
    for column in present[1:]:
        result = result.fillna(column)
    return result


def import_sites(store: Store, path: Path, *, kind: str = "air_station") -> ImportReport:
    """Register sites from a station list CSV (site id, city, names, coordinates).

    Column names are matched by alias (``station_code``, ``city_zh``, ``lon_2022`` ...); rows
    with an unknown city or no site id are rejected with the reason.
    """
    source_lines = read_source(path)
    table = source_lines.table([c.strip().lower() for c in source_lines.header])
    columns = {key: _first_present(table, names) for key, names in SITE_ALIASES.items()}
    if columns["site_id"] is None or columns["city"] is None:
        raise csvmap.MappingError(
            f"{path.name}: a site list needs a site id column ({SITE_ALIASES['site_id']}) and a "
            f"city column ({SITE_ALIASES['city']})"
        )
    report = ImportReport(files=1, records=len(table) + len(source_lines.rejected))
    rows: list[dict[str, Any]] = []
    rejects = [{"source": path.name, **line} for line in source_lines.rejected]
    for i in range(len(table)):
        get = {k: (None if v is None else v.iloc[i]) for k, v in columns.items()}
        try:
            city = catalog.city_code(str(get["city"]))
        except KeyError:
            rejects.append(
                {
                    "source": path.name,
                    "record_ref": f"line {source_lines.line_numbers[i]}",
                    "reason_code": "unknown_city",
                    "reason": f"site {get['site_id']}: unknown city {get['city']!r}",
                    "raw": ",".join(table.iloc[i].astype(str)),
                }
            )
            continue
        lon, lat = as_float(get["lon"]), as_float(get["lat"])
        misplaced = geo.location_problem(city, lon, lat)
        if misplaced is not None:  # a station outside its city is kept aside, never stored
            rejects.append(
                {
                    "source": path.name,
                    "record_ref": f"line {i + 2}",
                    "reason_code": "implausible_location",
                    "reason": f"site {get['site_id']}: {misplaced}",
                    "raw": ",".join(table.iloc[i].astype(str)),
                }
            )
            continue
        rows.append(
            {
                "site_id": str(get["site_id"]).strip(),
                "kind": get["kind"] or kind,
                "level": get["level"] or "national",
                "city_code": city,
                "name_zh": get["name_zh"],
                "name_en": get["name_en"],
                "lon": lon,
                "lat": lat,
            }
        )
    if rows:
        counts = store.upsert_sites(pd.DataFrame(rows), source=path.name)
        report.stored = counts
        report.sites_added = counts.inserted
    if rejects:
        store.reject(pd.DataFrame(rejects))
        report.rejected.update(record["reason_code"] for record in rejects)
    return report
