"""SQL of forecasting: model inputs, saved models, forecasts, adjustments and warnings.

Tables (migration 8): ``forecast_models`` (a trained bundle's text files and metadata, by name),
``forecasts`` (one row per issue day, city, target day, model and parameter; a forecaster's
adjustment is kept beside the model's value with its author and reason) and ``warnings``
(heavy-pollution warnings with their basis, issue time, start and end).

Every function takes the :class:`~ecobasin.store.Store` or a cursor first. Days are China
Standard Time calendar days (``DATE``); instants are UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.queries import as_utc, in_list

__all__ = [
    "FORECAST_LEVELS",
    "adjust_forecast",
    "forecast_inputs",
    "forecast_rows",
    "forecast_span",
    "issued_forecast_rows",
    "issued_models",
    "latest_issue_day",
    "load_model",
    "model_names",
    "replace_forecasts",
    "replace_warnings",
    "save_model",
    "station_daily",
    "warning_rows",
]

#: Site levels whose stations make the city value of a forecast (national network, HJ 663).
FORECAST_LEVELS: tuple[str, ...] = ("national", "provincial", "city")


# -- inputs ------------------------------------------------------------------------------------
def station_daily(
    where: Connection,
    *,
    cities: Sequence[int] | None = None,
    levels: Sequence[str] = FORECAST_LEVELS,
    end: date | None = None,
) -> pd.DataFrame:
    """Station daily concentrations (``aqi_daily``, scope site) of the air stations.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``city_code``, ``day`` (datetime64), ``pm25``, ``pm10``, ``o3_8h``,
        ``o3_1h``, ``no2``, ``so2``, ``co`` [µg/m³; CO mg/m³].
    """
    params: list[Any] = [list(levels)]
    sql = (
        "SELECT d.scope_id AS site_id, s.city_code, d.day::TIMESTAMP AS day, d.pm25, d.pm10, "
        "d.o3_8h, d.o3_1h, d.no2, d.so2, d.co FROM aqi_daily d "
        "JOIN sites s ON s.site_id = d.scope_id "
        "WHERE d.scope = 'site' AND s.kind = 'air_station' AND s.level = ANY(?)"
        + in_list("s.city_code", cities, params)
    )
    if end is not None:
        params.append(end)
        sql += " AND d.day <= ?"
    return _sql.frame(
        _sql.cursor_of(where), sql + " ORDER BY s.city_code, d.scope_id, d.day", params
    )


#: Hourly columns of ``aqi_hourly`` → forecast pollutant names.
HOURLY_COLUMNS: dict[str, str] = {
    "pm25_1h": "PM2.5",
    "pm10_1h": "PM10",
    "o3_1h": "O3",
    "no2_1h": "NO2",
    "so2_1h": "SO2",
    "co_1h": "CO",
}


def city_hourly(
    where: Connection, *, cities: Sequence[int] | None = None, rule_set: str = "HJ633-2012"
) -> pd.DataFrame:
    """City hourly concentrations (``aqi_hourly``, scope city) in long form.

    Returns
    -------
    pandas.DataFrame
        ``city`` (code as text), ``time`` (UTC, end of the hour), ``pollutant``, ``value``
        [µg/m³; CO mg/m³]; missing values left out.
    """
    params: list[Any] = [rule_set]
    cols = ", ".join(f'{c} AS "{p}"' for c, p in HOURLY_COLUMNS.items())
    sql = (
        f"SELECT scope_id AS city, time::TIMESTAMP AS time, {cols} FROM aqi_hourly "
        "WHERE scope = 'city' AND rule_set = ?"
    )
    if cities:
        params.append([str(c) for c in cities])
        sql += " AND scope_id = ANY(?)"
    wide = as_utc(
        _sql.frame(_sql.cursor_of(where), sql + " ORDER BY scope_id, time", params), "time"
    )
    long = wide.melt(id_vars=["city", "time"], var_name="pollutant", value_name="value")
    out: pd.DataFrame = long.dropna(subset=["value"]).reset_index(drop=True)
    return out


def forecast_inputs(
    where: Connection,
    *,
    cities: Sequence[int] | None = None,
    end: date | None = None,
    with_met: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """City daily concentrations (mean of the national-network stations, HJ 663) and city daily
    meteorology: the inputs of training, backtests and forecast runs.

    ``end`` bounds the pollutant days (the issue day of a run); meteorology is not bounded, as
    rows after the issue day are meteorological forecasts.
    """
    from ecobasin.forecast.features import city_daily_from_stations, daily_meteorology

    con = _sql.cursor_of(where)
    stations = station_daily(con, cities=cities, end=end)
    daily = city_daily_from_stations(stations)
    if not with_met:
        return daily, None
    params: list[Any] = []
    sql = (
        "SELECT city_code, parameter, time::TIMESTAMP AS time, value FROM meteorology "
        "WHERE true" + in_list("city_code", cities, params)
    )
    # ordered: the daily means then sum in the same order on every run (reproducible floats)
    met = as_utc(_sql.frame(con, sql + " ORDER BY city_code, parameter, time", params), "time")
    return daily, daily_meteorology(met) if not met.empty else None


# -- models ------------------------------------------------------------------------------------
def save_model(
    where: Connection, name: str, payload: Mapping[str, str], metadata: Mapping[str, Any]
) -> None:
    """Store (or replace) a trained bundle under ``name``."""
    con = _sql.cursor_of(where)
    con.execute("DELETE FROM forecast_models WHERE name = ?", [name])
    con.execute(
        "INSERT INTO forecast_models VALUES (?, ?, ?, ?, ?)",
        [
            name,
            int(metadata.get("format", 1)),
            datetime.now(UTC),
            json.dumps(metadata, ensure_ascii=False),
            json.dumps(dict(payload), ensure_ascii=False),
        ],
    )


def load_model(where: Connection, name: str) -> dict[str, str] | None:
    """The payload of a saved bundle (None when no model has that name)."""
    rows = (
        _sql.cursor_of(where)
        .execute("SELECT payload FROM forecast_models WHERE name = ?", [name])
        .fetchall()
    )
    if not rows:
        return None
    payload: dict[str, str] = json.loads(rows[0][0])
    return payload


def model_names(where: Connection) -> pd.DataFrame:
    """Saved models: ``name``, ``format``, ``created_at``, ``metadata`` (JSON text)."""
    sql = "SELECT name, format, created_at, metadata FROM forecast_models ORDER BY name"
    return _sql.frame(_sql.cursor_of(where), sql, [])


# -- forecasts ---------------------------------------------------------------------------------
_FORECAST_COLUMNS = (
    "issue_day",
    "issued_at",
    "scope",
    "scope_id",
    "target_day",
    "lead",
    "model",
    "parameter",
    "value",
    "lower",
    "upper",
    "level",
    "primary_pollutant",
    "rule_set",
    "with_meteorology",
    "author",
)


def replace_forecasts(where: Connection, frame: pd.DataFrame) -> int:
    """Write model forecasts, replacing the same (issue day, scope, target day, model,
    parameter) keys; adjustments already made to those keys are dropped with them."""
    if frame.empty:
        return 0
    rows = frame.reindex(columns=list(_FORECAST_COLUMNS)).copy()
    rows["issued_at"] = pd.to_datetime(rows["issued_at"], utc=True)
    keys = {c: f"r.{c}" for c in ("scope", "scope_id", "model", "parameter")}
    keys |= {"issue_day": "r.issue_day::DATE", "target_day": "r.target_day::DATE"}
    return _sql.replace_rows(where, "forecasts", rows, keys, dates=("issue_day", "target_day"))


def forecast_rows(
    where: Connection,
    *,
    issue_day: date | None = None,
    cities: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    parameters: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored forecasts of one issue day, ordered by city, model, parameter and target day."""
    params: list[Any] = []
    sql = "SELECT * FROM forecasts WHERE true"
    if issue_day is not None:
        params.append(issue_day)
        sql += " AND issue_day = ?"
    sql += in_list("scope_id", cities, params) + in_list("model", models, params)
    sql += in_list("parameter", parameters, params)
    sql += " ORDER BY scope_id, model, parameter, target_day"
    frame = _sql.frame(_sql.cursor_of(where), sql, params)
    return frame


