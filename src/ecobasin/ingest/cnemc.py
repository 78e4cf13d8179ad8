"""Readers for the two CNEMC file formats (pure: a path or buffer in, ``(frame, meta)`` out).

* The daily national archive ``china_sites_YYYYMMDD.csv``: columns ``date, hour, type`` then one
  column per station code; one row per hour and type (AQI, PM2.5, PM2.5_24h, PM10, ... CO_24h).
* The live per-station feed (one row per station and hour): ``timepoint, stationcode, longitude,
  latitude, area, positionname, primarypollutant, aqi, pm10, pm10_24h, pm2_5, ...``.

Times in both are China Standard Time hour-ending labels: hour 0 of 2022-01-01 is the value of
23:00–24:00 on 2021-12-31, stored at 2021-12-31T16:00Z. CNEMC's derived columns (24-h moving
means, 8-h moving O3, daily maxima) are counted but not stored: ecobasin recomputes them from the
hourly values by the standards (``ecobasin.standards.air``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecobasin import catalog
from ecobasin.catalog import geo
from ecobasin.ingest.sourcefile import SourceLines, read_source
from ecobasin.ingest.validate import CANDIDATE_COLUMNS, as_float
from ecobasin.timebase import local_to_utc

__all__ = [
    "ARCHIVE_TYPES",
    "DERIVED_TYPES",
    "LIVE_COLUMNS",
    "detect_format",
    "read_cnemc",
    "read_cnemc_archive",
    "read_cnemc_live",
]

#: Archive row types stored as hourly observations, by ecobasin parameter.
ARCHIVE_TYPES = {
    "AQI": "AQI",
    "PM2.5": "PM2.5",
    "PM10": "PM10",
    "SO2": "SO2",
    "NO2": "NO2",
    "O3": "O3",
    "CO": "CO",
}
#: Archive row types derived by CNEMC from the hourly values; ecobasin recomputes them.
DERIVED_TYPES = frozenset(
    {"PM2.5_24h", "PM10_24h", "SO2_24h", "NO2_24h", "O3_24h", "O3_8h", "O3_8h_24h", "CO_24h"}
)
#: Live-feed columns stored, by ecobasin parameter (the ``_24h``/``_8h`` columns are derived).
LIVE_COLUMNS = {
    "aqi": "AQI",
    "pm2_5": "PM2.5",
    "pm10": "PM10",
    "so2": "SO2",
    "no2": "NO2",
    "o3": "O3",
    "co": "CO",
}
LIVE_SITE_COLUMNS = ("timepoint", "stationcode", "longitude", "latitude", "area", "positionname")

Source = str | Path | io.StringIO | SourceLines


def _lines(source: Source) -> SourceLines:
    return source if isinstance(source, SourceLines) else read_source(source)


def _name(source: Source) -> str:
    if isinstance(source, SourceLines):
        return source.name
    return Path(source).name if isinstance(source, str | Path) else "<buffer>"


def detect_format(header: list[str]) -> str:
    """``"archive"`` or ``"live"`` from a CSV header, or raise ValueError naming what is missing."""
    columns = [c.strip().lstrip("\ufeff").lower() for c in header]
    if columns[:3] == ["date", "hour", "type"]:
        return "archive"
    if {"timepoint", "stationcode"} <= set(columns):
        return "live"
    raise ValueError(
        "not a CNEMC file: expected columns 'date,hour,type,<stations>' (archive) or "
        f"'timepoint,stationcode,...' (live feed); found {header[:6]}"
    )


def _numeric(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values and, where a cell is not a number, its text (else None)."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64), np.full(len(column), None, dtype=object)
    values = pd.to_numeric(column, errors="coerce")
    text = column.astype(object)
    # an empty cell is no value (counted as missing), not a text to report
    raw = text.where(values.isna() & (text.fillna("").astype(str).str.strip() != ""), None)
    return values.to_numpy(dtype=np.float64), raw.to_numpy(dtype=object)


def _numeric_block(block: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Values of a wide block as a float matrix, and the text of non-numeric cells (row-major).

    Numeric columns (the usual case) convert without a per-cell step; only columns that hold
    text are parsed cell by cell, so the texts that are not numbers can be reported.
    """
    is_numeric = np.array([dtype.kind in "fiub" for dtype in block.dtypes], dtype=bool)
    raw = np.full(block.shape, None, dtype=object)
    if is_numeric.all():
        return block.to_numpy(dtype=np.float64), raw.ravel()
    values = np.full(block.shape, np.nan)
    values[:, is_numeric] = block.loc[:, is_numeric].to_numpy(dtype=np.float64)
    for j in np.flatnonzero(~is_numeric):
        column: pd.Series = block.iloc[:, int(j)]
        values[:, j], raw[:, j] = _numeric(column)
    return values, raw.ravel()


