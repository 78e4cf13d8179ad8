"""Water-section data into the store: section lists, tidy CSV, the CNEMC layout, the demo.

The shell around the readers (``ingest.csvmap.read_tidy_csv``, ``ingest.cnemc_water``) and the
common importer (``ingest.importer.import_frames``: validation, rejects, batches). Before the
common validation, values for water sections pass two checks of their own, each rejection kept
aside with its reason (``Store.reject``) and counted:

* ``unknown_section``: the site is not a registered water section (or, in the CNEMC layout, no
  registered section has that name);
* ``implausible_for_section``: a value outside the surface-water range of
  ``catalog/data/water/surface_ranges.toml`` after unit conversion, e.g. NH3N 850 "mg/L" (µg/L not converted).

After the import the caller's ``refresh`` (the CLI and the demo pass
:func:`ecobasin.jobs.water_quality.refresh_water_quality`) recomputes the water results of the
touched years: the jobs layer sits above ingest, so it is handed in, not imported.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin import catalog
from ecobasin.errors import UnitError
from ecobasin.ingest import csvmap, importer
from ecobasin.ingest.cnemc_water import read_cnemc_water
from ecobasin.store import Store
from ecobasin.store import water as store_water

#: Recomputes derived results after an import: (store, touched site-days, region_id=…) -> summary.
Refresh = Callable[..., dict[str, Any]]

__all__ = [
    "SECTION_COLUMNS",
    "WaterImport",
    "check_water_rows",
    "import_water_files",
    "import_water_frames",
    "read_section_list",
    "surface_ranges",
]

#: Columns of a section list (``ecobasin water sections --import FILE``); the first four are
#: required.
SECTION_COLUMNS = (
    "site_id", "city", "name_zh", "target_class", "name_en", "level", "lon", "lat", "river_zh",
    "river_en", "basin_zh", "basin_en", "water_body", "upstream_city", "downstream_city",
)  # fmt: skip


@functools.cache
def surface_ranges() -> dict[str, tuple[float, float]]:
    """(min, max) per item of values plausible at a surface-water section [canonical unit]."""
    source = resources.files("ecobasin.catalog").joinpath("data/water/surface_ranges.toml")
    text = source.read_text("utf-8")
    data = tomllib.loads(text)
    return {k: (float(data["min"].get(k, 0.0)), float(v)) for k, v in data["max"].items()}


@dataclass
class WaterImport:
    """An import report plus what the water checks kept aside and the refresh it caused."""

    report: importer.ImportReport
    water_rejected: dict[str, int] = field(default_factory=dict)
    refresh: dict[str, Any] = field(default_factory=dict)


def _canonical(frame: pd.DataFrame, registry: pd.DataFrame) -> np.ndarray:
    """Values in the registry's unit where the declared unit converts; as given otherwise
    (the common validation rejects a unit that does not fit)."""
    values = frame["value"].to_numpy(dtype=np.float64, copy=True)
    if "unit" not in frame or frame["unit"].isna().all():
        return values
    target = frame["parameter"].map(registry["unit"])
    groups = frame.groupby([frame["unit"], target], dropna=True).groups
    for key, index in groups.items():
        parts: tuple[Any, ...] = tuple(key)  # type: ignore[arg-type]
        declared, canonical = str(parts[0]), str(parts[1])
        positions = frame.index.get_indexer(index)
        try:
            values[positions] = catalog.convert_units(values[positions], declared, canonical)
        except UnitError:
            continue
    return values


def _surface_bounds(
    parameters: pd.Series,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(low, high) of each row's surface-water range, -inf/inf for a parameter without one;
    looked up once per distinct parameter, not once per row."""
    ranges = surface_ranges()
    codes, distinct = pd.factorize(parameters, use_na_sentinel=False)
    bounds = [ranges.get(p, (-np.inf, np.inf)) for p in distinct]
    low = np.array([b[0] for b in bounds], dtype=float)
    high = np.array([b[1] for b in bounds], dtype=float)
    return low[codes], high[codes]


