"""Consultation API (issue 16): the chair rota, the sessions and one session's full view.

Reading sessions needs a signed-in viewer, editor or admin (forecasts under consultation are not
published); the rota is public. The answers are those of ``ecobasin consultation …`` (both call
:mod:`ecobasin.services.consultation`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from ecobasin.services import consultation as service
from ecobasin.services import consultation_notices as notices
from ecobasin.services import consultation_reports as reports
from ecobasin.settings import load_settings
from ecobasin.web.deps import LangDep, Store, StoreDep  # Store: the type the service takes
from ecobasin.web.middleware import DOCUMENT_CONTENT_SECURITY_POLICY
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import FORBIDDEN, CurrentPrincipal, RestrictedReader, unauthorized
from ecobasin.web.security.policy import Principal, consultation_denial
from ecobasin.workflow.consultation import (
    ConsultationError,
    DayForecast,
    InputSnapshot,
    ModelRun,
    Submission,
    load_rota,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/consultation", tags=["consultation"], responses=problem_responses(401, 403, 404, 422)
)


def request_store(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request; after the request, the pending
    notification e-mails go out (when an SMTP server is configured), outside its transaction."""
    view = store.reader()
    try:
        yield view
        notices.deliver_mail(view, load_settings(), datetime.now(UTC))
    finally:
        view.con.close()


RequestStore = Annotated[Store, Depends(request_store)]


class RotaMonth(BaseModel):
    month: int
    chair: int
    deputy: int
    handed_over_to: int | None


class Rota(BaseModel):
    year: int
    source: str
    months: list[RotaMonth]


class SessionSummary(BaseModel):
    session_id: str
    version: int
    state: str
    kind: str
    session_date: str
    chair_city: int


class SessionView(BaseModel):
    session_id: str
    version: int
    supersedes: str | None
    state: str
    kind: str
    session_date: str
    chair_city: int
    chair_name: str
    host_city: int
    deadline: str
    missing: list[int]
    narrative: str
    report_hash: str
    regional_warning: dict[str, str] = Field(
        description="The region's proposed level, its label, the level the regional rule gives "
        "and, when below it, the reason 区域预警建议."
    )
    controls: str = Field(description="The chair's control suggestions 管控建议.")
    table: list[dict[str, Any]]
    divergences: list[dict[str, Any]]
    warning: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    audit: list[dict[str, Any]]


def _not_found(detail: str) -> ProblemError:
    return ProblemError(404, detail)


@router.get("/rota/{year}", response_model=Rota)
def rota(store: RequestStore, year: Annotated[int, Path(ge=2000, le=2100)]) -> Rota:
    """The chair and deputy city per month 轮值主席表, with the recorded hand-overs."""
    try:
        plan = load_rota(year)
    except FileNotFoundError:
        raise _not_found(f"no chair rota for {year} 无该年度轮值表") from None
    handed = service.handovers(store, year)
    months = [
        RotaMonth(
            month=m,
            chair=chair,
            deputy=deputy,
            handed_over_to=next(
                (c for d, c in sorted(handed.items(), reverse=True) if d.month == m), None
            ),
        )
        for m, (chair, deputy) in sorted(plan.months.items())
    ]
    return Rota(year=plan.year, source=plan.source, months=months)


@router.get("/sessions", response_model=list[SessionSummary])
def sessions(_: RestrictedReader, store: RequestStore) -> list[SessionSummary]:
    """Every session, latest version each, newest date first (signed-in users)."""
    return [SessionSummary(**row) for row in service.list_view(store)]


@router.get("/sessions/{session_id}", response_model=SessionView)
def session(
    _: RestrictedReader,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    lang: LangDep = "zh",
    version: int | None = None,
) -> SessionView:
    """One session: the city × day table, divergences, warning proposal and audit trail."""
    try:
        return SessionView(**service.session_view(store, session_id, lang, version))
    except LookupError as error:
        raise _not_found(str(error)) from None


# -- writes: every step checked against the consultation rights, audited ------------------------
class DayIn(BaseModel):
    """A city's forecast for one lead day."""

    lead_day: int = Field(ge=1, le=7)
    aqi_low: int = Field(ge=0, le=500)
    aqi_high: int = Field(ge=0, le=500)
    primary: list[str] = Field(default_factory=list, max_length=3)
    levels: list[int] = Field(
        default_factory=list, max_length=2,
        description="HJ 633 levels (1..6) named 级别; the range must lie inside (default: its own).",
    )  # fmt: skip
    confidence: Literal["low", "medium", "high"] = "medium"
    rationale: str = Field(default="", max_length=2000)


