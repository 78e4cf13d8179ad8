"""Regional transport at a station (查源头, issue 19): HYSPLIT back-trajectories imported per
station, and PSCF / weighted PSCF and CWT on a grid (brief
``../shared/reference/nonroad_and_source.md`` B6), for the CLI (``ecobasin sources
trajectories-import|pscf|cwt``), the API (``/api/v1/sources/{site_id}/trajectories/…``) and the
station's source page.

Import: a ``tdump`` file (HYSPLIT's output; HYSPLIT is not run here) of at most
:data:`MAX_TDUMP_BYTES` is read with :func:`ecobasin.sources.trajectories.parse_tdump`. A file
that is not a tdump, is too large, is not text, holds no endpoint, or whose trajectories do not
start at the station is **kept aside** (its bytes stored with the reason, status ``rejected``);
the lines of a good file that cannot be read are kept aside with their numbers. A trajectory is
its arrival instant and start height, so files offered twice or overlapping store each endpoint
once.

Analysis: each endpoint carries the station's hourly concentration labelled at its
trajectory's arrival hour (UTC instant of the hour-ending label). The weight tables are
configuration (``sources/data/trajectory_weights.toml``), chosen by name.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.errors import InputError, NotFound
from ecobasin.services import figure_cache
from ecobasin.services.sources import _utc_span
from ecobasin.sources import maps
from ecobasin.sources.receptor import StepWeights
from ecobasin.sources.trajectories import parse_tdump, trajectory_grid
from ecobasin.store import sources as records
from ecobasin.store.database import Store

__all__ = [
    "MAX_FILES",
    "MAX_TDUMP_BYTES",
    "TRAJECTORY_METHODS",
    "TrajectoryData",
    "import_tdump",
    "trajectory_data",
    "trajectory_files",
    "trajectory_png",
    "trajectory_values",
    "weight_tables",
]

#: the largest tdump file taken [bytes] (the API's body cap, ``max_body_bytes``, is 8 MiB too): a
#: month of hourly 72-h trajectories at one height is about 5 MB; larger files are kept aside
MAX_TDUMP_BYTES = 8 * 1024 * 1024
#: how much of a rejected file is kept aside for people to look at [bytes]
MAX_KEPT_BYTES = 1024 * 1024
#: files in one upload
MAX_FILES = 20
#: how far a trajectory may start from the station [°] (HYSPLIT starts at the receptor)
START_TOLERANCE_DEG = 0.1
#: the smallest and largest grid increments offered [°] (openair's default is 1°)
INC_RANGE = (0.25, 5.0)
TRAJECTORY_METHODS = ("pscf", "cwt")


@cache
def weight_tables() -> dict[str, dict[str, tuple[StepWeights, str]]]:
    """The weight tables by method and name: (table, its bilingual label and source)."""
    text = (resources.files("ecobasin.sources") / "data" / "trajectory_weights.toml").read_text(
        encoding="utf-8"
    )
    config = tomllib.loads(text)
    return {
        method: {
            name: (
                StepWeights(
                    tuple((float(b), float(w)) for b, w in table["steps"]),
                    float(table["floor"]),
                    relative=bool(table["relative"]),
                ),
                str(table["label"]),
            )
            for name, table in config[method].items()
        }
        for method in TRAJECTORY_METHODS
    }


def _table(method: str, name: str) -> tuple[StepWeights, str]:
    tables = weight_tables()[method]
    if name not in tables:
        raise InputError(f"no {method} weight table {name!r}: one of {', '.join(tables)}")
    return tables[name]


def _site(store: Store, site_id: str, kinds: tuple[str, ...] | None) -> pd.Series:
    found = store.sites(site_ids=[site_id], kinds=kinds)
    if found.empty:
        raise NotFound(f"no site {site_id!r}")
    return found.iloc[0]


def _reject_reason(
    text: str | None, name: str, size: int, site: pd.Series
) -> tuple[str | None, Any]:
    """(why the file is kept aside or None, the parsed tdump or None)."""
    if size > MAX_TDUMP_BYTES:
        return (
            f"{name}: {size} bytes, above the limit of {MAX_TDUMP_BYTES} (split it by month)",
            None,
        )
    if text is None:
        return f"{name}: not a text file (a tdump is ASCII)", None
    try:
        dump = parse_tdump(text, name)
    except InputError as error:
        return error.reason, None
    if dump.endpoints.empty:
        return f"{name}: no trajectory endpoint could be read", dump
    starts = dump.endpoints[dump.endpoints["age_h"] == 0]
    far = starts[
        ((starts["lat"] - float(site["lat"])).abs() > START_TOLERANCE_DEG)
        | ((starts["lon"] - float(site["lon"])).abs() > START_TOLERANCE_DEG)
    ]
    if starts.empty or not far.empty:
        where = (
            "no start point"
            if starts.empty
            else f"a start at {far['lat'].iloc[0]:g}°N {far['lon'].iloc[0]:g}°E"
        )
        return (
            f"{name}: the trajectories do not start at station {site['site_id']} "
            f"({float(site['lat']):g}°N {float(site['lon']):g}°E): {where}"
        ), dump
    return None, dump


def import_tdump(
    store: Store, site_id: str, name: str, content: bytes, by: str | None, at: datetime
) -> dict[str, Any]:
    """Import one tdump file for a station; returns what happened to it (status ``imported``,
    ``rejected`` with its reason, or ``known`` when the same bytes were offered before)."""
    site = _site(store, site_id, None)
    if site["lat"] is None or pd.isna(site["lat"]):
        raise InputError(f"station {site_id} has no coordinates: trajectories cannot be checked")
    digest = hashlib.sha256(content).hexdigest()
    base = {"sha256": digest, "name": name, "size": len(content)}
    if records.trajectory_file_known(store, site_id, digest):
        return base | {"status": "known", "reason": None, "endpoints": 0, "bad_lines": 0,
                       "new_endpoints": 0, "first_bad_lines": []}  # fmt: skip
    try:
        text = content.decode("ascii") if len(content) <= MAX_TDUMP_BYTES else None
    except UnicodeDecodeError:
        text = None
    reason, dump = _reject_reason(text, name, len(content), site)
    endpoints = dump.endpoints if dump is not None and reason is None else pd.DataFrame()
    bad = dump.rejected if dump is not None else []
    record = base | {
        "site_id": site_id, "status": "rejected" if reason else "imported", "reason": reason,
        "endpoints": len(endpoints), "bad_lines": len(bad), "imported_by": by,
        "imported_at": at, "content": content[:MAX_KEPT_BYTES] if reason else None,
    }  # fmt: skip
    added = records.store_trajectory_file(store, record, endpoints, bad)
    out = {k: record[k] for k in ("sha256", "name", "size", "status", "reason", "endpoints")}
    return out | {"bad_lines": len(bad), "new_endpoints": added,
                  "first_bad_lines": [f"{why}" for _, why in bad[:10]]}  # fmt: skip


def trajectory_files(
    where: Any, site_id: str, kinds: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """The files offered for a station, newest first, each with its first lines kept aside."""
    if isinstance(where, Store):
        _site(where, site_id, kinds)
    files = records.trajectory_files(where, site_id)
    for item in files:
        item["first_bad_lines"] = [
            why for _, why in records.trajectory_bad_lines(where, site_id, item["sha256"], 10)
        ]
    return files


@dataclass(frozen=True)
class TrajectoryData:
    """A station's endpoints in a period and its concentration by arrival hour."""

    site: pd.Series
    pollutant: str
    unit: str
    start: date
    end: date
    endpoints: pd.DataFrame
    receptor: pd.Series  # by UTC instant


