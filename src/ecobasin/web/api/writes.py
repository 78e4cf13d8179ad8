"""Write API: observations, sites and invalidations, each checked against the writer's rights.

An editor writes only the sites of their city (``editor of 510100 may not write site 2286A of
510600`` is the 403 otherwise), an admin every city; viewers get 403, the public 401. Written
observations go through the importers' validation (``ecobasin.ingest.validate``); rows that
fail are answered with their reasons and kept in the store's ``rejected`` table. Air-station
hours that change are re-evaluated at once (AQI, HJ 633), and every write is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from ecobasin.services import writes as writes_service
from ecobasin.web.convert import site_models
from ecobasin.web.deps import AQI_JOBS, StoreViewDep
from ecobasin.web.models import Invalidation, Period, Site, SiteIn, SitePatch
from ecobasin.web.problems import problem_responses, service_problems
from ecobasin.web.security.deps import Writer, actor_of

router = APIRouter(tags=["writes"], responses=problem_responses(401, 403, 422))

MAX_ROWS = 100_000

#: A Store view over a cursor of its own for this request's writes.
WriterStore = StoreViewDep


# -- models --------------------------------------------------------------------------------
class ObservationIn(BaseModel):
    """One value to store."""

    site_id: str = Field(max_length=64, examples=["1431A"])
    parameter: str = Field(max_length=32, examples=["PM2.5"])
    period: Period = "1h"
    time: str = Field(
        max_length=40,
        description="ISO 8601 end of the averaging period; without an offset China Standard "
        "Time (2024-01-01T10:00 is the hour ending 10:00 CST; 24:00 closes a day).",
        examples=["2024-01-01T10:00"],
    )
    value: float | str | None = Field(
        description="The value in `unit` (null or empty: missing; text that is not a number "
        "is rejected).",
        examples=[35],
    )
    unit: str | None = Field(
        default=None, max_length=20, description="Unit of `value`; null: the registry's unit."
    )
    flag: str | None = Field(default=None, max_length=4, description="HJ 212 data flag (N, M …).")


class ObservationBatch(BaseModel):
    rows: list[ObservationIn] = Field(min_length=1, max_length=MAX_ROWS)
    source: str | None = Field(
        default=None,
        max_length=200,
        description="Where the values come from (kept with the batch).",
    )


class RejectedRow(BaseModel):
    record_ref: str = Field(
        description="'line <n> <site>/<parameter>': n is the row's place (1 …)."
    )
    reason_code: str
    reason: str


class ObservationWriteResult(BaseModel):
    batch_id: int
    received: int
    inserted: int
    replaced: int
    unchanged: int
    missing: int = Field(description="Rows without a value (not stored, not rejected).")
    rejected: list[RejectedRow] = Field(description="Rows not stored, with reasons (kept).")
    aqi: dict[str, Any] | None = Field(description="AQI re-evaluation of the hours touched.")


class InvalidationResult(BaseModel):
    site_id: str
    flag: str
    matched: int = Field(description="Stored values in the range.")
    updated: int = Field(description="Values whose flag changed.")
    previous_flags: dict[str, int] = Field(description="Flags before ('null': none) → count.")
    aqi: dict[str, Any] | None


# -- endpoints -----------------------------------------------------------------------------
def _site(frame: Any) -> Site:
    return site_models(frame, "zh")[0]


@router.post("/observations", response_model=ObservationWriteResult)
def write_observations(
    request: Request, body: ObservationBatch, principal: Writer, store: WriterStore
) -> ObservationWriteResult:
    """Store observations (editors: their city's sites only; admins: any).

    Each row is validated like an imported file (unknown site or parameter, unit that does
    not convert, not a number, negative or implausible value, a time outside the plausibility
    window (`implausible_time`: by default before 2000-01-01 or more than a day ahead of the
    clock), the same key twice): bad rows are
    answered in `rejected` with their reasons and kept in the store's rejected records; good
    rows are upserted (the later value wins). A request naming any site of another city is
    refused whole (403) and writes nothing.
    """
    window = request.app.state.limits.window()  # the plausibility window: no 2099 or 1900 values
    done = writes_service.write_observations(
        store, actor_of(principal), body.rows, window, body.source, AQI_JOBS
    )
    return ObservationWriteResult(
        batch_id=done.batch_id,
        received=len(body.rows),
        missing=done.missing,
        rejected=[
            RejectedRow(record_ref=str(ref), reason_code=str(code), reason=str(reason))
            for ref, code, reason in done.rejected[
                ["record_ref", "reason_code", "reason"]
            ].itertuples(index=False)
        ],
        aqi=done.aqi,
        **done.counts,
    )


@router.post(
    "/observations/invalidate",
    response_model=InvalidationResult,
    responses=problem_responses(404),
)
def invalidate(body: Invalidation, principal: Writer, store: WriterStore) -> InvalidationResult:
    """Mark stored values of one site invalid (an HJ 212 flag such as M maintenance or D
    fault) over an inclusive time range, with a reason kept in the audit log. Values are kept;
    the AQI leaves them out and is re-evaluated."""
    with service_problems():
        result = writes_service.invalidate(
            store, actor_of(principal), body.site_id, body.parameters, body.period,
            body.start, body.end, body.flag, body.reason, AQI_JOBS,
        )  # fmt: skip
    return InvalidationResult(site_id=body.site_id, flag=body.flag, **result)


@router.post("/sites", response_model=Site, status_code=201, responses=problem_responses(409))
def create_site(body: SiteIn, principal: Writer, store: WriterStore) -> Site:
    """Register a site (editors: in their city only)."""
    with service_problems():
        return _site(writes_service.create_site(store, actor_of(principal), body.model_dump()))


@router.patch("/sites/{site_id}", response_model=Site, responses=problem_responses(404))
def update_site(
    site_id: Annotated[str, Path(max_length=64)],
    body: SitePatch,
    principal: Writer,
    store: WriterStore,
) -> Site:
    """Change a site's metadata (editors: a site of their city, staying in their city)."""
    changes = body.model_dump(exclude_unset=True)
    with service_problems():
        return _site(writes_service.update_site(store, actor_of(principal), site_id, changes))
