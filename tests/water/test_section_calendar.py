"""The section page's data (issue 7): daily classes from automatic data, hand-computed from
GB 3838-2002 Table 1, and ``GET /api/v1/water/sections/{site_id}/calendar`` over HTTP on the
demo year in a real DuckDB file, checked against the stored results and the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.demo import water as demo_water
from ecobasin.services.water import daily_classes
from ecobasin.standards import water
from ecobasin.store import Store, _sql
from ecobasin.store import water as store_water
from ecobasin.web import create_app
from store_files import new_synced_store_file

YEAR = 2025


def _auto(day_utc: str, item: str, values: list[float], flag: str | None = None) -> pd.DataFrame:
    """4-hourly values from ``day_utc`` on (UTC instants), one per 4 hours."""
    times = pd.date_range(day_utc, periods=len(values), freq="4h", tz="UTC")
    return pd.DataFrame(
        {"parameter": item, "time": times, "value": values, "flag": flag, "period": "4h"}
    )


def test_daily_class_is_the_worst_item_of_the_valid_daily_means() -> None:
    # 2025-03-01 CST = 2025-02-28T16:00Z … ; GB 3838 Table 1 (river): NH3N 0.5 → II (≤ 0.5),
    # DO 7.5 → I (≥ 7.5), CODMn mean (4.2 + 4.8 + 4.5 × 4) / 6 = 4.5 → III (4 < 4.5 ≤ 6)
    obs = pd.concat(
        [
            _auto("2025-02-28T16:00Z", "NH3N", [0.5] * 6),
            _auto("2025-02-28T16:00Z", "DO", [7.5] * 6),
            _auto("2025-02-28T16:00Z", "CODMn", [4.2, 4.8, 4.5, 4.5, 4.5, 4.5]),
            # 2 March: only 3 CODMn values (< 4 a day: no valid mean); NH3N non-detects
            # "0.05L" enter as 0.025 → I (≤ 0.15)
            _auto("2025-03-01T16:00Z", "CODMn", [9.0, 9.0, 9.0]),
            _auto("2025-03-01T16:00Z", "NH3N", [0.05] * 4, flag="L"),
            # 3 March: a water temperature only (no Table 1 class): no day
            _auto("2025-03-02T16:00Z", "WT", [12.0] * 6),
        ],
        ignore_index=True,
    )
    days, items = daily_classes(obs, "river")
    assert items == ["DO", "CODMn", "NH3N"]  # Table 1 order
    assert list(days["date"]) == ["2025-03-01", "2025-03-02"]
    assert list(days["class_num"]) == [3, 1]
    assert days["determining"].iloc[0] == ["CODMn"]
    assert days["items"].iloc[1] == ["NH3N"]  # the CODMn of 2 March did not count


def test_daily_classes_of_no_values_are_empty() -> None:
    days, items = daily_classes(_auto("2025-01-01T00:00Z", "DO", [])[:0], "river")
    assert days.empty and items == []


JULY_15 = (  # the CST day 2025-07-15 as UTC instants
    "AND time >= TIMESTAMPTZ '2025-07-14 16:00:00+00' AND time < TIMESTAMPTZ '2025-07-15 16:00:00+00'"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo water year in a DuckDB file; its sections and one section-day of automatic
    values, read before the app opens the file."""
    db = tmp_path_factory.mktemp("calendar") / "demo.duckdb"
    store = Store(new_synced_store_file(db))
    region = catalog.load_region()
    demo_water.install(store, region, year=YEAR)
    sections = store_water.water_sections(store)
    rivers = sections[sections["water_body"] == "river"]
    national = str(rivers[rivers["level"] == "national"].iloc[0]["site_id"])
    day = _sql.frame(
        store,
        "SELECT parameter, value FROM observations WHERE site_id = ? AND period = '4h' "
        "AND flag IS NULL " + JULY_15,
        [national],
    )
    store.close()
    return {"db": db, "sections": sections, "national": national, "july_15": day}


@pytest.fixture(scope="module")
def client(demo: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(demo["db"])) as http:
        yield http


