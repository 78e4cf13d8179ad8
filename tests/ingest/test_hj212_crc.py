"""The HJ 212 CRC (HJ 212-2017 Appendix A): the two-bytes-per-step table gives the register of
the byte-by-byte algorithm as the standard writes it, for every length and content."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ecobasin.ingest.hj212.crc import _crc_bytewise, crc_hex, hj212_crc16


def test_the_appendix_a_check_value() -> None:
    assert f"{hj212_crc16(b'123456789'):04X}" == "2F80"
    assert crc_hex(b"") == "FFFF"


@given(st.binary(max_size=1100))
def test_two_bytes_per_step_equals_the_byte_loop(data: bytes) -> None:
    assert hj212_crc16(data) == _crc_bytewise(data)


def test_every_short_length_and_odd_offsets() -> None:
    data = bytes(range(256)) * 5
    for n in range(len(data)):
        assert hj212_crc16(data[:n]) == _crc_bytewise(data[:n])
        assert hj212_crc16(data[n:]) == _crc_bytewise(data[n:])
