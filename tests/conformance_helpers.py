"""Shared pieces of the conformance tests (air, water, carbon): reading a public case file beside
the clone, one pytest parameter per case, tolerant comparison, and the CLI run of a whole file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.conformance import run_case
from needs import SHARED, require

#: ../shared/testdata beside the clone.
TESTDATA = SHARED / "testdata"


def load_cases(path: Path) -> list[dict[str, Any]]:
    """The cases of a JSON-lines file; skips outside a full checkout, fails under CI."""
    require(path, "the public conformance cases")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def case_params(path: Path) -> list[Any]:
    """One pytest parameter per case, ids ``NN-kind`` (a placeholder when the file is absent, so
    the test says why it skipped)."""
    if not path.exists():
        return [pytest.param(None, id="missing-shared-data")]
    return [pytest.param(c, id=f"{i:02d}-{c['kind']}") for i, c in enumerate(load_cases(path))]


def matches(got: Any, expected: Any, tol: float | None, relative: bool = False) -> bool:
    """Equal, or within ``tol`` for numbers (recursively through dicts and lists); a
    ``relative`` tolerance is a share of the expected value."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            k in got and matches(got[k], v, tol, relative) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(matches(g, e, tol, relative) for g, e in zip(got, expected, strict=True))
        )
    if tol is not None and isinstance(expected, int | float) and not isinstance(expected, bool):
        bound = tol * abs(float(expected)) if relative else tol
        return isinstance(got, int | float) and abs(float(got) - float(expected)) <= bound
    return bool(got == expected)


def check_case(case: dict[str, Any], tolerance_key: str, default_rel: float | None = None) -> None:
    """The engine's output for ``case`` has every expected key, equal or within the tolerance
    the case states in ``expect[tolerance_key]`` (applied to numbers at any depth)."""
    result = run_case(case)
    assert "error" not in result, result
    out = result["output"]
    expect = dict(case["expect"])
    tolerance = expect.pop(tolerance_key, None)
    tol = None if tolerance is None else float(tolerance)
    # the river-incident cases name their tolerance by kind: tol_rel (a share), tol_abs_* (units)
    relative = expect.pop("tol_rel", None)
    absolute = next((expect.pop(k) for k in list(expect) if k.startswith("tol_abs")), None)
    if relative is None and absolute is None and tol is None and default_rel is not None:
        relative = default_rel  # cases written to a few significant digits, no tolerance stated
    if relative is not None:
        tol = float(relative)
    elif absolute is not None:
        tol = float(absolute)
    for key, expected in expect.items():
        assert key in out, f"missing key {key!r} in {out}"
        ok = matches(out[key], expected, tol, relative is not None)
        assert ok, (key, out[key], expected, case.get("note"))


def run_public_file(path: Path) -> None:
    """``ecobasin conformance FILE`` answers every line of the file with an output."""
    cases = load_cases(path)
    result = CliRunner().invoke(cli_app, ["conformance", str(path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == len(cases)
    assert all("output" in x for x in lines), [x for x in lines if "error" in x]
