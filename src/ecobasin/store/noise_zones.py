"""A city's functional-zone plan (GB 3096-2008 声环境功能区划) in the store, and the noise sites
placed in its zones.

``import_zones_geojson`` reads a GeoJSON FeatureCollection (one Feature per zone, see
:func:`ecobasin.standards.noise_zones.zone_from_feature`): every bad feature goes to
``rejected`` as ``feature N: reason`` (N counted from 1), the good ones are upserted into
``noise_zones`` by ``zone_id`` (a re-import changes nothing), and then the noise sites of the
touched cities are placed (:func:`place_sites`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from shapely.geometry import shape

from ecobasin.standards.noise_zones import NoiseZone, zone_from_feature, zone_holding
from ecobasin.store import noise as noise_store
from ecobasin.store.database import Store

__all__ = [
    "MAX_ZONES_BYTES",
    "NOISE_SITE_KINDS",
    "Placement",
    "ZoneImport",
    "import_zones_geojson",
    "place_sites",
    "stored_zones",
]

#: Largest zoning file read [bytes]: a city's plan is a few hundred polygons (≈ MB); the
#: whole document is parsed in memory, so a stray export must not be.
MAX_ZONES_BYTES = 32 * 1024 * 1024
#: The site kinds that lie in a functional zone (noise brief §4.4).
NOISE_SITE_KINDS = ("noise_station", "noise_point", "noise_grid", "road_segment")


@dataclass(frozen=True)
class Placement:
    """Sites placed in zones: how many got their zone, and the sites whose own ``zone_class``
    attribute disagrees with the zone that holds them (kept as set, listed to be checked)."""

    placed: int
    outside: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    #: sites that had no class and took their zone's (their stored days predate it)
    classed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ZoneImport:
    """What a zone import did (with the batch id) and the placement that followed."""

    batch_id: int
    read: int
    stored: int
    rejected: int
    placement: Placement


def _features(path: Path) -> list[Any]:
    size = path.stat().st_size
    if size > MAX_ZONES_BYTES:
        raise ValueError(
            f"{path}: {size / 2**20:.0f} MiB, more than the {MAX_ZONES_BYTES / 2**20:.0f} MiB "
            "a zone import reads: split the plan by district"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not GeoJSON (UTF-8 JSON): {error}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise ValueError(f"{path}: the FeatureCollection has no list of features")
    return features


def import_zones_geojson(
    store: Store, path: Path, default_city: int | None = None, source: str | None = None
) -> ZoneImport:
    """Import a zoning plan; each bad feature kept aside, then the sites placed (see module)."""
    features = _features(path)
    cities = noise_store.city_codes(store)
    batch = store.begin_batch("noise_zones", str(path))
    good: dict[str, NoiseZone] = {}
    bad: list[dict[str, Any]] = []
    for number, feature in enumerate(features, start=1):
        ref = f"feature {number}"
        try:
            zone = zone_from_feature(feature, cities, default_city)
            if zone.zone_id in good:
                raise ValueError(f"zone_id {zone.zone_id} appears twice")
            good[zone.zone_id] = zone
        except ValueError as error:
            raw = json.dumps(feature, ensure_ascii=False, default=str)[:2000]
            bad.append({"source": str(path), "record_ref": ref, "reason_code": "bad_noise_zone",
                        "reason": f"{ref}: {error}", "raw": raw})  # fmt: skip
    if good:
        noise_store.upsert_zones(store, _frame(list(good.values())), source or path.name)
    if bad:
        store.reject(pd.DataFrame(bad), batch)
    placement = place_sites(store, sorted({z.city_code for z in good.values()}))
    store.finish_batch(batch, {"read": len(features), "stored": len(good), "rejected": len(bad)})
    return ZoneImport(batch, len(features), len(good), len(bad), placement)


def _frame(zones: list[NoiseZone]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"zone_id": z.zone_id, "city_code": z.city_code, "zone_class": z.zone_class,
             "name_zh": z.name_zh, "name_en": z.name_en,
             "geometry": shape(z.geometry).__geo_interface__,
             "valid_from": z.valid_from, "valid_to": z.valid_to}
            for z in zones
        ]
    )  # fmt: skip


def stored_zones(store: Store, city_code: int | None = None) -> list[NoiseZone]:
    """The stored zones (optionally of one city) as core zones."""
    return [
        NoiseZone(
            zone_id=str(row["zone_id"]),
            city_code=int(row["city_code"]),
            zone_class=str(row["zone_class"]),
            geometry=shape(json.loads(g) if isinstance(g := row["geometry"], str) else g),
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            valid_from=None if pd.isna(row["valid_from"]) else row["valid_from"],
            valid_to=None if pd.isna(row["valid_to"]) else row["valid_to"],
        )
        for row in noise_store.zones(store, city_code).to_dict("records")
    ]


def _attributes(value: Any) -> dict[str, Any]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return {}
    return dict(json.loads(value) if isinstance(value, str) else value)


def place_sites(
    store: Store, city_codes: list[int] | None = None, day: dt.date | None = None
) -> Placement:
    """Give each noise site with coordinates (of ``city_codes``; None: all) the zone in force
    on ``day`` (default today) that holds it: attribute ``zone_id``, and ``zone_class`` where
    the site has none. A site whose own class differs from its zone keeps it (a city may have
    judged it so) and is listed; a site in no zone loses a stale ``zone_id``."""
    day = day or dt.datetime.now(dt.UTC).date()
    zones = [z for z in stored_zones(store) if city_codes is None or z.city_code in city_codes]
    sites = store.sites(kinds=list(NOISE_SITE_KINDS), cities=city_codes)
    sites = sites[sites["lon"].notna() & sites["lat"].notna()]
    placed, outside, disagreements, classed, updates = 0, [], [], [], []
    for site in sites.to_dict("records"):
        zone = zone_holding(
            [z for z in zones if z.city_code == site["city_code"]], site["lon"], site["lat"], day
        )
        attributes = _attributes(site["attributes"])
        before = dict(attributes)
        if zone is None:
            outside.append(str(site["site_id"]))
            attributes.pop("zone_id", None)
        else:
            placed += 1
            attributes["zone_id"] = zone.zone_id
            if "zone_class" not in attributes:
                classed.append(str(site["site_id"]))
            own = attributes.setdefault("zone_class", zone.zone_class)
            if str(own).lower() != zone.zone_class:
                disagreements.append(
                    f"{site['site_id']}: class {own} but lies in zone {zone.zone_id} of class "
                    f"{zone.zone_class} 类别与所在功能区不符"
                )
        if attributes != before:
            updates.append((json.dumps(attributes, ensure_ascii=False), str(site["site_id"])))
    if updates:
        store.con.executemany(
            "UPDATE sites SET attributes = ?, updated_at = now() WHERE site_id = ?", updates
        )
    return Placement(placed, outside, disagreements, classed)
