"""``GET /api/v1/forecasts`` (air-quality forecasts 空气质量预报), ``GET /api/v1/warnings``
(heavy-pollution warnings 重污染天气预警), ``POST /api/v1/forecasts/adjust`` (a forecaster's
adjustment 人工订正, kept beside the model's value; editors of the city or admins),
``GET /api/v1/forecasts/hourly`` (the stored 72-hour forecast, fitted only where none is stored)
and ``GET /api/v1/forecasts/verification`` (scores of the issued forecasts 预报检验)."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ecobasin.services import forecast as forecast_service
from ecobasin.services import forecast_hourly as hourly_service
from ecobasin.services import forecast_verification as verification_service
from ecobasin.web.deps import CursorDep, RegionDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import Writer, authorize

router = APIRouter(tags=["forecasts"], responses=problem_responses(422))


class Forecast(BaseModel):
    """One forecast value 预报值: a pollutant concentration or the AQI of a day."""

    city: str = Field(description="City code (GB/T 2260).", examples=["510100"])
    issue_day: date = Field(description="Issue day (data up to it), CST 发布日.")
    target_day: date = Field(description="Forecast day, CST 预报日.")
    lead: int = Field(description="Days ahead 预报时效.")
    model: str = Field(examples=["lightgbm:default", "persistence", "climatology"])
    parameter: str = Field(examples=["AQI", "PM2.5", "O3_8h"])
    value: float | None = Field(description="Central value [µg/m³; CO mg/m³; AQI].")
    lower: float | None = Field(description="Lower end of the predictive range 范围下限.")
    upper: float | None = Field(description="Upper end 范围上限.")
    level: int | None = Field(default=None, description="AQI level 1-6 (AQI rows).")
    primary: str | None = Field(default=None, description="Primary pollutant 首要污染物.")
    rule_set: str | None = None
    with_meteorology: bool
    author: str
    adjusted: dict[str, Any] | None = Field(
        default=None,
        description="A forecaster's adjustment (value, lower, upper, level, primary, by, at, "
        "reason); the model's value stays beside it.",
    )


class PollutionWarning(BaseModel):
    """A heavy-pollution weather warning 重污染天气预警."""

    warning_id: int
    scope: str = Field(description="city or region.")
    scope_id: str
    issue_day: date
    level: str = Field(description="yellow 黄色, orange 橙色, red 红色.")
    start_time: str = Field(description="UTC instant the first warned day begins.")
    end_time: str
    rule: str
    model: str
    basis: dict[str, Any] = Field(description="Days and forecast AQI values; or the cities.")
    reason_zh: str
    reason_en: str


class Adjustment(BaseModel):
    """A forecaster's AQI adjustment 人工订正."""

    city: str = Field(examples=["510100"])
    issue_day: date
    target_day: date
    model: str = Field(default="lightgbm:default")
    aqi_lower: float = Field(ge=0, le=500)
    aqi_upper: float = Field(ge=0, le=500)
    primary: str | None = Field(default=None, max_length=40)
    reason: str = Field(min_length=3, max_length=500, description="Why 订正原因.")


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _forecast(row: Mapping[Any, Any]) -> Forecast:
    adjusted = None
    if row.get("adjusted_by") is not None and not pd.isna(row.get("adjusted_by")):
        adjusted = {
            "value": _num(row["adjusted_value"]),
            "lower": _num(row["adjusted_lower"]),
            "upper": _num(row["adjusted_upper"]),
            "level": None if pd.isna(row["adjusted_level"]) else int(row["adjusted_level"]),
            "primary": _text(row["adjusted_primary"]),
            "by": row["adjusted_by"],
            "at": str(row["adjusted_at"]),
            "reason": row["adjust_reason"],
        }
    level = row.get("level")
    return Forecast(
        city=str(row["scope_id"]),
        issue_day=row["issue_day"],
        target_day=row["target_day"],
        lead=int(row["lead"]),
        model=row["model"],
        parameter=row["parameter"],
        value=_num(row["value"]),
        lower=_num(row["lower"]),
        upper=_num(row["upper"]),
        level=None if level is None or pd.isna(level) else int(level),
        primary=_text(row.get("primary_pollutant")),
        rule_set=_text(row.get("rule_set")),
        with_meteorology=bool(row["with_meteorology"]),
        author=row["author"],
        adjusted=adjusted,
    )


