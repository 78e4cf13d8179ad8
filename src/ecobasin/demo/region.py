"""A seeded, deterministic generator of a realistic demo region (pure, no I/O).

The project cannot ship third-party monitoring data, so ``ecobasin demo`` fills its database from
this generator: air stations placed inside their cities' boundary polygons, and a year of hourly
PM2.5, PM10, SO2, NO2, O3 [µg/m³] and CO [mg/m³] per station, with

* diurnal shapes (PM2.5 after the measured Chengdu profile, a morning maximum and an evening rise;
  NO2 and CO morning and evening rush-hour peaks; an afternoon O3 peak),
* seasonal shapes (Sichuan Basin winter PM2.5 episodes of several days, summer O3 peaks with MDA8
  above 160 µg/m³ on some days, low SO2),
* regional co-variation (a shared regional stagnation factor and spatially correlated city factors
  plus station noise, all log-normal AR(1) processes),
* realistic gaps (about 3 % missing hours, some multi-hour outages) and a few bad values (negative
  values and absurd spikes such as 9999) that the import validation must reject.

The PM2.5 statistics are calibrated against real hourly Chengdu data (2013–2015) scaled to a
recent annual level; ``bench/calibrate_demo.py`` prints the comparison and ``docs/demo-data.md``
records the method and the figures. Every city factor is *illustrative*: it makes the demo look
like the region, it is not a measurement.

The module reads nothing but the catalog (through its API) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin import catalog

__all__ = [
    "PARAMETERS",
    "STATIONS_PER_CITY",
    "generate_hourly",
    "generate_sites",
    "iter_hourly_chunks",
    "points_in_geometry",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Parameters generated, in output order; CO is in mg/m³, the others in µg/m³.
PARAMETERS: tuple[str, ...] = ("PM2.5", "PM10", "SO2", "NO2", "O3", "CO")

#: Stations per city: the counts of the national network (CNEMC) in the Chengdu Plain;
#: any other city gets ``DEFAULT_STATIONS``.
STATIONS_PER_CITY: dict[int, int] = {510100: 10, 511400: 6, 512000: 5}
DEFAULT_STATIONS = 4

_CST_OFFSET = pd.Timedelta(hours=8)
_HOURS_PER_DAY = 24


# --------------------------------------------------------------------------------------------
# Climatology (the calibration targets; see docs/demo-data.md)
# --------------------------------------------------------------------------------------------

#: Annual mean of each parameter in the reference city (Chengdu) [µg/m³; CO mg/m³].
#: PM2.5 40 µg/m³ is the assumed recent level (Chengdu's published annual means are about
#: 40 µg/m³ in recent years); the others are illustrative recent levels.
_ANNUAL_MEAN: dict[str, float] = {
    "PM2.5": 40.0,
    "PM10": 62.0,
    "SO2": 6.0,
    "NO2": 33.0,
    "O3": 62.0,
    "CO": 0.75,
}

#: Monthly mean PM2.5 relative to the annual mean, Jan … Dec: the mean of the two national
#: stations 草堂寺 and 沙河铺 in Chengdu, 2013–2015 (UCI "PM2.5 Data of Five Chinese Cities").
_PM25_MONTH = np.array(
    [162.5, 105.0, 94.0, 66.0, 66.0, 45.5, 44.0, 48.5, 44.5, 76.0, 57.5, 107.0]
) / (916.5 / 12)

#: Monthly relative means of the other primary pollutants (illustrative winter/summer contrast).
_MONTH_SHAPE: dict[str, FloatArray] = {
    "PM2.5": _PM25_MONTH,
    "SO2": np.array([1.25, 1.15, 1.05, 0.95, 0.9, 0.85, 0.8, 0.85, 0.9, 1.0, 1.1, 1.2]),
    "NO2": np.array([1.2, 0.95, 1.05, 0.95, 0.9, 0.8, 0.75, 0.8, 0.95, 1.1, 1.2, 1.3]),
    "CO": np.array([1.3, 1.2, 1.0, 0.9, 0.85, 0.85, 0.8, 0.8, 0.85, 0.95, 1.1, 1.3]),
}

#: PM2.5/PM10 mass ratio by month (lower in the dusty spring).
_PM_RATIO_MONTH = np.array([0.72, 0.68, 0.6, 0.56, 0.56, 0.6, 0.63, 0.63, 0.63, 0.66, 0.68, 0.72])

#: O3: night-time background [µg/m³] and mean afternoon photochemical increment [µg/m³] by month.
_O3_BASE_MONTH = np.array([22.0, 28, 36, 42, 44, 42, 40, 40, 36, 28, 22, 20])
_O3_PEAK_MONTH = np.array([30.0, 45, 75, 105, 132, 135, 135, 124, 88, 52, 32, 25])

#: Diurnal factors by hour-ending label (index 0 = 24:00, 1 = 01:00 … 23 = 23:00), mean 1.
#: PM2.5: the 2013–2015 Chengdu profile (both national stations), its labels read as
#: hour-beginning and moved one hour later to hour-ending (see docs/demo-data.md).
_DIURNAL_PM25 = np.array(
    [0.990, 1.020, 1.035, 1.055, 1.050, 1.055, 1.055, 1.060, 1.075, 1.100, 1.125, 1.135,
     1.100, 1.055, 0.995, 0.930, 0.895, 0.865, 0.850, 0.845, 0.885, 0.915, 0.950, 0.975]
)  # fmt: skip


def _bumps(peaks: list[tuple[float, float, float]], floor: float = 1.0) -> FloatArray:
    """A circular diurnal profile of Gaussian bumps (centre [h], width [h], height), mean 1."""
    hour = np.arange(_HOURS_PER_DAY, dtype=np.float64) - 0.5  # mid-point of the averaged hour
    profile = np.full(_HOURS_PER_DAY, floor)
    for centre, width, height in peaks:
        distance = (hour - centre + 12.0) % 24.0 - 12.0
        profile = profile + height * np.exp(-0.5 * (distance / width) ** 2)
    return np.asarray(profile / profile.mean(), dtype=np.float64)


_DIURNAL: dict[str, FloatArray] = {
    "PM2.5": _DIURNAL_PM25 / _DIURNAL_PM25.mean(),
    # traffic: morning and evening rush hours, afternoon mixing minimum
    "NO2": _bumps([(8.5, 1.6, 0.45), (21.0, 2.5, 0.6), (15.0, 2.5, -0.35)]),
    "CO": _bumps([(8.5, 1.8, 0.22), (21.0, 2.6, 0.25), (15.5, 2.5, -0.15)]),
    # elevated plumes mixed down around midday
    "SO2": _bumps([(11.5, 3.0, 0.35)]),
}

#: O3 night/morning factor on the background (titration by the morning traffic).
_O3_NIGHT = _bumps([(8.0, 1.8, -0.45)], floor=1.0)
_O3_PEAK_HOUR, _O3_PEAK_WIDTH = 15.0, 3.0  # centre of the photochemical bell [h, mid-hour]
_O3_DAILY_SD = 0.28  # day-to-day variability of the photochemical peak [ln]


@dataclass(frozen=True)
class _CityLevels:
    """Illustrative level of a city relative to Chengdu (not a published figure)."""

    pm: float = 0.9
    no2: float = 0.75
    so2: float = 1.2
    co: float = 0.95
    o3: float = 1.0
    episode: float = 1.0  # loading on the regional winter episodes


_CITY_LEVELS: dict[int, _CityLevels] = {
    510100: _CityLevels(pm=1.0, no2=1.0, so2=1.0, co=1.0, o3=1.0, episode=1.0),  # Chengdu
    510600: _CityLevels(pm=0.92, no2=0.8, so2=1.3, co=1.0, o3=0.98, episode=1.0),  # Deyang
    510700: _CityLevels(pm=0.82, no2=0.75, so2=1.1, co=0.95, o3=0.95, episode=0.9),  # Mianyang
    510900: _CityLevels(pm=0.8, no2=0.65, so2=1.0, co=0.9, o3=0.97, episode=0.9),  # Suining
    511100: _CityLevels(pm=0.98, no2=0.7, so2=1.8, co=1.0, o3=0.95, episode=1.0),  # Leshan
    511400: _CityLevels(pm=0.95, no2=0.7, so2=1.4, co=0.95, o3=1.02, episode=1.0),  # Meishan
    511800: _CityLevels(pm=0.72, no2=0.6, so2=1.2, co=0.85, o3=0.9, episode=0.75),  # Ya'an
    512000: _CityLevels(pm=0.85, no2=0.6, so2=1.0, co=0.9, o3=0.98, episode=0.95),  # Ziyang
}


@dataclass(frozen=True)
class _Noise:
    """Log-normal AR(1) components of one primary pollutant."""

    loading: float  # on the regional/city stagnation factor
    city_sd: float  # own city factor, standard deviation [ln]
    city_phi: float  # its hourly lag-1 autocorrelation
    station_sd: float  # station factor [ln]
    station_phi: float
    offset_sd: float  # constant station offset [ln]


_NOISE: dict[str, _Noise] = {
    "PM2.5": _Noise(1.0, 0.0, 0.9, 0.16, 0.8, 0.07),
    "PM10": _Noise(0.9, 0.0, 0.9, 0.16, 0.8, 0.08),  # plus a coarse-fraction factor
    "SO2": _Noise(0.35, 0.3, 0.95, 0.3, 0.8, 0.3),
    "NO2": _Noise(0.45, 0.2, 0.9, 0.25, 0.7, 0.2),
    "CO": _Noise(0.6, 0.15, 0.9, 0.18, 0.8, 0.15),
}

# Regional stagnation factor and city factors (hourly AR(1) in ln space).
_REGION_SD, _REGION_PHI = 0.44, 0.992
_CITY_SD, _CITY_PHI = 0.3, 0.975
_CITY_RANGE_KM = 150.0  # e-folding distance of the city-factor correlation [km]
_NORMALISE_DAYS = 45  # window of the moving mean that pins the seasonal profile [d]

# Winter episodes: (start month, end month exclusive) windows and mean counts per window.
_EPISODE_WINDOWS: tuple[tuple[int, int, float], ...] = ((1, 3, 5.0), (11, 13, 4.0))
_EPISODE_DAYS = (2.5, 7.0)  # duration of the build-up [d]
_EPISODE_LN = (0.25, 0.65)  # log amplitude at the end of the build-up
_EPISODE_CLEAR_H = 6.0  # e-folding time of the clean-out [h]

# Rain washout: events per day by month (wet summer) and the log drop of each event.
_RAIN_PER_DAY = np.array([0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.35, 0.3, 0.2, 0.12, 0.08])
_WASHOUT_LN = (0.2, 0.7)
_WASHOUT_H = 18.0  # e-folding recovery time [h]

# Gaps and bad values.
_GAP_RANDOM = 0.018  # fraction of single missing hours per series
_STATION_OUTAGES = 4.0  # mean count of whole-station outages per station and year
_ANALYSER_OUTAGES = 1.5  # mean count of single-analyser outages per series and year
_OUTAGE_MEDIAN_H, _OUTAGE_SIGMA = 10.0, 0.9  # log-normal outage length [h]
_NEGATIVES = 0.5  # mean count of negative values per series and year
_SPIKES = 0.3  # mean count of absurd spikes per series and year


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------


def _rings(geometry: dict[str, object]) -> list[FloatArray]:
    """All rings (outer and holes) of a GeoJSON Polygon or MultiPolygon, as (n, 2) arrays."""
    coordinates = geometry["coordinates"]
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    assert isinstance(polygons, list)
    return [np.asarray(ring, dtype=np.float64) for polygon in polygons for ring in polygon]


def points_in_geometry(
    lon: npt.ArrayLike, lat: npt.ArrayLike, geometry: dict[str, object]
) -> BoolArray:
    """Whether points lie inside a GeoJSON (Multi)Polygon (even-odd ray casting).

    Parameters
    ----------
    lon, lat : array-like
        Point coordinates. [°]
    geometry : dict
        GeoJSON geometry of type ``Polygon`` or ``MultiPolygon`` (lon/lat, RFC 7946). Holes are
        honoured by the even-odd rule.

    Returns
    -------
    numpy.ndarray of bool
        True for points strictly inside.
    """
    x = np.atleast_1d(np.asarray(lon, dtype=np.float64))[:, None]
    y = np.atleast_1d(np.asarray(lat, dtype=np.float64))[:, None]
    inside = np.zeros(x.shape[0], dtype=bool)
    for ring in _rings(geometry):
        x1, y1 = ring[:, 0][None, :], ring[:, 1][None, :]
        x2, y2 = np.roll(ring[:, 0], -1)[None, :], np.roll(ring[:, 1], -1)[None, :]
        straddles = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        crossings = np.count_nonzero(straddles & (x < x_cross), axis=1)
        inside ^= (crossings % 2).astype(bool)
    return inside


def generate_sites(region: catalog.Region, seed: int = 2025) -> pd.DataFrame:
    """Generate the region's national air stations, placed inside their city polygons.

    Each city gets the station count of the national network (Chengdu 10, Meishan 6, Ziyang 5,
    others 4; ``STATIONS_PER_CITY``), scattered around the city centre (the urban core) and
    kept inside the city's boundary polygon, outside every other city of the region, and at
    least about 1 km apart. Names and ids are generated (``成都-01 / Chengdu 01``, ``DM0101``):
    no real station code or name is used.

    Parameters
    ----------
    region : catalog.Region
        The region; its cities' boundaries come from ``catalog.boundaries(region)``.
    seed : int, default 2025
        Seed of the random generator; the same seed gives the same sites.

    Returns
    -------
    pandas.DataFrame
        One row per station: ``site_id`` (``DM`` + city number + station number),
        ``kind`` (``"air_station"``), ``level`` (``"national"``), ``city_code`` (int, GB/T
        2260), ``name_zh``, ``name_en``, ``lon`` [°] and ``lat`` [°] (WGS 84, 4 decimals).
    """
    rng = np.random.default_rng(seed)
    table = catalog.cities()
    features = {
        int(f["properties"]["code"]): f["geometry"] for f in catalog.boundaries(region)["features"]
    }
    rows: list[dict[str, object]] = []
    for city_no, code in enumerate(region.cities, start=1):
        city = table.loc[code]
        count = STATIONS_PER_CITY.get(code, DEFAULT_STATIONS)
        centre = city[["lon", "lat"]].to_numpy(dtype=np.float64)
        spread = 0.035 * np.sqrt(count / DEFAULT_STATIONS)  # [°]
        others = [g for c, g in features.items() if c != code]
        chosen: list[FloatArray] = []
        for _attempt in range(20):
            candidates = np.round(centre + rng.normal(0.0, spread, size=(64, 2)), 4)
            ok = np.ones(len(candidates), dtype=bool)
            if code in features:
                ok &= points_in_geometry(candidates[:, 0], candidates[:, 1], features[code])
            for geometry in others:
                ok &= ~points_in_geometry(candidates[:, 0], candidates[:, 1], geometry)
            for point in candidates[ok]:
                if len(chosen) < count and all(np.hypot(*(point - c)) >= 0.01 for c in chosen):
                    chosen.append(point)
            if len(chosen) == count:
                break
            spread *= 1.3
        else:  # pragma: no cover - only for a degenerate polygon
            raise ValueError(f"could not place {count} stations inside city {code}")
        short_zh, name_en = str(city["short_zh"]), str(city["name_en"])
        for station_no, (lon, lat) in enumerate(chosen, start=1):
            rows.append(
                {
                    "site_id": f"DM{city_no:02d}{station_no:02d}",
                    "kind": "air_station",
                    "level": "national",
                    "city_code": int(code),
                    "name_zh": f"{short_zh}-{station_no:02d}",
                    "name_en": f"{name_en} {station_no:02d}",
                    "lon": float(lon),
                    "lat": float(lat),
                }
            )
    frame = pd.DataFrame(rows)
    return frame.astype({"city_code": "int64", "lon": "float64", "lat": "float64"})


# --------------------------------------------------------------------------------------------
# Hourly series
# --------------------------------------------------------------------------------------------


def _year_hours(year: int) -> tuple[pd.DatetimeIndex, FloatArray, npt.NDArray[np.int64]]:
    """UTC hour-ending instants of a local (CST) year, the day of year [d] and the label hour.

    The first hour is labelled 01:00 CST on 1 January (``year-1``-12-31T17:00Z), the last
    24:00 CST on 31 December.
    """
    start = pd.Timestamp(year=year, month=1, day=1, hour=1, tz="UTC") - _CST_OFFSET
    n = (366 if pd.Timestamp(year=year, month=1, day=1).is_leap_year else 365) * _HOURS_PER_DAY
    times = pd.date_range(start, periods=n, freq="h", unit="us")
    elapsed = np.arange(n, dtype=np.float64) + 0.5  # mid-hour, hours since local 1 Jan 00:00
    label_hour = (np.arange(n, dtype=np.int64) + 1) % _HOURS_PER_DAY
    return times, elapsed / 24.0, label_hour


def _monthly_curve(monthly: FloatArray, day_of_year: FloatArray, days_in_year: int) -> FloatArray:
    """A smooth seasonal curve whose monthly means are the 12 given values.

    Cyclic linear interpolation between mid-month nodes; the nodes are solved so that the mean
    of the curve over each month (of equal length) is the given value, which keeps January's
    maximum from being flattened by the interpolation.
    """
    # the mean over month m of the piecewise-linear curve is (v[m-1] + 6 v[m] + v[m+1]) / 8
    weights = np.zeros((12, 12))
    for m in range(12):
        weights[m, [(m - 1) % 12, m, (m + 1) % 12]] = [1 / 8, 6 / 8, 1 / 8]
    nodes = np.linalg.solve(weights, np.asarray(monthly, dtype=np.float64))
    mid = (np.arange(12) + 0.5) * days_in_year / 12.0
    xp = np.concatenate([mid[-1:] - days_in_year, mid, mid[:1] + days_in_year])
    fp = np.concatenate([nodes[-1:], nodes, nodes[:1]])
    return np.asarray(np.interp(day_of_year, xp, fp), dtype=np.float64)


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sd: float) -> FloatArray:
    """Stationary Gaussian AR(1) series along the last axis (FFT convolution, no time loop).

    Parameters
    ----------
    shape : tuple of int
        Output shape; the last axis is time.
    phi : float
        Lag-1 autocorrelation.
    sd : float
        Marginal standard deviation.
    """
    n = shape[-1]
    if sd == 0.0:
        return np.zeros(shape)
    kernel_len = int(min(n, np.ceil(np.log(1e-9) / np.log(phi)))) if phi > 0 else 1
    innovations = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), size=(*shape[:-1], n + kernel_len))
    kernel = phi ** np.arange(kernel_len, dtype=np.float64)
    size = 1 << int(np.ceil(np.log2(n + 2 * kernel_len)))
    spectrum = np.fft.rfft(innovations, size, axis=-1) * np.fft.rfft(kernel, size)
    full = np.fft.irfft(spectrum, size, axis=-1)
    out = full[..., kernel_len : kernel_len + n]
    # the truncated burn-in leaves the first values slightly short of the stationary variance
    return np.asarray(out / np.sqrt(1.0 - phi ** (2 * kernel_len)), dtype=np.float64)


def _moving_mean(values: FloatArray, window: int) -> FloatArray:
    """Centred moving mean along the last axis, with mirrored ends."""
    half = window // 2
    padded = np.pad(values, [(0, 0)] * (values.ndim - 1) + [(half, half)], mode="reflect")
    cumulative = np.cumsum(padded, axis=-1)
    cumulative = np.concatenate([np.zeros((*values.shape[:-1], 1)), cumulative], axis=-1)
    return np.asarray(
        (cumulative[..., 2 * half + 1 :] - cumulative[..., : -2 * half - 1]) / (2 * half + 1),
        dtype=np.float64,
    )


def _episodes(rng: np.random.Generator, year: int, day_of_year: FloatArray) -> FloatArray:
    """Regional winter episodes [ln]: a slow build-up over days, then a clean-out in hours."""
    total = np.zeros_like(day_of_year)
    hours = day_of_year * 24.0
    for first, stop, mean_count in _EPISODE_WINDOWS:
        begin = pd.Timestamp(year=year, month=first, day=1).day_of_year - 1
        end = (
            pd.Timestamp(year=year, month=stop, day=1).day_of_year - 1
            if stop <= 12
            else 365 + int(pd.Timestamp(year=year, month=12, day=31).is_leap_year)
        )
        count = rng.poisson(mean_count)
        starts = rng.uniform(begin, end - 2.0, size=count) * 24.0
        durations = rng.uniform(*_EPISODE_DAYS, size=count) * 24.0
        amplitudes = rng.uniform(*_EPISODE_LN, size=count)
        for start, duration, amplitude in zip(starts, durations, amplitudes, strict=True):
            tau = hours - start
            build = np.clip(tau / duration, 0.0, 1.0) ** 1.5
            clear = np.exp(-np.clip(tau - duration, 0.0, None) / _EPISODE_CLEAR_H)
            total += amplitude * np.where(tau > 0, build * clear, 0.0)
    return np.minimum(total, 1.4)


def _washout(rng: np.random.Generator, day_of_year: FloatArray, days_in_year: int) -> FloatArray:
    """Regional rain washout [ln, ≤ 0]: sudden drops that recover over about a day.

    Rain events start at random hours, more often in the wet season (``_RAIN_PER_DAY``), each
    lowering the log concentration by ``_WASHOUT_LN`` and decaying with ``_WASHOUT_H``.
    """
    rate = _monthly_curve(_RAIN_PER_DAY, day_of_year, days_in_year) / 24.0
    starts = rng.random(day_of_year.size) < rate
    impulses = np.where(starts, rng.uniform(*_WASHOUT_LN, size=day_of_year.size), 0.0)
    kernel = np.exp(-np.arange(int(6 * _WASHOUT_H)) / _WASHOUT_H)
    drop = np.minimum(np.convolve(impulses, kernel)[: day_of_year.size], 1.2)
    return np.asarray(-drop, dtype=np.float64)


def _distance_km(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Pairwise great-circle-like (equirectangular) distances [km]."""
    x = np.radians(lon) * np.cos(np.radians(lat.mean())) * 6371.0
    y = np.radians(lat) * 6371.0
    return np.asarray(np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]))


