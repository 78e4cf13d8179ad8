"""Validation of candidate observations on their way into the store (pure).

Every reader turns its source into one tidy *candidate* frame; this module splits it into the
rows to store and the rows to keep aside, each with a reason a person can act on. Nothing is
dropped silently: empty cells are counted as ``missing``, everything else is stored or rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin import catalog
from ecobasin.errors import UnitError

__all__ = [
    "CANDIDATE_COLUMNS",
    "DEFAULT_TIME_MAX_AHEAD",
    "DEFAULT_TIME_MIN",
    "EMPTY_CELLS",
    "TimeWindow",
    "Validated",
    "as_float",
    "implausible_time_mask",
    "suspect_rows",
    "validate_observations",
]

#: Columns every reader produces. ``value`` is float (NaN when the cell was empty or unreadable);
#: ``raw_value`` holds the cell's text only where ``value`` is NaN (empty → missing, other text →
#: not a number); ``time`` is a tz-aware UTC instant (NaT when unparsable); ``unit`` is the unit
#: the source declared (None: the registry's canonical unit); ``line`` and ``field`` locate the
#: cell in its source (line number in the file, column or key name).
CANDIDATE_COLUMNS = (
    "site_id",
    "parameter",
    "period",
    "time",
    "value",
    "raw_value",
    "unit",
    "flag",
    "line",
    "field",
)


#: Cell texts that mean "no value published" (counted as missing, not rejected).
EMPTY_CELLS = ("", "nan", "NA", "NaN", "N/A", "None", "null", "-", "—", "/")


#: The plausibility window of observation times: nothing before this day
#: (UTC) and nothing more than ``DEFAULT_TIME_MAX_AHEAD`` after now; settings ``time_min`` and
#: ``time_max_ahead`` (``ECOBASIN_TIME_MIN``, ``ECOBASIN_TIME_MAX_AHEAD``) change them.
DEFAULT_TIME_MIN = date(2000, 1, 1)
DEFAULT_TIME_MAX_AHEAD = timedelta(days=1)
#: A number written with a decimal comma (``12,5``): read as text, never guessed at.
DECIMAL_COMMA = r"^\s*[+-]?\d+,\d+\s*$"


def _utc(instant: date | datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(instant)
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def implausible_time_mask(
    times_utc: Any,
    now_utc: datetime | pd.Timestamp,
    earliest: date | datetime | pd.Timestamp,
    max_ahead: timedelta | pd.Timedelta,
) -> np.ndarray:
    """True where an instant lies outside the plausibility window (pure).

    Parameters
    ----------
    times_utc : array-like of datetime
        Instants (tz-aware, or naive meaning UTC); NaT is never implausible (it is unreadable,
        a different reason).
    now_utc : datetime
        The clock [UTC] the window is measured from.
    earliest : date or datetime
        The first plausible instant [UTC; a date means its 00:00 UTC].
    max_ahead : timedelta
        How far after ``now_utc`` an instant may lie [duration].
    """
    index = pd.DatetimeIndex(times_utc)
    index = index.tz_localize(UTC) if index.tz is None else index.tz_convert(UTC)
    latest = _utc(now_utc) + pd.Timedelta(max_ahead)
    return np.asarray((index < _utc(earliest)) | (index > latest), dtype=bool)


@dataclass(frozen=True)
class TimeWindow:
    """Where plausible observation times lie: from ``earliest`` to ``max_ahead`` after ``now``."""

    now: datetime
    earliest: date | datetime = DEFAULT_TIME_MIN
    max_ahead: timedelta = DEFAULT_TIME_MAX_AHEAD

    def describe(self) -> str:
        latest = _utc(self.now) + pd.Timedelta(self.max_ahead)
        return f"{_utc(self.earliest):%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M} UTC"


def as_float(cell: object) -> float:
    """A cell as a float, NaN when it is empty or not a number (site coordinates)."""
    try:
        return float(str(cell).strip())
    except ValueError:
        return float("nan")


@dataclass
class Validated:
    """The outcome of validation: rows to store, rows kept aside, and empty cells counted."""

    good: pd.DataFrame
    rejected: pd.DataFrame
    missing: int = 0
    counts: dict[str, int] = field(default_factory=dict)


Reason = Callable[[pd.DataFrame], "pd.Series | str"]


def _raw_text(rows: pd.DataFrame) -> pd.Series:
    value = _cell_text(rows)
    return (
        "site="
        + rows["site_id"].astype(str)
        + " parameter="
        + rows["parameter"].astype(str)
        + " time="
        + rows["time"].map(str)
        + " value="
        + value.map(str)
    )


def _cell_text(rows: pd.DataFrame) -> pd.Series:
    """The cell as received: its text, or the number it parsed to (e.g. inf) when it had none."""
    return rows["raw_value"].where(rows["raw_value"].notna(), rows["value"].map(str)).astype(str)


def _record_ref(rows: pd.DataFrame) -> pd.Series:
    return "line " + rows["line"].astype(str) + " " + rows["field"].astype(str)


def _unknown_sites(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """One rejected record per unknown site (a national file holds ~1,700 stations; a region
    registers a few dozen), naming how many of its values were kept out."""
    rows = frame.loc[mask, ["site_id", "line"]]
    sites = rows["site_id"].astype(object).where(rows["site_id"].notna(), "(none)")
    summary = _line_spans(sites, rows["line"])
    return pd.DataFrame(
        {
            "record_ref": "site "
            + summary.index.astype(str)
            + " (lines "
            + summary["first"].astype(str)
            + "–"
            + summary["last"].astype(str)
            + ")",
            "reason_code": "unknown_site",
            "reason": "site "
            + summary.index.astype(str)
            + " is not registered; its "
            + summary["n"].astype(str)
            + " values were not stored (register it with "
            "ecobasin sites import)",
            "raw": summary["n"].astype(str) + " values",
        }
    ).reset_index(drop=True)


def _line_spans(sites: pd.Series, lines: pd.Series) -> pd.DataFrame:
    """Per site (sorted): how many rows, first and last line; the named aggregation of a
    ``groupby`` costs ~10 ms however few the rows, this a few array operations."""
    if lines.dtype.kind not in "iu":  # not plain integers: the general path
        groups = pd.DataFrame({"site_id": sites, "line": lines}).groupby("site_id", sort=True)
        return groups.agg(n=("line", "size"), first=("line", "min"), last=("line", "max"))
    codes, names = pd.factorize(sites, sort=True)
    numbers = lines.to_numpy()
    first = np.full(len(names), numbers.max(), dtype=numbers.dtype)
    last = np.full(len(names), numbers.min(), dtype=numbers.dtype)
    np.minimum.at(first, codes, numbers)
    np.maximum.at(last, codes, numbers)
    counts = np.bincount(codes, minlength=len(names)).astype(np.int64)
    index = pd.Index(names, name="site_id")
    return pd.DataFrame({"n": counts, "first": first, "last": last}, index=index)


def _convert(frame: pd.DataFrame, registry: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Values converted to each parameter's canonical unit, and a per-row unit error (or "").

    Rows are taken by (parameter, declared unit) through their integer codes: each such group
    has one source and one target unit, and the conversion is value by value, so the result
    is that of grouping by the units themselves without hashing a unit text per row."""
    values = frame["value"].to_numpy(dtype=np.float64, copy=True)
    errors = pd.Series("", index=frame.index, dtype=object)
    parameter_codes, parameters = _codes_and_names(frame["parameter"])
    unit_codes, units = _codes_and_names(frame["unit"])
    targets = registry["unit"].reindex(parameters)
    # one key per (parameter, unit) pair, the unit's code shifted so that "none" (-1) is 0;
    # rows without a parameter get negative keys and no group, as their target is missing
    pairs = parameter_codes * (len(units) + 1) + (unit_codes + 1)
    for key in np.flatnonzero(np.bincount(pairs[pairs >= 0])).tolist():
        parameter, unit = divmod(key, len(units) + 1)
        target = targets.iloc[parameter]
        if pd.isna(target):
            continue
        source_unit, target_unit = str(units[unit - 1] if unit else target), str(target)
        positions = np.flatnonzero(pairs == key)
        try:
            values[positions] = catalog.convert_units(values[positions], source_unit, target_unit)
        except UnitError as error:
            errors.iloc[positions] = (
                f"unit {source_unit!r} does not fit; expected {target_unit} ({error})"
            )
    return pd.Series(values, index=frame.index), errors


