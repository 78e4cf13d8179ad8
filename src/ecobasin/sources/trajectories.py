"""HYSPLIT back-trajectory endpoints (``tdump`` files) on a grid for PSCF and CWT (B6).

Brief ``../shared/reference/nonroad_and_source.md`` B6. HYSPLIT itself (a NOAA binary) is not run
here: its ``tdump`` output is read. The format (HYSPLIT user's guide, "Trajectory endpoints file"):
the number of meteorological grids and one line per grid; the number of trajectories, the
direction and the vertical motion; one start line per trajectory (year, month, day, hour, lat,
lon, height); the number of diagnostic variables and their names; then one line per endpoint:
trajectory, grid, year, month, day, hour, minute, forecast hour, age [h], lat [°N], lon [°E],
height [m AGL] and the diagnostics. Years are written with two digits. Times are UTC.

Each endpoint carries the receptor concentration of its trajectory's arrival hour; cells are
``inc`` × ``inc`` degrees centred on multiples of ``inc`` (openair's default inc = 1°). A line
that cannot be read is kept aside with its line number and reason, never dropped in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecobasin.errors import InputError
from ecobasin.sources.receptor import CWT_WEIGHTS, PSCF_WEIGHTS, StepWeights, cwt, pscf

__all__ = ["Tdump", "grid_cells", "parse_tdump", "trajectory_grid"]

_ENDPOINT_FIELDS = 12  # traj, grid, yy, mm, dd, hh, min, fhour, age, lat, lon, height


@dataclass
class Tdump:
    """Endpoints of a tdump file: traj, arrival (UTC), start_height_m [m AGL], time (UTC),
    age [h], lat, lon, height [m];
    ``rejected`` holds (line number, reason) of the lines kept aside."""

    endpoints: pd.DataFrame
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _year(two_digits: int) -> int:
    return two_digits + (2000 if two_digits < 70 else 1900) if two_digits < 100 else two_digits


def _time(fields: list[str]) -> pd.Timestamp:
    year, month, day, hour = (int(x) for x in fields[:4])
    return pd.Timestamp(year=_year(year), month=month, day=day, hour=hour, tz="UTC")


def _start(fields: list[str]) -> tuple[pd.Timestamp, float]:
    """A start line: its arrival time (UTC) and its height [m AGL]."""
    return _time(fields), float(fields[6])


def parse_tdump(text: str, source: str = "tdump") -> Tdump:
    """Read a HYSPLIT trajectory endpoints file (the layout in the module docstring)."""
    lines = text.splitlines()
    try:
        grids = int(lines[0].split()[0])
        at = 1 + grids
        n_traj = int(lines[at].split()[0])
        starts = {k + 1: _start(lines[at + 1 + k].split()) for k in range(n_traj)}
        at += 1 + n_traj
        at += 1  # the diagnostic variables' line
    except (IndexError, ValueError) as error:
        raise InputError(f"{source}: not a HYSPLIT tdump header ({error})") from None
    rows, rejected = [], []
    for number, line in enumerate(lines[at:], start=at + 1):
        fields = line.split()
        if not fields:
            continue
        try:
            if len(fields) < _ENDPOINT_FIELDS:
                raise ValueError(f"{len(fields)} fields, at least {_ENDPOINT_FIELDS} expected")
            traj = int(fields[0])
            if traj not in starts:
                raise ValueError(f"trajectory {traj} has no start line")
            lat, lon = float(fields[9]), float(fields[10])
            if not (-90 <= lat <= 90 and -180 <= lon <= 360):
                raise ValueError(f"position {lat}, {lon} outside the globe")
            arrival, start_height = starts[traj]
            rows.append((traj, arrival, start_height,
                         _time(fields[2:6]) + pd.Timedelta(minutes=int(fields[6])),
                         float(fields[8]), lat, lon, float(fields[11])))  # fmt: skip
        except ValueError as error:
            rejected.append((number, f"{source} line {number}: {error}"))
    columns = ["traj", "arrival", "start_height_m", "time", "age_h", "lat", "lon", "height_m"]
    return Tdump(pd.DataFrame(rows, columns=columns), rejected)


def grid_cells(lat: np.ndarray, lon: np.ndarray, inc: float = 1.0) -> np.ndarray:
    """The cell of each point: "lat,lon" of the nearest multiple of ``inc`` [°]."""
    if inc <= 0:
        raise InputError(f"the grid increment must be positive, got {inc}")
    cell_lat = np.round(np.asarray(lat, dtype=float) / inc) * inc
    cell_lon = np.round(np.asarray(lon, dtype=float) / inc) * inc
    return np.array([f"{a:g},{b:g}" for a, b in zip(cell_lat, cell_lon, strict=True)], dtype=object)


def trajectory_grid(
    endpoints: pd.DataFrame,
    receptor: pd.Series,
    *,
    inc: float = 1.0,
    percentile: float = 90.0,
    pscf_weights: StepWeights = PSCF_WEIGHTS,
    cwt_weights: StepWeights = CWT_WEIGHTS,
    drop_origin: bool = True,
) -> tuple[float, pd.DataFrame]:
    """PSCF and CWT per cell (B6) from endpoints and the receptor's concentration by arrival
    hour (a Series indexed by UTC instants). Trajectories without a concentration are left
    out; ``drop_origin`` leaves out the age-0 endpoints (the receptor itself, in every
    trajectory). Returns (PSCF threshold, table per cell: lat, lon, N, m, pscf, w, wpscf,
    cwt, wcwt)."""
    points = endpoints.copy()
    if drop_origin:
        points = points[points["age_h"] != 0]
    points["conc"] = points["arrival"].map(receptor)
    points = points.dropna(subset=["conc"])
    if points.empty:
        raise InputError("no trajectory endpoint arrives at an hour with a concentration")
    points["cell"] = grid_cells(points["lat"].to_numpy(), points["lon"].to_numpy(), inc)
    cells = {str(cell): group["conc"].tolist() for cell, group in points.groupby("cell")}
    threshold, _, table = pscf(cells, percentile, pscf_weights)
    weighted = cwt(cells, cwt_weights)
    table = table.join(weighted[["cwt", "w"]].rename(columns={"w": "w_cwt"}))
    table["wcwt"] = table["cwt"] * table["w_cwt"]
    centre = table.index.to_series().str.split(",", expand=True).astype(float)
    table.insert(0, "lon", centre[1])
    table.insert(0, "lat", centre[0])
    return threshold, table
