"""The HJ 212 CRC (HJ 212-2017 Appendix A): the folded computation (issue 12, ninth pass) and
the two-bytes-per-step table (the earlier path, the bench's named baseline) both give the
register of the byte-by-byte algorithm as the standard writes it, for every length and
content."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ecobasin.ingest.hj212.crc import _crc_bytewise, _crc_pairs, crc_hex, hj212_crc16


def test_the_appendix_a_check_value() -> None:
    assert f"{hj212_crc16(b'123456789'):04X}" == "2F80"
    assert f"{_crc_pairs(b'123456789'):04X}" == "2F80"
    assert crc_hex(b"") == "FFFF"


@given(st.binary(max_size=1100))
def test_the_fold_and_two_bytes_per_step_equal_the_byte_loop(data: bytes) -> None:
    assert hj212_crc16(data) == _crc_bytewise(data)
    assert _crc_pairs(data) == _crc_bytewise(data)


@given(st.binary(min_size=1, max_size=64), st.integers(0, 1100))
def test_the_fold_on_repetitive_segments(unit: bytes, size: int) -> None:
    """Real segments repeat their text (``-Rtd=…,-Flag=N;``): repeats at every distance mod 8
    are where a wrong lane table would cancel out or double up."""
    data = (unit * (size // len(unit) + 1))[:size]
    assert hj212_crc16(data) == _crc_bytewise(data)


def test_every_short_length_and_odd_offsets() -> None:
    data = bytes(range(256)) * 5
    for n in range(len(data)):
        assert hj212_crc16(data[:n]) == _crc_bytewise(data[:n])
        assert hj212_crc16(data[n:]) == _crc_bytewise(data[n:])
        assert _crc_pairs(data[n:]) == _crc_bytewise(data[n:])


def test_bodies_past_the_fold_masks_still_check() -> None:
    """Longer than any segment (§6.3.1: ≤ 1,024 bytes) takes the table loop: same register."""
    data = bytes(range(251)) * 160  # 40,160 bytes
    assert hj212_crc16(data) == _crc_bytewise(data)
