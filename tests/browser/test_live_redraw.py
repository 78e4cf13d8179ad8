"""The live page redraws its enterprise table every few seconds; the user's sort and filter
survive the redraw (issue 15, item 8), in a real browser against the served demo with the
simulated enterprises reporting."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser

ROWS = "#enterprise-table > tbody > tr"
#: the outlets of the demo's emergency control list (site ids DEMO-EM-01 …), beside the simulated
EMERGENCY_LIST = "DEMO-EM"


def _visible_sites(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        ROWS, "rs => rs.filter(r => !r.hidden).map(r => r.dataset.site)"
    )


def _wait_for_redraws(page: Any, count: int) -> None:
    """Until the page's refresh has replaced every row of the table `count` times (a row marked
    now is gone: detected from the page, not from the table tools)."""
    for _ in range(count):
        page.eval_on_selector(ROWS, "r => { r.dataset.before = 'true'; }")
        page.wait_for_selector(f"{ROWS}[data-before]", state="detached")
        page.wait_for_selector("#enterprise-table[data-ready='true']")


def test_sort_and_filter_survive_the_periodic_redraw(page: Any, server: Server) -> None:
    name, password = server.viewer
    page.goto("/signin?next=/live?refresh=2")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_selector("#enterprise-table[data-ready='true'][data-tools-ready='true']")
    listed = [r["site_id"] for r in server_results(page)]
    # sort by outlet, descending (a second click), then keep one city's outlets
    head = page.locator("#enterprise-table > thead th").first
    head.click()
    head.click()
    assert head.get_attribute("aria-sort") == "descending"
    sorted_sites = _visible_sites(page)
    assert sorted_sites != listed and sorted(sorted_sites) == sorted(listed)
    page.fill("#enterprises-filter", EMERGENCY_LIST)
    kept = _visible_sites(page)
    assert 0 < len(kept) < len(listed) and all(s.startswith(EMERGENCY_LIST) for s in kept)
    _wait_for_redraws(page, 2)  # two refreshes of the page replaced every row
    assert _visible_sites(page) == kept  # the same outlets, in the same sorted order
    assert head.get_attribute("aria-sort") == "descending"


def server_results(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("fetch('/api/v1/live/enterprises').then((r) => r.json())")["results"]
