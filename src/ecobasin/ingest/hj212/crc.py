"""The HJ 212 CRC (HJ 212-2017 Appendix A) and, for misconfigured loggers, CRC-16/MODBUS.

Appendix A is *not* CRC-16/MODBUS: each step XORs the byte into the register's **high** byte
shifted down and drops the low byte, so the result is effectively an 8-bit check.
"""

from __future__ import annotations

import functools
import sys
from enum import StrEnum

__all__ = ["CrcMode", "crc_hex", "hj212_crc16", "modbus_crc16"]


def _table_hj212() -> tuple[int, ...]:
    out = []
    for value in range(256):
        reg = value
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        out.append(reg)
    return tuple(out)


#: After ``reg = (reg >> 8) ^ byte`` the register is < 256, so the 8 shifts depend on it alone.
_HJ212 = _table_hj212()


@functools.cache
def _table_pairs() -> tuple[int, ...]:
    """Two bytes per step: the register's high byte (the only state Appendix A carries from
    byte to byte) after bytes ``b0, b1`` from high byte ``h`` is ``PAIRS[(h ^ b0) | b1 << 8]``:
    the index is the little-endian 16-bit word of the two bytes XOR ``h``."""
    high = [reg >> 8 for reg in _HJ212]
    return tuple(high[high[word & 0xFF] ^ (word >> 8)] for word in range(65536))


_LITTLE_ENDIAN = sys.byteorder == "little"


def _powers() -> list[list[int]]:
    """``L^j`` for j = 0..7 as byte tables, ``L(h) = HJ212[h] >> 8`` being Appendix A's step on
    the high byte (``h' = L(h ^ byte)``). ``L`` is linear over GF(2) and ``L^8`` is the
    identity (checked here), which :func:`hj212_crc16` relies on."""
    step = [reg >> 8 for reg in _HJ212]
    powers = [list(range(256))]
    for _ in range(7):
        powers.append([step[x] for x in powers[-1]])
    if [step[x] for x in powers[-1]] != powers[0]:  # pragma: no cover (a wrong table)
        raise AssertionError("Appendix A's byte step is not of order 8")
    return powers


_POWERS = _powers()
#: ``_LANES[r * 256 + x] = L^(r + 1)(x)``: the effect on the final high byte of byte ``x``
#: standing ``r`` (mod 8) places before the last byte of the body.
_LANES = tuple(_POWERS[(r + 1) % 8][x] for r in range(8) for x in range(256))
#: ``L^(n mod 8)(0xFF)``: the initial register's high byte carried over ``n`` bytes.
_START = tuple(_POWERS[n][0xFF] for n in range(8))
#: ``_HALVES[k]``: the mask of the lower half of a ``64 · 2^(k+1)``-bit word (folds bodies up
#: to 32 KiB; a segment has at most 1,024 bytes, §6.3.1 表2).
_HALVES = tuple((1 << (64 << k)) - 1 for k in range(12))


def _crc_bytewise(data: bytes) -> int:
    """Appendix A byte by byte, as the standard writes it (the reference of the tests)."""
    reg = 0xFFFF
    for byte in data:
        reg = _HJ212[(reg >> 8) ^ byte]
    return reg


def _crc_pairs(data: bytes) -> int:
    """Appendix A two bytes per table lookup (a Python loop over 16-bit words): the CRC of the
    gateway until issue 12's ninth pass, kept as the named baseline of
    ``bench/gateway_bench.py --front-cpu`` and of the tests."""
    if len(data) < 3 or not _LITTLE_ENDIAN:  # the words below are read little-endian
        return _crc_bytewise(data)
    body = len(data) - 1
    pairs = body // 2 * 2
    high = 0xFF
    table = _table_pairs()
    for word in memoryview(data)[:pairs].cast("H"):
        high = table[word ^ high]
    if body > pairs:
        high = _HJ212[high ^ data[pairs]] >> 8
    return _HJ212[high ^ data[-1]]


def hj212_crc16(data: bytes) -> int:
    """CRC of an HJ 212 data segment, exactly as HJ 212-2017 Appendix A defines it.

    Why it has no loop over the bytes: Appendix A carries only the register's high byte ``h``
    from byte to byte, ``h' = L(h ^ byte)`` with ``L`` linear over GF(2) and ``L^8 = 1``.
    So after the body (all bytes but the last) ``h = L^n(0xFF) ^ XOR of L^(d+1)(byte)``, ``d``
    the byte's distance from the body's end taken mod 8. The bytes at equal ``d mod 8`` are
    XORed together in C by folding the body, read as one big-endian integer, down to 64 bits
    (≈ log2(n / 8) shifts and XORs); eight table lookups then give ``h``, and the last byte
    the full 16-bit register. Same result as the byte loop for every input (property test in
    ``tests/ingest/test_hj212_crc.py``), 4–8× faster on a 400-byte segment (issue 12, ninth
    pass).

    Parameters
    ----------
    data : bytes
        The data segment only (no ``##``, length, CRC or CR LF; §6.3.1 表2).

    Returns
    -------
    int
        The 16-bit register; print it as ``"%04X"`` (high byte first, Appendix A).

    Examples
    --------
    >>> "%04X" % hj212_crc16(b"123456789")
    '2F80'
    """
    body = len(data) - 1
    if body < 1:
        return _crc_bytewise(data)
    folded = int.from_bytes(data[:body], "big")  # the last body byte is the lowest: d = 0
    halvings = (((body + 7) >> 3) - 1).bit_length()  # 64-bit words, rounded up to 2^k
    if halvings > len(_HALVES):  # longer than any segment: no masks made for it
        return _crc_pairs(data)
    while halvings:
        halvings -= 1
        folded = (folded >> (64 << halvings)) ^ (folded & _HALVES[halvings])
    lane = folded.to_bytes(8, "little")  # lane r: XOR of the bytes with d ≡ r (mod 8)
    lanes = _LANES
    high = (
        _START[body & 7]
        ^ lanes[lane[0]]
        ^ lanes[256 + lane[1]]
        ^ lanes[512 + lane[2]]
        ^ lanes[768 + lane[3]]
        ^ lanes[1024 + lane[4]]
        ^ lanes[1280 + lane[5]]
        ^ lanes[1536 + lane[6]]
        ^ lanes[1792 + lane[7]]
    )
    return _HJ212[high ^ data[body]]


def modbus_crc16(data: bytes) -> int:
    """CRC-16/MODBUS (init 0xFFFF, reflected poly 0xA001), sent by some non-compliant loggers.

    Parameters
    ----------
    data : bytes
        The data segment.

    Returns
    -------
    int
        The 16-bit CRC.
    """
    reg = 0xFFFF
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg


class CrcMode(StrEnum):
    """Which CRC a device sends (hj212 brief §3.3); only ``HJ212`` is standard (Appendix A)."""

    HJ212 = "hj212"
    MODBUS = "modbus"
    MODBUS_SWAPPED = "modbus_swapped"


def crc_hex(data: bytes, mode: CrcMode = CrcMode.HJ212) -> str:
    """The 4-digit upper-case hex CRC of ``data`` under ``mode`` (Appendix A by default).

    Parameters
    ----------
    data : bytes
        The data segment.
    mode : CrcMode
        The device's CRC mode.

    Returns
    -------
    str
        Four upper-case hex digits, high byte first.
    """
    if mode is CrcMode.HJ212:
        return f"{hj212_crc16(data):04X}"
    value = modbus_crc16(data)
    if mode is CrcMode.MODBUS_SWAPPED:
        value = ((value & 0xFF) << 8) | (value >> 8)
    return f"{value:04X}"
