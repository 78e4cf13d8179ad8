"""What ``ecobasin water …`` and ``/api/v1/water/…`` both answer, read from the store.

One function per question (:func:`sections`, :func:`evaluation`, :func:`rank`,
:func:`compensation`, :func:`section_calendar`); the command line, the API and the section page
call the same one, so their numbers are the same. Each raises :class:`LookupError` with a
sentence a person can act on when the store holds nothing for the question, and
:class:`ValueError` for a bad argument.

The tables people read are built from the stored results (frames in, frames out): published
values are rounded per GB/T 8170 (CWQI 4 decimals, shares 1, means 4, ΔCWQI 2); ranks are
decided on the engine's published values (环办监测〔2017〕51号).

One section's year (:func:`section_calendar`): months are the stored results of the refresh
(:mod:`ecobasin.jobs.water_quality`, 环办〔2011〕22号 §一(二)); days are classed here from the
automatic-station values (4-hourly, hourly over HJ 212) of the items they measure, by the
single-factor method of GB 3838-2002 on daily means with the day validity rule of
``evaluation.toml`` (≥ 4 values; ecobasin's threshold [assume]) — an indication between the
monthly assessments, not an assessment of the method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.services.cells import json_cell
from ecobasin.standards import water
from ecobasin.standards.rounding import round_gbt8170
from ecobasin.standards.water_assessment import compensation_table, settlement_table
from ecobasin.store import Connection
from ecobasin.store import water as store_water
from ecobasin.store.water import result_periods

__all__ = [
    "PERIOD",
    "SERIES_ITEMS",
    "Answer",
    "compensation",
    "compensation_view",
    "daily_classes",
    "evaluation",
    "evaluation_view",
    "group_view",
    "parse_water_period",
    "rank",
    "rank_view",
    "result_periods",
    "section_calendar",
    "section_facts",
    "sections",
    "sections_view",
    "settlement_view",
]

PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")
#: Items shown as columns of the evaluation (all means are in ``means`` of the JSON output).
SHOWN_ITEMS = ("pH", "DO", "CODMn", "COD", "BOD5", "NH3N", "TP", "TN")


def parse_water_period(text: str) -> tuple[str, str]:
    """``("2025-10", "month")`` or ``("2025", "year")``; ValueError naming the expected form."""
    match = PERIOD.match(str(text).strip())
    if not match:
        raise ValueError(f"period {text!r}: use a month YYYY-MM (2025-10) or a year YYYY (2025)")
    return match.group(0), "month" if match.group(2) else "year"


def _r(value: Any, decimals: int) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return float(round_gbt8170(float(value), decimals))


def _city_names() -> dict[int, tuple[str, str]]:
    table = catalog.cities()
    return {
        int(c): (str(zh), str(en))
        for c, zh, en in zip(table.index, table["name_zh"], table["name_en"], strict=True)
    }


def _city(code: Any, names: dict[int, tuple[str, str]]) -> str | None:
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    zh, en = names.get(int(code), (str(code), str(code)))
    return f"{zh} {en}"


def _matches(sections: pd.DataFrame, basin: str | None) -> pd.Series:
    if not basin:
        return pd.Series(True, index=sections.index)
    key = basin.strip().lower()
    cols = ("basin_zh", "basin_en", "river_zh", "river_en")
    hit = pd.Series(False, index=sections.index)
    for c in cols:
        text = sections[c].fillna("").astype(str).str.lower()
        hit |= (text == key) | (text == key + " basin") | (text.str.removesuffix("流域") == key)
    return hit


def sections_view(sections: pd.DataFrame) -> pd.DataFrame:
    """The registered water sections with their assessment attributes."""
    names = _city_names()
    return pd.DataFrame(
        {
            "site_id": sections["site_id"],
            "name_zh": sections["name_zh"],
            "name_en": sections["name_en"],
            "city": sections["city_code"].astype(int),
            "city_name": [_city(c, names) for c in sections["city_code"]],
            "level": sections["level"],
            "river_zh": sections["river_zh"],
            "river_en": sections["river_en"],
            "basin_zh": sections["basin_zh"],
            "basin_en": sections["basin_en"],
            "water_body": sections["water_body"],
            "target_class": sections["target_class"],
            "upstream_city": sections["upstream_city"],
            "downstream_city": sections["downstream_city"],
            "lon": sections["lon"],
            "lat": sections["lat"],
        }
    )


def evaluation_view(
    results: pd.DataFrame, sections: pd.DataFrame, basin: str | None = None
) -> pd.DataFrame:
    """One row per section of the period: class, status, target, main pollutants, CWQI, means.

    Raises
    ------
    KeyError
        ``basin`` names no basin or river of the registered sections.
    """
    chosen = sections[_matches(sections, basin)]
    if basin and chosen.empty:
        known = sorted(set(sections["basin_zh"].dropna()) | set(sections["basin_en"].dropna()))
        raise KeyError(f"unknown basin or river {basin!r}; known basins: {', '.join(known)}")
    info = chosen.set_index("site_id")
    rows = results[results["site_id"].isin(info.index)].reset_index(drop=True)
    names = _city_names()
    out = []
    for r in rows.to_dict(orient="records"):
        s = info.loc[r["site_id"]]
        cls = int(r["class_num"])
        status = water.status_fields(int(water.STATUS_BY_CLASS[cls])) if cls else {}
        record: dict[str, Any] = {
            "site_id": r["site_id"],
            "name_zh": s["name_zh"],
            "name_en": s["name_en"],
            "city": int(s["city_code"]),
            "city_name": _city(s["city_code"], names),
            "river": s["river_zh"],
            "basin": s["basin_zh"],
            "level": s["level"],
            "period": r["period"],
            "class": r["class"],
            "class_num": cls,
            "status_zh": status.get("status"),
            "status_en": status.get("status_en"),
            "colour_hex": status.get("hex"),
            "target_class": water.class_label(int(r["target_class"]))
            if pd.notna(r["target_class"])
            else None,
            "meets_target": None if pd.isna(r["meets_target"]) else bool(r["meets_target"]),
            "main_pollutants": r["main_display"] or "",
            "determining": r["determining"],
            "cwqi": _r(r["cwqi"], 4),
            "tli": _r(r["tli"], 2),
            "complete": bool(r["complete"]),
        }
        means = r["means"] or {}
        for item in SHOWN_ITEMS:
            record[item] = _r(means.get(item), 4)
        record["means"] = {k: _r(v, 4) for k, v in means.items()}
        out.append(record)
    return pd.DataFrame(out)


def group_view(groups: pd.DataFrame, basin: str | None = None) -> pd.DataFrame:
    """Basin, river and region rows of a period: method, shares, level, main pollutants."""
    rows = groups[groups["scope"].isin(["region", "basin", "river"])]
    if basin:
        key = basin.strip().lower()
        ids = rows["scope_id"].str.lower()
        rows = rows[
            (rows["scope"] == "region") | (ids == key) | (ids.str.removesuffix("流域") == key)
        ]
    out = []
    for r in rows.to_dict(orient="records"):
        status = water.status_fields(int(r["status_num"])) if pd.notna(r["status_num"]) else {}
        picks = r["main_pollutants"]
        if isinstance(picks, dict):  # mean method: the section rule per section
            picks = sorted({p["indicator"] for lst in picks.values() for p in lst})
        out.append(
            {
                "scope": r["scope"],
                "scope_id": r["scope_id"],
                "period": r["period"],
                "n_sections": int(r["n_sections"]),
                "method": r["method"],
                "class": water.class_label(int(r["class_num"]))
                if pd.notna(r["class_num"]) and r["class_num"]
                else None,
                "share_I_III": _r(r["share_I_III"], 1),
                "share_I_II": _r(r["share_I_II"], 1),
                "share_worse_V": _r(r["share_worse_V"], 1),
                "share_target": _r(r["share_target"], 1),
                "status_zh": status.get("status"),
                "status_en": status.get("status_en"),
                "colour_hex": status.get("hex"),
                "main_pollutants": ",".join(picks or []),
                "cwqi_mean": _r(r["cwqi"], 4),
            }
        )
    order = {"region": 0, "basin": 1, "river": 2}
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
    return frame.sort_values(
        ["scope", "scope_id"], key=lambda s: s.map(order) if s.name == "scope" else s
    ).reset_index(drop=True)


def rank_view(
    groups: pd.DataFrame,
    sections: pd.DataFrame,
    results_now: pd.DataFrame,
    base_groups: pd.DataFrame | None = None,
    results_base: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """City CWQI ranking of a period and, with a base period, the change ranking.

    The change ΔCWQI = (now − base)/base × 100 [%] is ranked ascending (most improved first);
    cities whose sections are all Class II or better and meet their targets in both periods
    are left out of the change ranking (环办监测〔2017〕51号).
    """
    cities = groups[groups["scope"] == "city"].copy()
    if cities.empty:
        return pd.DataFrame()
    names = _city_names()
    ranking = water.cwqi_ranking(cities.set_index("scope_id")["cwqi"])
    out = ranking.rename(
        columns={"name": "city", "CWQI": "cwqi_unrounded", "CWQI_published": "cwqi"}
    )
    detail = cities.set_index("scope_id")
    out["city_name"] = [_city(c, names) for c in out["city"]]
    out["n_sections"] = [int(detail.loc[c, "n_sections"]) for c in out["city"]]
    out["M_river"] = [detail.loc[c, "detail"].get("M") for c in out["city"]]
    out["N_lake"] = [detail.loc[c, "detail"].get("N") for c in out["city"]]
    out["share_I_III"] = [_r(detail.loc[c, "share_I_III"], 1) for c in out["city"]]
    if base_groups is not None:
        base = base_groups[base_groups["scope"] == "city"].set_index("scope_id")["cwqi"]
        out["cwqi_base"] = [_r(base.get(c), 4) for c in out["city"]]
        change = water.cwqi_change(
            out["cwqi_unrounded"].to_numpy(), base.reindex(out["city"]).to_numpy(dtype=float)
        )
        out["change_pct"] = [_r(v, 2) for v in np.atleast_1d(change)]
        city_of = sections.set_index("site_id")["city_code"].astype(int)
        excluded = _all_good(results_now, city_of, out["city"]) & _all_good(
            results_base, city_of, out["city"]
        )
        out["change_excluded"] = excluded
        eligible = out.loc[~excluded & out["change_pct"].notna(), "change_pct"]
        out["change_rank"] = eligible.rank(method="min").reindex(out.index).astype("Int64")
    out = out.drop(columns=["cwqi_unrounded"])
    out.insert(0, "rank", out.pop("rank"))
    out["city"] = out["city"].astype(int)
    return out


def _all_good(results: pd.DataFrame | None, city_of: pd.Series, cities: pd.Series) -> pd.Series:
    """Per city: every section Class II or better and meeting its target."""
    if results is None or results.empty:
        return pd.Series(False, index=cities.index)
    ok = (results["class_num"].between(1, 2)) & (results["meets_target"].fillna(False).astype(bool))
    by_city = ok.groupby(results["site_id"].map(city_of).astype(str).to_numpy()).all()
    return pd.Series([bool(by_city.get(str(c), False)) for c in cities], index=cities.index)


def compensation_view(rows: pd.DataFrame, sections: pd.DataFrame) -> pd.DataFrame:
    """Monthly compensation per boundary section with its inputs, limits and rule set."""
    if rows.empty:
        return pd.DataFrame()
    names = _city_names()
    info = sections.set_index("site_id")
    out = []
    for r in rows.to_dict(orient="records"):
        record: dict[str, Any] = {
            "site_id": r["site_id"],
            "name_zh": info["name_zh"].get(r["site_id"]),
            "period": r["period"],
            "upstream": _city(r["upstream_city"], names),
            "downstream": _city(r["downstream_city"], names),
            "target_class": r["target_class"],
            "section_class": r["section_class"],
            "classes_better": int(r["classes_better"]),
        }
        for factor, v in (r["inputs"] or {}).items():
            record[f"{factor}_value"] = _r(v["value"], 4)
            record[f"{factor}_limit"] = v["limit"]
            record[f"{factor}_multiple"] = _r(v["multiple"], 4)
        record.update(
            {
                "deduction_cny": _r(r["deduction_cny"], 2),
                "award_cny": _r(r["award_cny"], 2),
                "payer": _city_or(r["payer"], names),
                "payee": _city_or(r["payee"], names),
                "amount_cny": _r(r["amount_cny"], 2),
                "rule_set": r["rule_set"],
                "rule_set_version": r["rule_set_version"],
                "method": r["method"],
            }
        )
        out.append(record)
    return pd.DataFrame(out)


def _city_or(value: Any, names: dict[int, tuple[str, str]]) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    return _city(int(text), names) if text.isdigit() else text


def settlement_view(table: pd.DataFrame) -> pd.DataFrame:
    """Net settlements between cities with both cities named."""
    if table.empty:
        return pd.DataFrame()
    names = _city_names()
    return pd.DataFrame(
        {
            "period": table["period"],
            "payer": [_city_or(v, names) for v in table["payer"]],
            "payee": [_city_or(v, names) for v in table["payee"]],
            "amount_cny": [_r(v, 2) for v in table["amount_cny"]],
            "gross_payer_to_payee": [_r(v, 2) for v in table["gross_payer_to_payee"]],
            "gross_payee_to_payer": [_r(v, 2) for v in table["gross_payee_to_payer"]],
            "n_sections": table["n_sections"].astype(int),
            "rule_set": table["rule_set"],
            "rule_set_version": table["rule_set_version"],
        }
    )


# -------------------------------------------------------------------------------------------
# the questions
# -------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """A table with what it is about (``meta``) and optional summary rows."""

    table: pd.DataFrame
    meta: dict[str, Any]
    summary: pd.DataFrame | None = None


def sections(where: Connection) -> Answer:
    """The registered water sections."""
    frame = store_water.water_sections(where)
    return Answer(sections_view(frame), {"count": len(frame)})


def _results(where: Connection, period: str) -> pd.DataFrame:
    results = store_water.section_results(where, period)
    if results.empty:
        raise LookupError(
            f"no water results for {period} 该时段无水质评价结果: import section data "
            "(ecobasin water import) or run ecobasin water refresh"
        )
    return results


def evaluation(where: Connection, period: str, basin: str | None = None) -> Answer:
    """Section classes of a month or year, with the basin, river and region rows."""
    name, kind = parse_water_period(period)
    results = _results(where, name)
    secs = store_water.water_sections(where)
    table = evaluation_view(results, secs, basin)
    groups = group_view(store_water.group_results(where, name), basin)
    meta = {
        "period": name,
        "kind": kind,
        "basin": basin,
        "n_sections": len(table),
        "failing_target": int((table["meets_target"] == False).sum()) if len(table) else 0,  # noqa: E712
        "standard": "GB 3838-2002; 环办〔2011〕22号; 环办监测〔2017〕51号",
    }
    return Answer(table, meta, groups)


def rank(where: Connection, period: str, base: str | None = None) -> Answer:
    """City CWQI ranking of a period, and the change against ``base``."""
    name, kind = parse_water_period(period)
    now = _results(where, name)
    groups = store_water.group_results(where, name, scope="city")
    base_groups = base_results = None
    if base is not None:
        base_name, base_kind = parse_water_period(base)
        if base_kind != kind:
            raise ValueError(f"base {base!r} is a {base_kind}, period {period!r} a {kind}")
        base_results = _results(where, base_name)
        base_groups = store_water.group_results(where, base_name, scope="city")
    secs = store_water.water_sections(where)
    table = rank_view(groups, secs, now, base_groups, base_results)
    meta = {"period": name, "kind": kind, "base": base, "rule": "环办监测〔2017〕51号 CWQI"}
    return Answer(table, meta)


def _agreement(path: Path | None) -> water.Agreement:
    if path is None:
        return water.agreement("default")
    if not path.is_file():
        raise ValueError(f"no agreement file {path}")
    return water.load_agreement(path)


def compensation(where: Connection, period: str, agreement: Path | None = None) -> Answer:
    """Compensation of the boundary sections in a month or year and the settlements.

    With the default agreement the stored rows are read; with another agreement file the
    stored monthly section means are settled again by it (nothing is written).
    """
    name, kind = parse_water_period(period)
    ag = _agreement(agreement)
    secs = store_water.water_sections(where)
    if agreement is None:
        months = store_water.result_periods(where)
        periods = [p for p in months if p == name or (kind == "year" and p.startswith(name + "-"))]
        rows = store_water.compensation_rows(where, periods or [name])
        settle = store_water.settlements(where, name)
    else:
        results = store_water.section_results(where)
        monthly = results[results["period"].str.startswith(name)]
        rows, _skipped = compensation_table(monthly, secs, ag)
        settle = settlement_table(rows)
        if not settle.empty:
            settle = settle[settle["period"] == name]
    if rows.empty:
        raise LookupError(
            f"no compensation for {name} 该时段无生态补偿结果: no boundary section with "
            "CODMn, NH3-N and TP means in that period"
        )
    meta = {
        "period": name,
        "kind": kind,
        "rule_set": ag.id,
        "rule_set_version": ag.version,
        "method": ag.method,
        "verified": ag.verified,
        "factors": list(ag.factors),
        "total_cny": float(rows["amount_cny"].sum()),
    }
    return Answer(compensation_view(rows, secs), meta, settlement_view(settle))


# -------------------------------------------------------------------------------------------
# one section's year
# -------------------------------------------------------------------------------------------


#: Items drawn against their Class III limit (the 办法's usual main pollutants, DO "≥").
SERIES_ITEMS: tuple[str, ...] = ("CODMn", "COD", "BOD5", "NH3N", "TP", "DO")


def _city_entry(code: Any) -> dict[str, Any] | None:
    if json_cell(code) is None:
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
    out = {k: json_cell(section[k]) for k in keys}
    out["city_code"] = int(section["city_code"])
    out["water_body"] = water.normalise_water_body(section["water_body"])
    out["upstream_city"] = _city_entry(section["upstream_city"])
    out["downstream_city"] = _city_entry(section["downstream_city"])
    return out


def _class_fields(num: Any) -> dict[str, Any]:
    num = int(num) if json_cell(num) is not None else 0
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
    value = json_cell(value)
    return None if value is None else float(round_gbt8170(float(value), decimals))


def _result(row: pd.Series) -> dict[str, Any]:
    """A stored month or year result; means with 4 decimals, CWQI 4, TLI 2 (GB/T 8170)."""
    means = row["means"] or {}
    return {
        "period": str(row["period"]),
        **_class_fields(row["class_num"]),
        "meets_target": json_cell(row["meets_target"]),
        "main_pollutants": row["main_pollutants"] or [],
        "main_display": json_cell(row["main_display"]) or "",
        "determining": [d for d in str(row["determining"] or "").split(",") if d],
        "cwqi": _rounded(row["cwqi"], 4),
        "tli": _rounded(row["tli"], 2),
        "means": {str(k): _rounded(v, 4) for k, v in means.items()},
        "sources": row["sources"] or {},
        "complete": json_cell(row["complete"]),
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
