"""Validation of candidate observations on their way into the store (pure).

Every reader turns its source into one tidy *candidate* frame; this module splits it into the
rows to store and the rows to keep aside, each with a reason a person can act on. Nothing is
dropped silently: empty cells are counted as ``missing``, everything else is stored or rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecobasin import catalog

__all__ = ["CANDIDATE_COLUMNS", "EMPTY_CELLS", "Validated", "as_float", "validate_observations"]

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
    value = rows["raw_value"].where(rows["raw_value"].notna(), rows["value"].astype(str))
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


def _record_ref(rows: pd.DataFrame) -> pd.Series:
    return "line " + rows["line"].astype(str) + " " + rows["field"].astype(str)


def _unknown_sites(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """One rejected record per unknown site (a national file holds ~1,700 stations; a region
    registers a few dozen), naming how many of its values were kept out."""
    groups = frame[mask].groupby("site_id", observed=True, sort=True)
    summary = groups.agg(n=("line", "size"), first=("line", "min"), last=("line", "max"))
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


def _convert(frame: pd.DataFrame, registry: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Values converted to each parameter's canonical unit, and a per-row unit error (or "")."""
    values = frame["value"].to_numpy(dtype=np.float64, copy=True)
    errors = pd.Series("", index=frame.index, dtype=object)
    target = frame["parameter"].map(registry["unit"])
    declared = frame["unit"].fillna(target)
    groups = frame.groupby([declared, target], sort=False, dropna=True).groups
    for key, index in groups.items():
        parts: tuple[object, ...] = tuple(key)  # type: ignore[arg-type]
        source_unit, target_unit = str(parts[0]), str(parts[1])
        positions = frame.index.get_indexer(index)
        try:
            values[positions] = catalog.convert_units(values[positions], source_unit, target_unit)
        except catalog.UnitError as error:
            errors.loc[index] = (
                f"unit {source_unit!r} does not fit; expected {target_unit} ({error})"
            )
    return pd.Series(values, index=frame.index), errors


def validate_observations(
    candidates: pd.DataFrame, known_sites: Set[str], registry: pd.DataFrame
) -> Validated:
    """Split candidate observations into rows to store and rejected rows with reasons.

    Checks, in order, each row failing only its first check: unparsable time
    (``bad_time``), unknown site (``unknown_site``), unknown parameter (``unknown_parameter``),
    unit that cannot be converted to the registry's unit (``unit_mismatch``), non-numeric value
    (``not_a_number``), negative value (``negative_value``), value above the plausible range
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

    Returns
    -------
    Validated
        ``good`` has site_id, parameter, period, time, value (canonical unit) and flag;
        ``rejected`` has record_ref, reason_code, reason and raw. Unknown sites give one
        rejected record per site, naming how many values were kept out.
    """
    frame = candidates.reset_index(drop=True)
    empty = frame["value"].isna() & frame["raw_value"].fillna("").astype(str).str.strip().isin(
        EMPTY_CELLS
    )
    missing = int(empty.sum())
    frame = frame[~empty].copy()
    rejected: list[pd.DataFrame] = []
    alive = pd.Series(True, index=frame.index)

    def check(mask: pd.Series, code: str, reason: Reason) -> None:
        """Reject the live rows in ``mask``; reasons are built for those rows only."""
        hit = mask & alive
        if hit.any():
            rows = frame[hit]
            rejected.append(
                pd.DataFrame(
                    {
                        "record_ref": _record_ref(rows),
                        "reason_code": code,
                        "reason": reason(rows),
                        "raw": _raw_text(rows),
                    }
                )
            )
            alive.loc[hit] = False

    registry_unit = registry["unit"]
    check(frame["time"].isna(), "bad_time", lambda r: "time could not be read at " + _record_ref(r))
    unknown = ~frame["site_id"].isin(list(known_sites)) & alive
    if unknown.any():
        rejected.append(_unknown_sites(frame, unknown))
        alive.loc[unknown] = False
    check(
        ~frame["parameter"].isin(registry.index),
        "unknown_parameter",
        lambda r: "parameter " + r["parameter"].astype(str) + " is not in the registry",
    )
    if alive.any():
        converted, unit_errors = _convert(frame[alive], registry)
        frame.loc[alive, "value"] = converted
        errors = unit_errors.reindex(frame.index, fill_value="")
        check(errors != "", "unit_mismatch", lambda r: errors[r.index])
    check(
        ~pd.Series(np.isfinite(frame["value"].astype(float)), index=frame.index),
        "not_a_number",
        lambda r: "value " + r["raw_value"].astype(str) + " is not a number",
    )
    low = frame["parameter"].map(registry["min_value"]).astype(float)
    high = frame["parameter"].map(registry["max_value"]).astype(float)

    def value_with_unit(r: pd.DataFrame) -> pd.Series:
        return r["value"].map("{:g}".format) + " " + r["parameter"].map(registry_unit).astype(str)

    check(
        (frame["value"] < 0) & (low >= 0),
        "negative_value",
        lambda r: "negative value " + value_with_unit(r) + " is impossible",
    )
    check(
        (frame["value"] < low) | (frame["value"] > high),
        "impossible_value",
        lambda r: (
            "value "
            + value_with_unit(r)
            + " is outside the plausible range "
            + low[r.index].map("{:g}".format)
            + "–"
            + high[r.index].map("{:g}".format)
        ),
    )
    keys = ["site_id", "parameter", "period", "time"]
    later = frame[alive].duplicated(keys, keep="last").reindex(frame.index, fill_value=False)
    check(
        later,
        "duplicate_row",
        lambda r: (
            "the same site, parameter and time appears again later in the batch; "
            "the later row is kept"
        ),
    )
    good = frame.loc[alive, [*keys, "value", "flag"]].reset_index(drop=True)
    bad = (
        pd.concat(rejected, ignore_index=True)
        if rejected
        else pd.DataFrame(columns=["record_ref", "reason_code", "reason", "raw"])
    )
    counts = {str(k): int(v) for k, v in bad["reason_code"].value_counts().items()}
    return Validated(good=good, rejected=bad, missing=missing, counts=counts)
