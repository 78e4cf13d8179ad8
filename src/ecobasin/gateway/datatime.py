"""Is a frame's DataTime plausible? Checked by the front before the ack and by the writer.

HJ 212-2017 表4: ``DataTime`` is N14 ``YYYYMMDDhhmmss``, in practice Beijing time (UTC+8, the
device clock set by 1012, §6.7). A device whose clock is wrong (``00010101000000`` after a
battery reset, or ``99991231230000``) sends instants that are not observations of now and that
overflow when converted to UTC or when the period length is added. Such a frame gets no reply
(HJ 212-2017 §6.5: an upload's only reply, 9014, has no refusal code, so silence is the
refusal: the device keeps the data and resends it) and is kept aside as
``implausible_datatime``. No pandas here: the front imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["CST", "DataTimeWindow", "TextWindow", "data_time_of", "implausible_reason"]

#: China Standard Time, the devices' clock (hj212 brief §4.2).
CST = timezone(timedelta(hours=8))
_KEY = b"DataTime="


@dataclass(frozen=True)
class DataTimeWindow:
    """The plausible DataTimes around the gateway's clock.

    Attributes
    ----------
    earliest : datetime
        No DataTime before this (naive: China Standard Time) [default 2000-01-01 00:00].
    ahead : timedelta
        No DataTime later than the receive time plus this [default 1 day].
    """

    earliest: datetime = datetime(2000, 1, 1)
    ahead: timedelta = timedelta(days=1)


def data_time_of(segment: bytes) -> bytes | None:
    """The DataTime value of a data segment (the CP area's ``DataTime=`` field), as sent."""
    cp = segment.find(b"CP=&&")
    at = segment.find(_KEY, max(cp, 0))
    if at < 0:
        return None
    start = at + len(_KEY)
    end = start
    while end < len(segment) and segment[end] not in b";,&":
        end += 1
    return segment[start:end]


def implausible_reason(
    data_time: bytes | str | None, received_at: datetime, window: DataTimeWindow
) -> str | None:
    """Why a DataTime is outside the window (None: plausible, absent or not a readable time).

    A DataTime that is not 14 (or 17) digits or not a calendar instant is left to the decoder,
    which rejects it as ``bad_time`` after the ack, as before.

    Parameters
    ----------
    data_time : bytes or str or None
        DataTime as sent (表4 N14; 17 digits: milliseconds, truncated).
    received_at : datetime
        When the frame arrived (aware).
    window : DataTimeWindow
        The plausible span.
    """
    if data_time is None:
        return None
    text = data_time.decode("ascii", "replace") if isinstance(data_time, bytes) else data_time
    digits = text[:14] if len(text) == 17 else text
    if len(digits) != 14 or not digits.isdigit():
        return None
    try:
        local = datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8]),
                         int(digits[8:10]), int(digits[10:12]), int(digits[12:14]))  # fmt: skip
    except ValueError:
        return None
    latest = received_at.astimezone(CST).replace(tzinfo=None) + window.ahead
    if local < window.earliest:
        return (
            f"DataTime={text} is before {window.earliest:%Y-%m-%d %H:%M} (China Standard Time): "
            "device clock wrong; refused without reply"
        )
    if local > latest:
        return (
            f"DataTime={text} is more than {window.ahead} after the receive time "
            f"{received_at.astimezone(CST):%Y-%m-%d %H:%M:%S} CST: device clock wrong; "
            "refused without reply"
        )
    return None


class TextWindow:
    """:func:`implausible_reason` is None, answered on the text of a checked DataTime (the
    writer's usual upload: 14 digits that are a calendar instant, ``codec._is_time14``).

    For such strings the order of the text is the order in time, so the check is two string
    comparisons. The latest end — the receive time in CST plus ``ahead``, cut to the second
    (DataTimes have whole seconds, so the cut changes no answer) — is kept per receive
    second (a write batch spans a few). Why: the writer checks every record again (records
    logged before the front checked), and the datetime arithmetic per record was 8 % of its
    profile (docs/gateway-scaling.md, fifth pass). False means "ask
    :func:`implausible_reason`", which says why; it is never a refusal by itself.
    """

    def __init__(self, window: DataTimeWindow) -> None:
        self.window = window
        earliest = window.earliest
        usable = earliest.year >= 1000 and earliest.microsecond == 0
        self.earliest = f"{earliest:%Y%m%d%H%M%S}" if usable else None
        self.latest: dict[int, str] = {}

    def inside(self, data_time: str | None, received_at: datetime) -> bool:
        """Whether ``data_time`` (14 checked digits) is inside the window at ``received_at``
        (aware); False also when the text cannot tell."""
        if self.earliest is None or data_time is None or len(data_time) != 14:
            return False
        second = int(received_at.timestamp())
        latest = self.latest.get(second)
        if latest is None:
            try:
                moment = datetime.fromtimestamp(second, CST).replace(tzinfo=None)
                end = moment + self.window.ahead
            except (OverflowError, ValueError, OSError):
                return False
            if end.year < 1000:  # %Y would not give 4 digits
                return False
            latest = f"{end:%Y%m%d%H%M%S}"
            if len(self.latest) >= 4_096:
                self.latest.clear()
            self.latest[second] = latest
        return self.earliest <= data_time <= latest
