"""IAQI and AQI: HJ 633-2012 and HJ 633-2026 (plus the optional EPA-2024 rule set).

One code path serves one value or a hundred million: every public function ends in
:func:`iaqi_array`, which rounds concentrations per GB/T 8170 (vectorised and exact, see
:mod:`ecobasin.standards.rounding`), scales CO by 10 so that every concentration is an int64,
and looks the IAQI up in a table built once per item by exact integer arithmetic::

    IAQI = I_lo + ceil((I_hi - I_lo) * (C - BP_lo) / (BP_hi - BP_lo))

with integer ceil division (``-((-num) // den)``), so CO 2.2 → 55 and CO 1-h 65.4 → 218 exactly.

Decisions the standards leave open (documented here and in the report):

* **Above the top of the table** (e.g. PM2.5 > 500): HJ 633 is silent; the IAQI is capped at
  500 and the row's ``over_range`` flag is set. Never an exception.
* **Negative, NaN or missing** concentrations give a missing IAQI (NA), never an exception.
* **800 rules:** HJ 633-2012 notes (2)/(3): SO2 1-h > 800 → the SO2 IAQI of the 24-h mean (NA
  when that is not supplied); O3 8-h > 800 → the O3 1-h IAQI. HJ 633-2026 notes b/c: fixed 200
  and 300.
* **Concentrations are rounded before the IAQI step under both generations** (HJ 633-2026
  §4.2.2; HJ 663 practice under 2012).
* **Labels:** IAQI keys and primary-pollutant labels are the pollutant names, with O3 always
  suffixed by its averaging period: ``SO2, NO2, PM10, CO, O3_1h, O3_8h, PM2.5``. Tied primary
  pollutants are listed in that fixed order (the column order of HJ 633-2012 Table 1).
* **Missing indicators** (HJ 633-2026 §5.3.1, applied to both generations and flagged with
  ``incomplete``): when any indicator is missing and the AQI of the rest is ≤ 100, the AQI,
  level, category and primary pollutant are NA and ``publish_aqi`` is False.

References
----------
.. [1] HJ 633-2012, Technical Regulation on Ambient Air Quality Index (on trial): §3.3, §3.4,
   §4.2 formula (1), §4.4, §5.1.2, §5.1.3, §6.2, Table 1 notes (1)-(3), Table 2.
.. [2] HJ 633-2026, Technical Regulation on Ambient Air Quality Index: §4.2.2-§4.2.6, §4.3.1,
   §5.3.1, Table 1, Table 3 notes a-c.
.. [3] US EPA, Technical Assistance Document for the Reporting of Daily Air Quality, May 2024.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.air_tables import (
    DEFAULT_SWITCH_DATE,
    NA_CODE,
    OVER_CODE,
    SUBSTITUTE_CODE,
    ItemTable,
    LevelInfo,
    RuleSet,
    levels,
    rule_set,
)

__all__ = [
    "INDICATOR_ORDER",
    "AQIArrays",
    "Indicator",
    "aqi_arrays",
    "aqi_level",
    "aqi_record",
    "daily_aqi",
    "hourly_aqi",
    "iaqi",
    "iaqi_array",
    "iaqi_value",
    "level_info",
    "local_day",
    "report_indicators",
]

Report = Literal["hourly", "daily"]
I16 = npt.NDArray[np.int16]
BoolArray = npt.NDArray[np.bool_]

#: Fixed order of indicators (HJ 633-2012 Table 1 column order), used for tied primaries.
INDICATOR_ORDER: tuple[str, ...] = ("SO2", "NO2", "PM10", "CO", "O3_1h", "O3_8h", "PM2.5")


@dataclass(frozen=True)
class Indicator:
    """One indicator of a report.

    Attributes
    ----------
    label : str
        IAQI key and primary-pollutant label (e.g. ``"O3_8h"``).
    columns : tuple of str
        Accepted input column names, first found wins.
    item : str
        Breakpoint item (e.g. ``"PM2.5_24h"``).
    fallback_label : str or None
        Indicator whose IAQI replaces this one above the table (2012 O3 8-h rule).
    fallback_columns : tuple of str
        Input columns of a substitute concentration (2012 SO2 1-h rule) and its item.
    fallback_item : str or None
    """

    label: str
    columns: tuple[str, ...]
    item: str
    fallback_label: str | None = None
    fallback_columns: tuple[str, ...] = ()
    fallback_item: str | None = None


_REPORTS: dict[tuple[str, str], tuple[Indicator, ...]] = {
    # HJ 633-2012 §5.1.3: gases 1-h, O3 1-h and 8-h moving, PM 24-h moving (PM 1-h: no IAQI)
    ("HJ633-2012", "hourly"): (
        Indicator("SO2", ("SO2_1h",), "SO2_1h", None, ("SO2_24h_moving", "SO2_24h"), "SO2_24h"),
        Indicator("NO2", ("NO2_1h",), "NO2_1h"),
        Indicator("PM10", ("PM10_24h_moving",), "PM10_24h"),
        Indicator("CO", ("CO_1h",), "CO_1h"),
        Indicator("O3_1h", ("O3_1h",), "O3_1h"),
        Indicator("O3_8h", ("O3_8h_moving", "O3_8h"), "O3_8h", "O3_1h"),
        Indicator("PM2.5", ("PM2.5_24h_moving",), "PM2.5_24h"),
    ),
    # HJ 633-2026 §4.2.3-§4.2.4: six 1-h values, PM on the daily breakpoints
    ("HJ633-2026", "hourly"): (
        Indicator("SO2", ("SO2_1h", "SO2"), "SO2_1h"),
        Indicator("NO2", ("NO2_1h", "NO2"), "NO2_1h"),
        Indicator("PM10", ("PM10_1h", "PM10"), "PM10_24h"),
        Indicator("CO", ("CO_1h", "CO"), "CO_1h"),
        Indicator("O3_1h", ("O3_1h", "O3"), "O3_1h"),
        Indicator("PM2.5", ("PM2.5_1h", "PM2.5"), "PM2.5_24h"),
    ),
    # HJ 633-2012 §5.1.2: 7 indicators incl. O3 daily max 1-h and max 8-h
    ("HJ633-2012", "daily"): (
        Indicator("SO2", ("SO2", "SO2_24h"), "SO2_24h"),
        Indicator("NO2", ("NO2", "NO2_24h"), "NO2_24h"),
        Indicator("PM10", ("PM10", "PM10_24h"), "PM10_24h"),
        Indicator("CO", ("CO", "CO_24h"), "CO_24h"),
        Indicator("O3_1h", ("O3_1h_max", "O3_1h"), "O3_1h"),
        Indicator("O3_8h", ("O3_8h_max", "O3_8h"), "O3_8h", "O3_1h"),
        Indicator("PM2.5", ("PM2.5", "PM2.5_24h"), "PM2.5_24h"),
    ),
    # HJ 633-2026 §4.2.2: 6 indicators (O3 1-h max dropped)
    ("HJ633-2026", "daily"): (
        Indicator("SO2", ("SO2", "SO2_24h"), "SO2_24h"),
        Indicator("NO2", ("NO2", "NO2_24h"), "NO2_24h"),
        Indicator("PM10", ("PM10", "PM10_24h"), "PM10_24h"),
        Indicator("CO", ("CO", "CO_24h"), "CO_24h"),
        Indicator("O3_8h", ("O3_8h", "O3_8h_max"), "O3_8h"),
        Indicator("PM2.5", ("PM2.5", "PM2.5_24h"), "PM2.5_24h"),
    ),
}


def report_indicators(rule_set_name: str, report: Report) -> tuple[Indicator, ...]:
    """Indicators of the real-time (``"hourly"``) or daily report of a rule set.

    References
    ----------
    .. [1] HJ 633-2012 §5.1.2 (daily, 7 indicators), §5.1.3 (real-time).
    .. [2] HJ 633-2026 §4.2.2 (daily, 6 indicators), §4.2.3 (real-time, 6 indicators).
    """
    try:
        return _REPORTS[(rule_set_name, report)]
    except KeyError:
        raise KeyError(f"no {report!r} report defined for rule set {rule_set_name!r}") from None


# ---------------------------------------------------------------------------------------------
# IAQI kernel
# ---------------------------------------------------------------------------------------------


def _codes_lut(table: ItemTable, x: npt.NDArray[np.float64]) -> I16:
    """Raw int16 codes: IAQI, OVER_CODE, SUBSTITUTE_CODE or NA_CODE."""
    top = table.top
    if table.decimals == 0:
        y = np.full(x.shape, -1.0)
        np.rint(x, out=y, where=x >= 0)
        np.minimum(y, top + 1, out=y)
    else:
        scale = 10.0**table.decimals
        # bound first: no huge values reach the rounding; NaN propagates through minimum.
        # Exact GB/T 8170 (see rounding.py): n = floor(x*s), tie t = (n + 0.5)/s correctly
        # rounded; up when x > t; an exact tie (x == t) goes to the even neighbour.
        xb = np.minimum(x, (top + 2) / scale)
        y = np.multiply(xb, scale)
        np.floor(y, out=y)
        t = np.add(y, 0.5)
        np.divide(t, scale, out=t)
        y += xb > t
        ties = np.flatnonzero(xb == t)
        if ties.size:
            y[ties] += np.fmod(y[ties], 2.0) != 0.0
        np.copyto(y, -1.0, where=~(x >= 0))
        np.minimum(y, top + 1, out=y)
    idx = y.astype(np.int32)
    return np.asarray(table.lut.take(idx, mode="wrap"), dtype=np.int16)


def _codes_epa(table: ItemTable, x: npt.NDArray[np.float64]) -> I16:
    """EPA: truncate the concentration, segment lookup, round the index to nearest."""
    scale = 10.0**table.decimals
    segs = table.segments
    top = int(segs[-1, 1])
    valid = x >= 0
    with np.errstate(invalid="ignore", over="ignore"):
        xc = np.where(valid, np.minimum(x, 4.0 * top / scale), 0.0)
        n = np.floor(xc * scale)
        n += xc >= (n + 1) / scale  # float x*scale may land a hair below the grid point
    c = n.astype(np.int64)
    seg = np.searchsorted(segs[:, 0], c, side="right") - 1
    below = seg < 0
    seg = np.clip(seg, 0, len(segs) - 1)
    lo, hi, ilo, ihi = (segs[seg, k] for k in range(4))
    num = 2 * (ihi - ilo) * (c - lo) + (hi - lo)
    out = ilo + num // (2 * (hi - lo))
    out = np.where(valid & ~below, out, NA_CODE)
    return np.asarray(out, dtype=np.int16)


def _raw_codes(rs: RuleSet, item: str, conc: npt.ArrayLike) -> I16:
    table = rs.item(item)
    x = np.asarray(conc, dtype=np.float64)
    if rs.index_rounding == "ceil":
        return _codes_lut(table, x)
    return _codes_epa(table, x)


def iaqi_array(
    item: str,
    concentration: npt.ArrayLike,
    rule_set_name: str = "HJ633-2026",
    *,
    fallback: npt.ArrayLike | None = None,
) -> tuple[I16, BoolArray]:
    """IAQI of one item for an array of concentrations (the fast path).

    Parameters
    ----------
    item : str
        ``"SO2_24h"``, ``"SO2_1h"``, ``"NO2_24h"``, ``"NO2_1h"``, ``"CO_24h"``, ``"CO_1h"``,
        ``"O3_1h"``, ``"O3_8h"``, ``"PM10_24h"`` or ``"PM2.5_24h"`` (PM 1-h values under
        HJ 633-2026 use the 24-h items, §4.2.4).
    concentration : array-like of float
        Unrounded concentrations [µg/m³] ([mg/m³] for CO). NaN or negative → missing.
    rule_set_name : str, default "HJ633-2026"
    fallback : array-like of float, optional
        Concentration of the substitute item for the HJ 633-2012 800 rules: the SO2 24-h mean
        for ``SO2_1h``, the O3 1-h value for ``O3_8h``.

    Returns
    -------
    iaqi : numpy.ndarray of int16
        IAQI, ``-1`` where missing.
    over_range : numpy.ndarray of bool
        True where the concentration is above the top of the table (IAQI capped at 500).

    References
    ----------
    .. [1] HJ 633-2012 §4.2 formula (1), §6.2, Table 1 notes (2)-(3).
    .. [2] HJ 633-2026 §4.2.2, §4.2.4, §4.2.6, Table 3 notes b-c.
    """
    rs = rule_set(rule_set_name)
    codes = _raw_codes(rs, item, concentration)
    return _finish(rs, rs.item(item), codes, fallback)


def _finish(
    rs: RuleSet, table: ItemTable, codes: I16, fallback: npt.ArrayLike | I16 | None
) -> tuple[I16, BoolArray]:
    sub_item = table.substitute
    if sub_item is not None:
        need = codes == SUBSTITUTE_CODE
        if need.any():
            if fallback is None:
                codes = np.where(need, np.int16(NA_CODE), codes)
            else:
                fb = np.asarray(fallback)
                if fb.dtype != np.int16:  # a concentration
                    fb, _ = iaqi_array(sub_item, fb, rs.name)
                fb = np.broadcast_to(fb, codes.shape)
                codes = np.where(need, fb, codes)
    if rs.index_rounding == "ceil":
        over = codes == OVER_CODE
        if over.any():
            codes = np.where(over, np.int16(500), codes)
    else:
        over = codes > 500
    return codes, over


def iaqi(
    item: str,
    concentration: npt.ArrayLike,
    rule_set_name: str = "HJ633-2026",
    *,
    fallback: npt.ArrayLike | None = None,
) -> pd.arrays.IntegerArray:
    """IAQI of one item as a nullable pandas integer array.

    Same arguments as :func:`iaqi_array`; missing values are ``pd.NA``.

    References
    ----------
    .. [1] HJ 633-2012 §4.2; HJ 633-2026 §4.2.4.
    """
    codes, _ = iaqi_array(
        item,
        np.atleast_1d(np.asarray(concentration, dtype=float)),
        rule_set_name,
        fallback=fallback,
    )
    return pd.arrays.IntegerArray(codes, codes < 0)


def iaqi_value(
    item: str,
    concentration: float | None,
    rule_set_name: str = "HJ633-2026",
    *,
    fallback: float | None = None,
) -> int | None:
    """IAQI of a single concentration (calls the vectorised path).

    Parameters
    ----------
    item : str
        Breakpoint item, e.g. ``"CO_24h"``.
    concentration : float or None
        Unrounded concentration [µg/m³] ([mg/m³] for CO).
    rule_set_name : str, default "HJ633-2026"
    fallback : float, optional
        Substitute concentration for the HJ 633-2012 800 rules.

    Returns
    -------
    int or None
        The IAQI, or None when missing.

    Examples
    --------
    >>> iaqi_value("CO_24h", 2.2, "HJ633-2012")
    55
    >>> iaqi_value("CO_1h", 65.4, "HJ633-2012")
    218

    References
    ----------
    .. [1] HJ 633-2012 §4.2 formula (1), §6.2; HJ 633-2026 §4.2.4, §4.2.6.
    """
    x = np.array([np.nan if concentration is None else concentration], dtype=float)
    fb = None if fallback is None else np.array([fallback], dtype=float)
    codes, _ = iaqi_array(item, x, rule_set_name, fallback=fb)
    v = int(codes[0])
    return None if v < 0 else v


# ---------------------------------------------------------------------------------------------
# AQI
# ---------------------------------------------------------------------------------------------


@dataclass
class AQIArrays:
    """Result of :func:`aqi_arrays`; every array has one entry per record.

    Attributes
    ----------
    rule_set : str
    labels : tuple of str
        Indicator labels, in :data:`INDICATOR_ORDER`.
    iaqi : dict of str to int16 array
        IAQI per indicator, ``-1`` missing.
    aqi : int16 array
        AQI (max IAQI), ``-1`` where not published or all missing.
    aqi_unpublished : int16 array
        AQI of the available indicators, before the §5.3.1 publication rule.
    over_range, incomplete, publish : bool arrays
    """

    rule_set: str
    labels: tuple[str, ...]
    iaqi: dict[str, I16]
    aqi: I16
    aqi_unpublished: I16
    over_range: BoolArray
    incomplete: BoolArray
    publish: BoolArray

    def level(self) -> npt.NDArray[np.int8]:
        """AQI level 1-6, 0 where the AQI is missing."""
        return aqi_level(self.aqi)

    def primary_mask(self) -> npt.NDArray[np.int16]:
        """Bit k set when indicator ``labels[k]`` is primary; -1 where the AQI is NA."""
        mask = np.zeros(self.aqi.shape, dtype=np.int16)
        has = self.aqi > 50
        for k, lab in enumerate(self.labels):
            mask |= ((self.iaqi[lab] == self.aqi) & has).astype(np.int16) << k
        return np.where(self.aqi >= 0, mask, np.int16(-1)).astype(np.int16)

    def exceeding_mask(self) -> npt.NDArray[np.int16]:
        """Bit k set when IAQI of ``labels[k]`` > 100 (HJ 633-2012 §3.4); -1 if undefined."""
        if not rule_set(self.rule_set).exceeding_pollutant:
            return np.full(self.aqi.shape, -1, dtype=np.int16)
        mask = np.zeros(self.aqi.shape, dtype=np.int16)
        for k, lab in enumerate(self.labels):
            mask |= (self.iaqi[lab] > 100).astype(np.int16) << k
        return mask


def _first_column(columns: Mapping[str, Any], names: Sequence[str]) -> Any | None:
    for n in names:
        if n in columns:
            return columns[n]
    return None


def aqi_arrays(
    columns: Mapping[str, npt.ArrayLike],
    rule_set_name: str = "HJ633-2026",
    report: Report = "hourly",
    *,
    length: int | None = None,
) -> AQIArrays:
    """IAQIs and AQI of many records at once (the kernel behind the frame functions).

    Parameters
    ----------
    columns : mapping of str to array-like
        Concentration columns named as the report expects (see :func:`report_indicators`),
        e.g. ``SO2_1h, NO2_1h, CO_1h, O3_1h, PM10_1h, PM2.5_1h`` for the HJ 633-2026
        real-time report [µg/m³] (CO [mg/m³]). Absent columns count as missing.
    rule_set_name : str, default "HJ633-2026"
    report : {"hourly", "daily"}
        Real-time or daily report.
    length : int, optional
        Number of records when ``columns`` holds none of the indicators.

    Returns
    -------
    AQIArrays

    References
    ----------
    .. [1] HJ 633-2012 §4.4 (AQI = max IAQI), §5.1.2, §5.1.3.
    .. [2] HJ 633-2026 §4.2.2-§4.2.4, §5.3.1 (missing pollutants).
    """
    rs = rule_set(rule_set_name)
    indicators = report_indicators(rule_set_name, report)
    n = length
    for v in columns.values():
        n = int(np.shape(v)[0]) if np.ndim(v) else 1
        break
    if n is None:
        raise ValueError("no columns given and no length")
    raw: dict[str, I16] = {}
    for ind in indicators:
        col = _first_column(columns, ind.columns)
        if col is None:
            raw[ind.label] = np.full(n, NA_CODE, dtype=np.int16)
        else:
            raw[ind.label] = _raw_codes(rs, ind.item, np.asarray(col, dtype=np.float64))
    out: dict[str, I16] = {}
    over = np.zeros(n, dtype=bool)
    for ind in indicators:
        table = rs.item(ind.item)
        fb: npt.ArrayLike | I16 | None = None
        if table.substitute is not None and bool((raw[ind.label] == SUBSTITUTE_CODE).any()):
            if ind.fallback_label is not None:
                fb = raw[ind.fallback_label]
            elif ind.fallback_columns:
                fbcol = _first_column(columns, ind.fallback_columns)
                if fbcol is not None and ind.fallback_item is not None:
                    fb = _raw_codes(rs, ind.fallback_item, np.asarray(fbcol, dtype=np.float64))
            if fb is not None:
                fb = np.where(fb == OVER_CODE, np.int16(500), fb).astype(np.int16)
        codes, o = _finish(rs, table, raw[ind.label], fb)
        out[ind.label] = codes
        over |= o
    # fallback IAQI over range also flags the row
    for ind in indicators:
        if ind.fallback_label is not None and rs.item(ind.item).substitute is not None:
            over |= (raw[ind.label] == SUBSTITUTE_CODE) & (raw[ind.fallback_label] == OVER_CODE)
    stack = list(out.values())
    aqi_all = stack[0].copy()
    low = stack[0].copy()
    for a in stack[1:]:
        np.maximum(aqi_all, a, out=aqi_all)
        np.minimum(low, a, out=low)
    incomplete = low < 0
    publish = (aqi_all > 100) | ~incomplete
    publish &= aqi_all >= 0
    aqi = np.where(publish, aqi_all, np.int16(NA_CODE)).astype(np.int16)
    labels = tuple(lab for lab in INDICATOR_ORDER if lab in out)
    return AQIArrays(
        rule_set=rule_set_name,
        labels=labels,
        iaqi={lab: out[lab] for lab in labels},
        aqi=aqi,
        aqi_unpublished=aqi_all.astype(np.int16),
        over_range=over,
        incomplete=incomplete,
        publish=publish,
    )


def aqi_level(aqi: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """AQI level 1-6 (0 where the AQI is missing, i.e. negative).

    References
    ----------
    .. [1] HJ 633-2012 Table 2; HJ 633-2026 Table 1.
    """
    a = np.asarray(aqi)
    upper = np.array([lv.aqi_max for lv in levels()[:-1]])
    lev = np.searchsorted(upper, a, side="left") + 1
    return np.where(a >= 0, lev, 0).astype(np.int8)


def level_info(level: int) -> LevelInfo:
    """Category, colour and health text of AQI level 1-6 (HJ 633 Table 2 / A.1)."""
    return levels()[level - 1]


def _mask_labels(labels: Sequence[str]) -> list[str]:
    return [
        ",".join(lab for k, lab in enumerate(labels) if m >> k & 1) for m in range(1 << len(labels))
    ]


def _cat(codes: npt.NDArray[np.integer[Any]], categories: Sequence[str]) -> pd.Categorical[str]:
    cats: pd.Index[str] = pd.Index(list(categories), dtype=object)
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=cats)


def _categorical_from_mask(
    mask: npt.NDArray[np.int16], labels: Sequence[str]
) -> pd.Categorical[str]:
    return _cat(mask, _mask_labels(labels))


# ---------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------


def local_day(times: pd.Series | pd.DatetimeIndex, hour_ending: bool = True) -> npt.NDArray[Any]:
    """Local (China Standard Time) day of UTC instants, as ``datetime64[D]``.

    For hour-ending values the local day of instant ``t`` is ``(t_local - 1 h).date()``: the
    hours labelled 01:00 … 24:00 form a day.
    """
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        raise ValueError("time must be tz-aware (UTC instants)")
    ns = idx.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8
    shift = 8 * 3600 * 10**9 - (3600 * 10**9 if hour_ending else 0)
    return (ns + shift).astype("datetime64[ns]").astype("datetime64[D]")


def _rule_names(frame: pd.DataFrame, rule_set_name: str | None, report: Report) -> npt.NDArray[Any]:
    n = len(frame)
    if rule_set_name is not None:
        return np.full(n, rule_set_name, dtype=object)
    if report == "hourly":
        if "time" not in frame:
            raise ValueError("hourly frame needs a 'time' column or an explicit rule_set")
        days = local_day(frame["time"])
    else:
        if "date" not in frame:
            raise ValueError("daily frame needs a 'date' column or an explicit rule_set")
        days = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
    switch = np.datetime64(DEFAULT_SWITCH_DATE, "D")
    return np.where(days < switch, "HJ633-2012", "HJ633-2026").astype(object)


#: Identifying columns a report carries over from its input frame.
_CARRIED = ("site_id", "city", "time", "date")


def _frame_one(frame: pd.DataFrame, rs_name: str, report: Report) -> pd.DataFrame:
    wanted: set[str] = set()
    for ind in report_indicators(rs_name, report):
        wanted.update(ind.columns)
        wanted.update(ind.fallback_columns)
    cols = {
        c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        for c in frame.columns
        if c in wanted
    }
    res = aqi_arrays(cols, rs_name, report, length=len(frame))
    # the columns are gathered first and framed once: a frame grown column by column costs
    # ~0.1 ms per column, which dominates the small frames of a monthly refresh
    out: dict[str, Any] = {key: frame[key].array for key in _CARRIED if key in frame}
    out["rule_set"] = pd.Categorical(
        [rs_name] * len(frame), categories=["HJ633-2012", "HJ633-2026"]
    )
    out["aqi"] = pd.arrays.IntegerArray(res.aqi, res.aqi < 0)
    lev = res.level()
    out["level"] = pd.arrays.IntegerArray(lev, lev == 0)
    lv = levels()
    codes = lev.astype(np.int32) - 1
    out["category_zh"] = _cat(codes, [x.category_zh for x in lv])
    out["category_en"] = _cat(codes, [x.category_en for x in lv])
    out["colour"] = _cat(codes, [x.hex for x in lv])
    out["colour_rgb"] = _cat(codes, [",".join(map(str, x.rgb)) for x in lv])
    out["primary"] = _categorical_from_mask(res.primary_mask(), res.labels)
    out["exceeding"] = _categorical_from_mask(res.exceeding_mask(), res.labels)
    for lab in res.labels:
        v = res.iaqi[lab]
        out[f"iaqi_{lab}"] = pd.arrays.IntegerArray(v, v < 0)
    out["publish_aqi"] = res.publish
    out["incomplete"] = res.incomplete
    out["over_range"] = res.over_range
    return pd.DataFrame(out, index=frame.index)


def _frame_report(frame: pd.DataFrame, rule_set_name: str | None, report: Report) -> pd.DataFrame:
    names = _rule_names(frame, rule_set_name, report)
    uniq = list(dict.fromkeys(names.tolist()))
    if len(uniq) <= 1:
        return _frame_one(frame, uniq[0] if uniq else (rule_set_name or "HJ633-2026"), report)
    parts = [_frame_one(frame.loc[names == name], name, report) for name in uniq]
    out = pd.concat(parts).loc[frame.index]
    out["rule_set"] = pd.Categorical(
        out["rule_set"].astype(str), categories=["HJ633-2012", "HJ633-2026"]
    )
    for c in ("primary", "exceeding"):
        out[c] = out[c].astype("category")
    return out


def hourly_aqi(frame: pd.DataFrame, rule_set: str | None = None) -> pd.DataFrame:
    """Real-time (hourly) AQI report of many records.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``time`` (tz-aware UTC instant, hour-ending) and concentration columns [µg/m³] (CO
        [mg/m³]): under HJ 633-2012 ``SO2_1h, NO2_1h, CO_1h, O3_1h, O3_8h_moving,
        PM10_24h_moving, PM2.5_24h_moving`` (optional ``SO2_24h_moving`` for the SO2 800 rule);
        under HJ 633-2026 ``SO2_1h, NO2_1h, CO_1h, O3_1h, PM10_1h, PM2.5_1h``. Optional
        ``site_id``/``city`` are carried through.
    rule_set : str, optional
        ``"HJ633-2012"`` or ``"HJ633-2026"``; by default chosen per row from the local day of
        ``time`` (before 2026-03-01 → 2012).

    Returns
    -------
    pandas.DataFrame
        ``rule_set``, ``aqi`` (Int16), ``level`` (Int8), ``category_zh``, ``category_en``,
        ``colour`` (hex), ``colour_rgb``, ``primary`` ("PM2.5", "PM2.5,PM10"; "" when
        AQI ≤ 50; NA when not published), ``exceeding`` (2012 only), ``iaqi_<label>``,
        ``publish_aqi``, ``incomplete``, ``over_range``.

    References
    ----------
    .. [1] HJ 633-2012 §5.1.3, §4.4; HJ 633-2026 §4.2.3, §4.2.4, §4.3.1, §5.3.1.
    """
    return _frame_report(frame, rule_set, "hourly")


def daily_aqi(frame: pd.DataFrame, rule_set: str | None = None) -> pd.DataFrame:
    """Daily AQI report of many records.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``date`` (local date) and daily concentrations [µg/m³] (CO [mg/m³]): ``SO2, NO2,
        PM10, PM2.5, CO`` (24-h means), ``O3_8h_max`` (or ``O3_8h``) and, under HJ 633-2012,
        ``O3_1h_max``.
    rule_set : str, optional
        By default chosen per row from ``date`` (before 2026-03-01 → ``"HJ633-2012"``).

    Returns
    -------
    pandas.DataFrame
        Columns as in :func:`hourly_aqi`.

    References
    ----------
    .. [1] HJ 633-2012 §5.1.2; HJ 633-2026 §4.2.2, §5.3.1.
    """
    return _frame_report(frame, rule_set, "daily")


def aqi_record(
    concentrations: Mapping[str, float | None],
    rule_set_name: str = "HJ633-2026",
    report: Report = "daily",
) -> dict[str, Any]:
    """AQI report of one record as plain Python values (calls :func:`aqi_arrays`).

    Returns
    -------
    dict
        ``aqi``, ``level``, ``category``, ``category_en``, ``colour``, ``rgb``, ``primary``
        (list; ``[]`` when AQI ≤ 50, None when not published), ``exceeding`` (list, 2012 only),
        ``iaqi`` (dict, None for missing), ``publish_aqi``, ``incomplete``, ``over_range``,
        ``rule_set``.

    References
    ----------
    .. [1] HJ 633-2012 §4.4, §5.1; HJ 633-2026 §4.2, §4.3.1, §5.3.1.
    """
    cols = {
        k: np.array([np.nan if v is None else v], dtype=float) for k, v in concentrations.items()
    }
    res = aqi_arrays(cols, rule_set_name, report, length=1)
    aqi = int(res.aqi[0])
    out: dict[str, Any] = {"rule_set": rule_set_name}
    iaqis = {lab: (None if int(v[0]) < 0 else int(v[0])) for lab, v in res.iaqi.items()}
    if aqi >= 0:
        info = level_info(int(res.level()[0]))
        pm = int(res.primary_mask()[0])
        out.update(
            aqi=aqi,
            level=info.level,
            category=info.category_zh,
            category_en=info.category_en,
            colour=info.hex,
            rgb=list(info.rgb),
            primary=[lab for k, lab in enumerate(res.labels) if pm >> k & 1],
        )
    else:
        out.update(
            aqi=None,
            level=None,
            category=None,
            category_en=None,
            colour=None,
            rgb=None,
            primary=None,
        )
    em = int(res.exceeding_mask()[0])
    out["exceeding"] = None if em < 0 else [lab for k, lab in enumerate(res.labels) if em >> k & 1]
    out["iaqi"] = iaqis
    out["publish_aqi"] = bool(res.publish[0])
    out["incomplete"] = bool(res.incomplete[0])
    out["over_range"] = bool(res.over_range[0])
    return out
