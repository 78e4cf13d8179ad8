"""Forecast verification as Chinese forecasting centres score forecasts (pure).

Scores per model, city and lead (DB32/T 4678-2024 §6; CNEMC practice; Wang Xiaoyan et al. 2022):

* AQI level accuracy: the forecast level (of the central AQI) equals the observed level; also
  "within one level" (|forecast - observed| ≤ 1).
* AQI range hit rate: the observed AQI lies in the forecast range ``[lower, upper]``.
* Primary-pollutant accuracy: on days with observed AQI > 50, the forecast names one of the
  observed primary pollutants (ties: any shared pollutant is a hit).
* RMSE, MAE and bias (forecast - observed) of PM2.5, O3 (daily maximum 8-h) and AQI.
* Events AQI > 100 and AQI > 200: POD = hits / (hits + misses), FAR = false alarms / (hits +
  false alarms), TS = hits / (hits + misses + false alarms).
* Skill scores against persistence and climatology of the same run (Murphy 1988):
  ``1 - MSE(model) / MSE(reference)`` of PM2.5 and of the AQI, per lead (and city).
* Hourly forecasts (issue 21): RMSE, MAE and bias by pollutant and lead hour beside hourly
  persistence (the same hour of the issue day), and the error of the hour of the O3 peak.

References
----------
.. [1] DB32/T 4678-2024 《环境空气质量预报评价规范》 §6.1, §6.2.
.. [2] Wang Xiaoyan et al., 环境科学 2022, 43(7): 3396.
.. [3] Murphy A. H., "Skill scores based on the mean square error", Mon. Wea. Rev. 116 (1988)
   2417–2424.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "EVENT_THRESHOLDS",
    "continuous_scores",
    "event_scores",
    "hourly_scores",
    "level_accuracy",
    "pair_with_observations",
    "peak_hour_error",
    "primary_accuracy",
    "range_hit_rate",
    "score_table",
    "skill_scores",
    "within_one_level",
]

#: AQI thresholds of the event scores (strictly above: light pollution, heavy pollution).
EVENT_THRESHOLDS: tuple[int, ...] = (100, 200)

Array = npt.ArrayLike


def _valid(*arrays: Array) -> tuple[npt.NDArray[np.float64], ...]:
    arrs = [np.asarray(a, dtype=np.float64) for a in arrays]
    ok = np.ones(arrs[0].shape, dtype=bool)
    for a in arrs:
        ok &= ~np.isnan(a)
    return tuple(a[ok] for a in arrs)


def level_accuracy(forecast_level: Array, observed_level: Array) -> float:
    """Share of days whose forecast AQI level equals the observed one (levels 1–6; 0 or NaN =
    missing, left out)."""
    f, o = _valid(forecast_level, observed_level)
    ok = (f > 0) & (o > 0)
    return float(np.mean(f[ok] == o[ok])) if ok.any() else float("nan")


def within_one_level(forecast_level: Array, observed_level: Array) -> float:
    """Share of days whose forecast level is within one level of the observed one."""
    f, o = _valid(forecast_level, observed_level)
    ok = (f > 0) & (o > 0)
    return float(np.mean(np.abs(f[ok] - o[ok]) <= 1)) if ok.any() else float("nan")


def range_hit_rate(observed: Array, lower: Array, upper: Array) -> float:
    """Share of days whose observed AQI lies in the forecast range (bounds included)."""
    o, lo, hi = _valid(observed, lower, upper)
    return float(np.mean((o >= lo) & (o <= hi))) if o.size else float("nan")


def primary_accuracy(
    forecast: Sequence[str], observed: Sequence[str], observed_aqi: Array
) -> float:
    """Share of days with observed AQI > 50 whose forecast primary pollutant is an observed one.

    ``forecast`` and ``observed`` hold comma-separated pollutant names (ties); an empty
    forecast (forecast AQI ≤ 50) is a miss.
    """
    aqi = np.asarray(observed_aqi, dtype=np.float64)
    hits, n = 0, 0
    for f, o, a in zip(forecast, observed, aqi, strict=True):
        if not a > 50 or not isinstance(o, str) or not o:
            continue
        n += 1
        fs = set(f.split(",")) if isinstance(f, str) and f else set()
        hits += bool(fs & set(o.split(",")))
    return hits / n if n else float("nan")


def continuous_scores(forecast: Array, observed: Array) -> dict[str, float]:
    """RMSE, MAE and bias (mean forecast - observed) over days with both values, and ``n``."""
    f, o = _valid(forecast, observed)
    if not f.size:
        return {"rmse": float("nan"), "mae": float("nan"), "bias": float("nan"), "n": 0}
    e = f - o
    return {
        "rmse": float(np.sqrt(np.mean(e**2))),
        "mae": float(np.mean(np.abs(e))),
        "bias": float(np.mean(e)),
        "n": int(f.size),
    }


def event_scores(forecast: Array, observed: Array, threshold: float) -> dict[str, float]:
    """POD, FAR and threat score (TS) of the event "AQI > threshold".

    Returns
    -------
    dict
        ``pod``, ``far``, ``ts`` (NaN when undefined: no observed event for POD, no forecast
        event for FAR, neither for TS), ``hits``, ``misses``, ``false_alarms``.
    """
    f, o = _valid(forecast, observed)
    fe, oe = f > threshold, o > threshold
    hits = int(np.sum(fe & oe))
    misses = int(np.sum(~fe & oe))
    fa = int(np.sum(fe & ~oe))

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "pod": ratio(hits, hits + misses),
        "far": ratio(fa, hits + fa),
        "ts": ratio(hits, hits + misses + fa),
        "hits": hits,
        "misses": misses,
        "false_alarms": fa,
    }


def pair_with_observations(
    aqi_forecast: pd.DataFrame,
    forecast: pd.DataFrame,
    observed: pd.DataFrame,
    observed_aqi: pd.DataFrame,
    pollutants: Sequence[str] = ("PM2.5", "O3_8h"),
) -> pd.DataFrame:
    """One row per forecast (model, city, issue day, lead) with the observed values.

    Parameters
    ----------
    aqi_forecast : from :func:`ecobasin.forecast.aqi_range.forecast_aqi`.
    forecast : the long pollutant forecast frame (with ``model``).
    observed : city daily concentrations (``city``, ``day``, pollutant columns).
    observed_aqi : from :func:`ecobasin.forecast.aqi_range.observed_aqi`.

    Returns
    -------
    pandas.DataFrame
        The AQI forecast columns, ``obs_aqi``, ``obs_level``, ``obs_primary`` and for each
        pollutant ``fc_<p>`` and ``obs_<p>``.
    """
    keys = ["model", "city", "issue_day", "lead", "target_day"]
    out = aqi_forecast.copy()
    out["city"] = out["city"].astype(str)
    oa = observed_aqi.rename(
        columns={"day": "target_day", "aqi": "obs_aqi", "level": "obs_level"}
    ).rename(columns={"primary": "obs_primary"})
    out = out.merge(
        oa[["city", "target_day", "obs_aqi", "obs_level", "obs_primary"]],
        on=["city", "target_day"],
        how="left",
    )
    obs = observed.assign(city=observed["city"].astype(str)).rename(columns={"day": "target_day"})
    for p in pollutants:
        if p not in set(forecast["pollutant"]):
            continue
        fc = forecast[forecast["pollutant"] == p][[*keys, "value"]].rename(
            columns={"value": f"fc_{p}"}
        )
        fc = fc.assign(city=fc["city"].astype(str))
        out = out.merge(fc, on=keys, how="left")
        if p in obs:
            out = out.merge(
                obs[["city", "target_day", p]].rename(columns={p: f"obs_{p}"}),
                on=["city", "target_day"],
                how="left",
            )
    return out


def _scores_of(group: pd.DataFrame, pollutants: Sequence[str]) -> dict[str, float]:
    row: dict[str, float] = {"n": int(group["obs_aqi"].notna().sum())}
    row["level_acc"] = level_accuracy(group["level"], group["obs_level"])
    row["within_one"] = within_one_level(group["level"], group["obs_level"])
    row["range_hit"] = range_hit_rate(group["obs_aqi"], group["aqi_lower"], group["aqi_upper"])
    row["primary_acc"] = primary_accuracy(
        group["primary"].tolist(), group["obs_primary"].tolist(), group["obs_aqi"]
    )
    for name in ("aqi", *pollutants):
        fc = group["aqi"] if name == "aqi" else group.get(f"fc_{name}")
        ob = group["obs_aqi"] if name == "aqi" else group.get(f"obs_{name}")
        if fc is None or ob is None:
            continue
        s = continuous_scores(fc, ob)
        label = name.lower().replace(".", "").replace("_8h", "")
        for k in ("rmse", "mae", "bias"):
            row[f"{label}_{k}"] = s[k]
    for t in EVENT_THRESHOLDS:
        e = event_scores(group["aqi"], group["obs_aqi"], t)
        for k in ("pod", "far", "ts"):
            row[f"{k}_{t}"] = e[k]
    return row


def score_table(
    pairs: pd.DataFrame,
    by: Sequence[str] = ("model", "lead"),
    pollutants: Sequence[str] = ("PM2.5", "O3_8h"),
) -> pd.DataFrame:
    """Every score per group (default: model and lead) from :func:`pair_with_observations`.

    Columns: ``n``, ``level_acc``, ``within_one``, ``range_hit``, ``primary_acc``,
    ``aqi_rmse``/``_mae``/``_bias``, ``pm25_…``, ``o3_…``, ``pod_100``, ``far_100``,
    ``ts_100``, ``pod_200``, ``far_200``, ``ts_200``.
    """
    rows = []
    for key, group in pairs.groupby(list(by), sort=True):
        values = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, values, strict=True)), **_scores_of(group, pollutants)})
    return pd.DataFrame(rows)


#: References of the skill scores and the score columns they are computed from.
SKILL_REFERENCES: tuple[str, ...] = ("persistence", "climatology")
SKILL_OF: tuple[str, ...] = ("pm25_rmse", "aqi_rmse")


def skill_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Add ``skill_<of>_<reference>`` = ``1 - (RMSE / RMSE_reference)²`` [dimensionless; > 0:
    better than the reference] to a :func:`score_table` grouped by ``model`` (and lead, city):
    each row is compared with the reference model's row of the same other keys."""
    if "model" not in scores:
        return scores
    keys = [c for c in ("lead", "city") if c in scores]
    out = scores.copy()
    for ref in SKILL_REFERENCES:
        base = scores[scores["model"] == ref]
        if base.empty:
            continue
        for col in (c for c in SKILL_OF if c in scores):
            label = f"skill_{col.split('_')[0]}_{ref}"
            if keys:
                merged = out[keys].merge(
                    base[[*keys, col]].rename(columns={col: "_ref"}), on=keys, how="left"
                )
                ref_values = merged["_ref"].to_numpy(dtype=np.float64)
            else:
                ref_values = np.full(len(out), float(base[col].iloc[0]))
            with np.errstate(divide="ignore", invalid="ignore"):
                out[label] = 1 - (out[col].to_numpy(dtype=np.float64) / ref_values) ** 2
    return out


