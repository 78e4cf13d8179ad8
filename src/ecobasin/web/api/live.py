"""The live picture of enterprise outlets (实时监控): ``GET /api/v1/live/enterprises`` (latest
readings, limits, the latest basis mean against its limit, open alarms), ``GET
/api/v1/gateway/status`` (the HJ 212 gateway's counters and the simulator's); the page
``/live`` that draws them is :mod:`ecobasin.web.pages.live`. Enterprise data is restricted: signed-in viewers, editors and admins only.

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
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ecobasin.services import live as live_service
from ecobasin.web.api.alarms import Alarm
from ecobasin.web.api.alarms import _alarm as alarm_of
from ecobasin.web.deps import CitiesDep, CursorDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import RestrictedReader
from ecobasin.web.security.policy import RESTRICTED_KINDS

__all__ = ["RateMeter", "router"]

router = APIRouter(tags=["live"], responses=problem_responses(401, 403, 422))

#: [s] Window of the gateway's message rate.
RATE_WINDOW_S = 60.0
#: Ack latencies of the simulator summarised (the latest ones).
LATENCY_SAMPLE = 500


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
    budget_closed: int = Field(
        description="Connections closed for their budget: too many framing errors or bytes "
        "without a valid frame (--max-frame-errors, --max-unframed-kib)."
    )
    unsampled: int = Field(
        description="Problems counted but not written to rejected one by one (sampled per "
        "peer address, --reject-samples per minute; summarised as too_many_problems)."
    )
    raw_log_errors: int = Field(
        description="Raw-log writes or fsyncs that failed (disk full, I/O): not acknowledged."
    )
    published: int = Field(
        description="Frames acknowledged by the broker (--broker; 0 without one)."
    )
    broker_errors: int = Field(
        description="Broker connects or publishes that failed (nothing acknowledged for them)."
    )
    broker_unreachable: bool = Field(
        description="The broker does not acknowledge now (--broker): no acks to the devices."
    )
    alarms: list[str] = Field(
        description="Alarms raised now: raw_log_unwritable (原始日志不可写) while the raw log "
        "cannot be written, broker_unreachable (消息代理不可达) while the broker does not "
        "acknowledge; either way the devices get no acks and resend."
    )
    reasons: dict[str, int] = Field(description="Rejections by reason code.")
    messages_per_s: float | None = Field(
        description=f"Acknowledged messages per second over the last {RATE_WINDOW_S:.0f} s "
        "(between status requests; null until a second request)."
    )
    rate_window_s: float | None = Field(description="[s] Span the rate was measured over.")
    refresh_runs: int = Field(description="AQI / alarm refreshes after gateway writes.")
    simulator: SimulatorStatus | None


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


def _enterprise(outlet: dict[str, Any]) -> Enterprise:
    nested = ("limits", "readings", "open_alarms")
    return Enterprise(
        **{key: value for key, value in outlet.items() if key not in nested},
        last_time_utc=outlet["last_time"],
        limits=[LimitInForce(**row) for row in outlet["limits"]],
        readings=[Reading(**row) for row in outlet["readings"]],
        open_alarms=[alarm_of(row) for row in outlet["open_alarms"]],
    )


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
    outlets = live_service.enterprises(cursor, cities, RESTRICTED_KINDS, now)
    results = [_enterprise(outlet) for outlet in outlets]
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
    "duplicates", "rejected", "refused", "write_errors", "budget_closed", "unsampled",
    "raw_log_errors", "published", "broker_errors", "broker_unreachable",
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
