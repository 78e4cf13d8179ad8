"""What the gateway answers to a frame: one pure decision, shared by the socket front
(:mod:`ecobasin.gateway.front`) and ``ecobasin hj212 decode`` so both say the same.

Given a frame whose framing and CRC passed (HJ 212-2017 §6.3.1, Appendix A), its head
(表3: ST, CN, PW, MN, Flag), the registry entry of its MN, its DataTime and the plausible
DataTime window, the decision is one of:

- refuse (``unknown_device``, ``device_disabled``, ``wrong_password``): silence, kept aside;
- ``malformed``: a head field is missing or wrong (表3): silence, kept aside with the problems;
- ``implausible_datatime``: logged and marked refused, silence (docs/gateway.md, "DataTime
  window"; §6.5 acks only what the platform takes);
- accept: logged, then the 9014 / 9013 reply once durable (§6.5; None when the frame asks for
  none).

No clock, socket or file: the receive time is an argument.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from ecobasin.gateway.datatime import CST, DataTimeWindow, implausible_reason
from ecobasin.ingest.hj212.codec import Message, reply_for
from ecobasin.ingest.hj212.crc import hj212_crc16

__all__ = [
    "SLOW",
    "Decision",
    "FastDecider",
    "HashedPassword",
    "RegisteredDevice",
    "Slow",
    "decide",
    "password_matches",
]


class HashedPassword(Protocol):
    """A device's PW kept only as a hash (the broker's device bucket,
    :class:`ecobasin.gateway.broker.PasswordHash`): it can tell whether a PW is the one."""

    def matches(self, received: str) -> bool: ...


class RegisteredDevice(Protocol):
    """What the decision needs of a registry entry (表3 PW, in clear or hashed; enabled)."""

    @property
    def password(self) -> str | HashedPassword: ...

    @property
    def enabled(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one frame.

    Attributes
    ----------
    code : str
        ``accept``, a refusal code (``unknown_device``, ``device_disabled``,
        ``wrong_password``), ``malformed`` or ``implausible_datatime``.
    reason : str
        Why, naming the device and the peer ("" when accepted, and for ``malformed``: the
        caller names the head's problems).
    reply : bytes or None
        The frame to answer once the record is durable (None: silence).
    """

    code: str
    reason: str = ""
    reply: bytes | None = None

    @property
    def logged(self) -> bool:
        """Whether the frame goes to the raw log (accepted, or marked implausible)."""
        return self.code in ("accept", "implausible_datatime")


def password_matches(received: str | None, stored: str | HashedPassword) -> bool:
    """Whether the PW of a frame (HJ 212-2017 表3, None: the head has none) is the device's:
    compared in constant time with a PW in clear (the local registry), or hashed and compared
    by ``stored.matches`` (a hash of the broker's bucket), so the time of a refusal tells a
    guesser nothing about how much of the PW was right."""
    if received is None:
        return False
    if isinstance(stored, str):
        return hmac.compare_digest(received.encode("utf-8"), stored.encode("utf-8"))
    return stored.matches(received)


def _refusal(head: Message, device: RegisteredDevice | None, peer: str) -> Decision | None:
    if device is None:
        return Decision("unknown_device", f"device MN={head.mn} from {peer} is not registered")
    if not device.enabled:
        return Decision("device_disabled", f"device MN={head.mn} from {peer} is disabled")
    if not password_matches(head.head.get("PW"), device.password):
        return Decision("wrong_password", f"device MN={head.mn} from {peer}: wrong password PW")
    return None


def decide(
    head: Message,
    device: RegisteredDevice | None,
    data_time: bytes | str | None,
    received_at: datetime,
    window: DataTimeWindow,
    *,
    peer: str = "",
    check_device: bool = True,
) -> Decision:
    """The gateway's answer to one frame whose framing and CRC passed.

    Parameters
    ----------
    head : Message
        The frame's head fields (:func:`~ecobasin.ingest.hj212.codec.read_head`).
    device : RegisteredDevice or None
        The registry entry of ``head.mn`` (None: not registered).
    data_time : bytes or str or None
        DataTime as sent (表4 N14), None when the frame has none.
    received_at : datetime
        When the frame arrived (aware).
    window : DataTimeWindow
        The plausible DataTimes around ``received_at``.
    peer : str
        The device's address, named in refusals.
    check_device : bool
        False when no registry is at hand (``hj212 decode``): the device is not checked.
    """
    if check_device:
        refused = _refusal(head, device, peer)
        if refused is not None:
            return refused
    if not head.head_ok:
        return Decision("malformed")
    implausible = implausible_reason(data_time, received_at, window)
    if implausible is not None:
        return Decision("implausible_datatime", implausible)
    return Decision("accept", reply=reply_for(head))


class Slow:
    """The type of :data:`SLOW`."""

    def __repr__(self) -> str:
        return "SLOW"


#: :meth:`FastDecider.reply` cannot decide this frame: call :func:`decide`.
SLOW: Final = Slow()
_DATATIME = re.compile(rb"DataTime=([^;,&]*)")
#: Head shapes remembered at most (cleared when full; a reload of the registry clears it too).
FAST_HEADS_MAX = 100_000


def _digits14(moment: datetime) -> bytes:
    """``YYYYMMDDhhmmss`` of a naive time, always 4 year digits (so bytes compare as times)."""
    return b"%04d%02d%02d%02d%02d%02d" % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
    )  # fmt: skip


