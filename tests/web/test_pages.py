"""The dashboard pages as the server renders them (no browser): language choice, the message
catalogue, page routes and the static files. The browser tests (tests/browser) run the scripts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin.demo import carbon as demo_carbon
from ecobasin.forecast.warning import city_warning
from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast
from ecobasin.web import create_app
from ecobasin.web.pages.dashboard import STATIC_DIR, TEMPLATES_DIR

from .conftest import build_store

CATALOGUES = {
    lang: json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    for lang in ("zh", "en")
}


@pytest.fixture(autouse=True)
def _no_language_cookie(client: TestClient) -> None:
    """Each test starts without a language cookie (``?lang=`` sets one on the shared client)."""
    client.cookies.clear()


def test_catalogues_have_the_same_keys_and_no_empty_message() -> None:
    assert set(CATALOGUES["zh"]) == set(CATALOGUES["en"])
    for lang, catalogue in CATALOGUES.items():
        assert all(text.strip() for text in catalogue.values()), lang
    assert CATALOGUES["zh"]["nav_overview"] == "总览"
    assert CATALOGUES["en"]["nav_overview"] == "Overview"


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for template in TEMPLATES_DIR.glob("*.html"):
        if template.name in {"signin.html", "admin.html"}:  # their own labels (security.pages)
            continue
        keys |= set(re.findall(r"\bt\.([a-z_0-9]+)", template.read_text("utf-8")))
    for script in (STATIC_DIR / "js").glob("*.js"):
        keys |= set(re.findall(r'\bmsg\("([a-z_0-9]+)"\)', script.read_text("utf-8")))
    return keys


def test_every_label_the_pages_use_is_in_both_catalogues() -> None:
    used = _used_keys()
    assert len(used) > 60  # the scan found the labels
    assert used - set(CATALOGUES["zh"]) == set()


def test_overview_is_chinese_by_default_with_the_six_levels(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert "空气质量总览 · 成都平原经济区" in page
    names = re.findall(r'<span class="legend-name">([^<]+)</span>', page)
    assert names[:6] == [
        "1 · 优",
        "2 · 良",
        "3 · 轻度污染",
        "4 · 中度污染",
        "5 · 重度污染",
        "6 · 严重污染",
    ]
    assert '<li data-level="3"><i class="swatch" style="background: #FF7E00">' in page
    for href in ("/docs", "/api/v1/health", "/api/v1/sites?format=geojson"):
        assert f'href="{href}"' in page  # the API stays one click away
    assert 'src="/static/vendor/echarts/echarts.min.js"' in page
    assert "lang=" not in response.headers.get("set-cookie", "")


def test_lang_query_renders_english_and_remembers_it(client: TestClient) -> None:
    response = client.get("/?lang=en")
    assert '<html lang="en">' in response.text
    assert "1 · Excellent" in response.text and "Air quality overview" in response.text
    assert "lang=en" in response.headers["set-cookie"]
    client.cookies.set("lang", "en")
    try:
        assert "<h1>City rankings</h1>" in client.get("/rankings").text
    finally:
        client.cookies.clear()
    assert "城市排名" in client.get("/rankings").text


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/rankings?period=2024", "/rankings?period=2024"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("rankings", "/"),
    ],
)
def test_lang_switch_sets_the_cookie_and_goes_back_only_on_this_site(
    client: TestClient, target: str, location: str
) -> None:
    response = client.get("/lang", params={"to": "en", "next": target}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == location
    assert response.headers["set-cookie"].startswith("lang=en;")


def test_lang_switch_refuses_an_unknown_language(client: TestClient) -> None:
    assert client.get("/lang", params={"to": "fr"}, follow_redirects=False).status_code == 422


def test_city_and_station_pages(client: TestClient) -> None:
    city = client.get("/city/510100")
    assert city.status_code == 200
    assert "城市 · 成都市" in city.text and 'data-scope="city" data-scope-id="510100"' in city.text
    assert '<option value="2024">2024</option>' in city.text  # the years with data
    station = client.get("/station/1431A?lang=en")
    assert station.status_code == 200
    assert "Station · Jinquan" in station.text and "Back to the city: Chengdu" in station.text
    assert 'data-scope="site" data-scope-id="1431A" data-city-code="510100"' in station.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/city/999999", "city 999999 is not in the region"),
        ("/city/110000", "city 110000 is not in the region"),  # Beijing: known, not ours
        ("/station/LS-W01", "没有空气站点 LS-W01 · no air station LS-W01"),  # a water section
        ("/station/NOPE", "no air station NOPE"),
    ],
)
def test_unknown_city_or_station_is_a_404_page(client: TestClient, path: str, message: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text and "未找到" in response.text


def test_rankings_and_data_pages(client: TestClient) -> None:
    rankings = client.get("/rankings")
    assert rankings.status_code == 200 and 'id="rankings-table"' in rankings.text
    data = client.get("/data?lang=en")
    assert data.status_code == 200
    assert data.text.count('name="city"') == 8
    assert re.findall(r'name="parameter" value="([^"]+)"', data.text) == [
        "PM2.5",
        "PM10",
        "SO2",
        "NO2",
        "O3",
        "CO",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/echarts/LICENSE",
        "/static/css/app.css",
        "/static/js/overview.js",
        "/static/i18n/en.json",
        "/static/favicon.svg",
    ],
)
def test_static_files_are_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == (STATIC_DIR / Path(path).relative_to("/static")).read_bytes()


def test_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/lang", "/city/{code}", "/rankings", "/data"} & set(paths)


# ---- water and carbon pages (issues 7 and 8) ----------------------------------------------------

#: 环办〔2011〕22号 Table 1: class → qualitative status and colour (Classes I and II share 优/蓝色).
WATER_LEGEND_ZH = [
    ("I", "优", "Ⅰ类, 蓝色"),
    ("II", "优", "Ⅱ类, 蓝色"),
    ("III", "良好", "Ⅲ类, 绿色"),
    ("IV", "轻度污染", "Ⅳ类, 黄色"),
    ("V", "中度污染", "Ⅴ类, 橙色"),
    ("劣V", "重度污染", "劣Ⅴ类, 红色"),
]
_WATER_LEGEND_ITEM = re.compile(
    r'<li data-class="(\d)"><i class="swatch" style="background: (#[0-9A-F]{6})"></i>\s*'
    r'<span class="legend-name">([^<]+)</span><span class="range">([^<]+)</span></li>'
)


def _water_legend(page: str) -> list[tuple[str, str, str]]:
    return [
        (num, name, extra)
        for num, _colour, name, extra in _WATER_LEGEND_ITEM.findall(
            page.split('id="water-legend"')[1]
        )
    ]


def test_navigation_links_the_water_and_carbon_pages(client: TestClient) -> None:
    page = client.get("/rankings").text
    assert '<a href="/water" >水环境</a>' in page and '<a href="/carbon" >碳排放</a>' in page
    water = client.get("/water?lang=en").text
    assert '<a href="/water" aria-current="page">Water</a>' in water


def test_water_page_shows_the_six_classes_with_numeral_status_and_colour_name(
    client: TestClient,
) -> None:
    response = client.get("/water")
    assert response.status_code == 200
    legend = _water_legend(response.text)
    assert [(name, extra) for _num, name, extra in legend] == [
        (f"{label} · {status}", extra) for label, status, extra in WATER_LEGEND_ZH
    ]
    assert [num for num, _name, _extra in legend] == ["1", "2", "3", "4", "5", "6"]
    english = _water_legend(client.get("/water?lang=en").text)
    assert english[2][1:] == ("III · Good", "Class III, green")
    assert english[5][1:] == ("劣V · Heavily polluted", "Class 劣V, red")


def test_water_page_without_results_says_how_to_get_them(client: TestClient) -> None:
    page = client.get("/water").text
    # the web test store has a water section but no evaluated month
    assert 'id="water-empty"' in page and "ecobasin water import" in page
    assert re.search(r'<select id="month-select" name="period">\s*</select>', page)
    assert 'src="/static/js/water.js"' in page
    classes = json.loads(
        re.search(r'<script id="water-classes"[^>]*>(.*?)</script>', page).group(1)
    )
    assert [c["color"] for c in classes][2:4] == ["#3CB44B", "#FFD500"]  # III green, IV yellow
    parameters = re.search(r'<script id="water-parameters"[^>]*>(.*?)</script>', page).group(1)
    assert json.loads(parameters)["NH3N"]["name_zh"] == "氨氮"  # main pollutants are named by it


def test_overview_offers_the_water_layer_only_with_results(client: TestClient) -> None:
    page = client.get("/").text
    assert 'name="layer" value="air" checked' in page
    assert 'name="layer" value="water" disabled' in page  # no evaluated month in this store
    assert "data-water-month" not in page
    assert page.count('<li data-class="') == 6  # the water legend, shown with the layer


@pytest.fixture(scope="module")
def carbon_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The web test store plus the illustrative carbon inventories of Chengdu and Ya'an."""
    path = build_store(tmp_path_factory.mktemp("carbon-pages") / "ecobasin.duckdb")
    with Store(path) as store:
        demo_carbon.install(store, [510100, 511800], years=(2022, 2023))
    with TestClient(create_app(path)) as test_client:
        yield test_client


