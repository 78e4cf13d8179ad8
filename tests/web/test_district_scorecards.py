"""District (区县) scorecards (issue 19) on a real DuckDB file: the air fixture's three January
2025 days (tests/web/aqi_fixtures.py) with stations A and B in two Chengdu districts and C in a
Deyang one (site attributes), the catalog's station→district file for a real station code; the
values, scores and ranks by hand, the API equal to the service, the page and the PDF section.

By hand (rules_2025.toml: good-day ratio 20 points, target 90 % / Chengdu 82 %, tolerance 10;
PM2.5 20 points, target 35 / Chengdu 38 µg/m³, tolerance 10; heavy days 10 points, target 3):
A 青羊区: AQI 78 ×3 → 100 % (20), PM2.5 57 (0), 0 heavy days (10) = 30;
B 金牛区: AQI 87, 87, 200 → 66.7 % (0), PM2.5 (64 + 64 + 150)/3 = 92.7 → 93 (0), 0 (10) = 10;
C 旌阳区: AQI 55 ×3 → 100 % (20), PM2.5 30 (20), 0 (10) = 50."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin.services import reports, scorecards
from ecobasin.services.pdf import html_to_pdf
from ecobasin.store import Store
from ecobasin.web import create_app

from .aqi_fixtures import SITES, build_air_store

DISTRICTS = {"A": (510105, "青羊区", "Qingyang District"), "B": (510106, "金牛区", "Jinniu District"),
             "C": (510603, "旌阳区", "Jingyang District")}  # fmt: skip


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_air_store(tmp_path_factory.mktemp("districts") / "store.duckdb")
    sites = SITES[SITES["site_id"].isin(list(DISTRICTS))].copy()
    sites["attributes"] = [
        {"district_code": code, "district_zh": zh, "district_en": en}
        for code, zh, en in (DISTRICTS[s] for s in sites["site_id"])
    ]
    real = pd.DataFrame([("1431A", "air_station", "national", 510100, "金泉两河", "Jinquan",
                          103.97, 30.72, None)], columns=sites.columns)  # fmt: skip
    with Store(path) as store:
        store.upsert_sites(pd.concat([sites, real]), source="test")
    return path


@pytest.fixture(scope="module")
def client(db_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client


def test_stations_carry_their_districts(db_path: Path) -> None:
    with Store(db_path, read_only=True) as store:
        table = scorecards.station_districts(store).set_index("site_id")
    assert (
        table.loc["A", "district_code"] == 510105 and table.loc["A", "source"] == "site attributes"
    )
    assert table.loc["1431A", "district_zh"] == "金牛区"  # the catalog's file
    assert "2562A" not in table.index  # not a site of this store


def test_district_values_scores_and_ranks_by_hand(db_path: Path) -> None:
    with Store(db_path, read_only=True) as store:
        found = scorecards.district_scorecards(store, 2025)
    cards = {c["district_code"]: c for c in found["items"]}
    assert set(cards) == {510105, 510106, 510603}
    values = {code: {i["id"]: i["value"] for i in c["indicators"]} for code, c in cards.items()}
    assert values[510105] == {"good_day_ratio": 100.0, "pm25": 57, "heavy_days": 0}
    assert values[510106] == {"good_day_ratio": 66.7, "pm25": 93, "heavy_days": 0}
    assert values[510603] == {"good_day_ratio": 100.0, "pm25": 30, "heavy_days": 0}
    assert {c: cards[c]["total"] for c in cards} == {510105: 30.0, 510106: 10.0, 510603: 50.0}
    assert [c["district_code"] for c in found["items"]] == [510603, 510105, 510106]
    targets = {i["id"]: i["target"] for i in cards[510105]["indicators"]}
    assert targets == {"good_day_ratio": 82.0, "pm25": 38.0, "heavy_days": 3.0}  # Chengdu's
    assert found["max_total"] == 50
    with Store(db_path, read_only=True) as store:
        deyang = scorecards.district_scorecards(store, 2025, city=510600)
        assert [c["district_code"] for c in deyang["items"]] == [510603]
        with pytest.raises(LookupError, match="无区县数据"):
            scorecards.district_scorecards(store, 2025, city=511400)


def test_api_and_page_show_the_same_cards(db_path: Path, client: TestClient) -> None:
    with Store(db_path) as store:  # the app's configuration
        found = scorecards.district_scorecards(store, 2025)
    body = client.get("/api/v1/scorecards/2025/districts").json()
    assert [(c["district_code"], c["total"], c["rank"]) for c in body["items"]] == [
        (c["district_code"], c["total"], c["rank"]) for c in found["items"]
    ]
    assert (
        client.get("/api/v1/scorecards/2025/districts", params={"city": 511400}).status_code == 404
    )
    page = client.get("/scorecards", params={"year": 2025})
    assert 'id="district-scorecards"' in page.text and "旌阳区" in page.text
    assert 'data-district="510106"' in page.text


@pytest.mark.slow  # WeasyPrint lays out CJK text
def test_the_scorecard_pdf_has_the_district_section(db_path: Path, tmp_path: Path) -> None:
    with Store(db_path) as store:
        report = scorecards.as_report(store, 2025)
    pdf = tmp_path / "cards.pdf"
    pdf.write_bytes(html_to_pdf(reports.render_html(report, "zh").decode()))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    assert "三、区县记分" in text and "旌阳区" in text and "金牛区" in text
