"""Emission limits as data: the standards' limits per source category, and the alarm rules.

Pure reading and checking of ``catalog/data/emission/`` (no database): ``limits.csv`` (one row
per standard, source category, parameter and first day of validity, with the standard's clause,
averaging basis, reference O2 and whether the number was checked against the text),
``categories.csv`` (source categories, bilingual, with the category a missing parameter falls
back to) and ``alarm_rules.toml`` (durations and multiples, each with its source).

Flue-gas limits are concentrations at the standard's reference O2, so they name the converted
(折算) parameters, ``<registry id>_Zs`` (HJ 212-2017 表4 ``-ZsRtd`` / ``-ZsAvg``).
"""

from __future__ import annotations

import io
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from ecobasin import catalog
from ecobasin.errors import UnitError

__all__ = [
    "BASES",
    "LIMIT_COLUMNS",
    "PERMIT_COLUMNS",
    "ZS_SUFFIX",
    "AlarmRules",
    "alarm_rules",
    "check_permit_limits",
    "emission_limits",
    "limit_parameter",
    "parameter_domain",
    "source_categories",
]

_DATA = resources.files("ecobasin.catalog") / "data" / "emission"

#: Suffix of a converted (折算, reference-O2) flue-gas parameter id: ``FG_SO2`` → ``FG_SO2_Zs``.
ZS_SUFFIX = "_Zs"
#: Averaging bases a limit can have: hourly mean, daily mean (China Standard Time day).
BASES = ("1h", "1d")
#: Columns of :func:`emission_limits`.
LIMIT_COLUMNS = (
    "standard_id",
    "clause",
    "source_category",
    "parameter",
    "limit",
    "unit",
    "basis",
    "reference_o2",
    "valid_from",
    "verified",
    "note",
)
#: Columns of a permit-limit file (``ecobasin limits import``); unit, basis, permit_id and
#: note may be empty (unit: the parameter's canonical unit; basis: the standard's or the
#: domain default).
PERMIT_COLUMNS = ("site_id", "parameter", "limit", "unit", "basis", "permit_id", "note")