@router.get("/forecasts", response_model=list[Forecast])
def forecasts(
    cursor: CursorDep,
    issue_day: Annotated[date | None, Query(description="Issue day; default the latest.")] = None,
    city: Annotated[list[str] | None, Query(description="City codes 城市.")] = None,
    model: Annotated[list[str] | None, Query()] = None,
    parameter: Annotated[list[str] | None, Query(examples=["AQI"])] = None,
) -> list[Forecast]:
    """Stored forecasts of one issue day (default: the latest) 空气质量预报."""
    day, frame = forecast_service.forecasts(cursor, issue_day, city, model, parameter)
    if day is None:
        return []
    return [_forecast(r) for r in frame.to_dict("records")]


class HourlyValue(BaseModel):
    """One hour of the 72-hour forecast 逐小时预报值."""

    city: str = Field(examples=["510100"])
    lead_hour: int = Field(description="Hours after the issue time (local 24:00) 预报时效 [h].")
    time: str = Field(description="End of the hour, UTC (ISO 8601).")
    local_day: date = Field(description="Day of the hour, CST.")
    local_hour: int = Field(description="Local hour start 0-23 (CST).")
    pollutant: str = Field(examples=["PM2.5", "O3", "O3_8h", "PM2.5_24h"])
    value: float | None = Field(description="Central value [µg/m³; CO mg/m³].")
    lower: float | None = Field(description="5 % quantile 范围下限.")
    upper: float | None = Field(description="95 % quantile 范围上限.")


class HourlyAQI(BaseModel):
    """Hourly AQI of one rule generation, with its range 逐小时AQI."""

    city: str
    lead_hour: int
    time: str
    rule_set: str = Field(examples=["HJ633-2012", "HJ633-2026"])
    aqi: int | None
    aqi_lower: int | None
    aqi_upper: int | None
    level: int | None
    primary: str | None


class HourlyForecast(BaseModel):
    """The 72-hour hourly forecast after an issue day 未来72小时逐小时预报."""

    issue_day: date
    source: Literal["stored", "fitted"] = Field(
        description="stored: the rows issued with the forecast (forecast_hourly) 已发布; "
        "fitted: none stored for a city asked, computed on this request 按需计算."
    )
    model_version: str | None = Field(
        default=None, description="Hourly model version and the daily model it follows."
    )
    daily_tolerance: float = Field(
        description="Largest relative gap of a day's hourly mean to the issued daily forecast."
    )
    values: list[HourlyValue]
    aqi: list[HourlyAQI]


#: One hourly model fit at a time: each request learns from years of hours (seconds of CPU).
_HOURLY_SLOTS = threading.BoundedSemaphore(1)
#: [s] How long a request waits for that slot before a 503 (a fit takes a few seconds).
HOURLY_WAIT_S = 60.0


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


@router.get(
    "/forecasts/hourly", response_model=HourlyForecast, responses=problem_responses(404, 503)
)
def hourly_forecast(
    cursor: CursorDep,
    issue_day: Annotated[
        date | None, Query(description="Issue day (hours up to its end) 发布日; default latest.")
    ] = None,
    issued: Annotated[date | None, Query(description="Same as issue_day 发布日.")] = None,
    city: Annotated[list[str] | None, Query(description="City codes 城市.")] = None,
) -> HourlyForecast:
    """Hourly forecast of PM2.5, PM10, O3, NO2, CO, SO2 and the AQI of both rule generations
    for the 72 hours after the issue day 未来72小时逐小时预报: the stored issue (default the
    latest stored), fitted on request only when an asked city has none stored."""
    from ecobasin.forecast.hourly import DAILY_TOLERANCE

    bad = [c[:12] for c in city or [] if not re.fullmatch(r"\d{6}", c)]
    if bad:
        raise ProblemError(422, f"city {bad[0]!r}…: a city is its 6-digit GB/T 2260 code 城市代码")
    if issue_day and issued and issue_day != issued:
        raise ProblemError(422, f"issue_day {issue_day} and issued {issued} differ: give one")
    answer = _stored_or_fitted(cursor, issue_day or issued, city)
    values, aqi, issue_day = answer.values, answer.aqi, answer.issue_day
    return HourlyForecast(
        issue_day=issue_day,
        source="stored" if answer.source == "stored" else "fitted",
        model_version=answer.model_version,
        daily_tolerance=DAILY_TOLERANCE,
        values=[
            HourlyValue(
                city=str(r["city"]),
                lead_hour=int(r["lead_hour"]),
                time=pd.Timestamp(r["time"]).isoformat(),
                local_day=r["local_day"],
                local_hour=int(r["local_hour"]),
                pollutant=r["pollutant"],
                value=_num(r["value"]),
                lower=_num(r["lower"]),
                upper=_num(r["upper"]),
            )
            for r in values.to_dict("records")
        ],
        aqi=[
            HourlyAQI(
                city=str(r["city"]),
                lead_hour=int(r["lead_hour"]),
                time=pd.Timestamp(r["time"]).isoformat(),
                rule_set=r["rule_set"],
                aqi=_int(r["aqi"]),
                aqi_lower=_int(r["aqi_lower"]),
                aqi_upper=_int(r["aqi_upper"]),
                level=_int(r["level"]),
                primary=_text(r["primary"]),
            )
            for r in aqi.to_dict("records")
        ],
    )


