"""The consultation pages in a real browser against ``ecobasin serve`` on a copy of the demo
database (issue 16): a city forecaster's submission form (pre-filled, a refusal by the rules
shown, a good submission stored, and the refusal when submitting for another city), and the
chair's console (who has submitted, closing collection and starting the session).

Every failed request must be one the step declares (status, path); anything else fails the test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

import loopback
from demo_database import DemoDatabase, copy_demo

from .conftest import (
    ECOBASIN,
    ModuleTab,
    _ecobasin,
    _free_port,
    closing_left_contexts,
)

pytestmark = pytest.mark.browser

SESSION = "2025-12-02-episode-1"  # the demo's episode session, collecting; five cities in
YAAN, ZIYANG, MIANYANG = 511800, 512000, 510700  # Mianyang chairs in December 2025
USERS = [("ya_fc", "city_forecaster", YAAN), ("my_lead", "city_approver", MIANYANG)]
PASSWORD = "consultation-password-1"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_database: DemoDatabase) -> Iterator[str]:
    db = copy_demo(demo_database, tmp_path_factory.mktemp("consultation-browser"))
    for name, role, city in USERS:
        _ecobasin("user", "add", name, "--role", "viewer", "--password-stdin", "--db", str(db),
                  stdin=PASSWORD + "\n")  # fmt: skip
        _ecobasin(
            "consultation",
            "grant",
            name,
            role,
            "--city",
            str(city),
            "--as",
            "admin",
            "--db",
            str(db),
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([*ECOBASIN, "serve", "--port", str(port), "--db", str(db)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        loopback.wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(shared_chromium: Any) -> Iterator[Any]:
    """The shared chromium as it is: these pages keep the default motion preference."""
    with closing_left_contexts(shared_chromium) as launched:
        yield launched


class Tab:
    """A page whose failed responses must be the declared ones."""

    def __init__(self) -> None:
        self.page: Any = None
        self.expected, self.errors = set[tuple[int, str]](), list[str]()
        self.listeners: dict[str, Any] = {
            "pageerror": lambda e: self.errors.append(f"script error: {e}"),
            "response": self.on_response,
        }

    def on_response(self, response: Any) -> None:
        path = "/" + response.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        if response.status >= 400 and (response.status, path) not in self.expected:
            self.errors.append(f"HTTP {response.status} {response.url}")


@pytest.fixture(scope="module")
def consultation_tab(browser: Any, served: str) -> Iterator[ModuleTab]:
    """One tab the module's tests take in turn (``ModuleTab``)."""
    shared = ModuleTab(browser, served, locale="zh-CN")
    yield shared
    shared.close()


@pytest.fixture
def tab(consultation_tab: ModuleTab) -> Iterator[Tab]:
    result = Tab()
    with consultation_tab.taken(result.listeners, {"width": 1400, "height": 1000}) as page:
        result.page = page
        yield result
    assert not result.errors, "\n".join(result.errors)


def sign_in(page: Any, name: str, to: str) -> None:
    page.goto(f"/signin?next={to}")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#signin-form [type='submit']")
    page.wait_for_url(f"**{to}*")


def outcome(page: Any) -> str:
    page.wait_for_selector("[data-status][data-outcome]")
    return str(page.text_content("[data-status]"))


