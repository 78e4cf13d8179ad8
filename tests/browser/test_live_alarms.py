"""The live page's open-alarm table sorts, filters and downloads like every other table (issue
15, persona 2), in a real browser. The served copy of the demo has its alarms computed first
(``ecobasin alarms refresh``, as the gateway does after each batch): the demo's emergency-list
outlets stopped reporting in December 2025, so each has an open 断线 (silent) alarm."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook

from ecobasin.demo import emergency as demo_emergency
from store_files import private_copy

from .conftest import ServedDatabase, Server, _ecobasin, _serving
from .test_live import _sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(
    served_database: ServedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server of this module's own on a copy whose alarms were refreshed (no live feed, so
    the alarms stay as computed)."""
    copy = private_copy(served_database.path, tmp_path_factory.mktemp("alarms") / "demo.duckdb")
    sites = [f"--site={outlet}" for outlet in _outlets()]
    _ecobasin("alarms", "refresh", *sites, "--db", str(copy))
    refreshed = ServedDatabase(path=copy, facts=served_database.facts)
    with _serving(refreshed, tmp_path_factory.mktemp("served-alarms"), "--gateway") as served:
        yield served


def _outlets() -> list[str]:
    """The demo's emergency-list outlets (``DEMO-EM-01`` …)."""
    return [f"DEMO-EM-{suffix}" for suffix, *_ in demo_emergency.ENTERPRISES]


def _shown(page: Any) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#alarm-table tbody tr:not([hidden])",
        "rs => rs.filter(r => r.cells.length > 1).map(r => [...r.cells].map("
        "c => c.textContent.replace(/\\s+/g, ' ').trim()))",
    )


def _collated(page: Any, names: list[str]) -> list[str]:
    """``names`` in the order of the page language's collation, as a user reads a sorted list."""
    script = "(xs) => [...xs].sort((a, b) => a.localeCompare(b, document.documentElement.lang))"
    return list(page.evaluate(script, names))


def test_open_alarms_sort_filter_and_download(page: Any, server: Server) -> None:
    name, password = server.viewer
    _sign_in(page, name, password, "/live")
    page.goto("/live")
    page.wait_for_selector("#alarm-table[data-tools-ready='true'] tbody tr td")
    api = page.evaluate("fetch('/api/v1/live/enterprises').then((r) => r.json())")
    expected = sum(len(item["open_alarms"]) for item in api["results"])
    shown = _shown(page)
    assert len(shown) == expected >= len(_outlets())
    assert page.inner_text("#alarm-count") == str(expected)
    # sort by the outlet column: ascending, then descending
    page.click("#alarm-table thead th:nth-child(2)")
    outlets = [row[1] for row in _shown(page)]
    assert outlets == _collated(page, outlets)  # in the page language's order (zh: pinyin)
    page.click("#alarm-table thead th:nth-child(2)")
    assert [row[1] for row in _shown(page)] == _collated(page, outlets)[::-1]
    # filter in place by one outlet's name; the downloads hold exactly the rows shown
    word = outlets[0]
    page.fill("#alarms-filter", word)
    filtered = _shown(page)
    assert filtered and all(word in " ".join(row) for row in filtered)
    assert len(filtered) < len(shown)
    with page.expect_download() as download:
        page.click("#alarms-csv")
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1:] == filtered
    with page.expect_download() as download:
        page.click("#alarms-xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == len(filtered) + 1
