"""The region's bulletins written from the store (issue 19): the monthly and annual air
bulletin, the water bulletin, the annual green low-carbon report of a city.

Every number comes from the service the API answers with, for the same question:

- air: :func:`ecobasin.services.air.city_assessment` (HJ 663-2013 §5 and Appendix A, composite
  index of 环办监测〔2018〕19号) — the numbers of ``GET /api/v1/rankings``; heavy-pollution days
  (AQI > 200, HJ 633-2012 Table 2 levels 5–6) from the stored city daily AQI, as
  ``GET /api/v1/cities/{code}/summary`` counts its days by level;
- water: :func:`ecobasin.services.water.evaluation` and :func:`~ecobasin.services.water.rank`
  (GB 3838-2002, 环办〔2011〕22号, 环办监测〔2017〕51号) — those of ``/api/v1/water/…``;
- low carbon: :mod:`ecobasin.services.carbon` and :mod:`ecobasin.services.ledger`.

Rendered from the Jinja templates ``services/templates/report_*.html`` in Chinese (first) or
English, as HTML and as PDF (:func:`ecobasin.services.pdf.html_to_pdf`), and stored immutably
under the SHA-256 of their bytes (:mod:`ecobasin.store.reports`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.forecast.plots import cjk_font, drawing_one_at_a_time
from ecobasin.services import air as air_service
from ecobasin.services import carbon as carbon_service
from ecobasin.services import figure_cache
from ecobasin.services import ledger as ledger_service
from ecobasin.services import water as water_service
from ecobasin.services.cells import json_cell, json_rows, pick
from ecobasin.services.pdf import data_uri, html_to_pdf, templates
from ecobasin.sources import maps
from ecobasin.standards.air_eval import attainment_rate
from ecobasin.standards.air_index import aqi_level, iaqi, level_info
from ecobasin.store import Connection, Store
from ecobasin.store import reports as store_reports
from ecobasin.store._sql import cursor_of
from ecobasin.store.queries import sites as site_rows

__all__ = [
    "KINDS",
    "LANGS",
    "Report",
    "air_bulletin",
    "issue",
    "lowcarbon_report",
    "render_html",
    "report_file",
    "report_files",
    "water_bulletin",
]

KINDS = ("air", "water", "lowcarbon", "scorecard")
LANGS = ("zh", "en")
#: Heavy pollution: daily AQI above 200 (HJ 633-2012 Table 2, levels 5 重度 and 6 严重).
HEAVY_AQI = 200
_HTML = "text/html; charset=utf-8"
_PDF = "application/pdf"


@dataclass(frozen=True)
class Report:
    """What a report says, before it is rendered: its kind, scope (``region`` or a city code),
    period and the numbers (JSON-ready)."""

    kind: str
    scope: str
    period: str
    data: dict[str, Any]


def _names() -> dict[int, tuple[str, str]]:
    table = catalog.cities()
    return {int(c): (str(z), str(e)) for c, z, e in table[["code", "name_zh", "name_en"]].values}


# -- air ----------------------------------------------------------------------------------------
def _rank(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _air_items(frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """The assessment rows by city, keyed and rounded as ``GET /api/v1/rankings`` items."""
    items = {}
    for row in frame.to_dict(orient="records"):
        good, valid = int(row["good days 优良天数"]), int(row["valid days 有效天数"])
        percent = json_cell(row["good % 优良率"])
        items[int(row["city"])] = {
            "city_code": int(row["city"]),
            "rank": _rank(row["rank index 指数排名"]),
            "composite_index": json_cell(row["index 综合指数"]),
            "max_single": json_cell(row["max single 最大分指数"]),
            "good_percent": percent,
            "good_ratio": None if percent is None else round(percent / 100.0, 3),
            "good_days": good,
            "valid_days": valid,
            "exceed_days": valid - good,
            "pm25": json_cell(row["PM2.5"]),
            "pm10": json_cell(row["PM10"]),
            "o3_8h_p90": json_cell(row["O3_8h P90"]),
            "compliant": json_cell(row["compliant 达标"]),
            "rank_good": _rank(row["rank good 优良率排名"]),
        }
    return items


def _heavy_days(days: pd.DataFrame) -> dict[int, int]:
    """Days with a city daily AQI > 200 by city (HJ 633-2012 Table 2) in the stored city
    daily rows ``days``."""
    aqi = days["aqi"].to_numpy(dtype="float64", na_value=np.nan)
    heavy = pd.Series(aqi > HEAVY_AQI, index=days["scope_id"].astype(int).to_numpy())
    counts = heavy.groupby(level=0).sum()
    return {int(str(k)): int(v) for k, v in counts.items()}


def _change_pct(now: float | None, before: float | None) -> float | None:
    """Year-on-year change (now − before)/before × 100 [%], one decimal."""
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / before * 100.0, 1)


def _with_year_before(item: dict[str, Any], prev: dict[str, Any] | None) -> None:
    """Last year's figures beside this year's, and their changes (``rank_change`` > 0: up)."""
    for key in ("composite_index", "good_percent", "pm25", "pm10", "o3_8h_p90", "heavy_days"):
        item[f"{key}_last_year"] = None if prev is None else prev[key]
    item["rank_last_year"] = None if prev is None else prev["rank"]
    before = prev or {}
    item["composite_change"] = _diff(item["composite_index"], before.get("composite_index"), 2)
    item["good_percent_change"] = _diff(item["good_percent"], before.get("good_percent"), 1)
    item["heavy_days_change"] = _diff(item["heavy_days"], before.get("heavy_days"), 0)
    for key in ("pm25", "pm10", "o3_8h_p90"):
        item[f"{key}_change_pct"] = _change_pct(item[key], before.get(key))
    ranks = (before.get("rank"), item["rank"])
    item["rank_change"] = None if None in ranks else ranks[0] - ranks[1]


def _diff(now: Any, before: Any, digits: int) -> Any:
    if now is None or before is None:
        return None
    return round(now - before, digits) if digits else int(now - before)


def _air_year(where: Connection, kind: str, first: date, last: date) -> dict[int, dict[str, Any]]:
    # the city days read once: the assessment (as city_assessment) and the heavy days
    days = air_service.aqi_daily(where, scope="city", start=first, end=last)
    if days.empty:
        return {}
    items = _air_items(air_service.assessment_table(days, kind, last)[0])
    heavy = _heavy_days(days)
    for code, item in items.items():
        item["heavy_days"] = heavy.get(code, 0)
    return items


def _region_air(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The region: good days over valid days of all its cities [%] (HJ 663-2013 §5), heavy days
    summed, and the mean of the city means [µg/m³] (GB/T 8170, integers)."""
    good = sum(i["good_days"] for i in items)
    valid = sum(i["valid_days"] for i in items)

    def mean(key: str) -> int | None:
        values = [i[key] for i in items if i[key] is not None]
        return int(air_service.reported(pd.Series([np.mean(values)]), key)[0]) if values else None

    return {
        "good_days": good,
        "valid_days": valid,
        "good_percent": float(attainment_rate(good, valid)) if valid else None,
        "heavy_days": sum(i["heavy_days"] for i in items),
        "pm25": mean("pm25"),
        "pm10": mean("pm10"),
        "o3_8h_p90": mean("o3_8h_p90"),
        "n_cities": len(items),
    }


