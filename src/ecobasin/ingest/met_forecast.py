"""Meteorological forecasts per city and valid day, from a tidy CSV or a CF-style NetCDF file.

Both layouts are documented in ``docs/formats.md`` ("Meteorological forecasts"). Parsing is
pure apart from reading the file: it returns the rows to store (``city_code``, ``issued_at``
(UTC), ``day`` (valid CST day), ``variable``, ``value``, ``unit``, values in the registry's
unit) and the records kept aside with their reason (``source``, ``record_ref``,
``reason_code``, ``reason``, ``raw``) for :meth:`ecobasin.store.Store.reject`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.errors import UnitError

__all__ = [
    "CSV_COLUMNS",
    "VARIABLES",
    "MetForecastFile",
    "parse_csv",
    "parse_netcdf",
    "read_met_forecast",
]

#: NetCDF short names (and the registry ids themselves) → registry parameter (domain met).
VARIABLES: dict[str, str] = {
    "t2m": "temperature",
    "rh": "humidity",
    "ws": "wind_speed",
    "wd": "wind_direction",
    "psfc": "pressure",
    "tp": "precipitation",
    "blh": "blh",
    "d2m": "dew_point",
    **{p: p for p in ("temperature", "humidity", "wind_speed", "wind_direction", "pressure")},
    **{p: p for p in ("precipitation", "dew_point")},
}
#: Required columns of the tidy CSV layout.
CSV_COLUMNS: tuple[str, ...] = ("city", "issued_at", "day", "variable", "value", "unit")
#: Unit spellings of forecast products outside the unit registry, per parameter:
#: (factor to the registry unit). Precipitation as a water depth in metres (ERA5/IFS ``tp``)
#: or as a mass per area (1 kg m-2 of water = 1 mm); relative humidity as a fraction.
EXTRA_UNITS: dict[tuple[str, str], float] = {
    ("precipitation", "m"): 1000.0,
    ("precipitation", "kgm-2"): 1.0,
    ("precipitation", "kg/m2"): 1.0,
    ("precipitation", "kg/m²"): 1.0,
    ("humidity", "1"): 100.0,
    ("humidity", "fraction"): 100.0,
}
#: Variables summed over a day when a NetCDF file gives sub-daily steps (the rest averaged).
SUMMED = frozenset({"precipitation"})
#: Largest distance from a city's label point to the nearest grid point used for it [°].
MAX_GRID_DISTANCE = 0.5


@dataclass
class MetForecastFile:
    """What one file gave: rows to store, records kept aside, values missing (NaN)."""

    rows: pd.DataFrame
    rejects: pd.DataFrame
    missing: int = 0


def to_registry_unit(values: Any, parameter: str, unit: str) -> np.ndarray:
    """Values converted to the registry unit of ``parameter``.

    Parameters
    ----------
    values : array-like
        Values in ``unit``.
    parameter : str
        Registry id (``temperature`` …).
    unit : str
        The file's unit (``K``, ``Pa``, ``m`` for precipitation …).

    Raises
    ------
    UnitError
        Unknown unit or a unit of another dimension.
    """
    target = _met_unit(parameter)
    key = str(unit).strip().replace(" ", "")
    if (parameter, key) in EXTRA_UNITS:
        return np.asarray(values, dtype=np.float64) * EXTRA_UNITS[(parameter, key)]
    try:
        return np.asarray(catalog.convert_units(values, key, target), dtype=np.float64)
    except (UnitError, KeyError) as error:
        raise UnitError(f"unit {unit!r} cannot be converted to {target}: {error}") from None


def _reject(source: str, ref: str, code: str, reason: str, raw: str) -> dict[str, str]:
    return {"source": source, "record_ref": ref, "reason_code": code, "reason": reason, "raw": raw}


def _frames(rows: list[dict[str, Any]], rejects: list[dict[str, str]]) -> tuple[Any, Any]:
    out = pd.DataFrame(rows, columns=["city_code", "issued_at", "day", "variable", "value", "unit"])
    bad = pd.DataFrame(rejects, columns=["source", "record_ref", "reason_code", "reason", "raw"])
    return out, bad


@cache
def _met_unit(parameter: str) -> str:
    """The registry unit of a met parameter; looked up once, not for every CSV record.

    Raises
    ------
    KeyError
        When ``parameter`` is not a met parameter of the registry.
    """
    return str(catalog.parameters("met").loc[parameter, "unit"])


@cache
def _met_range(parameter: str) -> tuple[float, float]:
    """The plausible range ``(low, high)`` of a met parameter [registry unit]."""
    info = catalog.parameters("met").loc[parameter]
    return float(str(info["min_value"])), float(str(info["max_value"]))


def _range_problem(parameter: str, value: float) -> str | None:
    lo, hi = _met_range(parameter)
    if value < lo or value > hi:
        return f"{parameter} {value:g} {_met_unit(parameter)} outside the plausible {lo:g} … {hi:g}"
    return None


def _issued_at(text: str) -> pd.Timestamp:
    """An ISO 8601 instant; without an offset it is China Standard Time."""
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("Asia/Shanghai")
    return stamp.tz_convert("UTC")


def _csv_row(raw: dict[str, str]) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """One CSV record → a row, or (reason code, reason)."""
    try:
        city = catalog.city_code(raw["city"])
    except KeyError:
        return None, ("unknown_city", f"unknown city {raw['city']!r} 未知城市")
    try:
        issued = _issued_at(raw["issued_at"])
    except ValueError:
        return None, ("bad_time", f"issued_at {raw['issued_at']!r} is not an ISO 8601 time")
    try:
        day = pd.Timestamp(raw["day"]).normalize()
    except ValueError:
        return None, ("bad_time", f"day {raw['day']!r} is not a date YYYY-MM-DD")
    parameter = VARIABLES.get(raw["variable"].strip())
    if parameter is None:
        return None, ("unknown_variable", f"unknown variable {raw['variable']!r} 未知气象要素")
    try:
        number = float(raw["value"])
    except ValueError:
        return None, ("not_a_number", f"value {raw['value']!r} is not a number")
    try:
        value = float(to_registry_unit([number], parameter, raw["unit"])[0])
    except UnitError as error:
        return None, ("unit_mismatch", f"{parameter}: {error}")
    problem = _range_problem(parameter, value)
    if problem:
        return None, ("impossible_value", problem)
    unit = _met_unit(parameter)
    row = {"city_code": city, "issued_at": issued, "day": day, "variable": parameter}
    return {**row, "value": value, "unit": unit}, None


def parse_csv(path: Path, source: str | None = None) -> MetForecastFile:
    """Read the tidy CSV layout (``city, issued_at, day, variable, value, unit``).

    Raises
    ------
    ValueError
        When a required column is absent (nothing is read then).
    """
    source = source or path.name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    absent = [c for c in CSV_COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(f"{source}: missing column(s) {', '.join(absent)} 缺少列")
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, str]] = []
    missing = 0
    for line, raw in enumerate(frame[list(CSV_COLUMNS)].to_dict("records"), start=2):
        if not str(raw["value"]).strip():
            missing += 1
            continue
        row, problem = _csv_row({str(k): str(v) for k, v in raw.items()})
        if problem:
            text = ",".join(str(raw[c]) for c in CSV_COLUMNS)
            rejects.append(_reject(source, f"line {line}", *problem, text))
        elif row:
            rows.append(row)
    out, bad = _frames(rows, rejects)
    return MetForecastFile(out, bad, missing)


# -- NetCDF ------------------------------------------------------------------------------------
def _open_dataset(path: Path) -> Any:
    import xarray as xr

    return xr.open_dataset(path, engine="h5netcdf")


def _city_points(ds: Any, cities: list[int], source: str) -> tuple[dict[int, dict[str, Any]], Any]:
    """Selector of each city: ``city`` coordinate (GB/T 2260 codes) or nearest lat/lon point."""
    if "city" in ds.dims:
        codes = [int(c) for c in ds["city"].values]
        unknown = [c for c in codes if c not in set(catalog.cities().index)]
        bad = [
            _reject(source, f"city {c}", "unknown_city", f"unknown city code {c} 未知城市", "")
            for c in unknown
        ]
        return {c: {"city": c} for c in codes if c not in unknown}, bad
    if "lat" not in ds.dims or "lon" not in ds.dims:
        raise ValueError(f"{source}: needs a 'city' dimension or 'lat'/'lon' dimensions")
    table = catalog.cities()
    lats, lons = np.asarray(ds["lat"].values), np.asarray(ds["lon"].values)
    picks: dict[int, dict[str, Any]] = {}
    bad = []
    for code in cities:
        lat, lon = float(str(table.loc[code, "lat"])), float(str(table.loc[code, "lon"]))
        i, j = int(np.abs(lats - lat).argmin()), int(np.abs(lons - lon).argmin())
        if max(abs(lats[i] - lat), abs(lons[j] - lon)) > MAX_GRID_DISTANCE:
            reason = f"city {code} ({lat:.2f}°N {lon:.2f}°E) lies outside the grid 不在网格内"
            bad.append(_reject(source, f"city {code}", "outside_grid", reason, ""))
            continue
        picks[code] = {"lat": lats[i], "lon": lons[j]}
    return picks, bad


def _valid_days(ds: Any) -> tuple[str, Any]:
    """The lead dimension: ``lead`` [days after the issue's CST day] or ``valid_time`` [UTC]."""
    if "lead" in ds.dims:
        return "lead", ds["lead"].values
    if "valid_time" in ds.dims:
        return "valid_time", ds["valid_time"].values
    raise ValueError("needs a 'lead' [days] or a 'valid_time' dimension")


def _lead_days(lead: pd.Series) -> pd.Series:
    """Whole days ahead: CF-decoded ``days`` (timedelta) or plain integers [days]."""
    if pd.api.types.is_timedelta64_dtype(lead):
        floored: pd.Series = lead.dt.floor("D")
        return floored
    return pd.to_timedelta(lead.astype("int64"), unit="D")


def _daily(long: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """Sub-daily steps (hour-ending UTC instants) → CST days: summed, averaged or vector mean."""
    local = pd.DatetimeIndex(long["valid_time"]).tz_localize("UTC").tz_convert("Asia/Shanghai")
    long = long.assign(day=(local.tz_localize(None) - pd.Timedelta(hours=1)).normalize())
    keys = ["city_code", "issued_at", "day"]
    if parameter in SUMMED:
        total: pd.DataFrame = long.groupby(keys, as_index=False).agg(value=("value", "sum"))
        return total
    if parameter == "wind_direction":
        rad = np.deg2rad(long["value"].to_numpy())
        g = long.assign(u=np.sin(rad), v=np.cos(rad)).groupby(keys, as_index=False)
        mean = g[["u", "v"]].mean()
        mean["value"] = np.rad2deg(np.arctan2(mean["u"], mean["v"])) % 360
        return mean[[*keys, "value"]]
    mean_all: pd.DataFrame = long.groupby(keys, as_index=False).agg(value=("value", "mean"))
    return mean_all


def parse_netcdf(path: Path, cities: list[int], source: str | None = None) -> MetForecastFile:
    """Read the CF-style layout: dims ``issue_time`` × (``lead`` | ``valid_time``) × (``city``
    | ``lat`` × ``lon``), data variables ``t2m rh ws wd psfc tp blh`` with a ``units`` attribute.

    Parameters
    ----------
    cities : list of int
        Cities whose nearest grid point is read when the file is gridded (lat/lon).

    Raises
    ------
    ValueError
        When the dimensions do not follow the layout (nothing is read then).
    """
    source = source or path.name
    with _open_dataset(path) as ds:
        if "issue_time" not in ds.dims:
            raise ValueError(f"{source}: needs an 'issue_time' dimension")
        kind, _ = _valid_days(ds)
        points, rejects = _city_points(ds, cities, source)
        rows: list[pd.DataFrame] = []
        missing = 0
        for name in sorted(map(str, ds.data_vars)):
            var = ds[name]
            if "issue_time" not in var.dims:
                continue  # a coordinate-like variable (bounds, crs)
            parameter = VARIABLES.get(name)
            ref = f"variable {name}"
            if parameter is None:
                reason = f"unknown variable {name!r} (expected {', '.join(list(VARIABLES)[:8])})"
                rejects.append(_reject(source, ref, "unknown_variable", reason, name))
                continue
            unit = str(var.attrs.get("units", "")).strip()
            try:
                if not unit:
                    raise UnitError("no 'units' attribute")
                to_registry_unit([0.0], parameter, unit)
            except UnitError as error:
                rejects.append(_reject(source, ref, "unit_mismatch", f"{name}: {error}", unit))
                continue
            for code, where in points.items():
                long = var.sel(where).to_dataframe(name=name).reset_index()
                long = long.rename(columns={name: "value"})
                missing += int(long["value"].isna().sum())
                long = long.dropna(subset=["value"])
                long["value"] = to_registry_unit(long["value"], parameter, unit)
                issued = pd.to_datetime(long["issue_time"]).dt.tz_localize("UTC")
                long = long.assign(city_code=code, issued_at=issued)
                if kind == "lead":
                    start = issued.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
                    days = start.dt.normalize() + _lead_days(long["lead"])
                    long = long.assign(day=days)[["city_code", "issued_at", "day", "value"]]
                else:
                    long = _daily(long, parameter)
                rows.append(long.assign(variable=parameter))
    out = pd.concat(rows, ignore_index=True) if rows else _frames([], [])[0]
    if not out.empty:
        out["unit"] = out["variable"].map(catalog.parameters("met")["unit"])
        out, bad = _drop_impossible(out, source)
        rejects += bad
    return MetForecastFile(out, pd.DataFrame(rejects, columns=_frames([], [])[1].columns), missing)


def _drop_impossible(rows: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    params = catalog.parameters("met")
    lo = rows["variable"].map(params["min_value"]).astype(float)
    hi = rows["variable"].map(params["max_value"]).astype(float)
    bad = (rows["value"] < lo) | (rows["value"] > hi)
    rejects = []
    for r in rows[bad].to_dict("records"):
        ref = f"{r['variable']} city {r['city_code']} issued {r['issued_at']:%Y-%m-%dT%H:%MZ} "
        ref += f"day {r['day']:%Y-%m-%d}"
        problem = _range_problem(str(r["variable"]), float(r["value"]))
        rejects.append(_reject(source, ref, "impossible_value", str(problem), str(r["value"])))
    kept: pd.DataFrame = rows[~bad].reset_index(drop=True)
    return kept, rejects


def read_met_forecast(path: Path, cities: list[int]) -> MetForecastFile:
    """Parse a CSV (``.csv``, ``.csv.gz``) or NetCDF (``.nc``, ``.nc4``) file by its suffix."""
    name = path.name.lower()
    if name.endswith((".nc", ".nc4", ".netcdf")):
        return parse_netcdf(path, cities)
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return parse_csv(path)
    raise ValueError(f"{path.name}: not a .csv or .nc file 仅支持 CSV 或 NetCDF")
