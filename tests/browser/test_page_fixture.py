"""The ``page`` tests of a module take one tab in turn (tests/browser/conftest.py,
``ModuleTab``): each gets it as a new context would be, with nothing the test before it left
(cookies, the language kept in localStorage, a route, the window size, the motion preference,
the page itself)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PAGE_LOCALE, PAGE_VIEWPORT, ModuleTab, Server

pytestmark = pytest.mark.browser

ROUTED = "routed by the test before"


def test_a_test_leaves_cookies_storage_a_route_a_size_and_its_page(
    page: Any, server: Server
) -> None:
    page.goto("/signin")
    page.evaluate("localStorage.setItem('ecobasin.lang', 'en')")
    page.context.add_cookies([{"name": "left", "value": "behind", "url": server.url}])
    page.route("**/api/v1/health", lambda route: route.fulfill(status=200, body=ROUTED))
    page.set_viewport_size({"width": 500, "height": 400})
    page.emulate_media(reduced_motion="no-preference")
    assert page.evaluate("fetch('/api/v1/health').then((r) => r.text())") == ROUTED
    assert page.evaluate("localStorage.getItem('ecobasin.lang')") == "en"
    assert "left" in [c["name"] for c in page.context.cookies()]


def test_the_next_test_gets_the_tab_without_them(page: Any) -> None:
    assert page.url == "about:blank"
    assert page.viewport_size == PAGE_VIEWPORT
    assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    assert page.context.cookies() == []
    page.goto("/signin")
    assert page.evaluate("localStorage.getItem('ecobasin.lang')") != "en"
    assert page.evaluate("document.body.dataset.lang") == "zh"  # no redirect to English
    assert page.evaluate("fetch('/api/v1/health').then((r) => r.text())") != ROUTED


def _language(tab: ModuleTab) -> str:
    with tab.taken({}) as page:
        page.goto("/signin")
        return str(page.evaluate("navigator.language"))


def test_a_module_tab_keeps_its_language_or_the_browsers_own(browser: Any, server: Server) -> None:
    """A module that asks for a language gets it in every test; one that asks for none gets the
    language a new context of the browser has, not the ``page`` tests' zh-CN."""
    german = ModuleTab(browser, server.url, locale="de-DE")
    own = ModuleTab(browser, server.url, locale=None)
    plain = browser.new_context()
    try:
        assert [_language(german), _language(german)] == ["de-DE", "de-DE"]
        browsers_own = plain.new_page().evaluate("navigator.language")
        assert browsers_own != PAGE_LOCALE
        assert [_language(own), _language(own)] == [browsers_own, browsers_own]
    finally:
        german.close()
        own.close()
        plain.close()
