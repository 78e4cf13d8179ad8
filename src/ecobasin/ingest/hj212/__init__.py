"""HJ 212-2017 (and HJ/T 212-2005) codec: framing, Appendix A CRC, parsing, encoding, replies.

Pure, no I/O. The gateway feeds socket bytes to :class:`Framer`, parses each :class:`Frame` with
:func:`parse_frame` (or :func:`read_segment` to keep going past bad values), and sends
:func:`reply_for` (9014 / 9013) after the raw log append.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecobasin.ingest.hj212.codec import (
    ACK_UPLOADS,
    CpItem,
    Inspection,
    Message,
    build_segment,
    encode_frame,
    encode_message,
    inspect_packet,
    parse_frame,
    parse_segment,
    read_segment,
    reply_for,
)
from ecobasin.ingest.hj212.crc import CrcMode, crc_hex, hj212_crc16, modbus_crc16
from ecobasin.ingest.hj212.errors import (
    BadCrcField,
    BadEncoding,
    BadHeader,
    BadLengthField,
    BadTerminator,
    CrcMismatch,
    DuplicateField,
    FrameError,
    GarbageSkipped,
    InvalidField,
    InvalidValue,
    LengthMismatch,
    MalformedItem,
    MalformedSegment,
    MissingField,
    OversizedFrame,
    TruncatedFrame,
    UnknownField,
)
from ecobasin.ingest.hj212.framer import MAX_SEGMENT, Frame, Framer

__all__ = [
    "ACK_UPLOADS",
    "MAX_SEGMENT",
    "BadCrcField",
    "BadEncoding",
    "BadHeader",
    "BadLengthField",
    "BadTerminator",
    "CpItem",
    "CrcMismatch",
    "CrcMode",
    "DuplicateField",
    "Frame",
    "FrameError",
    "Framer",
    "GarbageSkipped",
    "Inspection",
    "InvalidField",
    "InvalidValue",
    "LengthMismatch",
    "MalformedItem",
    "MalformedSegment",
    "Message",
    "MissingField",
    "OversizedFrame",
    "TruncatedFrame",
    "UnknownField",
    "build_segment",
    "crc_hex",
    "encode_frame",
    "encode_message",
    "hj212_crc16",
    "inspect_packet",
    "message_observations",
    "modbus_crc16",
    "parse_frame",
    "parse_segment",
    "read_segment",
    "reply_for",
]

if TYPE_CHECKING:
    from ecobasin.ingest.hj212.observations import message_observations


def __getattr__(name: str) -> Any:
    # imported on first use: the codec itself needs no pandas (the gateway's front process)
    if name == "message_observations":
        from ecobasin.ingest.hj212.observations import message_observations

        return message_observations
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
