"""The editing pages of a city's editors (issue 15): ``/edit`` and its forms.

* ``GET /edit``: the sites of the editor's city (admins: ``?city=``) with edit and retire,
  a new-site form (kind and WGS-84 coordinates checked against the city's boundary), the
  upload of a data file (tidy CSV or a bundled mapping's layout), the invalidation of a time
  range with a reason, and the audit log of the city.
* ``GET/POST /edit/sites/{id}``: one site's form; ``POST /edit/sites``, ``…/retire``,
  ``/edit/upload`` (the import report and the rejected lines with their reasons),
  ``/edit/invalidate``; ``GET /edit/rejected.csv?source=`` downloads an upload's rejected lines.

Server-rendered forms with the session's CSRF token (no script). Every form makes the write
API's own calls to :mod:`ecobasin.services.writes` with the same request models
(``web.models``), so rights (``web.security.policy``), checks and the audit log are the API's: a refusal is shown with its reason and status 403, an
invalid form with 422.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from ecobasin import catalog
from ecobasin.services import editing as editing_service
from ecobasin.services import reference
from ecobasin.services import writes as writes_service
from ecobasin.services.writes import INVALID_FLAGS, site_cities
from ecobasin.timebase import CST
from ecobasin.web.convert import upload_out
from ecobasin.web.deps import AQI_JOBS, RegionDep, StoreViewDep
from ecobasin.web.models import Invalidation, Retirement, SiteIn, SitePatch
from ecobasin.web.pages.dashboard import page_lang, templates
from ecobasin.web.problems import ProblemError, service_problems
from ecobasin.web.security.deps import CurrentPrincipal, actor_of
from ecobasin.web.security.policy import Principal, denial

if TYPE_CHECKING:
    from ecobasin.store import Store

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: A Store view over a cursor of its own for this request's writes.
WriterStore = StoreViewDep

KINDS = ("air_station", "micro_station", "water_section", "gas_outlet", "water_outlet")
LEVELS = ("national", "provincial", "city", "enterprise", "other")
#: Parameters offered by the invalidation form (any registry parameter is accepted).
PARAMETERS = ("PM2.5", "PM10", "SO2", "NO2", "O3", "CO")
AUDIT_ROWS = 50
REJECTED_ROWS_SHOWN = 200


def _city_of_page(principal: Principal, region: catalog.Region, asked: int | None) -> int:
    """The city the page edits: an editor's own; an admin's choice (default the first)."""
    if principal.role == "editor" and principal.city_code is not None:
        return principal.city_code
    return asked if asked in region.cities else region.cities[0]


def _site_rows(store: Store, city: int, lang: str) -> list[dict[str, Any]]:
    frame = reference.sites(store.con, cities=[city])
    rows = []
    for r in frame.to_dict("records"):
        attributes = json.loads(r["attributes"]) if isinstance(r["attributes"], str) else {}
        rows.append(
            {
                **{k: r[k] for k in ("site_id", "kind", "level", "name_zh", "name_en")},
                "lon": None if pd.isna(r["lon"]) else round(float(r["lon"]), 5),
                "lat": None if pd.isna(r["lat"]) else round(float(r["lat"]), 5),
                "name": (r["name_zh"] if lang == "zh" else r["name_en"]) or r["name_zh"] or "",
                "retired_on": attributes.get("retired_on"),
                "retired_reason": attributes.get("retired_reason"),
            }
        )
    return rows


def _problem_text(error: ProblemError) -> str:
    if error.errors:
        return "; ".join(f"{e.parameter}: {e.detail}" for e in error.errors)
    return error.detail


def _validation_text(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


def _render(
    request: Request,
    name: str,
    principal: Principal,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    base = {"page": "edit", "user": principal, "csrf_token": principal.csrf_token}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _gate(request: Request, principal: Principal) -> Response | None:
    """The public signs in first; users who may write nothing are refused with the reason."""
    if not principal.authenticated:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    reason = denial(principal, "write", what="sites and data")
    if reason is not None:
        return _render(request, "edit.html", principal, 403, forbidden=reason)
    return None


def _edit_page(
    request: Request,
    principal: Principal,
    region: catalog.Region,
    store: Store,
    city: int | None = None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    lang = page_lang(request)
    code = _city_of_page(principal, region, city)
    names = region.city_table().set_index(pd.Index(region.cities))
    column = "name_zh" if lang == "zh" else "name_en"
    context = {
        "city": code,
        "city_name": str(names.loc[code, column]) if code in names.index else str(code),
        "cities": [(c, str(names.loc[c, column])) for c in region.cities]
        if principal.role == "admin"
        else [],
        "sites": _site_rows(store, code, lang),
        "kinds": KINDS,
        "site_levels": LEVELS,
        "layouts": editing_service.upload_layouts(),
        "parameters": PARAMETERS,
        "flags": INVALID_FLAGS,
        "audit": editing_service.city_audit(store.con, code, AUDIT_ROWS),
        "cst": CST,
        "forbidden": None,
        "error": None,
        "notice": None,
        "form": {},
        **extra,
    }
    return _render(request, "edit.html", principal, status, **context)


def _outcome(
    request: Request,
    principal: Principal,
    region: catalog.Region,
    store: Store,
    city: int | None,
    action: Any,
    form: dict[str, Any],
) -> Response:
    """Run a form's write; render the page with its notice, or its error and status."""
    gate = _gate(request, principal)
    if gate is not None:
        return gate
    try:
        notice = action()
    except ValidationError as error:
        text = _validation_text(error)
        return _edit_page(request, principal, region, store, city, 422, error=text, form=form)
    except ProblemError as error:
        text = _problem_text(error)
        return _edit_page(
            request, principal, region, store, city, error.status, error=text, form=form
        )
    return _edit_page(request, principal, region, store, city, notice=notice)


