"""Rolling-origin backtest without leakage (pure).

For every issue day D whose forecasts target the test window, the three models forecast days
D + 1 … D + lead from data up to D only: the features of D are built from pollutant values of
days ≤ D and meteorology of days ≤ D + lead: either the meteorological forecasts as they were
known on D (``met`` as issued, with ``issued_at``: only issues at or before D's issue time, the
latest for each valid day, see :func:`ecobasin.forecast.features.met_as_known`) or, when the
caller asks for it, the observed weather standing in for a perfect meteorological forecast (say
so when reporting); the models are trained on targets before the
test window (or before ``refit_every``-day blocks of it, re-trained as the origin rolls).
Persistence, climatology and LightGBM come from the same run and are scored the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ecobasin.forecast.aqi_range import forecast_aqi, observed_aqi
from ecobasin.forecast.features import complete_grid, met_mode
from ecobasin.forecast.guidance import blend_members
from ecobasin.forecast.models import GBMConfig, train_bundle
from ecobasin.forecast.verify import pair_with_observations, score_table, skill_scores

__all__ = ["BacktestResult", "backtest", "met_mode"]


@dataclass
class BacktestResult:
    """Forecasts, AQI forecasts, pairs with observations and scores of one backtest."""

    forecasts: pd.DataFrame
    aqi: pd.DataFrame
    pairs: pd.DataFrame
    scores: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)


def backtest(
    daily: pd.DataFrame,
    met: pd.DataFrame | None,
    *,
    test_from: Any,
    test_to: Any,
    train_from: Any = None,
    config: GBMConfig | None = None,
    refit_every: int | None = None,
    score_by: tuple[str, ...] = ("model", "lead"),
    guidance: pd.DataFrame | None = None,
    learned_member: str | None = None,
) -> BacktestResult:
    """Backtest persistence, climatology and LightGBM on target days ``test_from``–``test_to``.

    Parameters
    ----------
    daily : pandas.DataFrame
        City daily concentrations (``city``, ``day``, pollutant columns).
    met : pandas.DataFrame or None
        City daily observed meteorology ("perfect forecast"), or meteorological forecasts as
        issued (``city``, ``issued_at``, ``day``, ``variable``, ``value``: used as known on each
        issue day); None (or ``config.use_met`` False) runs without it.
    test_from, test_to : date-like
        Inclusive target-day window scored.
    train_from : date-like, optional
        First issue day used for training (default: all data before the window).
    config : GBMConfig
    refit_every : int, optional
        Re-train every this many days of the window on all targets before the block (the
        rolling origin); None trains once on the data before the window.
    score_by : tuple of str
        Grouping of the score table.
    guidance : pandas.DataFrame, optional
        Numerical-model guidance members as known on each issue day
        (:func:`ecobasin.forecast.guidance.guidance_forecasts`: raw ``guidance`` and ``mos``):
        blended by the learned model (and its features, ``config.guidance_features``) and
        scored beside the others.
    learned_member : str, optional
        Also score the learned log-ratio model alone, under this model name (e.g. ``learned``),
        beside the blend it is a member of.

    Returns
    -------
    BacktestResult
    """
    config = config or GBMConfig()
    start, end = pd.Timestamp(test_from), pd.Timestamp(test_to)
    if end < start:
        raise ValueError(f"empty test window {start.date()} → {end.date()}")
    use_met = config.use_met and met is not None and not met.empty
    cfg = config if use_met == config.use_met else replace(config, use_met=False)
    m = met if use_met else None
    leads = list(cfg.leads)
    grid = complete_grid(daily, m, max_lead=max(leads))
    members = blend_members(guidance)
    step = pd.Timedelta(days=refit_every) if refit_every else end - start + pd.Timedelta(days=1)
    parts: list[pd.DataFrame] = []
    meta: dict[str, Any] = {}
    block = start
    while block <= end:
        block_end = min(end, block + step - pd.Timedelta(days=1))
        models, meta = train_bundle(
            daily,
            m,
            train_end=block - pd.Timedelta(days=1),
            train_start=train_from,
            config=cfg,
            guidance=members,
        )
        first_issue = block - pd.Timedelta(days=max(leads))
        issue_days = pd.date_range(first_issue, block_end - pd.Timedelta(days=1), freq="D")
        for name, model in models.items():
            if name == "lightgbm":
                fc = model.predict(grid, issue_days, leads, guidance=members)
                if learned_member:
                    alone = model.member_forecasts(grid, issue_days, leads, guidance=members)
                    alone = alone[
                        (alone["target_day"] >= block) & (alone["target_day"] <= block_end)
                    ]
                    parts.append(alone.assign(model=learned_member))
            else:
                fc = model.predict(grid, issue_days, leads)
            fc = fc[(fc["target_day"] >= block) & (fc["target_day"] <= block_end)]
            parts.append(fc.assign(model=name))
        block = block_end + pd.Timedelta(days=1)
    if guidance is not None and not guidance.empty:  # the members themselves, scored too
        g = guidance[(guidance["target_day"] >= start) & (guidance["target_day"] <= end)]
        parts.append(g[g["lead"].isin(leads)])
    forecasts = pd.concat(parts, ignore_index=True)
    aqi = forecast_aqi(forecasts)
    pollutants = [p for p in ("PM2.5", "O3_8h") if p in set(forecasts["pollutant"])]
    pairs = pair_with_observations(aqi, forecasts, daily, observed_aqi(daily), pollutants)
    scores = skill_scores(score_table(pairs, score_by, pollutants))
    if forecasts["pollutant"].nunique() < 2:
        scores["primary_acc"] = float("nan")  # one pollutant: the primary pollutant is given
    meta = {
        **meta,
        "test_from": str(start.date()),
        "test_to": str(end.date()),
        "refit_every": refit_every,
        "with_meteorology": use_met,
        "met_mode": met_mode(m),
    }
    return BacktestResult(forecasts, aqi, pairs, scores, meta)
