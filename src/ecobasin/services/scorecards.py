"""Target-assessment scorecards (减污降碳考核, issue 19): each city against its yearly targets.

Indicators, weights, targets and the scoring rule are versioned configuration
(``catalog/data/scorecards/rules_<year>.toml``, with ``version`` and ``source``). The values
come from the services the API answers with:

- good-day ratio [%], PM2.5 [µg/m³], heavy-pollution days [d]: the air bulletin of the year
  (:func:`ecobasin.services.reports.air_bulletin`, i.e. ``/api/v1/rankings`` and the city
  summary, HJ 663-2013 §5);
- sections at Class III or better [%] (the city row of the CWQI ranking, 环办监测〔2017〕51号)
  and sections meeting their target [%] (the year's evaluation, GB 3838-2002);
- carbon intensity reduction [%]: minus the year-on-year change of energy CO2 per unit GDP
  (:func:`ecobasin.services.carbon.peak_reports`);
- rectification cases closed on time [%]: of the city's cases whose current due day falls in
  the year, those closed on or before it (China Standard Time days);
- key tasks done [%]: of the tasks due in the year naming the city as owner, those completed
  or assessed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.services import air as air_service
from ecobasin.services import carbon as carbon_service
from ecobasin.services import reports as reports_service
from ecobasin.services import water as water_service
from ecobasin.services.cells import pick
from ecobasin.standards.air_eval import city_daily
from ecobasin.standards.air_index import daily_aqi
from ecobasin.store import Connection
from ecobasin.store import cases as store_cases
from ecobasin.store import keytasks as store_keytasks
from ecobasin.store._sql import cursor_of
from ecobasin.store.queries import sites as site_rows
from ecobasin.timebase import CST

__all__ = [
    "DISTRICT_INDICATORS",
    "Indicator",
    "Rules",
    "as_report",
    "district_scorecards",
    "load_rules",
    "score",
    "scorecards",
    "station_districts",
]

_DONE = ("completed", "assessed")


@dataclass(frozen=True)
class Indicator:
    """One assessed indicator: weight [points], target and tolerance [its unit], direction."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    weight: float
    better: str
    target: float
    tolerance: float
    rule: str


@dataclass(frozen=True)
class Rules:
    """A version of the scoring configuration."""

    version: str
    year: int
    source: str
    source_en: str
    indicators: tuple[Indicator, ...]
    targets: dict[int, dict[str, float]]

    def target(self, indicator: Indicator, city: int) -> float:
        """The city's own target when configured, else the indicator's."""
        return float(self.targets.get(city, {}).get(indicator.id, indicator.target))


def load_rules(year: int) -> Rules:
    """The scorecard rules of ``year`` (``catalog/data/scorecards/rules_<year>.toml``).

    Raises
    ------
    LookupError
        no rules are configured for the year.
    """
    path = resources.files(catalog) / "data" / "scorecards" / f"rules_{year}.toml"
    if not path.is_file():
        raise LookupError(f"no scorecard rules for {year} 无该年度考核规则 (rules_{year}.toml)")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    indicators = tuple(Indicator(**item) for item in raw["indicator"])
    for item in indicators:
        if item.rule != "linear" or item.better not in ("higher", "lower") or item.tolerance <= 0:
            raise ValueError(f"scorecard rule {item.id}: unknown rule, direction or tolerance")
    targets = {int(k): dict(v) for k, v in raw.get("target", {}).items()}
    return Rules(raw["version"], int(raw["year"]), raw["source"], raw["source_en"], indicators,
                 targets)  # fmt: skip


def score(indicator: Indicator, value: float | None, target: float) -> float | None:
    """Points of one indicator by the rule "linear": the full weight when the target is met,
    less in proportion to the shortfall, 0 at ``tolerance`` beyond it; None without a value.
    Rounded to two decimals [points]."""
    if value is None:
        return None
    shortfall = target - value if indicator.better == "higher" else value - target
    if shortfall <= 0:
        return float(indicator.weight)
    return round(indicator.weight * max(0.0, 1.0 - shortfall / indicator.tolerance), 2)


def _share(hits: int, total: int) -> float | None:
    return round(100.0 * hits / total, 1) if total else None


