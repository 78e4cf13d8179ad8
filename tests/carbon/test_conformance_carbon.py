"""Carbon conformance kinds: registered, computed (not copied), bad cases as errors (the public
cases, exact unless a case states ``tolerance_t``, run in tests/test_conformance_public.py)."""

from __future__ import annotations

from ecobasin.conformance import HANDLERS, run_case

CARBON_KINDS = (
    "fuel_combustion",
    "electricity",
    "heat",
    "sink",
    "peak_tracking",
    "behaviour_reduction",
    "points",
    "project_reduction",
)


def test_carbon_kinds_registered() -> None:
    for kind in CARBON_KINDS:
        assert kind in HANDLERS


def test_output_is_computed_not_copied() -> None:
    case = {
        "kind": "fuel_combustion",
        "input": {"fuel": "diesel", "activity": 1, "activity_unit": "kt", "NCV": 42.652,
                  "NCV_unit": "GJ/t", "carbon_content_tC_per_TJ": 20.2, "oxidation_rate": 0.98},
        "expect": {"CO2_t": 0},
    }  # fmt: skip
    out = run_case(case)["output"]
    # 1 kt = 1000 t: 42.652 TJ × 20.2 × 0.98 × 44/12 = 3095.909639… → 3095.910 t (1 kg)
    assert out["energy_TJ"] == 42.652 and out["CO2_t"] == 3095.91
    assert out["factor_ids"] == ["case.cc", "case.ncv", "case.of"]
    # a fuel named without factors uses the shipped default chain
    named = run_case({"kind": "fuel_combustion", "input": {"fuel": "柴油", "activity": 100}})
    assert named["output"]["CO2_t"] == 309.591


def test_bad_carbon_cases_give_errors_not_crashes() -> None:
    bad = [
        {"kind": "fuel_combustion", "input": {"fuel": "unobtainium", "activity": 1}},
        {"kind": "fuel_combustion", "input": {"fuel": "diesel", "activity": 5,
                                              "activity_unit": "kWh", "NCV": 42.652,
                                              "NCV_unit": "GJ/t",
                                              "carbon_content_tC_per_TJ": 20.2}},
        {"kind": "electricity", "input": {"grid_EF_tCO2_per_MWh": 0.1}},
        {"kind": "electricity", "input": {"purchased_GJ": 10, "grid_EF_tCO2_per_MWh": 0.1}},
        {"kind": "sink", "input": {"method": "magic"}},
        {"kind": "peak_tracking", "input": {"CO2_Mt": {"2020": 1}}},
        {"kind": "heat", "input": {"purchased_steam_t": 5, "EF_tCO2_per_GJ": 0.11}},
    ]  # fmt: skip
    for case in bad:
        result = run_case(case)
        assert "error" in result, (case, result)
    unit_error = run_case(bad[1])["error"]
    assert "line 1" in unit_error and "kWh" in unit_error
