"""Incident API (issue 22): sudden water-pollution incidents on shared rivers.

Every step of the joint response for a province system or a city's own platform to drive:
open an incident (the source city), read it (the cities on it and the province), acknowledge a
notice, approve the joint monitoring plan, post results, refit the forecast, ask for and
dispatch materials, and the score. The answers are those of ``ecobasin incident …``: both call
:mod:`ecobasin.services.incidents`. Rights: :func:`~ecobasin.web.security.policy.incident_denial`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, Field

from ecobasin.services import incidents as service
from ecobasin.web.deps import StoreViewDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import FORBIDDEN, CurrentPrincipal, unauthorized
from ecobasin.web.security.policy import Principal, incident_denial

if TYPE_CHECKING:
    from ecobasin.store import Store

__all__ = ["materials", "rivers", "router"]

router = APIRouter(
    prefix="/incidents", tags=["incidents"], responses=problem_responses(401, 403, 404, 409, 422)
)
rivers = APIRouter(prefix="/rivers", tags=["incidents"], responses=problem_responses(404, 422))
materials = APIRouter(
    prefix="/materials", tags=["incidents"], responses=problem_responses(401, 403, 422)
)

IncidentId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


RequestStore = StoreViewDep  # a Store view over a cursor of its own for this request


def _allow(
    principal: Principal, action: str, source_city: int, involved: tuple[int, ...] = ()
) -> None:
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to read or act on incidents 请先登录")
    reason = incident_denial(principal, action, source_city, involved)
    if reason is not None:
        raise ProblemError(403, reason, type=FORBIDDEN, title="Not allowed 无权限")


def _check(store: Store, principal: Principal, action: str, incident_id: str) -> dict[str, Any]:
    found = service.incident_view(store, incident_id)["incident"]
    involved = tuple(int(c) for c in service.involved_cities(store, incident_id))
    _allow(principal, action, int(found["city_code"]), involved)
    return dict(found)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: timestamps as ISO text, NaN as null."""
    out = []
    for row in table.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp | datetime):
                clean[str(key)] = None if pd.isna(value) else value.isoformat()
            elif isinstance(value, float) and math.isnan(value):
                clean[str(key)] = None
            else:
                clean[str(key)] = value.item() if hasattr(value, "item") else value
        out.append(clean)
    return out


class ReleaseIn(BaseModel):
    """What entered the river 排放: a slug (mass) or a rate, for a duration if finite."""

    mode: Literal["instantaneous", "continuous", "finite"]
    mass_kg: float = Field(default=0.0, ge=0, le=1e9)
    rate_kg_h: float = Field(default=0.0, ge=0, le=1e8)
    duration_h: float = Field(default=0.0, ge=0, le=24 * 365)
    decay_per_day: float = Field(default=0.0, ge=0, le=100)


class FactsIn(BaseModel):
    """Impact facts known at determination 影响情况 (the forecast adds intakes and boundaries)."""

    deaths: int = Field(default=0, ge=0, le=100000)
    poisoned_or_injured: int = Field(default=0, ge=0, le=10**7)
    evacuated: int = Field(default=0, ge=0, le=10**8)
    direct_loss_cny: float = Field(default=0.0, ge=0, le=1e13)
    intake_interrupted: Literal["township", "county_city", "prefecture_city"] | None = None
    cross_boundary: Literal["county", "prefecture", "provincial", "national"] | None = None


SourceType = Literal[
    "enterprise", "transport", "pipeline", "sewage", "tailings", "other", "unknown"
]


class IncidentIn(BaseModel):
    """A new incident 新建突发事件 at a node of a stored river network."""

    title: str = Field(min_length=1, max_length=200)
    source_type: SourceType = Field(
        default="unknown", description="What released it 排放源类型 (brief §3 source_type)."
    )
    source: str = Field(
        default="", max_length=500, description="Who or which plant, vehicle 排放源, free text."
    )
    network: str = Field(default="demo", max_length=60)
    node_id: str = Field(max_length=60)
    city: int = Field(ge=100000, le=999999, description="Source city 事发城市 (GB/T 2260).")
    substance: str = Field(max_length=60, description="e.g. benzene; its threshold from the table.")
    threshold_mg_L: float | None = Field(default=None, gt=0, le=1e4)
    release: ReleaseIn
    facts: FactsIn = Field(default_factory=FactsIn)
    occurred_at: AwareDatetime
    discovered_at: AwareDatetime
    determined_at: AwareDatetime
    drill: bool = False


class IncidentSummary(BaseModel):
    incident_id: str
    title: str
    city_code: str
    substance: str
    grade: str
    status: str
    drill: bool
    determined_at: str