class SubmissionIn(BaseModel):
    city: int = Field(description="GB/T 2260 code of the city submitting 提交城市.")
    days: list[DayIn] = Field(min_length=1, max_length=7)


class StepIn(BaseModel):
    reason: str = Field(default="", max_length=2000, description="Why (kept in the audit) 理由.")


class StepResult(BaseModel):
    session_id: str
    version: int
    state: str


def _check(
    store: Store, principal: Principal, action: str, session_id: str, city: int | None = None
) -> None:
    """401 for the public, 403 naming the missing consultation right, 404 for no session."""
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to take part in the consultation")
    try:
        chair = service.load(store, session_id).chair_city
    except LookupError as error:
        raise _not_found(str(error)) from None
    roles = service.roles_of(store, principal.name)
    reason = consultation_denial(principal, roles, action, chair, city)
    if reason is not None:
        raise ProblemError(403, reason, type=FORBIDDEN, title="Not allowed 无权限")


def _refused(error: ConsultationError) -> ProblemError:
    return ProblemError(
        422,
        str(error),  # the record, the reason in English and in Chinese
        title="Refused by the consultation rules 会商规则不允许",
    )


@router.post("/sessions/{session_id}/submissions", response_model=StepResult)
def submit(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: SubmissionIn,
) -> StepResult:
    """A city's forecast for one or more lead days (its forecasters and approver only)."""
    _check(store, principal, "submit", session_id, body.city)
    now, actor = datetime.now(UTC), principal.name or "-"
    days = [
        Submission(DayForecast(body.city, d.lead_day, d.aqi_low, d.aqi_high, tuple(d.primary)),
                   actor, now, d.confidence, d.rationale, levels=tuple(d.levels))
        for d in body.days
    ]  # fmt: skip
    try:
        with store.transaction():
            s = service.submit(store, session_id, body.city, days, actor, now)
            accounts.audit(store.con, principal, "consultation.submit", session_id, body.city,
                           {"days": [d.lead_day for d in body.days]})  # fmt: skip
    except ConsultationError as error:
        raise _refused(error) from None
    return StepResult(session_id=s.session_id, version=s.version, state=s.state)


SimpleStep = Literal["close_submissions", "start_session", "conclude", "cancel", "archive"]


@router.post("/sessions/{session_id}/steps/{step}", response_model=StepResult)
def step(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    step: SimpleStep,
    body: StepIn,
) -> StepResult:
    """A step without fields: close collection, start the session, conclude, cancel (chair,
    province); archive an issued session once verified (the province)."""
    _check(store, principal, step, session_id)
    try:
        with store.transaction():
            s = service.act(
                store, session_id, step, principal.name or "-", datetime.now(UTC), body.reason
            )
            accounts.audit(
                store.con,
                principal,
                f"consultation.{step}",
                session_id,
                None,
                {"reason": body.reason},
            )
    except ConsultationError as error:
        raise _refused(error) from None
    return StepResult(session_id=s.session_id, version=s.version, state=s.state)


class ResolveIn(BaseModel):
    key: str = Field(
        max_length=120, description="The divergence item 分歧项, e.g. model_gap:510600:d1."
    )
    resolution: Literal["accept_city", "adjust_city", "note_dissent"]
    reason: str = Field(min_length=1, max_length=2000, description="The rationale 处理理由.")


class ConsensusIn(BaseModel):
    city: int
    days: list[DayIn] = Field(min_length=1, max_length=7)


class WarningIn(BaseModel):
    narrative: str = Field(
        min_length=1, max_length=5000, description="Regional narrative 区域综述."
    )
    levels: dict[int, Literal["none", "yellow", "orange", "red"]] = Field(default_factory=dict)
    regional: Literal["none", "yellow", "orange", "red"] | None = Field(
        default=None,
        description="The region's level 区域预警 (default: what the regional rule gives).",
    )
    controls: str = Field(default="", max_length=5000, description="Control suggestions 管控建议.")
    reason: str = Field(
        default="", max_length=2000, description="Needed below the 648号 or the regional level."
    )


