"""Demo non-road machinery registry of the eight cities (issue 18): illustrative, not real.

About 40 machines per city (excavators, loaders, rollers, cranes, forklifts; 国二 to 国四 and
electric), three construction sites per city, an illustrative no-use zone around central Chengdu
(国三 and above; its polygon is a sketch, not the city's notice), machines entering sites, spot
checks across the year with some failing GB 36886-2018, a few machines registered twice in two
cities and a few codes seen on sites that no city registered. The checks C1–C11 then run, so the
registry page shows findings. Everything goes through :mod:`ecobasin.services.machinery`.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.services import machinery as service
from ecobasin.store.database import Store
from ecobasin.timebase import CST

__all__ = ["CHENGDU_ZONE", "install"]

_TYPES = (("挖掘机", 90.0), ("装载机", 120.0), ("压路机", 75.0), ("起重机", 200.0), ("叉车", 30.0),
          ("摊铺机", 110.0), ("推土机", 130.0))  # fmt: skip
_STAGES = ("G2", "G3", "G3", "G3", "G4", "G4")
#: An illustrative zone inside Chengdu's ring roads [°E, °N] (a sketch, not the city's notice).
CHENGDU_ZONE = [(103.98, 30.60), (104.15, 30.60), (104.15, 30.73), (103.98, 30.73), (103.98, 30.60)]
_PER_CITY = 40
_HALF = 0.004  # [°] half-side of a demo site's square (about 400 m)


def _registry_rows(cities: list[int], year: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for city in cities:
        short = str(city)[:4]
        for n in range(_PER_CITY):
            kind, power = _TYPES[int(rng.integers(len(_TYPES)))]
            fuel = "electric" if rng.random() < 0.08 else "diesel"
            stage = "" if fuel == "electric" else _STAGES[int(rng.integers(len(_STAGES)))]
            made = {"G2": 2013, "G3": 2019, "G4": 2025, "": 2022}[stage] - int(rng.integers(0, 3))
            rows.append({
                "registration_code": f"{short}-{n + 1:04d}", "issuer_city": city,
                "registered_at": f"{year}-0{1 + n % 6}-15T09:00", "machine_type": kind,
                "fuel": fuel, "stage_declared": stage, "owner_name": f"示例施工企业{n % 5 + 1} demo contractor",
                "current_city": city, "machine_serial": f"M{city}{n:04d}",
                "engine_serial": f"E{city}{n:04d}", "manufacture_date": f"{made}-06-01",
                "rated_power_kw": round(power * float(rng.uniform(0.8, 1.2)), 1),
                "terminal_id": f"T{city}{n:04d}" if stage == "G4" and rng.random() < 0.8 else "",
            })  # fmt: skip
    # a machine moved from Chengdu to Deyang and registered there again: C9 finds it
    for n in range(3):
        twin = dict(rows[n])
        twin.update(registration_code=f"5106-9{n:03d}", issuer_city=510600, current_city=510600)
        rows.append(twin)
    return rows


def _sites(cities: list[int]) -> list[dict[str, Any]]:
    frame = catalog.cities()
    points = dict(
        zip(frame["code"].astype(int), zip(frame["lon"], frame["lat"], strict=True), strict=True)
    )
    sites = []
    for city in cities:
        lon, lat = points[city]
        for n, (dx, dy) in enumerate(((0.01, 0.01), (-0.03, 0.02), (0.12, -0.08))):
            x, y = round(lon + dx, 5), round(lat + dy, 5)
            square = [[x - _HALF, y - _HALF], [x + _HALF, y - _HALF], [x + _HALF, y + _HALF],
                      [x - _HALF, y + _HALF], [x - _HALF, y - _HALF]]  # fmt: skip
            sites.append({"site_id": f"{city}-S{n + 1}", "city": city,
                          "name": f"示例工地{n + 1} demo site {n + 1}", "lon": x, "lat": y,
                          "polygon": {"type": "Polygon", "coordinates": [square]}})  # fmt: skip
    return sites


def install(store: Store, cities: list[int], *, year: int, seed: int = 7) -> dict[str, Any]:
    """Build the illustrative registry and run the checks at 15 December of ``year`` (CST)."""
    rng = np.random.default_rng(seed + 18)
    rows = _registry_rows(cities, year, rng)
    with tempfile.TemporaryDirectory() as folder:
        registry = Path(folder) / "demo_machinery.csv"
        pd.DataFrame(rows).to_csv(registry, index=False)
        imported = service.import_registry(store, registry)
        zones = Path(folder) / "demo_zones.geojson"
        zones.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [CHENGDU_ZONE]},
            "properties": {"zone_id": "510100-Z1", "city": 510100,
                           "name": "示例禁用区（绕城内）illustrative no-use zone",
                           "valid_from": f"{year}-01-01T00:00:00+08:00", "min_stage": "G3",
                           "notice_ref": "illustrative 示意"}}]}, ensure_ascii=False))  # fmt: skip
        service.import_zones(store, zones)
    sites = _sites(cities)
    for site in sites:
        service.add_site(store, site)
    presence = []
    for n, row in enumerate(rows):
        if rng.random() < 0.6:
            site = sites[cities.index(int(row["current_city"])) * 3 + n % 3]
            entered = datetime(year, 3 + n % 9, 1 + n % 27, 8, tzinfo=CST)
            presence.append({"code_observed": row["registration_code"], "site_id": site["site_id"],
                             "entered_at": entered, "source": "gate"})  # fmt: skip
    for n in range(4):  # codes seen at gates that no city registered
        presence.append({"code_observed": f"UNREG-{n:02d}", "site_id": sites[n]["site_id"],
                         "entered_at": datetime(year, 10, 1 + n, 8, tzinfo=CST), "source": "gate"})  # fmt: skip
    service.record_presence(store, presence)
    checks = failed = 0
    for n, row in enumerate(rows[: len(cities) * _PER_CITY]):
        if n % 6:
            continue
        dirty = rng.random() < 0.25
        base = 1.2 if dirty else 0.35
        readings = tuple(round(base + float(rng.uniform(0, 0.5)), 2) for _ in range(3))
        done = service.record_spot_check(store, service.SpotCheck(
            code_observed=str(row["registration_code"]), city=int(row["current_city"]),
            agency="示例检查组 demo inspection team", at=datetime(year, 4 + n % 8, 10, 10, tzinfo=CST),
            readings_k=() if row["fuel"] == "electric" else readings,
            method="visual_only" if row["fuel"] == "electric" else "free_accel",
            site_id=sites[cities.index(int(row["current_city"])) * 3]["site_id"],
            label_present=rng.random() > 0.05), recorded_by="demo")  # fmt: skip
        checks += 1
        failed += done.result == "fail"
    pinged = _pings_and_gate(store, rows, sites, cities, year)
    ran = service.run_registry_checks(store, datetime(year, 12, 15, 10, tzinfo=CST))
    return {"machines": imported.added, "sites": len(sites), "inspections": checks,
            "failed": failed, "findings": ran["findings"], "by_rule": ran["by_rule"],
            **pinged}  # fmt: skip


def _pings_and_gate(
    store: Store,
    rows: list[dict[str, Any]],
    sites: list[dict[str, Any]],
    cities: list[int],
    year: int,
) -> dict[str, int]:
    """Terminal pings of two machines per city on their city's first site on the morning of
    15 December (site presence derived from them), one report far off (a speed jump, kept
    aside), and three gate checks at Chengdu's first site (an unregistered code, the first
    machines of Chengdu)."""
    morning = datetime(year, 12, 15, 8, tzinfo=CST)
    pings = []
    for city in cities:
        site = sites[cities.index(city) * 3]
        fitted = [r for r in rows if r["current_city"] == city and r["terminal_id"]][:2]
        for row in fitted:
            for hour in range(4):
                pings.append({"terminal_id": row["terminal_id"],
                              "ts": (morning + timedelta(hours=hour)).isoformat(),
                              "lon": site["lon"], "lat": site["lat"],
                              "engine_hours": 1000 + hour, "engine_state": "on"})  # fmt: skip
    if pings:
        far = {**pings[0], "ts": (morning + timedelta(minutes=30)).isoformat(), "lon": 103.0}
        pings.append(far)
    done = service.import_pings(store, pings, source="demo", now=morning + timedelta(hours=4))
    gate_site = sites[0]["site_id"]
    gated = 0
    for code in ["UNREG-99", *[str(r["registration_code"]) for r in rows[:2]]]:
        service.gate_check(store, gate_site, code, "示例门岗 demo gate", morning)
        gated += 1
    return {"pings": done.stored, "pings_rejected": len(done.rejected), "gate_checks": gated}