def test_carbon_page_lists_the_cities_and_the_inventory_years(carbon_client: TestClient) -> None:
    page = carbon_client.get("/carbon").text
    assert "城市碳排放、达峰与碳汇" in page
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', page)
    assert len(options) == 8 and options[0] == ("510100", " selected", "成都市")
    assert '<strong id="years-shown">2022–2023</strong>' in page
    assert 'id="carbon-empty"' not in page
    meta = json.loads(re.search(r'<script id="carbon-meta"[^>]*>(.*?)</script>', page).group(1))
    assert [s["id"] for s in meta["sectors"]][:2] == ["energy_industries", "manufacturing"]
    assert {t["id"]: t["base_year"] for t in meta["targets"]}["cn.14fyp.intensity"] == 2020
    english = carbon_client.get("/carbon?lang=en&city=511800").text
    assert '<option value="511800" selected>Ya&#39;an</option>' in english
    assert "Electricity accounting choice" in english and "illustrative" in english


def test_carbon_page_without_inventories_says_how_to_import_them(client: TestClient) -> None:
    page = client.get("/carbon?lang=en").text
    assert 'id="carbon-empty"' in page and "ecobasin carbon inventory import" in page


def test_water_and_carbon_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/water", "/carbon"} & set(paths)
    for script in ("water.js", "water_common.js", "carbon.js"):
        assert client.get(f"/static/js/{script}").status_code == 200


