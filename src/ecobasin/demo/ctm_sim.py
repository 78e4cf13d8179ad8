"""Simulated chemical-transport-model runs (SIMULATED: no real model archive is available here).

A real model's error is not white noise: it is biased (PM2.5 too high at night when the
boundary layer is too shallow, O3 peaks too low), correlated over hundreds of kilometres and
many hours, and grows with lead time. The simulator takes the observed hourly field (the truth)
and multiplies it by ``exp(ε)`` with

    ε(x, t) = bias + diurnal · cos(2π (h_local(t) − peak) / 24) + σ(lead) · e(x, t),
    σ(lead) = σ₀ + growth · lead [days],
    e(·, t) = φ · e(·, t − 1) + √(1 − φ²) · η(·, t),

``η`` a unit-variance Gaussian field smoothed over ``length_km`` (white noise on a coarse grid,
Gaussian-filtered, then interpolated bilinearly to the wanted locations). Every run draws its own
field from its own seed, so runs are reproducible and independent.

Files are written in the three layouts :mod:`ecobasin.ingest.ctm` reads (CMAQ IOAPI as NetCDF-3
classic, WRF-Chem ``wrfout``, CF/CAMS), each with ``comment = "SIMULATED …"`` and ``issued_at``
attributes; every table made from them says the guidance is simulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.ingest.ctm import (
    DEFAULT_AVAILABILITY,
    MODEL_EARTH_RADIUS,
    sample_grid,
    to_standard_units,
)

__all__ = [
    "ERRORS",
    "ErrorModel",
    "ModelGrid",
    "simulate_at_points",
    "simulate_city_guidance",
    "write_run",
    "write_simulated_runs",
]

SIMULATED_COMMENT = (
    "SIMULATED model output (ecobasin.demo.ctm_sim): observed field × correlated error"
)
POLLUTANTS: tuple[str, ...] = ("PM2.5", "PM10", "O3", "NO2", "SO2", "CO")


@dataclass(frozen=True)
class ErrorModel:
    """Log-error statistics of one pollutant [ln units; hours; km]."""

    bias: float
    diurnal: float
    peak_hour: int
    sd0: float
    growth: float
    phi: float = 0.96
    length_km: float = 200.0


#: Error models per pollutant: biases of the sign and size reported for CMAQ/NAQPMS over China
#: (PM2.5 overestimated at night, O3 peaks underestimated), illustrative values.
ERRORS: dict[str, ErrorModel] = {
    "PM2.5": ErrorModel(bias=0.15, diurnal=0.15, peak_hour=3, sd0=0.25, growth=0.035),
    "PM10": ErrorModel(bias=-0.12, diurnal=0.10, peak_hour=3, sd0=0.27, growth=0.035),
    "O3": ErrorModel(bias=-0.10, diurnal=-0.12, peak_hour=15, sd0=0.18, growth=0.03),
    "NO2": ErrorModel(bias=0.20, diurnal=0.10, peak_hour=20, sd0=0.25, growth=0.03),
    "SO2": ErrorModel(bias=0.35, diurnal=0.05, peak_hour=10, sd0=0.35, growth=0.03),
    "CO": ErrorModel(bias=-0.15, diurnal=0.08, peak_hour=20, sd0=0.20, growth=0.03),
}


@dataclass(frozen=True)
class ModelGrid:
    """A Lambert conformal model grid (CMAQ/WRF style) around a centre [°, m]."""

    centre_lat: float = 30.6
    centre_lon: float = 104.1
    lat_1: float = 25.0
    lat_2: float = 40.0
    nx: int = 40
    ny: int = 36
    cell_m: float = 12_000.0
    extras: dict[str, Any] = field(default_factory=dict)

    def proj(self) -> Any:
        from pyproj import Proj

        return Proj(
            proj="lcc",
            lat_1=self.lat_1,
            lat_2=self.lat_2,
            lon_0=self.centre_lon,
            lat_0=0.0,
            a=MODEL_EARTH_RADIUS,
            b=MODEL_EARTH_RADIUS,
        )

    def origin(self) -> tuple[float, float]:
        """Lower-left corner relative to (centre_lon, centre_lat) [m]: IOAPI XORIG, YORIG."""
        return -self.nx * self.cell_m / 2, -self.ny * self.cell_m / 2

    def centres(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Latitude and longitude of the cell centres (ny, nx) [°]."""
        proj = self.proj()
        x0, y0 = proj(self.centre_lon, self.centre_lat)
        ox, oy = self.origin()
        xs = x0 + ox + (np.arange(self.nx) + 0.5) * self.cell_m
        ys = y0 + oy + (np.arange(self.ny) + 0.5) * self.cell_m
        gx, gy = np.meshgrid(xs, ys)
        lon, lat = proj(gx, gy, inverse=True)
        return np.asarray(lat), np.asarray(lon)


