"""Every table of the provincial official sorts and filters in place and downloads as CSV and
Excel (issue 15, persona 2), in a real browser on the demo store: the rankings, the overview's
city table, the water sections and the forecasts; the downloads hold exactly the rows shown."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from .conftest import Server, screenshot

pytestmark = pytest.mark.browser

DEMO_YEAR = "2025"  # the year the demo database holds


def _shown(page: Any, table: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{table} tbody tr:not([hidden])",
        "rs => rs.filter(r => r.cells.length > 1).map(r => [...r.cells].map("
        "c => c.textContent.replace(/\\s+/g, ' ').trim()))",
    )


def _csv(page: Any, name: str) -> list[list[str]]:
    with page.expect_download() as download:
        page.click(f"#{name}-csv")
    assert download.value.suggested_filename == f"{name}.csv"
    text = download.value.path().read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _xlsx(page: Any, name: str) -> list[list[Any]]:
    with page.expect_download() as download:
        page.click(f"#{name}-xlsx")
    assert download.value.suggested_filename == f"{name}.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _rank_change(change: int | None) -> str:
    if change is None:
        return "—"
    return f"▲{change}" if change > 0 else f"▼{-change}" if change < 0 else "0"


def _number(text: str) -> float:
    return float(text.split("–")[0].rstrip("%"))


def _show_demo_year(page: Any) -> None:
    """The demo's year, whatever later years other tests stored hours in (the page opens on
    the latest year with data)."""
    page.select_option("#year-select", DEMO_YEAR)
    page.wait_for_function(
        "(year) => document.getElementById('period-shown').textContent === year"
        " && document.getElementById('rankings-table').dataset.ready === 'true'",
        arg=DEMO_YEAR,
    )


def test_rankings_sort_filter_and_download(page: Any, server: Server) -> None:
    page.goto("/rankings")
    _show_demo_year(page)
    page.wait_for_selector("#rankings-table[data-tools-ready='true'] tbody tr td")
    rows = _shown(page, "#rankings-table")
    assert len(rows) == len(server.facts.stations_by_city)
    # against the same period of last year: the rank change as the API gives it
    api = server.get("/api/v1/rankings", period=DEMO_YEAR).json()
    expected = {i["name"]: _rank_change(i["rank_change"]) for i in api["items"]}
    assert {r[1]: r[13] for r in rows} == expected
    assert page.inner_text("#compared-with") == (api["compared_with"] or "无上年同期数据")
    # sort by the composite index (column 3): ascending, then descending
    page.click("#rankings-table thead th:nth-child(3)")
    ascending = [_number(r[2]) for r in _shown(page, "#rankings-table")]
    assert ascending == sorted(ascending)
    page.click("#rankings-table thead th:nth-child(3)")
    descending = [_number(r[2]) for r in _shown(page, "#rankings-table")]
    assert descending == sorted(ascending, reverse=True)
    assert page.get_attribute("#rankings-table thead th:nth-child(3)", "aria-sort") == "descending"
    # the downloads hold the header and the rows in the order shown
    shown = _shown(page, "#rankings-table")
    table = _csv(page, "rankings")
    assert table[1:] == shown and len(table[0]) == len(shown[0])
    sheet = _xlsx(page, "rankings")
    assert [str(c) for c in sheet[0]] == table[0]
    assert [r[1] for r in sheet[1:]] == [r[1] for r in shown]  # city names as text
    assert all(isinstance(r[2], float) for r in sheet[1:])  # the index as a number
    # filter by a city's name: one row shown, and the downloads follow the filter
    city = shown[0][1]
    page.fill("#rankings-filter", city)
    assert [r[1] for r in _shown(page, "#rankings-table")] == [city]
    assert [r[1] for r in _csv(page, "rankings")[1:]] == [city]
    screenshot(page, "rankings_tools")


def test_rankings_of_a_quarter_against_the_same_quarter(page: Any, server: Server) -> None:
    """The quarterly ranking of the issue (monthly / quarterly / annual): the page asks the API
    for ``2025Q4`` and shows its ranks and rank changes, in the API's order."""
    page.goto("/rankings")
    _show_demo_year(page)
    page.check("#rankings-control input[name='kind'][value='quarter']")
    page.select_option("#quarter-select", "4")
    period = f"{DEMO_YEAR}Q4"
    page.wait_for_function(
        "(p) => document.getElementById('period-shown').textContent === p"
        " && document.getElementById('rankings-table').dataset.ready === 'true'",
        arg=period,
    )
    assert page.is_disabled("#month-select") and not page.is_disabled("#quarter-select")
    api = server.get("/api/v1/rankings", period=period).json()
    assert api["kind"] == "quarter"
    rows = _shown(page, "#rankings-table")
    assert [(r[0], r[1], r[13]) for r in rows] == [
        (str(i["rank"]), i["name"], _rank_change(i["rank_change"])) for i in api["items"]
    ]
    assert page.inner_text("#compared-with") == (api["compared_with"] or "无上年同期数据")


@pytest.mark.parametrize(
    ("path", "table", "name"),
    [
        ("/", "#city-table", "city_summary"),
        ("/water", "#section-table", "water_sections"),
        ("/forecast", "#forecast-table", "forecasts"),
        ("/city/510100", "#station-table", "city_stations"),
    ],
)
def test_other_tables_filter_and_download(
    page: Any, server: Server, path: str, table: str, name: str
) -> None:
    page.goto(path)
    page.wait_for_selector(f"{table}[data-tools-ready='true'] tbody tr td:nth-child(2)")
    page.wait_for_load_state("networkidle")
    shown = _shown(page, table)
    assert shown
    assert _csv(page, name)[1:] == shown
    assert len(_xlsx(page, name)) == len(shown) + 1
    word = shown[-1][0]
    page.fill(f"#{name}-filter", word)
    filtered = _shown(page, table)
    assert filtered and all(word in " ".join(r) for r in filtered)
    assert len(filtered) <= len(shown)


def test_water_sections_failing_their_target_come_first_with_a_filter(
    page: Any, server: Server
) -> None:
    page.goto("/water")
    page.wait_for_selector("#section-table[data-ready='true']")
    marks = page.eval_on_selector_all(
        "#section-table tbody tr", "rs => rs.map(r => r.classList.contains('fails-target'))"
    )
    failing = sum(marks)
    month = page.input_value("#month-select")
    evaluation = server.get("/api/v1/water/evaluation", period=month).json()
    assert failing == evaluation["failing_target"] > 0  # the demo has failing sections
    assert marks == [True] * failing + [False] * (len(marks) - failing)  # failing first
    page.check("#failing-only")
    assert len(_shown(page, "#section-table")) == failing
    assert all("✗" in row[5] for row in _shown(page, "#section-table"))
    assert len(_csv(page, "water_sections")) == failing + 1  # the download follows
    # the text filter works within the failing sections, and unchecking shows all again
    first_city = _shown(page, "#section-table")[0][1]
    page.fill("#water_sections-filter", first_city)
    within = _shown(page, "#section-table")
    assert within and all(r[1] == first_city and "✗" in r[5] for r in within)
    page.uncheck("#failing-only")
    assert all(r[1] == first_city for r in _shown(page, "#section-table"))
    page.fill("#water_sections-filter", "")
    assert len(_shown(page, "#section-table")) == server.facts.water_sections