def _apply(
    principal: Principal, store: Store, session_id: str, event: str, reason: str, **payload: Any
) -> StepResult:
    _check(store, principal, event, session_id)
    try:
        with store.transaction():
            s = service.act(
                store,
                session_id,
                event,
                principal.name or "-",
                datetime.now(UTC),
                reason,
                **payload,
            )
            accounts.audit(
                store.con, principal, f"consultation.{event}", session_id, None, {"reason": reason}
            )
    except ConsultationError as error:
        raise _refused(error) from None
    return StepResult(session_id=s.session_id, version=s.version, state=s.state)


@router.post("/sessions/{session_id}/resolve", response_model=StepResult)
def resolve(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: ResolveIn,
) -> StepResult:
    """Resolve one divergence item with a rationale (chair, province coordinator)."""
    return _apply(
        principal,
        store,
        session_id,
        "resolve",
        body.reason,
        key=body.key,
        resolution=body.resolution,
    )


@router.post("/sessions/{session_id}/consensus", response_model=StepResult)
def consensus(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: ConsensusIn,
) -> StepResult:
    """The consensus forecast of one city for one or more days (chair, province coordinator)."""
    _check(store, principal, "set_consensus", session_id)
    result = None
    with store.transaction():
        for day in body.days:
            fc = DayForecast(body.city, day.lead_day, day.aqi_low, day.aqi_high, tuple(day.primary))
            result = _apply(
                principal, store, session_id, "set_consensus", day.rationale, forecast=fc
            )
    assert result is not None  # days has at least one item (min_length=1)
    return result


@router.post("/sessions/{session_id}/warning", response_model=StepResult)
def warning(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: WarningIn,
) -> StepResult:
    """The regional narrative and the warning proposal per city (chair, province coordinator)."""
    return _apply(
        principal,
        store,
        session_id,
        "set_warning",
        body.reason,
        narrative=body.narrative,
        levels=body.levels,
        controls=body.controls,
        regional=body.regional,
    )


class ReportDraft(BaseModel):
    session_id: str
    version: int
    state: str
    reports: dict[str, str] = Field(
        description="SHA-256 of the stored opinion: zh, en (HTML), zh_pdf, en_pdf (PDF)."
    )


@router.post("/sessions/{session_id}/report", response_model=ReportDraft)
def report_draft(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: StepIn,
) -> ReportDraft:
    """Render the consultation opinion (zh, en) and store it by hash (chair, province)."""
    _check(store, principal, "draft_report", session_id)
    try:
        with store.transaction():
            s, hashes = service.draft_report(
                store, session_id, principal.name or "-", datetime.now(UTC)
            )
            accounts.audit(
                store.con, principal, "consultation.draft_report", session_id, None, {**hashes}
            )
    except ConsultationError as error:
        raise _refused(error) from None
    return ReportDraft(session_id=s.session_id, version=s.version, state=s.state, reports=hashes)


@router.post("/sessions/{session_id}/sign", response_model=StepResult)
def sign(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: StepIn,
) -> StepResult:
    """Sign and issue the drafted report (the chair only); immutable from here on."""
    _check(store, principal, "sign", session_id)
    try:
        with store.transaction():
            s = service.sign_report(store, session_id, principal.name or "-", datetime.now(UTC))
            accounts.audit(
                store.con,
                principal,
                "consultation.sign",
                session_id,
                None,
                {"report": s.report_hash},
            )
    except ConsultationError as error:
        raise _refused(error) from None
    return StepResult(session_id=s.session_id, version=s.version, state=s.state)


@router.get(
    "/reports/{sha256}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def report_file(
    _: RestrictedReader, store: RequestStore, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]
) -> Response:
    """A stored report, byte for byte as first stored (signed-in users)."""
    try:
        media_type, content = service.report(store, sha256)
    except LookupError as error:
        raise _not_found(str(error)) from None
    headers = {"ETag": f'"{sha256}"'}
    if media_type.startswith("text/html"):  # a standalone document: no script
        headers["Content-Security-Policy"] = DOCUMENT_CONTENT_SECURITY_POLICY
    return Response(content, media_type=media_type, headers=headers)


class StoredReport(BaseModel):
    sha256: str
    version: int
    template: str = Field(description="opinion, minutes, letter, public")
    lang: str
    media_type: str
    size: int = Field(description="[bytes]")
    stored_at: str


