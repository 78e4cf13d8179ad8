"""Emergency-list pages 应急减排清单 (issue 17), rendered on the server (no script: charts are
inline SVG, so the same HTML also makes the PDF):

* ``/emergency``: a city's list 清单 by version and level, with the list accounting (reductions
  against the city baseline, the required ratios, the shortfall chart and the candidates) and the
  city's warnings; an enterprise account is sent to its own page.
* ``/emergency/reports/{activation}``: the compliance report of one warning 合规报告 (bilingual):
  the non-compliant, the insufficient-data and the flagged enterprises, each with its evidence.
* ``/emergency/enterprises/{uscc}``: one enterprise's own view 企业视图 (its measures at each
  level, the active warning, its verdicts with links to their evidence, its findings), read-only;
  an enterprise account sees only its own (policy ``read_enterprise``).
* ``/emergency/findings``: open findings 待处理问题 with their owners, closable with a note by an
  editor of the warning's city or an admin (a form posting to ``…/{id}/close``).
* ``/emergency/evidence/{activation}?uscc=&outlet=&pollutant=``: the evidence bundle of one
  verdict 核查证据 (hourly table, flags, mass and power curves, the measure text, the list
  version), with its CSV and PDF (``…/evidence.csv``, ``/emergency/evidence/{activation}.pdf``).

Rights are :mod:`ecobasin.web.security.policy`'s: the public is sent to sign in, a refusal is
shown with its reason (403).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ecobasin.services import emergency as service
from ecobasin.services.emergency_report import LEVEL_LABELS, VERDICT_LABELS, measure_text
from ecobasin.services.pdf import html_to_pdf
from ecobasin.standards.emergency import LEVELS
from ecobasin.web.deps import CursorDep, RegionDep, StoreDep  # Store: the type services take
from ecobasin.web.pages.dashboard import templates
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import Principal, denial

__all__ = [
    "LEVEL_LABELS", "VERDICT_LABELS", "bundle_context", "charts", "enterprise_principal",
    "measure_text", "router", "shortfall_chart",
]  # fmt: skip

router = APIRouter(include_in_schema=False)

_CATEGORY_LABELS = {"key": "重点 key", "other": "其他 other", "保障类": "保障类 guaranteed",
                    "exempt": "豁免 exempt"}  # fmt: skip


templates.env.globals["emergency_measure_text"] = measure_text
templates.env.globals["emergency_level_labels"] = LEVEL_LABELS
templates.env.globals["emergency_verdict_labels"] = VERDICT_LABELS


def enterprise_principal(cursor: Any, principal: Principal) -> Principal:
    """The principal; an enterprise user's carries the USCC it is bound to (as the API's)."""
    if principal.role != "enterprise":
        return principal
    return replace(principal, uscc=service.enterprise_of(cursor, principal.user_id))


def _render(
    request: Request, name: str, principal: Principal, status: int = 200, **context: Any
) -> HTMLResponse:
    base = {"page": "emergency", "user": principal if principal.authenticated else None}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _refusal(request: Request, principal: Principal, reason: str | None) -> Response | None:
    """The public signs in first; a refusal is shown with its reason (403)."""
    if reason is None:
        return None
    if not principal.authenticated:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    return _render(request, "emergency_refused.html", principal, 403, reason=reason)


@router.get("/emergency/enterprises/{uscc}", response_class=HTMLResponse)
def enterprise_page(
    request: Request, uscc: str, cursor: CursorDep, principal: CurrentPrincipal
) -> Response:
    """One enterprise's measures, warnings, verdicts and findings (read-only)."""
    who = enterprise_principal(cursor, principal)
    refused = _refusal(request, who, denial(who, "read_enterprise", what=uscc))
    if refused is not None:
        return refused
    view = service.enterprise_view(cursor, uscc, datetime.now(UTC))
    if view is None:
        message = f"企业 {uscc} 未列入清单 · enterprise {uscc} is on no list"
        return _render(request, "notfound.html", who, 404, message=message)
    return _render(
        request,
        "emergency_enterprise.html",
        who,
        view=view,
        warning_levels=LEVELS,
        category=_CATEGORY_LABELS.get(view["category"], view["category"]),
    )


def _points(values: list[float | None], top: float, width: int, height: int) -> str:
    """SVG polyline points of hourly values scaled to ``top`` (gaps skipped) [px]."""
    step = width / max(len(values) - 1, 1)
    scale = height / top if top > 0 else 0.0
    return " ".join(
        f"{i * step:.1f},{height - v * scale:.1f}" for i, v in enumerate(values) if v is not None
    )


