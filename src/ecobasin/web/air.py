"""The HTTP side of the air-quality answers (JSON bodies, gzip, cursors, query parsing) and the
cache that keeps them fast; the answers themselves are :mod:`ecobasin.services.air`'s.

The map of the region is read by every dashboard at once, mostly for the same hour, and its data
change only when new AQI rows are written. So:

* the static part (stations, names, units, AQI levels) is read once and kept; the station list is
  re-checked (one tiny query) at most every :data:`STATIC_TTL` seconds;
* one hour or one day is a single scan of one AQI table (:func:`ecobasin.store.air.aqi_at`);
* finished JSON answers are kept in a small LRU, keyed by the AQI write count of this process
  (:func:`ecobasin.store.air.aqi_generation`; DuckDB lets one process write a file, so every
  change is made here) and the station-list version: a new AQI write makes them stale at once;
* concurrent requests for the same missing answer wait for one computation (single flight), and
  at most :data:`BUILDERS` answers are computed at once;
* answers are kept gzipped (a map is ~80 kB of JSON, ~4 kB gzipped) and sent as they are to
  clients that accept gzip, as browsers do.

Levels, names and colours follow HJ 633-2012 Table 2 / HJ 633-2026 Table 1 and Appendix A
(``catalog/data/air/levels.toml``). Times: ``time`` is the UTC instant the hour ends;
``time_cst`` the China Standard Time hour-ending label, 01:00 … 24:00 (HJ 663-2013 §3).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, TypeVar

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from ecobasin import catalog
from ecobasin.services import air as air_service
from ecobasin.services.air import AirStatic, read_static
from ecobasin.timebase import parse_instant
from ecobasin.web.problems import ProblemError

if TYPE_CHECKING:  # the app factory opens the Store and hands it over
    from ecobasin.store import Cursor, Store

__all__ = [
    "STATIC_TTL",
    "AirCache",
    "AirCacheDep",
    "Body",
    "decode_cursor",
    "encode_cursor",
    "get_air_cache",
    "json_bytes",
    "json_response",
    "parse_day",
    "parse_hour",
    "split_values",
]

#: Seconds between checks of the station list (sites added or renamed appear within this time).
STATIC_TTL = 1.0
#: Answers kept (a map payload is ~4 kB gzipped: 512 of them ~2 MB).
CACHE_SIZE = 512
#: Answers computed at the same time (each is one scan of an AQI table).
BUILDERS = 4
T = TypeVar("T")

# -------------------------------------------------------------------------------------------
# pure helpers: labels, levels, numbers, JSON
# -------------------------------------------------------------------------------------------


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON (no NaN: missing values are null)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class Body(NamedTuple):
    """A JSON answer kept gzipped, made once when the answer is cached: a map payload of
    ~80 kB gzips to ~4 kB in ~0.3 ms, and clients that do not take gzip get it inflated."""

    gz: bytes

    @classmethod
    def of(cls, payload: Any, level: int = 5) -> Body:
        """``payload`` as JSON, gzipped at ``level`` (1: fastest, for answers not kept)."""
        return cls(gzip.compress(json_bytes(payload), compresslevel=level, mtime=0))


def json_response(request: Request, body: Body) -> Response:
    """``body`` as JSON, gzip-encoded when the client accepts it (browsers do)."""
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(body.gz, media_type="application/json", headers=headers)
    return Response(gzip.decompress(body.gz), media_type="application/json", headers=headers)


def encode_cursor(scope_id: str, key: date | datetime) -> str:
    """An opaque paging cursor: the key of the last row served."""
    text = json.dumps([scope_id, key.isoformat()], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str, daily: bool) -> tuple[str, date | datetime]:
    """The key an :func:`encode_cursor` cursor holds.

    Raises
    ------
    ValueError
        When the text is not such a cursor.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        scope_id, key = json.loads(raw)
        parsed: date | datetime = (
            date.fromisoformat(key) if daily else datetime.fromisoformat(key).astimezone(UTC)
        )
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValueError(f"{text!r} is not a cursor of this endpoint") from None
    return str(scope_id), parsed


def split_values(values: Sequence[str] | None) -> list[str]:
    """Query values given repeated or comma-separated (``ids=a,b&ids=c``), de-duplicated."""
    parts = (part.strip() for value in values or () for part in value.split(","))
    return list(dict.fromkeys(part for part in parts if part))


