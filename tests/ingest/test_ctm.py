"""Air-quality model output at points (issue 21 item 2): units, positions, layouts, rejects.

The positions are checked against files built here by hand from the published conventions
(IOAPI cell centres at ``ORIG + (k + ½)·CELL`` on CMAQ's 6,370 km sphere; WRF's mass points
from ``XLAT``/``XLONG``), with a field linear in the projected coordinates: bilinear
interpolation of a linear field is exact, so any error in the projection or the half-cell
offset shows as a difference. Files the simulator writes are read back in all three layouts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import Proj

from ecobasin.demo import ctm_sim
from ecobasin.ingest.ctm import read_ctm, sample_grid, to_standard_units

R = 6_370_000.0
LCC = {"proj": "lcc", "lat_1": 25.0, "lat_2": 40.0, "lon_0": 110.0, "lat_0": 0.0, "a": R, "b": R}
POINTS = pd.DataFrame(
    {
        "point": ["1431A", "510600", "1442A"],
        "lat": [30.66, 31.13, 29.58],
        "lon": [104.06, 104.4, 103.76],
    }
)


def test_units_at_the_gb3095_reference_state() -> None:
    # 1 ppb O3 = 1.962 µg/m³ and 1 ppm CO = 1.145 mg/m³ at 25 °C, 1 atm (the usual tables)
    assert to_standard_units(1.0, "O3", "ppbV")[()] == pytest.approx(1.962, abs=5e-4)
    assert to_standard_units(1.0, "CO", "ppmv")[()] == pytest.approx(1.145, abs=5e-4)
    assert to_standard_units(1e-9, "PM2.5", "kg m**-3")[()] == pytest.approx(1.0)
    # a mass mixing ratio of 1 µg/kg at an air density of 1.184 kg/m³
    assert to_standard_units(1e-9, "NO2", "kg kg**-1")[()] == pytest.approx(1.184, abs=1e-3)
    with pytest.raises(ValueError, match="unknown unit"):
        to_standard_units(1.0, "O3", "furlongs")
    with pytest.raises(ValueError, match="needs a gas"):
        to_standard_units(1.0, "PM2.5", "ppm")


def test_bilinear_is_exact_on_a_plane_and_nearest_picks_the_cell() -> None:
    rows, cols = np.meshgrid(np.arange(5.0), np.arange(7.0), indexing="ij")
    field = 3.0 * rows - 2.0 * cols + 10.0
    r, c = np.array([0.0, 1.25, 3.5, 4.0, 4.2]), np.array([0.0, 2.75, 6.0, 0.5, 1.0])
    got = sample_grid(field, r, c)
    assert np.allclose(got[:4], 3.0 * r[:4] - 2.0 * c[:4] + 10.0)
    assert np.isnan(got[4])  # outside the last row of centres
    near = sample_grid(field, np.array([1.4, 1.6]), np.array([2.6, 2.4]), method="nearest")
    assert near.tolist() == [field[1, 3], field[2, 2]]


def _ioapi_by_hand(path: Path) -> tuple[Proj, float, float]:
    """A CMAQ ACONC file whose O3 is linear in the projected x, y [ppmV]."""
    proj = Proj(**LCC)
    xorig, yorig, cell, ncols, nrows = -700_000.0, -500_000.0, 12_000.0, 90, 80
    x0, y0 = proj(110.0, 34.0)  # XCENT, YCENT: the origin of the coordinates
    xs = xorig + (np.arange(ncols) + 0.5) * cell
    ys = yorig + (np.arange(nrows) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    o3 = (0.04 + 1e-8 * gx - 2e-8 * gy)[None, None].repeat(2, axis=0)
    tflag = np.array([[[2015001, 0]], [[2015001, 10000]]], dtype=np.int32)
    ds = xr.Dataset(
        {
            "TFLAG": (("TSTEP", "VAR", "DATE-TIME"), tflag),
            "O3": (("TSTEP", "LAY", "ROW", "COL"), o3, {"units": "ppmV            "}),
        },
        attrs={
            "GDTYP": 2,
            "P_ALP": 25.0,
            "P_BET": 40.0,
            "P_GAM": 110.0,
            "XCENT": 110.0,
            "YCENT": 34.0,
            "XORIG": xorig,
            "YORIG": yorig,
            "XCELL": cell,
            "YCELL": cell,
        },
    )
    ds.to_netcdf(path, engine="scipy")
    return proj, x0, y0


def test_ioapi_lambert_positions_follow_griddesc(tmp_path: Path) -> None:
    path = tmp_path / "CCTM_ACONC.nc"
    proj, x0, y0 = _ioapi_by_hand(path)
    got = read_ctm(path, POINTS, issued_at="2015-01-01T06:00:00Z")
    px, py = proj(POINTS["lon"].to_numpy(), POINTS["lat"].to_numpy())
    want_ppm = 0.04 + 1e-8 * (np.asarray(px) - x0) - 2e-8 * (np.asarray(py) - y0)
    first = got.rows[got.rows["valid_time"] == pd.Timestamp("2015-01-01T01:00Z")]
    assert first["point"].tolist() == POINTS["point"].tolist()
    assert np.allclose(first["value"], want_ppm * 47.998 / 24.4654 * 1000, rtol=1e-6)
    # an ACONC step averages the hour from its time: 00 UTC → the hour ending 01 UTC
    assert sorted(got.rows["valid_time"].unique()) == list(
        pd.to_datetime(["2015-01-01T01:00Z", "2015-01-01T02:00Z"])
    )
    assert got.model == "CMAQ" and got.issued_at == pd.Timestamp("2015-01-01T06:00Z")
    assert not got.simulated


def test_a_point_outside_the_grid_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "CCTM_ACONC.nc"
    _ioapi_by_hand(path)
    far = pd.concat([POINTS, pd.DataFrame({"point": ["lhasa"], "lat": [29.65], "lon": [91.1]})])
    got = read_ctm(path, far)
    assert got.rejects["reason_code"].tolist() == ["outside_grid"]
    assert "lhasa" in got.rejects["record_ref"].iloc[0]
    assert set(got.rows["point"]) == set(POINTS["point"])
    # without an issue time in the file or from the caller: the start plus 6 h
    assert got.issued_at == pd.Timestamp("2015-01-01T06:00Z")


def test_wrf_chem_positions_from_xlat_xlong(tmp_path: Path) -> None:
    proj = Proj(**{**LCC, "lon_0": 104.0})
    xc, yc = proj(104.0, 30.5)
    dx, nx, ny = 9_000.0, 60, 50
    xs = xc + (np.arange(nx) - (nx - 1) / 2) * dx
    ys = yc + (np.arange(ny) - (ny - 1) / 2) * dx
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = proj(gx, gy, inverse=True)
    pm = (30.0 + 1e-4 * (gx - xs[0]) + 2e-4 * (gy - ys[0]))[None, None]
    times = np.array([list("2015-01-01_01:00:00")], dtype="S1")
    ds = xr.Dataset(
        {
            "Times": (("Time", "DateStrLen"), times),
            "XLAT": (("Time", "south_north", "west_east"), np.asarray(lat)[None]),
            "XLONG": (("Time", "south_north", "west_east"), np.asarray(lon)[None]),
            "PM2_5_DRY": (
                ("Time", "bottom_top", "south_north", "west_east"),
                pm,
                {"units": "ug m^-3"},
            ),
        },
        attrs={
            "MAP_PROJ": 1,
            "TRUELAT1": 25.0,
            "TRUELAT2": 40.0,
            "STAND_LON": 104.0,
            "DX": dx,
            "DY": dx,
        },
    )
    path = tmp_path / "wrfout_d01"
    ds.to_netcdf(path, engine="h5netcdf")
    got = read_ctm(path, POINTS, method="bilinear")
    px, py = proj(POINTS["lon"].to_numpy(), POINTS["lat"].to_numpy())
    want = 30.0 + 1e-4 * (np.asarray(px) - xs[0]) + 2e-4 * (np.asarray(py) - ys[0])
    assert np.allclose(got.rows["value"], want, rtol=1e-9)
    assert got.rows["pollutant"].unique().tolist() == ["PM2.5"]


@pytest.mark.parametrize("layout", ["ioapi", "wrfchem", "cf"])
def test_simulated_runs_read_back_in_every_layout(tmp_path: Path, layout: str) -> None:
    start = pd.Timestamp("2015-01-10T00:00Z")
    hours = pd.date_range(start - pd.Timedelta(days=1), periods=96, freq="h")
    rng = np.random.default_rng(7)
    truth = {
        p: pd.DataFrame(40 + 30 * rng.random((96, 3)), index=hours, columns=POINTS["point"])
        for p in ("PM2.5", "O3", "CO")
    }
    lat, lon = POINTS["lat"].to_numpy(), POINTS["lon"].to_numpy()
    fields = ctm_sim.simulate_at_points(truth, lat, lon, start, 48, seed=1)
    path = ctm_sim.write_run(
        tmp_path / f"run.{layout}.nc",
        layout,
        fields,
        lat,
        lon,
        ctm_sim.ModelGrid(),
        start,
        start + pd.Timedelta(hours=5),
    )
    got = read_ctm(path, POINTS)
    assert got.simulated and got.issued_at == start + pd.Timedelta(hours=5)
    assert got.rejects.empty
    assert set(got.rows["pollutant"]) == {"PM2.5", "O3", "CO"}
    wide = got.rows.pivot_table(index="valid_time", columns=["pollutant", "point"], values="value")
    assert len(wide) == 48 and wide.index[0] == start + pd.Timedelta(hours=1)
    # the gridded field near a station is that station's value (inverse-distance weights; the CF
    # layout is resampled once more onto a 0.1° grid)
    for p in ("PM2.5", "O3", "CO"):
        ratio = wide[p] / fields[p]
        assert float((ratio - 1).abs().median().max()) < (0.03 if layout == "cf" else 0.01)


def test_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "x.nc"
    xr.Dataset({"a": (("t",), [1.0])}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match="not a CMAQ IOAPI"):
        read_ctm(path, POINTS)
    text = tmp_path / "y.nc"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a NetCDF file"):
        read_ctm(text, POINTS)
