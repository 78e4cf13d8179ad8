"""Water conformance kinds: registered, computed (not copied), bad cases as errors (the public
cases run in tests/test_conformance_public.py)."""

from __future__ import annotations

from ecobasin.conformance import HANDLERS, run_case

WATER_KINDS = ("section_class", "main_pollutants", "basin_share", "cwqi", "tli")


def test_water_kinds_registered() -> None:
    for kind in WATER_KINDS:
        assert kind in HANDLERS


def test_output_is_computed_not_copied() -> None:
    case = {
        "kind": "section_class",
        "input": {"water_body": "river", "concentrations": {"NH3N": 1.6, "DO": 6.2}},
        "expect": {"class": "I"},
    }
    out = run_case(case)["output"]
    # GB 3838 Table 1: NH3-N 1.6 > 1.5 (IV) ≤ 2.0 → V; DO 6.2 ≥ 6 → II
    assert out["class"] == "V" and out["determining"] == ["NH3N"]


def test_bad_water_cases_give_errors_not_crashes() -> None:
    bad = [
        {"kind": "section_class", "input": {"water_body": "sea", "concentrations": {"TP": 1}}},
        {"kind": "section_class", "input": {"concentrations": {"TP": "abc"}}},
        {"kind": "section_class", "input": {"concentrations": {}}},
        {"kind": "basin_share", "input": {"section_classes": ["II", "III"]}},
        {"kind": "basin_share", "input": {"section_classes": ["II", "VII", "I", "I", "I"]}},
        {"kind": "cwqi", "input": {"level": "galaxy"}},
        {"kind": "tli", "input": {}},
    ]
    for case in bad:
        result = run_case(case)
        assert "error" in result, (case, result)


def test_nondetect_notations_enter_as_half_dl() -> None:
    # CNEMC data rule (brief §2.1): a non-detect enters the mean as ½ DL
    case = {
        "kind": "section_class",
        "input": {"monthly_TP": ["0.01L", "<0.01", {"nd": True, "dl": 0.01}, 0.185]},
    }
    out = run_case(case)["output"]
    # (0.005 × 3 + 0.185) / 4 = 0.05 → river TP ≤ 0.1 → II
    assert out["TP_mean"] == 0.05 and out["class"] == "II"


def test_river_below_five_sections_names_main_pollutants_per_section() -> None:
    case = {
        "kind": "main_pollutants",
        "input": {"sections": {"A": {"NH3N": 2.2, "TP": 0.1}, "B": {"NH3N": 0.4}}},
    }
    out = run_case(case)["output"]
    # 办法 §二(二)3: fewer than 5 sections → the section rule per section; NH3-N 2.2 劣V (1.2)
    assert out["main_pollutants"] == {
        "A": [{"indicator": "NH3N", "class": "劣V", "multiple": 1.2}],
        "B": [],
    }