def _correlated_ar1(
    rng: np.random.Generator, cholesky: FloatArray, n: int, phi: float, sd: float
) -> FloatArray:
    """AR(1) series for each city whose innovations are spatially correlated."""
    independent = _ar1(rng, (cholesky.shape[0], n), phi, sd)
    return np.asarray(cholesky @ independent, dtype=np.float64)


def _simulate(
    sites: pd.DataFrame, year: int, seed: int
) -> tuple[pd.DatetimeIndex, FloatArray, BoolArray]:
    """Values [site, parameter, hour] with bad values in place, and the mask of present hours."""
    rng = np.random.default_rng([seed, year])
    times, day_of_year, label_hour = _year_hours(year)
    n = len(times)
    days_in_year = n // 24
    n_sites = len(sites)
    city_codes = sites["city_code"].to_numpy(dtype=np.int64)
    cities, city_index = np.unique(city_codes, return_inverse=True)
    levels = [_CITY_LEVELS.get(int(c), _CityLevels()) for c in cities]

    # spatial correlation of the city factors
    lon = sites.groupby("city_code")["lon"].mean().loc[cities].to_numpy(dtype=np.float64)
    lat = sites.groupby("city_code")["lat"].mean().loc[cities].to_numpy(dtype=np.float64)
    cholesky = np.linalg.cholesky(np.exp(-_distance_km(lon, lat) / _CITY_RANGE_KM))

    # regional stagnation factor: shared AR(1) + city AR(1) + winter episodes [ln]
    regional = _ar1(rng, (n,), _REGION_PHI, _REGION_SD)
    episodes = _episodes(rng, year, day_of_year)
    loading = np.array([lv.episode for lv in levels])
    washout = _washout(rng, day_of_year, days_in_year)
    stagnation = (
        regional[None, :] + loading[:, None] * episodes[None, :] + washout[None, :]
    )  # [city, hour]
    city_factor = _correlated_ar1(rng, cholesky, n, _CITY_PHI, _CITY_SD)
    window = _NORMALISE_DAYS * 24 + 1

    values = np.empty((n_sites, len(PARAMETERS), n))
    diurnal_index = label_hour
    for p, parameter in enumerate(PARAMETERS):
        if parameter == "O3":
            continue
        source = "PM2.5" if parameter == "PM10" else parameter
        noise = _NOISE[parameter]
        # stagnation, normalised by its moving mean so that the seasonal curve sets the mean
        ln_stag = noise.loading * (stagnation + city_factor)
        stag = np.exp(ln_stag)
        stag /= _moving_mean(stag, window)
        own = _correlated_ar1(rng, cholesky, n, noise.city_phi, noise.city_sd)
        station = _ar1(rng, (n_sites, n), noise.station_phi, noise.station_sd)
        offset = rng.normal(0.0, noise.offset_sd, size=n_sites)
        # constant offsets average to zero within each city (the city mean is the target)
        offset -= _city_mean(offset, city_index)
        ln_noise = own[city_index] + station + offset[:, None]
        var = noise.city_sd**2 + noise.station_sd**2
        seasonal = _monthly_curve(_MONTH_SHAPE[source], day_of_year, days_in_year)
        level = np.array(
            [
                {"PM2.5": lv.pm, "PM10": lv.pm, "SO2": lv.so2, "NO2": lv.no2, "CO": lv.co}[
                    parameter
                ]
                for lv in levels
            ]
        )
        mean = _ANNUAL_MEAN[source] if parameter != "PM10" else _ANNUAL_MEAN["PM2.5"]
        series = (
            mean
            * level[city_index, None]
            * seasonal[None, :]
            * _DIURNAL[source][diurnal_index][None, :]
            * stag[city_index]
            * np.exp(ln_noise - var / 2.0)
        )
        if parameter == "PM10":
            ratio = _monthly_curve(_PM_RATIO_MONTH, day_of_year, days_in_year)
            coarse = _ar1(rng, (n_sites, n), 0.9, 0.18)
            pm10 = series / ratio[None, :] * np.exp(coarse - 0.18**2 / 2.0)
            # rescale to the annual target, keeping PM10 at or above PM2.5
            pm10 *= _ANNUAL_MEAN["PM10"] / (_ANNUAL_MEAN["PM2.5"] / np.mean(_PM_RATIO_MONTH))
            series = np.maximum(pm10, values[:, 0, :] + 1.0)
        values[:, p, :] = series

    # O3: background × titration + daily photochemical peak (spatially correlated)
    o3_level = np.array([lv.o3 for lv in levels])[city_index]
    base = _monthly_curve(_O3_BASE_MONTH, day_of_year, days_in_year)
    peak = _monthly_curve(_O3_PEAK_MONTH, day_of_year, days_in_year)
    daily = _correlated_ar1(rng, cholesky, days_in_year, 0.6, _O3_DAILY_SD)  # [city, day], ln
    photochemistry = np.exp(daily)
    photochemistry /= _moving_mean(photochemistry, _NORMALISE_DAYS)  # pins the seasonal curve
    photochemistry_hourly = np.repeat(photochemistry, 24, axis=1)
    # a winter stagnation day is a low-ozone day (titration, little sunshine)
    winter = np.clip((np.cos(2 * np.pi * (day_of_year - 15.0) / days_in_year) + 0.2) / 1.2, 0, 1)
    titration = np.exp(-0.35 * winter[None, :] * (stagnation + city_factor))
    titration /= _moving_mean(titration, window)
    hour_mid = (label_hour - 0.5) % 24.0
    bell = np.exp(-0.5 * (((hour_mid - _O3_PEAK_HOUR + 12.0) % 24.0 - 12.0) / _O3_PEAK_WIDTH) ** 2)
    station_o3 = _ar1(rng, (n_sites, n), 0.8, 0.12)
    offset_o3 = rng.normal(0.0, 0.08, size=n_sites)
    offset_o3 -= _city_mean(offset_o3, city_index)
    o3 = (
        base[None, :] * _O3_NIGHT[label_hour][None, :] * titration[city_index]
        + peak[None, :] * bell[None, :] * photochemistry_hourly[city_index]
    )
    o3 *= o3_level[:, None] * np.exp(station_o3 + offset_o3[:, None] - 0.12**2 / 2.0)
    values[:, PARAMETERS.index("O3"), :] = o3 * _ANNUAL_MEAN["O3"] / _o3_reference_mean()

    # round to the registry's published precision, never below one unit of it
    registry = catalog.parameters("air")
    all_decimals = registry.loc[list(PARAMETERS), "decimals"].to_numpy(dtype=np.int64)
    for p, decimals in enumerate(all_decimals.tolist()):
        step = 10.0**-decimals
        values[:, p, :] = np.maximum(np.round(values[:, p, :], decimals), step)

    present = _gaps(rng, values.shape)
    _bad_values(rng, values, present, registry)
    return times, values, present


