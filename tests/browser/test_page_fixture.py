"""The ``page`` tests of a module take one tab in turn (tests/browser/conftest.py,
``ModuleTab``): each gets it as a new context would be, with nothing the test before it left
(cookies, the language kept in localStorage, a route, the window size, the motion preference,
the page itself); the chromium they run in opens no address-bar pop-up per window and keeps the
features Playwright turns off."""

from __future__ import annotations

import os
import time
from typing import Any

import psutil
import pytest

from .conftest import OMNIBOX_POPUP_FEATURES, PAGE_LOCALE, PAGE_VIEWPORT, ModuleTab, Server

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


OMNIBOX_POPUP = "chrome://omnibox-popup"
#: How long a new window is watched for its address-bar pop-ups [s]: without the features
#: turned off they came 0.4-0.7 s after the window opened.
POPUP_WATCH_S = 3.0


def test_a_new_window_gets_no_address_bar_popup(browser: Any) -> None:
    """Chromium prepares no omnibox pop-up (a WebUI page in a renderer of its own, ~1 CPU-s)
    for a new context's window (tests/browser/conftest.py, ``OMNIBOX_POPUP_FEATURES``)."""
    cdp = browser.new_browser_cdp_session()
    context = browser.new_context()
    try:
        context.new_page().goto("about:blank")
        popups: list[str] = []
        watch_until = time.monotonic() + POPUP_WATCH_S
        while not popups and time.monotonic() < watch_until:
            targets = cdp.send("Target.getTargets")["targetInfos"]
            popups = [t["url"] for t in targets if t["url"].startswith(OMNIBOX_POPUP)]
            time.sleep(0.1)
        assert popups == []
    finally:
        context.close()
        cdp.detach()


def _disabled_features_of_the_running_chromium() -> list[set[str]]:
    """Each ``--disable-features`` of the browser process this worker launched, in the order of
    its command line."""
    browsers = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.name() != "chromium" or child.status() == psutil.STATUS_ZOMBIE:
                continue  # a renderer or an earlier chromium that ended and is not reaped yet
            command = child.cmdline()
        except psutil.Error:  # it ended between the listing and the reading
            continue
        # an empty command line: a process on its way out, not yet a zombie
        if command and not any(argument.startswith("--type=") for argument in command):
            browsers.append(command)
    assert len(browsers) == 1, browsers
    prefix = "--disable-features="
    return [set(a[len(prefix) :].split(",")) for a in browsers[0] if a.startswith(prefix)]


def test_chromium_keeps_the_features_playwright_turns_off(browser: Any) -> None:
    """Chromium reads only the last ``--disable-features``: ours holds Playwright's own (the
    first) and the pop-ups'."""
    assert browser.is_connected()
    playwright_own, *_, ours = _disabled_features_of_the_running_chromium()
    assert playwright_own <= ours, f"missing: {sorted(playwright_own - ours)}"
    assert set(OMNIBOX_POPUP_FEATURES) <= ours
