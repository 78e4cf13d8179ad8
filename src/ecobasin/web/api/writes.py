"""Write API: observations, sites and invalidations, each checked against the writer's rights.

An editor writes only the sites of their city (``editor of 510100 may not write site 2286A of
510600`` is the 403 otherwise), an admin every city; viewers get 403, the public 401. Written
observations go through the importers' validation (``ecobasin.ingest.validate``); rows that
fail are answered with their reasons and kept in the store's ``rejected`` table. Air-station
hours that change are re-evaluated at once (AQI, HJ 633), and every write is in the audit log.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from ecobasin import catalog
from ecobasin.catalog import geo
from ecobasin.ingest.validate import as_float, validate_observations
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.store import Store, queries
from ecobasin.store.air import INVALID_FLAGS
from ecobasin.store.edits import invalidate_observations, site_cities
from ecobasin.timebase import day_of_hour_ending, parse_instant
from ecobasin.web.convert import site_models
from ecobasin.web.deps import StoreDep
from ecobasin.web.models import Site
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import FORBIDDEN, Writer, authorize
from ecobasin.web.security.policy import RESTRICTED_KINDS, Principal

router = APIRouter(tags=["writes"], responses=problem_responses(401, 403, 422))

Period = Literal["1h", "1d", "10min", "1min", "instant"]
Kind = Literal["air_station", "micro_station", "water_section", "gas_outlet", "water_outlet"]
Level = Literal["national", "provincial", "city", "enterprise", "other"]
MAX_ROWS = 100_000


def writer_store(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request's writes."""
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


WriterStore = Annotated[Store, Depends(writer_store)]


# -- models --------------------------------------------------------------------------------
class ObservationIn(BaseModel):
    """One value to store."""

    site_id: str = Field(max_length=64, examples=["1431A"])
    parameter: str = Field(max_length=32, examples=["PM2.5"])
    period: Period = "1h"
    time: str = Field(
        max_length=40,
        description="ISO 8601 end of the averaging period; without an offset China Standard "
        "Time (2024-01-01T10:00 is the hour ending 10:00 CST; 24:00 closes a day).",
        examples=["2024-01-01T10:00"],
    )
    value: float | str | None = Field(
        description="The value in `unit` (null or empty: missing; text that is not a number "
        "is rejected).",
        examples=[35],
    )
    unit: str | None = Field(
        default=None, max_length=20, description="Unit of `value`; null: the registry's unit."
    )
    flag: str | None = Field(default=None, max_length=4, description="HJ 212 data flag (N, M …).")


class ObservationBatch(BaseModel):
    rows: list[ObservationIn] = Field(min_length=1, max_length=MAX_ROWS)
    source: str | None = Field(
        default=None,
        max_length=200,
        description="Where the values come from (kept with the batch).",
    )


class RejectedRow(BaseModel):
    record_ref: str = Field(
        description="'line <n> <site>/<parameter>': n is the row's place (1 …)."
    )
    reason_code: str
    reason: str


class ObservationWriteResult(BaseModel):
    batch_id: int
    received: int
    inserted: int
    replaced: int
    unchanged: int
    missing: int = Field(description="Rows without a value (not stored, not rejected).")
    rejected: list[RejectedRow] = Field(description="Rows not stored, with reasons (kept).")
    aqi: dict[str, Any] | None = Field(description="AQI re-evaluation of the hours touched.")


class SiteIn(BaseModel):
    site_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", examples=["CD-M02"])
    kind: Kind
    level: Level = "city"
    city_code: int = Field(examples=[510100])
    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS-84 [°E]")
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS-84 [°N]")
    attributes: dict[str, Any] | None = None


class SitePatch(BaseModel):
    kind: Kind | None = None
    level: Level | None = None
    city_code: int | None = None
    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    attributes: dict[str, Any] | None = None


class Invalidation(BaseModel):
    site_id: str = Field(max_length=64, examples=["1431A"])
    parameters: list[str] = Field(min_length=1, max_length=50, examples=[["PM2.5"]])
    period: Period = "1h"
    start: str = Field(max_length=40, description="ISO 8601, inclusive; no offset: CST.")
    end: str = Field(max_length=40, description="ISO 8601, inclusive; no offset: CST.")
    flag: str = Field(
        default="D",
        description=f"HJ 212 flag marking the values invalid: one of {', '.join(INVALID_FLAGS)} "
        "(M maintenance, D fault, C calibration …).",
    )
    reason: str = Field(min_length=3, max_length=500, description="Why (kept in the audit log).")


class InvalidationResult(BaseModel):
    site_id: str
    flag: str
    matched: int = Field(description="Stored values in the range.")
    updated: int = Field(description="Values whose flag changed.")
    previous_flags: dict[str, int] = Field(description="Flags before ('null': none) → count.")
    aqi: dict[str, Any] | None


