"""Typed errors: one class per way an HJ 212 frame can be wrong.

Every class derives from :class:`FrameError` and carries a human ``reason``. The framing classes
(HJ 212-2017 §6.3.1, 表2) make the gateway stay silent; the field and value classes (§6.3.2 表3,
§6.3.3) describe a well-framed packet whose content is not acceptable.
"""

from __future__ import annotations

__all__ = [
    "BadCrcField",
    "BadEncoding",
    "BadHeader",
    "BadLengthField",
    "BadTerminator",
    "CrcMismatch",
    "DuplicateField",
    "FrameError",
    "GarbageSkipped",
    "InvalidField",
    "InvalidValue",
    "LengthMismatch",
    "MalformedItem",
    "MalformedSegment",
    "MissingField",
    "OversizedFrame",
    "TruncatedFrame",
    "UnknownField",
]


class FrameError(ValueError):
    """Base class of every HJ 212 frame error.

    Parameters
    ----------
    reason : str
        What is wrong, naming the field or item where there is one.
    raw : bytes, optional
        The offending bytes (the whole frame where known), for the rejected-record log.

    Attributes
    ----------
    framing : bool
        True for errors of the frame itself (HJ 212-2017 §6.3.1): the receiver stays silent.
    """

    framing: bool = True

    def __init__(self, reason: str, raw: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


class GarbageSkipped(FrameError):
    """Bytes before a ``##`` header were discarded while resynchronising (§6.3.1, 表2)."""


class BadHeader(FrameError):
    """The packet does not start with the ``##`` header (§6.3.1, 表2)."""


class BadLengthField(FrameError):
    """The data-segment length is not 4 decimal digits (§6.3.1, 表2)."""


class OversizedFrame(FrameError):
    """The declared data segment is longer than 1024 bytes (§6.3.1, 表2)."""


class LengthMismatch(FrameError):
    """The declared length differs from the data segment's byte count (§6.3.1, §6.3)."""


class BadTerminator(FrameError):
    """CR LF is not where the declared length puts it (§6.3.1, 表2)."""


class TruncatedFrame(FrameError):
    """The input ended before the frame the length field announced was complete (§6.3.1)."""


class BadCrcField(FrameError):
    """The CRC field is not 4 hexadecimal digits (§6.3.1, Appendix A)."""


class CrcMismatch(FrameError):
    """The CRC carried differs from the Appendix A CRC of the data segment."""


class BadEncoding(FrameError):
    """The data segment is not valid UTF-8 (§6.3 character set)."""


class MalformedSegment(FrameError):
    """The data segment's structure is wrong: head item without ``=``, no ``CP=&&…&&`` (§6.3.2)."""

    framing = False


class MissingField(FrameError):
    """A required head field (ST, CN, PW, MN; PNUM/PNO when Flag.D = 1) is absent (表3)."""

    framing = False


class UnknownField(FrameError):
    """A head field that 表3 does not define (HJ 212-2017 §6.3.2)."""

    framing = False


class DuplicateField(FrameError):
    """A head field or CP item appears twice (§6.3.2, §6.3.3)."""

    framing = False


class InvalidField(FrameError):
    """A head field value breaks its 表3 format (QN 17 digits, ST 2 chars, CN 4 digits, …)."""

    framing = False


class MalformedItem(FrameError):
    """A CP item is not ``key=value`` (§6.3.3)."""

    framing = False


class InvalidValue(FrameError):
    """A CP value breaks its data type, e.g. ``3O.5`` for a number (§6.3.3.2, 表4)."""

    framing = False
