"""Stored hourly forecasts (issue 21): issue the 72-hour forecast once and read it back.

``ecobasin forecast run``, ``ecobasin forecast hourly`` and the demo call :func:`issue_hourly`:
one fit of :mod:`ecobasin.forecast.hourly` over every city of the store (as
:func:`ecobasin.services.forecast.hourly_forecast` does), written to ``forecast_hourly``
(:mod:`ecobasin.store.forecast_hourly`) under the issue time, local 24:00 of the issue day; a
rerun replaces the same rows. :func:`hourly` answers ``/api/v1/forecasts/hourly`` and the page
from the stored rows and fits on request only when an asked city has none (``source``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from ecobasin.errors import NotFound
from ecobasin.services import forecast as forecast_service
from ecobasin.store import Connection
from ecobasin.store import forecast_hourly as store_hourly

__all__ = [
    "HOURLY_MODEL_VERSION",
    "HourlyAnswer",
    "fitted",
    "from_rows",
    "hourly",
    "issue_hourly",
    "issue_time",
    "stored",
    "to_rows",
]

#: Version of the hourly model whose rows are stored (bump when forecast/hourly.py changes
#: what it computes, so stored rows say which one made them).
HOURLY_MODEL_VERSION = "hourly-blend/1"
#: Pollutant label of the hourly AQI rows of a rule set.
AQI_PREFIX = "AQI:"


@dataclass(frozen=True)
class HourlyAnswer:
    """An hourly forecast as read: its issue day, the value and AQI frames and where they came
    from (``stored``: ``forecast_hourly``; ``fitted``: computed on request)."""

    issue_day: date
    values: pd.DataFrame
    aqi: pd.DataFrame
    source: str
    model_version: str | None


def issue_time(issue_day: date) -> pd.Timestamp:
    """The issue time of ``issue_day``'s hourly forecast: local (CST) 24:00, as UTC."""
    from ecobasin.forecast.hourly import LOCAL_TZ

    local = pd.Timestamp(issue_day) + pd.Timedelta(days=1)
    return local.tz_localize(LOCAL_TZ).tz_convert("UTC")


def _model_version(where: Connection, issue_day: date) -> str:
    label, _ = forecast_service.issued_model(where, issue_day)
    return f"{HOURLY_MODEL_VERSION}; daily {label or 'none'}"


def to_rows(
    values: pd.DataFrame, aqi: pd.DataFrame, issue_day: date, model_version: str
) -> pd.DataFrame:
    """``forecast_hourly`` rows of a forecast's value frame and AQI table."""
    issued = issue_time(issue_day)
    hours = values[["city", "lead_hour", "local_day", "local_hour"]].drop_duplicates()
    conc = pd.DataFrame(
        {
            "city": values["city"].astype(str),
            "pollutant": values["pollutant"],
            "valid_time": values["time"],
            "lead_hour": values["lead_hour"],
            "local_day": values["local_day"],
            "local_hour": values["local_hour"],
            "value": values["value"],
            "low": values["lower"],
            "high": values["upper"],
            "level": np.nan,
            "primary_pollutant": None,
        }
    )
    index = aqi.merge(hours.assign(city=hours["city"].astype(str)), on=["city", "lead_hour"])
    index_rows = pd.DataFrame(
        {
            "city": index["city"].astype(str),
            "pollutant": AQI_PREFIX + index["rule_set"].astype(str),
            "valid_time": index["time"],
            "lead_hour": index["lead_hour"],
            "local_day": index["local_day"],
            "local_hour": index["local_hour"],
            "value": pd.to_numeric(index["aqi"], errors="coerce"),
            "low": pd.to_numeric(index["aqi_lower"], errors="coerce"),
            "high": pd.to_numeric(index["aqi_upper"], errors="coerce"),
            "level": pd.to_numeric(index["level"], errors="coerce"),
            "primary_pollutant": index["primary"].astype(object).where(index["primary"].notna()),
        }
    )
    rows = pd.concat([conc, index_rows], ignore_index=True)
    return rows.assign(
        issued_at=issued,
        issue_day=pd.Timestamp(issue_day),
        model_version=model_version,
        created_at=datetime.now(UTC),
    )