# -- helpers -------------------------------------------------------------------------------
def _check_sites(principal: Principal, cities: dict[str, tuple[int, str]]) -> None:
    """403 naming every site the principal may not write (nothing is written then)."""
    refused = []
    for site, (city, _kind) in sorted(cities.items()):
        try:
            authorize(principal, "write", city, f"site {site}")
        except ProblemError as error:
            refused.append(error)
    if refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more sites)" if len(refused) > 1 else ""
        raise ProblemError(first.status, first.detail + more, type=first.type, title=first.title)


def _instant(text: str) -> datetime | None:
    """The UTC instant of a row's time; None (rejected as bad_time) when unreadable."""
    try:
        return parse_instant(text)
    except (ValueError, TypeError):
        return None


def _candidates(rows: Sequence[ObservationIn]) -> pd.DataFrame:
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
    frame = pd.DataFrame(
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
    return frame


def _refresh_aqi(store: Store, site_ids: pd.Series, times: pd.Series) -> dict[str, Any] | None:
    """Recompute the AQI of the air-station days these hourly values belong to."""
    if site_ids.empty:
        return None
    touched = pd.DataFrame(
        {"site_id": site_ids.to_numpy(), "day": day_of_hour_ending(times).dt.date.to_numpy()}
    ).drop_duplicates()
    result = refresh_air_quality(store, touched)
    return {k: result[k] for k in ("site_days", "city_days", "hourly_rows", "daily_rows")}


def _site(store: Store, site_id: str) -> Site | None:
    found = site_models(queries.sites(store.con, site_ids=[site_id]), "zh")
    return found[0] if found else None


def _known_city(city_code: int, parameter: str) -> int:
    try:
        return catalog.city_code(city_code)
    except KeyError:
        raise ProblemError.unknown(
            parameter, f"unknown city {city_code}; GET /api/v1/cities?all=true lists them"
        ) from None


def _check_location(city: int, lon: float | None, lat: float | None) -> None:
    """422 naming ``lon`` when the coordinates cannot be in ``city`` (its boundary widened
    by :data:`~ecobasin.catalog.geo.DEFAULT_MARGIN_KM`)."""
    problem = geo.location_problem(city, _number(lon), _number(lat))
    if problem is not None:
        raise ProblemError.invalid("lon", problem)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _check_kind_change(principal: Principal, site_id: str, before: str, after: str) -> None:
    """403 when a non-admin moves a site across the public/restricted line (an outlet made
    an air station would publish an enterprise's data; the reverse would hide a station)."""
    crosses = (before in RESTRICTED_KINDS) != (after in RESTRICTED_KINDS)
    if crosses and principal.role != "admin":
        raise ProblemError(
            403,
            f"{principal.describe()} may not change site {site_id} from {before} to {after}: that moves it across "
            "the public/restricted line; an admin may 只有管理员可以在公开与受限类型之间更改站点类型",
            type=FORBIDDEN,
            title="Not allowed 无权限",
        )


# -- endpoints -----------------------------------------------------------------------------
@router.post("/observations", response_model=ObservationWriteResult)
def write_observations(
    request: Request, body: ObservationBatch, principal: Writer, store: WriterStore
) -> ObservationWriteResult:
    """Store observations (editors: their city's sites only; admins: any).

    Each row is validated like an imported file (unknown site or parameter, unit that does
    not convert, not a number, negative or implausible value, a time outside the plausibility
    window (`implausible_time`: by default before 2000-01-01 or more than a day ahead of the
    clock), the same key twice): bad rows are
    answered in `rejected` with their reasons and kept in the store's rejected records; good
    rows are upserted (the later value wins). A request naming any site of another city is
    refused whole (403) and writes nothing.
    """
    rows = body.rows
    cities = site_cities(store.con, sorted({row.site_id for row in rows}))
    _check_sites(principal, cities)
    window = request.app.state.limits.window()  # the plausibility window: no 2099 or 1900 values
    validated = validate_observations(
        _candidates(rows), set(cities), catalog.parameters(), time_window=window
    )
    label = f"api:{principal.name}" + (f" {body.source}" if body.source else "")
    batch_id = store.begin_batch("api", label)
    counts = store.write_observations(validated.good, batch_id)
    rejected = validated.rejected.assign(source=f"{label} batch {batch_id}")
    store.reject(rejected, batch_id)
    summary = {
        **counts.as_dict(),
        "missing": validated.missing,
        "rejected": validated.counts,
        "received": len(rows),
    }
    store.finish_batch(batch_id, summary)
    hourly = validated.good[validated.good["period"] == "1h"]
    aqi = _refresh_aqi(store, hourly["site_id"], hourly["time"])
    written = sorted(set(validated.good["site_id"]))
    city_set = {cities[s][0] for s in written}
    accounts.audit(
        store.con,
        principal,
        "observations.write",
        f"batch {batch_id}",
        city_set.pop() if len(city_set) == 1 else None,
        {**summary, "sites": written},
    )
    return ObservationWriteResult(
        batch_id=batch_id,
        received=len(rows),
        missing=validated.missing,
        rejected=[
            RejectedRow(record_ref=str(ref), reason_code=str(code), reason=str(reason))
            for ref, code, reason in validated.rejected[
                ["record_ref", "reason_code", "reason"]
            ].itertuples(index=False)
        ],
        aqi=aqi,
        **counts.as_dict(),
    )


@router.post(
    "/observations/invalidate",
    response_model=InvalidationResult,
    responses=problem_responses(404),
)
def invalidate(body: Invalidation, principal: Writer, store: WriterStore) -> InvalidationResult:
    """Mark stored values of one site invalid (an HJ 212 flag such as M maintenance or D
    fault) over an inclusive time range, with a reason kept in the audit log. Values are kept;
    the AQI leaves them out and is re-evaluated."""
    cities = site_cities(store.con, [body.site_id])
    if body.site_id not in cities:
        raise ProblemError(404, f"no site {body.site_id!r}; GET /api/v1/sites lists them")
    city = cities[body.site_id][0]
    authorize(principal, "write", city, f"site {body.site_id}")
    if body.flag not in INVALID_FLAGS:
        raise ProblemError.invalid(
            "flag",
            f"{body.flag!r} does not mark a value invalid; use one of {', '.join(INVALID_FLAGS)}",
        )
    known = {p.lower(): p for p in queries.parameter_ids(store.con)}
    unknown = [p for p in body.parameters if p.lower() not in known]
    if unknown:
        raise ProblemError.unknown(
            "parameters", f"unknown parameter {', '.join(map(repr, unknown))}"
        )
    bounds = []
    for name in ("start", "end"):
        try:
            bounds.append(parse_instant(getattr(body, name)))
        except ValueError:
            raise ProblemError.invalid(
                name, f"{getattr(body, name)!r} is not an ISO 8601 time"
            ) from None
    start, end = bounds
    if start > end:
        raise ProblemError.invalid("start", "start is after end")
    parameters = [known[p.lower()] for p in body.parameters]
    result = invalidate_observations(
        store.con, body.site_id, parameters, body.period, start, end, body.flag
    )
    aqi = None
    if result["updated"] and body.period == "1h":
        hours = pd.Series(pd.date_range(start, end, freq="h"))
        aqi = _refresh_aqi(store, pd.Series([body.site_id] * len(hours)), hours)
    accounts.audit(
        store.con,
        principal,
        "observations.invalidate",
        body.site_id,
        city,
        {
            "parameters": parameters,
            "period": body.period,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "flag": body.flag,
            "reason": body.reason,
            **result,
        },
    )
    return InvalidationResult(site_id=body.site_id, flag=body.flag, aqi=aqi, **result)


@router.post("/sites", response_model=Site, status_code=201, responses=problem_responses(409))
def create_site(body: SiteIn, principal: Writer, store: WriterStore) -> Site:
    """Register a site (editors: in their city only)."""
    city = _known_city(body.city_code, "city_code")
    authorize(principal, "write", city, f"site {body.site_id}")
    _check_location(city, body.lon, body.lat)
    if site_cities(store.con, [body.site_id]):
        raise ProblemError(409, f"site {body.site_id!r} exists already; PATCH it instead")
    store.upsert_sites(pd.DataFrame([body.model_dump()]), f"api:{principal.name}")
    accounts.audit(store.con, principal, "sites.create", body.site_id, city, body.model_dump())
    site = _site(store, body.site_id)
    assert site is not None
    return site


@router.patch("/sites/{site_id}", response_model=Site, responses=problem_responses(404))
def update_site(
    site_id: Annotated[str, Path(max_length=64)],
    body: SitePatch,
    principal: Writer,
    store: WriterStore,
) -> Site:
    """Change a site's metadata (editors: a site of their city, staying in their city)."""
    current = queries.sites(store.con, site_ids=[site_id])
    if current.empty:
        raise ProblemError(404, f"no site {site_id!r}; GET /api/v1/sites lists them")
    row = current.iloc[0].to_dict()
    authorize(principal, "write", int(row["city_code"]), f"site {site_id}")
    changes = body.model_dump(exclude_unset=True)
    for required in ("kind", "level", "city_code"):
        if required in changes and changes[required] is None:
            raise ProblemError.invalid(required, f"{required} cannot be null")
    if "city_code" in changes:
        changes["city_code"] = _known_city(changes["city_code"], "city_code")
        authorize(principal, "write", changes["city_code"], f"site {site_id}")
    if "kind" in changes:
        _check_kind_change(principal, site_id, str(row["kind"]), changes["kind"])
    merged = {
        k: row[k]
        for k in ("site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat")
    }
    merged["attributes"] = json.loads(row["attributes"]) if row["attributes"] else None
    merged.update(changes)
    if {"city_code", "lon", "lat"} & set(changes):
        _check_location(int(merged["city_code"]), merged["lon"], merged["lat"])
    store.upsert_sites(pd.DataFrame([merged]), f"api:{principal.name}")
    audited = {**changes, **({"kind_before": row["kind"]} if "kind" in changes else {})}
    accounts.audit(store.con, principal, "sites.update", site_id, int(merged["city_code"]), audited)
    site = _site(store, site_id)
    assert site is not None
    return site
