"""The water tables people read, built from stored results (pure: frames in, frames out).

``ecobasin water evaluate|rank|compensation|sections`` print them and ``/api/v1/water/…`` serve
them, so the command line and the API give the same numbers. Published values are rounded per
GB/T 8170 (CWQI 4 decimals, shares 1, means 4, ΔCWQI 2); ranks are decided on the engine's
published values (环办监测〔2017〕51号).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.standards import water
from ecobasin.standards.rounding import round_gbt8170

__all__ = [
    "PERIOD",
    "compensation_view",
    "evaluation_view",
    "group_view",
    "parse_water_period",
    "rank_view",
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
