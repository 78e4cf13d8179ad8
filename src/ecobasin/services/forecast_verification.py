"""How good were the forecasts the platform issued? — what ``ecobasin forecast verify``,
``GET /api/v1/forecasts/verification`` and the /forecast page all ask (issue 21, item 4).

One function per question:

* :func:`verification_period` — which period to verify when none is given;
* :func:`lead_scores` — the daily forecasts by lead, beside persistence and climatology
  (:func:`ecobasin.forecast.verification.lead_scores`);
* :func:`hour_of_day_scores` — the stored hourly forecasts by local hour of day, beside hourly
  persistence;
* :func:`verify` — both, for one city and period, as one :class:`Verification`.

The forecasts are the stored rows of the issued LightGBM model (the latest issued when several
ran on a day), the observations the city daily values of the national-network stations (HJ 663);
the forecaster's adjustments are not scored here.

The scores are pure functions of the frames read from the store, and every load of /forecast
asks for them again (~0.4 CPU-s of pandas per city and period): they are kept by a SHA-256 of
those frames (:func:`ecobasin.services.figure_cache.digest`), so a change of the data changes
the key and stale scores are never served.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from ecobasin.errors import InputError
from ecobasin.forecast import verification as fv
from ecobasin.services.figure_cache import DigestCache, digest
from ecobasin.store import Connection
from ecobasin.store import forecast as store_forecast
from ecobasin.store import forecast_hourly as store_hourly

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "HOUR_LABELS",
    "MAX_PERIOD_DAYS",
    "MEMBER_LABELS",
    "SCORE_LABELS",
    "Verification",
    "check_city",
    "hour_of_day_scores",
    "lead_scores",
    "verification_period",
    "verify",
]

#: Target days verified when no period is given: the last ones with forecasts [d].
DEFAULT_PERIOD_DAYS = 90
#: Longest period one request verifies (the climatology reads the earlier years) [d].
MAX_PERIOD_DAYS = 3 * 366
#: Years of earlier observations read for the climatology [a].
CLIMATOLOGY_YEARS = 5

#: Bilingual names of the members (中文, English).
MEMBER_LABELS: dict[str, tuple[str, str]] = {
    fv.ISSUED: ("发布预报", "issued forecast"),
    "persistence": ("持续性预报", "persistence"),
    "climatology": ("气候态", "climatology"),
}
#: Bilingual names of the score columns by lead, in the order tables show them; units in
#: brackets (AQI dimensionless, concentrations µg/m³).
SCORE_LABELS: dict[str, tuple[str, str]] = {
    "n": ("样本数", "cases"),
    "level_acc": ("级别准确率", "level accuracy"),
    "within_one": ("级别偏差≤1", "within one level"),
    "range_hit": ("范围命中率", "range hit rate"),
    "primary_acc": ("首要污染物准确率", "primary pollutant hit rate"),
    "aqi_rmse": ("AQI 均方根误差", "AQI RMSE"),
    "aqi_mae": ("AQI 平均绝对误差", "AQI MAE"),
    "aqi_bias": ("AQI 偏差", "AQI bias"),
    "pm25_rmse": ("PM2.5 均方根误差 [µg/m³]", "PM2.5 RMSE [µg/m³]"),
    "pm25_mae": ("PM2.5 平均绝对误差 [µg/m³]", "PM2.5 MAE [µg/m³]"),
    "pm25_bias": ("PM2.5 偏差 [µg/m³]", "PM2.5 bias [µg/m³]"),
    "o3_rmse": ("O3 8小时 均方根误差 [µg/m³]", "O3 8-h RMSE [µg/m³]"),
    "o3_mae": ("O3 8小时 平均绝对误差 [µg/m³]", "O3 8-h MAE [µg/m³]"),
    "o3_bias": ("O3 8小时 偏差 [µg/m³]", "O3 8-h bias [µg/m³]"),
    "pod_100": ("命中率 POD (AQI>100)", "POD (AQI > 100)"),
    "far_100": ("空报率 FAR (AQI>100)", "FAR (AQI > 100)"),
    "ts_100": ("TS 评分 (AQI>100)", "TS (AQI > 100)"),
    "pod_200": ("命中率 POD (AQI>200)", "POD (AQI > 200)"),
    "far_200": ("空报率 FAR (AQI>200)", "FAR (AQI > 200)"),
    "ts_200": ("TS 评分 (AQI>200)", "TS (AQI > 200)"),
    "skill_pm25_persistence": ("PM2.5 技巧评分（对持续性）", "PM2.5 skill vs persistence"),
    "skill_aqi_persistence": ("AQI 技巧评分（对持续性）", "AQI skill vs persistence"),
    "skill_pm25_climatology": ("PM2.5 技巧评分（对气候态）", "PM2.5 skill vs climatology"),
    "skill_aqi_climatology": ("AQI 技巧评分（对气候态）", "AQI skill vs climatology"),
}
#: Bilingual names of the hour-of-day score columns.
HOUR_LABELS: dict[str, tuple[str, str]] = {
    "pollutant": ("污染物", "pollutant"),
    "local_hour": ("时次（北京时间）", "hour of day (CST)"),
    "n": ("样本数", "cases"),
    "rmse": ("均方根误差", "RMSE"),
    "mae": ("平均绝对误差", "MAE"),
    "bias": ("偏差", "bias"),
    "persistence_rmse": ("持续性 均方根误差", "persistence RMSE"),
    "skill_persistence": ("技巧评分（对持续性）", "skill vs persistence"),
}


#: Score tables kept (each a few kB: one per city, period and state of the data asked for).
KEPT_SCORES = 64
_SCORES: DigestCache[pd.DataFrame] = DigestCache(budget=KEPT_SCORES, size=lambda _: 1)


def _scores_of(
    score: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
    first: pd.DataFrame,
    second: pd.DataFrame,
) -> pd.DataFrame:
    """``score(first, second)``, kept by a digest of both frames; a copy, so that a caller who
    changes it changes nothing kept."""
    key = digest((score.__module__, score.__qualname__, first, second))
    return _SCORES.get_or_draw(key, lambda: score(first, second)).copy()


@dataclass(frozen=True)
class Verification:
    """Scores of one city's issued forecasts over target days ``start`` … ``end``."""

    city: str
    start: date
    end: date
    issues: int  # issue days with a forecast targeting the period
    leads: pd.DataFrame  # fv.lead_scores
    hours: pd.DataFrame  # fv.hour_of_day_scores
    hourly_issues: int  # issue days with stored hourly forecasts in the period


