"""Noise in the store: HJ 640-2012 survey results and GB 3096-2008 functional zones.

Survey CSV layouts are those of the noise brief §4.3: regional ``year, period, grid_id, city,
…, valid, …, Leq, …`` and traffic ``year, period, segment_id, road_name, …, length_km, …, Leq``.
Every bad row is kept aside in ``rejected`` with its line and reason (source = the file); the
good rows are upserted into ``noise_surveys`` by (survey, year, period, point_id), so a
re-import changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store.database import Store

__all__ = [
    "SURVEYS",
    "SurveyImport",
    "import_survey_csv",
    "survey_rows",
    "upsert_surveys",
    "upsert_zones",
    "zones",
]

SURVEYS = ("regional", "traffic")
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


def _city_codes(store: Store) -> dict[str, int]:
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
        "year": int(_number(row.get("year"), "year")),
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


def import_survey_csv(store: Store, path: Path, survey: str) -> SurveyImport:
    """Import an HJ 640 regional or traffic survey CSV; bad rows go to ``rejected``."""
    if survey not in SURVEYS:
        raise ValueError(f"survey must be one of {', '.join(SURVEYS)}, got {survey!r}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    cities = _city_codes(store)
    batch = store.begin_batch(f"noise_{survey}", str(path))
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    seen: set[tuple[int, str, str]] = set()
    for line, row in enumerate(frame.to_dict("records"), start=2):  # line 1 is the header
        try:
            record = _parse_row({str(k): v for k, v in row.items()}, survey, cities)
            key = (record["year"], record["period"], record["point_id"])
            if key in seen:
                raise ValueError(f"{key[2]} appears twice for {key[0]} {key[1]}")
            seen.add(key)
            good.append({**record, "batch_id": batch})
        except ValueError as exc:
            raw = json.dumps(row, ensure_ascii=False)
            bad.append(
                {
                    "source": str(path),
                    "record_ref": f"line {line}",
                    "reason_code": "bad_survey_row",
                    "reason": f"line {line}: {exc}",
                    "raw": raw,
                }
            )
    if good:
        upsert_surveys(store, pd.DataFrame(good))
    if bad:
        store.reject(pd.DataFrame(bad), batch)
    counts = {"read": len(frame), "stored": len(good), "rejected": len(bad)}
    store.finish_batch(batch, counts)
    return SurveyImport(batch, len(frame), len(good), len(bad))


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
    return _sql.frame(
        store,
        "SELECT o.site_id, o.parameter, o.time FROM observations o "
        "JOIN import_batches b USING (batch_id) "
        "WHERE o.period = '1h' AND o.parameter IN ('Leq', 'LMx') AND b.kind <> ? "
        "AND o.time BETWEEN ? AND ? AND list_contains(?, o.site_id)",
        [own_kind, start.to_pydatetime(), end.to_pydatetime(), site_ids],
    )
