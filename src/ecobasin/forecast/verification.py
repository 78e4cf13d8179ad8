"""Verification of the forecasts the platform issued, beside the simple baselines (pure).

Where :mod:`ecobasin.forecast.verify` scores a backtest's models, this module scores what was
*issued*: the stored forecasts of each issue day and lead, against the observations, with two
baselines built for the same issue days and target days from the observations alone:

* persistence — the issue day's observed daily value of each pollutant (DB32/T 4678-2024 §6
  calls it the "惯性预报" reference);
* climatology — the mean over the earlier years of the days within ±:data:`CLIMATOLOGY_HALF_WINDOW`
  days of the target day's day of year, only days on or before the issue day (no value from
  after the forecast was made enters its reference).

Scores by lead (:func:`lead_scores`) are those of :func:`ecobasin.forecast.verify.score_table`
(level accuracy, within one level, range hit rate, primary pollutant, RMSE/MAE/bias of PM2.5,
O3 and the AQI, POD/FAR/TS of AQI > 100 and > 200); each skill score
``1 - MSE(issued) / MSE(reference)`` (Murphy 1988) is computed on the cases where the issued
forecast, the reference and the observation all exist, so that a missing climatology (no
earlier year) makes the skill undefined, never flattering.

Hourly forecasts are scored by local hour of day (:func:`hour_of_day_scores`) beside hourly
persistence (the same local hour of the issue day), the floor of issue 21.

References
----------
.. [1] DB32/T 4678-2024 《环境空气质量预报评价规范》 §6.1, §6.2.
.. [2] Murphy A. H., "Skill scores based on the mean square error", Mon. Wea. Rev. 116 (1988)
   2417–2424.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.forecast.aqi_range import forecast_aqi, observed_aqi
from ecobasin.forecast.verify import continuous_scores, pair_with_observations, score_table

__all__ = [
    "BASELINES",
    "CLIMATOLOGY_HALF_WINDOW",
    "ISSUED",
    "SKILL_OF",
    "baseline_forecasts",
    "hour_of_day_scores",
    "issued_frames",
    "lead_scores",
    "mse_skill",
]

#: Member name of the forecasts as issued (the LightGBM blend the platform stored).
ISSUED = "issued"
#: The baselines, in the order tables show them.
BASELINES: tuple[str, ...] = ("persistence", "climatology")
#: Half width of the day-of-year window of the climatology [d] (15 days per earlier year).
CLIMATOLOGY_HALF_WINDOW = 7
#: Scores whose mean square error the skill scores compare: ``{label: (forecast, observed)}``.
SKILL_OF: dict[str, tuple[str, str]] = {
    "pm25": ("fc_PM2.5", "obs_PM2.5"),
    "aqi": ("aqi", "obs_aqi"),
}
#: Pollutants whose RMSE/MAE/bias are reported (daily O3 is the maximum 8-h mean).
SCORED_POLLUTANTS: tuple[str, ...] = ("PM2.5", "O3_8h")
_KEYS = ["city", "issue_day", "lead", "target_day"]


def issued_frames(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The AQI frame and the long pollutant frame of stored forecast rows (``forecasts``
    table: ``scope_id, issue_day, target_day, lead, parameter, value, lower, upper, level,
    primary_pollutant``), as member :data:`ISSUED`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        AQI: ``model, city, issue_day, lead, target_day, aqi, aqi_lower, aqi_upper, level,
        primary``; pollutants: ``model, city, issue_day, lead, target_day, pollutant, value``
        [µg/m³; CO mg/m³].
    """
    frame = rows.assign(
        model=ISSUED,
        city=rows["scope_id"].astype(str),
        issue_day=pd.to_datetime(rows["issue_day"]),
        target_day=pd.to_datetime(rows["target_day"]),
        lead=rows["lead"].astype(int),
    )
    aqi = frame[frame["parameter"] == "AQI"].rename(
        columns={"value": "aqi", "lower": "aqi_lower", "upper": "aqi_upper"}
    )
    aqi = aqi.assign(
        level=aqi["level"].fillna(0).astype(int),
        primary=aqi["primary_pollutant"].fillna("").astype(str),
    )
    pollutants = frame[frame["parameter"] != "AQI"].rename(columns={"parameter": "pollutant"})
    aqi_cols = ["model", *_KEYS, "aqi", "aqi_lower", "aqi_upper", "level", "primary"]
    return (
        aqi[aqi_cols].reset_index(drop=True),
        pollutants[["model", *_KEYS, "pollutant", "value"]].reset_index(drop=True),
    )


