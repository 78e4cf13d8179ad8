"""The supervision pages (issue 18), server-rendered with plain forms (no script needed):

* ``/supervision`` — the supervision office board: overdue and due-soon cases in working days;
* ``/supervision/case/{id}`` — one case: plan, measures, evidence (upload, thumbnails), the
  acceptance, the trail, and a form for each action the signed-in user may take now;
* ``/supervision/joint`` — the joint office view: joint cases, each side's task and signatures,
  and the form registering a joint case;
* ``/supervision/public`` — the public disclosure (the Open311 view's rows) with the objection
  form of cases in their notice period;
* ``/supervision/keytasks`` — the key-task board per area or per owner.

Rights are those of the API (the policy module through :func:`ecobasin.web.api.cases.check`'s
twin here); the forms post to these pages and go through :mod:`ecobasin.services.cases`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ecobasin.services import cases as case_records
from ecobasin.services import cases as service
from ecobasin.services import inspections as inspections_service
from ecobasin.services import keytasks as keytask_records
from ecobasin.services import keytasks as keytasks_service
from ecobasin.web.deps import (
    Store,  # the type services take
    StoreDep,
)
from ecobasin.web.pages.dashboard import page_lang, templates
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import CaseScope, Principal, case_actor_role
from ecobasin.workflow.cases import (
    ACCEPTANCE_CRITERIA,
    TRANSITIONS,
    Case,
    CaseError,
    categories,
    evidence_kinds,
    load_rules,
    source_types,
)

__all__ = ["LABELS", "router"]

router = APIRouter(include_in_schema=False)
CST = timezone(timedelta(hours=8))

#: Labels of these pages (zh, en); the page shows the language the reader chose.
LABELS: dict[str, tuple[str, str]] = {
    "board": ("督察整改督办看板", "Rectification board"),
    "board_intro": (
        "按工作日（含调休）计算的时限：逾期在前，临期其次。",
        "Deadlines in Chinese working days (with 调休): overdue first, then due soon.",
    ),
    "case": ("整改案件", "Rectification case"),
    "inspections": ("督察与反馈问题", "Inspections and feedback problems"),
    "inspection": ("督察", "Inspection"),
    "inspector": ("督察组", "Inspected by"),
    "period": ("时间", "When"),
    "cities": ("城市", "Cities"),
    "problems": ("反馈问题", "Feedback problems"),
    "cases": ("整改案件", "Cases"),
    "item": ("编号", "Item"),
    "joint": (
        "联合督察（同时督察、同步交办、同标准整改）",
        "Joint cases (same time, same transfer, same standard)",
    ),
    "public": ("整改公开", "Public disclosure"),
    "public_intro": (
        "已交办的整改任务及公示；公示期内可提出异议。",
        "Transferred tasks and notices; objections are open during a notice.",
    ),
    "keytasks": ("年度重点任务", "Key tasks of the year"),
    "state": ("状态", "State"),
    "title": ("问题", "Problem"),
    "city": ("城市", "City"),
    "lead": ("牵头单位", "Lead unit"),
    "due": ("时限", "Due"),
    "left": ("剩余工作日", "Working days left"),
    "overdue": ("逾期", "Overdue"),
    "due_soon": ("临期", "Due soon"),
    "all": ("全部", "All"),
    "none": ("无", "None"),
    "category": ("类别", "Category"),
    "measures": ("整改措施", "Measures"),
    "evidence": ("证据材料", "Evidence"),
    "missing": ("证据清单尚缺", "Checklist still missing"),
    "upload": ("上传证据", "Upload evidence"),
    "kind": ("类型", "Kind"),
    "phase": ("阶段", "Phase"),
    "file": ("文件", "File"),
    "actions": ("可执行操作", "Actions you may take"),
    "trail": ("流转记录", "Trail"),
    "acceptance": ("验收意见", "Acceptance"),
    "submit": ("提交", "Submit"),
    "reason": ("理由", "Reason"),
    "sides": ("各方任务", "Each side's task"),
    "signed": ("会签", "Signed"),
    "register": ("登记联合案件", "Register a joint case"),
    "objection": ("提出异议", "Object"),
    "notice_until": ("公示期至", "Notice until"),
    "no_rights": ("无权查看：需要督察整改角色。", "Not allowed: a case role is needed."),
    "sign_in": ("请先登录。", "Please sign in first."),
    "by_area": ("按方面", "By area"),
    "by_owner": ("按责任单位", "By owner"),
    "percent": ("进度", "Progress"),
    "standard": ("统一销号标准", "Shared closure standard"),
    "provisional": ("暂定（节假日安排未发布）", "provisional (holiday notice not yet published)"),
    "open": ("办理中", "open"),
    "closed": ("已办结", "closed"),
    "links": ("关联记录", "Linked records"),
    "done_error": ("操作未完成", "Not done"),
}
#: Form fields per fact: (input type, label zh, label en)
FIELDS: dict[str, tuple[str, str, str]] = {
    "lead_unit": ("text", "牵头单位", "lead unit"),
    "acceptance_level": ("text", "验收层级 city/province", "acceptance level city/province"),
    "rectify_due": ("date", "整改时限", "rectify by"),
    "term_type": ("text", "整改类型（立行立改/限期/长期坚持）", "term type"),
    "contact": ("text", "联系人", "contact"),
    "reason": ("text", "理由", "reason"),
    "target": ("text", "整改目标", "target"),
    "narrative": ("text", "进展说明", "narrative"),
    "new_due": ("date", "申请延期至", "new due day"),
    "self_check": ("text", "自查报告", "self-check"),
    "team": ("text", "验收组", "team"),
    "check_date": ("date", "核查日期", "check date"),
    "opinion": ("text", "验收意见", "opinion"),
    "onsite_record": ("text", "现场核查记录", "on-site record"),
    "signatures": ("text", "签字（以、分隔）", "signatures (separated by 、)"),
    "deficiencies": ("text", "存在问题", "deficiencies"),
    "rework_due": ("date", "整改至", "rework by"),
    "objection": ("text", "异议内容", "objection"),
    "batch": ("text", "批次", "batch"),
    "verdict": ("text", "核查结论（属实/部分属实/不属实）", "verdict"),
}


def _labels(request: Request) -> dict[str, str]:
    zh = page_lang(request) == "zh"
    return {k: zh_ if zh else en for k, (zh_, en) in LABELS.items()}


def _now(request: Request) -> datetime:
    """The instant of the request (the app's clock when one is set, e.g. a test's)."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