def trajectory_data(
    store: Store,
    site_id: str,
    pollutant: str,
    start: date,
    end: date,
    kinds: tuple[str, ...] | None = None,
) -> TrajectoryData:
    """The endpoints of trajectories arriving in the CST days ``start``…``end`` and the
    station's hourly ``pollutant`` at those hours."""
    site = _site(store, site_id, kinds)
    first, last = _utc_span(start, end)
    endpoints = records.trajectory_endpoints(store, site_id, first, last)
    if endpoints.empty:
        raise NotFound(
            f"no back-trajectories of {site_id} arrive from {start} to {end}: import tdump files"
        )
    conc = store.observations(
        sites=[site_id], parameters=[pollutant], periods=["1h"], start=first, end=last
    ).dropna(subset=["value"])
    if conc.empty:
        raise NotFound(f"no hourly {pollutant} at {site_id} from {start} to {end}")
    receptor = pd.Series(
        conc["value"].to_numpy(float), index=pd.DatetimeIndex(conc["time"]).tz_convert("UTC")
    )
    endpoints["arrival"] = pd.DatetimeIndex(endpoints["arrival"]).tz_convert("UTC")
    return TrajectoryData(site, pollutant, str(conc["unit"].iloc[0]), start, end, endpoints,
                          receptor)  # fmt: skip


def _grid(
    data: TrajectoryData, inc: float, percentile: float, pscf_w: str, cwt_w: str
) -> tuple[float, pd.DataFrame]:
    if not INC_RANGE[0] <= inc <= INC_RANGE[1]:
        raise InputError(f"the grid increment is {INC_RANGE[0]}…{INC_RANGE[1]}°, got {inc}")
    # the core numbers trajectories per file; here one is (arrival, start height)
    points = data.endpoints.assign(
        traj=data.endpoints.groupby(["arrival", "start_height_m"]).ngroup()
    )
    return trajectory_grid(
        points, data.receptor, inc=inc, percentile=percentile,
        pscf_weights=_table("pscf", pscf_w)[0], cwt_weights=_table("cwt", cwt_w)[0],
    )  # fmt: skip


