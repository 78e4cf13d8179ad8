"""Forecast features (pure): city daily series, calendar, lags, rolling statistics, meteorology.

Conventions
-----------
* ``daily``: one row per city and China Standard Time day: ``city`` (str), ``day`` (naive
  ``datetime64``, midnight of the local day) and the daily indicator columns of the HJ 633 daily
  report: ``PM2.5``, ``PM10``, ``SO2``, ``NO2`` (24-h means) [µg/m³], ``CO`` [mg/m³], ``O3_8h``
  (daily maximum 8-h mean) and ``O3_1h`` (daily maximum 1-h) [µg/m³]; any may be absent.
* ``met``: one row per city and day: ``city``, ``day`` and meteorological columns
  (``temperature`` [°C], ``humidity`` [%], ``pressure`` [hPa], ``dew_point`` [°C],
  ``precipitation`` [mm/day], ``wind_speed`` [m/s], ``wind_u``/``wind_v`` (mean unit vector of the
  direction the wind blows from), ``blh`` [m] …): observed up to the issue day and forecast after
  (the "perfect forecast" of a backtest when the observed weather stands in).
* ``met`` may instead be the *meteorological forecasts as issued* (:data:`MET_FORECAST_COLUMNS`:
  ``city``, ``issued_at`` (UTC), ``day`` (valid CST day), ``variable``, ``value``): then the
  meteorology of a forecast issued on D is that of the latest issue with ``issued_at`` ≤ D's
  issue time (:func:`issue_cutoff`), per valid day — what was known when D's forecast was made
  (:func:`met_as_known`).
* A forecast issued on day D for lead h targets day D + h. Its features use pollutant values of
  days ≤ D only and meteorology of days ≤ D + h (the meteorological forecast), never later:
  :func:`make_features` builds every column with shifts of a complete day grid, and the tests
  check it by truncating the data after D.

References
----------
.. [1] HJ 633-2012 §5.1.2; HJ 633-2026 §4.2.2, §4.2.5 (daily forecasts computed like the daily
   report).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.catalog.workdays import package_calendar

__all__ = [
    "FORECAST_POLLUTANTS",
    "MET_FORECAST_COLUMNS",
    "FeatureSpec",
    "calendar_features",
    "city_daily_from_stations",
    "complete_grid",
    "daily_meteorology",
    "holidays",
    "issue_cutoff",
    "make_features",
    "met_as_known",
    "met_mode",
    "met_parameters",
    "rolling_by_city",
    "spring_festivals",
]

#: Pollutants a model can forecast, in the order of the HJ 633 daily report columns used here.
FORECAST_POLLUTANTS: tuple[str, ...] = ("PM2.5", "PM10", "O3_8h", "NO2", "SO2", "CO")
#: Meteorological parameters summed over the day (the others are averaged).
MET_SUMS: frozenset[str] = frozenset({"precipitation"})
#: Columns of meteorological forecasts as issued (``store.met_forecast.met_forecast_rows``).
MET_FORECAST_COLUMNS: tuple[str, ...] = ("city", "issued_at", "day", "variable", "value")
#: Prefix of the grid columns holding day D + k's meteorology as known on D: ``fck<k>__<name>``.
KNOWN_PREFIX = "fck"
#: Issue time of day D's forecast after D's CST midnight: the end of D, once D's data are in.
ISSUE_AFTER_MIDNIGHT = pd.Timedelta(hours=24)
#: Days to or from Spring Festival beyond which the festival is taken to have no effect.
SPRING_FESTIVAL_REACH = 30


@dataclass(frozen=True)
class FeatureSpec:
    """What :func:`make_features` builds.

    Attributes
    ----------
    lags : int
        Daily lags of the target pollutant (days D, D-1, … D-lags+1).
    windows : tuple of int
        Trailing rolling-mean windows [days] ending on D.
    use_met : bool
        Meteorology columns (of days D, T-1 and T = D + lead) when ``met`` is given.
    seasonal : bool
        The target's mean over the 31 days around T a year earlier (T - 380 … T - 350, all
        before D): a seasonal level the model can revert to, from past data only. Off by
        default: it did not lower the validation RMSE (Chengdu 2014, Beijing 2015-03 → 2016-02).
    """

    lags: int = 7
    windows: tuple[int, ...] = (3, 7, 14)
    use_met: bool = True
    seasonal: bool = False


def _read_table(name: str) -> pd.DataFrame:
    text = resources.files("ecobasin.forecast").joinpath("data", name).read_text("utf-8")
    return pd.read_csv(io.StringIO(text), comment="#")


@functools.cache
def holidays() -> pd.DataFrame:
    """Public-holiday blocks (``start``, ``end``, ``holiday``, names, ``source``).

    From ``forecast/data/holidays_cn.csv`` (国务院办公厅 yearly notices on holidays).
    """
    frame = _read_table("holidays_cn.csv")
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


@functools.cache
def spring_festivals() -> pd.DatetimeIndex:
    """Spring Festival days (农历正月初一) from ``forecast/data/spring_festival_cn.csv``."""
    return pd.DatetimeIndex(pd.to_datetime(_read_table("spring_festival_cn.csv")["date"]))


def _holiday_flags(days: pd.DatetimeIndex) -> npt.NDArray[np.int8]:
    """1 inside a holiday block: the packaged State Council calendar (chinese-calendar, the
    source of the case deadlines too, issue 18) for the years it covers, the CSV table before."""
    calendar = package_calendar()
    blocks = np.array(sorted(calendar.holiday_block_days()), dtype="datetime64[D]")
    d = days.to_numpy().astype("datetime64[D]")
    flag = np.isin(d, blocks).astype(np.int8)
    years = days.year.to_numpy()
    older = years < calendar.first_year
    if older.any():
        table = holidays()
        for start, end in zip(table["start"], table["end"], strict=True):
            lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
            flag[older & (d >= lo) & (d <= hi)] = 1
    return flag


def _spring_festival_offset(days: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Signed days from the nearest Spring Festival, clipped to ±SPRING_FESTIVAL_REACH."""
    sf = spring_festivals().to_numpy().astype("datetime64[D]").astype(np.int64)
    d = days.to_numpy().astype("datetime64[D]").astype(np.int64)
    diff = d[:, None] - sf[None, :]
    nearest = diff[np.arange(len(d)), np.abs(diff).argmin(axis=1)]
    reach = SPRING_FESTIVAL_REACH
    out: npt.NDArray[np.float64] = np.clip(nearest, -reach - 1, reach + 1).astype(np.float64)
    return out


