"""Readers for CSV files: the tidy long layout, and any other layout through a TOML mapping.

Tidy layout (``ecobasin import csv FILE``): columns ``site, parameter, time, value`` and optional
``flag``, ``unit`` and ``period``. Times are ISO 8601; a time without an offset is a China
Standard Time hour-ending label. ``parameter`` is an ecobasin id (PM2.5, NH3N) or an HJ 212 code
(a34004, w21003).

Mapped layout (``ecobasin import csv FILE --mapping MAP.toml``): the mapping names the time
columns and their convention, the site column (or a fixed site per column), the sites to register
when new, and the columns holding observations and meteorology with their units. The format is
documented in ``docs/formats.md``; ``ingest/mappings/`` holds worked examples.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.errors import UnitError
from ecobasin.ingest.sourcefile import SourceLines, read_source
from ecobasin.ingest.validate import CANDIDATE_COLUMNS
from ecobasin.timebase import local_to_utc

__all__ = [
    "COMPASS_16",
    "Mapping",
    "MappingError",
    "bundled_mappings",
    "load_mapping",
    "read_mapped_csv",
    "read_tidy_csv",
    "resolve_parameter",
]

#: 16-point compass names to degrees, plus calm/variable (cv, C) as no direction.
COMPASS_16 = {
    name: i * 22.5
    for i, name in enumerate(
        [
            "N",
            "NNE",
            "NE",
            "ENE",
            "E",
            "ESE",
            "SE",
            "SSE",
            "S",
            "SSW",
            "SW",
            "WSW",
            "W",
            "WNW",
            "NW",
            "NNW",
        ]
    )
}
TIDY_REQUIRED = ("site", "parameter", "time", "value")


class MappingError(ValueError):
    """A mapping file or a CSV file does not fit together (missing column, bad setting)."""


def resolve_parameter(name: str) -> str | None:
    """The registry id for ``name``: an id (any case), an HJ 212 code, or a CNEMC column name."""
    registry = catalog.parameters()
    text = str(name).strip()
    if text in registry.index:
        return text
    lowered = {p.lower(): p for p in registry.index}
    if text.lower() in lowered:
        return str(lowered[text.lower()])
    aliases = {"nh3-n": "NH3N", "pm25": "PM2.5", "pm2_5": "PM2.5", "codmn": "CODMn"}
    if text.lower() in aliases:
        return str(aliases[text.lower()])
    for column in ("hj212_2017", "hj212_2005", "cnemc_live"):
        hits = registry.index[
            (registry[column] == text) & registry["domain"].isin(["air", "water"])
        ]
        if len(hits):
            return str(hits[0])
    return None


def _parse_times(text: pd.Series, *, fmt: str | None, tz: str, hour_beginning: bool) -> pd.Series:
    """UTC hour-ending instants from time text; aware texts keep their offset."""
    stripped = text.astype(str).str.strip()
    aware = stripped.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if aware.any():
        parsed = pd.to_datetime(stripped[aware], errors="coerce", utc=True, format=fmt or "ISO8601")
        result[aware] = parsed + (pd.Timedelta(hours=1) if hour_beginning else pd.Timedelta(0))
    if (~aware).any():
        naive = pd.to_datetime(stripped[~aware], errors="coerce", format=fmt or "ISO8601")
        result[~aware] = local_to_utc(naive, hour_beginning=hour_beginning, tz=tz)
    return result


def read_tidy_csv(
    path: str | Path, *, tz: str = "CST", hour_beginning: bool = False
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read the tidy long layout into candidate observations.

    Raises
    ------
    MappingError
        When a required column is missing (the message names it).
    """
    source_lines = read_source(path)
    table = source_lines.table([c.strip().lower() for c in source_lines.header])
    _refuse_duplicates(source_lines, [*TIDY_REQUIRED, "flag", "unit", "period"], lower=True)
    missing = [c for c in TIDY_REQUIRED if c not in table]
    if missing:
        raise MappingError(
            f"{Path(path).name}: missing column(s) {missing}; the tidy layout needs "
            f"{list(TIDY_REQUIRED)} and optionally flag, unit, period"
        )
    values = pd.to_numeric(table["value"].str.strip(), errors="coerce")
    # resolved once per distinct name: each lookup copies the registry, a file has few names
    resolved = {p: resolve_parameter(p) or p.strip() for p in table["parameter"].unique()}
    parameter = table["parameter"].map(resolved)
    unit = table["unit"].where(table["unit"].str.strip() != "", None) if "unit" in table else None
    flag = table["flag"].where(table["flag"].str.strip() != "", None) if "flag" in table else None
    period = (
        table["period"].where(table["period"].str.strip() != "", "1h")
        if "period" in table
        else "1h"
    )
    frame = pd.DataFrame(
        {
            "site_id": table["site"].str.strip(),
            "parameter": parameter,
            "period": period,
            "time": _parse_times(table["time"], fmt=None, tz=tz, hour_beginning=hour_beginning),
            "value": values.to_numpy(dtype=np.float64),
            "raw_value": table["value"].where(values.isna(), None),
            "unit": unit,
            "flag": flag,
            "line": source_lines.line_numbers,
            "field": "row",
        }
    )[list(CANDIDATE_COLUMNS)]
    meta = {
        "source": Path(path).name,
        "format": "tidy-csv",
        "rows": len(table),
        "encoding": source_lines.encoding,
        "line_rejects": source_lines.rejected,
    }
    return frame, meta


