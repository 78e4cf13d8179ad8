"""Report builders for air quality: the period assessment and city ranking.

Pure: DataFrames in, DataFrames out. ``ecobasin evaluate`` prints these tables and the
dashboard's rankings show the same numbers.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from ecobasin.standards import air
from ecobasin.standards.air_tables import DEFAULT_SWITCH_DATE

__all__ = ["EVAL_COLUMNS", "assessment_table", "parse_period", "reported"]


def reported(values: pd.Series, name: str) -> pd.Series:
    """Reported concentrations: integers [µg/m³], CO one decimal [mg/m³] (GB/T 8170,
    as HJ 663-2013 §6 reports them)."""
    numbers = values.astype("float64").to_numpy()
    if name.startswith("CO"):
        return pd.Series(air.round_gbt8170(numbers, 1), index=values.index)
    return pd.Series(air.round_gbt8170(numbers, 0), index=values.index).astype("Int64")


def parse_period(text: str) -> tuple[str, date, date]:
    """``2025`` → year, ``2025-10`` → month, ``2025Q3`` → quarter: (kind, first, last day)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})|[Qq]([1-4]))?", text.strip())
    if not m:
        raise ValueError(f"cannot read period {text!r}: use 2025, 2025-10 or 2025Q3")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"no month {month} in {text!r}")
        p = pd.Period(year=year, month=month, freq="M")
        kind = "month"
    elif m.group(3):
        p = pd.Period(year=year, quarter=int(m.group(3)), freq="Q")
        kind = "quarter"
    else:
        p = pd.Period(year=year, freq="Y")
        kind = "year"
    return kind, p.start_time.date(), p.end_time.date()


EVAL_COLUMNS = {
    "SO2_mean": "SO2",
    "SO2_p98": "SO2 P98",
    "NO2_mean": "NO2",
    "NO2_p98": "NO2 P98",
    "PM10_mean": "PM10",
    "PM10_p95": "PM10 P95",
    "PM2.5_mean": "PM2.5",
    "PM2.5_p95": "PM2.5 P95",
    "CO_p95": "CO P95",
    "O3_p90": "O3_8h P90",
}


def assessment_table(
    city_days: pd.DataFrame, kind: str, last_day: date
) -> tuple[pd.DataFrame, str, str]:
    """Assessment of each city over the period, from stored city daily rows.

    Returns the table (one row per city, ranked), the compliance standard and the
    composite-index method used (HJ 663-2013 §5, Appendix A; 环办监测〔2018〕19号).
    """
    daily = pd.DataFrame(
        {
            "city": city_days["scope_id"].astype(int).to_numpy(),
            "date": pd.DatetimeIndex(city_days["day"]),
            "SO2": city_days["so2"].to_numpy(dtype=float),
            "NO2": city_days["no2"].to_numpy(dtype=float),
            "CO": city_days["co"].to_numpy(dtype=float),
            "PM10": city_days["pm10"].to_numpy(dtype=float),
            "PM2.5": city_days["pm25"].to_numpy(dtype=float),
            "O3_8h_max": city_days["o3_8h"].to_numpy(dtype=float),
            "aqi": city_days["aqi"].to_numpy(dtype=float, na_value=np.nan),
        }
    )
    standard = "GB3095-2012" if last_day < DEFAULT_SWITCH_DATE else "GB3095-2026"
    method = "CNEMC-2018"
    stats = air.annual_statistics(daily.drop(columns=["aqi"]), by="city", standard=standard)
    ranking = air.city_ranking(daily, kind, method=method)
    valid = air.period_means(daily.drop(columns=["aqi"]), kind, by="city")
    out = pd.DataFrame({"city": ranking["city"].astype(int)})
    stats = stats.set_index("city")
    for src, dst in EVAL_COLUMNS.items():
        out[dst] = reported(out["city"].map(stats[src]), dst)
    out["good days 优良天数"] = ranking["n_good_days"].to_numpy()
    out["valid days 有效天数"] = ranking["n_valid_days"].to_numpy()
    out["good % 优良率"] = ranking["good_day_percent"].to_numpy()
    out["compliant 达标"] = out["city"].map(stats["compliant"])
    vcols = [c for c in valid.columns if c.startswith("valid_")]
    complete = valid.set_index("city")[vcols].all(axis=1)
    out["valid period 统计有效"] = out["city"].map(complete)
    out["index 综合指数"] = ranking["index"].to_numpy()
    out["max single 最大分指数"] = ranking["max_single_index_pollutant"].to_numpy()
    out["rank index 指数排名"] = ranking["rank_index"].to_numpy()
    out["rank good 优良率排名"] = ranking["rank_good_days"].to_numpy()
    rules = city_days.groupby(city_days["scope_id"].astype(int))["rule_set"].agg(
        lambda s: "+".join(sorted(set(s)))
    )
    out["rule_set"] = out["city"].map(rules)
    out = out.sort_values(["rank index 指数排名", "city"]).reset_index(drop=True)
    return out, standard, method