def calendar_features(days: pd.DatetimeIndex | pd.Series) -> pd.DataFrame:
    """Calendar of target days: season, weekday, public holidays, Spring Festival.

    Parameters
    ----------
    days : DatetimeIndex or Series of datetime64
        Local (CST) days.

    Returns
    -------
    pandas.DataFrame
        ``doy_sin``, ``doy_cos`` (annual cycle), ``dow`` (0 = Monday), ``weekend``,
        ``holiday`` (in a public-holiday block), ``spring_festival`` (signed days from the
        nearest Spring Festival, clipped at ±31), one row per day, same order.
    """
    idx = pd.DatetimeIndex(days)
    angle = 2 * np.pi * (idx.day_of_year.to_numpy() - 1) / 365.25
    dow = idx.day_of_week.to_numpy()
    return pd.DataFrame(
        {
            "doy_sin": np.sin(angle),
            "doy_cos": np.cos(angle),
            "dow": dow.astype(np.int8),
            "weekend": (dow >= 5).astype(np.int8),
            "holiday": _holiday_flags(idx),
            "spring_festival": _spring_festival_offset(idx),
        }
    )


def daily_meteorology(met: pd.DataFrame) -> pd.DataFrame:
    """City daily meteorology from stored rows (hourly or daily).

    Parameters
    ----------
    met : pandas.DataFrame
        ``city_code`` (or ``city``), ``parameter``, ``time`` (tz-aware UTC, end of the period)
        and ``value``, as :meth:`ecobasin.store.Store.meteorology` returns them.
        ``wind_direction`` [° from north, the direction the wind blows from] becomes the mean
        unit vector ``wind_u``/``wind_v``; ``precipitation`` is summed, the rest averaged.

    Returns
    -------
    pandas.DataFrame
        ``city`` (str), ``day`` (CST day: hours 01:00 … 24:00) and one column per parameter.
    """
    if met.empty:
        return pd.DataFrame({"city": pd.Series(dtype=str), "day": pd.Series(dtype="M8[ns]")})
    city = met["city"] if "city" in met else met["city_code"]
    times = pd.DatetimeIndex(pd.to_datetime(met["time"], utc=True))
    local = times.tz_convert("Asia/Shanghai").tz_localize(None) - pd.Timedelta(hours=1)
    frame = pd.DataFrame(
        {
            "city": city.astype(str).to_numpy(),
            "day": local.normalize().as_unit("ns"),
            "parameter": met["parameter"].astype(str).to_numpy(),
            "value": met["value"].astype(float).to_numpy(),
        }
    )
    wind = frame["parameter"] == "wind_direction"
    rad = np.deg2rad(frame.loc[wind, "value"].to_numpy())
    parts = [
        frame[~wind],
        frame[wind].assign(parameter="wind_u", value=np.sin(rad)),
        frame[wind].assign(parameter="wind_v", value=np.cos(rad)),
    ]
    frame = pd.concat(parts, ignore_index=True)
    sums = frame["parameter"].isin(MET_SUMS)
    keys = ["city", "day", "parameter"]
    mean = frame[~sums].groupby(keys)["value"].mean()
    total = frame[sums].groupby(keys)["value"].sum(min_count=1)
    wide = pd.concat([mean, total]).unstack("parameter")
    wide.columns = [str(c) for c in wide.columns]
    out: pd.DataFrame = wide.reset_index().sort_values(["city", "day"], ignore_index=True)
    return out


