"""Conformance runner: one JSON case in, one JSON result out.

A case is ``{"kind": ..., "input": {...}, "expect": {...}}``; :func:`run_case` dispatches on
``kind`` through :data:`HANDLERS`, which the kind modules fill on import (:mod:`.air`,
:mod:`.water`, :mod:`.carbon`, :mod:`.noise`, :mod:`.incidents`, :mod:`.source`, :mod:`.emergency` (after :mod:`.air`, whose `warning_level` it widens); :func:`register` adds more). Results are computed by the engines,
never read from ``expect``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

# the kind modules register their handlers on import (the registry lives in its own module,
# so this import sits at the top: no cycle)
from ecobasin.conformance import air, carbon, emergency, incidents, noise, source, water  # noqa: F401
from ecobasin.conformance.registry import HANDLERS, register

__all__ = ["HANDLERS", "register", "run_case", "run_lines"]


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case: ``{"output": {...}}`` or ``{"error": "..."}`` (never raises)."""
    try:
        if not isinstance(case, dict):
            return {"error": "case is not a JSON object"}
        kind = case.get("kind")
        handler = HANDLERS.get(str(kind))
        if handler is None:
            return {"error": f"unknown kind {kind!r}"}
        inp = case.get("input")
        if not isinstance(inp, dict):
            return {"error": "case has no 'input' object"}
        return {"output": handler(inp)}
    except Exception as exc:  # a bad case must never stop the run
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_lines(lines: Iterable[str]) -> Iterator[str]:
    """One output JSON line per input line, in order; malformed lines give an error line."""
    for line in lines:
        if not line.strip():
            yield json.dumps({"error": "empty line"})
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            yield json.dumps({"error": f"malformed JSON: {exc}"})
            continue
        yield json.dumps(run_case(case), ensure_ascii=False)
