"""The batch reader of usual uploads (``codec.read_usual_batch``, issue 12, Speed, eighth
pass) reads each upload it takes exactly as the one-message fast path (``read_upload_items``,
itself equal to the full parse: tests/ingest/test_hj212_fast.py), takes every upload that
path reads as a usual CP area (HJ 212-2017 §6.3.2 表3, §6.3.3 表4), and its block rows
(``RowBuffer.add_block``) are the rows of one ``RowBuffer.add`` per upload, bit for bit."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hj212_fast import _DOMAINS, _segments

from ecobasin.gateway.simulator import build_fleet
from ecobasin.ingest.hj212 import read_segment
from ecobasin.ingest.hj212.codec import read_upload_items, read_usual_batch
from ecobasin.ingest.hj212.observations import (
    PlannedBlock,
    RowBuffer,
    block_rows_ok,
    plan_for,
    upload_micros,
)


def _usual(segment: bytes) -> bool:
    upload = read_upload_items(segment)
    return upload is not None and upload.template.usual


def _check_batch(segments: list[bytes]) -> int:
    """Every upload the batch reader takes equals the one-message fast path's, and it takes
    exactly the segments that path reads as usual; returns how many it took."""
    batch = read_usual_batch(segments)
    assert batch.positions == [at for at, s in enumerate(segments) if _usual(s)]
    for n, at in enumerate(batch.positions):
        mine, one = batch.upload(n), read_upload_items(segments[at])
        assert one is not None
        assert mine.template is one.template  # the same cached template: the same plans
        assert (mine.head, mine.values, mine.data_time) == (one.head, one.values, one.data_time)
        assert list(mine.head) == list(one.head)  # field order too (QN first or not)
    return len(batch.positions)


def _simulator_frames(devices: int = 60, per_device: int = 40) -> list[bytes]:
    fleet = build_fleet(devices, 7)
    start = time.time()
    return [
        frame
        for device in fleet
        for frame in itertools.islice(
            itertools.chain.from_iterable(p.frames for p in device.packets(start)), per_device
        )
    ]


def test_simulator_uploads_are_read_in_one_batch_as_one_by_one() -> None:
    segments = [frame[6:-6] for frame in _simulator_frames()]
    taken = _check_batch(segments)
    assert taken >= 0.9 * len(segments)  # heads with and without QN; sub-packets decline


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_segments(), min_size=1, max_size=8))
def test_generated_batches_are_read_as_one_by_one(segments: list[bytes]) -> None:
    _check_batch(segments)


def test_odd_segments_in_a_batch_do_not_shift_the_others() -> None:
    """A segment with a line break, non-ASCII bytes, a repeated key or a second CP area is
    left out, and the values of the uploads after it stay theirs."""
    head = "QN=20240101100000001;ST=22;CN=2011;PW=123456;MN=DEV1;Flag=5;CP=&&"
    good = f"{head}DataTime=20240101100000;a21026-Rtd=1.5,a21026-Flag=N&&".encode()
    odd = [
        f"{head}DataTime=20240101100000;a21026-Rtd=1\n5&&".encode(),
        f"{head}DataTime=20240101100000;a21026-Rtd=1.5;a21026-Rtd=2&&".encode(),
        f"{head}DataTime=20240101100000;a21026-Rtd=١&&".encode(),
        f"{head}DataTime=20240101100000;CP=&&a21026-Rtd=1&&".encode(),
        f"{head}DataTime=20240230100000;a21026-Rtd=1.5&&".encode(),
        b"ST=22;CN=2011;PW=123456;MN=DEV1;QN=20240101100000001;CP=&&DataTime=20240101100000;"
        b"a21026-Rtd=7&&",
    ]
    segments = [good, *odd, good.replace(b"1.5", b"2.5")]
    assert _check_batch(segments) == 3  # the first, the head with QN last, the last


def _block_rows(segments: list[bytes], domains: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """The frame of the batch's rows by plan blocks, and how many uploads went by block."""
    batch = read_usual_batch(segments)
    buffer = RowBuffer()
    values = batch.texts
    assert values.tolist() == [*batch.values, ""]
    blocked = 0
    for n, at in enumerate(batch.positions):
        plan = plan_for(batch.templates[n], batch.heads[n]["CN"], domains, 10, buffer.known)
        micros = None if plan is None else upload_micros(batch.data_times[n], plan.length)
        starts = np.array([batch.starts[n] - 1], dtype=np.int64)
        if plan is not None and micros is not None and block_rows_ok(plan, values, starts)[0]:
            block = PlannedBlock(
                values=values,
                numbers=batch.numbers,
                starts=starts,
                site_ids=np.array(["S1"], dtype=object),
                refs=np.array([f"p{at}"], dtype=object),
                lines=np.array([at], dtype=np.int64),
                micros=np.array([micros], dtype=np.int64),
                positions=np.array([at], dtype=np.int64),
            )
            buffer.add_block(plan, block)
            blocked += 1
        else:
            buffer.position = at
            buffer.add(batch.upload(n), site_id="S1", domains=domains, source_ref=f"p{at}", line=at)
    return buffer.frame(), blocked


