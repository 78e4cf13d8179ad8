"""The target scorecards page (issue 19) in a real browser against ``ecobasin serve`` on the
shared demo store (a year of air data for 2025, its water sections): the ranking and every
city's card as ``/api/v1/scorecards/2025`` answers them, in Chinese and in English."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

YEAR = 2025  # the demo's air year; rules_2025.toml scores it


def test_scorecard_page_shows_the_apis_ranking_and_cards(page: Any, server: Server) -> None:
    api = page.request.get(f"/api/v1/scorecards/{YEAR}").json()
    assert len(api["items"]) == 8  # the demo's eight cities
    # 2024: no air or water data, carbon years without 2024: nobody is ranked on zeros
    assert [c["rank_last_year"] for c in api["items"]] == [None] * 8
    page.goto(f"/scorecards?year={YEAR}&lang=zh")
    page.wait_for_selector("#scorecard-ranking")
    rows = page.locator("#scorecard-ranking tbody tr")
    assert rows.count() == len(api["items"])
    for i, card in enumerate(api["items"]):
        row = rows.nth(i)
        assert row.get_attribute("data-city") == str(card["city_code"])
        assert row.locator("td.total").inner_text() == str(card["total"])
        assert row.locator("td").nth(1).inner_text() == card["name_zh"]
    assert page.locator("#rules-version").inner_text() == api["version"]
    first = api["items"][0]
    cells = page.locator(f"#card-{first['city_code']} tr[data-indicator='pm25'] td")
    pm25 = next(i for i in first["indicators"] if i["id"] == "pm25")
    assert float(cells.nth(3).inner_text()) == pm25["value"]  # [µg/m³], an integer (HJ 663)
    assert float(cells.nth(4).inner_text()) == pm25["score"]
    assert page.locator("#nav-scorecards").get_attribute("aria-current") == "page"
    page.goto(f"/scorecards?year={YEAR}&lang=en")
    assert page.locator("h1").inner_text().startswith("Pollution and carbon target scorecards")
    assert (
        page.locator("#scorecard-ranking tbody tr").first.locator("td").nth(1).inner_text()
        == (first["name_en"])
    )
