"""The writer's batch decode (issue 12, Speed, eighth pass: ``read_usual_batch`` and the rows
by plan blocks) and its rows validated and stored as arrays (ninth pass: ``array_rows``,
``validate.suspect_rows``) store exactly what the one-by-one decode through the pandas
candidate frame stores — observations, rejected records with their reasons, dedup rows,
counts — on real DuckDB files, for the simulator's uploads mixed with resends, unregistered
devices, implausible DataTimes, refused records, flags outside 表8 (HJ 212-2017 §6.6.4),
empty values, negative, impossible and infinite values, two devices of one site sending the
same item and time, and a poison DataTime."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from gateway_helpers import add_device, from_template, new_store, upload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecobasin import catalog
from ecobasin.gateway import register_devices
from ecobasin.gateway.rawlog import RawRecord
from ecobasin.gateway.simulator import build_fleet, simulated_fleet
from ecobasin.gateway.writer import StoreWriter
from ecobasin.store import Store

NOW = datetime(2024, 1, 1, 3, tzinfo=UTC)  # 11:00 CST
DEVICES = 12
SEED = 5


def _simulator_records(per_device: int = 12) -> list[RawRecord]:
    """The fleet's uploads from 10:00 CST on, device after device interleaved, received now."""
    start = datetime(2024, 1, 1, 2, tzinfo=UTC).timestamp()
    streams = [
        list(
            itertools.islice(
                itertools.chain.from_iterable(p.frames for p in device.packets(start)),
                per_device,
            )
        )
        for device in build_fleet(DEVICES, SEED)
    ]
    frames = [f for row in itertools.zip_longest(*streams) for f in row if f is not None]
    return [RawRecord(i + 1, NOW, "peer:1", frame) for i, frame in enumerate(frames)]


def _odd_records(first: int) -> list[RawRecord]:
    """Uploads each of which leaves the batch path somewhere (or tests its checks)."""
    frames = [
        upload(qn="20240101100000001"),  # DEV1, the usual
        upload(qn="20240101100000002"),  # the same message again: a duplicate
        upload(mn="NOBODY", qn="20240101100000003"),  # unregistered
        upload(qn="20240101100000004", data_time="20990101100000"),  # far ahead: refused
        upload(qn="20240101100000005", data_time="19990101100000"),  # too old: refused
        upload(qn="20240101100000006", data_time="20240101100100", cp={"a21026-Rtd": "1", "a21026-Flag": "X"}),
        upload(qn="20240101100000007", data_time="20240101100200", cp={"a21026-Rtd": "", "a21026-Flag": "N"}),
        upload(qn="20240101100000008", data_time="20240101100300", cp={"zz999-Rtd": "4"}),
        upload(qn="20240101100000009", data_time="20240101100400", cn="2061", cp={"a21026-Avg": "3", "a21026-Cou": ""}),
        upload(mn="DEVGAS", qn="20240101100000010", cn="2061", cp={"a21026-Avg": "3", "a21026-Cou": "0.5"}),
        upload(qn="20240101100000011", data_time="20240101100500", PNUM="2", PNO="1", flag="7"),
        upload(qn="20240101100000012", data_time="20240101100600", cp={"a21026-Rtd": "-5", "a21026-Flag": "N"}),
        upload(qn="20240101100000013", data_time="20240101100700", cp={"a21026-Rtd": "99999999"}),
        upload(qn="20240101100000014", data_time="20240101100800", cp={"a21026-Rtd": "9" * 320}),
        upload(mn="DEV1B", qn="20240101100000015"),  # DEV1's site, item and time: a duplicate row
    ]  # fmt: skip
    records = [RawRecord(first + i, NOW, "peer:2", f) for i, f in enumerate(frames)]
    records.append(replace(upload_record(first + len(frames)), refused="by the front"))
    return records


def upload_record(seq: int) -> RawRecord:
    return RawRecord(seq, NOW, "peer:3", upload(qn="20240101100000099", data_time="20240101100900"))