def from_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The value frame and AQI table (columns of the fitted ones the API reads) of stored
    ``forecast_hourly`` rows."""
    is_aqi = rows["pollutant"].str.startswith(AQI_PREFIX)
    conc, index = rows[~is_aqi], rows[is_aqi]
    values = pd.DataFrame(
        {
            "city": conc["city"].astype(str),
            "issue_day": conc["issue_day"],
            "lead_hour": conc["lead_hour"].astype(int),
            "time": conc["valid_time"],
            "local_day": conc["local_day"],
            "local_hour": conc["local_hour"].astype(int),
            "pollutant": conc["pollutant"],
            "value": conc["value"],
            "lower": conc["low"],
            "upper": conc["high"],
        }
    ).reset_index(drop=True)
    aqi = pd.DataFrame(
        {
            "city": index["city"].astype(str),
            "issue_day": index["issue_day"],
            "lead_hour": index["lead_hour"].astype(int),
            "time": index["valid_time"],
            "rule_set": index["pollutant"].str.removeprefix(AQI_PREFIX),
            "aqi": index["value"],
            "aqi_lower": index["low"],
            "aqi_upper": index["high"],
            "level": index["level"],
            "primary": index["primary_pollutant"],
        }
    ).reset_index(drop=True)
    return values, aqi


def issue_hourly(where: Connection, issue_day: date) -> int:
    """Fit the hourly forecast after ``issue_day`` for every city and store it (replacing a
    stored one of that issue); the number of rows written.

    Raises
    ------
    NotFound
        Too little hourly history before the issue day (the reason names it).
    """
    values, aqi = forecast_service.hourly_forecast(where, issue_day, None)
    rows = to_rows(values, aqi, issue_day, _model_version(where, issue_day))
    return store_hourly.write_hourly(where, rows)


def stored(
    where: Connection, issue_day: date | None, cities: Sequence[str] | None
) -> HourlyAnswer | None:
    """The stored hourly forecast of ``issue_day`` (default the latest stored) for ``cities``
    (default every stored city); None unless every asked city has one stored."""
    day = issue_day or store_hourly.latest_hourly_issue_day(where)
    if day is None:
        return None
    have = store_hourly.stored_cities(where, day)
    if not have or (cities is not None and not set(cities) <= have):
        return None
    rows = store_hourly.hourly_rows(where, issue_day=day, cities=cities)
    values, aqi = from_rows(rows)
    return HourlyAnswer(day, values, aqi, "stored", str(rows["model_version"].iloc[0]))


def fitted(where: Connection, issue_day: date, cities: Sequence[str] | None) -> HourlyAnswer:
    """The hourly forecast of ``issue_day`` for ``cities`` fitted now on their hours (not
    stored; :func:`ecobasin.services.forecast.hourly_forecast`).

    Raises
    ------
    NotFound
        Too little history to fit.
    """
    values, aqi = forecast_service.hourly_forecast(where, issue_day, cities)
    return HourlyAnswer(issue_day, values, aqi, "fitted", _model_version(where, issue_day))


def hourly(where: Connection, issue_day: date | None, cities: Sequence[str] | None) -> HourlyAnswer:
    """The stored hourly forecast (:func:`stored`), else one fitted now (:func:`fitted`).

    Raises
    ------
    NotFound
        No issue day given and none stored, or too little history to fit.
    """
    answer = stored(where, issue_day, cities)
    if answer is not None:
        return answer
    day = issue_day or forecast_service.latest_issue_day(where)
    if day is None:
        raise NotFound("no forecast is stored: run `ecobasin forecast run --date D` first")
    return fitted(where, day, cities)
