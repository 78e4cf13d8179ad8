"""The water section page (issue 7) in a real browser against ``ecobasin serve`` on the shared
demo store: reached from the water page's table and from the overview map, its class calendar
(a cell per month, and per day where automatic data exist) agrees with the API and the stored
classes, the main items are drawn against their Class III limit."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser


def _calendar(server: Server, site_id: str) -> dict[str, Any]:
    response = server.get(f"/api/v1/water/sections/{site_id}/calendar")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_for_page(page: Any) -> None:
    page.wait_for_selector("#class-calendar[data-ready='true']")
    page.wait_for_selector("#series-grid[data-ready='true']")
    page.wait_for_function(  # every small chart has finished drawing
        "() => [...document.querySelectorAll('#series-grid .chart')].every("
        "(e) => e.dataset.ready === 'true')"
    )
    page.wait_for_selector("#pollutant-table tbody[data-ready='true']")


def test_water_table_links_to_a_section_page_with_its_class_calendar(
    page: Any, server: Server
) -> None:
    page.goto("/water")
    page.wait_for_selector("#section-table[data-ready='true']")
    # a national river section: the demo gives those an automatic station
    sections = server.get("/api/v1/water/sections").json()["items"]
    site_id = next(
        s["site_id"] for s in sections if s["level"] == "national" and s["water_body"] == "river"
    )
    page.click(f"#section-table tbody tr[data-site-id='{site_id}'] a")
    page.wait_for_url(f"**/water/section/{site_id}**")
    _wait_for_page(page)
    body = _calendar(server, site_id)
    # one month cell per month, the stored class as a numeral in the class colour
    months = page.evaluate(
        """[...document.querySelectorAll('#class-calendar td.cal-month')].map((td) => ({
              period: td.dataset.period, cls: td.dataset.class ?? null, text: td.innerText,
              color: getComputedStyle(td).backgroundColor }))"""
    )
    assert [m["period"] for m in months] == [m["period"] for m in body["months"]]
    assert [m["cls"] for m in months] == [m["class"] for m in body["months"]]
    assert all(m["text"] == m["cls"] for m in months if m["cls"])  # never the colour alone
    latest = {m["period"]: m["cls"] for m in months}[server.facts.water_month]
    assert latest == server.facts.water_classes[site_id]
    # one coloured day cell per day with automatic data, each with its class numeral
    days = page.evaluate(
        """[...document.querySelectorAll('#class-calendar td.cal-day[data-class]')].map(
              (td) => [td.dataset.date, td.dataset.class, td.innerText])"""
    )
    assert len(days) == len(body["days"]) > 300
    assert {d: c for d, c, _ in days} == {d["date"]: d["class"] for d in body["days"]}
    assert all(text == cls for _, cls, text in days)
    # the facts and the series: six items against their Class III limit
    assert page.inner_text("#fact-target") == body["section"]["target_class"]
    assert page.locator("#series-grid .chart").count() == len(body["series_limits"]) == 6
    codmn = page.locator("#series-CODMn")
    assert int(codmn.get_attribute("data-points")) == sum(
        1 for m in body["months"] if m["means"].get("CODMn") is not None
    )
    assert float(codmn.get_attribute("data-limit")) == 6.0  # GB 3838 Table 1, Class III
    rows = page.locator("#pollutant-table tbody tr")
    assert rows.count() == sum(1 for m in body["months"] if m["class_num"]) + 1  # + the year


def test_section_without_automatic_data_shows_months_only_in_english(
    page: Any, server: Server
) -> None:
    sections = server.get("/api/v1/water/sections").json()["items"]
    lake = next(s for s in sections if s["water_body"] == "lake")
    page.goto(f"/water/section/{lake['site_id']}?lang=en")
    _wait_for_page(page)
    body = _calendar(server, lake["site_id"])
    assert body["days"] == []
    assert page.locator("#class-calendar td.cal-day[data-class]").count() == 0
    assert not page.locator("#class-calendar td.cal-day").first.is_visible()
    assert "monthly classes only" in page.inner_text("#auto-note")
    assert page.inner_text("#fact-body") == "lake or reservoir"
    # lakes are judged on the lake TP column: Class III 0.05 mg/L (GB 3838 Table 1)
    assert float(page.get_attribute("#series-TP", "data-limit")) == 0.05
    assert "TLI" in page.inner_text("#fact-year-class")


def test_overview_section_tooltip_links_to_the_section_page(page: Any, server: Server) -> None:
    page.goto("/")
    page.wait_for_selector("#map[data-ready='true'][data-layer='air']")
    page.check("input[name='layer'][value='water']")
    page.wait_for_selector("#map[data-ready='true'][data-layer='water']")
    target = page.evaluate(
        """() => {
          const chart = window.ecobasinMap;
          const points = chart.getOption().series[0].data.map((d) => ({
            site_id: d.section.site_id, xy: chart.convertToPixel({ geoIndex: 0 }, d.value) }));
          const near = (a, b) => Math.hypot(a.xy[0] - b.xy[0], a.xy[1] - b.xy[1]) < 16;
          const free = points.filter((p) => points.every((q) => q === p || !near(p, q)));
          return { site_id: free[0].site_id, x: free[0].xy[0], y: free[0].xy[1] };
        }"""
    )
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + target["x"], box["y"] + target["y"])
    tip = page.locator(f"#map .tip[data-site-id='{target['site_id']}']")
    tip.wait_for(state="visible")
    href = tip.locator(".tip-link a").get_attribute("href")
    assert href == f"/water/section/{target['site_id']}"
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_url(f"**/water/section/{target['site_id']}")
    _wait_for_page(page)
    assert target["site_id"] in page.inner_text("h1")
