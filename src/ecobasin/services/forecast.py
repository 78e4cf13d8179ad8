"""What ``ecobasin forecast …`` and ``/api/v1/forecasts|warnings`` both answer: the stored
forecasts of an issue day, the heavy-pollution warnings, a forecaster's adjustment, and the
72-hour hourly forecast (:func:`hourly_forecast`, computed on request from the stored hours).

Rows are read and written through :mod:`ecobasin.store.forecast`; the AQI level of an
adjustment is that of the range's midpoint (HJ 633-2012 §5.1: AQI is the integer taken
upwards, then Table 2's level).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from ecobasin.errors import NotFound
from ecobasin.forecast import models as fm
from ecobasin.forecast.features import issue_cutoff
from ecobasin.standards.air_index import aqi_level
from ecobasin.store import Connection, Store
from ecobasin.store import forecast as store_forecast
from ecobasin.store import guidance as store_guidance
from ecobasin.store import met_forecast as store_met_forecast

__all__ = [
    "adjust_aqi",
    "adjusted_level",
    "forecasts",
    "hourly_forecast",
    "issued_model",
    "latest_issue_day",
    "load_model",
    "model_facts",
    "model_inputs",
    "publish",
    "save_model",
    "saved_models",
    "warnings",
]


def forecasts(
    where: Connection,
    issue_day: date | None = None,
    cities: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    parameters: Sequence[str] | None = None,
) -> tuple[date | None, pd.DataFrame]:
    """The issue day asked for (default the latest stored; None when nothing is stored) and
    its forecast rows [µg/m³; mg/m³ for CO; AQI dimensionless]."""
    day = issue_day or store_forecast.latest_issue_day(where)
    if day is None:
        return None, pd.DataFrame()
    frame = store_forecast.forecast_rows(
        where,
        issue_day=day,
        cities=None if cities is None else list(cities),
        models=None if models is None else list(models),
        parameters=None if parameters is None else list(parameters),
    )
    return day, frame


def warnings(
    where: Connection,
    start: date | None = None,
    end: date | None = None,
    ids: Sequence[str] | None = None,
    active_on: date | None = None,
) -> pd.DataFrame:
    """Stored warnings issued from ``start`` to ``end`` (or covering ``active_on``), newest
    issue first."""
    return store_forecast.warning_rows(
        where, start=start, end=end, ids=None if ids is None else list(ids), active_on=active_on
    )


def adjusted_level(lower: float, upper: float) -> tuple[float, float, float, int]:
    """(lower, upper, midpoint, AQI level 1–6) of an adjusted AQI range, bounds in order.

    >>> adjusted_level(105, 75)
    (75, 105, 90.0, 2)
    """
    lo, hi = sorted((lower, upper))
    value = (lo + hi) / 2
    return lo, hi, value, int(aqi_level([math.ceil(value)])[0])


def adjust_aqi(
    where: Connection,
    *,
    issue_day: date,
    city: str,
    target_day: date,
    model: str,
    lower: float,
    upper: float,
    primary: str | None,
    author: str,
    reason: str,
) -> int:
    """Adjust a model's AQI forecast to a range (the model's value kept beside it); the
    number of rows changed (0: no such forecast)."""
    lo, hi, value, level = adjusted_level(lower, upper)
    return store_forecast.adjust_forecast(
        where,
        issue_day=issue_day,
        city=city,
        target_day=target_day,
        model=model,
        parameter="AQI",
        value=value,
        lower=lo,
        upper=hi,
        level=level,
        primary=primary,
        author=author,
        reason=reason,
    )


def latest_issue_day(where: Connection) -> date | None:
    """The latest issue day with stored forecasts (None when there is none)."""
    return store_forecast.latest_issue_day(where)


def issued_model(where: Connection, issue_day: date) -> tuple[str | None, bool]:
    """The LightGBM model label of the issue day's forecasts (the latest issued when several)
    and whether it ran with meteorology."""
    issued = store_forecast.issued_models(where, issue_day)
    return issued[0] if issued else (None, False)


def model_facts(where: Connection, label: str | None, lang: str) -> dict[str, Any] | None:
    """Name, training span, meteorology, demo note and held-out scores by pollutant and lead
    of the saved model behind ``label`` (``lightgbm:<name>``); None when it is not saved."""
    if label is None:
        return None
    name = label.split(":", 1)[1]
    saved = store_forecast.model_names(where)
    saved = saved[saved["name"] == name]
    if saved.empty:
        return {"name": name, "label": label, "scores": {}}
    meta = json.loads(saved.iloc[0]["metadata"])
    scores: dict[str, list[dict[str, float]]] = {}
    for key, values in (meta.get("scores") or {}).items():
        pollutant, lead = key.split("|")
        scores.setdefault(pollutant, []).append({"lead": int(lead), **values})
    for rows in scores.values():
        rows.sort(key=lambda r: r["lead"])
    return {
        "name": name,
        "label": label,
        "trained_from": meta.get("trained_from"),
        "trained_to": meta.get("trained_to"),
        "with_meteorology": bool(meta.get("with_meteorology")),
        "rounds": (meta.get("config") or {}).get("rounds"),
        "demo": bool(meta.get("demo")),
        "note": meta.get("note_zh" if lang == "zh" else "note_en"),
        "scores": scores,
    }


NO_MET_FORECASTS = (
    "no meteorological forecasts stored 无气象预报: run `ecobasin import met-forecast FILE` first"
)


def model_inputs(
    where: Connection, met_mode: str, end: date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """City daily pollutants [µg/m³; mg/m³ for CO] and the meteorology of ``met_mode``
    (``forecast``: as issued up to the issue time of ``end``; ``observed``: observed, a perfect
    forecast; ``none``).

    Raises
    ------
    NotFound
        ``forecast`` asked and no meteorological forecast is stored.
    """
    daily, met = store_forecast.forecast_inputs(where, end=end, with_met=met_mode == "observed")
    if met_mode != "forecast":
        return daily, met
    cutoff = None if end is None else issue_cutoff(pd.DatetimeIndex([end]))[0].to_pydatetime()
    rows = store_met_forecast.met_forecast_rows(where, issued_before=cutoff)
    if rows.empty:
        raise NotFound(NO_MET_FORECASTS)
    return daily, rows


#: Issue days of guidance before the first one asked: MOS's window needs their pairs.
GUIDANCE_HISTORY_DAYS = 60


def guidance_inputs(
    where: Connection,
    daily: pd.DataFrame,
    issue_days: pd.DatetimeIndex,
    leads: list[int],
    model: str | None = None,
) -> tuple[pd.DataFrame | None, str | None]:
    """Raw guidance and MOS members of the stored model runs (``model``, default the one with
    the most runs) as known on each issue day, or (None, None) when no run is stored.

    Returns
    -------
    (pandas.DataFrame or None, str or None)
        :func:`ecobasin.forecast.guidance.guidance_forecasts` for ``issue_days``, and the
        model's name.
    """
    from ecobasin.forecast.guidance import guidance_forecasts

    runs = store_guidance.guidance_runs(where)
    if runs.empty:
        return None, None
    chosen = model or str(runs["model"].value_counts().index[0])
    hourly = store_guidance.city_guidance(where, model=chosen)
    if hourly.empty:
        return None, None
    first = issue_days.min() - pd.Timedelta(days=GUIDANCE_HISTORY_DAYS)
    days = list(pd.date_range(first, issue_days.max(), freq="D"))
    members = guidance_forecasts(hourly, daily, days, leads)
    if members.empty:
        return None, None
    return members[members["issue_day"].isin(issue_days)].reset_index(drop=True), chosen


def save_model(store: Store, name: str, models: dict[str, Any], meta: dict[str, Any]) -> None:
    """Save a trained model bundle under ``name`` (replacing one of that name)."""
    store_forecast.save_model(store, name, fm.bundle_payload(models, meta), meta)


def load_model(where: Connection, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model bundle saved as ``name`` and its metadata.

    Raises
    ------
    NotFound
        No model of that name is saved.
    """
    payload = store_forecast.load_model(where, name)
    if payload is None:
        raise NotFound(
            f"no saved model {name!r}: run `ecobasin forecast train --name {name}` first"
        )
    return fm.bundle_from_payload(payload)


