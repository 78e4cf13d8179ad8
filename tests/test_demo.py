"""Tests of the seeded demo-region generator (ecobasin.demo)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.demo import region as demo
from needs import SHARED, require

CHENGDU, DEYANG, MEISHAN, ZIYANG = 510100, 510600, 511400, 512000
LOCAL = "Asia/Shanghai"  # CST, UTC+8 without daylight saving since 1991


def shared_file(name: str) -> Path:
    """A file of ../shared/data; skip when absent, fail under CI."""
    return require(SHARED / "data" / name, f"the shared data file {name}")


@pytest.fixture(scope="module")
def region() -> catalog.Region:
    return catalog.load_region()


@pytest.fixture(scope="module")
def sites(region: catalog.Region) -> pd.DataFrame:
    return demo.generate_sites(region)


@pytest.fixture(scope="module")
def hourly(sites: pd.DataFrame) -> pd.DataFrame:
    return demo.generate_hourly(sites)


@pytest.fixture(scope="module")
def clean(hourly: pd.DataFrame) -> pd.DataFrame:
    """Rows without the deliberate bad values, with local (CST) label columns."""
    ceiling = hourly["parameter"].map(catalog.parameters("air")["max_value"]).astype(float)
    good = hourly[(hourly["value"] >= 0) & (hourly["value"] <= ceiling)].copy()
    label = good["time"].dt.tz_convert(LOCAL).dt.tz_localize(None)
    good["label"] = label
    good["day"] = (label - pd.Timedelta(hours=1)).dt.normalize()
    good["month"] = good["day"].dt.month
    good["hour"] = label.dt.hour
    return good


def assert_identical(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """assert_frame_equal, with the all-None object column ``flag`` and the string columns
    checked quickly: Arrow-backed strings compared by Arrow itself (exact, nulls equal), not
    element by element in Python; assert_series_equal only to describe a difference."""
    assert left["flag"].dtype == right["flag"].dtype == object
    assert left["flag"].isna().all() and right["flag"].isna().all()
    assert list(left.columns) == list(right.columns)
    strings = [c for c in left.columns if c != "flag" and left[c].dtype == "str"]
    assert strings == ["site_id", "parameter", "period"]
    for column in strings:
        assert right[column].dtype == left[column].dtype
        if not left[column].array.equals(right[column].array):
            pd.testing.assert_series_equal(left[column], right[column])
    pd.testing.assert_frame_equal(
        left.drop(columns=["flag", *strings]), right.drop(columns=["flag", *strings])
    )


def city_of(sites: pd.DataFrame, code: int) -> set[str]:
    return set(sites.loc[sites["city_code"] == code, "site_id"])


def city_daily(clean: pd.DataFrame, sites: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """Daily city means (days × city codes)."""
    part = clean[clean["parameter"] == parameter].merge(sites[["site_id", "city_code"]])
    return part.pivot_table(index="day", columns="city_code", values="value", aggfunc="mean")


def city_mda8(clean: pd.DataFrame, sites: pd.DataFrame, code: int) -> pd.Series:
    """Daily maximum 8-h running mean of the city-mean hourly O3 [µg/m³]."""
    part = clean[(clean["parameter"] == "O3") & clean["site_id"].isin(city_of(sites, code))]
    hourly = part.groupby("label")["value"].mean().asfreq("h")
    running = hourly.rolling(8, min_periods=6).mean()
    return running.groupby((running.index - pd.Timedelta(hours=1)).normalize()).max()


# ---------------------------------------------------------------------------------------------
# sites


def test_sites_columns_and_counts(sites: pd.DataFrame, region: catalog.Region) -> None:
    assert list(sites.columns) == [
        "site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"
    ]  # fmt: skip
    assert sites["city_code"].dtype == np.int64
    counts = sites.groupby("city_code").size().to_dict()
    expected = {code: 4 for code in region.cities} | {CHENGDU: 10, MEISHAN: 6, ZIYANG: 5}
    assert counts == expected
    assert len(sites) == 41
    assert sites["site_id"].is_unique
    assert all(re.fullmatch(r"DM\d{4}", s) for s in sites["site_id"])
    assert set(sites["kind"]) == {"air_station"}
    assert set(sites["level"]) == {"national"}
    chengdu = sites[sites["city_code"] == CHENGDU]
    assert chengdu["name_zh"].iloc[0] == "成都-01"
    assert chengdu["name_en"].iloc[0] == "Chengdu 01"
    assert sites["site_id"].iloc[0] == "DM0101"


def _winding_inside(x: float, y: float, geometry: dict[str, object]) -> bool:
    """Independent point-in-(multi)polygon test: non-zero winding number of the outer rings,
    minus holes (not the generator's even-odd ray casting)."""
    coordinates = geometry["coordinates"]
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    assert isinstance(polygons, list)

    def winding(ring: list[list[float]]) -> int:
        number = 0
        for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
            cross = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
            if y1 <= y < y2 and cross > 0:
                number += 1
            elif y2 <= y < y1 and cross < 0:
                number -= 1
        return number

    for polygon in polygons:
        outer, *holes = polygon
        if winding(outer) != 0 and all(winding(hole) == 0 for hole in holes):
            return True
    return False


def test_every_station_inside_its_city(sites: pd.DataFrame, region: catalog.Region) -> None:
    geometries = {
        int(f["properties"]["code"]): f["geometry"] for f in catalog.boundaries(region)["features"]
    }
    assert set(geometries) == set(region.cities)
    for row in sites.itertuples():
        for code, geometry in geometries.items():
            inside = _winding_inside(float(row.lon), float(row.lat), geometry)
            assert inside == (code == row.city_code), (row.site_id, code)


def test_stations_are_apart_and_near_the_city(sites: pd.DataFrame) -> None:
    centres = catalog.cities()
    for _code, group in sites.groupby("city_code"):
        xy = group[["lon", "lat"]].to_numpy()
        distance = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        assert distance[~np.eye(len(xy), dtype=bool)].min() >= 0.0099
        centre = centres.loc[int(group["city_code"].iloc[0]), ["lon", "lat"]].to_numpy(float)
        assert np.hypot(*(xy - centre).T).max() < 0.5  # within ~50 km of the centre


def test_points_in_geometry_square_with_hole() -> None:
    square = {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
            [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]],
        ],
    }
    inside = demo.points_in_geometry([0.5, 2.0, 5.0, 3.5], [0.5, 2.0, 2.0, 3.9], square)
    assert inside.tolist() == [True, False, False, True]


