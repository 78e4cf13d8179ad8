"""Air-quality answers of the API (map, latest, series rows) and the cache that keeps them fast.

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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, NamedTuple, TypeVar

import duckdb
from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from ecobasin import catalog
from ecobasin.standards import air as standards_air
from ecobasin.store import Store
from ecobasin.store import air as store_air
from ecobasin.timebase import CST, parse_instant
from ecobasin.web.models import Lang
from ecobasin.web.problems import ProblemError

__all__ = [
    "AVERAGING",
    "NO_DATA",
    "STATIC_TTL",
    "AirCache",
    "AirCacheDep",
    "AirStatic",
    "Body",
    "averaging_labels",
    "decode_cursor",
    "encode_cursor",
    "get_air_cache",
    "hour_label",
    "iso_utc",
    "json_bytes",
    "json_response",
    "level_fields",
    "levels_payload",
    "parse_day",
    "parse_hour",
    "pick",
    "series_item",
    "snapshot",
    "split_values",
]

#: Seconds between checks of the station list (sites added or renamed appear within this time).
STATIC_TTL = 1.0
#: Answers kept (a map payload is ~4 kB gzipped: 512 of them ~2 MB).
CACHE_SIZE = 512
#: Answers computed at the same time (each is one scan of an AQI table).
BUILDERS = 4
#: Grey, name and number of "no data" (not an HJ 633 level: no AQI published that hour or day).
NO_DATA = {"color": "#B4B4B4", "name_zh": "无数据", "name_en": "No data"}

T = TypeVar("T")

# (column, parameter, averaging) of the concentrations shown for an hour and for a day, in the
# order a tooltip lists them. Moving means (HJ 633-2012 real-time report only) are shown when
# present; the six 1-h values (daily: the seven daily statistics) always, null when missing.
_HOURLY_CONCS = (
    ("pm25_1h", "PM2.5", "1h"),
    ("pm10_1h", "PM10", "1h"),
    ("o3_1h", "O3", "1h"),
    ("no2_1h", "NO2", "1h"),
    ("so2_1h", "SO2", "1h"),
    ("co_1h", "CO", "1h"),
    ("pm25_24h", "PM2.5", "24h_moving"),
    ("pm10_24h", "PM10", "24h_moving"),
    ("o3_8h", "O3", "8h_moving"),
)
_DAILY_CONCS = (
    ("pm25", "PM2.5", "24h"),
    ("pm10", "PM10", "24h"),
    ("o3_8h", "O3", "8h_max"),
    ("o3_1h", "O3", "1h_max"),
    ("no2", "NO2", "24h"),
    ("so2", "SO2", "24h"),
    ("co", "CO", "24h"),
)
_OPTIONAL = frozenset({"24h_moving", "8h_moving"})
_CONCENTRATION_COLUMNS = frozenset(
    {c for c, _, _ in _HOURLY_CONCS} | {c for c, _, _ in _DAILY_CONCS} | {"so2_24h"}
)
#: Averaging periods in both languages (HJ 633-2012 §3, HJ 663-2013 §3).
AVERAGING = {
    "1h": ("1小时平均", "1-h mean"),
    "24h_moving": ("24小时滑动平均", "24-h moving mean"),
    "8h_moving": ("8小时滑动平均", "8-h moving mean"),
    "24h": ("24小时平均", "24-h mean"),
    "8h_max": ("日最大8小时滑动平均", "daily maximum 8-h mean"),
    "1h_max": ("日最大1小时平均", "daily maximum 1-h mean"),
}
#: Series columns renamed for the API (hourly 1-h values lose their suffix).
_SERIES_NAMES = {
    "so2_1h": "so2",
    "no2_1h": "no2",
    "co_1h": "co",
    "o3_1h": "o3",
    "pm10_1h": "pm10",
    "pm25_1h": "pm25",
}


# -------------------------------------------------------------------------------------------
# pure helpers: labels, levels, numbers, JSON
# -------------------------------------------------------------------------------------------


def pick(lang: Lang, zh: str | None, en: str | None) -> str | None:
    """The name in ``lang``, or the other language's when that one is missing."""
    first, second = (zh, en) if lang == "zh" else (en, zh)
    return first if first else second


def hour_label(instant: datetime) -> str:
    """China Standard Time hour-ending label of a UTC instant: ``2025-01-01 24:00`` for the
    hour 23:00–24:00 CST (a day is the hours 01:00 … 24:00, HJ 663-2013 §3)."""
    local = instant.astimezone(CST)
    if local.hour == 0 and local.minute == 0:
        return f"{local - timedelta(days=1):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def iso_utc(instant: datetime) -> str:
    """``2025-01-01T16:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any, parameter: str) -> float | int | None:
    """A stored concentration for JSON: None for NULL/NaN; integers [µg/m³] as ints (they are
    reported as integers, GB/T 8170), CO [mg/m³] as a float with its decimal."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    if parameter != "CO" and number.is_integer():
        return int(number)
    return number


