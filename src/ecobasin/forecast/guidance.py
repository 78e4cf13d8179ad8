"""Numerical-model guidance as forecast members: raw and MOS-corrected (pure).

A chemical-transport model's hourly concentrations at a city (``ecobasin.ingest.ctm``) become
two members of the daily forecast, scored beside persistence, climatology and the learned model:

* **guidance** (raw): for an issue day D, the latest run issued at or before D's issue time
  (:func:`ecobasin.forecast.features.issue_cutoff`, the rule of meteorological forecasts: a
  forecast never sees a run published after it), averaged over each target CST day the way
  HJ 663 makes daily values: 24-h means of PM2.5, PM10, NO2, SO2 [µg/m³] and CO [mg/m³] with at
  least 20 hourly values (GB 3095-2012 Table 4 validity), the daily maximum 8-h moving mean of O3
  with at least 14 valid 8-h windows of at least 6 hours each.
* **mos** (model output statistics, Glahn & Lowry 1972): per city, pollutant and lead, a linear
  correction in log space ``ln(1+y) = a + b·ln(1+g)`` fitted on the last ``window`` pairs
  whose target day is known on D (target ≤ D). The slope is shrunk towards 1 by ``prior``
  pseudo-pairs (the intercept then keeps the mean), so a short archive gets a bias correction
  first and a slope later. Ranges are the 20th/80th percentiles of the
  window's log residuals.

Times: ``valid_time`` is the end of the hour [UTC], like observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecobasin.forecast.features import issue_cutoff
from ecobasin.forecast.models import FORECAST_COLUMNS, linear_quantiles

__all__ = [
    "GUIDANCE_COLUMNS",
    "Mos",
    "blend_members",
    "daily_guidance",
    "guidance_forecasts",
    "runs_as_known",
]

#: Hourly guidance at cities: run ``issued_at`` [UTC], ``valid_time`` [UTC hour-ending],
#: ``pollutant`` (``PM2.5``, ``PM10``, ``O3``, ``NO2``, ``SO2``, ``CO``), ``value`` [µg/m³, CO
#: mg/m³].
GUIDANCE_COLUMNS: tuple[str, ...] = ("city", "issued_at", "valid_time", "pollutant", "value")
#: Daily means need this many hourly values (GB 3095-2012 Table 4).
MIN_HOURS_DAILY = 20
#: An 8-h mean needs 6 hours; the daily maximum needs 14 such windows (GB 3095-2012 Table 4).
MIN_HOURS_8H, MIN_WINDOWS_8H = 6, 14
DAILY_MEANS = ("PM2.5", "PM10", "NO2", "SO2", "CO")


def runs_as_known(hourly: pd.DataFrame, issue_days: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Per city and issue day D, the hours of the latest run issued by D's issue time.

    Parameters
    ----------
    hourly : pandas.DataFrame
        ``GUIDANCE_COLUMNS`` (``issued_at`` and ``valid_time`` tz-aware UTC).
    issue_days : sequence of Timestamp
        CST days.

    Returns
    -------
    pandas.DataFrame
        ``issue_day`` (CST day, naive), ``city``, ``valid_time``, ``pollutant``, ``value``,
        ``issued_at`` of the run used. Runs published after D's cutoff are never read.
    """
    days = pd.DatetimeIndex(pd.to_datetime(list(issue_days))).normalize()
    cut = pd.DataFrame({"issue_day": days, "cutoff": issue_cutoff(days)})
    runs = hourly[["city", "issued_at"]].drop_duplicates()
    runs = runs.assign(issued_at=pd.to_datetime(runs["issued_at"], utc=True))
    parts = []
    for city, group in runs.groupby("city", sort=True):
        published = group["issued_at"].sort_values().to_numpy()
        at = np.searchsorted(published, cut["cutoff"].to_numpy(), side="right") - 1
        ok = at >= 0
        chosen = pd.DataFrame({"issue_day": days[ok], "city": city, "issued_at": published[at[ok]]})
        parts.append(chosen)
    if not parts:
        return pd.DataFrame(columns=["issue_day", *GUIDANCE_COLUMNS])
    chosen = pd.concat(parts, ignore_index=True)
    frame = hourly.assign(issued_at=pd.to_datetime(hourly["issued_at"], utc=True))
    return chosen.merge(frame, on=["city", "issued_at"], how="inner")


