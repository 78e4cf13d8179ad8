"""Surface-water commands: ``ecobasin water evaluate|rank|compensation|sections|import|refresh``.

Tables go to the stderr console; CSV and JSON to stdout. The numbers are those of
``/api/v1/water/…`` (both read through :mod:`ecobasin.services.water`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    fail,
    load_region,
    open_store,
    settings,
    table,
)
from ecobasin.cli.data import input_files
from ecobasin.ingest.csvmap import MappingError
from ecobasin.ingest.water import import_water_files, read_section_list
from ecobasin.jobs.water_quality import refresh_water_quality
from ecobasin.services import water as service
from ecobasin.services.cells import json_rows

__all__ = ["app"]

app = typer.Typer(
    help="Surface water 地表水: sections, classes (GB 3838), CWQI ranking, compensation.",
    no_args_is_help=True,
)
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json 输出格式.")]
PeriodOption = Annotated[str, typer.Option(help="Month 2025-10 or year 2025 评价时段.")]


def _emit(answer: service.Answer, fmt: str, title: str, shown: tuple[str, ...]) -> None:
    if fmt not in ("table", "csv", "json"):
        raise fail(f"unknown format {fmt!r}: use table, csv or json")
    frame = answer.table
    if fmt == "csv":
        flat = frame.drop(columns=[c for c in ("means",) if c in frame.columns])
        typer.echo(flat.to_csv(index=False), nl=False)
        return
    if fmt == "json":
        body = {**answer.meta, "items": json_rows(frame)}
        if answer.summary is not None:
            body["summary"] = json_rows(answer.summary)
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    columns = [c for c in shown if c in frame.columns] or list(frame.columns)
    console.print(table(frame[columns], title))
    if answer.summary is not None and not answer.summary.empty:
        console.print(table(answer.summary, f"{title} — summary 汇总"))
    console.print("all columns 全部列: --format csv or --format json", style="dim")


def _answer(config: Any, question: Any, *args: Any) -> service.Answer:
    with open_store(config, read_only=True) as store:
        try:
            result: service.Answer = question(store, *args)
            return result
        except (LookupError, ValueError) as error:
            message = error.args[0] if error.args else str(error)
            raise fail(str(message)) from None


@app.command()
def evaluate(
    period: PeriodOption,
    basin: Annotated[
        str | None, typer.Option(help="Basin or river, zh or en (岷江流域, Tuojiang) 流域或河流.")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Section classes of a month or year 断面水质评价 (GB 3838-2002, 环办〔2011〕22号)."""
    answer = _answer(settings(db, region), service.evaluation, period, basin)
    shown = (
        "site_id", "name_zh", "city_name", "river", "level", "class", "status_zh", "status_en",
        "target_class", "meets_target", "main_pollutants", "cwqi", "DO", "CODMn", "NH3N", "TP",
    )  # fmt: skip
    failing = answer.meta["failing_target"]
    _emit(
        answer,
        fmt,
        f"water quality {answer.meta['period']} 水质评价 ({len(answer.table)} sections 断面, "
        f"{failing} below target 未达标)",
        shown,
    )