@router.get("/sessions/{session_id}/reports", response_model=list[StoredReport])
def session_reports(
    _: RestrictedReader, store: RequestStore, session_id: Annotated[str, Path(max_length=80)]
) -> list[StoredReport]:
    """Every report stored for a session (HTML and PDF, all versions), each fetched by hash."""
    try:
        service.load(store, session_id)
    except LookupError as error:
        raise _not_found(str(error)) from None
    return [StoredReport(**row) for row in service.reports_of(store, session_id)]


class ScheduleIn(BaseModel):
    kind: Literal["monthly", "routine", "episode", "ad_hoc"]
    session_date: date = Field(description="Session date, China Standard Time 会商日期.")
    deadline: AwareDatetime = Field(
        description="Submission deadline (ISO 8601 with offset) 提交截止."
    )
    host_city: int | None = None


class GuidanceDay(BaseModel):
    city: int
    lead_day: int = Field(ge=1, le=7)
    aqi_low: int = Field(ge=0, le=500)
    aqi_high: int = Field(ge=0, le=500)
    primary: list[str] = Field(default_factory=list, max_length=3)


class OtherModelIn(BaseModel):
    """Another model's guidance frozen beside the primary one (scored in verification)."""

    name: str = Field(min_length=1, max_length=40, examples=["CMAQ"])
    version: str = Field(default="", max_length=40)
    issued_at: AwareDatetime
    guidance: list[GuidanceDay] = Field(default_factory=list, max_length=8 * 7 * 4)


class OpenIn(BaseModel):
    """The input snapshot frozen for the session, or none with the reason "no model guidance".
    ecobasin's own forecasts of the session day issued by the cut-off are added to
    ``other_models`` when collection opens."""

    model_name: str | None = Field(default=None, max_length=40, examples=["CDAQS"])
    model_version: str = Field(default="", max_length=40)
    model_issued_at: AwareDatetime | None = None
    observation_cutoff: AwareDatetime | None = None
    met_forecasts: list[str] = Field(default_factory=list, max_length=20)
    guidance: list[GuidanceDay] = Field(default_factory=list, max_length=8 * 7 * 4)
    other_models: list[OtherModelIn] = Field(
        default_factory=list, max_length=8, description="Other model runs 其他模式."
    )


class AmendIn(BaseModel):
    reason: str = Field(
        min_length=1, max_length=2000, description="Why the issued report changes 修订理由."
    )
    changes: list[GuidanceDay] = Field(default_factory=list, max_length=8 * 7)


@router.post("/sessions", response_model=StepResult)
def schedule(principal: CurrentPrincipal, store: RequestStore, body: ScheduleIn) -> StepResult:
    """Schedule a session; its chair comes from the rota (chair of that date, province)."""
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to schedule a consultation")
    try:
        chair = service.chair_for(store, body.session_date)
    except (KeyError, FileNotFoundError):
        raise _not_found(f"no chair rota for {body.session_date} 无该日期的轮值表") from None
    reason = consultation_denial(
        principal, service.roles_of(store, principal.name), "schedule", chair
    )
    if reason is not None:
        raise ProblemError(403, reason, type=FORBIDDEN, title="Not allowed 无权限")
    now = datetime.now(UTC)
    try:
        with store.transaction():
            s = service.schedule_session(store, body.kind, body.session_date, body.deadline, principal.name or "-",
                                         now, host_city=body.host_city)  # fmt: skip
            accounts.audit(store.con, principal, "consultation.schedule", s.session_id, chair,
                           {"kind": body.kind})  # fmt: skip
    except ConsultationError as error:
        raise _refused(error) from None
    return StepResult(session_id=s.session_id, version=s.version, state=s.state)


class HandoverIn(BaseModel):
    """A hand-over of the chair from a day to the end of its month 主席交接."""

    day: date = Field(description="First day 起始日 (to the end of its month).")
    city: int = Field(ge=100000, le=999999, description="New chair city 接任城市.")
    reason: str = Field(min_length=1, max_length=2000, description="Why 交接理由.")


class HandoverOut(BaseModel):
    day: date
    city: int


