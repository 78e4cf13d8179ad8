"""A city's GB 3096 functional-zone plan (issue 23, "zones as polygons per city; noise sites placed
in them") through the real CLI into a real DuckDB file: GeoJSON import with every bad feature
kept aside, a re-import that changes nothing, the sites placed in their zones (a road band over
the zone it crosses wins), and a station registered without a class judged by its zone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_noise_store import YEAR_2026, _hours
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.store import Store, _sql, noise_zones
from ecobasin.store import noise as noise_store
from store_files import new_synced_store_file


def _square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


#: Class 1 west of 104.0, class 3 east of it, a 4a road band across both at 30.60 ± 0.002.
PLAN = [
    _feature(_square(103.95, 30.55, 104.0, 30.65), zone_id="CD-1", zone_class="1", city="510100"),
    _feature(_square(104.0, 30.55, 104.05, 30.65), zone_id="CD-3", zone_class="3类", city="成都"),
    _feature(_square(103.95, 30.598, 104.05, 30.602), zone_id="CD-4A", zone_class="4A",
             name_zh="一环路两侧", valid_from="2022-01-01"),  # no city: --city
]  # fmt: skip
BAD = [
    _feature(_square(0, 0, 1, 1), zone_class="1", city="510100"),  # 4: no zone_id
    _feature(_square(0, 0, 1, 1), zone_id="X5", zone_class="5", city="510100"),
    _feature(_square(0, 0, 1, 1), zone_id="X6", zone_class="2", city="Atlantis"),
    _feature(
        {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        zone_id="X7",
        zone_class="2",
        city="510100",
    ),
    _feature(
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        zone_id="X8",
        zone_class="2",
        city="510100",
    ),  # a bow tie
    _feature(
        _square(0, 0, 1, 1),
        zone_id="X9",
        zone_class="2",
        city="510100",
        valid_from="2024-01-01",
        valid_to="2023-01-01",
    ),
    _feature(_square(0, 0, 1, 1), zone_id="CD-1", zone_class="2", city="510100"),  # twice
    {"type": "Polygon", "coordinates": []},  # not a Feature
]


def _sites(store: Store) -> None:
    rows = [  # (id, lon, lat, own class)
        ("N-WEST", 103.97, 30.62, None),  # in class 1, no class of its own: takes 1
        ("N-ROAD", 104.02, 30.60, None),  # in the band over class 3: 4a
        ("N-WRONG", 104.03, 30.57, "1"),  # says 1, lies in class 3: kept, listed
        ("N-AWAY", 105.00, 31.00, None),  # in no zone
    ]
    store.upsert_sites(
        pd.DataFrame(
            [{"site_id": s, "kind": "noise_station", "level": "city", "city_code": 510100,
              "name_zh": s, "name_en": s, "lon": lon, "lat": lat,
              "attributes": None if cls is None else {"zone_class": cls}}
             for s, lon, lat, cls in rows]
        ),
        source="test",
    )  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "zones.duckdb"
    with Store(new_synced_store_file(path)) as store:
        _sites(store)
    return path


def _write(tmp_path: Path, features: list[Any]) -> Path:
    path = tmp_path / "plan.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def _import(path: Path, db: Path) -> Any:
    args = ["noise", "zones-import", str(path), "--city", "510100", "--db", str(db)]
    return CliRunner().invoke(app, args)


def test_a_zoning_plan_is_imported_with_bad_features_kept_aside(db: Path, tmp_path: Path) -> None:
    done = _import(_write(tmp_path, PLAN + BAD), db)
    assert done.exit_code == 0, done.output
    assert "11 zones read" in done.output and "3 stored" in done.output
    assert "8 kept aside" in done.output
    with Store(db) as store:
        zones = noise_store.zones(store).set_index("zone_id")
        assert dict(zones["zone_class"]) == {"CD-1": "1", "CD-3": "3", "CD-4A": "4a"}
        assert set(zones["city_code"]) == {510100}
        assert str(zones.loc["CD-4A", "valid_from"])[:10] == "2022-01-01"
        kept = _sql.frame(store, "SELECT record_ref, reason FROM rejected")
    reasons = dict(zip(kept["record_ref"], kept["reason"], strict=True))
    assert sorted(reasons) == sorted(f"feature {n}" for n in range(4, 12))
    for ref, words in {
        "feature 4": "zone_id is missing",
        "feature 5": "unknown GB 3096 zone class '5'",
        "feature 6": "unknown city 'Atlantis'",
        "feature 7": "LineString, not a Polygon",
        "feature 8": "not a valid polygon (Self-intersection",
        "feature 9": "valid_to 2023-01-01 is before valid_from 2024-01-01",
        "feature 10": "CD-1 appears twice",
        "feature 11": "not a GeoJSON Feature",
    }.items():
        assert reasons[ref].startswith(f"{ref}: ") and words in reasons[ref], reasons[ref]


def test_sites_are_placed_in_their_zones(db: Path, tmp_path: Path) -> None:
    done = _import(_write(tmp_path, PLAN), db)
    assert "3 sites placed in a zone" in done.output and "1 in none" in done.output
    assert "N-WRONG: class 1 but lies in zone CD-3 of class 3" in done.output
    # N-WEST and N-ROAD took their zone's class: their past days are judged on a refresh
    assert "2 sites took their zone's class" in done.output
    assert "ecobasin noise refresh --year" in done.output
    with Store(db) as store:
        sites = store.sites(kinds=["noise_station"]).set_index("site_id")
        attrs = {
            s: json.loads(a) if isinstance(a, str) else {} for s, a in sites["attributes"].items()
        }
        # a second import of the same plan changes nothing
        again = noise_zones.import_zones_geojson(store, _write(tmp_path, PLAN), 510100)
        assert (again.stored, again.rejected, len(noise_store.zones(store))) == (3, 0, 3)
    assert attrs["N-WEST"] == {"zone_id": "CD-1", "zone_class": "1"}
    assert attrs["N-ROAD"] == {"zone_id": "CD-4A", "zone_class": "4a"}  # the band, not CD-3
    assert attrs["N-WRONG"] == {"zone_id": "CD-3", "zone_class": "1"}  # its own class kept
    assert attrs["N-AWAY"] == {}


def test_a_station_without_a_class_is_judged_by_its_zone(db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        store.write_observations(
            _hours("N-ROAD", "2026-07-01", 68.0, 57.0), store.begin_batch("test", "hours")
        )
        noise_zones.import_zones_geojson(store, _write(tmp_path, PLAN), 510100)
        refresh_noise_products(store, ["N-ROAD"], *YEAR_2026)
        daily = _sql.frame(
            store, "SELECT zone_class, ld, ln, day_pass, night_pass FROM noise_daily"
        )
    # 4a: day 70, night 55 (GB 3096-2008 Table 1)
    assert daily.to_dict("records") == [
        {"zone_class": "4a", "ld": 68.0, "ln": 57.0, "day_pass": True, "night_pass": False}
    ]


def test_a_file_that_is_no_plan_fails_naming_it(db: Path, tmp_path: Path) -> None:
    text = tmp_path / "plan.geojson"
    text.write_text("zone_id,zone_class\nA,1\n", encoding="utf-8")
    failed = _import(text, db)
    assert failed.exit_code == 1 and "plan.geojson: not GeoJSON" in failed.output
    text.write_text(json.dumps({"type": "Feature"}), encoding="utf-8")
    failed = _import(text, db)
    assert failed.exit_code == 1 and "not a GeoJSON FeatureCollection" in failed.output


def test_an_oversized_plan_is_refused_before_it_is_read(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(noise_zones, "MAX_ZONES_BYTES", 1024)
    path = _write(tmp_path, PLAN * 10)
    failed = _import(path, db)
    assert failed.exit_code == 1 and "split the plan by district" in failed.output
    with Store(db) as store:
        assert noise_store.zones(store).empty


def test_a_complaint_on_the_road_band_is_in_the_band(db: Path, tmp_path: Path) -> None:
    complaints = tmp_path / "complaints.csv"
    complaints.write_text(
        "complaint_id,time,city,lon,lat,source_type\n"
        "K1,2026-07-01 23:10,510100,104.03,30.601,traffic\n"  # the band over class 3
        "K2,2026-07-01 23:10,510100,104.03,30.63,traffic\n",  # class 3 only
        encoding="utf-8",
    )
    _import(_write(tmp_path, PLAN), db)
    runner = CliRunner()
    done = runner.invoke(app, ["noise", "complaints-import", str(complaints), "--db", str(db)])
    assert done.exit_code == 0, done.output
    with Store(db) as store:
        placed = _sql.frame(store, "SELECT complaint_id, zone_id, zone_class FROM noise_complaints")
    assert sorted(placed.itertuples(index=False, name=None)) == [
        ("K1", "CD-4A", "4a"),
        ("K2", "CD-3", "3"),
    ]
