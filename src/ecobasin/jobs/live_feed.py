"""The live part of the demo: a gateway inside the web server's process, fed by simulated
enterprises (stack-gas CEMS and wastewater outlets) reporting over HJ 212 in real time.

DuckDB lets one process write the file, so the gateway runs on the web server's event loop and
writes through the same store; the dashboard, the alarms and the API see its data at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ecobasin import catalog
from ecobasin.gateway import register_devices
from ecobasin.gateway.loadgen import FleetStats, run_fleet
from ecobasin.gateway.simulator import SimDevice, build_fleet, fleet_frames
from ecobasin.jobs.live import LiveRefresh
from ecobasin.store import Store

if TYPE_CHECKING:  # nats is imported only by a gateway that uses a broker
    from ecobasin.gateway import Gateway
    from ecobasin.gateway.broker import BrokerCredentials, BrokerTls

__all__ = ["LiveFeed", "LiveRun", "enterprise_fleet", "register_fleet", "start_live"]

#: ``sites.source`` of the simulated enterprises.
SOURCE = "demo live simulator"


@dataclass(frozen=True)
class LiveFeed:
    """Where the gateway listens and how many simulated enterprises report to it.

    Attributes
    ----------
    gateway_port : int
        TCP port of the HJ 212 gateway (127.0.0.1).
    enterprises : int
        Simulated enterprise devices (stack gas and wastewater outlets).
    seed : int
        Fleet seed: the devices registered by ``ecobasin demo`` and those started by the server
        must be the same.
    refresh_every : float
        [s] Shortest interval between AQI/alarm refreshes after gateway writes.
    speedup : float
        Simulated seconds per real second (1: real time; tests run faster).
    broker : str or None
        NATS JetStream broker of the gateway (``serve --gateway --broker``; docs/gateway.md).
    broker_credentials, broker_tls : optional
        The gateway's NATS user and TLS files (settings ``ECOBASIN_BROKER_*``), as for
        ``ecobasin gateway --broker``: a broker with users refuses an anonymous gateway.
    """

    gateway_port: int = 9212
    enterprises: int = 8
    seed: int = 2025
    refresh_every: float = 30.0
    speedup: float = 1.0
    broker: str | None = None
    broker_credentials: BrokerCredentials | None = None
    broker_tls: BrokerTls | None = None


def enterprise_fleet(feed: LiveFeed, region: catalog.Region) -> list[SimDevice]:
    """The simulated enterprises of a feed (the fleet's air stations are left out: the demo's
    air stations come from the generated year, and live ones would leave the map empty)."""
    fleet: list[SimDevice] = []
    size = feed.enterprises
    while len(fleet) < feed.enterprises:
        fleet = [d for d in build_fleet(size, feed.seed, region) if d.kind != "air_station"]
        size += 1
    return fleet[: feed.enterprises]


#: Source category of each simulated outlet kind: the limits the simulator's episodes exceed
#: (``ecobasin.gateway.simulator``: ultra-low emission 10 / 35 / 50 mg/m³, 环发〔2015〕164号;
#: COD 50, NH3-N 5, TN 15, TP 0.5 mg/L, GB 18918-2002 Table 1 Class 1A), so the alarms and the
#: live page judge them against ``catalog/data/emission/limits.csv``.
SOURCE_CATEGORIES = {"gas_outlet": "coal_boiler_ultra_low", "water_outlet": "municipal_wwtp_1a"}


def register_fleet(store: Store, feed: LiveFeed, region: catalog.Region) -> int:
    """Register the feed's enterprises as sites (with their source category) and gateway
    devices; returns their number."""
    sites, devices = fleet_frames(enterprise_fleet(feed, region))
    categorised = [
        {"source_category": SOURCE_CATEGORIES[kind], **attributes}
        for kind, attributes in zip(sites["kind"], sites["attributes"], strict=True)
    ]
    sites["attributes"] = pd.Series(categorised, index=sites.index, dtype=object)
    store.upsert_sites(sites, source=SOURCE)
    register_devices(store, devices)
    return len(devices)


@dataclass
class LiveRun:
    """A running gateway and its simulated enterprises; :meth:`stop` ends both."""

    gateway: Gateway
    port: int
    fleet: asyncio.Task[FleetStats]
    refresh: LiveRefresh
    stats: FleetStats = field(default_factory=FleetStats)

    async def stop(self) -> None:
        self.fleet.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.fleet
        await self.gateway.stop()


async def start_live(
    store: Store, feed: LiveFeed, db_path: Path, region: catalog.Region
) -> LiveRun:
    """Start the gateway (raw log next to the database) and the simulated enterprises."""
    # the gateway's server (its writer, front and broker client) is imported by a server that
    # runs the gateway, not by every `ecobasin serve`
    from ecobasin.gateway import Gateway, GatewayConfig, default_raw_log

    refresh = LiveRefresh(every=feed.refresh_every)
    config = GatewayConfig(
        port=feed.gateway_port,
        raw_log=default_raw_log(Path(db_path)),
        broker=feed.broker,
        broker_credentials=feed.broker_credentials,
        broker_tls=feed.broker_tls,
        broker_store_locally=True,  # the dashboard reads this store: no writer can open it
    )
    gateway = Gateway(store, config, after_write=refresh)
    port = await gateway.start()
    stats = FleetStats()
    fleet = asyncio.create_task(
        run_fleet(
            enterprise_fleet(feed, region),
            "127.0.0.1",
            port,
            duration=30 * 86_400.0,  # until the server stops
            speedup=feed.speedup,
            sim_start=time.time(),
            stats=stats,
        )
    )
    return LiveRun(gateway, port, fleet, refresh, stats)
