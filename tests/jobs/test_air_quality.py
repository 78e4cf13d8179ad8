"""The air-quality update job against a real DuckDB file and a hand-built data set.

Every expected index below is worked out by hand from HJ 633 formula (1),
``IAQI = I_lo + (I_hi - I_lo) / (BP_hi - BP_lo) * (C - BP_lo)``, rounded up (HJ 633-2012 §6.2,
HJ 633-2026 §4.2.6), with the breakpoints of HJ 633-2012 Table 1 / HJ 633-2026 Table 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin.ingest import importer
from ecobasin.jobs import refresh_air_quality
from ecobasin.standards.air_assessment import plan_refresh
from ecobasin.store import Store
from ecobasin.store import air as store_air
from store_files import built_store_file, new_synced_store_file

CHENGDU, DEYANG = 510100, 510600
#: A and B in Chengdu, C in Deyang (C has no O3 analyser), M a Chengdu micro-station.
SITES = pd.DataFrame(
    [
        ("A", "air_station", "national", CHENGDU, "甲", "A", 104.0, 30.6),
        ("B", "air_station", "national", CHENGDU, "乙", "B", 104.1, 30.7),
        ("C", "air_station", "national", DEYANG, "丙", "C", 104.4, 31.1),
        ("M", "micro_station", "city", CHENGDU, "微", "M", 104.0, 30.6),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)
#: Constant hourly concentrations [µg/m³] (CO [mg/m³]) of each station.
LEVELS = {
    "A": {"SO2": 10.0, "NO2": 40.0, "CO": 1.0, "O3": 100.0, "PM10": 100.0, "PM2.5": 57.0},
    "B": {"SO2": 10.0, "NO2": 40.0, "CO": 1.0, "O3": 100.0, "PM10": 100.0, "PM2.5": 64.0},
    "C": {"SO2": 10.0, "NO2": 40.0, "CO": 1.0, "PM10": 60.0, "PM2.5": 30.0},
    "M": {"PM2.5": 300.0},
}
DAYS_2012 = [date(2025, 1, 9), date(2025, 1, 10), date(2025, 1, 11)]
DAYS_SWITCH = [date(2026, 2, 28), date(2026, 3, 1)]


def day_hours(day: date) -> pd.DatetimeIndex:
    """The 24 hour-ending UTC instants of a CST day (labels 01:00 … 24:00)."""
    first = pd.Timestamp(day).tz_localize("Asia/Shanghai") + pd.Timedelta(hours=1)
    return pd.date_range(first, periods=24, freq="h").tz_convert("UTC")


def candidates(days: list[date], sites: list[str], override: dict | None = None) -> pd.DataFrame:
    rows = []
    for day in days:
        for site in sites:
            for parameter, value in LEVELS[site].items():
                v = (override or {}).get((site, parameter), value)
                for t in day_hours(day):
                    rows.append((site, parameter, "1h", t, v))
    frame = pd.DataFrame(rows, columns=["site_id", "parameter", "period", "time", "value"])
    return frame.assign(raw_value=None, unit=None, flag=None, line=frame.index + 1, field="test")


def import_days(
    store: Store, days: list[date], sites: list[str], **kw: object
) -> importer.ImportReport:
    frame = candidates(days, sites, kw.get("override"))  # type: ignore[arg-type]
    return importer.import_frames(store, [(frame, {"source": f"test {days[0]}"})], "test")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(built_store_file(tmp_path / "air.duckdb", "air sites", _sites_store)) as s:
        yield s


def _sites_store(path: Path) -> None:
    """A new store with the region's catalog and the test sites (made once, then copied)."""
    with Store(new_synced_store_file(path)) as s:
        s.upsert_sites(SITES, source="test")


@pytest.fixture
def filled(store: Store) -> Store:
    report = import_days(store, DAYS_2012 + DAYS_SWITCH, ["A", "B", "C", "M"])
    assert report.stored.inserted > 0
    refresh_air_quality(store, report.touched_frame())
    return store


def daily_row(store: Store, scope: str, sid: str, day: date) -> pd.Series:
    frame = store_air.aqi_daily(store, scope=scope, ids=[sid], start=day, end=day)
    assert len(frame) == 1
    return frame.iloc[0]


