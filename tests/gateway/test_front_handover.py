"""The hand-over of durable records from the front to the store writer (issue 12, ninth pass):
the writer's one-loop decoder reads exactly what the segment reader reads, and refuses a run
of records that does not end with a whole, undamaged record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecobasin.gateway.rawlog import REFUSALS, RawLogError, _scan, decode_records, encode_raw

_RECORDS = st.lists(
    st.tuples(
        st.integers(0, 2**40),  # received [µs since 1970]
        st.sampled_from([b"127.0.0.1:40001", b"10.0.0.7:5", b"[::1]:9", "主机:1".encode(), b""]),
        st.binary(max_size=300),  # frame (any bytes: the log keeps them as received)
        st.sampled_from(sorted(REFUSALS.values())),
    ),
    max_size=12,
)


def _encoded(records: list[tuple[int, bytes, bytes, str]]) -> bytes:
    return b"".join(
        encode_raw(seq, micros, peer, frame, refused)
        for seq, (micros, peer, frame, refused) in enumerate(records, start=1)
    )


@given(_RECORDS)
def test_the_writers_decoder_reads_what_the_segment_reader_reads(
    records: list[tuple[int, bytes, bytes, str]],
) -> None:
    data = _encoded(records)
    decoded = decode_records(data)
    assert decoded == [record for _, record in _scan(data, 0, 2)]
    assert [(r.seq, r.frame, r.refused) for r in decoded] == [
        (seq, frame, refused) for seq, (_, _, frame, refused) in enumerate(records, start=1)
    ]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert [r.received_at for r in decoded] == [
        epoch + timedelta(microseconds=micros) for micros, *_ in records
    ]


@given(_RECORDS.filter(bool), st.data())
def test_a_damaged_or_torn_run_is_refused(
    records: list[tuple[int, bytes, bytes, str]], data: st.DataObject
) -> None:
    encoded = _encoded(records)
    last = len(encoded) - len(_encoded(records[:-1]))  # the last record's length [bytes]
    torn = data.draw(st.integers(1, last - 1), label="bytes of the last record kept")
    with pytest.raises(RawLogError, match="damaged raw-log records"):
        decode_records(encoded[: len(encoded) - last + torn])
    flipped = bytearray(encoded)
    at = data.draw(st.integers(0, len(encoded) - 1), label="flipped byte")
    flipped[at] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(RawLogError, match="damaged raw-log records"):
        decode_records(bytes(flipped))
