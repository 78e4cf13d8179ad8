"""Forecast AQI, its published range, level and primary pollutant (pure).

A daily forecast is published as an AQI range (e.g. 75–105), a level and a primary pollutant
(HJ 633-2026 §4.2.5: daily forecasts are computed like the daily report). Here the range comes
from the models' predictive quantiles, not a fixed width: IAQI is non-decreasing in each
concentration and AQI is the maximum IAQI, so the AQI of the lower (upper) pollutant quantiles is
the matching quantile of the AQI when the pollutants move together; the range is
``[AQI(lower quantiles), AQI(upper quantiles)]`` and always contains the central AQI.

The AQI is that of the forecast indicators (a forecast need not cover all six; under HJ 633-2012
the O3 1-h indicator is not forecast), computed with the rule set of the target day.

References
----------
.. [1] HJ 633-2012 §4.4, §5.1.2; HJ 633-2026 §4.2.2, §4.2.4, §4.2.5, §4.3.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.forecast.blend import most_probable_level, quantile_columns
from ecobasin.standards.air_index import aqi_arrays, aqi_level
from ecobasin.standards.air_tables import DEFAULT_SWITCH_DATE

__all__ = ["aqi_table", "forecast_aqi", "level_hits", "observed_aqi"]

_KEYS = ("model", "city", "issue_day", "lead", "target_day")


def _rule_sets(days: pd.Series) -> npt.NDArray[np.str_]:
    d = pd.to_datetime(days).to_numpy().astype("datetime64[D]")
    return np.where(d < np.datetime64(DEFAULT_SWITCH_DATE, "D"), "HJ633-2012", "HJ633-2026")


def aqi_table(concentrations: pd.DataFrame, days: pd.Series) -> pd.DataFrame:
    """Daily AQI, level and primary pollutant of rows of daily concentrations.

    Parameters
    ----------
    concentrations : pandas.DataFrame
        Daily indicator columns (``PM2.5``, ``PM10``, ``O3_8h``, ``O3_1h``, ``NO2``, ``SO2``
        [µg/m³], ``CO`` [mg/m³]); absent or NaN count as missing.
    days : pandas.Series
        The local day of each row (chooses HJ 633-2012 or -2026).

    Returns
    -------
    pandas.DataFrame
        ``aqi`` (float, NaN when no indicator), ``level`` (1–6, 0 when missing), ``primary``
        (``"PM2.5"``, ``"PM2.5,PM10"`` on ties, ``""`` when AQI ≤ 50), ``rule_set``. The AQI is
        that of the available indicators (no HJ 633-2026 §5.3.1 publication rule: a forecast
        names its AQI).
    """
    n = len(concentrations)
    primary = np.full(n, "", dtype=object)
    rules = _rule_sets(days.reset_index(drop=True))
    cols = {
        c: concentrations[c].to_numpy(dtype=np.float64, na_value=np.nan)
        for c in concentrations.columns
    }
    aqi = _daily_aqi(cols, rules, primary)
    return pd.DataFrame({"aqi": aqi, "level": _levels(aqi), "primary": primary, "rule_set": rules})


def _daily_aqi(
    cols: dict[str, npt.NDArray[np.float64]],
    rules: npt.NDArray[np.str_],
    primary: npt.NDArray[np.object_] | None = None,
) -> npt.NDArray[np.float64]:
    """Daily AQI of the rows of ``cols`` (NaN when no indicator), each under its rule set; the
    primary pollutants written into ``primary`` when given (:func:`aqi_table`)."""
    n = len(rules)
    aqi = np.full(n, np.nan)
    for rs in np.unique(rules):
        sel = rules == rs
        res = aqi_arrays({c: v[sel] for c, v in cols.items()}, str(rs), "daily", length=n)
        a = res.aqi_unpublished.astype(np.float64)
        a[a < 0] = np.nan
        aqi[sel] = a
        if primary is not None:
            iaqi = np.stack([res.iaqi[lab] for lab in res.labels])
            primary[sel] = _primary_names(iaqi, res.labels)
    return aqi


def _levels(aqi: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """AQI levels 1–6, 0 where the AQI is missing."""
    return aqi_level(np.where(np.isnan(aqi), -1, aqi)).astype(np.int64)


def _primary_names(iaqi: npt.NDArray[Any], labels: Sequence[str]) -> npt.NDArray[np.object_]:
    """Per day (a column of ``iaqi``, one row per label), the labels whose IAQI is the day's
    highest, joined by commas on ties; "" where that IAQI is 50 or below (no primary pollutant,
    as :func:`aqi_table` says). Joined once per pattern of ties: a table has few of them."""
    best = iaqi.max(axis=0)
    bits = ((iaqi == best) << np.arange(len(labels))[:, None]).sum(axis=0)
    patterns, inverse = np.unique(bits, return_inverse=True)
    joined = [",".join(lab for k, lab in enumerate(labels) if p >> k & 1) for p in patterns]
    names = np.array(joined, dtype=object)[inverse]
    names[best <= 50] = ""
    return names


def observed_aqi(daily: pd.DataFrame) -> pd.DataFrame:
    """Observed city daily AQI, level and primary pollutant (``city``, ``day`` + the columns
    of :func:`aqi_table`) from the city daily concentrations."""
    pols = [c for c in ("PM2.5", "PM10", "O3_8h", "O3_1h", "NO2", "SO2", "CO") if c in daily]
    table = aqi_table(daily[pols].reset_index(drop=True), daily["day"])
    out = pd.concat([daily[["city", "day"]].reset_index(drop=True), table], axis=1)
    out["city"] = out["city"].astype(str)
    return out


def level_hits(
    forecast: npt.ArrayLike,
    residuals: Sequence[float],
    observed: npt.ArrayLike,
    pollutant: str,
    days: pd.Series,
) -> npt.NDArray[np.bool_]:
    """Per day, whether the level most probable under ``forecast`` times the log ``residuals``
    (one per :data:`ecobasin.forecast.blend.QUANTILE_LEVELS` entry) is the observed one, both
    the IAQI level of ``pollutant`` alone (HJ 633-2012 §5.1.2, HJ 633-2026 §4.2.4: the level of
    the day's sub-index) [µg/m³, CO mg/m³]; False where either level is missing.

    The blend compares the level rules it may issue with this on its validation days.
    """
    f = np.clip(np.asarray(forecast, dtype=np.float64), 0, None)
    y = np.asarray(observed, dtype=np.float64)
    qs = np.expm1(np.log1p(f)[:, None] + np.asarray(residuals, dtype=np.float64)[None, :])
    n, k = qs.shape
    # the levels alone (no table, no primary pollutant): called per member and block in training
    rules = _rule_sets(pd.Series(days).reset_index(drop=True))
    stacked = _levels(_daily_aqi({pollutant: qs.ravel()}, np.repeat(rules, k))).reshape(n, k)
    issued = most_probable_level(stacked, stacked[:, k // 2])
    seen = _levels(_daily_aqi({pollutant: y}, rules))
    return np.asarray((issued > 0) & (seen > 0) & (issued == seen), dtype=np.bool_)


def _most_probable_levels(
    wide: pd.DataFrame, qcols: list[str], days: pd.Series, central_level: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    levels = []
    complete = np.ones(len(wide), dtype=bool)
    for q in qcols:
        conc = pd.DataFrame(wide[q]).reset_index(drop=True)
        conc.columns = pd.Index([str(c) for c in conc.columns])
        complete &= conc.notna().any(axis=1).to_numpy()
        levels.append(aqi_table(conc, days)["level"].to_numpy())
    stacked = np.stack(levels, axis=1).astype(np.int64)
    median = stacked[:, len(qcols) // 2]
    best = most_probable_level(stacked, median)
    return np.asarray(np.where(complete & (best > 0), best, central_level), dtype=np.int64)


#: the columns :func:`forecast_aqi` adds to the keys
_AQI_COLUMNS = (
    "aqi", "aqi_lower", "aqi_upper", "level", "level_lower", "level_upper", "primary", "rule_set",
)  # fmt: skip


def forecast_aqi(forecast: pd.DataFrame) -> pd.DataFrame:
    """AQI forecast with its range from a long forecast frame.

    Parameters
    ----------
    forecast : pandas.DataFrame
        Long frame (:data:`ecobasin.forecast.models.FORECAST_COLUMNS`, optionally ``model``):
        per pollutant ``value``, ``lower``, ``upper``, and optionally the predictive quantiles
        ``q05`` … ``q95`` (:func:`ecobasin.forecast.blend.quantile_columns`).

    Returns
    -------
    pandas.DataFrame
        Keys (``model`` when given, ``city``, ``issue_day``, ``lead``, ``target_day``) and
        ``aqi``, ``aqi_lower``, ``aqi_upper``, ``level``, ``level_lower``, ``level_upper``,
        ``primary``, ``rule_set``. With quantiles, ``level`` is the level most probable under
        the predictive distribution (the AQI of each quantile when the pollutants move
        together; :func:`ecobasin.forecast.blend.most_probable_level`), not the level of the
        central AQI; rows without quantiles keep the level of the central AQI.
    """
    keys = [k for k in _KEYS if k in forecast]
    qcols = [c for c in quantile_columns() if c in forecast]
    present = forecast.dropna(subset=["value"])  # a model with no value there issues nothing
    if present.empty:
        return pd.DataFrame(columns=[*keys, *_AQI_COLUMNS])
    wide = present.pivot_table(
        index=keys,
        columns="pollutant",
        values=["value", "lower", "upper", *qcols],
        aggfunc="first",
    )
    qcols = [q for q in qcols if q in set(wide.columns.get_level_values(0))]
    # a part all NaN (no range anywhere) is dropped by the pivot: bring it back as NaN
    pollutants = sorted(present["pollutant"].unique())
    wide = wide.reindex(
        columns=pd.MultiIndex.from_product([["value", "lower", "upper", *qcols], pollutants])
    )
    index = wide.index.to_frame(index=False)
    days = index["target_day"]
    out = index.copy()
    parts = {}
    for part in ("value", "lower", "upper"):
        conc = pd.DataFrame(wide[part]).reset_index(drop=True)
        conc.columns = pd.Index([str(c) for c in conc.columns])
        parts[part] = aqi_table(conc, days)
    out["aqi"] = parts["value"]["aqi"].to_numpy()
    out["aqi_lower"] = np.fmin(parts["lower"]["aqi"].to_numpy(), out["aqi"].to_numpy())
    out["aqi_upper"] = np.fmax(parts["upper"]["aqi"].to_numpy(), out["aqi"].to_numpy())
    out["level"] = parts["value"]["level"].to_numpy()
    out["level_lower"] = aqi_level(np.nan_to_num(out["aqi_lower"].to_numpy(), nan=-1))
    out["level_upper"] = aqi_level(np.nan_to_num(out["aqi_upper"].to_numpy(), nan=-1))
    if qcols:
        out["level"] = _most_probable_levels(wide, qcols, days, out["level"].to_numpy())
    out["primary"] = parts["value"]["primary"].to_numpy()
    out["rule_set"] = parts["value"]["rule_set"].to_numpy()
    return out