@app.command()
def rank(
    period: PeriodOption,
    base: Annotated[
        str | None, typer.Option(help="Base period for the change ranking 基准时段.")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """City ranking by CWQI 城市地表水环境质量排名 (环办监测〔2017〕51号)."""
    answer = _answer(settings(db, region), service.rank, period, base)
    shown = (
        "rank", "city_name", "cwqi", "n_sections", "share_I_III", "cwqi_base", "change_pct",
        "change_rank",
    )  # fmt: skip
    _emit(answer, fmt, f"city CWQI ranking {answer.meta['period']} 城市水质指数排名", shown)


@app.command()
def compensation(
    period: PeriodOption,
    agreement: Annotated[
        Path | None,
        typer.Option(help="Agreement TOML (default: ecobasin-default) 补偿协议文件."),
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Cross-boundary compensation and settlements 跨界断面生态补偿与结算."""
    answer = _answer(settings(db, region), service.compensation, period, agreement)
    meta = answer.meta
    shown = (
        "site_id", "name_zh", "period", "upstream", "downstream", "target_class",
        "section_class", "CODMn_multiple", "NH3N_multiple", "TP_multiple", "payer", "payee",
        "amount_cny",
    )  # fmt: skip
    note = "" if meta["verified"] else " — amounts unverified 金额未经核实"
    _emit(
        answer,
        fmt,
        f"compensation {meta['period']} 生态补偿 ({meta['rule_set']}@{meta['rule_set_version']}, "
        f"{meta['method']}{note})",
        shown,
    )


@app.command("sections")
def list_sections(
    import_file: Annotated[
        Path | None,
        typer.Option("--import", help="Register sections from a CSV section list 导入断面清单."),
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List (or register) water sections 水质断面."""
    config = settings(db, region)
    if import_file is not None:
        if not import_file.is_file():
            raise fail(f"no such file 文件不存在: {import_file}")
        with open_store(config) as store:
            try:
                rows, rejects = read_section_list(import_file)
            except MappingError as error:
                raise fail(str(error)) from None
            if not rows.empty:
                counts = store.upsert_sites(rows, source=import_file.name)
                console.print(
                    f"[green]sections 断面:[/] {counts.inserted} new, {counts.replaced} updated"
                )
            if not rejects.empty:
                store.reject(rejects)
                console.print(f"[yellow]rejected 拒收:[/] {len(rejects)} rows (ecobasin rejected)")
    answer = _answer(config, service.sections)
    shown = (
        "site_id", "name_zh", "name_en", "city_name", "level", "river_zh", "basin_zh",
        "water_body", "target_class", "upstream_city", "downstream_city",
    )  # fmt: skip
    _emit(answer, fmt, f"water sections 水质断面 ({answer.meta['count']})", shown)


@app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders 文件或目录.")],
    layout: Annotated[
        str, typer.Option(help="tidy (site,parameter,time,value) or cnemc 文件格式.")
    ] = "tidy",
    year: Annotated[
        int | None, typer.Option(help="Year of CNEMC times written without one (10-21 08:00).")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import section data and recompute the water results 导入断面监测数据."""
    config = settings(db, region)
    files = input_files(paths)
    with open_store(config) as store:
        try:
            result = import_water_files(
                store,
                files,
                layout=layout,
                year=year,
                refresh=refresh_water_quality,
                region_id=load_region(config).id,
            )
        except ValueError as error:
            raise fail(str(error)) from None
    report = result.report
    stored = report.stored
    console.print(
        f"[green]water import 水质数据导入:[/] {report.files} files, {report.records:,} records, "
        f"{stored.inserted:,} new, {stored.replaced:,} replaced, {stored.unchanged:,} unchanged, "
        f"{report.missing:,} missing, rejected 拒收 {dict(report.rejected) or 0}"
    )
    for name, reason in report.failed_files:
        console.print(f"[red]unreadable 无法读取:[/] {escape(f'{name}: {reason}')}")
    if result.refresh:
        console.print(
            f"water results 水质结果: years {result.refresh['years']}, "
            f"{result.refresh['section_rows']} section rows in {result.refresh['seconds']:.1f} s"
        )


@app.command()
def refresh(db: DbOption = None, region: RegionOption = None) -> None:
    """Recompute every stored water result 重新计算水质评价结果."""
    config = settings(db, region)
    with open_store(config) as store:
        done = refresh_water_quality(store, region_id=load_region(config).id)
    console.print(
        f"[green]water results 水质结果:[/] years {done['years']}, {done['section_rows']} section, "
        f"{done['group_rows']} group, {done['compensation_rows']} compensation rows "
        f"in {done['seconds']:.1f} s"
    )
