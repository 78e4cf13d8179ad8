"""Reference data as data: cities, regions, parameters, units and boundaries.

Units and their conversions live in :mod:`ecobasin.catalog.units`; the names re-exported here
(``convert_units``, ``canonical_unit_name``, ``unit_table``) are the catalog's API.

Every table is a versioned file in ``catalog/data`` with its source in its header; this module
only reads them (cached) and answers questions about them. It is pure: no database, no network.
"""

from __future__ import annotations

import io
import json
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

# emission limits and alarm rules (catalog/data/emission/); the module reads this package's
# registry only when called, so importing it here first is safe
from ecobasin.catalog.emission import (
    AlarmRules,
    alarm_rules,
    emission_limits,
    source_categories,
)
from ecobasin.catalog.units import canonical_unit_name, convert_units, unit_table

__all__ = [
    "DEFAULT_REGION",
    "AlarmRules",
    "Region",
    "alarm_rules",
    "boundaries",
    "canonical_unit_name",
    "cities",
    "city_code",
    "convert_units",
    "emission_limits",
    "hj212_unit_conversion",
    "load_region",
    "national_boundaries",
    "parameter_for_code",
    "parameters",
    "source_categories",
    "unit_table",
    "use_cities",
    "user_boundaries",
]

DEFAULT_REGION = "chengdu_plain"
_DATA = resources.files(__package__) / "data"


def _read_text(name: str) -> str:
    return (_DATA / name).read_text(encoding="utf-8")


def _read_csv(name: str, **kwargs: Any) -> pd.DataFrame:
    lines = [line for line in _read_text(name).splitlines() if not line.startswith("#")]
    frame: pd.DataFrame = pd.read_csv(
        io.StringIO("\n".join(lines)), keep_default_na=False, **kwargs
    )
    return frame


#: The cities and districts a user added (setting ``cities``: ``use_cities``): their rows
#: and their boundaries (GeoJSON geometries by code).
_USER_CITIES: dict[str, Any] = {"path": None, "rows": None, "boundaries": {}}


@cache
def _cities() -> pd.DataFrame:
    frame = _read_csv("cities.csv", dtype={"code": "int64"})
    if _USER_CITIES["rows"] is not None:
        frame = pd.concat([frame, _USER_CITIES["rows"]], ignore_index=True)
    indexed: pd.DataFrame = frame.set_index("code", drop=False)
    return indexed


def cities() -> pd.DataFrame:
    """All known cities: code, names (zh/en), short name, province (zh/en), centre [°].

    Codes are the six-digit administrative division codes of GB/T 2260. The bundled table
    (``cities.csv``) holds every prefecture-level division of mainland China, built by
    ``tools/build_china_catalog.py``; the cities and districts of ``use_cities`` follow it.
    """
    return _cities().copy()


def use_cities(path: str | Path | None) -> None:
    """Add the user's own cities or districts (a TOML or GeoJSON file, docs/regions.md) to
    the catalog of this process; None removes them again.

    Raises
    ------
    ValueError
        When the file cannot be read or an entry is wrong: the message names the entry
        (its position and code) and the reason.
    """
    from ecobasin.catalog.usercities import read_user_cities

    rows: pd.DataFrame | None = None
    shapes: dict[int, dict[str, Any]] = {}
    if path is not None:
        known = set(_read_csv("cities.csv", dtype={"code": "int64"})["code"])
        rows, shapes = read_user_cities(Path(path), known)
    _USER_CITIES.update(path=path, rows=rows, boundaries=shapes)
    _cities.cache_clear()
    from ecobasin.catalog import geo

    geo.city_boundary.cache_clear()


def user_boundaries() -> dict[int, dict[str, Any]]:
    """The boundaries (GeoJSON geometries, lon/lat) of the user's cities, by code."""
    return dict(_USER_CITIES["boundaries"])