def check_water_rows(
    frame: pd.DataFrame, sections: pd.DataFrame, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split candidate rows into (kept, rejected) by the two water checks.

    Parameters
    ----------
    frame : pandas.DataFrame
        Candidate observations (``CANDIDATE_COLUMNS``); ``site_id`` may be a section id or,
        when it matches no id, a section name (``name_zh``) that is mapped to its id.
    sections : pandas.DataFrame
        Registered water sections (``site_id``, ``name_zh``).

    Returns
    -------
    kept : pandas.DataFrame
    rejected : pandas.DataFrame
        ``source``, ``record_ref``, ``reason_code``, ``reason``, ``raw``.
    """
    frame = frame.reset_index(drop=True)
    ids = set(sections["site_id"])
    names = sections.drop_duplicates("name_zh", keep=False).set_index("name_zh")["site_id"]
    site = frame["site_id"].astype(str).str.strip()
    mapped = site.where(site.isin(ids), site.map(names))
    frame = frame.assign(site_id=mapped.fillna(site))
    unknown = mapped.isna().to_numpy()
    registry = catalog.parameters()
    values = _canonical(frame, registry)
    low, high = _surface_bounds(frame["parameter"])
    with np.errstate(invalid="ignore"):
        # negatives are the common validation's (negative_value)
        outside = ~unknown & ((values > high) | ((values < low) & (values >= 0)))
    rejected = []
    # the texts of refused rows only: formatting every row took ~1/3 of a demo year's checks
    bad = unknown | outside
    if not bad.any():
        return frame[~bad].reset_index(drop=True), pd.DataFrame()
    refused = frame[bad]
    ref = "line " + refused["line"].astype(str) + " " + refused["field"].astype(str)
    raw = (
        refused["site_id"].astype(str)
        + " "
        + refused["parameter"].astype(str)
        + "="
        + pd.Series(values[bad], index=refused.index).map("{:g}".format)
    )
    if unknown.any():
        rejected.append(
            pd.DataFrame(
                {
                    "record_ref": ref[unknown[bad]],
                    "reason_code": "unknown_section",
                    "reason": "section "
                    + site[unknown]
                    + " is not a registered water section (ecobasin water sections --import)",
                    "raw": raw[unknown[bad]],
                }
            )
        )
    if outside.any():
        rows = frame[outside]
        unit = rows["parameter"].map(registry["unit"]).astype(str)
        v = pd.Series(values[outside], index=rows.index)
        lo, hi = (
            pd.Series(low[outside], index=rows.index),
            pd.Series(high[outside], index=rows.index),
        )
        slip = (v / 1000.0 <= hi) & (v / 1000.0 >= lo)
        hint = np.where(
            slip, " — µg/L written as mg/L? (" + (v / 1000.0).map("{:g}".format) + " mg/L)", ""
        )
        rejected.append(
            pd.DataFrame(
                {
                    "record_ref": ref[outside[bad]],
                    "reason_code": "implausible_for_section",
                    "reason": rows["parameter"]
                    + " "
                    + v.map("{:g}".format)
                    + " "
                    + unit
                    + " at section "
                    + rows["site_id"].astype(str)
                    + " is outside the surface-water range "
                    + lo.map("{:g}".format)
                    + "–"
                    + hi.map("{:g}".format)
                    + hint,
                    "raw": raw[outside[bad]],
                }
            )
        )
    out = pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame()
    if not out.empty:
        out.insert(0, "source", source)
    return frame[~bad].reset_index(drop=True), out


def import_water_frames(
    store: Store,
    frames: Iterable[tuple[pd.DataFrame, dict[str, Any]]],
    kind: str,
    *,
    refresh: Refresh | None = None,
    region_id: str = "region",
) -> WaterImport:
    """Import candidate frames of water sections: water checks, common validation, refresh."""
    sections = store_water.water_sections(store)
    kept_aside: dict[str, int] = {}

    def checked() -> Iterator[tuple[pd.DataFrame, dict[str, Any]]]:
        for frame, meta in frames:
            kept, rejected = check_water_rows(frame, sections, meta["source"])
            if not rejected.empty:
                store.reject(rejected)
                for code, n in rejected["reason_code"].value_counts().items():
                    kept_aside[str(code)] = kept_aside.get(str(code), 0) + int(n)
            yield kept, meta

    report = importer.import_frames(store, checked(), kind)
    report.records += sum(kept_aside.values())
    report.rejected.update(kept_aside)
    result = WaterImport(report, kept_aside)
    if refresh is not None:
        result.refresh = refresh(store, report.touched_frame(), region_id=region_id)
    return result


def import_water_files(
    store: Store,
    paths: Iterable[Path],
    *,
    layout: str = "tidy",
    year: int | None = None,
    refresh: Refresh | None = None,
    region_id: str = "region",
) -> WaterImport:
    """Import water-section files in the tidy CSV layout or the CNEMC water layout.

    A file that cannot be read is kept aside (``unreadable_file``) with its reason.
    """
    if layout not in ("tidy", "cnemc"):
        raise ValueError(f"unknown layout {layout!r}: tidy or cnemc")
    failed: list[tuple[str, str]] = []

    def frames() -> Iterator[tuple[pd.DataFrame, dict[str, Any]]]:
        for path in paths:
            try:
                if layout == "cnemc":
                    yield read_cnemc_water(path, year=year)
                else:
                    yield csvmap.read_tidy_csv(path)
            except (ValueError, OSError, pd.errors.ParserError) as error:
                failed.append((path.name, f"{type(error).__name__}: {error}"))

    result = import_water_frames(
        store, frames(), f"water-{layout}", refresh=refresh, region_id=region_id
    )
    for name, reason in failed:
        store.reject(
            pd.DataFrame(
                [
                    {
                        "source": name,
                        "record_ref": "file",
                        "reason_code": "unreadable_file",
                        "reason": reason,
                        "raw": name,
                    }
                ]
            )
        )
        result.report.failed_files.append((name, reason))
        result.report.rejected["unreadable_file"] += 1
    return result


def _city_or_none(value: Any) -> int | None:
    text = "" if value is None else str(value).strip()
    return catalog.city_code(text) if text else None


def read_section_list(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a section list CSV into site rows with attributes, and rejected rows.

    Required columns: ``site_id``, ``city`` (code or name), ``name_zh``, ``target_class``
    (I … V); optional the rest of :data:`SECTION_COLUMNS`. A row with an unknown city or
    target class is rejected with the reason.

    Raises
    ------
    csvmap.MappingError
        A required column is missing (named).
    """
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table.columns = [c.strip().lower() for c in table.columns]
    missing = [c for c in SECTION_COLUMNS[:4] if c not in table]
    if missing:
        raise csvmap.MappingError(
            f"{path.name}: missing column(s) {missing}; a section list needs "
            f"{list(SECTION_COLUMNS[:4])} and optionally {list(SECTION_COLUMNS[4:])}"
        )
    from ecobasin.standards.water import class_label, class_number, normalise_water_body

    rows, rejects = [], []
    for i, rec in enumerate(table.to_dict(orient="records")):
        get = {c: str(rec.get(c, "")).strip() for c in SECTION_COLUMNS}
        try:
            city = catalog.city_code(get["city"])
            target = class_label(class_number(get["target_class"]))
            if class_number(target) > 5:
                raise ValueError("a target class is I … V")
            attributes = {
                "river_zh": get["river_zh"] or None,
                "river_en": get["river_en"] or None,
                "basin_zh": get["basin_zh"] or None,
                "basin_en": get["basin_en"] or None,
                "water_body": normalise_water_body(get["water_body"] or "river"),
                "target_class": target,
                "upstream_city": _city_or_none(get["upstream_city"]),
                "downstream_city": _city_or_none(get["downstream_city"]),
            }
        except (KeyError, ValueError) as error:
            rejects.append(
                {
                    "source": path.name,
                    "record_ref": f"line {i + 2}",
                    "reason_code": "bad_section",
                    "reason": f"section {get['site_id'] or '(no id)'}: {error}",
                    "raw": ",".join(str(v) for v in rec.values()),
                }
            )
            continue
        attributes["boundary"] = attributes["upstream_city"] is not None
        rows.append(
            {
                "site_id": get["site_id"],
                "kind": "water_section",
                "level": get["level"] or "provincial",
                "city_code": city,
                "name_zh": get["name_zh"],
                "name_en": get["name_en"] or None,
                "lon": float(get["lon"]) if get["lon"] else None,
                "lat": float(get["lat"]) if get["lat"] else None,
                "attributes": attributes,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(rejects)
