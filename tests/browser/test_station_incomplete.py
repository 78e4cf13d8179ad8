"""A station that does not measure all six pollutants (issue 15, item 7), in a real browser
against ``ecobasin serve`` on a small store indexed by the real AQI job (tests/web/aqi_fixtures):

* P measures PM2.5 only: it gets no daily AQI (HJ 633-2012 §5 needs all six pollutants), so
  its page says so and names the five it lacks instead of showing "0.0 % good days";
* F measures five of the six (no CO): it is labelled incomplete, CO missing, not "no data";
* A measures all six: its good-day ratio is computed as before (78, 良: 100 %).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import loopback
from ecobasin import catalog
from ecobasin.store import Store
from web.aqi_fixtures import BASE, CHENGDU, DAYS, SITES, import_and_index

from .conftest import ECOBASIN, ModuleTab, _free_port, failure_listeners, screenshot

pytestmark = pytest.mark.browser

PM25_ONLY = {"PM2.5": 57.0}
NO_CO = {k: v for k, v in BASE.items() if k != "CO"}


def _build(path: Path) -> Path:
    extra = pd.DataFrame(
        [
            ("P", "air_station", "national", CHENGDU, "戊站", "Station P", 104.05, 30.65),
            ("F", "air_station", "national", CHENGDU, "己站", "Station F", 104.06, 30.66),
        ],
        columns=SITES.columns,
    )
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(pd.concat([SITES, extra]), source="test")
        import_and_index(store, DAYS, {"A": BASE, "P": PM25_ONLY, "F": NO_CO})
    return path


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[str]:
    db = _build(tmp_path_factory.mktemp("incomplete") / "small.duckdb")
    url = f"http://127.0.0.1:{_free_port()}"
    port = url.rsplit(":", 1)[1]
    command = [*ECOBASIN, "serve", "--port", port, "--db", str(db)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        loopback.wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def small_tab(browser: Any, small_server: str) -> Iterator[ModuleTab]:
    """One tab the module's tests take in turn (``ModuleTab``), in the browser's own language."""
    shared = ModuleTab(browser, small_server, locale=None)
    yield shared
    shared.close()


@pytest.fixture
def tab(small_tab: ModuleTab) -> Iterator[Any]:
    """The module's tab with nothing of the test before, failing on script errors and failed
    requests."""
    errors: list[str] = []
    with small_tab.taken(failure_listeners(errors), {"width": 1200, "height": 900}) as page:
        yield page
    assert not errors, "\n".join(errors)


def _open(page: Any, site: str, lang: str = "zh") -> None:
    page.goto(f"/station/{site}?lang={lang}")
    page.wait_for_selector("#chart-calendar[data-ready='true']")
    page.wait_for_selector("#detail-status", state="hidden")  # the page's loading is done


def test_a_pm25_only_station_says_it_has_no_daily_aqi(tab: Any) -> None:
    _open(tab, "P")
    assert tab.get_attribute("#detail", "data-valid-days") == "0"
    assert tab.get_attribute("#detail", "data-missing") == "SO2,NO2,CO,PM10,O3"
    note = tab.locator("#summary-note").inner_text()
    assert "本站该年没有日 AQI" in note and "SO2、NO2、CO、PM10、O3" in note
    assert tab.locator("#good-ratio").inner_text() == "—"  # not "0.0 %"
    assert "数据不全" in tab.locator("#current-value").inner_text()
    screenshot(tab, "station_pm25_only")
    _open(tab, "P", "en")
    assert "No daily AQI this year" in tab.locator("#summary-note").inner_text()


def test_a_station_with_five_of_six_pollutants_is_incomplete_not_no_data(tab: Any) -> None:
    _open(tab, "F")
    current = tab.locator("#current-value")
    assert current.get_attribute("data-missing") == "CO"
    assert current.get_attribute("data-level") == "数据不全"
    assert "无数据" not in current.inner_text() and "缺 CO" in current.inner_text()
    # on the city page's station table too
    tab.goto("/city/510100")
    tab.wait_for_selector("#station-table tbody tr")
    rows = tab.eval_on_selector_all(
        "#station-table tbody tr",
        "rs => rs.map(r => [r.cells[1].textContent, r.cells[3].textContent])",
    )
    assert dict(rows)["F"] == "数据不全"


def test_a_complete_station_keeps_its_good_day_ratio(tab: Any) -> None:
    _open(tab, "A")
    assert tab.get_attribute("#detail", "data-valid-days") == str(len(DAYS))
    assert tab.locator("#good-ratio").inner_text() == "100.0 %"
    assert tab.get_attribute("#current-value", "data-missing") is None
