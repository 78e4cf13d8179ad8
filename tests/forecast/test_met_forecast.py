"""Meteorological forecasts as issued: CSV and NetCDF import, the no-leakage rule, rejects."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.features import complete_grid, issue_cutoff, make_features, met_as_known
from ecobasin.forecast.models import GBMConfig
from ecobasin.ingest.met_forecast import parse_csv, parse_netcdf
from ecobasin.store import Store, _sql
from ecobasin.store.met_forecast import met_forecast_rows, write_met_forecasts

CSV = """city,issued_at,day,variable,value,unit
510100,2015-01-10T12:00Z,2015-01-11,t2m,280.15,K
510100,2015-01-10T12:00Z,2015-01-11,psfc,95000,Pa
成都,2015-01-10T20:00,2015-01-12,tp,0.004,m
510100,2015-01-10T12:00Z,2015-01-11,wd,90,deg
510100,2015-01-10T12:00Z,2015-01-11,ozone,3,ppb
510100,2015-01-10T12:00Z,2015-01-11,t2m,20,mg/L
510100,2015-01-10T12:00Z,2015-01-11,rh,140,%
Atlantis,2015-01-10T12:00Z,2015-01-11,t2m,5,°C
510100,yesterday,2015-01-11,t2m,5,°C
510100,2015-01-10T12:00Z,2015-01-11,blh,,m
"""


def test_csv_converts_units_and_keeps_bad_records_aside(tmp_path: Path) -> None:
    path = tmp_path / "fc.csv"
    path.write_text(CSV, encoding="utf-8")
    parsed = parse_csv(path)
    rows = parsed.rows.set_index(["variable", "day"])["value"]
    assert rows[("temperature", pd.Timestamp("2015-01-11"))] == pytest.approx(7.0)  # K − 273.15
    assert rows[("pressure", pd.Timestamp("2015-01-11"))] == pytest.approx(950.0)  # Pa → hPa
    assert rows[("precipitation", pd.Timestamp("2015-01-12"))] == pytest.approx(4.0)  # m → mm
    assert rows[("wind_direction", pd.Timestamp("2015-01-11"))] == 90.0
    # an issue time without an offset is China Standard Time: 20:00 CST = 12:00 UTC
    assert set(parsed.rows["issued_at"]) == {pd.Timestamp("2015-01-10T12:00Z")}
    codes = dict(zip(parsed.rejects["record_ref"], parsed.rejects["reason_code"], strict=True))
    assert codes == {
        "line 6": "unknown_variable",
        "line 7": "unit_mismatch",
        "line 8": "impossible_value",
        "line 9": "unknown_city",
        "line 10": "bad_time",
    }
    assert "ozone" in parsed.rejects.set_index("record_ref").loc["line 6", "reason"]
    assert parsed.missing == 1


def test_csv_without_a_required_column_fails_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "fc.csv"
    path.write_text("city,day,variable,value,unit\n510100,2015-01-11,t2m,5,°C\n", "utf-8")
    with pytest.raises(ValueError, match="issued_at"):
        parse_csv(path)


def _netcdf(path: Path, *, gridded: bool = False) -> None:
    issues = pd.to_datetime(["2015-01-09T12:00", "2015-01-10T12:00"])
    lead = np.arange(3)
    shape: tuple[int, ...]
    if gridded:
        coords: dict[str, object] = {"lat": [30.5, 30.75], "lon": [104.0, 104.25]}
        dims = ("issue_time", "lead", "lat", "lon")
        shape = (2, 3, 2, 2)
    else:
        coords = {"city": [510100, 510600]}
        dims = ("issue_time", "lead", "city")
        shape = (2, 3, 2)
    t = 275.15 + np.arange(np.prod(shape), dtype=float).reshape(shape)  # 2 °C, 3 °C, …
    ds = xr.Dataset(
        {
            "t2m": (dims, t, {"units": "K"}),
            "blh": (dims, np.full(shape, 800.0), {"units": "m"}),
            "sst": (dims, np.zeros(shape), {"units": "K"}),
            "ws": (dims, np.ones(shape), {"units": "kg"}),
        },
        coords={"issue_time": issues, "lead": lead, **coords},
    )
    ds.to_netcdf(path, engine="h5netcdf")


def test_netcdf_by_city_reads_lead_days_and_rejects_unknown_variables(tmp_path: Path) -> None:
    path = tmp_path / "fc.nc"
    _netcdf(path)
    parsed = parse_netcdf(path, [510100])
    temp = parsed.rows[parsed.rows["variable"] == "temperature"]
    assert len(temp) == 2 * 3 * 2
    first = temp[(temp["city_code"] == 510100) & (temp["issued_at"] == temp["issued_at"].min())]
    # issued 2015-01-09 12:00 UTC = 20:00 CST on the 9th: lead 0 is the 9th; K → °C
    assert list(first.sort_values("day")["day"].dt.strftime("%m-%d")) == ["01-09", "01-10", "01-11"]
    assert list(first.sort_values("day")["value"]) == pytest.approx([2.0, 4.0, 6.0])
    reasons = dict(zip(parsed.rejects["record_ref"], parsed.rejects["reason_code"], strict=True))
    assert reasons == {"variable sst": "unknown_variable", "variable ws": "unit_mismatch"}


def test_netcdf_on_a_grid_takes_the_point_nearest_each_city(tmp_path: Path) -> None:
    path = tmp_path / "grid.nc"
    _netcdf(path, gridded=True)
    parsed = parse_netcdf(path, [510100, 110100])  # Chengdu on the grid; Beijing is not
    assert set(parsed.rows["city_code"]) == {510100}
    assert list(parsed.rejects["reason_code"]).count("outside_grid") == 1


def test_netcdf_hourly_valid_times_become_cst_days(tmp_path: Path) -> None:
    """Hour-ending UTC steps: 16:00 UTC ends the CST hour 00:00 (24:00 of the day before).
    Rain is summed, wind direction is the mean unit vector (350° and 10° → 0°)."""
    valid = pd.date_range("2015-01-10T17:00", periods=24, freq="h")  # CST 01:00 … 24:00 of 11th
    ds = xr.Dataset(
        {
            "tp": (
                ("issue_time", "valid_time", "city"),
                np.full((1, 24, 1), 0.0005),
                {"units": "m"},
            ),
            "wd": (
                ("issue_time", "valid_time", "city"),
                np.tile([350.0, 10.0], 12).reshape(1, 24, 1),
                {"units": "degree"},
            ),
        },
        coords={
            "issue_time": pd.to_datetime(["2015-01-10T00:00"]),
            "valid_time": valid,
            "city": [510100],
        },
    )
    path = tmp_path / "hourly.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    rows = parse_netcdf(path, [510100]).rows.set_index("variable")
    assert list(rows["day"].dt.strftime("%Y-%m-%d").unique()) == ["2015-01-11"]
    assert rows.loc["precipitation", "value"] == pytest.approx(24 * 0.5)  # 24 h × 0.5 mm
    assert min(rows.loc["wind_direction", "value"], 360 - rows.loc["wind_direction", "value"]) == (
        pytest.approx(0.0, abs=1e-9)
    )


def _issues() -> pd.DataFrame:
    """Two issues of a forecast for 2015-01-12: an early one (known on the 10th) and a late one
    issued on the 11th (after the 10th's issue time) — the late one must not be used on the 10th.
    """
    rows = [
        ("510100", "2015-01-09T12:00Z", "2015-01-12", "temperature", 1.0),
        ("510100", "2015-01-10T12:00Z", "2015-01-12", "temperature", 2.0),
        ("510100", "2015-01-11T12:00Z", "2015-01-12", "temperature", 99.0),
        ("510100", "2015-01-10T12:00Z", "2015-01-11", "temperature", 5.0),
    ]
    frame = pd.DataFrame(rows, columns=["city", "issued_at", "day", "variable", "value"])
    frame["issued_at"] = pd.to_datetime(frame["issued_at"], utc=True)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def test_issue_time_is_the_end_of_the_cst_day() -> None:
    cut = issue_cutoff(pd.DatetimeIndex(["2015-01-10"]))
    assert cut[0] == pd.Timestamp("2015-01-10T16:00Z")


def test_features_of_day_d_use_only_met_forecasts_issued_by_d() -> None:
    index = pd.MultiIndex.from_product(
        [["510100"], pd.date_range("2015-01-09", "2015-01-11")], names=["city", "day"]
    )
    known = met_as_known(_issues(), index, max_lead=3)
    on = known.loc[("510100", pd.Timestamp("2015-01-10"))]
    assert on["fck2__temperature"] == 2.0  # the 10th's own issue, not the 11th's (99)
    assert on["fck1__temperature"] == 5.0
    assert known.loc[("510100", pd.Timestamp("2015-01-09")), "fck3__temperature"] == 1.0
    assert known.loc[("510100", pd.Timestamp("2015-01-11")), "fck1__temperature"] == 99.0
    daily = pd.DataFrame(
        {"city": "510100", "day": pd.date_range("2015-01-01", "2015-01-11"), "PM2.5": 50.0}
    )
    X, _, keys = make_features(complete_grid(daily, _issues(), max_lead=3), "PM2.5", 2, ["PM2.5"])
    row = X[keys["issue_day"] == pd.Timestamp("2015-01-10")].iloc[0]
    assert row["temperature_t"] == 2.0
    assert row["temperature_tm1"] == 5.0


def test_poisoning_later_issues_changes_nothing_before_them() -> None:
    """Every issue after D's issue time replaced by nonsense: D's features stay the same."""
    rng = np.random.default_rng(1)
    days = pd.date_range("2015-01-01", "2015-03-31")
    daily = pd.DataFrame({"city": "510100", "day": days, "PM2.5": rng.uniform(20, 200, len(days))})
    rows = [
        ("510100", d + pd.Timedelta(hours=4), d + pd.Timedelta(days=k), v, rng.normal(10, 5))
        for d in days
        for k in range(4)
        for v in ("temperature", "wind_direction")
    ]
    fc = pd.DataFrame(rows, columns=["city", "issued_at", "day", "variable", "value"])
    fc["issued_at"] = fc["issued_at"].dt.tz_localize("UTC")
    d = pd.Timestamp("2015-02-15")
    poisoned = fc.copy()
    late = poisoned["issued_at"] > issue_cutoff(pd.DatetimeIndex([d]))[0]
    poisoned.loc[late, "value"] = 1e6
    for lead in (1, 3):
        X1, _, k1 = make_features(complete_grid(daily, fc), "PM2.5", lead, ["PM2.5"])
        X2, _, _ = make_features(complete_grid(daily, poisoned), "PM2.5", lead, ["PM2.5"])
        upto = (k1["issue_day"] <= d).to_numpy()
        pd.testing.assert_frame_equal(X1[upto], X2[upto])
        assert not X1[~upto].equals(X2[~upto])  # the poison is visible after D: the test bites
        assert X1.loc[upto, "temperature_t"].notna().sum() > 30


def test_backtest_with_met_forecasts_as_issued(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, met = region_data
    # PM2.5 alone, the pollutant the wind drives and the assertion reads: the other two would
    # triple the fits without entering the comparison
    daily = daily[["city", "day", "PM2.5"]]
    # forecasts issued each day (12:00 UTC) for days 0 … 3 ahead: the truth plus an error
    rng = np.random.default_rng(3)
    parts = []
    for k in range(4):
        m = met.assign(
            issued_at=pd.to_datetime(met["day"]) - pd.Timedelta(days=k) + pd.Timedelta(hours=12),
            value=met["wind_speed"] + rng.normal(0, 0.3 * (k + 1), len(met)),
            variable="wind_speed",
        )
        parts.append(m[["city", "issued_at", "day", "variable", "value"]])
    fc = pd.concat(parts, ignore_index=True)
    fc["issued_at"] = fc["issued_at"].dt.tz_localize("UTC")
    cfg = GBMConfig(leads=(1, 3), rounds=60)
    kw = {"test_from": "2015-03-01", "test_to": "2015-05-31", "config": cfg}
    with_fc = backtest(daily, fc, **kw)
    none = backtest(daily, None, **kw)
    assert with_fc.metadata["met_mode"] == "forecast"
    assert none.metadata["met_mode"] == "none"
    rmse = with_fc.scores.set_index(["model", "lead"])["pm25_rmse"]
    base = none.scores.set_index(["model", "lead"])["pm25_rmse"]
    assert rmse[("lightgbm", 1)] < base[("lightgbm", 1)]  # forecast wind helps day +1


def _store_with_forecasts(tmp_path: Path) -> Path:
    db = tmp_path / "fc.duckdb"
    path = tmp_path / "fc.csv"
    path.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "met-forecast", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db


def test_cli_import_stores_rows_and_rejects_and_reimport_changes_nothing(tmp_path: Path) -> None:
    db = _store_with_forecasts(tmp_path)
    with Store(db) as store:
        rows = met_forecast_rows(store)
        assert len(rows) == 4
        assert set(rows["unit"]) == {"°C", "hPa", "mm", "°"}
        rejected = store.rejected(source="fc.csv")
        assert set(rejected["reason_code"]) == {
            "unknown_variable",
            "unit_mismatch",
            "impossible_value",
            "unknown_city",
            "bad_time",
        }
        again = write_met_forecasts(
            store, rows.rename(columns={"city": "city_code"}).astype({"city_code": int}), "x"
        )
        assert (again.inserted, again.replaced, again.unchanged) == (0, 0, 4)
    result = CliRunner().invoke(
        app, ["import", "met-forecast", str(tmp_path / "fc.csv"), "--db", str(db)]
    )
    assert result.exit_code == 0
    with Store(db) as store:
        assert len(met_forecast_rows(store)) == 4
        assert len(store.rejected(source="fc.csv")) == 5


def test_cli_backtest_with_met_forecast_needs_stored_forecasts(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    args = ["forecast", "backtest", "--from", "2015-01-01", "--to", "2015-01-31", "--db", str(db)]
    result = CliRunner().invoke(app, [*args, "--met", "forecast"])
    assert result.exit_code == 1
    assert "met-forecast" in result.output


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Chengdu station, 400 days of hourly PM2.5 driven by the wind, and daily wind-speed
    forecasts issued every day at 12:00 UTC for days 0 … 7 ahead (error growing with lead),
    all imported through the CLI into a real DuckDB file."""
    tmp = tmp_path_factory.mktemp("metfc")
    db = str(tmp / "m.duckdb")
    rng = np.random.default_rng(7)
    days = pd.date_range("2014-01-01", periods=400, freq="D")
    wind = rng.gamma(2.0, 1.0, len(days))
    pm = np.clip(80 - 15 * (wind - 2) + 10 * rng.standard_normal(len(days)), 5, None)
    (tmp / "sites.csv").write_text("site_id,city,name_zh,lon,lat\nT1,510100,测试,104.0,30.6\n")
    hours = pd.date_range("2014-01-01T01:00", periods=24 * len(days), freq="h")
    obs = pd.DataFrame(
        {"site": "T1", "parameter": "PM2.5", "time": hours.strftime("%Y-%m-%dT%H:%M")}
    )
    obs["value"] = np.repeat(pm, 24).round()
    obs.to_csv(tmp / "obs.csv", index=False)
    rows = [
        (
            510100,
            f"{d:%Y-%m-%d}T12:00Z",
            f"{d + pd.Timedelta(days=k):%Y-%m-%d}",
            "ws",
            max(0.0, wind[i + k] + rng.normal(0, 0.2 * (k + 1))),
            "m/s",
        )
        for i, d in enumerate(days)
        for k in range(8)
        if i + k < len(days)
    ]
    fc = pd.DataFrame(rows, columns=["city", "issued_at", "day", "variable", "value", "unit"])
    fc.to_csv(tmp / "fc.csv", index=False)
    for args in (
        ["sites", "import", str(tmp / "sites.csv")],
        ["import", "csv", str(tmp / "obs.csv")],
        ["import", "met-forecast", str(tmp / "fc.csv")],
    ):
        result = CliRunner().invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.output
    return Path(db)


def test_cli_backtest_with_met_forecasts_as_issued(small_store: Path) -> None:
    args = ["forecast", "backtest", "--from", "2014-12-01", "--to", "2015-01-31"]
    result = CliRunner().invoke(app, [*args, "--met", "forecast", "--db", str(small_store)])
    assert result.exit_code == 0, result.output
    assert "forecasts as issued" in result.output
    scores = pd.read_csv(io.StringIO(result.stdout)).set_index(["model", "lead"])
    # the wind forecast carries the signal: the model beats persistence at day +1
    assert scores.loc[("lightgbm", 1), "pm25_rmse"] < scores.loc[("persistence", 1), "pm25_rmse"]


def test_cli_train_and_run_with_met_forecasts(small_store: Path) -> None:
    db = ["--db", str(small_store)]
    # plumbing (the model trains on forecasts as issued, is stored and runs): four months do
    train = ["forecast", "train", "--name", "fc", "--from", "2014-09-01", "--to", "2014-12-31"]
    train += ["--met", "forecast"]
    result = CliRunner().invoke(app, [*train, *db])
    assert result.exit_code == 0, result.output
    run = ["forecast", "run", "--date", "2015-01-20", "--model", "fc", "--author", "t"]
    result = CliRunner().invoke(app, [*run, *db])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(io.StringIO(result.stdout))
    assert out["with_meteorology"].all()
    with Store(small_store, read_only=True) as store:
        meta = _sql.frame(store, "SELECT metadata FROM forecast_models WHERE name = 'fc'")
    assert '"met_mode": "forecast"' in meta["metadata"][0]