def test_sites_deterministic(region: catalog.Region, sites: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(demo.generate_sites(region, seed=2025), sites)
    other = demo.generate_sites(region, seed=1)
    assert not np.allclose(other["lon"].to_numpy(), sites["lon"].to_numpy())


@pytest.mark.shared_data
def test_no_real_station_names(sites: pd.DataFrame) -> None:
    real = pd.read_csv(shared_file("stations_chengdu_plain.csv"), dtype=str)
    real_names = set(real["name_zh_2022"].dropna())
    assert real_names, "the shared station list should name some stations"
    assert not set(sites["name_zh"]) & real_names
    assert not set(sites["site_id"]) & set(real["station_code"])


# ---------------------------------------------------------------------------------------------
# hourly frame: shape, time convention, determinism, chunks


def test_hourly_frame_layout(hourly: pd.DataFrame, sites: pd.DataFrame) -> None:
    assert list(hourly.columns) == ["site_id", "parameter", "period", "time", "value", "flag"]
    assert str(hourly["time"].dtype) == "datetime64[us, UTC]"
    assert hourly["value"].dtype == np.float64
    assert set(hourly["parameter"].unique()) == set(demo.PARAMETERS)
    assert set(hourly["period"].unique()) == {"1h"}
    assert set(hourly["site_id"].unique()) == set(sites["site_id"])
    assert hourly["flag"].isna().all()
    assert hourly["value"].notna().all()  # gaps are absent rows, not NaN
    # the hour labelled 01:00 CST on 1 January is 2024-12-31T17:00Z; the last is 24:00 CST 31 Dec
    assert hourly["time"].min() == pd.Timestamp("2024-12-31T17:00Z")
    assert hourly["time"].max() == pd.Timestamp("2025-12-31T16:00Z")
    assert hourly["time"].nunique() == 8760
    assert not hourly.duplicated(["site_id", "parameter", "time"]).any()
    assert hourly["time"].is_monotonic_increasing


def test_leap_year_has_8784_hours(sites: pd.DataFrame) -> None:
    frame = demo.generate_hourly(sites.iloc[:2], year=2024, seed=3)
    assert frame["time"].nunique() == 8784
    assert frame["time"].min() == pd.Timestamp("2023-12-31T17:00Z")
    assert frame["time"].max() == pd.Timestamp("2024-12-31T16:00Z")


def test_hourly_deterministic(sites: pd.DataFrame, hourly: pd.DataFrame) -> None:
    assert_identical(demo.generate_hourly(sites, seed=2025), hourly)
    other = demo.generate_hourly(sites.iloc[:3], seed=2026)
    same = hourly[hourly["site_id"].isin(set(sites["site_id"].iloc[:3]))]
    assert not np.array_equal(other["value"].to_numpy()[:1000], same["value"].to_numpy()[:1000])


@pytest.mark.parametrize("months", [1, 5])
def test_chunks_equal_whole(sites: pd.DataFrame, hourly: pd.DataFrame, months: int) -> None:
    chunks = list(demo.iter_hourly_chunks(sites, months_per_chunk=months))
    assert len(chunks) == -(-12 // months)
    assert_identical(pd.concat(chunks, ignore_index=True), hourly)


def test_chunks_are_local_months(sites: pd.DataFrame) -> None:
    first = next(demo.iter_hourly_chunks(sites.iloc[:1], months_per_chunk=1))
    labels = first["time"].dt.tz_convert(LOCAL).dt.tz_localize(None)
    assert labels.min() == pd.Timestamp("2025-01-01 01:00")
    assert labels.max() == pd.Timestamp("2025-02-01 00:00")  # 24:00 on 31 January
    with pytest.raises(ValueError, match="months_per_chunk"):
        next(demo.iter_hourly_chunks(sites, months_per_chunk=0))


# ---------------------------------------------------------------------------------------------
# values: ranges, units, shapes


def test_value_ranges_and_units(clean: pd.DataFrame) -> None:
    stats = clean.groupby("parameter")["value"].agg(["min", "mean", "max"])
    assert (stats["min"] > 0).all()
    assert 0.3 < stats.loc["CO", "mean"] < 1.5  # mg/m³, not µg/m³
    assert stats.loc["CO", "max"] < 10
    assert 3 < stats.loc["SO2", "mean"] < 15
    assert stats.loc["SO2", "max"] < 100
    assert 25 < stats.loc["PM2.5", "mean"] < 50
    assert 40 < stats.loc["PM10", "mean"] < 80
    assert 15 < stats.loc["NO2", "mean"] < 45
    assert 40 < stats.loc["O3", "mean"] < 80
    assert stats.loc["PM2.5", "max"] > 150  # winter episodes
    wide = (
        clean[clean["parameter"].isin(["PM2.5", "PM10"])]
        .pivot_table(index=["site_id", "time"], columns="parameter", values="value")
        .dropna()
    )
    assert (wide["PM10"] >= wide["PM2.5"]).all()


def test_chengdu_annual_pm25_is_the_assumed_level(clean: pd.DataFrame, sites: pd.DataFrame) -> None:
    part = clean[(clean["parameter"] == "PM2.5") & clean["site_id"].isin(city_of(sites, CHENGDU))]
    assert part["value"].mean() == pytest.approx(40.0, rel=0.05)


def test_seasonal_contrasts(clean: pd.DataFrame, sites: pd.DataFrame) -> None:
    pm = clean[clean["parameter"] == "PM2.5"]
    winter = pm[pm["month"].isin([12, 1, 2])]["value"].mean()
    summer = pm[pm["month"].isin([6, 7, 8])]["value"].mean()
    assert winter > 1.8 * summer
    # multi-day winter episodes: several consecutive Chengdu days above 75, hours above 150
    daily = city_daily(clean, sites, "PM2.5")[CHENGDU]
    high = (daily > 75).astype(int)
    run = high.groupby((high != high.shift()).cumsum()).transform("sum")[high == 1]
    assert run.max() >= 3
    chengdu = pm[pm["site_id"].isin(city_of(sites, CHENGDU))]
    assert (chengdu[chengdu["month"].isin([12, 1, 2])]["value"] > 150).sum() > 20
    # ozone: summer MDA8 well above winter, some days above 160
    mda8 = city_mda8(clean, sites, CHENGDU)
    summer_o3 = mda8[mda8.index.month.isin([6, 7, 8])]
    winter_o3 = mda8[mda8.index.month.isin([12, 1, 2])]
    assert summer_o3.mean() > 1.8 * winter_o3.mean()
    assert (summer_o3 > 160).sum() >= 10
    assert summer_o3.max() > 180
    # SO2 low all year
    so2 = clean[clean["parameter"] == "SO2"].groupby("month")["value"].mean()
    assert so2.between(3, 20).all()


def _diurnal(clean: pd.DataFrame, parameter: str, months: list[int] | None = None) -> pd.Series:
    part = clean[clean["parameter"] == parameter]
    if months is not None:
        part = part[part["month"].isin(months)]
    return part.groupby("hour")["value"].mean()


def test_diurnal_shapes(clean: pd.DataFrame) -> None:
    o3 = _diurnal(clean, "O3", [5, 6, 7, 8])
    assert 14 <= int(o3.idxmax()) <= 17  # afternoon peak (hour-ending labels, CST)
    assert o3.max() > 2 * o3.min()
    assert 6 <= int(o3.idxmin()) <= 10  # morning titration minimum
    for parameter in ("NO2", "CO"):
        profile = _diurnal(clean, parameter)
        morning, afternoon, evening = profile.loc[7:11], profile.loc[13:17], profile.loc[19:23]
        assert morning.max() > afternoon.mean() * 1.1
        assert evening.max() > afternoon.mean() * 1.1
        assert int(profile.idxmin()) in range(13, 18)
    pm = _diurnal(clean, "PM2.5")
    assert 8 <= int(pm.idxmax()) <= 12  # the measured Chengdu morning maximum
    assert 15 <= int(pm.idxmin()) <= 20  # afternoon mixing minimum
    assert pm.loc[22] > pm.loc[18]  # evening rise


def test_neighbouring_cities_covary(clean: pd.DataFrame, sites: pd.DataFrame) -> None:
    daily = city_daily(clean, sites, "PM2.5")
    for neighbour in (DEYANG, MEISHAN, ZIYANG):
        assert daily[CHENGDU].corr(daily[neighbour]) > 0.6
    # but not identical: city and station noise remain
    assert daily[CHENGDU].corr(daily[DEYANG]) < 0.995
    chengdu = clean[
        (clean["parameter"] == "PM2.5") & clean["site_id"].isin(city_of(sites, CHENGDU))
    ]
    by_station = chengdu.pivot_table(index="time", columns="site_id", values="value")
    corr = by_station.corr().to_numpy()[~np.eye(by_station.shape[1], dtype=bool)]
    assert 0.8 < corr.mean() < 0.99


# ---------------------------------------------------------------------------------------------
# gaps and bad values


def test_gap_fraction_and_outages(hourly: pd.DataFrame, sites: pd.DataFrame) -> None:
    expected = len(sites) * len(demo.PARAMETERS) * 8760
    missing = 1 - len(hourly) / expected
    assert 0.02 <= missing <= 0.04
    per_series = hourly.groupby(["site_id", "parameter"]).size()
    assert len(per_series) == len(sites) * len(demo.PARAMETERS)
    assert (per_series < 8760).all()
    # some multi-hour outages: runs of at least 6 missing hours in a series
    times = hourly.loc[(hourly["site_id"] == "DM0101"), ["parameter", "time"]]
    longest = 0
    for _, group in times.groupby("parameter"):
        steps = group["time"].sort_values().diff().dt.total_seconds().div(3600)
        longest = max(longest, int(steps.max()) - 1)
    runs = hourly.groupby(["site_id", "parameter"])["time"].apply(
        lambda t: t.sort_values().diff().dt.total_seconds().max() / 3600 - 1
    )
    assert (runs >= 6).mean() > 0.3
    assert longest >= 1


def test_bad_values_present_and_rare(hourly: pd.DataFrame) -> None:
    registry = catalog.parameters("air")
    ceiling = hourly["parameter"].map(registry["max_value"]).astype(float)
    negative = hourly["value"] < 0
    spike = hourly["value"] > ceiling
    assert negative.sum() >= 5
    assert spike.sum() >= 5
    assert set(hourly.loc[spike, "value"]) <= {9999.0, 99999.0}
    assert spike.groupby(hourly["parameter"]).sum().gt(0).sum() >= 3
    fraction = (negative | spike).mean()
    assert 1e-5 < fraction < 5e-4


# ---------------------------------------------------------------------------------------------
# calibration against the real Chengdu series


@pytest.mark.shared_data
def test_calibrated_against_real_chengdu(clean: pd.DataFrame, sites: pd.DataFrame) -> None:
    path = shared_file("chengdu_hourly_pm25_weather_2013_2015.csv.gz")
    real = pd.read_csv(path, parse_dates=["datetime_local"]).set_index("datetime_local")
    real = real[["PM_Caotangsi", "PM_Shahepu"]].mean(axis=1)
    real.index = real.index + pd.Timedelta(hours=1)  # read as hour-beginning
    real_month = real.groupby((real.index - pd.Timedelta(hours=1)).month).mean() / real.mean()
    real_hour = real.groupby(real.index.hour).mean() / real.mean()

    chengdu = clean[
        (clean["parameter"] == "PM2.5") & clean["site_id"].isin(city_of(sites, CHENGDU))
    ]
    series = chengdu.groupby("label")["value"].mean().asfreq("h")
    month = series.groupby((series.index - pd.Timedelta(hours=1)).month).mean() / series.mean()
    hour = series.groupby(series.index.hour).mean() / series.mean()

    assert month.corr(real_month) > 0.85
    assert (month - real_month).abs().max() < 0.4
    assert hour.corr(real_hour) > 0.9
    for lag, tolerance in ((1, 0.02), (24, 0.1)):
        assert series.autocorr(lag) == pytest.approx(real.autocorr(lag), abs=tolerance)
    # distribution shape: quantiles relative to the mean
    q = [0.25, 0.5, 0.75, 0.95]
    generated_q = series.quantile(q).to_numpy() / series.mean()
    real_q = real.quantile(q).to_numpy() / real.mean()
    np.testing.assert_allclose(generated_q, real_q, rtol=0.2)
