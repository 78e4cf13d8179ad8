"""The store's lag behind the acks is bounded in time (issue 12, Speed): over real sockets,
a gateway whose store writes slowly never lets more than ``max_lag`` seconds of the store's
rate (at least two write batches) wait for it, and every acknowledged frame is stored."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from gateway_helpers import Running

from ecobasin import catalog
from ecobasin.gateway import GatewayConfig, register_devices
from ecobasin.gateway.front import QueueBound
from ecobasin.gateway.loadgen import blast
from ecobasin.gateway.simulator import build_fleet, simulated_fleet
from ecobasin.store import Store, _sql

DEVICES = 40
WINDOW = 4  # frames in flight per connection: a group holds at most DEVICES × WINDOW frames
WRITE_BATCH = 100
STORE_PAUSE = 2.0  # [s] the slow store: every write that stored observations waits this long
MAX_LAG = 2.0  # [s] the default of GatewayConfig.max_lag


def test_queue_bound_is_the_lag_times_the_store_rate_within_its_floor_and_ceiling() -> None:
    bound = QueueBound(lag=2.0, least=400, most=5_000)
    assert bound.frames == 400  # no rate measured yet: the floor
    bound.progress(1_000, 10.0)
    bound.progress(2_000, 11.0)  # 1,000 frames/s
    assert bound.frames == 2_000
    bound.progress(2_100, 12.0)  # 1,100 frames in 2 s
    assert bound.frames == 1_100
    bound.progress(100_000, 13.0)  # a fast store: the ceiling holds
    assert bound.frames == 5_000
    for t in range(14, 30):  # a store that stopped: back to the floor once the span passed
        bound.progress(100_000, float(t))
    assert bound.frames == 400


@pytest.mark.slow
def test_a_slow_store_holds_the_acks_back_within_its_lag_and_stores_every_ack(
    tmp_path: Path,
) -> None:
    region = catalog.load_region("chengdu_plain")
    sites, devices = simulated_fleet(DEVICES, 7, region)
    store = Store(tmp_path / "gw.duckdb")
    store.sync_catalog(region)
    store.upsert_sites(sites, source="simulator")
    register_devices(store, devices)
    start = time.time() - 30 * 86400.0
    frames = [
        list(itertools.islice(itertools.chain.from_iterable(p.frames for p in d.packets(start)), 800))
        for d in build_fleet(DEVICES, 7)
    ]  # fmt: skip
    config = GatewayConfig(
        port=0, raw_log=tmp_path / "raw", write_batch=WRITE_BATCH, write_delay=0.05
    )
    server = Running(store, config, after_write=lambda *_: time.sleep(STORE_PAUSE))
    try:
        result = asyncio.run(
            blast("127.0.0.1", server.port, frames, duration=6.0, warmup=0.5, window=WINDOW)
        )
        # acknowledged, so durable and handed to the writer, but not stored yet: the backlog
        stored_at_end = _count_messages(store)
        # the store writes at most (WRITE_BATCH + one group) frames per STORE_PAUSE: its rate
        # times the lag, plus the group that crossed the bound, is all that may wait
        group = DEVICES * WINDOW
        most_rate = (WRITE_BATCH + group) / STORE_PAUSE  # [frames/s]
        allowed = max(2 * WRITE_BATCH, int(MAX_LAG * most_rate)) + group
        assert result.acked_total > allowed  # the devices did outpace the store
        assert result.acked_total - stored_at_end <= allowed, (result.acked_total, stored_at_end)
        server.flush()
    finally:
        server.stop()
    # every acknowledged frame is in the store (one dedup row per frame: all are distinct)
    stored = _count_messages(store)
    store.close()
    assert stored >= result.acked_total


def _count_messages(store: Store) -> int:
    """Messages in the store (one ``gateway_messages`` row per frame), read beside the
    gateway's writer through a view of the same database."""
    view = store.reader()
    try:
        return int(_sql.frame(view, "SELECT count(*) AS n FROM gateway_messages")["n"][0])
    finally:
        view.close()
