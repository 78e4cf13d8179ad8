"""What ``ecobasin water …`` and ``/api/v1/water/…`` both answer, read from the store.

One function per question; the command line and the API call the same one, so their numbers
are the same. Each raises :class:`LookupError` with a sentence a person can act on when the
store holds nothing for the question, and :class:`ValueError` for a bad argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.water_assessment import compensation_table, settlement_table
from ecobasin.store import Store
from ecobasin.store import water as store_water
from ecobasin.water import tables

__all__ = ["Answer", "compensation", "evaluation", "rank", "sections"]

Connection = Store | duckdb.DuckDBPyConnection


@dataclass
class Answer:
    """A table with what it is about (``meta``) and optional summary rows."""

    table: pd.DataFrame
    meta: dict[str, Any]
    summary: pd.DataFrame | None = None


def sections(where: Connection) -> Answer:
    """The registered water sections."""
    frame = store_water.water_sections(where)
    return Answer(tables.sections_view(frame), {"count": len(frame)})


def _results(where: Connection, period: str) -> pd.DataFrame:
    results = store_water.section_results(where, period)
    if results.empty:
        raise LookupError(
            f"no water results for {period} 该时段无水质评价结果: import section data "
            "(ecobasin water import) or run ecobasin water refresh"
        )
    return results


def evaluation(where: Connection, period: str, basin: str | None = None) -> Answer:
    """Section classes of a month or year, with the basin, river and region rows."""
    name, kind = tables.parse_water_period(period)
    results = _results(where, name)
    secs = store_water.water_sections(where)
    table = tables.evaluation_view(results, secs, basin)
    groups = tables.group_view(store_water.group_results(where, name), basin)
    meta = {
        "period": name,
        "kind": kind,
        "basin": basin,
        "n_sections": len(table),
        "failing_target": int((table["meets_target"] == False).sum()) if len(table) else 0,  # noqa: E712
        "standard": "GB 3838-2002; 环办〔2011〕22号; 环办监测〔2017〕51号",
    }
    return Answer(table, meta, groups)


def rank(where: Connection, period: str, base: str | None = None) -> Answer:
    """City CWQI ranking of a period, and the change against ``base``."""
    name, kind = tables.parse_water_period(period)
    now = _results(where, name)
    groups = store_water.group_results(where, name, scope="city")
    base_groups = base_results = None
    if base is not None:
        base_name, base_kind = tables.parse_water_period(base)
        if base_kind != kind:
            raise ValueError(f"base {base!r} is a {base_kind}, period {period!r} a {kind}")
        base_results = _results(where, base_name)
        base_groups = store_water.group_results(where, base_name, scope="city")
    secs = store_water.water_sections(where)
    table = tables.rank_view(groups, secs, now, base_groups, base_results)
    meta = {"period": name, "kind": kind, "base": base, "rule": "环办监测〔2017〕51号 CWQI"}
    return Answer(table, meta)


def _agreement(path: Path | None) -> water.Agreement:
    if path is None:
        return water.agreement("default")
    if not path.is_file():
        raise ValueError(f"no agreement file {path}")
    return water.load_agreement(path)


def compensation(where: Connection, period: str, agreement: Path | None = None) -> Answer:
    """Compensation of the boundary sections in a month or year and the settlements.

    With the default agreement the stored rows are read; with another agreement file the
    stored monthly section means are settled again by it (nothing is written).
    """
    name, kind = tables.parse_water_period(period)
    ag = _agreement(agreement)
    secs = store_water.water_sections(where)
    if agreement is None:
        months = store_water.result_periods(where)
        periods = [p for p in months if p == name or (kind == "year" and p.startswith(name + "-"))]
        rows = store_water.compensation_rows(where, periods or [name])
        settle = store_water.settlements(where, name)
    else:
        results = store_water.section_results(where)
        monthly = results[results["period"].str.startswith(name)]
        rows, _skipped = compensation_table(monthly, secs, ag)
        settle = settlement_table(rows)
        if not settle.empty:
            settle = settle[settle["period"] == name]
    if rows.empty:
        raise LookupError(
            f"no compensation for {name} 该时段无生态补偿结果: no boundary section with "
            "CODMn, NH3-N and TP means in that period"
        )
    meta = {
        "period": name,
        "kind": kind,
        "rule_set": ag.id,
        "rule_set_version": ag.version,
        "method": ag.method,
        "verified": ag.verified,
        "factors": list(ag.factors),
        "total_cny": float(rows["amount_cny"].sum()),
    }
    return Answer(tables.compensation_view(rows, secs), meta, tables.settlement_view(settle))
