"""The public gets health advice (issue 15, persona 3): the overview, a city and a station page
show, for each of the six AQI levels, the health effects and the recommended measures of
HJ 633-2012 Table 2, with the 2026 wording where it differs, exactly as /api/v1/aqi/levels."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import SCREENSHOTS, Server

pytestmark = pytest.mark.browser


def _rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#health-table tbody tr",
        """rs => rs.map(r => ({ level: r.dataset.level,
              effect: r.querySelector('.effect').childNodes[0].textContent.trim(),
              advice: r.querySelector('.advice').childNodes[0].textContent.trim(),
              wording2026: [...r.querySelectorAll('.wording-2026')].map(s => s.textContent) }))""",
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_level_shows_its_health_effects_and_measures(
    page: Any, server: Server, lang: str
) -> None:
    levels = server.get("/api/v1/aqi/levels").json()["levels"]
    station = next(iter(server.facts.latest_hour_aqi))
    for path in ("/", "/city/510100", f"/station/{station}"):
        page.goto(f"{path}?lang={lang}")
        rows = _rows(page)
        assert [r["level"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
        for row, level in zip(rows, levels, strict=True):
            assert row["effect"] == level[f"health_{lang}"]
            assert row["advice"] == level[f"advice_{lang}"]
            differs = [
                level[f"{kind}_zh_2026"]
                for kind in ("health", "advice")
                if level[f"{kind}_zh_2026"] != level[f"{kind}_zh"] or lang == "en"
            ]
            assert [text.split(": ", 1)[1] for text in row["wording2026"]] == differs
    # the 2026 wording names the groups anew (青少年儿童, 心血管系统疾病) on level 3
    page.goto("/city/510100?lang=zh")
    assert "青少年儿童" in page.locator("#health-table tr[data-level='3'] .advice").inner_text()
    section = SCREENSHOTS / f"health_advice_section_{lang}.png"
    page.locator("#health-advice").screenshot(path=str(section))