def trajectory_values(
    data: TrajectoryData,
    *,
    inc: float = 1.0,
    percentile: float = 90.0,
    pscf_weights: str = "openair",
    cwt_weights: str = "openair",
) -> dict[str, Any]:
    """PSCF, weighted PSCF, CWT and weighted CWT per cell, with the facts of the answer."""
    threshold, table = _grid(data, inc, percentile, pscf_weights, cwt_weights)
    arrivals = data.endpoints[["arrival", "start_height_m"]].drop_duplicates()
    used = arrivals["arrival"].isin(data.receptor.index)
    cells = table.reset_index().rename(columns={"w": "w_pscf"})
    cells = cells.replace({np.nan: None})
    return {
        "site_id": str(data.site["site_id"]), "name_zh": data.site["name_zh"],
        "pollutant": data.pollutant, "unit": data.unit,
        "start": data.start.isoformat(), "end": data.end.isoformat(),
        "inc": inc, "percentile": percentile, "threshold": threshold,
        "trajectories": len(arrivals), "trajectories_with_conc": int(used.sum()),
        "endpoints": len(data.endpoints),
        "pscf_weights": pscf_weights, "pscf_weights_label": _table("pscf", pscf_weights)[1],
        "cwt_weights": cwt_weights, "cwt_weights_label": _table("cwt", cwt_weights)[1],
        "caption": maps.TRAJECTORY_CAPTION,
        "cells": cells.to_dict(orient="records"),
    }  # fmt: skip


def _outlines(
    region: catalog.Region, extent: tuple[float, float, float, float]
) -> list[maps.Outline]:
    """The region's cities (labelled) and, for context, the other cities in ``extent``."""
    west, south, east, north = extent
    mine = catalog.boundaries(region)["features"]
    outlines = [
        maps.Outline(
            f["geometry"], f["properties"]["name_zh"], True, tuple(f["properties"]["center"])
        )
        for f in mine
    ]
    for code, feature in catalog.national_boundaries().items():
        if code in region.cities:
            continue
        w, s, e, n = maps.bbox(feature["geometry"])
        if w <= east and e >= west and s <= north and n >= south:
            outlines.append(maps.Outline(feature["geometry"], "", False))
    return outlines


def trajectory_png(
    data: TrajectoryData,
    method: str,
    region: catalog.Region,
    *,
    inc: float = 1.0,
    percentile: float = 90.0,
    pscf_weights: str = "openair",
    cwt_weights: str = "openair",
    weighted: bool = True,
    min_n: int = 1,
) -> bytes:
    """The map of PSCF (or weighted PSCF) or CWT (or weighted CWT) over the region's cities;
    drawn once per distinct input (:data:`~ecobasin.services.figure_cache.FIGURES`)."""
    key = figure_cache.digest((
        "trajectory map", method, region, inc, percentile, pscf_weights, cwt_weights, weighted,
        min_n, data.site, data.pollutant, data.unit, data.start, data.end, data.endpoints,
        data.receptor,
    ))  # fmt: skip
    return figure_cache.FIGURES.get_or_draw(key, lambda: _draw_map(
        data, method, region, inc=inc, percentile=percentile, pscf_weights=pscf_weights,
        cwt_weights=cwt_weights, weighted=weighted, min_n=min_n,
    ))  # fmt: skip


def _draw_map(
    data: TrajectoryData,
    method: str,
    region: catalog.Region,
    *,
    inc: float,
    percentile: float,
    pscf_weights: str,
    cwt_weights: str,
    weighted: bool,
    min_n: int,
) -> bytes:
    if method not in TRAJECTORY_METHODS:
        raise InputError(f"unknown method {method!r}: one of {', '.join(TRAJECTORY_METHODS)}")
    threshold, table = _grid(data, inc, percentile, pscf_weights, cwt_weights)
    column = (
        ("wpscf" if weighted else "pscf") if method == "pscf" else ("wcwt" if weighted else "cwt")
    )
    name = data.site["name_zh"] or data.site["site_id"]
    label = {
        "pscf": f"{'加权 weighted ' if weighted else ''}PSCF [1] (C > P{percentile:g} = {threshold:.1f} {data.unit})",
        "cwt": f"{'加权 weighted ' if weighted else ''}CWT {data.pollutant} [{data.unit}]",
    }[method]
    heading = {"pscf": "潜在源贡献函数 PSCF", "cwt": "浓度权重轨迹 CWT"}[method]
    title = f"{name} {data.site['site_id']} {data.pollutant} {heading}\n{data.start}…{data.end}"
    extent = (table["lon"].min() - inc, table["lat"].min() - inc,
              table["lon"].max() + inc, table["lat"].max() + inc)  # fmt: skip
    return maps.cell_map_png(
        table.reset_index(), column=column, inc=inc, title=title, value_label=label,
        receptor=(float(data.site["lon"]), float(data.site["lat"]), str(name)),
        outlines=_outlines(region, extent), min_n=min_n, probability=method == "pscf",
    )  # fmt: skip
