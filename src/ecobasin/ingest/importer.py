"""Import files into the store: read, validate, write, keep the bad records aside, count.

This is the shell around the pure readers (``cnemc``, ``csvmap``) and ``validate``: one bad row
never aborts a batch, a bad file is reported and skipped, and re-importing the same files
changes nothing (the store upserts; rejected records are keyed by source, record and reason).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ecobasin import catalog
from ecobasin.catalog import geo
from ecobasin.ingest import cnemc, csvmap
from ecobasin.ingest.validate import Validated, as_float, validate_observations
from ecobasin.limits import plausible_window
from ecobasin.store import Store, WriteCounts, keyed_table, observation_table, with_batch
from ecobasin.timebase import day_of_hour_ending

__all__ = ["ImportReport", "import_cnemc", "import_csv", "import_sites"]

Reader = Callable[[Path], tuple[pd.DataFrame, dict[str, Any]]]
#: Rows queued before one write and commit (each commit syncs the write-ahead log).
WRITE_EVERY = 1_000_000
#: From this many files on, files are read and validated in worker processes.
PARALLEL_FROM = 8
Progress = Callable[[Path], None]


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


def _prepare(frame: pd.DataFrame, meta: dict[str, Any], context: _Context) -> _Prepared:
    validated = validate_observations(
        frame,
        context.known | _described_sites(meta),
        context.registry,
        keys_unique=meta.get("keys_unique", False),
        window=plausible_window(),  # issue 13: kept aside as implausible_time
    )
    validated.missing += int(meta.get("missing", 0))
    touched, table = _site_days(validated.good), observation_table(validated.good)
    # keyed here when every site is known already; else by the writer, once it registered them
    with suppress(ValueError):
        table = keyed_table(table, context.site_keys, context.parameter_keys)
    validated.good = validated.good.iloc[:0]
    return _Prepared(meta, validated, len(frame) + int(meta.get("missing", 0)), touched, table)


# Worker state for parallel imports: set once per worker process by _init_worker.
_WORKER: dict[str, _Context] = {}


def _init_worker(context: _Context) -> None:
    _WORKER["context"] = context


def _read_and_prepare(read: Reader, path: Path) -> _Prepared | tuple[Path, str]:
    """Runs in a worker: read and validate one file (or say why it could not be read)."""
    try:
        frame, meta = read(path)
    except (ValueError, OSError, KeyError, pd.errors.ParserError) as error:
        return path, f"{type(error).__name__}: {error}"
    return _prepare(frame, meta, _WORKER["context"])


class _Session:
    """One import run in the writing process: records batches and rejects, registers sites,
    and writes the good rows in large groups (DuckDB appends ~1M rows much faster per row
    than 60k), one transaction per group."""

    def __init__(self, store: Store, kind: str) -> None:
        self.store, self.kind = store, kind
        self.report = ImportReport()
        site_keys, parameter_keys = store.key_maps()
        self.context = _Context(set(site_keys), catalog.parameters(), site_keys, parameter_keys)
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.batches: list[dict[str, Any]] = []
        self.batch_ids: list[int] = []
        self.transaction: AbstractContextManager[None] | None = None

    def _batch_id(self) -> int:
        if not self.batch_ids:
            self.batch_ids = self.store.new_batch_ids(64)
        return self.batch_ids.pop(0)

    def add(self, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Validate and queue one source read in this process."""
        self.commit(_prepare(frame, meta, self.context))

    def commit(self, prepared: _Prepared) -> None:
        """Keep a validated source's rejects, register its sites, queue its good rows."""
        store, report, meta, validated = self.store, self.report, prepared.meta, prepared.validated
        if self.transaction is None:
            self.transaction = store.transaction()
            self.transaction.__enter__()
        batch, started = self._batch_id(), datetime.now(UTC)
        self.context.known |= _register_sites(store, meta, report)
        _keep_aside(store, validated, meta["source"], batch)
        if meta.get("meteorology") is not None:
            report.meteorology += _import_meteorology(
                store, meta, self.context.registry, batch, report
            )
        report.files += 1
        report.records += prepared.records
        report.missing += validated.missing
        report.derived += int(meta.get("derived", 0))
        report.rejected.update(validated.counts)
        counts = {"records": prepared.records, **validated.counts}
        self.batches.append(
            {
                "batch_id": batch,
                "kind": self.kind,
                "source": meta["source"],
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "counts": counts,
            }
        )
        table = prepared.table
        if "site_key" not in table.column_names:  # sites this source registered just now
            table = keyed_table(table, *store.key_maps())
        self.pending.append(with_batch(table, batch))
        report.touched |= prepared.touched
        self.pending_rows += len(prepared.table)
        if self.pending_rows >= WRITE_EVERY:
            self.flush()

    def fail(self, path: Path, reason: str) -> None:
        """Record a file that could not be read at all."""
        self.report.failed_files.append((path.name, reason))
        failure = {"source": path.name, "record_ref": "file", "reason_code": "unreadable_file"}
        batch = self.store.begin_batch(self.kind, str(path))
        self.store.reject(pd.DataFrame([{**failure, "reason": reason, "raw": str(path)}]), batch)
        self.store.finish_batch(batch, {"failed": reason})
        self.report.rejected["unreadable_file"] += 1

    def abort(self, error: BaseException) -> None:
        """Roll back everything since the last flush (an unexpected error, not a bad record)."""
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            transaction.__exit__(type(error), error, error.__traceback__)
        self.pending, self.pending_rows, self.batches = [], 0, []

    def flush(self) -> None:
        """Write the queued rows and commit everything since the last flush."""
        if self.transaction is None:
            return
        transaction, self.transaction = self.transaction, None
        try:
            self.store.record_batches(self.batches)
            if self.pending:
                # one dictionary per column and one chunk: DuckDB scans that ~2x faster
                good = pa.concat_tables(self.pending, promote_options="permissive")
                good = good.unify_dictionaries().combine_chunks()
                self.report.stored += self.store.write_observations(good)
        except BaseException as error:
            transaction.__exit__(type(error), error, error.__traceback__)
            raise
        transaction.__exit__(None, None, None)
        self.pending, self.pending_rows, self.batches = [], 0, []


