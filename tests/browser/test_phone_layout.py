"""Every page works on a phone (issue 15, item 6), in a real browser at 360, 390 and 430 px:
nothing is wider than the screen (``document.documentElement.scrollWidth <= innerWidth``), the
navigation folds behind the 菜单 Menu button, which opens and closes by mouse and keyboard, no
link breaks inside its words, charts and the map fit the screen, and the overview's city table
starts above the fold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import SCREENSHOTS, ModuleTab, Server, screenshot

pytestmark = pytest.mark.browser

WIDTHS = (360, 390, 430)  # [px] CSS pixels: small Android, iPhone 12–15, large phones
HEIGHT = 800  # [px]
#: what a page may lay out wider than the screen: nothing (a tolerance for sub-pixel rounding)
SUBPIXEL = 1


def _public_pages(server: Server) -> list[str]:
    station = sorted(server.facts.latest_hour_aqi)[0]
    section = sorted(server.facts.water_classes)[0]
    noise_station = server.get("/api/v1/noise/map").json()["stations"][0]["site_id"]
    return [
        "/",
        "/city/510100",
        f"/station/{station}",
        "/rankings",
        "/forecast",
        "/water",
        f"/water/section/{section}",
        "/noise",
        f"/noise/station/{noise_station}",
        "/carbon",
        "/data",
        "/signin",
        "/live",  # the sign-in prompt
    ]


@pytest.fixture
def phone(module_tab: ModuleTab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The module's tab (``ModuleTab``: nothing of the test before) at the width the test
    asks for, failing on script errors like ``page``."""
    errors: list[str] = []
    listeners: dict[str, Any] = {
        "pageerror": lambda error: errors.append(f"script error: {error}"),
        "response": lambda r: (
            errors.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and "/no-such-page" not in r.url
            else None
        ),
    }
    with module_tab.taken(listeners, {"width": request.param, "height": HEIGHT}) as tab:
        yield tab
    assert not errors, "\n".join(errors)


def _layout(page: Any) -> dict[str, Any]:
    """Widths, the elements sticking out on the right, wrapped nav links and wide charts."""
    return page.evaluate(
        """(slack) => {
          const width = window.innerWidth;
          const wide = (e) => e.getBoundingClientRect().right > width + slack;
          // the outermost elements sticking out (their parent fits): the ones to fix
          const out = [...document.querySelectorAll('body *')]
            .filter((e) => e.getClientRects().length && wide(e) && !wide(e.parentElement))
            .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`).slice(0, 5);
          const charts = [...document.querySelectorAll('.chart')]
            .filter((e) => e.getClientRects().length)
            .filter((e) => { const c = e.querySelector('canvas');
                             return e.getBoundingClientRect().right > width + slack
                                 || (c && c.getBoundingClientRect().right > width + slack); })
            .map((e) => e.id);
          return { scroll: document.documentElement.scrollWidth, inner: width, out, charts };
        }""",
        SUBPIXEL,
    )


def _check_nav(page: Any) -> None:
    """The menu is folded, opens by click, closes by Escape, opens by Enter; links on one line."""
    toggle, nav = page.locator("#nav-toggle"), page.locator("#site-nav")
    assert toggle.is_visible() and not nav.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    heights = nav.locator("a").evaluate_all(
        "as => as.map(a => [a.textContent.trim(), a.getBoundingClientRect().height,"
        " parseFloat(getComputedStyle(a).lineHeight) + parseFloat(getComputedStyle(a).paddingTop)"
        " + parseFloat(getComputedStyle(a).paddingBottom) + 1])"
    )
    wrapped = [text for text, height, one_line in heights if height > one_line + 1]
    assert not wrapped, f"navigation links on more than one line: {wrapped}"
    layout = _layout(page)
    assert layout["scroll"] <= layout["inner"], layout  # the open menu fits too
    page.keyboard.press("Escape")
    assert not nav.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == "nav-toggle"
    page.keyboard.press("Enter")  # the focused button, from the keyboard
    assert nav.is_visible()
    page.keyboard.press("Space")
    assert not nav.is_visible()


def _check_page(page: Any, path: str, width: int) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    layout = _layout(page)
    problems = []
    if layout["scroll"] > layout["inner"]:
        problems.append(f"{path} at {width} px: {layout['scroll']} px wide {layout['out']}")
    if layout["charts"]:
        problems.append(f"{path} at {width} px: charts wider than the screen {layout['charts']}")
    _check_nav(page)
    return problems


@pytest.mark.parametrize("phone", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_every_public_page_fits_a_phone_and_its_navigation_folds(
    phone: Any, server: Server
) -> None:
    width = phone.viewport_size["width"]
    problems = [p for path in _public_pages(server) for p in _check_page(phone, path, width)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("phone", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_signed_in_pages_fit_a_phone(phone: Any, server: Server) -> None:
    width = phone.viewport_size["width"]
    problems: list[str] = []
    for (name, password), paths in (
        (server.editor[:2], ["/live", "/edit", "/edit/sites/" + _chengdu_station(server)]),
        (server.admin, ["/admin"]),
    ):
        phone.goto("/signin")
        phone.fill("#name", name)
        phone.fill("#password", password)
        phone.click("#signin-form [type='submit']")
        phone.wait_for_selector("#user-name")
        problems += [p for path in paths for p in _check_page(phone, path, width)]
        phone.context.clear_cookies()
    assert not problems, "\n".join(problems)


def _chengdu_station(server: Server) -> str:
    sites = server.get("/api/v1/sites", kind="air_station").json()["results"]
    return sorted(s["site_id"] for s in sites if str(s["city_code"]) == "510100")[0]


@pytest.mark.parametrize("phone", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_overview_on_a_phone_city_table_above_the_fold_and_the_map_fits(phone: Any) -> None:
    width = phone.viewport_size["width"]
    phone.goto("/")
    phone.wait_for_selector("#map[data-ready='true']")
    table = phone.locator("#city-table").bounding_box()
    assert table["y"] < HEIGHT, f"the city table starts at {table['y']} px, below the fold"
    box = phone.locator("#map").bounding_box()
    canvas = phone.locator("#map canvas").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert canvas["x"] + canvas["width"] <= box["x"] + box["width"] + SUBPIXEL  # not clipped
    # the map draws one marker per station at phone size too
    assert int(phone.get_attribute("#map", "data-station-count")) > 0
    screenshot(phone, f"overview_phone_{width}")
    phone.click("#nav-toggle")
    phone.screenshot(path=str(SCREENSHOTS / f"nav_open_phone_{width}.png"))  # the screen only