class IncidentView(BaseModel):
    """Everything about one incident 事件全貌: the record, the latest forecast (and how many
    runs), notices, the monitoring plan and approvals, results, materials, the timeline."""

    incident: dict[str, Any]
    forecast_runs: int
    forecast: list[dict[str, Any]]
    forecast_params: dict[str, Any]
    notices: list[dict[str, Any]]
    plan_version: int
    plan: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    events: list[dict[str, Any]]
    curves: list[dict[str, Any]] = Field(
        description="C(t) [mg/L] at each intake and site below the spill, low/high dispersion."
    )


class Opened(BaseModel):
    incident_id: str
    grade: str
    notices: int


def view_model(store: Store, incident_id: str) -> IncidentView:
    """The incident as the API and the page show it."""
    view = service.incident_view(store, incident_id)
    record = {
        k: (v.isoformat() if isinstance(v, pd.Timestamp | datetime) else v)
        for k, v in view["incident"].items()
    }
    runs = view["forecasts"]
    return IncidentView(
        incident=record,
        forecast_runs=len(runs),
        forecast=_records(runs[-1]["table"]) if runs else [],
        forecast_params=runs[-1]["params"] if runs else {},
        notices=_records(service.notice_board(store, incident_id, datetime.now(UTC))),
        plan_version=view["plan_version"],
        plan=_records(view["plan"]),
        approvals=_records(view["approvals"]),
        samples=_records(view["samples"]),
        materials=_records(view["materials"]),
        events=_records(view["events"]),
        curves=service.curves(store, incident_id),
    )


@router.get("", response_model=list[IncidentSummary])
def list_incidents(principal: CurrentPrincipal, store: RequestStore) -> list[IncidentSummary]:
    """Incidents the caller may read 可查看的事件, newest first."""
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to read or act on incidents 请先登录")
    cities = None
    if principal.role not in ("admin", "viewer"):
        cities = [str(principal.city_code)] if principal.city_code else []
    table = service.list_incidents(store, cities)
    return [
        IncidentSummary(
            **{**r, "determined_at": str(r["determined_at"]), "drill": bool(r["drill"])}
        )
        for r in _records(table)
    ]


@router.post("", response_model=Opened, status_code=201)
def open_incident(principal: CurrentPrincipal, store: RequestStore, body: IncidentIn) -> Opened:
    """Open an incident 报告突发事件: forecast, grade, notices sent, monitoring plan."""
    _allow(principal, "open", body.city)
    region = [str(c) for c in store.cities(region_only=True)["code"]]
    now = datetime.now(UTC)
    with store.transaction():
        incident_id = service.open_incident(
            store, title=body.title, network=body.network, node_id=body.node_id, city=str(body.city),
            substance=body.substance, release=body.release.model_dump(),
            facts=body.facts.model_dump(), occurred_at=body.occurred_at,
            discovered_at=body.discovered_at, determined_at=body.determined_at,
            actor=principal.name or "-", region_cities=region, now=now,
            threshold_mg_L=body.threshold_mg_L, drill=body.drill,
            source_type=body.source_type, source=body.source,
        )  # fmt: skip
        accounts.audit(store.con, principal, "incident.open", incident_id, body.city)
    found = service.incident_view(store, incident_id)
    return Opened(
        incident_id=incident_id,
        grade=str(found["incident"]["grade"]),
        notices=len(found["notices"]),
    )


@router.get("/{incident_id}", response_model=IncidentView)
def incident(
    principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId
) -> IncidentView:
    """One incident 事件详情 (the cities on it and the province)."""
    _check(store, principal, "read", incident_id)
    return view_model(store, incident_id)


class Done(BaseModel):
    incident_id: str
    detail: dict[str, Any] = Field(default_factory=dict)


class AckIn(BaseModel):
    note: str = Field(default="", max_length=500)


@router.post("/{incident_id}/notices/{notice_id}/ack", response_model=Done)
def acknowledge(
    principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId,
    notice_id: Annotated[int, Path(ge=1)], body: AckIn,
) -> Done:  # fmt: skip
    """The receiving city acknowledges its notice 确认收到通报."""
    _check(store, principal, "acknowledge", incident_id)
    city = None if principal.role == "admin" else str(principal.city_code)
    with store.transaction():
        service.acknowledge(
            store, incident_id, notice_id, city, principal.name or "-", datetime.now(UTC)
        )
        accounts.audit(
            store.con,
            principal,
            "incident.ack",
            incident_id,
            principal.city_code,
            {"notice_id": notice_id},
        )
    return Done(incident_id=incident_id, detail={"notice_id": notice_id})


@router.post("/{incident_id}/plan/approve", response_model=Done)
def approve(principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId) -> Done:
    """A city approves the joint monitoring plan 会签监测方案."""
    _check(store, principal, "approve", incident_id)
    if principal.city_code is None:
        raise ProblemError(422, "approving a plan is a city's act: sign in as the city's editor")
    with store.transaction():
        state = service.approve_plan(
            store, incident_id, str(principal.city_code), principal.name or "-", datetime.now(UTC)
        )
        accounts.audit(store.con, principal, "incident.approve", incident_id, principal.city_code)
    return Done(incident_id=incident_id, detail=state)


