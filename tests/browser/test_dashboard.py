"""The dashboard in a real browser: Debian's chromium (Playwright) against ``ecobasin serve`` on
the demo database."""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow.parquet as pq
import pytest

from .conftest import ModuleTab, Server

pytestmark = pytest.mark.browser

CHENGDU = 510100


def _open_overview(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector("#map[data-ready='true']")


def test_overview_has_one_marker_per_air_station_of_the_store(page: Any, server: Server) -> None:
    _open_overview(page)
    rendered = int(page.get_attribute("#map", "data-station-count"))
    assert rendered == server.facts.air_stations
    assert server.facts.air_stations == 41  # demo: 10 Chengdu + 6 Meishan + 5 Ziyang + 5 x 4
    in_option = page.evaluate("window.ecobasinMap.getOption().series[0].data.length")
    assert in_option == rendered
    assert page.locator("#map canvas").count() >= 1
    # beside the map: one row per city, with the level number and name, not only a colour
    rows = page.locator("#city-table tbody tr")
    assert rows.count() == 8
    assert rows.first.locator("td").first.inner_text() == "成都市"
    assert page.locator("#city-table .level-badge").first.inner_text().split(" · ")[0] in {
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
    }


def test_time_control_shows_an_earlier_hour_and_a_day(page: Any, server: Server) -> None:
    _open_overview(page)
    latest = page.get_attribute("#map", "data-time")
    page.click("#step-back")  # one hour earlier
    page.wait_for_selector("#map[data-ready='true'][data-scope='hour']")
    page.wait_for_function(f"() => document.getElementById('map').dataset.time !== '{latest}'")
    earlier = page.get_attribute("#map", "data-time")
    api = server.get("/api/v1/map", hour=earlier).json()
    assert api["time"] == earlier and api["latest_hour"] == latest
    assert page.locator("#showing").inner_text().startswith(api["time_cst"])
    assert int(page.get_attribute("#map", "data-station-count")) == server.facts.air_stations
    page.check("input[name='mode'][value='day']")
    page.wait_for_selector("#map[data-ready='true'][data-scope='day']")
    day = page.input_value("#day-input")
    assert page.get_attribute("#map", "data-time") == day == api["latest_day"]
    shown = page.evaluate("window.ecobasinMapData.cities.map((c) => c.aqi)")
    assert shown == [c["aqi"] for c in server.get("/api/v1/map", day=day).json()["cities"]]


def test_station_tooltip_shows_its_stored_aqi(page: Any, server: Server) -> None:
    _open_overview(page)
    # an isolated station with an AQI at the latest hour: hovering it can hit no other point
    target = page.evaluate(
        """() => {
          const chart = window.ecobasinMap;
          const points = chart.getOption().series[0].data.map((d, i) => ({
            i, station: d.station, xy: chart.convertToPixel({ geoIndex: 0 }, d.value) }));
          const near = (a, b) => Math.hypot(a.xy[0] - b.xy[0], a.xy[1] - b.xy[1]) < 12;
          const free = points.filter((p) => p.station.aqi !== null
            && points.every((q) => q === p || !near(p, q)));
          const pick = free[0];
          return { site_id: pick.station.site_id, aqi: pick.station.aqi, x: pick.xy[0], y: pick.xy[1] };
        }"""
    )
    stored = server.facts.latest_hour_aqi[target["site_id"]]
    assert stored is not None and target["aqi"] == stored
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + target["x"], box["y"] + target["y"])
    tip = page.locator(f"#map .tip[data-site-id='{target['site_id']}']")
    tip.wait_for(state="visible")
    assert tip.locator(".tip-aqi").inner_text() == str(stored)
    text = tip.inner_text()
    station = page.evaluate(
        f"window.ecobasinMapData.stations.find((s) => s.site_id === '{target['site_id']}')"
    )
    for item in station["concentrations"]:  # every concentration with its unit
        assert f"{item['parameter']}\t" in text and item["unit"] in text
    assert "级别" in text and "首要污染物" in text


def test_switching_language_changes_the_legend_and_is_remembered(page: Any) -> None:
    _open_overview(page)
    legend = page.locator("#legend li[data-level='1'] .legend-name")
    assert legend.inner_text() == "1 · 优"
    page.click("#lang-switch")
    page.wait_for_selector("body[data-lang='en']")
    page.wait_for_selector("#map[data-ready='true']")
    assert legend.inner_text() == "1 · Excellent"
    assert page.locator("#legend li[data-level='6'] .legend-name").inner_text() == (
        "6 · Severely polluted"
    )
    assert page.locator("#city-table tbody tr td").first.inner_text() == "Chengdu"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["lang"] == "en"
    assert page.evaluate("localStorage.getItem('ecobasin.lang')") == "en"
    # remembered: another page of the same browser opens in English
    page.goto("/rankings")
    assert page.locator("h1").inner_text() == "City rankings"
    # the cookie gone, localStorage brings the language back
    page.context.clear_cookies()
    page.goto("/data")
    page.wait_for_selector("body[data-lang='en']")
    assert page.locator("h1").inner_text() == "Data query"