def _categorical(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """A categorical column from integer codes (no per-row strings are made)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=object))


def _no_text(n: int) -> pd.arrays.ArrowExtensionArray:
    """An all-missing text column without a Python object per row (Arrow-backed)."""
    return pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.string()))


def _candidates(**columns: Any) -> pd.DataFrame:
    """The candidate frame, columns in ``CANDIDATE_COLUMNS`` order (built in that order)."""
    return pd.DataFrame({name: columns[name] for name in CANDIDATE_COLUMNS}, copy=False)


def _plain_numbers(value_lines: list[str], n_columns: int) -> np.ndarray | None:
    """The station block as a float matrix when it holds only numbers and empty cells.

    A national file is ~600k cells in ~170 lines and pandas spends its time per column, so a
    plain numeric block is split and cast in Arrow's C++ kernels instead; anything else (text,
    ragged lines) returns None and goes through pandas, which names each bad cell.
    """
    if not value_lines or n_columns == 0:
        return np.empty((len(value_lines), n_columns))
    cells = pc.split_pattern(pa.array(value_lines, pa.string()), ",")
    if pc.any(pc.not_equal(pc.list_value_length(cells), n_columns)).as_py():
        return None
    tokens = pc.utf8_trim_whitespace(pc.list_flatten(cells))
    tokens = pc.if_else(pc.equal(tokens, ""), pa.scalar(None, pa.string()), tokens)
    try:
        numbers = pc.cast(tokens, pa.float64())
    except pa.ArrowInvalid:
        return None
    values = numbers.to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64).reshape(len(value_lines), n_columns)


def read_cnemc_archive(source: Source) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a ``china_sites_YYYYMMDD.csv`` file into candidate observations.

    Returns
    -------
    frame : pandas.DataFrame
        Candidate observations (``ecobasin.ingest.validate.CANDIDATE_COLUMNS``), one per
        station × hour × stored type; period ``1h``; units as CNEMC publishes (µg/m³, CO mg/m³).
    meta : dict
        ``source`` (file name), ``rows`` (CSV data rows), ``stations`` (station columns),
        ``derived`` (cells of derived types, not stored), ``unknown_types`` (row types that are
        neither stored nor derived; their cells are returned as unknown parameters),
        ``missing`` (empty cells, not in the frame) and ``keys_unique`` (no date/hour/type row
        or station column repeats, so the frame has no duplicate keys).
    """
    source_lines = _lines(source)
    columns = [c.strip() for c in source_lines.header]
    detect_format(columns)
    body = source_lines.lines
    # Derived rows (8 of the 15 types) are counted, not parsed: they are never stored.
    heads = [line.split(",", 3) for line in body]
    derived = np.array([len(h) > 3 and h[2].strip() in DERIVED_TYPES for h in heads], dtype=bool)
    rows = np.flatnonzero(~derived)
    kept = [heads[i] for i in rows]
    values = _plain_numbers([h[3] if len(h) > 3 else "" for h in kept], len(columns) - 3)
    if values is None:  # text among the numbers, or quoted cells: let pandas sort it out
        unique_names = [f"{i}:{c}" for i, c in enumerate(columns)]
        table = source_lines.table(unique_names).iloc[rows]
        values, raw_values = _numeric_block(table.iloc[:, 3:])
        fields = table.iloc[:, :3].set_axis(["date", "hour", "type"], axis=1).astype(str)
    else:
        raw_values = None  # every cell was a number or empty
        fields = pd.DataFrame([h[:3] for h in kept], columns=["date", "hour", "type"], dtype=str)
    stations, values, raw_values, column_rejects = _without_duplicate_stations(
        columns, values, raw_values, source_lines
    )
    kind = fields["type"].str.strip()
    label = pd.to_datetime(
        fields["date"].str.strip() + fields["hour"].str.strip().str.zfill(2),
        format="%Y%m%d%H",
        errors="coerce",
    )
    times = local_to_utc(label)
    lines = source_lines.line_numbers[rows]
    parameter = kind.map(ARCHIVE_TYPES).fillna(kind)

    n_stations = values.shape[1]
    # Long frame built from integer codes: no per-cell strings (a national file has ~600k
    # cells), and only of the cells that hold something: empty cells are counted, not listed.
    flat = values.ravel()
    empty = np.isnan(flat) if raw_values is None else np.isnan(flat) & pd.isna(raw_values)
    filled = np.flatnonzero(~empty)
    row_of, station_of = np.divmod(filled, n_stations)
    parameter_codes, parameter_names = pd.factorize(parameter)
    frame = _candidates(
        site_id=_categorical(station_of, stations),
        parameter=_categorical(parameter_codes[row_of], [str(p) for p in parameter_names]),
        period=_categorical(np.zeros(len(filled), dtype=int), ["1h"]),
        time=pd.DatetimeIndex(times.dt.tz_localize(None).to_numpy()[row_of]).tz_localize("UTC"),
        value=flat[filled],
        raw_value=_no_text(len(filled)) if raw_values is None else raw_values[filled],
        unit=_no_text(len(filled)),
        flag=_no_text(len(filled)),
        line=lines[row_of],
        field=_categorical(station_of, ["column " + s for s in stations]),
    )
    # One row per (date, hour, type) and one column per station make every key unique.
    unique = not fields.duplicated().any()
    meta = {
        "source": _name(source),
        "format": "cnemc-archive",
        "rows": len(body),
        "stations": len(stations),
        "derived": int(derived.sum()) * len(stations),
        "unknown_types": sorted(set(kind) - set(ARCHIVE_TYPES)),
        "missing": int(flat.size - len(filled)),
        "keys_unique": bool(unique),
        "encoding": source_lines.encoding,
        "line_rejects": source_lines.rejected + column_rejects,
    }
    return frame, meta