def _one_by_one_rows(segments: list[bytes], domains: tuple[str, ...]) -> pd.DataFrame:
    buffer = RowBuffer()
    for at, segment in enumerate(segments):
        upload = read_upload_items(segment)
        if upload is not None and upload.template.usual:
            buffer.add(upload, site_id="S1", domains=domains, source_ref=f"p{at}", line=at)
    return buffer.frame()


def _same_frames(mine: pd.DataFrame, theirs: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(mine, theirs)
    # values bit for bit (NaN and -0.0 included)
    assert mine["value"].to_numpy().tobytes() == theirs["value"].to_numpy().tobytes()


def test_block_rows_of_simulator_uploads_are_the_rows_one_by_one() -> None:
    segments = [frame[6:-6] for frame in _simulator_frames(30, 30)]
    for domains in _DOMAINS:
        mine, blocked = _block_rows(segments, domains)
        _same_frames(mine, _one_by_one_rows(segments, domains))
        assert blocked >= 0.5 * len(segments)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_segments(), min_size=1, max_size=6), st.sampled_from(_DOMAINS))
def test_block_rows_of_generated_uploads_are_the_rows_one_by_one(
    segments: list[bytes], domains: tuple[str, ...]
) -> None:
    mine, _ = _block_rows(segments, domains)
    _same_frames(mine, _one_by_one_rows(segments, domains))


def test_block_rows_convert_units_and_keep_missing_values_and_flags() -> None:
    """a01006 travels in kPa (HJ 212-2017 Appendix B) and is stored in hPa; an empty value is
    NaN with raw value ""; a code without ``-Flag`` has no flag; a flag outside 表8 is not
    taken by the block (the one-by-one path names it)."""
    head = "QN=20240101100000001;ST=22;CN=2011;PW=123456;MN=DEV1;Flag=5;CP=&&"
    cp = "DataTime=20240101100000;a01006-Rtd=95.62,a01006-Flag=N;a01001-Rtd=;a21026-Rtd=-0.0"
    segments = [f"{head}{cp}&&".encode(), f"{head}{cp},a21026-Flag=X&&".encode()]
    mine, blocked = _block_rows(segments, ("air", "met"))
    assert blocked == 1
    _same_frames(mine, _one_by_one_rows(segments, ("air", "met")))
    first = mine[mine["line"] == 0].set_index("parameter")
    assert first.loc["pressure", "value"] == 95.62 * 10
    assert (
        np.isnan(first.loc["temperature", "value"]) and first.loc["temperature", "raw_value"] == ""
    )
    assert first.loc["pressure", "flag"] == "N" and pd.isna(first.loc["temperature", "flag"])