def _climatology_values(
    series: pd.Series, issue_days: pd.DatetimeIndex, target_days: pd.DatetimeIndex
) -> npt.NDArray[np.float64]:
    """Per (issue day, target day): the mean of ``series`` (indexed by day) over earlier
    years' days within the window of the target's day of year, days ≤ the issue day only."""
    values = series.to_numpy(dtype=np.float64)
    days = pd.DatetimeIndex(series.index)
    doy, years = days.day_of_year.to_numpy(), days.year.to_numpy()
    out = np.full(len(target_days), np.nan)
    for i, (issue, target) in enumerate(zip(issue_days, target_days, strict=True)):
        gap = np.abs(doy - target.day_of_year)
        near = np.minimum(gap, 365 - gap) <= CLIMATOLOGY_HALF_WINDOW
        pick = near & (years < target.year) & (days <= issue) & np.isfinite(values)
        if pick.any():
            out[i] = float(values[pick].mean())
    return out


def baseline_forecasts(daily: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Persistence and climatology for the (city, issue day, lead, target day) ``keys``.

    ``daily`` holds the observed city daily values (``city``, ``day`` and the indicator columns
    ``PM2.5``, ``PM10``, ``O3_8h``, ``NO2``, ``SO2``, ``CO`` present) [µg/m³; CO mg/m³].

    Returns
    -------
    pandas.DataFrame
        Long: ``model`` (``persistence`` / ``climatology``), ``city, issue_day, lead,
        target_day, pollutant, value``; NaN where the baseline has no data.
    """
    pollutants = [p for p in ("PM2.5", "PM10", "O3_8h", "NO2", "SO2", "CO") if p in daily]
    keys = keys[_KEYS].drop_duplicates().reset_index(drop=True)
    parts = []
    for city, group in keys.groupby("city", sort=True):
        mine = daily[daily["city"].astype(str) == str(city)].set_index("day").sort_index()
        issue = pd.DatetimeIndex(group["issue_day"])
        target = pd.DatetimeIndex(group["target_day"])
        for pollutant in pollutants:
            series = mine[pollutant] if pollutant in mine else pd.Series(dtype=float)
            today = series.reindex(issue).to_numpy(dtype=np.float64)
            clim = _climatology_values(series, issue, target)
            for model, value in (("persistence", today), ("climatology", clim)):
                parts.append(group.assign(model=model, pollutant=pollutant, value=value))
    if not parts:
        return pd.DataFrame(columns=["model", *_KEYS, "pollutant", "value"])
    return pd.concat(parts, ignore_index=True)[["model", *_KEYS, "pollutant", "value"]]


def _baseline_aqi(baselines: pd.DataFrame) -> pd.DataFrame:
    """AQI, level and primary pollutant of the baselines' concentrations (no range)."""
    usable = baselines.dropna(subset=["value"])
    if usable.empty:
        return pd.DataFrame(columns=["model", *_KEYS, "aqi", "aqi_lower", "aqi_upper", "level"])
    aqi = forecast_aqi(usable.assign(lower=usable["value"], upper=usable["value"]))
    # a baseline is a single value: it has no range to hit
    return aqi.assign(aqi_lower=np.nan, aqi_upper=np.nan)


def mse_skill(forecast: pd.Series, reference: pd.Series, observed: pd.Series) -> float:
    """``1 - MSE(forecast) / MSE(reference)`` [dimensionless; > 0: better than the reference,
    < 0: worse] over the cases where all three exist; NaN with none or a perfect reference."""
    f, r, o = (np.asarray(s, dtype=np.float64) for s in (forecast, reference, observed))
    ok = np.isfinite(f) & np.isfinite(r) & np.isfinite(o)
    if not ok.any():
        return float("nan")
    ref = float(np.mean((r[ok] - o[ok]) ** 2))
    return 1 - float(np.mean((f[ok] - o[ok]) ** 2)) / ref if ref > 0 else float("nan")


def _skills(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per lead, the skill of the issued forecast against each baseline (same cases)."""
    keys = ["city", "issue_day", "lead"]
    issued = pairs[pairs["model"] == ISSUED]
    rows = []
    for lead, mine in issued.groupby("lead", sort=True):
        row: dict[str, float] = {"lead": int(str(lead))}
        for ref in BASELINES:
            base = pairs[(pairs["model"] == ref) & (pairs["lead"] == lead)]
            for label, (fc, ob) in SKILL_OF.items():
                if fc not in mine or fc not in base:
                    row[f"skill_{label}_{ref}"] = float("nan")
                    continue
                both = mine[[*keys, fc, ob]].merge(
                    base[[*keys, fc]].rename(columns={fc: "_ref"}), on=keys, how="left"
                )
                row[f"skill_{label}_{ref}"] = mse_skill(both[fc], both["_ref"], both[ob])
        rows.append(row)
    return pd.DataFrame(rows)


def lead_scores(rows: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    """Every score of the issued forecasts and of both baselines per member and lead.

    Parameters
    ----------
    rows : stored forecast rows of the issued model (see :func:`issued_frames`).
    daily : observed city daily concentrations (see :func:`baseline_forecasts`), covering the
        issue days, the target days and, for the climatology, the earlier years.

    Returns
    -------
    pandas.DataFrame
        One row per ``model`` (:data:`ISSUED`, then :data:`BASELINES`) and ``lead``: the columns
        of :func:`ecobasin.forecast.verify.score_table` and, on every row of the lead, the
        issued forecast's ``skill_pm25_persistence``, ``skill_aqi_persistence``,
        ``skill_pm25_climatology``, ``skill_aqi_climatology``. Empty when nothing is paired.
    """
    if rows.empty:
        return pd.DataFrame()
    issued_aqi, issued = issued_frames(rows)
    baselines = baseline_forecasts(daily, issued_aqi)
    aqi = pd.concat([issued_aqi, _baseline_aqi(baselines)], ignore_index=True)
    long = pd.concat([issued, baselines], ignore_index=True)
    pollutants = [p for p in SCORED_POLLUTANTS if p in set(issued["pollutant"])]
    observed = daily.assign(city=daily["city"].astype(str))
    pairs = pair_with_observations(aqi, long, observed, observed_aqi(observed), pollutants)
    pairs = pairs[pairs["obs_aqi"].notna()]
    if pairs.empty:
        return pd.DataFrame()
    scores = score_table(pairs, ("model", "lead"), pollutants)
    order = {m: i for i, m in enumerate((ISSUED, *BASELINES))}
    scores = scores.merge(_skills(pairs), on="lead", how="left")
    scores = scores.sort_values(["model", "lead"], key=lambda s: s.map(order).fillna(s))
    return scores.reset_index(drop=True)


def hour_of_day_scores(forecast: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
    """RMSE/MAE/bias of stored hourly forecasts per pollutant and local hour of day, beside
    hourly persistence (the same local hour of the issue day) on the same hours.

    Parameters
    ----------
    forecast : ``city, lead_hour, time`` (UTC, end of the hour), ``local_hour`` (0–23, CST
        hour start), ``pollutant, value`` [µg/m³; CO mg/m³].
    observed : city hours (:func:`ecobasin.store.forecast.city_hourly`: ``city, time,
        pollutant, value``).

    Returns
    -------
    pandas.DataFrame
        ``pollutant, local_hour, n, rmse, mae, bias, persistence_rmse, skill_persistence``
        (``1 - MSE / MSE_persistence``).
    """
    columns = ["pollutant", "local_hour", "n", "rmse", "mae", "bias", "persistence_rmse"]
    if forecast.empty or observed.empty:
        return pd.DataFrame(columns=[*columns, "skill_persistence"])
    known = observed.assign(
        city=observed["city"].astype(str), time=pd.to_datetime(observed["time"])
    )
    obs = known.set_index(["city", "pollutant", "time"])["value"]
    obs = obs[~obs.index.duplicated()]
    fc = forecast.assign(city=forecast["city"].astype(str), time=pd.to_datetime(forecast["time"]))
    back = pd.to_timedelta(((fc["lead_hour"] - 1) // 24 + 1) * 24, unit="h")

    def look(times: pd.Series) -> npt.NDArray[np.float64]:
        index = pd.MultiIndex.from_arrays([fc["city"], fc["pollutant"], times])
        return np.asarray(obs.reindex(index).to_numpy(dtype=np.float64))

    fc = fc.assign(observed=look(fc["time"]), persistence=look(fc["time"] - back))
    paired = fc.dropna(subset=["value", "observed", "persistence"])
    rows = []
    for (pollutant, hour), group in paired.groupby(["pollutant", "local_hour"], sort=True):
        model = continuous_scores(group["value"], group["observed"])
        base = continuous_scores(group["persistence"], group["observed"])
        rows.append(
            {
                "pollutant": pollutant,
                "local_hour": int(str(hour)),
                **model,
                "persistence_rmse": base["rmse"],
                "skill_persistence": mse_skill(
                    group["value"], group["persistence"], group["observed"]
                ),
            }
        )
    return pd.DataFrame(rows, columns=[*columns, "skill_persistence"])