def issue_cutoff(
    days: pd.DatetimeIndex | pd.Series, after_midnight: pd.Timedelta = ISSUE_AFTER_MIDNIGHT
) -> pd.DatetimeIndex:
    """The issue time of forecasts issued on CST days ``days`` [UTC instants].

    A forecast issued on D is made once D's data are in: by default at the end of D
    (24:00 CST = 16:00 UTC of D). Meteorological forecasts issued at or before this instant
    are known to it.
    """
    local = pd.DatetimeIndex(pd.to_datetime(days)).normalize() + after_midnight
    return local.tz_localize("Asia/Shanghai").tz_convert("UTC")


def _met_forecast_daily(fc: pd.DataFrame) -> pd.DataFrame:
    """Tidy met forecasts with wind direction as its unit vector (``wind_u``, ``wind_v``)."""
    frame = pd.DataFrame(
        {
            "city": fc["city"].astype(str).to_numpy(),
            "issued_at": pd.to_datetime(fc["issued_at"], utc=True).to_numpy(),
            "day": pd.to_datetime(fc["day"]).to_numpy().astype("datetime64[ns]"),
            "variable": fc["variable"].astype(str).to_numpy(),
            "value": fc["value"].astype(float).to_numpy(),
        }
    )
    wind = frame["variable"] == "wind_direction"
    rad = np.deg2rad(frame.loc[wind, "value"].to_numpy())
    return pd.concat(
        [
            frame[~wind],
            frame[wind].assign(variable="wind_u", value=np.sin(rad)),
            frame[wind].assign(variable="wind_v", value=np.cos(rad)),
        ],
        ignore_index=True,
    )


