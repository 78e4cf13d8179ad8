"""GB 12523-2011 construction-site boundary noise (issue 23): the limits from the versioned
data, one measurement's verdict (HJ 706-2014 background rules) and a monitor's station-day."""

from __future__ import annotations

import pytest

from ecobasin.standards.noise_construction import (
    construction_day,
    construction_limits,
    construction_verdict,
    is_construction_site,
)


def test_limits_come_from_the_versioned_data() -> None:
    assert construction_limits() == ("GB 12523-2011", 70.0, 55.0, 70.0)


@pytest.mark.parametrize(
    ("period", "leq", "lmax", "status", "passed", "lmax_pass"),
    [
        ("day", 70.0, None, "background_skipped", True, None),  # equal to the limit: compliant
        ("day", 70.1, None, "background_required", None, None),  # over: a background needed
        ("night", 55.0, 70.0, "background_skipped", True, True),
        ("night", 54.0, 70.1, "background_skipped", True, False),  # night Lmax ≤ 55 + 15
        ("night", 60.0, None, "background_required", None, None),
    ],
)
def test_one_measurement(
    period: str, leq: float, lmax: float | None, status: str, passed: bool | None,
    lmax_pass: bool | None,
) -> None:  # fmt: skip
    verdict = construction_verdict(period, leq, lmax)
    assert (verdict.standard, verdict.status, verdict.passed, verdict.lmax_pass) == (
        "GB 12523-2011", status, passed, lmax_pass,
    )  # fmt: skip
    assert verdict.limit == (70.0 if period == "day" else 55.0)


def test_with_a_background_the_emission_value_is_whole_decibels() -> None:
    # 58.4 − 51.2 = 7.2 → 7 → −1 dB (HJ 706 Table 1); 57.4 → 57 > 55 at night
    verdict = construction_verdict("night", 58.4, background=51.2)
    assert (verdict.correction, verdict.emission, verdict.passed, verdict.exceed) == (
        -1, 57, False, 2,
    )  # fmt: skip


def test_a_monitor_day_is_judged_hour_by_hour() -> None:
    labels = ["07:00", "12:00", "22:00", "23:00", "24:00", "03:00", "06:00"]
    leq = [65.0, 71.3, None, 54.0, 55.0, 56.2, float("nan")]
    lmx = [90.0, 95.0, None, 71.0, 66.0, 68.0, None]
    day = construction_day(labels, leq, lmx)
    assert day.day_over == (12,) and day.day_pass is False and day.day_worst == 71.3
    assert day.night_over == (3,) and day.lmax_over == (23,)  # day LMx is not judged
    assert day.night_pass is False and day.night_worst == 56.2 and day.night_lmax == 71.0
    quiet = construction_day(["10:00", "02:00"], [60.0, 50.0], [80.0, 60.0])
    assert (quiet.day_pass, quiet.night_pass) == (True, True)
    assert construction_day(["10:00"], [None]).day_pass is None  # no valid hour: no verdict
    with pytest.raises(ValueError, match="2 labels, 1 Leq"):
        construction_day(["10:00", "11:00"], [60.0])


def test_which_sites_are_construction_boundaries() -> None:
    assert is_construction_site({"boundary": "construction", "zone_class": "1"})
    assert not is_construction_site({"zone_class": "1"})
    assert not is_construction_site({"boundary": "industry"})
