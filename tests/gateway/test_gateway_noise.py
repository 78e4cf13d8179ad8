"""Noise stations over the HJ 212 gateway (issue 23, brief §4.1): real-time ``LA-Rtd``, minute and
hourly ``-Data`` packets (ST=23), the HJ/T 212-2005 code B03, and hour-beginning DataTime stored at
the hour-ending instant; all over a real TCP socket into a real DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from gateway_helpers import Client, Running, add_device, query, upload

from ecobasin import catalog
from ecobasin.gateway import GatewayConfig
from ecobasin.jobs.live import LiveRefresh
from ecobasin.store import Store
from store_files import built_store_file, new_synced_store_file


@pytest.fixture
def noise_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(built_store_file(tmp_path / "noise.duckdb", "noise device", _noise_device))
    yield store
    store.close()


def _noise_device(path: Path) -> None:
    """A new store with the region's catalog, one noise station and its device NOISE1."""
    with Store(new_synced_store_file(path)) as store:
        site = {"site_id": "NZ-5101-001", "kind": "noise_station", "level": "city"}
        store.upsert_sites(
            pd.DataFrame(
                [{**site, "city_code": 510100, "name_zh": None, "name_en": None, "lon": None}]
            ).assign(lat=None),
            source="test",
        )
        add_device(store, "NOISE1", site="NZ-5101-001")


@pytest.fixture
def noise_gateway(noise_store: Store, tmp_path: Path) -> Iterator[Running]:
    config = GatewayConfig(port=0, raw_log=tmp_path / "raw", idle_timeout=30.0, write_delay=0.05)
    server = Running(noise_store, config)
    yield server
    server.stop()


def _stored(store: Store) -> list[dict[str, object]]:
    rows = query(
        store,
        "SELECT parameter, period, time, value FROM observations ORDER BY period, parameter",
    )
    return list(rows.to_dict("records"))


def test_noise_packets_are_stored_with_units_of_the_registry(
    noise_gateway: Running, noise_store: Store
) -> None:
    client = Client(noise_gateway.port)
    hourly = {"Leq-Data": "57.3", "L10-Data": "60.1", "L50-Data": "55.2", "L90-Data": "50.4"}
    hourly |= {"LMx-Data": "78.6", "LMn-Data": "44.0"}
    client.send(upload(mn="NOISE1", ST="23", cn="2061", data_time="20260701090000", cp=hourly))
    client.send(upload(mn="NOISE1", ST="23", qn="20260701100000002", cp={"LA-Rtd": "50.1"}))
    client.send(upload(mn="NOISE1", ST="23", qn="20260701100000003", cp={"B03-Rtd": "51.0"},
                       data_time="20240101100001"))  # fmt: skip
    assert len(client.replies(3)) == 3
    noise_gateway.flush()
    rows = _stored(noise_store)
    # 2061 DataTime 09:00 CST is the hour 09:00-10:00 (label 10:00) = 02:00Z
    hour = pd.Timestamp("2026-07-01T02:00", tz="UTC")
    assert [r for r in rows if r["period"] == "1h"] == [
        {"parameter": p, "period": "1h", "time": hour, "value": v}
        for p, v in [("L10", 60.1), ("L50", 55.2), ("L90", 50.4), ("LMn", 44.0), ("LMx", 78.6), ("Leq", 57.3)]
    ]  # fmt: skip
    instants = [(r["parameter"], r["value"]) for r in rows if r["period"] == "instant"]
    assert sorted(instants) == [("LA", 50.1), ("LA", 51.0)]  # B03 is LA (HJ/T 212-2005)
    assert catalog.parameters().loc["Leq", "unit"] == "dB(A)"


def test_impossible_noise_level_is_kept_aside(noise_gateway: Running, noise_store: Store) -> None:
    client = Client(noise_gateway.port)
    client.send(upload(mn="NOISE1", ST="23", cp={"LA-Rtd": "250.0", "LA-Flag": "N"}))
    client.replies(1)
    noise_gateway.flush()
    assert _stored(noise_store) == []
    kept = query(
        noise_store, "SELECT record_ref, reason_code, reason FROM rejected WHERE source = 'gateway'"
    )
    assert len(kept) == 1
    assert "LA-Rtd" in str(kept["record_ref"].iloc[0]) and "20–140" in str(kept["reason"].iloc[0])


