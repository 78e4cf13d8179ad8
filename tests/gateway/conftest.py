"""Fixtures of the gateway tests: a store with three sites and a running in-process gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_helpers import Client, Running, new_store

from ecobasin.gateway import GatewayConfig
from ecobasin.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = new_store(tmp_path / "gw.duckdb", (("DEV1", "S_AIR"), ("STACK1", "S_GAS")))
    yield store
    store.close()


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    # every problem of these tests' single address written (sampling has tests of its own)
    return GatewayConfig(
        port=0, raw_log=tmp_path / "raw", idle_timeout=30.0, write_delay=0.05, reject_samples=10**6
    )


@pytest.fixture
def running(store: Store, config: GatewayConfig) -> Iterator[Running]:
    server = Running(store, config)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while Client.opened:
        Client.opened.pop().close()
