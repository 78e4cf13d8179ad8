"""``GET /api/v1/map`` on a real DuckDB store indexed by the real AQI job (see aqi_fixtures).

Expected AQIs are worked out in ``aqi_fixtures`` from HJ 633-2012 Table 1 and formula (1); the
level names and colours are those of HJ 633-2012 Table 2 and Appendix A.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import air as store_air
from ecobasin.web import create_app
from ecobasin.web.air import AirCache
from ecobasin.web.models import MapPayload

from .aqi_fixtures import (
    AIR_STATIONS,
    BASE,
    CHENGDU,
    DEYANG,
    LATEST_HOUR,
    SITES,
    build_air_store,
    day_hours,
    import_and_index,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = build_air_store(tmp_path_factory.mktemp("map") / "air.duckdb")
    with TestClient(create_app(path)) as test_client:
        yield test_client


def get_map(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/map", params=params)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    MapPayload.model_validate(payload)  # the documented schema
    return payload


def by_site(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["site_id"]: s for s in payload["stations"]}


def by_city(payload: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {c["code"]: c for c in payload["cities"]}


def test_default_is_the_latest_hour_with_every_station_and_city(client: TestClient) -> None:
    payload = get_map(client)
    assert payload["scope"] == "hour"
    assert payload["time"] == "2025-01-11T16:00:00Z" == payload["latest_hour"]
    assert payload["time_cst"] == "2025-01-11 24:00"  # hour-ending label, HJ 663-2013 §3
    assert payload["first_hour"] == "2025-01-08T17:00:00Z"  # 2025-01-09 01:00 CST
    assert (payload["first_day"], payload["latest_day"]) == ("2025-01-09", "2025-01-11")
    # the region's air stations (not the micro-station) and all eight cities, region order
    assert [s["site_id"] for s in payload["stations"]] == list(AIR_STATIONS)
    assert [c["code"] for c in payload["cities"]] == list(catalog.load_region().cities)


def test_station_aqi_equals_the_stored_hourly_row(client: TestClient) -> None:
    """Every station and city of several hours: the map's AQI, level and primary pollutant are
    those of aqi_hourly (including the hours whose AQI is not published)."""
    store = client.app.state.store.reader()  # type: ignore[attr-defined]
    hours = [*day_hours(date(2025, 1, 9))[[0, 19]], *day_hours(date(2025, 1, 10))[[5, 23]]]
    for hour in hours:
        payload = get_map(client, hour=hour.strftime("%Y-%m-%dT%H:%MZ"))
        assert payload["time"] == hour.strftime("%Y-%m-%dT%H:%M:%SZ")
        for scope, entries in (("site", by_site(payload)), ("city", by_city(payload))):
            stored = store_air.aqi_hourly(store, scope=scope, start=hour, end=hour)
            assert len(stored) > 0
            for row in stored.itertuples():
                key: Any = row.scope_id if scope == "site" else int(row.scope_id)
                if key not in entries:
                    assert scope == "city" and key not in catalog.load_region().cities
                    continue
                entry = entries[key]
                expected = None if pd.isna(row.aqi) else int(row.aqi)
                assert entry["aqi"] == expected, (hour, key)
                if expected is not None:
                    assert entry["level"] == int(row.level)
                    assert entry["primary_pollutant"] == row.primary


def test_hand_computed_station_and_city_at_24_00(client: TestClient) -> None:
    """2025-01-10 24:00 CST, real-time report (HJ 633-2012 §5.1.3): station A's PM2.5 24-h
    moving mean 57 → IAQI 78 = AQI, level 2 良 (#FFFF00); Chengdu 60 → 82."""
    payload = get_map(client, hour="2025-01-10T24:00")
    assert payload["time"] == "2025-01-10T16:00:00Z"
    a = by_site(payload)["A"]
    assert (a["aqi"], a["level"], a["primary_pollutant"], a["color"]) == (78, 2, "PM2.5", "#FFFF00")
    assert (a["level_name_zh"], a["level_name_en"]) == ("良", "Good")
    concentrations = {(c["parameter"], c["averaging"]): c for c in a["concentrations"]}
    assert concentrations[("PM2.5", "1h")]["value"] == 57
    assert concentrations[("PM2.5", "1h")]["unit"] == "µg/m³"
    assert concentrations[("CO", "1h")]["value"] == 1.0
    assert concentrations[("CO", "1h")]["unit"] == "mg/m³"
    assert concentrations[("PM2.5", "24h_moving")]["value"] == 57
    assert concentrations[("O3", "8h_moving")]["value"] == 100
    assert {p for p, avg in concentrations if avg == "1h"} == set(BASE)
    chengdu = by_city(payload)[CHENGDU]
    assert (chengdu["aqi"], chengdu["n_stations"], chengdu["n_stations_total"]) == (82, 2, 2)
    assert payload["averaging"]["24h_moving"] == {"zh": "24小时滑动平均", "en": "24-h moving mean"}


def test_station_without_data_is_listed_grey_with_null_aqi(client: TestClient) -> None:
    payload = get_map(client, hour="2025-01-10T12:00")
    d = by_site(payload)["D"]
    assert (d["aqi"], d["level"], d["level_name"], d["primary_pollutant"]) == (
        None,
        None,
        None,
        None,
    )
    assert d["color"] == "#B4B4B4"
    assert (d["lon"], d["lat"], d["city_code"]) == (104.5, 31.2, DEYANG)
    assert [c["value"] for c in d["concentrations"]] == [None] * 6  # the six 1-h values
    # a city without any station still appears
    assert by_city(payload)[510900]["aqi"] is None and by_city(payload)[510900]["n_stations"] == 0


def test_an_hour_outside_the_data_lists_every_station_without_data(client: TestClient) -> None:
    payload = get_map(client, hour="2024-06-01T10:00")
    assert len(payload["stations"]) == 4
    assert all(s["aqi"] is None for s in payload["stations"])
    assert payload["latest_hour"] == "2025-01-11T16:00:00Z"


def test_day_gives_the_daily_report(client: TestClient) -> None:
    """Daily report (HJ 633-2012 §5.1.2) of 2025-01-11: B's PM2.5 150 → 200, level 4 中度污染
    (#FF0000); Chengdu mean 103.5 → 104 → 137, level 3 轻度污染 (#FF7E00); C: PM10 60 → 55,
    primary PM10."""
    payload = get_map(client, day="2025-01-11")
    assert (payload["scope"], payload["day"], payload["time"]) == ("day", "2025-01-11", None)
    sites, cities = by_site(payload), by_city(payload)
    assert (sites["B"]["aqi"], sites["B"]["level"], sites["B"]["color"]) == (200, 4, "#FF0000")
    assert sites["B"]["level_name_zh"] == "中度污染"
    assert (sites["A"]["aqi"], sites["C"]["aqi"], sites["C"]["primary_pollutant"]) == (
        78,
        55,
        "PM10",
    )
    assert (cities[CHENGDU]["aqi"], cities[CHENGDU]["level"]) == (137, 3)
    assert cities[CHENGDU]["color"] == "#FF7E00"
    assert cities[DEYANG]["aqi"] == 55
    daily = {(c["parameter"], c["averaging"]): c["value"] for c in sites["B"]["concentrations"]}
    assert daily[("PM2.5", "24h")] == 150
    assert daily[("O3", "8h_max")] == 100 and daily[("O3", "1h_max")] == 100


def test_names_follow_lang_and_both_languages_are_always_there(client: TestClient) -> None:
    zh, en = get_map(client, lang="zh"), get_map(client, lang="en")
    assert (by_city(zh)[CHENGDU]["name"], by_city(en)[CHENGDU]["name"]) == ("成都市", "Chengdu")
    a_zh, a_en = by_site(zh)["A"], by_site(en)["A"]
    assert (a_zh["name"], a_en["name"]) == ("甲站", "Station A")
    assert (a_zh["level_name"], a_en["level_name"]) == ("良", "Good")
    assert a_zh["level_name_en"] == "Good" and a_en["level_name_zh"] == "良"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"hour": "yesterday"}, "hour"),
        ({"hour": "2025-01-10T10:30"}, "hour"),
        ({"day": "2025-13-01"}, "day"),
        ({"hour": "2025-01-10T10:00", "day": "2025-01-10"}, "day"),
        ({"lang": "fr"}, "lang"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/api/v1/map", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [e["parameter"] for e in problem["errors"]] == [parameter]
    assert parameter in problem["detail"]


def test_utc_and_cst_forms_of_one_hour_give_one_answer(client: TestClient) -> None:
    cst = client.get("/api/v1/map", params={"hour": "2025-01-10T18:00"})
    utc = client.get("/api/v1/map", params={"hour": "2025-01-10T10:00Z"})
    offset = client.get("/api/v1/map", params={"hour": "2025-01-10T18:00+08:00"})
    assert cst.status_code == utc.status_code == offset.status_code == 200
    assert cst.content == utc.content == offset.content


def test_new_aqi_rows_and_new_stations_show_at_once(tmp_path: Path) -> None:
    """The map is cached; a write of AQI rows (through the app's own store, the only writer)
    makes the next answer fresh, and so does a new station once the station list is
    re-checked (its interval set to zero here)."""
    path = build_air_store(tmp_path / "air.duckdb")
    with TestClient(create_app(path)) as client:
        before = get_map(client)
        assert before["time"] == LATEST_HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
        store = client.app.state.store  # type: ignore[attr-defined]
        import_and_index(store, (date(2025, 1, 12),), {"A": {**BASE, "PM2.5": 30.0}})
        after = get_map(client)
        assert after["time"] == "2025-01-12T16:00:00Z"
        a = by_site(after)["A"]
        assert a["aqi"] is not None and a["aqi"] != by_site(before)["A"]["aqi"]
        assert by_site(after)["B"]["aqi"] is None  # B has no data that hour
        client.app.state.air_cache.static_ttl = 0.0  # type: ignore[attr-defined]
        new_site = pd.DataFrame(
            [("E", "air_station", "national", CHENGDU, "戊站", "Station E", 104.2, 30.5)],
            columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
        )
        store.upsert_sites(new_site, source="test")
        stations = get_map(client)["stations"]
        assert [s["site_id"] for s in stations] == ["A", "B", "E", "C", "D"]


def test_a_store_without_aqi_answers_every_station_without_data(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(SITES, source="test")
    with TestClient(create_app(tmp_path / "empty.duckdb")) as client:
        payload = get_map(client)
        assert (payload["time"], payload["latest_hour"], payload["latest_day"]) == (None,) * 3
        assert [s["aqi"] for s in payload["stations"]] == [None] * 4
        latest = client.get("/api/v1/aqi/latest").json()
        assert latest["time"] is None and latest["count"] == 4
        assert client.get("/api/v1/rankings").status_code == 404
        assert client.get("/api/v1/aqi/daily").json()["items"] == []


def test_map_is_sent_gzipped_to_clients_that_accept_it(client: TestClient) -> None:
    plain = client.get("/api/v1/map", params={"day": "2025-01-10"}, headers={"Accept-Encoding": ""})
    assert "content-encoding" not in plain.headers
    zipped = client.get("/api/v1/map", params={"day": "2025-01-10"})  # httpx asks for gzip
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.json() == plain.json()


def test_cache_computes_a_missing_answer_once_for_concurrent_requests(tmp_path: Path) -> None:
    """Single flight: twenty concurrent requests for one missing answer run one computation;
    a failed computation is not kept, so the next request computes again."""
    path = build_air_store(tmp_path / "air.duckdb")
    calls: list[int] = []

    def work(cursor: Any) -> int:
        calls.append(1)
        return int(cursor.execute("SELECT count(*) FROM aqi_hourly").fetchall()[0][0])

    def failing(cursor: Any) -> int:
        calls.append(1)
        raise RuntimeError("store unavailable")

    async def scenario(cache: AirCache) -> None:
        answers = await asyncio.gather(*(cache.get("key", work) for _ in range(20)))
        assert len(set(answers)) == 1 and answers[0] > 0
        assert (len(calls), cache.misses, cache.hits) == (1, 1, 19)
        for _ in range(2):
            with pytest.raises(RuntimeError, match="store unavailable"):
                await cache.get("bad", failing)
        assert len(calls) == 3

    with Store(path) as store:
        asyncio.run(scenario(AirCache(store, catalog.load_region())))