def station_means(
    where: Connection, first: date, last: date, city: int | None = None
) -> list[dict[str, Any]]:
    """Each air station's PM2.5 over the period: the mean of its stored daily means [µg/m³]
    (integer, GB/T 8170), the IAQI of that mean on the 24-h breakpoints (HJ 633-2012 Table 1)
    and its level and colour (Table 2) — the colours of the bulletin's map."""
    days = air_service.aqi_daily(where, scope="site", start=first, end=last)
    if days.empty:
        return []
    values = pd.to_numeric(days["pm25"], errors="coerce").astype("float64")
    pm25 = values.groupby(days["scope_id"]).mean().dropna()
    stations = site_rows(cursor_of(where), kinds=["air_station"], site_ids=list(pm25.index))
    if city is not None:
        stations = stations[stations["city_code"] == city]
    means = {str(k): int(v) for k, v in air_service.reported(pm25, "PM2.5").items()}
    out = []
    for row in stations.to_dict(orient="records"):
        mean = means[str(row["site_id"])]
        index = iaqi("PM2.5_24h", [mean], "HJ633-2012")[0]
        level = int(aqi_level([index])[0]) if index is not pd.NA else 0
        info = level_info(level) if level else None
        out.append({
            "site_id": row["site_id"], "name_zh": row["name_zh"], "city_code": int(row["city_code"]),
            "lon": json_cell(row["lon"]), "lat": json_cell(row["lat"]), "pm25": mean,
            "iaqi": None if index is pd.NA else int(index), "level": level or None,
            "color": info.hex if info else "#bdbdbd",
        })  # fmt: skip
    return out


