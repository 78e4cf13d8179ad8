"""The writes of the write API (``/api/v1/observations``, ``/sites``) and of the editing pages
(``/edit``), one code path for both: the checks of each write, the store's writes, the AQI
re-evaluation of the hours touched (HJ 633) and the audit log.

Rights are the caller's (``web.security.policy``): an :class:`Actor` carries the caller's
checks, which raise the caller's own refusal; each write calls them before it writes anything.
A bad field raises :class:`FieldError` naming it, an unknown site :class:`~ecobasin.errors.NotFound`,
an existing one :class:`~ecobasin.errors.Conflict`, a kind change across the public/restricted
line is the caller's refusal too; the web maps each to the same problem details
(``web.problems.service_problems``).
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ecobasin import catalog
from ecobasin.catalog import geo
from ecobasin.errors import Conflict, InputError, NotFound
from ecobasin.ingest import csvmap
from ecobasin.ingest.validate import TimeWindow, as_float, validate_observations
from ecobasin.services import editing
from ecobasin.store import Cursor, Store, queries
from ecobasin.store import users as store_users
from ecobasin.store.air import INVALID_FLAGS
from ecobasin.store.edits import invalidate_observations, site_cities
from ecobasin.timebase import day_of_hour_ending, parse_instant

__all__ = [
    "INVALID_FLAGS",
    "Actor",
    "AqiJobs",
    "FieldError",
    "ObservationRow",
    "ObservationsWritten",
    "create_site",
    "invalidate",
    "parameter_ids",
    "retire_site",
    "site_cities",
    "site_frame",
    "update_site",
    "upload",
    "write_observations",
]


class FieldError(InputError):
    """A field of a write that cannot be accepted: ``field`` names it; ``unknown`` when it names
    something the platform does not know (a city, a parameter) rather than a malformed value."""

    def __init__(self, field: str, reason: str, *, unknown: bool = False) -> None:
        super().__init__(reason)
        self.field = field
        self.unknown = unknown


@dataclass(frozen=True)
class Actor:
    """Who writes, as the service needs it: names for the audit log and the caller's checks."""

    name: str | None
    via: str | None
    #: raises the caller's refusal when the actor may not write ``what`` of the city [GB/T 2260]
    may_write: Callable[[int, str], None]
    #: the same for every site of a request at once (site id -> city), naming the first refused
    may_write_sites: Callable[[Mapping[str, int]], None]
    #: raises the caller's refusal when the actor may not change a site's kind (site, from, to)
    may_change_kind: Callable[[str, str, str], None]

    def audit(
        self, con: Cursor, action: str, target: str, city: int | None, detail: dict[str, Any]
    ) -> None:
        """Record the write (who, how, what, when) in the audit log."""
        store_users.audit(con, self.name or "-", self.via or "-", action, target, city, detail)


