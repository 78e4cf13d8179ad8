"""The live picture of enterprise outlets (实时监控): ``GET /api/v1/live/enterprises`` (latest
readings, limits, the latest basis mean against its limit, open alarms), ``GET
/api/v1/gateway/status`` (the HJ 212 gateway's counters and the simulator's) and the page
``/live``. Enterprise data is restricted: signed-in viewers, editors and admins only.

The over-limit decision is the alarm engine's (:mod:`ecobasin.alarms`): the limit in force is
:func:`~ecobasin.alarms.limits_at` of the site's rules (permit, else its source category's
standard, ``catalog/data/emission/limits.csv``); the value judged is the latest complete mean on
the limit's basis (:func:`~ecobasin.alarms.basis_values`: the stored hourly / daily value, else
the mean of valid sub-period readings covering at least 75 % of the period, HJ 212-2017
表C.16-C.18 notes); over = strictly above the limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import duckdb
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from ecobasin.alarms import applicable_limits, basis_values, limits_at
from ecobasin.store import alarms as store_alarms
from ecobasin.store import queries
from ecobasin.timebase import period_end_label
from ecobasin.web.deps import CitiesDep, CursorDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.routers.alarms import Alarm
from ecobasin.web.routers.alarms import _alarm as alarm_of
from ecobasin.web.routers.pages import templates
from ecobasin.web.security.deps import CurrentPrincipal, RestrictedReader
from ecobasin.web.security.policy import RESTRICTED_KINDS

__all__ = ["RateMeter", "judge_latest", "page_router", "router"]

router = APIRouter(tags=["live"], responses=problem_responses(401, 403, 422))
page_router = APIRouter(include_in_schema=False)

#: [h] How far before a site's last reading its basis means are looked for (a daily mean and
#: its hourly sub-periods, plus the reporting delay).
BASIS_LOOKBACK_HOURS = 50
#: [s] Window of the gateway's message rate.
RATE_WINDOW_S = 60.0
#: Ack latencies of the simulator summarised (the latest ones).
LATENCY_SAMPLE = 500
_PERIOD_ORDER = {"instant": 0, "1min": 1, "10min": 2, "1h": 3, "1d": 4}


# -- models -----------------------------------------------------------------------------------
class Reading(BaseModel):
    """The latest stored value of one parameter of an outlet, and its limit."""

    parameter: str = Field(examples=["FG_SO2_Zs"])
    name_zh: str | None = None
    name_en: str | None = None
    unit: str | None = Field(default=None, description="Canonical unit of the parameter.")
    period: str = Field(description="instant (real-time 2011), 10min, 1h or 1d.")
    value: float | None = Field(description="[unit]; null when the device sent no number.")
    flag: str | None = Field(default=None, description="HJ 212 data flag (表8: N, D, M …).")
    time_utc: datetime = Field(description="Sampling time or end of the period (UTC).")
    time_cst: str = Field(description="The same, China Standard Time label.")
    limit: float | None = Field(default=None, description="Limit in force [unit]; null: none.")
    basis: str | None = Field(default=None, description="1h hourly mean or 1d daily mean.")
    limit_source: str | None = Field(
        default=None, description="permit, site_attributes or standard."
    )
    standard_id: str | None = None
    clause: str | None = None
    basis_value: float | None = Field(
        default=None, description="Latest complete mean on the limit's basis [unit]."
    )
    basis_time_utc: datetime | None = Field(default=None, description="End of that period.")
    basis_time_cst: str | None = None
    over: bool | None = Field(
        default=None,
        description="basis_value strictly above the limit; null without limit or mean.",
    )


class LimitInForce(BaseModel):
    """An emission limit applying to an outlet's parameter (排放限值)."""

    parameter: str = Field(examples=["FG_SO2_Zs"])
    limit: float = Field(description="[unit]; a mean strictly above it is over the limit.")
    unit: str | None = None
    basis: str = Field(description="1h hourly mean or 1d daily mean.")
    source: str | None = Field(default=None, description="permit, site_attributes or standard.")
    standard_id: str | None = None
    clause: str | None = None