def air_bulletin(where: Connection, period: str, city: int | None = None) -> Report:
    """The air bulletin of a month, quarter or year (``2025-11``, ``2025Q3``, ``2025``) for the
    region, or for ``city`` with its place among the region's cities.

    Raises
    ------
    LookupError
        no city daily AQI is stored for the period, or none of ``city``.
    """
    kind, first, last = air_service.parse_period(period)
    items = _air_year(where, kind, first, last)
    if not items or (city is not None and city not in items):
        who = "any city" if city is None else f"city {city}"
        raise LookupError(
            f"no city daily AQI of {who} for {period} ({first} … {last}) 该时段无数据"
        )
    before_period = f"{first.year - 1}{period.strip()[4:]}"
    _, b_first, b_last = air_service.parse_period(before_period)
    before = _air_year(where, kind, b_first, b_last)
    names = _names()
    ranked = sorted(
        items.values(), key=lambda i: (i["rank"] is None, i["rank"] or 0, i["city_code"])
    )
    for item in ranked:
        item["name_zh"], item["name_en"] = names.get(
            item["city_code"], (str(item["city_code"]),) * 2
        )
        _with_year_before(item, before.get(item["city_code"]))
    region = _region_air(ranked)
    region_before = _region_air(list(before.values())) if before else None
    data = {
        "period": period.strip(), "kind": kind, "first_day": first.isoformat(),
        "last_day": last.isoformat(), "compared_with": before_period if before else None,
        "city": city, "items": ranked, "region": region, "region_last_year": region_before,
        "city_item": items.get(city) if city is not None else None,
        "stations": station_means(where, first, last, city),
    }  # fmt: skip
    return Report("air", "region" if city is None else str(city), period.strip(), data)


# -- water --------------------------------------------------------------------------------------
_CLASSES = ("I", "II", "III", "IV", "V", "劣V")


def _water_base(period: str) -> str:
    """The same period a year before: ``2025`` → ``2024``, ``2025-11`` → ``2024-11``."""
    return f"{int(period[:4]) - 1}{period[4:]}"


def water_bulletin(where: Connection, period: str) -> Report:
    """The water bulletin of a month or year: sections by class, the shares at Class I–III and
    劣V [%] (region row of the evaluation), sections failing their target, the city CWQI
    ranking with its change against the same period a year before when stored.

    Raises
    ------
    LookupError
        no water results are stored for the period.
    """
    evaluation = water_service.evaluation(where, period)
    name = str(evaluation.meta["period"])
    try:
        ranking = water_service.rank(where, name, _water_base(name))
    except LookupError:
        ranking = water_service.rank(where, name)
    table = evaluation.table
    counts = table["class"].value_counts() if len(table) else pd.Series(dtype=int)
    summary = evaluation.summary if evaluation.summary is not None else pd.DataFrame()
    region = summary[summary["scope"] == "region"] if len(summary) else summary
    failing = table[table["meets_target"] == False] if len(table) else table  # noqa: E712
    data = {
        "period": name, "kind": evaluation.meta["kind"], "n_sections": len(table),
        "classes": [{"class": c, "sections": int(counts.get(c, 0))} for c in _CLASSES],
        "region": json_rows(region)[0] if len(region) else None,
        "basins": json_rows(summary[summary["scope"] != "region"]) if len(summary) else [],
        "failing": json_rows(failing[["site_id", "name_zh", "name_en", "city_name", "river",
                                      "class", "target_class", "main_pollutants"]]),
        "ranking": json_rows(ranking.table), "base": ranking.meta["base"],
    }  # fmt: skip
    return Report("water", "region", name, data)


# -- the annual green low-carbon report --------------------------------------------------------
#: The chapters of Chengdu's annual green low-carbon report (成都市绿色低碳发展报告, since 2017)
#: this report follows: goals, actions, indicators, cases.
LOWCARBON_SECTIONS = (
    ("goals", "发展目标", "Goals"),
    ("actions", "主要行动", "Actions"),
    ("indicators", "指标表现", "Indicators"),
    ("cases", "典型案例", "Cases"),
)