def _without_duplicate_stations(
    columns: list[str],
    values: np.ndarray,
    raw_values: np.ndarray | None,
    source_lines: SourceLines,
) -> tuple[list[str], np.ndarray, np.ndarray | None, list[dict[str, Any]]]:
    """Drop station columns the header names twice, each kept aside with its reason: which of
    the two holds the station's values cannot be told."""
    stations = columns[3:]
    duplicates = {n: c for n, c in source_lines.duplicate_columns().items() if n in stations}
    if not duplicates:
        return stations, values, raw_values, []
    keep = np.array([s not in duplicates for s in stations], dtype=bool)
    rejects = [
        {
            "record_ref": f"column {name}",
            "reason_code": "duplicate_column",
            "reason": (
                f"station {name} has {len(numbers)} columns in the header (columns "
                f"{', '.join(map(str, numbers))}); which holds its values cannot be told, so "
                "none of them was stored: remove the wrong column and import the file again"
            ),
            "raw": ",".join([*source_lines.header[:3], name]),
        }
        for name, numbers in duplicates.items()
    ]
    n_rows = values.shape[0]
    kept_raw = None
    if raw_values is not None:
        kept_raw = raw_values.reshape(n_rows, len(stations))[:, keep].ravel()
    return [s for s, k in zip(stations, keep, strict=True) if k], values[:, keep], kept_raw, rejects