@router.post("/handovers", response_model=HandoverOut, status_code=201)
def handover(principal: CurrentPrincipal, store: RequestStore, body: HandoverIn) -> HandoverOut:
    """Record a hand-over of the chair (the province coordinator), as `ecobasin consultation
    handover` does; the rota answers with it from then on."""
    if not principal.authenticated:
        raise unauthorized("sign in or send an API token to record a hand-over")
    try:
        chair = service.chair_for(store, body.day)
    except (KeyError, FileNotFoundError):
        raise _not_found(f"no chair rota for {body.day} 无该日期的轮值表") from None
    reason = consultation_denial(
        principal, service.roles_of(store, principal.name), "handover", chair
    )
    if reason is not None:
        raise ProblemError(403, reason, type=FORBIDDEN, title="Not allowed 无权限")
    try:
        with store.transaction():
            service.record_handover(
                store, body.day, body.city, body.reason, principal.name or "-", datetime.now(UTC)
            )
            accounts.audit(
                store.con,
                principal,
                "consultation.handover",
                str(body.day),
                body.city,
                {"reason": body.reason},
            )
    except ValueError as error:
        raise ProblemError(422, str(error)) from None
    return HandoverOut(day=body.day, city=body.city)


def _day(g: GuidanceDay) -> DayForecast:
    return DayForecast(g.city, g.lead_day, g.aqi_low, g.aqi_high, tuple(g.primary))


@router.post("/sessions/{session_id}/open", response_model=StepResult)
def open_submissions(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: OpenIn,
) -> StepResult:
    """Open collection with the frozen input snapshot (chair, province)."""
    if body.model_name is None:
        return _apply(principal, store, session_id, "open_submissions", "no model guidance")
    if body.model_issued_at is None or body.observation_cutoff is None:
        raise ProblemError(
            422,
            "a snapshot needs model_issued_at and observation_cutoff 快照须含起报时间和观测截止",
        )
    snapshot = InputSnapshot(
        body.model_name, body.model_version, body.model_issued_at, body.observation_cutoff,
        tuple(body.met_forecasts), tuple(_day(g) for g in body.guidance),
        other_models=tuple(
            ModelRun(m.name, m.version, m.issued_at, tuple(_day(g) for g in m.guidance))
            for m in body.other_models
        ),
    )  # fmt: skip
    _check(store, principal, "open_submissions", session_id)
    try:
        with store.transaction():
            s = service.open_session(
                store, session_id, snapshot, principal.name or "-", datetime.now(UTC)
            )
            accounts.audit(
                store.con,
                principal,
                "consultation.open_submissions",
                session_id,
                None,
                {"observations": len(s.snapshot.observations) if s.snapshot else 0},
            )
    except ConsultationError as error:
        raise _refused(error) from None
    return StepResult(session_id=s.session_id, version=s.version, state=s.state)


@router.post("/sessions/{session_id}/amend", response_model=StepResult)
def amend(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: AmendIn,
) -> StepResult:
    """Supersede the issued version with a new one in report_draft (chair, province)."""
    return _apply(
        principal, store, session_id, "amend", body.reason, changes=[_day(g) for g in body.changes]
    )


class Verification(BaseModel):
    session_id: str
    version: int
    observed_days: int
    consensus: dict[str, float | None]
    consensus_by_city: dict[str, dict[str, float | None]] = Field(
        description="The consensus scored on each city's days 各市共识检验."
    )
    cities: dict[str, dict[str, float | None]]
    models: dict[str, dict[str, float | None]] = Field(
        description="Every model of the snapshot scored like the cities, the primary first 各模式."
    )
    lift: dict[str, dict[str, float | None]]


class MonthLift(BaseModel):
    """The consensus lift of one month's issued sessions 月度共识增益 (shares in [0, 1])."""

    month: str = Field(description="YYYY-MM of the session dates (CST) 月份.")
    sessions: int
    session_ids: list[str]
    observed_days: int = Field(description="City × day pairs observed [d] 检验天数.")
    lift: dict[str, dict[str, float | None]] = Field(
        description="Per metric: consensus, minus_mean_city, minus_best_model (means over sessions)."
    )
    cities: dict[str, dict[str, float | None]] = Field(
        description="Per city and metric: the consensus on the city's days minus its own 共识减该市."
    )
    models: dict[str, dict[str, float | None]] = Field(
        default_factory=dict,
        description="Per model of the snapshots and metric: its mean score 各模式检验.",
    )