def _refuse_duplicates(source_lines: SourceLines, needed: list[str], *, lower: bool) -> None:
    """A column the reader needs must be named once: which copy is right cannot be told."""
    for name, numbers in source_lines.duplicate_columns().items():
        if (name.lower() if lower else name) in needed:
            raise MappingError(
                f"{source_lines.name}: column {name!r} appears {len(numbers)} times in the "
                f"header (columns {', '.join(map(str, numbers))}); remove the wrong one and "
                "import the file again"
            )


@dataclass
class Mapping:
    """A parsed mapping file: how one CSV layout becomes observations and meteorology."""

    name: str
    time: dict[str, Any]
    site: dict[str, Any]
    observations: list[dict[str, Any]]
    meteorology: list[dict[str, Any]] = field(default_factory=list)
    meteorology_city: int | None = None
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    na_values: list[str] = field(default_factory=list)
    delimiter: str = ","
    #: the city of every file, given on the command line (``import csv --city``)
    city: int | None = None
    #: the city is read from each file's name (``GuangzhouPM20100101_20151231.csv``)
    city_from_file_name: bool = False
    #: the city of a file whose name names none (an upload on the editing page: the city edited)
    default_city: int | None = None
    #: defaults of the sites made from ``columns_matching`` entries (level, levels by name)
    matched_sites: dict[str, Any] = field(default_factory=dict)

    def city_of(self, path: Path) -> int | None:
        """The city a file's data belong to: ``--city``, else its file name (else
        :attr:`default_city`), else the mapping's fixed ``[meteorology] city``.

        Raises
        ------
        MappingError
            When the mapping reads the city from the file name, the name has none and there
            is no default city.
        """
        if self.city is not None:
            return self.city
        if not self.city_from_file_name:
            return self.meteorology_city
        name = re.split(r"PM|[_\-\d.]", path.name)[0]  # GuangzhouPM2010… → Guangzhou
        try:
            return catalog.city_code(name)
        except KeyError:
            if self.default_city is not None:
                return self.default_city
            raise MappingError(
                f"{path.name}: the mapping {self.name!r} reads the city from the file name "
                "(GuangzhouPM20100101_20151231.csv) and this one names none; give "
                "--city CODE"
            ) from None

    def new_sites(self) -> pd.DataFrame:
        """The sites this mapping registers when they are not in the store yet."""
        rows = []
        for site_id, spec in self.sites.items():
            rows.append(
                {
                    "site_id": site_id,
                    "kind": spec.get("kind", "air_station"),
                    "level": spec.get("level", "national"),
                    "city_code": catalog.city_code(spec["city"]),
                    "name_zh": spec.get("name_zh"),
                    "name_en": spec.get("name_en"),
                    "lon": spec.get("lon"),
                    "lat": spec.get("lat"),
                    "attributes": spec.get("attributes"),
                }
            )
        return pd.DataFrame(rows)


def bundled_mappings() -> dict[str, Path]:
    """Mapping files shipped with ecobasin, by name (``uci_beijing_multisite`` ...)."""
    folder = resources.files("ecobasin.ingest") / "mappings"
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".toml")
    }


def load_mapping(name_or_path: str | Path, *, city: int | None = None) -> Mapping:
    """Load a mapping by bundled name or path; ``city`` (a GB/T 2260 code) is the city of
    the data whatever the mapping says.

    Raises
    ------
    MappingError
        When the file lacks a required section or names an unknown parameter, unit or city.
    """
    path = Path(name_or_path)
    if not path.exists():
        bundled = bundled_mappings()
        if str(name_or_path) not in bundled:
            raise MappingError(
                f"no mapping file {name_or_path!r}; bundled mappings: {sorted(bundled)}"
            )
        path = bundled[str(name_or_path)]
    try:
        mapping = _parse_mapping(path)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"{path.name}: not valid TOML ({error})") from None
    except (UnitError, KeyError) as error:
        raise MappingError(f"{path.name}: {error.args[0] if error.args else error}") from None
    mapping.city = city
    return mapping


