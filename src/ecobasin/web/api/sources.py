"""``GET /api/v1/sources/{site_id}/{method}``: where the pollution at a station comes from (查源头).

The values (JSON) and the plot (``.png``) of the pollution rose, percentile rose, CPF, CBPF and
bivariate polar plot of one station, pollutant and period of CST days (brief
``../shared/reference/nonroad_and_source.md`` Part B), the numbers of ``ecobasin sources …``:
both ask :mod:`ecobasin.services.sources`. Sites the caller may not read are not found
(``readable_kinds`` of the policy module); a period is at most five years. Plots are rendered two at a time (the surface fit is
CPU-bound); others wait their turn.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from ecobasin.services import sources as service
from ecobasin.web.deps import StoreViewDep
from ecobasin.web.problems import problem_responses
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import readable_kinds

router = APIRouter(prefix="/sources", tags=["sources"], responses=problem_responses(404, 422))

Method = Literal["rose", "percentile", "cpf", "cbpf", "polar"]
#: plots rendered at the same time (each surface fit takes a core)
_RENDERING = threading.BoundedSemaphore(2)


class SourceItem(BaseModel):
    """One sector or (direction, speed) bin; only the fields of its method are set."""

    sector: float | None = Field(None, description="sector centre [°, wind from]")
    wd: float | None = Field(None, description="bin direction [°, wind from]")
    ws: float | None = Field(None, description="bin speed (interval centre) [m/s]")
    n: int = Field(description="hours in the sector or bin")
    m: int | None = Field(None, description="hours above the threshold (CPF)")
    cpf: float | None = Field(None, description="CPF m/n [1]; null when n < min_n")
    prop_count_pct: float | None = Field(None, description="share of hours [%] (B2)")
    prop_mean_pct: float | None = Field(None, description="share of the concentration sum [%]")
    value: float | None = Field(None, description="bin mean [unit] or CBPF [1]; null under min_bin")
    weight: float | None = Field(None, description="the bin's smoothing weight (B5 step 3)")
    u: float | None = Field(None, description="east coordinate [m/s]")
    v: float | None = Field(None, description="north coordinate [m/s]")
    p25: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p95: float | None = None


class SourceAnalysis(BaseModel):
    """A method's values at a station: likely source direction 可能来源方向, not source share."""

    site_id: str
    name_zh: str | None
    name_en: str | None
    pollutant: str
    unit: str
    start: date
    end: date
    method: Method
    hours: int = Field(description="hours with a concentration and a wind")
    wind_origin: Literal["station", "nearest", "imported"]
    wind_site: str | None
    wind_distance_km: float | None
    calm_ws: float = Field(description="calm threshold [m/s]")
    calm_share: float = Field(description="share of calm hours (ws < calm_ws) [1]")
    short_record: bool = Field(description="fewer hours than one season (B8)")
    threshold: float | None = Field(description="P-th percentile [unit] (CPF, CBPF)")
    upper_threshold: float | None = Field(description="upper percentile of an interval CBPF")
    guardrail: str
    items: list[SourceItem]


PollutantQuery = Annotated[str, Query(max_length=16, description="Pollutant 污染物, e.g. PM2.5.")]
StartQuery = Annotated[date, Query(description="First CST day 开始日期.")]
EndQuery = Annotated[date, Query(description="Last CST day (inclusive) 结束日期.")]
PercentileQuery = Annotated[float, Query(ge=0, le=100, description="Threshold percentile [%].")]
UpperQuery = Annotated[
    float | None, Query(ge=0, le=100, description="Upper percentile of an interval CBPF [%].")
]
CalmQuery = Annotated[float, Query(ge=0, le=5, description="Calm threshold [m/s] 静风阈值.")]
MinNQuery = Annotated[int, Query(ge=1, le=1000, description="Sector minimum hours (CPF, roses).")]
MinBinQuery = Annotated[int, Query(ge=1, le=100, description="Polar bin minimum hours.")]
SiteParam = Annotated[str, Path(max_length=64, description="Station id 站点编码.")]


def _data(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    site_id: str,
    pollutant: str,
    start: date,
    end: date,
) -> service.SourceData:
    kinds = readable_kinds(principal)
    return service.station_data(store, site_id, pollutant, start, end, kinds=kinds)


@router.get(
    "/{site_id}/{method}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="A source-analysis plot 来源分析图",
)
def source_plot(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    site_id: SiteParam,
    method: Method,
    pollutant: PollutantQuery,
    start: StartQuery,
    end: EndQuery,
    percentile: PercentileQuery = 75.0,
    upper_percentile: UpperQuery = None,
    calm_ws: CalmQuery = 0.5,
    min_n: MinNQuery = 10,
    min_bin: MinBinQuery = 3,
) -> Response:
    """The PNG of one method, with n per sector or bin and the B8 guardrail caption."""
    data = _data(store, principal, site_id, pollutant, start, end)
    with _RENDERING:
        png = service.plot_png(
            data, method, percentile=percentile, upper_percentile=upper_percentile,
            calm_ws=calm_ws, min_n=min_n, min_bin=min_bin,
        )  # fmt: skip
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})


@router.get(
    "/{site_id}/{method}", response_model=SourceAnalysis, summary="Source-analysis values 来源分析"
)
def source_values(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    site_id: SiteParam,
    method: Method,
    pollutant: PollutantQuery,
    start: StartQuery,
    end: EndQuery,
    percentile: PercentileQuery = 75.0,
    upper_percentile: UpperQuery = None,
    calm_ws: CalmQuery = 0.5,
    min_n: MinNQuery = 10,
    min_bin: MinBinQuery = 3,
) -> SourceAnalysis:
    """Per sector or bin: n and the method's values (the same as ``ecobasin sources``)."""
    data = _data(store, principal, site_id, pollutant, start, end)
    values = service.analyse(
        data, method, percentile=percentile, upper_percentile=upper_percentile,
        calm_ws=calm_ws, min_n=min_n, min_bin=min_bin,
    )  # fmt: skip
    return SourceAnalysis.model_validate(values)
