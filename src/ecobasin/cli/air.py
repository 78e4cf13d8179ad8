"""Air-quality commands: aqi, evaluate, conformance; and the AQI refresh after imports.

Tables go to the stderr console; CSV, JSON and conformance lines go to stdout.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from ecobasin import catalog
from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    fail,
    fail_with,
    open_store,
    progress,
    settings,
    table,
)
from ecobasin.errors import NotFound
from ecobasin.ingest.importer import ImportReport
from ecobasin.jobs.air_quality import refresh_pending_air_quality
from ecobasin.services import air as air_service
from ecobasin.services import evaluation
from ecobasin.services.air import city_assessment, parse_period, reported
from ecobasin.settings import Settings
from ecobasin.standards import air
from ecobasin.store import Store
from ecobasin.timebase import parse_instant, period_end_label

__all__ = ["aqi", "conformance", "evaluate", "refresh_after_import"]

FORMATS = ("table", "csv", "json")
#: Stored concentration columns → display names (daily; hourly adds the moving means).
DAILY_SHOWN = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "o3_8h": "O3_8h",
    "o3_1h": "O3_1h",
    "no2": "NO2",
    "so2": "SO2",
    "co": "CO",
}
HOURLY_SHOWN = {
    "pm25_1h": "PM2.5",
    "pm10_1h": "PM10",
    "o3_1h": "O3",
    "no2_1h": "NO2",
    "so2_1h": "SO2",
    "co_1h": "CO",
    "pm25_24h": "PM2.5_24h",
    "pm10_24h": "PM10_24h",
    "o3_8h": "O3_8h",
}


def refresh_after_import(store: Store, report: ImportReport) -> dict[str, Any]:
    """Recompute the AQI of the site-days an import touched, with a progress bar.

    Called by ``import cnemc``, ``import csv`` and ``demo`` after their import. The import
    marked the site-days it stored "AQI pending" as it committed them (``report.touched``), so
    this computes those marks, and any an earlier, killed import left behind.
    """
    with progress() as bar:
        task = bar.add_task("air quality 空气质量指数", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = refresh_pending_air_quality(store, progress=step)
    console.print(
        f"[green]AQI updated 空气质量指数已更新:[/] {result['site_days']:,} station-days, "
        f"{result['city_days']:,} city-days ({', '.join(result['rule_sets']) or '-'}) "
        f"in {result['seconds']:.1f} s"
    )
    _refresh_noise(store, report)
    return result


def _refresh_noise(store: Store, report: ImportReport) -> None:
    """Noise products of the noise stations the import touched (issue 23; others ignored)."""
    touched = report.touched_frame()
    if touched.empty:
        return
    # imported here: the noise tables pull in openpyxl, which an air import does not need
    from ecobasin.jobs.noise_quality import refresh_noise_products

    first, last = min(touched["day"]), max(touched["day"])
    start = pd.Timestamp(f"{first}T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{last}T01:00", tz="Asia/Shanghai").tz_convert("UTC") + pd.Timedelta(
        hours=23
    )
    done = refresh_noise_products(store, sorted(set(touched["site_id"])), start, end)
    if done.station_days:
        console.print(f"[green]noise updated 声环境已更新:[/] {done.station_days:,} station-days")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}: use table, csv or json")


def _city_codes(cities: list[str] | None) -> list[int] | None:
    if not cities:
        return None
    try:
        return [catalog.city_code(c) for c in cities]
    except KeyError as error:
        raise fail(f"unknown city 未知城市: {error.args[0]}") from None


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return pd.Timestamp(text).date()
    except ValueError:
        raise fail(f"{name}: cannot read date {text!r}; use YYYY-MM-DD") from None


def _instant(text: str | None, name: str) -> datetime | None:
    """An ISO time; naive times are China Standard Time hour-ending labels (24:00 allowed)."""
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise fail(
            f"{name}: cannot read time {text!r}; use ISO 8601, e.g. 2025-01-31T24:00"
        ) from None


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in frame.to_dict(orient="records"):
        rec: dict[str, Any] = {}
        for key, v in row.items():
            k = str(key)
            if v is None or (not isinstance(v, (list, dict, str)) and pd.isna(v)):
                rec[k] = None
            elif isinstance(v, np.integer):
                rec[k] = int(v)
            elif isinstance(v, np.floating):
                rec[k] = int(v) if float(v).is_integer() else float(v)
            elif isinstance(v, float) and v.is_integer():
                rec[k] = int(v)
            elif isinstance(v, np.bool_):
                rec[k] = bool(v)
            else:
                rec[k] = v
        out.append(rec)
    return out


#: Columns a terminal table shows (CSV and JSON carry every column).
TABLE_COLUMNS = (
    "city", "site", "name", "day", "time_cst", "aqi", "level", "category_zh", "category_en",
    "primary", "PM2.5", "PM10", "O3_8h", "O3", "NO2", "SO2", "CO", "PM2.5 P95", "O3_8h P90",
    "good % 优良率", "compliant 达标", "index 综合指数", "rank index 指数排名",
    "rank good 优良率排名", "rule_set",
)  # fmt: skip


def _emit(frame: pd.DataFrame, fmt: str, title: str) -> None:
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        typer.echo(json.dumps(_records(frame), ensure_ascii=False))
    else:
        shown = [c for c in frame.columns if c in TABLE_COLUMNS]
        console.print(table(frame[shown], title))
        console.print("all columns 全部列: --format csv or --format json", style="dim")


def _level_labels(level: pd.Series) -> tuple[list[Any], list[Any]]:
    infos = air.levels()
    zh = [None if pd.isna(v) else infos[int(v) - 1].category_zh for v in level]
    en = [None if pd.isna(v) else infos[int(v) - 1].category_en for v in level]
    return zh, en


def _names(store: Store, scope: str) -> dict[str, str]:
    if scope == "city":
        cities = store.cities()
        return {
            str(c): f"{en} {zh}"
            for c, en, zh in zip(cities["code"], cities["name_en"], cities["name_zh"], strict=True)
        }
    sites = store.sites(kinds=["air_station"])
    return {
        str(s): " ".join(str(x) for x in (zh, en) if isinstance(x, str) and x)
        for s, zh, en in zip(sites["site_id"], sites["name_zh"], sites["name_en"], strict=True)
    }


def aqi(
    city: Annotated[
        list[str] | None,
        typer.Option(help="City name or code, repeatable 城市 (default: every city)."),
    ] = None,
    site: Annotated[
        list[str] | None, typer.Option(help="Station id, repeatable 站点 (instead of --city).")
    ] = None,
    daily: Annotated[
        bool, typer.Option("--daily/--hourly", help="Daily report or real-time report 日报/实时报.")
    ] = True,
    start: Annotated[
        str | None,
        typer.Option(
            help="First day (daily) or hour (hourly, naive = CST) 起始 [default: last 7 days / 24 h]."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day or hour, inclusive 截止 [default: latest].")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json 输出格式.")] = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Show hourly or daily AQI of cities or stations 查询城市或站点空气质量指数 (HJ 633)."""
    _check_format(fmt)
    if city and site:
        raise fail("give --city or --site, not both 城市与站点只能选一")
    scope = "site" if site else "city"
    ids = list(site) if site else None
    codes = _city_codes(city)
    if codes is not None:
        ids = [str(c) for c in codes]
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        try:
            if daily:
                d0, d1 = _day(start, "--start"), _day(end, "--end")
                frame = air_service.aqi_days(store, scope, ids, d0, d1)
            else:
                t0, t1 = _instant(start, "--start"), _instant(end, "--end")
                frame = air_service.aqi_hours(store, scope, ids, t0, t1)
        except NotFound as error:
            raise fail_with(error) from None
        names = _names(store, scope)
    shown = _aqi_view(frame, scope, daily, names)
    what = "daily AQI 日报" if daily else "hourly AQI 实时报"
    _emit(
        shown, fmt, f"{what} ({scope} {'站点' if scope == 'site' else '城市'}, {len(shown)} rows)"
    )


