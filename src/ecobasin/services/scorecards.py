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

import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from ecobasin import catalog
from ecobasin.services import carbon as carbon_service
from ecobasin.services import reports as reports_service
from ecobasin.services import water as water_service
from ecobasin.services.cells import pick
from ecobasin.store import Connection
from ecobasin.store import cases as store_cases
from ecobasin.store import keytasks as store_keytasks
from ecobasin.timebase import CST

__all__ = ["Indicator", "Rules", "as_report", "load_rules", "score", "scorecards"]

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
    return reports_service.Report("scorecard", "region", str(year), scorecards(where, year))
