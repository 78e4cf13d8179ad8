"""One water section's year: facts, the class of every month and of every day with automatic
data, the monthly series of the main items against Class III, main pollutants by month.

What ``GET /api/v1/water/sections/{site_id}/calendar`` answers and the section page
(``/water/section/{site_id}``) draws. Months are the stored results of the job
(:mod:`ecobasin.jobs.water_quality`, 环办〔2011〕22号 §一(二)); days are classed here from the
automatic-station values (4-hourly, hourly over HJ 212) of the items they measure, by the
single-factor method of GB 3838-2002 on daily means with the day validity rule of
``evaluation.toml`` (≥ 4 values; ecobasin's threshold [assume]) — an indication between the
monthly assessments, not an assessment of the method.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.standards import water
from ecobasin.standards.rounding import round_gbt8170
from ecobasin.store import water as store_water
from ecobasin.store.water import Connection

__all__ = ["SERIES_ITEMS", "daily_classes", "section_calendar", "section_facts"]

#: Items drawn against their Class III limit (the 办法's usual main pollutants, DO "≥").
SERIES_ITEMS: tuple[str, ...] = ("CODMn", "COD", "BOD5", "NH3N", "TP", "DO")


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _city(code: Any) -> dict[str, Any] | None:
    if _plain(code) is None:
        return None
    table = catalog.cities()
    code = int(code)
    if code not in table.index:
        return {"code": code, "name_zh": str(code), "name_en": str(code)}
    row = table.loc[code]
    return {"code": code, "name_zh": str(row["name_zh"]), "name_en": str(row["name_en"])}


def _facts(section: pd.Series) -> dict[str, Any]:
    keys = (
        *("site_id", "name_zh", "name_en", "level", "city_zh", "city_en", "lon", "lat"),
        *("river_zh", "river_en", "basin_zh", "basin_en", "water_body", "target_class"),
    )
    out = {k: _plain(section[k]) for k in keys}
    out["city_code"] = int(section["city_code"])
    out["water_body"] = water.normalise_water_body(section["water_body"])
    out["upstream_city"] = _city(section["upstream_city"])
    out["downstream_city"] = _city(section["downstream_city"])
    return out


def _class_fields(num: Any) -> dict[str, Any]:
    num = int(num) if _plain(num) is not None else 0
    if num == 0:
        return {"class_num": None, "class": None, "status_zh": None, "status_en": None}
    info = water.class_info(num)
    return {
        "class_num": num,
        "class": info.label,
        "status_zh": info.status_zh,
        "status_en": info.status_en,
    }


def _rounded(value: Any, decimals: int) -> float | None:
    value = _plain(value)
    return None if value is None else float(round_gbt8170(float(value), decimals))


def _result(row: pd.Series) -> dict[str, Any]:
    """A stored month or year result; means with 4 decimals, CWQI 4, TLI 2 (GB/T 8170)."""
    means = row["means"] or {}
    return {
        "period": str(row["period"]),
        **_class_fields(row["class_num"]),
        "meets_target": _plain(row["meets_target"]),
        "main_pollutants": row["main_pollutants"] or [],
        "main_display": _plain(row["main_display"]) or "",
        "determining": [d for d in str(row["determining"] or "").split(",") if d],
        "cwqi": _rounded(row["cwqi"], 4),
        "tli": _rounded(row["tli"], 2),
        "means": {str(k): _rounded(v, 4) for k, v in means.items()},
        "sources": row["sources"] or {},
        "complete": _plain(row["complete"]),
    }


def _months(results: pd.DataFrame, year: int) -> list[dict[str, Any]]:
    """Twelve entries, January first; a month without a result has ``class_num`` None."""
    by_period = {str(r["period"]): r for _, r in results.iterrows()}
    out = []
    for month in range(1, 13):
        period = f"{year}-{month:02d}"
        row = by_period.get(period)
        out.append({"period": period, **_class_fields(0)} if row is None else _result(row))
    return out


def daily_classes(obs: pd.DataFrame, water_body: str) -> tuple[pd.DataFrame, list[str]]:
    """Class of every CST day from its automatic-station daily means (single-factor method).

    Parameters
    ----------
    obs : pandas.DataFrame
        Automatic values of one section (``parameter``, ``time`` UTC, ``value`` [mg/L],
        ``flag``; ``L`` = below the detection limit, entered as ½ DL).
    water_body : str

    Returns
    -------
    days : pandas.DataFrame
        ``date`` (``YYYY-MM-DD``), ``class_num``, ``determining`` (list), ``items`` (the
        evaluated items with a valid daily mean); days without a valid item are left out.
    items : list of str
        The Table 1 items the station measures.

    References
    ----------
    .. [1] GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一)1; ``evaluation.toml`` (day ≥ 4 values).
    """
    columns = ["date", "class_num", "determining", "items"]
    if obs.empty:
        return pd.DataFrame(columns=columns), []
    local = pd.to_datetime(obs["time"], utc=True).dt.tz_convert("Asia/Shanghai")
    values = water.apply_nondetects(
        obs["value"].to_numpy(dtype=np.float64), (obs["flag"] == "L").to_numpy(dtype=bool)
    )
    frame = pd.DataFrame(
        {
            "date": local.dt.strftime("%Y-%m-%d").to_numpy(),
            "item": obs["parameter"].astype(str).to_numpy(),
            "v": values,
        }
    ).dropna(subset=["v"])
    stats = frame.groupby(["date", "item"])["v"].agg(["mean", "count"])
    least = int(water.statistics_rule("auto", "day")["min"])
    valid = stats[stats["count"] >= least]["mean"].unstack("item")
    items = [c for c in water.EVALUATED_ITEMS if c in valid.columns]
    if not items:
        return pd.DataFrame(columns=columns), []
    classes = water.classify(valid[items], water_body)
    days = pd.DataFrame(
        {
            "date": valid.index.astype(str),
            "class_num": classes["class_num"].to_numpy(dtype=int),
            "determining": list(classes["determining"]),
            "items": [[c for c in items if pd.notna(r[c])] for _, r in valid[items].iterrows()],
        }
    )
    return days[days["class_num"] > 0].reset_index(drop=True), items


def _series_limits(water_body: str) -> dict[str, dict[str, Any]]:
    """Class III limit of each series item for the section's water body [mg/L]."""
    body = water.normalise_water_body(water_body)
    limits = water.item_limits(body)
    units = catalog.parameters("water").set_index("parameter")["unit"]
    return {
        item: {
            "limit_III": limits[item].limit(3),
            "direction": limits[item].direction,
            "unit": str(units.get(item, "mg/L")),
        }
        for item in SERIES_ITEMS
        if item in limits
    }


