"""A station's source page (issue 19) in a real browser against ``ecobasin serve`` on a small real
store (tests/source_helpers.py: station OWN with its own wind and a synthetic source in the east):
the five plots load as PNGs with their guardrail, the wind's origin and calm share are shown, and
choosing another period and percentile reloads the plots with that choice; the regional-transport
section shows the weighted PSCF and CWT maps with their caption and the tdump files, a bad one
with its reason."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import loopback
from ecobasin.services import source_trajectories
from ecobasin.store import Store
from source_helpers import END, START, _times, _wind, build, tdump_text

from .conftest import ECOBASIN, ModuleTab, _free_port, failure_listeners

pytestmark = pytest.mark.browser

METHODS = ("rose", "percentile", "cpf", "cbpf", "polar")


@pytest.fixture(scope="module")
def source_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``ecobasin serve`` on the small store: its URL and its log (stderr, for a 500's cause)."""
    db = tmp_path_factory.mktemp("sources_browser") / "sources.duckdb"
    build(db)
    times = list(_times())
    bearing = {t: float(d) for t, d in zip(times, _wind(1)[0], strict=True)}
    with Store(db) as store:  # back-trajectories every 3 h from the wind, and one bad file
        for name, content in (("own.tdump", tdump_text(times[::3], bearing).encode()),
                              ("notes.txt", b"hello\n")):  # fmt: skip
            source_trajectories.import_tdump(store, "OWN", name, content, "t", datetime.now(UTC))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*ECOBASIN, "serve", "--port", str(port), "--db", str(db)]
    log = db.parent / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        loopback.wait_for_health(url, process)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def source_tab(browser: Any, source_server: tuple[str, Path]) -> Iterator[ModuleTab]:
    """One tab the module's tests take in turn (``ModuleTab``), in the browser's own language."""
    shared = ModuleTab(browser, source_server[0], locale=None)
    yield shared
    shared.close()


@pytest.fixture
def tab(source_tab: ModuleTab, source_server: tuple[str, Path]) -> Iterator[Any]:
    """The module's tab with nothing of the test before, failing on script errors and failed
    requests (a 500 with the server's log)."""
    log = source_server[1]
    failures: list[str] = []
    with source_tab.taken(failure_listeners(failures), {"width": 1300, "height": 1000}) as page:
        yield page
    if any(failure.startswith("HTTP 5") for failure in failures):
        failures.append(f"server log (tail):\n{log.read_text(errors='replace')[-4000:]}")
    assert not failures, "\n".join(failures)


def _loaded_images(page: Any) -> list[dict[str, Any]]:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.source-plots img')].every("
        "(img) => img.complete && img.naturalWidth > 0)"
    )
    images: list[dict[str, Any]] = page.evaluate(
        """[...document.querySelectorAll('.source-plots img')].map((img) => ({
              src: img.getAttribute('src'), width: img.naturalWidth, height: img.naturalHeight }))"""
    )
    return images


def test_source_page_shows_the_plots_and_follows_the_choice(tab: Any) -> None:
    tab.goto("/sources/OWN")  # the default period: the last year of data, here all 40 days
    shown = _loaded_images(tab)
    names = [s["src"].split("?")[0].rsplit("/", 1)[1] for s in shown]
    assert names == [f"{m}.png" for m in METHODS]
    assert all(s["width"] > 300 and s["height"] > 300 for s in shown)
    assert "not source share" in tab.inner_text("#guardrail")
    assert tab.inner_text("#fact-hours") == str((END - START).days * 24 + 24)
    assert "本站" in tab.inner_text("#fact-wind")
    assert tab.locator("#short-record").is_visible()  # 40 days < one season (B8)
    # another period and percentile: the plots are asked again with that choice
    tab.fill("#start-input", "2025-01-11")
    tab.fill("#percentile-input", "90")
    tab.click("#source-choice button[type=submit]")
    tab.wait_for_url("**/sources/OWN?*start=2025-01-11*")
    shown = _loaded_images(tab)
    assert all("start=2025-01-11" in s["src"] and "percentile=90" in s["src"] for s in shown)
    assert tab.inner_text("#fact-hours") == str((END - START).days * 24 + 24 - 10 * 24)


def test_regional_transport_section(tab: Any) -> None:
    tab.goto("/sources/OWN")
    section = tab.locator("#trajectory-section")
    section.scroll_into_view_if_needed()
    tab.wait_for_function(
        "() => [...document.querySelectorAll('.trajectory-plots img')].every("
        "(img) => img.complete && img.naturalWidth > 500)"
    )
    sources = tab.evaluate(
        "[...document.querySelectorAll('.trajectory-plots img')].map((i) => i.getAttribute('src'))"
    )
    assert [s.split("?")[0].rsplit("/", 1)[1] for s in sources] == ["pscf.png", "cwt.png"]
    assert "not source shares" in tab.inner_text("#trajectory-caption")
    rows = tab.inner_text("#trajectory-files")
    assert "own.tdump" in rows and "已导入 imported" in rows
    assert "notes.txt: not a HYSPLIT tdump header" in rows