def _calendar(client: TestClient, site_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/water/sections/{site_id}/calendar", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_calendar_months_are_the_stored_monthly_classes(
    client: TestClient, demo: dict[str, Any]
) -> None:
    sections = demo["sections"]
    boundary = sections[sections["upstream_city"].notna()].iloc[0]
    body = _calendar(client, boundary["site_id"])
    assert body["year"] == YEAR and body["years"] == [YEAR]
    facts = body["section"]
    assert facts["river_zh"] == boundary["river_zh"]
    assert facts["target_class"] == boundary["target_class"]
    assert facts["upstream_city"]["code"] == boundary["upstream_city"]
    assert facts["downstream_city"]["name_zh"].endswith("市")
    assert [m["period"] for m in body["months"]] == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    for month in body["months"]:
        evaluation = client.get("/api/v1/water/evaluation", params={"period": month["period"]})
        stored = {r["site_id"]: r for r in evaluation.json()["items"]}[boundary["site_id"]]
        assert month["class"] == stored["class"]
        assert month["meets_target"] == stored["meets_target"]
    assert body["annual"]["period"] == str(YEAR)
    # the Class III limits of the drawn items (GB 3838-2002 Table 1, river)
    limits = {k: v["limit_III"] for k, v in body["series_limits"].items()}
    assert limits == {"CODMn": 6.0, "COD": 20.0, "BOD5": 4.0, "NH3N": 1.0, "TP": 0.2, "DO": 5.0}


def test_days_come_only_from_sections_with_automatic_data(
    client: TestClient, demo: dict[str, Any]
) -> None:
    sections = demo["sections"]
    rivers = sections[sections["water_body"] == "river"]
    national = demo["national"]
    provincial = rivers[rivers["level"] == "provincial"].iloc[0]["site_id"]
    auto = _calendar(client, national)
    assert auto["auto_items"] == ["pH", "DO", "CODMn", "NH3N", "TP"]  # TN is reported apart
    dates = [d["date"] for d in auto["days"]]
    assert dates == sorted(dates) and len(set(dates)) == len(dates) > 300
    assert all(d.startswith(f"{YEAR}-") for d in dates)
    # a day's class is the worst class of its items' daily means, re-checked with the engine
    obs = demo["july_15"]
    means = obs.groupby("parameter")["value"].mean()
    conc = pd.DataFrame([{k: v for k, v in means.items() if k in water.EVALUATED_ITEMS}])
    expected = int(water.classify(conc, "river")["class_num"].iloc[0])
    day = next(d for d in auto["days"] if d["date"] == "2025-07-15")
    assert day["class_num"] == expected
    manual_only = _calendar(client, provincial)
    assert manual_only["days"] == [] and manual_only["auto_items"] == []
    assert sum(1 for m in manual_only["months"] if m["class_num"]) == 12


def test_unknown_section_or_year_is_404_and_a_bad_year_422(client: TestClient) -> None:
    missing = client.get("/api/v1/water/sections/NO_SUCH/calendar")
    assert missing.status_code == 404 and "NO_SUCH" in missing.json()["detail"]
    sections = client.get("/api/v1/water/sections").json()["items"]
    site = sections[0]["site_id"]
    no_year = client.get(f"/api/v1/water/sections/{site}/calendar", params={"year": 2019})
    assert no_year.status_code == 404 and "2019" in no_year.json()["detail"]
    bad = client.get(f"/api/v1/water/sections/{site}/calendar", params={"year": "last"})
    assert bad.status_code == 422


def test_section_page_renders_its_facts_bilingually(
    client: TestClient, demo: dict[str, Any]
) -> None:
    sections = demo["sections"]
    boundary = sections[sections["upstream_city"].notna()].iloc[0]
    zh = client.get(f"/water/section/{boundary['site_id']}?lang=zh")
    en = client.get(f"/water/section/{boundary['site_id']}?lang=en")
    assert zh.status_code == en.status_code == 200
    assert "水质类别日历" in zh.text and "Class calendar" in en.text
    assert boundary["name_zh"] in zh.text and str(boundary["river_en"]) in en.text
    assert 'id="fact-boundary"' in zh.text
    assert client.get("/water/section/NO_SUCH").status_code == 404
