"""Noise conformance kinds: registered, computed (not copied), bad cases as errors (the public
cases run in tests/test_conformance_public.py)."""

from __future__ import annotations

from ecobasin.conformance import HANDLERS, run_case

NOISE_KINDS = (
    "leq",
    "percentile_levels",
    "ldn",
    "lden",
    "day_night_from_hourly",
    "zone_compliance",
    "regional_grade",
    "traffic_length_weighted",
    "compliance_rate",
    "boundary_noise",
)


def test_noise_kinds_registered() -> None:
    for kind in NOISE_KINDS:
        assert kind in HANDLERS


def test_output_is_computed_not_copied() -> None:
    case = {"kind": "leq", "input": {"levels_dBA": [60.0, 80.0]}, "expect": {"Leq_dBA": 70.0}}
    assert run_case(case)["output"]["Leq_dBA"] == 77.0  # energy mean, not 70


def test_minutes_to_hour_with_missing_minutes() -> None:
    minutes: list[float | None] = [55.0] * 50 + [None] * 10
    case = {"kind": "leq", "input": {"minute_leq_dBA": minutes, "min_vdr": 0.75}}
    out = run_case(case)["output"]
    assert out["valid"] is True and out["n_valid"] == 50 and out["Leq_dBA"] == 55.0
    case["input"] = {"minute_leq_dBA": [55.0] * 40 + [None] * 20, "min_vdr": 0.75}
    out = run_case(case)["output"]
    assert out["valid"] is False and out["Leq_dBA"] is None


def test_seconds_grouped_by_minute() -> None:
    groups = [[50.0] * 60 for _ in range(45)] + [[50.0] * 10 for _ in range(15)]
    out = run_case({"kind": "leq", "input": {"seconds_dBA": groups}})["output"]
    # minutes with 10 of 60 seconds are invalid; 45 of 60 minutes = 75 % → valid hour
    assert out["n_valid"] == 45 and out["valid"] is True and out["Leq_dBA"] == 50.0


def test_bad_noise_cases_give_errors_not_crashes() -> None:
    bad = [
        {"kind": "zone_compliance", "input": {"zone_class": "9", "Ld_dBA": 50}},
        {"kind": "leq", "input": {}},
        {"kind": "regional_grade", "input": {"grid_leq_dBA": []}},
        {
            "kind": "traffic_length_weighted",
            "input": {"segments": [{"leq_dBA": 70, "length_km": 0}]},
        },
        {"kind": "compliance_rate", "input": {"day": {"compliant": 5, "monitored": 3}}},
        {
            "kind": "boundary_noise",
            "input": {"standard": "GB 9999", "zone_class": "2", "measured_Leq_dBA": 50},
        },
    ]
    for case in bad:
        result = run_case(case)
        assert "error" in result, (case, result)


def test_construction_site_needs_no_zone_class() -> None:
    case = {
        "kind": "boundary_noise",
        "input": {"standard": "GB 12523-2011", "period": "night", "measured_Leq_dBA": 58.6,
                  "background_Leq_dBA": 45.0, "night_Lmax_dBA": 71.0, "lmax_type": "occasional"},
    }  # fmt: skip
    out = run_case(case)["output"]
    # difference 13.6 > 10: no correction; 58.6 → 59 > 55 (GB 12523 night); Lmax limit 55 + 15
    assert (out["correction_dB"], out["emission_dBA"], out["exceed_dB"]) == (0, 59, 4)
    assert out["lmax_limit_dBA"] == 70 and out["lmax_pass"] is False
