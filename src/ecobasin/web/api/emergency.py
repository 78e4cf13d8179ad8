"""``/api/v1/emergency/…``: required list ratios 减排比例 (public), and the verdicts 核查结论, their
evidence (CSV) and open findings 待处理问题 of the compliance checks (restricted: they name
enterprises). ``/enterprises/{uscc}`` is one enterprise's own view 企业视图 (its measures at each
level, the active warning, its verdicts and findings): restricted readers, and the enterprise's
own account (role ``enterprise``, policy ``read_enterprise``)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from ecobasin.ingest.emergency_list import write_list_template
from ecobasin.services import emergency as service
from ecobasin.services import emergency_report
from ecobasin.standards import emergency as em
from ecobasin.web.deps import CursorDep, Store, StoreDep  # Store: the type services take
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, RestrictedReader, authorize
from ecobasin.web.security.policy import Principal

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/emergency", tags=["emergency"], responses=problem_responses(404, 422))


class Ratios(BaseModel):
    """Required reductions of a city's list at a level (emergency.md §1.4) [1]."""

    city: str
    level: str
    at: date
    ratio: dict[str, float] = Field(
        description="pollutant → required share of the city baseline [1]"
    )


class Verdict(BaseModel):
    """One outlet and pollutant of a warning (emergency.md §2.5) with its evidence."""

    uscc: str
    outlet: str
    pollutant: str
    verdict: str
    valid_hours: int
    baseline_kg_h: float | None = Field(None, description="[kg/h]")
    baseline_flow: float | None = Field(None, description="[m³/h]")
    baseline_method: str | None
    baseline_days: dict[str, Any] | None
    measure: dict[str, Any]
    numbers: dict[str, float]
    reasons: list[str]
    flagged_hours: dict[str, list[int]]
    list_version: int
    thresholds: str
    cou: dict[str, Any] | None = Field(None, description="-Cou consistency (§2.1)")
    power: dict[str, Any] | None = Field(None, description="power-meter cross-check (§2.2)")


def enterprise_principal(cursor: CursorDep, principal: CurrentPrincipal) -> Principal:
    """The request's principal; an enterprise user's carries the USCC it is bound to."""
    if principal.role != "enterprise":
        return principal
    return replace(principal, uscc=service.enterprise_of(cursor, principal.user_id))


EnterprisePrincipal = Annotated[Principal, Depends(enterprise_principal)]


def _own_store(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request's writes (as web/api/writes)."""
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


OwnStore = Annotated[Store, Depends(_own_store)]


class VerdictList(BaseModel):
    activation: str
    items: list[Verdict]


class Finding(BaseModel):
    """An open item 待处理问题 of a check (non-compliance, insufficient data) with its owner;
    closed with a note, or handed to a supervision case (``case_id``)."""

    finding_id: str | None = None
    activation_id: str
    city_code: int | None = None
    uscc: str
    outlet: str
    kind: str
    owner: str
    status: str
    reasons: list[str]
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    note: str | None = None
    case_id: str | None = None


class CloseFinding(BaseModel):
    """Why the finding is closed (site check result, rectification done …)."""

    note: str = Field(min_length=1, max_length=2000)


class LinkCase(BaseModel):
    """The supervision case opened for the finding."""

    case_id: str = Field(min_length=1, max_length=128)


class FindingList(BaseModel):
    items: list[Finding]


class EnterpriseWarning(BaseModel):
    """A warning that listed the enterprise: the measure it had to apply and its verdicts."""

    activation_id: str
    level: str
    start: datetime
    end: datetime
    state: str
    list_version: int
    grade: str | None
    measure: dict[str, Any]
    verdicts: list[Verdict]


class EnterpriseView(BaseModel):
    """One listed enterprise 企业应急减排措施 (read-only): measures per level, the active warning,
    its verdicts and findings (emergency.md §1.5, §2.5)."""

    uscc: str
    name: str
    city: str
    district: str
    industry: str
    category: str
    grade: str | None
    list_version: int
    outlets: list[str]
    meters: list[dict[str, Any]]
    pollutants: list[str]
    measures: dict[str, dict[str, Any]] = Field(description="level → measure")
    active_warning: EnterpriseWarning | None
    warnings: list[EnterpriseWarning]
    findings: list[Finding]


@router.get("/ratios", response_model=Ratios)
def ratios(city: str, level: str, at: date) -> Ratios:
    """Required ratios of the plan in force at ``at`` for a city and level."""
    try:
        return Ratios(city=city, level=level, at=at, ratio=em.required_ratios(city, level, at))
    except KeyError as exc:
        raise ProblemError(404, str(exc), title="no ratios 无减排比例") from exc


@router.get(
    "/activations/{activation}/verdicts",
    response_model=VerdictList,
    responses=problem_responses(401, 403),
)
def verdicts(cursor: CursorDep, principal: RestrictedReader, activation: str) -> VerdictList:
    """The verdicts of one activated warning, with baselines, numbers, reasons and flags."""
    if service.activation(cursor, activation) is None:
        raise ProblemError(
            404, f"no activation {activation!r}", title="unknown activation 无此启动"
        )
    return VerdictList(
        activation=activation, items=[Verdict(**r) for r in service.verdicts(cursor, activation)]
    )


@router.get(
    "/activations/{activation}/report.pdf",
    response_class=Response,
    responses={**problem_responses(401, 403), 200: {"content": {"application/pdf": {}}}},
)
def report_pdf(cursor: CursorDep, principal: RestrictedReader, activation: str) -> Response:
    """The compliance report of one warning as PDF 合规报告 (summary, shares met, every verdict,
    the non-compliant, insufficient-data and flagged sections, charts); restricted readers."""
    try:
        body = emergency_report.report_pdf(cursor, activation)
    except LookupError as exc:
        raise ProblemError(404, str(exc), title="unknown activation 无此启动") from exc
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="report-{activation}.pdf"'},
    )


