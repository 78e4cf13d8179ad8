"""Assessment (HJ 663): percentiles, annual statistics, compliance, city values and rankings.

References
----------
.. [1] HJ 663-2013 §5 (single- and multi-item assessment, exceedance multiple, compliance rate),
   §6, Appendix A (percentile).
.. [2] GB 3095-2012 Table 1; GB 3095-2026 §4.4 Table 1 (transition and final limits).
.. [3] 城市环境空气质量排名技术规定 (环办监测〔2018〕19号): composite index and ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.air_index import daily_aqi
from ecobasin.standards.air_stats import DECIMALS, POLLUTANTS, is_valid
from ecobasin.standards.air_tables import composite_method, limit
from ecobasin.standards.rounding import round_gbt8170

__all__ = [
    "ANNUAL_STATISTICS",
    "annual_statistics",
    "attainment_rate",
    "city_daily",
    "city_ranking",
    "compliance",
    "composite_index",
    "exceed_multiple",
    "good_day_ratio",
    "grouped_percentile",
    "percentile",
    "rank_jointly",
]

F64 = npt.NDArray[np.float64]

#: HJ 663-2013 Table 1 annual statistics: (column in the daily frame, statistic, limit period).
ANNUAL_STATISTICS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "SO2": (("SO2", "mean", "annual"), ("SO2", "p98", "daily")),
    "NO2": (("NO2", "mean", "annual"), ("NO2", "p98", "daily")),
    "PM10": (("PM10", "mean", "annual"), ("PM10", "p95", "daily")),
    "PM2.5": (("PM2.5", "mean", "annual"), ("PM2.5", "p95", "daily")),
    "CO": (("CO", "p95", "daily"),),
    "O3": (("O3_8h_max", "p90", "mda8"),),
}


def percentile(values: npt.ArrayLike, p: float) -> float:
    """Percentile per HJ 663-2013 Appendix A (Hyndman-Fan type 7).

    ``k = 1 + (n - 1)·p%``, ``s = int(k)``, ``C_p = X(s) + (X(s+1) - X(s))·(k - s)``; NaN values
    are ignored.

    Parameters
    ----------
    values : array-like of float
    p : float
        Percent, 0-100.

    Returns
    -------
    float
        Unrounded percentile (NaN when no values).

    References
    ----------
    .. [1] HJ 663-2013 Appendix A, formula (A.1).
    """
    x = np.asarray(values, dtype=float)
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    if n == 0:
        return float("nan")
    # exact decimal arithmetic on the shortest representations: 1.5 + 0.1 * 0.05 = 1.505,
    # not 1.5050000000000001
    k = 1 + (n - 1) * Decimal(str(p)) / 100
    s = int(k)
    if s >= n:
        return float(x[-1])
    lo, hi = Decimal(str(float(x[s - 1]))), Decimal(str(float(x[s])))
    return float(lo + (hi - lo) * (k - s))


def grouped_percentile(values: npt.ArrayLike, groups: npt.ArrayLike, p: float) -> pd.Series:
    """HJ 663 Appendix A percentile of each group, vectorised (one sort for all groups).

    Parameters
    ----------
    values : array-like of float
        NaN values are ignored.
    groups : array-like
        Group key of each value.
    p : float
        Percent.

    Returns
    -------
    pandas.Series
        Unrounded percentile per group (index = sorted group keys).
    """
    v = np.asarray(values, dtype=float)
    codes, uniq = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    ok = ~np.isnan(v)
    v, codes = v[ok], codes[ok]
    order = np.lexsort((v, codes))
    v, codes = v[order], codes[order]
    n = np.bincount(codes, minlength=len(uniq))
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    # k = 1 + (n - 1)·p% in integer hundredths of a percent, so s and the fraction (k − s)
    # are exact (a float k can land a hair below an integer and pick the wrong X(s)).
    basis = round(p * 100)
    whole, part = np.divmod((n - 1) * basis, 10_000)
    s = 1 + whole
    lo_i = start + np.clip(s - 1, 0, None)
    hi_i = start + np.minimum(s, n - 1)
    res = np.full(len(uniq), np.nan)
    has = n > 0
    lo = v[np.clip(lo_i, 0, max(len(v) - 1, 0))] if len(v) else np.zeros(len(uniq))
    hi = v[np.clip(hi_i, 0, max(len(v) - 1, 0))] if len(v) else np.zeros(len(uniq))
    # one division at the end: exact for the integer and one-decimal values stations report
    res[has] = ((lo * 10_000 + (hi - lo) * part) / 10_000)[has]
    return pd.Series(res, index=pd.Index(uniq))


def exceed_multiple(conc: npt.ArrayLike, limit_value: npt.ArrayLike, decimals: int = 2) -> Any:
    """Exceedance multiple ``B = (C - S) / S``, only where ``C > S`` (else NaN / None).

    Parameters
    ----------
    conc : float or array-like
        Rounded statistic [µg/m³] ([mg/m³] for CO).
    limit_value : float or array-like
        Limit S in the same unit.
    decimals : int, default 2
        Reporting decimals (CNEMC practice, brief §3.4), rounded per GB/T 8170.

    Returns
    -------
    float, None or numpy.ndarray

    References
    ----------
    .. [1] HJ 663-2013 §5 (超标倍数).
    """
    c = np.asarray(conc, dtype=float)
    s = np.asarray(limit_value, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(c > s, (c - s) / s, np.nan)
    r = round_gbt8170(b, decimals)
    if np.ndim(r) == 0:
        f = float(r)
        return None if np.isnan(f) else f
    return r


def attainment_rate(n_compliant: npt.ArrayLike, n_valid: npt.ArrayLike, decimals: int = 1) -> Any:
    """Compliance (attainment) rate ``D = A / B × 100`` [%], 1 decimal (GB/T 8170).

    References
    ----------
    .. [1] HJ 663-2013 §5 (达标率).
    """
    a = np.asarray(n_compliant, dtype=float)
    b = np.asarray(n_valid, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(b > 0, a / b * 100.0, np.nan)
    r = round_gbt8170(d, decimals)
    if np.ndim(r) == 0:
        f = float(r)
        return None if np.isnan(f) else f
    return r


def good_day_ratio(daily_aqi_values: Sequence[float | None] | npt.ArrayLike) -> dict[str, Any]:
    """Good-day ratio (优良天数比例): days with AQI ≤ 100 over valid days [%].

    Missing days (None, NaN, negative) are not valid days.

    Returns
    -------
    dict
        ``percent`` (1 decimal), ``n_good``, ``n_valid``, ``n_heavy`` (AQI > 200).

    References
    ----------
    .. [1] HJ 663-2013 §5; HJ 633 level table (AQI ≤ 100 = 优 or 良).
    """
    a = np.array(
        [np.nan if v is None else v for v in np.asarray(daily_aqi_values, dtype=object).ravel()],
        dtype=float,
    )
    valid = a >= 0
    n_valid = int(valid.sum())
    n_good = int((valid & (a <= 100)).sum())
    return {
        "percent": attainment_rate(n_good, n_valid),
        "n_good": n_good,
        "n_valid": n_valid,
        "n_heavy": int((valid & (a > 200)).sum()),
    }


def _limit_kw(standard: str, zone_class: int, phase: str | None) -> dict[str, Any]:
    return {"standard": standard, "zone_class": zone_class, "phase": phase}


def compliance(
    pollutant: str,
    stats: Mapping[str, float | None],
    *,
    standard: str = "GB3095-2012",
    zone_class: int = 2,
    phase: str | None = None,
) -> dict[str, Any]:
    """Single-item assessment of one pollutant's annual statistics.

    Parameters
    ----------
    pollutant : str
    stats : mapping
        Any of ``annual_mean``, ``p98_daily``, ``p95_daily``, ``p90_mda8`` [µg/m³]
        ([mg/m³] CO); values are rounded to the reporting precision first.
    standard, zone_class, phase
        Limits: GB 3095-2012 class 1/2 or GB 3095-2026 transition/final.

    Returns
    -------
    dict
        ``compliant`` (all given statistics ≤ limit), and per statistic ``compliant_<s>``,
        ``limit_<s>`` and ``exceed_multiple_<s>`` (None when not exceeding); ``<s>`` is
        ``annual`` or the percentile name (``p95``, ``p98``, ``p90``).

    References
    ----------
    .. [1] HJ 663-2013 §5.1 (single item: compliant when ≤ the limit), Table 1.
    """
    dec = DECIMALS.get(pollutant, 0)
    out: dict[str, Any] = {}
    ok_all = True
    for key, value in stats.items():
        if value is None:
            continue
        if key == "annual_mean":
            short, period = "annual", "annual"
        else:
            short = key.split("_", 1)[0]
            period = "mda8" if key.endswith("mda8") else "daily"
        s = limit(pollutant, period, **_limit_kw(standard, zone_class, phase))
        c = round_gbt8170(float(value), dec)
        ok = bool(c <= s)
        ok_all &= ok
        out[f"compliant_{short}"] = ok
        out[f"limit_{short}"] = s
        out[f"exceed_multiple_{short}"] = exceed_multiple(c, s)
    out["compliant"] = ok_all
    return out


def annual_statistics(
    daily: pd.DataFrame,
    *,
    by: str = "site_id",
    standard: str = "GB3095-2012",
    zone_class: int = 2,
    phase: str | None = None,
) -> pd.DataFrame:
    """Annual statistics and compliance of each site (or city) and year.

    Parameters
    ----------
    daily : pandas.DataFrame
        ``by``, ``date`` and daily values ``SO2, NO2, CO, PM10, PM2.5`` (24-h means) and
        ``O3_8h_max`` (MDA8), NaN when invalid (e.g. from
        :func:`ecobasin.standards.air.daily_means`).
    by : str, default "site_id"
    standard, zone_class, phase
        Limits used for compliance.

    Returns
    -------
    pandas.DataFrame
        One row per ``by`` × ``year`` with, for each statistic ``<p>_<stat>`` (e.g.
        ``PM2.5_mean``, ``PM2.5_p95``, ``CO_p95``, ``O3_p90``): the rounded value, ``..._ok``
        (≤ limit) and ``..._exceed`` (multiple, NaN when compliant); ``n_days_<p>``,
        ``valid_<p>`` (≥ 324 days), ``compliant_<p>`` and ``compliant`` (all six, HJ 663
        multi-item assessment).

    References
    ----------
    .. [1] HJ 663-2013 §5, Table 1, Appendix A; GB 3095-2012 Table 4.
    """
    years = pd.DatetimeIndex(daily["date"]).year.to_numpy()
    bcode, buniq = pd.factorize(daily[by], sort=True)
    ycode, yuniq = pd.factorize(years, sort=True)
    combined = bcode.astype(np.int64) * max(len(yuniq), 1) + ycode
    ucomb, codes = np.unique(combined, return_inverse=True)
    index = pd.MultiIndex.from_arrays(
        [
            np.asarray(buniq)[ucomb // max(len(yuniq), 1)],
            np.asarray(yuniq)[ucomb % max(len(yuniq), 1)],
        ],
        names=[by, "year"],
    )
    n_rows = len(index)
    # the columns are gathered first and framed once: inserting ~60 columns one at a time
    # rebuilds the frame's column index each time (most of this function's CPU)
    columns: dict[str, Any] = {}
    comp_all = np.ones(n_rows, dtype=bool)
    for pol, stats in ANNUAL_STATISTICS.items():
        dec = DECIMALS[pol]
        comp = np.ones(n_rows, dtype=bool)
        col_n = None
        for col, stat, period in stats:
            if col not in daily:
                continue
            v = daily[col].to_numpy(dtype=float, na_value=np.nan)
            if stat == "mean":
                s = np.bincount(codes, weights=np.nan_to_num(v), minlength=n_rows)
                c = np.bincount(codes, weights=~np.isnan(v), minlength=n_rows)
                with np.errstate(invalid="ignore", divide="ignore"):
                    val = np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)
            else:
                p = float(stat[1:])
                val = grouped_percentile(v, codes, p).reindex(range(n_rows)).to_numpy()
            col_n = np.bincount(codes, weights=~np.isnan(v), minlength=n_rows).astype(np.int64)
            rounded = np.asarray(round_gbt8170(val, dec), dtype=float)
            lim = limit(pol, period, **_limit_kw(standard, zone_class, phase))
            name = f"{pol}_{stat}"
            columns[name] = rounded
            with np.errstate(invalid="ignore"):
                ok = rounded <= lim
            columns[f"{name}_ok"] = ok
            columns[f"{name}_exceed"] = exceed_multiple(rounded, lim)
            comp = comp & ok
        if col_n is not None:
            columns[f"n_days_{pol}"] = col_n
            columns[f"valid_{pol}"] = is_valid("annual_mean", col_n, pollutant=pol)
            columns[f"compliant_{pol}"] = comp
            comp_all = comp_all & comp
    columns["compliant"] = comp_all
    columns["standard"] = (
        standard if standard == "GB3095-2012" else f"{standard}/{phase or 'transition'}"
    )
    columns["zone_class"] = zone_class
    return pd.DataFrame(columns, index=index).reset_index()


def city_daily(
    station_daily: pd.DataFrame,
    station_city: Mapping[Any, Any] | pd.Series | None = None,
    *,
    pollutants: Sequence[str] = (*POLLUTANTS, "O3_8h_max", "O3_1h_max"),
) -> pd.DataFrame:
    """City daily concentrations: mean of the stations' values, then rounded (GB/T 8170).

    Parameters
    ----------
    station_daily : pandas.DataFrame
        ``site_id`` (or ``city`` already), ``date`` and daily pollutant columns.
    station_city : mapping or Series, optional
        Station → city; not needed when ``station_daily`` has a ``city`` column.
    pollutants : sequence of str

    Returns
    -------
    pandas.DataFrame
        ``city``, ``date``, rounded city concentrations, ``n_stations``.

    References
    ----------
    .. [1] HJ 663-2013 §5 (city value = arithmetic mean of the stations, then rounded);
       HJ 633-2026 §4.2.1 (AQI from that mean, not from station AQIs).
    """
    frame = station_daily
    if "city" not in frame:
        if station_city is None:
            raise ValueError("need a 'city' column or station_city")
        frame = frame.assign(city=frame["site_id"].map(station_city))
    pols = [p for p in pollutants if p in frame]
    g = frame.groupby(["city", "date"], sort=True)
    means = g[pols].mean()
    out = means.copy()
    for p in pols:
        base = "O3" if p.startswith("O3") else p
        out[p] = round_gbt8170(means[p].to_numpy(), DECIMALS[base])
    out["n_stations"] = g.size()
    return out.reset_index()


def composite_index(
    concentrations: pd.DataFrame | Mapping[str, Any],
    method: str = "CNEMC-2018",
) -> pd.DataFrame:
    """City composite index (环境空气质量综合指数) ``I_sum = Σ w_i · C_i / S_i``.

    Parameters
    ----------
    concentrations : DataFrame or mapping
        Columns ``SO2, NO2, PM10, PM2.5`` (period means), ``CO`` (95th percentile of daily
        means, [mg/m³]) and ``O3`` (90th percentile of MDA8) [µg/m³]; rounded per GB/T 8170
        before the division.
    method : str, default "CNEMC-2018"
        Weights and limits from ``composite_index.toml``; ``"HJ663-2026-unverified"`` is the
        unverified 2026 weighting (PM2.5 ×3, NO2 ×2, O3 ×2).

    Returns
    -------
    pandas.DataFrame
        ``I_<p>`` single indices (2 decimals), ``index`` (Σ of the unrounded weighted singles,
        2 decimals), ``max_single_index_pollutant``, ``method``.

    References
    ----------
    .. [1] 环办监测〔2018〕19号 城市环境空气质量排名技术规定.
    """
    m = composite_method(method)
    frame = (
        pd.DataFrame(concentrations)
        if isinstance(concentrations, pd.DataFrame)
        else pd.DataFrame(
            {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in concentrations.items()}
        )
    )
    dec = int(m["decimals"])
    total = np.zeros(len(frame))
    singles = {}
    for p, s in m["limits"].items():
        c = round_gbt8170(frame[p].to_numpy(dtype=float, na_value=np.nan), DECIMALS[p])
        i = np.asarray(c, dtype=float) / float(s)
        singles[p] = i
        total += float(m["weights"][p]) * i
    names = list(singles)
    mat = np.column_stack([singles[p] for p in names])
    columns: dict[str, Any] = {f"I_{p}": round_gbt8170(singles[p], dec) for p in names}
    columns["index"] = round_gbt8170(total, dec)
    with np.errstate(invalid="ignore"):
        arg = np.argmax(np.where(np.isnan(mat), -np.inf, mat), axis=1)
    columns["max_single_index_pollutant"] = [names[i] for i in arg]
    columns["method"] = method
    return pd.DataFrame(columns, index=frame.index)


def rank_jointly(values: pd.Series, ascending: bool = True) -> pd.Series:
    """Rank with ties ranked jointly (1, 2, 2, 4), NaN unranked (competition ranking).

    References
    ----------
    .. [1] 环办监测〔2018〕19号 (equal values share a rank).
    """
    return values.rank(method="min", ascending=ascending, na_option="keep").astype("Int64")


def city_ranking(
    city_daily_frame: pd.DataFrame,
    period: str = "year",
    *,
    method: str = "CNEMC-2018",
    rule_set: str | None = None,
) -> pd.DataFrame:
    """Rank cities for a month, quarter or year.

    Parameters
    ----------
    city_daily_frame : pandas.DataFrame
        ``city``, ``date`` and rounded daily city values (from :func:`city_daily`), optionally
        an ``aqi`` column (otherwise computed with :func:`daily_aqi`).
    period : {"month", "quarter", "year"}
    method : str, default "CNEMC-2018"
        Composite-index method.
    rule_set : str, optional
        AQI rule set for the good-day ratio (default: by date).

    Returns
    -------
    pandas.DataFrame
        ``city``, ``period``, period statistics (``SO2, NO2, PM10, PM2.5`` means, ``CO`` P95,
        ``O3`` P90 of MDA8), composite ``index``, ``good_day_percent``, and ranks
        ``rank_index`` (ascending), ``rank_good_days`` (descending), ``rank_<p>``; ties share
        the rank.

    References
    ----------
    .. [1] 环办监测〔2018〕19号; HJ 663-2013 Appendix A.
    """
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[period]
    df = city_daily_frame
    per = pd.DatetimeIndex(df["date"]).to_period(freq)
    key = pd.Series(list(zip(df["city"].to_numpy(), per.astype(str), strict=True)))
    codes, uniq = pd.factorize(key, sort=True)
    n = len(uniq)
    # the columns are gathered first and framed once (each column inserted into a frame
    # rebuilds its column index)
    columns: dict[str, Any] = {"city": [u[0] for u in uniq], "period": [u[1] for u in uniq]}

    def mean_of(col: str) -> F64:
        v = df[col].to_numpy(dtype=float, na_value=np.nan)
        s = np.bincount(codes, weights=np.nan_to_num(v), minlength=n)
        c = np.bincount(codes, weights=~np.isnan(v), minlength=n)
        return np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)

    for p in ("SO2", "NO2", "PM10", "PM2.5"):
        columns[p] = round_gbt8170(mean_of(p), DECIMALS[p])
    columns["CO"] = round_gbt8170(
        grouped_percentile(df["CO"].to_numpy(dtype=float, na_value=np.nan), codes, 95)
        .reindex(range(n))
        .to_numpy(),
        1,
    )
    o3col = "O3_8h_max" if "O3_8h_max" in df else "O3_8h"
    columns["O3"] = round_gbt8170(
        grouped_percentile(df[o3col].to_numpy(dtype=float, na_value=np.nan), codes, 90)
        .reindex(range(n))
        .to_numpy(),
        0,
    )
    res = pd.DataFrame(columns)
    ci = composite_index(res[["SO2", "NO2", "PM10", "PM2.5", "CO", "O3"]], method)
    if "aqi" in df:
        aqi = df["aqi"].to_numpy(dtype=float, na_value=np.nan)
    else:
        aqi = daily_aqi(df, rule_set)["aqi"].to_numpy(dtype=float, na_value=np.nan)
    valid = ~np.isnan(aqi)
    n_valid = np.bincount(codes, weights=valid, minlength=n)
    n_good = np.bincount(codes, weights=valid & (aqi <= 100), minlength=n)
    days = pd.DataFrame(
        {
            "n_valid_days": n_valid.astype(np.int64),
            "n_good_days": n_good.astype(np.int64),
            "good_day_percent": attainment_rate(n_good, n_valid),
        }
    )
    ranked = pd.concat([res, ci, days], axis=1)
    g = ranked.groupby("period", sort=False)
    ranks = {
        "rank_index": g["index"].rank(method="min").astype("Int64"),
        "rank_good_days": g["good_day_percent"].rank(method="min", ascending=False).astype("Int64"),
    }
    for p in ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3"):
        ranks[f"rank_{p}"] = g[p].rank(method="min").astype("Int64")
    return pd.concat([ranked, pd.DataFrame(ranks)], axis=1)
