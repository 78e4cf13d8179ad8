"""Noise in the store: HJ 640-2012 survey results and GB 3096-2008 functional zones.

Survey CSV layouts are those of the noise brief §4.3: regional ``year, period, grid_id, city,
…, valid, …, Leq, …`` and traffic ``year, period, segment_id, road_name, …, length_km, …, Leq``.
The same columns may come from an Excel workbook (:func:`import_survey_excel`, openpyxl).
Every bad row is kept aside in ``rejected`` with its line (CSV) or row (Excel) and reason
(source = the file); the
good rows are upserted into ``noise_surveys`` by (survey, year, period, point_id), so a
re-import changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zipfile import BadZipFile, ZipFile

import numpy as np
import pandas as pd

from ecobasin.store import _sql
from ecobasin.store.database import Store
from ecobasin.store.lake_read import source
from ecobasin.timebase import day_of_hour_ending, local_label

__all__ = [
    "SURVEYS",
    "SurveyImport",
    "city_codes",
    "city_names",
    "class_counts",
    "daily",
    "import_survey_csv",
    "import_survey_excel",
    "import_survey_file",
    "latest_daily",
    "quarter_counts",
    "rate_years",
    "rates",
    "read_csv_capped",
    "replace_daily",
    "replace_rates",
    "station_day_span",
    "station_hours",
    "station_months",
    "survey_rows",
    "survey_rows_of_year",
    "upsert_surveys",
    "upsert_zones",
    "zone_class_of",
    "zones",
]

SURVEYS = ("regional", "traffic")
#: Suffixes read as Excel workbooks by :func:`import_survey_file`.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Plausible LAeq [dB(A)], as the parameter registry (20-140) says.
LEVEL_RANGE = (20.0, 140.0)
_ID_COLUMN = {"regional": "grid_id", "traffic": "segment_id"}
_OPTIONAL_LEVELS = {"L10": "l10", "L50": "l50", "L90": "l90", "Lmax": "lmax"}
_TRUE = {"true", "1", "yes", "y", "是", "有效"}
_FALSE = {"false", "0", "no", "n", "否", "无效"}


@dataclass(frozen=True)
class SurveyImport:
    """What an import did: rows read, stored and kept aside (with the batch id)."""

    batch_id: int
    read: int
    stored: int
    rejected: int


def city_codes(store: Store) -> dict[str, int]:
    """Every way a survey file may name a city (code, names, short names) → its code."""
    cities = _sql.frame(store, "SELECT * FROM cities")
    names: dict[str, int] = {}
    for row in cities.to_dict("records"):
        code = int(row["code"])
        names[str(code)] = code
        for key, value in row.items():
            if str(key).startswith("name") and isinstance(value, str) and value:
                names.setdefault(value, code)
                names.setdefault(value.lower(), code)
                names.setdefault(value.removesuffix("市"), code)
    return names


def _number(text: Any, name: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if value != value:  # NaN
        raise ValueError(f"{name} is missing")
    return value


def _valid_flag(text: Any) -> bool:
    word = str(text).strip().lower()
    if word in ("", "nan", "none"):
        return True
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError(f"valid {text!r} is not true/false")


def _survey_year(row: dict[str, Any]) -> int:
    """The survey year: the ``year`` cell, else the year of ``start_time``; a ``start_time``
    (a date or ISO 8601 text, CST) outside that year is an error."""
    text = str(row.get("start_time") or "").strip()
    start = None
    if text and text != "nan":
        try:
            start = pd.Timestamp(text)
        except ValueError:
            raise ValueError(f"start_time {text!r} is not a date") from None
    year_text = str(row.get("year") or "").strip()
    if not year_text and start is not None:
        return int(start.year)
    year = int(_number(row.get("year"), "year"))
    if start is not None and start.year != year:
        raise ValueError(f"start_time {text} is not in the survey year {year}")
    return year


def _parse_row(row: dict[str, Any], survey: str, cities: dict[str, int]) -> dict[str, Any]:
    """One survey row as a ``noise_surveys`` record; ValueError names the reason."""
    id_col = _ID_COLUMN[survey]
    point = str(row.get(id_col) or "").strip()
    if not point or point == "nan":
        raise ValueError(f"{id_col} is missing")
    period = str(row.get("period", "")).strip().lower()
    if period not in ("day", "night"):
        raise ValueError(f"period {row.get('period')!r} is not day or night")
    leq = _number(row.get("Leq"), "Leq")
    if not LEVEL_RANGE[0] <= leq <= LEVEL_RANGE[1]:
        raise ValueError(f"Leq {leq} dB(A) is outside the plausible range 20–140")
    city = str(row.get("city", "")).strip()
    if city not in cities:
        raise ValueError(f"city {city!r} is not a city of the catalog")
    record: dict[str, Any] = {
        "survey": survey,
        "year": _survey_year(row),
        "period": period,
        "point_id": point,
        "city_code": cities[city],
        "valid": _valid_flag(row.get("valid", "")),
        "leq": leq,
        "length_km": None,
        "road_name": row.get("road_name") or None,
        "main_source": row.get("main_source") or None,
    }
    for column, field in _OPTIONAL_LEVELS.items():
        text = row.get(column)
        record[field] = None if text in (None, "") else _number(text, column)
    if survey == "traffic":
        length = _number(row.get("length_km"), "length_km")
        if length <= 0:
            raise ValueError(f"length_km {length} must be > 0")
        record["length_km"] = length
    return record


#: Largest CSV read [bytes]: pandas holds the whole file in memory (a city's survey or a year
#: of complaints is well under 1 MiB), so a stray export must not be read.
MAX_CSV_BYTES = 64 * 1024 * 1024


def read_csv_capped(path: Path) -> pd.DataFrame:
    """A CSV as text cells, refused with its name when larger than :data:`MAX_CSV_BYTES`."""
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise ValueError(
            f"{path}: {size / 2**20:.1f} MiB, more than the {MAX_CSV_BYTES / 2**20:.1f} MiB an "
            "import reads: split it"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def import_survey_csv(store: Store, path: Path, survey: str) -> SurveyImport:
    """Import an HJ 640 regional or traffic survey CSV; bad rows go to ``rejected``."""
    _check_survey(survey)
    frame = read_csv_capped(path)
    rows = [  # line 1 is the header
        (f"line {n}", {str(k): v for k, v in row.items()})
        for n, row in enumerate(frame.to_dict("records"), start=2)
    ]
    return _import_rows(store, rows, survey, str(path))


def import_survey_excel(
    store: Store, path: Path, survey: str, sheet: str | None = None
) -> SurveyImport:
    """Import an HJ 640 survey from an Excel workbook (.xlsx): the first sheet or ``sheet``.

    The header is the first row naming the point column (``grid_id``/``segment_id``) and
    ``Leq``; title rows above it and merged cells (as people lay out report sheets) are
    allowed, blank rows are skipped. Each bad row goes to ``rejected`` as ``row N`` (the
    sheet's row number) with its reason. ValueError names the file when it is no workbook,
    has no such sheet or no header row.
    """
    _check_survey(survey)
    rows = _excel_rows(path, sheet, _ID_COLUMN[survey])
    return _import_rows(store, rows, survey, str(path))


def import_survey_file(
    store: Store, path: Path, survey: str, sheet: str | None = None
) -> SurveyImport:
    """Import a survey file by its suffix: .xlsx/.xlsm as Excel, anything else as CSV."""
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return import_survey_excel(store, path, survey, sheet)
    if sheet is not None:
        raise ValueError(f"{path}: --sheet applies to Excel workbooks (.xlsx) only")
    return import_survey_csv(store, path, survey)


def _check_survey(survey: str) -> None:
    if survey not in SURVEYS:
        raise ValueError(f"survey must be one of {', '.join(SURVEYS)}, got {survey!r}")


#: Largest workbook read [bytes], unpacked: openpyxl holds the whole sheet model in memory
#: (merged cells are only known there), so a zip bomb or a stray export must not be opened.
MAX_WORKBOOK_BYTES = 64 * 1024 * 1024


def _check_workbook_size(path: Path) -> None:
    """Refuse a workbook whose unpacked parts exceed :data:`MAX_WORKBOOK_BYTES`."""
    try:
        with ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (BadZipFile, OSError) as error:
        raise ValueError(f"{path}: not an Excel workbook (.xlsx): {error}") from None
    if unpacked > MAX_WORKBOOK_BYTES:
        raise ValueError(
            f"{path}: the workbook unpacks to {unpacked / 2**20:.0f} MiB, more than the "
            f"{MAX_WORKBOOK_BYTES / 2**20:.0f} MiB a survey import reads: split it or save it "
            "as CSV"
        )


def _excel_rows(path: Path, sheet: str | None, id_column: str) -> list[tuple[str, dict[str, Any]]]:
    """(``row N``, {header: cell text}) of the data rows under the header row."""
    # here, not at the top: the web app and the CLI import this module
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_workbook_size(path)
    try:  # not read-only: merged cells are only known in the full model
        book = load_workbook(path, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError) as error:
        raise ValueError(f"{path}: not an Excel workbook (.xlsx): {error}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            names = ", ".join(book.sheetnames)
            raise ValueError(f"{path}: no sheet {sheet!r} (sheets: {names})")
        work = book[sheet] if sheet is not None else book.worksheets[0]
        grid = _unmerged_grid(work)
    finally:
        book.close()
    index = _header_index(grid, id_column)
    if index is None:
        raise ValueError(f"{path}: sheet {work.title!r} has no header row with {id_column} and Leq")
    header = [_cell_text(c).strip() for c in grid[index]]
    rows = []
    for number, cells in enumerate(grid[index + 1 :], start=index + 2):
        texts = [_cell_text(c) for c in cells]
        if any(t.strip() for t in texts):
            rows.append((f"row {number}", {h: t for h, t in zip(header, texts, strict=False) if h}))
    return rows


def _header_index(grid: list[list[Any]], id_column: str) -> int | None:
    """The index of the first row naming the point column and Leq (title rows above)."""
    for index, cells in enumerate(grid):
        names = {_cell_text(c).strip() for c in cells}
        if id_column in names and "Leq" in names:
            return index
    return None


def _unmerged_grid(work: Any) -> list[list[Any]]:
    """The sheet's values with every merged range filled by its top-left value."""
    grid = [list(r) for r in work.iter_rows(values_only=True)]
    for merged in list(work.merged_cells.ranges):
        value = work.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                grid[r][c] = value
    return grid


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV would hold (whole numbers without .0, dates in ISO 8601)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _import_rows(
    store: Store, rows: list[tuple[str, dict[str, Any]]], survey: str, source: str
) -> SurveyImport:
    """Validate and store survey rows (reference, cells); bad ones go to ``rejected``."""
    cities = city_codes(store)
    batch = store.begin_batch(f"noise_{survey}", source)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    seen: set[tuple[int, str, str]] = set()
    for ref, row in rows:
        try:
            record = _parse_row(row, survey, cities)
            key = (record["year"], record["period"], record["point_id"])
            if key in seen:
                raise ValueError(f"{key[2]} appears twice for {key[0]} {key[1]}")
            seen.add(key)
            good.append({**record, "batch_id": batch})
        except ValueError as exc:
            bad.append(
                {
                    "source": source,
                    "record_ref": ref,
                    "reason_code": "bad_survey_row",
                    "reason": f"{ref}: {exc}",
                    "raw": json.dumps(row, ensure_ascii=False, default=str),
                }
            )
    if good:
        upsert_surveys(store, pd.DataFrame(good))
    if bad:
        store.reject(pd.DataFrame(bad), batch)
    store.finish_batch(batch, {"read": len(rows), "stored": len(good), "rejected": len(bad)})
    return SurveyImport(batch, len(rows), len(good), len(bad))


_COLUMNS = (
    "survey, year, period, point_id, city_code, valid, leq, l10, l50, l90, lmax, length_km, "
    "road_name, main_source, batch_id"
)


def upsert_surveys(store: Store, frame: pd.DataFrame) -> None:
    """Insert or replace survey rows (columns of ``noise_surveys``; the demo writes these)."""
    frame = frame[[c.strip() for c in _COLUMNS.split(",")]]
    with store._registered(survey_in=frame):
        store.con.execute(
            f"INSERT OR REPLACE INTO noise_surveys ({_COLUMNS}) SELECT {_COLUMNS} FROM survey_in"
        )


def survey_rows(
    store: Store, survey: str, year: int, period: str, city_code: int | None = None
) -> pd.DataFrame:
    """The valid survey rows of one survey, year and period (optionally one city)."""
    sql = (
        "SELECT s.*, c.name_zh AS city_zh, c.name_en AS city_en FROM noise_surveys s "
        "JOIN cities c ON c.code = s.city_code "
        "WHERE survey = ? AND year = ? AND period = ? AND valid"
    )
    params: list[Any] = [survey, year, period]
    if city_code is not None:
        sql += " AND city_code = ?"
        params.append(city_code)
    return _sql.frame(store, sql + " ORDER BY city_code, point_id", params)


def survey_rows_of_year(store: Store, year: int, city_code: int | None = None) -> pd.DataFrame:
    """The valid rows of every survey and period of one year (optionally one city), in one
    query: ordered by survey, period, city and point, so the rows of one survey, period and
    city come in the order :func:`survey_rows` gives them (a report groups them in Python
    instead of asking one query per city, survey and period)."""
    sql = (
        "SELECT s.*, c.name_zh AS city_zh, c.name_en AS city_en FROM noise_surveys s "
        "JOIN cities c ON c.code = s.city_code WHERE year = ? AND valid"
    )
    params: list[Any] = [year]
    if city_code is not None:
        sql += " AND city_code = ?"
        params.append(city_code)
    return _sql.frame(store, sql + " ORDER BY survey, period, city_code, point_id", params)


def upsert_zones(store: Store, zones_frame: pd.DataFrame, source: str) -> int:
    """Insert or replace functional-zone polygons (zone_id, city_code, zone_class, geometry)."""
    frame = zones_frame.copy()
    frame["geometry"] = [g if isinstance(g, str) else json.dumps(g) for g in frame["geometry"]]
    for column in ("name_zh", "name_en", "valid_from", "valid_to"):
        if column not in frame:
            frame[column] = None
    frame["source"] = source
    frame["updated_at"] = pd.Timestamp.now(tz="UTC")
    cols = "zone_id, city_code, zone_class, name_zh, name_en, geometry, valid_from, valid_to, source, updated_at"
    with store._registered(zones_in=frame[[c.strip() for c in cols.split(",")]]):
        store.con.execute(
            f"INSERT OR REPLACE INTO noise_zones ({cols}) SELECT {cols} FROM zones_in"
        )
    return len(frame)


def zones(store: Store, city_code: int | None = None) -> pd.DataFrame:
    """Functional zones, optionally of one city."""
    if city_code is None:
        return _sql.frame(store, "SELECT * FROM noise_zones ORDER BY city_code, zone_id")
    return _sql.frame(
        store, "SELECT * FROM noise_zones WHERE city_code = ? ORDER BY zone_id", [city_code]
    )


def reported_hours(
    store: Store, site_ids: list[str], start: pd.Timestamp, end: pd.Timestamp, own_kind: str
) -> pd.DataFrame:
    """The hourly Leq/LMx values the stations reported themselves between ``start`` and ``end``
    (inclusive, UTC): those of batches of another kind than ``own_kind``, the products' own."""
    con = _sql.cursor_of(store)  # months moved to the lake are read from it (same cursor)
    return _sql.frame(
        con,
        f"SELECT o.site_id, o.parameter, o.time FROM {source(con, 'observations')} o "
        "JOIN import_batches b USING (batch_id) "
        "WHERE o.period = '1h' AND o.parameter IN ('Leq', 'LMx') AND b.kind <> ? "
        "AND o.time BETWEEN ? AND ? AND list_contains(?, o.site_id) "
        "ORDER BY o.site_id, o.parameter, o.time",  # one order, whichever tier holds a month
        [own_kind, start.to_pydatetime(), end.to_pydatetime(), site_ids],
    )


_DAILY_COLUMNS = (
    "site_id, day, city_code, zone_class, ld, ln, night_lmax, day_pass, night_pass, computed_at"
)


def replace_daily(
    store: Store, verdicts: pd.DataFrame, site_ids: list[str], days: list[Any]
) -> None:
    """Replace the ``noise_daily`` rows of these stations and CST days by ``verdicts``
    (columns of :func:`ecobasin.standards.noise_days.daily_verdicts`); one transaction."""
    frame = verdicts.rename(columns={"Ld": "ld", "Ln": "ln", "night_Lmax": "night_lmax"}).assign(
        computed_at=pd.Timestamp.now(tz="UTC")
    )
    keys = pd.DataFrame(
        [(s, pd.Timestamp(d).date()) for s in site_ids for d in days], columns=["site_id", "day"]
    )
    columns = [c.strip() for c in _DAILY_COLUMNS.split(",")]
    with store.transaction(), store._registered(daily_keys=keys, daily_in=frame[columns]):
        store.con.execute(
            "DELETE FROM noise_daily WHERE (site_id, day) IN (SELECT site_id, day FROM daily_keys)"
        )
        store.con.execute(
            f"INSERT INTO noise_daily ({_DAILY_COLUMNS}) SELECT {_DAILY_COLUMNS} FROM daily_in"
        )


def replace_rates(store: Store, cities: list[int], months: list[str]) -> None:
    """Recompute ``noise_rates`` (station-days per city and month) from ``noise_daily``."""
    with store.transaction():
        store.con.execute(
            "DELETE FROM noise_rates WHERE list_contains(?, city_code) AND list_contains(?, month)",
            [cities, months],
        )
        store.con.execute(
            "INSERT INTO noise_rates SELECT city_code, strftime(day, '%Y-%m') AS month, "
            "count(DISTINCT site_id), count(day_pass), count(*) FILTER (WHERE day_pass), "
            "count(night_pass), count(*) FILTER (WHERE night_pass), now() "
            "FROM noise_daily WHERE list_contains(?, city_code) "
            "AND list_contains(?, strftime(day, '%Y-%m')) GROUP BY ALL",
            [cities, months],
        )


def rates(store: Store, year: int, city_code: int | None = None) -> pd.DataFrame:
    """Stored monthly station-day counts of a CST year (optionally one city)."""
    sql = "SELECT * FROM noise_rates WHERE month LIKE ?"
    params: list[Any] = [f"{year}-%"]
    if city_code is not None:
        sql += " AND city_code = ?"
        params.append(city_code)
    return _sql.frame(store, sql + " ORDER BY city_code, month", params)


def daily(store: Store, site_id: str, year: int) -> pd.DataFrame:
    """Stored station-day verdicts of one station in a CST year."""
    return _sql.frame(
        store,
        "SELECT * FROM noise_daily WHERE site_id = ? AND year(day) = ? ORDER BY day",
        [site_id, year],
    )


def quarter_counts(store: Store, year: int, city_code: int | None = None) -> pd.DataFrame:
    """Station-day counts per city and quarter (2026Q3) of a CST year, from ``noise_daily``."""
    sql = (
        "SELECT city_code, concat(year(day), 'Q', quarter(day)) AS period, "
        "count(DISTINCT site_id) AS stations, count(day_pass) AS day_valid, "
        "count(*) FILTER (WHERE day_pass) AS day_compliant, count(night_pass) AS night_valid, "
        "count(*) FILTER (WHERE night_pass) AS night_compliant "
        "FROM noise_daily WHERE year(day) = ?"
    )
    params: list[Any] = [year]
    if city_code is not None:
        sql += " AND city_code = ?"
        params.append(city_code)
    return _sql.frame(store, sql + " GROUP BY ALL ORDER BY city_code, period", params)


def class_counts(store: Store, year: int, city_code: int | None = None) -> pd.DataFrame:
    """Station-day counts per city and zone class of a CST year, from ``noise_daily``."""
    sql = (
        "SELECT city_code, zone_class, count(DISTINCT site_id) AS stations, "
        "count(day_pass) AS day_valid, count(*) FILTER (WHERE day_pass) AS day_compliant, "
        "count(night_pass) AS night_valid, count(*) FILTER (WHERE night_pass) AS night_compliant "
        "FROM noise_daily WHERE year(day) = ?"
    )
    params: list[Any] = [year]
    if city_code is not None:
        sql += " AND city_code = ?"
        params.append(city_code)
    return _sql.frame(store, sql + " GROUP BY ALL ORDER BY city_code, zone_class", params)


def station_months(store: Store, site_id: str, year: int) -> pd.DataFrame:
    """One station's station-day counts per month of a CST year, from ``noise_daily``."""
    return _sql.frame(
        store,
        "SELECT strftime(day, '%Y-%m') AS month, count(day_pass) AS day_valid, "
        "count(*) FILTER (WHERE day_pass) AS day_compliant, count(night_pass) AS night_valid, "
        "count(*) FILTER (WHERE night_pass) AS night_compliant, "
        "count(*) FILTER (WHERE night_lmax IS NOT NULL) AS nights_with_lmax "
        "FROM noise_daily WHERE site_id = ? AND year(day) = ? GROUP BY ALL ORDER BY month",
        [site_id, year],
    )


def latest_daily(store: Store) -> pd.DataFrame:
    """Each noise station's latest stored station-day verdict (the map's colour)."""
    return _sql.frame(
        store,
        "SELECT * FROM noise_daily QUALIFY row_number() OVER (PARTITION BY site_id "
        "ORDER BY (day_pass IS NOT NULL AND night_pass IS NOT NULL) DESC, day DESC) = 1 "
        "ORDER BY site_id",
    )


def rate_years(con: Any) -> list[int]:
    """CST years with stored monthly rates, newest first (a DuckDB connection or cursor)."""
    rows = con.execute(
        "SELECT DISTINCT CAST(left(month, 4) AS INTEGER) FROM noise_rates ORDER BY 1 DESC"
    ).fetchall()
    return [int(y) for (y,) in rows]


def station_day_span(con: Any, site_id: str) -> tuple[Any, Any]:
    """(first, latest) CST day with a stored station-day verdict; (None, None) without."""
    row = con.execute(
        "SELECT min(day), max(day) FROM noise_daily WHERE site_id = ?", [site_id]
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def city_names(store: Store) -> pd.DataFrame:
    """Code and names of the catalog's cities, by code."""
    return _sql.frame(store, "SELECT code, name_zh, name_en FROM cities ORDER BY code")


def zone_class_of(attributes: Any) -> str | None:
    """The GB 3096 zone class a site's attributes name (``zone_class``), None without one."""
    if attributes is None or (isinstance(attributes, float) and np.isnan(attributes)):
        return None
    data = json.loads(attributes) if isinstance(attributes, str) else dict(attributes)
    value = data.get("zone_class")
    return None if value is None else str(value)


def station_hours(
    store: Store,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    city_code: int | None = None,
    site_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Hourly Leq and LMx of noise stations between two UTC hour ends, with day and label."""
    columns = ["site_id", "city_code", "zone_class", "day", "hour", "value", "lmx"]
    sites = store.sites(
        kinds=["noise_station"],
        cities=None if city_code is None else [city_code],
        site_ids=site_ids,
    )
    if sites.empty:
        return pd.DataFrame(columns=columns)
    obs = store.observations(
        sites=list(sites["site_id"]), parameters=["Leq", "LMx"], periods=["1h"],
        start=start, end=end,
    )  # fmt: skip
    obs = obs[obs["value"].notna()]
    wide = obs.pivot_table(
        index=["site_id", "city_code", "time"], columns="parameter", values="value", aggfunc="max"
    ).reset_index()
    if "Leq" not in wide:
        return pd.DataFrame(columns=columns)
    wide = wide[wide["Leq"].notna()].copy()
    wide["lmx"] = wide.get("LMx", np.nan)
    wide["value"] = wide["Leq"]
    wide["day"] = day_of_hour_ending(wide["time"])
    hour = local_label(wide["time"]).dt.hour
    wide["hour"] = hour.where(hour != 0, 24)
    classes = {
        s: zone_class_of(a) for s, a in zip(sites["site_id"], sites["attributes"], strict=True)
    }
    wide["zone_class"] = wide["site_id"].map(classes)
    return wide[columns].reset_index(drop=True)
