"""The demo's forecast: a small LightGBM model trained on the demo year and the
forecast issued on its last day, so the forecast page (``/forecast``) has content.

The model is deliberately small — 30 boosting rounds of 7 leaves at learning rate 0.1 instead
of the operational 300 rounds of 15 leaves at 0.03 — so the step adds about ten seconds to
``ecobasin demo`` on the shared 2-core machine; it is saved as ``demo`` with
``metadata["demo"]`` set, and the page says "demo model 演示模型". The demo has no meteorology:
the model runs without it and says so.

So that the verification table of the page (issue 21) has issued forecasts to score, the demo
also issues the :data:`BACKFILL_DAYS` days before the last one, as the platform would have issued
them: with a second demo model trained only on the days up to the first of them (no forecast
sees a day after its issue day), predicted for all of them at once. Their warnings are not
stored; nor is the climatology member where one demo year has no value for the day of year (the
verification computes its own baselines from the observations). The hourly 72-hour forecast of
the last day is stored too (``forecast_hourly``), as ``ecobasin forecast run`` stores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from ecobasin.errors import NotFound
from ecobasin.forecast import models as fm
from ecobasin.forecast.guidance import blend_members
from ecobasin.services import forecast as forecast_service
from ecobasin.services import forecast_hourly as hourly_service
from ecobasin.store import Store
from ecobasin.store import forecast as sf

__all__ = ["DEMO_CONFIG", "DEMO_MODEL", "DemoForecast", "install"]

#: Name the demo model is saved under (forecasts are labelled ``lightgbm:demo``).
DEMO_MODEL = "demo"
#: Issue days before the last one issued too, for the verification table [d].
BACKFILL_DAYS = 30
#: Small and quick: the page needs content, not the operational skill (docs/forecast.md).
DEMO_CONFIG = fm.GBMConfig(rounds=30, learning_rate=0.1, num_leaves=7, use_met=False)
DEMO_NOTE = {
    "zh": "演示模型：在演示年数据上训练的小模型（30轮、7叶），无气象数据，仅作展示",
    "en": "demo model: a small model (30 rounds of 7 leaves) trained on the demo year, "
    "without meteorology, for illustration only",
}


@dataclass(frozen=True)
class DemoForecast:
    """What :func:`install` stored."""

    issue_day: date
    forecasts: int  # stored forecast rows (every model, pollutant and AQI)
    warnings: int  # stored warnings (city and region)
    trained_from: str
    trained_to: str
    backfilled: int = 0  # earlier issue days issued for the verification table
    hourly: int = 0  # stored hourly forecast rows of the last issue day


def install(store: Store, author: str = "demo") -> DemoForecast | None:
    """Train the demo model on every stored city day and issue the forecast of the last one.

    Returns None when the store has no daily air quality (nothing to train on).
    """
    daily, _ = sf.forecast_inputs(store, with_met=False)
    if daily.empty:
        return None
    issue_day = pd.Timestamp(daily["day"].max()).date()
    days = pd.DatetimeIndex(sorted(daily["day"].unique()))
    leads = list(DEMO_CONFIG.leads)
    guidance, guide = forecast_service.guidance_inputs(store, daily, days, leads)
    members = blend_members(guidance)
    models, meta = fm.train_bundle(
        daily, None, train_end=issue_day, config=DEMO_CONFIG, guidance=members
    )
    meta = {**meta, "demo": True, "note_zh": DEMO_NOTE["zh"], "note_en": DEMO_NOTE["en"]}
    meta["guidance"] = guide  # the SIMULATED runs of the demo (demo/guidance.py), if built
    backfilled = _backfill(store, daily, guidance, issue_day, author)
    sf.save_model(store, DEMO_MODEL, fm.bundle_payload(models, meta), meta)
    forecasts, warnings = _issue(models, meta, daily, guidance, issue_day, author)
    stored = sf.replace_forecasts(store, forecasts)
    warned = sf.replace_warnings(
        store, warnings, issue_day=issue_day, model=f"lightgbm:{DEMO_MODEL}"
    )
    try:
        hourly = hourly_service.issue_hourly(store, issue_day)
    except NotFound:  # fewer hours than the hourly model needs: the page fits none either
        hourly = 0
    return DemoForecast(
        issue_day, stored, warned, meta["trained_from"], meta["trained_to"], backfilled, hourly
    )


def _issue(
    models: dict[str, Any],
    meta: dict[str, Any],
    daily: pd.DataFrame,
    guidance: pd.DataFrame | None,
    issue_day: date,
    author: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows ``forecast run`` would store for ``issue_day`` (guidance as known that day)."""
    from ecobasin.forecast.issue import forecast_frames  # the rows `forecast run` stores

    on_day = (
        None if guidance is None else guidance[guidance["issue_day"] == pd.Timestamp(issue_day)]
    )
    known = daily[pd.to_datetime(daily["day"]) <= pd.Timestamp(issue_day)]
    return forecast_frames(
        models,
        meta,
        known,
        None,
        issue_day,
        DEMO_MODEL,
        author,
        issued_at=datetime.now(UTC),
        guidance=on_day,
    )


def _backfill(
    store: Store,
    daily: pd.DataFrame,
    guidance: pd.DataFrame | None,
    last: date,
    author: str,
) -> int:
    """Issue the :data:`BACKFILL_DAYS` days before ``last`` with a model trained up to the
    first of them; the number of issue days stored (0 when too little data to train)."""
    first = last - timedelta(days=BACKFILL_DAYS)
    members = blend_members(guidance)
    try:
        models, meta = fm.train_bundle(
            daily, None, train_end=first, config=DEMO_CONFIG, guidance=members
        )
    except ValueError:  # too few days before the backfill: the table stays empty
        return 0
    days = [pd.Timestamp(first + timedelta(days=k)) for k in range(BACKFILL_DAYS)]
    rows = _backfill_rows(models, meta, daily, members, days)
    sf.replace_forecasts(
        store,
        rows.assign(
            issued_at=datetime.now(UTC), scope="city", with_meteorology=False, author=author
        ),
    )
    return len(days)


def _backfill_rows(
    models: dict[str, Any],
    meta: dict[str, Any],
    daily: pd.DataFrame,
    members: pd.DataFrame | None,
    days: list[pd.Timestamp],
) -> pd.DataFrame:
    """The forecast rows (pollutants and AQI) of every model for all ``days`` at once, as
    ``forecast run`` would have stored them each day: one prediction over the issue days, whose
    features of day D use days ≤ D only (as in the backtests), instead of one run per day.
    A model with no value for a day (the demo's climatology on days of year it never saw) is
    left out there."""
    from ecobasin.forecast.aqi_range import forecast_aqi
    from ecobasin.forecast.features import complete_grid
    from ecobasin.forecast.issue import aqi_rows  # the rows `forecast run` stores

    leads = list(meta["leads"])
    grid = complete_grid(daily, None, extra_days=max(leads), max_lead=max(leads))
    parts = []
    for name, model in models.items():
        label = f"lightgbm:{DEMO_MODEL}" if name == "lightgbm" else name
        if name == "lightgbm":
            fc = model.predict(grid, days, leads, guidance=members)
        else:
            fc = model.predict(grid, days, leads)
        fc = fc.dropna(subset=["value"]).assign(model=label)
        if fc.empty:
            continue
        aqi = forecast_aqi(fc)
        parts.append(fc.rename(columns={"city": "scope_id", "pollutant": "parameter"}))
        parts.append(aqi_rows(aqi, label).assign(issue_day=aqi["issue_day"]))
    rows: pd.DataFrame = pd.concat(parts, ignore_index=True)
    return rows
