"""``GET /api/v1/observations``: stored values, filtered and paged, as JSON or CSV."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from ecobasin import timebase
from ecobasin.limits import Limits
from ecobasin.services import reference
from ecobasin.web.convert import CSV_COLUMNS, csv_header, csv_rows, observation_records
from ecobasin.web.deps import CitiesDep, CursorDep, OffsetQuery, StoreDep, TimeRangeDep, page_link
from ecobasin.web.models import ObservationPage
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, authorize
from ecobasin.web.security.policy import RESTRICTED_KINDS, Principal, readable_kinds

if TYPE_CHECKING:
    from ecobasin.store import Cursor

router = APIRouter(
    prefix="/observations", tags=["observations"], responses=problem_responses(422, 429)
)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
Period = Literal["1h", "1d", "10min", "1min", "instant"]
PARQUET = "application/vnd.apache.parquet"
#: Problem type of a refused export while the heavy ones are busy (429).
EXPORTS_BUSY = "urn:ecobasin:problem:exports-busy"


def _parquet_table(frame: pd.DataFrame) -> pa.Table:
    """Rows of observations as an Arrow table of :data:`PARQUET_SCHEMA`."""
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
    return pa.Table.from_pandas(table, schema=PARQUET_SCHEMA, preserve_index=False)


PARQUET_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("city_code", pa.int32()),
        ("parameter", pa.string()),
        ("period", pa.string()),
        ("time_utc", pa.timestamp("us", tz="UTC")),
        ("time_cst", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("flag", pa.string()),
        ("source", pa.string()),
    ]
)


class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken away as they come (streamed Parquet)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def parquet_chunks(chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    """A Parquet file (the CSV columns; ``time_utc`` a UTC timestamp, ``time_cst`` the China
    Standard Time label, ``value`` a double [unit]) written one row group per chunk, its bytes
    yielded as they are written, so a page never sits whole in memory."""
    sink = _Drain()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA)
    try:
        for chunk in chunks:
            writer.write_table(_parquet_table(chunk))
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()


def json_chunks(head: dict[str, Any], chunks: Iterable[pd.DataFrame]) -> Iterator[str]:
    """The :class:`ObservationPage` envelope ``head`` with ``results`` streamed chunk by
    chunk (the same compact JSON as ``JSONResponse``)."""
    yield json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"results":['
    first = True
    for chunk in chunks:
        records = observation_records(chunk)
        if not records:
            continue
        text = json.dumps(records, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        yield ("" if first else ",") + text[1:-1]
        first = False
    yield "]}"


class ExportSlots:
    """At most ``size`` heavy exports at once; a busy server answers 429 at once rather than
    queueing (OWASP ASVS 4.0 V11.1.4): each export holds tens of MiB while it streams."""

    def __init__(self, size: int) -> None:
        self._slots = threading.BoundedSemaphore(size)

    def take(self) -> Callable[[], None] | None:
        """A release function for a slot taken now, or None when all are busy. Releasing is
        idempotent (the stream's end and the response's end both call it)."""
        if not self._slots.acquire(blocking=False):
            return None
        once = threading.Lock()
        released = False

        def release() -> None:
            nonlocal released
            with once:
                if not released:
                    released = True
                    self._slots.release()

        return release


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _resolve_parameters(cursor: Cursor, values: list[str] | None) -> list[str] | None:
    """Parameter ids as the registry spells them (``pm2.5`` → ``PM2.5``); 422 for unknown."""
    names = _split(values)
    if not names:
        return None
    known = {parameter.lower(): parameter for parameter in reference.parameter_ids(cursor)}
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ProblemError.unknown(
            "parameter",
            f"unknown parameter {', '.join(map(repr, unknown))}; "
            "GET /api/v1/parameters lists them (e.g. PM2.5, O3, CO, NH3N)",
        )
    return list(dict.fromkeys(known[name.lower()] for name in names))


def _resolve_sites(cursor: Cursor, values: list[str] | None) -> list[str] | None:
    ids = list(dict.fromkeys(_split(values)))
    if not ids:
        return None
    unknown = [site for site in ids if site not in reference.known_site_ids(cursor, ids)]
    if unknown:
        raise ProblemError.unknown(
            "site",
            f"unknown site {', '.join(map(repr, unknown))}; GET /api/v1/sites lists them",
        )
    return ids


def _page_link(request: Request, offset: int, limit: int) -> str:
    return page_link(request, limit=limit, offset=offset)


def _export_slot(request: Request, rows: int) -> Callable[[], None]:
    """A slot for a page of ``rows`` rows: a no-op for a light one; 429 with Retry-After
    when ``heavy_exports`` heavy ones are running."""
    limits: Limits = request.app.state.limits
    if rows <= limits.heavy_export_rows:
        return lambda: None
    slots: ExportSlots = request.app.state.exports
    release = slots.take()
    if release is None:
        raise ProblemError(
            429,
            f"{limits.heavy_exports} large exports (over {limits.heavy_export_rows} rows) are "
            f"running; retry in {limits.export_retry_after_s} s or ask for a smaller page "
            "大批量导出繁忙，请稍后重试",
            type=EXPORTS_BUSY,
            title="Too many exports 导出繁忙",
            headers={"Retry-After": str(limits.export_retry_after_s)},
        )
    return release


def _check_public_limit(request: Request, principal: Principal, limit: int) -> None:
    """The public reads pages of at most ``public_page_rows`` rows (422 naming ``limit``)."""
    cap = request.app.state.limits.public_page_rows
    if not principal.authenticated and limit > cap:
        raise ProblemError.invalid(
            "limit",
            f"must be at most {cap} without credentials (got {limit}); page with offset, or "
            "sign in / send an API token for pages up to 100000 rows",
        )


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
    offset: OffsetQuery = 0,
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

    Paging: `limit` (default 1000, at most 100000; without credentials at most 10000,
    `public_page_rows`) and `offset`; the JSON envelope carries `total`, `limit`, `offset` and
    `next`/`previous` links (null at either end), relative or under the configured
    `public_url`, never built from the request's Host header.

    Every format streams from the store in batches. Pages of more than `heavy_export_rows`
    (10000) rows are heavy exports: at most `heavy_exports` (2) run at once, others get 429
    with `Retry-After`.

    With `format=csv` the same page is streamed as CSV (`text/csv`, UTF-8) with columns
    site_id, city_code, parameter, period, time_utc, time_cst, value, unit, flag, source; the
    total is in the `X-Total-Count` header and the neighbouring pages in `Link`.

    With `format=parquet` the same page is one Parquet file
    (`application/vnd.apache.parquet`, one row group per batch) with the CSV's columns
    (`time_utc` a UTC timestamp, `value` a double [unit]) and the same headers.
    """
    _check_public_limit(request, principal, limit)
    sites = _resolve_sites(cursor, site)
    kinds = readable_kinds(principal)  # the public reads no enterprise outlets
    if kinds is not None and sites:
        restricted = [
            s for s in sites if s in reference.known_site_ids(cursor, sites, RESTRICTED_KINDS)
        ]
        if restricted:
            authorize(principal, "read_restricted", what=f"site {', '.join(restricted)}")
    where = reference.ObservationFilter(
        sites=sites,
        kinds=kinds,
        cities=cities,
        parameters=_resolve_parameters(cursor, parameter),
        periods=period,
        start=times.start,
        end=times.end,
    )
    total = reference.count_observations(cursor, where)
    next_link = _page_link(request, offset + limit, limit) if offset + limit < total else None
    previous_link = (
        _page_link(request, max(offset - limit, 0), limit) if offset > 0 and total else None
    )
    release = _export_slot(request, max(0, min(limit, total - offset)))

    # JSON records are Python dicts, ~10 times the size of their text: smaller batches
    vectors = 2 if format == "json" else 8

    def batches() -> Iterator[pd.DataFrame]:
        own = store.cursor()  # the request's cursor closes before streaming ends
        try:
            yield from reference.iter_observations(
                own, where, limit=limit, offset=offset, chunk_vectors=vectors
            )
        finally:
            own.close()
            release()

    headers = {"X-Total-Count": str(total)}
    if format == "json":
        head = {
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": next_link,
            "previous": previous_link,
        }
        # Shaped as ObservationPage (the documented model) but encoded batch by batch:
        # validating a model per row would triple the time of a 100 000-row page.
        return StreamingResponse(
            json_chunks(head, batches()),
            media_type="application/json",
            headers=headers,
            background=BackgroundTask(release),
        )
    links = [
        f'<{url}>; rel="{rel}"'
        for url, rel in ((next_link, "next"), (previous_link, "prev"))
        if url
    ]
    headers["Content-Disposition"] = f'attachment; filename="observations.{format}"'
    if links:
        headers["Link"] = ", ".join(links)
    if format == "parquet":
        body: Iterator[Any] = parquet_chunks(batches())
        media_type = PARQUET
    else:
        body = _csv_chunks(batches(), bom)
        media_type = "text/csv; charset=utf-8"
    return StreamingResponse(
        body, media_type=media_type, headers=headers, background=BackgroundTask(release)
    )


def _csv_chunks(chunks: Iterable[pd.DataFrame], bom: bool) -> Iterator[str]:
    """CSV text: the header (after a UTF-8 byte-order mark for Excel when ``bom``), then
    each chunk's rows."""
    yield ("\ufeff" if bom else "") + csv_header()
    for chunk in chunks:
        yield csv_rows(chunk)