def _optional_float(text: str) -> float | None:
    return float(text) if text.strip() else None


@router.get("/edit", response_class=HTMLResponse)
def edit_page(
    request: Request,
    principal: CurrentPrincipal,
    region: RegionDep,
    store: WriterStore,
    city: int | None = None,
) -> Response:
    """Sites, upload, invalidation and audit log of the editor's city."""
    return _gate(request, principal) or _edit_page(request, principal, region, store, city)


@router.post("/edit/sites", response_class=HTMLResponse)
def create_site(
    request: Request,
    principal: CurrentPrincipal,
    region: RegionDep,
    store: WriterStore,
    site_id: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=32)],
    city_code: Annotated[int, Form()],
    level: Annotated[str, Form(max_length=32)] = "city",
    name_zh: Annotated[str, Form(max_length=200)] = "",
    name_en: Annotated[str, Form(max_length=200)] = "",
    lon: Annotated[str, Form(max_length=32)] = "",
    lat: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Register a site of the editor's city (the write API's checks and audit)."""
    form = {
        "site_id": site_id,
        "kind": kind,
        "level": level,
        "name_zh": name_zh,
        "name_en": name_en,
        "lon": lon,
        "lat": lat,
    }

    def create() -> str:
        body = SiteIn.model_validate(
            {
                **form,
                "city_code": city_code,
                "lon": _coordinate(lon, "lon"),
                "lat": _coordinate(lat, "lat"),
                "name_zh": name_zh or None,
                "name_en": name_en or None,
            }
        )
        with service_problems():
            writes_service.create_site(store, actor_of(principal), body.model_dump())
        return f"站点 {body.site_id} 已创建 · site {body.site_id} created"

    return _outcome(request, principal, region, store, city_code, create, form)


def _coordinate(text: str, name: str) -> float | None:
    try:
        return _optional_float(text)
    except ValueError:
        raise ProblemError.invalid(name, f"{text!r} is not a number [°]") from None


@router.get("/edit/sites/{site_id}", response_class=HTMLResponse)
def site_form(
    request: Request,
    principal: CurrentPrincipal,
    region: RegionDep,
    store: WriterStore,
    site_id: str,
) -> Response:
    """One site's form (an editor of another city is refused with the reason, 403)."""
    gate = _gate(request, principal)
    if gate is not None:
        return gate
    return _site_page(request, principal, store, site_id)