def _smooth_noise(
    rng: np.random.Generator, hours: int, lat: Any, lon: Any, model: ErrorModel
) -> npt.NDArray[np.float64]:
    """Unit-variance AR(1)-in-time, smooth-in-space noise at the locations (hours, n)."""
    from scipy.ndimage import gaussian_filter

    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    step_deg = model.length_km / 2 / 111.0
    lat0, lon0 = lat.min() - 2 * step_deg, lon.min() - 2 * step_deg
    ny = int((lat.max() - lat0) / step_deg) + 4
    nx = int((lon.max() - lon0) / step_deg) + 4
    row, col = (lat - lat0) / step_deg, (lon - lon0) / step_deg
    # Every hour's field drawn and smoothed at once (sigma 0 in time: each hour on its own):
    # the same stream of draws and the same values as one field per hour, at one call's cost.
    white = gaussian_filter(rng.standard_normal((hours, ny, nx)), sigma=(0, 1.0, 1.0), mode="wrap")
    spread = np.array([field.std() for field in white])[:, None, None]
    eta = sample_grid(white / spread, row, col)
    out = np.empty((hours, lat.size))
    state = np.zeros(lat.size)
    for t in range(hours):
        state = model.phi * state + np.sqrt(1 - model.phi**2) * eta[t] if t else eta[t]
        out[t] = state
    return out


def _log_error(
    rng: np.random.Generator,
    valid: pd.DatetimeIndex,
    run_start: pd.Timestamp,
    lat: Any,
    lon: Any,
    model: ErrorModel,
) -> npt.NDArray[np.float64]:
    """ε at every valid hour and location (hours, n) [ln]."""
    lead_days = np.asarray((valid - run_start) / pd.Timedelta(days=1), dtype=float)
    local_hour = np.asarray(valid.tz_convert("Asia/Shanghai").hour, dtype=float)
    cycle = model.diurnal * np.cos(2 * np.pi * (local_hour - model.peak_hour) / 24)
    sigma = model.sd0 + model.growth * np.clip(lead_days, 0, None)
    noise = _smooth_noise(rng, len(valid), lat, lon, model)
    return np.asarray((model.bias + cycle)[:, None] + sigma[:, None] * noise)


def _filled(truth: pd.DataFrame) -> pd.DataFrame:
    """Observations without gaps: interpolated in time, then the hour-of-day mean."""
    filled = truth.interpolate(limit=6, limit_direction="both")
    by_hour = filled.groupby(pd.DatetimeIndex(filled.index).hour).transform("mean")
    return filled.fillna(by_hour).fillna(filled.mean()).fillna(0.0)


def simulate_at_points(
    truth: dict[str, pd.DataFrame],
    lat: Any,
    lon: Any,
    run_start: pd.Timestamp,
    hours: int,
    seed: int,
    errors: dict[str, ErrorModel] | None = None,
) -> dict[str, pd.DataFrame]:
    """One simulated run at the locations: per pollutant, a frame (valid hour × location).

    Parameters
    ----------
    truth : dict of pandas.DataFrame
        Per pollutant, the observed hourly values (index: hour-ending UTC instants, columns: the
        locations, in the order of ``lat``/``lon``) [µg/m³; CO mg/m³].
    lat, lon : the locations [°].
    run_start : tz-aware Timestamp
        Initialisation time; the run covers the ``hours`` hours after it.
    seed : int
        Seed of this run's error fields.
    """
    errors = errors or ERRORS
    valid = pd.date_range(run_start + pd.Timedelta(hours=1), periods=hours, freq="h")
    rng = np.random.default_rng(seed)
    out = {}
    for pollutant, frame in sorted(truth.items()):
        base = _filled(frame.reindex(valid)).to_numpy(float)
        eps = _log_error(rng, valid, run_start, lat, lon, errors[pollutant])
        out[pollutant] = pd.DataFrame(base * np.exp(eps), index=valid, columns=frame.columns)
    return out


