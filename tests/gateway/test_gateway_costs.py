"""The store writer's cost meter (issue 12, Speed, seventh pass): records per write, CPU by
part, the store's compare path, the fixed / per-record fit, on a real DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gateway_helpers import add_device, new_store, upload

from ecobasin.gateway.costs import WriteCosts, size_bucket
from ecobasin.gateway.rawlog import RawRecord
from ecobasin.gateway.writer import StoreWriter
from ecobasin.store import Store

T0 = datetime(2024, 1, 1, 3, tzinfo=UTC)
#: The parts of a write measured one after the other (``commit`` holds the statements).
TOP_PARTS = ("decode", "frames", "validate", "commit")
STATEMENTS = ("batch_row", "observations", "rejects", "dedup_rows", "subpackets", "checkpoint")


def _minute(n: int) -> str:
    return (datetime(2024, 1, 1, 10) + timedelta(minutes=n)).strftime("%Y%m%d%H%M%S")


def _records(first_seq: int, minutes: list[int]) -> list[RawRecord]:
    return [
        RawRecord(first_seq + i, T0, "peer:1", upload(qn=f"2024010110{first_seq + i:07d}", data_time=_minute(n)))
        for i, n in enumerate(minutes)
    ]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path):
    store = new_store(tmp_path / "costs.duckdb")
    add_device(store, "DEV1")
    yield store
    store.close()


def test_writes_are_counted_by_size_part_and_path(store: Store) -> None:
    costs = WriteCosts()
    writer = StoreWriter(store, "log-c", costs=costs)
    writer.write(_records(1, [0, 1, 2, 4]), now=T0)  # an empty store: appended
    writer.write(_records(5, [3, 5]), now=T0)  # minutes 3-5 hold stored rows: compared
    writer.write(_records(7, [10]), now=T0)  # after every stored time: appended
    snap = costs.snapshot()
    assert (snap["writes"], snap["records"]) == (3, 7)
    assert snap["sizes"] == {"≤100": 2, "≤1": 1}
    assert snap["compared"] == 1
    thread = snap["thread_cpu"]
    assert set(TOP_PARTS + STATEMENTS) <= set(thread)
    # the parts are measured inside the write, one after the other
    assert sum(thread[p] for p in TOP_PARTS) <= thread["write"]
    assert sum(thread[p] for p in STATEMENTS) <= thread["commit"]
    assert set(TOP_PARTS + STATEMENTS + ("write",)) <= set(snap["fit"])
    assert snap["fit"]["write"] is not None
    json.dumps(snap)  # the --costs-log line


def test_a_failed_write_is_not_counted(store: Store) -> None:
    costs = WriteCosts()
    writer = StoreWriter(store, "log-c", costs=costs)
    store.close()  # every statement fails: the records are quarantined, or the write raises
    with pytest.raises(Exception):  # noqa: B017 (the store's own error type)
        writer._write_once(_records(1, [0]), now=T0)
    assert costs.snapshot()["writes"] == 0


@pytest.mark.parametrize(
    ("records", "bucket"),
    [(1, "≤1"), (2, "≤100"), (5_000, "≤5000"), (5_001, "≤7500"), (20_001, ">20000")],
)
def test_size_buckets(records: int, bucket: str) -> None:
    assert size_bucket(records) == bucket


def test_the_fit_finds_a_fixed_and_a_per_record_part() -> None:
    costs = WriteCosts()
    for records, cpu in [(1_000, 0.060), (5_000, 0.260), (10_000, 0.510)]:
        costs.fit.append((records, {"write": cpu, "commit": 0.02}))
    fit = costs.snapshot()["fit"]
    assert fit["write"]["fixed_ms"] == pytest.approx(10.0, abs=0.5)
    assert fit["write"]["per_record_us"] == pytest.approx(50.0, abs=0.5)
    assert fit["commit"]["fixed_ms"] == pytest.approx(20.0, abs=0.01)
    assert fit["commit"]["per_record_us"] == pytest.approx(0.0, abs=0.01)