def _air(where: Connection, year: int) -> dict[int, dict[str, Any]]:
    try:
        items = reports_service.air_bulletin(where, str(year)).data["items"]
    except LookupError:
        return {}
    return {i["city_code"]: i for i in items}


def _water(where: Connection, year: int) -> dict[int, dict[str, float | None]]:
    try:
        ranking = water_service.rank(where, str(year)).table
        table = water_service.evaluation(where, str(year)).table
    except LookupError:
        return {}
    out: dict[int, dict[str, float | None]] = {}
    for row in ranking.to_dict(orient="records"):
        out[int(row["city"])] = {"water_class_iii": row["share_I_III"]}
    for city, rows in table.groupby("city"):
        judged = rows["meets_target"].dropna()
        met = int(judged.astype(bool).sum())
        out.setdefault(int(str(city)), {})["water_target_met"] = _share(met, len(judged))
    return out


def _intensity(where: Connection, year: int) -> dict[int, float | None]:
    out: dict[int, float | None] = {}
    for report in carbon_service.peak_reports(where, None, None):
        rows = [r for r in report["rows"] if int(r["year"]) == year]
        change = rows[0]["yoy_change_pct"] if rows else None
        out[int(report["city_code"])] = None if change is None else round(-float(change), 2)
    return out


def _cases(where: Connection, year: int) -> dict[int, float | None]:
    due: dict[int, list[bool]] = {}
    for case in store_cases.cases(where):
        if case.city_code is None or not case.rectify_due or case.rectify_due[-1].year != year:
            continue
        closed_day = case.updated_at.astimezone(CST).date() if case.state == "closed" else None
        on_time = closed_day is not None and closed_day <= case.rectify_due[-1]
        due.setdefault(case.city_code, []).append(on_time)
    return {c: _share(sum(v), len(v)) for c, v in due.items()}


def _keytasks(
    where: Connection, year: int, names: dict[int, tuple[str, str]]
) -> dict[int, float | None]:
    owned: dict[int, list[bool]] = {}
    for task in store_keytasks.tasks(where, None):
        if not isinstance(task["due"], date) or task["due"].year != year:
            continue
        for code, (zh, en) in names.items():
            if {str(code), zh, en} & set(task["owners"]):
                owned.setdefault(code, []).append(task["state"] in _DONE)
    return {c: _share(sum(v), len(v)) for c, v in owned.items()}


def _values(
    where: Connection, year: int, names: dict[int, tuple[str, str]]
) -> dict[int, dict[str, Any]]:
    """Every indicator's value by city [its unit]; a city appears when any value is known."""
    values: dict[int, dict[str, Any]] = {}
    for code, item in _air(where, year).items():
        values.setdefault(code, {}).update(
            good_day_ratio=item["good_percent"], pm25=item["pm25"], heavy_days=item["heavy_days"]
        )
    for code, water in _water(where, year).items():
        values.setdefault(code, {}).update(water)
    for key, found in (("carbon_intensity_reduction", _intensity(where, year)),
                       ("cases_on_time", _cases(where, year)),
                       ("keytasks_done", _keytasks(where, year, names))):  # fmt: skip
        for code, value in found.items():
            values.setdefault(code, {})[key] = value
    # a city is scored only with some value: all "no data" would rank it on zeros
    return {
        c: v for c, v in values.items() if c in names and any(x is not None for x in v.values())
    }