# -- writing the three layouts -----------------------------------------------------------------
def _idw(values: npt.NDArray[np.float64], lat: Any, lon: Any, glat: Any, glon: Any) -> Any:
    """Inverse-distance-squared field (hours, ny, nx) from point values (hours, n)."""
    d2 = (np.asarray(glat)[..., None] - np.asarray(lat)) ** 2 + (
        (np.asarray(glon)[..., None] - np.asarray(lon))
        * np.cos(np.radians(np.asarray(glat)))[..., None]
    ) ** 2
    w = 1.0 / np.maximum(d2, 1e-6)
    w = w / w.sum(axis=-1, keepdims=True)
    return np.einsum("tn,yxn->tyx", values, w)


def _from_standard(values: Any, pollutant: str, unit: str) -> Any:
    """Inverse of :func:`ecobasin.ingest.ctm.to_standard_units` (a linear unit change)."""
    return np.asarray(values) / to_standard_units(1.0, pollutant, unit)


def write_run(
    path: Path,
    layout: str,
    fields: dict[str, pd.DataFrame],
    point_lat: Any,
    point_lon: Any,
    grid: ModelGrid,
    run_start: pd.Timestamp,
    issued_at: pd.Timestamp,
) -> Path:
    """Write one simulated run on ``grid`` (IDW of the point values) in ``layout``.

    Parameters
    ----------
    layout : ``ioapi`` (CMAQ ACONC, NetCDF-3), ``wrfchem`` or ``cf`` (CAMS-style).
    fields : from :func:`simulate_at_points` (hour-ending UTC index).
    """
    glat, glon = grid.centres()
    gridded = {
        p: _idw(f.to_numpy(float), point_lat, point_lon, glat, glon) for p, f in fields.items()
    }
    valid = next(iter(fields.values())).index
    attrs = {"comment": SIMULATED_COMMENT, "issued_at": issued_at.isoformat()}
    if layout == "ioapi":
        ds = _ioapi(gridded, valid, grid, run_start, attrs)
        ds.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")
    elif layout == "wrfchem":
        _wrf(gridded, valid, grid, glat, glon, run_start, attrs).to_netcdf(path, engine="h5netcdf")
    elif layout == "cf":
        _cf(gridded, valid, grid, run_start, attrs).to_netcdf(path, engine="h5netcdf")
    else:
        raise ValueError(f"layout {layout!r}: use ioapi, wrfchem or cf")
    return path


IOAPI_NAMES = {"PM2.5": ("PM25_TOT", "ug/m3"), "PM10": ("PM10", "ug/m3"), "O3": ("O3", "ppmV")}
IOAPI_NAMES |= {"NO2": ("NO2", "ppmV"), "SO2": ("SO2", "ppmV"), "CO": ("CO", "ppmV")}


def _ioapi(gridded: dict[str, Any], valid: Any, grid: ModelGrid, start: Any, attrs: Any) -> Any:
    import xarray as xr

    begins = valid - pd.Timedelta(hours=1)  # ACONC: a step averages the hour from its time
    utc = begins.tz_convert("UTC")
    dates = np.asarray(utc.year * 1000 + utc.day_of_year, dtype=np.int32)
    times = np.asarray(utc.hour * 10000, dtype=np.int32)
    names = [IOAPI_NAMES[p][0] for p in sorted(gridded)]
    tflag = np.broadcast_to(
        np.stack([dates, times], axis=1)[:, None, :], (len(valid), len(names), 2)
    )
    data: dict[str, Any] = {"TFLAG": (("TSTEP", "VAR", "DATE-TIME"), np.ascontiguousarray(tflag))}
    for p in sorted(gridded):
        name, unit = IOAPI_NAMES[p]
        values = _from_standard(gridded[p], p, unit).astype(np.float32)[:, None]
        data[name] = (("TSTEP", "LAY", "ROW", "COL"), values, {"units": unit.ljust(16)})
    ox, oy = grid.origin()
    gattrs = {
        "GDTYP": np.int32(2),
        "P_ALP": grid.lat_1,
        "P_BET": grid.lat_2,
        "P_GAM": grid.centre_lon,
        "XCENT": grid.centre_lon,
        "YCENT": grid.centre_lat,
        "XORIG": ox,
        "YORIG": oy,
        "XCELL": grid.cell_m,
        "YCELL": grid.cell_m,
        "NCOLS": np.int32(grid.nx),
        "NROWS": np.int32(grid.ny),
        "NLAYS": np.int32(1),
        "NVARS": np.int32(len(names)),
        "SDATE": np.int32(dates[0]),
        "STIME": np.int32(times[0]),
        "TSTEP": np.int32(10000),
        "VAR-LIST": "".join(n.ljust(16) for n in names),
        **attrs,
    }
    return xr.Dataset(data, attrs=gattrs)