def test_station_daily_aqi_hj633_2012_5_1_2(filled: Store) -> None:
    """HJ 633-2012 §5.1.2 daily report, 7 indicators, station A on 2025-01-10.

    SO2 10 → 10; NO2 40 → 50; CO 1.0 → 25; O3 max 1-h 100 → 100·50/160 = 31.25 → 32;
    O3 MDA8 100 → 50; PM10 100 → 50 + 50/100·50 = 75; PM2.5 57 → 50 + 50/40·22 = 77.5 → 78.
    AQI 78 (§4.4), level 2 良, primary PM2.5 (§4.4.2), no exceeding pollutant (§3.4).
    """
    row = daily_row(filled, "site", "A", date(2025, 1, 10))
    assert row["rule_set"] == "HJ633-2012"
    assert (row["so2"], row["no2"], row["co"], row["pm10"], row["pm25"]) == (10, 40, 1.0, 100, 57)
    assert (row["o3_8h"], row["o3_1h"]) == (100, 100)
    assert (row["n_pm25"], row["n_o3_8h"]) == (24, 17)
    iaqi = [row[f"iaqi_{p}"] for p in ("so2", "no2", "co", "o3_1h", "o3_8h", "pm10", "pm25")]
    assert iaqi == [10, 50, 25, 32, 50, 75, 78]
    assert (row["aqi"], row["level"], row["primary"], row["exceeding"]) == (78, 2, "PM2.5", "")
    assert bool(row["publish_aqi"]) and not bool(row["incomplete"])


def test_station_hourly_aqi_hj633_2012_5_1_3_moving_means(filled: Store) -> None:
    """HJ 633-2012 §5.1.3 real-time report uses the PM 24-h and O3 8-h moving means.

    At 24:00 of 2025-01-10 (station A): SO2 1-h 10 → 10·50/150 = 3.33 → 4; NO2 1-h 40 → 20;
    CO 1-h 1.0 → 10; O3 1-h 100 → 32; O3 8-h 100 → 50; PM10 24-h 100 → 75; PM2.5 24-h 57 → 78.
    On the first day of data the PM 24-h moving mean needs ≥ 20 valid hours (GB 3095-2012
    Table 4), so only the hours 20:00 … 24:00 of 2025-01-09 have it, and the AQI of the rest
    (≤ 100) is not published (HJ 633-2026 §5.3.1, applied to both generations).
    """
    hours = day_hours(date(2025, 1, 10))
    frame = store_air.aqi_hourly(filled, scope="site", ids=["A"], start=hours[-1], end=hours[-1])
    row = frame.iloc[0]
    iaqi = [row[f"iaqi_{p}"] for p in ("so2", "no2", "co", "o3_1h", "o3_8h", "pm10", "pm25")]
    assert iaqi == [4, 20, 10, 32, 50, 75, 78]
    assert (row["aqi"], row["primary"], row["pm25_24h"], row["rule_set"]) == (
        78,
        "PM2.5",
        57,
        "HJ633-2012",
    )
    first = day_hours(date(2025, 1, 9))
    day1 = store_air.aqi_hourly(filled, scope="site", ids=["A"], start=first[0], end=first[-1])
    assert len(day1) == 24
    assert day1["publish_aqi"].tolist() == [False] * 19 + [True] * 5
    assert day1["pm25_24h"].isna().sum() == 19
    assert day1["o3_8h"].isna().sum() == 5  # 8-h mean from 6 valid hours on


def test_city_value_is_mean_of_station_concentrations_then_indexed(filled: Store) -> None:
    """HJ 663-2013 §5 / HJ 633-2026 §4.2.1: city PM2.5 = mean(57, 64) = 60.5 → 60 (GB/T 8170:
    an exact 5 goes to the even neighbour), IAQI 50 + 1.25·25 = 81.25 → 82. Not the mean of
    the station IAQIs (78, 87 → 82.5) nor their maximum (87). The micro-station M (PM2.5 300)
    is not an assessment station and does not count."""
    row = daily_row(filled, "city", str(CHENGDU), date(2025, 1, 10))
    b = daily_row(filled, "site", "B", date(2025, 1, 10))
    assert b["iaqi_pm25"] == 87  # 50 + 1.25·29 = 86.25 → 87
    assert (row["pm25"], row["iaqi_pm25"], row["aqi"], row["n_stations"]) == (60, 82, 82, 2)
    assert row["n_pm25"] == 2
    hours = day_hours(date(2025, 1, 10))
    hourly = store_air.aqi_hourly(
        filled, scope="city", ids=[str(CHENGDU)], start=hours[-1], end=hours[-1]
    ).iloc[0]
    assert (hourly["pm25_24h"], hourly["iaqi_pm25"], hourly["n_stations"]) == (60, 82, 2)
    assert store_air.aqi_daily(filled, scope="site", ids=["M"]).empty