def _stored_or_fitted(
    cursor: Any, issue_day: date | None, cities: list[str] | None
) -> hourly_service.HourlyAnswer:
    """The stored hourly forecast; a fit (one at a time, waiting for the slot) only when an
    asked city has none stored."""
    answer = hourly_service.stored(cursor, issue_day, cities)
    if answer is not None:
        return answer
    day = issue_day or forecast_service.latest_issue_day(cursor)
    if day is None:
        raise ProblemError(404, "no forecast is stored: run `ecobasin forecast run --date D`")
    # wait for the slot (the page asks once per city change; requests queue behind a fit)
    if not _HOURLY_SLOTS.acquire(timeout=HOURLY_WAIT_S):
        raise ProblemError(
            503, "another hourly forecast is being computed; retry", headers={"Retry-After": "5"}
        )
    try:
        return hourly_service.fitted(cursor, day, cities)
    finally:
        _HOURLY_SLOTS.release()


class Label(BaseModel):
    """A bilingual label 中英文名称."""

    zh: str
    en: str


class LeadScore(BaseModel):
    """Scores of one member at one lead 分时效检验评分 (NaN as null); skill scores are the
    issued forecast's, on every member's row of the lead."""

    member: str = Field(description="issued 发布预报, persistence 持续性预报, climatology 气候态.")
    lead: int = Field(description="Days ahead 预报时效 [d].")
    n: int = Field(description="Cases with an observed AQI 样本数.")
    level_acc: float | None = Field(description="AQI level accuracy 级别准确率 [0-1].")
    within_one: float | None = Field(description="Within one level 级别偏差≤1 [0-1].")
    range_hit: float | None = Field(description="Observed AQI in the range 范围命中率 [0-1].")
    primary_acc: float | None = Field(description="Primary pollutant hit rate [0-1].")
    aqi_rmse: float | None = None
    aqi_mae: float | None = None
    aqi_bias: float | None = Field(default=None, description="Forecast - observed.")
    pm25_rmse: float | None = Field(default=None, description="[µg/m³]")
    pm25_mae: float | None = None
    pm25_bias: float | None = None
    o3_rmse: float | None = Field(default=None, description="O3 max 8-h [µg/m³]")
    o3_mae: float | None = None
    o3_bias: float | None = None
    pod_100: float | None = None
    far_100: float | None = None
    ts_100: float | None = None
    pod_200: float | None = None
    far_200: float | None = None
    ts_200: float | None = None
    skill_pm25_persistence: float | None = Field(
        default=None, description="1 - MSE/MSE(persistence) of PM2.5 (< 0: worse)."
    )
    skill_aqi_persistence: float | None = None
    skill_pm25_climatology: float | None = None
    skill_aqi_climatology: float | None = None


class HourScore(BaseModel):
    """Scores of the stored hourly forecasts at one local hour of day 分时次检验."""

    pollutant: str
    local_hour: int = Field(description="CST hour start 0-23.")
    n: int
    rmse: float | None = Field(description="[µg/m³; CO mg/m³]")
    mae: float | None
    bias: float | None
    persistence_rmse: float | None = Field(description="Same hour of the issue day.")
    skill_persistence: float | None = Field(description="1 - MSE/MSE(persistence).")