def _parse_mapping(path: Path) -> Mapping:
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    for section in ("time", "site", "observations"):
        if section not in config:
            raise MappingError(f"{path.name}: missing [{section}] section")
    site_column = "column" in config["site"] or "id" in config["site"]
    for entry in config["observations"]:
        if "column" not in entry and "columns_matching" not in entry:
            raise MappingError(
                f"{path.name}: an [[observations]] entry has no 'column' (or 'columns_matching')"
            )
        if "parameter" not in entry:
            raise MappingError(f"{path.name}: an [[observations]] entry has no 'parameter'")
        _check_pattern(entry, path.name)
        if resolve_parameter(entry["parameter"]) is None:
            raise MappingError(f"{path.name}: unknown parameter {entry['parameter']!r}")
        if "unit" in entry:
            catalog.canonical_unit_name(entry["unit"])
        if not site_column and "site" not in entry:
            raise MappingError(
                f"{path.name}: column {entry.get('column')!r} has no site: give it site = ..., "
                "or name the site column in [site]"
            )
    met = config.get("meteorology", {})
    for entry in met.get("columns", []):
        if entry.get("encoding") == "running_sum" and "resets_with" not in entry:
            raise MappingError(
                f"{path.name}: running_sum column {entry.get('column')!r} needs resets_with = "
                "the column whose change restarts the sum (cbwd)"
            )
    from_file_name = met.get("city") == "from-file-name"
    mapping = Mapping(
        name=str(config.get("source", {}).get("name", path.stem)),
        time=config["time"],
        site=config["site"],
        observations=config["observations"],
        meteorology=list(met.get("columns", [])),
        meteorology_city=(
            catalog.city_code(met["city"]) if "city" in met and not from_file_name else None
        ),
        sites=config.get("sites", {}),
        na_values=list(config.get("source", {}).get("na_values", [])),
        delimiter=str(config.get("source", {}).get("delimiter", ",")),
        city_from_file_name=from_file_name,
        matched_sites=dict(config.get("matched_sites", {})),
    )
    mapping.new_sites()  # resolves every city now, so a typo fails before any data is read
    return mapping


def _check_pattern(entry: dict[str, Any], source: str) -> None:
    if "columns_matching" not in entry:
        return
    try:
        pattern = re.compile(str(entry["columns_matching"]))
    except re.error as error:
        raise MappingError(
            f"{source}: columns_matching is not a regular expression ({error})"
        ) from None
    if "site" not in pattern.groupindex:
        raise MappingError(f"{source}: columns_matching needs a (?P<site>...) group")