# -- the forecast page (issue 6) ---------------------------------------------------------------
def test_forecast_page_on_a_store_without_forecasts_says_how_to_make_them(
    client: TestClient,
) -> None:
    response = client.get("/forecast")
    assert response.status_code == 200
    page = response.text
    assert "<h1>空气质量预报与重污染预警</h1>" in page
    assert 'id="forecast-empty"' in page and "ecobasin forecast train" in page
    assert 'id="forecast-table"' not in page and "forecast.js" not in page
    assert '<a href="/forecast" aria-current="page">预报</a>' in page
    english = client.get("/forecast?lang=en").text
    assert "No forecast is stored yet" in english and ">Forecast</a>" in english


def _forecast_rows(issue: date, city: str, aqi: list[float]) -> pd.DataFrame:
    rows = [
        {
            "issue_day": pd.Timestamp(issue),
            "issued_at": pd.Timestamp("2025-01-10T09:00:00Z"),
            "scope": "city",
            "scope_id": city,
            "target_day": pd.Timestamp(issue + timedelta(days=lead)),
            "lead": lead,
            "model": "lightgbm:default",
            "parameter": "AQI",
            "value": value,
            "lower": value - 20,
            "upper": value + 30,
            "level": 5 if value > 200 else 4,
            "primary_pollutant": "PM2.5",
            "rule_set": "HJ633-2012",
            "with_meteorology": True,
            "author": "tests",
        }
        for lead, value in enumerate(aqi, 1)
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def forecast_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The web test store plus the AQI forecasts of Chengdu, Deyang and Mianyang issued
    2025-01-10 (day +1 210, day +2 230, day +3 160), their city warnings and the regional one
    (three cities at the same level), as `forecast run` stores them."""
    issue = date(2025, 1, 10)
    path = build_store(tmp_path_factory.mktemp("forecast-pages") / "ecobasin.duckdb")
    days = [issue + timedelta(days=k) for k in (1, 2, 3)]
    warning = city_warning(days, [210, 230, 160])
    cities = ["510100", "510600", "510700"]
    with Store(path) as store:
        store_forecast.replace_forecasts(
            store, pd.concat([_forecast_rows(issue, c, [210, 230, 160]) for c in cities])
        )
        store_forecast.save_model(
            store,
            "default",
            {},
            {"trained_from": "2024-01-01", "trained_to": "2024-12-31", "with_meteorology": True},
        )
        start = pd.Timestamp("2025-01-11", tz="Asia/Shanghai").tz_convert("UTC")
        base = {
            "issue_day": pd.Timestamp(issue),
            "issued_at": pd.Timestamp("2025-01-10T09:00:00Z"),
            "model": "lightgbm:default",
            "rule": "HBDQH-2019-648",
            "level": warning.level,
            "start_time": start,
            "end_time": start + pd.Timedelta(days=2),
            "basis": {"days": [[d.isoformat(), v] for d, v in warning.days]},
            "reason_zh": warning.reason_zh,
            "reason_en": warning.reason_en,
            "author": "tests",
        }
        rows = [{**base, "scope": "city", "scope_id": c} for c in cities]
        region = {"scope": "region", "scope_id": "region", "basis": {"cities": cities}}
        rows.append({**base, **region, "reason_zh": "区域预警", "reason_en": "regional"})
        store_forecast.replace_warnings(
            store, pd.DataFrame(rows), issue_day=issue, model="lightgbm:default"
        )
    with TestClient(create_app(path)) as test_client:
        yield test_client


def test_forecast_page_shows_the_warning_in_force_with_its_reason(
    forecast_client: TestClient,
) -> None:
    page = forecast_client.get("/forecast").text
    # 648号: daily AQI > 200 on two consecutive days (48 h) is orange, not red (that needs 72 h)
    banners = re.findall(
        r'<div class="warning-banner warning-(\w+)"[^>]*data-scope-id="(\w+)"', page
    )
    assert banners == [
        ("orange", "region"),  # the regional warning first: three cities reach orange together
        ("orange", "510100"),
        ("orange", "510600"),
        ("orange", "510700"),
    ]
    assert "达到预警的城市: 成都市、德阳市、绵阳市" in page
    assert page.count('<strong class="warning-level">橙色预警</strong>') == 4
    assert '<span class="warning-where">区域预警</span>' in page
    assert "2025-01-11 (210), 2025-01-12 (230)" in page  # the days and values of the reason
    assert "预警时段: 2025-01-11 – 2025-01-12" in page
    assert 'id="warning-none"' not in page
    assert '<dd id="fact-issue-day">2025-01-10</dd>' in page
    assert "使用气象预报" in page and 'id="demo-tag"' not in page
    assert 'id="adjust-sign-in"' in page and 'id="adjust-form"' not in page  # the public
    assert 'id="scores-none"' in page  # the saved model has no held-out scores
    english = forecast_client.get("/forecast?lang=en").text
    assert "Orange warning" in english and "forecast daily AQI &gt; 200 for ≥ 48 h" in english
    assert 'src="/static/js/forecast.js"' in english
