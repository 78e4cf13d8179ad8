"""HYSPLIT tdump endpoints read and put on a grid for PSCF and CWT (B6): a hand-written file of
two 3-hour back-trajectories, one bad line kept aside with its number, cells by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ecobasin.errors import InputError
from ecobasin.sources.trajectories import grid_cells, parse_tdump, trajectory_grid

TDUMP = """\
     1     1
    GDAS     25     1     1     0     0
     2 BACKWARD OMEGA
    25     1     2     0   30.660  104.060    100.0
    25     1     2     1   30.660  104.060    100.0
     1 PRESSURE
     1     1    25     1     2     0     0     0     0.0   30.660  104.060    100.0    990.0
     1     1    25     1     1    23     0     0    -1.0   30.900  104.400    150.0    985.0
     1     1    25     1     1    22     0     0    -2.0   31.300  105.100    300.0    970.0
     2     1    25     1     2     1     0     0     0.0   30.660  104.060    100.0    990.0
     2     1    25     1     2     0     0     0    -1.0   30.200  103.200    120.0    988.0
     2     1    25     1     1    23     0     0    -2.0   29.800  102.900    200.0    980.0
     2     1    25     1     1    22
     3     1    25     1     1    22     0     0    -3.0   29.800  102.900    200.0    980.0
"""


def test_parse_tdump() -> None:
    dump = parse_tdump(TDUMP, "bj.tdump")
    assert len(dump.endpoints) == 6
    first = dump.endpoints.iloc[1]
    assert first["arrival"] == pd.Timestamp("2025-01-02T00:00", tz="UTC")
    assert first["time"] == pd.Timestamp("2025-01-01T23:00", tz="UTC")
    assert (first["age_h"], first["lat"], first["lon"]) == (-1.0, 30.9, 104.4)
    assert [n for n, _ in dump.rejected] == [13, 14]
    assert "line 13: 6 fields" in dump.rejected[0][1]
    assert "trajectory 3 has no start line" in dump.rejected[1][1]


def test_not_a_tdump() -> None:
    with pytest.raises(InputError, match=r"x\.tdump: not a HYSPLIT tdump header"):
        parse_tdump("hello\n", "x.tdump")


def test_cells_by_hand() -> None:
    # nearest multiple of 0.5°: 30.9 -> 31, 104.4 -> 104.5; 31.3 -> 31.5, 105.1 -> 105
    assert grid_cells([30.9, 31.3, 29.8], [104.4, 105.1, 102.9], 0.5).tolist() == [
        "31,104.5", "31.5,105", "30,103",
    ]  # fmt: skip


def test_pscf_and_cwt_from_endpoints() -> None:
    dump = parse_tdump(TDUMP)
    receptor = pd.Series(
        [100.0, 20.0], index=pd.to_datetime(["2025-01-02T00:00", "2025-01-02T01:00"], utc=True)
    )
    threshold, table = trajectory_grid(dump.endpoints, receptor, inc=1.0, percentile=50)
    # endpoints off the receptor: traj 1 -> (31,104), (31,105) with 100; traj 2 -> (30,103) twice
    # with 20. P50 of [100, 100, 20, 20] = 60: cells of trajectory 1 are "high"
    assert threshold == pytest.approx(60.0)
    assert table.loc["31,104", ["N", "m", "pscf", "cwt"]].tolist() == [1, 1, 1.0, 100.0]
    assert table.loc["30,103", ["N", "m", "pscf", "cwt"]].tolist() == [2, 0, 0.0, 20.0]
    # PSCF weights on n̄ = 4/3: N = 2 is in (n̄, 2n̄] -> 0.75; N = 1 in (n̄/2, n̄] -> 0.5
    assert table.loc["30,103", "w"] == 0.75 and table.loc["31,105", "w"] == 0.5
    assert table.loc["31,104", "wcwt"] == pytest.approx(100.0 * 0.05)  # N ≤ 10 -> 0.05
    assert (table.loc["31,104", "lat"], table.loc["31,104", "lon"]) == (31.0, 104.0)