def _city_mean(values: FloatArray, city_index: npt.NDArray[np.intp]) -> FloatArray:
    """The mean of per-station values over each station's city, per station."""
    sums = np.bincount(city_index, values)
    return np.asarray(sums[city_index] / np.bincount(city_index)[city_index], dtype=np.float64)


def _o3_reference_mean() -> float:
    """Expected annual mean of the unscaled O3 model for the reference city [µg/m³]."""
    days = np.arange(365, dtype=np.float64) + 0.5
    base = _monthly_curve(_O3_BASE_MONTH, days, 365).mean() * _O3_NIGHT.mean()
    hour_mid = np.arange(24) - 0.5
    bell = np.exp(-0.5 * (((hour_mid - _O3_PEAK_HOUR + 12.0) % 24.0 - 12.0) / _O3_PEAK_WIDTH) ** 2)
    peak = _monthly_curve(_O3_PEAK_MONTH, days, 365).mean() * bell.mean()
    return float(base + peak)


def _gaps(rng: np.random.Generator, shape: tuple[int, int, int]) -> BoolArray:
    """Mask of present hours: single missing hours, station outages and analyser outages."""
    n_sites, n_parameters, n = shape
    present = rng.random(shape) >= _GAP_RANDOM

    def outage_mask(n_series: int, mean_count: float) -> BoolArray:
        counts = rng.poisson(mean_count, size=n_series)
        owner = np.repeat(np.arange(n_series), counts)
        starts = rng.integers(0, n, size=owner.size)
        lengths = np.maximum(
            1, np.round(rng.lognormal(np.log(_OUTAGE_MEDIAN_H), _OUTAGE_SIGMA, owner.size))
        ).astype(np.int64)
        # difference array: +1 at the start, −1 after the end, cumulative sum marks the outage
        marks = np.zeros((n_series, n + 1), dtype=np.int64)
        np.add.at(marks, (owner, starts), 1)
        np.add.at(marks, (owner, np.minimum(starts + lengths, n)), -1)
        return np.cumsum(marks[:, :n], axis=1) > 0

    station_down = outage_mask(n_sites, _STATION_OUTAGES)
    analyser_down = outage_mask(n_sites * n_parameters, _ANALYSER_OUTAGES)
    present &= ~station_down[:, None, :]
    present &= ~analyser_down.reshape(shape)
    return present