@router.get("/verification", response_model=list[MonthLift])
def lift_by_month(_: RestrictedReader, store: RequestStore) -> list[MonthLift]:
    """The consensus lift per month and per city, newest month first (signed-in users)."""
    return [MonthLift(**row) for row in service.lift_by_month(store)]


@router.get("/sessions/{session_id}/verification", response_model=Verification)
def verification(
    _: RestrictedReader,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    version: int | None = None,
) -> Verification:
    """Scores against the observed city daily AQI: cities, consensus, model; the consensus lift."""
    try:
        return Verification(**service.verification(store, session_id, version))
    except LookupError as error:
        raise _not_found(str(error)) from None


class DecisionIn(BaseModel):
    city: int
    level: Literal["none", "yellow", "orange", "red"]
    start: AwareDatetime = Field(
        description="When the city starts its warning (ISO 8601 with offset)."
    )
    override_reason: str = Field(
        default="", max_length=2000, description="Needed when later or lower 理由."
    )


class DecisionOut(BaseModel):
    city: int
    recommended: str
    recommended_start: datetime
    level: str
    start: datetime
    override_reason: str
    emergency_activations: list[str] = Field(
        default_factory=list,
        description="Emergency-list activations made by this decision 启动的应急减排清单 (issue 17).",
    )


@router.post("/sessions/{session_id}/decisions", response_model=DecisionOut)
def decide(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: DecisionIn,
) -> DecisionOut:
    """A city's own warning decision on the recommendation (that city's approver): earlier or
    higher always; later or lower only with an override reason, recorded and shown."""
    _check(store, principal, "city_ack", session_id, body.city)
    try:
        with store.transaction():
            row = service.city_decision(store, session_id, body.city, body.level, body.start, body.override_reason,
                                        principal.name or "-", datetime.now(UTC))  # fmt: skip
            accounts.audit(store.con, principal, "consultation.city_ack", session_id, body.city,
                           {"level": body.level, "override_reason": body.override_reason})  # fmt: skip
    except ConsultationError as error:
        raise _refused(error) from None
    return DecisionOut(**{k: row[k] for k in DecisionOut.model_fields})


# -- templates B–D (brief §1.3): minutes and their action items, the letter, the public text ----
class DecisionItemIn(BaseModel):
    text: str = Field(min_length=1, max_length=500, description="The decision 议定事项.")
    owner_city: int = Field(description="GB/T 2260 code of the city that owns it 责任城市.")
    due: date = Field(description="Due day (China Standard Time) 完成时限.")


class MinutesIn(BaseModel):
    decisions: list[DecisionItemIn] = Field(default_factory=list, max_length=50)
    outlook: str = Field(default="", max_length=5000, description="Next month's outlook 趋势.")
    risks: list[str] = Field(default_factory=list, max_length=20)
    city_items: dict[int, str] = Field(default_factory=dict, description="Per city 各市交流.")


class ReportHashes(BaseModel):
    session_id: str
    reports: dict[str, str] = Field(description="SHA-256: zh, en (HTML), zh_pdf, en_pdf (PDF).")


class MinutesOut(ReportHashes):
    actions: list[str] = Field(description="Ids of the new action items 议定事项编号.")


class ActionItem(BaseModel):
    action_id: str
    session_id: str
    item_no: int
    text: str
    owner_city: int
    owner_name: str
    due: str
    state: Literal["open", "closed"]
    created_by: str
    created_at: str
    closed_by: str | None
    closed_at: str | None
    close_note: str | None


class LetterIn(BaseModel):
    office: str = Field(default="四川省污染防治攻坚战领导小组办公室", max_length=200)
    contact: str = Field(default="", max_length=200)


def _write_report(
    principal: Principal, store: Store, action: str, session_id: str, make: Any
) -> Any:
    """Check the right, run ``make()`` in one transaction, audit; 422 on a rules refusal."""
    _check(store, principal, action, session_id)
    try:
        with store.transaction():
            result = make()
            accounts.audit(store.con, principal, f"consultation.{action}", session_id, None, {})
    except ConsultationError as error:
        raise _refused(error) from None
    return result


