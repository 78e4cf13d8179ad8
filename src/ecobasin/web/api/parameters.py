"""``GET /api/v1/parameters``: the parameter registry with units and HJ 212 codes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ecobasin.services import reference
from ecobasin.web.convert import parameter_models
from ecobasin.web.deps import CursorDep, LangDep
from ecobasin.web.models import ParameterList
from ecobasin.web.problems import problem_responses

router = APIRouter(prefix="/parameters", tags=["parameters"], responses=problem_responses(422))

Domain = Literal["air", "water", "flue_gas", "met"]


@router.get("", response_model=ParameterList)
def list_parameters(
    cursor: CursorDep,
    lang: LangDep = "zh",
    domain: Annotated[
        Domain | None,
        Query(description="Only parameters of this domain: air, water, flue_gas or met."),
    ] = None,
) -> ParameterList:
    """The measured parameters: id, domain, HJ 212-2017 and HJ/T 212-2005 factor codes,
    names in Chinese and English, the canonical unit every stored value is in (µg/m³ for air
    pollutants, mg/m³ for CO, mg/L for water), plausible range and reporting decimals."""
    results = parameter_models(reference.parameters(cursor, domain=domain), lang)
    return ParameterList(count=len(results), results=results)