class ResultIn(BaseModel):
    node_id: str = Field(max_length=60)
    sampled_at: AwareDatetime
    value_mg_L: float
    method: Literal["auto", "field", "lab"] = "auto"


class ResultsIn(BaseModel):
    results: list[ResultIn] = Field(min_length=1, max_length=5000)


@router.post("/{incident_id}/results", response_model=Done)
def results(
    principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId, body: ResultsIn
) -> Done:
    """Monitoring results 监测结果 (each refused row comes back with its reason)."""
    _check(store, principal, "results", incident_id)
    city = None if principal.role == "admin" else str(principal.city_code)
    rows = pd.DataFrame([r.model_dump() for r in body.results])
    with store.transaction():
        outcome = service.add_results(
            store, incident_id, rows, city, principal.name or "-", datetime.now(UTC)
        )
        accounts.audit(
            store.con,
            principal,
            "incident.results",
            incident_id,
            principal.city_code,
            {"accepted": outcome["accepted"]},
        )
    return Done(incident_id=incident_id, detail=outcome)


@router.post("/{incident_id}/refit", response_model=Done)
def refit(principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId) -> Done:
    """Refit velocity and dispersion to the observed passage 用实测反演并更新预测."""
    _check(store, principal, "refit", incident_id)
    with store.transaction():
        fit = service.refit(store, incident_id, principal.name or "-", datetime.now(UTC))
        accounts.audit(store.con, principal, "incident.refit", incident_id, principal.city_code)
    return Done(incident_id=incident_id, detail=fit)


class MaterialIn(BaseModel):
    to_city: int = Field(ge=100000, le=999999, description="The city asked 被请求城市.")
    item: str = Field(min_length=1, max_length=80)
    quantity: float = Field(gt=0, le=1e7)
    unit: str = Field(min_length=1, max_length=20)


@router.post("/{incident_id}/materials", response_model=Done, status_code=201)
def request_material(
    principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId, body: MaterialIn
) -> Done:
    """Ask another city for emergency materials 请求应急物资."""
    _check(store, principal, "materials", incident_id)
    if principal.city_code is None:
        raise ProblemError(422, "a request is a city's act: sign in as the city's editor")
    with store.transaction():
        request_id = service.request_material(
            store, incident_id, str(principal.city_code), str(body.to_city), body.item,
            body.quantity, body.unit, principal.name or "-", datetime.now(UTC),
        )  # fmt: skip
        accounts.audit(store.con, principal, "incident.material", incident_id, principal.city_code)
    return Done(incident_id=incident_id, detail={"request_id": request_id})


@router.post("/{incident_id}/materials/{request_id}/dispatch", response_model=Done)
def dispatch(
    principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId,
    request_id: Annotated[int, Path(ge=1)],
) -> Done:  # fmt: skip
    """The asked city dispatches 调拨物资 (only that city or the province)."""
    _check(store, principal, "materials", incident_id)
    asked = service.material_requests(store, incident_id)
    row = asked[asked["request_id"] == request_id]
    if row.empty:
        raise ProblemError(404, f"no material request {request_id} in {incident_id}")
    if principal.role != "admin" and str(row.iloc[0]["to_city"]) != str(principal.city_code):
        raise ProblemError(
            403, "only the city asked dispatches its materials 仅被请求城市可调拨", type=FORBIDDEN
        )
    with store.transaction():
        service.dispatch_material(
            store, incident_id, request_id, principal.name or "-", datetime.now(UTC)
        )
        accounts.audit(store.con, principal, "incident.dispatch", incident_id, principal.city_code)
    return Done(incident_id=incident_id, detail={"request_id": request_id})


class ReplayIn(BaseModel):
    determined_at: AwareDatetime = Field(description="The drill's determination time 演练开始时间.")


@router.post("/{incident_id}/replay", response_model=Opened, status_code=201)
def replay(
    principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId, body: ReplayIn
) -> Opened:
    """Replay an incident as a drill with a clock offset 重演为演练 (the source city or the province)."""
    found = _check(store, principal, "open", incident_id)
    region = [str(c) for c in store.cities(region_only=True)["code"]]
    with store.transaction():
        drill_id = service.replay(
            store, incident_id, body.determined_at, principal.name or "-", region, datetime.now(UTC)
        )
        accounts.audit(store.con, principal, "incident.replay", drill_id, int(found["city_code"]))
    view = service.incident_view(store, drill_id)
    return Opened(
        incident_id=drill_id, grade=str(view["incident"]["grade"]), notices=len(view["notices"])
    )