@cache
def _parameters() -> pd.DataFrame:
    frame = _read_csv("parameters.csv", dtype=str)
    for column in ("min_value", "max_value"):
        frame[column] = frame[column].astype(float)
    frame["decimals"] = frame["decimals"].astype(int)
    return frame.set_index("parameter", drop=False)


def parameters(domain: str | None = None) -> pd.DataFrame:
    """The parameter registry, optionally for one domain (air, water, flue_gas, met).

    Columns: parameter, domain, hj212_2017, hj212_2005, name_zh, name_en, unit (canonical),
    min_value and max_value (plausible range [canonical unit]), decimals, cnemc_archive,
    cnemc_live, hj212_unit (the unit an HJ 212 item travels in; empty: ``unit``).
    """
    return _parameters_of(domain).copy()


@cache
def _parameters_of(domain: str | None) -> pd.DataFrame:
    """The registry's rows of one domain (all rows for None), filtered once: callers get a
    copy from :func:`parameters`, never this frame."""
    frame = _parameters()
    return frame if domain is None else frame[frame["domain"] == domain]


def parameter_for_code(code: str, domains: tuple[str, ...] = ("air", "water", "met")) -> str:
    """The parameter id for an HJ 212 factor code (2017 or 2005) within the given domains.

    The same code means different parameters in different domains (a21026 is ambient SO2 at an
    air station and flue-gas SO2 at a stack), so the caller names the domains of its site.

    Raises
    ------
    KeyError
        When no parameter of those domains has that code.
    """
    parameter = _parameter_for_code(code, tuple(domains))
    if parameter is None:
        raise KeyError(f"no parameter with HJ 212 code {code!r} in domains {domains}")
    return parameter


@cache
def hj212_unit_conversion(parameter: str) -> tuple[float, float] | None:
    """How a value of ``parameter`` as an HJ 212 device sends it becomes a registry value.

    HJ 212 carries no units: each item travels in the default unit of HJ 212-2017 Appendix B
    (表B.1 water, 表B.2 air; a01006 air pressure in kPa), the registry's ``hj212_unit``. The
    registry value is ``sent * factor + offset`` [registry ``unit``].

    Returns
    -------
    tuple of float or None
        ``(factor, offset)``; None when the item travels in the registry unit already.

    Raises
    ------
    KeyError
        When ``parameter`` is not in the registry.
    """
    row = _parameters().loc[parameter]
    sent, stored = str(row["hj212_unit"]), str(row["unit"])
    if not sent or canonical_unit_name(sent) == canonical_unit_name(stored):
        return None
    zero, one = convert_units([0.0, 1.0], sent, stored)
    return float(one - zero), float(zero)


@cache
def _parameter_for_code(code: str, domains: tuple[str, ...]) -> str | None:
    # cached: the gateway looks up every CP item of every message (a few µs instead of ~1 ms)
    frame = _parameters()
    hits = frame[
        frame["domain"].isin(domains)
        & ((frame["hj212_2017"] == code) | (frame["hj212_2005"] == code))
    ]
    if hits.empty:  # a vendor's code for a standard item (noise loggers: n00000 …)
        alias = _vendor_codes().get(code)
        return alias if alias is not None and frame.loc[alias, "domain"] in domains else None
    return str(hits.index[0])


@cache
def _vendor_codes() -> dict[str, str]:
    """Vendor factor code → registry parameter (``noise/hj212_aliases.csv``, with its source)."""
    frame = _read_csv("noise/hj212_aliases.csv", dtype=str)
    return dict(zip(frame["code"], frame["parameter"], strict=True))


@dataclass(frozen=True)
class Region:
    """A set of cities that work together. A region is configuration, not code."""

    id: str
    name_zh: str
    name_en: str
    cities: tuple[int, ...]
    boundaries: str | None = None

    def city_table(self) -> pd.DataFrame:
        """The region's cities, in the order the region file lists them."""
        return cities().loc[list(self.cities)].reset_index(drop=True)