def _bad_values(
    rng: np.random.Generator, values: FloatArray, present: BoolArray, registry: pd.DataFrame
) -> None:
    """Put a few negative values and absurd spikes in place (present, for validation to reject)."""
    n_sites, n_parameters, n = values.shape
    for kind, mean_count in (("negative", _NEGATIVES), ("spike", _SPIKES)):
        counts = rng.poisson(mean_count, size=n_sites * n_parameters)
        series = np.repeat(np.arange(n_sites * n_parameters), counts)
        site, parameter = np.divmod(series, n_parameters)
        hour = rng.integers(0, n, size=series.size)
        if kind == "negative":
            bad = -np.round(rng.uniform(1.0, 30.0, size=series.size))
        else:
            ceiling = registry.loc[list(PARAMETERS), "max_value"].to_numpy(dtype=np.float64)
            bad = np.where(ceiling[parameter] < 9999.0, 9999.0, 99999.0)
        values[site, parameter, hour] = bad
        present[site, parameter, hour] = True


def _frame(
    sites: pd.DataFrame, times: pd.DatetimeIndex, values: FloatArray, present: BoolArray
) -> pd.DataFrame:
    """The tidy long frame of one block of hours, ordered by time, site and parameter.

    Time-major order makes the concatenation of any chunking equal to the whole year.
    """
    n_sites, n_parameters, n = values.shape
    mask = present.transpose(2, 0, 1).ravel()
    rows = int(mask.sum())
    site_codes = np.tile(np.repeat(np.arange(n_sites), n_parameters), n)[mask]
    parameter_codes = np.tile(np.arange(n_parameters), n * n_sites)[mask]
    site_ids = pd.Index(sites["site_id"].astype("str").to_numpy())
    time_codes = np.repeat(np.arange(n), n_sites * n_parameters)[mask]
    return pd.DataFrame(
        {
            "site_id": pd.Series(site_ids.take(site_codes)),
            "parameter": pd.Series(pd.Index(list(PARAMETERS), dtype="str").take(parameter_codes)),
            "period": pd.Series(np.full(rows, "1h", dtype=object), dtype="str"),
            "time": pd.Series(times.take(time_codes)).astype("datetime64[us, UTC]"),
            "value": values.transpose(2, 0, 1).ravel()[mask],
            "flag": pd.Series(np.full(rows, None, dtype=object), dtype=object),
        }
    )