def read_cnemc_live(source: Source) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CNEMC live station file (one row per station and hour).

    Returns
    -------
    frame : pandas.DataFrame
        Candidate observations, period ``1h``.
    meta : dict
        As for ``read_cnemc_archive``, plus ``sites``: a DataFrame of the stations the file
        describes (site_id, kind, level, city_code, name_zh, name_en, lon, lat) and
        ``site_errors``: stations whose city could not be resolved, or whose coordinates
        lie outside their city (``implausible_location``), as (line, station, reason[, code]).
    """
    source_lines = _lines(source)
    detect_format(source_lines.header)
    names = [c.strip().lower() for c in source_lines.header]
    duplicates = {n.lower(): c for n, c in source_lines.duplicate_columns().items()}
    for key in LIVE_SITE_COLUMNS[:2]:
        if key in duplicates:
            raise ValueError(
                f"column {key} appears {len(duplicates[key])} times in the header (columns "
                f"{duplicates[key]}): remove the wrong one and import the file again"
            )
    table = source_lines.table([f"{i}:{n}" if n in duplicates else n for i, n in enumerate(names)])
    missing = [c for c in LIVE_SITE_COLUMNS[:2] if c not in table]
    if missing:
        raise ValueError(f"live CNEMC file lacks columns {missing}")
    lines = source_lines.line_numbers
    times = local_to_utc(pd.to_datetime(table["timepoint"], errors="coerce", format="ISO8601"))
    present = {c: p for c, p in LIVE_COLUMNS.items() if c in table}
    parts = []
    for column, parameter in present.items():
        values, raw = _numeric(table[column])
        parts.append(
            _candidates(
                site_id=table["stationcode"].astype(str).str.strip(),
                parameter=parameter,
                period="1h",
                time=times,
                value=values,
                raw_value=raw,
                unit=None,
                flag=None,
                line=lines,
                field="column " + column,
            )
        )
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else _candidates(**{c: [] for c in CANDIDATE_COLUMNS})
    )
    derived_columns = [c for c in table.columns if c.endswith(("_24h", "_8h"))]
    sites, site_errors = _live_sites(table, lines)
    meta = {
        "source": _name(source),
        "format": "cnemc-live",
        "rows": len(table),
        "stations": int(table["stationcode"].nunique()),
        "derived": len(derived_columns) * len(table),
        "unknown_types": [],
        "sites": sites,
        "site_errors": site_errors,
        "encoding": source_lines.encoding,
        "line_rejects": source_lines.rejected + _duplicate_parameter_columns(duplicates),
    }
    return frame, meta


def _duplicate_parameter_columns(duplicates: dict[str, list[int]]) -> list[dict[str, Any]]:
    """A value column named twice is kept aside whole: which copy is right cannot be told."""
    return [
        {
            "record_ref": f"column {name}",
            "reason_code": "duplicate_column",
            "reason": (
                f"column {name} appears {len(numbers)} times in the header (columns "
                f"{', '.join(map(str, numbers))}); which holds the values cannot be told, so "
                "none of them was stored: remove the wrong column and import the file again"
            ),
            "raw": name,
        }
        for name, numbers in duplicates.items()
    ]


def _live_sites(
    table: pd.DataFrame, lines: np.ndarray
) -> tuple[pd.DataFrame, list[tuple[str | int, ...]]]:
    rows: list[dict[str, Any]] = []
    errors: list[tuple[str | int, ...]] = []
    for index, row in table.drop_duplicates("stationcode").iterrows():
        line = int(lines[int(str(index))])
        try:
            city = catalog.city_code(str(row.get("area", "")))
        except KeyError:
            errors.append((line, str(row["stationcode"]), f"unknown city {row.get('area')!r}"))
            continue
        name = str(row.get("positionname") or "") or None
        lon, lat = as_float(row.get("longitude")), as_float(row.get("latitude"))
        misplaced = geo.location_problem(city, lon, lat)
        if misplaced is not None:  # never registered where it cannot be (lon 1e308 …)
            errors.append((line, str(row["stationcode"]), misplaced, "implausible_location"))
            continue
        rows.append(
            {
                "site_id": str(row["stationcode"]).strip(),
                "kind": "air_station",
                "level": "national",
                "city_code": city,
                "name_zh": name,
                "name_en": None,
                "lon": lon,
                "lat": lat,
            }
        )
    return pd.DataFrame(rows), errors


def read_cnemc(source: Source) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read either CNEMC format, detected from the header (the file is read once)."""
    source_lines = _lines(source)
    if detect_format(source_lines.header) == "archive":
        return read_cnemc_archive(source_lines)
    return read_cnemc_live(source_lines)