def _render(
    request: Request, name: str, principal: Principal, status: int = 200, **context: Any
) -> HTMLResponse:
    base = {
        "user": principal if principal.authenticated else None,
        "csrf_token": principal.csrf_token,
        "s": _labels(request),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _scope(case: Case) -> CaseScope:
    return CaseScope(
        case.city_code,
        case.lead_unit,
        case.co_units,
        case.acceptance_level,
        case.jurisdictions,
        case.kind,
    )


def _role(store: Store, principal: Principal, action: str, case: Case | None) -> str | None:
    held = case_records.roles_of(store, principal.name)
    return case_actor_role(principal, held, action, _scope(case) if case else None)[0]


def _refused(request: Request, principal: Principal, page: str) -> HTMLResponse:
    s = _labels(request)
    message = s["sign_in"] if not principal.authenticated else s["no_rights"]
    return _render(
        request,
        "supervision_refused.html",
        principal,
        401 if not principal.authenticated else 403,
        page=page,
        message=message,
    )


@router.get("/supervision", response_class=HTMLResponse)
def board_page(
    request: Request, principal: CurrentPrincipal, store: StoreDep, view: str = "all"
) -> HTMLResponse:
    """The supervision office board: open cases by their running clock."""
    reader = store.reader()
    try:
        if _role(reader, principal, "read_internal", None) is None:
            return _refused(request, principal, "supervision")
        rows = service.board(reader, _now(request).astimezone(CST).date())
        inspections = inspections_service.inspection_list(reader)
    finally:
        reader.con.close()
    counts = {
        "overdue": sum(r["overdue"] for r in rows),
        "due_soon": sum(r["due_soon"] for r in rows),
        "all": len(rows),
    }
    if view in ("overdue", "due_soon"):
        rows = [r for r in rows if r[view]]
    return _render(
        request,
        "supervision_board.html",
        principal,
        page="supervision",
        rows=rows,
        view=view,
        counts=counts,
        inspections=inspections,
    )


@router.get("/supervision/inspections/{inspection_id}", response_class=HTMLResponse)
def inspection_page(
    request: Request, principal: CurrentPrincipal, store: StoreDep, inspection_id: int
) -> HTMLResponse:
    """An inspection (督察) with its feedback problems and the state of each problem's cases."""
    reader = store.reader()
    try:
        if _role(reader, principal, "read_internal", None) is None:
            return _refused(request, principal, "supervision")
        try:
            inspection = inspections_service.inspection_detail(reader, inspection_id)
        except LookupError:
            message = f"无此督察 No inspection {inspection_id}"
            return _render(request, "notfound.html", principal, status=404, message=message)
    finally:
        reader.con.close()
    return _render(
        request, "supervision_inspection.html", principal, page="supervision",
        inspection=inspection,
    )  # fmt: skip


def _available(case: Case, store: Store, principal: Principal) -> list[dict[str, Any]]:
    """The actions ``principal`` may take now, with the form fields each needs."""
    out = []
    for (kind, state, action), (_, _, required) in TRANSITIONS.items():
        if kind != case.kind or state != case.state:
            continue
        if _role(store, principal, action, case) is None:
            continue
        out.append(
            {
                "action": action,
                "fields": [f for f in required if f not in ("criteria", "measures", "percents")],
                "criteria": "criteria" in required,
                "measures": "measures" in required,
                "percents": action == "report_progress",
            }
        )
    return out


@router.get("/supervision/case/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, principal: CurrentPrincipal, store: StoreDep, case_id: str, error: str = ""
) -> HTMLResponse:
    """One case: plan, evidence, acceptance, trail and the forms of the allowed actions."""
    reader = store.reader()
    try:
        try:
            case = case_records.load(reader, case_id)
        except LookupError:
            return _render(
                request,
                "supervision_refused.html",
                principal,
                404,
                page="supervision",
                message=f"no case {case_id} 无此案件",
            )
        if _role(reader, principal, "read_internal", case) is None:
            return _refused(request, principal, "supervision")
        view = service.case_view(case, _now(request).astimezone(CST).date(), page_lang(request))
        trail = case_records.transitions(reader, case_id)
        children = case_records.cases(reader, parent=case_id) if case.kind == "joint" else []
        actions = _available(case, reader, principal)
        can_upload = (
            _role(reader, principal, "upload_evidence", case) is not None and case.state != "closed"
        )
    finally:
        reader.con.close()
    zh = page_lang(request) == "zh"
    return _render(
        request, "supervision_case.html", principal, page="supervision", case=view, trail=trail,
        children=children, actions=actions, can_upload=can_upload, error=error, fields=FIELDS,
        zh=zh, criteria=ACCEPTANCE_CRITERIA, kinds=evidence_kinds(),
    )  # fmt: skip


def _form_facts(form: dict[str, Any]) -> dict[str, Any]:
    """Facts from a posted action form (dates, criteria boxes, signatures, measures, percents)."""
    facts: dict[str, Any] = {k: v for k, v in form.items() if k in FIELDS and v != ""}
    if "signatures" in facts:
        facts["signatures"] = [
            p.strip() for p in str(facts["signatures"]).replace(",", "、").split("、") if p.strip()
        ]
    if form.get("criteria_form"):
        facts["criteria"] = [
            [c, form.get(f"criterion_{c}") == "on", ""] for c in ACCEPTANCE_CRITERIA
        ]
    if form.get("measure_text"):
        facts["measures"] = [
            {
                "text": form["measure_text"],
                "owner": form.get("measure_owner", ""),
                "due": form.get("measure_due", ""),
                "deliverable": form.get("measure_deliverable", ""),
            }
        ]
    if form.get("sites_done"):
        facts["sites_done"] = [
            p.strip() for p in form["sites_done"].replace(",", "、").split("、") if p.strip()
        ]
    if form.get("percent_all", "") != "":
        facts["percents"] = {"0": form["percent_all"]}
    return service.parse_facts(facts)


@router.post("/supervision/case/{case_id}/act", response_class=HTMLResponse)
async def act_form(
    request: Request, principal: CurrentPrincipal, store: StoreDep, case_id: str
) -> Response:
    """An action posted from the case page; back to the page (with the refusal, if any)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    action = form.get("action", "")
    view = store.reader()
    try:
        try:
            case = case_records.load(view, case_id)
        except LookupError:
            return RedirectResponse("/supervision", status_code=303)
        role = _role(view, principal, action, case)
        if role is None or action not in {a for (_, _, a) in TRANSITIONS}:
            return _refused(request, principal, "supervision")
        if case.kind == "joint" and action in ("sign_transfer", "sign_closure"):
            form["city"] = next(
                (
                    str(c)
                    for r, c, _ in case_records.roles_of(view, principal.name)
                    if r == "joint_office" and c in case.jurisdictions
                ),
                "",
            )
        try:
            facts = _form_facts(form)
            if "city" in form:
                facts["city"] = form["city"]
            if form.get("leads"):
                facts["leads"] = json.loads(form["leads"])
            service.act(
                view,
                case_id,
                action,
                principal.name or "-",
                role,
                facts,
                _now(request),
                request.client.host if request.client else "-",
            )
        except (CaseError, ValueError) as error:
            return RedirectResponse(
                f"/supervision/case/{case_id}?error={quote(str(error)[:300])}", status_code=303
            )
    finally:
        view.con.close()
    return RedirectResponse(f"/supervision/case/{case_id}", status_code=303)


@router.post("/supervision/case/{case_id}/evidence", response_class=HTMLResponse)
async def evidence_form(
    request: Request, principal: CurrentPrincipal, store: StoreDep, case_id: str
) -> Response:
    """Evidence uploaded from the case page (checked as through the API)."""
    async with request.form() as form:  # closes the spooled upload files afterwards
        return await _store_evidence(request, principal, store, case_id, form)


async def _store_evidence(
    request: Request, principal: Principal, store: Store, case_id: str, form: Any
) -> Response:
    upload = form.get("file")
    view = store.reader()
    try:
        try:
            case = case_records.load(view, case_id)
        except LookupError:
            return RedirectResponse("/supervision", status_code=303)
        role = _role(view, principal, "upload_evidence", case)
        if role is None:
            return _refused(request, principal, "supervision")
        if upload is None or isinstance(upload, str):
            return RedirectResponse(
                f"/supervision/case/{case_id}?error={quote('no file 未选择文件')}", status_code=303
            )
        content = await upload.read(load_rules().max_attachment_bytes + 1)
        try:
            service.attach(
                view,
                case_id,
                content,
                upload.filename or "upload",
                str(form.get("kind", "")),
                str(form.get("phase", "after")),
                principal.name or "-",
                role,
                _now(request),
            )
        except (service.AttachmentError, CaseError) as error:
            return RedirectResponse(
                f"/supervision/case/{case_id}?error={quote(str(error)[:300])}", status_code=303
            )
    finally:
        view.con.close()
    return RedirectResponse(f"/supervision/case/{case_id}", status_code=303)


@router.get("/supervision/joint", response_class=HTMLResponse)
def joint_page(request: Request, principal: CurrentPrincipal, store: StoreDep) -> HTMLResponse:
    """The joint office view: joint cases with each side's task, and the registration form."""
    reader = store.reader()
    try:
        if _role(reader, principal, "read_internal", None) is None:
            return _refused(request, principal, "supervision")
        joints = [
            {
                "case": j,
                "children": case_records.cases(reader, parent=j.case_id),
                "signed_transfer": sorted(j.signed("transfer")),
                "signed_closure": sorted(j.signed("closure")),
            }
            for j in case_records.cases(reader, kind="joint")
        ]
        may_register = _role(reader, principal, "register", None) == "joint_office"
    finally:
        reader.con.close()
    zh = page_lang(request) == "zh"
    cats = {c: (v.zh if zh else v.en) for c, v in categories().items()}
    return _render(
        request,
        "supervision_joint.html",
        principal,
        page="supervision",
        joints=joints,
        may_register=may_register,
        categories=cats,
    )


@router.post("/supervision/joint", response_class=HTMLResponse)
async def joint_register(
    request: Request, principal: CurrentPrincipal, store: StoreDep
) -> Response:
    """Register a joint case from the joint office view."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    view = store.reader()
    try:
        if _role(view, principal, "register", None) != "joint_office":
            return _refused(request, principal, "supervision")
        try:
            sides = [
                int(c)
                for c in form.get("jurisdictions", "").replace("、", ",").split(",")
                if c.strip()
            ]
            made = service.register(
                view, "joint",
                {"source_type": "joint_inspection", "title": form.get("title", ""), "problem_text": form.get("problem_text", ""),
                 "category": form.get("category", "other"), "jurisdictions": sides, "standard": form.get("standard", ""),
                 "location_text": form.get("location_text", "")},
                principal.name or "-", "joint_office", _now(request),
            )  # fmt: skip
        except (CaseError, ValueError) as error:
            return RedirectResponse(
                f"/supervision/joint?error={quote(str(error)[:300])}", status_code=303
            )
    finally:
        view.con.close()
    return RedirectResponse(f"/supervision/case/{made.case_id}", status_code=303)


@router.get("/supervision/public", response_class=HTMLResponse)
def public_page(request: Request, principal: CurrentPrincipal, store: StoreDep) -> HTMLResponse:
    """The public disclosure: published cases (Open311 fields), notices open for objections."""
    reader = store.reader()
    try:
        rows = service.open311_requests(reader, page_lang(request), limit=500)
    finally:
        reader.con.close()
    return _render(
        request,
        "supervision_public.html",
        principal,
        page="supervision",
        rows=rows,
        sent=request.query_params.get("sent", ""),
    )


@router.post("/supervision/public/{case_id}/objection", response_class=HTMLResponse)
async def public_objection(
    request: Request, principal: CurrentPrincipal, store: StoreDep, case_id: str
) -> Response:
    """An objection during a notice (anyone; no personal data is asked or published)."""
    form = await request.form()
    text = str(form.get("objection", ""))[:2000]
    view = store.reader()
    try:
        try:
            service.open311_request(view, case_id)
            service.act(
                view,
                case_id,
                "objection",
                principal.name or "public",
                "public",
                {"objection": text, "reason": text},
                _now(request),
                request.client.host if request.client else "-",
            )
        except (LookupError, CaseError) as error:
            return RedirectResponse(
                f"/supervision/public?sent={quote('error: ' + str(error)[:200])}", status_code=303
            )
    finally:
        view.con.close()
    return RedirectResponse("/supervision/public?sent=ok", status_code=303)


@router.get("/supervision/keytasks", response_class=HTMLResponse)
def keytasks_page(
    request: Request,
    principal: CurrentPrincipal,
    store: StoreDep,
    by: str = "area",
    plan: str | None = None,
) -> HTMLResponse:
    """The key-task board per area or per owner."""
    reader = store.reader()
    try:
        if _role(reader, principal, "read_internal", None) is None:
            return _refused(request, principal, "supervision")
        plans = keytask_records.plans(reader)
        groups = keytasks_service.board(
            reader, plan, "owner" if by == "owner" else "area", _now(request).astimezone(CST).date()
        )
    finally:
        reader.con.close()
    return _render(
        request,
        "supervision_keytasks.html",
        principal,
        page="supervision",
        plans=plans,
        plan=plan,
        by=by,
        groups=groups,
        sources=source_types(),
    )