def _store(path: Path) -> Store:
    """A store with the simulated fleet and three test devices (a copy of one made once)."""
    return from_template(path, "batch decode", _fleet_store)


def _fleet_store(path: Path) -> Store:
    store = new_store(path)
    sites, devices = simulated_fleet(DEVICES, SEED, catalog.load_region())
    store.upsert_sites(sites, source="simulator")
    register_devices(store, devices)
    add_device(store, "DEV1")
    add_device(store, "DEV1B")
    add_device(store, "DEVGAS", site="S_GAS")
    return store


def _stored(store: Store) -> dict[str, pd.DataFrame]:
    con = store.con
    return {
        "observations": con.execute(
            "SELECT * EXCLUDE (batch_id) FROM observations ORDER BY ALL"
        ).df(),
        "rejected": con.execute(
            "SELECT record_ref, reason_code, reason, raw FROM rejected ORDER BY ALL"
        ).df(),
        "messages": con.execute(
            "SELECT mn, cn, data_time, pno, first_seq, duplicates FROM gateway_messages "
            "ORDER BY ALL"
        ).df(),
        "subpackets": con.execute("SELECT mn, qn, pno, seq FROM gateway_subpackets ORDER BY ALL").df(),
    }  # fmt: skip


@pytest.fixture(scope="module")
def records() -> list[RawRecord]:
    usual = _simulator_records()
    return usual + _odd_records(len(usual) + 1)


#: The writers compared: the reference (one by one, every row through the pandas frame), the
#: eighth pass (batch decode), the ninth (rows as arrays) and arrays without the batch decode.
WRITERS = {
    "reference": {"batch_decode": False, "array_rows": False},
    "eighth": {"array_rows": False},
    "ninth": {},
    "arrays one by one": {"batch_decode": False},
}


def test_batch_decode_stores_what_one_by_one_stores(tmp_path: Path, records) -> None:
    stored, reports = {}, {}
    for name, options in WRITERS.items():
        with _store(tmp_path / f"b{name}.duckdb") as store:
            writer = StoreWriter(store, "log-b", recent_keys=1000, **options)
            # two writes: the second resends some of the first (duplicates across writes)
            half = len(records) // 2
            reports[name] = [
                writer.write(records[:half], now=NOW),
                writer.write(records[half - 5 :], now=NOW),
            ]
            stored[name] = _stored(store)
    for name in WRITERS:
        for table, frame in stored[name].items():
            pd.testing.assert_frame_equal(frame, stored["reference"][table], obj=f"{name} {table}")
        assert reports[name] == reports["reference"], name
    rejected = stored["ninth"]["rejected"]
    assert {
        "unknown_device",
        "implausible_datatime",
        "unknown_flag",
        "unknown_code",
        "negative_value",
        "impossible_value",
        "not_a_number",
        "duplicate_row",
    } <= set(rejected["reason_code"])
    assert len(stored["ninth"]["observations"]) > 5 * len(records)  # ~7.5 values per upload


def test_batch_decode_takes_the_usual_uploads(tmp_path: Path, records) -> None:
    """The batch path is what the writer uses for the simulator's usual uploads (so the
    equality above is about it, not about the fallback)."""
    with _store(tmp_path / "t.duckdb") as store:
        writer = StoreWriter(store, "log-t", batch_decode=True)
        decoded = writer._decode(records, NOW)
        in_blocks = sum(len(block["order"]) for block in decoded.candidates.blocks)
        assert in_blocks > 0.8 * (in_blocks + len(decoded.candidates))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