def test_gateway_hours_refresh_the_stored_noise_products(
    noise_store: Store, tmp_path: Path
) -> None:
    """The refresh after gateway writes (jobs.live) fills noise_daily and noise_rates."""
    noise_store.upsert_sites(
        pd.DataFrame([{"site_id": "NZ-5101-001", "kind": "noise_station", "level": "city",
                       "city_code": 510100, "name_zh": None, "name_en": None, "lon": None,
                       "lat": None, "attributes": {"zone_class": "2"}}]),
        source="test",
    )  # fmt: skip
    refresh = LiveRefresh(every=3600.0)
    config = GatewayConfig(port=0, raw_log=tmp_path / "raw", idle_timeout=30.0, write_delay=0.05)
    server = Running(noise_store, config, after_write=refresh)
    try:
        client = Client(server.port)
        # the CST day 2026-07-01: DataTime 00:00 … 23:00 are the hours labelled 01:00 … 24:00
        for hour in range(24):
            level = "58.0" if 6 <= hour < 22 else "52.0"  # class 2: day 60 passes, night 50 fails
            client.send(upload(mn="NOISE1", ST="23", cn="2061", qn=f"20260701{hour:02d}0000001",
                               data_time=f"20260701{hour:02d}0000", cp={"Leq-Data": level}))  # fmt: skip
        assert len(client.replies(24)) == 24
        server.flush()
    finally:
        server.stop()
    refresh.flush(noise_store)
    daily = query(noise_store, "SELECT day, ld, ln, day_pass, night_pass FROM noise_daily")
    assert daily.to_dict("records") == [
        {"day": date(2026, 7, 1), "ld": 58.0, "ln": 52.0, "day_pass": True, "night_pass": False}
    ]
    [rate] = query(noise_store, "SELECT * FROM noise_rates").to_dict("records")
    assert (rate["month"], rate["day_compliant"], rate["night_valid"]) == ("2026-07", 1, 1)
    assert rate["night_compliant"] == 0
    # and the night alarms (GB 3096 night limit 50): the nights of 06-30 and of 07-01
    alarms = query(
        noise_store, "SELECT parameter, periods, peak FROM alarms WHERE kind = 'over_limit'"
    )
    assert sorted(alarms.itertuples(index=False, name=None)) == [("Leq", 2, 52.0), ("Leq", 6, 52.0)]


def test_vendor_noise_codes_are_read_as_the_hj212_codes(
    noise_gateway: Running, noise_store: Store
) -> None:
    """Some data loggers send noise as n00000 … n00011 (catalog/data/noise/hj212_aliases.csv)."""
    client = Client(noise_gateway.port)
    hourly = {"n00006-Data": "57.3", "n00002-Data": "60.1", "n00010-Data": "78.6"}
    client.send(upload(mn="NOISE1", ST="23", cn="2061", data_time="20260701090000", cp=hourly))
    client.send(upload(mn="NOISE1", ST="23", qn="20260701100000002", cp={"n00000-Rtd": "50.1"}))
    assert len(client.replies(2)) == 2
    noise_gateway.flush()
    rows = {(r["parameter"], r["period"]): r["value"] for r in _stored(noise_store)}
    assert rows == {("L10", "1h"): 60.1, ("LMx", "1h"): 78.6, ("Leq", "1h"): 57.3,
                    ("LA", "instant"): 50.1}  # fmt: skip


def test_every_vendor_noise_code_names_a_noise_parameter() -> None:
    registry = catalog.parameters()
    for code in (f"n{n:05d}" for n in range(12)):
        parameter = catalog.parameter_for_code(code, ("noise",))
        assert registry.loc[parameter, "domain"] == "noise", code
    with pytest.raises(KeyError):  # an air station never reads a noise vendor code
        catalog.parameter_for_code("n00006", ("air", "met"))


