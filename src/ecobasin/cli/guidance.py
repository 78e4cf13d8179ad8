"""``ecobasin guidance``: air-quality model runs (CMAQ, WRF-Chem, CAMS) as forecast guidance."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from ecobasin.cli.common import DbOption, RegionOption, console, fail, open_store, settings, table
from ecobasin.services import guidance as guidance_service
from ecobasin.store import guidance as store_guidance

app = typer.Typer(
    help="Air-quality model guidance and MOS 空气质量数值模式指导预报与 MOS 订正.",
    no_args_is_help=True,
)
SIMULATED_NOTE = "guidance SIMULATED 模式指导为模拟数据 (ecobasin.demo.ctm_sim)"


class Method(StrEnum):
    """How a point's value is taken from the model grid."""

    bilinear = "bilinear"
    nearest = "nearest"


class Layout(StrEnum):
    """File layouts of model output."""

    ioapi = "ioapi"
    wrfchem = "wrfchem"
    cf = "cf"


@app.command("import")
def import_runs(
    files: Annotated[list[Path], typer.Argument(help="NetCDF model files 模式输出文件.")],
    method: Annotated[Method, typer.Option(help="Grid → point 取值方法.")] = Method.bilinear,
    issued_at: Annotated[
        str | None,
        typer.Option(
            "--issued-at",
            help="When the run was published (ISO 8601; UTC without an offset) when the file "
            "does not say; default: run start + 6 h 发布时间.",
        ),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import model runs at the region's stations and cities 导入模式预报 (docs/formats.md)."""
    for path in files:
        if not path.exists():
            raise fail(f"no such file 文件不存在: {path}")
    with open_store(settings(db, region)) as store:
        report = guidance_service.import_runs(
            store, files, method=method.value, issued_at=issued_at
        )
    view = [{"count 计数": "rows 行", "value 数值": report.rows}]
    view += [{"count 计数": k, "value 数值": v} for k, v in report.counts.items()]
    view += [
        {"count 计数": f"rejected 拒收: {k}", "value 数值": v} for k, v in report.reasons.items()
    ]
    console.print(table(pd.DataFrame(view), "model guidance imported 模式指导预报导入"))
    if report.simulated:
        console.print(f"[yellow]{SIMULATED_NOTE}[/]")
    if report.reasons:
        console.print("see the reasons with 查看原因: [bold]ecobasin rejected[/]")
    for line in report.failed:
        console.print(f"[red]file not imported 文件未导入:[/] {line}")
    if report.failed:
        raise typer.Exit(1)


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the files 输出目录.")],
    layout: Annotated[Layout, typer.Option(help="File layout 文件格式.")] = Layout.ioapi,
    days: Annotated[int, typer.Option(min=1, max=400, help="Runs, one a day 模拟天数.")] = 3,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Write SIMULATED model runs from the store's observations 生成模拟模式输出 (no real
    model archive is available: observed field × correlated, biased, lead-growing error)."""
    from ecobasin.demo.ctm_sim import write_simulated_runs

    with open_store(settings(db, region)) as store:
        try:
            hourly, cities = guidance_service.simulation_inputs(store)
        except ValueError as error:
            raise fail(str(error)) from None
    paths = write_simulated_runs(hourly, cities, out, layout=layout.value, days=days)
    for path in paths:
        console.print(f"written 已写出 {path}")
    console.print(f"[yellow]{SIMULATED_NOTE}[/]")


@app.command("runs")
def runs(db: DbOption = None, region: RegionOption = None) -> None:
    """List the stored model runs 已导入的模式预报."""
    with open_store(settings(db, region)) as store:
        frame = store_guidance.guidance_runs(store)
    console.print(table(frame, "model runs 模式预报"))


@app.command("verify")
def verify(
    start: Annotated[str, typer.Option("--from", help="First target day 起始日 YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last target day 结束日 YYYY-MM-DD.")],
    model: Annotated[
        str | None, typer.Option(help="CMAQ, WRF-Chem or CF; default the most runs 模式.")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Scores of raw guidance and MOS beside persistence and climatology 模式与 MOS 检验."""
    with open_store(settings(db, region)) as store:
        scores = guidance_service.verify_members(
            store, test_from=date.fromisoformat(start), test_to=date.fromisoformat(end), model=model
        )
    cols = [
        c
        for c in ("lead", "model", "n", "level_acc", "pm25_rmse", "o3_rmse", "ts_100")
        if c in scores
    ]
    console.print(table(scores[cols].round(3), "verification by lead 分预报时效检验"))
    if bool(scores["simulated"].any()):
        console.print(f"[yellow]{SIMULATED_NOTE}[/]")
