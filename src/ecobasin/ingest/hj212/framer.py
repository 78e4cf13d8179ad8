"""Length-driven incremental stream framer for HJ 212 over TCP (HJ 212-2017 §6.3.1, 表2).

A TCP read may hold several packets or part of one, so frames are cut by the 4-digit length field,
never by lines. Pure: no I/O, bounded memory (at most one maximal frame plus one read).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecobasin.ingest.hj212.crc import CrcMode, crc_hex
from ecobasin.ingest.hj212.errors import (
    BadCrcField,
    BadTerminator,
    CrcMismatch,
    FrameError,
    GarbageSkipped,
    OversizedFrame,
    TruncatedFrame,
)

__all__ = ["HEADER", "MAX_SEGMENT", "TERMINATOR", "Frame", "Framer"]

HEADER = b"##"
TERMINATOR = b"\r\n"
#: Largest data segment (§6.3.1 表2: 0 ≤ n ≤ 1024).
MAX_SEGMENT = 1024
_HEX = frozenset(b"0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class Frame:
    """One well-framed packet whose CRC checked out.

    Attributes
    ----------
    segment : bytes
        The data segment (§6.3.2), still bytes: decode with :func:`~ecobasin.ingest.hj212.codec.parse_segment`.
    crc : str
        The CRC as carried (either case).
    raw : bytes
        The whole frame, ``##`` to CR LF, for the raw log.
    """

    segment: bytes
    crc: str
    raw: bytes


def check_crc(segment: bytes, crc_field: bytes, raw: bytes, mode: CrcMode) -> str:
    """Check a CRC field against the data segment (Appendix A; lower-case hex accepted).

    Parameters
    ----------
    segment : bytes
        The data segment.
    crc_field : bytes
        The 4 bytes after it.
    raw : bytes
        The whole frame, attached to any error.
    mode : CrcMode
        The device's CRC mode (``hj212`` unless the device is configured otherwise).

    Returns
    -------
    str
        The CRC field as text.

    Raises
    ------
    BadCrcField
        When the field is not 4 hex digits.
    CrcMismatch
        When it differs from the computed CRC.
    """
    if len(crc_field) != 4 or not all(b in _HEX for b in crc_field):
        raise BadCrcField(f"CRC field {crc_field!r} is not 4 hex digits", raw)
    carried = crc_field.decode("ascii")
    expected = crc_hex(segment, mode)
    if carried.upper() != expected:
        raise CrcMismatch(f"CRC {carried} does not match {expected} ({mode.value})", raw)
    return carried


class Framer:
    """Incremental framer: feed it bytes as they arrive, get frames and typed errors back.

    Follows the hj212 brief §2.1: find ``##`` (discarding what precedes it), read 4 digits of
    length, reject lengths over 1024 at once, wait for ``6 + L + 4 + 2`` bytes, require CR LF
    at the end, check the CRC (HJ 212-2017 Appendix A). On any error it resynchronises on the
    next ``##`` after the current one, so a good packet already in the buffer is not lost.

    Parameters
    ----------
    crc_mode : CrcMode
        The device's CRC mode; ``hj212`` (Appendix A) by default.
    """

    def __init__(self, crc_mode: CrcMode = CrcMode.HJ212) -> None:
        self.crc_mode = crc_mode
        self._buf = bytearray()
        self._skipped = 0

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Add received bytes; return the frames and errors completed by them, in stream order.

        Parameters
        ----------
        data : bytes
            The next bytes of the stream (any size, any split).

        Returns
        -------
        list of Frame or FrameError
            Errors are returned, never raised.
        """
        self._buf += data
        out: list[Frame | FrameError] = []
        buf = self._buf
        while True:
            start = buf.find(HEADER)
            if start < 0:
                keep = 1 if buf.endswith(b"#") else 0
                self._skip(len(buf) - keep)
                del buf[: len(buf) - keep]
                break
            if start:
                self._skip(start)
                del buf[:start]
            if len(buf) < 6:
                break
            digits = bytes(buf[2:6])
            if not digits.isdigit():
                self._skip(1)
                del buf[:1]
                continue
            if (skipped := self._take_skipped()) is not None:
                out.append(skipped)
            length = int(digits)
            if length > MAX_SEGMENT:
                out.append(
                    OversizedFrame(
                        f"data segment length {length} exceeds {MAX_SEGMENT}", bytes(buf[:6])
                    )
                )
                del buf[:2]
                continue
            total = 6 + length + 6
            if len(buf) < total:
                break
            raw = bytes(buf[:total])
            if raw[-2:] != TERMINATOR:
                out.append(
                    BadTerminator(
                        f"no CR LF after the {length}-byte data segment and CRC "
                        "(wrong length or truncated packet)",
                        raw,
                    )
                )
                del buf[:2]
                continue
            del buf[:total]
            segment = raw[6 : 6 + length]
            try:
                crc = check_crc(segment, raw[6 + length : 6 + length + 4], raw, self.crc_mode)
            except FrameError as exc:
                out.append(exc)
                continue
            out.append(Frame(segment=segment, crc=crc, raw=raw))
        if (skipped := self._take_skipped()) is not None:
            out.append(skipped)
        return out

    def close(self) -> list[FrameError]:
        """End of stream (or idle timeout): report what is left in the buffer and clear it.

        Returns
        -------
        list of FrameError
            A :class:`TruncatedFrame` for a partial packet, :class:`GarbageSkipped` for anything else.
        """
        out: list[FrameError] = []
        if self._buf.startswith(HEADER):
            out.append(
                TruncatedFrame(
                    f"stream ended inside a frame ({len(self._buf)} bytes)", bytes(self._buf)
                )
            )
        elif self._buf:
            self._skip(len(self._buf))
        self._buf.clear()
        if (skipped := self._take_skipped()) is not None:
            out.append(skipped)
        return out

    def _skip(self, n: int) -> None:
        self._skipped += n

    def _take_skipped(self) -> GarbageSkipped | None:
        if not self._skipped:
            return None
        error = GarbageSkipped(f"skipped {self._skipped} bytes before a '##' header")
        self._skipped = 0
        return error
