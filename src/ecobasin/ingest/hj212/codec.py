"""HJ 212-2017 (and HJ/T 212-2005) data segments: parsing, Flag bits, encoding, replies.

Pure functions, no I/O. The framer (:mod:`.framer`) cuts the byte stream into frames; this module
reads a frame's data segment (§6.3.2 表3 head fields in any order, §6.3.3 CP data area), builds
frames (upper-case CRC) and the replies the platform owes (9014 data ack, 9013 notification ack,
表C.14–C.19, C.50), and inspects one packet end to end for the ``hj212 decode`` command.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np

from ecobasin.ingest.hj212.crc import CrcMode, crc_hex
from ecobasin.ingest.hj212.errors import (
    BadEncoding,
    BadHeader,
    BadLengthField,
    BadTerminator,
    DuplicateField,
    FrameError,
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
from ecobasin.ingest.hj212.framer import MAX_SEGMENT, Frame, check_crc

__all__ = [
    "ACK_UPLOADS",
    "CpItem",
    "Inspection",
    "Message",
    "build_segment",
    "encode_frame",
    "encode_message",
    "inspect_packet",
    "parse_frame",
    "parse_segment",
    "read_segment",
    "read_upload",
    "read_usual_batch",
    "reply_for",
]

#: Head fields of 表3.
HEAD_FIELDS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_REQUIRED = ("ST", "CN", "PW", "MN")
_REQUIRED_SET = frozenset(_REQUIRED)
#: Uploads answered with 9014 when Flag.A = 1 (§6.5, 表C.14–C.19, hj212 brief §6).
ACK_UPLOADS = frozenset(
    {"2011", "2021", "2031", "2041", "2051", "2061", "2081", "3015", "3019", "3020"}
)
#: Notifications answered with 9013 (表9: 1013 time-calibration request).
NOTIFICATIONS = frozenset({"1013"})

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INT = re.compile(r"\d+")
_NUMBER_MATCH = _NUMBER.fullmatch
_INT_MATCH = _INT.fullmatch
_HEAD_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "QN": (re.compile(r"\d{17}"), "17 digits YYYYMMDDhhmmsszzz"),
    "ST": (re.compile(r"[0-9A-Z]{2}"), "2 characters 0-9/A-Z"),
    "CN": (re.compile(r"\d{4}"), "4 digits"),
    "PW": (re.compile(r"[!-~]+"), "printable ASCII"),
    "MN": (re.compile(r"[!-~]+"), "printable ASCII without ';', '=' or '&'"),
    "Flag": (re.compile(r"\d{1,3}"), "an integer 0-255"),
    "PNUM": (re.compile(r"\d{1,4}"), "1-4 digits"),
    "PNO": (re.compile(r"\d{1,4}"), "1-4 digits"),
}
#: CP suffixes whose values are numbers (表4).
NUMERIC_SUFFIXES = frozenset(
    {"Rtd", "Min", "Avg", "Max", "Cou", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax", "RT"}
    | {"Data", "DayData", "NightData"}
)
#: CP fields holding YYYYMMDDhhmmss (N14, 表4).
TIME_KEYS = frozenset({"DataTime", "SystemTime", "RestartTime", "BeginTime", "EndTime"})
#: CP fields holding non-negative integers (表4).
INT_KEYS = frozenset(
    {"QnRtn", "ExeRtn", "RtdInterval", "MinInterval", "OverTime", "ReCount", "Ctime", "Stime"}
)


class CpItem(NamedTuple):
    """One CP item ``key=value`` (§6.3.3); a named tuple (many are made per message).

    Attributes
    ----------
    key : str
        The key as sent, e.g. ``a21026-Rtd`` or ``a21026-i22004-Info``.
    code : str
        The part before the **last** ``-`` (the whole key when there is none).
    suffix : str or None
        The part after the last ``-`` (表4: ``Rtd``, ``Avg``, ``Flag``, …).
    value : str
        The value exactly as sent; ``""`` means missing.
    number : Decimal or None
        The exact number, only for a valid numeric value of a numeric field (never for ``3O.5``).
    """

    key: str
    code: str
    suffix: str | None
    value: str
    number: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A data segment as read (§6.3.2): head fields, CP items, and any problems found.

    Attributes
    ----------
    head : dict of str to str
        Head fields of 表3 present in the packet (values trimmed).
    items : tuple of CpItem
        CP items in packet order, duplicates dropped.
    problems : tuple of FrameError
        Everything wrong with the segment (empty for a valid one).
    head_ok : bool
        True when the head and structure are acceptable, so the packet can be answered.
    """

    head: dict[str, str]
    items: tuple[CpItem, ...] = ()
    problems: tuple[FrameError, ...] = ()
    head_ok: bool = True
    cp: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cp", {item.key: item.value for item in self.items})

    @property
    def qn(self) -> str | None:
        """Request code QN, or None (often absent in HJ/T 212-2005 uploads)."""
        return self.head.get("QN")

    @property
    def cn(self) -> str | None:
        """Command code CN (表9)."""
        return self.head.get("CN")

    @property
    def mn(self) -> str | None:
        """Device id MN."""
        return self.head.get("MN")

    @property
    def data_time(self) -> str | None:
        """The CP's DataTime as sent (表4 N14), or None when there is none."""
        return self.cp.get("DataTime")

    @property
    def flag(self) -> int | None:
        """The Flag byte (表3), or None when absent or unreadable (then: 2005, no ack)."""
        raw = self.head.get("Flag")
        if raw is None or not raw.isdigit() or int(raw) > 255:
            return None
        return int(raw)

    @property
    def version_bits(self) -> int | None:
        """Flag V5..V0 = Flag >> 2 (0: HJ/T 212-2005, 1: HJ 212-2017); None without a Flag."""
        return None if self.flag is None else self.flag >> 2

    @property
    def has_pno(self) -> bool:
        """Flag bit D (bit 1): the packet is a sub-packet with PNUM and PNO."""
        return self.flag is not None and bool(self.flag & 2)

    @property
    def ack_required(self) -> bool:
        """Flag bit A (bit 0): the receiver must answer."""
        return self.flag is not None and bool(self.flag & 1)

    def to_dict(self) -> dict[str, Any]:
        """The ``expect`` shape of peer_samples.jsonl: head fields, Flag bits, CP as strings."""
        out: dict[str, Any] = dict(self.head)
        out["flag_version_bits"] = self.version_bits
        if "Flag" in self.head:
            out["flag_D_has_pno"] = self.has_pno
        out["flag_A_ack_required"] = self.ack_required
        out["CP"] = dict(self.cp)
        return out


