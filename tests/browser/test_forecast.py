"""The forecast page (issue 6) in a real browser on the shared demo store: ``ecobasin demo``
trains the small demo model and issues the forecast of the last day of data. The table has one
row per city and lead, each range is the API's, the language switch changes the labels and a
city's editor adjusts a forecast with the CSRF header while the model's value stays."""

from __future__ import annotations

import math
from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser

CHENGDU = "510100"


def _aqi_forecasts(server: Server) -> list[dict[str, Any]]:
    """The model's AQI forecasts of the latest issue day, as the API gives them."""
    rows = server.get("/api/v1/forecasts", parameter="AQI").json()
    return [r for r in rows if r["model"].startswith("lightgbm:")]


def _published_range(lower: float, upper: float) -> str:
    # AQI values are integers (HJ 633 §5.1); the page rounds half up like Math.round
    return f"{math.floor(lower + 0.5)}–{math.floor(upper + 0.5)}"


def _table_rows(page: Any) -> list[dict[str, str]]:
    page.wait_for_selector("#forecast-table[data-ready='true']")
    return page.evaluate(
        """() => [...document.querySelectorAll('#forecast-table tbody tr')].map((tr) => ({
              city: tr.dataset.city, lead: tr.dataset.lead, day: tr.cells[1].textContent,
              range: tr.cells[3].textContent, adjusted: tr.cells[9].textContent }))"""
    )


def test_one_row_per_city_and_lead_with_the_ranges_of_the_api(page: Any, server: Server) -> None:
    api = _aqi_forecasts(server)
    leads = sorted({r["lead"] for r in api})
    assert leads == [1, 2, 3, 4, 5, 6, 7]  # the demo issues day +1 … +7
    assert {r["city"] for r in api} == {str(c) for c in server.facts.stations_by_city}
    page.goto("/forecast")
    shown = _table_rows(page)
    assert len(shown) == 8 * len(leads) == len(api)
    expected = {(r["city"], str(r["lead"])): _published_range(r["lower"], r["upper"]) for r in api}
    assert {(r["city"], r["lead"]): r["range"] for r in shown} == expected
    assert all(lo <= hi for lo, hi in (map(int, r["range"].split("–")) for r in shown))
    # the page says which model and that it is the small demo one, without meteorology
    assert page.locator("#demo-tag").inner_text() == "演示模型"
    assert "无气象数据" in page.locator("#fact-met").inner_text()
    assert page.locator("#fact-issue-day").inner_text() == api[0]["issue_day"]
    # the chart of the first city: one point per lead; the held-out scores by lead
    page.wait_for_selector("#chart-forecast[data-ready='true']")
    assert page.get_attribute("#chart-forecast", "data-city") == CHENGDU
    assert int(page.get_attribute("#chart-forecast", "data-points")) == len(leads)
    page.wait_for_selector("#chart-scores[data-ready='true']")
    assert int(page.get_attribute("#chart-scores", "data-points")) == len(leads)
    # the warning banner: none in the demo, or the stored ones
    warnings = server.get("/api/v1/warnings", start=api[0]["issue_day"]).json()
    banners = page.locator(".warning-banner")
    assert banners.count() == max(1, len(warnings))
    if not warnings:
        assert page.get_attribute("#warning-none", "data-level") == "none"


def test_language_switch_changes_the_labels(page: Any) -> None:
    page.goto("/forecast")
    _table_rows(page)
    assert page.locator("h1").inner_text() == "空气质量预报与重污染预警"
    assert "第1天" in page.locator("#forecast-table tbody tr").first.inner_text()
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    rows = _table_rows(page)
    assert page.locator("h1").inner_text() == "Air-quality forecast and heavy-pollution warnings"
    assert "AQI range" in page.locator("#forecast-table thead").inner_text()
    assert rows[0]["day"].endswith("(day +1)")
    assert page.locator("#demo-tag").inner_text() == "demo model"
    # the page's link sits in the closed 空气 Air menu, whose summary is marked current
    assert page.locator("nav a[aria-current='page']").text_content() == "Forecast"
    assert page.locator("nav summary.current").inner_text() == "Air"


def test_city_editor_adjusts_a_forecast_and_the_model_value_stays(
    page: Any, server: Server
) -> None:
    name, password, city = server.editor
    page.goto("/signin?next=/forecast")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_selector("#adjust-form")
    # an editor of Chengdu may adjust Chengdu only
    assert page.eval_on_selector_all("#adjust-city option", "os => os.map(o => o.value)") == [
        str(city)
    ]
    _table_rows(page)
    before = next(r for r in _aqi_forecasts(server) if r["city"] == str(city) and r["lead"] == 2)
    page.select_option("#adjust-day", before["target_day"])
    page.fill("input[name='aqi_lower']", "120")
    page.fill("input[name='aqi_upper']", "150")
    page.select_option("select[name='primary']", "PM2.5")
    page.fill("input[name='reason']", "逆温加强 inversion expected")
    page.click("#adjust-form [type='submit']")
    page.wait_for_selector("#adjust-status:not(.error):not([hidden])")
    row = next(r for r in _table_rows(page) if r["city"] == str(city) and r["lead"] == "2")
    assert row["adjusted"].startswith("120–150")
    assert "inversion expected" in row["adjusted"] and name in row["adjusted"]
    after = next(r for r in _aqi_forecasts(server) if r["city"] == str(city) and r["lead"] == 2)
    assert (after["value"], after["lower"], after["upper"]) == (
        before["value"],
        before["lower"],
        before["upper"],
    )  # the model's forecast is kept beside the adjustment
    assert after["adjusted"]["lower"] == 120 and after["adjusted"]["by"] == name
    assert row["range"] == _published_range(before["lower"], before["upper"])


def test_hourly_chart_of_the_next_72_hours(page: Any, server: Server) -> None:
    """The hourly chart draws the API's 72 hours of the selected city, PM2.5 and O3 with their
    range bands, and follows the city selector."""
    issue_day = _aqi_forecasts(server)[0]["issue_day"]
    api = server.get("/api/v1/forecasts/hourly", issue_day=issue_day, city=CHENGDU).json()
    pm = [v for v in api["values"] if v["pollutant"] == "PM2.5"]
    assert len(pm) == 72
    page.goto("/forecast")
    page.wait_for_selector("#chart-hourly[data-ready='true']", timeout=120_000)
    assert page.get_attribute("#chart-hourly", "data-city") == CHENGDU
    assert int(page.get_attribute("#chart-hourly", "data-points")) == 72
    drawn = page.evaluate(
        "() => window.ecobasinCharts.hourly.getOption().series.map((s) => [s.name, s.data])"
    )
    line = next(data for name, data in drawn if name == "PM2.5 [µg/m³]")
    assert line == [v["value"] for v in pm]
    assert page.locator("#hourly-section h2").inner_text().startswith("未来72小时")
    other = next(
        o for o in page.locator("#city-select option").all() if o.get_attribute("value") != CHENGDU
    )
    code = other.get_attribute("value")
    page.select_option("#city-select", code)
    page.wait_for_selector(f"#chart-hourly[data-ready='true'][data-city='{code}']", timeout=120_000)