class Enterprise(BaseModel):
    """An enterprise outlet (排口) with its latest readings and open alarms."""

    site_id: str
    kind: str = Field(description="gas_outlet 废气排口 or water_outlet 废水排口.")
    city_code: int | None = None
    city_zh: str | None = None
    city_en: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    simulated: bool = Field(description="Fed by the demo's simulator.")
    source_category: str | None = Field(default=None, description="Selects standard limits.")
    devices: list[str] = Field(description="MN of the devices registered for the outlet.")
    last_time_utc: datetime | None = Field(description="Latest reading (UTC).")
    last_time_cst: str | None = None
    over_limit: bool = Field(description="Some latest basis mean is over its limit.")
    limits: list[LimitInForce] = Field(
        description="Limits applying to the outlet (in force for the latest mean, else now)."
    )
    readings: list[Reading]
    open_alarms: list[Alarm]


class EnterpriseList(BaseModel):
    generated_utc: datetime
    count: int
    over_limit: int = Field(description="Outlets with a latest basis mean over its limit.")
    open_alarms: int
    results: list[Enterprise]


class SimulatorStatus(BaseModel):
    """Counters of the demo's simulated enterprises (``ecobasin.gateway.loadgen.FleetStats``)."""

    sent: int
    acked: int
    retries: int
    lost: int
    duplicates: int
    reconnects: int
    over_limit: int = Field(description="Packets sent inside an over-limit episode.")
    flags: dict[str, int]
    ack_p50_ms: float | None = Field(description=f"Median of the last {LATENCY_SAMPLE} acks.")


class GatewayStatus(BaseModel):
    """The HJ 212 gateway running in this server (``ecobasin serve --gateway``)."""

    port: int
    connections: int = Field(description="Device connections open now.")
    connections_total: int
    frames: int = Field(description="Well-framed frames received.")
    acked: int = Field(description="Replies sent (9014 / 9013).")
    logged: int = Field(description="Frames appended to the durable raw log.")
    stored: int = Field(description="Data messages stored (first sends).")
    observations: int
    duplicates: int
    rejected: int
    refused: int = Field(description="Frames of unknown or disabled devices, wrong passwords.")
    write_errors: int
    raw_log_errors: int = Field(
        description="Raw-log writes or fsyncs that failed (disk full, I/O): not acknowledged."
    )
    alarms: list[str] = Field(
        description="Alarms raised now: raw_log_unwritable (原始日志不可写) while the raw log "
        "cannot be written; the devices get no acks and resend."
    )
    reasons: dict[str, int] = Field(description="Rejections by reason code.")
    messages_per_s: float | None = Field(
        description=f"Acknowledged messages per second over the last {RATE_WINDOW_S:.0f} s "
        "(between status requests; null until a second request)."
    )
    rate_window_s: float | None = Field(description="[s] Span the rate was measured over.")
    refresh_runs: int = Field(description="AQI / alarm refreshes after gateway writes.")
    simulator: SimulatorStatus | None


