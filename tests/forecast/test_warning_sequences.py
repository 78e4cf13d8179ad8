"""A city's forecast sequence → warning with reason; regional warnings (configurable rule)."""

from __future__ import annotations

from datetime import date, timedelta

from ecobasin.forecast.warning import CityWarning, RegionalRule, city_warning, regional_warning

D = [date(2024, 1, 1) + timedelta(days=k) for k in range(5)]


def test_orange_from_two_days_above_200_names_days_and_values() -> None:
    w = city_warning(D, [120, 210, 230, 180, 90])
    assert w.level == "orange"  # 648号: AQI > 200 for ≥ 48 h
    assert (w.start, w.end) == (D[1], D[2])
    assert w.days == [(D[1], 210.0), (D[2], 230.0)]
    assert "2024-01-02 (210)" in w.reason_en and "橙色预警" in w.reason_zh


def test_red_needs_the_300_day_inside_the_200_run() -> None:
    assert city_warning(D[:3], [210, 320, 250]).level == "red"
    assert city_warning(D[:5], [210, 250, 230, 120, 320]).level == "orange"


def test_thresholds_are_strict() -> None:
    assert city_warning(D[:3], [150, 150, 200]).level == "none"
    assert city_warning(D[:1], [201]).level == "yellow"


def _w(level: str, start: int, end: int) -> CityWarning:
    return CityWarning(level=level, start=D[start], end=D[end])


def test_regional_warning_needs_enough_cities_on_a_shared_day() -> None:
    cities = {
        "A": _w("orange", 1, 2),
        "B": _w("yellow", 2, 3),
        "C": _w("yellow", 4, 4),
        "D": CityWarning(level="none", start=None, end=None),
    }
    assert regional_warning(cities, 4, RegionalRule(min_cities=2)) == (
        "yellow",
        ["A", "B"],
        D[2],
        D[2],
    )
    assert regional_warning(cities, 4, RegionalRule(min_cities=3))[0] == "none"
    level, group, start, end = regional_warning(
        cities, 4, RegionalRule(min_cities=3, overlap=False)
    )
    assert (level, group, start, end) == ("yellow", ["A", "B", "C"], D[1], D[4])