def test_any_mix_decodes_the_same_both_ways(tmp_path: Path, records, picks: list[int]) -> None:
    """Any selection and order of the records (resends included) gives the same candidate
    rows, rejects, messages and duplicates with and without the batch path."""
    chosen = [records[p % len(records)] for p in picks]
    chosen = [replace(r, seq=i + 1) for i, r in enumerate(chosen)]
    path = tmp_path / "mix.duckdb"
    if not path.exists():
        _store(path).close()
    with Store(path) as store:
        decoded = [
            StoreWriter(store, "log-m", batch_decode=batch)._decode(chosen, NOW)
            for batch in (False, True)
        ]
    one, batch = decoded
    pd.testing.assert_frame_equal(batch.candidates.frame(), one.candidates.frame())
    assert (batch.rejects, batch.new_messages, batch.duplicates, batch.messages, batch.other) == (
        one.rejects, one.new_messages, one.duplicates, one.messages, one.other,
    )  # fmt: skip


@settings(
    max_examples=7,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(  # half the picks among the odd records (the last ones), half anywhere
    picks=st.lists(st.integers(-16, -1) | st.integers(0, 10_000), min_size=1, max_size=60)
)
def test_any_mix_is_stored_the_same_with_array_rows(
    tmp_path: Path, records, picks: list[int]
) -> None:
    """Any selection and order of the records, written by the ninth pass's writer (rows
    validated and stored as arrays) and by the reference writer (one by one, the pandas
    frame), leaves the same observations, rejects, dedup rows and reports in the store."""
    chosen = [replace(records[p % len(records)], seq=i + 1) for i, p in enumerate(picks)]
    _assert_reference_and_ninth_agree(tmp_path, "mix", chosen)


_EXAMPLES = itertools.count()


def test_a_poison_datatime_is_rejected_alone_in_a_batch(tmp_path: Path) -> None:
    """Without a DataTime window, the last hour of 9999-12-31 (2061: its end overflows) is
    a decode error of that message only, as one by one (issue 12, defect 1)."""
    frames = [
        upload(qn="20240101100000001", data_time="20240101100000"),
        upload(qn="20240101100000002", data_time="99991231230000", cn="2061", cp={"a21026-Avg": "3"}),
        upload(qn="20240101100000003", data_time="20240101100100"),
    ]  # fmt: skip
    records = [RawRecord(i + 1, NOW, "peer:1", f) for i, f in enumerate(frames)]
    reports = []
    for batch in (False, True):
        with _store(tmp_path / f"p{batch}.duckdb") as store:
            writer = StoreWriter(store, "log-p", batch_decode=batch, datatime_window=None)
            reports.append(writer.write(records, now=NOW))
    assert reports[1] == reports[0]
    assert reports[1].rejected == {"decode_error": 1}
    assert reports[1].observations == 2  # the two good uploads stored


#: Value texts around the rules of 表4 (numbers) and 表8 (flags) that the batch checks all at
#: once (tenth pass): good ones in odd spellings and bad ones the full parse names.
_ODD_NUMBERS = ["1.2.3", "+", "-.", ".", "1e5", "nan", "inf", " 1", "1_0", "+-1", "1-", "&"]
_ODD_NUMBERS += ["", "-0.0", ".5", "5.", "+.5", "007", "9" * 330, "١"]
_ODD_FLAGS = ["N", "NN", "", "X", ".", "n", "0", "&"]


def _odd_value_records(first: int) -> list[RawRecord]:
    """DEV1's uploads, one minute apart, each with one odd number or flag."""
    items = [("a21026-Rtd", v) for v in _ODD_NUMBERS] + [("a21026-Flag", f) for f in _ODD_FLAGS]
    frames = [
        upload(
            qn=f"202401011001{i:05d}",
            data_time=f"202401011{i // 60:01d}{i % 60:02d}00",
            cp={"a21026-Rtd": "3.5", "a21026-Flag": "N", key: value, "a01001-Rtd": "2"},
        )
        for i, (key, value) in enumerate(items)
    ]
    return [RawRecord(first + i, NOW, "peer:4", f) for i, f in enumerate(frames)]


@pytest.mark.slow  # writes on DuckDB files, both writers
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(  # mostly the odd values (the last ones), some anywhere
    picks=st.lists(st.integers(-28, -1) | st.integers(0, 10_000), min_size=1, max_size=50)
)
def test_odd_values_are_stored_and_rejected_the_same_by_the_batch(
    tmp_path: Path, records, picks: list[int]
) -> None:
    """Any mix of the simulator's uploads and uploads with odd values (bad numbers, odd but
    valid spellings, bad flags) leaves the same observations, rejects with their reasons,
    dedup rows and reports with the batch decode (values checked all at once) as one by one."""
    pool = records + _odd_value_records(len(records) + 1)
    chosen = [replace(pool[p % len(pool)], seq=i + 1) for i, p in enumerate(picks)]
    _assert_reference_and_ninth_agree(tmp_path, "odd", chosen)


def test_odd_values_all_in_one_write(tmp_path: Path, records) -> None:
    """All the odd values in one write with the simulator's uploads: stored as one by one,
    the bad ones rejected with their reasons, and the usual uploads still taken by blocks."""
    chosen = records[:200] + _odd_value_records(201)
    stored, reports = [], []
    for options in (WRITERS["reference"], WRITERS["ninth"]):
        with _store(tmp_path / f"all-odd-{len(stored)}.duckdb") as store:
            writer = StoreWriter(store, "log-a", **options)
            decoded = writer._decode(chosen, NOW)  # before the write: all new
            reports.append(writer.write(chosen, now=NOW))
            stored.append(_stored(store))
    assert reports[1] == reports[0]
    for table, frame in stored[1].items():
        pd.testing.assert_frame_equal(frame, stored[0][table], obj=table)
    reasons = stored[1]["rejected"]
    assert {"not_a_number", "unknown_flag"} <= set(reasons["reason_code"])
    in_blocks = sum(len(block["order"]) for block in decoded.candidates.blocks)
    assert in_blocks > 0.8 * (in_blocks + len(decoded.candidates))


@pytest.mark.slow  # writes on DuckDB files, both writers
def test_each_odd_value_in_a_write_of_its_own(tmp_path: Path, records) -> None:
    """Each odd value alone among usual uploads in its own write (so no other bad value
    sends the write's uploads one by one): stored as one by one, write after write. Without
    the number check's character class (``1e5``, ``1_0``, ``inf`` would be taken) or the
    flags' length check (``NN``) this fails."""
    odd = _odd_value_records(len(records) + 1)
    stored, reports = [], []
    for options in (WRITERS["reference"], WRITERS["ninth"]):
        with _store(tmp_path / f"each-odd-{len(stored)}.duckdb") as store:
            writer = StoreWriter(store, "log-e", **options)
            reports.append(
                [
                    writer.write([*records[5 * i : 5 * i + 5], record], now=NOW)
                    for i, record in enumerate(odd)
                ]
            )
            stored.append(_stored(store))
    assert reports[1] == reports[0]
    for table, frame in stored[1].items():
        pd.testing.assert_frame_equal(frame, stored[0][table], obj=table)


def _assert_reference_and_ninth_agree(tmp_path: Path, name: str, chosen: list[RawRecord]) -> None:
    """The reference writer (one by one) and the ninth pass's, each on a copy of one fresh
    store (made once per ``name`` in ``tmp_path``), leave the same reports and tables."""
    base = tmp_path / f"{name}-base.duckdb"
    if not base.exists():
        _store(base).close()
    stored, reports = [], []
    for options in (WRITERS["reference"], WRITERS["ninth"]):
        path = tmp_path / f"{name}-{next(_EXAMPLES)}.duckdb"
        shutil.copy(base, path)
        with Store(path) as store:
            reports.append(StoreWriter(store, f"log-{name}", **options).write(chosen, now=NOW))
            stored.append(_stored(store))
    assert reports[1] == reports[0]
    for table, frame in stored[1].items():
        pd.testing.assert_frame_equal(frame, stored[0][table], obj=table)
