"""Fixtures of the security tests: a fresh store served by the real ``ecobasin serve``
(helpers in ``auth_server``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_server import Server, make_store, start_server, stop_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A fresh store served by ``ecobasin serve`` for one test."""
    running = start_server(make_store(tmp_path / "auth.duckdb"))
    try:
        yield running
    finally:
        stop_server(running)
