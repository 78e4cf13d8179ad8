"""Water conformance kinds: section_class, main_pollutants, basin_share, cwqi, tli.

Registered into :data:`ecobasin.conformance.registry.HANDLERS` on import (the runner,
``ecobasin.conformance``, imports this module). Each handler parses the case input, calls the water engine and rounds only
what is reported (GB/T 8170); nothing is read from ``expect``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.conformance.registry import register
from ecobasin.standards import water
from ecobasin.standards.rounding import round_gbt8170

__all__ = ["parse_concentrations", "parse_value"]

_ALIASES = {
    "NH3-N": "NH3N",
    "NH3_N": "NH3N",
    "NH4N": "NH3N",
    "CODCR": "COD",
    "CHLA": "Chla",
    "CHL-A": "Chla",
    "CHL_A": "Chla",
    "CHLOROPHYLL_A": "Chla",
    "CR(VI)": "Cr6",
    "CR6+": "Cr6",
    "CR_VI": "Cr6",
    "PH": "pH",
    "DO": "DO",
    "F-": "F",
    "FLUORIDE": "F",
    "S2-": "S2",
    "SULFIDE": "S2",
    "CYANIDE": "CN",
    "PETROLEUM": "Petro",
    "VOLATILE_PHENOL": "VPhen",
    "PHENOL": "VPhen",
    "FECAL_COLIFORM": "FC",
    "SECCHI": "SD",
    "TRANSPARENCY": "SD",
    "WATER_TEMPERATURE": "WT",
}
_UNIT_SUFFIX = re.compile(r"_(mg_l|mg_m3|ug_l|m|per_l|count_l)$", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")


def _known_items() -> dict[str, str]:
    names = {*water.item_limits("river"), *water.item_limits("lake"), "Chla", "SD", "WT"}
    return {n.upper(): n for n in names}


def item_id(key: str) -> str:
    """Item id of a case key (``"TP_mg_L"`` → ``"TP"``, ``"NH3-N"`` → ``"NH3N"``)."""
    base = _UNIT_SUFFIX.sub("", str(key).strip())
    upper = base.upper()
    return _known_items().get(upper) or _ALIASES.get(upper, base)


def parse_value(value: Any) -> float:
    """A concentration from a number or a non-detect notation, ½ DL for non-detects.

    Accepts ``0.62``, ``"0.62"``, ``"0.025L"``, ``"<0.025"``, ``"ND (DL=0.025)"``,
    ``{"value": 0.025, "nondetect": true}`` / ``{"nd": true, "dl": 0.025}``; None → NaN.

    Raises
    ------
    ValueError
        Text without a number, naming it.
    """
    factor = float(water.evaluation_rules()["statistics"]["nondetect_factor"])
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"not a concentration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        nd = bool(value.get("nondetect", value.get("nd", False)))
        base = value.get("dl", value.get("value"))
        if base is None:
            raise ValueError(f"no value or dl in {dict(value)!r}")
        return factor * float(base) if nd else float(base)
    text = str(value).strip()
    dl_match = re.search(r"DL\s*=\s*(" + _NUMBER.pattern + ")", text, re.IGNORECASE)
    numbers = _NUMBER.findall(text)
    nondetect = (
        text.startswith("<")
        or "ND" in text.upper()
        or bool(re.fullmatch(r"\s*" + _NUMBER.pattern + r"\s*L\s*", text))
    )
    if dl_match:
        number = float(dl_match.group(1))
    elif numbers:
        number = float(numbers[0])
    else:
        raise ValueError(f"not a concentration: {value!r}")
    return factor * number if nondetect else number


def parse_concentrations(raw: Mapping[str, Any] | None) -> dict[str, float]:
    """Item ids → values (non-detects as ½ DL) from a case mapping."""
    return {item_id(k): parse_value(v) for k, v in (raw or {}).items()}


def _series(inp: Mapping[str, Any]) -> dict[str, list[float]]:
    """Time series given as ``monthly_NH3N: [...]`` or ``monthly: {NH3N: [...]}`` (also
    ``samples``, ``values``, ``daily``)."""
    out: dict[str, list[float]] = {}
    prefixes = ("monthly", "samples", "values", "daily", "quarterly", "weekly")
    for key, val in inp.items():
        head, _, tail = str(key).partition("_")
        if head in prefixes and tail and isinstance(val, list):
            out[item_id(tail)] = [parse_value(v) for v in val]
        elif key in prefixes and isinstance(val, Mapping):
            for k, v in val.items():
                out[item_id(k)] = [parse_value(x) for x in v]
    return out


def _r(x: float | None, decimals: int) -> float | None:
    if x is None or not math.isfinite(float(x)):
        return None
    return round_gbt8170(float(x), decimals)


def _mean_decimals() -> int:
    return int(water.evaluation_rules()["river"]["mean_decimals"])


def _section_inputs(inp: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    conc = parse_concentrations(inp.get("concentrations"))
    conc.update(parse_concentrations(inp.get("also_measured")))
    means: dict[str, float] = {}
    for item, values in _series(inp).items():
        vals = [v for v in values if not math.isnan(v)]
        if not vals:
            raise ValueError(f"no values for {item}")
        means[item] = float(np.mean(vals))
        conc[item] = means[item]
    return conc, means


@register("section_class")
def _section_class(inp: dict[str, Any]) -> dict[str, Any]:
    conc, means = _section_inputs(inp)
    out = water.section_record(conc, str(inp.get("water_body", "river")))
    for item, mean in means.items():
        out[f"{item}_mean"] = _r(mean, _mean_decimals())
    return out


def _sections_frame(sections: Any) -> pd.DataFrame:
    if isinstance(sections, Mapping):
        rows = {str(k): parse_concentrations(v) for k, v in sections.items()}
        return pd.DataFrame.from_dict(rows, orient="index")
    if isinstance(sections, list):
        return pd.DataFrame([parse_concentrations(v) for v in sections])
    raise ValueError("'sections' must be an object {name: concentrations} or a list")


def _pad(frame: pd.DataFrame, n_sections: Any) -> pd.DataFrame:
    """Sections declared but not listed (``n_sections`` larger): rows with no exceedance."""
    if n_sections is None:
        return frame
    n = int(n_sections)
    if n < len(frame):
        raise ValueError(f"n_sections={n} but {len(frame)} sections are listed")
    extra = pd.DataFrame(index=[f"_unlisted_{i}" for i in range(n - len(frame))])
    return pd.concat([frame, extra]) if n > len(frame) else frame


@register("main_pollutants")
def _main_pollutants(inp: dict[str, Any]) -> dict[str, Any]:
    wb = str(inp.get("water_body", "river"))
    if "sections" in inp:
        frame = _sections_frame(inp["sections"])
        min_n = int(water.evaluation_rules()["river"]["min_sections_for_shares"])
        declared = inp.get("n_sections")
        n = len(frame) if declared is None else int(declared)
        if n >= min_n:
            frame = _pad(frame, declared)
            rates = water.exceedance_rates(frame, wb)
            rd = int(water.evaluation_rules()["main_pollutants"]["rate_decimals"])
            cap = int(water.evaluation_rules()["main_pollutants"]["max_items"])
            return {
                "method": "exceedance_rate",
                "n_sections": n,
                "exceedance_rate_pct": {str(k): _r(float(v), rd) for k, v in rates.items()},
                "main_pollutants": [str(k) for k in rates.index[:cap]],
            }
        picks = water.main_pollutants(frame, wb)
        return {
            "method": "per_section",
            "n_sections": n,
            "main_pollutants": {str(k): v for k, v in picks.items()},
        }
    conc, _ = _section_inputs(inp)
    rec = water.section_record(conc, wb)
    return {
        "class": rec["class"],
        "class_num": rec["class_num"],
        "status": rec["status"],
        "main_pollutants": rec["main_pollutants"],
        "main_pollutants_display": rec["main_pollutants_display"],
    }


@register("basin_share")
def _basin_share(inp: dict[str, Any]) -> dict[str, Any]:
    min_n = int(water.evaluation_rules()["river"]["min_sections_for_shares"])
    wb = str(inp.get("water_body", "river"))
    if "sections" in inp:
        frame = _sections_frame(inp["sections"])
        rec = water.river_record(frame, wb)
        out = dict(rec)
        if rec["method"] == "mean":
            d = _mean_decimals()
            out["mean_concentrations"] = {
                k: _r(v, d) for k, v in rec["mean_concentrations"].items()
            }
        return out
    classes = inp.get("section_classes")
    if classes is None:
        raise ValueError("basin_share needs 'section_classes' or 'sections'")
    declared = inp.get("n_sections")
    if declared is not None and int(declared) != len(classes):
        raise ValueError(f"n_sections={declared} but {len(classes)} section classes given")
    if len(classes) < min_n:
        raise ValueError(
            f"{len(classes)} sections: below {min_n} the method averages concentrations "
            "(give 'sections' with concentrations), class shares do not apply"
        )
    out = water.class_shares(classes)
    out["method"] = "shares"
    return out


def _cwqi_of_sections(entries: Any, wb: str) -> list[float]:
    values: list[float] = []
    for e in entries or []:
        if isinstance(e, Mapping):
            frame = pd.DataFrame([parse_concentrations(e)])
            values.append(float(water.cwqi_section(frame, wb).iloc[0]))
        else:
            values.append(float(e))
    return values


@register("cwqi")
def _cwqi(inp: dict[str, Any]) -> dict[str, Any]:
    rules = water.cwqi_rules()
    d, cd = int(rules["decimals"]), int(rules["change_decimals"])
    level = str(inp.get("level", "section"))
    if level in ("section", "point"):
        wb = str(inp.get("water_body", "river"))
        conc, _ = _section_inputs(inp)
        frame = pd.DataFrame([conc])
        items = water.cwqi_items(frame, wb).iloc[0].dropna()
        if items.empty:
            raise ValueError("no CWQI item among the concentrations")
        return {
            "CWQI": _r(float(items.sum()), d),
            "items": {str(k): _r(float(v), d) for k, v in items.items()},
            "n_items": int(items.size),
        }
    if level in ("city", "river", "lake"):
        rivers = _cwqi_of_sections(
            inp.get("river_section_CWQI", inp.get("river_sections", inp.get("section_CWQI"))),
            "river",
        )
        lakes = _cwqi_of_sections(
            inp.get("lake_point_CWQI", inp.get("lake_points", inp.get("point_CWQI"))), "lake"
        )
        res = water.city_cwqi_from_lists(rivers, lakes)
        return {
            "CWQI_river": _r(res["CWQI_river"], d),
            "CWQI_lake": _r(res["CWQI_lake"], d),
            "CWQI_city": _r(res["CWQI_city"], d),
            "M": res["M"],
            "N": res["N"],
        }
    if level == "change":
        pct = water.cwqi_change(float(inp["CWQI_current"]), float(inp["CWQI_base"]))
        return {"delta_CWQI_pct": _r(pct, cd), "improved": bool(pct < 0)}
    if level in ("ranking", "change_ranking"):
        cities = inp["cities"]
        first = next(iter(cities.values()), None)
        if level == "change_ranking" or isinstance(first, Mapping):
            deltas = {
                str(k): water.cwqi_change(float(v["CWQI_current"]), float(v["CWQI_base"]))
                for k, v in cities.items()
            }
            ranking = water.cwqi_ranking(deltas, cd)
            return {
                "order": ranking["name"].tolist(),
                "ties": water.ties(ranking),
                "ranks": dict(zip(ranking["name"], ranking["rank"].astype(int), strict=True)),
                "delta_CWQI_pct": {k: _r(v, cd) for k, v in deltas.items()},
            }
        ranking = water.cwqi_ranking({str(k): float(v) for k, v in cities.items()})
        return {
            "order": ranking["name"].tolist(),
            "ties": water.ties(ranking),
            "ranks": {
                str(k): int(v) for k, v in zip(ranking["name"], ranking["rank"], strict=True)
            },
        }
    raise ValueError(f"unknown cwqi level {level!r} (section, city, change, ranking)")


@register("tli")
def _tli(inp: dict[str, Any]) -> dict[str, Any]:
    source = inp.get("concentrations", inp)
    wanted = {"Chla", "TP", "TN", "SD", "CODMn"}
    given = {item_id(k): parse_value(v) for k, v in source.items() if item_id(k) in wanted}
    args = {
        "chla": given.get("Chla"),
        "tp": given.get("TP"),
        "tn": given.get("TN"),
        "sd": given.get("SD"),
        "codmn": given.get("CODMn"),
    }
    frame = water.tli(**args).iloc[0]
    d = int(water.tli_rules()["decimals"])
    comps = {
        name: _r(float(frame[f"TLI_{name}"]), d)
        for name in water.TLI_PARAMETERS
        if f"TLI_{name}" in frame.index
    }
    used = [n for n in water.TLI_PARAMETERS if n in comps]
    return {
        "TLI": _r(float(frame["TLI"]), d),
        "level": frame["level_zh"],
        "level_en": frame["level_en"],
        "group": frame["group_zh"],
        "components": comps,
        "weights": {k: _r(v, 4) for k, v in water.tli_weights(used).items()},
    }