@dataclass(frozen=True)
class _Level:
    level: int
    name_zh: str
    name_en: str
    color: str


def _levels() -> dict[int, _Level]:
    return {
        info.level: _Level(info.level, info.category_zh, info.category_en, info.hex)
        for info in standards_air.levels()
    }


_LEVELS = _levels()


def level_fields(level: Any, lang: Lang) -> dict[str, Any]:
    """``level``, ``level_name`` (in ``lang``), ``level_name_zh``, ``level_name_en`` and
    ``color`` of an AQI level 1–6; the grey "no data" entry (level None) otherwise."""
    info = _LEVELS.get(int(level)) if level is not None else None
    if info is None:
        return {
            "level": None,
            "level_name": None,
            "level_name_zh": None,
            "level_name_en": None,
            "color": NO_DATA["color"],
        }
    return {
        "level": info.level,
        "level_name": info.name_zh if lang == "zh" else info.name_en,
        "level_name_zh": info.name_zh,
        "level_name_en": info.name_en,
        "color": info.color,
    }


def levels_payload(lang: Lang) -> dict[str, Any]:
    """The six AQI levels with their official colours and health advice, and "no data"."""
    levels = []
    for info in standards_air.levels():
        levels.append(
            {
                "level": info.level,
                "name": info.category_zh if lang == "zh" else info.category_en,
                "name_zh": info.category_zh,
                "name_en": info.category_en,
                "category_zh": info.level_zh,
                "category_en": info.level_en,
                "color": info.hex,
                "color_name_zh": info.colour_zh,
                "color_name_en": info.colour_en,
                "aqi_low": info.aqi_min,
                "aqi_high": info.aqi_max,
                "health_zh": info.effect_zh,
                "health_en": info.effect_en,
                "advice_zh": info.advice_zh,
                "advice_en": info.advice_en,
                "health_zh_2026": info.effect_zh_2026,
                "advice_zh_2026": info.advice_zh_2026,
            }
        )
    no_data = {**NO_DATA, "name": NO_DATA["name_zh"] if lang == "zh" else NO_DATA["name_en"]}
    return {"levels": levels, "no_data": no_data}


def averaging_labels() -> dict[str, dict[str, str]]:
    """``averaging`` code → ``{"zh": …, "en": …}`` labels, for a legend."""
    return {code: {"zh": zh, "en": en} for code, (zh, en) in AVERAGING.items()}


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
# the static part and snapshot payloads
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AirStatic:
    """What the map draws whatever the hour: the region's cities and air stations, and the
    names and units of the pollutants. ``version`` changes whenever the station list does."""

    version: int
    fingerprint: tuple[Any, ...]
    cities: tuple[dict[str, Any], ...]
    stations: tuple[dict[str, Any], ...]
    labels: dict[str, tuple[str, str, str]]
    names: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)

    def name_of(self, scope: str, scope_id: str) -> tuple[str | None, str | None]:
        """(zh, en) name of a station or city (None, None when unknown)."""
        return self.names.get((scope, scope_id), (None, None))

    def station_ids(self, cities: Sequence[int] | None = None) -> list[str]:
        """Site ids of the region's air stations (of ``cities`` when given)."""
        return [s["site_id"] for s in self.stations if cities is None or s["city_code"] in cities]


