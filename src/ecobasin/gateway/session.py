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

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ecobasin.gateway.datatime import DataTimeWindow, implausible_reason
from ecobasin.ingest.hj212.codec import Message, reply_for

__all__ = ["Decision", "RegisteredDevice", "decide"]


class RegisteredDevice(Protocol):
    """What the decision needs of a registry entry (表3 PW; enabled or not)."""

    @property
    def password(self) -> str: ...

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


def _refusal(head: Message, device: RegisteredDevice | None, peer: str) -> Decision | None:
    if device is None:
        return Decision("unknown_device", f"device MN={head.mn} from {peer} is not registered")
    if not device.enabled:
        return Decision("device_disabled", f"device MN={head.mn} from {peer} is disabled")
    if head.head.get("PW") != device.password:
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