def lowcarbon_report(where: Connection, city: int, year: int) -> Report:
    """A city's annual green low-carbon report: its air and water indicators of ``year``, the
    carbon inventory [t CO2e] by sector, energy CO2 intensity [t/10⁴ CNY] against its target,
    sinks [t CO2/a], and the carbon-inclusive ledger's activity.

    Raises
    ------
    LookupError
        neither air, water nor carbon data of the city and year is stored.
    """
    try:
        air = air_bulletin(where, str(year), city).data["city_item"]
    except LookupError:
        air = None
    try:
        water_rank = water_service.rank(where, str(year)).table
        mine = water_rank[water_rank["city"] == city] if len(water_rank) else water_rank
        water = json_rows(mine)[0] if len(mine) else None
    except LookupError:
        water = None
    sectors = carbon_service.emissions(where, [city], [year], "sector")
    peak = [p for p in carbon_service.peak_reports(where, [city], None) if p]
    sinks = carbon_service.sinks(where, [city], [year])
    if air is None and water is None and sectors.empty:
        raise LookupError(f"no air, water or carbon data of city {city} for {year} 无数据")
    data = {
        "city": city, "year": year, "sections": [s[0] for s in LOWCARBON_SECTIONS],
        "air": air, "water": water, "sectors": json_rows(sectors),
        "emissions_t": json_cell(float(sectors["co2e_t"].sum())) if len(sectors) else None,
        "peak": json_cell(peak[0]) if peak else None, "sinks": json_rows(sinks),
        "intensity": _year_row(peak[0] if peak else None, year),
        "ledger": json_cell(ledger_service.summary(where)),
        "projects": json_cell(ledger_service.projects(where)),
    }  # fmt: skip
    return Report("lowcarbon", str(city), str(year), data)


def _year_row(peak: dict[str, Any] | None, year: int) -> dict[str, Any] | None:
    """The peak-tracking row of ``year``: energy CO2 [t], GDP [10⁴ CNY], intensity
    [t/10⁴ CNY] and its changes [%]."""
    rows = [r for r in (peak or {}).get("rows", []) if int(r["year"]) == year]
    return json_cell(rows[0]) if rows else None


# -- rendering and storing ----------------------------------------------------------------------
def _chart(labels: Sequence[str], values: Sequence[float | None], title: str) -> str:
    """A horizontal bar chart (matplotlib, Agg) as a PNG ``data:`` URI: nothing is fetched when
    the PDF renders. Drawn once per distinct input (~0.2 CPU-s) and then kept
    (:data:`~ecobasin.services.figure_cache.FIGURES`): a report issued again with the same
    numbers, or another period with the same ranking, shows the chart kept."""
    key = figure_cache.digest(("report chart", tuple(labels), tuple(values), title))
    png = figure_cache.FIGURES.get_or_draw(key, lambda: _draw_chart(labels, values, title))
    return data_uri(png)


@drawing_one_at_a_time
def _draw_chart(labels: Sequence[str], values: Sequence[float | None], title: str) -> bytes:
    """The bar chart of :func:`_chart` [PNG bytes]."""
    from matplotlib import pyplot as plt

    font = cjk_font()
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.2))
        ax.barh(list(labels)[::-1], [v or 0 for v in values][::-1], color="#2f6f9f")
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render_html(report: Report, lang: str = "zh", region: catalog.Region | None = None) -> bytes:
    """The report as one HTML document [UTF-8], charts and maps inline; ``lang`` zh (default) or
    en; ``region`` gives the map's boundaries (default: the bundled default region)."""
    lang = "en" if lang == "en" else "zh"

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    names = {c: pick(lang, z, e) or str(c) for c, (z, e) in _names().items()}
    chart = _report_chart(report, names, t)
    station_map = _station_map(report, region or catalog.load_region(), names, t)
    template = templates().get_template(f"report_{report.kind}.html")
    html = template.render(r=report, d=report.data, lang=lang, t=t, names=names, chart=chart,
                           station_map=station_map, classes=_CLASSES,
                           sections=LOWCARBON_SECTIONS)  # fmt: skip
    return html.encode("utf-8")


def _map_outlines(region: catalog.Region, city: int | None) -> list[maps.Outline]:
    """The region's cities (labelled; only ``city`` dark when the bulletin is a city's)."""
    outlines = []
    for feature in catalog.boundaries(region)["features"]:
        props = feature["properties"]
        mine = city is None or props["code"] == city
        label = f"{props['name_zh']} {props['name_en']}" if mine else ""
        outlines.append(maps.Outline(feature["geometry"], label, mine, tuple(props["center"])))
    return outlines


