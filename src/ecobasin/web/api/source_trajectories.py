"""``/api/v1/sources/{site_id}/trajectories/…``: regional transport at a station (查源头, issue 19).

- ``POST …/trajectories/files``: upload HYSPLIT ``tdump`` files (multipart, at most
  :data:`~ecobasin.services.source_trajectories.MAX_FILES` per request, each at most
  ``MAX_TDUMP_BYTES``); a bad file is kept aside with its reason and the others are imported.
  Writing needs the ``write`` right on the station's city (its editors, admins).
- ``GET …/trajectories/files``: the files offered, with the reasons of those kept aside.
- ``GET …/trajectories/{pscf|cwt}`` and ``.png``: PSCF / weighted PSCF and CWT / weighted CWT per
  grid cell (brief ``../shared/reference/nonroad_and_source.md`` B6), the numbers of ``ecobasin
  sources pscf|cwt``; the map shows likely source regions, not source shares (B8).

Sites the caller may not read are not found (``readable_kinds`` of the policy module). Maps are
rendered two at a time with the other source plots' semaphore.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field

from ecobasin.services import source_trajectories as service
from ecobasin.web.api.sources import _RENDERING, EndQuery, PollutantQuery, SiteParam, StartQuery
from ecobasin.web.deps import RegionDep, StoreViewDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, authorize
from ecobasin.web.security.policy import readable_kinds

__all__ = ["router"]

router = APIRouter(prefix="/sources", tags=["sources"], responses=problem_responses(404, 413, 422))

IncQuery = Annotated[float, Query(ge=0.25, le=5.0, description="Grid cell size [°] 网格大小.")]
PercentileQuery = Annotated[
    float, Query(ge=0, le=100, description="PSCF threshold percentile [%] (openair: 90).")
]
PscfWeights = Annotated[
    str, Query(max_length=32, description="PSCF weight table (openair, literature, none).")
]
CwtWeights = Annotated[str, Query(max_length=32, description="CWT weight table (openair, none).")]


class TrajectoryFile(BaseModel):
    """A tdump file offered for a station: imported, or kept aside with the reason."""

    sha256: str = Field(description="SHA-256 of the bytes [hex]")
    name: str
    size: int = Field(description="[bytes]")
    status: Literal["imported", "rejected", "known"]
    reason: str | None = Field(description="why the file was kept aside 拒收原因")
    endpoints: int = Field(description="endpoints read")
    bad_lines: int = Field(description="lines kept aside 无法读取的行数")
    first_bad_lines: list[str] = Field(description="the first lines kept aside, with reasons")


class TrajectoryImport(TrajectoryFile):
    new_endpoints: int = Field(description="endpoints new to the station")


class TrajectoryImports(BaseModel):
    site_id: str
    imported: int
    rejected: int
    files: list[TrajectoryImport]


class TrajectoryFiles(BaseModel):
    site_id: str
    files: list[TrajectoryFile]


class TrajectoryCell(BaseModel):
    """One grid cell: its centre, endpoints and the methods' values."""

    cell: str = Field(description="'lat,lon' of the centre")
    lat: float = Field(description="[°N]")
    lon: float = Field(description="[°E]")
    N: int = Field(description="endpoints in the cell")
    m: int = Field(description="endpoints above the threshold")
    pscf: float = Field(description="m/N [1]")
    w_pscf: float = Field(description="PSCF weight of the table [1]")
    wpscf: float = Field(description="weighted PSCF [1]")
    cwt: float = Field(description="mean concentration over the cell's endpoints [unit]")
    w_cwt: float = Field(description="CWT weight of the table [1]")
    wcwt: float = Field(description="weighted CWT [unit]")


class TrajectoryAnalysis(BaseModel):
    """PSCF and CWT at a station: likely source regions 可能的潜在源区, not source shares."""

    site_id: str
    name_zh: str | None
    pollutant: str
    unit: str
    start: date
    end: date
    inc: float = Field(description="cell size [°]")
    percentile: float = Field(description="PSCF threshold percentile [%]")
    threshold: float = Field(description="the percentile of the endpoints' concentrations [unit]")
    trajectories: int = Field(description="trajectories arriving in the period")
    trajectories_with_conc: int = Field(description="of which at an hour with a concentration")
    endpoints: int
    pscf_weights: str
    pscf_weights_label: str
    cwt_weights: str
    cwt_weights_label: str
    caption: str
    cells: list[TrajectoryCell]


