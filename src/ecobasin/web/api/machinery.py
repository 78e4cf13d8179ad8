"""``/api/v1/machinery/…``: the shared non-road machinery registry of the eight cities (issue 18).

Rights (:mod:`ecobasin.web.security.policy`, ``machinery:read`` / ``machinery:write``): every
signed-in account reads the whole registry, inspections and findings (mutual recognition, nonroad
brief A7); a city's editors record their city's spot checks; the public reads per-city aggregated
counts and the published no-use zones only. Everything goes through
:mod:`ecobasin.services.machinery`, as ``ecobasin machinery …`` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ecobasin.errors import InputError, NotFound
from ecobasin.services import machinery as service
from ecobasin.web.deps import RegionDep, StoreViewDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, GatePrincipal, authorize, require
from ecobasin.web.security.policy import Principal

router = APIRouter(prefix="/machinery", tags=["machinery"], responses=problem_responses(422))

MachineryReader = Annotated[Principal, Depends(require("machinery:read"))]
CityQuery = Annotated[int | None, Query(description="City code, e.g. 510100 城市代码")]
LimitQuery = Annotated[int, Query(ge=1, le=5000, description="Rows at most 最多行数")]


class CityCount(BaseModel):
    """One city's registry in numbers (what the public sees) 各市机械统计."""

    city: int
    name_zh: str
    name_en: str
    machines: int
    machines_g2_or_below: int = Field(description="国二及以下 China II and below")
    machines_electric: int
    inspections: int
    inspections_failed: int
    open_findings: int


class CountList(BaseModel):
    items: list[CityCount]


class Machine(BaseModel):
    """A registered machine with its engine and owner 机械登记信息."""

    machine_id: int
    registration_code: str = Field(description="as issued 登记编码（原样）")
    code_norm: str = Field(description="for matching 匹配用编码")
    issuer_city: int
    current_city: int
    registered_at: datetime
    status: str
    machine_type: str
    brand: str | None = None
    model: str | None = None
    machine_serial: str | None = None
    engine_serial: str | None = None
    manufacture_date: Any = None
    disclosure_no: str | None = None
    fuel: str
    stage_declared: str
    stage_verified: str | None = None
    stage_inferred: str | None = Field(None, description="review flag only 仅供复核")
    rated_power_kw: float | None = Field(None, description="[kW]")
    terminal_id: str | None = None
    owner_name: str | None = None


class MachineList(BaseModel):
    items: list[Machine]


class Inspection(BaseModel):
    """A spot check 监督抽测 (k in [m⁻¹], GB 36886-2018)."""

    inspection_id: int
    machine_id: int | None
    code_observed: str
    code_norm: str
    city: int
    agency: str
    inspected_at: datetime
    site_id: str | None = None
    method: str
    readings_k: list[float] | None = None
    k_mean: float | None = None
    ringelmann_grade: int | None = None
    limit_class: str | None = None
    limit_k: float | None = None
    result: str
    label_present: bool | None = None
    follow_up_due: datetime | None = None
    follow_up_of: int | None = None


class InspectionList(BaseModel):
    items: list[Inspection]


class Finding(BaseModel):
    """A firing of checks C1–C11 that can open a case 核查发现."""

    finding_id: int | None = None
    rule: str
    title: str | None = None
    code_norm: str
    machine_id: int | None = None
    city: int
    violation_type: str
    reason: str
    evidence: dict[str, Any]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    status: str | None = None
    case_ref: str | None = Field(
        default=None, description="The rectification case it opened 整改案件."
    )


class FindingList(BaseModel):
    items: list[Finding]


class MachineDetail(BaseModel):
    """A machine as every city sees it: its registrations, inspections and findings."""

    code_norm: str
    machines: list[Machine]
    inspections: list[Inspection]
    findings: list[Finding]


class SpotCheckIn(BaseModel):
    """A spot check to record (brief A5); three k readings [m⁻¹] or a Ringelmann grade."""

    code_observed: str = Field(min_length=1, max_length=40)
    city: int
    agency: str = Field(min_length=1, max_length=200)
    inspected_at: datetime
    method: Literal["free_accel", "ringelmann", "both", "visual_only"] = "free_accel"
    readings_k: list[float] = Field(default_factory=list, max_length=3)
    ringelmann_grade: int | None = Field(None, ge=0, le=5)
    site_id: str | None = Field(None, max_length=64)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    label_present: bool | None = True
    engine_serial_observed: str | None = Field(None, max_length=64)
    rated_power_kw: float | None = Field(None, gt=0, le=10_000)
    remarks: str | None = Field(None, max_length=2000)
    follow_up_of: int | None = None


class SpotCheckOut(BaseModel):
    """The stored check, its GB 36886-2018 verdict, violations opened and the findings."""

    inspection_id: int
    machine_id: int | None
    result: str
    limit_class: str | None
    k_mean: float | None
    k_limit: float | None
    reason: str
    violations: list[int]
    closed: int
    findings: list[Finding]


class CheckRun(BaseModel):
    """A run of checks C1–C11 over the shared registry."""

    at: datetime
    findings: int
    new: int
    seen_again: int
    by_rule: dict[str, int]