def _cst_day(valid_time: pd.Series) -> pd.Series:
    """The CST day an hour-ending instant belongs to (01:00 … 24:00 CST)."""
    local = pd.DatetimeIndex(valid_time).tz_convert("Asia/Shanghai").tz_localize(None)
    return pd.Series((local - pd.Timedelta(hours=1)).normalize(), index=valid_time.index)


def _o3_8h(values: pd.DataFrame) -> pd.DataFrame:
    """Daily maximum 8-h moving mean of O3 per (issue day, city, target day) [µg/m³]."""
    keys = ["issue_day", "city", "target_day"]
    frame = values.sort_values([*keys[:2], "valid_time"])
    rolled = frame.groupby(keys[:2], sort=False)["value"].rolling(8, min_periods=MIN_HOURS_8H)
    frame = frame.assign(m8=rolled.mean().reset_index(level=[0, 1], drop=True))
    daily = frame.groupby(keys).agg(value=("m8", "max"), n=("m8", "count")).reset_index()
    return daily[daily["n"] >= MIN_WINDOWS_8H].drop(columns="n")


def daily_guidance(known: pd.DataFrame, leads: Sequence[int]) -> pd.DataFrame:
    """The raw guidance member: daily values of the run known on each issue day.

    Parameters
    ----------
    known : from :func:`runs_as_known`.
    leads : target days D + lead.

    Returns
    -------
    pandas.DataFrame
        ``FORECAST_COLUMNS`` and ``model`` = ``guidance``; ``lower``/``upper`` equal ``value``
        (the raw model has no range; MOS gives one).
    """
    if known.empty:
        return pd.DataFrame(columns=[*FORECAST_COLUMNS, "model"])
    frame = known.assign(target_day=_cst_day(known["valid_time"]))
    frame = frame.assign(lead=(frame["target_day"] - frame["issue_day"]).dt.days)
    frame = frame[frame["lead"].isin(list(leads))]
    keys = ["issue_day", "city", "target_day", "pollutant"]
    means = frame[frame["pollutant"].isin(DAILY_MEANS)]
    mean = means.groupby(keys).agg(value=("value", "mean"), n=("value", "count")).reset_index()
    mean = mean[mean["n"] >= MIN_HOURS_DAILY].drop(columns="n")
    o3 = _o3_8h(frame[frame["pollutant"] == "O3"]).assign(pollutant="O3_8h")
    out = pd.concat([mean, o3], ignore_index=True)
    out["lead"] = (out["target_day"] - out["issue_day"]).dt.days.astype(int)
    out["city"] = out["city"].astype(str)
    out = out.assign(lower=out["value"], upper=out["value"], model="guidance")
    return out[[*FORECAST_COLUMNS, "model"]].sort_values(
        ["city", "pollutant", "lead", "issue_day"], ignore_index=True
    )


