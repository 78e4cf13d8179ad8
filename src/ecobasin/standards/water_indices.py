"""Indices: trophic level TLI(Σ) of lakes and reservoirs, city water-quality index CWQI.

References
----------
.. [1] 环办〔2011〕22号 附件 (湖泊营养状态评价), after CNEMC 2001 《湖泊（水库）富营养化评价方法及分级
   技术规定》: TLI(Σ) = Σ W_j·TLI(j), W_j = r_j²/Σ r_j².
.. [2] 城市地表水环境质量排名技术规定（试行）, 环办监测〔2017〕51号: CWQI, city ranking and change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.rounding import round_gbt8170
from ecobasin.standards.water_class import lake_mask
from ecobasin.standards.water_tables import F64, cwqi_rules, item_limits, tli_rules

__all__ = [
    "TLI_PARAMETERS",
    "city_cwqi_from_lists",
    "cwqi_change",
    "cwqi_city",
    "cwqi_items",
    "cwqi_ranking",
    "cwqi_section",
    "ties",
    "tli",
    "tli_level",
    "tli_weights",
]

#: Names of the TLI parameters (chla, TP, TN, SD, CODMn).
TLI_PARAMETERS: tuple[str, ...] = tuple(p["name"] for p in tli_rules()["parameter"])


def tli_weights(used: Sequence[str] = TLI_PARAMETERS) -> dict[str, float]:
    """Weights ``W_j = r_j² / Σ r_j²`` over the parameters used (Chl-a the base, r = 1).

    References
    ----------
    .. [1] 环办〔2011〕22号 附件, formula of W_j and the correlation table (r = 1, 0.84, 0.82,
       −0.83, 0.83).
    """
    r2 = {p["name"]: float(p["r"]) ** 2 for p in tli_rules()["parameter"] if p["name"] in used}
    total = sum(r2.values())
    return {k: v / total for k, v in r2.items()}


def tli_level(values: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Trophic level 1..5 (贫营养, 中营养, 轻度/中度/重度富营养); 0 for NaN.

    Bounds compared on the unrounded index: < 30; 30–50; (50, 60]; (60, 70]; > 70.
    """
    x = np.atleast_1d(np.asarray(values, dtype=np.float64))
    out = np.zeros(x.shape, dtype=np.int8)
    assigned = np.isnan(x)
    for level in tli_rules()["level"]:
        if "upper" in level:
            upper = float(level["upper"])
            inside = x <= upper if level["upper_inclusive"] else x < upper
        else:
            inside = np.ones(x.shape, dtype=bool)
        hit = inside & ~assigned
        out[hit] = int(level["num"])
        assigned |= hit
    return out