def latest_issue_day(where: Connection) -> date | None:
    rows = _sql.cursor_of(where).execute("SELECT max(issue_day) FROM forecasts").fetchall()
    value = rows[0][0] if rows else None
    return value if isinstance(value, date) else None


def adjust_forecast(
    where: Connection,
    *,
    issue_day: date,
    city: str,
    target_day: date,
    model: str,
    parameter: str,
    value: float | None,
    lower: float | None,
    upper: float | None,
    level: int | None,
    primary: str | None,
    author: str,
    reason: str,
) -> int:
    """Record a forecaster's adjustment beside the model's forecast (both kept).

    Returns the number of rows changed (0 when no such forecast is stored).
    """
    con = _sql.cursor_of(where)
    rows = con.execute(
        "UPDATE forecasts SET adjusted_value = ?, adjusted_lower = ?, adjusted_upper = ?, "
        "adjusted_level = ?, adjusted_primary = ?, adjusted_by = ?, adjusted_at = ?, "
        "adjust_reason = ? WHERE issue_day = ? AND scope = 'city' AND scope_id = ? "
        "AND target_day = ? AND model = ? AND parameter = ? RETURNING 1",
        [
            value,
            lower,
            upper,
            level,
            primary,
            author,
            datetime.now(UTC),
            reason,
            issue_day,
            city,
            target_day,
            model,
            parameter,
        ],
    ).fetchall()
    return len(rows)