def section_facts(where: Connection, site_id: str) -> dict[str, Any] | None:
    """The section's facts and the CST years with stored results (newest first); None for
    an unknown section."""
    found = store_water.water_sections(where, [site_id])
    if found.empty:
        return None
    periods = store_water.section_results(where, sites=[site_id])["period"].astype(str)
    return {
        "section": _facts(found.iloc[0]),
        "years": sorted({int(p[:4]) for p in periods}, reverse=True),
    }


def section_calendar(where: Connection, site_id: str, year: int | None = None) -> dict[str, Any]:
    """The section page's data for one CST year (default: the newest with results).

    Raises
    ------
    LookupError
        Unknown section, or no stored results for it in ``year`` (the message says what to do).
    """
    found = store_water.water_sections(where, [site_id])
    if found.empty:
        raise LookupError(f"没有水质断面 {site_id} · no water section {site_id}")
    section = found.iloc[0]
    results = store_water.section_results(where, sites=[site_id])
    years = sorted({int(p[:4]) for p in results["period"].astype(str)}, reverse=True)
    if year is None and years:
        year = years[0]
    if year is None or year not in years:
        raise LookupError(
            f"断面 {site_id} 无 {year or ''} 年评价结果 · no water results for section {site_id}"
            f"{f' in {year}' if year else ''}: import its data (ecobasin water import) or run "
            "ecobasin water refresh"
        )
    in_year = results[results["period"].astype(str).str.startswith(str(year))]
    monthly = in_year[in_year["period_kind"] == "month"]
    annual = in_year[in_year["period_kind"] == "year"]
    start = datetime(year - 1, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 CST on 1 January
    end = datetime(year, 12, 31, 15, 59, 59, tzinfo=UTC)
    obs = store_water.water_observations(where, start=start, end=end, sites=[site_id])
    auto = obs[obs["period"].isin(store_water.AUTO_PERIODS)]
    days, auto_items = daily_classes(auto, str(section["water_body"]))
    return {
        "site_id": site_id,
        "year": year,
        "years": years,
        "section": _facts(section),
        "annual": None if annual.empty else _result(annual.iloc[0]),
        "months": _months(monthly, year),
        "days": [
            {
                "date": d.date,
                **_class_fields(d.class_num),
                "determining": d.determining,
                "items": d.items,
            }
            for d in days.itertuples(index=False)
        ],
        "auto_items": auto_items,
        "day_rule_min_values": int(water.statistics_rule("auto", "day")["min"]),
        "series_limits": _series_limits(str(section["water_body"])),
    }
