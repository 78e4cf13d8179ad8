"""Chemical-transport-model output (CMAQ IOAPI, WRF-Chem ``wrfout``, CF/CAMS) at points.

A numerical air-quality model (Chengdu's CDAQS, CMAQ, NAQPMS, WRF-Chem, CAMS) writes gridded
hourly concentrations; the forecast needs them at stations and cities. This module reads the
three common layouts through xarray, finds each point's position in the model grid (pyproj for
the map projection) and returns one tidy row per point, valid hour and pollutant, in the units
of GB 3095 (µg/m³; CO mg/m³; gases at the reference state 298.15 K, 1013.25 hPa, GB 3095-2012
amendment 2018 and GB 3095-2026 §3.14).

Layouts (docs/formats.md "Air-quality model output"):

* **CMAQ IOAPI** (``TFLAG`` and ``GDTYP`` present): variables ``PM25_TOT``/``PM25``, ``PM10``,
  ``O3``, ``NO2``, ``SO2``, ``CO`` on ``(TSTEP, LAY, ROW, COL)``; time from ``TFLAG`` (YYYYDDD,
  HHMMSS, UTC); grid from the GRIDDESC attributes (``GDTYP`` 1 lat-lon or 2 Lambert conformal,
  ``P_ALP``, ``P_BET``, ``P_GAM``, ``XCENT``, ``YCENT``, ``XORIG``, ``YORIG``, ``XCELL``,
  ``YCELL``) on CMAQ's sphere of radius 6,370 km. A step of an ``ACONC`` file averages the hour
  that *starts* at its time; a ``CONC`` file is instantaneous: ``time_label`` says which.
* **WRF-Chem** (``Times`` and ``XLAT``): ``PM2_5_DRY``, ``PM10`` [µg m⁻³], ``o3``, ``no2``,
  ``so2``, ``co`` [ppmv] on ``(Time, bottom_top, south_north, west_east)``; Lambert conformal
  (``MAP_PROJ`` 1: ``TRUELAT1``, ``TRUELAT2``, ``STAND_LON``, ``DX``, ``DY``) positions the
  points exactly; other projections fall back to the nearest ``XLAT``/``XLONG`` cell.
* **CF** (CAMS-style): ``latitude``/``longitude`` (or ``lat``/``lon``) axes, a ``time`` or
  ``valid_time`` axis, ``forecast_reference_time`` when present; ``pm2p5``, ``pm10`` [kg m⁻³],
  ``go3``, ``no2``, ``so2``, ``co`` [kg kg⁻¹ mass mixing ratio], or the names above.

Only the lowest model level is read. Values are taken at each point by **bilinear**
interpolation between the four surrounding cell centres (default) or from the **nearest** cell;
a point outside the grid's cell centres is kept aside as ``outside_grid``.

**Issue time.** A run is usable by a forecast issued at time T only if the run was issued at or
before T (the same rule as meteorological forecasts, ``ecobasin.forecast.features``). The issue
time is the ``issued_at`` global attribute when the file carries one (the simulator writes it),
else the caller's value, else the run's start plus ``availability`` (default 6 h: a run
initialised at 12 UTC is published around 18 UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "CTM_COLUMNS",
    "POLLUTANT_NAMES",
    "CtmFile",
    "read_ctm",
    "sample_grid",
    "to_standard_units",
]

#: Columns of the rows read: point id, run issue time and start [UTC], valid hour-ending time
#: [UTC], pollutant (forecast names), value [µg/m³; CO mg/m³].
CTM_COLUMNS: tuple[str, ...] = (
    "point",
    "issued_at",
    "run_start",
    "valid_time",
    "pollutant",
    "value",
)
#: Variable names of the three layouts → pollutant.
POLLUTANT_NAMES: dict[str, str] = {
    "PM25_TOT": "PM2.5",
    "PM25": "PM2.5",
    "PM2_5_DRY": "PM2.5",
    "pm2p5": "PM2.5",
    "PM10": "PM10",
    "pm10": "PM10",
    "O3": "O3",
    "o3": "O3",
    "go3": "O3",
    "NO2": "NO2",
    "no2": "NO2",
    "SO2": "SO2",
    "so2": "SO2",
    "CO": "CO",
    "co": "CO",
}
#: Molar masses [g/mol] of the gases (IUPAC standard atomic weights).
MOLAR_MASS: dict[str, float] = {"O3": 47.998, "NO2": 46.005, "SO2": 64.064, "CO": 28.010}
#: Molar volume of an ideal gas at the GB 3095 reference state (298.15 K, 1013.25 hPa) [L/mol]:
#: R·T/p = 8.314462618 × 298.15 / 101.325.
MOLAR_VOLUME_L = 8.314462618 * 298.15 / 101.325
#: Dry-air density at the reference state [kg/m³] (molar mass of dry air 28.9647 g/mol).
AIR_DENSITY = 101_325.0 * 0.0289647 / (8.314462618 * 298.15)
#: The sphere CMAQ and WRF use for their map projections [m].
MODEL_EARTH_RADIUS = 6_370_000.0
DEFAULT_AVAILABILITY = pd.Timedelta(hours=6)


@dataclass
class CtmFile:
    """What one model file gave: rows at the points, records kept aside, and the run."""

    rows: pd.DataFrame
    rejects: pd.DataFrame
    model: str
    issued_at: pd.Timestamp
    simulated: bool


def _unit_key(unit: str) -> str:
    return "".join(str(unit).split()).replace("^", "").replace("**", "").replace("µ", "u").lower()


#: Mass-concentration units → factor to µg/m³.
_MASS_UNITS: dict[str, float] = {
    "ug/m3": 1.0,
    "ugm-3": 1.0,
    "micrograms/m3": 1.0,
    "microgram/m3": 1.0,
    "mg/m3": 1e3,
    "mgm-3": 1e3,
    "kgm-3": 1e9,
    "kg/m3": 1e9,
}
#: Mole-fraction units → mole fraction.
_MOLE_UNITS: dict[str, float] = {"ppm": 1e-6, "ppmv": 1e-6, "ppb": 1e-9, "ppbv": 1e-9}
#: Mass-mixing-ratio units → kg/kg.
_MMR_UNITS: dict[str, float] = {"kgkg-1": 1.0, "kg/kg": 1.0}


def to_standard_units(values: Any, pollutant: str, unit: str) -> npt.NDArray[np.float64]:
    """Model values → GB 3095 units: µg/m³ (CO mg/m³), gases at 298.15 K and 1013.25 hPa.

    Parameters
    ----------
    values : array-like
        Values in ``unit``: a mass concentration [µg/m³, mg/m³, kg/m³], a mole fraction [ppm,
        ppb] or a mass mixing ratio [kg/kg].
    pollutant : str
        ``PM2.5``, ``PM10``, ``O3``, ``NO2``, ``SO2`` or ``CO``.
    unit : str
        The variable's ``units`` attribute.

    Raises
    ------
    ValueError
        An unknown unit, or a mole fraction of a particle.

    Notes
    -----
    A mole fraction x becomes x · M / V_m with V_m = 24.465 L/mol at the reference state; a mass
    mixing ratio r becomes r · ρ_air with ρ_air = 1.184 kg/m³ there (no surface temperature or
    pressure is needed: GB 3095 reports gases at the reference state).
    """
    x = np.asarray(values, dtype=np.float64)
    key = _unit_key(unit)
    if key in _MASS_UNITS:
        ug = x * _MASS_UNITS[key]
    elif key in _MMR_UNITS:
        ug = x * _MMR_UNITS[key] * AIR_DENSITY * 1e9
    elif key in _MOLE_UNITS:
        if pollutant not in MOLAR_MASS:
            raise ValueError(f"{pollutant} in {unit!r}: a mole fraction needs a gas")
        ug = x * _MOLE_UNITS[key] * MOLAR_MASS[pollutant] / MOLAR_VOLUME_L * 1e9
    else:
        raise ValueError(f"{pollutant}: unknown unit {unit!r} 未知单位")
    return ug / 1000.0 if pollutant == "CO" else ug


# -- positions in the grid -----------------------------------------------------------------------
def _lcc(lat_1: float, lat_2: float, lon_0: float, lat_0: float) -> Any:
    from pyproj import Proj

    return Proj(
        proj="lcc",
        lat_1=lat_1,
        lat_2=lat_2,
        lon_0=lon_0,
        lat_0=lat_0,
        a=MODEL_EARTH_RADIUS,
        b=MODEL_EARTH_RADIUS,
    )


def _ioapi_index(attrs: dict[str, Any], lat: Any, lon: Any) -> tuple[Any, Any]:
    """Fractional (row, col) of cell centres: centre k sits at ``ORIG + (k + ½)·CELL``."""
    gdtyp = int(attrs["GDTYP"])
    if gdtyp == 1:
        x, y = np.asarray(lon, float), np.asarray(lat, float)
    elif gdtyp == 2:
        proj = _lcc(float(attrs["P_ALP"]), float(attrs["P_BET"]), float(attrs["P_GAM"]), 0.0)
        x0, y0 = proj(float(attrs["XCENT"]), float(attrs["YCENT"]))
        px, py = proj(np.asarray(lon, float), np.asarray(lat, float))
        x, y = np.asarray(px) - x0, np.asarray(py) - y0
    else:
        raise ValueError(f"IOAPI GDTYP {gdtyp} not supported (1 lat-lon, 2 Lambert conformal)")
    col = (x - float(attrs["XORIG"])) / float(attrs["XCELL"]) - 0.5
    row = (y - float(attrs["YORIG"])) / float(attrs["YCELL"]) - 0.5
    return row, col


def _wrf_index(ds: Any, lat: Any, lon: Any) -> tuple[Any, Any] | None:
    """Fractional (south_north, west_east) from the Lambert projection; None for others."""
    a = ds.attrs
    if int(a.get("MAP_PROJ", 0)) != 1:
        return None
    proj = _lcc(float(a["TRUELAT1"]), float(a["TRUELAT2"]), float(a["STAND_LON"]), 0.0)
    lat00 = float(np.asarray(ds["XLAT"]).reshape(-1, *ds["XLAT"].shape[-2:])[0, 0, 0])
    lon00 = float(np.asarray(ds["XLONG"]).reshape(-1, *ds["XLONG"].shape[-2:])[0, 0, 0])
    x0, y0 = proj(lon00, lat00)
    px, py = proj(np.asarray(lon, float), np.asarray(lat, float))
    return (np.asarray(py) - y0) / float(a["DY"]), (np.asarray(px) - x0) / float(a["DX"])


def _nearest_curvilinear(lats2d: Any, lons2d: Any, lat: Any, lon: Any) -> tuple[Any, Any]:
    """Nearest cell of a curvilinear grid (great-circle distance) as whole indices."""
    la, lo = np.radians(np.asarray(lats2d, float)), np.radians(np.asarray(lons2d, float))
    rows, cols = [], []
    for p_lat, p_lon in zip(np.radians(lat), np.radians(lon), strict=True):
        d = (
            np.sin((la - p_lat) / 2) ** 2
            + np.cos(la) * np.cos(p_lat) * np.sin((lo - p_lon) / 2) ** 2
        )
        r, c = np.unravel_index(int(np.argmin(d)), d.shape)
        rows.append(float(r))
        cols.append(float(c))
    return np.asarray(rows), np.asarray(cols)


def _axis_index(axis: Any, value: Any) -> Any:
    """Fractional index of ``value`` on a monotonic coordinate axis (NaN outside)."""
    a = np.asarray(axis, dtype=np.float64)
    idx = np.arange(a.size, dtype=np.float64)
    if a[0] > a[-1]:
        a, idx = a[::-1], idx[::-1]
    return np.interp(np.asarray(value, float), a, idx, left=np.nan, right=np.nan)


def sample_grid(
    field: Any, row: Any, col: Any, method: str = "bilinear"
) -> npt.NDArray[np.float64]:
    """Values of ``field`` (…, rows, cols) at fractional cell-centre positions.

    Parameters
    ----------
    field : array (..., ny, nx)
    row, col : array (n,)
        Fractional indices of the points; NaN or outside ``[0, n − 1]`` gives NaN.
    method : ``bilinear`` (the four surrounding centres) or ``nearest``.

    Returns
    -------
    numpy.ndarray (..., n)
    """
    f = np.asarray(field, dtype=np.float64)
    ny, nx = f.shape[-2:]
    r, c = np.asarray(row, float), np.asarray(col, float)
    inside = (r >= 0) & (r <= ny - 1) & (c >= 0) & (c <= nx - 1)
    r, c = np.where(inside, r, 0.0), np.where(inside, c, 0.0)
    if method == "nearest":
        out = f[..., np.rint(r).astype(int), np.rint(c).astype(int)]
    elif method == "bilinear":
        r0 = np.minimum(np.floor(r).astype(int), max(ny - 2, 0))
        c0 = np.minimum(np.floor(c).astype(int), max(nx - 2, 0))
        r1, c1 = np.minimum(r0 + 1, ny - 1), np.minimum(c0 + 1, nx - 1)
        wr, wc = r - r0, c - c0
        out = (
            f[..., r0, c0] * (1 - wr) * (1 - wc)
            + f[..., r0, c1] * (1 - wr) * wc
            + f[..., r1, c0] * wr * (1 - wc)
            + f[..., r1, c1] * wr * wc
        )
    else:
        raise ValueError(f"method {method!r}: use 'bilinear' or 'nearest'")
    return np.where(inside, out, np.nan)


# -- the three layouts ---------------------------------------------------------------------------
@dataclass
class _Grid:
    model: str
    run_start: pd.Timestamp
    valid: pd.DatetimeIndex  # hour-ending, UTC (naive)
    row: Any
    col: Any
    fields: dict[str, tuple[Any, str]]  # variable → (array (time, ny, nx), unit)
    issued_attr: str | None


def _surface(var: Any) -> Any:
    """The lowest model level of a (time, [level,] y, x) variable."""
    arr = var.values
    return arr[:, 0] if arr.ndim == 4 else arr


def _pollutant_fields(ds: Any) -> dict[str, tuple[Any, str]]:
    out = {}
    for name in map(str, ds.data_vars):
        if name in POLLUTANT_NAMES:
            out[name] = (_surface(ds[name]), str(ds[name].attrs.get("units", "")).strip())
    return out


def _ioapi_times(tflag: Any) -> pd.DatetimeIndex:
    flags = np.asarray(tflag)[:, 0, :]
    stamps = [
        pd.Timestamp(f"{int(d) // 1000}-01-01")
        + pd.Timedelta(days=int(d) % 1000 - 1)
        + pd.Timedelta(hours=int(t) // 10000, minutes=int(t) // 100 % 100)
        for d, t in flags
    ]
    return pd.DatetimeIndex(stamps)


def _read_ioapi(ds: Any, lat: Any, lon: Any, time_label: str) -> _Grid:
    times = _ioapi_times(ds["TFLAG"].values)
    if time_label == "hour_beginning":
        times = times + pd.Timedelta(hours=1)
    row, col = _ioapi_index(dict(ds.attrs), lat, lon)
    return _Grid(
        "CMAQ",
        _ioapi_times(ds["TFLAG"].values)[0],
        times,
        row,
        col,
        _pollutant_fields(ds),
        ds.attrs.get("issued_at"),
    )


def _read_wrf(ds: Any, lat: Any, lon: Any) -> _Grid:
    raw = [b"".join(t).decode() if t.dtype.kind == "S" else str(t) for t in ds["Times"].values]
    times = pd.DatetimeIndex([pd.Timestamp(t.replace("_", " ")) for t in raw])
    start = ds.attrs.get("SIMULATION_START_DATE")
    run_start = pd.Timestamp(str(start).replace("_", " ")) if start else times[0]
    position = _wrf_index(ds, lat, lon)
    if position is None:
        position = _nearest_curvilinear(_surface_2d(ds["XLAT"]), _surface_2d(ds["XLONG"]), lat, lon)
    fields = _pollutant_fields(ds)
    return _Grid("WRF-Chem", run_start, times, *position, fields, ds.attrs.get("issued_at"))


def _surface_2d(var: Any) -> Any:
    arr = np.asarray(var.values)
    return arr.reshape(-1, *arr.shape[-2:])[0]


def _cf_axis(ds: Any, *names: str) -> str:
    for name in names:
        if name in ds.coords or name in ds.dims:
            return name
    raise ValueError(f"no {' or '.join(names)} axis")


def _read_cf(ds: Any, lat: Any, lon: Any) -> _Grid:
    lat_name = _cf_axis(ds, "latitude", "lat")
    lon_name = _cf_axis(ds, "longitude", "lon")
    time_name = _cf_axis(ds, "valid_time", "time")
    times = pd.DatetimeIndex(pd.to_datetime(ds[time_name].values))
    if times.tz is not None:
        times = times.tz_convert("UTC").tz_localize(None)
    ref = ds.get("forecast_reference_time")
    run_start = pd.Timestamp(np.asarray(ref.values).ravel()[0]) if ref is not None else times[0]
    row = _axis_index(ds[lat_name].values, lat)
    col = _axis_index(ds[lon_name].values, lon)
    fields = {}
    for name in (n for n in map(str, ds.data_vars) if n in POLLUTANT_NAMES):
        unit = str(ds[name].attrs.get("units", "")).strip()
        dims = ds[name].dims
        order = [dims.index(time_name), dims.index(lat_name), dims.index(lon_name)]
        full = ds[name].values
        if full.ndim == 4:  # (time, level, lat, lon): the lowest level
            level = next(i for i in range(4) if i not in order)
            full = np.take(full, -1 if _level_descending(ds, dims[level]) else 0, axis=level)
            dims = tuple(d for i, d in enumerate(dims) if i != level)
            order = [dims.index(time_name), dims.index(lat_name), dims.index(lon_name)]
        fields[name] = (np.transpose(full, order), unit)
    return _Grid("CF", run_start, times, row, col, fields, ds.attrs.get("issued_at"))


def _level_descending(ds: Any, dim: str) -> bool:
    """CAMS model levels count down from the top: the surface is the last one."""
    values = np.asarray(ds[dim].values) if dim in ds.coords else np.arange(2)
    return bool(values.size > 1 and values[-1] > values[0] and "hybrid" in dim)


def _layout(ds: Any) -> str:
    if "TFLAG" in ds.variables and "GDTYP" in ds.attrs:
        return "ioapi"
    if "Times" in ds.variables and "XLAT" in ds.variables:
        return "wrf"
    if any(n in ds.coords or n in ds.dims for n in ("latitude", "lat")):
        return "cf"
    raise ValueError("not a CMAQ IOAPI, WRF-Chem or CF file (no TFLAG, Times/XLAT or lat axis)")


def _open(path: Path) -> Any:
    import xarray as xr

    for engine in ("h5netcdf", "scipy"):
        try:
            return xr.open_dataset(path, engine=engine, decode_times=engine == "h5netcdf")
        except (OSError, ValueError, TypeError):
            continue
    raise ValueError(f"{path.name}: not a NetCDF file xarray can read 无法读取的 NetCDF 文件")


def _issued_at(grid: _Grid, issued_at: Any, availability: pd.Timedelta) -> pd.Timestamp:
    if grid.issued_attr:
        stamp = pd.Timestamp(str(grid.issued_attr))
    elif issued_at is not None:
        stamp = pd.Timestamp(issued_at)
    else:
        return pd.Timestamp(grid.run_start).tz_localize("UTC") + availability
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _reject(source: str, ref: str, code: str, reason: str) -> dict[str, str]:
    return {"source": source, "record_ref": ref, "reason_code": code, "reason": reason, "raw": ""}


def read_ctm(
    path: Path,
    points: pd.DataFrame,
    *,
    method: str = "bilinear",
    issued_at: Any = None,
    availability: pd.Timedelta = DEFAULT_AVAILABILITY,
    time_label: str = "hour_beginning",
) -> CtmFile:
    """Read one model file and take its surface concentrations at ``points``.

    Parameters
    ----------
    path : Path
        A NetCDF file in one of the three layouts (module docstring).
    points : pandas.DataFrame
        ``point`` (id: site or city code), ``lat``, ``lon`` [°].
    method : ``bilinear`` or ``nearest``.
    issued_at : datetime-like, optional
        The run's publication time when the file does not carry ``issued_at``.
    availability : Timedelta
        Run start → publication, when neither the file nor the caller gives it.
    time_label : ``hour_beginning`` (CMAQ ``ACONC``: a step averages the hour from its time) or
        ``instant`` (CMAQ ``CONC``); WRF and CF times are taken as given.

    Returns
    -------
    CtmFile
        Rows (``CTM_COLUMNS``; times UTC), points or variables kept aside with the reason.
    """
    source = path.name
    with _open(path) as ds:
        layout = _layout(ds)
        lat, lon = points["lat"].to_numpy(float), points["lon"].to_numpy(float)
        if layout == "ioapi":
            grid = _read_ioapi(ds, lat, lon, time_label)
        elif layout == "wrf":
            grid = _read_wrf(ds, lat, lon)
        else:
            grid = _read_cf(ds, lat, lon)
        simulated = "simulated" in str(ds.attrs.get("comment", "")).lower()
    issued = _issued_at(grid, issued_at, availability)
    rows, rejects = _rows(grid, points, method, issued, source)
    return CtmFile(rows, rejects, grid.model, issued, simulated)


def _rows(
    grid: _Grid, points: pd.DataFrame, method: str, issued: pd.Timestamp, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = points["point"].astype(str).to_numpy()
    rejects = []
    parts = []
    outside = np.zeros(len(ids), dtype=bool)
    for name, (arr, unit) in sorted(grid.fields.items()):
        pollutant = POLLUTANT_NAMES[name]
        try:
            values = to_standard_units(
                sample_grid(arr, grid.row, grid.col, method), pollutant, unit
            )
        except ValueError as error:
            rejects.append(_reject(source, f"variable {name}", "unit_mismatch", str(error)))
            continue
        outside |= np.all(np.isnan(values), axis=0)
        frame = pd.DataFrame(values, index=grid.valid, columns=ids).rename_axis("valid_time")
        long = frame.reset_index().melt(id_vars="valid_time", var_name="point", value_name="value")
        parts.append(long.dropna(subset=["value"]).assign(pollutant=pollutant))
    for pid in ids[outside]:
        reason = f"point {pid} lies outside the model grid 不在模式网格内"
        rejects.append(_reject(source, f"point {pid}", "outside_grid", reason))
    columns = list(CTM_COLUMNS)
    if parts:
        rows = pd.concat(parts, ignore_index=True)
        rows["valid_time"] = pd.DatetimeIndex(rows["valid_time"]).tz_localize("UTC")
        rows = rows.assign(issued_at=issued, run_start=grid.run_start.tz_localize("UTC"))[columns]
    else:
        rows = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    bad = pd.DataFrame(rejects, columns=["source", "record_ref", "reason_code", "reason", "raw"])
    return rows, bad