# -- warnings ----------------------------------------------------------------------------------
_WARNING_COLUMNS = (
    "scope",
    "scope_id",
    "issue_day",
    "issued_at",
    "model",
    "rule",
    "level",
    "start_time",
    "end_time",
    "basis",
    "reason_zh",
    "reason_en",
    "author",
)


def replace_warnings(where: Connection, frame: pd.DataFrame, *, issue_day: date, model: str) -> int:
    """Replace the warnings of one issue day and model (scopes city and region)."""
    con = _sql.cursor_of(where)
    rows = frame.reindex(columns=list(_WARNING_COLUMNS)).copy()
    if not rows.empty:
        rows["basis"] = [
            b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in rows["basis"]
        ]
        for c in ("issued_at", "start_time", "end_time"):
            rows[c] = pd.to_datetime(rows[c], utc=True)
    con.register("warn_in", rows)
    try:
        con.execute("BEGIN")
        con.execute("DELETE FROM warnings WHERE issue_day = ? AND model = ?", [issue_day, model])
        if not rows.empty:
            cols = ", ".join(_WARNING_COLUMNS)
            select = cols.replace("issue_day", "issue_day::DATE").replace("basis", "basis::JSON")
            con.execute(f"INSERT INTO warnings ({cols}) SELECT {select} FROM warn_in")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("warn_in")
    return len(rows)


def warning_rows(
    where: Connection,
    *,
    start: date | None = None,
    end: date | None = None,
    scopes: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    active_on: date | None = None,
) -> pd.DataFrame:
    """Stored warnings (newest issue first), by issue-day range, scope ids or a day they cover."""
    params: list[Any] = []
    sql = "SELECT * EXCLUDE (basis), basis::VARCHAR AS basis FROM warnings WHERE true"
    for bound, op in ((start, ">="), (end, "<=")):
        if bound is not None:
            params.append(bound)
            sql += f" AND issue_day {op} ?"
    if active_on is not None:
        params += [active_on, active_on]
        sql += (
            " AND (start_time AT TIME ZONE 'Asia/Shanghai')::DATE <= ? "
            "AND ((end_time - INTERVAL 1 SECOND) AT TIME ZONE 'Asia/Shanghai')::DATE >= ?"
        )
    sql += in_list("scope", scopes, params) + in_list("scope_id", ids, params)
    return _sql.frame(
        _sql.cursor_of(where), sql + " ORDER BY issue_day DESC, scope, scope_id", params
    )


def issued_models(where: Connection, issue_day: date) -> list[tuple[str, bool]]:
    """The LightGBM model labels of an issue day's forecasts, latest issued first, each with
    whether it ran with meteorology."""
    rows = (
        _sql.cursor_of(where)
        .execute(
            "SELECT model, bool_or(with_meteorology) FROM forecasts WHERE issue_day = ? "
            "AND model LIKE 'lightgbm:%' GROUP BY model ORDER BY max(issued_at) DESC",
            [issue_day],
        )
        .fetchall()
    )
    return [(str(model), bool(with_met)) for model, with_met in rows]


def issued_forecast_rows(where: Connection, *, city: str, start: date, end: date) -> pd.DataFrame:
    """The issued (LightGBM) forecasts of ``city`` whose target day lies in ``start`` … ``end``:
    per issue day, target day and parameter the row of the latest issued model, ordered by
    issue day, parameter and lead (the rows verification scores, issue 21)."""
    sql = (
        "SELECT issue_day, scope_id, target_day, lead, model, parameter, value, lower, upper, "
        "level, primary_pollutant FROM forecasts WHERE scope = 'city' AND scope_id = ? "
        "AND model LIKE 'lightgbm:%' AND target_day BETWEEN ? AND ? "
        "QUALIFY row_number() OVER (PARTITION BY issue_day, target_day, parameter "
        "ORDER BY issued_at DESC, model) = 1 ORDER BY issue_day, parameter, lead"
    )
    return _sql.frame(_sql.cursor_of(where), sql, [city, start, end])


def forecast_span(where: Connection, city: str) -> tuple[date | None, date | None]:
    """First and last target day of the issued (LightGBM) forecasts of ``city``."""
    rows = (
        _sql.cursor_of(where)
        .execute(
            "SELECT min(target_day), max(target_day) FROM forecasts WHERE scope = 'city' "
            "AND scope_id = ? AND model LIKE 'lightgbm:%'",
            [city],
        )
        .fetchall()
    )
    first, last = rows[0] if rows else (None, None)
    return (
        first if isinstance(first, date) else None,
        last if isinstance(last, date) else None,
    )