def test_noise_day_and_night_values_are_the_same_by_block_one_by_one_and_exact() -> None:
    """A daily noise packet (brief §4.1 [seen S19c]): ``Leq-DayData`` / ``Leq-NightData`` are
    Ld / Ln by every path (the batch's blocks, the fast upload, the exact message),
    ``DayStdValue`` / ``NightStdValue`` (the device's limits) no row and no error; in an hourly
    packet ``Leq-DayData`` is no row either."""
    head = "QN=20260702000000001;ST=23;CN={cn};PW=123456;MN=NOISE1;Flag=5;CP=&&"
    cp = "DataTime=20260701000000;Leq-Data=55.1;Leq-DayData=57.2;Leq-NightData=48.3;"
    cp += "DayStdValue=60;NightStdValue=50"
    segments = [f"{head.format(cn=cn)}{cp}&&".encode() for cn in ("2031", "2061")]
    domains = ("noise", "met")
    _same_frames(*(_block_rows(segments, domains)[0], _one_by_one_rows(segments, domains)))
    fast, exact = RowBuffer(), RowBuffer()
    reasons = []
    for at, segment in enumerate(segments):
        upload = read_upload_items(segment) or read_segment(segment)  # fast when it is read so
        for buffer, message in ((fast, upload), (exact, read_segment(segment))):
            buffer.position = at
            reasons.append(
                buffer.add(message, site_id="S1", domains=domains, source_ref="p", line=at)
            )
    _same_frames(fast.frame(), exact.frame())
    rows = exact.frame()
    daily = rows[rows["line"] == 0].set_index("parameter")["value"].to_dict()
    assert daily == {"Leq": 55.1, "Ld": 57.2, "Ln": 48.3}
    assert rows[rows["line"] == 1]["parameter"].tolist() == ["Leq"]
    assert reasons[0] == reasons[1]  # the same items left out, for the same reasons
    limits = {key: reason for key, reason in reasons[0]}
    assert set(limits) == {"DayStdValue", "NightStdValue"}
    assert all("configured limit" in reason for reason in limits.values())


#: Characters around the rules of a value (表4 numbers, 表8 flags): digits, the sign and dot of
#: a number, an exponent and ``_`` that ``float()`` alone would accept, a space, a flag
#: letter, and the separators a value may not hold.
_VALUE_CHARACTERS = "09.+-e_ N=&;"


def _values_up_to(length: int, characters: str) -> list[str]:
    return [
        "".join(chars)
        for size in range(length + 1)
        for chars in itertools.product(characters, repeat=size)
    ]


def _with_value(key: str, value: str, qn: int = 1) -> bytes:
    head = f"QN=2024010110000{qn:04d};ST=22;CN=2011;PW=123456;MN=DEV1;Flag=5;CP=&&"
    return f"{head}DataTime=20240101100000;a21026-Rtd=1.5;{key}={value},a01001-Rtd=2&&".encode()


@pytest.mark.slow  # 11,000 single-upload batches
def test_every_short_value_is_taken_alone_exactly_when_one_by_one_takes_it() -> None:
    """Every value of up to 3 of those characters (4 of the number's), as a number and as a
    flag, alone in its batch: the batch's all-at-once value check (one character class, then
    ``float()``) takes exactly the uploads whose values the one-message path's pattern takes,
    and the numbers are ``float()`` of the texts. Without the character class (``1_0``,
    `` 1``, ``1e5``), the length check of the flags (``NN``) or the float cast (``1.2.3``,
    ``+``) this fails."""
    values = _values_up_to(3, _VALUE_CHARACTERS) + _values_up_to(4, "0.+-e")
    taken = {"a21026-Avg": 0, "a21026-Flag": 0}
    for key in taken:
        for value in values:
            segment = _with_value(key, value)
            taken[key] += _check_batch([segment])
            batch = read_usual_batch([segment])
            if batch.positions and key != "a21026-Flag":
                expected = np.nan if value == "" else float(value)
                assert np.array_equal(batch.numbers[1], expected, equal_nan=True), value
    assert taken["a21026-Avg"] > 20 and taken["a21026-Flag"] > 3  # not all declined


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a21026-Avg", "a21026-Flag", "a21026-ZsRtd"]),
            st.sampled_from(_values_up_to(2, _VALUE_CHARACTERS)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_a_bad_value_in_a_batch_leaves_out_its_upload_only(items: list[tuple[str, str]]) -> None:
    """Batches mixing good and bad values: the uploads with a value outside the rules are
    left out (the batch then checks its uploads one by one), the others are taken with their
    values and numbers in place."""
    segments = [_with_value(key, value, qn) for qn, (key, value) in enumerate(items)]
    _check_batch(segments)
    batch = read_usual_batch(segments)
    for n, at in enumerate(batch.positions):
        key, value = items[at]
        number = batch.numbers[batch.starts[n] + 1]  # its second value: the generated one
        assert batch.texts[batch.starts[n] + 1] == value
        if key == "a21026-Flag" or value == "":
            assert np.isnan(number)
        else:
            assert number == float(value) and str(number) == str(float(value))