def test_rule_set_switches_on_2026_03_01(filled: Store) -> None:
    """Before 2026-03-01 HJ 633-2012, from then HJ 633-2026 (its Table 3 PM columns; §4.2.2
    daily report of 6 indicators; §4.2.3-§4.2.4 real-time report from 1-h values, PM on the
    daily breakpoints). Same concentrations at station A:

    * 2026-02-28 (2012): PM2.5 57 → 78, AQI 78.
    * 2026-03-01 (2026): PM10 100 → 50 + 50/70·50 = 85.71 → 86; PM2.5 57 → 50 + 2·22 = 94;
      AQI 94; no O3 1-h indicator in the daily report; every hour published (no moving means).
    """
    old = daily_row(filled, "site", "A", date(2026, 2, 28))
    new = daily_row(filled, "site", "A", date(2026, 3, 1))
    assert (old["rule_set"], old["aqi"]) == ("HJ633-2012", 78)
    assert (new["rule_set"], new["aqi"], new["iaqi_pm10"], new["iaqi_pm25"]) == (
        "HJ633-2026",
        94,
        86,
        94,
    )
    assert pd.isna(new["iaqi_o3_1h"]) and pd.isna(new["exceeding"])
    hours = day_hours(date(2026, 3, 1))
    hourly = store_air.aqi_hourly(filled, scope="site", ids=["A"], start=hours[0], end=hours[-1])
    assert set(hourly["rule_set"]) == {"HJ633-2026"}
    assert hourly["aqi"].tolist() == [94] * 24
    assert hourly["pm25_24h"].isna().all()  # not an indicator under 2026


def test_missing_pollutant_not_published_hj633_2026_5_3_1(filled: Store) -> None:
    """Station C has no O3: the AQI of the rest is ≤ 100 (PM2.5 30 → 30·50/35 = 42.86 → 43;
    PM10 60 → 55 under 2012, 50 + 50/70·10 = 57.14 → 58 under 2026), so
    AQI, level and primary pollutant are NA and ``publish_aqi`` is False (HJ 633-2026 §5.3.1);
    the single IAQIs are still there."""
    for day, pm10 in ((date(2025, 1, 10), 55), (date(2026, 3, 1), 58)):
        row = daily_row(filled, "site", "C", day)
        assert not bool(row["publish_aqi"]) and bool(row["incomplete"])
        assert pd.isna(row["aqi"]) and pd.isna(row["level"]) and pd.isna(row["primary"])
        assert pd.isna(row["o3_8h"]) and pd.isna(row["iaqi_o3_8h"])
        assert row["iaqi_pm10"] == pm10 and row["iaqi_pm25"] == 43
    city = daily_row(filled, "city", str(DEYANG), date(2025, 1, 10))
    assert not bool(city["publish_aqi"]) and pd.isna(city["aqi"])


def test_plan_adds_next_day_only_under_2012() -> None:
    """The incremental rule: a touched day plus, under HJ 633-2012, the next day's hours
    (their moving windows reach back); daily keys: the touched day only."""
    stations = SITES.loc[SITES["kind"] == "air_station", ["site_id", "city_code"]]
    touched = pd.DataFrame(
        {
            "site_id": ["A", "M", "A"],
            "day": [date(2025, 1, 10), date(2025, 1, 10), date(2026, 3, 1)],
        }
    )
    plan = plan_refresh(touched, stations)
    days = lambda f: [str(d)[:10] for d in f["day"]]  # noqa: E731
    assert days(plan["daily_site"]) == ["2025-01-10", "2026-03-01"]
    assert days(plan["hourly_site"]) == ["2025-01-10", "2025-01-11", "2026-03-01"]
    assert plan["daily_city"]["city_code"].tolist() == [CHENGDU, CHENGDU]