def _expand_matching(
    mapping: Mapping, header: list[str], city: int | None, source: str
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The ``[[observations]]`` entries with each ``columns_matching`` entry turned into one
    entry per matching column (its site named by the ``(?P<site>...)`` group), and the sites
    those columns make."""
    entries, made = [], []
    for entry in mapping.observations:
        if "columns_matching" not in entry:
            entries.append(entry)
            continue
        if city is None:
            raise MappingError(f"{source}: the sites of columns_matching need a city: --city CODE")
        pattern = re.compile(str(entry["columns_matching"]))
        for column in header:
            found = pattern.fullmatch(column.strip())
            if found is None:
                continue
            name = found.group("site").strip()
            site_id = str(entry.get("site", "{city}-{site}")).format(
                city=city, site=re.sub(r"\W+", "_", name).strip("_")
            )
            entries.append({**entry, "column": column, "site": site_id})
            made.append(_matched_site(mapping, site_id, name, city))
    return entries, pd.DataFrame(made)


def _matched_site(mapping: Mapping, site_id: str, name: str, city: int) -> dict[str, Any]:
    levels = mapping.matched_sites.get("levels", {})
    return {
        "site_id": site_id,
        "kind": mapping.matched_sites.get("kind", "air_station"),
        "level": levels.get(name, mapping.matched_sites.get("level", "national")),
        "city_code": city,
        "name_zh": name,
        "name_en": name,
        "lon": None,
        "lat": None,
        "attributes": None,
    }


def _mapped_times(table: pd.DataFrame, spec: dict[str, Any]) -> pd.Series:
    hour_beginning = spec.get("label", "hour-ending") == "hour-beginning"
    tz = str(spec.get("timezone", "CST"))
    if "columns" in spec:
        parts = {k: _to_numbers(table[c]) for k, c in spec["columns"].items()}
        hour = parts.pop("hour", pd.Series(0, index=table.index))
        base = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
        local = base + pd.to_timedelta(hour, unit="h")
        return local_to_utc(local, hour_beginning=hour_beginning, tz=tz)
    return _parse_times(
        table[spec["column"]], fmt=spec.get("format"), tz=tz, hour_beginning=hour_beginning
    )


def _require(table: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise MappingError(f"{source}: column(s) {missing} named by the mapping are missing")


def _running_sum_steps(
    table: pd.DataFrame, spec: dict[str, Any], times: pd.Series
) -> tuple[np.ndarray, pd.Series]:
    """Hourly values from a running sum (UCI five cities ``Iws``: the cumulated wind speed
    [m/s] of the hours since the wind direction ``cbwd`` last changed).

    The hour's value is the sum minus the previous hour's when the direction is the same,
    and the sum itself in the first hour of a new direction. Where that cannot be told (the
    previous hour is missing, as before a file's first row, or the sum fell without a change
    of direction) the value is kept aside with the reason instead of guessed.
    """
    total = pd.to_numeric(table[spec["column"]].astype(str).str.strip(), errors="coerce")
    direction = table[spec["resets_with"]].astype(str).str.strip()
    order = np.argsort(times.to_numpy(), kind="stable")
    total_s, direction_s = total.iloc[order], direction.iloc[order]
    time_s = times.iloc[order]
    previous = total_s.shift(1)
    consecutive = (time_s - time_s.shift(1)) == pd.Timedelta(hours=1)
    restarted = (direction_s != direction_s.shift(1)) & consecutive
    step = (total_s - previous).where(~restarted, total_s)
    unknown = total_s.notna() & (~consecutive | (~restarted & previous.isna()))
    fell = total_s.notna() & ~unknown & (step < 0)
    step = step.where(~(unknown | fell))
    reason = pd.Series(None, index=total_s.index, dtype=object)
    reason[unknown] = (
        "running sum " + total_s[unknown].astype(str) + ": the previous hour is missing"
    )
    reason[fell] = "running sum " + total_s[fell].astype(str) + " fell without a new direction"
    empty = total_s.isna()
    reason[empty] = table[spec["column"]].iloc[order][empty].astype(str).str.strip()
    reason[empty & reason.isin(["", "nan"])] = ""
    values = step.sort_index().to_numpy(dtype=np.float64)
    return values, reason.sort_index()


def _column_values(table: pd.DataFrame, spec: dict[str, Any]) -> tuple[np.ndarray, pd.Series]:
    text = table[spec["column"]].astype(str).str.strip()
    if spec.get("encoding") == "compass16":
        values = text.str.upper().map(COMPASS_16)
        calm = text.str.lower().isin(["cv", "c", "calm"])
        raw = text.where(values.isna() & ~calm, None).where(~calm, "")
        return values.to_numpy(dtype=np.float64), raw
    values = _to_numbers(text)
    return values.to_numpy(dtype=np.float64), text.where(values.isna(), None)


def _to_numbers(column: pd.Series) -> pd.Series:
    """``pandas.to_numeric(column, errors="coerce")``, each distinct text parsed once: a CSV
    column repeats few texts (Beijing PM2.5: 889 in 420,768 rows, the hour 24), and parsing
    is the dear part."""
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    numbers = pd.to_numeric(pd.Series(distinct, dtype=column.dtype), errors="coerce")
    return pd.Series(numbers.array.take(codes), index=column.index, name=column.name)


class _Labels:
    """The text columns of one stacked frame (site, parameter, period, field) as categoricals
    with the same categories in every column's part: they stay categorical when the parts are
    stacked, and validation and storing work on their integer codes, not on a string per row
    (2.5 M rows for the UCI Beijing file). A site that may be missing stays a plain column."""

    def __init__(
        self, site: pd.Series, specs: list[dict[str, Any]], parameters: list[str], period: str
    ) -> None:
        self.rows, self.site = len(site), site
        fixed = [str(spec["site"]) for spec in specs if spec.get("site")]
        self.site_codes = np.zeros(0, dtype=np.int64)
        self.sites: pd.CategoricalDtype | None = None
        if len(fixed) == len(specs):
            self.sites = _categories(fixed)
        elif site.notna().all():
            codes, names = pd.factorize(site)
            self.site_codes = codes.astype(np.int64)
            self.sites = _categories([*names, *fixed])
        self.parameters = _categories(parameters)
        self.period = _categories([period])
        self.fields = _categories(["column " + spec["column"] for spec in specs])

    def of(self, spec: dict[str, Any], parameter: str) -> dict[str, Any]:
        """The label columns of one spec's rows."""
        site: Any = spec.get("site") or self.site
        if self.sites is not None:
            own = spec.get("site")
            codes = self._constant(self.sites, str(own)) if own else self.site_codes
            site = self._from_codes(self.sites, codes)
        return {
            "site_id": site,
            "parameter": self._categorical(self.parameters, parameter),
            "period": self._categorical(self.period, self.period.categories[0]),
            "field": self._categorical(self.fields, "column " + spec["column"]),
        }

    def _constant(self, dtype: pd.CategoricalDtype, value: str) -> np.ndarray:
        return np.full(self.rows, dtype.categories.get_loc(value), dtype=np.int64)

    def _categorical(self, dtype: pd.CategoricalDtype, value: str) -> pd.Categorical:
        return self._from_codes(dtype, self._constant(dtype, value))

    @staticmethod
    def _from_codes(dtype: pd.CategoricalDtype, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, dtype=dtype)


def _categories(names: list[Any]) -> pd.CategoricalDtype:
    """The distinct names, in first-seen order, as object categories (as the CNEMC reader)."""
    return pd.CategoricalDtype(pd.Index(list(dict.fromkeys(names)), dtype=object))


def read_mapped_csv(path: str | Path, mapping: Mapping) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CSV file through a mapping.

    Returns
    -------
    frame : pandas.DataFrame
        Candidate observations (``CANDIDATE_COLUMNS``), values still in the declared units.
    meta : dict
        ``source``, ``rows``, ``meteorology`` (candidate meteorology: site_id or city_code,
        parameter, period, time, value, raw_value, unit, line, field) and ``new_sites``.
    """
    source = Path(path).name
    source_lines = read_source(path, mapping.delimiter)
    header = [c.strip() for c in source_lines.header]
    table = source_lines.table(header)
    table = table.replace(dict.fromkeys(mapping.na_values, ""))
    city = mapping.city_of(Path(path))
    observations, matched = _expand_matching(mapping, header, city, source)
    if not observations:
        raise MappingError(f"{source}: no column matches the mapping's observations")
    resets = [e["resets_with"] for e in mapping.meteorology if "resets_with" in e]
    columns = [e["column"] for e in observations + mapping.meteorology] + resets
    time_columns = list(mapping.time.get("columns", {}).values()) or [mapping.time["column"]]
    site_columns = [mapping.site["column"]] if "column" in mapping.site else []
    _refuse_duplicates(source_lines, columns + time_columns + site_columns, lower=False)
    _require(table, columns + time_columns + site_columns, source)
    times = _mapped_times(table, mapping.time)
    period = str(mapping.time.get("period", "1h"))
    if site_columns:
        site = mapping.site.get("prefix", "") + table[site_columns[0]].astype(str).str.strip()
    else:
        site = pd.Series(mapping.site.get("id"), index=table.index, dtype=object)
    lines = source_lines.line_numbers

    def stacked(specs: list[dict[str, Any]], parameters: list[str]) -> pd.DataFrame:
        """One candidate row per cell of the specs' columns, column after column."""
        labels = _Labels(site, specs, parameters, period)
        parts = []
        for spec, parameter in zip(specs, parameters, strict=True):
            if spec.get("encoding") == "running_sum":
                values, raw = _running_sum_steps(table, spec, times)
            else:
                values, raw = _column_values(table, spec)
            columns = {
                **labels.of(spec, parameter),
                "time": times,
                "value": values,
                "raw_value": raw,
                "unit": spec.get("unit"),
                "flag": None,
                "line": lines,
            }
            parts.append(pd.DataFrame(columns)[list(CANDIDATE_COLUMNS)])
        return pd.concat(parts, ignore_index=True)

    parameters = [resolve_parameter(e["parameter"]) or e["parameter"] for e in observations]
    frame = stacked(observations, parameters)
    weather = mapping.meteorology
    met = [stacked(weather, [e["parameter"] for e in weather])] if weather else []
    meta = {
        "source": source,
        "format": f"mapped-csv ({mapping.name})",
        "rows": len(table),
        "meteorology": pd.concat(met, ignore_index=True) if met else None,
        "meteorology_city": city,
        "new_sites": (
            pd.concat([mapping.new_sites(), matched], ignore_index=True)
            if mapping.sites and not matched.empty
            else (matched if not matched.empty else mapping.new_sites())
        ),
        "encoding": source_lines.encoding,
        "line_rejects": source_lines.rejected,
    }
    return frame, meta