def _aqi_view(frame: pd.DataFrame, scope: str, daily: bool, names: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame({scope: frame["scope_id"].astype(str)})
    out["name"] = out[scope].map(names)
    if daily:
        out["day"] = pd.DatetimeIndex(frame["day"]).strftime("%Y-%m-%d")
    else:
        out["time_cst"] = period_end_label(frame["time"].reset_index(drop=True)).to_numpy()
    out["aqi"] = frame["aqi"].astype("Int64")
    out["level"] = frame["level"].astype("Int64")
    out["category_zh"], out["category_en"] = _level_labels(frame["level"])
    out["primary"] = frame["primary"]
    for src, dst in (DAILY_SHOWN if daily else HOURLY_SHOWN).items():
        out[dst] = reported(frame[src], dst)
    out["publish_aqi"] = frame["publish_aqi"]
    out["rule_set"] = frame["rule_set"]
    return out


# -------------------------------------------------------------------------------------------
# evaluate
# -------------------------------------------------------------------------------------------


def evaluate(
    period: Annotated[
        str, typer.Option(help="Year 2025, month 2025-10 or quarter 2025Q3 评价时段.")
    ],
    cities: Annotated[
        list[str] | None,
        typer.Option(help="Show these cities, repeatable 城市 (ranks are among all cities)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json 输出格式.")] = "table",
    engine: Annotated[
        str,
        typer.Option(
            help="store: the stored city daily AQI; inprocess or dask: recomputed from hourly "
            "observations (live store and lake), city by month, here or on Dask 计算引擎."
        ),
    ] = "store",
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786) for --engine dask; none: a "
            "LocalCluster (dask_workers, dask_worker_memory settings) Dask 调度器地址."
        ),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Assess and rank cities for a year, quarter or month 城市空气质量评价与排名 (HJ 663)."""
    _check_format(fmt)
    if engine not in evaluation.ENGINES:
        raise fail(f"--engine {engine!r}: use {', '.join(evaluation.ENGINES)} 未知计算引擎")
    if scheduler and engine != "dask":
        raise fail("--scheduler needs --engine dask 调度器仅用于 dask 引擎")
    try:
        kind, first, last = parse_period(period)
    except ValueError as error:
        raise fail(str(error)) from None
    codes = _city_codes(cities)
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        assessed = _assess(store, kind, first, last, engine, scheduler, config)
        names = _names(store, "city")
    if assessed is None:
        raise fail(f"no city daily AQI for {period} 该时段无城市日数据")
    frame, standard, method = assessed
    if codes is not None:
        frame = frame[frame["city"].isin(codes)].reset_index(drop=True)
    frame.insert(1, "name", frame["city"].astype(str).map(names))
    frame["standard"] = standard
    frame["method"] = method
    title = (
        f"air quality assessment {period} 环境空气质量评价 ({standard}, composite index "
        f"综合指数 {method}; P98 SO2/NO2, P95 PM/CO, P90 O3_8h per HJ 663)"
    )
    _emit(frame, fmt, title)


def _assess(
    store: Store,
    kind: str,
    first: date,
    last: date,
    engine: str,
    scheduler: str | None,
    config: Settings,
) -> tuple[pd.DataFrame, str, str] | None:
    """The assessment by the chosen engine (services/evaluation.py)."""
    if engine == "store":
        return city_assessment(store, kind, first, last)
    if engine == "inprocess":
        return evaluation.evaluate(store, kind, first, last, engine="inprocess")
    with evaluation.dask_client(
        scheduler, workers=config.dask_workers, memory_limit=config.dask_worker_memory
    ) as client:
        return evaluation.evaluate(store, kind, first, last, engine="dask", client=client)


# -------------------------------------------------------------------------------------------
# conformance
# -------------------------------------------------------------------------------------------


def conformance(
    file: Annotated[
        Path, typer.Argument(help="JSON-lines cases (kind, input, expect); - for stdin 用例文件.")
    ],
) -> None:
    """Run conformance cases: one JSON result line per input line 一致性用例 (never stops)."""
    # imported here: the runner loads every domain's kernels (scipy's solvers among them), which
    # the other commands of this module (aqi, evaluate, and ``status`` through cli.data) skip
    from ecobasin.conformance import run_lines

    if str(file) == "-":
        lines = sys.stdin.read().splitlines()
    else:
        if not file.is_file():
            raise fail(f"no such file 文件不存在: {file}")
        lines = file.read_text(encoding="utf-8").splitlines()
    for line in run_lines(lines):
        typer.echo(line)