def parse_hour(parameter: str, text: str) -> datetime:
    """A whole hour from a query parameter, as a UTC hour-ending instant.

    Without an offset the time is a China Standard Time hour-ending label (``2025-01-01T24:00``
    allowed, HJ 663-2013 §3); with ``Z`` or an offset it is taken as given.

    Raises
    ------
    ProblemError
        422 naming ``parameter`` when the text is not a time or not a whole hour.
    """
    try:
        instant = parse_instant(text.strip().replace(" 08:00", "+08:00"))
    except ValueError:
        raise ProblemError.invalid(
            parameter,
            f"{text!r} is not an ISO 8601 time; use e.g. 2025-01-01T10:00 (China Standard Time, "
            "the hour ending 10:00) or 2025-01-01T02:00Z",
        ) from None
    if instant.minute or instant.second or instant.microsecond:
        raise ProblemError.invalid(
            parameter, f"{text!r} is not a whole hour; AQI is reported for hours ending at :00"
        )
    return instant


def parse_day(parameter: str, text: str) -> date:
    """A CST day ``YYYY-MM-DD`` from a query parameter.

    Raises
    ------
    ProblemError
        422 naming ``parameter`` when the text is not such a date.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ProblemError.invalid(
            parameter, f"{text!r} is not a day; use YYYY-MM-DD (a China Standard Time day)"
        ) from None


# -------------------------------------------------------------------------------------------
# the cache
# -------------------------------------------------------------------------------------------


class AirCache:
    """Answers of the air endpoints kept between requests (see the module docstring).

    Used from the event loop only (async endpoints): its dictionaries need no locks; reads of
    the store run in the thread pool, each on a cursor of its own.
    """

    def __init__(
        self,
        store: Store,
        region: catalog.Region,
        *,
        size: int = CACHE_SIZE,
        static_ttl: float = STATIC_TTL,
    ) -> None:
        self.store = store
        self.region = region
        self.size = size
        self.static_ttl = static_ttl
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}
        self._static: AirStatic | None = None
        self._checked = -math.inf
        self._builders = asyncio.Semaphore(BUILDERS)
        self.hits = 0
        self.misses = 0

    def _read(self, work: Callable[[Cursor], T]) -> T:
        cursor = self.store.cursor()
        try:
            return work(cursor)
        finally:
            cursor.close()

    async def read(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work(cursor)`` in the thread pool on a cursor of its own (not cached)."""
        return await run_in_threadpool(self._read, work)

    async def _build(self, work: Callable[[Cursor], T]) -> T:
        # a few builds at a time: fifty threads scanning at once on two cores only thrash
        async with self._builders:
            return await self.read(work)

    async def get(self, key: Hashable, work: Callable[[Cursor], T]) -> T:
        """The cached answer for ``key``, computed once by ``work(cursor)`` when missing.

        The computation runs as a task of its own, shielded from the requests waiting for it:
        a client that hangs up does not cancel the answer the others wait for.
        """
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            value: T = self._entries[key]
            return value
        task = self._pending.get(key)
        if task is None:
            self.misses += 1
            task = asyncio.ensure_future(self._build(work))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        else:
            self.hits += 1
        result: T = await asyncio.shield(task)
        return result

    def _settle(self, key: Hashable, task: asyncio.Future[Any]) -> None:
        self._pending.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return  # not kept: the next request tries again
        self._entries[key] = task.result()
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    async def static(self) -> AirStatic:
        """The static part, re-read when the station list changed (checked every
        :attr:`static_ttl` seconds)."""
        now = time.monotonic()
        current = self._static
        if current is not None and now - self._checked < self.static_ttl:
            return current
        self._checked = now
        version = current.version if current is not None else 0
        if (
            current is not None
            and await self.read(air_service.sites_fingerprint) == current.fingerprint
        ):
            return current
        fresh = await self.get(
            ("static", version + 1), lambda cursor: read_static(cursor, self.region, version + 1)
        )
        if self._static is None or fresh.version > self._static.version:
            self._static = fresh
        return self._static

    async def extent(self) -> dict[str, Any]:
        """First and latest stored hour and day (:func:`ecobasin.store.air.aqi_extent`)."""
        # keyed by the clock's hour too: "latest" never runs ahead of the clock, so it moves
        # when the clock passes a stored hour, not only when AQI rows are written
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        extent: dict[str, Any] = await self.get(
            ("extent", air_service.aqi_generation(), hour), air_service.aqi_extent
        )
        return extent


async def get_air_cache(request: Request) -> AirCache:
    """The app's :class:`AirCache` (made on first use, and again when the app reopened its
    store)."""
    state = request.app.state
    cache: AirCache | None = getattr(state, "air_cache", None)
    if cache is None or cache.store is not state.store:
        cache = AirCache(state.store, state.region)
        state.air_cache = cache
    return cache


AirCacheDep = Annotated[AirCache, Depends(get_air_cache)]
