"""``GET /api/v1/health``: is the API up, and what does its store hold."""

from __future__ import annotations

from fastapi import APIRouter

import ecobasin
from ecobasin.services import reference
from ecobasin.services.cells import pick
from ecobasin.web.deps import CursorDep, LangDep, RegionDep
from ecobasin.web.models import Health, HealthCounts, RegionInfo
from ecobasin.web.problems import problem_responses

router = APIRouter(prefix="/health", tags=["health"], responses=problem_responses(422))


@router.get("", response_model=Health)
def get_health(cursor: CursorDep, region: RegionDep, lang: LangDep = "zh") -> Health:
    """Service status, the store's schema version, row counts and observed time span.

    Answers 200 while the store can be queried; use it as a liveness and readiness probe.
    """
    summary = reference.summary(cursor, region.cities)
    return Health(
        version=ecobasin.__version__,
        schema_version=summary["schema_version"],
        region=RegionInfo(
            id=region.id,
            name_zh=region.name_zh,
            name_en=region.name_en,
            name=pick(lang, region.name_zh, region.name_en) or region.id,
            cities=list(region.cities),
        ),
        counts=HealthCounts(**{k: summary[k] for k in HealthCounts.model_fields}),
        first_time=summary["first_time"],
        last_time=summary["last_time"],
    )
