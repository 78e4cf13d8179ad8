"""Candidate observations of one HJ 212 upload message (pure, no I/O).

:func:`message_observations` turns a parsed upload (:class:`~ecobasin.ingest.hj212.codec.Message`)
into rows of :data:`ecobasin.ingest.validate.CANDIDATE_COLUMNS`, and lists every CP item that
cannot become an observation with the reason. The rows then go through
:func:`ecobasin.ingest.validate.validate_observations` like those of any other reader.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.ingest.hj212.codec import CpItem, CpTemplate, Message, Upload
from ecobasin.ingest.validate import CANDIDATE_COLUMNS
from ecobasin.timebase import CST

__all__ = [
    "DATA_FLAGS",
    "IGNORED_SUFFIXES",
    "OBSERVATION_COMMANDS",
    "ZS_SUFFIX",
    "CandidateArrays",
    "PlannedBlock",
    "RowBuffer",
    "block_rows_ok",
    "candidate_frame",
    "message_observations",
    "message_rows",
    "plan_for",
    "stored_slot",
    "upload_micros",
]

#: Data flags of HJ 212-2017 §6.6.4 表8 (N normal, F stopped, M maintenance, S set value,
#: D fault, C calibrating, T above range, B communication fault).
DATA_FLAGS = frozenset("NFMSDCTB")
#: Interval statistics dropped without a trace: only the mean (``-Avg``) is an observation
#: (表4); the raw log keeps the rest.
IGNORED_SUFFIXES = frozenset({"Min", "Max", "Cou", "ZsMin", "ZsMax"})
#: Minute intervals (MinInterval, 表4) the store has a period for (``ecobasin.store.queries``).
_MINUTE_PERIODS = {1: "1min", 10: "10min"}
#: Suffix of the converted (折算, reference O2) value next to each value suffix (表4).
_CONVERTED = {"Rtd": "ZsRtd", "Avg": "ZsAvg"}
#: Noise period values arrive as ``<code>-Data`` (HJ 212-2017 声环境 CP fields, e.g. ``Leq-Data``,
#: ``LMx-Data`` in 2051/2061/2031 packets): read like ``-Avg``. Issue 23.
_PERIOD_VALUE_ALIASES = frozenset({"Data"})
#: Noise day / night values of a daily (2031) packet (HJ 212-2017 声环境 CP fields
#: ``xxx-DayData`` / ``xxx-NightData``, noise brief §4.1 [seen S19c]): ``Leq-DayData`` is the
#: day's Ld (06:00-22:00), ``Leq-NightData`` its Ln (22:00-06:00, GB 3096-2008 §3.1-3.2),
#: stored as those parameters with period ``1d``. Other items' day/night values: raw log only.
_DAY_NIGHT_CN = "2031"
_DAY_NIGHT = {("Leq", "DayData"): "Ld", ("Leq", "NightData"): "Ln"}
_DAY_NIGHT_SUFFIXES = frozenset(suffix for _, suffix in _DAY_NIGHT)
#: The noise device's configured day / night limits [dB(A)] (CP fields ``DayStdValue`` /
#: ``NightStdValue``, [seen S19c]): settings, not measurements; kept in the raw log only.
_DEVICE_LIMIT_KEYS = frozenset({"DayStdValue", "NightStdValue"})
#: The suffix of the converted parameter id in the registry (``FG_SO2`` → ``FG_SO2_Zs``).
ZS_SUFFIX = "_Zs"
#: The suffix of an hourly amount's id (``FG_NOx-Cou`` [kg] → ``FG_NOx_Cou``), kept where the
#: registry has that id so the emergency check can compare it with Avg × flow (issue 17).
COU_SUFFIX = "_Cou"


@dataclass(frozen=True, slots=True)
class _Command:
    period: str
    length: timedelta  # added to DataTime: 0 for an instant, the period for a period start
    value_suffix: str


def _commands(minute_interval: int) -> dict[str, _Command]:
    if minute_interval not in _MINUTE_PERIODS:
        raise ValueError(
            f"minute_interval={minute_interval}: the store keeps minute data only as "
            f"{', '.join(f'{n} min' for n in _MINUTE_PERIODS)}"
        )
    return {
        "2011": _Command("instant", timedelta(0), "Rtd"),
        "2051": _Command(
            _MINUTE_PERIODS[minute_interval], timedelta(minutes=minute_interval), "Avg"
        ),
        "2061": _Command("1h", timedelta(hours=1), "Avg"),
        "2031": _Command("1d", timedelta(days=1), "Avg"),
    }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_TIME = _EPOCH


@cache
def _commands_cached(minute_interval: int) -> dict[str, _Command]:
    return _commands(minute_interval)


def stored_slot(cn: str, data_time: datetime, minute_interval: int = 10) -> tuple[str, datetime]:
    """Where the store keeps an upload's values: (period, UTC time), time = DataTime for 2011
    and the period's end for 2051 / 2061 / 2031 (表C.14–C.18; ``data_time`` tz-aware).

    Raises
    ------
    KeyError
        When ``cn`` carries no observations.
    """
    command = _commands_cached(minute_interval)[cn]
    return command.period, (data_time + command.length).astimezone(UTC)


#: Upload commands (表9) whose packets carry observations.
OBSERVATION_COMMANDS = frozenset(_commands(10))


def _data_time(text: str | None) -> datetime | None:
    """DataTime (N14, 表4) as a CST instant; a 17-digit time with milliseconds is truncated.

    Built with ``datetime(...)`` from the digit pairs (the same instants ``strptime`` reads from
    14 digits, several times faster: the gateway reads one per message).
    """
    if text is None:
        return None
    if len(text) == 17 and text.isdigit():
        text = text[:14]
    if len(text) != 14 or not text.isdigit():
        return None
    try:
        return datetime(
            int(text[:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            tzinfo=CST,
        )
    except ValueError:
        return None


def candidate_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The candidate frame of rows from :func:`message_rows` (of one message or many), columns
    in ``CANDIDATE_COLUMNS`` order, with stable dtypes."""
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    frame["value"] = frame["value"].astype("float64")
    frame["line"] = frame["line"].astype("int64")
    return frame


