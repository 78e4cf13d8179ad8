"""Noise in a real DuckDB file (issue 23): survey CSV import with bad rows kept aside, HJ 640
survey results with grades, and GB 3096 station-day compliance rates from hourly Leq."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.services import noise as service
from ecobasin.store import Store
from ecobasin.store import noise as noise_store
from store_files import new_synced_store_file

REGIONAL = """year,period,grid_id,city,lon,lat,grid_size_m,valid,start_time,Leq,L10,L50,L90,Lmax,Lmin,SD,main_source
2026,day,G001,510100,104.06,30.67,1000,true,2026-05-12T10:00,52.3,55.0,50.1,47.0,70.2,44.0,3.1,交通
2026,day,G002,510100,104.07,30.67,1000,true,2026-05-12T10:20,55.8,,,,,,,生活
2026,day,G003,510100,104.08,30.67,1000,false,2026-05-12T10:40,75.0,,,,,,,施工
2026,day,G004,510100,104.09,30.67,1000,true,2026-05-12T11:00,abc,,,,,,,生活
2026,dusk,G005,510100,104.10,30.67,1000,true,2026-05-12T11:20,50.0,,,,,,,生活
2026,day,G006,999999,104.10,30.67,1000,true,2026-05-12T11:40,50.0,,,,,,,生活
2026,day,G007,510600,104.40,31.13,1000,true,2026-05-12T12:00,49.9,,,,,,,工业
"""

#: The UTC hour ends of the CST year 2026 (labels 2026-01-01 01:00 … 2027-01-01 00:00).
YEAR_2026 = (
    pd.Timestamp("2026-01-01T01:00", tz="Asia/Shanghai").tz_convert("UTC"),
    pd.Timestamp("2027-01-01T00:00", tz="Asia/Shanghai").tz_convert("UTC"),
)

TRAFFIC = """year,period,segment_id,city,road_name,road_class,length_km,width_m,start_time,Leq
2026,day,S1,成都,人民南路,主干路,2.4,40,2026-05-13T10:00,71.2
2026,day,S2,Chengdu,红星路,次干路,1.1,30,2026-05-13T10:30,68.5
2026,day,S3,成都市,蜀都大道,主干路,0,50,2026-05-13T11:00,73.6
"""


@pytest.fixture
def store(tmp_path: Path):
    store = Store(new_synced_store_file(tmp_path / "noise.duckdb"))
    yield store
    store.close()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_survey_rows_are_kept_aside_with_line_and_reason(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "regional.csv", REGIONAL)
    result = noise_store.import_survey_csv(store, path, "regional")
    assert (result.read, result.stored, result.rejected) == (7, 4, 3)
    kept = store.rejected(source=str(path)).sort_values("record_ref")
    assert list(kept["record_ref"]) == ["line 5", "line 6", "line 7"]
    reasons = " | ".join(kept["reason"])
    assert "Leq 'abc' is not a number" in reasons
    assert "period 'dusk'" in reasons and "city '999999'" in reasons
    # a re-import stores nothing new and keeps nothing twice
    again = noise_store.import_survey_csv(store, path, "regional")
    assert again.stored == 4 and len(store.rejected(source=str(path))) == 3


def test_regional_results_use_valid_grids_only(store: Store, tmp_path: Path) -> None:
    noise_store.import_survey_csv(store, _write(tmp_path, "r.csv", REGIONAL), "regional")
    results = {r["city_code"]: r for r in service.survey_results(store, "regional", 2026, "day")}
    chengdu = results[510100]
    # G003 is invalid (HJ 640: left out); (52.3 + 55.8) / 2 = 54.05 → 54.0 (half-even) → 二级 较好
    assert chengdu["n"] == 2 and chengdu["mean_dBA"] == 54.0
    assert (chengdu["grade_zh"], chengdu["rating_zh"], chengdu["rating_en"]) == (
        "二级",
        "较好",
        "fairly good",
    )
    assert results[510600]["rating_zh"] == "好"


def test_traffic_results_are_length_weighted(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "t.csv", TRAFFIC)
    result = noise_store.import_survey_csv(store, path, "traffic")
    assert (result.stored, result.rejected) == (2, 1)  # S3 has length 0
    [city] = service.survey_results(store, "traffic", 2026, "day")
    # (2.4·71.2 + 1.1·68.5) / 3.5 = 70.351 → 70.4 → 三级 一般; 2.4 of 3.5 km above 70: 68.6 %
    assert city["mean_dBA"] == 70.4 and city["grade_zh"] == "三级"
    assert city["share_over_70_pct"] == 68.6


def test_total_road_length_is_shown_to_the_metre(store: Store, tmp_path: Path) -> None:
    # found in `ecobasin noise survey --survey traffic`: 20.679999999999996 km in the table
    rows = [f"2026,day,S{i},510100,路{i},主干路,{length},30,2026-05-13T10:00,66.0"
            for i, length in enumerate((0.1, 0.2))]  # fmt: skip
    path = _write(tmp_path, "t.csv", TRAFFIC.splitlines()[0] + "\n" + "\n".join(rows) + "\n")
    noise_store.import_survey_csv(store, path, "traffic")
    [city] = service.survey_results(store, "traffic", 2026, "day")
    assert city["total_length_km"] == 0.3  # 0.1 + 0.2 [km] to 0.001 km, not 0.30000000000000004
    assert repr(city["total_length_km"]) == "0.3"


def _station(store: Store, site: str, zone_class: str) -> None:
    frame = pd.DataFrame(
        [{"site_id": site, "kind": "noise_station", "level": "city", "city_code": 510100,
          "name_zh": "测试", "name_en": "test", "lon": 104.0, "lat": 30.6,
          "attributes": {"zone_class": zone_class}}]
    )  # fmt: skip
    store.upsert_sites(frame, source="test")


def _hours(site: str, day: str, day_level: float, night_level: float) -> pd.DataFrame:
    # 24 hour-ending labels 01:00 … 24:00 of the CST day; stored at the UTC end instant
    ends = pd.date_range(f"{day}T01:00", periods=24, freq="h", tz="Asia/Shanghai")
    levels = [day_level if 7 <= (t.hour or 24) <= 22 else night_level for t in ends]
    return pd.DataFrame(
        {"site_id": site, "parameter": "Leq", "period": "1h", "time": ends.tz_convert("UTC"),
         "value": levels, "flag": None}
    )  # fmt: skip


def test_monthly_station_day_compliance(store: Store) -> None:
    _station(store, "NZ1", "2")  # 60 / 50
    _station(store, "NZ2", "4a")  # 70 / 55
    batch = store.begin_batch("test", "hours")
    frames = [
        _hours("NZ1", "2026-07-01", 58.0, 49.0),  # pass / pass
        _hours("NZ1", "2026-07-02", 61.0, 52.0),  # fail / fail
        _hours("NZ2", "2026-07-01", 69.0, 56.0),  # pass / fail
        _hours("NZ2", "2026-08-01", 69.0, 54.0),  # pass / pass
    ]
    store.write_observations(pd.concat(frames, ignore_index=True), batch_id=batch)
    assert service.zone_compliance_rates(store, 2026, "month") == []  # stored, not recomputed
    refresh_noise_products(store, None, *YEAR_2026)
    rates = {r["period"]: r for r in service.zone_compliance_rates(store, 2026, "month")}
    july = rates["2026-07"]
    assert (july["day_valid"], july["day_compliant"], july["day_rate_pct"]) == (3, 2, 66.7)
    assert (july["night_valid"], july["night_compliant"], july["night_rate_pct"]) == (3, 1, 33.3)
    assert rates["2026-08"]["night_rate_pct"] == 100.0
    quarter = service.zone_compliance_rates(store, 2026, "quarter")
    assert [q["period"] for q in quarter] == ["2026Q3"] and quarter[0]["day_valid"] == 4


def test_a_survey_or_complaints_csv_past_the_cap_is_refused_before_reading(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas reads a whole CSV into memory: a stray export must be refused, not read."""
    from ecobasin.store import noise_complaints

    survey = _write(tmp_path, "big.csv", REGIONAL * 40)
    complaints = _write(tmp_path, "complaints.csv", "complaint_id,time\n" + "C,x\n" * 2000)
    monkeypatch.setattr(noise_store, "MAX_CSV_BYTES", 4096)
    with pytest.raises(ValueError, match=r"big\.csv: .* more than the .* split it"):
        noise_store.import_survey_csv(store, survey, "regional")
    with pytest.raises(ValueError, match=r"complaints\.csv: .* more than the .* split it"):
        noise_complaints.import_complaints_csv(store, complaints)
    assert store.rejected().empty and noise_store.survey_rows(store, "regional", 2026, "day").empty
