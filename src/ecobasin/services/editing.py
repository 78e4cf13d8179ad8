"""What a city editor does to the store, for the editing pages and the API alike (issue 15):
upload a data file of their city, retire a site, read the audit log of a city.

Rights are the caller's to check (``web.security.policy``): :func:`read_upload` gives the
cities an upload would write *before* anything is stored, so a file naming another city's site
is refused whole. Bad lines are kept aside in the store's ``rejected`` table under the upload's
own source name, so its report lists exactly its own rejected lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ecobasin.ingest import csvmap, importer
from ecobasin.ingest.validate import TimeWindow
from ecobasin.store import Cursor, Store, queries
from ecobasin.store import users as store_users
from ecobasin.store.edits import site_cities

__all__ = [
    "TIDY",
    "UploadRead",
    "UploadResult",
    "city_audit",
    "import_upload",
    "read_upload",
    "rejected_of",
    "retire_site",
    "upload_layouts",
    "upload_source",
]

#: The layout name of the tidy CSV (``site, parameter, time, value[, flag, unit]``).
TIDY = "tidy"
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


def upload_layouts() -> list[str]:
    """Layouts an upload may name: the tidy one and the bundled mappings (never a path on the
    server: a browser must not make the server read its files)."""
    return [TIDY, *sorted(csvmap.bundled_mappings())]


def upload_source(user: str, file_name: str, now: datetime) -> str:
    """The source name of one upload, unique per user and second: ``upload:cd 20250101T101500
    data.csv`` (the rejected lines and the batch are kept under it)."""
    safe = _UNSAFE_NAME.sub("_", Path(file_name).name)[:80] or "upload.csv"
    return f"upload:{user} {now:%Y%m%dT%H%M%S} {safe}"


@dataclass(frozen=True)
class UploadRead:
    """An upload read but not stored yet: its candidate rows and the cities it would write."""

    frame: pd.DataFrame
    meta: dict[str, Any]
    #: site id -> city code [GB/T 2260] of every known or declared site the file names
    cities: dict[str, int]


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: the import report and its rejected lines (oldest first)."""

    source: str
    report: dict[str, Any]
    rejected: pd.DataFrame
    aqi_site_days: int


def read_upload(
    cursor: Cursor, path: Path, layout: str, source: str, city: int | None = None
) -> UploadRead:
    """Read an uploaded file in ``layout`` (``tidy`` or a bundled mapping's name); ``city``
    [GB/T 2260] is the city of a layout that reads it from a file name naming none (the
    five-cities layout's ``hourly.csv``); a name that names a city keeps it.

    Raises
    ------
    csvmap.MappingError
        When the layout is unknown or the file lacks a column it needs (the message names it).
    """
    if layout == TIDY:
        frame, meta = csvmap.read_tidy_csv(path)
    elif layout in csvmap.bundled_mappings():
        mapping = csvmap.load_mapping(layout)
        mapping.default_city = city
        frame, meta = csvmap.read_mapped_csv(path, mapping)
    else:
        raise csvmap.MappingError(
            f"unknown layout {layout!r}; an upload may use {', '.join(upload_layouts())}"
        )
    meta["source"] = source
    named = sorted(set(frame["site_id"].dropna().astype(str)))
    cities = {site: city for site, (city, _kind) in site_cities(cursor, named).items()}
    declared = meta.get("new_sites")
    if declared is not None and not declared.empty:
        cities.update(
            zip(declared["site_id"].astype(str), declared["city_code"].astype(int), strict=True)
        )
    if meta.get("meteorology_city") is not None:
        cities[f"meteorology of {meta['meteorology_city']}"] = int(meta["meteorology_city"])
    return UploadRead(frame, meta, cities)


def import_upload(
    store: Store,
    read: UploadRead,
    window: TimeWindow | None,
    refresh_aqi: Callable[[Store], dict[str, Any]],
) -> UploadResult:
    """Store an upload whose rights were checked: the importers' validation (bad lines kept
    aside with their reason), then ``refresh_aqi`` (the caller passes the jobs layer's
    :func:`~ecobasin.jobs.air_quality.refresh_pending_air_quality`: services do not run jobs)
    computes the AQI (HJ 633) of the station-days it touched."""
    report = importer.import_frames(store, [(read.frame, read.meta)], "upload", time_window=window)
    aqi = refresh_aqi(store)
    source = str(read.meta["source"])
    return UploadResult(
        source=source,
        report=report.as_dict(),
        rejected=rejected_of(store.con, source),
        aqi_site_days=int(aqi.get("site_days", 0)),
    )


def rejected_of(cursor: Cursor, source: str) -> pd.DataFrame:
    """The lines of one source kept aside: record_ref, reason_code, reason, raw."""
    frame = queries.rejected(cursor, source=source)
    return frame[["record_ref", "reason_code", "reason", "raw"]].reset_index(drop=True)


def retire_site(store: Store, site_id: str, on: date, reason: str, source: str) -> dict[str, Any]:
    """Mark a site retired from ``on`` (its data and history stay; attributes ``retired_on``
    and ``retired_reason``). Returns the site's row as stored before."""
    current = queries.sites(store.con, site_ids=[site_id])
    if current.empty:
        raise KeyError(site_id)
    row = {str(k): v for k, v in current.iloc[0].to_dict().items()}
    attributes = dict(json.loads(row["attributes"])) if isinstance(row["attributes"], str) else {}
    attributes.update(retired_on=on.isoformat(), retired_reason=reason)
    kept = ("site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat")
    store.upsert_sites(
        pd.DataFrame([{**{k: row[k] for k in kept}, "attributes": attributes}]), source
    )
    return row


def city_audit(
    cursor: Cursor, city_code: int | None, limit: int = 100
) -> list[store_users.AuditEntry]:
    """The latest audited writes of one city (None: every city), newest first."""
    return store_users.audit_entries(cursor, limit, city_code=city_code)