def _prepared_in_workers(
    paths: list[Path], read: Reader, context: _Context, workers: int
) -> Iterator[_Prepared | tuple[Path, str]]:
    """Read and validate files in worker processes, yielding results in file order.

    DuckDB allows one writer, so only reading and validating are spread out; the caller
    writes. Workers are spawned (not forked) because the parent holds DuckDB's threads.
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, spawn, _init_worker, (context,)) as pool:
        yield from pool.map(partial(_read_and_prepare, read), paths, chunksize=2)


def _import_files(
    store: Store,
    paths: Iterable[Path],
    read: Reader,
    kind: str,
    progress: Progress | None,
    workers: int | None = None,
) -> ImportReport:
    files = list(paths)
    session = _Session(store, kind)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers > 1 and len(files) >= PARALLEL_FROM:
        results: Iterable[_Prepared | tuple[Path, str]] = _prepared_in_workers(
            files, read, session.context, workers
        )
    else:
        _init_worker(session.context)
        results = (_read_and_prepare(read, path) for path in files)
    try:
        for path, result in zip(files, results, strict=True):
            if isinstance(result, _Prepared):
                session.commit(result)
            else:
                session.fail(path, result[1])
            if progress:
                progress(path)
    except BaseException as error:
        session.abort(error)
        raise
    session.flush()
    return session.report


def import_frames(
    store: Store,
    frames: Iterable[tuple[pd.DataFrame, dict[str, Any]]],
    kind: str,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> ImportReport:
    """Import candidate frames made in memory (the demo generator, a simulator).

    Each item is ``(frame, meta)`` as a reader returns it; it goes through the same validation
    as a file, so a generated bad value is rejected like a real one.
    """
    session = _Session(store, kind)
    try:
        for frame, meta in frames:
            session.add(frame, meta)
            if progress:
                progress(meta)
    except BaseException as error:
        session.abort(error)
        raise
    session.flush()
    return session.report


def _register_sites(store: Store, meta: dict[str, Any], report: ImportReport) -> set[str]:
    """Register the sites a file describes (live CNEMC rows, a mapping's [sites]) when new."""
    sites = meta.get("sites")
    if sites is None:
        sites = meta.get("new_sites")
    for line, station, reason, *coded in meta.get("site_errors", []):
        code = coded[0] if coded else "unknown_city"  # or implausible_location (issue 13)
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


def _mean_per_key(good: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean value per key; wind direction as the circular mean (the mean of 350° and 10° is 0°)."""
    direction = good["parameter"] == "wind_direction"
    means = good[~direction].groupby(keys, observed=True)["value"].mean().reset_index()
    if direction.any():
        radians = np.deg2rad(good.loc[direction, "value"])
        parts = good.loc[direction, keys].assign(sin=np.sin(radians), cos=np.cos(radians))
        vector = parts.groupby(keys, observed=True)[["sin", "cos"]].mean().reset_index()
        vector["value"] = np.rad2deg(np.arctan2(vector["sin"], vector["cos"])) % 360.0
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
    validated = validate_observations(
        candidates, set(candidates["site_id"]), registry, window=plausible_window()
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
        site_city = store.sites(site_ids=list(set(good["site_id"])))
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
    store: Store, paths: Iterable[Path], progress: Progress | None = None
) -> ImportReport:
    """Import CNEMC archive (``china_sites_YYYYMMDD.csv``) and live-feed files."""
    return _import_files(store, paths, cnemc.read_cnemc, "cnemc", progress)


def import_csv(
    store: Store,
    paths: Iterable[Path],
    mapping: csvmap.Mapping | None = None,
    *,
    tz: str = "CST",
    hour_beginning: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import tidy CSV files, or any layout through a mapping."""
    if mapping is not None:
        read: Reader = partial(csvmap.read_mapped_csv, mapping=mapping)
        return _import_files(store, paths, read, "csv-mapped", progress)
    read = partial(csvmap.read_tidy_csv, tz=tz, hour_beginning=hour_beginning)
    return _import_files(store, paths, read, "csv", progress)


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
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table.columns = [c.strip().lower() for c in table.columns]
    columns = {key: _first_present(table, names) for key, names in SITE_ALIASES.items()}
    if columns["site_id"] is None or columns["city"] is None:
        raise csvmap.MappingError(
            f"{path.name}: a site list needs a site id column ({SITE_ALIASES['site_id']}) and a "
            f"city column ({SITE_ALIASES['city']})"
        )
    report = ImportReport(files=1, records=len(table))
    rows, rejects = [], []
    for i in range(len(table)):
        get = {k: (None if v is None else v.iloc[i]) for k, v in columns.items()}
        try:
            city = catalog.city_code(str(get["city"]))
        except KeyError:
            rejects.append(
                {
                    "source": path.name,
                    "record_ref": f"line {i + 2}",
                    "reason_code": "unknown_city",
                    "reason": f"site {get['site_id']}: unknown city {get['city']!r}",
                    "raw": ",".join(table.iloc[i].astype(str)),
                }
            )
            continue
        lon, lat = as_float(get["lon"]), as_float(get["lat"])
        misplaced = geo.location_problem(city, lon, lat)
        if misplaced is not None:  # issue 13: a station outside its city is kept aside
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
        for reject in rejects:
            report.rejected[reject["reason_code"]] += 1
    return report
