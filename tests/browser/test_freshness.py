"""Data that look live say how old they are (issue 15, persona 4): every page shows the time of
the latest stored hour and its age in the page's language, and the demo store says it is the
demo in a banner."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser

PAGES = ("/", "/rankings", "/forecast", "/water", "/carbon", "/data", "/city/510100")


def test_every_page_shows_freshness_and_the_demo_banner(page: Any, server: Server) -> None:
    fresh = server.get("/api/v1/freshness").json()
    assert fresh["demo"] is True and fresh["latest_hour_cst"]
    for path in PAGES:
        page.goto(path)
        page.wait_for_selector("body[data-freshness='ready']")
        badge = page.locator("#freshness").inner_text()
        assert badge.startswith(f"数据更新至 {fresh['latest_hour_cst']}（"), path
        assert badge.endswith("前）")
        assert page.locator("#demo-banner").is_visible(), path
        assert "演示数据" in page.locator("#demo-banner").inner_text()
    page.goto("/rankings?lang=en")
    page.wait_for_selector("body[data-freshness='ready']")
    badge = page.locator("#freshness").inner_text()
    assert badge.startswith(f"Data up to {fresh['latest_hour_cst']} (") and badge.endswith("ago)")
    assert "Demo data" in page.locator("#demo-banner").inner_text()
