"""Editing API of a city's editors (issue 15), beside the writes of :mod:`.writes`: upload a
data file (tidy CSV or a bundled mapping's layout), retire a site, read a city's audit log.

The same rights as every write (``web.security.policy``): an editor writes and reads the audit
of their city only, an admin every city; an upload naming any site of another city is refused
whole (403) and stores nothing. Every write is in the audit log. The editing pages
(``web.pages.editor``) make the same calls to :mod:`ecobasin.services.writes`, so a page and
the API answer alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam

from ecobasin.services import editing
from ecobasin.services import writes as writes_service
from ecobasin.timebase import CST
from ecobasin.web.api.admin import AuditItem
from ecobasin.web.api.writes import WriterStore
from ecobasin.web.convert import site_models, upload_out
from ecobasin.web.deps import AQI_JOBS, CursorDep
from ecobasin.web.models import Retirement, Site, UploadOut
from ecobasin.web.problems import problem_responses, service_problems
from ecobasin.web.security.deps import CurrentPrincipal, Writer, actor_of, authorize

__all__ = ["router"]

router = APIRouter(tags=["editing"], responses=problem_responses(401, 403, 422))


@router.post("/observations/upload", response_model=UploadOut, responses=problem_responses(413))
def upload_file(
    request: Request,
    principal: Writer,
    store: WriterStore,
    file: Annotated[UploadFile, File(description="A CSV file (UTF-8 or GBK/GB 18030).")],
    layout: Annotated[
        str,
        Form(
            max_length=64,
            description="`tidy` (site, parameter, time, value[, flag, unit]) or a bundled "
            "mapping's name (uci_beijing_multisite, uci_chengdu_pm25 …).",
        ),
    ] = editing.TIDY,
    city: Annotated[
        int | None,
        Form(
            ge=100000,
            le=999999,
            description="GB/T 2260 code of the city of a layout that reads it from the file "
            "name (uci_five_cities: GuangzhouPM….csv) when the name has none; default the "
            "editor's own city. A file name naming a city keeps it.",
        ),
    ] = None,
) -> UploadOut:
    """Import one data file of the editor's city (admins: any city): the import report and
    every rejected line with its reason. A file naming a site of another city is refused
    whole (403); the body is capped (413, `max_body_bytes`)."""
    name, content = file.filename or "upload.csv", file.file.read()
    window = request.app.state.limits.window()
    with service_problems():
        result = writes_service.upload(
            store, actor_of(principal), name, content, layout, window, datetime.now(UTC),
            AQI_JOBS, city if city is not None else principal.city_code,
        )  # fmt: skip
    return upload_out(result, layout)


@router.post("/sites/{site_id}/retire", response_model=Site, responses=problem_responses(404))
def retire_site(
    site_id: Annotated[str, PathParam(max_length=64)],
    body: Retirement,
    principal: Writer,
    store: WriterStore,
) -> Site:
    """Retire a site from a day on (editors: a site of their city): it keeps its data and
    history; `attributes.retired_on` and `attributes.retired_reason` say when and why."""
    on = body.on or datetime.now(CST).date()
    with service_problems():
        retired = writes_service.retire_site(store, actor_of(principal), site_id, body.reason, on)
    return site_models(retired, "zh")[0]


@router.get("/audit/cities/{city_code}", response_model=list[AuditItem])
def city_audit(
    city_code: int,
    principal: CurrentPrincipal,
    cursor: CursorDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest entries to return.")] = 100,
) -> list[AuditItem]:
    """The latest audited writes of one city, newest first (its editors and admins)."""
    authorize(principal, "read_audit", city_code)
    return [AuditItem(**vars(e)) for e in editing.city_audit(cursor, city_code, limit)]