class ObservationRow(Protocol):
    """One value to store, as a request names it (read-only attributes)."""

    @property
    def site_id(self) -> str: ...
    @property
    def parameter(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def time(self) -> str: ...
    @property
    def value(self) -> float | str | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def flag(self) -> str | None: ...


@dataclass(frozen=True)
class AqiJobs:
    """The jobs layer's AQI refreshes (HJ 633), passed in by the caller (services do not run
    jobs): ``touched`` recomputes the station-days given, ``pending`` those marked at import."""

    touched: Callable[[Store, pd.DataFrame], dict[str, Any]]
    pending: Callable[[Store], dict[str, Any]]


@dataclass(frozen=True)
class ObservationsWritten:
    """What a write of observations did."""

    batch_id: int
    counts: dict[str, int]
    missing: int
    rejected: pd.DataFrame
    aqi: dict[str, Any] | None


def parameter_ids(con: Cursor) -> list[str]:
    """The registry's parameter ids (HJ 212 names such as PM2.5)."""
    return queries.parameter_ids(con)


def site_frame(store: Store, site_id: str) -> pd.DataFrame:
    """The site's stored row (empty when there is none)."""
    return queries.sites(store.con, site_ids=[site_id])


def _instant(text: str) -> datetime | None:
    """The UTC instant of a row's time; None (rejected as bad_time) when unreadable."""
    try:
        return parse_instant(text)
    except (ValueError, TypeError):
        return None


def _candidates(rows: Sequence[ObservationRow]) -> pd.DataFrame:
    """The rows as the validator's candidate frame (line = place in ``rows``, from 1)."""
    values, raws = [], []
    for row in rows:
        if row.value is None or isinstance(row.value, float | int):
            value = math.nan if row.value is None else float(row.value)
            raws.append("" if row.value is None else None)
        else:
            value = as_float(row.value)
            raws.append(row.value if math.isnan(value) else None)
        values.append(value)
    return pd.DataFrame(
        {
            "site_id": [row.site_id for row in rows],
            "parameter": [row.parameter for row in rows],
            "period": [row.period for row in rows],
            "time": pd.DatetimeIndex([_instant(row.time) for row in rows]).astype(
                "datetime64[us, UTC]"
            ),
            "value": pd.Series(values, dtype=float),
            "raw_value": pd.Series(raws, dtype=object),
            "unit": [row.unit for row in rows],
            "flag": [row.flag for row in rows],
            "line": range(1, len(rows) + 1),
            "field": [f"{row.site_id}/{row.parameter}" for row in rows],
        }
    )


def _refresh_aqi(
    store: Store, jobs: AqiJobs, site_ids: pd.Series, times: pd.Series
) -> dict[str, Any] | None:
    """Recompute the AQI (HJ 633) of the air-station days these hourly values belong to."""
    if site_ids.empty:
        return None
    touched = pd.DataFrame(
        {"site_id": site_ids.to_numpy(), "day": day_of_hour_ending(times).dt.date.to_numpy()}
    ).drop_duplicates()
    result = jobs.touched(store, touched)
    return {k: result[k] for k in ("site_days", "city_days", "hourly_rows", "daily_rows")}


def write_observations(
    store: Store,
    actor: Actor,
    rows: Sequence[ObservationRow],
    window: TimeWindow,
    source: str | None,
    jobs: AqiJobs,
) -> ObservationsWritten:
    """Validate and store ``rows`` like an imported file; bad rows are kept aside with their
    reasons. A request naming any site the actor may not write is refused whole."""
    cities = site_cities(store.con, sorted({row.site_id for row in rows}))
    actor.may_write_sites({site: city for site, (city, _kind) in cities.items()})
    validated = validate_observations(
        _candidates(rows), set(cities), catalog.parameters(), time_window=window
    )
    label = f"api:{actor.name}" + (f" {source}" if source else "")
    batch_id = store.begin_batch("api", label)
    counts = store.write_observations(validated.good, batch_id)
    store.reject(validated.rejected.assign(source=f"{label} batch {batch_id}"), batch_id)
    summary = {
        **counts.as_dict(),
        "missing": validated.missing,
        "rejected": validated.counts,
        "received": len(rows),
    }
    store.finish_batch(batch_id, summary)
    hourly = validated.good[validated.good["period"] == "1h"]
    aqi = _refresh_aqi(store, jobs, hourly["site_id"], hourly["time"])
    written = sorted(set(validated.good["site_id"]))
    city_set = {cities[s][0] for s in written}
    city = city_set.pop() if len(city_set) == 1 else None
    actor.audit(
        store.con, "observations.write", f"batch {batch_id}", city, {**summary, "sites": written}
    )
    return ObservationsWritten(
        batch_id, counts.as_dict(), validated.missing, validated.rejected, aqi
    )


def _time_bounds(start: str, end: str) -> tuple[datetime, datetime]:
    bounds = []
    for name, text in (("start", start), ("end", end)):
        try:
            bounds.append(parse_instant(text))
        except ValueError:
            raise FieldError(name, f"{text!r} is not an ISO 8601 time") from None
    if bounds[0] > bounds[1]:
        raise FieldError("start", "start is after end")
    return bounds[0], bounds[1]


def invalidate(
    store: Store,
    actor: Actor,
    site_id: str,
    parameters: Sequence[str],
    period: str,
    start_text: str,
    end_text: str,
    flag: str,
    reason: str,
    jobs: AqiJobs,
) -> dict[str, Any]:
    """Mark stored values of one site invalid with an HJ 212 flag (HJ 212-2017 Appendix B)
    over an inclusive time range, the reason in the audit log; re-evaluate the AQI of hours."""
    cities = site_cities(store.con, [site_id])
    if site_id not in cities:
        raise NotFound(f"no site {site_id!r}; GET /api/v1/sites lists them")
    city = cities[site_id][0]
    actor.may_write(city, f"site {site_id}")
    if flag not in INVALID_FLAGS:
        raise FieldError(
            "flag", f"{flag!r} does not mark a value invalid; use one of {', '.join(INVALID_FLAGS)}"
        )
    known = {p.lower(): p for p in queries.parameter_ids(store.con)}
    unknown = [p for p in parameters if p.lower() not in known]
    if unknown:
        raise FieldError(
            "parameters", f"unknown parameter {', '.join(map(repr, unknown))}", unknown=True
        )
    start, end = _time_bounds(start_text, end_text)
    chosen = [known[p.lower()] for p in parameters]
    result = invalidate_observations(store.con, site_id, chosen, period, start, end, flag)
    aqi = None
    if result["updated"] and period == "1h":
        hours = pd.Series(pd.date_range(start, end, freq="h"))
        aqi = _refresh_aqi(store, jobs, pd.Series([site_id] * len(hours)), hours)
    detail = {
        "parameters": chosen,
        "period": period,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "flag": flag,
        "reason": reason,
        **result,
    }
    actor.audit(store.con, "observations.invalidate", site_id, city, detail)
    return {**result, "aqi": aqi}


def _known_city(city_code: int, field: str) -> int:
    try:
        return catalog.city_code(city_code)
    except KeyError:
        message = f"unknown city {city_code}; GET /api/v1/cities?all=true lists them"
        raise FieldError(field, message, unknown=True) from None


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _check_location(city: int, lon: float | None, lat: float | None) -> None:
    """Coordinates [°, WGS-84] that cannot be in ``city`` (its boundary widened by
    :data:`~ecobasin.catalog.geo.DEFAULT_MARGIN_KM`) are a bad ``lon``."""
    problem = geo.location_problem(city, _number(lon), _number(lat))
    if problem is not None:
        raise FieldError("lon", problem)


def create_site(store: Store, actor: Actor, fields: dict[str, Any]) -> pd.DataFrame:
    """Register a site (``fields``: the columns of ``sites``); its stored row."""
    site_id = fields["site_id"]
    city = _known_city(fields["city_code"], "city_code")
    actor.may_write(city, f"site {site_id}")
    _check_location(city, fields.get("lon"), fields.get("lat"))
    if site_cities(store.con, [site_id]):
        raise Conflict(f"site {site_id!r} exists already; PATCH it instead")
    store.upsert_sites(pd.DataFrame([fields]), f"api:{actor.name}")
    actor.audit(store.con, "sites.create", site_id, city, fields)
    return site_frame(store, site_id)


def update_site(store: Store, actor: Actor, site_id: str, changes: dict[str, Any]) -> pd.DataFrame:
    """Change a site's metadata (``changes``: only the columns given); its stored row."""
    current = site_frame(store, site_id)
    if current.empty:
        raise NotFound(f"no site {site_id!r}; GET /api/v1/sites lists them")
    row = current.iloc[0].to_dict()
    actor.may_write(int(row["city_code"]), f"site {site_id}")
    for required in ("kind", "level", "city_code"):
        if required in changes and changes[required] is None:
            raise FieldError(required, f"{required} cannot be null")
    if "city_code" in changes:
        changes["city_code"] = _known_city(changes["city_code"], "city_code")
        actor.may_write(changes["city_code"], f"site {site_id}")
    if "kind" in changes:
        actor.may_change_kind(site_id, str(row["kind"]), changes["kind"])
    merged = {
        k: row[k]
        for k in ("site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat")
    }
    merged["attributes"] = json.loads(row["attributes"]) if row["attributes"] else None
    merged.update(changes)
    if {"city_code", "lon", "lat"} & set(changes):
        _check_location(int(merged["city_code"]), merged["lon"], merged["lat"])
    store.upsert_sites(pd.DataFrame([merged]), f"api:{actor.name}")
    audited = {**changes, **({"kind_before": row["kind"]} if "kind" in changes else {})}
    actor.audit(store.con, "sites.update", site_id, int(merged["city_code"]), audited)
    return site_frame(store, site_id)


def retire_site(store: Store, actor: Actor, site_id: str, reason: str, on: date) -> pd.DataFrame:
    """Retire one site from the day ``on`` [CST] (its data and history stay); its stored row."""
    cities = site_cities(store.con, [site_id])
    if site_id not in cities:
        raise NotFound(f"no site {site_id!r}; GET /api/v1/sites lists them")
    city = cities[site_id][0]
    actor.may_write(city, f"site {site_id}")
    editing.retire_site(store, site_id, on, reason, f"api:{actor.name}")
    detail: dict[str, Any] = {"retired_on": on.isoformat(), "reason": reason}
    actor.audit(store.con, "sites.retire", site_id, city, detail)
    return site_frame(store, site_id)


def _safe_file_name(file_name: str) -> str:
    """The uploaded file's base name reduced to letters, digits, ``._-`` (at most 120
    characters): never a path, never hidden; ``upload.csv`` when nothing is left."""
    base = re.sub(r"[^\w.\-]", "_", Path(file_name.replace("\\", "/")).name, flags=re.ASCII)
    base = base.lstrip(".")[:120]
    return base or "upload.csv"


def upload(
    store: Store,
    actor: Actor,
    file_name: str,
    content: bytes,
    layout: str,
    window: TimeWindow,
    now: datetime,
    jobs: AqiJobs,
    city: int | None = None,
) -> editing.UploadResult:
    """Read, check and store one uploaded file in ``layout``; a file naming a site of a city
    the actor may not write is refused whole before anything is stored. ``city`` [GB/T 2260]
    is the city of a layout that reads it from a file name naming none."""
    source = editing.upload_source(actor.name or "?", file_name, now)
    with tempfile.TemporaryDirectory(prefix="ecobasin-upload-") as folder:  # 0700
        # the file keeps its own name: a layout may read the city from it (GuangzhouPM….csv)
        path = Path(folder) / _safe_file_name(file_name)
        path.write_bytes(content)
        try:
            read = editing.read_upload(store.con, path, layout, source, city)
        except (csvmap.MappingError, UnicodeError, ValueError) as error:
            text = str(error)
            named = text if text.startswith(path.name) else f"{file_name}: {text}"
            raise FieldError("file", named) from None
    actor.may_write_sites(read.cities)
    result = editing.import_upload(store, read, window, jobs.pending)
    report = result.report
    cities = set(read.cities.values())
    actor.audit(
        store.con,
        "observations.upload",
        source,
        cities.pop() if len(cities) == 1 else None,
        {k: report[k] for k in ("records", "inserted", "replaced", "missing", "rejected")},
    )
    return result
