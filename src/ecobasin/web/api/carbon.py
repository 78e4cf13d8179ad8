"""``GET /api/v1/carbon/…``: city GHG inventories 温室气体清单, emissions, the factor library
排放因子库, peak tracking 碳达峰跟踪 and sinks 碳汇 (public, read-only).

The numbers are those of ``ecobasin carbon …``: both read the stored inventories through
:mod:`ecobasin.store.carbon` and the pure :mod:`ecobasin.carbon` core.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ecobasin.carbon import factors as fx
from ecobasin.services import carbon as carbon_service
from ecobasin.services.cells import json_cell, json_rows
from ecobasin.web.deps import CitiesDep, CursorDep
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/carbon", tags=["carbon"], responses=problem_responses(422))

YearsQuery = Annotated[list[int] | None, Query(alias="year", description="Year, repeatable.")]
By = carbon_service.By


class CarbonRows(BaseModel):
    """Rows of a carbon table: column names as keys, exact JSON values (null for none)."""

    count: int = Field(description="Number of rows.")
    results: list[dict[str, Any]]


class CarbonAmounts(BaseModel):
    """Rows of amounts with their unit."""

    count: int = Field(description="Number of rows.")
    unit: str = Field(description="Unit of the amounts (t CO2/a).")
    results: list[dict[str, Any]]


class CarbonEmissions(BaseModel):
    """Emission rows [t CO2e] and how they are summed."""

    count: int = Field(description="Number of rows.")
    unit: str = Field(description="Unit of the amounts (t CO2e).")
    by: By = Field(description="sector, scope, line or year.")
    results: list[dict[str, Any]]


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json_rows(frame, parse_text=True)


def _sector_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sectors = fx.sectors()
    for row in rows:
        if "sector" in row and row["sector"] in sectors:
            row["sector_zh"] = sectors[row["sector"]]["name_zh"]
            row["sector_en"] = sectors[row["sector"]]["name_en"]
    return rows


@router.get("/inventories", response_model=CarbonRows)
def list_inventories(
    cursor: CursorDep, city: CitiesDep = None, years: YearsQuery = None
) -> dict[str, Any]:
    """Inventories by city and year with their recorded choices: GWP set, fuel factor set, the
    electricity factor used and why (`electricity_choice`), GDP at constant prices [10⁴ CNY]."""
    rows = _rows(carbon_service.inventories(cursor, city, years))
    return {"count": len(rows), "results": rows}


@router.get("/emissions", response_model=CarbonEmissions)
def list_emissions(
    cursor: CursorDep,
    city: CitiesDep = None,
    years: YearsQuery = None,
    by: Annotated[By, Query(description="sector, scope, line (every line) or year.")] = "sector",
) -> dict[str, Any]:
    """Emissions [t CO2e]: by sector and scope (`basic_t` = the part in the GPC BASIC total), by
    scope, every emission line (with its factors and formula), or yearly totals."""
    rows = _sector_names(_rows(carbon_service.emissions(cursor, city, years, by)))
    return {"count": len(rows), "unit": "t CO2e", "by": by, "results": rows}


@router.get("/factors", response_model=CarbonRows)
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
    rows = carbon_service.factor_rows(carbon_service.library(cursor), activity, kind, factor_set)
    return {"count": len(rows), "results": rows}


@router.get("/peak", response_model=CarbonRows)
def get_peak(
    cursor: CursorDep,
    city: CitiesDep = None,
    base_year: Annotated[int | None, Query(description="Base year of intensity change.")] = 2020,
) -> dict[str, Any]:
    """Peak tracking per city: energy-related CO2 [t], GDP [10⁴ CNY, constant prices], intensity
    [t/10⁴ CNY], change against the base year [%], LMDI activity and intensity effects [t], the
    peak status with its rule, and the targets that apply."""
    results = json_cell(carbon_service.peak_reports(cursor, city, base_year), parse_text=True)
    return {"count": len(results), "results": results}


@router.get("/sinks", response_model=CarbonAmounts)
def list_sinks(
    cursor: CursorDep, city: CitiesDep = None, years: YearsQuery = None
) -> dict[str, Any]:
    """Sink estimates [t CO2/a removed] by city, year and sink, with method, inputs and formula
    (kept apart from gross emissions)."""
    rows = _rows(carbon_service.sinks(cursor, city, years))
    return {"count": len(rows), "unit": "t CO2/a", "results": rows}
