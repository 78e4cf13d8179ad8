"""One forecast issue: the rows ``ecobasin forecast run`` (and the demo) store — every model's
pollutant and AQI forecasts for day +1 … +7, and the warnings the LightGBM sequence implies
(环办大气函〔2019〕648号), per city and for the region."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from ecobasin.forecast.aqi_range import forecast_aqi
from ecobasin.forecast.features import complete_grid
from ecobasin.forecast.guidance import blend_members
from ecobasin.forecast.warning import REGIONAL_RULE, city_warning, regional_warning
from ecobasin.timebase import CST

__all__ = ["LEVEL_ZH", "aqi_rows", "forecast_frames"]

#: Warning levels in Chinese (648号: 黄色, 橙色, 红色).
LEVEL_ZH = {"yellow": "黄色", "orange": "橙色", "red": "红色"}


def _day_start_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST).astimezone(UTC)


def forecast_frames(
    models: dict[str, Any],
    meta: dict[str, Any],
    daily: pd.DataFrame,
    met: pd.DataFrame | None,
    issue_day: date,
    model_name: str,
    author: str,
    *,
    issued_at: datetime,
    guidance: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored-row frames of one run: forecasts (pollutants and AQI) and warnings.

    ``issued_at`` (tz-aware) is the time the issue is published, stamped on every row; the
    caller reads the clock, so the same inputs always give the same rows. ``guidance``:
    numerical-model members as known on the issue day
    (:func:`ecobasin.forecast.guidance.guidance_forecasts`), blended by the learned model.
    """
    leads = list(meta["leads"])
    use_met = bool(meta["with_meteorology"]) and met is not None
    grid = complete_grid(
        daily, met if use_met else None, extra_days=max(leads), max_lead=max(leads)
    )
    issued = issued_at
    rows: list[pd.DataFrame] = []
    warn_rows: list[dict[str, Any]] = []
    city_warns = {}
    for name, model in models.items():
        label = f"lightgbm:{model_name}" if name == "lightgbm" else name
        if name == "lightgbm":
            members = blend_members(guidance)
            fc = model.predict(grid, [pd.Timestamp(issue_day)], leads, guidance=members)
        else:
            fc = model.predict(grid, [pd.Timestamp(issue_day)], leads)
        fc = fc.assign(model=label)
        if fc.empty:
            continue
        aqi = forecast_aqi(fc)
        rows.append(fc.rename(columns={"city": "scope_id", "pollutant": "parameter"}))
        rows.append(aqi_rows(aqi, label))
        if name != "lightgbm":
            continue
        for city, g in aqi.sort_values("lead").groupby("city"):
            days = [pd.Timestamp(d).date() for d in g["target_day"]]
            w = city_warning(days, [None if pd.isna(v) else float(v) for v in g["aqi"]])
            city_warns[str(city)] = w
            if w.level != "none" and w.start and w.end:
                warn_rows.append(
                    {
                        "scope": "city",
                        "scope_id": str(city),
                        "level": w.level,
                        "rule": "HBDQH-2019-648",
                        "start_time": _day_start_utc(w.start),
                        "end_time": _day_start_utc(w.end + timedelta(days=1)),
                        "basis": {
                            "days": [[d.isoformat(), v] for d, v in w.days],
                            "condition": w.condition,
                        },
                        "reason_zh": w.reason_zh,
                        "reason_en": w.reason_en,
                    }
                )
    level, cities, start, end = regional_warning(city_warns, max(1, len(city_warns)))
    if level != "none" and start and end:
        warn_rows.append(
            {
                "scope": "region",
                "scope_id": "region",
                "level": level,
                "rule": f"regional: >= {REGIONAL_RULE.min_cities} cities",
                "start_time": _day_start_utc(start),
                "end_time": _day_start_utc(end + timedelta(days=1)),
                "basis": {"cities": cities},
                "reason_zh": f"区域{LEVEL_ZH.get(level, level)}预警：{len(cities)}个城市同时达到",
                "reason_en": f"regional {level}: {len(cities)} cities reach it together",
            }
        )
    forecasts = pd.concat(rows, ignore_index=True)
    forecasts = forecasts.assign(
        issue_day=pd.Timestamp(issue_day),
        issued_at=issued,
        scope="city",
        with_meteorology=use_met,
        author=author,
    )
    warnings = pd.DataFrame(warn_rows)
    if not warnings.empty:
        warnings = warnings.assign(
            issue_day=pd.Timestamp(issue_day),
            issued_at=issued,
            model=f"lightgbm:{model_name}",
            author=author,
        )
    return forecasts, warnings


def aqi_rows(aqi: pd.DataFrame, model: str) -> pd.DataFrame:
    """The stored AQI rows (parameter ``AQI``) of :func:`~ecobasin.forecast.aqi_range.forecast_aqi`'s
    frame for one model: value and range, the level (None below 1), primary pollutant, rules."""
    return pd.DataFrame(
        {
            "scope_id": aqi["city"],
            "target_day": aqi["target_day"],
            "lead": aqi["lead"],
            "model": model,
            "parameter": "AQI",
            "value": aqi["aqi"],
            "lower": aqi["aqi_lower"],
            "upper": aqi["aqi_upper"],
            "level": aqi["level"].where(aqi["level"] > 0),
            "primary_pollutant": aqi["primary"],
            "rule_set": aqi["rule_set"],
        }
    )
