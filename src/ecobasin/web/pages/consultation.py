"""The consultation pages (issue 16), one per role's job, bilingual, server-rendered:

- ``/consultation``: sessions, the chair rota and one's own notifications;
- ``/consultation/{id}``: the chair's session console (state, who has submitted, the steps the
  state allows, the audit trail);
- ``/consultation/{id}/submit?city=CODE``: a city forecaster's form, pre-filled from the frozen
  model guidance or the city's own earlier submission; the rules' refusals are shown;
- ``/consultation/{id}/divergences``: the divergence board, each item resolved with a rationale;
- ``/consultation/{id}/report``: the stored reports (HTML, PDF) with draft and sign-off;
- ``/consultation/verification``: the consensus lift per month and city.

Forms are sent by ``static/js/consultation.js`` as JSON to ``/api/v1/consultation/…`` with the
CSRF header; the API decides every right (web/security/policy.py), the page only shows the answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from ecobasin.services import consultation as service
from ecobasin.web.deps import Store, StoreViewDep  # Store: the type the service takes
from ecobasin.web.pages.dashboard import page_lang, templates
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import Principal
from ecobasin.workflow.consultation import ConsultationError, load_rota, load_rules

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The steps a state allows on the console (event, API path, Chinese, English).
STEPS: dict[str, list[tuple[str, str, str, str]]] = {
    "scheduled": [
        (
            "open_submissions",
            "open",
            "开始收集（无模式指导）",
            "Open collection (no model guidance)",
        )
    ],
    "collecting": [
        ("close_submissions", "steps/close_submissions", "截止收集", "Close collection")
    ],
    "reconciling": [("start_session", "steps/start_session", "开始会商", "Start the session")],
    "in_session": [("conclude", "steps/conclude", "形成结论", "Conclude")],
    "concluded": [("draft_report", "report", "生成会商意见", "Draft the report")],
    "report_draft": [("sign", "sign", "签发", "Sign and issue")],
}


#: The states in words (Chinese, English).
STATE_WORDS: dict[str, tuple[str, str]] = {
    "scheduled": ("已安排", "Scheduled"),
    "collecting": ("收集中", "Collecting"),
    "reconciling": ("待会商", "Reconciling"),
    "in_session": ("会商中", "In session"),
    "concluded": ("已形成结论", "Concluded"),
    "report_draft": ("报告草稿", "Report drafted"),
    "issued": ("已签发", "Issued"),
    "superseded": ("已被替代", "Superseded"),
    "cancelled": ("已取消", "Cancelled"),
    "archived": ("已归档", "Archived"),
}
#: The audit's events and the divergence resolutions in words (Chinese, English).
EVENT_WORDS: dict[str, tuple[str, str]] = {
    "schedule": ("安排会商", "Scheduled"),
    "open_submissions": ("开始收集", "Opened collection"),
    "submit": ("城市提交", "City submission"),
    "close_submissions": ("截止收集", "Close collection"),
    "start_session": ("开始会商", "Started the session"),
    "resolve": ("处理分歧", "Resolved a divergence"),
    "set_consensus": ("确定共识", "Set the consensus"),
    "set_warning": ("预警建议", "Warning proposal"),
    "conclude": ("形成结论", "Concluded"),
    "draft_report": ("生成报告", "Drafted the report"),
    "sign": ("签发", "Signed"),
    "amend": ("修订", "Amended"),
    "cancel": ("取消", "Cancelled"),
    "archive": ("归档", "Archived"),
    "accept_city": ("采纳城市意见", "City accepted"),
    "adjust_city": ("调整城市预报", "City adjusted"),
    "note_dissent": ("记录保留意见", "Dissent noted"),
}
_CST = timezone(timedelta(hours=8))


def _cst(iso: str) -> str:
    """An ISO 8601 instant as people read it: China Standard Time, to the minute."""
    return datetime.fromisoformat(iso).astimezone(_CST).strftime("%Y-%m-%d %H:%M")


PageStore = StoreViewDep  # a Store view over a cursor of its own for this request
SessionId = Annotated[str, Path(max_length=80)]


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = page_lang(request)
    context.setdefault("page", "consultation")
    context["tt"] = lambda zh, en: en if lang == "en" else zh
    context["cst"] = _cst
    context["state_word"] = lambda state: STATE_WORDS.get(state, (state, state))[lang == "en"]
    context["event_word"] = lambda event: EVENT_WORDS.get(event, (event, event))[lang == "en"]
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _roles(store: Store, principal: Principal) -> list[tuple[str, int | None]]:
    return list(service.roles_of(store, principal.name))


def _signed_in(request: Request, principal: Principal) -> HTMLResponse | None:
    if principal.authenticated:
        return None
    return _render(request, "consultation_signin.html", 401)


@router.get("/consultation", response_class=HTMLResponse)
def index(request: Request, store: PageStore, principal: CurrentPrincipal) -> HTMLResponse:
    """Sessions, the rota of the latest session's year and one's own notifications."""
    if (refused := _signed_in(request, principal)) is not None:
        return refused
    sessions = service.list_view(store)
    year = int(sessions[0]["session_date"][:4]) if sessions else 2026
    try:
        rota = sorted(load_rota(year).months.items())
    except FileNotFoundError:
        rota = []
    notes = service.notices_of(store, principal.name or "", unread_only=True)
    return _render(request, "consultation.html", sessions=sessions, rota=rota, year=year,
                   names=service._city_name(page_lang(request)), notices=notes,
                   roles=_roles(store, principal))  # fmt: skip


def _view(request: Request, store: Store, session_id: str) -> dict[str, Any] | None:
    try:
        return service.session_view(store, session_id, page_lang(request))
    except LookupError:
        return None


def _missing(request: Request, session_id: str) -> HTMLResponse:
    return _render(request, "consultation_missing.html", 404, session_id=session_id)


def _session(
    request: Request, store: Store, principal: Principal, session_id: str
) -> tuple[dict[str, Any], HTMLResponse | None]:
    """A session page's view, or the answer instead of it: sign in first (401), no such
    session (404)."""
    if (refused := _signed_in(request, principal)) is not None:
        return {}, refused
    view = _view(request, store, session_id)
    if view is None:
        return {}, _missing(request, session_id)
    return view, None


@router.get("/consultation/verification", response_class=HTMLResponse)
def verification_page(
    request: Request, store: PageStore, principal: CurrentPrincipal
) -> HTMLResponse:
    """The consensus lift (consensus minus the mean city, minus the best model) per month and city."""
    if (refused := _signed_in(request, principal)) is not None:
        return refused
    names = service._city_name(page_lang(request))
    months = service.lift_by_month(store)  # the page and the API from the same numbers
    rows, cities = _lift_table(months)
    models = _model_rows(months)
    return _render(
        request, "consultation_verification.html", rows=rows, cities=cities, names=names,
        models=models, metrics=_MODEL_METRICS,
    )  # fmt: skip


#: The model table's columns: metric, label zh, label en.
_MODEL_METRICS = (
    ("level_hit", "级别准确率", "Level hit"),
    ("range_hit", "范围命中率", "Range hit"),
    ("primary_hit", "首要污染物", "Primary"),
    ("ts_100", "TS AQI>100", "TS AQI>100"),
    ("ts_200", "TS AQI>200", "TS AQI>200"),
)


def _model_rows(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per month, the consensus and each model of the snapshots scored the same way (the
    ``lift``'s consensus and the ``models`` of :func:`service.lift_by_month`)."""
    rows = []
    for m in months:
        consensus = {metric: part["consensus"] for metric, part in m["lift"].items()}
        rows.append({"month": m["month"], "source": None, "scores": consensus})
        rows += [{"month": m["month"], "source": n, "scores": v} for n, v in m["models"].items()]
    return rows