def _month_bounds(year: int, n: int) -> list[int]:
    """Index of the first hour (label 01:00 CST) of each local month, plus the end."""
    starts = [
        (pd.Timestamp(year=year, month=m, day=1).day_of_year - 1) * _HOURS_PER_DAY
        for m in range(1, 13)
    ]
    return [*starts, n]


def iter_hourly_chunks(
    sites: pd.DataFrame, year: int = 2025, seed: int = 2025, months_per_chunk: int = 1
) -> Iterator[pd.DataFrame]:
    """Generate the year of hourly data in time chunks of whole local months.

    The whole year's values are simulated once (about 17 MB of float64 for 40 stations), and
    the tidy frames, the memory-heavy part, are built one chunk at a time.

    Parameters
    ----------
    sites : pandas.DataFrame
        Stations as from :func:`generate_sites` (``site_id``, ``city_code``, ``lon`` [°],
        ``lat`` [°]).
    year : int, default 2025
        Local (CST) calendar year: hours labelled 01:00 on 1 January … 24:00 on 31 December.
    seed : int, default 2025
        Seed; the same sites, year and seed give identical frames.
    months_per_chunk : int, default 1
        Local months per chunk.

    Yields
    ------
    pandas.DataFrame
        Rows of :func:`generate_hourly` for the chunk's hours, ordered by time, site and
        parameter.
    """
    if months_per_chunk < 1:
        raise ValueError("months_per_chunk must be at least 1")
    times, values, present = _simulate(sites, year, seed)
    bounds = _month_bounds(year, len(times))
    for first in range(0, 12, months_per_chunk):
        i0, i1 = bounds[first], bounds[min(first + months_per_chunk, 12)]
        yield _frame(sites, times[i0:i1], values[:, :, i0:i1], present[:, :, i0:i1])