class Site(BaseModel):
    """A construction site (brief A6) [°E, °N]; ``in_zone`` derived from the active zones."""

    site_id: str
    city: int
    name: str
    permit_no: str | None = None
    lon: float
    lat: float
    in_zone: bool


class SiteList(BaseModel):
    items: list[Site]


class ZoneCollection(BaseModel):
    """The no-use zones in force, as GeoJSON 禁用区."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


@router.get("/counts", response_model=CountList, summary="Per-city counts 各市统计 (public)")
def counts(store: StoreViewDep) -> CountList:
    """Machines, inspections, failures and open findings per city: aggregates only."""
    return CountList(items=[CityCount(**row) for row in service.public_counts(store)])


@router.get("/zones", response_model=ZoneCollection, summary="No-use zones 禁用区 (public)")
def zones(store: StoreViewDep) -> ZoneCollection:
    """The zones in force now, with their rules, as published in the cities' notices."""
    return ZoneCollection(**service.zone_features(store))


@router.get("/machines", response_model=MachineList, summary="The shared registry 机械登记")
def machines(
    store: StoreViewDep, _: MachineryReader, city: CityQuery = None, limit: LimitQuery = 500
) -> MachineList:
    """Machines of every city (or one): a code issued by any city holds in all."""
    return MachineList(items=[Machine(**row) for row in service.registry(store, city, limit)])


@router.get(
    "/machines/{code}",
    response_model=MachineDetail,
    responses=problem_responses(404),
    summary="One machine 机械详情",
)
def machine(code: str, store: StoreViewDep, _: MachineryReader) -> MachineDetail:
    """A machine by its code (separators ignored), with every city's inspections and findings."""
    try:
        return MachineDetail(**service.machine_detail(store, code))
    except NotFound as error:
        raise ProblemError(404, error.reason) from None


@router.get("/inspections", response_model=InspectionList, summary="Spot checks 监督抽测")
def inspections(
    store: StoreViewDep, _: MachineryReader, city: CityQuery = None, limit: LimitQuery = 200
) -> InspectionList:
    """Spot checks of every city, newest first: a check in one city is visible to all."""
    rows = service.inspection_list(store, city, limit)
    return InspectionList(items=[Inspection(**row) for row in rows])


@router.post(
    "/inspections",
    response_model=SpotCheckOut,
    status_code=201,
    responses=problem_responses(401, 403),
    summary="Record a spot check 录入抽测",
)
def record_inspection(
    body: SpotCheckIn, principal: CurrentPrincipal, store: StoreViewDep
) -> SpotCheckOut:
    """Judge the smoke test against GB 36886-2018, store it with its violations and deadline,
    re-run the checks; an editor records checks of their own city only."""
    authorize(principal, "machinery:write", body.city, f"a spot check of {body.code_observed}")
    check = service.SpotCheck(
        **{
            **body.model_dump(exclude={"inspected_at", "readings_k"}),
            "at": body.inspected_at,
            "readings_k": tuple(body.readings_k),
        }
    )
    try:
        done = service.record_spot_check(store, check, recorded_by=principal.name or "-")
    except InputError as error:
        raise ProblemError.invalid("body", str(error)) from None
    return SpotCheckOut(**{**done.__dict__, "findings": [Finding(**f) for f in done.findings]})


@router.get("/findings", response_model=FindingList, summary="Findings of C1–C11 核查发现")
def findings(
    store: StoreViewDep,
    _: MachineryReader,
    city: CityQuery = None,
    rule: Annotated[str | None, Query(pattern=r"^C(1[01]|[1-9])$")] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = "open",
    limit: LimitQuery = 500,
) -> FindingList:
    """Stored findings of every city, newest first."""
    rows = service.finding_list(store, city, rule, status, limit)
    return FindingList(items=[Finding(**row) for row in rows])


@router.post(
    "/checks",
    response_model=CheckRun,
    responses=problem_responses(401, 403),
    summary="Run checks C1–C11 运行核查",
)
def run_checks(principal: CurrentPrincipal, store: StoreViewDep) -> CheckRun:
    """Run the rule engine over the whole registry now and store its findings."""
    authorize(principal, "machinery:write", None, "machinery checks")
    done = service.run_registry_checks(store)
    return CheckRun(**{k: v for k, v in done.items() if k != "items"})


@router.get("/sites", response_model=SiteList, summary="Construction sites 施工工地")
def sites(store: StoreViewDep, _: MachineryReader) -> SiteList:
    """Sites of every city with whether they lie in a zone in force."""
    return SiteList(items=[Site(**row) for row in service.site_list(store)])


#: the most pings one request may carry (a terminal platform batches; bigger batches split)
MAX_PINGS = 5000


class PingIn(BaseModel):
    """One positioning-terminal report (A8 ``terminal_ping``): WGS-84 [°], time with offset (CST
    without), engine hour meter [h] and state; checked one by one by the service."""

    terminal_id: str = Field(min_length=1, max_length=64)
    ts: str = Field(min_length=1, max_length=40, description="ISO 8601 时间")
    lon: float | str = Field(description="[°E]")
    lat: float | str = Field(description="[°N]")
    engine_hours: float | str | None = Field(None, description="[h] 发动机累计小时")
    engine_state: str | None = Field(None, max_length=8, description="on, off, idle")