def _snapshot(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = []
    for scope in ("site", "city"):
        parts.append(
            (store_air.aqi_hourly(store, scope=scope), store_air.aqi_daily(store, scope=scope))
        )
    hourly = pd.concat([p[0] for p in parts], ignore_index=True)
    daily = pd.concat([p[1] for p in parts], ignore_index=True)
    return hourly, daily


def test_reimporting_one_day_recomputes_that_day_only(filled: Store) -> None:
    """Re-import station A's 2025-01-10 with PM2.5 80: only A's and Chengdu's daily rows of
    that day are rewritten; their hourly rows of that day and of 2025-01-11 (24-h moving
    means reach back, HJ 633-2012 §5.1.3); nothing else. The result equals a full recompute."""
    hourly0, daily0 = _snapshot(filled)
    report = import_days(filled, [date(2025, 1, 10)], ["A"], override={("A", "PM2.5"): 80.0})
    assert report.stored.replaced == 24
    touched = report.touched_frame()
    assert touched.to_records(index=False).tolist() == [("A", date(2025, 1, 10))]
    result = refresh_air_quality(filled, touched)
    assert (result["site_days"], result["city_days"], result["daily_rows"]) == (1, 1, 2)
    assert result["hourly_rows"] == 4 * 24  # A and Chengdu, two days
    hourly1, daily1 = _snapshot(filled)
    assert len(hourly1) == len(hourly0) and len(daily1) == len(daily0)

    changed = daily1["computed_at"] != daily0["computed_at"]
    got = set(zip(daily1.loc[changed, "scope_id"], daily1.loc[changed, "day"].dt.date, strict=True))
    assert got == {("A", date(2025, 1, 10)), (str(CHENGDU), date(2025, 1, 10))}
    changed = hourly1["computed_at"] != hourly0["computed_at"]
    local = hourly1.loc[changed, "time"].dt.tz_convert("Asia/Shanghai") - pd.Timedelta(hours=1)
    got = set(zip(hourly1.loc[changed, "scope_id"], local.dt.date, strict=True))
    assert got == {
        (sid, d) for sid in ("A", str(CHENGDU)) for d in (date(2025, 1, 10), date(2025, 1, 11))
    }
    # A: PM2.5 80 → 100 + 50/40·5 = 106.25 → 107, exceeding (HJ 633-2012 §3.4)
    row = daily_row(filled, "site", "A", date(2025, 1, 10))
    assert (row["aqi"], row["level"], row["exceeding"]) == (107, 3, "PM2.5")
    # Chengdu: mean(80, 64) = 72 → 50 + 1.25·37 = 96.25 → 97
    assert daily_row(filled, "city", str(CHENGDU), date(2025, 1, 10))["aqi"] == 97

    # incremental == full recompute
    refresh_air_quality(filled)
    hourly2, daily2 = _snapshot(filled)
    pd.testing.assert_frame_equal(
        hourly1.drop(columns="computed_at"), hourly2.drop(columns="computed_at")
    )
    pd.testing.assert_frame_equal(
        daily1.drop(columns="computed_at"), daily2.drop(columns="computed_at")
    )


def test_full_refresh_is_idempotent_and_keyed(filled: Store) -> None:
    before = store_air.aqi_counts(filled)
    result = refresh_air_quality(filled)
    assert store_air.aqi_counts(filled) == before
    assert (
        result["daily_deleted"]
        == result["daily_rows"]
        == before["daily_site"] + before["daily_city"]
    )
    assert before["daily_site"] == 3 * len(DAYS_2012 + DAYS_SWITCH)
    assert before["daily_city"] == 2 * len(DAYS_2012 + DAYS_SWITCH)
    assert sorted(result["rule_sets"]) == ["HJ633-2012", "HJ633-2026"]


def test_invalid_flags_are_left_out(store: Store) -> None:
    """GB 3095-2012 §6: only valid data enter statistics; HJ 212 flag D (fault) is invalid.
    Five faulty PM2.5 hours leave 19 valid hours: no valid daily mean (Table 4: ≥ 20 h)."""
    frame = candidates([date(2025, 1, 10)], ["A"])
    bad = (frame["parameter"] == "PM2.5") & (frame.groupby("parameter").cumcount() < 5)
    frame.loc[bad, "flag"] = "D"
    report = importer.import_frames(store, [(frame, {"source": "flags"})], "test")
    refresh_air_quality(store, report.touched_frame())
    row = daily_row(store, "site", "A", date(2025, 1, 10))
    assert row["n_pm25"] == 19 and pd.isna(row["pm25"]) and pd.isna(row["iaqi_pm25"])
    assert np.isfinite(row["pm10"])


def test_nothing_touched_does_nothing(store: Store) -> None:
    empty = pd.DataFrame({"site_id": [], "day": []})
    calls: list[tuple[int, int]] = []
    result = refresh_air_quality(store, empty, progress=lambda d, t: calls.append((d, t)))
    assert result["chunks"] == 0 and calls == [(0, 0)]
    assert store_air.aqi_counts(store) == dict.fromkeys(
        ("hourly_site", "hourly_city", "daily_site", "daily_city"), 0
    )