def _fingerprint(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    rows = cursor.execute(
        "SELECT count(*), max(updated_at), (SELECT count(*) FROM parameters) FROM sites"
    ).fetchall()
    return tuple(rows[0])


def read_static(
    cursor: duckdb.DuckDBPyConnection, region: catalog.Region, version: int
) -> AirStatic:
    """Read the static part of the region's map."""
    fingerprint = _fingerprint(cursor)
    table = region.city_table()
    cities: tuple[dict[str, Any], ...] = tuple(
        {"code": int(code), "name_zh": str(zh), "name_en": str(en)}
        for code, zh, en in zip(table["code"], table["name_zh"], table["name_en"], strict=True)
    )
    stations = tuple(store_air.air_stations(cursor, list(region.cities)))
    names: dict[tuple[str, str], tuple[str | None, str | None]] = {
        ("city", str(c["code"])): (c["name_zh"], c["name_en"]) for c in cities
    }
    names.update({("site", s["site_id"]): (s["name_zh"], s["name_en"]) for s in stations})
    labels = store_air.parameter_labels(cursor)
    return AirStatic(version, fingerprint, cities, stations, labels, names)


def _concentrations(row: dict[str, Any] | None, daily: bool, static: AirStatic) -> list[Any]:
    out = []
    for column, parameter, averaging in _DAILY_CONCS if daily else _HOURLY_CONCS:
        value = _number(row.get(column), parameter) if row else None
        if value is None and averaging in _OPTIONAL:
            continue
        name_zh, name_en, unit = static.labels.get(parameter, (parameter, parameter, ""))
        out.append(
            {
                "parameter": parameter,
                "name_zh": name_zh,
                "name_en": name_en,
                "value": value,
                "unit": unit,
                "averaging": averaging,
                "averaging_zh": AVERAGING[averaging][0],
                "averaging_en": AVERAGING[averaging][1],
            }
        )
    return out


def _aqi_fields(row: dict[str, Any] | None, lang: Lang) -> dict[str, Any]:
    if row is None:
        return {
            "aqi": None,
            **level_fields(None, lang),
            "primary_pollutant": None,
            "rule_set": None,
        }
    return {
        "aqi": None if row["aqi"] is None else int(row["aqi"]),
        **level_fields(row["level"] if row["aqi"] is not None else None, lang),
        "primary_pollutant": row["primary_pollutant"],
        "rule_set": row["rule_set"],
    }


def snapshot(
    static: AirStatic,
    rows: Sequence[dict[str, Any]],
    *,
    daily: bool,
    lang: Lang,
    cities: Sequence[int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """City and station entries of one hour or day: every city and air station of the region
    (of ``cities`` when given), with a null AQI and the grey colour where no row was stored.

    Parameters
    ----------
    static : AirStatic
    rows : sequence of dict
        :func:`ecobasin.store.air.aqi_at` rows of that hour or day.
    daily : bool
        Whether ``rows`` are daily (their concentrations are daily statistics).
    lang : {"zh", "en"}
    cities : sequence of int, optional

    Returns
    -------
    (list of dict, list of dict)
        City entries (region order) and station entries (by city and site id).
    """
    by_key = {(row["scope"], row["scope_id"]): row for row in rows}
    city_entries = []
    for city in static.cities:
        if cities is not None and city["code"] not in cities:
            continue
        row = by_key.get(("city", str(city["code"])))
        n_total = sum(1 for s in static.stations if s["city_code"] == city["code"])
        city_entries.append(
            {
                "code": city["code"],
                "name": pick(lang, city["name_zh"], city["name_en"]),
                "name_zh": city["name_zh"],
                "name_en": city["name_en"],
                **_aqi_fields(row, lang),
                "n_stations": int(row["n_stations"] or 0) if row else 0,
                "n_stations_total": n_total,
                "concentrations": _concentrations(row, daily, static),
            }
        )
    station_entries = []
    for station in static.stations:
        if cities is not None and station["city_code"] not in cities:
            continue
        row = by_key.get(("site", station["site_id"]))
        station_entries.append(
            {
                "site_id": station["site_id"],
                "name": pick(lang, station["name_zh"], station["name_en"]),
                "name_zh": station["name_zh"],
                "name_en": station["name_en"],
                "city_code": station["city_code"],
                "lon": station["lon"],
                "lat": station["lat"],
                **_aqi_fields(row, lang),
                "concentrations": _concentrations(row, daily, static),
            }
        )
    return city_entries, station_entries


def series_item(row: dict[str, Any], scope: str, static: AirStatic, lang: Lang) -> dict[str, Any]:
    """One :func:`ecobasin.store.air.aqi_page` row shaped for the API (names, level fields,
    ``time``/``time_cst`` or ``day``, concentrations without the ``_1h`` suffix)."""
    name_zh, name_en = static.name_of(scope, row["scope_id"])
    item: dict[str, Any] = {
        "scope_id": row["scope_id"],
        "name": pick(lang, name_zh, name_en),
        "name_zh": name_zh,
        "name_en": name_en,
    }
    if "time" in row:
        item["time"] = iso_utc(row["time"])
        item["time_cst"] = hour_label(row["time"])
    else:
        item["day"] = row["day"].isoformat()
    item["aqi"] = None if row["aqi"] is None else int(row["aqi"])
    item.update(level_fields(row["level"] if row["aqi"] is not None else None, lang))
    for key, value in row.items():
        if key in ("scope_id", "time", "day", "aqi", "level"):
            continue
        name = _SERIES_NAMES.get(key, key) if "time" in row else key
        if key.startswith(("iaqi_", "n_")):
            item[name] = None if value is None else int(value)
        elif key in _CONCENTRATION_COLUMNS:
            item[name] = _number(value, "CO" if key.startswith("co") else key)
        else:
            item[name] = value
    return item


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

    def _read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cursor = self.store.cursor()
        try:
            return work(cursor)
        finally:
            cursor.close()

    async def read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``work(cursor)`` in the thread pool on a cursor of its own (not cached)."""
        return await run_in_threadpool(self._read, work)

    async def _build(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        # a few builds at a time: fifty threads scanning at once on two cores only thrash
        async with self._builders:
            return await self.read(work)

    async def get(self, key: Hashable, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
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
        if current is not None and await self.read(_fingerprint) == current.fingerprint:
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
            ("extent", store_air.aqi_generation(), hour), store_air.aqi_extent
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