def check_city(city: str, cities: Sequence[str]) -> str:
    """``city`` when it is one of the region's ``cities`` (6-digit GB/T 2260 codes).

    Raises
    ------
    InputError
        Naming the city (cut to 12 characters) and why it is refused.
    """
    if not re.fullmatch(r"\d{6}", city):
        raise InputError(f"city {city[:12]!r}: a city is its 6-digit GB/T 2260 code 城市代码")
    if city not in {str(c) for c in cities}:
        raise InputError(f"city {city!r} is not a city of the region 不是本区域城市")
    return city


def verification_period(
    where: Connection, city: str, start: date | None, end: date | None
) -> tuple[date, date]:
    """The target days to verify: ``start`` … ``end`` as given, the missing end the last
    target day with a forecast of ``city`` (today when none), the missing start
    :data:`DEFAULT_PERIOD_DAYS` before the end.

    Raises
    ------
    InputError
        The period is reversed or longer than :data:`MAX_PERIOD_DAYS`.
    """
    _, last = store_forecast.forecast_span(where, city)
    end = end or last or date.today()
    start = start or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if start > end:
        raise InputError(f"period {start} → {end}: 'from' is after 'to' 起始日晚于截止日")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InputError(
            f"period {start} → {end}: {(end - start).days + 1} days, at most {MAX_PERIOD_DAYS} "
            "days per request 时段过长"
        )
    return start, end


def lead_scores(where: Connection, city: str, start: date, end: date) -> pd.DataFrame:
    """Scores by member (issued, persistence, climatology) and lead of the issued daily
    forecasts of ``city`` targeting ``start`` … ``end`` (:func:`fv.lead_scores`)."""
    rows = store_forecast.issued_forecast_rows(where, city=city, start=start, end=end)
    if rows.empty:
        return pd.DataFrame()
    daily, _ = store_forecast.forecast_inputs(where, cities=[int(city)], end=end, with_met=False)
    first = date(start.year - CLIMATOLOGY_YEARS, 1, 1)
    daily = daily[pd.to_datetime(daily["day"]) >= pd.Timestamp(first)]
    return _scores_of(fv.lead_scores, rows, daily)


def hour_of_day_scores(where: Connection, city: str, start: date, end: date) -> pd.DataFrame:
    """Scores by pollutant and local hour of day of the stored hourly forecasts of ``city``
    issued ``start - 3 d`` … ``end`` (:func:`fv.hour_of_day_scores`), hours in the period."""
    from ecobasin.forecast.hourly import HOURLY_POLLUTANTS

    stored = store_hourly.hourly_rows(
        where,
        cities=[city],
        start=start - timedelta(days=3),
        end=end,
        pollutants=list(HOURLY_POLLUTANTS),
    )
    stored = stored[
        (pd.to_datetime(stored["local_day"]) >= pd.Timestamp(start))
        & (pd.to_datetime(stored["local_day"]) <= pd.Timestamp(end))
    ]
    if stored.empty:
        return fv.hour_of_day_scores(stored, pd.DataFrame())
    observed = store_forecast.city_hourly(where, cities=[int(city)])
    forecast = stored.rename(columns={"valid_time": "time"})
    return _scores_of(fv.hour_of_day_scores, forecast, observed)


def verify(
    where: Connection,
    city: str,
    start: date | None,
    end: date | None,
    cities: Sequence[str],
) -> Verification:
    """The scores of ``city`` (one of the region's ``cities``) over the period (defaults of
    :func:`verification_period`).

    Raises
    ------
    InputError
        A city that is not the region's or a bad period, named.
    """
    check_city(city, cities)
    first, last = verification_period(where, city, start, end)
    rows = store_forecast.issued_forecast_rows(where, city=city, start=first, end=last)
    hourly_days = store_hourly.hourly_issue_days(where, city, first - timedelta(days=3), last)
    return Verification(
        city=city,
        start=first,
        end=last,
        issues=int(rows["issue_day"].nunique()) if not rows.empty else 0,
        leads=lead_scores(where, city, first, last),
        hours=hour_of_day_scores(where, city, first, last),
        hourly_issues=len(hourly_days),
    )
