"""Noise core (GB 3096-2008, HJ 640-2012, HJ 906-2017, GB 12348-2008, HJ 706-2014): hand-computed
cases and the property tests of the brief (§7)."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecobasin.standards import noise
from ecobasin.standards.noise_tables import noise_rules

LEVELS = st.floats(min_value=20.0, max_value=140.0, allow_nan=False)


def _decimal_leq(levels: list[float]) -> float:
    with localcontext() as context:  # never the process's context: other tests share it
        context.prec = 50
        total = sum(Decimal(10) ** (Decimal(str(v)) / 10) for v in levels)
        return float(10 * (total / len(levels)).log10())


# ---- hand-computed -------------------------------------------------------------------------


def test_leq_of_60_and_80_is_77_not_70() -> None:
    # 10 lg[(10^6 + 10^8)/2] = 10 lg(5.05e7) = 77.03
    assert noise.round_db(noise.leq([60.0, 80.0])) == 77.0


def test_leq_weights_by_duration() -> None:
    # 1 s at 70 and 9 s at 50: 10 lg[(10^7 + 9·10^5)/10] = 10 lg(1.09e6) = 60.37
    assert noise.round_db(noise.leq([70.0, 50.0], [1, 9])) == 60.4


def test_leq_matches_50_digit_decimal() -> None:
    levels = [62.4, 65.1, 70.3, 58.8, 61.0, 66.7]
    assert noise.leq(levels) == pytest.approx(_decimal_leq(levels), abs=1e-9)


def test_invalid_period_has_no_value() -> None:
    p = noise.leq_valid([55.0] * 44 + [None] * 16, n_expected=60, min_vdr=0.75)
    assert p.leq is None and not p.valid and p.n_valid == 44
    q = noise.leq_valid([55.0] * 45 + [None] * 15, n_expected=60, min_vdr=0.75)
    assert q.valid and q.leq == pytest.approx(55.0)


def test_missing_slots_count_against_validity() -> None:
    # 40 readings reported of 60 expected: 66.7 % < 75 %
    assert not noise.leq_valid([50.0] * 40, n_expected=60).valid


def test_rank_percentiles_not_interpolated() -> None:
    x = np.arange(1.0, 201.0)  # 200 readings: L10 = 20th largest = 181
    r = noise.percentile_levels(x)
    assert (r["L10"], r["L50"], r["L90"]) == (181.0, 101.0, 21.0)
    assert r["SD"] == pytest.approx(float(np.std(x, ddof=1)))


def test_ldn_hand_value() -> None:
    # [16·10^6.23 + 8·10^6.31]/24 → 10 lg = 62.58
    assert noise.round_db(noise.ldn(62.3, 53.1)) == 62.6


def test_day_window_labels() -> None:
    dn = noise.day_night_from_hourly({f"{h:02d}:00": 50.0 for h in range(1, 25)})
    assert dn.day_labels[0] == "07:00" and dn.day_labels[-1] == "22:00"
    assert dn.night_labels == [
        "23:00",
        "24:00",
        "01:00",
        "02:00",
        "03:00",
        "04:00",
        "05:00",
        "06:00",
    ]


def test_too_few_night_hours_make_ln_missing() -> None:
    hours: dict[str, float | None] = {f"{h:02d}:00": 50.0 for h in range(1, 25)}
    for h in ("01:00", "02:00", "03:00"):
        hours[h] = None  # 5 of 8 night hours < 6
    dn = noise.day_night_from_hourly(hours)
    assert dn.ln is None and not dn.night_valid and dn.ld == pytest.approx(50.0)


def test_zone_4a_and_4b_differ_at_night() -> None:
    assert noise.zone_compliance("4b", 70.0, 58.0, 75.0).overall_pass is True
    v = noise.zone_compliance("4a", 70.0, 58.0)
    assert v.night_pass is False and v.night_exceed == 3.0


def test_zone_compliance_judges_the_rounded_value() -> None:
    # 50.04 rounds to 50.0 ≤ 50 (class 2 night); 50.05 rounds half-even to 50.0 as well; 50.06 fails
    assert noise.zone_compliance("2", None, 50.04).night_pass is True
    assert noise.zone_compliance("2", None, 50.05).night_pass is True
    assert noise.zone_compliance("2", None, 50.06).night_pass is False


def test_night_lmax_rule() -> None:
    v = noise.zone_compliance("1", 50.0, 40.0, 60.1)  # night 45 + 15 = 60
    assert v.night_pass and v.night_lmax_pass is False and v.overall_pass is False
    assert v.night_lmax_exceed == 0.1


def test_unknown_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="zone class"):
        noise.zone_compliance("5", 50.0, 40.0)


def test_regional_mean_is_arithmetic() -> None:
    r = noise.regional_result([50.0, 60.0])
    assert r.mean == 55.0 and r.grade.grade_zh == "二级"


def test_traffic_mean_is_length_weighted() -> None:
    # (1·74 + 3·66)/4 = 68.0 → 一级 (day ≤ 68.0); share over 70: 1/4
    r = noise.traffic_result([74.0, 66.0], [1.0, 3.0])
    assert r.mean == 68.0 and r.grade.rating_zh == "好" and r.share_over_pct == 25.0


def test_boundary_background_correction_rows() -> None:
    assert [noise.correction_db(d) for d in (15, 10, 6, 5, 4, 3, 2)] == [
        0,
        -1,
        -1,
        -2,
        -2,
        -3,
        None,
    ]
    r = noise.boundary_noise("GB 12348-2008", "3", "day", 66.4, 64.0)  # difference 2.4 → 2
    assert r.status == "not_evaluable" and r.passed is None


def test_boundary_background_may_be_skipped_below_the_limit() -> None:
    r = noise.boundary_noise("GB 12348", "1", "day", 54.6)
    assert r.status == "background_skipped" and r.passed is True
    assert noise.boundary_noise("GB 12348", "1", "day", 55.6).status == "background_required"


def test_boundary_indoor_and_construction() -> None:
    r = noise.boundary_noise("GB 12348-2008", "2", "night", 44.0, 30.0, indoor=True)
    assert r.limit == 40.0 and r.emission == 44 and r.exceed == 4
    c = noise.boundary_noise("GB 12523-2011", "1", "night", 54.0, 40.0, 70.5, "frequent")
    assert c.limit == 55.0 and c.passed and c.lmax_limit == 70.0 and c.lmax_pass is False


def test_rule_data_cite_sources() -> None:
    rules = noise_rules()
    assert set(rules.zones) == {"0", "1", "2", "3", "4a", "4b"}
    assert rules.version and rules.grades_version


# ---- properties (brief §7) -----------------------------------------------------------------


@given(LEVELS, st.integers(min_value=1, max_value=500))
def test_leq_of_a_constant_is_the_constant(level: float, n: int) -> None:
    assert noise.leq([level] * n) == pytest.approx(level, abs=1e-9)


@given(st.lists(LEVELS, min_size=1, max_size=200))
def test_leq_is_at_least_the_arithmetic_mean(levels: list[float]) -> None:
    assert noise.leq(levels) >= float(np.mean(levels)) - 1e-9


@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda per_minute: st.lists(
            st.lists(LEVELS, min_size=per_minute, max_size=per_minute), min_size=1, max_size=60
        )
    )
)
def test_minute_then_hour_equals_direct_hour(minutes: list[list[float]]) -> None:
    # complete data: every minute has the same number of readings
    by_minute = [noise.leq(m) for m in minutes]
    direct = noise.leq([v for m in minutes for v in m])
    assert noise.leq(by_minute) == pytest.approx(direct, abs=1e-9)


@given(st.integers(min_value=1, max_value=23))
def test_any_24_labels_split_16_and_8(shift: int) -> None:
    labels = [((h + shift - 1) % 24) + 1 for h in range(1, 25)]
    dn = noise.day_night_from_hourly(dict.fromkeys(labels, 50.0))
    assert (len(dn.day_labels), len(dn.night_labels)) == (16, 8)
    assert set(dn.day_labels).isdisjoint(dn.night_labels)
    assert sum(noise.is_day_label(h) for h in labels) == 16


@given(
    st.floats(min_value=30, max_value=90, allow_nan=False),
    st.floats(min_value=0, max_value=10, allow_nan=False),
    st.sampled_from(
        [("regional", "day"), ("regional", "night"), ("traffic", "day"), ("traffic", "night")]
    ),
)
def test_grading_is_monotone(value: float, step: float, key: tuple[str, str]) -> None:
    lower = noise.grade_of(value, *key).number
    higher = noise.grade_of(value + step, *key).number
    assert higher >= lower


@given(st.lists(st.floats(min_value=30, max_value=90, allow_nan=False), min_size=1, max_size=50))
def test_grid_counts_add_up(levels: list[float]) -> None:
    r = noise.regional_result(levels)
    assert sum(r.counts.values()) == len(levels)
    assert not math.isnan(r.mean)


def test_docstring_examples_hold() -> None:
    import doctest

    from ecobasin.standards import noise_tables

    for module in (noise, noise_tables):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
