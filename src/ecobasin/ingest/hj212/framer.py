"""Length-driven incremental stream framer for HJ 212 over TCP (HJ 212-2017 §6.3.1, 表2).

A TCP read may hold several packets or part of one, so frames are cut by the 4-digit length field,
never by lines. Pure: no I/O, bounded memory (at most one maximal frame plus one read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecobasin.ingest.hj212.crc import CrcMode, crc_hex, hj212_crc16
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
#: A packet start: ``##`` and 4 length digits (表2). Searched by the regex engine, so resync
#: over garbage, ``####…`` or ``##12ab…`` costs a scan in C, linear in the input.
_START = re.compile(rb"##(\d{4})")
#: The tail of a buffer that may still become a packet start (``#``, ``##``, ``##1``, …).
_PARTIAL_START = re.compile(rb"#(?:#\d{0,3})?\Z")


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

    def feed(self, data: bytes, max_errors: int | None = None) -> list[Frame | FrameError]:
        """Add received bytes; return the frames and errors completed by them, in stream order.

        Parameters
        ----------
        data : bytes
            The next bytes of the stream (any size, any split).
        max_errors : int, optional
            Stop once this many errors are found (the rest stays buffered): a caller with an
            error budget does not pay for a hostile stream past it.

        Returns
        -------
        list of Frame or FrameError
            Errors are returned, never raised.
        """
        whole = self._whole_frame(data)  # the usual read: one whole frame, no more
        if whole is not None:
            return [whole]
        return self._feed_buffered(data, max_errors)

    def whole_segment(self, data: bytes) -> bytes | None:
        """The data segment of ``data`` when :meth:`feed` would return exactly one frame for
        it through the one-read path (:meth:`_whole_frame`): nothing buffered, ``data`` one
        well-framed packet with the right Appendix A CRC in upper case (§6.3.1 表2). The
        frame is then ``data`` itself and its CRC ``data[-6:-2]``; nothing is buffered. None
        for anything else: call :meth:`feed`, which frames it and names its errors.

        Why: the gateway's front handles a device's usual upload without a :class:`Frame`
        and a list per read (issue 12, tenth pass)."""
        if self._buf or type(data) is not bytes:
            return None
        digits = data[2:6]
        if data[:2] != HEADER or not digits.isdigit():  # bytes.isdigit: ASCII digits only
            return None
        length = int(digits)
        if length > MAX_SEGMENT or len(data) != length + 12 or data[-2:] != TERMINATOR:
            return None
        segment = data[6 : 6 + length]
        if self.crc_mode is not CrcMode.HJ212 or data[6 + length : 10 + length] != b"%04X" % (
            hj212_crc16(segment)
        ):
            return None
        return segment

    def _whole_frame(self, data: bytes) -> Frame | None:
        """``data`` as one frame when it is exactly one well-framed packet with the right
        Appendix A CRC in upper case (§6.3.1 表2): a device's upload arrives in one read, and
        then no buffer is copied and no pattern searched. None for anything else, which
        :meth:`_feed_buffered` then frames (and names the errors of)."""
        segment = self.whole_segment(data)
        if segment is None:
            return None
        return Frame(segment=segment, crc=data[-6:-2].decode("ascii"), raw=data)

    def _feed_buffered(self, data: bytes, max_errors: int | None) -> list[Frame | FrameError]:
        """:meth:`feed` through the buffer: any split, several frames, errors and resync."""
        self._buf += data
        out: list[Frame | FrameError] = []
        errors = 0
        buf = self._buf
        while max_errors is None or errors < max_errors:
            start = _START.search(buf)
            if start is None:
                partial = _PARTIAL_START.search(buf, max(0, len(buf) - 5))
                keep = len(buf) - partial.start() if partial is not None else 0
                self._skip(len(buf) - keep)
                del buf[: len(buf) - keep]
                break
            length = int(start.group(1))  # read before the buffer moves under the match
            if start.start():
                self._skip(start.start())
                del buf[: start.start()]
            if (skipped := self._take_skipped()) is not None:
                out.append(skipped)
                errors += 1
            if length > MAX_SEGMENT:
                out.append(
                    OversizedFrame(
                        f"data segment length {length} exceeds {MAX_SEGMENT}", bytes(buf[:6])
                    )
                )
                errors += 1
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
                errors += 1
                del buf[:2]
                continue
            del buf[:total]
            segment = raw[6 : 6 + length]
            crc_field = raw[6 + length : 6 + length + 4]
            if self.crc_mode is CrcMode.HJ212 and crc_field == b"%04X" % hj212_crc16(segment):
                crc = crc_field.decode("ascii")  # the usual frame: one compare of bytes
            else:  # lower case, another mode, or wrong: check_crc says which
                try:
                    crc = check_crc(segment, crc_field, raw, self.crc_mode)
                except FrameError as exc:
                    out.append(exc)
                    errors += 1
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
