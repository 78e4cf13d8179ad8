"""Every public conformance case of the water, carbon, noise, emergency-list, river-incident and source-analysis kinds passes,
through the registered handlers and through ``ecobasin conformance FILE`` (the air cases have
their own rounding checks in ``test_conformance_air.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance_helpers import TESTDATA, case_params, check_case, load_cases, run_public_file

#: Public case file -> the key of a case's tolerance.
PUBLIC = {
    TESTDATA / "water" / "water_cases_public.jsonl": "tolerance",
    TESTDATA / "carbon" / "carbon_cases_public.jsonl": "tolerance_t",
    TESTDATA / "noise" / "noise_cases_public.jsonl": "tolerance_dB",
    TESTDATA / "emergency" / "emergency_cases_public.jsonl": "tolerance",
    TESTDATA
    / "incidents"
    / "incident_cases_public.jsonl": "tolerance",  # cases use tol_rel / tol_abs_h
    TESTDATA / "source" / "source_cases_public.jsonl": "tolerance",
}


#: Case files whose expectations are rounded to a few significant digits without a stated
#: tolerance: compared within this share of the expected value.
ROUNDED = {"source": 1e-5}


def _params() -> list[Any]:
    return [
        pytest.param(path, tolerance, param.values[0], id=f"{path.parent.name}-{param.id}")
        for path, tolerance in PUBLIC.items()
        for param in case_params(path)
    ]


@pytest.mark.shared_data
@pytest.mark.parametrize(("path", "tolerance", "case"), _params())
def test_public_case(path: Path, tolerance: str, case: dict[str, Any] | None) -> None:
    if case is None:
        load_cases(path)  # skips outside a full checkout, fails in CI
        return
    check_case(case, tolerance, ROUNDED.get(path.parent.name))


@pytest.mark.shared_data
@pytest.mark.parametrize("path", list(PUBLIC), ids=lambda p: p.parent.name)
def test_cli_runs_the_public_file(path: Path) -> None:
    run_public_file(path)