class RowBuffer:
    """Candidate rows of many messages collected column by column (the gateway's writer).

    :meth:`add` applies the rules of :func:`message_rows`; :meth:`frame` gives the same frame
    as ``candidate_frame`` of all those rows, built from columns (no dict per row).
    :meth:`add_block` adds the rows of many usual uploads of one plan at once (arrays); the
    frame then orders all rows by their message's ``position`` (set before each :meth:`add`),
    as if every message had been added one by one in that order.
    """

    def __init__(self, registry: pd.DataFrame | None = None) -> None:
        self.known = _registry_ids() if registry is None else frozenset(registry.index)
        self.columns: dict[str, list[object]] = {name: [] for name in CANDIDATE_COLUMNS}
        self.micros: list[int] = []  # time [µs since 1970, UTC], one per row
        self.position = 0  # the message position of the rows :meth:`add` adds next
        self.order: list[int] = []  # the message position of each row of ``columns``
        self.blocks: list[dict[str, np.ndarray]] = []  # rows of :meth:`add_block`

    def __len__(self) -> int:
        """Rows added by :meth:`add` (not those of :meth:`add_block`)."""
        return len(self.micros)

    def add(
        self,
        message: Message | Upload,
        *,
        site_id: str,
        domains: tuple[str, ...],
        source_ref: str,
        line: int,
        minute_interval: int = 10,
        period_end: bool = False,
    ) -> list[tuple[str, str]]:
        """Add the rows of one upload message; returns the CP items left out, with reasons.

        ``period_end``: the device labels a period by its end (:func:`message_rows`).

        An :class:`~ecobasin.ingest.hj212.codec.Upload` of the codec's fast path goes straight
        from its checked strings to floats (no ``Decimal``); the rows are those of its exact
        :class:`~ecobasin.ingest.hj212.codec.Message` (``tests/ingest/test_hj212_fast.py``).
        """
        if isinstance(message, Upload):
            planned = _planned(message, domains, minute_interval, self.known, period_end)
            if planned is not None:
                return self._add_planned(message, *planned, site_id, source_ref, line)
            time, period, values, skipped = _upload_values(
                message, domains, minute_interval, self.known, period_end
            )
        else:
            time, period, values, skipped = _message_values(
                message, domains, minute_interval, self.known, period_end
            )
        if not values:
            return skipped
        n = len(values)
        columns = self.columns
        columns["site_id"] += [site_id] * n
        columns["period"] += [period] * n
        columns["unit"] += [None] * n
        columns["line"] += [line] * n
        micros = (time - _EPOCH) // _MICROSECOND
        self.micros += [micros] * n
        keys, parameters, numbers, raw_values, flags = zip(*values, strict=True)
        columns["parameter"] += parameters
        columns["value"] += numbers
        columns["raw_value"] += raw_values
        columns["flag"] += flags
        columns["field"] += [f"{source_ref} {key}" for key in keys]
        self.order += [self.position] * n
        return skipped

    def _add_planned(
        self,
        upload: Upload,
        plan: _Plan,
        time: datetime,
        numbers: list[float],
        raw_values: list[str | None],
        flags: list[str | None],
        site_id: str,
        source_ref: str,
        line: int,
    ) -> list[tuple[str, str]]:
        """:meth:`add` of an upload whose rows follow its template's plan."""
        n = len(numbers)
        if not n:
            return list(plan.skipped)
        columns = self.columns
        columns["site_id"] += [site_id] * n
        columns["period"] += [plan.period] * n
        columns["unit"] += [None] * n
        columns["line"] += [line] * n
        self.micros += [(time - _EPOCH) // _MICROSECOND] * n
        columns["parameter"] += plan.parameters
        columns["value"] += numbers
        columns["raw_value"] += raw_values
        columns["flag"] += flags
        columns["field"] += [f"{source_ref} {key}" for key in plan.keys]
        self.order += [self.position] * n
        return list(plan.skipped)

    def add_block(self, plan: _Plan, block: PlannedBlock) -> None:
        """The rows of many usual uploads of one plan (:func:`block_rows_ok` true for each):
        the rows :meth:`add` gives each of them (``tests/ingest/test_hj212_batch.py``), made
        by array operations over the block instead of per message."""
        k, m = len(plan.keys), len(block.starts)
        if not k or not m:
            return
        values = block.values  # object array, "" appended (the -Flag of a code without one)
        at = block.starts[:, None] + plan.value_positions[None, :]
        numbers = block.numbers[at]  # a copy
        missing = np.isnan(numbers)  # a number of 表4 is never NaN: only an empty value is
        for row, (factor, offset) in plan.conversions:
            sent = numbers[:, row]
            numbers[:, row] = np.where(missing[:, row], sent, sent * factor + offset)
        flag_positions = plan.flag_positions[None, :]
        flag_at = np.where(
            flag_positions < 0, len(values) - 1, block.starts[:, None] + flag_positions
        )
        flags = values[flag_at]
        self.blocks.append(
            {
                "site_id": np.repeat(block.site_ids, k),
                "parameter": np.tile(np.array(plan.parameters, dtype=object), m),
                "period": np.full(m * k, plan.period, dtype=object),
                "value": numbers.ravel(),
                "raw_value": _choose(missing, "", None).ravel(),
                "unit": np.full(m * k, None, dtype=object),
                "flag": _choose(flags == "", None, flags).ravel(),
                "line": np.repeat(block.lines, k),
                # ``field`` is ref + key: joined only for the rows that need it
                # (:meth:`CandidateArrays.frame`), not for every row (issue 12, ninth pass)
                "ref": np.repeat(block.refs, k),
                "key": np.tile(np.array([f" {key}" for key in plan.keys], dtype=object), m),
                "micros": np.repeat(block.micros, k),
                "order": np.repeat(block.positions, k),
            }
        )

    def frame(self) -> pd.DataFrame:
        """The candidate frame (``CANDIDATE_COLUMNS``, dtypes as :func:`candidate_frame`)."""
        if self.blocks:
            return self._merged_frame()
        data: dict[str, object] = {}
        for name in CANDIDATE_COLUMNS:
            if name == "time":
                micros = np.asarray(self.micros, dtype=np.int64)
                data[name] = pd.DatetimeIndex(micros.astype("datetime64[us]")).tz_localize(UTC)
            elif name == "value":
                data[name] = np.asarray(self.columns[name], dtype=np.float64)
            elif name == "line":
                data[name] = np.asarray(self.columns[name], dtype=np.int64)
            else:  # dtypes inferred as for rows (str columns, object where all None)
                data[name] = self.columns[name]
        return pd.DataFrame(data, columns=list(CANDIDATE_COLUMNS))

    def _merged_frame(self) -> pd.DataFrame:
        """:meth:`frame` with blocks: every row in the order of its message's position
        (stable: a message's rows keep their order)."""
        return self.arrays().frame()

    def arrays(self) -> CandidateArrays:
        """Every row as columns (:class:`CandidateArrays`), those of :meth:`add` first, then
        the blocks' — not in message order: :meth:`CandidateArrays.frame` orders the rows it
        takes."""
        n = len(self.micros)
        listed = {
            **self.columns,
            "ref": self.columns["field"],
            "key": np.full(n, "", dtype=object),
            "micros": self.micros,
            "order": self.order,
        }
        return CandidateArrays(
            **{
                name: np.concatenate(
                    [
                        np.asarray(listed[name], dtype=_ARRAY_KINDS.get(name, object)),
                        *(block[name] for block in self.blocks),
                    ]
                )
                for name in _ARRAY_COLUMNS
            }
        )


#: The columns of :class:`CandidateArrays` and the dtypes that are not ``object``.
_ARRAY_COLUMNS = (
    "site_id",
    "parameter",
    "period",
    "micros",
    "value",
    "raw_value",
    "unit",
    "flag",
    "line",
    "ref",
    "key",
    "order",
)
_ARRAY_KINDS = {"value": np.float64, "line": np.int64, "micros": np.int64, "order": np.int64}


@dataclass(frozen=True, slots=True)
class CandidateArrays:
    """The candidate rows of a write as numpy columns (:meth:`RowBuffer.arrays`), in no
    particular order; ``order`` is each row's message position (rows of one message are
    next to each other, in their order).

    The writer validates the rows that could fail a check of
    :func:`~ecobasin.ingest.validate.validate_observations` through :meth:`frame` and stores
    the others straight from these columns (issue 12, Speed, ninth pass). ``field`` of the
    candidate frame is ``ref + key``, joined only in :meth:`frame`.
    """

    site_id: np.ndarray  # object (str)
    parameter: np.ndarray  # object (str)
    period: np.ndarray  # object (str)
    micros: np.ndarray  # int64 [µs since 1970, UTC]
    value: np.ndarray  # float64
    raw_value: np.ndarray  # object (str or None)
    unit: np.ndarray  # object (None: the registry's unit)
    flag: np.ndarray  # object (str or None)
    line: np.ndarray  # int64
    ref: np.ndarray  # object (str): the field's source reference
    key: np.ndarray  # object (str): the rest of the field (" a21026-Rtd"; "" when in ref)
    order: np.ndarray  # int64: the row's message position

    def __len__(self) -> int:
        return len(self.micros)

    def frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The candidate frame of ``rows`` (indices; None: all), in message order (stable),
        dtypes as :func:`candidate_frame`: what :meth:`RowBuffer.frame` gives for them."""
        order = self.order if rows is None else self.order[rows]
        sort = np.argsort(order, kind="stable")
        take = sort if rows is None else rows[sort]
        data: dict[str, object] = {}
        for name in CANDIDATE_COLUMNS:
            if name == "time":
                micros = self.micros[take]
                data[name] = pd.DatetimeIndex(micros.astype("datetime64[us]")).tz_localize(UTC)
            elif name in ("value", "line"):
                data[name] = getattr(self, name)[take]
            elif name == "field":
                data[name] = (self.ref[take] + self.key[take]).tolist()
            else:  # as lists: dtypes inferred exactly as for :meth:`RowBuffer.add`'s rows
                data[name] = getattr(self, name)[take].tolist()
        return pd.DataFrame(data, columns=list(CANDIDATE_COLUMNS))


def _choose(where: np.ndarray, yes: object, no: object) -> np.ndarray:
    """``np.where`` into an object array (str or None cells)."""
    out = np.empty(where.shape, dtype=object)
    out[...] = no
    out[where] = yes if not isinstance(yes, np.ndarray) else yes[where]
    return out


@dataclass(frozen=True, slots=True)
class PlannedBlock:
    """Usual uploads of one plan for :meth:`RowBuffer.add_block`, one entry per upload.

    ``values`` holds the ``Upload.values`` of all of them one after the other, then ``""``;
    upload ``i``'s value ``j`` is ``values[starts[i] + j]``, its number ``numbers[starts[i] + j]``
    (``codec.read_usual_batch`` gives both).
    """

    values: np.ndarray  # object (str)
    #: float64: the number of each of ``values`` (``float()`` of its text: the double of the
    #: decimal, correctly rounded), NaN for an empty one (missing, 表4) and a ``-Flag``
    numbers: np.ndarray
    starts: np.ndarray  # int64
    site_ids: np.ndarray  # object (str)
    refs: np.ndarray  # object (str): the ``source_ref`` of each upload
    lines: np.ndarray  # int64
    micros: np.ndarray  # int64 [µs since 1970, UTC]: each upload's row time
    positions: np.ndarray  # int64: each upload's message position


def block_rows_ok(plan: _Plan, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per upload of a block, whether its rows follow the plan (:func:`_planned`'s checks):
    every ``-Flag`` a data flag of 表8 or empty, every hourly ``-Cou`` there."""
    ok = np.ones(len(starts), dtype=bool)
    if len(plan.flag_item_positions):
        flags = values[starts[:, None] + plan.flag_item_positions[None, :]]
        known = np.zeros(flags.shape, dtype=bool)
        for flag in _FLAG_VALUES:
            known |= flags == flag
        ok &= known.all(axis=1)
    if len(plan.amount_positions):
        ok &= (values[starts[:, None] + plan.amount_positions[None, :]] != "").all(axis=1)
    return ok


def upload_micros(data_time: str, length: timedelta) -> int | None:
    """The row time [µs since 1970, UTC] of an upload's DataTime (checked 14 digits) and its
    command's period length (:func:`stored_slot`); None when it cannot be placed (overflow)."""
    start = _data_time(data_time)
    if start is None:
        return None
    try:
        return ((start + length).astimezone(UTC) - _EPOCH) // _MICROSECOND
    except (OverflowError, ValueError):
        return None


def message_observations(
    message: Message,
    *,
    site_id: str,
    domains: tuple[str, ...],
    source_ref: str,
    minute_interval: int = 10,
    registry: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The candidate observations of one upload message, and the CP items left out.

    :func:`message_rows` as a frame (see there for the rules); a caller decoding many messages
    (the gateway) collects rows and makes one frame with :func:`candidate_frame`.
    """
    rows, skipped = message_rows(
        message,
        site_id=site_id,
        domains=domains,
        source_ref=source_ref,
        minute_interval=minute_interval,
        registry=registry,
    )
    return candidate_frame(rows), skipped


def message_rows(
    message: Message,
    *,
    site_id: str,
    domains: tuple[str, ...],
    source_ref: str,
    minute_interval: int = 10,
    registry: pd.DataFrame | None = None,
) -> tuple[list[dict[str, object]], list[tuple[str, str]]]:
    """The candidate observation rows of one upload message, and the CP items left out.

    Rules (HJ 212-2017):

    - **Commands** (§6.6.5 表9): 2011 real-time, 2051 minute, 2061 hourly and 2031 daily data
      carry observations. Any other CN (1062, 9014, 2021 running state, 2041 running time …)
      gives an empty frame and one skipped entry ``("CN", "command CN=… carries no
      observations")``.
    - **Time** (表4 DataTime, 表C.14–C.18): for 2011 DataTime is the sampling instant: period
      ``instant``, time = DataTime. For 2051 / 2061 / 2031 it is the **start** of the period,
      and ecobasin stores a period at the instant it **ends** (``ecobasin.timebase``): time =
      DataTime + period length; periods ``10min`` (or ``1min`` with ``minute_interval=1``),
      ``1h``, ``1d``. DataTime is China Standard Time (UTC+8) and is converted to UTC:
      a 2061 with DataTime 2024-01-01 10:00 is the hour 10:00–11:00 CST, stored at 03:00Z.
      A device whose site says ``hj212_datatime = "period_end"`` (``period_end=True`` of
      :meth:`RowBuffer.add`) labels the period by its end: time = DataTime (noise brief §4.1).
      A 17-digit DataTime (milliseconds) is truncated to 14 digits. Without a readable
      DataTime every value item is skipped.
    - **Values** (§6.3.3, 表4): ``-Rtd`` for 2011, ``-Avg`` otherwise (noise stations send
      ``-Data`` instead, e.g. ``Leq-Data``: read the same way). In a daily (2031) packet
      ``Leq-DayData`` / ``Leq-NightData`` are the day's ``Ld`` / ``Ln`` [dB(A)]; other
      ``-DayData`` / ``-NightData`` items and ``DayStdValue`` / ``NightStdValue`` (the device's
      limits) are skipped, kept in the raw log only (no error). ``-Min``, ``-Max``,
      ``-Cou``, ``-ZsMin`` and ``-ZsMax`` are ignored and not listed (the raw log keeps them),
      except an hourly (2061) ``-Cou`` whose ``<id>_Cou`` is in the registry (flue-gas
      pollutant amounts [kg], issue 17): a row of that id.
      A value that is not a number (``3O.5``) is skipped; an empty value (missing) becomes a row
      with ``value`` NaN and ``raw_value`` ``""``, which validation counts as missing.
    - **Converted values** (表4 ``-ZsRtd`` / ``-ZsAvg``, 折算 to the reference O2) become a
      second row with parameter ``<id>_Zs`` only when the registry has that id; otherwise they
      are skipped with the reason "converted value kept in the raw log only".
    - **Flags** (§6.6.4 表8): ``<code>-Flag`` in N F M S D C T B goes into ``flag`` of the
      code's rows (the raw and the converted one). Another letter is a skipped item and the rows
      get no flag. No flag or an empty one: ``flag`` None.
    - **Codes** (附录 B 表B.1/B.2, 2017 and the 2005 原编码) map to parameter ids within
      ``domains`` through :func:`ecobasin.catalog.parameter_for_code`; an unknown code is a
      skipped item naming the code.
    - Every other item (``-SampleTime``, ``-EFlag``, ``-Info``, ``SBx-RS``, keys without a
      suffix, a ``-Rtd`` in an hourly packet …) is skipped: kept in the raw log only.
    - **Units** (附录 B): HJ 212 sends no units; each item travels in its Appendix B default
      unit (the registry's ``hj212_unit``: a01006 air pressure in kPa) and is converted here to
      the registry unit (hPa), so ``unit`` is None (the registry's canonical unit), ``line`` 0,
      ``field`` ``f"{source_ref} {item key}"``.

    Parameters
    ----------
    message : Message
        The upload as read by :func:`ecobasin.ingest.hj212.read_segment`.
    site_id : str
        The site the device (MN) belongs to.
    domains : tuple of str
        The site's parameter domains: ``("air", "met")`` for an air station, ``("flue_gas",)``
        for a stack, ``("water",)`` for a water section or outlet.
    source_ref : str
        Where the message came from (raw-log reference), prefixed to ``field``.
    minute_interval : int, default 10
        The device's MinInterval in minutes (2051 only): 10 or 1.
    registry : pandas.DataFrame, optional
        The parameter registry (default ``catalog.parameters()``), to look up ``<id>_Zs``.

    Returns
    -------
    rows : list of dict
        Candidate observations, keys ``CANDIDATE_COLUMNS``.
    skipped : list of (str, str)
        (item key, reason) for each item that is not an observation.

    Raises
    ------
    ValueError
        When ``minute_interval`` has no stored period.
    """
    known = _registry_ids() if registry is None else frozenset(registry.index)
    time, period, values, skipped = _message_values(message, domains, minute_interval, known)
    rows: list[dict[str, object]] = [
        {
            "site_id": site_id,
            "parameter": parameter,
            "period": period,
            "time": time,
            "value": value,
            "raw_value": raw_value,
            "unit": None,
            "flag": flag,
            "line": 0,
            "field": f"{source_ref} {key}",
        }
        for key, parameter, value, raw_value, flag in values
    ]
    return rows, skipped


#: (item key, parameter, value, raw_value, flag) of one observation of a message.
_Value = tuple[str, str, float, str | None, str | None]


def _message_values(
    message: Message,
    domains: tuple[str, ...],
    minute_interval: int,
    known: frozenset[str],
    period_end: bool = False,
) -> tuple[datetime, str, list[_Value], list[tuple[str, str]]]:
    """The rules of :func:`message_rows`: (UTC time, period, values, skipped items)."""
    command = _commands_cached(minute_interval).get(message.cn or "")
    if command is None:
        return _NO_TIME, "", [], [("CN", f"command CN={message.cn} carries no observations")]
    cn = message.cn
    converted_suffix = _CONVERTED[command.value_suffix]
    accepted = {command.value_suffix, converted_suffix}
    if command.value_suffix == "Avg":
        accepted |= _PERIOD_VALUE_ALIASES
    cp = message.cp
    start = _data_time(cp.get("DataTime"))
    if start is None:
        problem = (
            "no DataTime"
            if "DataTime" not in cp
            else f"DataTime {cp['DataTime']!r} is not YYYYMMDDhhmmss"
        )
        skipped = [("DataTime", problem)]
        skipped += [
            (item.key, f"{problem}: the value cannot be placed in time")
            for item in message.items
            if item.suffix in accepted
        ]
        return _NO_TIME, command.period, [], skipped
    time = _period_end_time(start, command.length, period_end)

    values: list[_Value] = []
    skipped = []
    for item in message.items:
        suffix = item.suffix
        if suffix == "Cou" and cn == "2061":
            amount = _amount(item, cp, domains, known)
            if amount is not None:
                values.append((item.key, *amount))
            continue
        if suffix in IGNORED_SUFFIXES or item.key == "DataTime":
            continue
        if suffix == "Flag":
            if item.value and item.value not in DATA_FLAGS:
                skipped.append(
                    (item.key, f"unknown data flag {item.value!r} (表8: N F M S D C T B)")
                )
            continue
        if suffix in _DAY_NIGHT_SUFFIXES or suffix not in accepted:
            found = _item_parameter(
                item.code, suffix, cn, accepted, converted_suffix, domains, known
            )
            if isinstance(found, str):
                skipped.append((item.key, found))
                continue
        row = _row(item, cp, domains, converted=suffix == converted_suffix)
        if not isinstance(row, str) and suffix in _DAY_NIGHT_SUFFIXES:
            row = (_DAY_NIGHT[(row[0], suffix)], *row[1:])
        if isinstance(row, str):
            skipped.append((item.key, row))
            continue
        if row[0] not in known:  # only a converted id can be missing
            skipped.append((item.key, "converted value kept in the raw log only"))
            continue
        values.append((item.key, *row))
    return time, command.period, values, skipped


def _upload_values(
    upload: Upload,
    domains: tuple[str, ...],
    minute_interval: int,
    known: frozenset[str],
    period_end: bool = False,
) -> tuple[datetime, str, list[_Value], list[tuple[str, str]]]:
    """:func:`_message_values` of a fast-path upload, from its checked strings: a value is
    ``float(text)`` (the same double as ``float(Decimal(text))``: both round the decimal
    correctly) or NaN when empty. Anything out of the common (no readable DataTime) takes the
    exact path."""
    command = _commands_cached(minute_interval).get(upload.cn or "")
    start = _data_time(upload.data_time)
    cou = upload.cn == "2061" and any(item[2] == "Cou" for item in upload.template.items)
    if command is None or start is None or cou:  # hourly amounts (_amount): the exact way
        return _message_values(upload.message(), domains, minute_interval, known, period_end)
    cn = upload.cn
    value_suffix = command.value_suffix
    converted_suffix = _CONVERTED[value_suffix]
    accepted = {value_suffix, converted_suffix}
    if value_suffix == "Avg":
        accepted |= _PERIOD_VALUE_ALIASES
    time = _period_end_time(start, command.length, period_end)
    flags = {code: value for _, code, suffix, value in upload.items if suffix == "Flag"}
    values: list[_Value] = []
    skipped: list[tuple[str, str]] = []
    for key, code, suffix, value in upload.items:
        if suffix in IGNORED_SUFFIXES or key == "DataTime":
            continue
        if suffix == "Flag":
            if value and value not in DATA_FLAGS:
                skipped.append((key, f"unknown data flag {value!r} (表8: N F M S D C T B)"))
            continue
        resolved = _item_parameter(code, suffix, cn, accepted, converted_suffix, domains, known)
        if isinstance(resolved, str):
            skipped.append((key, resolved))
            continue
        parameter, conversion = resolved
        flag = flags.get(code)
        if value:
            number = (
                float(value) if conversion is None else _in_registry_unit(float(value), conversion)
            )
            values.append((key, parameter, number, None, flag if flag in DATA_FLAGS else None))
        else:  # missing (表4: empty value): NaN, counted as missing by validation
            values.append((key, parameter, math.nan, "", flag if flag in DATA_FLAGS else None))
    return time, command.period, values, skipped


#: Takes the values at a plan's positions from ``Upload.values`` (:func:`_take`).
_Take = Callable[[list[str]], tuple[str, ...]]


@dataclass(frozen=True, slots=True, eq=False)
class _Plan:
    """The rows of every upload of one :class:`CpTemplate` for one CN, domains and registry:
    which value becomes which row, worked out once (the rules of :func:`_message_values`)."""

    period: str
    length: timedelta
    keys: tuple[str, ...]  # item key of each row
    parameters: tuple[str, ...]
    value_at: _Take  # each row's value from ``Upload.values``
    conversions: tuple[tuple[int, tuple[float, float]], ...]  # (row, HJ 212 → registry unit)
    flag_at: _Take  # each row's ``-Flag`` value ("" where the code has none)
    flag_items: _Take | None  # every ``-Flag`` value (a letter outside 表8: no plan)
    amount_at: _Take | None  # hourly ``-Cou`` values (one empty: no row, so no plan)
    skipped: tuple[tuple[str, str], ...]  # items left out whatever their values
    #: The same positions in ``Upload.values`` as arrays, for a batch (:meth:`RowBuffer.add_block`):
    #: each row's value, each row's ``-Flag`` (-1: none), every ``-Flag``, every hourly ``-Cou``.
    value_positions: np.ndarray
    flag_positions: np.ndarray
    flag_item_positions: np.ndarray
    amount_positions: np.ndarray


def _take(positions: tuple[int, ...]) -> _Take:
    """The values at fixed positions of a list, as a tuple (``operator.itemgetter``, a loop
    in C; it returns a bare value for one position, hence the wrapper); position -1 gives
    "" (a code without a ``-Flag`` item)."""
    if any(at < 0 for at in positions):
        return lambda values: tuple(values[at] if at >= 0 else "" for at in positions)
    if len(positions) == 1:
        only = positions[0]
        return lambda values: (values[only],)
    if positions:
        return operator.itemgetter(*positions)
    return lambda values: ()


#: A data flag of 表8, or none (empty).
_FLAG_VALUES = DATA_FLAGS | {""}


#: Plans by (template, CN, domains, MinInterval, registry ids); bounded: cleared when full.
_PLANS: dict[tuple[CpTemplate, str, tuple[str, ...], int, frozenset[str]], _Plan | None] = {}
_PLANS_MAX = 20_000


def _planned(
    upload: Upload,
    domains: tuple[str, ...],
    minute_interval: int,
    known: frozenset[str],
    period_end: bool = False,
) -> tuple[_Plan, datetime, list[float], list[str | None], list[str | None]] | None:
    """The rows of a usual upload by its template's plan: (plan, UTC time, values, raw
    values, flags); None when the plan does not apply (then :func:`_upload_values`, which
    names what is left out): not a usual template, no readable DataTime, a data flag outside
    表8, an empty hourly amount. The rows are those of the exact Message
    (``tests/ingest/test_hj212_fast.py``)."""
    template = upload.template
    if not template.usual:
        return None
    plan = plan_for(template, upload.cn or "", domains, minute_interval, known)
    if plan is None:
        return None
    values = upload.values
    if plan.flag_items and not _FLAG_VALUES.issuperset(plan.flag_items(values)):
        return None
    if plan.amount_at and not all(plan.amount_at(values)):
        return None
    start = _data_time(upload.data_time)
    if start is None:
        return None
    texts = plan.value_at(values)
    if all(texts):  # the usual message: every value there, taken by C loops
        numbers = list(map(float, texts))
        raw_values: list[str | None] = [None] * len(texts)
        for at, (factor, offset) in plan.conversions:
            numbers[at] = numbers[at] * factor + offset
    else:  # missing values (表4: empty value): NaN, counted as missing by validation
        numbers = [float(text) if text else math.nan for text in texts]
        raw_values = [None if text else "" for text in texts]
        for at, (factor, offset) in plan.conversions:
            if texts[at]:
                numbers[at] = numbers[at] * factor + offset
    flags: list[str | None] = [text or None for text in plan.flag_at(values)]
    return plan, _period_end_time(start, plan.length, period_end), numbers, raw_values, flags


def plan_for(
    template: CpTemplate,
    cn: str,
    domains: tuple[str, ...],
    minute_interval: int,
    known: frozenset[str],
) -> _Plan | None:
    """The plan of a usual template's rows for CN and domains (worked out once, then cached);
    None for a CN without observations."""
    key = (template, cn, domains, minute_interval, known)
    plan = _PLANS.get(key)
    if plan is None and key not in _PLANS:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[key] = _plan(template, cn, domains, minute_interval, known)
    return plan


def _plan(
    template: CpTemplate,
    cn: str,
    domains: tuple[str, ...],
    minute_interval: int,
    known: frozenset[str],
) -> _Plan | None:
    """The plan of a template (:class:`_Plan`); None for a CN without observations."""
    command = _commands_cached(minute_interval).get(cn)
    if command is None:
        return None
    converted_suffix = _CONVERTED[command.value_suffix]
    accepted = {command.value_suffix, converted_suffix}
    if command.value_suffix == "Avg":
        accepted |= _PERIOD_VALUE_ALIASES
    flag_of = {code: at for at, (_, code, suffix) in enumerate(template.items) if suffix == "Flag"}
    rows: list[tuple[str, str, int, tuple[float, float] | None, int]] = []
    flag_items, amount_at, skipped = [], [], []
    for at, (key, code, suffix) in enumerate(template.items):
        if suffix == "Cou" and cn == "2061":  # an hourly amount [kg] (issue 17), as _amount
            found = _code_parameter(code, domains)
            if found is not None and found[0] + COU_SUFFIX in known:
                rows.append((key, found[0] + COU_SUFFIX, at, None, flag_of.get(code, -1)))
                amount_at.append(at)
            continue
        if suffix in IGNORED_SUFFIXES or key == "DataTime":
            continue
        if suffix == "Flag":
            flag_items.append(at)
            continue
        resolved = _item_parameter(code, suffix, cn, accepted, converted_suffix, domains, known)
        if isinstance(resolved, str):
            skipped.append((key, resolved))
            continue
        parameter, conversion = resolved
        rows.append((key, parameter, at, conversion, flag_of.get(code, -1)))
    conversions = tuple((n, row[3]) for n, row in enumerate(rows) if row[3] is not None)
    return _Plan(
        period=command.period,
        length=command.length,
        keys=tuple(row[0] for row in rows),
        parameters=tuple(row[1] for row in rows),
        value_at=_take(tuple(row[2] for row in rows)),
        conversions=conversions,
        flag_at=_take(tuple(row[4] for row in rows)),
        flag_items=_take(tuple(flag_items)) if flag_items else None,
        amount_at=_take(tuple(amount_at)) if amount_at else None,
        skipped=tuple(skipped),
        value_positions=np.array([row[2] for row in rows], dtype=np.int64),
        flag_positions=np.array([row[4] for row in rows], dtype=np.int64),
        flag_item_positions=np.array(flag_items, dtype=np.int64),
        amount_positions=np.array(amount_at, dtype=np.int64),
    )


@cache
def _registry_ids() -> frozenset[str]:
    return frozenset(catalog.parameters().index)


def _row(
    item: CpItem, cp: dict[str, str], domains: tuple[str, ...], *, converted: bool
) -> tuple[str, float, str | None, str | None] | str:
    """(parameter, value, raw_value, flag) of a value item, or the reason it is skipped."""
    known = _code_parameter(item.code, domains)
    if known is None:
        return f"factor code {item.code!r} is not a parameter of domains {', '.join(domains)}"
    parameter, conversion = known
    if item.number is None and item.value != "":
        return f"value {item.value!r} is not a number"
    flag = cp.get(f"{item.code}-Flag")
    return (
        parameter + ZS_SUFFIX if converted else parameter,
        math.nan if item.number is None else _in_registry_unit(float(item.number), conversion),
        item.value if item.number is None else None,
        flag if flag in DATA_FLAGS else None,
    )


def _amount(
    item: CpItem, cp: dict[str, str], domains: tuple[str, ...], known: frozenset[str]
) -> tuple[str, float, str | None, str | None] | None:
    """An hourly ``-Cou`` [kg] as ``<id>_Cou`` when the registry has that id, else None (kept
    in the raw log only, as before): emergency.md §2.1 checks it against Avg × flow."""
    found = _code_parameter(item.code, domains)
    if found is None or found[0] + COU_SUFFIX not in known or item.number is None:
        return None
    flag = cp.get(f"{item.code}-Flag")
    return found[0] + COU_SUFFIX, float(item.number), None, flag if flag in DATA_FLAGS else None


def _in_registry_unit(sent: float, conversion: tuple[float, float] | None) -> float:
    if conversion is None:  # sent in the registry unit already (most items)
        return sent
    factor, offset = conversion
    return sent * factor + offset


def _item_parameter(
    code: str,
    suffix: str | None,
    cn: str | None,
    accepted: set[str],
    converted_suffix: str,
    domains: tuple[str, ...],
    known: frozenset[str],
) -> tuple[str, tuple[float, float] | None] | str:
    """The stored parameter of one CP item and how its value converts (:func:`_code_parameter`),
    or why it is not stored (the raw log keeps it): shared by the fast path and its plans."""
    if suffix is None and code in _DEVICE_LIMIT_KEYS:
        return f"{code} is the device's configured limit, not a measurement; raw log only"
    if suffix in _DAY_NIGHT_SUFFIXES:
        return _day_night_parameter(code, suffix, cn, domains)
    if suffix not in accepted:
        return f"not an observation of CN={cn}; kept in the raw log only"
    found = _code_parameter(code, domains)
    if found is None:
        return f"factor code {code!r} is not a parameter of domains {', '.join(domains)}"
    parameter, conversion = found
    if suffix == converted_suffix:
        parameter += ZS_SUFFIX
    if parameter not in known:  # only a converted id can be missing
        return "converted value kept in the raw log only"
    return parameter, conversion


def _day_night_parameter(
    code: str, suffix: str, cn: str | None, domains: tuple[str, ...]
) -> tuple[str, tuple[float, float] | None] | str:
    """``Leq-DayData`` / ``Leq-NightData`` of a daily packet → Ld / Ln (:data:`_DAY_NIGHT`), or
    why the item is not stored (another CN or item: raw log only)."""
    found = _code_parameter(code, domains)
    if found is None:
        return f"factor code {code!r} is not a parameter of domains {', '.join(domains)}"
    parameter = _DAY_NIGHT.get((found[0], suffix))
    if cn != _DAY_NIGHT_CN or parameter is None:
        return f"{code}-{suffix} in CN={cn}: no stored parameter; kept in the raw log only"
    return parameter, found[1]


def _period_end_time(start: datetime, length: timedelta, period_end: bool) -> datetime:
    """The UTC instant a period ends at, from its DataTime: HJ 212-2017 表C labels a period by
    its start (``period_end`` False: add its length); a device whose site says
    ``hj212_datatime = "period_end"`` labels it by its end already (noise brief §4.1)."""
    return (start if period_end else start + length).astimezone(UTC)


@cache
def _code_parameter(
    code: str, domains: tuple[str, ...]
) -> tuple[str, tuple[float, float] | None] | None:
    """The parameter of an HJ 212 factor code within ``domains`` and how a value as sent
    (HJ 212-2017 Appendix B unit, e.g. a01006 [kPa]) becomes a registry value (pressure [hPa]):
    ``(parameter, (factor, offset))`` from ``hj212_unit`` of ``parameters.csv``; None for a
    code of no parameter there. Cached: looked up once per (code, domains), not per value."""
    try:
        parameter = catalog.parameter_for_code(code, domains)
    except KeyError:
        return None
    return parameter, catalog.hj212_unit_conversion(parameter)
