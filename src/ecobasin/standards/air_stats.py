"""Averages with validity: hourly, daily, 8-h moving, O3 MDA8, PM 24-h moving, monthly, annual.

Every kernel takes one pandas partition (a tidy hourly or daily frame) and returns a DataFrame;
inside, the data are laid on a dense ``(site, local day, 24 hours)`` grid and reduced with numpy
(cumulative sums for moving windows), never with Python loops over rows.

Time convention: ``time`` is a tz-aware UTC instant and hourly values are hour-ending (the local
10:00 value averages 09:00-10:00 China Standard Time); the local day of an hour-ending instant
``t`` is ``(t_local - 1 h).date()``, so a day is the hours labelled 01:00 … 24:00.

Aggregation runs on unrounded values; only reported statistics are rounded (brief §3.4).

References
----------
.. [1] GB 3095-2012 §6 Table 4 (= GB 3095-2026 §6.4 Table 4): data validity.
.. [2] HJ 663-2013 §6 (O3 daily maximum 8-h: 17 windows ending 08:00..24:00, ≥ 14 valid or the
   maximum above the limit), Appendix A (percentiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.air_tables import validity_rule
from ecobasin.standards.rounding import round_gbt8170

__all__ = [
    "POLLUTANTS",
    "daily_means",
    "hourly_from_minutes",
    "is_valid",
    "mda8_day",
    "moving_means",
    "period_means",
    "realtime_indicators",
]

#: Basic pollutants and their reporting decimals (CO in mg/m³).
POLLUTANTS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3", "PM10", "PM2.5")
DECIMALS: dict[str, int] = {"SO2": 0, "NO2": 0, "CO": 1, "O3": 0, "PM10": 0, "PM2.5": 0}

F64 = npt.NDArray[np.float64]
_HOUR_NS = 3600 * 10**9


def is_valid(
    stat: str,
    count: float | npt.ArrayLike,
    *,
    pollutant: str | None = None,
    month: int | npt.ArrayLike | None = None,
    value: float | npt.ArrayLike | None = None,
    limit: float | None = None,
) -> Any:
    """Whether a statistic has enough data (GB 3095 Table 4; HJ 663 §6).

    Parameters
    ----------
    stat : str
        ``"hourly_mean"`` (count = sampling minutes), ``"daily_mean"`` (valid hours),
        ``"o3_8h_window"`` (valid hours in the window), ``"o3_mda8"`` (valid 8-h windows),
        ``"monthly_mean"``, ``"annual_mean"``, ``"quarterly_mean"`` (valid days).
    count : int or array-like
        The count the rule is about.
    pollutant : str, optional
    month : int or array-like, optional
        Month number for ``"monthly_mean"`` (February needs 25 days, other months 27).
    value, limit : optional
        For ``"o3_mda8"``: a maximum above ``limit`` is valid whatever the count.

    Returns
    -------
    bool or numpy.ndarray of bool

    References
    ----------
    .. [1] GB 3095-2012 §6 Table 4; GB 3095-2026 §6.4 Table 4.
    .. [2] HJ 663-2013 §6 (O3 MDA8 exception).
    """
    rule = validity_rule(stat, pollutant)
    c = np.asarray(count)
    need: Any = rule["min"]
    if month is not None and "min_february" in rule:
        need = np.where(np.asarray(month) == 2, rule["min_february"], rule["min"])
    ok = c >= need
    if rule.get("valid_if_above_limit") and value is not None and limit is not None:
        with np.errstate(invalid="ignore"):
            ok = ok | (np.asarray(value, dtype=float) > limit)
    return bool(ok) if np.ndim(ok) == 0 else ok


# ---------------------------------------------------------------------------------------------
# grid
# ---------------------------------------------------------------------------------------------


@dataclass
class _Grid:
    sites: pd.Index
    day0: np.datetime64
    n_days: int
    site_code: npt.NDArray[np.intp]
    day_idx: npt.NDArray[np.intp]
    hour_pos: npt.NDArray[np.intp]
    values: dict[str, F64]  # (sites, days, 24)


def _hour_numbers(times: pd.Series) -> npt.NDArray[np.int64]:
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        raise ValueError("time must be tz-aware (UTC instants)")
    ns = idx.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8
    # local hour number since the epoch, hour-ending label
    return np.asarray(np.floor_divide(ns, _HOUR_NS) + 8, dtype=np.int64)


def _make_grid(hourly: pd.DataFrame, pollutants: Sequence[str]) -> _Grid:
    h = _hour_numbers(hourly["time"])
    start = h - 1  # hour-starting local hour number
    day = np.floor_divide(start, 24)
    pos = (start - day * 24).astype(np.intp)
    codes, sites = pd.factorize(hourly["site_id"], sort=True)
    d0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - d0 + 1 if len(day) else 0
    day_idx = (day - d0).astype(np.intp)
    values: dict[str, F64] = {}
    for p in pollutants:
        arr = np.full((len(sites), n_days, 24), np.nan)
        if p in hourly:
            v = hourly[p].to_numpy(dtype=np.float64, na_value=np.nan)
            v = np.where(v >= 0, v, np.nan)  # negative = invalid
            arr[codes, day_idx, pos] = v
        values[p] = arr
    return _Grid(
        pd.Index(sites), np.datetime64(d0, "D"), n_days, codes.astype(np.intp), day_idx, pos, values
    )


def _sum_count(arr: F64, axis: int) -> tuple[F64, npt.NDArray[np.int64]]:
    valid = ~np.isnan(arr)
    return np.where(valid, arr, 0.0).sum(axis=axis), valid.sum(axis=axis)


def _safe_div(num: F64, den: npt.NDArray[Any], ok: npt.NDArray[np.bool_]) -> F64:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=ok & (den > 0))
    return out


def _mda8_from_days(
    arr: F64, min_hours: int = 6
) -> tuple[F64, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """MDA8 over ``(..., 24)`` days: max mean, 1-based end hour of the max window, n valid."""
    valid = ~np.isnan(arr)
    z = np.zeros((*arr.shape[:-1], 1))
    cs = np.concatenate([z, np.cumsum(np.where(valid, arr, 0.0), axis=-1)], axis=-1)
    cc = np.concatenate([z, np.cumsum(valid, axis=-1)], axis=-1)
    s = cs[..., 8:25] - cs[..., 0:17]  # windows ending 08..24
    c = cc[..., 8:25] - cc[..., 0:17]
    ok = c >= min_hours
    means = _safe_div(s, c, ok)
    filled = np.where(ok, means, -np.inf)
    arg = np.argmax(filled, axis=-1)
    best = np.take_along_axis(filled, arg[..., None], axis=-1)[..., 0]
    nvalid = ok.sum(axis=-1)
    best = np.where(nvalid > 0, best, np.nan)
    return best, (arg + 8).astype(np.int64), nvalid.astype(np.int64)


def mda8_day(hourly_o3: Sequence[float | None], limit: float | None = None) -> dict[str, Any]:
    """O3 daily maximum 8-h mean of one local day, with validity.

    Parameters
    ----------
    hourly_o3 : sequence of 24 float or None
        Hour-ending values labelled 01:00 … 24:00 [µg/m³]; None or NaN = missing.
    limit : float, optional
        8-h limit [µg/m³] for the validity exception (e.g. 160 class 2, 100 class 1).

    Returns
    -------
    dict
        ``mda8_unrounded``, ``mda8`` (GB/T 8170 integer), ``argmax_window_end_hour``,
        ``n_windows`` (17), ``n_valid_windows``, ``max_of_valid_windows`` (rounded),
        ``mda8_valid``.

    References
    ----------
    .. [1] HJ 663-2013 §6; GB 3095-2012 Table 4 (≥ 6 values per 8-h window); GB 3095-2026 §3.9.
    """
    if len(hourly_o3) != 24:
        raise ValueError(f"need 24 hourly values, got {len(hourly_o3)}")
    arr = np.array([np.nan if v is None else float(v) for v in hourly_o3], dtype=float)
    arr = np.where(arr >= 0, arr, np.nan)
    best, end, nvalid = _mda8_from_days(arr[None, :])
    b = float(best[0])
    n = int(nvalid[0])
    rounded = None if np.isnan(b) else round_gbt8170(b, 0)
    min_windows = int(validity_rule("o3_mda8", "O3")["min"])
    valid = n >= min_windows or (rounded is not None and limit is not None and rounded > limit)
    r = None if rounded is None else int(rounded)
    return {
        "mda8_unrounded": None if np.isnan(b) else b,
        "mda8": r,
        "argmax_window_end_hour": None if np.isnan(b) else int(end[0]),
        "n_windows": 17,
        "n_valid_windows": n,
        "max_of_valid_windows": r,
        "mda8_valid": bool(valid),
    }


# ---------------------------------------------------------------------------------------------
# kernels on frames
# ---------------------------------------------------------------------------------------------


def hourly_from_minutes(minutes: pd.DataFrame, min_minutes: int | None = None) -> pd.DataFrame:
    """Hourly means from minute data with the ≥ 45 min rule.

    Parameters
    ----------
    minutes : pandas.DataFrame
        ``site_id``, ``time`` (tz-aware UTC instant at the end of each minute) and pollutant
        columns [µg/m³] (CO [mg/m³]).
    min_minutes : int, optional
        Minimum valid minutes (default from GB 3095 Table 4: 45).

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``time`` (hour-ending UTC instant), pollutant means (NaN when invalid)
        and ``n_<pollutant>`` minute counts.

    References
    ----------
    .. [1] GB 3095-2012 §6 Table 4 (1-h mean: ≥ 45 min of sampling).
    """
    need = int(validity_rule("hourly_mean")["min"]) if min_minutes is None else min_minutes
    pols = [p for p in minutes.columns if p not in ("site_id", "time")]
    t = pd.DatetimeIndex(minutes["time"]).tz_convert("UTC").ceil("h")
    keys = pd.DataFrame({"site_id": minutes["site_id"].to_numpy(), "time": t})
    vals = minutes[pols].where(minutes[pols] >= 0)
    g = pd.concat([keys, vals.reset_index(drop=True).set_axis(keys.index)], axis=1).groupby(
        ["site_id", "time"], sort=True
    )
    sums = g[pols].sum(min_count=1)
    counts = g[pols].count()
    out = (sums / counts.where(counts >= need)).reset_index()
    for p in pols:
        out[f"n_{p}"] = counts[p].to_numpy()
    return out


def daily_means(
    hourly: pd.DataFrame,
    *,
    pollutants: Sequence[str] = POLLUTANTS,
    o3_limit: float = 160.0,
) -> pd.DataFrame:
    """Daily statistics of each site and local day, with validity.

    Parameters
    ----------
    hourly : pandas.DataFrame
        ``site_id``, ``time`` (tz-aware UTC, hour-ending), pollutant columns [µg/m³]
        (CO [mg/m³]). Missing, NaN or negative values are invalid.
    pollutants : sequence of str
    o3_limit : float, default 160
        8-h limit [µg/m³] used by the MDA8 validity exception (160 class 2, 100 class 1).

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``date`` (local date), 24-h means of ``SO2, NO2, CO, PM10, PM2.5`` (NaN
        when < 20 valid hours), ``O3_1h_max`` (max 1-h, valid with ≥ 20 hours), ``O3_8h_max``
        (MDA8, NaN when invalid), ``n_hours_<p>``, ``n_o3_8h_windows``. Values unrounded.

    References
    ----------
    .. [1] GB 3095-2012 §6 Table 4 (24-h mean ≥ 20 h; 8-h mean ≥ 6 h).
    .. [2] HJ 663-2013 §6 (MDA8: 17 windows ending 08..24, ≥ 14 valid or above the limit).
    """
    pols = [p for p in pollutants if p in hourly]
    grid = _make_grid(hourly, pols)
    n_sites, n_days = len(grid.sites), grid.n_days
    out: dict[str, Any] = {
        "site_id": np.repeat(grid.sites.to_numpy(), n_days),
        "date": np.tile(grid.day0 + np.arange(n_days), n_sites),
    }
    min_h = int(validity_rule("daily_mean")["min"])
    for p in pols:
        arr = grid.values[p]
        s, c = _sum_count(arr, axis=2)
        if p != "O3":
            need = int(validity_rule("daily_mean", p)["min"])
            out[p] = _safe_div(s, c, c >= need).reshape(-1)
        else:
            mx = np.fmax.reduce(arr, axis=2)
            out["O3_1h_max"] = np.where(c >= min_h, mx, np.nan).reshape(-1)
            best, _, nvalid = _mda8_from_days(arr, int(validity_rule("o3_8h_window", "O3")["min"]))
            with np.errstate(invalid="ignore"):
                rounded = np.rint(np.nan_to_num(best, nan=-1.0))
            ok = is_valid(
                "o3_mda8",
                nvalid,
                pollutant="O3",
                value=np.where(np.isnan(best), -1.0, rounded),
                limit=o3_limit,
            )
            out["O3_8h_max"] = np.where(ok, best, np.nan).reshape(-1)
            out["n_o3_8h_windows"] = nvalid.reshape(-1)
        out[f"n_hours_{p}"] = c.reshape(-1)
    frame = pd.DataFrame(out)
    # keep only site-days that have any record
    present = np.zeros((n_sites, n_days), dtype=bool)
    present[grid.site_code, grid.day_idx] = True
    frame = frame.loc[present.reshape(-1)].reset_index(drop=True)
    frame["date"] = frame["date"].astype("datetime64[s]")
    return frame


def moving_means(
    hourly: pd.DataFrame,
    pollutant: str,
    window: int,
    min_count: int | None = None,
) -> F64:
    """Moving mean ending at each record's hour, aligned with the input rows.

    Parameters
    ----------
    hourly : pandas.DataFrame
        ``site_id``, ``time`` (tz-aware UTC, hour-ending), ``pollutant``.
    pollutant : str
    window : int
        Window length [h]: 8 for the O3 8-h moving mean, 24 for the PM 24-h moving mean.
    min_count : int, optional
        Valid hours needed: default 6 for 8 h (GB 3095 Table 4) and 20 for 24 h.

    Returns
    -------
    numpy.ndarray of float64
        One value per input row, NaN when invalid. Windows cross midnight.

    References
    ----------
    .. [1] HJ 633-2012 §5.1.3 (O3 8-h moving, PM 24-h moving means in the real-time report).
    .. [2] GB 3095-2012 §6 Table 4.
    """
    if min_count is None:
        min_count = (
            int(validity_rule("o3_8h_window")["min"])
            if window == 8
            else int(validity_rule("daily_mean", pollutant)["min"])
        )
    grid = _make_grid(hourly, [pollutant])
    arr = grid.values[pollutant].reshape(len(grid.sites), -1)
    valid = ~np.isnan(arr)
    z = np.zeros((arr.shape[0], 1))
    cs = np.concatenate([z, np.cumsum(np.where(valid, arr, 0.0), axis=1)], axis=1)
    cc = np.concatenate([z, np.cumsum(valid, axis=1)], axis=1)
    flat = grid.day_idx * 24 + grid.hour_pos  # index of each row's hour
    end = flat + 1
    beg = np.maximum(end - window, 0)
    s = cs[grid.site_code, end] - cs[grid.site_code, beg]
    c = cc[grid.site_code, end] - cc[grid.site_code, beg]
    return _safe_div(s, c, c >= min_count)


def realtime_indicators(hourly: pd.DataFrame, rule_set: str) -> pd.DataFrame:
    """Indicator columns of the real-time report from a tidy hourly frame.

    Parameters
    ----------
    hourly : pandas.DataFrame
        ``site_id``, ``time`` and ``SO2, NO2, CO, O3, PM10, PM2.5`` 1-h values.
    rule_set : str
        ``"HJ633-2012"`` adds ``O3_8h_moving``, ``PM10_24h_moving``, ``PM2.5_24h_moving`` and
        ``SO2_24h_moving``; ``"HJ633-2026"`` uses the six 1-h values.

    Returns
    -------
    pandas.DataFrame
        Input for :func:`ecobasin.standards.air.hourly_aqi`.

    References
    ----------
    .. [1] HJ 633-2012 §5.1.3; HJ 633-2026 §4.2.3.
    """
    # the times as an index, not to_numpy(): that boxed every tz-aware instant (~1/5 of a task)
    out = pd.DataFrame(
        {"site_id": hourly["site_id"].to_numpy(), "time": pd.DatetimeIndex(hourly["time"])}
    )
    for p in POLLUTANTS:
        if p in hourly:
            out[f"{p}_1h"] = hourly[p].to_numpy(dtype=np.float64, na_value=np.nan)
    if rule_set == "HJ633-2012":
        if "O3" in hourly:
            out["O3_8h_moving"] = moving_means(hourly, "O3", 8)
        for p in ("PM10", "PM2.5", "SO2"):
            if p in hourly:
                out[f"{p}_24h_moving"] = moving_means(hourly, p, 24)
    return out


def period_means(daily: pd.DataFrame, period: str = "year", by: str = "site_id") -> pd.DataFrame:
    """Monthly, quarterly or annual means of daily values, with validity counts.

    Parameters
    ----------
    daily : pandas.DataFrame
        ``by`` column, ``date`` and daily pollutant columns (e.g. from :func:`daily_means`).
    period : {"month", "quarter", "year"}
    by : str, default "site_id"

    Returns
    -------
    pandas.DataFrame
        ``by``, ``period`` (pandas Period), per pollutant the mean, ``n_<p>`` valid days and
        ``valid_<p>`` (monthly ≥ 27 days, February ≥ 25; annual ≥ 324; quarterly: every month
        valid).

    References
    ----------
    .. [1] GB 3095-2012 §6 Table 4.
    """
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[period]
    pols = [c for c in daily.columns if c in (*POLLUTANTS, "O3_8h_max", "O3_1h_max")]
    dates = pd.DatetimeIndex(daily["date"])
    per = dates.to_period(freq)
    frame = daily[[by, *pols]].copy()
    frame["period"] = per
    g = frame.groupby([by, "period"], sort=True)
    means = g[pols].mean()
    counts = g[pols].count()
    # the columns are gathered first and framed once (each column inserted into a frame
    # rebuilds its column index)
    columns: dict[str, Any] = {p: means[p] for p in pols}
    quarterly = freq == "Q" and bool(pols)
    quarters = _valid_quarters(daily[[by, *pols]], dates, by, means.index) if quarterly else {}
    for p in pols:
        columns[f"n_{p}"] = counts[p]
        base = "O3" if p.startswith("O3") else p
        if period == "month":
            months = pd.PeriodIndex(means.index.get_level_values("period")).month.to_numpy()
            columns[f"valid_{p}"] = is_valid(
                "monthly_mean", counts[p].to_numpy(), pollutant=base, month=months
            )
        elif period == "year":
            columns[f"valid_{p}"] = is_valid("annual_mean", counts[p].to_numpy(), pollutant=base)
        else:
            columns[f"valid_{p}"] = quarters[p]
    return pd.DataFrame(columns, index=means.index).reset_index()


def _valid_quarters(
    values: pd.DataFrame, dates: pd.DatetimeIndex, by: str, index: pd.Index
) -> dict[str, npt.NDArray[np.bool_]]:
    """Whether each ``by`` × quarter of ``index`` is valid for each pollutant column of
    ``values`` (all but ``by``): its three months each valid (GB 3095-2012 Table 4)."""
    pols = [c for c in values.columns if c != by]
    counts = values.assign(m=dates.to_period("M")).groupby([by, "m"])[pols].count().reset_index()
    months = counts["m"].dt.month.to_numpy()
    valid = pd.DataFrame(
        {
            p: is_valid(
                "monthly_mean",
                counts[p].to_numpy(),
                pollutant="O3" if p.startswith("O3") else p,
                month=months,
            )
            for p in pols
        }
    )
    valid[by] = counts[by]
    valid["period"] = counts["m"].dt.asfreq("Q")
    months_of = valid.groupby([by, "period"])
    complete = months_of[pols].all() & (months_of.size() == 3).to_numpy()[:, None]
    return {p: complete[p].reindex(index, fill_value=False).to_numpy() for p in pols}