@router.post("/sessions/{session_id}/minutes", response_model=MinutesOut)
def minutes(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: MinutesIn,
) -> MinutesOut:
    """The monthly minutes (template B); each decision becomes a tracked action item."""
    decisions = [reports.Decision(d.text, d.owner_city, d.due) for d in body.decisions]
    hashes, ids = _write_report(principal, store, "record_minutes", session_id, lambda: reports.issue_minutes(
        store, session_id, decisions, principal.name or "-", datetime.now(UTC), outlook=body.outlook,
        risks=body.risks, city_items=body.city_items))  # fmt: skip
    return MinutesOut(session_id=session_id, reports=hashes, actions=ids)


@router.get("/actions", response_model=list[ActionItem])
def actions(
    _: RestrictedReader,
    store: RequestStore,
    lang: LangDep = "zh",
    session_id: Annotated[str | None, Query(max_length=80)] = None,
    state: Literal["open", "closed"] | None = None,
) -> list[ActionItem]:
    """Action items of the minutes, by due day (signed-in users)."""
    return [ActionItem(**a) for a in reports.list_actions(store, session_id, state, lang)]


class CloseIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="How it was done 办结说明.")


@router.post("/actions/{action_id}/close", response_model=ActionItem)
def close_action(
    principal: CurrentPrincipal,
    store: RequestStore,
    action_id: Annotated[str, Path(max_length=100)],
    body: CloseIn,
) -> ActionItem:
    """Close an action item with a note (its owner city's approver, the chair, the province)."""
    found = [a for a in service.actions(store) if a["action_id"] == action_id]
    if not found:
        raise _not_found(f"no action item {action_id} (无此议定事项)")
    owner = int(found[0]["owner_city"])
    _check(store, principal, "close_action", str(found[0]["session_id"]), owner)
    try:
        with store.transaction():
            row = reports.close_action(
                store, action_id, body.note, principal.name or "-", datetime.now(UTC)
            )
            accounts.audit(store.con, principal, "consultation.close_action", action_id, owner, {})
    except ValueError as error:
        raise ProblemError(422, str(error)) from None
    return ActionItem(**row)


@router.post("/sessions/{session_id}/letter", response_model=ReportHashes)
def letter(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: LetterIn,
) -> ReportHashes:
    """The province's warning-recommendation letter 预警建议函 (template C; the province only)."""
    hashes = _write_report(principal, store, "issue_letter", session_id, lambda: reports.issue_warning_letter(
        store, session_id, principal.name or "-", datetime.now(UTC), office=body.office, contact=body.contact))  # fmt: skip
    return ReportHashes(session_id=session_id, reports=hashes)


@router.post("/sessions/{session_id}/public", response_model=ReportHashes)
def public_forecast(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    body: StepIn,
) -> ReportHashes:
    """The public 7-day forecast text of every city (template D; chair, province)."""
    hashes = _write_report(principal, store, "publish_forecast", session_id, lambda: reports.issue_public_forecast(
        store, session_id, principal.name or "-", datetime.now(UTC)))  # fmt: skip
    return ReportHashes(session_id=session_id, reports=hashes)


# -- the province's steps on the warning proposal (brief §1.2 "Warning proposal") --------------
Level = Literal["none", "yellow", "orange", "red"]
ProvinceStep = Literal["recommend", "reject", "escalate", "de_escalate", "lift"]


class ProposalCity(BaseModel):
    city: int
    city_name: str
    level: str
    label: str
    start: str
    acknowledged: dict[str, Any] | None = Field(
        description="The city's own decision (level, start, override_reason, actor, at)."
    )


class ProposalView(BaseModel):
    session_id: str
    state: Literal["proposed", "recommended", "rejected", "lifted"]
    version: int
    episode: str
    cities: list[ProposalCity]
    steps: list[dict[str, Any]]


class ProposalStepIn(BaseModel):
    reason: str = Field(default="", max_length=2000, description="Why 理由 (see each step).")
    levels: dict[int, Level] = Field(default_factory=dict, description="Changed levels per city.")
    starts: dict[int, AwareDatetime] = Field(
        default_factory=dict, description="Changed start times (with offset)."
    )
    episode: str = Field(default="", max_length=80, description="Episode consultation id 加密会商.")
    cities: list[int] = Field(default_factory=list, max_length=50, description="lift: cities.")
    office: str = Field(default="四川省污染防治攻坚战领导小组办公室", max_length=200)
    contact: str = Field(default="", max_length=200)


class ProposalStepOut(BaseModel):
    session_id: str
    state: str
    version: int
    reports: dict[str, str] = Field(description="recommend: the letter's SHA-256 (zh, en, *_pdf).")


