"""The joint response to a river spill in the browser (issue 22), by the source city and a
downstream city: Chengdu's editor reports a benzene spill on the Tuojiang through the form and
sees the grade, the plume on the network map, the arrivals at Ziyang's intakes and the curves;
Ziyang's editor finds the incident in its list, acknowledges its notice and approves the joint
monitoring plan; Deyang's editor, not on the incident, is refused the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import EDITOR_DEYANG, EDITOR_ZIYANG, PAGE_TIMEOUT_MS, Server

pytestmark = pytest.mark.browser


class Tab:
    """A tab collecting script errors and failed requests, except one declared refusal."""

    def __init__(self, page: Any, allowed: tuple[int, str] | None = None) -> None:
        self.page, self.allowed, self.errors, self.seen = page, allowed, [], []
        page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        allowed = self.allowed and f"status of {self.allowed[0]}" in message.text
        if message.type == "error" and not allowed:
            self.errors.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            hit = (
                self.allowed
                and response.status == self.allowed[0]
                and self.allowed[1] in response.url
            )
            (self.seen if hit else self.errors).append(f"HTTP {response.status} {response.url}")


@pytest.fixture
def tabs(browser: Any, server: Server) -> Iterator[list[Tab]]:
    made: list[Tab] = []
    contexts: list[Any] = []

    def open_tab(allowed: tuple[int, str] | None = None) -> Tab:
        context = browser.new_context(
            base_url=server.url, viewport={"width": 1400, "height": 1000}, locale="zh-CN"
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        made.append(Tab(context.new_page(), allowed))
        return made[-1]

    made_list: Any = open_tab
    yield made_list
    for context in contexts:
        context.close()
    errors = [e for tab in made for e in tab.errors]
    assert not errors, "\n".join(errors)


def _sign_in(page: Any, name: str, password: str, next_path: str = "/incidents") -> None:
    page.goto(f"/signin?next={next_path}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_url(f"**{next_path}")


def test_a_spill_reported_upstream_is_acknowledged_downstream(tabs: Any, server: Server) -> None:
    chengdu = tabs()
    name, password, _ = server.editor
    _sign_in(chengdu.page, name, password)
    page = chengdu.page
    assert page.locator("#incident-list tbody tr").count() >= 1  # the demo drill
    page.click("#incident-list a")  # the drill: two stations' results over the refitted curves
    page.wait_for_selector("#incident-curves[data-ready='true']")
    assert page.get_attribute("#incident-curves", "data-observed") == "2"
    assert page.locator("#material-table tbody tr").count() >= 1
    # Ziyang asked Chengdu for activated carbon: Chengdu's editor dispatches it from the page
    page.wait_for_selector("#material-table[data-ready='true']")
    dispatch = page.locator("#material-table button.dispatch")
    assert dispatch.count() == 1
    dispatch.first.click()
    page.locator("#material-table button.dispatch").first.wait_for(state="detached")
    assert "调拨应急物资" in page.inner_text("#timeline")
    page.goto("/incidents")
    page.wait_for_selector("#incident-form[data-ready='true']")
    page.fill("#incident-form input[name='title']", "浏览器测试：沱江苯泄漏 browser test spill")
    page.select_option("#incident-node", "T03")
    page.select_option("#incident-form select[name='substance']", "benzene")
    page.fill("#incident-form input[name='amount']", "2000")
    page.select_option("#incident-form select[name='source_type']", "transport")
    page.fill("#incident-form input[name='source']", "槽罐车侧翻 tanker overturned")
    page.click("#incident-form [type='submit']")
    page.wait_for_url("**/incidents/INC-*")
    page.wait_for_selector("#incident-map[data-ready='true']")
    page.wait_for_selector("#arrival-table[data-ready='true']")
    page.wait_for_selector("#incident-curves[data-ready='true']")
    incident_url = page.url
    assert page.inner_text("#incident-grade") == "I"  # Ziyang's city intake would be shut
    assert "饮用水水源地取水中断" in page.inner_text("#incident-triggers")  # the row, in words
    arrivals = page.inner_text("#arrival-table tbody")
    assert "资阳城区取水口" in arrivals and "内江城区取水口" in arrivals
    # the front's arrival in CST clock time and the peak time beside the hours (brief §2.1)
    assert page.locator("#arrival-table thead th").count() == 8
    assert "交通运输事故: 槽罐车侧翻" in page.inner_text("#incident-source")
    assert int(page.get_attribute("#incident-curves", "data-intakes") or 0) >= 3
    notices = page.inner_text("#notice-table tbody")
    assert "512000" in notices and "跨界通报" in notices and "已发送" in notices
    assert page.locator("#notice-table button.ack").count() == 0  # not Chengdu's to acknowledge
    page.set_viewport_size({"width": 390, "height": 900})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1400, "height": 1000})

    ziyang = tabs()
    z_name, z_password, _ = EDITOR_ZIYANG
    _sign_in(ziyang.page, z_name, z_password)
    zpage = ziyang.page
    assert "浏览器测试" in zpage.inner_text("#incident-list")
    zpage.goto(incident_url)
    zpage.wait_for_selector("#notice-table[data-ready='true']")
    buttons = zpage.locator("#notice-table button.ack")
    assert buttons.count() == 1  # only Ziyang's own notice
    buttons.first.click()
    zpage.locator("#notice-table button.ack").first.wait_for(state="detached")
    assert "已确认" in zpage.inner_text("#notice-table tbody")
    zpage.wait_for_selector("#approve-plan:not([hidden])")
    zpage.click("#approve-plan")
    zpage.wait_for_selector("#approve-plan[hidden]", state="attached")
    assert "512000 ✓" in zpage.inner_text("#plan-table tbody")
    assert "确认收到通报" in zpage.inner_text("#timeline")

    deyang = tabs(allowed=(403, "/incidents/INC-"))
    d_name, d_password, _ = EDITOR_DEYANG
    _sign_in(deyang.page, d_name, d_password)
    response = deyang.page.goto(incident_url)
    assert response is not None and response.status == 403
    assert "突发事件权限不足" in deyang.page.inner_text("#incident-forbidden")
    assert deyang.seen, "the refusal was not seen"
