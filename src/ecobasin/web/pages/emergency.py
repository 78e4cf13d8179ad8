"""Emergency-list pages 应急减排清单 (issue 17), rendered on the server (no script: charts are
inline SVG, so the same HTML also makes the PDF):

* ``/emergency/enterprises/{uscc}``: one enterprise's own view 企业视图 (its measures at each
  level, the active warning, its verdicts with links to their evidence, its findings), read-only;
  an enterprise account sees only its own (policy ``read_enterprise``).

Rights are :mod:`ecobasin.web.security.policy`'s: the public is sent to sign in, a refusal is
shown with its reason (403).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ecobasin.services import emergency as service
from ecobasin.standards.emergency import LEVELS
from ecobasin.store import emergency as db
from ecobasin.web.deps import CursorDep
from ecobasin.web.pages.dashboard import templates
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import Principal, denial

__all__ = ["LEVEL_LABELS", "VERDICT_LABELS", "measure_text", "router"]

router = APIRouter(include_in_schema=False)

#: Warning levels and verdicts as people read them (Chinese · English).
LEVEL_LABELS = {"yellow": "黄色 Yellow", "orange": "橙色 Orange", "red": "红色 Red"}
VERDICT_LABELS = {
    "compliant": "达标 compliant",
    "non_compliant": "未落实 non-compliant",
    "insufficient_data": "数据不足 insufficient data",
    "exempt": "豁免 exempt",
}
_CATEGORY_LABELS = {"key": "重点 key", "other": "其他 other", "保障类": "保障类 guaranteed",
                    "exempt": "豁免 exempt"}  # fmt: skip


def measure_text(measure: dict[str, Any]) -> str:
    """A measure in both languages: ``限产 50% · limit 50 % (宽限 2 h grace)``."""
    action = measure.get("action")
    if action == "stop":
        text = "停产 · stop"
    elif action == "limit":
        pct = f"{float(measure['ratio']) * 100:g}"
        text = f"限产 {pct}% · limit {pct} %"
    else:
        text = "豁免（仅报告）· exempt (report only)"
    grace = int(measure.get("grace_hours", 0))
    return f"{text}（宽限 {grace} h grace）" if grace else text


templates.env.globals["emergency_measure_text"] = measure_text
templates.env.globals["emergency_level_labels"] = LEVEL_LABELS
templates.env.globals["emergency_verdict_labels"] = VERDICT_LABELS


def enterprise_principal(cursor: Any, principal: Principal) -> Principal:
    """The principal; an enterprise user's carries the USCC it is bound to (as the API's)."""
    if principal.role != "enterprise":
        return principal
    return replace(principal, uscc=db.enterprise_of(cursor, principal.user_id))


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