def _codes_and_names(column: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Integer codes of a column's values (-1 where missing) and the names they stand for."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64), column.cat.categories
    codes, names = pd.factorize(column, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(names)


def _lookup(column: pd.Series, per_name: Callable[[pd.Index], Any], missing: Any) -> np.ndarray:
    """Apply a per-name lookup to a column, once per distinct name (fast on categoricals)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names, codes = column.cat.categories, column.cat.codes.to_numpy()
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        names = pd.Index(uniques)
    table: np.ndarray = np.concatenate([np.asarray(per_name(names)), np.asarray([missing])])
    return np.asarray(table[codes])  # code -1 (missing) takes the last entry


def _codes(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64)
    return pd.factorize(column)[0].astype(np.int64)


def _repeated_later(values: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``pandas.Series(values).duplicated(keep="last")`` by a stable sort: equal values end up
    side by side in row order, and every one but the last is repeated later. A file's keys
    come nearly sorted, which the sort runs through ~10 times faster than hashing them."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    repeated = np.zeros(len(values), dtype=bool)
    repeated[order[:-1]] = ordered[:-1] == ordered[1:]
    return repeated


class _Rejections:
    """The rejected records of one validation, in the order of the checks.

    A row's place and text in the source (``record_ref``, ``raw``) are written for all the
    rejected rows at once at the end: each pandas string operation costs the same for 1 row
    as for 1,000, and a check's rows are never changed after it rejects them.
    """

    COLUMNS = ("record_ref", "reason_code", "reason", "raw")

    def __init__(self) -> None:
        # a run of rejected rows: (positions in the frame, reason code per run, reasons)
        self._parts: list[list[tuple[np.ndarray, str, pd.Series | str]] | pd.DataFrame] = []

    def add(self, positions: np.ndarray, code: str, reason: pd.Series | str) -> None:
        """Rejected rows, at ``positions`` of the validated frame, for ``reason``."""
        if not self._parts or isinstance(self._parts[-1], pd.DataFrame):
            self._parts.append([])
        run = self._parts[-1]
        assert isinstance(run, list)
        run.append((positions, code, reason))

    def add_records(self, records: pd.DataFrame) -> None:
        """Records written whole (one per unknown site)."""
        self._parts.append(records)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """All records, in the order they were added (``frame``: the validated rows)."""
        pieces = [
            part if isinstance(part, pd.DataFrame) else self._rows(frame, part)
            for part in self._parts
        ]
        if not pieces:
            return pd.DataFrame(columns=list(self.COLUMNS))
        return pd.concat(pieces, ignore_index=True)

    @staticmethod
    def _rows(
        frame: pd.DataFrame, run: list[tuple[np.ndarray, str, pd.Series | str]]
    ) -> pd.DataFrame:
        positions = np.concatenate([part[0] for part in run])
        rows = frame.iloc[positions].reset_index(drop=True)
        # a Series of reasons keeps its dtype (object for unit errors), as concat gives it
        reasons = pd.concat(
            [
                pd.Series(reason.to_numpy(), dtype=reason.dtype)
                if isinstance(reason, pd.Series)
                else pd.Series(reason, index=range(len(where)))
                for where, _, reason in run
            ],
            ignore_index=True,
        )
        return pd.DataFrame(
            {
                "record_ref": _record_ref(rows),
                "reason_code": np.repeat([part[1] for part in run], [len(p[0]) for p in run]),
                "reason": reasons,
                "raw": _raw_text(rows),
            }
        )


def _later_duplicates(frame: pd.DataFrame, alive: np.ndarray) -> np.ndarray:
    """Rows whose site, parameter, period and time appear again in a later live row."""
    site, parameter, period = (_codes(frame[c]) for c in ("site_id", "parameter", "period"))
    key = (site * (parameter.max(initial=0) + 1) + parameter) * (period.max(initial=0) + 1) + period
    micros = pd.DatetimeIndex(frame["time"]).asi8
    seconds, fraction = np.divmod(micros, 1_000_000)
    if not fraction.any() and key.max(initial=0) < 2**31:
        # one int64 per row (key in the high bits, seconds since 1970 in the low 32): hashing
        # a single column is several times faster than a multi-column duplicated()
        combined = (key << 32) + (seconds - seconds.min(initial=0))
        flags = _repeated_later(combined[alive])
    else:
        flags = pd.DataFrame({"key": key, "time": micros})[alive].duplicated(keep="last").to_numpy()
    later = np.zeros(len(frame), dtype=bool)
    later[np.flatnonzero(alive)] = flags
    return later


def validate_observations(
    candidates: pd.DataFrame,
    known_sites: Set[str],
    registry: pd.DataFrame,
    *,
    keys_unique: bool = False,
    time_window: TimeWindow | None = None,
) -> Validated:
    """Split candidate observations into rows to store and rejected rows with reasons.

    Checks, in order, each row failing only its first check: unparsable time
    (``bad_time``), time outside the plausibility window (``implausible_time``, when
    ``time_window`` is given), unknown site (``unknown_site``), unknown parameter (``unknown_parameter``),
    unit that cannot be converted to the registry's unit (``unit_mismatch``), number written with a
    decimal comma (``decimal_comma``), non-numeric value (``not_a_number``), negative value (``negative_value``), value above the plausible range
    (``impossible_value``), and the same site, parameter, period and time twice in one batch
    (``duplicate_row``: the later row is kept). Empty cells are counted as missing.

    Parameters
    ----------
    candidates : pandas.DataFrame
        Columns of ``CANDIDATE_COLUMNS``.
    known_sites : set of str
        Site ids registered in the store.
    registry : pandas.DataFrame
        The parameter registry (``catalog.parameters()``), indexed by parameter.
    keys_unique : bool, default False
        The reader has proven that no key repeats (a wide file with unique rows and columns),
        so the per-row duplicate check is skipped.
    time_window : TimeWindow, optional
        Plausible observation times; rows outside are kept aside as ``implausible_time``.

    Returns
    -------
    Validated
        ``good`` has site_id, parameter, period, time, value (canonical unit) and flag;
        ``rejected`` has record_ref, reason_code, reason and raw. Unknown sites give one
        rejected record per site, naming how many values were kept out.
    """
    frame = candidates.reset_index(drop=True)
    empty = frame["value"].isna().to_numpy().copy()
    if empty.any():  # an empty cell is missing data; any other text is a bad value
        text = frame.loc[empty, "raw_value"].fillna("").astype(str).str.strip()
        empty[empty] = text.isin(EMPTY_CELLS).to_numpy()
    missing = int(empty.sum())
    frame = frame[~empty].reset_index(drop=True) if missing else frame
    rejected = _Rejections()
    alive = np.ones(len(frame), dtype=bool)

    def check(mask: np.ndarray, code: str, reason: Reason) -> None:
        """Reject the live rows in ``mask``; reasons are built for those rows only."""
        hit = mask & alive
        if hit.any():
            rejected.add(np.flatnonzero(hit), code, reason(frame[hit]))
            alive[hit] = False

    registry_unit = registry["unit"]
    check(
        frame["time"].isna().to_numpy(),
        "bad_time",
        lambda r: "time could not be read at " + _record_ref(r),
    )
    if time_window is not None:
        check(
            implausible_time_mask(
                frame["time"], time_window.now, time_window.earliest, time_window.max_ahead
            ),
            "implausible_time",
            lambda r: (
                "time "
                + r["time"].map(str)
                + " lies outside the plausible window "
                + time_window.describe()
                + " (a wrong year or clock?); correct it and import the file again"
            ),
        )
    unknown = ~_lookup(frame["site_id"], lambda names: names.isin(known_sites), False) & alive
    if unknown.any():
        rejected.add_records(_unknown_sites(frame, unknown))
        alive[unknown] = False
    check(
        ~_lookup(frame["parameter"], lambda names: names.isin(registry.index), False),
        "unknown_parameter",
        lambda r: "parameter " + r["parameter"].astype(str) + " is not in the registry",
    )
    if alive.any() and frame["unit"].notna().any():
        live = pd.Series(alive)
        # every row still alive (the usual case): no filtered copy of the whole frame
        converted, unit_errors = _convert(frame if alive.all() else frame[live], registry)
        frame = frame.copy()
        frame.loc[live, "value"] = converted
        errors = unit_errors.reindex(frame.index, fill_value="")
        check((errors != "").to_numpy(), "unit_mismatch", lambda r: errors[r.index])
    values = frame["value"].to_numpy(dtype=np.float64)
    comma = ~np.isfinite(values) & alive
    if comma.any():  # only the few cells that are not numbers are looked at as text
        text = frame.loc[comma, "raw_value"].astype(object).fillna("").astype(str)
        comma[comma] = text.str.match(DECIMAL_COMMA).to_numpy(dtype=bool)
    check(
        comma,
        "decimal_comma",
        lambda r: (
            "value "
            + _cell_text(r)
            + " is written with a decimal comma; write it with a point ("
            + _cell_text(r).str.replace(",", ".", regex=False).str.strip()
            + ") and import the file again"
        ),
    )
    check(
        ~np.isfinite(values),
        "not_a_number",
        lambda r: "value " + _cell_text(r) + " is not a number",
    )
    bounds = registry[["min_value", "max_value"]].astype(float)
    low = _lookup(frame["parameter"], lambda names: bounds["min_value"].reindex(names), np.nan)
    high = _lookup(frame["parameter"], lambda names: bounds["max_value"].reindex(names), np.nan)
    low, high = low.astype(np.float64), high.astype(np.float64)

    def value_with_unit(r: pd.DataFrame) -> pd.Series:
        return r["value"].map("{:g}".format) + " " + r["parameter"].map(registry_unit).astype(str)

    with np.errstate(invalid="ignore"):
        check(
            (values < 0) & (low >= 0),
            "negative_value",
            lambda r: "negative value " + value_with_unit(r) + " is impossible",
        )
        check(
            (values < low) | (values > high),
            "impossible_value",
            lambda r: (
                "value "
                + value_with_unit(r)
                + " is outside the plausible range "
                + pd.Series(low[r.index], index=r.index).map("{:g}".format)
                + "–"
                + pd.Series(high[r.index], index=r.index).map("{:g}".format)
            ),
        )
    check(
        np.zeros(len(frame), dtype=bool) if keys_unique else _later_duplicates(frame, alive),
        "duplicate_row",
        lambda r: (
            "the same site, parameter and time appears again later in the batch; "
            "the later row is kept"
        ),
    )
    columns = ["site_id", "parameter", "period", "time", "value", "flag"]
    good = frame[columns] if alive.all() else frame.loc[alive, columns].reset_index(drop=True)
    bad = rejected.frame(frame)
    counts = {str(k): int(v) for k, v in bad["reason_code"].value_counts().items()}
    return Validated(good=good, rejected=bad, missing=missing, counts=counts)


#: The columns :func:`suspect_rows` factorizes (or takes factorized).
FACTORIZED = ("site_id", "parameter", "period")


def suspect_rows(
    rows: dict[str, np.ndarray],
    known_sites: Set[str],
    registry: pd.DataFrame,
    *,
    time_window: TimeWindow | None = None,
    factorized: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """True for each row that some check of :func:`validate_observations` could keep aside,
    found by array operations (pure; the gateway's writer, issue 12, Speed, ninth pass).

    A row is suspect when its value is not a finite number (empty, text, inf), it declares
    a unit, its time is outside ``time_window``, its site is not in ``known_sites`` or its
    parameter not in ``registry``, its value is outside the parameter's range, or its site,
    parameter, period and time appear in another row of ``rows``. Every other row passes
    every check unchanged, so ``validate_observations`` of the suspect rows alone (in their
    order) gives the same rejected records, counts and missing cells as of all the rows,
    and its good rows plus the others are the same good rows
    (``tests/ingest/test_validate_suspect.py``).

    Parameters
    ----------
    rows : dict of numpy arrays
        ``site_id``, ``parameter``, ``period`` (object), ``micros`` (int64 [µs since 1970,
        UTC]), ``value`` (float64), ``unit`` (object, None: the registry's unit).
    known_sites, registry, time_window
        As for :func:`validate_observations`.
    factorized : mapping, optional
        ``pd.factorize`` of the ``site_id``, ``parameter`` and ``period`` columns (codes,
        distinct values) when the caller has them (the gateway's writer reuses them for its
        Arrow table); otherwise they are computed here.
    """
    codes = factorized or {name: pd.factorize(rows[name]) for name in FACTORIZED}
    values = rows["value"]
    suspect = ~np.isfinite(values) | pd.notna(rows["unit"])
    times = rows["micros"].astype("datetime64[us]")
    if time_window is not None:
        suspect |= implausible_time_mask(
            times, time_window.now, time_window.earliest, time_window.max_ahead
        )
    site, sites = codes["site_id"]
    suspect |= ~np.append(pd.Index(sites).isin(known_sites), False)[site]
    parameter, parameters = codes["parameter"]
    names = pd.Index(parameters)
    bounds = registry[["min_value", "max_value"]].astype(float).reindex(names)
    low = np.append(bounds["min_value"].to_numpy(np.float64), np.nan)[parameter]
    high = np.append(bounds["max_value"].to_numpy(np.float64), np.nan)[parameter]
    with np.errstate(invalid="ignore"):
        suspect |= (values < low) | (values > high)
    suspect |= ~np.append(names.isin(registry.index), False)[parameter]
    period = codes["period"][0]
    suspect |= _repeated_keys(site, parameter, period, rows["micros"])
    return np.asarray(suspect, dtype=bool)


def _repeated_keys(
    site: np.ndarray, parameter: np.ndarray, period: np.ndarray, micros: np.ndarray
) -> np.ndarray:
    """True for each row whose (site, parameter, period, time) codes appear in another row
    (codes from ``pd.factorize``: -1 for a missing id, a distinct key of its own)."""
    if not len(micros):
        return np.zeros(0, dtype=bool)
    key = ((site + 1) * (parameter.max() + 2) + parameter + 1) * (period.max() + 2) + period + 1
    span = int(micros.max()) - int(micros.min())
    if key.max() < 2**20 and span < 2**43:  # one int64 per row: hashing one column is fastest
        combined = pd.Series((key.astype(np.int64) << 43) + (micros - micros.min()))
        return combined.duplicated(keep=False).to_numpy()
    keys = pd.DataFrame({"key": key, "time": micros})
    return keys.duplicated(keep=False).to_numpy()
