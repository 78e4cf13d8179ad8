"""The live page in a real browser (issues 4 and 5): ``ecobasin serve --simulate 8`` on the
demo database runs the HJ 212 gateway fed by simulated enterprises; a signed-in viewer sees
every registered outlet and the gateway acknowledging their frames. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from ecobasin.demo import emergency as demo_emergency

from .conftest import SIMULATED_ENTERPRISES, Server, screenshot

pytestmark = pytest.mark.browser

#: [ms] Bound for the first acknowledged frame: real-time devices report every 30–60 s from a
#: per-device phase. A bound for a stuck feed, not a performance limit.
FIRST_ACK_TIMEOUT_MS = 150_000


def _sign_in(page: Any, name: str, password: str, target: str) -> None:
    page.goto(f"/signin?next={target}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_selector("#user-name")


def test_the_public_gets_the_sign_in_prompt(page: Any) -> None:
    page.goto("/live?lang=en")
    assert page.locator("#live-signin").is_visible()
    assert page.locator("#nav-live").count() == 0  # the link is for signed-in users
    assert page.locator("#enterprise-table").count() == 0
    page.click("#live-signin a")
    page.wait_for_selector("#signin-form")
    assert page.url.endswith("/signin?next=/live")


def test_signed_in_viewer_sees_every_enterprise_and_acked_frames(page: Any, server: Server) -> None:
    # the demo registers the simulated enterprises and the emergency list's outlets
    assert server.facts.enterprises == SIMULATED_ENTERPRISES + len(demo_emergency.ENTERPRISES)
    name, password = server.viewer
    _sign_in(page, name, password, "/")
    page.click("#nav-group-air summary")  # the live page is under 空气 Air
    page.click("#nav-live")
    page.wait_for_selector("#enterprise-table[data-ready='true']")
    rows = page.locator("#enterprise-table > tbody > tr")
    assert rows.count() == server.facts.enterprises
    assert int(page.get_attribute("#enterprise-table", "data-rows")) == server.facts.enterprises
    page.wait_for_function(
        "() => Number(document.getElementById('gateway-panel').dataset.acked || 0) > 0",
        timeout=FIRST_ACK_TIMEOUT_MS,
    )
    api = page.evaluate("fetch('/api/v1/gateway/status').then((r) => r.json())")
    assert api["acked"] > 0 and api["simulator"]["acked"] > 0
    assert page.locator("#simulator-block").is_visible()
    # the table's outlets are the API's, in its order, each with its state in words
    listed = page.evaluate("fetch('/api/v1/live/enterprises').then((r) => r.json())")
    shown = page.eval_on_selector_all(
        "#enterprise-table > tbody > tr", "(rs) => rs.map((r) => r.dataset.site)"
    )
    assert shown == [item["site_id"] for item in listed["results"]]
    states = page.locator("#enterprise-table > tbody > tr .state").all_inner_texts()
    assert set(states) <= {"超标", "达标", "尚无完整均值", "无适用限值", "尚无数据"}
    page.wait_for_function("() => document.getElementById('live-updated').textContent !== '…'")
    screenshot(page, "live_zh")
    page.click("#lang-switch")
    page.wait_for_selector("#enterprise-table[data-ready='true']")
    assert page.locator("#enterprise-table th").first.inner_text() == "Outlet"
    screenshot(page, "live_en")