class VerificationReport(BaseModel):
    """Verification of a city's issued forecasts over a period 预报检验."""

    city: str = Field(examples=["510100"])
    start: date = Field(description="First target day 起始日 (CST).")
    end: date = Field(description="Last target day 截止日 (CST).")
    issues: int = Field(description="Issue days with forecasts of the period 发布次数.")
    hourly_issues: int = Field(description="Issue days with stored hourly forecasts.")
    leads: list[LeadScore]
    hours: list[HourScore]
    members: dict[str, Label] = Field(description="Member names 预报成员.")
    labels: dict[str, Label] = Field(description="Score names by lead 评分名称.")
    hour_labels: dict[str, Label] = Field(description="Hour-of-day score names.")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows with NaN as None."""
    return [
        {str(k): _num(v) if isinstance(v, float) else v for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _labels(table: Mapping[str, tuple[str, str]]) -> dict[str, Label]:
    return {k: Label(zh=zh, en=en) for k, (zh, en) in table.items()}


@router.get(
    "/forecasts/verification",
    response_model=VerificationReport,
    responses=problem_responses(422),
)
def verification(
    cursor: CursorDep,
    region: RegionDep,
    city: Annotated[str, Query(description="City code 城市.", examples=["510100"])],
    start: Annotated[
        date | None,
        Query(alias="from", description="First target day 起始日; default 90 days before 'to'."),
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="Last target day 截止日; default the last.")
    ] = None,
) -> VerificationReport:
    """Scores of the issued forecasts by lead beside persistence and climatology, and of the
    stored hourly forecasts by hour of day 预报检验（分时效、分时次）."""
    result = verification_service.verify(cursor, city, start, end, [str(c) for c in region.cities])
    leads = result.leads.rename(columns={"model": "member"})
    return VerificationReport(
        city=result.city,
        start=result.start,
        end=result.end,
        issues=result.issues,
        hourly_issues=result.hourly_issues,
        leads=[LeadScore(**r) for r in _records(leads)],
        hours=[HourScore(**r) for r in _records(result.hours)],
        members=_labels(verification_service.MEMBER_LABELS),
        labels=_labels(verification_service.SCORE_LABELS),
        hour_labels=_labels(verification_service.HOUR_LABELS),
    )


@router.get(
    "/forecasts/plot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404)},
)
def forecast_plot(
    cursor: CursorDep,
    city: Annotated[str, Query(description="City code 城市.", examples=["510100"])],
    issue_day: Annotated[date | None, Query(description="Issue day; default the latest.")] = None,
) -> Response:
    """PNG of a city's AQI forecasts of one issue day, with ranges and adjustments 预报图."""
    from ecobasin.forecast.plots import issue_png

    day, frame = forecast_service.forecasts(cursor, issue_day, [city], parameters=["AQI"])
    if frame.empty:
        raise ProblemError(404, f"no stored AQI forecast of city {city!r} issued {day}")
    png = issue_png(frame, city=city, title=str(day))
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=60"})


@router.get("/warnings", response_model=list[PollutionWarning])
def warnings(
    cursor: CursorDep,
    start: Annotated[date | None, Query(description="First issue day.")] = None,
    end: Annotated[date | None, Query(description="Last issue day.")] = None,
    active_on: Annotated[date | None, Query(description="Warnings covering this day.")] = None,
    city: Annotated[list[str] | None, Query()] = None,
) -> list[PollutionWarning]:
    """Stored heavy-pollution warnings, newest issue first 重污染天气预警."""
    frame = forecast_service.warnings(cursor, start=start, end=end, ids=city, active_on=active_on)
    out = []
    for r in frame.to_dict("records"):
        out.append(
            PollutionWarning(
                warning_id=int(r["warning_id"]),
                scope=r["scope"],
                scope_id=r["scope_id"],
                issue_day=r["issue_day"],
                level=r["level"],
                start_time=pd.Timestamp(r["start_time"]).isoformat(),
                end_time=pd.Timestamp(r["end_time"]).isoformat(),
                rule=r["rule"],
                model=r["model"],
                basis=json.loads(r["basis"]),
                reason_zh=r["reason_zh"],
                reason_en=r["reason_en"],
            )
        )
    return out


@router.post(
    "/forecasts/adjust",
    response_model=Forecast,
    responses=problem_responses(401, 403, 404),
)
def adjust(body: Adjustment, principal: Writer, cursor: CursorDep) -> Forecast:
    """Adjust a model's AQI forecast (editors: their city; admins: any) 人工订正预报."""
    try:
        city_code = int(body.city)
    except ValueError:
        raise ProblemError(422, f"city {body.city!r} is not a city code") from None
    authorize(principal, "write", city_code, f"forecast of {body.city}")
    changed = forecast_service.adjust_aqi(
        cursor,
        issue_day=body.issue_day,
        city=body.city,
        target_day=body.target_day,
        model=body.model,
        lower=body.aqi_lower,
        upper=body.aqi_upper,
        primary=body.primary,
        author=principal.name or "-",
        reason=body.reason,
    )
    if not changed:
        raise ProblemError(
            404,
            f"no AQI forecast of {body.city} for {body.target_day} issued {body.issue_day} "
            f"by {body.model!r}",
        )
    accounts.audit(
        cursor, principal, "forecasts.adjust", body.city, city_code, body.model_dump(mode="json")
    )
    _, rows = forecast_service.forecasts(cursor, body.issue_day, [body.city], [body.model], ["AQI"])
    row = rows[pd.to_datetime(rows["target_day"]) == pd.Timestamp(body.target_day)]
    return _forecast(row.iloc[0].to_dict())