def met_as_known(
    fc: pd.DataFrame,
    index: pd.MultiIndex,
    max_lead: int = 7,
    after_midnight: pd.Timedelta = ISSUE_AFTER_MIDNIGHT,
) -> pd.DataFrame:
    """Meteorology of days D … D + ``max_lead`` as forecast by the latest issue known on D.

    Parameters
    ----------
    fc : pandas.DataFrame
        Met forecasts as issued (:data:`MET_FORECAST_COLUMNS`; ``wind_direction`` [°]).
    index : pandas.MultiIndex
        (city, day) rows: the issue days D.
    max_lead : int
        Days ahead [days].
    after_midnight : pandas.Timedelta
        Issue time of D after its CST midnight (:func:`issue_cutoff`).

    Returns
    -------
    pandas.DataFrame
        On ``index``: column ``fck<k>__<variable>`` = the value for day D + k from the latest
        issue with ``issued_at`` ≤ D's issue time; NaN when no such issue covers that day.
        Nothing issued later is ever read (tests/forecast/test_met_forecast.py).
    """
    frame = _met_forecast_daily(fc)
    out = pd.DataFrame(index=index)
    if frame.empty:
        return out
    keys = index.to_frame(index=False)
    keys["city"] = keys["city"].astype(str)
    # one resolution (ns) on both sides: merge_asof refuses to mix them
    cutoff = issue_cutoff(pd.DatetimeIndex(keys["day"]), after_midnight).as_unit("ns")
    keys["cutoff"] = cutoff.tz_localize(None)
    right = frame.assign(
        issued_at=pd.DatetimeIndex(frame["issued_at"]).tz_convert("UTC").tz_localize(None)
    )
    right = right.sort_values("issued_at").rename(columns={"day": "valid"})
    right["issued_at"] = right["issued_at"].astype("datetime64[ns]")
    right["valid"] = right["valid"].astype("datetime64[ns]")
    day_ns = pd.DatetimeIndex(keys["day"]).as_unit("ns")
    for k in range(max_lead + 1):
        for variable, vr in right.groupby("variable", sort=True):
            left = keys.assign(valid=day_ns + pd.Timedelta(days=k))
            left["row"] = np.arange(len(left))
            hit = pd.merge_asof(
                left.sort_values("cutoff"),
                vr[["city", "valid", "issued_at", "value"]],
                left_on="cutoff",
                right_on="issued_at",
                by=["city", "valid"],
                direction="backward",
                allow_exact_matches=True,
            ).sort_values("row")
            out[f"{KNOWN_PREFIX}{k}__{variable}"] = hit["value"].to_numpy()
    return out


def complete_grid(
    daily: pd.DataFrame,
    met: pd.DataFrame | None = None,
    extra_days: int = 0,
    max_lead: int = 7,
) -> pd.DataFrame:
    """Daily values on a complete (city, day) grid, missing days as NaN rows.

    The grid of a city runs from its first day to ``extra_days`` after its last observed day
    (room for the targets of a forecast) or to its last meteorology day, whichever is later.
    Observed meteorology columns are joined as ``met_<parameter>``; meteorological forecasts as
    issued (``met`` with an ``issued_at`` column) as ``fck<k>__<parameter>``: day D + k as known
    on D, for k = 0 … ``max_lead`` (:func:`met_as_known`).
    """
    obs = daily.assign(city=daily["city"].astype(str), day=pd.to_datetime(daily["day"]))
    ends = obs.groupby("city")["day"].agg(["min", "max"])
    ends["max"] = ends["max"] + pd.Timedelta(days=extra_days)
    if met is not None and "issued_at" in met:
        grid = complete_grid(daily, None, extra_days)
        return grid.join(met_as_known(met, grid.index, max_lead))  # type: ignore[arg-type]
    m = None
    if met is not None and not met.empty:
        m = met.assign(city=met["city"].astype(str), day=pd.to_datetime(met["day"]))
        m = m[m["city"].isin(ends.index)]
        mend = m.groupby("city")["day"].max()
        ends["max"] = np.maximum(ends["max"], mend.reindex(ends.index).fillna(ends["max"]))
    index = pd.MultiIndex.from_tuples(
        [
            (c, d)
            for c, row in ends.iterrows()
            for d in pd.date_range(row["min"], row["max"], freq="D")
        ],
        names=["city", "day"],
    )
    grid = obs.set_index(["city", "day"]).reindex(index)
    if m is not None:
        mw = m.set_index(["city", "day"]).add_prefix("met_")
        grid = grid.join(mw[~mw.index.duplicated()], how="left")
    return grid


