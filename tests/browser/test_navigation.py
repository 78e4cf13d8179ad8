"""The navigation bar on a laptop screen (1280 px), in a real browser: one line for the public
and for an administrator (who has every link), in Chinese and English; the grouped links open
as menus by click and keyboard, one at a time, and close on Escape or a click outside."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ModuleTab, Server, screenshot

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 800  # [px] a common laptop screen
TOP_LEVEL = "#site-nav > a, #site-nav > details > summary"


def _tops(page: Any) -> list[tuple[str, float]]:
    """Each top-level item of the bar with the vertical centre of its box [px]."""
    return page.locator(TOP_LEVEL).evaluate_all(
        "es => es.map(e => { const r = e.getBoundingClientRect();"
        " return [e.textContent.trim(), r.top + r.height / 2]; })"
    )


@pytest.fixture
def laptop(module_tab: ModuleTab) -> Iterator[Any]:
    """The module's tab (``ModuleTab``: nothing of the test before) at a laptop's size,
    failing on script errors."""
    errors: list[str] = []
    listeners: dict[str, Any] = {
        "pageerror": lambda error: errors.append(f"script error: {error}"),
        # a Content-Security-Policy refusal is a console error too
        "console": lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    }
    with module_tab.taken(listeners, {"width": WIDTH, "height": HEIGHT}) as tab:
        yield tab
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_bar_is_one_line_for_the_public_and_an_admin(
    laptop: Any, server: Server, lang: str
) -> None:
    for who in (None, server.admin):
        if who is not None:
            laptop.goto("/signin")
            laptop.fill("#name", who[0])
            laptop.fill("#password", who[1])
            laptop.click("#signin-form [type='submit']")
            laptop.wait_for_selector("#user-name")
        laptop.goto(f"/emergency?lang={lang}" if who else f"/?lang={lang}")
        tops = _tops(laptop)
        assert len(tops) >= 8
        lines = {round(top) for _, top in tops}
        assert len(lines) == 1, f"{lang}, {'admin' if who else 'public'}: {tops}"
        header = laptop.locator("header.topbar").bounding_box()
        assert header["height"] < 80  # one row: brand, links and tools side by side
    screenshot(laptop, f"nav_admin_{lang}_1280")


def test_groups_open_one_at_a_time_and_close_on_escape_or_outside(laptop: Any) -> None:
    laptop.goto("/")
    air, data = laptop.locator("#nav-group-air"), laptop.locator("#nav-group-data")
    rankings = laptop.locator("#nav-group-air a[href='/rankings']")
    assert not rankings.is_visible()
    laptop.click("#nav-group-air summary")
    assert rankings.is_visible() and air.get_attribute("open") is not None
    box = laptop.locator("#nav-group-air .nav-menu").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH  # the menu is on the screen
    laptop.click("#nav-group-data summary")
    assert data.get_attribute("open") is not None and air.get_attribute("open") is None
    laptop.keyboard.press("Escape")
    assert data.get_attribute("open") is None
    assert laptop.evaluate("document.activeElement.textContent.trim()").startswith("数据")
    laptop.keyboard.press("Enter")  # the focused summary opens from the keyboard
    assert data.get_attribute("open") is not None
    laptop.mouse.click(WIDTH - 20, HEIGHT - 20)  # outside the bar and its menus
    assert data.get_attribute("open") is None
    laptop.click("#nav-group-air summary")
    laptop.click("#nav-group-air a[href='/rankings']")
    laptop.wait_for_url("**/rankings")
    assert laptop.locator("#nav-group-air summary.current").count() == 1  # the page's group