@router.get("/findings", response_model=FindingList, responses=problem_responses(401, 403))
def findings(
    cursor: CursorDep,
    principal: RestrictedReader,
    status: Literal["open", "closed", "all"] = "open",
) -> FindingList:
    """Findings with their owners (non-compliance, insufficient data); open ones by default."""
    rows = service.findings(cursor, status=None if status == "all" else status)
    return FindingList(items=[_finding(f) for f in rows])


def _writable_finding(store: Store, principal: Principal, fid: str) -> dict[str, Any]:
    found = service.finding(store, fid)
    if found is None:
        raise ProblemError(404, f"no finding {fid!r}", title="unknown finding 无此问题")
    authorize(principal, "close_finding", found["city_code"], f"finding {fid}")
    return found


@router.post(
    "/findings/{finding_id}/close",
    response_model=Finding,
    responses=problem_responses(401, 403, 409),
)
def close_finding(
    store: OwnStore, principal: CurrentPrincipal, finding_id: str, body: CloseFinding
) -> Finding:
    """Close an open finding with a note (an editor of the warning's city, or an admin)."""
    _writable_finding(store, principal, finding_id)
    try:
        closed = service.close_finding(
            store, finding_id, body.note, principal.name or "?", datetime.now(UTC)
        )
    except ValueError as exc:
        raise ProblemError(409, str(exc), title="not open 非待处理状态") from exc
    return _finding(closed)


@router.post(
    "/findings/{finding_id}/case", response_model=Finding, responses=problem_responses(401, 403)
)
def link_case(
    store: OwnStore, principal: CurrentPrincipal, finding_id: str, body: LinkCase
) -> Finding:
    """Record the supervision case opened for a finding (the finding → case hook)."""
    _writable_finding(store, principal, finding_id)
    service.link_case(store, finding_id, body.case_id)
    linked = service.finding(store, finding_id)
    assert linked is not None
    return _finding(linked)


@router.get(
    "/list-template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def list_template() -> Response:
    """The empty list workbook 清单模板 (enterprises, sector measures, baselines; bilingual
    headers and a notes sheet). Public: it holds no data."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.xlsx"
        write_list_template(path)
        body = path.read_bytes()
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="emergency-list-template.xlsx"'},
    )


@router.get(
    "/activations/{activation}/evidence.csv",
    response_class=Response,
    responses={**problem_responses(401, 403), 200: {"content": {"text/csv": {}}}},
)
def evidence_csv(
    cursor: CursorDep,
    principal: EnterprisePrincipal,
    activation: str,
    uscc: str,
    outlet: str,
    pollutant: str = "NOx",
) -> Response:
    """Evidence of one verdict as CSV (hourly table, flags, measure, baseline, list version);
    restricted readers, and the enterprise itself."""
    authorize(principal, "read_enterprise", what=uscc)
    try:
        frame = service.evidence(cursor, activation, uscc, outlet, pollutant)
    except LookupError as exc:
        raise ProblemError(404, str(exc), title="no verdict 无核查结论") from exc
    name = f"evidence-{activation}-{uscc}-{outlet}-{pollutant}.csv"
    return Response(
        frame.to_csv(index=False),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _finding(row: dict[str, Any]) -> Finding:
    reasons = row["reasons"]
    body = {**row, "reasons": json.loads(reasons) if isinstance(reasons, str) else reasons}
    return Finding(**{k: body[k] for k in Finding.model_fields})


@router.get(
    "/enterprises/{uscc}", response_model=EnterpriseView, responses=problem_responses(401, 403)
)
def enterprise(cursor: CursorDep, principal: EnterprisePrincipal, uscc: str) -> EnterpriseView:
    """One enterprise's measures at each level, the active warning, its verdicts and findings;
    an enterprise account reads only its own."""
    authorize(principal, "read_enterprise", what=uscc)
    view = service.enterprise_view(cursor, uscc, datetime.now(UTC))
    if view is None:
        raise ProblemError(404, f"enterprise {uscc} is on no list", title="not listed 未列入清单")
    warnings = [EnterpriseWarning(**{**w, "verdicts": [Verdict(**v) for v in w["verdicts"]]})
                for w in view["warnings"]]  # fmt: skip
    active = view["active_warning"]
    return EnterpriseView(**{
        **view,
        "warnings": warnings,
        "active_warning": next((w for w in warnings if active and
                                w.activation_id == active["activation_id"]), None),
        "findings": [_finding(f) for f in view["findings"]],
    })  # fmt: skip
