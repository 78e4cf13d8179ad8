"""Water and carbon on the dashboard (issues 7 and 8) in a real browser: the overview's water
layer, the water page and the carbon page against ``ecobasin serve`` on the shared demo store."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser

CHENGDU, LESHAN, YAAN = 510100, 511100, 511800
DEMO_CARBON_YEARS = [2019, 2020, 2021, 2022, 2023]


def _open_water_layer(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector("#map[data-ready='true'][data-layer='air']")
    page.check("input[name='layer'][value='water']")
    page.wait_for_selector("#map[data-ready='true'][data-layer='water']")


def test_water_layer_has_one_point_per_water_section_of_the_store(
    page: Any, server: Server
) -> None:
    _open_water_layer(page)
    rendered = int(page.get_attribute("#map", "data-section-count"))
    assert rendered == server.facts.water_sections == 33  # the demo's sections, all placed
    points = page.evaluate(
        """() => window.ecobasinMap.getOption().series[0].data.map((d) => ({
              site_id: d.section.site_id, cls: d.result?.class ?? null, color: d.itemStyle.color }))"""
    )
    assert len(points) == rendered
    # each point has its class of the latest month, in the colour of that class
    assert page.get_attribute("#map", "data-time") == server.facts.water_month
    assert {p["site_id"]: p["cls"] for p in points} == server.facts.water_classes
    colours = {
        c["label"]: c["color"]
        for c in page.evaluate("JSON.parse(document.getElementById('water-classes').textContent)")
    }
    assert all(p["color"] == colours[p["cls"]] for p in points)
    # the legend and the table beside the map follow the layer; the time control is hidden
    assert page.locator("#water-legend").is_visible() and not page.locator("#legend").is_visible()
    assert page.locator("#water-legend li[data-class='4'] .legend-name").inner_text() == (
        "IV · 轻度污染"
    )
    assert not page.locator("#time-control").is_visible()
    assert page.locator("#water-city-table tbody tr").count() == 8
    # back to the air: one marker per air station again
    page.check("input[name='layer'][value='air']")
    page.wait_for_selector("#map[data-ready='true'][data-layer='air']")
    assert page.evaluate("window.ecobasinMap.getOption().series[0].id") == "stations"
    assert page.locator("#legend").is_visible()


def test_section_tooltip_shows_its_stored_class(page: Any, server: Server) -> None:
    _open_water_layer(page)
    # an isolated section (prefer one missing its target): hovering it can hit no other point
    target = page.evaluate(
        """() => {
          const chart = window.ecobasinMap;
          const points = chart.getOption().series[0].data.map((d) => ({
            section: d.section, result: d.result, xy: chart.convertToPixel({ geoIndex: 0 }, d.value) }));
          const near = (a, b) => Math.hypot(a.xy[0] - b.xy[0], a.xy[1] - b.xy[1]) < 16;
          const free = points.filter((p) => p.result && points.every((q) => q === p || !near(p, q)));
          const pick = free.find((p) => p.result.meets_target === false) ?? free[0];
          return { site_id: pick.section.site_id, x: pick.xy[0], y: pick.xy[1],
                   status: pick.result.status_zh, target: pick.result.target_class };
        }"""
    )
    stored = server.facts.water_classes[target["site_id"]]
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + target["x"], box["y"] + target["y"])
    tip = page.locator(f"#map .tip[data-site-id='{target['site_id']}']")
    tip.wait_for(state="visible")
    assert tip.locator(".tip-class").inner_text() == stored
    assert tip.locator(".tip-status").inner_text() == target["status"]
    text = tip.inner_text()
    assert "目标类别" in text and target["target"] in text and "主要污染指标" in text
    assert "mg/L" in text  # the period means with their unit


def _api_items(server: Server, path: str, **params: Any) -> dict[str, Any]:
    response = server.get(path, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_water_page_shows_classes_shares_ranking_and_settlements(page: Any, server: Server) -> None:
    page.goto("/water")
    page.wait_for_selector("#section-table[data-ready='true']")
    for chart in ("chart-shares-basin", "chart-shares-city", "chart-rank"):
        page.wait_for_selector(f"#{chart}[data-ready='true']")
    page.wait_for_selector("#settlement-table[data-ready='true']")
    month = page.input_value("#month-select")
    assert month == server.facts.water_month
    rows = page.locator("#section-table tbody tr")
    assert rows.count() == server.facts.water_sections
    shown = page.evaluate(
        """[...document.querySelectorAll('#section-table tbody tr')].map((tr) => ({
              site_id: tr.dataset.siteId, cls: tr.dataset.class,
              badge: tr.querySelector('.water-class').innerText, met: tr.cells[5].innerText }))"""
    )
    assert {r["site_id"]: r["cls"] for r in shown} == server.facts.water_classes
    for row in shown:  # the numeral and the status in words, never the colour alone
        assert row["badge"].startswith(f"{row['cls']} · ") and len(row["badge"]) > 4
        assert row["met"] in {"✓ 达标", "✗ 未达标"}
    evaluation = _api_items(server, "/api/v1/water/evaluation", period=month)
    failing = sum(1 for r in shown if r["met"] == "✗ 未达标")
    assert failing == evaluation["failing_target"] == int(page.inner_text("#fact-failing"))
    # basin shares counted in the page agree with the method's share rows (≥ 5 sections)
    groups = page.evaluate(
        "JSON.parse(document.getElementById('chart-shares-basin').dataset.groups)"
    )
    official = {r["scope_id"]: r for r in evaluation["summary"] if r["scope"] == "basin"}
    for basin, n, good, bad in groups:
        assert n == official[basin]["n_sections"]
        if official[basin]["method"] == "shares":
            assert round(100 * good / n, 1) == official[basin]["share_I_III"]
            assert round(100 * bad / n, 1) == official[basin]["share_worse_V"]
    city_groups = page.evaluate(
        "JSON.parse(document.getElementById('chart-shares-city').dataset.groups)"
    )
    assert sum(n for _city, n, _good, _bad in city_groups) == server.facts.water_sections
    # the CWQI ranking in the API's order, the settlements of the month
    rank = _api_items(server, "/api/v1/water/rank", period=month)
    cities = page.get_attribute("#rank-table tbody", "data-cities")
    assert [int(c) for c in cities.split(",")] == [r["city"] for r in rank["items"]]
    compensation = _api_items(server, "/api/v1/water/compensation", period=month)
    settled = int(page.get_attribute("#settlement-table tbody", "data-rows"))
    assert settled == len(compensation["summary"])
    assert "ecobasin-default" in page.inner_text("#comp-rules")
    # the whole year's settlements
    page.check("input[name='comp_kind'][value='year']")
    page.wait_for_function(
        f"() => document.getElementById('comp-period').textContent === '{month[:4]}'"
    )
    page.wait_for_selector("#settlement-table[data-ready='true']")
    year = _api_items(server, "/api/v1/water/compensation", period=month[:4])
    assert int(page.get_attribute("#settlement-table tbody", "data-rows")) == len(year["summary"])


def _sector_series(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(
        """window.ecobasinCharts.sectors.getOption().series
              .filter((s) => s.type === 'bar')
              .map((s) => ({ id: s.id, name: s.name, stack: s.stack,
                             values: s.data.filter((v) => v !== null && v !== undefined).length }))"""
    )


def _assert_stacked_sectors(page: Any, server: Server, city: int) -> None:
    page.wait_for_selector("#chart-sectors[data-ready='true']")
    years = page.evaluate("window.ecobasinCharts.sectors.getOption().xAxis[0].data")
    assert years == [str(y) for y in DEMO_CARBON_YEARS]
    stored = server.facts.carbon_sectors[city]
    expected = set().union(*stored.values())
    series = _sector_series(page)
    assert sorted(s["id"] for s in series) == sorted(expected)  # one series per sector
    assert {s["stack"] for s in series} == {"gross"}
    for s in series:  # with a value for each year the sector has lines
        assert s["values"] == sum(1 for sectors in stored.values() if s["id"] in sectors)
    assert all(len(sectors) == len(expected) for sectors in stored.values())


def test_carbon_page_stacks_one_series_per_sector_with_data_for_each_year(
    page: Any, server: Server
) -> None:
    page.goto("/carbon")
    _assert_stacked_sectors(page, server, CHENGDU)
    for chart in ("chart-peak", "chart-sinks"):
        page.wait_for_selector(f"#{chart}[data-ready='true']")
    # the BASIC line and the peak status are the API's numbers
    totals = _api_items(server, "/api/v1/carbon/emissions", city=CHENGDU, by="year")["results"]
    line = page.evaluate(
        "window.ecobasinCharts.sectors.getOption().series.find((s) => s.id === 'basic').data"
    )
    assert line == pytest.approx([r["basic_t"] / 1e6 for r in totals], rel=1e-12)
    peak = _api_items(server, "/api/v1/carbon/peak", city=CHENGDU)["results"][0]
    assert page.get_attribute("#chart-peak", "data-status") == peak["peak"]["status"]
    names = page.evaluate("window.ecobasinCharts.peak.getOption().series.map((s) => s.id)")
    assert "target-cn.14fyp.intensity" in names  # the intensity target path
    assert page.locator("#target-table tbody tr").count() == len(peak["targets"])
    # the electricity choice of each inventory and the illustrative-data note
    assert page.locator("#electricity-table tbody tr").count() == len(DEMO_CARBON_YEARS)
    first = page.locator("#electricity-table tbody tr").first.locator("td")
    assert first.nth(1).inner_text().startswith("grid.sichuan.")
    assert first.nth(2).inner_text().startswith("CN-SC")
    assert page.locator("#carbon-illustrative").is_visible()
    sinks = page.evaluate("window.ecobasinCharts.sinks.getOption().series.map((s) => s.id)")
    assert sorted(sinks) == ["forest", "greenways"]
    # another city
    page.select_option("#city-select", str(LESHAN))
    page.wait_for_function(f"() => window.ecobasinCarbonData?.city === {LESHAN}")
    _assert_stacked_sectors(page, server, LESHAN)
    assert f"city={LESHAN}" in page.url


def test_switching_language_changes_the_water_and_carbon_labels(page: Any) -> None:
    page.goto("/water")
    page.wait_for_selector("#section-table[data-ready='true']")
    assert page.locator("h1").inner_text() == "地表水水质"
    legend = page.locator("#water-legend li[data-class='3'] .legend-name")
    assert legend.inner_text() == "III · 良好"
    page.click("#lang-switch")
    page.wait_for_selector("body[data-lang='en']")
    page.wait_for_selector("#section-table[data-ready='true']")
    page.wait_for_selector("#chart-shares-basin[data-ready='true']")
    assert page.locator("h1").inner_text() == "Surface water quality"
    assert legend.inner_text() == "III · Good"
    badges = page.locator("#section-table .water-class").all_inner_texts()
    assert all(
        b.split(" · ")[1]
        in {"Excellent", "Good", "Slightly polluted", "Moderately polluted", "Heavily polluted"}
        for b in badges
    )
    shares = page.evaluate(
        "window.ecobasinCharts.sharesBasin.getOption().series.map((s) => s.name)"
    )
    assert shares == ["Class I–III share", "Worse than Class V share"]
    # the carbon page in English keeps the chosen city through a switch back to Chinese
    page.goto(f"/carbon?city={YAAN}")
    page.wait_for_selector("#chart-sectors[data-ready='true']")
    assert page.locator("h1").inner_text() == "City carbon: emissions, peak and sinks"
    names = [s["name"] for s in _sector_series(page)]
    assert "manufacturing and construction" in names
    page.click("#lang-switch")
    page.wait_for_selector("body[data-lang='zh']")
    page.wait_for_selector("#chart-sectors[data-ready='true']")
    assert page.input_value("#city-select") == str(YAAN)
    assert "制造业和建筑业" in [s["name"] for s in _sector_series(page)]
