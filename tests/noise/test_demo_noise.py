"""The illustrative noise demo (issue 23) on a real DuckDB file: 8 cities, 20 stations, a year.

The products are read from the session's demo database (``ecobasin demo`` installs the noise
demo with the same year and seed), not installed a second time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import shape

from ecobasin import catalog
from ecobasin.demo import noise as demo_noise
from ecobasin.services import noise as service
from ecobasin.standards.noise_zones import NoiseZone, zone_holding
from ecobasin.store import Store
from ecobasin.store import noise as noise_store


def installed_counts(store: Store) -> dict[str, int]:
    """What the noise demo's install returned, as it recorded them on its import batch."""
    rows = store.con.execute(
        "SELECT counts FROM import_batches WHERE kind = 'demo_noise'"
    ).fetchall()
    assert len(rows) == 1, rows  # installed once
    return dict(json.loads(rows[0][0]))


def test_demo_noise_gives_every_product(demo_db: Path) -> None:
    region = catalog.load_region()
    with Store(demo_db, read_only=True) as store:
        counts = installed_counts(store)
        assert counts["stations"] == 20 and counts["zones"] == 40
        assert counts["hourly_values"] == 20 * 8760 * 2
        zones = noise_store.zones(store)
        assert set(zones["zone_class"]) == {"1", "2", "3", "4a"}
        assert zones["source"].str.contains("illustrative").all()
        placed = [json.loads(a) for a in store.sites(kinds=["noise_station"])["attributes"]]
        assert all(a["zone_id"].startswith("NZ-") for a in placed)  # each in its zone
        quarters = service.zone_compliance_rates(store, 2025, "quarter")
        assert {q["city_code"] for q in quarters} == set(region.cities)
        assert all(q["day_valid"] > 0 for q in quarters)
        # night compliance lower than day, as in published bulletins
        day = sum(q["day_compliant"] for q in quarters) / sum(q["day_valid"] for q in quarters)
        night = sum(q["night_compliant"] for q in quarters) / sum(
            q["night_valid"] for q in quarters
        )
        assert 0.5 < night < day <= 1.0
        regional = service.survey_results(store, "regional", 2025, "day")
        traffic = service.survey_results(store, "traffic", 2025, "day")
        assert len(regional) == len(traffic) == 8
        # night surveys too (HJ 640-2012), the same points, quieter, graded on the night scale
        assert counts["survey_rows"] == 2 * 8 * (30 + 12)
        for survey, day_rows in (("regional", regional), ("traffic", traffic)):
            nights = {
                r["city_code"]: r for r in service.survey_results(store, survey, 2025, "night")
            }
            assert set(nights) == set(region.cities)
            for row in day_rows:
                night = nights[row["city_code"]]
                assert night["n"] == row["n"]
                assert 7.0 < row["mean_dBA"] - night["mean_dBA"] < 13.0
                assert night["grade_zh"] in ("一级", "二级", "三级", "四级", "五级")
        # a month of complaints, mostly social life, some beside a station (case candidates)
        assert counts["complaints"] == 60 + 7 * 15 and 0 < counts["case_candidates"] < 40
        december = service.complaint_items(store, month="2025-12")
        assert len(december) == 60 + 7 * 15
        social = sum(c["source_type"] == "social_life" for c in december) / len(december)
        assert 0.55 < social < 0.8
        assert all(c["measurement"] is not None for c in december if c["case_candidate"])
        assert all(
            r["grade_zh"] in ("一级", "二级", "三级", "四级", "五级") for r in regional + traffic
        )


def test_demo_stations_lie_in_a_zone_of_their_own_class() -> None:
    # found on the map: 11 of 20 demo stations stood in a zone of another class than the one
    # they were judged by (random places around the centre, classes from a cycle)
    cities = catalog.load_region().city_table()
    zones = [
        NoiseZone(z.zone_id, int(z.city_code), z.zone_class, shape(z.geometry))
        for z in demo_noise.generate_zones(cities).itertuples()
    ]
    stations = demo_noise.generate_stations(cities, seed=2025)
    assert len(stations) == 20
    for s in stations.itertuples():
        zone = zone_holding([z for z in zones if z.city_code == s.city_code], s.lon, s.lat)
        assert zone is not None, s.site_id
        assert zone.zone_class == s.attributes["zone_class"], (s.site_id, zone.zone_id)


def test_demo_hours_have_the_shapes_the_issue_names() -> None:
    """Diurnal shape, weekday/weekend, road proximity and occasional night events."""
    rng = np.random.default_rng(7)
    frames = {c: demo_noise.hourly_levels(c, 2025, rng) for c in ("1", "4a")}
    leq = {c: f[f["parameter"] == "Leq"].set_index("time")["value"] for c, f in frames.items()}
    local = leq["1"].index.tz_convert("Asia/Shanghai")
    label = np.where(local.hour == 0, 24, local.hour)
    day = (label > 6) & (label <= 22)
    by_label = leq["1"].groupby(label).mean()
    # diurnal: the day about 9 dB(A) over the night, quietest before dawn, a rush-hour peak
    assert 7.0 < leq["1"][day].mean() - leq["1"][~day].mean() < 12.0
    assert by_label.idxmin() in (2, 3, 4, 5) and by_label[9] > by_label[14]
    # weekends quieter by day (the same CST day's labels; 24:00 ends the day before)
    weekend = (local - pd.Timedelta(minutes=1)).day_of_week >= 5
    assert 0.8 < leq["1"][day & ~weekend].mean() - leq["1"][day & weekend].mean() < 2.5
    # road proximity: a 4a station beside an arterial road is louder than a class 1 one
    assert leq["4a"].mean() - leq["1"].mean() > 8.0
    # occasional night events: a few night hours far above the usual night maximum
    lmx = frames["1"][frames["1"]["parameter"] == "LMx"].set_index("time")["value"]
    night_lmx = lmx[~day]
    events = (night_lmx > night_lmx.median() + 12.0).mean()
    assert 0.002 < events < 0.05
