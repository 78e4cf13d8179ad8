"""The illustrative noise demo (issue 23) on a real DuckDB file: 8 cities, 20 stations, a year."""

from __future__ import annotations

from pathlib import Path

from ecobasin import catalog
from ecobasin.demo import noise as demo_noise
from ecobasin.services import noise as service
from ecobasin.store import Store
from ecobasin.store import noise as noise_store


def test_demo_noise_gives_every_product(tmp_path: Path) -> None:
    region = catalog.load_region()
    with Store(tmp_path / "demo.duckdb") as store:
        store.sync_catalog(region)
        counts = demo_noise.install(store, region, year=2025, seed=2025)
        assert counts["stations"] == 20 and counts["zones"] == 40
        assert counts["hourly_values"] == 20 * 8760 * 2
        zones = noise_store.zones(store)
        assert set(zones["zone_class"]) == {"1", "2", "3", "4a"}
        assert zones["source"].str.contains("illustrative").all()
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
