"""The consultation matrix of the forecast page (issue 15, item 5): the level of a range is
named by both ends when they differ (良至轻度污染, as CNEMC publishes it), hand-checked against
HJ 633-2012 Table 2 (优 0–50, 良 51–100, 轻度污染 101–150, 中度污染 151–200, 重度污染
201–300, 严重污染 > 300)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from ecobasin.web.pages.forecast_matrix import level_span, matrix_rows, published_aqi


@pytest.mark.parametrize(
    ("lower", "upper", "zh", "en", "levels"),
    [
        (75, 105, "良至轻度污染", "Good to Lightly polluted", (2, 3)),
        (60, 90, "良", "Good", (2, 2)),
        (35, 60, "优至良", "Excellent to Good", (1, 2)),
        (50, 100, "优至良", "Excellent to Good", (1, 2)),  # 50 is still 优, 100 still 良
        (101, 150, "轻度污染", "Lightly polluted", (3, 3)),
        (180, 230, "中度污染至重度污染", "Moderately polluted to Heavily polluted", (4, 5)),
        (290, 320, "重度污染至严重污染", "Heavily polluted to Severely polluted", (5, 6)),
    ],
)
def test_a_range_over_two_levels_names_both(
    lower: int, upper: int, zh: str, en: str, levels: tuple[int, int]
) -> None:
    assert level_span(lower, upper, "zh") == (*levels, zh)
    assert level_span(lower, upper, "en") == (*levels, en)


def test_bounds_are_published_as_integers_halves_up() -> None:
    assert [published_aqi(v) for v in (74.5, 74.49, 100.5, 0.2)] == [75, 74, 101, 0]


def _row(city: str, lead: int, lower: float, upper: float, **extra: object) -> dict[str, object]:
    return {
        "scope_id": city,
        "lead": lead,
        "target_day": pd.Timestamp(date(2025, 12, 29)) + pd.Timedelta(days=lead),
        "model": "lightgbm:demo",
        "parameter": "AQI",
        "lower": lower,
        "upper": upper,
        "primary_pollutant": extra.get("primary", "PM2.5"),
        "adjusted_lower": extra.get("adjusted_lower"),
        "adjusted_upper": extra.get("adjusted_upper"),
        "adjusted_primary": extra.get("adjusted_primary"),
    }


def test_matrix_rows_follow_the_region_and_show_the_adjusted_range() -> None:
    frame = pd.DataFrame(
        [
            _row("510600", 1, 40.2, 62.6, primary="PM2.5"),
            _row("510100", 1, 30.0, 45.0, primary=""),
            _row(
                "510100",
                2,
                80.0,
                110.0,
                adjusted_lower=120.0,
                adjusted_upper=150.0,
                adjusted_primary="O3_8h",
            ),
        ]
    )
    cities = [
        {"code": "510100", "name": "成都"},
        {"code": "510600", "name": "德阳"},
        {"code": "510700", "name": "绵阳"},
    ]
    columns, rows = matrix_rows(frame, "lightgbm:demo", cities, "zh")
    assert [c["lead"] for c in columns] == [1, 2]
    assert [c["day"] for c in columns] == ["2025-12-30", "2025-12-31"]
    assert [r["code"] for r in rows] == ["510100", "510600", "510700"]  # the region's order
    chengdu, deyang, mianyang = (r["cells"] for r in rows)
    assert (chengdu[0].lower, chengdu[0].upper, chengdu[0].label, chengdu[0].primary) == (
        30,
        45,
        "优",
        "",  # no primary pollutant at AQI ≤ 50
    )
    adjusted = chengdu[1]
    assert (adjusted.lower, adjusted.upper, adjusted.label) == (120, 150, "轻度污染")
    assert adjusted.adjusted and adjusted.primary == "O3-8h"
    assert (deyang[0].lower, deyang[0].upper, deyang[0].label) == (40, 63, "优至良")
    assert deyang[1] is None and mianyang == [None, None]  # no forecast: an empty cell


def test_no_forecast_gives_an_empty_matrix() -> None:
    assert matrix_rows(pd.DataFrame(), None, [{"code": "510100", "name": "成都"}], "en") == (
        [],
        [],
    )