def _met_columns(grid: pd.DataFrame) -> list[str]:
    return [c for c in grid.columns if c.startswith("met_")]


def met_mode(met: pd.DataFrame | None) -> str:
    """Which meteorology ``met`` is: ``forecast`` (as issued, with ``issued_at``), ``observed``
    (the observed weather, a perfect forecast after the issue day) or ``none``."""
    if met is None or met.empty:
        return "none"
    return "forecast" if "issued_at" in met else "observed"


def met_parameters(grid: pd.DataFrame) -> list[str]:
    """Meteorological parameters on a grid, observed (``met_``) or as forecast (``fck0__``)."""
    known = f"{KNOWN_PREFIX}0__"
    names = [c[4:] for c in _met_columns(grid)]
    names += [c[len(known) :] for c in grid.columns if c.startswith(known)]
    return sorted(set(names))


def _known_met(grid: pd.DataFrame, name: str, k: int) -> pd.Series:
    column = f"{KNOWN_PREFIX}{k}__{name}"
    return grid[column] if column in grid else pd.Series(np.nan, index=grid.index)


def rolling_by_city(
    grid: pd.DataFrame, column: str, window: int, min_periods: int, how: str = "mean"
) -> pd.Series:
    """Trailing rolling ``how`` (``mean`` or ``std``) of ``column`` over ``window`` rows of each
    city of ``grid`` (index city, day; a city's days in order), aligned with ``grid``'s rows.

    One grouped rolling pass over all cities: its window kernel starts afresh at each city's
    first row, so every value is bit-for-bit that of a rolling per city (which cost one Python
    round per city and column through ``transform``)."""
    values = pd.Series(grid[column].to_numpy(), index=pd.RangeIndex(len(grid)))
    cities = grid.index.get_level_values("city")
    grouped = values.groupby(cities, sort=False).rolling(window, min_periods=min_periods)
    rolled = grouped.mean() if how == "mean" else grouped.std()
    by_row = rolled.droplevel(0).sort_index()  # back from city order to the grid's rows
    return pd.Series(by_row.to_numpy(), index=grid.index, name=column)


