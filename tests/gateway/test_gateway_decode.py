"""What the gateway stores of real device uploads, over a real socket: multi-part uploads whose
parts each carry their own QN (HJ 212-2017 表C.50) and items in their Appendix B units."""

from __future__ import annotations

import pandas as pd
from gateway_helpers import Client, Running, add_device, query, rejected, upload

from ecobasin.ingest.hj212 import encode_message, inspect_packet, read_segment


def ack_qn(reply: bytes) -> str | None:
    return read_segment(reply[6:-6]).qn


def part(qn: str, pno: int, pnum: int, items: dict[str, str], data_time: str) -> bytes:
    head = {"QN": qn, "ST": "31", "CN": "2061", "PW": "123456", "MN": "STACK1", "Flag": "7"}
    return encode_message(
        {**head, "PNUM": str(pnum), "PNO": str(pno)}, {"DataTime": data_time, **items}
    )


def test_parts_with_their_own_qn_are_joined_by_cn_datatime_and_pnum(
    running: Running, store
) -> None:
    # 表C.50: one hourly upload in three parts, each with its own QN, same MN/CN/DataTime
    hour = "20240101100000"
    parts = [
        part("20240101110005001", 1, 3, {"a21026-Avg": "40.5", "a21026-Flag": "N"}, hour),
        part("20240101110005002", 2, 3, {"a21002-Avg": "80.1", "a21002-Flag": "N"}, hour),
        part("20240101110005003", 3, 3, {"a34013-Avg": "3.2", "a34013-Flag": "N"}, hour),
    ]
    # the next hour's part 1 (its own DataTime) must not complete or spoil this set
    other = part("20240101120005001", 1, 3, {"a21026-Avg": "41.0"}, "20240101110000")
    client = Client(running.port)
    client.send(parts[0] + other + parts[2] + parts[1])
    replies = client.replies(4)
    # each part is acknowledged with its own QN (§6.5)
    assert [ack_qn(r) for r in replies] == [
        "20240101110005001", "20240101120005001", "20240101110005003", "20240101110005002"
    ]  # fmt: skip
    assert all(r == inspect_packet(f).response for r, f in zip(replies, [parts[0], other, parts[2], parts[1]], strict=True))  # fmt: skip
    running.flush()
    rows = query(store, "SELECT parameter, time, value FROM observations ORDER BY parameter")
    assert rows.to_dict("records") == [
        {"parameter": "FG_NOx", "time": pd.Timestamp("2024-01-01T03:00", tz="UTC"), "value": 80.1},
        {"parameter": "FG_SO2", "time": pd.Timestamp("2024-01-01T03:00", tz="UTC"), "value": 40.5},
        {"parameter": "FG_dust", "time": pd.Timestamp("2024-01-01T03:00", tz="UTC"), "value": 3.2},
    ]  # fmt: skip
    waiting = query(store, "SELECT mn, pno FROM gateway_subpackets")
    assert waiting.to_dict("records") == [{"mn": "STACK1", "pno": 1}]  # the next hour's part
    assert running.gateway.stats.stored == 1  # one complete upload; the other part waits
    assert rejected(store).empty


def test_air_pressure_in_kpa_is_stored_in_hpa(running: Running, store) -> None:
    # HJ 212-2017 表B.2: a01006 travels in kPa; the registry keeps hPa (500–1100)
    client = Client(running.port)
    frame = upload(
        cp={"a01006-Rtd": "95.62", "a01006-Flag": "N", "a01001-Rtd": "12.4", "a01007-Rtd": "1.8"}
    )
    client.send(frame)
    assert client.replies(1) == [inspect_packet(frame).response]
    running.flush()
    rows = query(store, "SELECT parameter, value FROM observations ORDER BY parameter")
    assert dict(zip(rows["parameter"], rows["value"], strict=True)) == {
        "pressure": 956.2,
        "temperature": 12.4,
        "wind_speed": 1.8,
    }
    assert rejected(store).empty


def test_wastewater_flow_in_l_per_s_is_stored_as_sent(running: Running, store) -> None:
    add_device(store, "WATER1", site="S_WATER")
    running.reload()
    client = Client(running.port)
    frame = upload(mn="WATER1", cn="2061", cp={"w00000-Avg": "24.35", "w01010-Avg": "18.5"})
    client.send(frame)
    client.replies(1)
    running.flush()
    rows = query(store, "SELECT parameter, value FROM observations ORDER BY parameter")
    assert dict(zip(rows["parameter"], rows["value"], strict=True)) == {
        "WT": 18.5,
        "WW_flow": 24.35,
    }