def test_a_city_submits_its_own_forecast_and_is_refused_for_another(tab: Tab) -> None:
    page, submissions = tab.page, f"/api/v1/consultation/sessions/{SESSION}/submissions"
    sign_in(page, "ya_fc", f"/consultation/{SESSION}/submit")
    assert page.input_value("#submission-city") == str(YAAN)
    assert page.input_value("input[name='d1_low']") != ""  # pre-filled from the model guidance
    tab.expected.add((422, submissions))
    page.fill("input[name='d1_low']", "180")
    page.fill("input[name='d1_high']", "60")
    page.click("#submission-send")
    assert "low > high" in outcome(page) or "422" in outcome(page)
    page.fill("input[name='d1_low']", "60")
    page.fill("input[name='d1_high']", "90")
    # the page shows "✓" and reloads 0.4 s later: under load the mark can be gone before a poll
    # sees it, so the answer the page got is what is checked, then the reload it makes
    with (
        page.expect_navigation(),
        page.expect_response(
            lambda r: r.url.endswith(submissions) and r.request.method == "POST"
        ) as answer,
    ):
        page.click("#submission-send")
    assert answer.value.ok, answer.value.status
    page.wait_for_load_state("load")
    # another city's form: the API refuses it, the page says why
    page.goto(f"/consultation/{SESSION}/submit?city={ZIYANG}")
    assert page.input_value("#submission-city") == str(ZIYANG)
    for day in range(1, 8):
        page.fill(f"input[name='d{day}_low']", "60")
        page.fill(f"input[name='d{day}_high']", "90")
        page.fill(f"input[name='d{day}_primary']", "PM2.5")
    tab.expected.add((403, submissions))
    page.click("#submission-send")
    refused = outcome(page)
    assert refused.startswith("403") and "may not submit for 512000" in refused


def test_the_chair_sees_who_submitted_and_moves_the_session(tab: Tab) -> None:
    page = tab.page
    sign_in(page, "my_lead", f"/consultation/{SESSION}")
    assert page.get_attribute("#console", "data-state") == "collecting"
    days = page.eval_on_selector_all(
        "#submitted-table tr[data-city]", "rs => rs.map(r => [r.dataset.city, r.dataset.days])"
    )
    assert len(days) == 8 and sum(1 for _, d in days if d == "7") >= 5
    assert dict(days)[str(ZIYANG)] == "0"
    page.click("#step-close_submissions [type='submit']")
    page.wait_for_selector("#console[data-state='reconciling']")
    page.click("#step-start_session [type='submit']")
    page.wait_for_selector("#console[data-state='in_session']")
    audit = page.text_content("#audit-table")
    assert "截止收集" in audit and "my_lead" in audit
    assert page.query_selector("#audit-table td[data-event='close_submissions']") is not None
    page.goto(f"/consultation/{SESSION}/divergences?lang=en")
    assert page.is_visible("#divergence-table") and "Divergence board" in page.content()
    # the chair settles the session from the pages: every divergence resolved on the board,
    # the consensus of each city (pre-filled from its submission or the guidance), the
    # narrative and the warning proposal on the console, then concluding
    page.goto(f"/consultation/{SESSION}/divergences")
    while page.query_selector("#divergence-table form") is not None:
        page.fill("#divergence-table form input[name='reason']", "局地排放，保留意见")
        with page.expect_navigation():
            page.click("#divergence-table form [type='submit']")
        page.wait_for_load_state("load")
    consensus = f"/api/v1/consultation/sessions/{SESSION}/consensus"
    for city, _ in days:
        page.goto(f"/consultation/{SESSION}/consensus?city={city}")
        assert page.input_value("#submission-city") == city
        assert page.input_value("input[name='d7_low']") != ""  # pre-filled
        with (
            page.expect_navigation(),
            page.expect_response(lambda r: r.url.endswith(consensus)) as saved,
        ):
            page.click("#consensus-send")
        assert saved.value.ok, saved.value.text()
    page.goto(f"/consultation/{SESSION}")
    settled = page.eval_on_selector_all(
        "#submitted-table tr[data-city]", "rs => rs.map(r => r.dataset.consensus)"
    )
    assert settled == ["7"] * 8
    page.fill("#warning-form textarea[name='narrative']", "盆地南部未来三天轻至中度污染")
    page.fill("#warning-form textarea[name='controls']", "乐山、眉山加强工地扬尘管控")
    with page.expect_navigation():
        page.click("#warning-send")
    page.wait_for_selector("#warning-saved")
    page.click("#step-conclude [type='submit']")
    page.wait_for_selector("#console[data-state='concluded']")