def make_features(
    grid: pd.DataFrame,
    target: str,
    lead: int,
    pollutants: Sequence[str],
    spec: FeatureSpec = FeatureSpec(),
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Features and target of forecasts issued on every grid day for one lead.

    Parameters
    ----------
    grid : pandas.DataFrame
        From :func:`complete_grid` (index city, day).
    target : str
        Pollutant column to forecast (``PM2.5``, ``O3_8h`` …).
    lead : int
        Days ahead (1 = tomorrow).
    pollutants : sequence of str
        Pollutants whose latest values (days D, D-1) are features too.
    spec : FeatureSpec

    Returns
    -------
    X : pandas.DataFrame
        Features, one row per (city, issue day D); uses pollutant data of days ≤ D and
        meteorology of days ≤ D + lead only.
    y : pandas.Series
        The target's value on D + lead (NaN when not observed or beyond the data).
    keys : pandas.DataFrame
        ``city``, ``issue_day``, ``target_day``.
    """
    if lead < 1:
        raise ValueError(f"lead must be ≥ 1 day, got {lead}")
    by_city = grid.groupby(level="city", sort=False)
    cols: dict[str, pd.Series] = {}
    series = grid[target] if target in grid else pd.Series(np.nan, index=grid.index)
    for k in range(spec.lags):
        cols[f"{target}_lag{k}"] = by_city[target].shift(k) if k else series
    for w in spec.windows:
        cols[f"{target}_mean{w}"] = rolling_by_city(grid, target, w, w // 2 + 1)
    cols[f"{target}_std7"] = rolling_by_city(grid, target, 7, 4, "std")
    if spec.seasonal:
        # the 31-day window ending T - 350 is centred a year before T; it ends before D
        month = rolling_by_city(grid, target, 31, 10)
        cols[f"{target}_lastyear"] = month.groupby(level="city", sort=False).shift(350 - lead)
    for p in pollutants:
        if p == target or p not in grid:
            continue
        cols[f"{p}_lag0"] = grid[p]
        cols[f"{p}_lag1"] = by_city[p].shift(1)
    days = pd.DatetimeIndex(grid.index.get_level_values("day"))
    target_days = days + pd.Timedelta(days=lead)
    cal = calendar_features(target_days)
    for c in cal.columns:
        cols[f"t_{c}"] = pd.Series(cal[c].to_numpy(), index=grid.index)
    if spec.use_met:
        # forecasts as issued: row D already holds D + k as known on D (no shift)
        for name in met_parameters(grid) if not _met_columns(grid) else []:
            at_t, at_d = _known_met(grid, name, lead), _known_met(grid, name, 0)
            cols[f"{name}_t"] = at_t
            cols[f"{name}_tm1"] = _known_met(grid, name, lead - 1)
            cols[f"{name}_d"] = at_d
            if name not in ("wind_u", "wind_v"):
                cols[f"{name}_delta"] = at_t - at_d
        for mc in _met_columns(grid):
            name = mc[len("met_") :]
            at_t = by_city[mc].shift(-lead)
            cols[f"{name}_t"] = at_t
            cols[f"{name}_tm1"] = by_city[mc].shift(-(lead - 1)) if lead > 1 else grid[mc]
            cols[f"{name}_d"] = grid[mc]
            if name not in ("wind_u", "wind_v"):
                cols[f"{name}_delta"] = at_t - grid[mc]
    X = pd.DataFrame(cols, index=grid.index).astype(np.float64)
    y = by_city[target].shift(-lead) if target in grid else pd.Series(np.nan, index=grid.index)
    keys = pd.DataFrame(
        {
            "city": grid.index.get_level_values("city").astype(str),
            "issue_day": days,
            "target_day": target_days,
        }
    )
    return X.reset_index(drop=True), y.reset_index(drop=True).astype(np.float64), keys


#: Station daily columns of the store's ``aqi_daily`` table → daily-report indicator names.
STATION_COLUMNS: dict[str, str] = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "o3_8h": "O3_8h",
    "o3_1h": "O3_1h",
    "no2": "NO2",
    "so2": "SO2",
    "co": "CO",
}


def city_daily_from_stations(stations: pd.DataFrame) -> pd.DataFrame:
    """City daily concentrations: the mean of the stations' daily values, GB/T 8170-rounded.

    Parameters
    ----------
    stations : pandas.DataFrame
        ``site_id``, ``city_code`` (or ``city``), ``day`` and the daily columns of
        ``aqi_daily`` (``pm25``, ``pm10``, ``o3_8h``, ``o3_1h``, ``no2``, ``so2``, ``co``) or
        their indicator names.

    Returns
    -------
    pandas.DataFrame
        ``city`` (str), ``day``, the indicator columns present, ``n_stations``.

    References
    ----------
    .. [1] HJ 663-2013 §5; HJ 633-2026 §4.2.1 (city value = mean of the stations).
    """
    from ecobasin.standards.air import city_daily

    frame = stations.rename(columns=STATION_COLUMNS)
    city = frame["city"] if "city" in frame else frame["city_code"]
    pols = [c for c in STATION_COLUMNS.values() if c in frame and frame[c].notna().any()]
    work = pd.DataFrame({"city": city.astype(str).to_numpy(), "date": frame["day"].to_numpy()})
    for p in pols:
        work[p.replace("O3_8h", "O3_8h_max").replace("O3_1h", "O3_1h_max")] = (
            frame[p].astype(float).to_numpy()
        )
    names = [p.replace("O3_8h", "O3_8h_max").replace("O3_1h", "O3_1h_max") for p in pols]
    out = city_daily(work, pollutants=names)
    out = out.rename(columns={"date": "day", "O3_8h_max": "O3_8h", "O3_1h_max": "O3_1h"})
    out["day"] = pd.to_datetime(out["day"]).astype("datetime64[ns]")
    return out.reset_index(drop=True)
