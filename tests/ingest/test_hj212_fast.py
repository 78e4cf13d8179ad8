"""The fast path of the codec (``read_upload_items`` / ``read_upload``) gives exactly what the
full parse gives (``read_segment``, HJ 212-2017 §6.3.2/§6.3.3) or declines, and its rows —
checked strings straight to float columns, no ``Decimal`` — are exactly the rows of the exact
Message (``RowBuffer.add``): over the peer samples, the simulator's realistic uploads, and
generated segments (clean and broken)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ecobasin.gateway.simulator import build_fleet
from ecobasin.ingest.hj212 import Message, read_segment
from ecobasin.ingest.hj212.codec import Upload, _is_time14, read_upload, read_upload_items
from ecobasin.ingest.hj212.observations import RowBuffer


def _same(fast: Message, full: Message) -> None:
    assert fast == full
    assert not full.problems and full.head_ok
    assert [type(item.number) for item in fast.items] == [type(i.number) for i in full.items]


#: Domains of the sites a device may report for (air station, stack, outlet).
_DOMAINS = [("air", "met"), ("flue_gas",), ("water",)]


def _rows(message: Message | Upload, domains: tuple[str, ...]) -> tuple[dict, list]:
    """The buffer's columns after adding one message (values as their IEEE bytes, so NaN and
    -0.0 compare exactly), and the items left out."""
    buffer = RowBuffer()
    skipped = buffer.add(message, site_id="S1", domains=domains, source_ref="p MN=M", line=7)
    columns = {name: list(column) for name, column in buffer.columns.items() if name != "value"}
    columns["value"] = np.asarray(buffer.columns["value"], dtype=np.float64).tobytes()
    columns["micros"] = list(buffer.micros)
    return columns, skipped


def _same_rows(upload: Upload, exact: Message) -> None:
    """The float-column rows of the fast path equal those of the exact (Decimal) Message,
    bit for bit (NaN where the value is missing), and the items left out are the same."""
    for domains in _DOMAINS:
        assert _rows(upload, domains) == _rows(exact, domains)


def _check(segment: bytes) -> bool:
    """Whether the fast path took the segment; when it did, its answer is the full parse's
    (strict and lenient alike), and so are its rows."""
    upload = read_upload_items(segment)
    fast = read_upload(segment)
    assert (upload is None) == (fast is None)
    if upload is None or fast is None:
        return False
    exact = read_segment(segment)
    _same(fast, exact)
    _same(fast, read_segment(segment, lenient=True))
    assert upload.message() == exact
    assert (upload.mn, upload.cn, upload.qn, upload.data_time) == (
        exact.mn, exact.cn, exact.qn, exact.data_time,
    )  # fmt: skip
    assert upload.cp == exact.cp
    _same_rows(upload, exact)
    return True


def test_peer_samples_fast_path_equals_the_full_parse(needs_shared) -> None:
    path: Path = needs_shared("testdata/hj212/peer_samples.jsonl")
    taken = declined = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        packet = json.loads(line)["packet"].encode("utf-8")
        segment = packet[6:-6]
        if _check(segment):
            taken += 1
        else:
            declined += 1
            full = read_segment(segment)
            clean_common = (
                full.head_ok
                and not full.problems
                and full.cn in {"2011", "2051", "2061"}
                and not full.has_pno
                and b"//" not in segment
                and segment.isascii()
                and b" " not in segment
            )
            assert not clean_common, segment  # a clean common upload must take the fast path
    assert taken >= 5 and declined >= 1, (taken, declined)


def test_simulator_uploads_take_the_fast_path_and_equal_the_full_parse() -> None:
    fleet = build_fleet(60, 7)
    frames = [
        frame
        for device in fleet
        for frame in itertools.islice(
            itertools.chain.from_iterable(p.frames for p in device.packets(time.time())), 40
        )
    ]
    taken = sum(_check(frame[6:-6]) for frame in frames)
    assert taken >= 0.9 * len(frames)  # sub-packet parts and other commands decline


_KEYS = st.sampled_from(
    ["a21026", "a34004", "a01006", "w01018", "B03", "Leq", "a21005", "a01017", "w00000", "zz999"]
)
_SUFFIXES = st.sampled_from(
    ["Rtd", "Avg", "Min", "Max", "ZsRtd", "ZsAvg", "Flag", "Cou", "Data", "X"]
)
_NUMBERS = st.from_regex(r"[+-]?[0-9]{1,4}(\.[0-9]{0,3})?", fullmatch=True)
_ODD = st.sampled_from(["", "N", "D", "3O.5", ".5", "5.", "-", "+", "1e3", "NaN", "1.2.3", "١٢"])
#: Mostly plain numbers (the common case the fast path must take), some odd values.
_VALUES = st.one_of(_NUMBERS, _NUMBERS, _NUMBERS, _ODD, st.text(alphabet="0123456789.-+Ne ,;=&/"))


@st.composite
def _segments(draw: st.DrawFn) -> bytes:
    broken = draw(st.sampled_from(["", "", "", "", "QN", "ST", "CN", "MN", "Flag", "PNO"]))
    cn = draw(st.sampled_from(["2011", "2051", "2061"])) if broken != "CN" else "20x1"
    fields = {
        "QN": "20240101100000001" if broken != "QN" else "2024010110000000",
        "ST": "22" if broken != "ST" else "z9",
        "CN": cn,
        "PW": "123456",
        "MN": "DEV1" if broken != "MN" else draw(st.sampled_from(["A;B", "DEV 2", "D=1"])),
        "Flag": draw(st.sampled_from(["5", "4", "1"])) if broken != "Flag" else "300",
    }
    if broken == "PNO":
        fields.update(Flag="7", PNUM="2", PNO="1")
    head = [f"{key}={value}" for key, value in fields.items()]
    head = draw(st.permutations(head))
    time_value = draw(
        st.sampled_from(["20240101100000", "20231231235900", "20240230100000", "20240101100000123"])
    )
    items = [f"DataTime={time_value}"]
    for code, suffix, value in draw(
        st.lists(st.tuples(_KEYS, _SUFFIXES, _VALUES), max_size=6, unique_by=lambda t: t[:2])
    ):
        items.append(f"{code}-{suffix}={value}")
    separators = draw(st.lists(st.sampled_from([";", ","]), min_size=len(items)))
    cp = "".join(item + sep for item, sep in zip(items, separators, strict=False))[:-1]
    if draw(st.booleans()) and draw(st.booleans()):
        cp += draw(st.sampled_from([";", ";;", " ", "x", "=//t//"]))
    return (";".join(head) + ";CP=&&" + cp + "&&").encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_segments())
def test_generated_segments_fast_path_equals_the_full_parse_or_declines(segment: bytes) -> None:
    full = read_segment(segment)
    if _check(segment):
        return
    # declined: only because the packet is out of the common case, never a clean 2011/2051/2061
    clean_common = (
        full.head_ok
        and not full.problems
        and full.cn in {"2011", "2051", "2061"}
        and not full.has_pno
        and b" " not in segment
        and b"//" not in segment
        and b";;" not in segment
        and segment.isascii()
    )
    assert not clean_common, segment


def test_hourly_amounts_take_the_fast_path_with_their_rows() -> None:
    """An hourly (2061) ``-Cou`` of a flue-gas pollutant becomes its ``<id>_Cou`` row (issue
    17) on the fast path as on the exact one; the fast path once dropped it silently."""
    segment = (
        b"QN=20240101100000001;ST=31;CN=2061;PW=123456;MN=DEV1;Flag=5;CP=&&DataTime="
        b"20240101100000;a21026-Avg=10.0,a21026-Cou=1.5,a21026-Flag=N;a21002-Avg=3,"
        b"a21002-Cou=,a21002-Flag=D"
    ) + b"&&"
    assert _check(segment)
    columns, _ = _rows(read_upload_items(segment), ("flue_gas",))
    assert "FG_SO2_Cou" in columns["parameter"]


def test_a_known_head_with_a_bad_qn_or_another_field_is_declined() -> None:
    """The head after QN is checked once per text (a device repeats it): the next packets
    still have their QN (17 digits, 表3) checked, and any other head is checked anew."""
    head = "ST=31;CN=2011;PW=123456;MN=DEV1;Flag=5"
    cp = ";CP=&&DataTime=20240101100000;a21026-Rtd=1.5,a21026-Flag=N&&"
    assert _check(f"QN=20240101100000001;{head}{cp}".encode())  # warms the head's verdict
    assert _check(f"QN=20240101100000002;{head}{cp}".encode())
    for qn in ("2024010110000000X", "20240101100000 1", "2024010110000000-"):
        segment = f"QN={qn};{head}{cp}".encode()
        assert read_upload_items(segment) is None
        assert not read_segment(segment).head_ok or read_segment(segment).problems
    for other in ("ST=31;CN=2011;PW=123456;MN=DEV1;Flag=7", "ST=31;CN=2011;PW=123456;Flag=5"):
        assert read_upload_items(f"QN=20240101100000003;{other}{cp}".encode()) is None


@given(st.from_regex(r"[0-9]{14}", fullmatch=True))
@example("20240101240000")
@example("20240101236000")
@example("20240101235960")
@example("20240101235959")
@example("00000101000000")
@example("20230229120000")
@example("20241231000000")
def test_is_time14_is_the_calendar(value: str) -> None:
    """The cached day plus digit-pair comparisons accept exactly what ``datetime`` accepts."""
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")
        real = True
    except ValueError:
        real = False
    assert _is_time14(value) is real
    assert _is_time14(value[:4] + "0229" + value[8:]) is (
        int(value[:4]) % 4 == 0
        and (int(value[:4]) % 100 != 0 or int(value[:4]) % 400 == 0)
        and int(value[:4]) > 0
        and value[8:10] < "24"
        and value[10:12] < "60"
        and value[12:14] < "60"
    )
