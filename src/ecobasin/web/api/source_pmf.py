"""``GET /api/v1/sources/{site_id}/pmf``: the stored PMF runs of a station (brief
``../shared/reference/nonroad_and_source.md`` B7), stored by ``ecobasin sources pmf … --site S
--store``; one run with its profiles, contributions and bootstrap summary; its figures as PNG or
SVG. The numbers are those of ``ecobasin sources pmf-runs``: both ask
:mod:`ecobasin.services.pmf`. Sites the caller may not read are not found (``readable_kinds``).
Factors are statistical, named by the analyst.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from ecobasin.errors import NotFound
from ecobasin.services import pmf as service
from ecobasin.services.sources import site_names
from ecobasin.web.api.sources import _RENDERING, SiteParam
from ecobasin.web.deps import StoreViewDep
from ecobasin.web.problems import problem_responses
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import readable_kinds

__all__ = ["router"]

router = APIRouter(prefix="/sources", tags=["sources"], responses=problem_responses(404, 422))

RunParam = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$", description="PMF run id.")]
_MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


class PmfRunSummary(BaseModel):
    """A stored PMF run without its matrices."""

    run_id: str
    site_id: str
    first_sample: str = Field(description="the period: first sample id")
    last_sample: str = Field(description="the period: last sample id")
    samples: int
    factors: int
    models: int = Field(description="seeds fitted; the lowest Q(true) kept")
    seed: int
    q_true: float
    q_robust: float
    q_expected: int = Field(description="n·m − p·(n + m), m the strong species (B7)")
    esat_version: str
    created_by: str
    created_at: datetime


class PmfRuns(BaseModel):
    """A station's stored PMF runs, newest first."""

    site_id: str
    runs: list[PmfRunSummary]


class PmfSpecies(BaseModel):
    """A species' signal-to-noise and category (B7: weak → U × 3, bad → dropped)."""

    species: str
    signal_to_noise: float
    category: str


class PmfInterval(BaseModel):
    """A bootstrap interval of one base factor and species."""

    factor: str
    species: str
    measure: Literal["concentration", "share"] = Field(description="F, or share of the factor [1]")
    p05: float
    p50: float
    p95: float
    mapped: int = Field(description="bootstrap factors mapped to this base factor")


class PmfBootstrap(BaseModel):
    """ESAT's block bootstrap of the kept solution (B7: BS)."""

    runs: int
    block_size: int = Field(description="consecutive samples drawn together")
    r2_threshold: float = Field(description="r² of species totals to map a factor [1]")
    mapped_share: float = Field(description="share of bootstrap factors mapped [1]")
    mapped_per_factor: dict[str, int]
    intervals: list[PmfInterval]


class PmfRun(PmfRunSummary):
    """One stored run: species, every seed's Q(true), profiles F, contributions G, bootstrap."""

    species: list[PmfSpecies]
    models_q_true: list[float | None]
    profiles: dict[str, dict[str, float]] = Field(description="F: factor → species → value")
    contributions: dict[str, dict[str, float]] = Field(description="G: sample → factor → value")
    bootstrap: PmfBootstrap | None
    caption: str = Field(description="factors are statistical, named by the analyst")


def _readable(store: StoreViewDep, principal: CurrentPrincipal, site_id: str) -> None:
    if site_names(store, site_id, readable_kinds(principal)) is None:
        raise NotFound(f"no station {site_id} 无此站点")


@router.get("/{site_id}/pmf", response_model=PmfRuns, summary="Stored PMF runs 已保存的 PMF 结果")
def pmf_runs(store: StoreViewDep, principal: CurrentPrincipal, site_id: SiteParam) -> PmfRuns:
    """The station's PMF runs, newest first (``ecobasin sources pmf-runs``)."""
    _readable(store, principal, site_id)
    runs = [PmfRunSummary(**r) for r in service.runs(store, site_id)]
    return PmfRuns(site_id=site_id, runs=runs)


def _run(store: StoreViewDep, principal: CurrentPrincipal, site_id: str, run_id: str) -> Any:
    _readable(store, principal, site_id)
    return service.stored_run(store, site_id, run_id)


@router.get("/{site_id}/pmf/{run_id}", response_model=PmfRun, summary="One PMF run PMF 结果")
def pmf_run(
    store: StoreViewDep, principal: CurrentPrincipal, site_id: SiteParam, run_id: RunParam
) -> PmfRun:
    """Profiles, contributions, Q values and the bootstrap's summary and intervals."""
    run = _run(store, principal, site_id, run_id)
    return PmfRun(**run, caption=service.FACTOR_CAPTION)


@router.get(
    "/{site_id}/pmf/{run_id}/{kind}.{fmt}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
    summary="PMF factor profiles or contributions 因子谱 / 因子贡献图",
)
def pmf_figure(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    site_id: SiteParam,
    run_id: RunParam,
    kind: Literal["profiles", "contributions"],
    fmt: Literal["png", "svg"],
) -> Response:
    """The profiles (bars per factor, species on x) or the stacked contributions over time."""
    run = _run(store, principal, site_id, run_id)
    with _RENDERING:
        body = service.pmf_plot(run, kind, fmt)
    return Response(body, media_type=_MEDIA[fmt], headers={"Cache-Control": "max-age=300"})