def _read_csv(name: str) -> pd.DataFrame:
    text = (_DATA / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    frame: pd.DataFrame = pd.read_csv(
        io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False
    )
    return frame


def parameter_domain(parameter: str) -> str:
    """The registry domain of a parameter id, converted ``_Zs`` ids included.

    Raises
    ------
    KeyError
        When the id is not in the registry (nor the ``_Zs`` form of a flue-gas id).
    """
    return str(_registry_row(parameter)["domain"])


def _registry_row(parameter: str) -> dict[str, Any]:
    registry = catalog.parameters()
    if parameter in registry.index:
        return {str(k): v for k, v in registry.loc[parameter].to_dict().items()}
    base = parameter.removesuffix(ZS_SUFFIX)
    if parameter.endswith(ZS_SUFFIX) and base in registry.index:
        row = {str(k): v for k, v in registry.loc[base].to_dict().items()}
        if row["domain"] == "flue_gas":
            return row
    raise KeyError(f"unknown parameter {parameter!r} (registry id or <flue-gas id>{ZS_SUFFIX})")


def limit_parameter(parameter: str) -> tuple[str, str]:
    """The (domain, canonical unit) of a parameter a limit may name.

    Raises
    ------
    KeyError
        When the parameter is unknown.
    """
    row = _registry_row(parameter)
    return str(row["domain"]), str(row["unit"])


@cache
def _source_categories() -> pd.DataFrame:
    frame = _read_csv("categories.csv")
    unknown = set(frame["falls_back_to"]) - {""} - set(frame["source_category"])
    if unknown:
        raise ValueError(f"categories.csv: falls_back_to names unknown categories {unknown}")
    return frame.set_index("source_category", drop=False)


def source_categories() -> pd.DataFrame:
    """Source categories: source_category, domain, name_zh, name_en, falls_back_to, note."""
    return _source_categories().copy()


@cache
def _emission_limits() -> pd.DataFrame:
    frame = _read_csv("limits.csv")
    problems = _limit_problems(frame, set(_source_categories().index))
    if problems:
        raise ValueError("limits.csv: " + "; ".join(problems))
    frame["limit"] = frame["limit"].astype(float)
    frame["reference_o2"] = pd.to_numeric(frame["reference_o2"].replace("", None))
    frame["valid_from"] = pd.to_datetime(frame["valid_from"]).dt.date
    frame["verified"] = frame["verified"] == "true"
    return frame[list(LIMIT_COLUMNS)]


def _limit_problems(frame: pd.DataFrame, categories: set[str]) -> list[str]:
    """Every row that does not hold together, named by its line (header = line 1)."""
    problems = []
    for line, row in enumerate(frame.to_dict(orient="records"), start=2):
        where = f"row {line} ({row['source_category']}, {row['parameter']})"
        if row["source_category"] not in categories:
            problems.append(f"{where}: unknown source category")
        try:
            _, unit = limit_parameter(row["parameter"])
        except KeyError as error:
            problems.append(f"{where}: {error.args[0]}")
            continue
        if catalog.canonical_unit_name(row["unit"]) != unit:
            problems.append(f"{where}: unit {row['unit']!r} is not the canonical {unit!r}")
        if row["basis"] not in BASES:
            problems.append(f"{where}: basis {row['basis']!r} is not one of {BASES}")
        if row["verified"] not in ("true", "false"):
            problems.append(f"{where}: verified must be true or false")
        if not _positive(row["limit"]):
            problems.append(f"{where}: limit {row['limit']!r} is not a positive number")
    return problems


def _positive(text: Any) -> bool:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and value > 0


def emission_limits(source_category: str | None = None) -> pd.DataFrame:
    """The standards' emission limits, optionally for one source category.

    Columns ``LIMIT_COLUMNS``: standard_id, clause (table or section), source_category,
    parameter (registry id; ``_Zs`` for flue gas at reference O2), limit [unit], unit
    (canonical), basis (``1h`` hourly mean, ``1d`` daily mean), reference_o2 [%] (NaN for
    water), valid_from (date, China Standard Time), verified (bool: checked against the text),
    note.
    """
    frame = _emission_limits()
    if source_category is not None:
        frame = frame[frame["source_category"] == source_category]
    return frame.copy()


@dataclass(frozen=True)
class AlarmRules:
    """The alarm rules of ``alarm_rules.toml`` (each with its source there).

    Attributes
    ----------
    min_coverage : float
        Share of a basis period its valid sub-period readings must cover for a computed mean.
    valid_flags : tuple of str
        Data flags whose values count for means (a missing flag counts as ``N``).
    default_basis : dict
        Basis per parameter domain for limits that give none.
    flag_hours : dict
        Flag → the duration a run of it must exceed to raise an alarm [h].
    silent_multiple : float
        A site is silent after ``silent_multiple`` × its reporting interval without data.
    silent_interval_s : dict
        Site kind → default reporting interval [s].
    sources : dict
        Rule group → its source text.
    """

    min_coverage: float = 0.75
    valid_flags: tuple[str, ...] = ("N", "T")
    default_basis: Mapping[str, str] = field(
        default_factory=lambda: {"flue_gas": "1h", "water": "1d"}
    )
    flag_hours: Mapping[str, float] = field(
        default_factory=lambda: {"D": 2.0, "B": 2.0, "F": 24.0, "M": 24.0, "C": 6.0}
    )
    silent_multiple: float = 3.0
    silent_interval_s: Mapping[str, float] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def interval_s(self, kind: str) -> float:
        """The default reporting interval of a site kind [s] (one hour when not configured)."""
        return float(self.silent_interval_s.get(kind, 3600.0))


@cache
def alarm_rules() -> AlarmRules:
    """The bundled alarm rules (``catalog/data/emission/alarm_rules.toml``)."""
    data = tomllib.loads((_DATA / "alarm_rules.toml").read_text(encoding="utf-8"))
    over, flags, silent = data["over_limit"], data["flag_persistent"], data["silent"]
    basis = {str(k): str(v) for k, v in over["default_basis"].items()}
    if not set(basis.values()) <= set(BASES):
        raise ValueError(f"alarm_rules.toml: default_basis must be one of {BASES}")
    return AlarmRules(
        min_coverage=float(over["min_coverage"]),
        valid_flags=tuple(str(f) for f in over["valid_flags"]),
        default_basis=basis,
        flag_hours={str(k): float(v) for k, v in flags["hours"].items()},
        silent_multiple=float(silent["multiple"]),
        silent_interval_s={str(k): float(v) for k, v in silent["interval_s"].items()},
        sources={
            "min_coverage": str(over["min_coverage_source"]),
            "valid_flags": str(over["valid_flags_source"]),
            "default_basis": str(over["default_basis_source"]),
            "flag_persistent": str(flags["source"]),
            "silent": str(silent["source"]),
        },
    )


def check_permit_limits(
    frame: pd.DataFrame, known_sites: set[str], source: str = "permit limits"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a permit-limit table (排污许可证 limits per site and parameter) into good rows and
    rejected records.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``PERMIT_COLUMNS`` (text; unit, basis, permit_id and note may be missing).
        Limits are in ``unit`` and are converted to the parameter's canonical unit.
    known_sites : set of str
        Site ids in the store.
    source : str
        Name of the file, for the rejected records.

    Returns
    -------
    good : pandas.DataFrame
        site_id, parameter, limit [canonical unit], unit, basis ('' = the standard's or the
        domain default), permit_id, note.
    rejected : pandas.DataFrame
        source, record_ref (``line N``, header = line 1), reason_code, reason, raw.
    """
    rows = frame.astype(object).where(frame.notna(), "").astype(str)
    for column in PERMIT_COLUMNS:
        if column not in rows:
            rows[column] = ""
    good: list[dict[str, Any]] = []
    bad: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for line, row in enumerate(rows.to_dict(orient="records"), start=2):
        record = {str(k): str(v).strip() for k, v in row.items()}
        outcome = _permit_row(record, known_sites, seen)
        if isinstance(outcome, tuple):
            code, reason = outcome
            raw = ",".join(record[c] for c in PERMIT_COLUMNS)
            bad.append(
                {
                    "source": source,
                    "record_ref": f"line {line}",
                    "reason_code": code,
                    "reason": f"line {line} ({record['site_id']}, {record['parameter']}): {reason}",
                    "raw": raw,
                }
            )
        else:
            good.append(outcome)
    columns = ["site_id", "parameter", "limit", "unit", "basis", "permit_id", "note"]
    return (
        pd.DataFrame(good, columns=columns),
        pd.DataFrame(bad, columns=["source", "record_ref", "reason_code", "reason", "raw"]),
    )


def _permit_row(
    record: dict[str, str], known_sites: set[str], seen: set[tuple[str, str]]
) -> dict[str, Any] | tuple[str, str]:
    """One checked permit row, or (reason_code, reason)."""
    site, parameter = record["site_id"], record["parameter"]
    if site not in known_sites:
        return "unknown_site", f"site {site!r} is not registered (ecobasin sites)"
    try:
        _, unit = limit_parameter(parameter)
    except KeyError as error:
        return "unknown_parameter", str(error.args[0])
    if not _positive(record["limit"]):
        return "bad_limit", f"limit {record['limit']!r} is not a positive number"
    value = float(record["limit"])
    if record["unit"]:
        try:
            value = float(catalog.convert_units([value], record["unit"], unit)[0])
        except UnitError as error:
            return "unit_mismatch", f"{error}; the canonical unit is {unit}"
    if record["basis"] and record["basis"] not in BASES:
        return "bad_basis", f"basis {record['basis']!r} is not one of {', '.join(BASES)}"
    if (site, parameter) in seen:
        return "duplicate", "the file gives this site and parameter twice"
    seen.add((site, parameter))
    return {
        "site_id": site,
        "parameter": parameter,
        "limit": value,
        "unit": unit,
        "basis": record["basis"],
        "permit_id": record["permit_id"],
        "note": record["note"],
    }
