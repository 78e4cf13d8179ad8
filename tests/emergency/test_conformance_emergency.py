"""Emergency-list conformance kinds: registered, the air warning shape still served, bad cases
as errors (the public cases run in tests/test_conformance_public.py)."""

from __future__ import annotations

from ecobasin.conformance import HANDLERS, run_case

KINDS = (
    "list_ratio",
    "emission_rate",
    "cou_consistency",
    "enterprise_check",
    "measure_lookup",
    "grade_at_time",
    "warning_level",
    "electricity_check",
    "staggered_production",
    "expected_reduction",
)


def test_kinds_registered() -> None:
    for kind in KINDS:
        assert kind in HANDLERS


def test_air_warning_shape_still_served() -> None:
    out = run_case({"kind": "warning_level", "input": {"forecast_daily_aqi": [210, 160]}})
    assert out["output"]["level"] == "yellow"


def test_output_is_computed_not_copied() -> None:
    # 3 h at 100 mg/m³ × 20 000 m³/h = 2 kg/h → 6 kg, whatever expect says
    case = {
        "kind": "emission_rate",
        "input": {"avg_mg_m3": 100.0, "flow_m3_h_dry_std": 20000.0, "hours": 3},
        "expect": {"emission_kg": 1.0},
    }
    assert run_case(case)["output"]["emission_kg"] == 6.0


def test_bad_cases_give_errors_not_crashes() -> None:
    bad = [
        {
            "kind": "list_ratio",
            "input": {
                "level": "blue",
                "sources": [],
                "required_ratio": {},
                "city_baseline_t_per_d": {"SO2": 1},
            },
        },
        {
            "kind": "list_ratio",
            "input": {
                "level": "red",
                "sources": [],
                "required_ratio": {},
                "city_baseline_t_per_d": {"SO2": 0},
            },
        },
        {"kind": "emission_rate", "input": {"avg_mg_m3": -1, "flow_m3_h_dry_std": 10}},
        {
            "kind": "measure_lookup",
            "input": {"industry_rule_table": {"B": {}}, "grade": "C", "level": "red"},
        },
        {
            "kind": "enterprise_check",
            "input": {
                "baseline_kg_per_h": 1,
                "measure": {"action": "x"},
                "hours": [{"h": 0, "avg_mg_m3": 1, "flow_m3_h": 1}],
            },
        },
        {"kind": "electricity_check", "input": {"baseline_production_kwh_per_d": 0}},
    ]
    for case in bad:
        result = run_case(case)
        assert "error" in result, (case, result)
