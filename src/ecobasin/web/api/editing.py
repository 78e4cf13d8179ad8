"""Editing API of a city's editors (issue 15), beside the writes of :mod:`.writes`: upload a
data file (tidy CSV or a bundled mapping's layout), retire a site, read a city's audit log.

The same rights as every write (``web.security.policy``): an editor writes and reads the audit
of their city only, an admin every city; an upload naming any site of another city is refused
whole (403) and stores nothing. Every write is in the audit log. The editing pages
(:mod:`.editor_pages`) call these functions, so a page and the API answer alike.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from ecobasin.ingest import csvmap
from ecobasin.jobs.air_quality import refresh_pending_air_quality
from ecobasin.services import editing
from ecobasin.store import Store
from ecobasin.store.edits import site_cities
from ecobasin.timebase import CST
from ecobasin.web.api.admin import AuditItem
from ecobasin.web.api.writes import WriterStore, _site
from ecobasin.web.deps import CursorDep
from ecobasin.web.models import Site
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security import accounts
from ecobasin.web.security.deps import CurrentPrincipal, Writer, authorize
from ecobasin.web.security.policy import Principal

__all__ = ["RejectedLine", "Retirement", "UploadOut", "retire", "router", "upload"]

router = APIRouter(tags=["editing"], responses=problem_responses(401, 403, 422))


class Retirement(BaseModel):
    """Why and from when a site is retired (its data and history stay)."""

    reason: str = Field(min_length=3, max_length=500, description="Kept in the audit log.")
    on: date | None = Field(default=None, description="First day retired [CST]; empty: today.")


class RejectedLine(BaseModel):
    record_ref: str = Field(description="'line <n> …': the line of the file.")
    reason_code: str
    reason: str
    raw: str | None = Field(description="The line or cell as read.")


class UploadOut(BaseModel):
    """The import report of one uploaded file."""

    source: str = Field(description="The upload's name in the rejected records and batches.")
    layout: str
    records: int = Field(description="Values read.")
    inserted: int
    replaced: int
    unchanged: int
    missing: int = Field(description="Empty cells (not stored, not rejected).")
    sites_added: int
    rejected_counts: dict[str, int] = Field(description="Rejected values by reason code.")
    rejected: list[RejectedLine] = Field(description="The lines kept aside, with reasons.")
    aqi_site_days: int = Field(description="Station-days whose AQI (HJ 633) was recomputed.")


def _check_cities(principal: Principal, cities: dict[str, int]) -> None:
    """403 naming the first site of another city (and how many more): nothing is stored."""
    refused = []
    for site, city in sorted(cities.items()):
        try:
            authorize(principal, "write", city, f"site {site}")
        except ProblemError as error:
            refused.append(error)
    if refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more sites)" if len(refused) > 1 else ""
        raise ProblemError(first.status, first.detail + more, type=first.type, title=first.title)


def upload(
    request: Request,
    principal: Principal,
    store: Store,
    file_name: str,
    content: bytes,
    layout: str,
) -> UploadOut:
    """Read, check and store one uploaded file (shared by the API and the editing page)."""
    source = editing.upload_source(principal.name or "?", file_name, datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="ecobasin-upload-") as folder:  # 0700
        path = Path(folder) / "upload.csv"
        path.write_bytes(content)
        try:
            read = editing.read_upload(store.con, path, layout, source)
        except (csvmap.MappingError, UnicodeError, ValueError) as error:
            raise ProblemError.invalid("file", f"{file_name}: {error}") from None
    _check_cities(principal, read.cities)
    result = editing.import_upload(
        store, read, request.app.state.limits.window(), refresh_pending_air_quality
    )
    report = result.report
    cities = set(read.cities.values())
    accounts.audit(
        store.con,
        principal,
        "observations.upload",
        source,
        cities.pop() if len(cities) == 1 else None,
        {k: report[k] for k in ("records", "inserted", "replaced", "missing", "rejected")},
    )
    return UploadOut(
        source=result.source,
        layout=layout,
        records=report["records"],
        inserted=report["inserted"],
        replaced=report["replaced"],
        unchanged=report["unchanged"],
        missing=report["missing"],
        sites_added=report["sites_added"],
        rejected_counts=report["rejected"],
        rejected=[RejectedLine(**row) for row in _records(result.rejected)],
        aqi_site_days=result.aqi_site_days,
    )


def _records(frame: Any) -> list[dict[str, Any]]:
    return [
        {k: (None if v is None or v != v else str(v)) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def retire(site_id: str, body: Retirement, principal: Principal, store: Store) -> Site:
    """Retire one site (shared by the API and the editing page)."""
    cities = site_cities(store.con, [site_id])
    if site_id not in cities:
        raise ProblemError(404, f"no site {site_id!r}; GET /api/v1/sites lists them")
    city = cities[site_id][0]
    authorize(principal, "write", city, f"site {site_id}")
    on = body.on or datetime.now(CST).date()
    editing.retire_site(store, site_id, on, body.reason, f"api:{principal.name}")
    detail: dict[str, object] = {"retired_on": on.isoformat(), "reason": body.reason}
    accounts.audit(store.con, principal, "sites.retire", site_id, city, detail)
    site = _site(store, site_id)
    assert site is not None
    return site


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
) -> UploadOut:
    """Import one data file of the editor's city (admins: any city): the import report and
    every rejected line with its reason. A file naming a site of another city is refused
    whole (403); the body is capped (413, `max_body_bytes`)."""
    content = file.file.read()
    return upload(request, principal, store, file.filename or "upload.csv", content, layout)


@router.post("/sites/{site_id}/retire", response_model=Site, responses=problem_responses(404))
def retire_site(
    site_id: Annotated[str, PathParam(max_length=64)],
    body: Retirement,
    principal: Writer,
    store: WriterStore,
) -> Site:
    """Retire a site from a day on (editors: a site of their city): it keeps its data and
    history; `attributes.retired_on` and `attributes.retired_reason` say when and why."""
    return retire(site_id, body, principal, store)


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
