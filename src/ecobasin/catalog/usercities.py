"""The user's own cities or districts: a TOML or GeoJSON file named by the ``cities`` setting.

A region may need places the national catalog does not hold (a district, a new zone, a
county-level city). They are data, not code: one file, read by ``catalog.use_cities``.

TOML: one ``[[city]]`` table per place with ``code`` (six digits, GB/T 2260 where one exists),
``name_zh``, optional ``name_en``, ``short_zh``, ``province_zh``, ``province_en``, the centre
``lon``/``lat`` [°E, °N] and an optional ``boundary`` (a GeoJSON file of one Polygon or
MultiPolygon, relative to the TOML file). GeoJSON: a FeatureCollection whose features carry
those keys as properties and the boundary as geometry; ``center`` = [lon, lat] or the centre is a
point inside the polygon. A province not given is the one whose code starts with the same two
digits.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from shapely.geometry import shape

__all__ = ["read_user_cities"]

COLUMNS = ("code", "name_zh", "short_zh", "name_en", "province_zh", "province_en", "lon", "lat")


def read_user_cities(path: Path, known: set[int]) -> tuple[pd.DataFrame, dict[int, dict[str, Any]]]:
    """The rows (``cities.csv`` columns) and boundaries (GeoJSON geometries by code) of a file.

    Raises
    ------
    ValueError
        When the file is unreadable, or an entry lacks a key, repeats a code, reuses a code
        of the catalog (``known``) or has a centre outside its boundary; the message names the
        file, the entry and the reason.
    """
    entries = _entries(path)
    rows: list[dict[str, Any]] = []
    shapes: dict[int, dict[str, Any]] = {}
    seen: set[int] = set()
    for number, (entry, geometry) in enumerate(entries, 1):
        where = f"{path.name}: entry {number} (code {entry.get('code', '?')})"
        row, boundary = _checked(entry, geometry, where, known | seen)
        seen.add(int(row["code"]))
        rows.append(row)
        if boundary is not None:
            shapes[int(row["code"])] = boundary
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype({"code": "int64"})
    return frame, shapes


def _entries(path: Path) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            config = tomllib.loads(text)
            return [(dict(e), _boundary_file(path, e)) for e in config.get("city", [])]
        collection = json.loads(text)
        return [
            (dict(f.get("properties") or {}), f.get("geometry")) for f in collection["features"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"cities file {path}: cannot be read ({error})") from None


def _boundary_file(path: Path, entry: dict[str, Any]) -> dict[str, Any] | None:
    if "boundary" not in entry:
        return None
    data: dict[str, Any] = json.loads((path.parent / str(entry["boundary"])).read_text("utf-8"))
    if data.get("type") == "FeatureCollection":
        return dict(data["features"][0]["geometry"])
    return dict(data["geometry"]) if data.get("type") == "Feature" else data


def _checked(
    entry: dict[str, Any], geometry: dict[str, Any] | None, where: str, taken: set[int]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One entry as a catalog row and its boundary, or a ValueError naming the problem."""
    missing = [key for key in ("code", "name_zh") if not entry.get(key)]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    code = int(str(entry["code"]))
    if not 100000 <= code <= 999999:
        raise ValueError(f"{where}: a code has six digits (GB/T 2260)")
    if code in taken:
        raise ValueError(f"{where}: code {code} is already in the catalog; use another code")
    polygon = _polygon(geometry, where) if geometry is not None else None
    lon, lat = _centre(entry, polygon, where)
    province_zh, province_en = _province(code, entry)
    name_zh = str(entry["name_zh"])
    row = {
        "code": code,
        "name_zh": name_zh,
        "short_zh": str(entry.get("short_zh") or name_zh),
        "name_en": str(entry.get("name_en") or name_zh),
        "province_zh": province_zh,
        "province_en": province_en,
        "lon": lon,
        "lat": lat,
    }
    return row, geometry


def _polygon(geometry: dict[str, Any], where: str) -> Any:
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"{where}: the boundary must be a Polygon or MultiPolygon")
    try:
        polygon = shape(geometry)
    except (ValueError, TypeError, IndexError) as error:
        raise ValueError(f"{where}: the boundary is not valid GeoJSON ({error})") from None
    if polygon.is_empty or not polygon.is_valid:
        raise ValueError(f"{where}: the boundary is empty or self-intersecting")
    return polygon


def _centre(entry: dict[str, Any], polygon: Any, where: str) -> tuple[float, float]:
    """The centre [°E, °N]: given (``lon``/``lat`` or ``center``), else inside the polygon."""
    given = entry.get("center") or (
        [entry["lon"], entry["lat"]] if "lon" in entry and "lat" in entry else None
    )
    if given is None:
        if polygon is None:
            raise ValueError(f"{where}: give lon and lat, or a boundary")
        inside = polygon.representative_point()
        return round(float(inside.x), 6), round(float(inside.y), 6)
    lon, lat = float(given[0]), float(given[1])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"{where}: centre ({lon}, {lat}) is not a lon/lat position")
    if polygon is not None and not polygon.covers(shapely.Point(lon, lat)):
        raise ValueError(f"{where}: centre ({lon}, {lat}) lies outside its boundary")
    return lon, lat


def _province(code: int, entry: dict[str, Any]) -> tuple[str, str]:
    """The province given, else the catalog's province of the same two first digits."""
    if entry.get("province_zh"):
        return str(entry["province_zh"]), str(entry.get("province_en") or entry["province_zh"])
    from ecobasin.catalog import _read_csv

    table = _read_csv("cities.csv", dtype={"code": "int64"})
    same = table[table["code"] // 10_000 == code // 10_000]
    if same.empty:
        return "", ""
    return str(same["province_zh"].iloc[0]), str(same["province_en"].iloc[0])