def saved_models(where: Connection) -> pd.DataFrame:
    """Saved models: name, metadata (JSON text: training span, cities, pollutants)."""
    return store_forecast.model_names(where)


def publish(
    store: Store, forecasts: pd.DataFrame, warnings: pd.DataFrame, issue_day: date, model: str
) -> None:
    """Store an issue's forecasts and its warnings (replacing those of the same issue)."""
    store_forecast.replace_forecasts(store, forecasts)
    store_forecast.replace_warnings(store, warnings, issue_day=issue_day, model=f"lightgbm:{model}")


#: Days of history the hourly model learns from before the issue day (validation: the last
#: half, at most 365) [d].
HOURLY_HISTORY_DAYS = 3 * 365
#: Fewest days of hourly history before an hourly forecast is issued [d].
HOURLY_MIN_HISTORY_DAYS = 60
#: Daily parameters that bound an hourly pollutant's daily mean (O3's daily value is the 8-h
#: maximum, not a mean: it does not bound the hourly path).
_DAILY_OF_HOURLY = ("PM2.5", "PM10", "NO2", "CO", "SO2")


def hourly_forecast(
    where: Connection, issue_day: date, cities: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 72-hour forecast after ``issue_day`` (local 24:00) and its hourly AQI.

    Learns :mod:`ecobasin.forecast.hourly` on the city hours up to the issue day only (at most
    :data:`HOURLY_HISTORY_DAYS`; the last half, at most 365 days, is the validation window);
    the stored daily forecast of the issue day (the issued LightGBM model), where there is one,
    is the ``diurnal`` member's daily value and bounds each day's hourly mean
    (``hourly.DAILY_TOLERANCE``); stored hourly model runs (``ctm_guidance``, as known on each
    issue day) are the ``guidance`` and ``mos`` members.

    Returns
    -------
    tuple of pandas.DataFrame
        The forecast frame of :func:`ecobasin.forecast.hourly.forecast_hourly` and the table of
        :func:`ecobasin.forecast.hourly.hourly_aqi_table`.

    Raises
    ------
    NotFound
        With fewer than :data:`HOURLY_MIN_HISTORY_DAYS` days of city hours before the issue day.
    """
    from ecobasin.forecast import hourly

    codes = None if cities is None else [int(c) for c in cities]
    frame = store_forecast.city_hourly(where, cities=codes)
    local_start = (frame["time"] - pd.Timedelta(hours=1)).dt.tz_convert(hourly.LOCAL_TZ)
    day = local_start.dt.tz_localize(None).dt.normalize()
    first = pd.Timestamp(issue_day) - pd.Timedelta(days=HOURLY_HISTORY_DAYS)
    frame = frame[(day <= pd.Timestamp(issue_day)) & (day > first)]
    span = int((pd.Timestamp(issue_day) - day[frame.index].min()).days) if len(frame) else 0
    if span < HOURLY_MIN_HISTORY_DAYS or not (day[frame.index] == pd.Timestamp(issue_day)).any():
        raise NotFound(
            f"hourly forecast of {issue_day}: {span} days of city hours before it (at least "
            f"{HOURLY_MIN_HISTORY_DAYS} and the issue day itself are needed)"
        )
    daily = _issued_daily(where, issue_day, cities)
    guidance = _hourly_guidance(where, issue_day, span, codes)
    model = hourly.fit_hourly(
        frame, train_end=issue_day, validation_days=min(365, span // 2), guidance=guidance
    )
    forecast = hourly.forecast_hourly(
        model, frame, [issue_day], daily_forecasts=daily, guidance=guidance
    )
    return forecast, hourly.hourly_aqi_table(forecast)


def _hourly_guidance(
    where: Connection, issue_day: date, span: int, cities: Sequence[int] | None
) -> dict[tuple[str, str], pd.DataFrame] | None:
    """Stored hourly model runs (the model with the most runs) as known on each issue day of
    the history and on ``issue_day``; None when no run is stored."""
    from ecobasin.forecast.guidance import runs_as_known
    from ecobasin.forecast.hourly import guidance_paths

    runs = store_guidance.guidance_runs(where)
    if runs.empty:
        return None
    chosen = str(runs["model"].value_counts().index[0])
    stored = store_guidance.city_guidance(where, cities=cities, model=chosen)
    if stored.empty:
        return None
    days = pd.date_range(pd.Timestamp(issue_day) - pd.Timedelta(days=span), issue_day)
    return guidance_paths(runs_as_known(stored, list(days))) or None


def _issued_daily(
    where: Connection, issue_day: date, cities: Sequence[str] | None
) -> dict[tuple[str, str], pd.DataFrame]:
    """``{(city, pollutant): frame indexed by the issue day with columns 1, 2, 3}`` of the
    stored daily forecast of the issued LightGBM model (empty when none is stored)."""
    label, _ = issued_model(where, issue_day)
    if label is None:
        return {}
    rows = store_forecast.forecast_rows(
        where,
        issue_day=issue_day,
        cities=None if cities is None else list(cities),
        models=[label],
        parameters=list(_DAILY_OF_HOURLY),
    )
    rows = rows[rows["lead"].between(1, 3)]
    out = {}
    for (city, pollutant), group in rows.groupby(["scope_id", "parameter"]):
        values = group.set_index("lead")["value"].reindex([1, 2, 3])
        out[(str(city), str(pollutant))] = pd.DataFrame(
            [values.to_numpy(float)],
            index=pd.DatetimeIndex([pd.Timestamp(issue_day)]),
            columns=[1, 2, 3],
        )
    return out