@router.post(
    "/{site_id}/trajectories/files",
    response_model=TrajectoryImports,
    status_code=201,
    summary="Import HYSPLIT back-trajectories 导入后向轨迹",
)
async def import_files(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    site_id: SiteParam,
    files: Annotated[list[UploadFile], File(description="HYSPLIT tdump files")],
) -> TrajectoryImports:
    """Each file is imported, or kept aside with the reason; the others go on."""
    site = store.sites(site_ids=[site_id], kinds=readable_kinds(principal))
    if site.empty:
        raise ProblemError(404, f"no site {site_id!r}")
    authorize(principal, "write", int(site.iloc[0]["city_code"]), f"trajectories of {site_id}")
    if len(files) > service.MAX_FILES:
        raise ProblemError(413, f"{len(files)} files, at most {service.MAX_FILES} per request")
    answers = []
    for upload in files:
        content = await upload.read(service.MAX_TDUMP_BYTES + 1)
        answers.append(
            service.import_tdump(
                store,
                site_id,
                upload.filename or "upload.tdump",
                content,
                principal.name,
                datetime.now(UTC),
            )
        )
    imported = sum(a["status"] == "imported" for a in answers)
    rejected = sum(a["status"] == "rejected" for a in answers)
    items = [TrajectoryImport(**a) for a in answers]
    return TrajectoryImports(site_id=site_id, imported=imported, rejected=rejected, files=items)


@router.get(
    "/{site_id}/trajectories/files",
    response_model=TrajectoryFiles,
    summary="Back-trajectory files of a station 轨迹文件",
)
def list_files(
    store: StoreViewDep, principal: CurrentPrincipal, site_id: SiteParam
) -> TrajectoryFiles:
    """Every file offered, newest first; rejected ones with their reason."""
    found = service.trajectory_files(store, site_id, readable_kinds(principal))
    return TrajectoryFiles(site_id=site_id, files=[TrajectoryFile(**f) for f in found])


def _data(
    store: StoreViewDep, principal: CurrentPrincipal, site_id: str, pollutant: str,
    start: date, end: date,
) -> service.TrajectoryData:  # fmt: skip
    kinds = readable_kinds(principal)
    return service.trajectory_data(store, site_id, pollutant, start, end, kinds)


@router.get(
    "/{site_id}/trajectories/{method}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="PSCF or CWT map 潜在源区图",
)
def trajectory_map(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    region: RegionDep,
    site_id: SiteParam,
    method: Literal["pscf", "cwt"],
    pollutant: PollutantQuery,
    start: StartQuery,
    end: EndQuery,
    inc: IncQuery = 1.0,
    percentile: PercentileQuery = 90.0,
    pscf_weights: PscfWeights = "openair",
    cwt_weights: CwtWeights = "openair",
    weighted: Annotated[bool, Query(description="Weighted values (WPSCF, WCWT).")] = True,
    min_n: Annotated[int, Query(ge=1, le=1000, description="Grey cells under N.")] = 1,
) -> Response:
    """The map over the region's city boundaries, with the receptor and the B8 caption."""
    data = _data(store, principal, site_id, pollutant, start, end)
    with _RENDERING:
        png = service.trajectory_png(
            data, method, region, inc=inc, percentile=percentile, pscf_weights=pscf_weights,
            cwt_weights=cwt_weights, weighted=weighted, min_n=min_n,
        )  # fmt: skip
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})


@router.get(
    "/{site_id}/trajectories/{method}",
    response_model=TrajectoryAnalysis,
    summary="PSCF and CWT per grid cell 潜在源区分析",
)
def trajectory_values(
    store: StoreViewDep,
    principal: CurrentPrincipal,
    site_id: SiteParam,
    method: Annotated[Literal["pscf", "cwt"], Path(description="Both answer every column.")],
    pollutant: PollutantQuery,
    start: StartQuery,
    end: EndQuery,
    inc: IncQuery = 1.0,
    percentile: PercentileQuery = 90.0,
    pscf_weights: PscfWeights = "openair",
    cwt_weights: CwtWeights = "openair",
) -> TrajectoryAnalysis:
    """Per cell: N, m, PSCF, weighted PSCF, CWT and weighted CWT (as ``ecobasin sources``)."""
    data = _data(store, principal, site_id, pollutant, start, end)
    values = service.trajectory_values(
        data, inc=inc, percentile=percentile, pscf_weights=pscf_weights, cwt_weights=cwt_weights
    )
    return TrajectoryAnalysis.model_validate(values)