def _card(rules: Rules, code: int, values: dict[str, Any], lang: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for ind in rules.indicators:
        target = rules.target(ind, code)
        value = values.get(ind.id)
        points = score(ind, value, target)
        rows.append({
            "id": ind.id, "name": pick(lang, ind.name_zh, ind.name_en), "name_zh": ind.name_zh,
            "name_en": ind.name_en, "unit": ind.unit, "weight": ind.weight, "better": ind.better,
            "target": target, "value": value, "score": points,
            "met": None if points is None else points == ind.weight,
        })  # fmt: skip
    total = round(sum(r["score"] or 0.0 for r in rows), 2)
    return {"city_code": code, "total": total, "indicators": rows,
            "no_data": [r["id"] for r in rows if r["value"] is None]}  # fmt: skip


def _ranked(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ranked by total, highest first; equal totals share the smallest rank."""
    cards.sort(key=lambda c: (-c["total"], c["city_code"]))
    for i, card in enumerate(cards):
        same = i and cards[i - 1]["total"] == card["total"]
        card["rank"] = cards[i - 1]["rank"] if same else i + 1
    return cards


def scorecards(where: Connection, year: int, lang: str = "zh") -> dict[str, Any]:
    """The scorecards of every city with data for ``year``, ranked, with last year's rank and
    the change (> 0: moved up) when the previous year's rules and data exist.

    Raises
    ------
    LookupError
        no rules for the year, or no city has any value.
    """
    rules = load_rules(year)
    table = catalog.cities()
    names = {int(c): (str(z), str(e)) for c, z, e in table[["code", "name_zh", "name_en"]].values}
    values = _values(where, year, names)
    if not values:
        raise LookupError(f"no data of any city for the {year} scorecard 该年度无考核数据")
    cards = _ranked([_card(rules, c, v, lang) for c, v in values.items()])
    before = _last_year_ranks(where, year, names, lang)
    for card in cards:
        zh, en = names[card["city_code"]]
        card.update(name=pick(lang, zh, en), name_zh=zh, name_en=en)
        card["rank_last_year"] = before.get(card["city_code"])
        prev = card["rank_last_year"]
        card["rank_change"] = None if prev is None else prev - card["rank"]
    return {"year": year, "version": rules.version, "source": pick(lang, rules.source, rules.source_en),
            "source_zh": rules.source, "source_en": rules.source_en,
            "max_total": sum(i.weight for i in rules.indicators), "items": cards}  # fmt: skip


def _last_year_ranks(
    where: Connection, year: int, names: dict[int, tuple[str, str]], lang: str
) -> dict[int, int]:
    try:
        rules = load_rules(year - 1)
    except LookupError:
        rules = load_rules(year)  # the same rules applied to last year's data
    values = _values(where, year - 1, names)
    return {
        c["city_code"]: c["rank"]
        for c in _ranked([_card(rules, c, v, lang) for c, v in values.items()])
    }


def as_report(where: Connection, year: int) -> reports_service.Report:
    """The scorecards of ``year`` as a report to render and store (kind ``scorecard``)."""
    data = scorecards(where, year)
    try:
        data["districts"] = district_scorecards(where, year)
    except LookupError:
        data["districts"] = None
    return reports_service.Report("scorecard", "region", str(year), data)


# -- districts (区县) ----------------------------------------------------------------------------
#: the indicators a district is scored on: those with district data (its stations' air); the
#: others (water sections, carbon, cases, key tasks) are assessed per city
DISTRICT_INDICATORS = ("good_day_ratio", "pm25", "heavy_days")
_DISTRICT_KEYS = ("district_code", "district_zh", "district_en")


def station_districts(where: Connection) -> pd.DataFrame:
    """site_id, city_code, district_code, district_zh, district_en, source of the air stations
    with a district: ``catalog/data/scorecards/station_districts.csv``, overridden by a site's
    own ``attributes`` (``district_code``, ``district_zh``, ``district_en``)."""
    path = resources.files(catalog) / "data" / "scorecards" / "station_districts.csv"
    table = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")), dtype={"site_id": str})
    sites = site_rows(cursor_of(where), kinds=["air_station"])
    own = []
    for row in sites.to_dict(orient="records"):
        text = row["attributes"]
        attributes = json.loads(text) if isinstance(text, str) and text else {}
        if isinstance(attributes, dict) and attributes.get("district_code"):
            own.append({"site_id": row["site_id"], "city_code": int(row["city_code"]),
                        **{k: attributes.get(k) for k in _DISTRICT_KEYS},
                        "source": "site attributes"})  # fmt: skip
    merged = pd.concat([pd.DataFrame(own), table]) if own else table
    merged = merged.drop_duplicates(subset=["site_id"], keep="first")
    merged = merged[merged["site_id"].isin(set(sites["site_id"]))]
    merged["district_code"] = merged["district_code"].astype(int)
    return merged.reset_index(drop=True)


def _district_days(where: Connection, year: int, districts: pd.DataFrame) -> pd.DataFrame:
    """District daily rows shaped as the stored city rows: the mean of the district's stations'
    daily concentrations, rounded (HJ 663-2013 §5), and the AQI of that mean (HJ 633-2012 §5)."""
    days = air_service.aqi_daily(
        where, scope="site", start=date(year, 1, 1), end=date(year, 12, 31)
    )
    days = days[days["scope_id"].isin(set(districts["site_id"]))]
    if days.empty:
        return days
    names = {"so2": "SO2", "no2": "NO2", "co": "CO", "pm10": "PM10", "pm25": "PM2.5",
             "o3_8h": "O3_8h_max", "o3_1h": "O3_1h_max"}  # fmt: skip
    station = pd.DataFrame({"site_id": days["scope_id"], "date": pd.DatetimeIndex(days["day"])})
    for column, name in names.items():
        station[name] = pd.to_numeric(days[column], errors="coerce").astype("float64").to_numpy()
    mapping = districts.set_index("site_id")["district_code"]
    means = city_daily(station, mapping)
    index = daily_aqi(means.drop(columns=["city", "n_stations"]))
    out = pd.DataFrame({"scope_id": means["city"].astype(str), "day": means["date"]})
    for column, name in names.items():
        out[column] = means[name].to_numpy()
    out["aqi"] = index["aqi"].to_numpy()
    out["rule_set"] = index["rule_set"].to_numpy()
    return out


def _district_values(days: pd.DataFrame, year: int) -> dict[int, dict[str, Any]]:
    table, _, _ = air_service.assessment_table(days, "year", date(year, 12, 31))
    aqi = days["aqi"].to_numpy(dtype="float64", na_value=np.nan)
    heavy = pd.Series(aqi > reports_service.HEAVY_AQI).groupby(days["scope_id"].to_numpy()).sum()
    values = {}
    for row in table.to_dict(orient="records"):
        code = int(row["city"])
        values[code] = {"good_day_ratio": row["good % 优良率"],
                        "pm25": None if pd.isna(row["PM2.5"]) else int(row["PM2.5"]),
                        "heavy_days": int(heavy.get(str(code), 0))}  # fmt: skip
    return values


def district_scorecards(
    where: Connection, year: int, city: int | None = None, lang: str = "zh"
) -> dict[str, Any]:
    """The scorecards of the districts (区县) whose stations carry one (:func:`station_districts`)
    for ``year``, on the city rules' air indicators (:data:`DISTRICT_INDICATORS`, the same
    weights, targets and rule; a district's target is its city's), ranked within the region.

    Raises
    ------
    LookupError
        no rules for the year, or no district has data.
    """
    rules = load_rules(year)
    districts = station_districts(where)
    if city is not None:
        districts = districts[districts["city_code"] == city]
    days = _district_days(where, year, districts)
    if days.empty:
        raise LookupError(f"no district station data for {year} 该年度无区县数据")
    applied = Rules(rules.version, rules.year, rules.source, rules.source_en,
                    tuple(i for i in rules.indicators if i.id in DISTRICT_INDICATORS),
                    rules.targets)  # fmt: skip
    facts = {int(r["district_code"]): r for r in districts.to_dict(orient="records")}
    cards = []
    for code, values in _district_values(days, year).items():
        fact = facts[code]
        city_code = int(fact["city_code"])
        own = dataclasses.replace(applied, targets={code: rules.targets.get(city_code, {})})
        card = _card(own, code, values, lang)
        card.update(district_code=code, city_code=city_code,
                    name=pick(lang, str(fact["district_zh"]), str(fact["district_en"])),
                    name_zh=str(fact["district_zh"]), name_en=str(fact["district_en"]),
                    stations=sorted(districts.loc[districts["district_code"] == code, "site_id"]))  # fmt: skip
        cards.append(card)
    cards.sort(key=lambda c: (-c["total"], c["district_code"]))
    for i, card in enumerate(cards):
        same = i and cards[i - 1]["total"] == card["total"]
        card["rank"] = cards[i - 1]["rank"] if same else i + 1
    return {"year": year, "version": rules.version, "city": city,
            "indicators": list(DISTRICT_INDICATORS),
            "max_total": sum(i.weight for i in applied.indicators), "items": cards}  # fmt: skip