def _site_page(
    request: Request,
    principal: Principal,
    store: Store,
    site_id: str,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    found = reference.sites(store.con, site_ids=[site_id])
    if found.empty:
        message = f"没有站点 {site_id} · no site {site_id!r}"
        return _render(request, "edit_site.html", principal, 404, forbidden=message, site=None)
    row = found.iloc[0]
    reason = denial(principal, "write", int(row["city_code"]), f"site {site_id}")
    if reason is not None:
        return _render(request, "edit_site.html", principal, 403, forbidden=reason, site=None)
    site = next(
        s
        for s in _site_rows(store, int(row["city_code"]), page_lang(request))
        if s["site_id"] == site_id
    )
    context = {
        "site": site,
        "kinds": KINDS if site["kind"] in KINDS else (*KINDS, site["kind"]),
        "site_levels": LEVELS,
        "forbidden": None,
        "error": None,
        "notice": None,
    }
    return _render(request, "edit_site.html", principal, status, **{**context, **extra})


def _current_kind(store: Store, site_id: str) -> str | None:
    found = site_cities(store.con, [site_id])
    return found[site_id][1] if site_id in found else None


@router.post("/edit/sites/{site_id}", response_class=HTMLResponse)
def update_site(
    request: Request,
    principal: CurrentPrincipal,
    store: WriterStore,
    site_id: str,
    kind: Annotated[str, Form(max_length=32)],
    level: Annotated[str, Form(max_length=32)],
    name_zh: Annotated[str, Form(max_length=200)] = "",
    name_en: Annotated[str, Form(max_length=200)] = "",
    lon: Annotated[str, Form(max_length=32)] = "",
    lat: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Change a site's names, kind, level or coordinates (the write API's checks)."""
    gate = _gate(request, principal)
    if gate is not None:
        return gate
    try:
        changes = {
            "level": level,
            "name_zh": name_zh or None,
            "name_en": name_en or None,
            "lon": _coordinate(lon, "lon"),
            "lat": _coordinate(lat, "lat"),
        }
        if kind != _current_kind(store, site_id):  # kinds the API does not write stay as they are
            changes["kind"] = kind
        patch = SitePatch.model_validate(changes)
        with service_problems():
            writes_service.update_site(
                store, actor_of(principal), site_id, patch.model_dump(exclude_unset=True)
            )
    except ValidationError as error:
        return _site_page(request, principal, store, site_id, 422, error=_validation_text(error))
    except ProblemError as error:
        if error.status == 403 or error.status == 404:
            return _site_page(request, principal, store, site_id)
        return _site_page(
            request, principal, store, site_id, error.status, error=_problem_text(error)
        )
    notice = f"站点 {site_id} 已保存 · site {site_id} saved"
    return _site_page(request, principal, store, site_id, notice=notice)


@router.post("/edit/sites/{site_id}/retire", response_class=HTMLResponse)
def retire_site(
    request: Request,
    principal: CurrentPrincipal,
    region: RegionDep,
    store: WriterStore,
    site_id: str,
    reason: Annotated[str, Form(max_length=500)],
) -> Response:
    """Retire a site from today (its data and history stay)."""
    city = site_cities(store.con, [site_id]).get(site_id, (None, ""))[0]

    def retire() -> str:
        body = Retirement(reason=reason)
        on = body.on or datetime.now(CST).date()
        with service_problems():
            writes_service.retire_site(store, actor_of(principal), site_id, body.reason, on)
        return f"站点 {site_id} 已撤销 · site {site_id} retired"

    form = {"retire_site": site_id, "retire_reason": reason}
    return _outcome(request, principal, region, store, city, retire, form)


@router.post("/edit/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    principal: CurrentPrincipal,
    region: RegionDep,
    store: WriterStore,
    file: Annotated[UploadFile, File()],
    layout: Annotated[str, Form(max_length=64)] = editing_service.TIDY,
    city: Annotated[int | None, Form(ge=100000, le=999999)] = None,
) -> Response:
    """Import a data file; the report and the rejected lines with their reasons. ``city``:
    the page's city, that of a layout whose file name names none."""
    gate = _gate(request, principal)
    if gate is not None:
        return gate
    name = file.filename or "upload.csv"
    try:
        with service_problems():
            done = writes_service.upload(
                store, actor_of(principal), name, file.file.read(), layout,
                request.app.state.limits.window(), datetime.now(UTC), AQI_JOBS,
                _city_of_page(principal, region, city),
            )  # fmt: skip
        result = upload_out(done, layout)
    except ProblemError as error:
        return _render(
            request,
            "edit_upload.html",
            principal,
            error.status,
            error=_problem_text(error),
            result=None,
            file_name=name,
        )
    return _render(
        request,
        "edit_upload.html",
        principal,
        result=_rejected_in_cst(result),
        file_name=name,
        error=None,
        shown=REJECTED_ROWS_SHOWN,
    )


#: a UTC instant in a stored reason: ``2035-01-01 01:00:00+00:00`` (pandas) or ``…T01:00Z``
_UTC_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:\+00:00|Z)")
#: a range "A to B UTC" of the plausibility window (ecobasin.ingest.validate.TimeWindow)
_UTC_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) to (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


def _cst(day: str, clock: str) -> str:
    stamp = pd.Timestamp(f"{day} {clock}", tz="UTC").tz_convert(CST)
    return f"{stamp:%Y-%m-%d %H:%M}"


def in_cst(text: str) -> str:
    """A stored reason with its UTC instants written in China Standard Time (UTC+8), the time
    of the file's own lines and of every page (issue 15: the upload report showed UTC)."""
    text = _UTC_RANGE.sub(lambda m: f"{_cst(*m[1].split())} to {_cst(*m[2].split())} CST", text)
    return _UTC_INSTANT.sub(lambda m: f"{_cst(m[1], m[2])} CST", text)


def _rejected_in_cst(result: Any) -> Any:
    """The upload's report with the reasons of its rejected lines in CST."""
    lines = [
        line.model_copy(update={"reason": in_cst(line.reason), "raw": in_cst(line.raw or "")})
        for line in result.rejected
    ]
    return result.model_copy(update={"rejected": lines})


@router.get("/edit/rejected.csv")
def rejected_csv(principal: CurrentPrincipal, store: WriterStore, source: str) -> Response:
    """The rejected lines of one upload as CSV (UTF-8 with BOM: spreadsheets read it)."""
    reason = denial(principal, "read_restricted", what="rejected records")
    if reason is not None:
        raise ProblemError(403 if principal.authenticated else 401, reason)
    frame = editing_service.rejected_of(store.con, source)
    for column in ("reason", "raw"):  # as the report page shows them
        frame[column] = frame[column].fillna("").astype(str).map(in_cst)
    text = "\ufeff" + frame.to_csv(index=False)
    file_name = "rejected.csv"
    return StreamingResponse(
        io.BytesIO(text.encode("utf-8")),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


@router.post("/edit/invalidate", response_class=HTMLResponse)
def invalidate(
    request: Request,
    principal: CurrentPrincipal,
    region: RegionDep,
    store: WriterStore,
    site_id: Annotated[str, Form(max_length=64)],
    start: Annotated[str, Form(max_length=40)],
    end: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=500)],
    parameters: Annotated[list[str], Form()],
    flag: Annotated[str, Form(max_length=4)] = "D",
) -> Response:
    """Mark a site's hourly values invalid over an inclusive CST range, with a reason."""
    form = {
        "site_id": site_id,
        "start": start,
        "end": end,
        "reason": reason,
        "flag": flag,
        "parameters": parameters,
    }

    def run() -> str:
        body = Invalidation.model_validate({**form, "period": "1h"})
        with service_problems():
            result = writes_service.invalidate(
                store, actor_of(principal), body.site_id, body.parameters, body.period,
                body.start, body.end, body.flag, body.reason, AQI_JOBS,
            )  # fmt: skip
        return (
            f"已标记无效 {result['updated']} 个值（共 {result['matched']} 个）· "
            f"{result['updated']} of {result['matched']} values marked invalid ({flag})"
        )

    return _outcome(request, principal, region, store, principal.city_code, run, form)
