"""The verification of the issued forecasts on /forecast (issue 21, item 4) in a real browser on
the shared demo store (the demo issues its last 30 days too, so there is something to verify):
the table by lead and member as the API gives it, the chart of a score by lead with persistence
and climatology as reference lines, in Chinese and in English; the hourly chart reads the
stored forecast; no chart's legend touches an axis title."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHENGDU = "510100"

#: The legend's text boxes and the axis titles' boxes of a chart (canvas coordinates [px]).
BOXES = """(name) => {
  const chart = window.ecobasinCharts[name];
  const box = (el) => {
    const r = el.getBoundingRect().clone();
    const m = el.getComputedTransform();
    if (m) r.applyTransform(m);
    return { text: el.style.text, x: r.x, y: r.y, w: r.width, h: r.height };
  };
  const option = chart.getOption();
  const names = new Set([...option.xAxis, ...option.yAxis].map((a) => a.name).filter(Boolean));
  const legend = [];
  const titles = [];
  for (const view of chart._componentsViews) {
    const isLegend = String(view.type ?? "").startsWith("legend") || view.__model?.mainType === "legend";
    view.group.traverse((el) => {
      if (el.type !== "text" || !el.style.text) return;
      if (isLegend) legend.push(box(el));
      else if (names.has(el.style.text)) titles.push(box(el));
    });
  }
  return { legend, titles };
}"""


def _touching(boxes: dict[str, list[dict[str, Any]]], gap: float = 2.0) -> list[tuple[str, str]]:
    """Pairs (legend text, axis title) whose boxes overlap or come closer than ``gap`` px."""
    pairs = []
    for a in boxes["legend"]:
        for b in boxes["titles"]:
            apart = (
                a["x"] + a["w"] + gap <= b["x"]
                or b["x"] + b["w"] + gap <= a["x"]
                or a["y"] + a["h"] + gap <= b["y"]
                or b["y"] + b["h"] + gap <= a["y"]
            )
            if not apart:
                pairs.append((a["text"], b["text"]))
    return pairs


def _verification(server: Server) -> dict[str, Any]:
    answer = server.get("/api/v1/forecasts/verification", city=CHENGDU)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _table(page: Any) -> list[dict[str, str]]:
    page.wait_for_selector("#verification-table[data-ready='true']")
    return page.evaluate(
        """() => [...document.querySelectorAll('#verification-table tbody tr')].map((tr) => ({
              member: tr.dataset.member, lead: tr.dataset.lead,
              cells: [...tr.cells].map((td) => td.textContent) }))"""
    )


def test_verification_table_and_chart_in_chinese_and_english(page: Any, server: Server) -> None:
    api = _verification(server)
    leads = sorted({r["lead"] for r in api["leads"]})
    assert api["issues"] >= 20 and leads == [1, 2, 3, 4, 5, 6, 7]
    page.goto("/forecast")
    members = {r["member"] for r in api["leads"]}
    # the demo year has no earlier year: no climatology to score, persistence always
    assert {"issued", "persistence"} <= members <= {"issued", "persistence", "climatology"}
    rows = _table(page)
    assert len(rows) == len(api["leads"]) == len(members) * len(leads)
    first = rows[0]
    assert (first["member"], first["lead"]) == ("issued", "1")
    assert first["cells"][:2] == ["第1天", "发布预报"]
    heads = page.eval_on_selector_all(
        "#verification-table thead th", "hs => hs.map((h) => h.textContent)"
    )
    issued = next(r for r in api["leads"] if r["member"] == "issued" and r["lead"] == 1)
    column = heads.index("级别准确率")
    assert first["cells"][column] == f"{issued['level_acc']:.2f}"
    assert "TS 评分 (AQI>100)" in heads and "PM2.5 技巧评分（对持续性）" in heads
    assert page.locator("#verification-heading").inner_text().startswith("预报检验")
    # the chart: the issued forecast by lead, persistence and climatology as reference lines
    page.wait_for_selector("#chart-verification[data-ready='true']")
    assert int(page.get_attribute("#chart-verification", "data-points")) == len(leads)
    drawn = page.evaluate(
        "() => window.ecobasinCharts.verification.getOption().series.map((s) => [s.name, s.data])"
    )
    assert [name for name, _ in drawn] == ["发布预报", "持续性预报", "气候态"]
    level_acc = [
        next(r["level_acc"] for r in api["leads"] if r["member"] == "issued" and r["lead"] == k)
        for k in leads
    ]
    assert drawn[0][1] == level_acc
    page.select_option("#verify-metric", "skill_pm25")
    page.wait_for_selector("#chart-verification[data-metric='skill_pm25']")
    skills = page.evaluate(
        "() => window.ecobasinCharts.verification.getOption().series.map((s) => s.name)"
    )
    assert skills == ["发布预报对持续性", "发布预报对气候态"]
    screenshot(page, "forecast_verification")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    rows = _table(page)
    assert rows[0]["cells"][:2] == ["day +1", "issued forecast"]
    assert {"issued forecast", "persistence"} <= {r["cells"][1] for r in rows}
    assert "level accuracy" in page.locator("#verification-table thead").inner_text()
    assert page.locator("#verification-heading").inner_text().startswith("Verification")
    page.wait_for_selector("#chart-verification[data-ready='true']")
    names = page.evaluate(
        "() => window.ecobasinCharts.verification.getOption().series.map((s) => s.name)"
    )
    assert names == ["issued forecast", "persistence", "climatology"]
    page.locator("#verification-section").scroll_into_view_if_needed()
    screenshot(page, "forecast_verification_en")


def test_hourly_chart_reads_the_stored_forecast(page: Any, server: Server) -> None:
    body = server.get("/api/v1/forecasts/hourly", city=CHENGDU).json()
    assert body["source"] == "stored"
    page.goto("/forecast")
    page.wait_for_selector("#chart-hourly[data-ready='true']")
    assert page.get_attribute("#chart-hourly", "data-source") == "stored"
    assert page.locator("#hourly-status").inner_text() == "已存储的逐小时预报"


@pytest.mark.parametrize(
    ("chart", "element"), [("scores", "chart-scores"), ("verification", "chart-verification")]
)
def test_no_legend_touches_an_axis_title(page: Any, chart: str, element: str) -> None:
    """The scores chart's legend sat on its y axes' titles (seen on the screenshot)."""
    page.goto("/forecast")
    page.wait_for_selector(f"#{element}[data-ready='true']")
    boxes = page.evaluate(BOXES, chart)
    assert boxes["legend"] and boxes["titles"], boxes
    assert _touching(boxes) == [], boxes
