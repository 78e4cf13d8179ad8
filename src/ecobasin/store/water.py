"""SQL of the surface-water products (migration 6) and of the water sections' inputs.

Every function takes the :class:`~ecobasin.store.Store` or a cursor (one per thread) first.
Results are replaced per year: the job deletes the rows of the years it recomputes (months
``YYYY-MM`` and the year ``YYYY``) and inserts the new ones in one transaction, so a recompute
never leaves a mix of old and new rows and running it twice changes nothing.

Periods are China Standard Time calendar months (``2025-10``) and years (``2025``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ecobasin.standards.water_assessment import means
from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.database import Store
from ecobasin.store.lake_read import source
from ecobasin.store.queries import as_utc, in_list

__all__ = [
    "AUTO_PERIODS",
    "MANUAL_PERIOD",
    "RESULT_TABLES",
    "compensation_rows",
    "group_results",
    "replace_year",
    "result_periods",
    "section_results",
    "settlements",
    "water_observations",
    "water_sections",
    "water_years",
]

#: Period of a manual (laboratory) sample: the sampling instant (the assessment's constant).
MANUAL_PERIOD = means.MANUAL_PERIOD
#: Periods of automatic-station values (4-hourly; hourly values sent over HJ 212 count too).
AUTO_PERIODS: tuple[str, ...] = ("4h", "1h")
#: HJ 212-2017 data flags that make an automatic value unfit for statistics (stopped,
#: maintenance, fault, calibration, communication failure, over range).
INVALID_FLAGS: tuple[str, ...] = ("F", "M", "D", "C", "B", "T")
RESULT_TABLES = (
    "water_section_results",
    "water_group_results",
    "water_compensation",
    "water_settlements",
)
#: Attributes of a water section (``sites.attributes``) read as columns.
SECTION_ATTRIBUTES = (
    "river_zh", "river_en", "basin_zh", "basin_en", "water_body", "target_class",
    "upstream_city", "downstream_city",
)  # fmt: skip


def _loads(text: Any) -> Any:
    return None if text is None or (isinstance(text, float) and pd.isna(text)) else json.loads(text)


def water_sections(where: Connection, site_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Water sections with their city names and attributes as columns.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``level``, ``city_code``, ``city_zh``, ``city_en``, ``name_zh``,
        ``name_en``, ``lon``, ``lat``, the attributes ``river_zh`` … ``downstream_city``
        (``water_body`` defaults to ``"river"``; cities as int or None) and ``attributes``
        (the whole dict); ordered by city and site id.
    """
    params: list[Any] = []
    sql = (
        "SELECT s.site_id, s.level, s.city_code, c.name_zh AS city_zh, c.name_en AS city_en, "
        "s.name_zh, s.name_en, s.lon, s.lat, s.attributes::VARCHAR AS attributes "
        "FROM sites s LEFT JOIN cities c ON c.code = s.city_code "
        "WHERE s.kind = 'water_section'"
        + in_list("s.site_id", site_ids, params)
        + " ORDER BY s.city_code, s.site_id"
    )
    frame = _sql.frame(where, sql, params)
    attributes = [_loads(a) or {} for a in frame["attributes"]]
    frame["attributes"] = pd.Series(attributes, index=frame.index, dtype="object")
    for key in SECTION_ATTRIBUTES:
        values = [a.get(key) for a in attributes]
        if key in ("upstream_city", "downstream_city"):
            values = [None if v in (None, "") else int(v) for v in values]
        if key == "water_body":
            values = [v or "river" for v in values]
        frame[key] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def water_observations(
    where: Connection,
    *,
    start: datetime,
    end: datetime,
    sites: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Water-section observations usable for statistics, between two instants (inclusive).

    Manual samples (period ``sample``) and automatic values (``4h``, ``1h``) whose flag is not
    one of :data:`INVALID_FLAGS`; the flag ``L`` (below the detection limit) is kept.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``parameter``, ``period``, ``time`` (tz-aware UTC), ``value``, ``flag``.
    """
    params: list[Any] = [MANUAL_PERIOD, *AUTO_PERIODS, start, end, list(INVALID_FLAGS)]
    con = _sql.cursor_of(where)  # months moved to the lake are read from it (same cursor)
    sql = (
        "SELECT o.site_id, o.parameter, o.period, o.time::TIMESTAMP AS time, o.value, o.flag "
        f"FROM {source(con, 'observations')} o JOIN sites s USING (site_id) "
        "WHERE s.kind = 'water_section' AND o.period IN (?, ?, ?) "
        "AND o.time >= ? AND o.time <= ? AND (o.flag IS NULL OR NOT (o.flag = ANY(?)))"
        + in_list("o.site_id", sites, params)
        + " ORDER BY o.site_id, o.parameter, o.time"
    )
    return as_utc(_sql.frame(con, sql, params), "time")


def water_years(where: Connection) -> list[int]:
    """CST years holding water-section observations (what a full refresh recomputes)."""
    con = _sql.cursor_of(where)
    sql = (
        "SELECT DISTINCT year(o.time::TIMESTAMP + INTERVAL 8 HOUR) AS y "
        f"FROM {source(con, 'observations')} o "
        "JOIN sites s USING (site_id) WHERE s.kind = 'water_section' ORDER BY y"
    )
    return [int(r[0]) for r in con.execute(sql).fetchall()]


def _insert(store: Store, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for v in out[column]
            ]
    columns = ", ".join(out.columns)
    with store._registered(water_in=out):
        store.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM water_in")


def replace_year(store: Store, year: int, results: dict[str, pd.DataFrame]) -> None:
    """Replace every stored result of a year (its months and the year) in one transaction.

    Parameters
    ----------
    results : dict of str to DataFrame
        Keyed by table name (:data:`RESULT_TABLES`); columns named as the table's; dict and
        list cells are written as JSON. ``computed_at`` is set here.
    """
    now = datetime.now(UTC)
    with store.transaction():
        for table in RESULT_TABLES:
            store.con.execute(
                f"DELETE FROM {table} WHERE period = ? OR period LIKE ?", [str(year), f"{year}-%"]
            )
            frame = results.get(table)
            if frame is not None and not frame.empty:
                _insert(store, table, frame.assign(computed_at=now))


def _periods_filter(period: str | Sequence[str] | None, params: list[Any], column: str) -> str:
    if period is None:
        return ""
    values = [period] if isinstance(period, str) else list(period)
    return in_list(column, values, params)


def section_results(
    where: Connection,
    period: str | Sequence[str] | None = None,
    *,
    sites: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored section results (JSON columns decoded), ordered by period and site."""
    params: list[Any] = []
    sql = (
        "SELECT * EXCLUDE (main_pollutants, means, sources), main_pollutants::VARCHAR AS "
        "main_pollutants, means::VARCHAR AS means, sources::VARCHAR AS sources "
        "FROM water_section_results WHERE true"
        + _periods_filter(period, params, "period")
        + in_list("site_id", sites, params)
        + " ORDER BY period, site_id"
    )
    frame = _sql.frame(where, sql, params)
    for column in ("main_pollutants", "means", "sources"):
        frame[column] = [_loads(v) for v in frame[column]]
    return frame


def group_results(
    where: Connection, period: str | Sequence[str] | None = None, *, scope: str | None = None
) -> pd.DataFrame:
    """Stored river, basin, city and region results (JSON decoded)."""
    params: list[Any] = []
    sql = (
        "SELECT * EXCLUDE (main_pollutants, detail), main_pollutants::VARCHAR AS "
        "main_pollutants, detail::VARCHAR AS detail FROM water_group_results WHERE true"
        + _periods_filter(period, params, "period")
        + in_list("scope", [scope] if scope else None, params)
        + " ORDER BY scope, period, scope_id"
    )
    frame = _sql.frame(where, sql, params)
    for column in ("main_pollutants", "detail"):
        frame[column] = [_loads(v) for v in frame[column]]
    return frame


def compensation_rows(
    where: Connection, periods: Sequence[str] | None = None, *, rule_set: str | None = None
) -> pd.DataFrame:
    """Stored monthly compensation rows (``inputs`` decoded), ordered by period and site."""
    params: list[Any] = []
    sql = (
        "SELECT * EXCLUDE (inputs), inputs::VARCHAR AS inputs FROM water_compensation "
        "WHERE true"
        + in_list("period", periods, params)
        + in_list("rule_set", [rule_set] if rule_set else None, params)
        + " ORDER BY period, site_id"
    )
    frame = _sql.frame(where, sql, params)
    frame["inputs"] = [_loads(v) for v in frame["inputs"]]
    return frame


def settlements(where: Connection, period: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Stored settlements between cities, ordered by period, payer and payee."""
    params: list[Any] = []
    sql = (
        "SELECT * FROM water_settlements WHERE true"
        + _periods_filter(period, params, "period")
        + " ORDER BY period, payer, payee"
    )
    return _sql.frame(where, sql, params)


def result_periods(where: Connection) -> list[str]:
    """Periods with stored section results, ascending (months ``YYYY-MM`` and years ``YYYY``)."""
    rows = (
        _sql.cursor_of(where)
        .execute("SELECT DISTINCT period FROM water_section_results ORDER BY period")
        .fetchall()
    )
    return [str(r[0]) for r in rows]
