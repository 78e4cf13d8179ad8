"""Noise complaints and the annual report figures (issue 23) in a real DuckDB file and the real
app: CSV import with bad rows kept aside, placement against zones and stations, the case flag
with the measurement attached, and the figures of the national annual report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_noise_store import REGIONAL, YEAR_2026, _hours, _station

from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.store import Store, _sql, noise_complaints
from ecobasin.store import noise as noise_store
from ecobasin.web.app import create_app
from ecobasin.web.security import accounts
from store_files import new_synced_store_file

#: NZ1 stands at 104.0, 30.6 (test_noise_store._station), inside the class 2 zone below.
COMPLAINTS = """complaint_id,time,city,lon,lat,source_type,description
C1,2026-03-01 02:30,510100,104.001,30.601,construction,夜间打桩
C2,2026-03-01 21:10,成都,104.05,30.65,社会生活,广场舞
C3,2026-03-01 14:00,510100,104.0015,30.6,social_life,商铺音响
C4,2026-03-01 02:40,510100,104.20,30.80,industry,far from any site
C5,not a time,510100,104.0,30.6,traffic,
C6,2026-03-01 03:00,510100,104.0,30.6,fireworks,
C7,2026-03-01 03:00,999999,104.0,30.6,traffic,
C1,2026-03-01 03:00,510100,104.0,30.6,traffic,duplicate id
C8,2026-03-01 03:00,510100,abc,30.6,traffic,
"""
ZONE = {
    "type": "Polygon",
    "coordinates": [[[103.99, 30.59], [104.01, 30.59], [104.01, 30.61], [103.99, 30.61], [103.99, 30.59]]],
}  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("noise_complaints")
    (folder / "regional.csv").write_text(REGIONAL, encoding="utf-8")
    (folder / "complaints.csv").write_text(COMPLAINTS, encoding="utf-8")
    with Store(new_synced_store_file(folder / "noise.duckdb")) as store:
        noise_store.import_survey_csv(store, folder / "regional.csv", "regional")
        zones = pd.DataFrame(
            [{"zone_id": "Z2", "city_code": 510100, "zone_class": "2", "geometry": ZONE}]
        )
        noise_store.upsert_zones(store, zones, "test")
        _station(store, "NZ1", "2")  # 60 / 50
        hours = pd.concat(
            [_hours("NZ1", "2026-03-01", 58.0, 52.0), _hours("NZ1", "2026-03-02", 59.0, 49.0)]
        )
        lmx = _hours("NZ1", "2026-03-01", 70.0, 66.0).assign(parameter="LMx")
        store.write_observations(pd.concat([hours, lmx]), store.begin_batch("test", "hours"))
        refresh_noise_products(store, ["NZ1"], *YEAR_2026)
        result = noise_complaints.import_complaints_csv(store, folder / "complaints.csv")
        assert (result.read, result.stored, result.rejected, result.case_candidates) == (
            9,
            4,
            5,
            1,
        )
    return folder


@pytest.fixture(scope="module")
def client(folder: Path) -> Iterator[TestClient]:
    with TestClient(create_app(folder / "noise.duckdb")) as test_client:
        yield test_client


def test_bad_complaint_rows_are_kept_aside_with_line_and_reason(folder: Path) -> None:
    with Store(folder / "noise.duckdb", read_only=True) as store:
        kept = store.rejected(source=str(folder / "complaints.csv")).sort_values("record_ref")
    assert sorted(kept["record_ref"]) == sorted(f"line {n}" for n in range(6, 11))
    reasons = " | ".join(kept["reason"])
    assert "line 6: time 'not a time' is not a date and time" in reasons
    assert "source_type 'fireworks' is not one of" in reasons
    assert "city '999999'" in reasons and "C1 appears twice" in reasons
    assert "lon/lat 'abc'" in reasons


def test_reimport_changes_nothing(folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes((folder / "noise.duckdb").read_bytes())
    with Store(copy) as store:
        before = _sql.frame(store, "SELECT * FROM noise_complaints ORDER BY complaint_id")
        again = noise_complaints.import_complaints_csv(store, folder / "complaints.csv")
        after = _sql.frame(store, "SELECT * FROM noise_complaints ORDER BY complaint_id")
    assert again.stored == 4
    pd.testing.assert_frame_equal(before.drop(columns="batch_id"), after.drop(columns="batch_id"))


def test_complaints_are_placed_and_construction_near_a_station_is_a_case(
    client: TestClient,
) -> None:
    response = client.get("/api/v1/noise/complaints", params={"month": "2026-03"})
    assert response.status_code == 200, response.text
    items = {c["complaint_id"]: c for c in response.json()["items"]}
    assert set(items) == {"C1", "C2", "C3", "C4"}
    c1 = items["C1"]
    assert (c1["source_zh"], c1["source_en"]) == ("建筑施工噪声", "construction")
    assert (c1["zone_id"], c1["zone_class"], c1["nearest_site"]) == ("Z2", "2", "NZ1")
    assert 100 < c1["distance_m"] < 200  # 0.001° east and north at 30.6° N ≈ 145 m
    # 02:30 CST lies in the hour labelled 03:00: the night level and its maximum
    assert c1["measurement"]["hour_ending_cst"] == "2026-03-01 03:00"
    assert (c1["measurement"]["Leq"], c1["measurement"]["LMx"]) == (52.0, 66.0)
    assert c1["case_candidate"] is True
    # social life next to the station is no boundary case; industry 25 km away is not either
    assert items["C3"]["case_candidate"] is False and items["C3"]["zone_id"] == "Z2"
    assert items["C4"]["case_candidate"] is False and items["C4"]["zone_id"] is None
    assert items["C2"]["source_type"] == "social_life"  # the Chinese label 社会生活 was read
    empty = client.get("/api/v1/noise/complaints", params={"month": "2026-04"})
    assert empty.json()["items"] == []
    assert client.get("/api/v1/noise/complaints", params={"month": "March"}).status_code == 422


def test_annual_report_figures(client: TestClient) -> None:
    response = client.get("/api/v1/noise/annual-report", params={"year": 2026, "city": 510100})
    assert response.status_code == 200, response.text
    [city] = response.json()["items"]
    # 03-01: day 58 ≤ 60 passes, night 52 > 50 fails; 03-02: both pass
    assert city["zone_compliance"]["day_rate_pct"] == 100.0
    assert city["zone_compliance"]["night_rate_pct"] == 50.0
    [cls] = city["zone_compliance_by_class"]
    assert (cls["zone_class"], cls["stations"], cls["night_valid"]) == ("2", 1, 2)
    assert city["regional"]["day"]["mean_dBA"] == 54.0 and city["regional"]["night"] is None
    assert city["complaints"] == 4
    shares = {s["source_type"]: s["share_pct"] for s in city["complaints_by_source"]}
    assert shares == {"social_life": 50.0, "construction": 25.0, "industry": 25.0, "traffic": 0.0}


def test_map_layer_and_station_months(client: TestClient) -> None:
    layer = client.get("/api/v1/noise/map").json()
    assert [f["properties"]["zone_id"] for f in layer["zones"]["features"]] == ["Z2"]
    [station] = layer["stations"]
    # the latest complete station-day is 03-02 (both parts pass)
    assert (station["day"], station["day_pass"], station["night_pass"]) == (
        "2026-03-02",
        True,
        True,
    )
    assert layer["complaint_month"] == "2026-03" and len(layer["complaints"]) == 4
    months = client.get("/api/v1/noise/stations/NZ1/months", params={"year": 2026}).json()
    assert months["items"] == [
        {"month": "2026-03", "day_valid": 2, "day_compliant": 2, "day_rate_pct": 100.0,
         "night_valid": 2, "night_compliant": 1, "night_rate_pct": 50.0}
    ]  # fmt: skip
    missing = client.get("/api/v1/noise/stations/NOPE/months", params={"year": 2026})
    assert missing.status_code == 404
    assert json.loads(missing.text)["status"] == 404


def test_noise_pages_render_without_inline_script(client: TestClient) -> None:
    overview = client.get("/", params={"lang": "en"})
    assert overview.status_code == 200
    assert 'value="noise"' in overview.text and 'id="noise-legend"' in overview.text
    # the legend says each thing in Chinese and English, whatever the page language
    assert "夜间超标 Night over the limit" in overview.text
    assert "2 类 Class 2" in overview.text
    page = client.get("/noise")
    assert page.status_code == 200 and '<option value="2026" selected>' in page.text
    station = client.get("/noise/station/NZ1")
    assert station.status_code == 200
    assert 'data-latest-day="2026-03-02"' in station.text and "65 dB(A)" in station.text
    assert client.get("/noise/station/NOPE").status_code == 404
    for response in (overview, page, station):
        assert "script-src" in response.headers["content-security-policy"]
        assert (
            "unsafe-inline"
            not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        )


def test_the_public_sees_no_complainants_words_nor_their_door(folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "staff.duckdb"
    copy.write_bytes((folder / "noise.duckdb").read_bytes())
    with Store(copy) as store:
        accounts.create_user(store.con, "inspector", "viewer", password="password-of-inspector")
        token = accounts.create_token(store.con, "inspector", "tests")[1]
    with TestClient(create_app(copy)) as staff_app:
        public = {
            c["complaint_id"]: c
            for c in staff_app.get("/api/v1/noise/complaints", params={"month": "2026-03"}).json()[
                "items"
            ]
        }
        staff = {
            c["complaint_id"]: c
            for c in staff_app.get(
                "/api/v1/noise/complaints",
                params={"month": "2026-03"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["items"]
        }
        layer = staff_app.get("/api/v1/noise/map").json()["complaints"]
    assert staff["C1"]["description"] == "夜间打桩" and staff["C1"]["lon"] == 104.001
    assert public["C1"]["description"] is None
    assert (public["C1"]["lon"], public["C1"]["lat"]) == (104.0, 30.6)  # ~1 km, not the door
    assert public["C1"]["distance_m"] == staff["C1"]["distance_m"]  # placed on exact values
    assert all(c["description"] is None for c in layer)
