"""Import files into the store: read, validate, write, keep the bad records aside, count.

This is the shell around the pure readers (``cnemc``, ``csvmap``) and ``validate``: one bad row
never aborts a batch, a bad file is reported and skipped, and re-importing the same files
changes nothing (the store upserts; rejected records are keyed by source, record and reason).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.ingest import cnemc, csvmap
from ecobasin.ingest.validate import Validated, as_float, validate_observations
from ecobasin.store import Store, WriteCounts

__all__ = ["ImportReport", "import_cnemc", "import_csv", "import_sites"]

Reader = Callable[[Path], tuple[pd.DataFrame, dict[str, Any]]]
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
    failed_files: list[tuple[str, str]] = field(default_factory=list)

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
            "meteorology": self.meteorology.as_dict(),
            "failed_files": [f"{name}: {reason}" for name, reason in self.failed_files],
        }


def _keep_aside(store: Store, validated: Validated, source: str, batch: str) -> None:
    if len(validated.rejected):
        records = validated.rejected.assign(source=source)
        store.reject(records, batch_id=batch)


def _import_files(
    store: Store,
    paths: Iterable[Path],
    read: Reader,
    kind: str,
    progress: Progress | None,
) -> ImportReport:
    report = ImportReport()
    registry = catalog.parameters()
    known = set(store.sites()["site_id"])
    for path in paths:
        batch = store.begin_batch(kind, str(path))
        try:
            frame, meta = read(path)
        except (ValueError, OSError, KeyError, pd.errors.ParserError) as error:
            reason = f"{type(error).__name__}: {error}"
            report.failed_files.append((path.name, reason))
            store.reject(
                pd.DataFrame(
                    [
                        {
                            "source": path.name,
                            "record_ref": "file",
                            "reason_code": "unreadable_file",
                            "reason": reason,
                            "raw": str(path),
                        }
                    ]
                ),
                batch_id=batch,
            )
            report.rejected["unreadable_file"] += 1
            store.finish_batch(batch, {"failed": reason})
            if progress:
                progress(path)
            continue
        known |= _register_sites(store, meta, report)
        counts = _ingest(store, frame, meta, known, registry, batch, report)
        store.finish_batch(batch, counts)
        if progress:
            progress(path)
    return report


def _ingest(
    store: Store,
    frame: pd.DataFrame,
    meta: dict[str, Any],
    known: set[str],
    registry: pd.DataFrame,
    batch: str,
    report: ImportReport,
) -> dict[str, int]:
    """Validate one frame of candidates and write it, all in one transaction."""
    validated = validate_observations(frame, known, registry)
    with store.transaction():
        report.stored += store.write_observations(validated.good, source=meta["source"])
        _keep_aside(store, validated, meta["source"], batch)
        if meta.get("meteorology") is not None:
            report.meteorology += _import_meteorology(store, meta, registry, batch, report)
    report.files += 1
    report.records += len(frame)
    report.missing += validated.missing
    report.derived += int(meta.get("derived", 0))
    report.rejected.update(validated.counts)
    return {"records": len(frame), **validated.counts}


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
    report = ImportReport()
    registry = catalog.parameters()
    known = set(store.sites()["site_id"])
    for frame, meta in frames:
        batch = store.begin_batch(kind, meta["source"])
        known |= _register_sites(store, meta, report)
        store.finish_batch(batch, _ingest(store, frame, meta, known, registry, batch, report))
        if progress:
            progress(meta)
    return report


def _register_sites(store: Store, meta: dict[str, Any], report: ImportReport) -> set[str]:
    """Register the sites a file describes (live CNEMC rows, a mapping's [sites]) when new."""
    sites = meta.get("sites")
    if sites is None:
        sites = meta.get("new_sites")
    for line, station, reason in meta.get("site_errors", []):
        store.reject(
            pd.DataFrame(
                [
                    {
                        "source": meta["source"],
                        "record_ref": f"line {line}",
                        "reason_code": "unknown_city",
                        "reason": f"station {station}: {reason}",
                        "raw": station,
                    }
                ]
            )
        )
        report.rejected["unknown_city"] += 1
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
    batch: str,
    report: ImportReport,
) -> WriteCounts:
    """Validate meteorology like observations, then average per city and hour."""
    candidates: pd.DataFrame = meta["meteorology"]
    fixed_city = meta.get("meteorology_city")
    if fixed_city is not None:
        candidates = candidates.assign(site_id=candidates["site_id"].fillna(f"city {fixed_city}"))
    # Validate per source site (a duplicate is the same site and hour twice), then average the
    # sites of a city: the meteorology table is keyed by city and hour.
    validated = validate_observations(candidates, set(candidates["site_id"]), registry)
    _keep_aside(store, validated, meta["source"] + " (meteorology)", batch)
    report.rejected.update(validated.counts)
    report.missing += validated.missing
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
        known_mapping = mapping

        def read(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
            return csvmap.read_mapped_csv(path, known_mapping)

        return _import_files(store, paths, read, "csv-mapped", progress)

    def read_tidy(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
        return csvmap.read_tidy_csv(path, tz=tz, hour_beginning=hour_beginning)

    return _import_files(store, paths, read_tidy, "csv", progress)


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
        rows.append(
            {
                "site_id": str(get["site_id"]).strip(),
                "kind": get["kind"] or kind,
                "level": get["level"] or "national",
                "city_code": city,
                "name_zh": get["name_zh"],
                "name_en": get["name_en"],
                "lon": as_float(get["lon"]),
                "lat": as_float(get["lat"]),
            }
        )
    if rows:
        counts = store.upsert_sites(pd.DataFrame(rows), source=path.name)
        report.stored = counts
        report.sites_added = counts.inserted
    if rejects:
        store.reject(pd.DataFrame(rejects))
        report.rejected["unknown_city"] += len(rejects)
    return report