def charts(hours: list[dict[str, Any]], baseline_kg_h: float | None) -> list[dict[str, Any]]:
    """The bundle's two charts as SVG series: hourly mass [kg] against the baseline rate, and
    the production and treatment power [kW] (when the enterprise has meters)."""
    width, height = 720, 160
    mass = [h.get("mass_kg") for h in hours]
    top = max([m for m in mass if m is not None] + [baseline_kg_h or 0.0, 1e-9]) * 1.1
    out = [{
        "id": "mass-chart", "title": "小时排放量 Hourly mass [kg]", "unit": "kg",
        "top": top, "width": width, "height": height,
        "series": [{"name": "排放量 mass", "color": "#d95f02", "points": _points(mass, top, width, height)}],
        "baseline": None if baseline_kg_h is None else height - baseline_kg_h * height / top,
    }]  # fmt: skip
    if any("production_kw" in h for h in hours):
        prod = [h.get("production_kw") for h in hours]
        treat = [h.get("treatment_kw") for h in hours]
        top_kw = max([v for v in prod + treat if v is not None] + [1e-9]) * 1.1
        out.append({
            "id": "power-chart", "title": "用电功率 Power [kW]", "unit": "kW", "top": top_kw,
            "width": width, "height": height, "baseline": None,
            "series": [
                {"name": "生产 production", "color": "#1b9e77", "points": _points(prod, top_kw, width, height)},
                {"name": "治污 treatment", "color": "#7570b3", "points": _points(treat, top_kw, width, height)},
            ],
        })  # fmt: skip
    return out


def bundle_context(bundle: dict[str, Any]) -> dict[str, Any]:
    """What the evidence template needs (also for the PDF)."""
    verdict = bundle["verdict"]
    return {
        "bundle": bundle, "act": bundle["activation"], "v": verdict, "rec": bundle["record"],
        "hours": bundle["hours"], "charts": charts(bundle["hours"], verdict["baseline_kg_h"]),
        "measure": measure_text(verdict["measure"]),
    }  # fmt: skip


def _bundle_or_response(
    request: Request, cursor: Any, principal: Principal, activation: str,
    uscc: str, outlet: str, pollutant: str,
) -> tuple[Principal, dict[str, Any] | Response]:  # fmt: skip
    who = enterprise_principal(cursor, principal)
    refused = _refusal(request, who, denial(who, "read_enterprise", what=uscc))
    if refused is not None:
        return who, refused
    try:
        return who, service.evidence_bundle(cursor, activation, uscc, outlet, pollutant)
    except LookupError as exc:
        return who, _render(request, "notfound.html", who, 404, message=str(exc))


@router.get("/emergency/evidence/{activation}", response_class=HTMLResponse)
def evidence_page(
    request: Request, activation: str, cursor: CursorDep, principal: CurrentPrincipal,
    uscc: str, outlet: str, pollutant: str = "NOx",
) -> Response:  # fmt: skip
    """The evidence bundle of one verdict as a page (links to its CSV and PDF)."""
    who, found = _bundle_or_response(
        request, cursor, principal, activation, uscc, outlet, pollutant
    )
    if isinstance(found, Response):
        return found
    query = f"uscc={quote(uscc)}&outlet={quote(outlet)}&pollutant={quote(pollutant)}"
    return _render(
        request, "emergency_evidence.html", who, **bundle_context(found),
        csv_url=f"/api/v1/emergency/activations/{quote(activation)}/evidence.csv?{query}",
        pdf_url=f"/emergency/evidence/{quote(activation)}/pdf?{query}",
    )  # fmt: skip