def load_region(name_or_path: str | Path = DEFAULT_REGION) -> Region:
    """Load a region by bundled name (``chengdu_plain``) or from a TOML file path.

    Raises
    ------
    ValueError
        When the file names a city code that is neither in the catalog nor in the user's
        cities file (``use_cities``).
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    else:
        config = tomllib.loads(_read_text(f"regions/{name_or_path}.toml"))
    codes = tuple(int(code) for code in config["cities"])
    unknown = [code for code in codes if code not in _cities().index]
    if unknown:
        raise ValueError(
            f"region {config['id']!r}: unknown city codes {unknown}: not prefecture-level "
            "divisions of the catalog nor in your cities file (setting `cities`, "
            "docs/regions.md)"
        )
    return Region(
        id=str(config["id"]),
        name_zh=str(config["name_zh"]),
        name_en=str(config["name_en"]),
        cities=codes,
        boundaries=config.get("boundaries"),
    )


def city_code(name: str | int) -> int:
    """Resolve a city given as code, Chinese name (成都 or 成都市) or English name (Chengdu).

    Raises
    ------
    KeyError
        When nothing matches.
    """
    table = _cities()
    text = str(name).strip()
    if text.isdigit() and int(text) in table.index:
        return int(text)
    for column in ("name_zh", "short_zh"):
        hit = table.index[table[column] == text]
        if len(hit):
            return int(hit[0])
    hit = table.index[table["name_en"].str.lower() == text.lower()]
    if len(hit):
        return int(hit[0])
    raise KeyError(f"unknown city {name!r}")


@cache
def _boundary_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_read_text(name))
    return data


def boundaries(region: Region) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the region's city boundaries (RFC 7946, lon/lat).

    Each feature's properties are ``code``, ``name_zh``, ``name_en`` and ``center``. A city's
    boundary comes from the region's own file (``boundaries = ...``, matched by Chinese name)
    when it has one, else from the user's cities file, else from the national file
    (``boundaries_china.geojson``, matched by code). Cities without any are left out.
    """
    table = _cities()
    by_name: dict[str, dict[str, Any]] = {}
    if region.boundaries is not None:
        by_name = {
            str(feature["properties"]["name"]): feature
            for feature in _boundary_file(region.boundaries)["features"]
        }
    features = []
    for code in region.cities:
        row = table.loc[code]
        geometry, center = _boundary_of(int(code), by_name.get(str(row["name_zh"])))
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": int(code),
                    "name_zh": str(row["name_zh"]),
                    "name_en": str(row["name_en"]),
                    "center": center or [float(str(row["lon"])), float(str(row["lat"]))],
                },
                "geometry": _valid_rings(geometry),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _boundary_of(code: int, regional: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
    """(geometry, label point) of a city: regional file, user file, national file."""
    if regional is not None:
        return regional["geometry"], regional["properties"].get("center")
    user = _USER_CITIES["boundaries"].get(code)
    if user is not None:
        return user, None
    national = national_boundaries().get(code)
    if national is not None:
        return national["geometry"], national["properties"].get("center")
    return None, None


@cache
def national_boundaries() -> dict[int, dict[str, Any]]:
    """The features of ``boundaries_china.geojson`` by GB/T 2260 code."""
    collection = _boundary_file("boundaries_china.geojson")
    return {int(f["properties"]["code"]): f for f in collection["features"]}


def _valid_rings(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry without degenerate rings (fewer than 4 positions: RFC 7946 §3.1.6).

    Decoding the coarse echarts outlines leaves a few 3-point slivers of zero area; they carry
    no territory, so they are dropped rather than repaired.
    """

    def polygon(rings: list[Any]) -> list[Any]:
        return [ring for ring in rings if len(ring) >= 4]

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geometry["coordinates"])}
    parts = [p for p in (polygon(rings) for rings in geometry["coordinates"]) if p]
    return {"type": "MultiPolygon", "coordinates": parts}