def _station_map(
    report: Report, region: catalog.Region, names: dict[int, str], t: Any
) -> str | None:
    """The map of the air bulletin: stations coloured by the AQI level of their PM2.5 mean over
    the period (HJ 633-2012 Tables 1 and 2) on the region's (or the city's) boundaries."""
    stations = report.data.get("stations") if report.kind == "air" else None
    if not stations:
        return None
    city = report.data.get("city")
    frame = pd.DataFrame(stations).rename(columns={"color": "colour"})
    legend = [(level_info(n).hex, f"{level_info(n).category_zh} {level_info(n).category_en}")
              for n in range(1, 7)]  # fmt: skip
    where = (
        names.get(city, str(city)) if city else t("成都平原经济区", "Chengdu Plain Economic Zone")
    )
    title = f"{where} {report.period} " + t("各站 PM2.5 均值", "PM2.5 mean at each station")
    note = t(
        "站点颜色：时段 PM2.5 日均值的平均对应的空气质量级别（HJ 633-2012 表1、表2）",
        "Dot colour: the AQI level of the station's mean daily PM2.5 over the period "
        "(HJ 633-2012 Tables 1 and 2)",
    )
    outlines = _map_outlines(region, city)
    # every input of the drawing is in the key (the columns it reads, the boundaries drawn): a
    # bulletin rendered again with the same numbers shows the map kept, never a stale one
    key = figure_cache.digest(
        ("station map", frame[["lon", "lat", "colour"]], title, outlines, legend, note)
    )
    png = figure_cache.FIGURES.get_or_draw(key, lambda: maps.station_map_png(
        frame, title=title, outlines=outlines, legend=legend, note=note
    ))  # fmt: skip
    return data_uri(png)


def _report_chart(report: Report, names: dict[int, str], t: Any) -> str | None:
    if report.kind == "air":
        items = report.data["items"]
        return _chart([names.get(i["city_code"], str(i["city_code"])) for i in items],
                      [i["composite_index"] for i in items],
                      t("环境空气质量综合指数", "Composite air quality index"))  # fmt: skip
    if report.kind == "scorecard":
        cards = report.data["items"]
        return _chart([names.get(c["city_code"], str(c["city_code"])) for c in cards],
                      [c["total"] for c in cards], t("考核总分", "Total score"))  # fmt: skip
    if report.kind == "water" and report.data["ranking"]:
        rows = report.data["ranking"]
        return _chart([str(r["city_name"]) for r in rows], [r["cwqi"] for r in rows],
                      t("城市水质指数 CWQI", "City water quality index (CWQI)"))  # fmt: skip
    return None


def issue(
    store: Store,
    report: Report,
    at: datetime,
    langs: Sequence[str] = LANGS,
    region: catalog.Region | None = None,
) -> list[dict[str, Any]]:
    """Render ``report`` in each language as HTML and PDF and store each file once by its
    SHA-256; returns their facts (hash, language, media type, size)."""
    stored = []
    for lang in langs:
        html = render_html(report, lang, region)
        for media_type, content in ((_HTML, html), (_PDF, html_to_pdf(html.decode("utf-8")))):
            digest = store_reports.store_report_file(
                store, report.kind, report.scope, report.period, lang, media_type, content, at
            )
            stored.append({"sha256": digest, "lang": lang, "media_type": media_type,
                           "size": len(content)})  # fmt: skip
    return stored


def report_files(
    where: Connection, kind: str | None = None, scope: str | None = None
) -> list[dict[str, Any]]:
    """The stored reports, newest first (``created_at`` as ISO 8601)."""
    return [
        {**row, "created_at": row["created_at"].isoformat()}
        for row in store_reports.report_files(where, kind, scope)
    ]


def report_file(where: Connection, sha256: str) -> tuple[dict[str, Any], bytes]:
    """A stored report's facts and bytes.

    Raises
    ------
    LookupError
        no report has that hash.
    """
    found = store_reports.report_file(where, sha256.lower())
    if found is None:
        raise LookupError(f"no report {sha256} 无此报告")
    facts, content = found
    return {**facts, "created_at": facts["created_at"].isoformat()}, content
