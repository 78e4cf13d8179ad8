"""Environmental noise on the dashboard (issue 23) in a real browser against ``ecobasin serve`` on
the shared demo store: the overview map's noise layer (zones, stations coloured by their latest
day/night verdict, complaints), a station page (24-hour profile, Lmax events, monthly
compliance) and the noise overview page. Any script error or failed request fails a test
(tests/browser/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser

#: the colours of static/js/noise_common.js VERDICT_COLORS
VERDICT_COLORS = {"pass": "#2e9d4f", "night": "#f39c12", "day": "#d7301f", "none": "#B4B4B4"}


def _verdict(station: dict[str, Any]) -> str:
    if station["day_pass"] is False:
        return "day"
    if station["night_pass"] is False:
        return "night"
    if station["day_pass"] and station["night_pass"]:
        return "pass"
    return "none"


def _open_noise_layer(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector("#map[data-ready='true'][data-layer='air']")
    page.check("input[name='layer'][value='noise']")
    page.wait_for_selector("#map[data-ready='true'][data-layer='noise']")


def test_noise_layer_shows_zones_stations_by_verdict_and_complaints(
    page: Any, server: Server
) -> None:
    layer = server.get("/api/v1/noise/map").json()
    assert len(layer["stations"]) == 20 and len(layer["zones"]["features"]) == 40
    _open_noise_layer(page)
    drawn = page.evaluate(
        """(() => {
          const series = window.ecobasinMap.getOption().series;
          const byId = Object.fromEntries(series.map((s) => [s.id, s]));
          const model = window.ecobasinMap.getModel();
          const count = (id) => model.getSeries().find((s) => s.id === id).getData().count();
          return {
            zones: count('noise-zones'), stations: count('noise-stations'),
            complaints: count('noise-complaints'),
            colours: byId['noise-stations'].data.map((d) => [d.noiseStation.site_id, d.itemStyle.color]),
            cases: byId['noise-complaints'].data.filter((d) => d.symbol === 'pin').length,
          };
        })()"""
    )
    assert (drawn["zones"], drawn["stations"]) == (40, 20)
    assert drawn["complaints"] == len(layer["complaints"]) > 0
    assert drawn["cases"] == sum(c["case_candidate"] for c in layer["complaints"]) > 0
    expected = {s["site_id"]: VERDICT_COLORS[_verdict(s)] for s in layer["stations"]}
    assert dict(drawn["colours"]) == expected
    assert page.get_attribute("#map", "data-time") == layer["complaint_month"]
    # the legend and the list beside the map follow the layer; the air legend and time hide
    assert page.locator("#noise-legend").is_visible() and not page.locator("#legend").is_visible()
    assert not page.locator("#time-control").is_visible()
    night = page.locator("#noise-legend li[data-verdict='night'] .legend-name").inner_text()
    assert night == "夜间超标 Night over the limit"  # Chinese and English on a Chinese page
    assert page.locator("#noise-legend li[data-zone-class]").count() == 6
    assert page.locator("#noise-station-table tbody tr").count() == 20
    page.check("input[name='layer'][value='air']")
    page.wait_for_selector("#map[data-ready='true'][data-layer='air']")
    assert not page.locator("#noise-legend").is_visible()


def test_station_page_from_the_map_list_shows_profile_events_and_months(
    page: Any, server: Server
) -> None:
    _open_noise_layer(page)
    site_id = page.get_attribute("#noise-station-table tbody tr:first-child", "data-site-id")
    page.click("#noise-station-table tbody tr:first-child a")
    page.wait_for_url(f"**/noise/station/{site_id}")
    page.wait_for_selector("#profile-chart[data-ready='true']")
    page.wait_for_selector("#event-table[data-ready='true']")
    page.wait_for_selector("#months-table[data-ready='true']")
    page.wait_for_selector("#months-chart[data-ready='true']")
    day = page.input_value("#day-input")
    profile = server.get(f"/api/v1/noise/stations/{site_id}/profile", day=day).json()
    assert page.get_attribute("#profile-chart", "data-day") == day
    assert int(page.get_attribute("#profile-chart", "data-hours")) == sum(
        h["Leq"] is not None for h in profile["hours"]
    )
    assert page.inner_text("#fact-ld") == f"{profile['Ld']:.1f}"
    assert page.inner_text("#fact-ln") == f"{profile['Ln']:.1f}"
    assert int(page.get_attribute("#event-table", "data-events")) == len(profile["lmax_events"])
    labels = page.evaluate("window.echarts.getInstanceByDom(document.getElementById("
                           "'profile-chart')).getOption().xAxis[0].data")  # fmt: skip
    assert labels[0] == "01:00" and labels[-1] == "24:00" and len(labels) == 24
    months = server.get(f"/api/v1/noise/stations/{site_id}/months", year=day[:4]).json()["items"]
    rows = page.locator("#months-table tbody tr")
    assert rows.count() == len(months) == 12
    first = rows.first.locator("td").all_inner_texts()
    assert first[0] == months[0]["month"] and first[1] == f"{months[0]['day_rate_pct']:.1f}"
    # another day: the profile follows
    page.fill("#day-input", f"{day[:4]}-07-01")
    page.dispatch_event("#day-input", "change")
    page.wait_for_selector(f"#profile-chart[data-ready='true'][data-day='{day[:4]}-07-01']")


def test_noise_overview_page_has_compliance_and_survey_grades(page: Any, server: Server) -> None:
    page.goto("/noise?lang=en")
    page.wait_for_selector("#compliance-table[data-ready='true']")
    page.wait_for_selector("#survey-table[data-ready='true']")
    page.wait_for_selector("#compliance-chart[data-ready='true']")
    year = page.input_value("#year-select")
    compliance = server.get("/api/v1/noise/compliance", year=year).json()["items"]
    assert page.locator("#compliance-table tbody tr").count() == len(compliance) == 8 * 12
    row = compliance[0]
    cells = page.locator(
        f"#compliance-table tbody tr[data-city='{row['city_code']}'][data-period='{row['period']}'] td"
    ).all_inner_texts()
    assert cells[3:] == [f"{row['day_rate_pct']:.1f}", f"{row['night_rate_pct']:.1f}"]
    surveys = [
        r
        for survey in ("regional", "traffic")
        for period in ("day", "night")
        for r in server.get(
            "/api/v1/noise/surveys", year=year, survey=survey, period=period
        ).json()["items"]
    ]
    # the demo surveys by day and by night (8 cities × regional and traffic × day and night)
    assert page.locator("#survey-table tbody tr").count() == len(surveys) == 8 * 2 * 2
    assert {r["period"] for r in surveys} == {"day", "night"}
    grades = page.locator("#survey-table tbody tr td:nth-child(5)").all_inner_texts()
    assert sorted(grades) == sorted(f"{r['grade_zh']} {r['rating_en']}" for r in surveys)
    assert int(page.get_attribute("#compliance-chart", "data-months")) == 12


def test_an_admin_opens_a_case_from_a_complaint_on_the_noise_page(
    page: Any, server: Server
) -> None:
    name, password = server.admin
    page.goto("/signin?next=/noise")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_selector("#candidates-table[data-ready='true']")
    candidates = [
        c for c in server.get("/api/v1/noise/complaints").json()["items"] if c["case_candidate"]
    ]
    assert candidates, "the demo has case candidates"
    assert page.locator("#candidates-table tbody tr").count() == len(candidates)
    button = page.locator("#candidates-table button.open-case").first
    complaint = button.get_attribute("data-complaint")
    button.click()
    page.locator(f"#candidates-table button[data-complaint='{complaint}']").wait_for(
        state="detached"
    )
    shown = server.get(f"/api/v1/noise/complaints/{complaint}").json()
    assert shown["case_id"], "the complaint is linked to its case"
    link = page.locator(f"#candidates-table a[href='/supervision/case/{shown['case_id']}']")
    assert link.count() == 1
    assert shown["case_id"] in page.inner_text("#candidates-status")


#: The texts of a rendered ECharts chart with their boxes [CSS px] (zrender's display list).
CHART_TEXTS = """(id) => {
  const chart = window.echarts.getInstanceByDom(document.getElementById(id));
  return chart.getZr().storage.getDisplayList(true).filter((el) => el.style && el.style.text)
    .map((el) => {
      const box = el.getBoundingRect().clone();
      if (el.transform) box.applyTransform(el.transform);
      return {text: String(el.style.text), x: box.x, y: box.y, w: box.width, h: box.height};
    });
}"""


SERIES_NAMES = """(id) => window.echarts.getInstanceByDom(document.getElementById(id))
  .getOption().series.map((s) => s.name)"""


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


@pytest.mark.parametrize("width", [390, 1400])
def test_station_charts_legends_clear_of_the_axis_names(
    page: Any, server: Server, width: int
) -> None:
    """Found at 390 px: the profile's legend (Leq …) was drawn over the y-axis name dB(A)."""
    site_id = server.get("/api/v1/noise/map").json()["stations"][0]["site_id"]
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/noise/station/{site_id}")
    for chart, unit in (("profile-chart", "dB(A)"), ("months-chart", "%")):
        page.wait_for_selector(f"#{chart}[data-ready='true']")
        texts = page.evaluate(CHART_TEXTS, chart)
        series = page.evaluate(SERIES_NAMES, chart)
        [name] = [t for t in texts if t["text"] == unit]
        legend = [t for t in texts if t["text"] in series]
        assert len(legend) == len(series) >= 2, (chart, series)
        assert not [t["text"] for t in legend if _overlap(t, name)], (chart, width)