@router.get("/sessions/{session_id}/warning-proposal", response_model=ProposalView)
def proposal(
    _: RestrictedReader,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    lang: LangDep = "zh",
) -> ProposalView:
    """The warning proposal in force: levels, starts, the cities' acknowledgements, the steps."""
    try:
        return ProposalView(**service.proposal_view(store, session_id, lang))
    except LookupError as error:
        raise _not_found(str(error)) from None
    except ConsultationError as error:
        raise _refused(error) from None


_STEP_PAYLOAD: dict[str, Callable[[ProposalStepIn], dict[str, Any]]] = {
    "recommend": lambda b: {"levels": b.levels, "starts": b.starts},
    "reject": lambda b: {},
    "escalate": lambda b: {"levels": b.levels, "starts": b.starts, "episode": b.episode},
    "de_escalate": lambda b: {"levels": b.levels, "starts": b.starts, "episode": b.episode},
    "lift": lambda b: {"cities": tuple(b.cities)},
}


@router.post("/sessions/{session_id}/warning-proposal/{step}", response_model=ProposalStepOut)
def proposal_step(
    principal: CurrentPrincipal,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    step: ProvinceStep,
    body: ProposalStepIn,
) -> ProposalStepOut:
    """The province's step (the province coordinator only): recommend (with the 预警建议函),
    reject, escalate, de-escalate or lift; every step kept with who, when and why."""
    _check(store, principal, f"{step}_warning", session_id)
    now = datetime.now(UTC)
    hashes: dict[str, str] = {}
    try:
        with store.transaction():
            p = service.warning_act(store, session_id, step, principal.name or "-", now, body.reason,
                                    **_STEP_PAYLOAD[step](body))  # fmt: skip
            if step in ("recommend", "escalate", "de_escalate"):
                hashes = reports.issue_warning_letter(store, session_id, principal.name or "-", now,
                                                      office=body.office, contact=body.contact)  # fmt: skip
            accounts.audit(store.con, principal, f"consultation.{step}_warning", session_id, None,
                           {"reason": body.reason, "version": p.version})  # fmt: skip
    except ConsultationError as error:
        raise _refused(error) from None
    return ProposalStepOut(session_id=session_id, state=p.state, version=p.version, reports=hashes)


def _iso_or_none(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- notifications: one's own in-app items ------------------------------------------------------
class Notice(BaseModel):
    notice_id: int
    session_id: str
    kind: Literal["opened", "late", "divergences", "concluded", "issued", "recommended"]
    title: str
    created_at: str
    read_at: str | None
    mailed_at: str | None


def _own(principal: Principal, store: Store) -> str:
    """The signed-in user holding a consultation role (401 / 403 otherwise)."""
    if not principal.authenticated or principal.name is None:
        raise unauthorized("sign in to read your notifications")
    reason = consultation_denial(
        principal, service.roles_of(store, principal.name), "notifications", 0
    )
    if reason is not None:
        raise ProblemError(403, reason, type=FORBIDDEN, title="Not allowed 无权限")
    return principal.name


@router.get("/notifications", response_model=list[Notice])
def my_notices(
    principal: CurrentPrincipal, store: RequestStore, lang: LangDep = "zh", unread: bool = False
) -> list[Notice]:
    """The signed-in user's notifications 我的通知, newest first (at most 500)."""
    user = _own(principal, store)
    return [
        Notice(notice_id=n["notice_id"], session_id=n["session_id"], kind=n["kind"],
               title=n["title_en"] if lang == "en" else n["title_zh"], created_at=n["created_at"].isoformat(),
               read_at=_iso_or_none(n["read_at"]), mailed_at=_iso_or_none(n["mailed_at"]))
        for n in service.notices_of(store, user, unread)
    ]  # fmt: skip


@router.post("/notifications/{notice_id}/read", response_model=list[Notice])
def read_notice(
    principal: CurrentPrincipal, store: RequestStore, notice_id: Annotated[int, Path(ge=1)]
) -> list[Notice]:
    """Mark one of one's own notifications read; answers the unread ones left."""
    user = _own(principal, store)
    if not service.mark_read(store, user, notice_id, datetime.now(UTC)):
        raise _not_found(f"no notification {notice_id} of yours (无此通知)")
    return my_notices(principal, store, "zh", True)
