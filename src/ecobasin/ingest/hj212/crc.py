"""The HJ 212 CRC (HJ 212-2017 Appendix A) and, for misconfigured loggers, CRC-16/MODBUS.

Appendix A is *not* CRC-16/MODBUS: each step XORs the byte into the register's **high** byte
shifted down and drops the low byte, so the result is effectively an 8-bit check.
"""

from __future__ import annotations

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


def _table_pairs() -> tuple[int, ...]:
    """Two bytes per step: the register's high byte (the only state Appendix A carries from
    byte to byte) after bytes ``b0, b1`` from high byte ``h`` is ``PAIRS[(h ^ b0) | b1 << 8]``:
    the index is the little-endian 16-bit word of the two bytes XOR ``h``."""
    high = [reg >> 8 for reg in _HJ212]
    return tuple(high[high[word & 0xFF] ^ (word >> 8)] for word in range(65536))


_PAIRS = _table_pairs()
_LITTLE_ENDIAN = sys.byteorder == "little"


def _crc_bytewise(data: bytes) -> int:
    """Appendix A byte by byte, as the standard writes it (the reference of the tests)."""
    reg = 0xFFFF
    for byte in data:
        reg = _HJ212[(reg >> 8) ^ byte]
    return reg


def hj212_crc16(data: bytes) -> int:
    """CRC of an HJ 212 data segment, exactly as HJ 212-2017 Appendix A defines it.

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
    if len(data) < 3 or not _LITTLE_ENDIAN:  # the words below are read little-endian
        return _crc_bytewise(data)
    # All but the last byte only move the 8-bit state (the high byte), two bytes per lookup
    # (a C loop over 16-bit words: about half the Python steps of the byte loop); the last
    # byte gives the full 16-bit register.
    body = len(data) - 1
    pairs = body // 2 * 2
    high = 0xFF
    table = _PAIRS
    for word in memoryview(data)[:pairs].cast("H"):
        high = table[word ^ high]
    if body > pairs:
        high = _HJ212[high ^ data[pairs]] >> 8
    return _HJ212[high ^ data[-1]]


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