def tli(
    chla: npt.ArrayLike | None = None,
    tp: npt.ArrayLike | None = None,
    tn: npt.ArrayLike | None = None,
    sd: npt.ArrayLike | None = None,
    codmn: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Comprehensive trophic level index TLI(Σ), vectorised.

    ``TLI(j) = 10·(a_j + b_j·ln C_j)``; TLI(Σ) weights the parameters given (W_j normalised over
    them, as the formula's Σ runs over the parameters evaluated).

    Parameters
    ----------
    chla : array-like of float
        Chlorophyll a [mg/m³].
    tp, tn : array-like of float
        Total phosphorus, total nitrogen [mg/L].
    sd : array-like of float
        Secchi depth (透明度) [m].
    codmn : array-like of float
        Permanganate index [mg/L].

    Returns
    -------
    pandas.DataFrame
        ``TLI_chla`` ... ``TLI_CODMn`` (unrounded), ``TLI`` (unrounded), ``level_num``,
        ``level_zh``, ``level_en``, ``group_zh`` (贫/中/富营养).

    References
    ----------
    .. [1] 环办〔2011〕22号 附件; CNEMC 2001 technical provisions (brief §2.6).
    """
    given = {"chla": chla, "TP": tp, "TN": tn, "SD": sd, "CODMn": codmn}
    used = [k for k in TLI_PARAMETERS if given[k] is not None]
    if not used:
        raise ValueError("TLI needs at least one of chla, TP, TN, SD, CODMn")
    weights = tli_weights(used)
    coef = {p["name"]: (float(p["a"]), float(p["b"])) for p in tli_rules()["parameter"]}
    out: dict[str, F64] = {}
    total: F64 | None = None
    for name in used:
        c = np.atleast_1d(np.asarray(given[name], dtype=np.float64))
        a, b = coef[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            comp = 10.0 * (a + b * np.log(np.where(c > 0, c, np.nan)))
        out[f"TLI_{name}"] = comp
        total = weights[name] * comp if total is None else total + weights[name] * comp
    assert total is not None
    frame = pd.DataFrame(out)
    frame["TLI"] = total
    lv = tli_level(total)
    levels = {int(x["num"]): x for x in tli_rules()["level"]}
    for key in ("level_zh", "level_en", "group_zh", "group_en"):
        frame[key] = [levels[int(v)][key] if v else None for v in lv]
    frame["level_num"] = lv
    return frame


def cwqi_items(
    conc: pd.DataFrame, water_body: str | Sequence[str] | pd.Series = "river"
) -> pd.DataFrame:
    """Item indices CWQI(i) of every section row (unrounded; NaN when not measured).

    ``C/C_s`` with ``C_s`` the Class III limit (lake rows: lake TP 0.05); DO ``C_s/C``; pH
    ``(7 − pH)/(7 − 6)`` for pH ≤ 7, ``(pH − 7)/(9 − 7)`` above.

    Parameters
    ----------
    conc : pandas.DataFrame
        Period means [mg/L], one column per item.
    water_body : str or sequence of str

    Returns
    -------
    pandas.DataFrame
        One column per CWQI item present in ``conc``.

    References
    ----------
    .. [1] 环办监测〔2017〕51号 (单项指标水质指数, pH and DO formulas).
    """
    rules = cwqi_rules()
    ref = int(rules["standard_class"])
    lake = lake_mask(water_body, len(conc))
    out: dict[str, F64] = {}
    for item in rules["items"]:
        if item not in conc.columns:
            continue
        c = pd.to_numeric(conc[item], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            if item == "pH":
                neutral = float(rules["ph_neutral"])
                low = (neutral - c) / (neutral - float(rules["ph_sd"]))
                high = (c - neutral) / (float(rules["ph_su"]) - neutral)
                idx = np.where(c <= neutral, low, high)
            else:
                s = np.where(
                    lake,
                    item_limits("lake")[item].limit(ref),
                    item_limits("river")[item].limit(ref),
                )
                idx = s / c if item == "DO" else c / s
        out[item] = np.where(np.isnan(c), np.nan, idx)
    return pd.DataFrame(out, index=conc.index)


def cwqi_section(
    conc: pd.DataFrame, water_body: str | Sequence[str] | pd.Series = "river"
) -> pd.Series:
    """Section/point CWQI = Σ of the item indices (unrounded; NaN items skipped).

    References
    ----------
    .. [1] 环办监测〔2017〕51号 (断面水质指数 = Σ CWQI(i) over the 21 items).
    """
    items = cwqi_items(conc, water_body)
    total = items.sum(axis=1, min_count=1)
    return pd.Series(total, index=conc.index, name="CWQI")


def cwqi_city(
    sections: pd.DataFrame, *, by: str = "city", value: str = "CWQI", water_body: str = "water_body"
) -> pd.DataFrame:
    """City CWQI from section (river) and point (lake) indices.

    ``CWQI_river`` = mean of the city's river sections (M), ``CWQI_lake`` = mean of its lake
    points (N), ``CWQI_city = (CWQI_river·M + CWQI_lake·N)/(M + N)``.

    Parameters
    ----------
    sections : pandas.DataFrame
        Columns ``by``, ``value`` (section CWQI) and ``water_body``.

    Returns
    -------
    pandas.DataFrame
        Index ``by``; columns ``CWQI_river``, ``M``, ``CWQI_lake``, ``N``, ``CWQI_city``
        (unrounded).

    References
    ----------
    .. [1] 环办监测〔2017〕51号 (城市水质指数).
    """
    lake = lake_mask(sections[water_body], len(sections))
    frame = pd.DataFrame(
        {"key": sections[by].to_numpy(), "v": sections[value].to_numpy(dtype=float), "lake": lake}
    ).dropna(subset=["v"])
    grouped = frame.groupby(["key", "lake"])["v"].agg(["mean", "count"]).unstack("lake")
    out = pd.DataFrame(index=grouped.index)
    for flag, name, n in ((False, "CWQI_river", "M"), (True, "CWQI_lake", "N")):
        has = ("mean", flag) in grouped.columns
        out[name] = grouped[("mean", flag)] if has else np.nan
        out[n] = grouped[("count", flag)].fillna(0).astype(int) if has else 0
    weighted = out["CWQI_river"].fillna(0) * out["M"] + out["CWQI_lake"].fillna(0) * out["N"]
    out["CWQI_city"] = weighted / (out["M"] + out["N"])
    out.index.name = by
    return out


def city_cwqi_from_lists(
    river_sections: Sequence[float], lake_points: Sequence[float]
) -> dict[str, float | int | None]:
    """City CWQI from the lists of its river-section and lake-point indices (unrounded)."""
    m, n = len(river_sections), len(lake_points)
    if m + n == 0:
        raise ValueError("a city needs at least one river section or lake point")
    river = float(np.mean(river_sections)) if m else None
    lake = float(np.mean(lake_points)) if n else None
    city = ((river or 0.0) * m + (lake or 0.0) * n) / (m + n)
    return {"CWQI_river": river, "M": m, "CWQI_lake": lake, "N": n, "CWQI_city": city}


def cwqi_change(current: npt.ArrayLike, base: npt.ArrayLike) -> Any:
    """Change ``ΔCWQI = (CWQI_now − CWQI_base)/CWQI_base × 100`` [%] (negative = better).

    References
    ----------
    .. [1] 环办监测〔2017〕51号 (水质变化情况排名).
    """
    now = np.asarray(current, dtype=np.float64)
    b = np.asarray(base, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (now - b) / b * 100.0
    return float(pct) if pct.ndim == 0 else pct


def cwqi_ranking(
    values: Mapping[str, float] | pd.Series, decimals: int | None = None
) -> pd.DataFrame:
    """Rank cities by CWQI ascending (smaller = better); equal values share a rank.

    Ties are decided on the published value (``decimals``, default the rule's 4) and listed by
    name. NaN values are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``CWQI`` (unrounded), ``CWQI_published``, ``rank`` (1 = best, ties
        share the lowest rank), ordered.

    References
    ----------
    .. [1] 环办监测〔2017〕51号 (按 CWQI 从小到大排名).
    """
    d = int(cwqi_rules()["decimals"] if decimals is None else decimals)
    s = pd.Series(values, dtype=float).dropna()
    frame = pd.DataFrame({"name": s.index.astype(str), "CWQI": s.to_numpy()})
    frame["CWQI_published"] = round_gbt8170(frame["CWQI"].to_numpy(), d)
    frame = frame.sort_values(["CWQI_published", "name"], kind="stable").reset_index(drop=True)
    frame["rank"] = frame["CWQI_published"].rank(method="min").astype(int)
    return frame


def ties(ranking: pd.DataFrame) -> list[list[str]]:
    """Groups of names sharing a rank (two or more), in ranking order."""
    groups = ranking.groupby("rank", sort=True)["name"].apply(list)
    return [list(g) for g in groups if len(g) > 1]