class PingBatch(BaseModel):
    """A batch of reports of one or more terminals 终端定位数据."""

    pings: list[PingIn] = Field(min_length=1, max_length=MAX_PINGS)


class PingReject(BaseModel):
    """A report kept aside: ``ping N`` (1-based in the batch) and why 拒收原因."""

    record_ref: str
    reason: str


class PingImportOut(BaseModel):
    """What the batch did: stored, kept aside, presences derived, findings of the machines."""

    received: int
    stored: int
    rejected: list[PingReject]
    presences: int = Field(description="site stays derived from the machines' pings 在场记录")
    findings: int


@router.post(
    "/pings",
    response_model=PingImportOut,
    responses=problem_responses(401, 403, 413),
    summary="Terminal pings 终端定位上报",
)
def post_pings(
    body: PingBatch, principal: CurrentPrincipal, store: StoreViewDep, region: RegionDep
) -> PingImportOut:
    """Store positioning-terminal reports one by one; each bad one (unknown terminal, implausible
    time, outside the region, a speed jump, a machine of a city the caller may not write) comes
    back in `rejected` with its reason while the good ones are stored. The machines' site
    presences are derived from their pings and their checks run."""
    authorize(principal, "machinery:write", None, "terminal pings")

    def may_write(city: int, what: str) -> None:
        authorize(principal, "machinery:write", city, what)

    done = service.import_pings(
        store, [p.model_dump() for p in body.pings], source="machinery-pings:api",
        region=region, may_write=may_write,
    )  # fmt: skip
    return PingImportOut(
        received=done.received, stored=done.stored, presences=done.presences,
        findings=done.findings,
        rejected=[PingReject(record_ref=r["record_ref"], reason=r["reason"]) for r in done.rejected],
    )  # fmt: skip


class GateIn(BaseModel):
    """A machine's code scanned at a site's gate (环保编码 / QR) 进出场核验."""

    site_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=40, description="as scanned 扫描编码")
    at: datetime | None = Field(None, description="default: now 默认当前时间")


class GateReasonOut(BaseModel):
    """Why a machine is refused: ``unregistered``, ``stage_below_zone``, ``failed_spot_check``,
    ``warning_stage`` or ``terminal_offline``, in Chinese and English 拒绝原因."""

    code: str
    text_zh: str
    text_en: str


class GateOut(BaseModel):
    """The gate's decision, logged as a gate event 核验结果."""

    event_id: int
    site_id: str
    code_observed: str
    code_norm: str
    machine_id: int | None
    at: datetime
    admit: bool = Field(description="true: admit 准入; false: refuse 拒绝")
    reasons: list[GateReasonOut]
    zone_ids: list[str] = Field(description="no-use zones the site lies in 所在禁用区")


class GateEvent(BaseModel):
    """A logged gate check 进出场核验记录."""

    event_id: int
    site_id: str
    code_observed: str
    code_norm: str
    machine_id: int | None = None
    at: datetime
    decision: Literal["admit", "refuse"]
    reasons: list[GateReasonOut]
    operator: str


class GateEventList(BaseModel):
    items: list[GateEvent]


@router.post(
    "/gate",
    response_model=GateOut,
    status_code=201,
    responses=problem_responses(401, 403),
    summary="Gate check of a machine 工地进出场核验",
)
def gate(body: GateIn, principal: GatePrincipal, store: StoreViewDep) -> GateOut:
    """Admit or refuse the machine at the site's gate with every reason (the rules of C1–C8: no
    active registration in any city, stage below the site's zone, failed last spot check, stage
    stopped by the city's heavy-pollution warning, terminal offline where the zone needs it); the
    check is logged and an admitted machine's stay on the site begins."""
    authorize(
        principal, "machinery:gate", principal.city_code if principal.role == "editor" else None
    )

    def may_gate(city: int, what: str) -> None:
        authorize(principal, "machinery:gate", city, what)

    try:
        done = service.gate_check(
            store, body.site_id, body.code, principal.name or "-", body.at, may_gate
        )
    except InputError as error:
        raise ProblemError.invalid("body", str(error)) from None
    return GateOut(**{**done.__dict__, "reasons": [GateReasonOut(**r) for r in done.reasons]})


@router.get("/gate", response_model=GateEventList, summary="Gate checks 进出场核验记录")
def gate_events(
    store: StoreViewDep,
    principal: GatePrincipal,
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitQuery = 100,
) -> GateEventList:
    """The gate checks of every site (or one), newest first: the registry's readers read all;
    a gate operator reads its own site's only."""
    if principal.role == "gate" and site_id in (None, principal.site_id):
        site_id = principal.site_id
        authorize(principal, "machinery:gate", None, site_id)
    else:
        authorize(principal, "machinery:read")
    return GateEventList(
        items=[GateEvent(**row) for row in service.gate_log(store, site_id, limit)]
    )