# -- the decision (pure) ----------------------------------------------------------------------
def judge_latest(
    observations: pd.DataFrame, sites: pd.DataFrame, permits: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """The limit in force and the latest basis mean of each limited series of the sites.

    Parameters
    ----------
    observations : pandas.DataFrame
        site_id, parameter, period, time (UTC, end of period), value, flag.
    sites : pandas.DataFrame
        site_id, attributes (``source_category``, ``limits``).
    permits : pandas.DataFrame
        Imported permit limits (:func:`ecobasin.store.alarms.permit_limits`).
    now : datetime
        Time at which the limit of a series without a mean is looked up.

    Returns
    -------
    pandas.DataFrame
        site_id, parameter, limit [unit], unit, basis, source, standard_id, clause, basis_value,
        basis_time (end of the period, UTC; NaT without a mean), over (bool, or None).
    """
    columns = ["site_id", "parameter", "limit", "unit", "basis", "source", "standard_id",
               "clause", "basis_value", "basis_time", "over"]  # fmt: skip
    rules = applicable_limits(sites, permits)
    if rules.empty:
        return pd.DataFrame(columns=columns)
    series = rules[["site_id", "parameter", "basis"]].drop_duplicates()
    at_now = limits_at(series.assign(time=pd.Timestamp(now)), rules)
    at_now = at_now.sort_values("rank").drop_duplicates(["site_id", "parameter"])
    means = basis_values(observations, at_now[["site_id", "parameter", "basis"]])
    latest = means.sort_values("time").drop_duplicates(["site_id", "parameter"], keep="last")
    judged = limits_at(latest[["site_id", "parameter", "basis", "time", "value"]], rules)
    judged = judged.assign(over=judged["value"] > judged["limit"])
    frame = at_now.merge(
        judged[["site_id", "parameter", "time", "value", "limit", "source", "standard_id",
                "clause", "over"]],
        on=["site_id", "parameter"], how="left", suffixes=("", "_judged"),
    )  # fmt: skip
    # a mean is judged by the limit in force for its own period
    has_mean = frame["value"].notna()
    for key in ("limit", "source", "standard_id", "clause"):
        frame[key] = frame[key].where(~has_mean, frame[f"{key}_judged"])
    frame = frame.rename(columns={"value": "basis_value", "time_judged": "basis_time"})
    frame["over"] = frame["over"].astype(object).where(has_mean, None)
    return frame[columns].reset_index(drop=True)


class RateMeter:
    """Messages per second over a sliding window, from counter samples taken at requests.

    The oldest sample kept is the last one at or before the window's start, so the rate spans
    the whole window once requests have come for that long.
    """

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def sample(self, at: float, count: int) -> tuple[float | None, float | None]:
        """Add ``count`` at time ``at`` [s]; returns (rate [1/s], span [s]) or (None, None)
        before a second sample."""
        with self._lock:
            samples = self._samples
            samples.append((at, count))
            while len(samples) > 2 and samples[1][0] <= at - self.window:
                samples.popleft()
            (t0, c0), (t1, c1) = samples[0], samples[-1]
        if t1 <= t0:
            return None, None
        return (c1 - c0) / (t1 - t0), t1 - t0


# -- store reads --------------------------------------------------------------------------------
def _frame(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pd.DataFrame:
    # through Arrow: TIMESTAMPTZ arrives tz-aware without pandas' deprecation warning
    frame: pd.DataFrame = cursor.sql(sql, params=params).to_arrow_table().to_pandas()
    return frame


def _latest_readings(cursor: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """The latest stored value of each (site, parameter): latest time, finest period first."""
    order = " ".join(f"WHEN '{p}' THEN {rank}" for p, rank in _PERIOD_ORDER.items())
    return _frame(
        cursor,
        "SELECT o.site_id, o.parameter, p.name_zh, p.name_en, p.unit, o.period, o.time, "
        "o.value, o.flag FROM observations o LEFT JOIN parameters p USING (parameter) "
        "WHERE o.site_id = ANY(?) QUALIFY row_number() OVER (PARTITION BY o.site_id, "
        f"o.parameter ORDER BY o.time DESC, CASE o.period {order} ELSE 9 END) = 1 "
        "ORDER BY o.site_id, o.parameter",
        [ids],
    )


def _recent_observations(cursor: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """Each site's observations of the last ``BASIS_LOOKBACK_HOURS`` before its last reading."""
    return _frame(
        cursor,
        "WITH last AS (SELECT site_id, max(time) AS t FROM observations "
        "WHERE site_id = ANY(?) GROUP BY site_id) "
        "SELECT o.site_id, o.parameter, o.period, o.time, o.value, o.flag "
        "FROM observations o JOIN last USING (site_id) "
        f"WHERE o.time > last.t - INTERVAL {BASIS_LOOKBACK_HOURS} HOUR",
        [ids],
    )


def _devices(cursor: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, list[str]]:
    rows = cursor.execute(
        "SELECT site_id, mn FROM devices WHERE site_id = ANY(?) ORDER BY mn", [ids]
    ).fetchall()
    found: dict[str, list[str]] = {}
    for site, mn in rows:
        found.setdefault(str(site), []).append(str(mn))
    return found


# -- assembly -----------------------------------------------------------------------------------
def _none(value: Any) -> Any:
    return (
        None if value is None or (not isinstance(value, str | list) and pd.isna(value)) else value
    )


def _labels(times: pd.Series, periods: pd.Series | None = None) -> list[str | None]:
    present = times.notna()
    labels = pd.Series([None] * len(times), index=times.index, dtype=object)
    if present.any():
        chosen = None if periods is None else periods[present]
        labels[present] = period_end_label(times[present], chosen).to_numpy()
    return list(labels)


def _readings(latest: pd.DataFrame, judged: pd.DataFrame) -> dict[str, list[Reading]]:
    frame = latest.merge(judged.drop(columns="unit"), on=["site_id", "parameter"], how="outer")
    frame = frame[frame["time"].notna()].reset_index(drop=True)
    frame["time_cst"] = _labels(frame["time"], frame["period"])
    frame["basis_time_cst"] = _labels(frame["basis_time"], frame["basis"])
    readings: dict[str, list[Reading]] = {}
    for row in frame.to_dict(orient="records"):
        value = {str(k): _none(v) for k, v in row.items()}
        readings.setdefault(value["site_id"], []).append(
            Reading(
                **value,
                time_utc=value["time"],
                limit_source=value["source"],
                basis_time_utc=value["basis_time"],
            )
        )
    return readings


def _limits(judged: pd.DataFrame) -> dict[str, list[LimitInForce]]:
    found: dict[str, list[LimitInForce]] = {}
    fields = list(LimitInForce.model_fields)
    for row in judged.sort_values(["site_id", "parameter"]).to_dict(orient="records"):
        value = {key: _none(row[key]) for key in fields}
        found.setdefault(str(row["site_id"]), []).append(LimitInForce(**value))
    return found


def _open_alarms(cursor: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, list[Alarm]]:
    frame = store_alarms.alarms(
        cursor, store_alarms.AlarmFilter(sites=ids, status="open"), limit=10_000
    )
    found: dict[str, list[Alarm]] = {}
    for row in frame.to_dict(orient="records"):
        found.setdefault(str(row["site_id"]), []).append(alarm_of(row))  # type: ignore[arg-type]
    return found


def _attributes(text: Any) -> dict[str, Any]:
    from ecobasin.alarms.limits import site_attributes

    return site_attributes(_none(text))


@router.get("/live/enterprises", response_model=EnterpriseList)
def live_enterprises(
    cursor: CursorDep, principal: RestrictedReader, cities: CitiesDep
) -> EnterpriseList:
    """Enterprise outlets 企业排口 (restricted: signed-in users) with, per parameter, the latest
    stored reading (value, unit, HJ 212 flag, time) and, where a limit applies, the limit in
    force (permit, else the source category's standard), the latest complete mean on its
    basis (hourly for flue gas, daily for wastewater) and whether it is **strictly above** the
    limit; and the outlet's open alarms. Filter by `city` (repeatable)."""
    del principal  # checked by the dependency: enterprise data is restricted
    now = datetime.now(UTC)
    sites = queries.sites(cursor, cities=cities, kinds=list(RESTRICTED_KINDS))
    ids = [str(site) for site in sites["site_id"]]
    latest = _latest_readings(cursor, ids)
    judged = judge_latest(
        _recent_observations(cursor, ids), sites, store_alarms.permit_limits(cursor, ids), now
    )
    readings = _readings(latest, judged)
    limits = _limits(judged)
    alarms, devices = _open_alarms(cursor, ids), _devices(cursor, ids)
    last = latest.groupby("site_id")["time"].max() if not latest.empty else pd.Series()
    results = []
    for row in sites.to_dict(orient="records"):
        site = str(row["site_id"])
        attributes = _attributes(row["attributes"])
        last_time = _none(last.get(site))
        mine = readings.get(site, [])
        results.append(
            Enterprise(
                site_id=site,
                kind=row["kind"],
                city_code=_none(row["city_code"]),
                city_zh=_none(row["city_zh"]),
                city_en=_none(row["city_en"]),
                name_zh=_none(row["name_zh"]),
                name_en=_none(row["name_en"]),
                simulated=bool(attributes.get("simulated", False)),
                source_category=attributes.get("source_category"),
                devices=devices.get(site, []),
                last_time_utc=last_time,
                last_time_cst=None if last_time is None else _labels(pd.Series([last_time]))[0],
                over_limit=any(r.over for r in mine),
                limits=limits.get(site, []),
                readings=mine,
                open_alarms=alarms.get(site, []),
            )
        )
    return EnterpriseList(
        generated_utc=now,
        count=len(results),
        over_limit=sum(e.over_limit for e in results),
        open_alarms=sum(len(e.open_alarms) for e in results),
        results=results,
    )


@router.get(
    "/gateway/status", response_model=GatewayStatus, responses=problem_responses(401, 403, 404)
)
async def gateway_status(request: Request, principal: RestrictedReader) -> GatewayStatus:
    """The HJ 212 gateway of this server (restricted): connections, frames, acks, stored
    messages, duplicates, rejections, refusals, the acknowledged messages per second over the
    last minute and, under the demo, the simulated enterprises' counters. 404 when the server
    runs no gateway (``ecobasin serve --gateway`` or ``--simulate N`` starts one)."""
    del principal
    live = getattr(request.app.state, "live", None)
    if live is None:
        raise ProblemError(
            404,
            "this server runs no HJ 212 gateway; start it with `ecobasin serve --gateway` "
            "(or --simulate N, or `ecobasin demo`)",
        )
    stats = live.gateway.stats
    meter: RateMeter = getattr(request.app.state, "live_rate", None) or RateMeter()
    request.app.state.live_rate = meter
    rate, span = meter.sample(time.monotonic(), stats.acked)
    return GatewayStatus(
        port=live.port,
        **{name: getattr(stats, name) for name in _GATEWAY_COUNTERS},
        reasons=dict(stats.reasons),
        alarms=list(stats.alarms),
        messages_per_s=rate,
        rate_window_s=span,
        refresh_runs=live.refresh.runs,
        simulator=_simulator(live),
    )


_GATEWAY_COUNTERS = (
    "connections", "connections_total", "frames", "acked", "logged", "stored", "observations",
    "duplicates", "rejected", "refused", "write_errors", "raw_log_errors",
)  # fmt: skip


def _simulator(live: Any) -> SimulatorStatus | None:
    """The simulator's counters, or None when the server runs the gateway without one (its
    fleet task ends at once without devices)."""
    stats = live.stats
    if live.fleet.done() and stats.sent == 0:
        return None
    latencies = list(stats.latencies[-LATENCY_SAMPLE:])
    p50 = float(pd.Series(latencies).median()) * 1000 if latencies else None
    return SimulatorStatus(
        sent=stats.sent,
        acked=stats.acked,
        retries=stats.retries,
        lost=stats.lost,
        duplicates=stats.duplicates,
        reconnects=stats.reconnects,
        over_limit=stats.over_limit,
        flags=dict(stats.flags),
        ack_p50_ms=p50,
    )


# -- the page -----------------------------------------------------------------------------------
@page_router.get("/live", response_class=HTMLResponse)
def live_page(
    request: Request,
    principal: CurrentPrincipal,
    refresh: Annotated[int, Query(ge=2, le=300, description="Refresh interval [s].")] = 5,
) -> HTMLResponse:
    """Live enterprise data and the gateway's status; the public is asked to sign in."""
    return templates.TemplateResponse(
        request,
        "live.html",
        {
            "page": "live",
            "user": principal if principal.authenticated else None,
            "signed_in": principal.authenticated,
            "signin_url": f"/signin?next={quote(request.url.path)}",
            "refresh_s": refresh,
        },
    )
