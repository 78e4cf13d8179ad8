"""``ecobasin alarms`` (list, refresh) and ``ecobasin limits`` (list, import): over-limit,
flag and silence alarms 超标、异常标记与断线报警, and the emission limits behind them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape

from ecobasin.alarms import KINDS
from ecobasin.catalog import emission
from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    city_codes,
    console,
    emit,
    fail,
    open_store,
    settings,
)
from ecobasin.jobs.alarms import recompute_alarms
from ecobasin.services import alarms as alarm_service
from ecobasin.store import alarms as store_alarms
from ecobasin.store import queries
from ecobasin.timebase import CST, parse_instant

__all__ = ["alarms_app", "limits_app"]

alarms_app = typer.Typer(
    help="Over-limit, flag and silence alarms 超标、异常标记与断线报警.",
    invoke_without_command=True,
)
limits_app = typer.Typer(
    help="Emission limits 排放限值 (standards, permits).", no_args_is_help=True
)

FORMATS = ("table", "csv", "json")
KIND_LABELS = {
    "over_limit": "超标 over limit",
    "flag_persistent": "异常标记 persistent flag",
    "silent": "断线 silent",
    "low_valid_rate": "有效数据率不足 low valid rate",
}
FormatOption = Annotated[
    str, typer.Option("--format", help="table, csv or json 输出格式 (csv/json to stdout).")
]


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}: use table, csv or json")


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a time (e.g. 2024-01-01T10:00, CST)") from None


def _alarm_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Alarms for people: CST labels beside UTC instants."""
    out = frame[["alarm_id", "kind", "site_id", "city_code", "parameter", "flag"]].copy()
    out["city_code"] = out["city_code"].astype("Int64")
    for column in ("start_time", "end_time"):
        times = pd.DatetimeIndex(frame[column])
        out[column.replace("_time", "_utc")] = times.strftime("%Y-%m-%dT%H:%M:%SZ")
        out[column.replace("_time", "_cst")] = times.tz_convert(CST).strftime("%Y-%m-%d %H:%M")
    out["status"] = frame["status"]
    out["peak"] = frame["peak"]
    out["limit"] = frame["limit_value"]
    out["multiple"] = frame["multiple"].round(3)
    out["periods"] = frame["periods"].astype("Int64")
    out["evidence"] = frame["evidence"]
    return out.replace({"NaT": None})


@alarms_app.callback()
def alarms(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Open alarms only 仅未结束.")] = False,
    site: Annotated[list[str] | None, typer.Option(help="Site id, repeatable 站点.")] = None,
    city: Annotated[
        list[str] | None, typer.Option(help="City code or name, repeatable 城市.")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help=f"Alarm kind 类型: {', '.join(KINDS)}.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Alarms lasting into or after this time (naive = CST) 起始.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many alarms 条数上限.")] = 1000,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List alarms, newest first 报警列表 (filter by site, city, kind, time; open only)."""
    if ctx.invoked_subcommand is not None:
        return
    _check_format(fmt)
    unknown = sorted(set(kind or []) - set(KINDS))
    if unknown:
        raise fail(f"--kind: unknown alarm kind {unknown}; use {', '.join(KINDS)}")
    filters = store_alarms.AlarmFilter(
        sites=site,
        cities=city_codes(city),
        kinds=kind,
        status="open" if open_only else None,
        start=_instant(since, "--since"),
    )
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        if site:
            missing = sorted(set(site) - queries.known_site_ids(store.con, site))
            if missing:
                raise fail(f"--site: unknown site {missing} (ecobasin sites lists them)")
        total, frame = alarm_service.alarm_page(store, filters, limit)
    view = _alarm_view(frame)
    if fmt == "table":
        view = view.drop(columns=["evidence", "start_utc", "end_utc"])
        view["kind"] = view["kind"].map(KIND_LABELS)
    emit(view, fmt, f"alarms 报警 ({len(view)} of {total})")


@alarms_app.command("refresh")
def refresh(
    site: Annotated[list[str] | None, typer.Option(help="Site id, repeatable 站点.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Recompute from this time (naive = CST) 起始 [default: all data]."),
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="Evaluate silence at this time 评估时刻 [default: now].")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Recompute alarms from stored observations 重新计算报警 (idempotent)."""
    start = _instant(since, "--since") or datetime(1970, 1, 1, tzinfo=UTC)
    at = _instant(now, "--now") or datetime.now(UTC)
    config = settings(db, region)
    with open_store(config) as store:
        ids = alarm_service.observed_sites(store, site)
        if site and not ids:
            raise fail(f"--site: no observations for {site} (or unknown sites)")
        report = recompute_alarms(store, ids, start, at, now=at)
    counts = report.as_dict()
    console.print(
        "[green]alarms refreshed 报警已更新:[/] "
        + ", ".join(f"{key} {value:,}" for key, value in counts.items())
    )


# -- limits ----------------------------------------------------------------------------------------
@limits_app.command("list")
def limits_list(
    category: Annotated[
        str | None, typer.Option(help="Source category 排放源类别 (see the categories table).")
    ] = None,
    site: Annotated[
        list[str] | None, typer.Option(help="Limits applying to these sites 站点适用限值.")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List standard emission limits, or the limits applying to sites 排放限值列表."""
    _check_format(fmt)
    if site:
        frame = _site_limits(site, db, region)
        emit(frame, fmt, f"limits applying to sites 站点适用限值 ({len(frame)})")
        return
    categories = emission.source_categories()
    if category is not None and category not in categories.index:
        raise fail(f"--category: unknown source category {category!r}; known: "
                   + ", ".join(categories.index))  # fmt: skip
    frame = alarm_service.standard_limits(category)
    names = categories[["source_category", "name_zh", "name_en"]].reset_index(drop=True)
    frame = frame.merge(names, on="source_category", how="left")
    columns = ["source_category", "name_zh", "name_en", "parameter", "limit", "unit", "basis",
               "reference_o2", "standard_id", "clause", "valid_from", "verified", "note"]  # fmt: skip
    emit(frame[columns], fmt, f"emission limits 排放限值 ({len(frame)})")


def _site_limits(site_ids: list[str], db: Path | None, region: str | None) -> pd.DataFrame:
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        try:
            rules = alarm_service.site_limits(store.con, site_ids)
        except LookupError as error:
            raise fail(f"--site: {error.args[0]}") from None
    rules["valid_from"] = rules["valid_from"].fillna("")
    return rules.drop(columns=["rank"])


@limits_app.command("import")
def limits_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV of permit limits 排污许可限值: site_id, parameter, limit[, unit, basis, "
            "permit_id, note]."
        ),
    ],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import emission-permit limits per site and parameter 导入排污许可证限值."""
    if not file.exists():
        raise fail(f"no such file 文件不存在: {file}")
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, comment="#")
    except (ValueError, UnicodeDecodeError) as error:
        raise fail(f"{file}: not a readable CSV ({error})") from None
    missing = {"site_id", "parameter", "limit"} - set(frame.columns)
    if missing:
        raise fail(f"{file}: missing column(s) {sorted(missing)} 缺少列")
    config = settings(db, region)
    with open_store(config) as store:
        counts, bad = alarm_service.import_permit_limits(store, frame, file.name)
    console.print(
        f"[green]permit limits 许可限值:[/] new 新增 {counts.inserted}, replaced 替换 "
        f"{counts.replaced}, unchanged 未变 {counts.unchanged}, rejected 拒收 {len(bad)}"
    )
    for reason in bad["reason"]:
        console.print(f"[red]rejected 拒收:[/] {escape(str(reason))}")
    if len(bad):
        raise typer.Exit(1)
