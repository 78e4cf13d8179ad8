"""The binned polar plot (B5 steps 1–4) to the number, the smoothed surface qualitatively (B5
step 5: peak direction, no negatives, CPF ≤ 1), the percentile rose and the station wind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecobasin.errors import InputError
from ecobasin.sources.polar import percentile_rose, polar_bins, polar_surface
from ecobasin.sources.wind import calm_share, join_wind, nearest_site, wide_wind


def test_bins_by_hand() -> None:
    # wd all multiples of 10 -> 10° sectors; ws 0..3 -> shift 0, width 3/30 = 0.1 m/s
    wd = [90, 90, 90, 270, 5 * 2, 0]
    ws = [3.0, 3.0, 2.95, 0.0, 0.05, 1.0]
    conc = [10.0, 20.0, 30.0, 7.0, 4.0, 8.0]
    bins = polar_bins(wd, ws, conc)
    upper = bins.attrs["upper"]
    bins = bins.assign(ws=bins["ws"].round(6)).set_index(["wd", "ws"])
    # 90° at ws (2.9, 3.0]: three hours, mean 20, weight 0.75 (B5 step 3)
    east = bins.loc[(90.0, 2.95)]
    assert int(east["n"]) == 3 and east["value"] == pytest.approx(20.0)
    assert east["weight"] == pytest.approx(0.75)
    assert east["u"] == pytest.approx(2.95) and east["v"] == pytest.approx(0.0, abs=1e-12)
    # ws = 0 falls in the first interval (0, 0.1] like 0.05 does; 0° is sector 360
    assert bins.loc[(270.0, 0.05), "value"] == pytest.approx(7.0)
    assert bins.loc[(10.0, 0.05), "n"] == 1
    assert bins.loc[(360.0, 0.95), "weight"] == pytest.approx(0.25)
    assert len(bins) == 4
    assert upper == pytest.approx(3.0)


def test_bins_at_five_degrees_and_min_bin() -> None:
    bins = polar_bins([92.5, 92.6, 180], [1, 1, 2], [1, 3, 5], min_bin=2)
    rows = {(r.wd, r.n): r for r in bins.itertuples()}
    assert (90.0, 1) in rows and (95.0, 1) in rows  # 92.5 rounds down, 92.6 up (5° sectors)
    assert all(np.isnan(r.value) and r.weight is None for r in rows.values())


def test_bins_cpf_strict_threshold() -> None:
    conc = [1.0, 2.0, 3.0, 4.0, 5.0]
    bins = polar_bins([90] * 5, [1, 1, 1, 1, 1], conc, statistic="cpf", percentile=75)
    # P75 = 4.0; only 5 > 4 (strict), so 1 of 5 hours
    assert bins["value"].iloc[0] == pytest.approx(0.2)
    interval = polar_bins([90] * 5, [1] * 5, conc, statistic="cpf", percentile=[25, 75])
    assert interval["value"].iloc[0] == pytest.approx(0.4)  # 2 < C ≤ 4: 3 and 4


def _synthetic_source(direction: float, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 6000
    wd = rng.uniform(0, 360, n)
    ws = rng.gamma(2.0, 1.5, n)
    off = np.radians((wd - direction + 180) % 360 - 180)
    plume = 80 * np.exp(-(off**2) / (2 * 0.35**2)) * np.exp(-((ws - 4) ** 2) / 4)
    conc = 15 + plume + rng.gamma(2.0, 2.5, n)
    return pd.DataFrame({"wd": wd, "ws": ws, "conc": conc})


@pytest.mark.parametrize("direction", [45.0, 200.0])
def test_surface_peaks_towards_the_source(direction: float) -> None:
    data = _synthetic_source(direction)
    bins = polar_bins(data["wd"], data["ws"], data["conc"])
    surface = polar_surface(bins, grid=61)
    assert np.nanmin(surface.z) >= 0.0  # squared back from √value
    gap = abs((surface.peak_direction() - direction + 180) % 360 - 180)
    assert gap < 30.0, surface.peak_direction()
    assert np.isnan(surface.z[0, 0])  # a corner lies beyond the plot's radius


def test_cpf_surface_is_a_probability() -> None:
    data = _synthetic_source(120.0)
    bins = polar_bins(data["wd"], data["ws"], data["conc"], statistic="cpf", percentile=90)
    surface = polar_surface(bins, grid=61, probability=True)
    assert np.nanmax(surface.z) <= 1.0 and np.nanmin(surface.z) >= 0.0
    gap = abs((surface.peak_direction() - 120.0 + 180) % 360 - 180)
    assert gap < 30.0


def test_surface_needs_bins() -> None:
    with pytest.raises(InputError, match="at least 3 bins"):
        polar_surface(polar_bins([90, 90], [1, 1], [1, 2]))


def test_percentile_rose_by_hand() -> None:
    wd = [10, 12, 8, 180, 181, 90]
    conc = [1.0, 2.0, 3.0, 10.0, 20.0, 99.0]
    rose, calm = percentile_rose(wd, conc, ws=[1, 1, 1, 1, 1, 0.2], percentiles=(50, 90))
    assert calm == pytest.approx(1 / 6)
    assert rose["sector"].tolist() == [10.0, 180.0]  # 90° was calm; 181 rounds to 180
    assert rose["p50"].tolist() == pytest.approx([2.0, 15.0])
    assert rose["p90"].tolist() == pytest.approx([2.8, 19.0])  # type 7: h = (n−1)·0.9
    assert rose["n"].tolist() == [3, 2]


def test_wind_join_and_nearest() -> None:
    times = pd.date_range("2025-01-01", periods=3, freq="h", tz="UTC")
    long = pd.DataFrame({
        "time": list(times) * 2,
        "parameter": ["wind_speed"] * 3 + ["wind_direction"] * 3,
        "value": [1.0, 0.2, np.nan, 90.0, 180.0, 270.0],
    })  # fmt: skip
    wind = wide_wind(long)
    assert wind["ws"].tolist() == [1.0, 0.2]  # the third hour has no speed
    assert calm_share(wind["ws"]) == pytest.approx(0.5)
    joined = join_wind(pd.DataFrame({"time": times, "conc": [5.0, 6.0, 7.0]}), wind)
    assert joined["conc"].tolist() == [5.0, 6.0]
    sites = pd.DataFrame({"site_id": ["A", "B"], "lon": [104.1, 104.6], "lat": [30.7, 30.7]})
    site, km = nearest_site(104.0, 30.7, sites) or ("", 0.0)
    assert site == "A" and km == pytest.approx(9.57, abs=0.05)
    assert nearest_site(104.0, 30.7, sites, max_km=5.0) is None


def test_impossible_wind_is_named() -> None:
    times = pd.date_range("2025-01-01", periods=1, freq="h", tz="UTC")
    wind = pd.DataFrame({"time": times, "ws": [1.0], "wd": [400.0]})
    with pytest.raises(InputError, match="wd 400"):
        join_wind(pd.DataFrame({"time": times, "conc": [5.0]}), wind)
