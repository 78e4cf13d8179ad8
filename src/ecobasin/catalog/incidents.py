"""Rule sets and substance thresholds of the river-incident response, as versioned data.

``catalog/data/incidents/rules.json`` holds the grading table of the national plan, the
reporting hours of 令第17号 and the platform's cross-boundary notice defaults, each with its
document, version and validity (brief ``../shared/reference/incidents.md`` §1.1–1.6: a newer
national plan replaces a rule set, never code). ``substances.csv`` holds the thresholds
[mg/L] per substance and role (§2.7).
"""

from __future__ import annotations

import io
import json
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from ecobasin.errors import InputError, NotFound

__all__ = ["ruleset_in_force", "rulesets", "substances", "threshold_mg_L"]

_DATA = resources.files("ecobasin.catalog") / "data" / "incidents"


@cache
def rulesets() -> tuple[dict[str, Any], ...]:
    """Every rule set (kind, name, title_zh/en, version, effective_from/to, source, body)."""
    document = json.loads((_DATA / "rules.json").read_text(encoding="utf-8"))
    return tuple(document["rulesets"])


def ruleset_in_force(kind: str, on: date) -> dict[str, Any]:
    """The rule set of ``kind`` (grading, reporting, cross_boundary_notice) in force on ``on``."""
    for ruleset in rulesets():
        start = date.fromisoformat(ruleset["effective_from"])
        end = ruleset.get("effective_to")
        if (
            ruleset["kind"] == kind
            and start <= on
            and (end is None or on < date.fromisoformat(end))
        ):
            return ruleset
    raise NotFound(f"no {kind} rule set in force on {on.isoformat()}")


@cache
def _substance_table() -> pd.DataFrame:
    text = (_DATA / "substances.csv").read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), comment="#", dtype={"cas": str})


def substances() -> pd.DataFrame:
    """The (substance, role) thresholds [mg/L] and default decay [1/d], with their source."""
    return _substance_table().copy()


def threshold_mg_L(substance: str, role: str | None = None) -> float:
    """The threshold [mg/L] of ``substance`` (the strictest of its roles unless one is named)."""
    table = _substance_table()
    rows = table[table["substance"] == substance]
    if role is not None:
        rows = rows[rows["role"] == role]
    if rows.empty:
        raise InputError(
            f"no threshold for substance {substance!r}" + (f" as {role}" if role else "")
        )
    return float(rows["threshold_mg_L"].min())
