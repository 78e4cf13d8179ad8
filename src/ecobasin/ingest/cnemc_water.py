"""Reader of the CNEMC surface-water automatic-station layout (pure: a file in, a frame out).

The national real-time surface-water platform (国家地表水水质自动监测实时数据发布系统) publishes one
row per section and 4-hourly time with the columns below; saved as CSV (UTF-8 or GBK) it reads
as::

    省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),
    高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L),站点情况

* ``监测时间``: ``2025-10-21 08:00`` (a China Standard Time label, stored as that instant, period
  ``4h``), or ``10-21 08:00`` as the web table shows it, with the year given by the caller.
* Values: numbers; ``--``, ``*`` or empty = not published (counted as missing); a trailing ``L``
  (``0.01L``) = below the detection limit, stored as the limit with flag ``L``.
* Units come from the headers; chlorophyll a in mg/L is stored in mg/m³ (× 1000); algal density
  has no registry parameter and is not imported (counted in ``meta["not_imported"]``).
* ``站点情况`` other than ``正常`` (maintenance, fault …) flags the row's values ``M``: stored, but left
  out of statistics.
* ``水质类别`` (the published class) is kept in ``meta["published_class"]`` for comparison; ecobasin
  recomputes the class itself.

``site_id`` of the candidate rows is the section name (断面名称); the water importer maps it to a
registered section (``ecobasin.ingest.water``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.ingest.validate import CANDIDATE_COLUMNS
from ecobasin.timebase import local_to_utc

__all__ = ["COLUMNS", "NAME_COLUMN", "read_cnemc_water"]

NAME_COLUMN = "断面名称"
TIME_COLUMN = "监测时间"
#: Header (without its unit) → (registry parameter, unit written in the file).
COLUMNS: dict[str, tuple[str, str]] = {
    "水温": ("WT", "°C"),
    "pH": ("pH", "1"),
    "溶解氧": ("DO", "mg/L"),
    "电导率": ("Cond", "µS/cm"),
    "浊度": ("Turb", "NTU"),
    "高锰酸盐指数": ("CODMn", "mg/L"),
    "氨氮": ("NH3N", "mg/L"),
    "总磷": ("TP", "mg/L"),
    "总氮": ("TN", "mg/L"),
    "叶绿素α": ("Chla", "mg/L"),
}
NOT_IMPORTED = ("藻密度",)
MISSING = ("", "--", "-", "*", "—", "nan")
_HEADER = re.compile(r"^\s*([^(（]+?)\s*(?:[(（](.*)[)）])?\s*$")


def _read(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path.name}: neither UTF-8 nor GBK text")


def _times(text: pd.Series, year: int | None, source: str) -> pd.Series:
    stripped = text.astype(str).str.strip()
    short = stripped.str.match(r"^\d{1,2}-\d{1,2} \d{1,2}:\d{2}$")
    if short.any():
        if year is None:
            raise ValueError(
                f"{source}: times such as {stripped[short].iloc[0]!r} carry no year; "
                "give the year (--year)"
            )
        stripped = stripped.where(~short, f"{year}-" + stripped)
    local = pd.to_datetime(stripped, errors="coerce", format="%Y-%m-%d %H:%M")
    return local_to_utc(local)


def read_cnemc_water(
    path: str | Path, *, year: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CNEMC surface-water automatic-station file into candidate observations.

    Parameters
    ----------
    path : str or Path
    year : int, optional
        Year of times written without one (``10-21 08:00``).

    Returns
    -------
    frame : pandas.DataFrame
        ``CANDIDATE_COLUMNS`` with ``site_id`` = section name, period ``4h``, values in the
        file's units (``unit`` set), flag ``L``/``M`` or None.
    meta : dict
        ``source``, ``format``, ``rows``, ``missing`` (empty cells), ``not_imported``,
        ``published_class`` (frame of section, time, class as published).

    Raises
    ------
    ValueError
        When the section-name or time column is missing (naming it and the layout).
    """
    path = Path(path)
    table = _read(path)
    headers = {c: _HEADER.match(c) for c in table.columns}
    base = {c: (m.group(1).strip() if m else c.strip()) for c, m in headers.items()}
    by_base = {b: c for c, b in base.items()}
    for needed in (NAME_COLUMN, TIME_COLUMN):
        if needed not in by_base:
            raise ValueError(
                f"{path.name}: no {needed!r} column; the CNEMC water layout has "
                f"{NAME_COLUMN}, {TIME_COLUMN} and item columns such as 氨氮(mg/L)"
            )
    names = table[by_base[NAME_COLUMN]].str.strip()
    times = _times(table[by_base[TIME_COLUMN]], year, path.name)
    status = table[by_base["站点情况"]].str.strip() if "站点情况" in by_base else None
    station_flag = None if status is None else status.where(~status.isin(["", "正常"]), None)
    parts, missing = [], 0
    for label, (parameter, unit) in COLUMNS.items():
        if label not in by_base:
            continue
        text = table[by_base[label]].astype(str).str.strip()
        empty = text.isin(MISSING)
        missing += int(empty.sum())
        nondetect = text.str.endswith("L") & ~empty
        number = pd.to_numeric(text.str.removesuffix("L"), errors="coerce")
        values = number.to_numpy(dtype=np.float64)
        declared: str | None = unit
        if parameter == "Chla":  # the registry keeps Chl-a in mg/m³ (= µg/L)
            values, declared = values * 1000.0, None
        maintenance = (
            np.zeros(len(table), dtype=bool)
            if station_flag is None
            else station_flag.notna().to_numpy()
        )
        codes = np.where(maintenance, "M", np.where(nondetect.to_numpy(), "L", ""))
        flag = pd.Series([c or None for c in codes], index=table.index, dtype="object")
        keep = ~empty
        parts.append(
            pd.DataFrame(
                {
                    "site_id": names[keep],
                    "parameter": parameter,
                    "period": "4h",
                    "time": times[keep],
                    "value": values[keep.to_numpy()],
                    "raw_value": text[keep].where(number[keep].isna(), None),
                    "unit": declared,
                    "flag": flag[keep],
                    "line": (table.index + 2)[keep.to_numpy()],
                    "field": "column " + by_base[label],
                }
            )
        )
    frame = (
        pd.concat(parts, ignore_index=True)[list(CANDIDATE_COLUMNS)]
        if parts
        else pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    )
    published = None
    if "水质类别" in by_base:
        published = pd.DataFrame(
            {"section": names, "time": times, "class": table[by_base["水质类别"]].str.strip()}
        )
    not_imported = sum(
        int((~table[by_base[b]].str.strip().isin(MISSING)).sum())
        for b in NOT_IMPORTED
        if b in by_base
    )
    meta = {
        "source": path.name,
        "format": "cnemc-water",
        "rows": len(table),
        "missing": missing,
        "not_imported": not_imported,
        "published_class": published,
    }
    return frame, meta