def _series_points(page: Any, chart: str) -> list[int]:
    """Non-empty data points of each series of a detail chart."""
    return page.evaluate(
        f"""window.ecobasinCharts.{chart}.getOption().series.map(
              (s) => s.data.filter((v) => v !== null && v !== undefined).length)"""
    )


def _assert_detail_charts(page: Any) -> None:
    for element in ("chart-aqi", "chart-pollutants", "chart-calendar"):
        page.wait_for_selector(f"#{element}[data-ready='true']")
        assert page.locator(f"#{element} canvas").count() >= 1
    aqi = _series_points(page, "aqi")
    assert aqi[0] > 0.9 * 7 * 24  # the last 7 days of hours, a few gaps allowed
    pollutants = _series_points(page, "pollutants")
    assert len(pollutants) == 6 and min(pollutants) > 0
    calendar = _series_points(page, "calendar")
    assert calendar[0] > 300  # a year of daily AQI
    # the summary comes after the calendar: a city's waits for its official figures
    page.wait_for_selector("#detail-status", state="hidden")  # the page's loading is done
    assert page.locator("#good-ratio").inner_text().endswith("%")
    good, valid = page.locator("#good-days").inner_text().split(" / ")
    assert 0 < int(good) <= int(valid) <= 366
    assert int(page.locator("#exceed-days").inner_text()) == int(valid) - int(good)


def test_city_page_draws_its_charts_and_station_table(page: Any, server: Server) -> None:
    page.goto(f"/city/{CHENGDU}")
    _assert_detail_charts(page)
    page.wait_for_selector("#station-table tbody tr")
    assert page.locator("#station-table tbody tr").count() == server.facts.stations_by_city[CHENGDU]
    summary = server.get(f"/api/v1/cities/{CHENGDU}/summary", year=page.input_value("#year-select"))
    assert summary.status_code == 200


def test_station_page_draws_its_charts(page: Any, server: Server) -> None:
    site = sorted(server.facts.latest_hour_aqi)[0]
    page.goto(f"/station/{site}")
    _assert_detail_charts(page)
    assert site in page.locator("h1").inner_text()
    current = page.locator("#current-value").inner_text()
    stored = server.facts.latest_hour_aqi[site]
    assert current.startswith(f"AQI {stored if stored is not None else '—'} · ")


def test_rankings_table_lists_the_cities_in_the_api_order(page: Any, server: Server) -> None:
    page.goto("/rankings")
    page.wait_for_selector("#rankings-table[data-ready='true']")
    period = page.locator("#period-shown").inner_text()
    api = server.get("/api/v1/rankings", period=period, by="composite").json()
    expected = [item["city_code"] for item in api["items"]]
    assert len(expected) == 8
    shown = page.get_attribute("#rankings-table tbody", "data-cities")
    assert [int(code) for code in shown.split(",")] == expected
    names = page.locator("#rankings-table tbody tr td:nth-child(2)").all_inner_texts()
    assert names == [item["name_zh"] for item in api["items"]]
    page.wait_for_selector("#chart-rankings[data-ready='true']")
    # by good-day ratio, for one month
    page.check("input[name='kind'][value='month']")
    page.select_option("#by-select", "good_ratio")
    page.wait_for_selector("#rankings-table[data-ready='true']")
    period = page.locator("#period-shown").inner_text()
    assert len(period) == 7  # YYYY-MM
    api = server.get("/api/v1/rankings", period=period, by="good_ratio").json()
    shown = page.get_attribute("#rankings-table tbody", "data-cities")
    assert [int(code) for code in shown.split(",")] == [i["city_code"] for i in api["items"]]


#: Records every value the rankings page gives its chart's ``data-ready`` (common.js
#: ``markReady``): "false" while ECharts animates, "true" once drawn.
_RECORD_READY = """
window.readyStates = [];
new MutationObserver((records) => {
  for (const { target } of records) {
    if (target.id === "chart-rankings") window.readyStates.push(target.dataset.ready);
  }
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-ready"] });
"""


@pytest.mark.parametrize(("motion", "animated"), [("no-preference", True), ("reduce", False)])
def test_charts_animate_unless_the_user_prefers_reduced_motion(
    module_tab: ModuleTab, motion: str, animated: bool
) -> None:
    with module_tab.taken({}) as page:
        page.emulate_media(reduced_motion=motion)  # ModuleTab.fresh restores the module's
        with page.add_init_script(_RECORD_READY):  # removed at the end: later tests go without
            page.goto("/rankings")
            page.wait_for_selector("#chart-rankings[data-ready='true']")
            states = page.evaluate("window.readyStates")
        assert states[-1] == "true"
        assert ("false" in states) == animated, states  # drawn at once only when reduced


