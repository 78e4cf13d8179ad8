"""The writer's dedup cache in front of ``gateway_messages`` (issue 12, Speed): recent keys
in memory and, per (MN, CN), the latest DataTime not in memory; the store stays the truth.

Resends must be dropped whatever the cache holds — after a restart (empty cache), after the
key was forgotten (cache full) and after a prune — and a key the store no longer holds must
be stored again. Real DuckDB files; the restart over real sockets and the real front."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gateway_helpers import Client, Running, add_device, new_store, query, upload

from ecobasin.gateway import GatewayConfig
from ecobasin.gateway.rawlog import RawRecord
from ecobasin.gateway.writer import RecentKeys, StoreWriter
from ecobasin.store import Store
from ecobasin.store import gateway as sql

T0 = datetime(2024, 1, 1, 3, tzinfo=UTC)


def _minute(n: int) -> str:
    """DataTime of the n-th minute after 2024-01-01 10:00 CST (14 digits, 表4)."""
    return (datetime(2024, 1, 1, 10) + timedelta(minutes=n)).strftime("%Y%m%d%H%M%S")


def _records(first_seq: int, minutes: list[int], mn: str = "DEV1") -> list[RawRecord]:
    return [
        RawRecord(first_seq + i, T0, "peer:1", upload(mn=mn, qn=f"2024010110{seq:07d}", data_time=_minute(n)))
        for i, (seq, n) in enumerate(zip(range(first_seq, first_seq + len(minutes)), minutes, strict=True))
    ]  # fmt: skip


def _stored(store: Store, mn: str = "DEV1") -> dict[str, int]:
    """DataTime → duplicates counted, of every stored message key of a device."""
    frame = query(
        store,
        f"SELECT data_time, duplicates FROM gateway_messages WHERE mn = '{mn}' ORDER BY data_time",
    )
    return dict(zip(frame["data_time"], frame["duplicates"].astype(int), strict=True))


@pytest.fixture
def store(tmp_path: Path):
    store = new_store(tmp_path / "dedup.duckdb", (("DEV1", "S_AIR"),))
    add_device(store, "DEV2", site="S_GAS")
    yield store
    store.close()


def test_a_forgotten_key_is_still_a_duplicate_and_a_later_one_is_new(store: Store) -> None:
    writer = StoreWriter(store, "log-a", recent_keys=2)
    writer.write(_records(1, [0, 1, 2, 3]), now=T0)
    assert writer.recent is not None
    assert len(writer.recent.keys) == 2  # minutes 2 and 3 kept, 0 and 1 forgotten
    assert writer.recent.floors[("DEV1", "2011")] == _minute(1)
    report = writer.write(_records(5, [0, 3, 4]), now=T0)  # 0: forgotten, 3: recent, 4: new
    assert (report.messages, report.duplicates) == (1, 2)
    assert _stored(store) == {_minute(n): int(n in (0, 3)) for n in range(5)}


def test_the_cache_never_answers_for_a_key_it_cannot_prove() -> None:
    recent = RecentKeys({("DEV1", "2011"): _minute(5)}, max_keys=10)
    recent.add([("DEV1", "2011", _minute(7), 0)])
    assert recent.stored(("DEV1", "2011", _minute(7), 0)) is True
    assert recent.stored(("DEV1", "2011", _minute(6), 0)) is False  # after the floor
    assert recent.stored(("DEV1", "2011", _minute(5), 0)) is None  # at the floor: ask
    assert recent.stored(("DEV1", "2011", _minute(1), 0)) is None  # a history upload 补发
    assert recent.stored(("DEV1", "2051", _minute(1), 0)) is False  # no key of that CN
    assert recent.stored(("DEV1", "2011", "QN:20240101100000001", 0)) is None  # no DataTime
    assert recent.stored(("DEV1", "2011", _minute(9) + "123", 0)) is None  # 17 digits
    recent.forget()
    assert recent.stored(("DEV1", "2011", _minute(7), 0)) is None
    assert recent.floors[("DEV1", "2011")] == _minute(7)


def test_after_a_prune_the_pruned_key_is_stored_again(store: Store) -> None:
    writer = StoreWriter(store, "log-a", recent_keys=100)
    writer.write(_records(1, [0, 1]), now=T0)
    with store.transaction():  # what the gateway's maintenance does, then tells the writer
        assert sql.prune_messages(store, timedelta(0)) == 2
    writer.forget_recent()
    report = writer.write(_records(3, [1]), now=T0)
    assert (report.messages, report.duplicates) == (1, 0)  # the store is the truth


@pytest.mark.slow
def test_a_resend_after_a_restart_is_dropped(tmp_path: Path, store: Store) -> None:
    """Over real sockets: stored, gateway stopped, started again (empty cache, floors from
    the store): the resend of a stored message is acked and counted, never stored twice; a
    later message, and one of another device, are stored."""
    config = GatewayConfig(port=0, raw_log=tmp_path / "raw", write_delay=0.05)
    first = Running(store, config)
    client = Client(first.port)
    client.send(upload(qn="20240101100000001", data_time=_minute(0)))
    client.send(upload(qn="20240101100100002", data_time=_minute(1)))
    assert len(client.replies(2)) == 2
    first.flush()
    client.close()
    first.stop()

    second = Running(store, config)
    client = Client(second.port)
    client.send(upload(qn="20240101100100003", data_time=_minute(1)))  # the resend
    client.send(upload(qn="20240101100200004", data_time=_minute(2)))
    client.send(upload(mn="DEV2", qn="20240101100100005", data_time=_minute(1)))
    assert len(client.replies(3)) == 3
    second.flush()
    second.stop()
    assert _stored(store) == {_minute(0): 0, _minute(1): 1, _minute(2): 0}
    assert _stored(store, "DEV2") == {_minute(1): 0}
    observations = query(store, "SELECT count(*) AS n FROM observations")["n"][0]
    assert observations == 4  # one value per stored message, none twice