def hourly_scores(forecast: pd.DataFrame) -> pd.DataFrame:
    """RMSE/MAE/bias of an hourly forecast frame (:func:`ecobasin.forecast.hourly.forecast_hourly`)
    per pollutant and lead hour [µg/m³; CO mg/m³], beside hourly persistence on the same hours.

    Returns
    -------
    pandas.DataFrame
        ``pollutant, lead_hour, rmse, mae, bias, n, persistence_rmse, skill_persistence``
        (``1 - (RMSE / RMSE_persistence)²``).
    """
    rows = []
    paired = forecast.dropna(subset=["value", "observed", "persistence"])
    for (pollutant, lead), group in paired.groupby(["pollutant", "lead_hour"]):
        assert isinstance(lead, (int, np.integer))
        scores = continuous_scores(group["value"], group["observed"])
        base = continuous_scores(group["persistence"], group["observed"])
        rows.append(
            {
                "pollutant": pollutant,
                "lead_hour": int(lead),
                **scores,
                "persistence_rmse": base["rmse"],
                "skill_persistence": 1 - (scores["rmse"] / base["rmse"]) ** 2
                if base["rmse"] > 0
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def peak_hour_error(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error [h] of the forecast hour of the O3 peak per lead day, on target days
    whose observed peak is known (:func:`ecobasin.forecast.hourly.daily_summary`), and the
    share within ±2 h."""
    o3 = summary[(summary["pollutant"] == "O3") & (summary["observed_peak_hour"] >= 0)]
    error = (o3["peak_hour"] - o3["observed_peak_hour"]).abs()
    frame = pd.DataFrame({"lead_day": o3["lead_day"], "error": error})
    return (
        frame.groupby("lead_day")
        .agg(peak_hour_mae=("error", "mean"), within_2h=("error", lambda e: float((e <= 2).mean())))
        .reset_index()
    )