def _lift_table(months: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The level-hit rows of :func:`service.lift_by_month` (the same numbers as the API's
    ``/verification``): per month the lift over the mean city and the best model, and per city
    the consensus on that city's days minus the city's own."""
    rows = [
        {"month": m["month"], "sessions": m["sessions"], "days": m["observed_days"],
         "mean_city": m["lift"]["level_hit"]["minus_mean_city"],
         "best_model": m["lift"]["level_hit"]["minus_best_model"],
         "city": {int(c): by["level_hit"] for c, by in m["cities"].items()}}
        for m in months
    ]  # fmt: skip
    return rows, sorted({c for r in rows for c in r["city"]})


@router.get("/consultation/{session_id}", response_class=HTMLResponse)
def console(
    request: Request, store: PageStore, principal: CurrentPrincipal, session_id: SessionId
) -> HTMLResponse:
    """The chair's session console: state, who has submitted, the allowed steps, the audit."""
    view, refused = _session(request, store, principal, session_id)
    if refused is not None:
        return refused
    by_city: dict[int, dict[str, Any]] = {}
    for cell in view["table"]:
        city = by_city.setdefault(
            cell["city"], {"name": cell["city_name"], "days": 0, "late": False}
        )
        city["days"] += cell["submitted"] is not None
        city["late"] = city["late"] or cell["late"]
        city["consensus_days"] = city.get("consensus_days", 0) + (cell["consensus"] is not None)
    defaults = service.warning_defaults(store, session_id) if view["state"] == "in_session" else {}
    return _render(request, "consultation_console.html", v=view, cities=by_city,
                   steps=STEPS.get(view["state"], []), roles=_roles(store, principal),
                   defaults=defaults)  # fmt: skip


@router.get("/consultation/{session_id}/submit", response_class=HTMLResponse)
def submission_form(
    request: Request,
    store: PageStore,
    principal: CurrentPrincipal,
    session_id: SessionId,
    city: int | None = None,
) -> HTMLResponse:
    """A city's submission form, pre-filled (its own city by default)."""
    view, refused = _session(request, store, principal, session_id)
    if refused is not None:
        return refused
    own = [c for role, c in _roles(store, principal) if role.startswith("city_") and c]
    chosen = city or (own[0] if own else int(view["table"][0]["city"]))
    rows = service.prefill(store, session_id, chosen)
    names = service._city_name(page_lang(request))
    return _render(request, "consultation_submit.html", v=view, city=chosen, city_name=names.get(chosen),
                   rows=rows, own=own, names=names, pollutants=load_rules().pollutants)  # fmt: skip


@router.get("/consultation/{session_id}/consensus", response_class=HTMLResponse)
def consensus_form(
    request: Request,
    store: PageStore,
    principal: CurrentPrincipal,
    session_id: SessionId,
    city: int | None = None,
) -> HTMLResponse:
    """The chair's consensus form for one city, pre-filled (the consensus set, the city's
    submission, the model guidance); the API decides who may send it."""
    view, refused = _session(request, store, principal, session_id)
    if refused is not None:
        return refused
    chosen = city or int(view["table"][0]["city"])
    names = service._city_name(page_lang(request))
    return _render(request, "consultation_consensus.html", v=view, city=chosen, city_name=names.get(chosen),
                   rows=service.consensus_prefill(store, session_id, chosen), names=names,
                   pollutants=load_rules().pollutants)  # fmt: skip


@router.get("/consultation/{session_id}/divergences", response_class=HTMLResponse)
def divergence_board(
    request: Request, store: PageStore, principal: CurrentPrincipal, session_id: SessionId
) -> HTMLResponse:
    """Every divergence item with its resolution, or a form to resolve it with a rationale."""
    view, refused = _session(request, store, principal, session_id)
    if refused is not None:
        return refused
    names = service._city_name(page_lang(request))
    return _render(request, "consultation_divergences.html", v=view, names=names)


@router.get("/consultation/{session_id}/report", response_class=HTMLResponse)
def report_page(
    request: Request, store: PageStore, principal: CurrentPrincipal, session_id: SessionId
) -> HTMLResponse:
    """The stored reports (HTML preview links and PDFs), the draft and sign-off buttons."""
    view, refused = _session(request, store, principal, session_id)
    if refused is not None:
        return refused
    try:
        proposal = service.proposal_view(store, session_id, page_lang(request))
    except ConsultationError:
        proposal = None  # not issued yet
    return _render(request, "consultation_report.html", v=view, reports=service.reports_of(store, session_id),
                   proposal=proposal)  # fmt: skip