WRF_NAMES = {"PM2.5": ("PM2_5_DRY", "ug m^-3"), "PM10": ("PM10", "ug m^-3"), "O3": ("o3", "ppmv")}
WRF_NAMES |= {"NO2": ("no2", "ppmv"), "SO2": ("so2", "ppmv"), "CO": ("co", "ppmv")}


def _wrf(
    gridded: dict[str, Any],
    valid: Any,
    grid: ModelGrid,
    glat: Any,
    glon: Any,
    start: Any,
    attrs: Any,
) -> Any:
    import xarray as xr

    stamps = [t.strftime("%Y-%m-%d_%H:%M:%S") for t in valid.tz_convert("UTC")]
    chars = np.array([list(s) for s in stamps], dtype="S1")
    n = len(valid)
    data: dict[str, Any] = {
        "Times": (("Time", "DateStrLen"), chars),
        "XLAT": (("Time", "south_north", "west_east"), np.broadcast_to(glat, (n, *glat.shape))),
        "XLONG": (("Time", "south_north", "west_east"), np.broadcast_to(glon, (n, *glon.shape))),
    }
    for p in sorted(gridded):
        name, unit = WRF_NAMES[p]
        values = _from_standard(gridded[p], p, unit).astype(np.float32)[:, None]
        data[name] = (("Time", "bottom_top", "south_north", "west_east"), values, {"units": unit})
    gattrs = {
        "MAP_PROJ": np.int32(1),
        "TRUELAT1": grid.lat_1,
        "TRUELAT2": grid.lat_2,
        "STAND_LON": grid.centre_lon,
        "CEN_LAT": grid.centre_lat,
        "CEN_LON": grid.centre_lon,
        "DX": grid.cell_m,
        "DY": grid.cell_m,
        "SIMULATION_START_DATE": start.tz_convert("UTC").strftime("%Y-%m-%d_%H:%M:%S"),
        **attrs,
    }
    return xr.Dataset(data, attrs=gattrs)


CF_NAMES = {
    "PM2.5": ("pm2p5", "kg m**-3"),
    "PM10": ("pm10", "kg m**-3"),
    "O3": ("go3", "kg kg**-1"),
}
CF_NAMES |= {"NO2": ("no2", "kg kg**-1"), "SO2": ("so2", "kg kg**-1"), "CO": ("co", "kg kg**-1")}


