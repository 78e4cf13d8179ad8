"""The pure core of emergency lists (emergency.md §1.4, §2.1, §2.5), against hand-computed numbers
and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecobasin.standards import emergency as em


def test_required_ratios_national_and_deyang_orange() -> None:
    # §1.4: national 10/20/30 %; Deyang orange VOCs 15 %, its yellow falls back to national
    assert em.required_ratios("510100", "red", "2025-01-01") == {
        "SO2": 0.3,
        "NOx": 0.3,
        "PM": 0.3,
        "VOCs": 0.3,
    }
    assert em.required_ratios("510600", "orange", "2025-01-01")["VOCs"] == 0.15
    assert em.required_ratios("510600", "yellow", "2025-01-01")["VOCs"] == 0.10
    with pytest.raises(KeyError):
        em.required_ratios("510600", "orange", "2010-01-01")  # before any plan


def test_list_accounting_ranks_candidates_for_the_gap() -> None:
    sources = [
        {"id": "A1", "grade": "A", "base_t_per_d": {"VOCs": 9.0}, "fraction": {"yellow": 0}},
        {"id": "C1", "grade": "C", "base_t_per_d": {"VOCs": 2.0}, "fraction": {"yellow": 0.5}},
        {"id": "C2", "grade": "C", "base_t_per_d": {"VOCs": 4.0}, "fraction": {"yellow": 0.5}},
    ]
    acc = em.list_accounting(sources, {"VOCs": 40.0}, {"VOCs": 0.1}, "yellow")
    # 1.0 + 2.0 = 3.0 t/d = 7.5 % < 10 % → short 1.0 t/d; C2 can still give 2.0, C1 1.0, A1 none
    assert acc.reduction["VOCs"] == pytest.approx(3.0)
    assert acc.shortfall["VOCs"] == pytest.approx(1.0)
    assert not acc.meets["VOCs"]
    assert [c["id"] for c in acc.candidates] == ["C2", "C1"]


def test_limit_check_with_and_without_grace() -> None:
    # §3.2: 6 h at 75 kg/h, 18 h at 36 kg/h; limit 50 %
    hours = [em.Hour(h, 250.0, 300000.0) for h in range(6)]
    hours += [em.Hour(h, 240.0, 150000.0) for h in range(6, 24)]
    measure = {"action": "limit", "ratio": 0.5}
    strict = em.check_enterprise(hours, measure, 75.0)
    assert strict.verdict == "non_compliant"
    assert strict.numbers["achieved_reduction"] == pytest.approx(0.39)
    graced = em.check_enterprise(hours, measure, 75.0, grace_hours=6)
    assert graced.verdict == "compliant"
    assert graced.numbers["achieved_reduction"] == pytest.approx(1 - 648 / 1350)


def test_silence_is_insufficient_data_not_a_verdict() -> None:
    hours = [em.Hour(h, 20.0, 1000.0) for h in range(19)]
    hours += [em.Hour(h, None, None, None) for h in range(19, 24)]
    res = em.check_enterprise(hours, {"action": "limit", "ratio": 0.5}, 75.0)
    assert res.verdict == "insufficient_data" and res.valid_hours == 19


def test_maintenance_flags_are_excluded_and_listed() -> None:
    hours = [em.Hour(h, 20.0, 1000.0) for h in range(20)]
    hours += [em.Hour(h, 250.0, 300000.0, "M") for h in range(20, 24)]
    res = em.check_enterprise(hours, {"action": "limit", "ratio": 0.5}, 75.0)
    assert res.flagged_hours == {"M": [20, 21, 22, 23]}
    assert res.valid_hours == 20 and res.verdict == "compliant"


def test_f_flag_with_running_flow_breaks_a_stop() -> None:
    hours = [em.Hour(h, 0.0, 0.0, "F") for h in range(23)] + [em.Hour(23, 30.0, 200000.0, "F")]
    res = em.check_enterprise(hours, {"action": "stop"}, 75.0, baseline_flow_m3_h=300000.0)
    assert res.verdict == "non_compliant" and "23" in res.reasons[0]


def test_cou_consistency_within_tolerance_trusts_the_report() -> None:
    res = em.cou_consistency(36.9, 240.0, 150000.0, 0.05)  # 2.5 % above 36 kg
    assert res.consistent and res.use == "reported_kg" and res.flag is None


def test_measure_lookup_ungraded_uses_lowest_row() -> None:
    table = {"B": {"red": {"action": "stop"}}, "C": {"red": {"action": "stop"}}}
    assert em.measure_for(table, None, "red")[1] == "C"
    assert em.measure_for(table, "B-", "red")[1] == "B"


def test_grade_before_any_entry_is_none() -> None:
    assert em.grade_at([{"grade": "B", "effective_from": "2025-01-01"}], "2024-12-31") is None


def test_power_check_stop_needs_full_cut() -> None:
    res = em.check_power(1000.0, 100.0, {"action": "stop"}, [], 50.0, 20.0)
    assert not res.limit_met and res.verdict == "non_compliant"


_rates = st.floats(min_value=0.0, max_value=5000.0, allow_nan=False)


@given(st.lists(st.tuples(_rates, st.floats(0, 1e6)), min_size=24, max_size=72))
def test_achieved_reduction_is_one_minus_mass_ratio(rows: list[tuple[float, float]]) -> None:
    hours = [em.Hour(i, c, q) for i, (c, q) in enumerate(rows)]
    res = em.check_enterprise(hours, {"action": "limit", "ratio": 0.3}, 50.0)
    mass = sum(c * q * 1e-6 for c, q in rows)
    assert res.numbers["achieved_reduction"] == pytest.approx(1 - mass / (50.0 * len(rows)))
    assert (res.verdict == "compliant") == (res.numbers["achieved_reduction"] >= 0.3 - 1e-9)


@given(
    st.dictionaries(st.sampled_from(em.POLLUTANTS), st.floats(0, 100), min_size=1),
    st.floats(0, 1),
)
def test_list_ratio_scales_with_fraction(base: dict[str, float], f: float) -> None:
    src = [{"id": "X", "base_t_per_d": base, "fraction": {"orange": f}}]
    city = {p: 200.0 for p in base}
    acc = em.list_accounting(src, city, dict.fromkeys(base, 0.2), "orange")
    for p, b in base.items():
        assert acc.ratio[p] == pytest.approx(b * f / 200.0)
        assert acc.shortfall[p] == pytest.approx(max(0.0, 40.0 - b * f), abs=1e-9)
        assert acc.meets[p] == (acc.shortfall[p] <= 1e-9)


@given(
    st.lists(st.tuples(st.dates(), st.sampled_from(["A", "B", "C", "D"])), min_size=1), st.dates()
)
def test_grade_at_is_latest_not_after(history: list, at) -> None:  # type: ignore[no-untyped-def]
    rows = [{"grade": g, "effective_from": d.isoformat()} for d, g in history]
    got = em.grade_at(rows, at.isoformat())
    past = [(d, g) for d, g in history if d <= at]
    if not past:
        assert got is None
    else:
        latest = max(d for d, _ in past)
        assert got in {g for d, g in past if d == latest}


def test_baseline_leaves_out_warning_short_and_flagged_days() -> None:
    normal = [em.Hour(h, 100.0, 10000.0) for h in range(24)]  # 1 kg/h
    high = [em.Hour(h, 300.0, 10000.0) for h in range(24)]  # 3 kg/h, a warning day
    short = [em.Hour(h, 500.0, 10000.0) for h in range(19)]  # 19 valid hours only
    flagged = [em.Hour(h, 100.0, 20000.0) for h in range(22)]  # 2 kg/h
    flagged += [em.Hour(h, 900.0, 10000.0, "C") for h in range(22, 24)]  # calibration hours
    days = {"2025-01-01": normal, "2025-01-02": high, "2025-01-03": short, "2025-01-04": flagged}
    base = em.baseline_from_reference(days, warning_days=["2025-01-02"])
    # (24 × 1 kg + 22 × 2 kg) / 46 h
    assert base.rate_kg_per_h == pytest.approx((24 + 44) / 46)
    assert base.days_used == ["2025-01-01", "2025-01-04"]
    assert base.days_excluded == ["2025-01-02", "2025-01-03"]
    with pytest.raises(ValueError, match="no complete day"):
        em.baseline_from_reference({"2025-01-03": short})
