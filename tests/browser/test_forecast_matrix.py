"""The joint-consultation matrix of the forecast page (issue 15, item 5) in a real browser on
the demo store: one row per city of the region and one column per lead day, each cell the API's
range (the forecaster's where adjusted), both levels of a range that spans two (良至轻度污染 /
Good to Lightly polluted, as CNEMC publishes it) and the primary pollutant; the CSV and Excel
downloads hold the matrix as shown."""

from __future__ import annotations

import math
from typing import Any

import pytest

from .conftest import SCREENSHOTS, Server, screenshot
from .test_tables import _csv, _shown, _xlsx

pytestmark = pytest.mark.browser

#: HJ 633-2012 Table 2: the upper AQI of levels 1–5 (level 6 above 300)
LEVEL_TOPS = (50, 100, 150, 200, 300)
NAMES_ZH = ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染")


def _level(aqi: int) -> int:
    return next((i + 1 for i, top in enumerate(LEVEL_TOPS) if aqi <= top), 6)


def _published(value: float) -> int:
    return math.floor(value + 0.5)  # AQI values are integers, halves up (HJ 633 §5.1)


def _expected(server: Server) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(city, lead) -> (range, levels, label) from the API: the adjusted range where there is one."""
    rows = server.get("/api/v1/forecasts", parameter="AQI").json()
    out = {}
    for r in rows:
        if not r["model"].startswith("lightgbm:"):
            continue
        lower, upper = (r["adjusted"] or r)["lower"], (r["adjusted"] or r)["upper"]
        lo, hi = _published(lower), _published(upper)
        low, high = _level(lo), _level(hi)
        label = NAMES_ZH[low - 1] if low == high else f"{NAMES_ZH[low - 1]}至{NAMES_ZH[high - 1]}"
        out[(r["city"], str(r["lead"]))] = (f"{lo}–{hi}", f"{low}-{high}", label)
    return out


def _cells(page: Any) -> dict[tuple[str, str], tuple[str, str, str]]:
    return {
        (c["city"], c["lead"]): (c["range"], c["levels"], c["label"])
        for c in page.eval_on_selector_all(
            "#matrix-table td.matrix-cell:not(.empty)",
            """cs => cs.map(c => ({city: c.closest('tr').dataset.city, lead: c.dataset.lead,
                 range: c.dataset.range, levels: c.dataset.levels,
                 label: c.querySelector('.level-label').textContent}))""",
        )
    }


def _sign_in(page: Any, name: str, password: str, next_page: str) -> None:
    page.goto(f"/signin?next={next_page}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")


def test_matrix_of_cities_and_days_with_the_ranges_and_levels_of_the_api(
    page: Any, server: Server
) -> None:
    page.goto("/forecast")
    cities = [str(c) for c in server.facts.stations_by_city]
    rows = page.eval_on_selector_all("#matrix-table tbody tr", "rs => rs.map(r => r.dataset.city)")
    assert sorted(rows) == sorted(cities) and len(rows) == 8
    assert page.locator("#matrix-table thead th").count() == 1 + 7  # city + day +1 … +7
    assert _cells(page) == _expected(server)  # 56 cells, each the API's range and its levels
    assert "第1天" in page.locator("#matrix-table thead th").nth(1).inner_text()


def test_a_range_over_two_levels_shows_both_and_downloads(page: Any, server: Server) -> None:
    # Deyang's editor adjusts day +3 to 75–105 (良 at 75, 轻度污染 at 105) through the form
    name, password, city = server.editor_deyang
    _sign_in(page, name, password, "/forecast")
    page.wait_for_selector("#adjust-form")
    page.wait_for_selector("#forecast-table[data-ready='true']")
    day = page.locator("#matrix-table thead th[data-lead='3']").inner_text().split(" ")[0]
    page.select_option("#adjust-day", day)
    page.fill("input[name='aqi_lower']", "75")
    page.fill("input[name='aqi_upper']", "105")
    page.select_option("select[name='primary']", "PM2.5")
    page.fill("input[name='reason']", "会商意见 consultation")
    page.click("#adjust-form [type='submit']")
    page.wait_for_selector("#adjust-status:not(.error):not([hidden])")
    page.goto("/forecast")
    cell = page.locator(f"#matrix-table tr[data-city='{city}'] td[data-lead='3']")
    assert cell.get_attribute("data-range") == "75–105"
    assert cell.get_attribute("data-levels") == "2-3"
    assert cell.locator(".level-label").inner_text() == "良至轻度污染"
    assert cell.locator(".swatch").count() == 2  # both levels' colours, beside their names
    assert cell.locator(".primary").inner_text() == "PM2.5"
    assert "adjusted" in (cell.get_attribute("class") or "")
    assert _cells(page) == _expected(server)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#matrix-section").screenshot(
        path=str(SCREENSHOTS / "forecast_matrix_section.png")
    )
    # the downloads hold the header and the shown matrix, and follow the filter
    shown = _shown(page, "#matrix-table")
    csv_rows = _csv(page, "forecast_matrix")
    assert csv_rows[1:] == shown and len(shown) == 8
    assert csv_rows[0][0] == "城市" and csv_rows[0][3].endswith("(第3天)")
    deyang = page.locator(f"#matrix-table tr[data-city='{city}'] th").inner_text()
    deyang_row = next(r for r in csv_rows if r[0] == deyang)
    assert deyang_row[3].startswith("75–105") and "良至轻度污染 PM2.5" in deyang_row[3]
    assert _xlsx(page, "forecast_matrix")[1:] == shown
    page.fill("#forecast_matrix-filter", deyang)
    assert [r[0] for r in _csv(page, "forecast_matrix")[1:]] == [deyang]
    screenshot(page, "forecast_matrix")
    # in English the same range reads "Good to Lightly polluted"
    page.goto("/forecast?lang=en")
    cell = page.locator(f"#matrix-table tr[data-city='{city}'] td[data-lead='3']")
    assert cell.locator(".level-label").inner_text() == "Good to Lightly polluted"
