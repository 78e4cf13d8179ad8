"""``GET /api/v1/observations``: stored values, filtered and paged, as JSON or CSV."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from ecobasin import timebase
from ecobasin.store import queries
from ecobasin.web.convert import CSV_COLUMNS, csv_header, csv_rows, observation_records
from ecobasin.web.deps import CitiesDep, CursorDep, StoreDep, TimeRangeDep
from ecobasin.web.models import ObservationPage
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, authorize
from ecobasin.web.security.policy import RESTRICTED_KINDS, readable_kinds

router = APIRouter(prefix="/observations", tags=["observations"], responses=problem_responses(422))

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
Period = Literal["1h", "1d", "10min", "1min", "instant"]
PARQUET = "application/vnd.apache.parquet"


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A page of observations as a Parquet file (the CSV columns; ``time_utc`` a UTC
    timestamp, ``time_cst`` the China Standard Time label text)."""
    table = pd.DataFrame(
        {
            "site_id": frame["site_id"].astype("string"),
            "city_code": frame["city_code"].astype("Int32"),
            "parameter": frame["parameter"].astype("string"),
            "period": frame["period"].astype("string"),
            "time_utc": pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]"),
            "time_cst": timebase.period_end_label(frame["time"], frame["period"]),
            "value": frame["value"].astype("float64"),
            "unit": frame["unit"].astype("string"),
            "flag": frame["flag"].astype("string"),
            "source": frame["source"].astype("string"),
        },
        columns=list(CSV_COLUMNS),
    )
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), buffer)
    return buffer.getvalue()


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _resolve_parameters(
    cursor: duckdb.DuckDBPyConnection, values: list[str] | None
) -> list[str] | None:
    """Parameter ids as the registry spells them (``pm2.5`` → ``PM2.5``); 422 for unknown."""
    names = _split(values)
    if not names:
        return None
    known = {parameter.lower(): parameter for parameter in queries.parameter_ids(cursor)}
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ProblemError.unknown(
            "parameter",
            f"unknown parameter {', '.join(map(repr, unknown))}; "
            "GET /api/v1/parameters lists them (e.g. PM2.5, O3, CO, NH3N)",
        )
    return list(dict.fromkeys(known[name.lower()] for name in names))


def _resolve_sites(cursor: duckdb.DuckDBPyConnection, values: list[str] | None) -> list[str] | None:
    ids = list(dict.fromkeys(_split(values)))
    if not ids:
        return None
    unknown = [site for site in ids if site not in queries.known_site_ids(cursor, ids)]
    if unknown:
        raise ProblemError.unknown(
            "site",
            f"unknown site {', '.join(map(repr, unknown))}; GET /api/v1/sites lists them",
        )
    return ids


def _page_link(request: Request, offset: int, limit: int) -> str:
    url = request.url.remove_query_params(["limit", "offset"])
    return str(url.include_query_params(limit=limit, offset=offset))


@router.get(
    "",
    response_model=ObservationPage,
    responses={
        200: {
            "description": "A page of observations as JSON, or with `format=csv` as CSV, "
            "with `format=parquet` as a Parquet file.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                PARQUET: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def list_observations(
    request: Request,
    store: StoreDep,
    cursor: CursorDep,
    principal: CurrentPrincipal,
    cities: CitiesDep,
    times: TimeRangeDep,
    site: Annotated[
        list[str] | None, Query(description="Site id (e.g. 1431A); repeatable.")
    ] = None,
    parameter: Annotated[
        list[str] | None,
        Query(description="Parameter id (PM2.5, O3, CO, NH3N …, case-insensitive); repeatable."),
    ] = None,
    period: Annotated[
        list[Period] | None, Query(description="Averaging period (1h, 1d …); repeatable.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
    format: Annotated[
        Literal["json", "csv", "parquet"],
        Query(description="json (paged envelope), csv (streamed) or parquet (one file)."),
    ] = "json",
    bom: Annotated[
        bool,
        Query(description="CSV only: start with a UTF-8 byte-order mark, for Excel."),
    ] = False,
) -> Response:
    """Stored observations ordered by site, parameter, period and time, filtered by `site`,
    `city` (code or name), `parameter` and `period` (each repeatable) and by `start`/`end`.

    Times: each value sits at the UTC instant its averaging period ends; `time_cst` is the
    China Standard Time hour-ending label (10:00 = the 09:00–10:00 mean). `start` and `end` are
    inclusive ISO 8601 times; without an offset they are China Standard Time.

    Paging: `limit` (default 1000, at most 100000) and `offset`; the JSON envelope carries
    `total`, `limit`, `offset` and `next`/`previous` links (null at either end).

    With `format=csv` the same page is streamed as CSV (`text/csv`, UTF-8) with columns
    site_id, city_code, parameter, period, time_utc, time_cst, value, unit, flag, source; the
    total is in the `X-Total-Count` header and the neighbouring pages in `Link`.

    With `format=parquet` the same page is one Parquet file
    (`application/vnd.apache.parquet`) with the CSV's columns (`time_utc` a UTC timestamp,
    `value` a double [unit]) and the same headers.
    """
    sites = _resolve_sites(cursor, site)
    kinds = readable_kinds(principal)  # the public reads no enterprise outlets
    if kinds is not None and sites:
        restricted = [
            s for s in sites if s in queries.known_site_ids(cursor, sites, RESTRICTED_KINDS)
        ]
        if restricted:
            authorize(principal, "read_restricted", what=f"site {', '.join(restricted)}")
    where = queries.ObservationFilter(
        sites=sites,
        kinds=kinds,
        cities=cities,
        parameters=_resolve_parameters(cursor, parameter),
        periods=period,
        start=times.start,
        end=times.end,
    )
    total = queries.count_observations(cursor, where)
    next_link = _page_link(request, offset + limit, limit) if offset + limit < total else None
    previous_link = (
        _page_link(request, max(offset - limit, 0), limit) if offset > 0 and total else None
    )
    if format in ("csv", "parquet"):
        links = [
            f'<{url}>; rel="{rel}"'
            for url, rel in ((next_link, "next"), (previous_link, "prev"))
            if url
        ]
        headers = {
            "Content-Disposition": f'attachment; filename="observations.{format}"',
            "X-Total-Count": str(total),
        }
        if links:
            headers["Link"] = ", ".join(links)
        if format == "parquet":
            rows = queries.observations(cursor, where, limit=limit, offset=offset)
            return Response(parquet_bytes(rows), media_type=PARQUET, headers=headers)

        def stream() -> Iterator[str]:
            own = store.cursor()  # the request's cursor closes before streaming ends
            try:
                yield ("\ufeff" if bom else "") + csv_header()
                for chunk in queries.iter_observations(own, where, limit=limit, offset=offset):
                    yield csv_rows(chunk)
            finally:
                own.close()

        return StreamingResponse(stream(), media_type="text/csv; charset=utf-8", headers=headers)
    frame = queries.observations(cursor, where, limit=limit, offset=offset)
    # Shaped as ObservationPage (the documented model) but encoded directly: validating a
    # model per row would triple the time of a 100 000-row page.
    page = {
        "total": total,
        "limit": limit,
        "offset": offset,
        "next": next_link,
        "previous": previous_link,
        "results": observation_records(frame),
    }
    return JSONResponse(page)