def _is_time14(value: str) -> bool:
    """True for a real YYYYMMDDhhmmss instant (表4 N14): digits, then a valid calendar time.

    The date is checked with ``datetime(...)`` once per distinct YYYYMMDD (bounded cache: an
    upload's DataTime changes its day once a day), the time of day by comparing the digit
    pairs (hh < 24, mm < 60, ss < 60: what ``datetime`` accepts); ``strptime`` would accept
    the same strings at several times the cost.
    """
    if len(value) != 14 or not value.isdigit():
        return False
    day = _VALID_DAYS.get(value[:8])
    if day is None:
        if len(_VALID_DAYS) >= _VALID_DAYS_MAX:
            _VALID_DAYS.clear()
        day = _VALID_DAYS[value[:8]] = _is_date8(value[:8])
    return day and value[8:10] < "24" and value[10:12] < "60" and value[12:14] < "60"


def _is_date8(value: str) -> bool:
    """True for a real YYYYMMDD date (8 digits)."""
    try:
        datetime(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return True


#: YYYYMMDD → whether it is a real date; bounded: cleared when full.
_VALID_DAYS: dict[str, bool] = {}
_VALID_DAYS_MAX = 10_000


def _check_value(
    key: str, suffix: str | None, value: str, lenient: bool = False
) -> tuple[Decimal | None, str | None]:
    """Validate one CP value by its key (表4); return (number, problem)."""
    if value == "":
        return None, None  # missing value (allowed)
    if suffix is None:  # the fields of 表4 without a factor code: DataTime, QnRtn, …
        if key in TIME_KEYS:
            return _check_time(key, value, lenient)
        if key in INT_KEYS:
            return _check_int(key, value)
        if key == "CstartTime" and not (len(value) == 6 and value.isdigit()):
            return None, f"CP item {key}={value!r} is not hhmmss"
        return None, None
    if suffix in NUMERIC_SUFFIXES:
        if not _NUMBER_MATCH(value):
            return None, f"CP item {key}={value!r} is not a number"
        return Decimal(value), None
    if suffix == "Flag":
        if len(value) != 1:
            return None, f"CP item {key}={value!r} is not a 1-character data flag (表8)"
        return None, None
    if suffix == "SampleTime":
        return _check_time(key, value, lenient)
    if suffix == "RS":
        return _check_int(key, value)
    if suffix == "EFlag" and len(value) > 4:
        return None, f"CP item {key}={value!r} is longer than 4 characters"
    return None, None


def _check_time(key: str, value: str, lenient: bool) -> tuple[None, str | None]:
    if lenient and len(value) == 17 and value.isdigit():
        value = value[:14]  # milliseconds seen in the wild (hj212 brief §4.2)
    if not _is_time14(value):
        return None, f"CP item {key}={value!r} is not a YYYYMMDDhhmmss time (N14)"
    return None, None


def _check_int(key: str, value: str) -> tuple[Decimal | None, str | None]:
    if not _INT_MATCH(value):
        return None, f"CP item {key}={value!r} is not an integer"
    return Decimal(value), None


def _split_cp(text: str) -> tuple[list[tuple[str, str]], list[FrameError]]:
    """Split the CP data area into (key, value) pairs: ``;`` and ``,`` both separate items;
    a value starting with ``//`` runs to the closing ``//`` (表4 ``-Info`` text)."""
    if "//" in text:
        return _split_cp_text(text)
    pairs: list[tuple[str, str]] = []
    errors: list[FrameError] = []
    if not text:
        return pairs, errors
    parts = text.replace(",", ";").split(";")
    last = len(parts) - 1
    item_read = False  # the previous item had a '=' (only then is a trailing ';' reported)
    for number, part in enumerate(parts):
        if number == last and number and not part:
            if item_read:
                errors.append(MalformedItem("CP ends with an empty item (trailing separator)"))
            break
        key, eq, value = part.partition("=")
        if not eq:
            errors.append(MalformedItem(f"CP item {part!r} is not key=value"))
            item_read = False
            continue
        item_read = True
        key = key.strip()
        if not key:
            errors.append(MalformedItem(f"CP item {part!r} has an empty key"))
        else:
            pairs.append((key, value.strip()))
    return pairs, errors


def _split_cp_text(text: str) -> tuple[list[tuple[str, str]], list[FrameError]]:
    """:func:`_split_cp` for a CP area holding ``//`` text values (scanned item by item)."""
    pairs: list[tuple[str, str]] = []
    errors: list[FrameError] = []
    pos, n = 0, len(text)
    while pos < n:
        eq = text.find("=", pos)
        sep = _next_separator(text, pos)
        if eq < 0 or eq > sep:
            errors.append(MalformedItem(f"CP item {text[pos:sep]!r} is not key=value"))
            pos = sep + 1
            continue
        key = text[pos:eq].strip()
        vstart = eq + 1
        while vstart < n and text[vstart] == " ":
            vstart += 1
        if text.startswith("//", vstart):
            close = text.find("//", vstart + 2)
            if close < 0:
                errors.append(MalformedItem(f"CP item {key}: text not closed by '//'"))
                break
            end = close + 2
            sep = _next_separator(text, end)
            if text[end:sep].strip():
                errors.append(MalformedItem(f"CP item {key}: characters after the closing '//'"))
            value = text[vstart:end]
        else:
            value = text[vstart:sep].strip()
        if not key:
            errors.append(MalformedItem(f"CP item {text[pos:sep]!r} has an empty key"))
        else:
            pairs.append((key, value))
        pos = sep + 1
        if pos == n and sep < n:
            errors.append(MalformedItem("CP ends with an empty item (trailing separator)"))
    return pairs, errors


def _next_separator(text: str, start: int) -> int:
    found = [i for i in (text.find(";", start), text.find(",", start)) if i >= 0]
    return min(found) if found else len(text)


def _segment_text(segment: bytes | str, problems: list[FrameError]) -> tuple[str, bool]:
    """The segment as text, and False when it is not UTF-8 (§6.3.1: ASCII/UTF-8 text)."""
    if not isinstance(segment, bytes):
        return segment, True
    try:
        return segment.decode("utf-8"), True
    except UnicodeDecodeError as exc:
        problems.append(BadEncoding(f"data segment is not UTF-8 ({exc.reason})"))
        return segment.decode("utf-8", errors="replace"), False


def _read_head(text: str, problems: list[FrameError], head_ok: bool) -> tuple[Message, str | None]:
    """The head fields of a segment (表3, any order) and its CP area text (None: no CP).

    Returns a :class:`Message` without items whose ``problems`` are those found so far.
    """
    cp_at = text.find("CP=&&")
    while cp_at > 0 and text[cp_at - 1] not in "; ":
        cp_at = text.find("CP=&&", cp_at + 1)
    cp_text: str | None
    if cp_at < 0:
        problems.append(MalformedSegment("no 'CP=&&' data area"))
        head_text, cp_text = text, None
        head_ok = False
    else:
        head_text = text[:cp_at]
        body = text[cp_at + 5 :].rstrip()
        if body.endswith("&&") and len(body) >= 2:
            cp_text = body[:-2]
        else:
            problems.append(MalformedSegment("CP data area is not closed by '&&'"))
            cp_text = text[cp_at + 5 :]
            head_ok = False
    head: dict[str, str] = {}
    stripped = head_text.strip()
    if stripped and not stripped.endswith(";"):
        problems.append(MalformedSegment("head fields are not followed by ';' before CP"))
        head_ok = False
    for part in stripped.split(";"):
        key, eq, value = part.partition("=")
        if not eq:
            if part.strip():
                problems.append(MalformedSegment(f"head item {part.strip()!r} is not key=value"))
                head_ok = False
            continue
        key, value = key.strip(), value.strip()
        rule = _HEAD_RULES.get(key)
        if rule is None:
            problems.append(UnknownField(f"unknown head field {key!r}"))
            head_ok = False
            continue
        if key in head:
            problems.append(DuplicateField(f"head field {key} appears twice"))
            head_ok = False
            continue
        if _head_field_bad(key, value):
            problems.append(InvalidField(f"head field {key}={value!r} is not {rule[1]}"))
            head_ok = False
        head[key] = value
    for key in _REQUIRED:
        if key not in head:
            problems.append(MissingField(f"head field {key} is missing"))
            head_ok = False
    if Message(head=head).has_pno:
        for key in ("PNUM", "PNO"):
            if key not in head:
                problems.append(MissingField(f"Flag.D=1 but head field {key} is missing"))
                head_ok = False
    elif "PNUM" in head or "PNO" in head:
        problems.append(InvalidField("PNUM/PNO present but Flag.D is not 1"))
        head_ok = False
    pnum, pno = head.get("PNUM", ""), head.get("PNO", "")
    if pnum.isdigit() and pno.isdigit() and not 1 <= int(pno) <= int(pnum):
        problems.append(InvalidField(f"PNO={pno} is not within 1..PNUM={pnum}"))
        head_ok = False
    return Message(head=head, problems=tuple(problems), head_ok=head_ok), cp_text


def _head_field_bad(key: str, value: str) -> bool:
    """Whether a head field's value breaks its rule of 表3 (``key`` one of ``_HEAD_RULES``)."""
    bad = not _HEAD_RULES[key][0].fullmatch(value) or (
        key == "MN" and any(c in value for c in ";=&")
    )
    return bad or (key == "Flag" and int(value) > 255)


#: (key, value) → whether the head field is bad, for the fields that repeat from message to
#: message (all but QN, unique per packet); bounded: cleared when full.
_HEAD_VERDICTS: dict[tuple[str, str], bool] = {}
_HEAD_VERDICTS_MAX = 100_000
#: Commands of the fast path of :func:`read_upload` (表9: real-time, minute, hourly data).
FAST_COMMANDS = frozenset({"2011", "2051", "2061"})


def _head_ok_cached(key: str, value: str) -> bool:
    """:func:`_head_field_bad` negated, for ASCII text (the fast path's): QN (表3: 17 digits,
    unique per packet) by ``str`` methods, the others once per distinct value."""
    if key == "QN":  # for ASCII text exactly the pattern \d{17}, without the regex engine
        return len(value) == 17 and value.isdigit()
    verdict = _HEAD_VERDICTS.get((key, value))
    if verdict is None:
        if len(_HEAD_VERDICTS) >= _HEAD_VERDICTS_MAX:
            _HEAD_VERDICTS.clear()
        verdict = _HEAD_VERDICTS[key, value] = _head_field_bad(key, value)
    return not verdict


_new_item = tuple.__new__


#: One CP item of the fast path: (key, code, suffix, value), the value a checked string.
RawItem = tuple[str, str, str | None, str]


@dataclass(frozen=True, slots=True, eq=False)
class CpTemplate:
    """The keys of a CP area, in order, without their values (表4: ``code-Suffix``).

    A device sends the same items message after message and only the values change, so the
    fast path checks a usual CP area's keys (unique, DataTime first) once per distinct
    skeleton — the CP text with the values cut out — and keeps them here; a message is then
    its template and the list of its value strings. ``usual``: the area matched the usual
    pattern (every value a number, empty, or a one-character flag), so the rows of the
    message can be planned once per template (``ecobasin.ingest.hj212.observations``).
    """

    items: tuple[tuple[str, str, str | None], ...]  # (key, code, suffix) of each item
    usual: bool = False


@dataclass(frozen=True, slots=True)
class Upload:
    """A clean upload as the fast path reads it (:func:`read_upload_items`): the head fields
    and the CP items as checked strings — no :class:`CpItem`, no ``Decimal``.

    Its fields answer like those of the :class:`Message` that :func:`read_segment` gives for
    the same segment (no problems, head valid, not a sub-packet); :meth:`message` is that
    Message, exactly. The items are kept as their :class:`CpTemplate` and the value strings
    (``values[i]`` is the value of ``template.items[i]``); :attr:`items` joins them on demand.
    """

    head: dict[str, str]
    template: CpTemplate
    values: list[str]
    data_time: str | None
    problems: tuple[FrameError, ...] = ()
    head_ok: bool = True
    has_pno: bool = False

    @property
    def items(self) -> list[RawItem]:
        """The CP items as (key, code, suffix, value) (built on demand)."""
        return [
            (key, code, suffix, value)
            for (key, code, suffix), value in zip(self.template.items, self.values, strict=True)
        ]

    @property
    def mn(self) -> str | None:
        return self.head.get("MN")

    @property
    def cn(self) -> str | None:
        return self.head.get("CN")

    @property
    def qn(self) -> str | None:
        return self.head.get("QN")

    @property
    def cp(self) -> dict[str, str]:
        """The CP items as a dict (built on demand: the hot path does not need it)."""
        return {
            item[0]: value for item, value in zip(self.template.items, self.values, strict=True)
        }

    def message(self) -> Message:
        """The :class:`Message` of the full parse (exact ``Decimal`` numbers)."""
        return _message_of(self.head, self.items)


def read_upload_items(segment: bytes) -> Upload | None:
    """The fast path of :func:`read_segment` for the common case: a clean ASCII 2011 / 2051 /
    2061 upload (表9) without sub-packets, text values or any problem.

    Every value is checked exactly as :func:`read_segment` checks it (numbers by the same
    pattern, 表4), but nothing is converted: the gateway's writer turns the values straight
    into float columns (:meth:`ecobasin.ingest.hj212.observations.RowBuffer.add`). Returns
    None whenever the packet is anything else — then call :func:`read_segment`, which names
    every problem. The head fields that repeat (ST, CN, PW, MN, Flag) are checked once per
    distinct value.
    """
    try:
        text = segment.decode("ascii")
    except UnicodeDecodeError:
        return None
    cp_at = text.find(";CP=&&") + 1
    if (
        cp_at <= 0
        or "//" in text
        or text.count("CP=&&") != 1
        or not text.endswith("&&")
        or len(text) < cp_at + 7
    ):
        return None
    head_text = text[: cp_at - 1]
    if " " in head_text or not head_text.isprintable():
        return None
    if head_text.startswith("QN=") and head_text[20:21] == ";":
        # a device repeats its head but for QN (表3: 17 digits, unique per packet): the rest
        # is checked once per distinct text
        qn = head_text[3:20]
        if not (len(qn) == 17 and qn.isdigit()):
            return None
        rest = head_text[21:]
        known = _HEADS.get(rest, _UNSEEN)
        if known is _UNSEEN:
            full = _fast_head(rest, {"QN": "0" * 17})
            known = None if full is None else {k: v for k, v in full.items() if k != "QN"}
            if len(_HEADS) >= _HEADS_MAX:
                _HEADS.clear()
            _HEADS[rest] = known
        if known is None:
            return None
        return _fast_items({"QN": qn, **known}, text[cp_at + 5 : -2])
    head = _fast_head(head_text, {})
    return None if head is None else _fast_items(head, text[cp_at + 5 : -2])


def _fast_head(head_text: str, head: dict[str, str]) -> dict[str, str] | None:
    """The head fields of a clean common upload (表3) added to ``head``, or None when the head
    is anything else (a field unknown, repeated or invalid; not 2011/2051/2061; a sub-packet)."""
    for part in head_text.split(";"):
        key, eq, value = part.partition("=")
        if not eq or key not in _HEAD_RULES or key in head or not _head_ok_cached(key, value):
            return None
        head[key] = value
    if head.get("CN") not in FAST_COMMANDS or "PNUM" in head or "PNO" in head:
        return None
    flag = head.get("Flag")  # valid when present (checked above): 0-255
    if not head.keys() >= _REQUIRED_SET or (flag is not None and int(flag) & 2):
        return None  # Flag.D = 1: a sub-packet
    return head


#: The head after ``QN=…;`` → its fields without QN (None: not a clean common head); bounded.
_HEADS: dict[str, dict[str, str] | None] = {}
_HEADS_MAX = 100_000
_UNSEEN: dict[str, str] = {}


def read_upload(segment: bytes) -> Message | None:
    """:func:`read_upload_items` as a :class:`Message`: exactly what ``read_segment(segment)``
    returns (``lenient`` makes no difference for a clean packet), or None when the packet is
    not a clean common upload."""
    upload = read_upload_items(segment)
    return None if upload is None else upload.message()


def _fast_items(head: dict[str, str], cp_text: str) -> Upload | None:
    """The CP items of :func:`read_upload_items` (None at the first thing out of the common).

    The usual CP area (DataTime first, then ``code-Suffix=number`` and ``code-Flag=X`` items)
    is checked by one pattern and cut into keys and values by another, both in C; its keys
    are checked once per skeleton (:class:`CpTemplate`). Any other CP area is read item by
    item with the same rules (表4).
    """
    if not cp_text or " " in cp_text or not cp_text.isprintable():
        return None
    if _USUAL_CP(cp_text) and _is_time14(cp_text[9:23]):
        # "DataTime", v0, ";a21026-Rtd", v1, …, "": keys (with their separator) and values
        parts = _CUT_VALUES(cp_text)
        skeleton = "=".join(parts[0::2])
        template = _TEMPLATES.get(skeleton, _UNKNOWN)
        if template is _UNKNOWN:
            template = _usual_template(parts[2:-1:2])
            if len(_TEMPLATES) >= _TEMPLATES_MAX:
                _TEMPLATES.clear()
            _TEMPLATES[skeleton] = template
        if template is None:
            return None  # an item twice: the full parse names it
        return Upload(head, template, parts[1::2], cp_text[9:23])
    return _items_one_by_one(head, cp_text)


def _usual_template(keys: list[str]) -> CpTemplate | None:
    """The template of a usual CP area's keys after DataTime (each with its ``;`` or ``,``);
    None when a key repeats."""
    items: list[tuple[str, str, str | None]] = [("DataTime", "DataTime", None)]
    for separated in keys:
        key = separated[1:]
        code, _, suffix = key.partition("-")  # codes of the usual pattern have no "-"
        items.append((key, code, suffix))
    if len({item[0] for item in items}) != len(items):
        return None
    return CpTemplate(tuple(items), usual=True)


#: The usual CP area (表4): DataTime, then value items with a number (or nothing: missing) and
#: data-flag items with one letter or digit (表8). Codes without ``-``, so the code is the part
#: before the last ``-`` as :func:`read_segment` takes it.
_NUMERIC_ALTERNATIVES = "|".join(sorted(NUMERIC_SUFFIXES, key=len, reverse=True))
_USUAL_CP = re.compile(
    r"DataTime=\d{14}(?:[;,][A-Za-z0-9]+-(?:(?:"
    + _NUMERIC_ALTERNATIVES
    + r")=(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+))?|Flag=[A-Za-z0-9]?))*"
).fullmatch
#: Templates of usual CP areas by skeleton (the CP text without its values); None for a
#: skeleton with a repeated key (or, met by :func:`read_usual_batch`, one that is not usual).
#: Bounded: cleared when full.
_TEMPLATES: dict[str, CpTemplate | None] = {}
_TEMPLATES_MAX = 10_000
_UNKNOWN = CpTemplate(())
#: The values of a usual CP area (no "=" inside a key or a value of the usual pattern).
_CUT_VALUES = re.compile(r"=([^;,]*)").split


@dataclass(slots=True)
class UsualBatch:
    """The usual uploads among a batch of segments, read column-wise (:func:`read_usual_batch`).

    Upload ``n`` is segment ``positions[n]``; its head is ``{"QN": qns[n], **heads[n]}`` when
    the head begins with QN, else ``heads[n]`` (``qns[n]`` None; the head dicts are shared by
    the uploads of one head text: do not change them), its values are
    ``[data_times[n], *values[starts[n] : starts[n] + len(templates[n].items) - 1]]``.
    """

    positions: list[int] = field(default_factory=list)
    heads: list[dict[str, str]] = field(default_factory=list)
    qns: list[str | None] = field(default_factory=list)
    data_times: list[str] = field(default_factory=list)
    templates: list[CpTemplate] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # the values after DataTime, all uploads
    #: ``values`` and then ``""``, as an object array (for the blocks' gathers)
    texts: np.ndarray = field(default_factory=lambda: np.array([""], dtype=object))
    #: the number of each value of ``texts`` (float64): NaN for an empty value and a ``-Flag``
    numbers: np.ndarray = field(default_factory=lambda: np.array([np.nan]))

    def upload(self, n: int) -> Upload:
        """Upload ``n`` as :func:`read_upload_items` returns it for its segment."""
        template, start, data_time = self.templates[n], self.starts[n], self.data_times[n]
        values = [data_time, *self.values[start : start + len(template.items) - 1]]
        return Upload(self.head(n), template, values, data_time)

    def head(self, n: int) -> dict[str, str]:
        """The head fields of upload ``n`` (a new dict)."""
        qn = self.qns[n]
        return dict(self.heads[n]) if qn is None else {"QN": qn, **self.heads[n]}


def read_usual_batch(segments: list[bytes]) -> UsualBatch:
    """The uploads of ``segments`` that :func:`read_upload_items` reads as a usual CP area
    (表3 head with QN first, 表4 ``DataTime`` then ``code-Suffix=number`` / ``code-Flag=X``
    items), read for a whole write batch at once (issue 12, Speed, eighth and tenth passes).

    The segments are joined by line breaks (a segment holding one, or a byte outside ASCII, is
    never usual: it becomes an empty line) and one pattern over the joined text gives every
    line's head shape, QN (17 digits), DataTime (14 digits) and CP items text; the head after
    QN and the CP skeleton (the items with their values cut out) are checked once per distinct
    text; the values of all uploads are cut by one call over their joined items and checked
    all at once by :func:`_usual_values` (the rules of 表4 that :func:`read_upload_items`
    applies). A segment left out is anything else: read it with :func:`read_upload_items` /
    :func:`read_segment`, which decide and name its problems.
    ``tests/ingest/test_hj212_batch.py``: each upload read here equals
    :func:`read_upload_items` of its segment, and exactly those that path reads as usual are
    taken.
    """
    batch = UsualBatch()
    items_texts: list[str] = []
    matched: list[tuple[int, dict[str, str], str | None, str]] = []
    heads = _USUAL_HEADS
    for at, (qn, rest, data_time, items) in enumerate(_usual_lines(segments)):
        if not data_time:
            continue  # not the shape of a usual upload
        head = heads.get((not qn, rest), _UNSEEN)
        if head is _UNSEEN:
            head = _usual_head(not qn, rest)
        if head is None or not _is_time14(data_time):
            continue
        matched.append((at, head, qn or None, data_time))
        items_texts.append(items)
    if not matched:
        return batch
    joined = "\n".join(items_texts)
    skeleton_text = _SKELETONS(joined)
    values = _VALUES_OF(joined)
    templates: list[CpTemplate | None] = []
    counts: list[int] = []
    for (_, _, _, data_time), skeleton, items in zip(
        matched, skeleton_text.split("\n"), items_texts, strict=True
    ):
        template = _TEMPLATES.get("DataTime=" + skeleton, _UNKNOWN)
        if template is _UNKNOWN:
            template = _template_of(skeleton, data_time, items)
        templates.append(template)
        counts.append(skeleton.count("="))  # values of this upload after DataTime
    taken = np.array([template is not None for template in templates], dtype=bool)
    texts, numbers, kept = _usual_values(values, skeleton_text, taken, np.array(counts))
    if not kept:  # a value outside 表4's rules: the uploads are checked one by one
        for n in np.flatnonzero(taken):
            taken[n] = _USUAL_ITEMS(items_texts[n]) is not None
        texts, numbers, kept = _usual_values(values, skeleton_text, taken, np.array(counts))
        if not kept:
            raise AssertionError("usual items whose values break 表4")  # pragma: no cover
    keep = taken.tolist()
    ats, heads_of, qns, data_times = zip(*matched, strict=True)
    starts = np.cumsum(counts) - counts  # where each upload's values begin in ``values``
    batch.positions = list(itertools.compress(ats, keep))
    batch.heads = list(itertools.compress(heads_of, keep))
    batch.qns = list(itertools.compress(qns, keep))
    batch.data_times = list(itertools.compress(data_times, keep))
    batch.templates = [t for t in itertools.compress(templates, keep) if t is not None]
    batch.starts = list(itertools.compress(starts.tolist(), keep))
    batch.values, batch.texts, batch.numbers = values, texts, numbers
    return batch


def _usual_lines(segments: list[bytes]) -> list[tuple[str, str, str, str]]:
    """(QN or "", the rest of the head, DataTime or "", the CP items after DataTime) of each
    segment, by one pattern over the segments joined by line breaks; DataTime "" for a
    segment without the usual shape (one holding a line break or a byte outside ASCII, which
    is never usual, is read as an empty line)."""
    joined = b"\n".join(segments)
    if not joined.isascii() or joined.count(b"\n") != len(segments) - 1:
        joined = b"\n".join(s if s.isascii() and b"\n" not in s else b"" for s in segments)
    lines: list[tuple[str, str, str, str]] = _USUAL_SHAPES(joined.decode("ascii"))
    return lines


def _usual_values(
    values: list[str], skeletons: str, taken: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The values of the taken uploads checked by the rules of 表4 all at once: the values as
    an object array, their numbers (float64, NaN for an empty value, a ``-Flag`` and the
    uploads not taken) — each with one more entry, ``""`` / NaN, at the end — and whether
    all the taken uploads' values keep the rules.

    ``skeletons`` (the joined items with their values cut out) has one ``=`` per value, in
    order: a ``-Flag`` value (its key ends in ``Flag``, no numeric suffix does) is one
    letter or digit, or empty (表8); any other is a number of 表4 (``_NUMBER``)
    or empty. A text of the characters ``0-9 . + -`` is such a number exactly when
    ``float()`` (numpy's object → float64 cast calls it per value) reads it: no exponent,
    no ``inf`` / ``nan`` and no ``_`` or spaces are possible in it (the exhaustive test in
    ``tests/ingest/test_hj212_batch.py``).
    """
    texts = np.array([*values, ""], dtype=object)
    numbers = np.full(len(texts), np.nan)
    marks = np.frombuffer(skeletons.encode("ascii"), dtype=np.uint8)
    at = np.flatnonzero(marks == _EQUALS)
    # a usual key's suffix is a numeric one of 表4 or Flag, and of those only Flag ends in "ag"
    flag = (marks[at - 1] == _G) & (marks[np.maximum(at - 2, 0)] == _A)
    counted = np.repeat(taken, counts)
    numeric = np.flatnonzero(counted & ~flag)
    number_texts = texts[numeric]
    if _NOT_NUMBER_CHAR("".join(number_texts.tolist())):
        return texts, numbers, False
    number_texts[number_texts == ""] = "nan"  # an empty value is missing (表4)
    try:
        numbers[numeric] = number_texts.astype(np.float64)
    except ValueError:
        return texts, numbers, False
    flags = texts[np.flatnonzero(counted & flag)]
    flag_text = "".join(flags.tolist())
    # each flag one letter or digit, or empty: then the text is as long as the non-empty ones
    kept = not _NOT_FLAG_CHAR(flag_text) and len(flag_text) == np.count_nonzero(flags != "")
    return texts, numbers, kept


def _usual_head(whole: bool, rest: str) -> dict[str, str] | None:
    """The head fields of a usual upload (as :func:`read_upload_items` checks them) after
    ``QN=…;`` (``whole`` False; then without QN) or of the whole head text (``whole``: it does
    not begin with QN), or None; remembered per text (bounded)."""
    head = None
    if "//" not in rest and "CP=&&" not in rest:
        if whole:
            head = _fast_head(rest, {})
        else:
            full = _fast_head(rest, {"QN": "0" * 17})
            head = None if full is None else {k: v for k, v in full.items() if k != "QN"}
    if len(_USUAL_HEADS) >= _HEADS_MAX:
        _USUAL_HEADS.clear()
    _USUAL_HEADS[whole, rest] = head
    return head


def _template_of(skeleton: str, data_time: str, items: str) -> CpTemplate | None:
    """The template of a usual CP area met for the first time (:func:`_fast_items`'s); None
    when its skeleton is not that of usual items (:data:`_USUAL_SKELETON`) or a key repeats."""
    template = None
    if _USUAL_SKELETON(skeleton):
        parts = _CUT_VALUES(f"DataTime={data_time}{items}")
        template = _usual_template(parts[2:-1:2])
    if len(_TEMPLATES) >= _TEMPLATES_MAX:
        _TEMPLATES.clear()
    _TEMPLATES["DataTime=" + skeleton] = template
    return template


#: A whole usual upload (:func:`read_usual_batch`): QN first (or not: then the whole head is
#: the second group), the rest of the head (printable ASCII, no space), the usual CP area of
#: ``_USUAL_CP`` (DataTime, then its items).
_USUAL_UPLOAD = re.compile(
    r"(?:QN=(\d{17});)?([!-~]*?);CP=&&DataTime=(\d{14})((?:[;,][A-Za-z0-9]+-(?:(?:"
    + _NUMERIC_ALTERNATIVES
    + r")=(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+))?|Flag=[A-Za-z0-9]?))*)&&"
).fullmatch
#: The CP items after DataTime of a usual upload (:data:`_USUAL_UPLOAD`'s fourth group).
_USUAL_ITEMS = re.compile(
    r"(?:[;,][A-Za-z0-9]+-(?:(?:"
    + _NUMERIC_ALTERNATIVES
    + r")=(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+))?|Flag=[A-Za-z0-9]?))*"
).fullmatch
#: :data:`_USUAL_UPLOAD`'s shape, one line of the joined segments each: QN, the rest of the
#: head and DataTime as there, the CP items any printable ASCII (:func:`_usual_values` and
#: the skeleton check them); a line without that shape gives four empty groups.
_USUAL_SHAPES = re.compile(
    r"^(?:(?:QN=(\d{17});)?([!-~]*?);CP=&&DataTime=(\d{14})([!-~]*)&&|.*)$", re.MULTILINE
).findall
#: The skeleton of usual CP items (their values cut out, ``=`` kept).
_USUAL_SKELETON = re.compile(
    r"(?:[;,][A-Za-z0-9]+-(?:" + _NUMERIC_ALTERNATIVES + r"|Flag)=)*"
).fullmatch
_NOT_NUMBER_CHAR = re.compile(r"[^0-9.+\-]").search
_NOT_FLAG_CHAR = re.compile(r"[^A-Za-z0-9]").search
_EQUALS = ord("=")
_A, _G = ord("a"), ord("g")
if any(suffix.endswith("ag") for suffix in NUMERIC_SUFFIXES):  # pragma: no cover
    raise AssertionError("a numeric suffix ending in 'ag' would be read as a -Flag")
#: The head after ``QN=…;`` → its fields without QN, for :func:`read_usual_batch`; bounded.
_USUAL_HEADS: dict[tuple[bool, str], dict[str, str] | None] = {}
#: The joined CP areas without their values (``=`` kept), and their values.
_SKELETONS = functools.partial(re.compile(r"=[^;,\n]*").sub, "=")
_VALUES_OF = re.compile(r"=([^;,\n]*)").findall


def _items_one_by_one(head: dict[str, str], cp_text: str) -> Upload | None:
    """:func:`_fast_items` for a CP area out of the usual shape, item by item."""
    items: list[RawItem] = []
    seen: set[str] = set()
    data_time = None
    for part in cp_text.replace(",", ";").split(";"):
        key, eq, value = part.partition("=")
        if not eq or not key or key in seen:
            return None
        seen.add(key)
        code, dash, suffix = key.rpartition("-")
        if dash and suffix in NUMERIC_SUFFIXES and value and _NUMBER_MATCH(value):
            items.append((key, code, suffix, value))
            continue
        if dash and suffix == "Flag" and len(value) <= 1:  # 表8 data flag, or missing
            items.append((key, code, suffix, value))
            continue
        if _check_value(key, suffix if dash else None, value)[1]:
            return None
        if key == "DataTime":
            data_time = value
        items.append((key, code, suffix, value) if dash else (key, key, None, value))
    keys = tuple((key, code, suffix) for key, code, suffix, _ in items)
    return Upload(head, CpTemplate(keys), [item[3] for item in items], data_time)


def _message_of(head: dict[str, str], items: list[RawItem]) -> Message:
    """The Message of checked fast-path items: numbers as ``Decimal``, as the full parse."""
    out = []
    for key, code, suffix, value in items:
        if suffix in NUMERIC_SUFFIXES and value:
            number: Decimal | None = Decimal(value)
        else:
            number = _check_value(key, suffix, value)[0]
        # tuple.__new__: a CpItem without the generated __new__'s Python-level call
        out.append(_new_item(CpItem, (key, code, suffix, value, number)))
    return Message(head=head, items=tuple(out))


def read_head(segment: bytes | str) -> Message:
    """Read only the head of a data segment (表3): enough to check the device and answer.

    The gateway's event loop uses this; ``head`` and ``head_ok`` are exactly those of
    :func:`read_segment` (the CP area is only checked for its ``CP=&&`` … ``&&`` frame), so
    :func:`reply_for` gives the same reply. ``items`` is empty and ``problems`` lists the
    head's problems only.

    Parameters
    ----------
    segment : bytes or str
        The data segment.

    Returns
    -------
    Message
        Never raises.
    """
    problems: list[FrameError] = []
    text, head_ok = _segment_text(segment, problems)
    return _read_head(text, problems, head_ok)[0]


def read_segment(segment: bytes | str, *, lenient: bool = False) -> Message:
    """Read a data segment as far as possible, collecting every problem (§6.3.2, §6.3.3).

    Parameters
    ----------
    segment : bytes or str
        The data segment (between the length field and the CRC).
    lenient : bool
        Accept 17-digit times (with milliseconds) where 表4 says N14; the value stays as sent.

    Returns
    -------
    Message
        Never raises; ``problems`` lists what is wrong.
    """
    problems: list[FrameError] = []
    text, head_ok = _segment_text(segment, problems)
    head_message, cp_text = _read_head(text, problems, head_ok)
    if cp_text is None:
        return head_message
    pairs, cp_errors = _split_cp(cp_text)
    problems = list(head_message.problems)
    problems.extend(cp_errors)
    items: list[CpItem] = []
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            problems.append(DuplicateField(f"CP item {key} appears twice"))
            continue
        seen.add(key)
        code, dash, after = key.rpartition("-")
        suffix = after if dash else None
        number, problem = _check_value(key, suffix, value, lenient)
        if problem:
            problems.append(InvalidValue(problem))
        items.append(CpItem(key, code if dash else key, suffix, value, number))
    return Message(
        head=head_message.head,
        items=tuple(items),
        problems=tuple(problems),
        head_ok=head_message.head_ok,
    )


def parse_segment(segment: bytes | str) -> Message:
    """Parse a data segment strictly (§6.3.2, §6.3.3).

    Parameters
    ----------
    segment : bytes or str
        The data segment.

    Returns
    -------
    Message
        A message without problems.

    Raises
    ------
    FrameError
        The first problem found (a subclass naming the field or item).
    """
    message = read_segment(segment)
    if message.problems:
        raise message.problems[0]
    return message


def parse_frame(frame: Frame) -> Message:
    """Parse the data segment of a frame from :class:`~.framer.Framer` strictly.

    Parameters
    ----------
    frame : Frame
        A framed packet whose CRC checked out.

    Returns
    -------
    Message
        The message.

    Raises
    ------
    FrameError
        The first problem found; its ``raw`` is the frame.
    """
    message = read_segment(frame.segment)
    if message.problems:
        first = message.problems[0]
        first.raw = frame.raw
        raise first
    return message


def build_segment(
    head: Mapping[str, str], cp: Mapping[str, str] | Iterable[tuple[str, str]]
) -> str:
    """Build a data segment (§6.3.2): head fields in the given order, then ``CP=&&…&&``.

    Items of one factor (same code before the last ``-``) are joined by ``,``, different factors
    by ``;`` (§6.3.3).

    Parameters
    ----------
    head : mapping of str to str
        Head fields, e.g. ``{"QN": …, "ST": "91", "CN": "9014", "PW": …, "MN": …, "Flag": "4"}``.
    cp : mapping or iterable of (key, value)
        CP items.

    Returns
    -------
    str
        The data segment.
    """
    pairs = list(cp.items()) if isinstance(cp, Mapping) else list(cp)
    parts: list[str] = []
    previous: str | None = None
    for key, value in pairs:
        code = key.rpartition("-")[0] or key
        if parts:
            parts.append("," if code == previous else ";")
        parts.append(f"{key}={value}")
        previous = code
    head_text = "".join(f"{key}={value};" for key, value in head.items())
    return f"{head_text}CP=&&{''.join(parts)}&&"


def encode_frame(segment: str | bytes, crc_mode: CrcMode = CrcMode.HJ212) -> bytes:
    """Wrap a data segment in a frame: ``##`` + length + segment + CRC + CR LF (§6.3.1).

    Parameters
    ----------
    segment : str or bytes
        The data segment (str is encoded as UTF-8; the length counts bytes).
    crc_mode : CrcMode
        CRC to append, upper-case hex (Appendix A by default).

    Returns
    -------
    bytes
        The frame.

    Raises
    ------
    OversizedFrame
        When the segment is longer than 1024 bytes (the sender must split it, §5).
    """
    data = segment.encode("utf-8") if isinstance(segment, str) else segment
    if len(data) > MAX_SEGMENT:
        raise OversizedFrame(f"data segment length {len(data)} exceeds {MAX_SEGMENT}")
    return b"##%04d%s%s\r\n" % (len(data), data, crc_hex(data, crc_mode).encode("ascii"))


def encode_message(
    head: Mapping[str, str], cp: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> bytes:
    """Build a complete frame from head fields and CP items (:func:`build_segment` + :func:`encode_frame`).

    Parameters
    ----------
    head : mapping of str to str
        Head fields in order.
    cp : mapping or iterable of (key, value)
        CP items.

    Returns
    -------
    bytes
        The frame, CRC in upper case.
    """
    return encode_frame(build_segment(head, cp))


def reply_for(message: Message) -> bytes | None:
    """The frame the platform sends back, or None for silence (§6.5; 表C.14–C.19, C.50).

    An upload with Flag.A = 1 gets 9014 (data response); a 1013 notification gets 9013. Both
    echo QN, PW and MN, with ST=91 and Flag = version bits << 2 (4 for HJ 212-2017, 0 for
    HJ/T 212-2005), and ``CP=&&&&``. Requests, responses and uploads without A are not answered.

    Parameters
    ----------
    message : Message
        A message whose frame and CRC were valid.

    Returns
    -------
    bytes or None
        The reply frame.
    """
    if message.cn in NOTIFICATIONS:
        cn = "9013"
    elif message.cn in ACK_UPLOADS and message.ack_required:
        cn = "9014"
    else:
        return None
    head: dict[str, str] = {}
    if message.qn is not None:
        head["QN"] = message.qn
    head.update(ST="91", CN=cn, PW=message.head.get("PW", ""), MN=message.mn or "")
    head["Flag"] = str((message.version_bits or 0) << 2)
    return encode_message(head)


@dataclass(frozen=True, slots=True)
class Inspection:
    """The verdict on one packet, as ``ecobasin hj212 decode`` prints it.

    Attributes
    ----------
    errors : tuple of FrameError
        Framing errors first, then segment problems.
    message : Message or None
        The segment as far as it could be read.
    response : bytes or None
        The reply the gateway would send (None: silence).
    """

    errors: tuple[FrameError, ...]
    message: Message | None
    response: bytes | None

    @property
    def valid(self) -> bool:
        """True when frame, length, CRC and every field and value are acceptable."""
        return not self.errors

    @property
    def reason(self) -> str | None:
        """All problems, joined by ``"; "`` (None when valid)."""
        return "; ".join(error.reason for error in self.errors) or None

    def to_json(self) -> dict[str, Any]:
        """``{"valid", "reason", "message", "response"}`` for the decode command."""
        return {
            "valid": self.valid,
            "reason": self.reason,
            "message": self.message.to_dict() if self.message is not None else {},
            "response": self.response.decode("utf-8") if self.response is not None else None,
        }


def inspect_packet(
    data: bytes, crc_mode: CrcMode = CrcMode.HJ212, *, lenient: bool = False
) -> Inspection:
    """Check one complete packet end to end: framing (§6.3.1), CRC (Appendix A), segment (§6.3.2).

    Unlike :class:`~.framer.Framer` it reads the segment even from a broken frame, to say as
    much as possible about it; the response is what the gateway would send (silence on any
    framing or CRC error, §6.3.1 "如果 CRC 错误，执行结束").

    Parameters
    ----------
    data : bytes
        One packet, ``##`` to CR LF.
    crc_mode : CrcMode
        The device's CRC mode (Appendix A by default).
    lenient : bool
        Accept 17-digit times (see :func:`read_segment`).

    Returns
    -------
    Inspection
        Never raises.
    """
    framing: list[FrameError] = []
    if not data.startswith(b"##"):
        return Inspection((BadHeader("packet does not start with '##'", data),), None, None)
    digits = data[2:6]
    declared = int(digits) if len(digits) == 4 and digits.isdigit() else None
    if declared is None:
        framing.append(BadLengthField(f"length field {digits!r} is not 4 digits", data))
    if data.endswith(b"\r\n"):
        body = data[:-2]
    elif data.endswith((b"\n", b"\r")):
        framing.append(BadTerminator("packet ends with a lone LF or CR, CR LF required", data))
        body = data[:-1]
    elif declared is not None and len(data) < 6 + min(declared, MAX_SEGMENT) + 6:
        framing.append(TruncatedFrame("packet is shorter than its length field says", data))
        body = data
    else:
        framing.append(BadTerminator("packet does not end with CR LF", data))
        body = data
    if len(body) < 10:
        if not any(isinstance(e, TruncatedFrame) for e in framing):
            framing.append(TruncatedFrame("packet too short for a length and a CRC", data))
        return Inspection(tuple(framing), None, None)
    segment, crc_field = body[6:-4], body[-4:]
    if declared is not None and declared > MAX_SEGMENT:
        framing.append(OversizedFrame(f"data segment length {declared} exceeds {MAX_SEGMENT}"))
    elif declared is not None and declared != len(segment):
        framing.append(
            LengthMismatch(f"length field says {declared}, data segment has {len(segment)} bytes")
        )
    try:
        check_crc(segment, crc_field, data, crc_mode)
    except FrameError as exc:
        framing.append(exc)
    message = read_segment(segment, lenient=lenient)
    response = reply_for(message) if not framing and message.head_ok else None
    return Inspection((*framing, *message.problems), message, response)