def generate_hourly(sites: pd.DataFrame, year: int = 2025, seed: int = 2025) -> pd.DataFrame:
    """Generate a year of hourly air-quality data for the stations.

    Parameters
    ----------
    sites : pandas.DataFrame
        Stations as from :func:`generate_sites` (``site_id``, ``city_code``, ``lon`` [°],
        ``lat`` [°]).
    year : int, default 2025
        Local (CST) calendar year: hours labelled 01:00 on 1 January … 24:00 on 31 December.
    seed : int, default 2025
        Seed; the same sites, year and seed give identical frames.

    Returns
    -------
    pandas.DataFrame
        Tidy long frame: ``site_id``; ``parameter`` (one of ``PARAMETERS``); ``period``
        (``"1h"``); ``time`` (datetime64[us, UTC], the end of the averaging hour: the hour
        labelled 01:00 CST on 1 January 2025 is 2024-12-31T17:00Z); ``value`` (float64,
        [µg/m³], CO [mg/m³]; missing hours are absent rows, bad values — negatives and spikes
        such as 9999 — are present as-is); ``flag`` (None). Equal to the concatenation of
        :func:`iter_hourly_chunks`.
    """
    chunks = list(iter_hourly_chunks(sites, year, seed, months_per_chunk=12))
    return chunks[0]