def _cf(gridded: dict[str, Any], valid: Any, grid: ModelGrid, start: Any, attrs: Any) -> Any:
    """A regular 0.1° lat-lon grid covering the model domain, values by bilinear resampling."""
    import xarray as xr

    glat, glon = grid.centres()
    lats = np.round(np.arange(glat.max(), glat.min(), -0.1), 4)  # north → south, as CAMS
    lons = np.round(np.arange(glon.min(), glon.max(), 0.1), 4)
    proj = grid.proj()
    x0, y0 = proj(grid.centre_lon, grid.centre_lat)
    ox, oy = grid.origin()
    qlon, qlat = np.meshgrid(lons, lats)
    px, py = proj(qlon, qlat)
    col = ((np.asarray(px) - x0) - ox) / grid.cell_m - 0.5
    row = ((np.asarray(py) - y0) - oy) / grid.cell_m - 0.5
    times = valid.tz_convert("UTC").tz_localize(None)
    data = {}
    for p in sorted(gridded):
        name, unit = CF_NAMES[p]
        flat = sample_grid(gridded[p], row.ravel(), col.ravel())
        values = _from_standard(flat.reshape(len(valid), *qlat.shape), p, unit)
        data[name] = (("time", "latitude", "longitude"), values.astype(np.float32), {"units": unit})
    coords = {
        "time": times,
        "latitude": lats,
        "longitude": lons,
        "forecast_reference_time": start.tz_convert("UTC").tz_localize(None),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def simulate_city_guidance(
    hourly: pd.DataFrame,
    cities: pd.DataFrame,
    run_days: Sequence[Any],
    *,
    hours: int = 186,
    init_hour_utc: int = 0,
    availability: pd.Timedelta = DEFAULT_AVAILABILITY,
    seed: int = 2015,
) -> pd.DataFrame:
    """Daily runs of a simulated model at city points, as the guidance rows a reader would give.

    Parameters
    ----------
    hourly : pandas.DataFrame
        Observed city hourly values (``city``, ``time`` [UTC hour-ending], ``pollutant``,
        ``value``), e.g. :func:`ecobasin.store.forecast.city_hourly`.
    cities : pandas.DataFrame
        ``city`` (as in ``hourly``), ``lat``, ``lon`` [°].
    run_days : UTC days of initialisation (at ``init_hour_utc``).
    hours : length of every run [h] (186 h from 00 UTC covers the CST days D + 1 … D + 7).

    Returns
    -------
    pandas.DataFrame
        ``ecobasin.forecast.guidance.GUIDANCE_COLUMNS`` (SIMULATED).
    """
    cities = cities.assign(city=cities["city"].astype(str))
    wide = {
        str(p): g.pivot_table(index="time", columns="city", values="value").reindex(
            columns=list(cities["city"])
        )
        for p, g in hourly.assign(city=hourly["city"].astype(str)).groupby("pollutant")
    }
    rows = []
    for n, day in enumerate(pd.DatetimeIndex(pd.to_datetime(list(run_days))).normalize()):
        start = (
            day.tz_localize("UTC") + pd.Timedelta(hours=init_hour_utc) if day.tz is None else day
        )
        fields = simulate_at_points(
            wide,
            cities["lat"].to_numpy(float),
            cities["lon"].to_numpy(float),
            start,
            hours,
            seed=seed * 100_003 + n,
        )
        for pollutant, frame in fields.items():
            long = (
                frame.rename_axis("valid_time")
                .reset_index()
                .melt(id_vars="valid_time", var_name="city", value_name="value")
            )
            rows.append(long.assign(pollutant=pollutant, issued_at=start + availability))
    out = pd.concat(rows, ignore_index=True)
    return out[["city", "issued_at", "valid_time", "pollutant", "value"]]


def write_simulated_runs(
    hourly: pd.DataFrame,
    cities: pd.DataFrame,
    out_dir: Path,
    *,
    layout: str = "ioapi",
    days: int = 3,
    hours: int = 186,
) -> list[Path]:
    """SIMULATED runs for the last ``days`` days of ``hourly`` (00 UTC, published 6 h later).

    Parameters
    ----------
    hourly : city hourly observations (``city``, ``time``, ``pollutant``, ``value``).
    cities : ``city``, ``lat``, ``lon`` [°].
    layout : ``ioapi``, ``wrfchem`` or ``cf``.
    """
    lat, lon = cities["lat"].to_numpy(float), cities["lon"].to_numpy(float)
    wide = {
        str(p): g.pivot_table(index="time", columns="city", values="value").reindex(
            columns=list(cities["city"].astype(str))
        )
        for p, g in hourly.assign(city=hourly["city"].astype(str)).groupby("pollutant")
    }
    last = pd.Timestamp(hourly["time"].max()).normalize()
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = ModelGrid(centre_lat=float(lat.mean()), centre_lon=float(lon.mean()))
    written = []
    for n in range(days):
        start = last - pd.Timedelta(days=days - 1 - n)
        fields = simulate_at_points(wide, lat, lon, start, hours, seed=int(start.value // 10**9))
        path = out_dir / f"simulated_{layout}_{start:%Y%m%d%H}.nc"
        issued = start + DEFAULT_AVAILABILITY
        written.append(write_run(path, layout, fields, lat, lon, grid, start, issued))
    return written
