"""AQI, range, level and primary pollutant from pollutant forecasts (HJ 633 breakpoints)."""

from __future__ import annotations

import pandas as pd

from ecobasin.forecast.aqi_range import forecast_aqi


def _fc(day: str, rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": "m",
                "city": "510100",
                "issue_day": pd.Timestamp(day) - pd.Timedelta(days=1),
                "lead": 1,
                "target_day": pd.Timestamp(day),
                "pollutant": p,
                "value": v,
                "lower": lo,
                "upper": hi,
            }
            for p, v, lo, hi in rows
        ]
    )


def test_range_from_quantiles_under_hj633_2012() -> None:
    # HJ 633-2012 Table 1: PM2.5 35 → 50, 75 → 100, 115 → 150; PM10 150 → 100, 50 → 50
    out = forecast_aqi(_fc("2015-01-10", [("PM2.5", 75, 35, 115), ("PM10", 150, 50, 150)]))
    row = out.iloc[0]
    assert (row["aqi"], row["aqi_lower"], row["aqi_upper"]) == (100, 50, 150)
    assert (row["level"], row["level_lower"], row["level_upper"]) == (2, 1, 3)
    assert set(row["primary"].split(",")) == {"PM2.5", "PM10"}  # a tie names both
    assert row["rule_set"] == "HJ633-2012"


def test_hj633_2026_breakpoints_apply_from_2026_03_01() -> None:
    # HJ 633-2026 Table 3: PM2.5 60 → 100 (was 75)
    out = forecast_aqi(_fc("2026-06-01", [("PM2.5", 60, 60, 60)]))
    assert out.iloc[0]["aqi"] == 100
    assert out.iloc[0]["rule_set"] == "HJ633-2026"


def test_no_primary_pollutant_at_aqi_50_or_below() -> None:
    out = forecast_aqi(_fc("2015-01-10", [("PM2.5", 20, 10, 30)]))
    assert out.iloc[0]["aqi"] <= 50
    assert out.iloc[0]["primary"] == ""


def test_a_model_without_values_issues_nothing_and_a_missing_range_stays_empty() -> None:
    """Regression: a model with no value at all (the demo's climatology on days of year it
    never saw) raised KeyError 'value', and one with values but no range KeyError 'lower'."""
    nan = float("nan")
    none = _fc("2025-06-02", [(p, nan, nan, nan) for p in ("PM2.5", "PM10", "O3_8h")])
    empty = forecast_aqi(none)
    assert empty.empty and {"aqi", "level", "primary"} <= set(empty.columns)
    no_range = forecast_aqi(
        _fc("2025-06-02", [("PM2.5", 40.0, nan, nan), ("PM10", 60.0, nan, nan)])
    )
    assert no_range["aqi"].tolist() == [57.0] and no_range["primary"].tolist() == ["PM2.5"]
    assert no_range["aqi_lower"].tolist() == [57.0]  # no range: the central AQI on both sides


def test_each_day_names_its_own_primary_pollutants_in_a_table_of_many_days() -> None:
    """One table of days with different primaries (a tie, one pollutant, the other, none at
    AQI ≤ 50, in an order that repeats): each day keeps its own names (HJ 633-2012 Table 1:
    PM2.5 75 and PM10 150 → 100 each; PM10 250 → 150; PM2.5 115 → 150)."""
    days = {
        "2015-01-10": ([("PM2.5", 75, 75, 75), ("PM10", 150, 150, 150)], {"PM2.5", "PM10"}),
        "2015-01-11": ([("PM2.5", 20, 20, 20), ("PM10", 30, 30, 30)], set()),
        "2015-01-12": ([("PM2.5", 35, 35, 35), ("PM10", 250, 250, 250)], {"PM10"}),
        "2015-01-13": ([("PM2.5", 115, 115, 115), ("PM10", 50, 50, 50)], {"PM2.5"}),
        "2015-01-14": ([("PM2.5", 35, 35, 35), ("PM10", 250, 250, 250)], {"PM10"}),
        "2015-01-15": ([("PM2.5", 75, 75, 75), ("PM10", 150, 150, 150)], {"PM2.5", "PM10"}),
    }
    out = forecast_aqi(pd.concat([_fc(day, rows) for day, (rows, _) in days.items()]))
    primary = dict(zip(out["target_day"].dt.strftime("%Y-%m-%d"), out["primary"], strict=True))
    assert {day: set(filter(None, primary[day].split(","))) for day in days} == {
        day: names for day, (_, names) in days.items()
    }