@dataclass(frozen=True)
class Mos:
    """Rolling linear MOS in log space, per city, pollutant and lead.

    Attributes
    ----------
    window : int
        Pairs (most recent known target days) in each fit [days].
    prior : float
        Pseudo-pairs pulling the slope towards 1 (the fit then corrects the mean bias only).
    min_pairs : int
        Below this many known pairs the raw guidance is passed through unchanged.
    quantiles : (float, float)
        Residual percentiles giving the range.
    """

    window: int = 45
    prior: float = 15.0
    min_pairs: int = 5
    quantiles: tuple[float, float] = (0.2, 0.8)

    def correct(self, guidance: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
        """MOS member from the raw member and observed city daily values.

        Parameters
        ----------
        guidance : from :func:`daily_guidance`.
        observed : city daily concentrations (``city``, ``day``, pollutant columns).

        Returns
        -------
        pandas.DataFrame
            ``FORECAST_COLUMNS`` and ``model`` = ``mos``. Only pairs whose target day is at or
            before the issue day enter each fit (no future observation is read).
        """
        obs = observed.melt(id_vars=["city", "day"], var_name="pollutant", value_name="obs")
        obs = obs.assign(city=obs["city"].astype(str), obs=pd.to_numeric(obs["obs"]))
        pairs = guidance.merge(
            obs.rename(columns={"day": "target_day"}),
            on=["city", "target_day", "pollutant"],
            how="left",
        )
        parts = [
            self._one_group(group) for _, group in pairs.groupby(["city", "pollutant", "lead"])
        ]
        if not parts:
            return pd.DataFrame(columns=[*FORECAST_COLUMNS, "model"])
        out = pd.concat(parts, ignore_index=True)
        return out[[*FORECAST_COLUMNS, "model"]]

    def _one_group(self, group: pd.DataFrame) -> pd.DataFrame:
        group = group.sort_values("issue_day")
        g = np.log1p(np.clip(group["value"].to_numpy(float), 0, None))
        y = np.log1p(np.clip(group["obs"].to_numpy(float), 0, None))
        issue = group["issue_day"].to_numpy()
        target = group["target_day"].to_numpy()
        value, lower, upper = np.empty(len(g)), np.empty(len(g)), np.empty(len(g))
        for i in range(len(g)):
            known = (target <= issue[i]) & np.isfinite(y) & np.isfinite(g)
            idx = np.flatnonzero(known)[-self.window :]
            value[i], lower[i], upper[i] = self._fit_apply(g[idx], y[idx], g[i])
        return group.assign(
            value=np.expm1(value), lower=np.expm1(lower), upper=np.expm1(upper), model="mos"
        )

    def _fit_apply(self, g: np.ndarray, y: np.ndarray, x: float) -> tuple[float, float, float]:
        """Shrunk least squares of y on g, applied to x [ln(1 + µg/m³)]."""
        if g.size < self.min_pairs:
            return x, x, x
        gm, ym = float(np.mean(g)), float(np.mean(y))
        sxx = float(np.sum((g - gm) ** 2))
        sxy = float(np.sum((g - gm) * (y - ym)))
        # ridge towards slope 1: the prior adds `prior` pairs' worth of the spread of g at b = 1
        spread = sxx / g.size if g.size else 0.0
        slope = (sxy + self.prior * spread) / (sxx + self.prior * spread) if sxx > 0 else 1.0
        intercept = ym - slope * gm  # = bias + (1 − slope)·mean(g): the identity when slope = 1
        fitted = intercept + slope * g
        # np.quantile's linear method bit for bit, without its overhead: one fit per row
        lo, hi = linear_quantiles(np.sort(y - fitted), self.quantiles)
        centre = intercept + slope * x
        return centre, centre + float(lo), centre + float(hi)


def guidance_forecasts(
    hourly: pd.DataFrame,
    observed: pd.DataFrame,
    issue_days: Sequence[pd.Timestamp],
    leads: Sequence[int],
    mos: Mos | None = None,
) -> pd.DataFrame:
    """Both members for ``issue_days``: raw guidance (``model`` = ``guidance``) and MOS
    (``mos``), each as known on its issue day (``FORECAST_COLUMNS`` and ``model``).

    Parameters
    ----------
    hourly : ``GUIDANCE_COLUMNS`` of one model.
    observed : city daily concentrations (``city``, ``day``, pollutant columns).
    """
    raw = daily_guidance(runs_as_known(hourly, issue_days), leads)
    if raw.empty:
        return raw
    return pd.concat([raw, (mos or Mos()).correct(raw, observed)], ignore_index=True)


def blend_members(forecasts: pd.DataFrame | None) -> pd.DataFrame | None:
    """Guidance forecasts (:func:`guidance_forecasts`) as the long frame the learned model
    blends (:func:`ecobasin.forecast.models.guidance_members`): ``city``, ``issue_day``,
    ``lead``, ``pollutant``, ``member`` (``guidance``, ``mos``), ``value``."""
    if forecasts is None or forecasts.empty:
        return None
    out = forecasts.rename(columns={"model": "member"})
    return out[["city", "issue_day", "lead", "pollutant", "member", "value"]]
