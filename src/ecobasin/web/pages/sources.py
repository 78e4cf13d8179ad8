"""A station's source page (查源头, issue 19): ``/sources/{site_id}`` with a pollutant, a period of
CST days and a percentile to choose (a GET form, no script), showing the pollution rose, the
percentile rose, CPF, CBPF and the bivariate polar plot as PNGs from
``/api/v1/sources/{site_id}/{method}.png``, the wind's origin and calm share, and the B8
guardrail: a likely source direction, not a source share; and, when back-trajectories were
imported for the station, the regional-transport section: the weighted PSCF and CWT maps
(``/api/v1/sources/{site_id}/trajectories/{method}.png``, likely source regions, not source
shares) and the tdump files offered, those kept aside with their reasons; and the latest stored
PMF run (B7: Q values, bootstrap, factor profiles and contributions as PNGs from
``/api/v1/sources/{site_id}/pmf/{run_id}/…``; factors are statistical, named by the analyst)
(``../shared/reference/nonroad_and_source.md`` Part B).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ecobasin.errors import InputError, NotFound
from ecobasin.services import pmf as pmf_service
from ecobasin.services import source_trajectories as trajectory_service
from ecobasin.services import sources as service
from ecobasin.web.deps import StoreViewDep
from ecobasin.web.pages.dashboard import templates
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import readable_kinds

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: the plots of the page in order, with their bilingual names
PLOTS = (
    ("rose", "污染玫瑰图 Pollution rose"),
    ("percentile", "百分位玫瑰图 Percentile rose"),
    ("cpf", "条件概率函数 CPF"),
    ("cbpf", "条件双变量概率函数 CBPF"),
    ("polar", "双变量极坐标图 Bivariate polar plot"),
)


#: the trajectory maps of the page (B6), with their bilingual names
TRAJECTORY_PLOTS = (
    ("pscf", "加权潜在源贡献函数 Weighted PSCF"),
    ("cwt", "加权浓度权重轨迹 Weighted CWT"),
)


#: the PMF figures of the page (B7), with their bilingual names
PMF_PLOTS = (
    ("profiles", "因子谱 Factor profiles"),
    ("contributions", "因子贡献时间序列 Contributions over time"),
)


def _day(text: str | None, default: date | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _percentile(text: str | None) -> float:
    try:
        value = float(text) if text else 75.0
    except ValueError:
        return 75.0
    return value if 0.0 < value < 100.0 else 75.0


def _choice(request: Request, choices: dict[str, Any]) -> dict[str, Any]:
    asked = request.query_params
    pollutants = choices["pollutants"]
    pollutant = asked.get("pollutant")
    return {
        "pollutant": pollutant if pollutant in pollutants else (pollutants or [None])[0],
        "start": _day(asked.get("start"), choices["default_start"]),
        "end": _day(asked.get("end"), choices["last_day"]),
        "percentile": _percentile(asked.get("percentile")),
    }


@router.get("/sources/{site_id}", response_class=HTMLResponse)
def sources_page(
    request: Request, site_id: str, store: StoreViewDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The station's source view: the choice form, the facts and the five plots."""
    kinds = readable_kinds(principal)
    site = service.site_names(store, site_id, kinds)
    if site is None:
        message = f"没有站点 {site_id} · no station {site_id}"
        return templates.TemplateResponse(
            request, "notfound.html", {"page": "", "message": message}, status_code=404
        )
    choices = service.station_choices(store, site_id)
    chosen = _choice(request, choices)
    facts, problem = None, None
    if chosen["pollutant"] and chosen["start"] and chosen["end"]:
        try:
            data = service.station_data(
                store, site_id, chosen["pollutant"], chosen["start"], chosen["end"], kinds=kinds
            )
            facts = data.facts(0.5)
        except (InputError, NotFound) as error:
            problem = error.reason
    query = urlencode({k: v for k, v in chosen.items() if v is not None})
    trajectory_query = urlencode(
        {k: v for k, v in chosen.items() if v is not None and k != "percentile"}
    )
    return templates.TemplateResponse(
        request,
        "sources.html",
        {
            "page": "",
            "site": site,
            "choices": choices,
            "chosen": chosen,
            "facts": facts,
            "problem": problem,
            "plots": PLOTS,
            "query": query,
            "trajectory_files": trajectory_service.trajectory_files(store, site_id, kinds),
            "trajectory_query": trajectory_query,
            "trajectory_plots": TRAJECTORY_PLOTS,
            "pmf_run": pmf_service.latest_run(store, site_id),
            "pmf_plots": PMF_PLOTS,
            "pmf_caption": pmf_service.FACTOR_CAPTION,
        },
    )
