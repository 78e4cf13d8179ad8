"""The store writer's cost meter (issue 12, Speed, seventh pass): records per write, CPU by
part, the store's compare path, the fixed / per-record fit, on a real DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
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
    store = new_store(tmp_path / "costs.duckdb", (("DEV1", "S_AIR"),))
    yield store
    store.close()


def test_writes_are_counted_by_size_part_and_path(store: Store) -> None:
    costs = WriteCosts()
    writer = StoreWriter(store, "log-c", costs=costs)
    writer.write(_records(1, [0, 1, 2, 4]), now=T0)  # an empty store
    writer.write(_records(5, [3, 5]), now=T0)  # minutes 3-5 hold stored rows
    writer.write(_records(7, [10]), now=T0)  # after every stored time
    snap = costs.snapshot()
    assert (snap["writes"], snap["records"]) == (3, 7)
    assert snap["sizes"] == {"≤100": 2, "≤1": 1}
    # the gateway's writes compare at once (overlap_expected): each is counted compared
    assert snap["compared"] == 3
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


def test_the_batch_row_names_the_records_and_holds_the_counts(store: Store) -> None:
    writer = StoreWriter(store, "log-c")
    writer.write(_records(1, [0, 1, 2, 4]), now=T0)
    rows = store.con.execute(
        "SELECT batch_id, kind, source, started_at, finished_at >= started_at, counts "
        "FROM import_batches WHERE kind = 'gateway'"
    ).fetchall()
    assert len(rows) == 1
    batch_id, kind, source, started_at, finished_after, counts = rows[0]
    assert (kind, source, started_at, finished_after) == (
        "gateway",
        "raw log log-c records 1-4",
        T0,
        True,
    )
    assert json.loads(counts) == {"records": 4, "messages": 4, "duplicates": 0, "rejected": 0}
    used = store.con.execute("SELECT DISTINCT batch_id FROM observation_values").fetchall()
    assert used == [(batch_id,)]


def test_values_near_stored_ones_are_appended_and_a_repeated_key_is_replaced(store: Store) -> None:
    """The store's compare path without a stage table when no key repeats; with one that
    does (a second device of the same site, same item and time), the later value wins."""
    add_device(store, "DEV2")  # the same site as DEV1
    writer = StoreWriter(store, "log-c")
    writer.write(_records(1, [0, 2]), now=T0)
    near = writer.write(_records(3, [1, 3]), now=T0)  # inside the stored span, new keys
    assert near.observations == 2
    again = upload(mn="DEV2", qn="20240101100000099", data_time=_minute(1), cp={"a21026-Rtd": "99.5", "a21026-Flag": "N"})  # fmt: skip
    replaced = writer.write([RawRecord(5, T0, "peer:2", again)], now=T0)
    assert replaced.observations == 1
    values = store.con.execute(
        "SELECT value FROM observations WHERE parameter = 'SO2' ORDER BY time"
    ).fetchall()
    assert [v for (v,) in values] == [12.5, 99.5, 12.5, 12.5]


def test_a_site_registered_while_running_is_keyed_after_the_reload(store: Store) -> None:
    """The writer keys rows with the site and parameter keys it read at start (two queries
    less per write): a site added later is stored once the registry is reloaded."""
    writer = StoreWriter(store, "log-c")
    writer.write(_records(1, [0]), now=T0)
    store.upsert_sites(
        pd.DataFrame([{"site_id": "S_NEW", "kind": "air_station", "level": "enterprise",
                       "city_code": 510100, "name_zh": None, "name_en": None, "lon": None,
                       "lat": None}]),
        source="test",
    )  # fmt: skip
    add_device(store, "DEV9", site="S_NEW")
    writer.reload()
    frame = upload(mn="DEV9", qn="20240101100000009", data_time=_minute(1))
    assert writer.write([RawRecord(2, T0, "peer:9", frame)], now=T0).observations == 1
    sites = store.con.execute("SELECT DISTINCT site_id FROM observations ORDER BY 1").fetchall()
    assert sites == [("S_AIR",), ("S_NEW",)]


class _Holder:
    """What the costs log reads of a gateway: its meter (a real WriteCosts)."""

    def __init__(self) -> None:
        self.costs = WriteCosts()


def test_the_costs_log_is_private_and_a_bad_path_does_not_stop_the_gateway(
    tmp_path: Path,
) -> None:
    from ecobasin.cli.gateway import _log_costs

    log = tmp_path / "costs.jsonl"
    _log_costs(log, _Holder())  # type: ignore[arg-type]
    assert log.stat().st_mode & 0o777 == 0o600
    assert "t" in json.loads(log.read_text().splitlines()[0])
    _log_costs(tmp_path, _Holder())  # type: ignore[arg-type]  # a folder: warned, not raised