class NoticeDelay(BaseModel):
    """One notice's delays [min] 通报延误: sent past its deadline, acknowledged past its window."""

    notice_id: int
    kind: str
    to_city: str | None
    send_delay_min: float | None
    ack_delay_min: float | None = Field(description="None: not cross-boundary, or never acked.")
    acknowledged: bool


class StationError(BaseModel):
    """The first forecast's peak time against the observed peak at one station 站点预测误差 [h]."""

    node_id: str
    forecast_peak_h: float
    observed_peak_h: float
    error_h: float = Field(description="forecast − observed [h]: positive when forecast late.")


class Score(BaseModel):
    """Notice delays and forecast errors 通报时效与预测误差 (for drills and after an event)."""

    notices: int
    unsent: int
    late: int
    max_delay_min: float
    ack_late: int
    unacknowledged: int
    max_ack_delay_min: float
    mean_arrival_error_h: float | None
    max_arrival_error_h: float | None
    notice_delays: list[NoticeDelay]
    stations: list[StationError]


@router.get("/{incident_id}/score", response_model=Score)
def score(principal: CurrentPrincipal, store: RequestStore, incident_id: IncidentId) -> Score:
    """The score of an incident or drill 演练评分."""
    _check(store, principal, "read", incident_id)
    return Score(**service.score(store, incident_id))


class NodeOut(BaseModel):
    node_id: str
    kind: str
    name_zh: str | None
    name_en: str | None
    river: str | None
    city: str | None
    lon: float | None
    lat: float | None


class ReachOut(BaseModel):
    reach_id: str
    from_node: str
    to_node: str
    river: str | None
    length_km: float


class RiverNetwork(BaseModel):
    """A river network 河网 for the map: nodes with their points, reaches between them."""

    network: str
    nodes: list[NodeOut]
    reaches: list[ReachOut]


@rivers.get("/{network}", response_model=RiverNetwork)
def network(store: RequestStore, network: Annotated[str, Path(max_length=60)]) -> RiverNetwork:
    """The river network (public: rivers, sections and intakes are public geography)."""
    nodes, reaches = service.network_tables(store, network)
    if nodes.empty:
        raise ProblemError(404, f"no river network {network!r}")
    return RiverNetwork(
        network=network,
        nodes=[NodeOut(**r) for r in _records(nodes[list(NodeOut.model_fields)])],
        reaches=[ReachOut(**r) for r in _records(reaches[list(ReachOut.model_fields)])],
    )


class StockIn(BaseModel):
    """One depot's stock of one item 应急物资储备."""

    depot_id: str = Field(min_length=1, max_length=40)
    depot_name: str = Field(min_length=1, max_length=120)
    item: str = Field(min_length=1, max_length=80)
    quantity: float = Field(ge=0, le=1e9)
    unit: str = Field(min_length=1, max_length=20)
    expires_on: date | None = None


class StocksIn(BaseModel):
    stocks: list[StockIn] = Field(min_length=1, max_length=5000)


class StockOut(BaseModel):
    depot_id: str
    city_code: str
    depot_name: str
    item: str
    quantity: float
    unit: str
    expires_on: str | None
    expired: bool = Field(
        description="Past its expiry on today's CST date 已过期 (never dispatched)."
    )
    updated_at: str


class StocksKept(BaseModel):
    city: str
    kept: int
    rejected: list[dict[str, Any]] = Field(description="Refused rows, each with its reason.")


@materials.get("/stocks", response_model=list[StockOut])
def list_stocks(principal: CurrentPrincipal, store: RequestStore) -> list[StockOut]:
    """Every city's emergency reserves by depot 各市应急物资储备 (signed-in users)."""
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to read the reserves 请先登录")
    table = service.stocks(store, datetime.now(UTC))
    return [
        StockOut(**{**r, "expires_on": None if r["expires_on"] is None else str(r["expires_on"])})
        for r in _records(table)
    ]


@materials.put("/stocks/{city}", response_model=StocksKept)
def set_stocks(
    principal: CurrentPrincipal, store: RequestStore,
    city: Annotated[int, Path(ge=100000, le=999999)], body: StocksIn,
) -> StocksKept:  # fmt: skip
    """A city keeps its depots' stock 更新本市应急物资储备 (its editors or the province)."""
    _allow(principal, "stock", city)
    rows = pd.DataFrame([r.model_dump() for r in body.stocks])
    rows["expires_on"] = rows["expires_on"].map(lambda d: None if d is None else d.isoformat())
    with store.transaction():
        kept = service.set_stocks(store, str(city), rows, principal.name or "-", datetime.now(UTC))
        accounts.audit(
            store.con, principal, "incident.stocks", str(city), city, {"kept": kept["kept"]}
        )
    return StocksKept(city=str(city), kept=kept["kept"], rejected=kept["rejected"])
