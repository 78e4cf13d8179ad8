"""``GET /api/v1/carbon/…``: city GHG inventories 温室气体清单, emissions, the factor library
排放因子库, peak tracking 碳达峰跟踪 and sinks 碳汇 (public, read-only).

The numbers are those of ``ecobasin carbon …``: both read the stored inventories through
:mod:`ecobasin.store.carbon` and the pure :mod:`ecobasin.carbon` core.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query

from ecobasin.carbon import factors as fx
from ecobasin.carbon import peak as carbon_peak
from ecobasin.store import carbon as store_carbon
from ecobasin.web.deps import CitiesDep, CursorDep
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/carbon", tags=["carbon"], responses=problem_responses(422))

YearsQuery = Annotated[list[int] | None, Query(alias="year", description="Year, repeatable.")]
By = Literal["sector", "scope", "line", "year"]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _sector_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sectors = fx.sectors()
    for row in rows:
        if "sector" in row and row["sector"] in sectors:
            row["sector_zh"] = sectors[row["sector"]]["name_zh"]
            row["sector_en"] = sectors[row["sector"]]["name_en"]
    return rows


@router.get("/inventories")
def list_inventories(
    cursor: CursorDep, city: CitiesDep = None, years: YearsQuery = None
) -> dict[str, Any]:
    """Inventories by city and year with their recorded choices: GWP set, fuel factor set, the
    electricity factor used and why (`electricity_choice`), GDP at constant prices [10⁴ CNY]."""
    rows = _rows(store_carbon.inventories(cursor, city, years))
    return {"count": len(rows), "results": rows}


@router.get("/emissions")
def list_emissions(
    cursor: CursorDep,
    city: CitiesDep = None,
    years: YearsQuery = None,
    by: Annotated[By, Query(description="sector, scope, line (every line) or year.")] = "sector",
) -> dict[str, Any]:
    """Emissions [t CO2e]: by sector and scope (`basic_t` = the part in the GPC BASIC total), by
    scope, every emission line (with its factors and formula), or yearly totals."""
    if by == "line":
        frame = store_carbon.emissions(cursor, city, years)
    elif by == "year":
        frame = store_carbon.yearly_totals(cursor, city)
        if years:
            frame = frame[frame["year"].isin(years)]
    else:
        frame = store_carbon.sector_totals(cursor, city, years)
        if by == "scope":
            frame = frame.groupby(["city_code", "year", "scope"], as_index=False)[
                ["co2e_t", "basic_t"]
            ].sum()
    rows = _sector_names(_rows(frame))
    return {"count": len(rows), "unit": "t CO2e", "by": by, "results": rows}


@router.get("/factors")
def list_factors(
    cursor: CursorDep,
    activity: Annotated[str | None, Query(description="Fuel or activity (diesel, 柴油).")] = None,
    kind: Annotated[str | None, Query(description="ncv, carbon_content, grid kinds …")] = None,
    factor_set: Annotated[str | None, Query(alias="set", description="Factor set.")] = None,
) -> dict[str, Any]:
    """The factor library: shipped defaults and users' factors, each with value (exact decimal
    text), units, gas, region, years, publisher, document, table, confidence, superseded-by."""
    if kind is not None and kind not in fx.KINDS:
        raise ProblemError.invalid("kind", f"unknown kind {kind!r}; one of {', '.join(fx.KINDS)}")
    wanted = activity
    if activity:
        try:
            wanted = fx.fuel(activity).id
        except fx.FactorError:
            wanted = activity
    rows = [
        f.as_row()
        for f in store_carbon.library(cursor).all()
        if (wanted is None or f.activity == wanted)
        and (kind is None or f.kind == kind)
        and (factor_set is None or f.factor_set == factor_set)
    ]
    return {"count": len(rows), "results": rows}


@router.get("/peak")
def get_peak(
    cursor: CursorDep,
    city: CitiesDep = None,
    base_year: Annotated[int | None, Query(description="Base year of intensity change.")] = 2020,
) -> dict[str, Any]:
    """Peak tracking per city: energy-related CO2 [t], GDP [10⁴ CNY, constant prices], intensity
    [t/10⁴ CNY], change against the base year [%], LMDI activity and intensity effects [t], the
    peak status with its rule, and the targets that apply."""
    results = [
        _plain(carbon_peak.city_report(code, co2, gdp, base_year))
        for code, (co2, gdp) in store_carbon.peak_series(cursor, city).items()
    ]
    return {"count": len(results), "results": results}


@router.get("/sinks")
def list_sinks(
    cursor: CursorDep, city: CitiesDep = None, years: YearsQuery = None
) -> dict[str, Any]:
    """Sink estimates [t CO2/a removed] by city, year and sink, with method, inputs and formula
    (kept apart from gross emissions)."""
    rows = _rows(store_carbon.sinks(cursor, city, years))
    return {"count": len(rows), "unit": "t CO2/a", "results": rows}