def test_day_and_night_values_of_a_daily_packet_are_ld_and_ln(
    noise_gateway: Running, noise_store: Store
) -> None:
    """``Leq-DayData`` / ``Leq-NightData`` of a 2031 packet (brief §4.1, [seen S19c]) are the
    day's Ld and Ln (GB 3096-2008 §3.1-3.2 windows), stored once each at the day's end, range
    checked like every noise item; the device's limits ``DayStdValue`` / ``NightStdValue`` are
    no measurement: no row, no reject (the raw log keeps them)."""
    client = Client(noise_gateway.port)
    daily = {"Leq-Data": "55.1", "Leq-DayData": "57.2", "Leq-NightData": "48.3"}
    daily |= {"DayStdValue": "60", "NightStdValue": "50"}
    client.send(upload(mn="NOISE1", ST="23", cn="2031", data_time="20260701000000", cp=daily))
    client.send(upload(mn="NOISE1", ST="23", cn="2031", qn="20260702000000001",
                       data_time="20260702000000", cp={"Leq-DayData": "150.0"}))  # fmt: skip
    client.send(upload(mn="NOISE1", ST="23", cn="2031", data_time="20260701000000", cp=daily))
    assert len(client.replies(3)) == 3
    noise_gateway.flush()
    day_end = pd.Timestamp("2026-07-01T16:00", tz="UTC")  # 07-02 00:00 CST
    assert _stored(noise_store) == [
        {"parameter": p, "period": "1d", "time": day_end, "value": v}
        for p, v in [("Ld", 57.2), ("Leq", 55.1), ("Ln", 48.3)]
    ]
    kept = query(noise_store, "SELECT record_ref, reason FROM rejected WHERE source = 'gateway'")
    assert len(kept) == 1, kept.to_dict("records")
    assert "Leq-DayData" in str(kept["record_ref"].iloc[0])
    assert "20–140" in str(kept["reason"].iloc[0])


@pytest.mark.parametrize(
    ("convention", "hour_time", "minute_time"),
    [
        (None, "20260701090000", "20260701091000"),
        ("period_start", "20260701090000", "20260701091000"),
        ("period_end", "20260701100000", "20260701092000"),
    ],
)
def test_a_device_labelling_the_period_end_is_stored_at_the_same_hour(
    noise_store: Store, tmp_path: Path, convention: str | None, hour_time: str, minute_time: str
) -> None:
    """Site attribute ``hj212_datatime`` (brief §4.1): ``period_end`` devices label the hour
    09:00-10:00 CST with 10:00, HJ 212's default (表C) with 09:00; both are stored at 02:00Z
    (and the minutes 09:10-09:20 at 01:20Z)."""
    attributes = {} if convention is None else {"hj212_datatime": convention}
    noise_store.upsert_sites(
        pd.DataFrame([{"site_id": "NZ-5101-001", "kind": "noise_station", "level": "city",
                       "city_code": 510100, "name_zh": None, "name_en": None, "lon": None,
                       "lat": None, "attributes": attributes}]),
        source="test",
    )  # fmt: skip
    config = GatewayConfig(port=0, raw_log=tmp_path / "raw", idle_timeout=30.0, write_delay=0.05)
    server = Running(noise_store, config)
    try:
        client = Client(server.port)
        client.send(upload(mn="NOISE1", ST="23", cn="2061", data_time=hour_time,
                           cp={"Leq-Data": "57.3", "LMx-Data": "70.1"}))  # fmt: skip
        client.send(upload(mn="NOISE1", ST="23", cn="2051", qn="20260701100000009",
                           data_time=minute_time, cp={"Leq-Data": "56.0"}))  # fmt: skip
        assert len(client.replies(2)) == 2
        server.flush()
    finally:
        server.stop()
    hour = pd.Timestamp("2026-07-01T02:00", tz="UTC")
    minutes = pd.Timestamp("2026-07-01T01:20", tz="UTC")
    assert _stored(noise_store) == [
        {"parameter": "Leq", "period": "10min", "time": minutes, "value": 56.0},
        {"parameter": "LMx", "period": "1h", "time": hour, "value": 70.1},
        {"parameter": "Leq", "period": "1h", "time": hour, "value": 57.3},
    ]
