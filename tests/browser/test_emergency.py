"""Emergency lists in a real browser against ``ecobasin serve`` on the shared demo store (issue
17): from the navigation to the list (accounting, shortfall chart), the past warning's
compliance report, one verdict's evidence (power curve, hourly table), and an editor of
Chengdu closing a finding through the page's form (CSRF-checked). Any script error or failed
request fails a test (tests/browser/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser


def _sign_in(page: Any, name: str, password: str, then: str) -> None:
    page.goto(f"/signin?next={then}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")


def test_list_report_and_evidence(page: Any, server: Server) -> None:
    name, password = server.viewer
    _sign_in(page, name, password, "/")
    page.click("#nav-group-air summary")  # the emergency lists are under 空气 Air
    page.click("#nav-emergency")
    page.wait_for_selector("#shortfall-chart")
    bars = page.eval_on_selector_all(
        "#shortfall-chart rect.bar", "rs => rs.map(r => [r.dataset.pollutant, r.dataset.meets])"
    )
    assert {p for p, _ in bars} == {"SO2", "NOx", "PM", "VOCs"}
    # 6 illustrative enterprises + 4 sector measures + the live simulator's Chengdu stack
    assert page.locator("#record-table tbody tr").count() == 11
    assert page.locator('#record-table tr[data-uscc^="91510100SIM"]').count() == 1
    page.click("#activation-table a.report-link")
    page.wait_for_selector("#report-non_compliant")
    named = page.eval_on_selector_all(
        "#report-non_compliant tbody tr[data-uscc]", "rs => rs.map(r => r.dataset.uscc)"
    )
    assert sorted(named) == ["9151010000DEMO03XX", "9151010000DEMO04XX"]
    flagged = page.eval_on_selector_all(
        "#report-flagged tbody tr[data-uscc]", "rs => rs.map(r => r.dataset.uscc)"
    )
    assert flagged == ["9151010000DEMO06XX"]
    page.click("#report-non_compliant tbody tr[data-uscc] a")
    page.wait_for_selector("#power-chart polyline")
    assert page.locator("#hour-table tbody tr").count() == 48
    assert page.inner_text("#fact-verdict").startswith("未落实")


def test_an_editor_closes_a_finding_with_a_note(page: Any, server: Server) -> None:
    name, password, _city = server.editor
    _sign_in(page, name, password, "/emergency/findings")
    page.wait_for_selector("#finding-table form.close-finding")
    before = page.locator("#finding-table form.close-finding").count()
    row = page.locator("#finding-table tbody tr[data-kind='insufficient_data']").first
    finding = row.get_attribute("data-finding")
    row.locator("input[name='note']").fill("现场核查：分析仪已修复 analyser repaired")
    # The form posts and the server redirects back to the list: wait for that new page, not
    # for the row to detach (it also detaches while the old page unloads, leaving no table).
    with page.expect_navigation():
        row.locator("button[type='submit']").click()
    page.wait_for_selector("#finding-table")
    assert page.locator(f"#finding-table tbody tr[data-finding='{finding}']").count() == 0
    assert page.locator("#finding-table form.close-finding").count() == before - 1
    page.goto("/emergency/findings?status=closed")
    closed = page.locator(f"#finding-table tbody tr[data-finding='{finding}']")
    assert "analyser repaired" in closed.inner_text()
