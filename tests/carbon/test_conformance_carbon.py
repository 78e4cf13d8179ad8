"""Every public carbon conformance case passes through the registered handlers and the CLI
(compared exactly unless the case states ``tolerance_t``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.conformance import HANDLERS, run_case

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT.parent / "shared" / "testdata" / "carbon" / "carbon_cases_public.jsonl"
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


def _load() -> list[dict[str, Any]]:
    if not CASES.exists():
        if os.environ.get("CI"):
            pytest.fail(f"conformance cases missing at {CASES} (CI must have shared/ beside it)")
        pytest.skip(f"shared test data not found at {CASES} (outside a full checkout)")
    return [json.loads(x) for x in CASES.read_text(encoding="utf-8").splitlines() if x.strip()]


def _cases() -> list[Any]:
    if not CASES.exists():
        return [pytest.param(None, id="missing-shared-data")]
    return [pytest.param(c, id=f"{i:02d}-{c['kind']}") for i, c in enumerate(_load())]


def _matches(got: Any, expected: Any, tol: float) -> bool:
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            k in got and _matches(got[k], v, tol) for k, v in expected.items()
        )
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(got, int | float) and abs(float(got) - float(expected)) <= tol
    return bool(got == expected)


@pytest.mark.shared_data
@pytest.mark.parametrize("case", _cases())
def test_public_case(case: dict[str, Any] | None) -> None:
    if case is None:
        _load()
        return
    result = run_case(case)
    assert "error" not in result, result
    out = result["output"]
    expect = dict(case["expect"])
    tol = float(expect.pop("tolerance_t", 0.0))
    for key, expected in expect.items():
        assert key in out, f"missing key {key!r} in {out}"
        assert _matches(out[key], expected, tol), (key, out[key], expected, case["note"])


@pytest.mark.shared_data
def test_cli_runs_the_public_file() -> None:
    cases = _load()
    result = CliRunner().invoke(cli_app, ["conformance", str(CASES)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == len(cases)
    assert all("output" in x for x in lines), [x for x in lines if "error" in x]


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