def test_data_page_previews_rows_and_downloads_csv(page: Any, server: Server) -> None:
    page.goto("/data")
    page.wait_for_selector("#downloads:not([hidden])")
    rows = int(page.get_attribute("#data-table", "data-rows"))
    assert rows == 100  # the preview's first rows (PM2.5 of Chengdu's stations, 7 days)
    with page.expect_download() as download_info:
        page.click("#download-csv")
    download = download_info.value
    text = download.path().read_text(encoding="utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert table and set(table[0]) >= {"site_id", "parameter", "time_cst", "value", "unit"}
    assert {row["parameter"] for row in table} == {"PM2.5"}
    assert len(table) > rows  # the whole range, not the preview
    parquet = server.get(page.get_attribute("#download-parquet", "href").removeprefix(server.url))
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    frame = pq.read_table(io.BytesIO(parquet.content))
    assert frame.num_rows == len(table)


_PATCH_SITES = """async ([sites, csrf]) => {
  const token = csrf ? document.querySelector("meta[name='csrf-token']").content : null;
  const statuses = [];
  for (const site of sites) {
    const response = await fetch(`/api/v1/sites/${site.site_id}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", ...(token ? { "X-CSRF-Token": token } : {}) },
      body: JSON.stringify({ name_en: site.name_en }),  // unchanged: other tests read the names
    });
    statuses.push(response.status);
  }
  return statuses;
}"""


def test_editor_of_one_city_is_refused_when_editing_another(
    module_tab: ModuleTab, server: Server
) -> None:
    name, password, city = server.editor
    sites = server.get("/api/v1/sites", kind="air_station").json()["results"]
    own = next(s for s in sites if s["city_code"] == city)
    other = next(s for s in sites if s["city_code"] != city)
    # the module's tab without ``page``'s listeners: the refusals (401, 403) are what it reads
    with module_tab.taken({}, {"width": 1400, "height": 900}) as page:
        page.goto("/")
        assert page.evaluate(_PATCH_SITES, [[own], False]) == [401]  # the public
        page.click("#sign-in")
        page.fill("#name", name)
        page.fill("#password", password)
        page.click("#signin-form [type='submit']")
        page.wait_for_selector("#user-name")
        assert page.locator("#user-name").inner_text() == name
        assert page.evaluate(_PATCH_SITES, [[own, other], True]) == [200, 403]
        assert page.evaluate(_PATCH_SITES, [[own], False]) == [403]  # no CSRF token


def test_data_page_daily_rows_of_chosen_stations(page: Any, server: Server) -> None:
    page.goto("/data")
    page.wait_for_selector("#downloads:not([hidden])")
    sites = page.eval_on_selector_all("#site-select option", "(os) => os.map((o) => o.value)")
    assert len(sites) == server.facts.stations_by_city[CHENGDU]
    page.select_option("#site-select", sites[:2])
    page.check("input[name='resolution'][value='daily']")
    page.fill("#data-start", "2025-03-01")
    page.fill("#data-end", "2025-03-10")
    page.click("#data-submit")
    page.wait_for_function("() => document.getElementById('data-table').dataset.rows === '20'")
    assert page.locator("#data-table .level-badge").count() == 20  # level number and name
    href = page.get_attribute("#download-csv", "href")
    response = server.get(href.removeprefix(server.url))
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == 20 and {row["scope_id"] for row in table} == set(sites[:2])
    assert min(row["day"] for row in table) == "2025-03-01"
    assert max(row["day"] for row in table) == "2025-03-10"


def test_city_tooltip_shows_its_aqi_level_and_primary_pollutant(page: Any, server: Server) -> None:
    """Hovering a city's area (issue 15, item 8) shows the city's name (not its code), AQI,
    level and primary pollutant of the API's latest hour."""
    _open_overview(page)
    # a point well inside Chengdu's area and away from every station marker
    target = page.evaluate(
        """(code) => {
          const chart = window.ecobasinMap;
          const region = chart.getModel().getComponent('geo').coordinateSystem.getRegion(code);
          const stations = chart.getOption().series[0].data.map(
            (d) => chart.convertToPixel({ geoIndex: 0 }, d.value));
          const box = chart.getDom().getBoundingClientRect();
          let best = null;
          const inside = (x, y) => region.contain(chart.convertFromPixel({ geoIndex: 0 }, [x, y]));
          for (let x = 5; x < box.width; x += 6)
            for (let y = 5; y < box.height; y += 6) {
              // well inside: 20 px from the boundary every way
              if (![[0, 0], [20, 0], [-20, 0], [0, 20], [0, -20]].every(([dx, dy]) => inside(x + dx, y + dy))) continue;
              const gap = Math.min(...stations.map(([sx, sy]) => Math.hypot(sx - x, sy - y)));
              if (!best || gap > best.gap) best = { x, y, gap };
            }
          return best;
        }""",
        str(CHENGDU),
    )
    assert target is not None and target["gap"] > 12
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + target["x"], box["y"] + target["y"])
    tip = page.locator(f"#map .tip[data-city='{CHENGDU}']")
    tip.wait_for(state="visible")
    latest = server.get("/api/v1/map").json()
    city = next(c for c in latest["cities"] if c["code"] == CHENGDU)
    assert tip.locator("h3").inner_text() == city["name_zh"]  # the name, not "510100"
    assert tip.locator(".tip-aqi").inner_text() == str(city["aqi"])
    assert tip.locator(".tip-level").inner_text() == f"{city['level']} · {city['level_name_zh']}"
    assert tip.locator(".tip-primary").inner_text() == (city["primary_pollutant"] or "—")
