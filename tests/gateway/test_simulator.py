"""The HJ 212 device simulator: a deterministic fleet, valid frames, plausible values, retries.

Frames are checked with our own codec (HJ 212-2017 §6.3, Appendix A CRC); the network tests use
real asyncio servers on loopback and, end to end, the real Gateway with a DuckDB file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import random
import socket
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pandas as pd
import pytest
from gateway_helpers import open_sockets

from ecobasin import catalog, gateway
from ecobasin.gateway.loadgen import (
    BareServer,
    FleetStats,
    blast,
    expected_values,
    lost_values,
    run_device,
    run_fleet,
)
from ecobasin.gateway.loadgen import start_bare_server as bare_server
from ecobasin.gateway.simulator import (
    DEVICE_COLUMNS,
    KIND_DOMAINS,
    Packet,
    SimDevice,
    build_fleet,
    simulated_fleet,
)
from ecobasin.ingest.hj212 import (
    Frame,
    Framer,
    Inspection,
    Message,
    crc_hex,
    inspect_packet,
    message_observations,
    read_segment,
    reply_for,
)
from ecobasin.store import Store, _sql
from ecobasin.timebase import CST

#: A fixed simulated start: 2025-01-15 00:00 China Standard Time.
START = datetime(2025, 1, 15, tzinfo=CST).timestamp()
REGION = catalog.load_region("chengdu_plain")


def packets_until(device: SimDevice, start: float, hours: float) -> list[Packet]:
    end = start + hours * 3600
    return list(itertools.takewhile(lambda p: p.time < end, device.packets(start)))


# -- the fleet ---------------------------------------------------------------------------------
def test_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    sites_a, devices_a = simulated_fleet(40, seed=7)
    sites_b, devices_b = simulated_fleet(40, seed=7)
    pd.testing.assert_frame_equal(sites_a, sites_b)
    pd.testing.assert_frame_equal(devices_a, devices_b)
    _, devices_c = simulated_fleet(40, seed=8)
    assert not devices_a["password"].equals(devices_c["password"])
    assert set(devices_a["mn"]).isdisjoint(devices_c["mn"])


def test_fleet_has_every_kind_in_the_region_with_unique_ids() -> None:
    sites, devices = simulated_fleet(40, seed=1)
    assert list(devices.columns) == list(DEVICE_COLUMNS)
    assert devices["mn"].str.fullmatch(r"[0-9A-F]{24}").all()  # 24 hex characters (表3)
    assert devices["mn"].is_unique and sites["site_id"].is_unique
    assert devices["password"].str.fullmatch(r"\d{6}").all()
    assert list(devices["site_id"]) == list(sites["site_id"])
    assert set(sites["city_code"]) <= set(REGION.cities)
    assert Counter(sites["kind"]) == {"gas_outlet": 20, "water_outlet": 12, "air_station": 8}
    assert set(devices["protocol"]) == {"2017", "2005"}
    old = sites.set_index("site_id").loc[devices.loc[devices["protocol"] == "2005", "site_id"]]
    assert (old["kind"] != "air_station").all()  # 2005 codes only for pollution sources
    assert devices["interval_s"].between(30, 60).all()
    assert set(sites["level"]) == {"enterprise", "city"}
    centres = catalog.cities().loc[sites["city_code"]]
    assert (sites["lon"].to_numpy() - centres["lon"].to_numpy()).max() <= 0.2
    assert (sites["lat"].to_numpy() - centres["lat"].to_numpy()).max() <= 0.15
    assert sites["name_zh"].str.contains("模拟").all()
    assert sites["name_en"].str.contains("simulated").all()


def test_packets_are_deterministic() -> None:
    first = packets_until(build_fleet(6, seed=3)[5], START, 2)
    again = packets_until(build_fleet(6, seed=3)[5], START, 2)
    assert [p.frames for p in first] == [p.frames for p in again]
    assert len(first) > 100


# -- the frames --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def day_of_packets() -> list[tuple[SimDevice, Packet]]:
    """One simulated day (plus the next day's 2031) of ten devices of every kind and protocol."""
    fleet = build_fleet(10, seed=11)
    return [(device, packet) for device in fleet for packet in packets_until(device, START, 24.2)]


@pytest.fixture(scope="module")
def inspections(day_of_packets) -> dict[bytes, Inspection]:
    """Each frame of the day as :func:`inspect_packet` checks it end to end, checked once for
    the tests below (~2.6 s of CPU a pass over the day)."""
    return {frame: inspect_packet(frame) for _, packet in day_of_packets for frame in packet.frames}


@pytest.fixture(scope="module")
def segments(inspections) -> dict[bytes, Message]:
    """Each frame's segment as :func:`read_segment` reads it: the message of its inspection,
    which is ``read_segment`` of the bytes between the length field and the CRC."""
    messages = {frame: inspection.message for frame, inspection in inspections.items()}
    assert None not in messages.values()
    return cast(dict[bytes, Message], messages)


def test_every_frame_decodes_with_a_valid_crc(day_of_packets, inspections) -> None:
    frames = [frame for _, packet in day_of_packets for frame in packet.frames]
    stream = Framer().feed(b"".join(frames))  # the whole day as one byte stream
    assert all(isinstance(item, Frame) for item in stream)
    assert [item.raw for item in stream if isinstance(item, Frame)] == frames
    for frame in frames:
        assert frame[-6:-2].decode() == crc_hex(frame[6:-6])  # Appendix A, upper case
        inspection = inspections[frame]
        assert inspection.valid, (inspection.reason, frame)
        assert len(frame) <= 6 + 1024 + 6
        assert inspection.response is not None  # every upload asks for a 9014 (Flag.A = 1)
        assert b"CN=9014" in inspection.response


def test_head_fields_follow_the_protocol_version(day_of_packets, inspections, segments) -> None:
    for device, packet in day_of_packets:
        for frame, qn in zip(packet.frames, packet.qns, strict=True):
            message = segments[frame]
            assert message.mn == device.mn and message.head["PW"] == device.password
            assert message.head["ST"] == {"gas_outlet": "31", "water_outlet": "32"}.get(
                device.kind, "22"
            )
            if device.protocol == "2017":
                assert message.version_bits == 1 and message.qn == qn
                assert qn is not None and qn.startswith(
                    datetime.fromtimestamp(math.floor(packet.time), CST).strftime("%Y%m%d%H%M%S")
                )
            else:  # HJ/T 212-2005: no QN, version bits 0, old factor codes
                assert message.version_bits == 0 and message.qn is None and qn is None
                assert not any(
                    item.code.startswith(("a", "w"))
                    for item in message.items
                    if item.key != "DataTime"
                )
            reply = inspections[frame].response  # reply_for(message) of a valid frame
            assert reply is not None
            assert read_segment(reply[6:-6]).qn == qn  # the 9014 echoes the part's QN


def test_data_time_per_command(day_of_packets) -> None:
    counts = Counter(packet.cn for _, packet in day_of_packets)
    # from 00:00 to 24:12 CST: the periods ending at 00:00, 00:10, … 24:10 (146), the hours
    # ending at 00:00 … 24:00 (25) and the days ending at 00:00 and 24:00 (2)
    assert counts["2051"] == 10 * 146 and counts["2061"] == 10 * 25 and counts["2031"] == 10 * 2
    assert counts["2011"] >= 10 * 24 * 60  # every 30–60 s
    for _, packet in day_of_packets:
        stamp = packet.data_time
        if packet.cn == "2011":  # the sampling instant
            assert stamp.timestamp() == math.floor(packet.time)
            continue
        # the start of the period that ended just before the upload (表C.15–C.17)
        length = {"2051": 600, "2061": 3600, "2031": 86400}[packet.cn]
        assert 0 < packet.time - (stamp.timestamp() + length) < 60
        assert stamp.second == 0 and stamp.minute % 10 == 0
        if packet.cn != "2051":
            assert stamp.minute == 0
        if packet.cn == "2031":
            assert stamp.hour == 0  # a CST day
        for frame in packet.frames:
            assert f"DataTime={stamp:%Y%m%d%H%M%S}".encode() in frame


def test_long_packets_are_split_into_sub_packets(day_of_packets, segments) -> None:
    split = [p for _, p in day_of_packets if len(p.frames) > 1]
    assert split
    for packet in split:
        messages = [segments[frame] for frame in packet.frames]
        assert [m.head["PNO"] for m in messages] == [str(i + 1) for i in range(len(messages))]
        assert {m.head["PNUM"] for m in messages} == {str(len(messages))}
        assert all(m.has_pno and m.ack_required for m in messages)  # Flag = 7
        assert len({m.qn for m in messages}) == len(messages)  # each part its own QN
        assert len({m.cp["DataTime"] for m in messages}) == 1
        codes = [{i.code for i in m.items if i.key != "DataTime"} for m in messages]
        assert all(a.isdisjoint(b) for a, b in itertools.combinations(codes, 2))


def test_values_map_to_registry_parameters_within_their_ranges(day_of_packets, segments) -> None:
    registry = catalog.parameters()
    ranges: dict[tuple[str, str], tuple[str, float, float]] = {}
    seen: set[str] = set()
    for device, packet in day_of_packets:
        for frame in packet.frames:
            for item in segments[frame].items:
                if item.suffix in ("Rtd", "Avg", "Min", "Max", "ZsRtd", "ZsAvg"):
                    key = (item.code, device.kind)
                    if key not in ranges:
                        parameter = catalog.parameter_for_code(item.code, KIND_DOMAINS[device.kind])
                        low, high = registry.loc[parameter, ["min_value", "max_value"]]
                        ranges[key] = (parameter, float(low), float(high))
                    parameter, low, high = ranges[key]
                    assert item.number is not None and low <= item.number <= high, item
                    seen.add(parameter)
                elif item.suffix == "Flag":
                    assert item.value in ("N", "D", "M")
    assert {"FG_SO2", "FG_NOx", "FG_dust", "FG_O2", "FG_temp", "FG_velocity", "FG_flow"} <= seen
    assert {"COD", "NH3N", "TP", "TN", "WW_flow", "pH"} <= seen
    assert {"PM2.5", "PM10", "SO2", "NO2", "O3", "CO"} <= seen


def test_packets_become_observations_the_way_the_gateway_reads_them(day_of_packets) -> None:
    """A sample (each device's first packet of every command) through message_observations."""
    firsts = {
        (device.index, packet.cn): (device, packet) for device, packet in day_of_packets[::-1]
    }
    assert len(firsts) == 10 * 4
    for device, packet in firsts.values():
        for frame in packet.frames:
            rows, skipped = message_observations(
                read_segment(frame[6:-6]),
                site_id=device.site_id,
                domains=KIND_DOMAINS[device.kind],
                source_ref="test",
            )
            # every value maps; only converted (Zs) values may lack a registry id
            assert {reason for _, reason in skipped} <= {
                "converted value kept in the raw log only"
            }, skipped
            assert len(rows) > 0 and rows["value"].notna().all()
            assert rows["flag"].isin(["N", "D", "M"]).all()


def test_diurnal_pattern_of_ozone(day_of_packets, segments) -> None:
    """O3 peaks at 15:00 CST: the afternoon hourly means are above the night ones."""
    hourly: dict[int, list[float]] = {}
    for device, packet in day_of_packets:
        if device.kind == "air_station" and packet.cn == "2061" and packet.flag == "N":
            value = float(segments[packet.frames[0]].cp["a05024-Avg"])
            hourly.setdefault(packet.data_time.hour, []).append(value)
    afternoon = sum(sum(hourly[h]) for h in (13, 14, 15)) / sum(
        len(hourly[h]) for h in (13, 14, 15)
    )
    night = sum(sum(hourly[h]) for h in (2, 3, 4)) / sum(len(hourly[h]) for h in (2, 3, 4))
    assert afternoon > 2 * night


def test_episodes_give_flags_and_over_limit_values() -> None:
    fleet = build_fleet(60, seed=5)
    hours = range(int(START // 3600), int(START // 3600) + 24 * 10)
    kinds = Counter(
        episode.kind
        for device in fleet
        for hour in hours
        if (episode := device.episode_at(hour * 3600 + 1800)) is not None
    )
    assert kinds["over"] > 0 and kinds["D"] > 0 and kinds["M"] > 0
    assert sum(kinds.values()) < 0.05 * len(fleet) * len(hours)  # occasional
    stack, hour = next(
        (d, h)
        for d in fleet
        if d.kind == "gas_outlet" and d.protocol == "2017"
        for h in hours
        if (e := d.episode_at(h * 3600)) and e.kind == "over"
    )
    items = dict(stack.interval_items(hour * 3600, 3600, random.Random(0)))
    # SO2 35, NOx 50, dust 10 mg/m³ (ultra-low emission limits), on converted values
    assert float(items["a21026-ZsAvg"]) > 35
    assert float(items["a21002-ZsAvg"]) > 50
    assert float(items["a34013-ZsAvg"]) > 10
    fault = next(
        (d, h) for d in fleet for h in hours if (e := d.episode_at(h * 3600)) and e.kind == "D"
    )
    assert fault[0].flag_at(fault[1] * 3600) == "D"


# -- the network side --------------------------------------------------------------------------
class AckServer:
    """A tiny real HJ 212 server: answers each frame with our codec's reply, except the first
    ``drop`` frames (or every frame when ``drop`` is None); records every frame received."""

    def __init__(self, drop: int | None) -> None:
        self.drop = drop
        self.received: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        while data := await reader.read(65536):
            for item in framer.feed(data):
                assert isinstance(item, Frame)
                self.received.append(item.raw)
                if self.drop is None or len(self.received) <= self.drop:
                    continue
                reply = reply_for(read_segment(item.segment))
                assert reply is not None
                writer.write(reply)
        writer.close()


async def _run_one(server: AckServer, device: SimDevice, ack_timeout: float) -> FleetStats:
    """Run ``device`` for exactly one upload: the run starts at its first real-time packet
    (00:01:40 CST, no 10-minute boundary near) and lasts one simulated second."""
    first = next(device.packets(START + 100))
    assert first.cn == "2011" and len(first.frames) == 1
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    stats = FleetStats()
    try:
        await run_device(
            device,
            "127.0.0.1",
            port,
            stats,
            sim_start=first.time,
            speedup=100.0,
            duration=0.01,
            ack_timeout=ack_timeout,
            retries=3,
            grace=60.0,
        )
    finally:
        listener.close()
    return stats


def one_device(duplicate_rate: float) -> SimDevice:
    return dataclasses.replace(build_fleet(1, seed=2)[0], duplicate_rate=duplicate_rate)


def test_an_unacknowledged_frame_is_resent() -> None:
    server = AckServer(drop=1)
    stats = asyncio.run(_run_one(server, one_device(0.0), ack_timeout=1.0))
    assert (stats.sent, stats.retries, stats.acked, stats.lost) == (1, 1, 1, 0)
    assert len(server.received) == 2
    assert server.received[0] == server.received[1]  # the same frame, same QN, sent again
    assert len(stats.latencies) == 1


def test_a_frame_never_acknowledged_is_lost_after_three_resends() -> None:
    server = AckServer(drop=None)
    stats = asyncio.run(_run_one(server, one_device(0.0), ack_timeout=0.3))
    assert (stats.sent, stats.retries, stats.acked, stats.lost) == (1, 3, 0, 1)  # 表1 ReCount 3
    assert len(server.received) == 4 and len(set(server.received)) == 1


def test_duplicate_sends_are_acknowledged_each_time() -> None:
    server = AckServer(drop=0)
    stats = asyncio.run(_run_one(server, one_device(1.0), ack_timeout=5.0))
    assert (stats.sent, stats.duplicates, stats.acked, stats.lost) == (1, 1, 2, 0)
    assert len(server.received) == 2 and len(set(server.received)) == 1


def test_fleet_against_the_bare_server_and_the_load_generator() -> None:
    async def scenario() -> tuple[FleetStats, int, int]:
        listener = await bare_server()
        port = listener.sockets[0].getsockname()[1]
        before = BareServer.frames
        try:
            stats = await run_fleet(
                build_fleet(12, seed=4),
                "127.0.0.1",
                port,
                duration=1.0,
                speedup=300.0,
                sim_start=START,
                ack_timeout=2.0,
                grace=60.0,
            )
            frames = [
                [f for p in packets_until(d, START, 1) for f in p.frames]
                for d in build_fleet(8, seed=4)
            ]
            result = await blast("127.0.0.1", port, frames, duration=0.5, warmup=0.2)
        finally:
            listener.close()
        return stats, BareServer.frames - before, result.acked

    stats, frames_seen, blasted = asyncio.run(scenario())
    assert stats.sent > 0 and stats.lost == 0
    assert stats.acked == stats.sent + stats.duplicates
    assert frames_seen >= stats.acked + blasted
    assert blasted > 0


def test_the_load_generator_leaves_no_socket_open_when_the_server_stops_reading() -> None:
    """A server that stops reading (a gateway stuck, a bench run cut short): the frames in
    flight wait in the load generator's send buffers when its run ends, and a close waits for
    them to be sent. The sockets stayed open after the run's event loop had ended, for the
    garbage collector to close in some later test (a ResourceWarning)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:  # the kernel accepts; nobody reads
        port = listener.getsockname()[1]
        before = open_sockets()
        frame = b"##" + b"x" * 60_000  # a 60 kB frame, 200 in flight: more than the kernel holds
        result = asyncio.run(blast("127.0.0.1", port, [[frame]] * 2, duration=0.05, warmup=0.0,
                                   window=200))  # fmt: skip
        assert result.connections == 2 and result.acked == 0
        assert not open_sockets() - before


# -- end to end into the real gateway ----------------------------------------------------------
def test_fleet_into_the_gateway_stores_observations(tmp_path: Path) -> None:
    fleet = build_fleet(6, seed=9, region=REGION)
    sites, devices = simulated_fleet(6, seed=9, region=REGION)
    db = tmp_path / "gateway.duckdb"
    # 09:55 CST: the 20 simulated minutes cross 10:00, so the 09:00–10:00 hourly packet is in
    start = datetime(2025, 3, 1, 9, 55, tzinfo=CST).timestamp()

    async def scenario() -> FleetStats:
        store = Store(db)
        store.sync_catalog(REGION)
        store.upsert_sites(sites, source="simulator")
        gateway.register_devices(store, devices)
        gw = gateway.Gateway(
            store, gateway.GatewayConfig(host="127.0.0.1", port=0, raw_log=tmp_path / "raw.log")
        )
        port = await gw.start()
        try:
            return await run_fleet(
                fleet,
                "127.0.0.1",
                port,
                duration=2.0,
                speedup=600.0,
                sim_start=start,
                ack_timeout=5.0,
                grace=60.0,
            )
        finally:
            await gw.stop()
            store.close()

    stats = asyncio.run(scenario())
    assert stats.sent > 0 and stats.lost == 0
    assert stats.acked == stats.sent + stats.duplicates
    with Store(db, read_only=True) as store:
        stored = store.observations(sites=list(sites["site_id"]))
    # count values, not acks: every value of every acknowledged upload is in the store, the
    # sub-packet uploads of the splitting stack (max_cp 400, own QN per part) included
    split = [d for d in fleet if d.max_cp < 1000]
    assert split, "the fleet must have a device that splits its uploads"
    expected = expected_values(fleet, stats.delivered)
    assert lost_values(expected, stored) == 0
    assert len(stored) == expected["values"].sum()
    for device in split:
        mine = expected[expected["site_id"] == device.site_id]
        assert {"10min", "1h"} <= set(mine["period"])  # the periods that arrive in parts
    assert set(stored["site_id"]) == set(sites["site_id"])
    assert {"instant", "10min", "1h"} <= set(stored["period"])
    hourly = stored[stored["period"] == "1h"]
    # the hour 09:00–10:00 CST is stored at its end, 02:00 UTC
    assert set(hourly["time"]) == {pd.Timestamp("2025-03-01 02:00", tz="UTC")}
    assert stored.duplicated(["site_id", "parameter", "period", "time"]).sum() == 0
    assert (stored["time"] < pd.Timestamp(start + 1300, unit="s", tz="UTC")).all()
    assert timedelta(0) < stored["time"].max() - stored["time"].min()


# -- the command line --------------------------------------------------------------------------
def test_simulate_packets_prints_frames_that_decode() -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app
    from ecobasin.cli.hj212 import decode_line

    result = CliRunner().invoke(
        app, ["simulate", "packets", "-n", "3", "--hours", "0.5", "--start", "2025-01-15T00:00"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) > 3 * 30  # 2011 every 30–60 s, 2051 every 10 min, 2061, 2031
    decoded = [decode_line(line) for line in lines]
    assert all(d["valid"] for d in decoded), [d["reason"] for d in decoded if not d["valid"]]
    first = decoded[0]["message"]
    assert first["CP"]["DataTime"].startswith("20250115")  # CST, as given


def test_simulate_devices_register_writes_sites_and_devices(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app
    from ecobasin.store import Store

    db = tmp_path / "fleet.duckdb"
    args = ["simulate", "devices", "-n", "12", "--seed", "5", "--register", "--db", str(db)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    sites, devices = simulated_fleet(12, seed=5)
    with Store(db, read_only=True) as store:
        stored_sites = store.sites(site_ids=list(sites["site_id"]))
        stored_devices = _sql.frame(store, "SELECT mn, password, site_id, protocol FROM devices")
    assert sorted(stored_sites["site_id"]) == sorted(sites["site_id"])
    expected = devices[["mn", "password", "site_id", "protocol"]].sort_values("mn")
    pd.testing.assert_frame_equal(
        stored_devices.sort_values("mn").reset_index(drop=True), expected.reset_index(drop=True)
    )
