"""Sinks (carbon brief §2) and peak tracking (§5), hand-computed."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ecobasin.carbon import peak, sinks

CHAIN = sinks.BiomassChain(D("0.5"), D("1.5"), D("0.25"), D("0.5"))


def test_stock_difference_by_hand() -> None:
    # ΔC = 30 000 m³ × 0.5 × 1.5 × 1.25 × 0.5 = 14 062.5 t C; × 44/12 = 51 562.5 t CO2
    r = sinks.stock_difference(D(1_000_000), D(1_030_000), D(1), CHAIN)
    assert r.delta_c_t == D("14062.5")
    assert r.removal_tco2.quantize(D("0.001")) == D("51562.500")
    assert r.emission_tco2 == -r.removal_tco2
    # two years between inventories halve the annual change
    assert sinks.stock_difference(D(0), D(30_000), D(2), CHAIN).delta_c_t == D("7031.25")
    with pytest.raises(ValueError):
        sinks.stock_difference(D(0), D(1), D(0), CHAIN)


def test_gain_loss_by_hand() -> None:
    # gain = 2e6 × 0.045 × 0.46875 = 42 187.5; loss = 2e6 × 0.02 × 0.46875 = 18 750
    r = sinks.gain_loss(D(2_000_000), D("0.045"), CHAIN, consumption_rate=D("0.02"))
    assert r.parts == {"gain_tc": D("42187.5"), "loss_tc": D("18750")}
    assert r.removal_tco2.quantize(D("0.001")) == D("85937.500")
    # the same loss given as a harvested volume, plus 1 000 m³ of disturbance
    h = sinks.gain_loss(
        D(2_000_000), D("0.045"), CHAIN, harvest_volume_m3=D(40_000), disturbance_volume_m3=D(1000)
    )
    assert h.parts["loss_tc"] == D("18750") + D("468.75")


def test_area_rate_and_parameters_as_data() -> None:
    assert sinks.area_rate(D(1200), D("4.5")).removal_tco2 == D(5400)
    chain = sinks.chain_from_parameters("illustrative")
    assert chain.carbon_per_m3 == D("0.46875") and "illustrative" in chain.source
    with pytest.raises(KeyError):
        sinks.chain_from_parameters("cunninghamia")


def test_intensity_case_of_the_brief() -> None:
    # §5 case: 50 Mt / 1 770 bn CNY = 0.28249 t/10⁴ CNY; 52 / 2 350 → 0.22128; change −21.67 %
    co2 = {2020: D(50_000_000), 2025: D(52_000_000)}
    gdp = {2020: D(177_000_000), 2025: D(235_000_000)}
    rows = peak.track(co2, gdp, 2020)
    assert round(rows[0].intensity, 4) == D("0.2825")  # type: ignore[arg-type]
    assert round(rows[1].intensity, 4) == D("0.2213")  # type: ignore[arg-type]
    assert round(rows[1].intensity_change_pct, 2) == D("-21.67")  # type: ignore[arg-type]
    assert rows[1].decomposition is None  # not consecutive years


def test_lmdi_effects_add_up_exactly() -> None:
    d = peak.decompose(2021, D(105), D(120), 2020, D(100), D(100))
    # activity effect = L(105, 100) × ln 1.2 > 0; intensity effect = L × ln(0.875/1) < 0
    assert d.activity_effect_t > 0 > d.intensity_effect_t
    assert abs(d.activity_effect_t + d.intensity_effect_t - D(5)) < D("1e-20")
    assert peak.log_mean(D(3), D(3)) == D(3)


@pytest.mark.parametrize(
    ("series", "status", "year"),
    [
        ({2018: 100, 2019: 104, 2020: 108, 2021: 112}, "rising", 2021),
        ({2018: 100, 2019: 110, 2020: 109, 2021: 109.5}, "plateau", 2019),
        ({2017: 100, 2018: 110, 2019: 108, 2020: 107, 2021: 105}, "peaked", 2018),
        # a maximum three years back but the last year within the band: still a plateau? no —
        # the window (2019–2021) does not hold the maximum, so it is rising again
        ({2017: 100, 2018: 110, 2019: 109, 2020: 109, 2021: 109}, "rising", 2018),
        ({2020: 100}, "insufficient", None),
    ],
)
def test_peak_rule(series: dict[int, float], status: str, year: int | None) -> None:
    result = peak.detect_peak({y: D(str(v)) for y, v in series.items()}, peak.PeakRule())
    assert (result.status, result.peak_year) == (status, year)
    assert "plateau" in result.rule


def test_targets() -> None:
    co2 = {2020: D(100), 2021: D(101), 2025: D(95)}
    gdp = {2020: D(1000), 2021: D(1080), 2025: D(1300)}
    report = peak.city_report(510100, co2, gdp, 2020)
    targets = {t["id"]: t for t in report["targets"]}
    # Sichuan −19.5 %: i2025/i2020 − 1 = (95/1300)/(100/1000) − 1 = −26.92 % → met
    sc = targets["sc.14fyp.intensity"]
    assert sc["met"] is True and round(sc["change_pct"], 2) == D("-26.92")
    assert "cn.14fyp.intensity" in targets  # national targets apply to a Sichuan city
    # peaked in 2021 (2025 is 4 years later and 5.9 % below): before 2030 → met
    assert report["peak"]["status"] == "peaked" and report["peak"]["peak_year"] == 2021
    assert targets["cn.peak.2030"]["met"] is True
    rising = peak.city_report(510100, {2020: D(100), 2021: D(110)}, {}, 2020)
    by_id = {t["id"]: t for t in rising["targets"]}
    assert by_id["cn.peak.2030"]["met"] is None  # still rising: cannot say yet
    assert by_id["sc.14fyp.intensity"]["met"] is None  # no GDP: no intensity
