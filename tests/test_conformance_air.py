"""Every public air conformance case passes (compared exactly unless the case names tolerance)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance_helpers import TESTDATA, case_params, load_cases
from ecobasin.conformance import HANDLERS, run_case, run_lines

CASES = TESTDATA / "air" / "aqi_cases_public.jsonl"


def _close(a: Any, b: Any, tol: float) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol


@pytest.mark.shared_data
@pytest.mark.parametrize("case", case_params(CASES))
def test_public_case(case: dict[str, Any] | None) -> None:
    if case is None:
        load_cases(CASES)  # skips or fails with the reason
        return
    result = run_case(case)
    assert "error" not in result, result
    out = result["output"]
    tolerance = case.get("tolerance", {}) or {}
    for key, expected in case["expect"].items():
        assert key in out, f"missing key {key!r} in {out}"
        if key in tolerance:
            assert _close(out[key], expected, float(tolerance[key])), (key, out[key], expected)
        else:
            assert out[key] == expected, (key, out[key], expected, case["note"])


def test_all_air_kinds_registered() -> None:
    for kind in (
        "iaqi",
        "aqi_hourly",
        "aqi_daily",
        "daily_validity",
        "o3_8h",
        "annual_eval",
        "warning_level",
    ):
        assert kind in HANDLERS


def test_run_lines_keeps_order_and_survives_bad_lines() -> None:
    lines = [
        '{"kind": "iaqi", "input": {"standard": "HJ633-2012", "item": "CO_24h", "conc": 2.2}}',
        "{not json",
        '{"kind": "nope", "input": {}}',
        '{"kind": "iaqi", "input": {"standard": "HJ633-2012", "item": "NOPE", "conc": 1}}',
        '{"kind": "iaqi", "input": {"standard": "HJ633-2026", "item": "PM2.5_24h", "conc": 60}}',
    ]
    out = [json.loads(x) for x in run_lines(lines)]
    assert len(out) == 5
    assert out[0]["output"]["iaqi"] == 55
    assert "error" in out[1] and "error" in out[2] and "error" in out[3]
    assert out[4]["output"]["iaqi"] == 100


def test_output_is_computed_not_copied() -> None:
    case = {
        "kind": "iaqi",
        "input": {"standard": "HJ633-2012", "item": "PM2.5_24h", "conc": 57},
        "expect": {"iaqi": -7},
    }
    assert run_case(case)["output"]["iaqi"] == 78