class FastDecider:
    """:func:`decide` for the usual accepted frame, on the segment bytes, without a
    :class:`Message`: the front's hot path (issue 12, Speed).

    The decision depends on the head fields (表3) and on DataTime (表4). A device sends the
    same head from packet to packet except QN (17 digits, unique per packet, §6.3.2), so the
    head after QN — ``;ST=..;CN=..;PW=..;MN=..;Flag=..`` — is the key of a cache filled by
    :meth:`learn` from the full decision of its first frame; the 9014 / 9013 reply is then
    ``QN=`` + QN + the remembered rest (§6.5, 表C.14), with its CRC (Appendix A). A packet
    without QN (HJ/T 212-2005 uploads often have none) has the same head every time: the whole
    head is the key and the reply is remembered whole. DataTime is
    compared as 14 digits with the window's ends. Anything else — another shape, a
    non-ASCII byte, a DataTime near or outside the window, a head not seen accepted — is
    :data:`SLOW`, and :func:`decide` answers (so both always say the same; tests compare them).

    Parameters
    ----------
    window : DataTimeWindow
        The plausible DataTimes.
    """

    def __init__(self, window: DataTimeWindow) -> None:
        self.window = window
        #: head after QN → the reply's data segment after ``QN=<qn>`` (None: accepted, silent)
        self.heads: dict[bytes, bytes | None] = {}
        #: whole head of a packet without QN → its reply frame (None: accepted, silent)
        self.whole: dict[bytes, bytes | None] = {}
        earliest = window.earliest
        if earliest.microsecond:  # a whole-second DataTime is before it up to the next second
            earliest = earliest.replace(microsecond=0) + timedelta(seconds=1)
        self._earliest = _digits14(earliest)
        self._second = -1
        self._latest = b""

    def clear(self) -> None:
        """Forget every head (the device registry changed)."""
        self.heads.clear()
        self.whole.clear()

    def reply(self, segment: bytes, micros: int) -> bytes | Slow | None:
        """The reply frame (None: accepted without reply) or :data:`SLOW`.

        Parameters
        ----------
        segment : bytes
            The data segment of a frame whose framing and CRC passed.
        micros : int
            [µs since 1970, UTC] When it arrived.
        """
        key = self._head_key(segment)
        if key is None:
            return SLOW
        head, cp, with_qn = key
        suffix = (self.heads if with_qn else self.whole).get(head, SLOW)
        if suffix is SLOW or not self._plausible(segment, cp, micros):
            return SLOW
        if suffix is None or not with_qn:
            return suffix
        assert isinstance(suffix, bytes)
        data = b"QN=" + segment[3:20] + suffix
        return b"##%04d%s%04X\r\n" % (len(data), data, hj212_crc16(data))

    def learn(self, segment: bytes, decision: Decision) -> None:
        """Remember the head of a frame :func:`decide` accepted (its reply's rest after QN)."""
        key = self._head_key(segment)
        if key is None or decision.code != "accept":
            return
        if len(self.heads) + len(self.whole) >= FAST_HEADS_MAX:
            self.clear()
        if not key[2]:
            self.whole[key[0]] = decision.reply
            return
        suffix = None
        if decision.reply is not None:
            data = decision.reply[6:-6]
            if not data.startswith(b"QN=" + segment[3:20] + b";"):
                return
            suffix = data[20:]
        self.heads[key[0]] = suffix

    @staticmethod
    def _head_key(segment: bytes) -> tuple[bytes, int, bool] | None:
        """(the key, the offset of ``CP=&&``, whether it has QN) of a segment of the usual
        shape, else None. The shape: ASCII, the first ``CP=&&`` after a ``;`` and the segment
        ending in ``&&`` after it (exactly where :func:`read_head` finds them); then either
        ``QN=`` + 17 digits first (key: the head after QN) or no ``QN=`` in the head at all
        (key: the whole head)."""
        if not segment.isascii():
            return None
        cp = segment.find(b"CP=&&")
        if (
            cp < 1
            or segment[cp - 1] != 0x3B
            or not segment.endswith(b"&&")
            or (len(segment) < cp + 7)
        ):
            return None
        if not segment.startswith(b"QN="):
            head = segment[:cp]
            return None if b"QN=" in head else (head, cp, False)
        if cp < 21 or segment[20] != 0x3B or not segment[3:20].isdigit():
            return None
        return segment[20:cp], cp, True

    def _plausible(self, segment: bytes, cp: int, micros: int) -> bool:
        """Whether DataTime (as :func:`~ecobasin.gateway.datatime.data_time_of` finds it) is
        surely inside the window; False also when it is near an end (then decide exactly)."""
        found = _DATATIME.search(segment, cp)
        if found is None:
            return True
        digits = found.group(1)
        if len(digits) == 17:
            digits = digits[:14]
        if len(digits) != 14 or not digits.isdigit():
            return True  # not a time: the writer rejects it as bad_time, as decide() says
        second = micros // 1_000_000
        if second != self._second:  # the latest end from the start of this second: never late
            received = datetime.fromtimestamp(second, UTC).astimezone(CST)
            self._latest = _digits14(received.replace(tzinfo=None) + self.window.ahead)
            self._second = second
        return self._earliest <= digits <= self._latest