@router.get("/emergency/evidence/{activation}/pdf", response_class=Response)
def evidence_pdf(
    request: Request, activation: str, cursor: CursorDep, principal: CurrentPrincipal,
    uscc: str, outlet: str, pollutant: str = "NOx",
) -> Response:  # fmt: skip
    """The evidence bundle as a PDF (the page's content, WeasyPrint through services.pdf)."""
    _who, found = _bundle_or_response(
        request, cursor, principal, activation, uscc, outlet, pollutant
    )
    if isinstance(found, Response):
        return found
    template = templates.env.get_template("emergency_evidence_print.html")
    html = template.render(**bundle_context(found))
    name = f"evidence-{activation}-{uscc}-{outlet}-{pollutant}.pdf"
    return Response(
        html_to_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/emergency/findings", response_class=HTMLResponse)
def findings_page(request: Request, cursor: CursorDep, principal: CurrentPrincipal) -> Response:
    """Findings (open by default, ``?status=closed|all``) with owners and a close form."""
    refused = _refusal(request, principal, denial(principal, "read_restricted", what="findings"))
    if refused is not None:
        return refused
    status = request.query_params.get("status", "open")
    status = status if status in ("open", "closed", "all") else "open"
    rows = service.findings(cursor, status=None if status == "all" else status)
    for row in rows:
        row["can_close"] = (
            row["status"] == "open" and denial(principal, "close_finding", row["city_code"]) is None
        )
    return _render(
        request, "emergency_findings.html", principal, findings=rows, shown=status,
        csrf_token=principal.csrf_token,
    )  # fmt: skip


@router.post("/emergency/findings/{finding_id}/close", response_class=HTMLResponse)
def close_finding_form(
    request: Request, finding_id: str, store: StoreDep, principal: CurrentPrincipal,
    note: Annotated[str, Form(max_length=2000)],
) -> Response:  # fmt: skip
    """Close a finding from the page's form (CSRF-checked like every form post)."""
    found = service.finding(store, finding_id)
    if found is None:
        message = f"没有问题 {finding_id} · no finding {finding_id}"
        return _render(request, "notfound.html", principal, 404, message=message)
    reason = denial(principal, "close_finding", found["city_code"], f"finding {finding_id}")
    refused = _refusal(request, principal, reason)
    if refused is not None:
        return refused
    view = store.reader()
    try:
        service.close_finding(view, finding_id, note, principal.name or "?", datetime.now(UTC))
    except ValueError as exc:
        return _render(request, "emergency_refused.html", principal, 409, reason=str(exc))
    finally:
        view.con.close()
    return RedirectResponse("/emergency/findings", status_code=303)


def shortfall_chart(accounting: dict[str, Any]) -> dict[str, Any]:
    """Bars of the list's reduction share per pollutant against the required share [%], the
    shortfall [t/d] written on the bars that fall short (§1.4)."""
    width, height, bar = 480, 180, 70
    top = max([*accounting["ratio"].values(), *accounting["required_ratio"].values(), 0.01]) * 1.2
    bars = []
    for i, (p, ratio) in enumerate(accounting["ratio"].items()):
        need = float(accounting["required_ratio"].get(p, 0.0))
        h = height * ratio / top
        bars.append({
            "pollutant": p, "x": 30 + i * (bar + 40), "y": height - h, "h": h, "w": bar,
            "ratio": ratio * 100, "required": need * 100, "need_y": height - height * need / top,
            "meets": accounting["meets"][p], "shortfall": accounting["shortfall_t_per_d"][p],
        })  # fmt: skip
    return {"width": width, "height": height, "bars": bars}


@router.get("/emergency", response_class=HTMLResponse)
def list_page(
    request: Request, cursor: CursorDep, principal: CurrentPrincipal, region: RegionDep
) -> Response:
    """A city's list at a level, its accounting with the shortfall chart, and its warnings."""
    who = enterprise_principal(cursor, principal)
    if who.role == "enterprise" and who.uscc:
        return RedirectResponse(f"/emergency/enterprises/{quote(who.uscc)}", status_code=303)
    refused = _refusal(request, who, denial(who, "read_restricted", what="emergency lists"))
    if refused is not None:
        return refused
    q = request.query_params
    cities = [str(c) for c in region.cities]
    city = str(q.get("city")) if q.get("city") in cities else cities[0]
    level = str(q.get("level")) if q.get("level") in LEVELS else "orange"
    asked = q.get("version", "")
    overview = service.list_overview(
        cursor, city, level, datetime.now(UTC), int(asked) if asked.isdigit() else None
    )
    accounting = overview["accounting"] if overview else None
    return _render(
        request, "emergency_list.html", who, overview=overview, city=city, cities=cities,
        level=level, warning_levels=LEVELS,
        chart=shortfall_chart(accounting) if accounting else None,
    )  # fmt: skip


@router.get("/emergency/reports/{activation}", response_class=HTMLResponse)
def report_page(
    request: Request, activation: str, cursor: CursorDep, principal: CurrentPrincipal
) -> Response:
    """The compliance report of one warning, bilingual, each named enterprise with evidence."""
    refused = _refusal(request, principal, denial(principal, "read_restricted", what="reports"))
    if refused is not None:
        return refused
    try:
        report = service.compliance_report(cursor, activation)
    except LookupError as exc:
        return _render(request, "notfound.html", principal, 404, message=str(exc))
    return _render(request, "emergency_report.html", principal, report=report)
