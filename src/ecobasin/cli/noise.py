"""Noise commands: ``ecobasin noise zones-import|survey-import|complaints-import|complaint-case|
survey|compliance|annual-report|refresh``.

Tables go to the stderr console; JSON to stdout. The numbers are those of ``/api/v1/noise/…``
(both read through :mod:`ecobasin.services.noise`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from ecobasin.cli.common import DbOption, RegionOption, console, fail, open_store, settings, table
from ecobasin.jobs.noise_quality import refresh_noise_hourly, refresh_noise_products
from ecobasin.services import noise as service
from ecobasin.store import noise as noise_store
from ecobasin.store import noise_complaints, noise_zones

__all__ = ["app"]

app = typer.Typer(
    help="Environmental noise 声环境: surveys (HJ 640), functional-zone compliance (GB 3096).",
    no_args_is_help=True,
)
FormatOption = Annotated[str, typer.Option("--format", help="table or json 输出格式.")]
SurveyOption = Annotated[str, typer.Option(help="regional (区域) or traffic (道路交通) 调查类型.")]
CityOption = Annotated[int | None, typer.Option(help="City code, e.g. 510100 城市代码.")]


def _emit(rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps({"items": rows}, ensure_ascii=False))
        return
    if fmt != "table":
        raise fail(f"unknown format {fmt!r}: use table or json")
    if not rows:
        console.print(f"{title}: no data 无数据")
        return
    frame = pd.DataFrame(rows).drop(
        columns=["counts_by_rating", "shares_by_rating_pct"], errors="ignore"
    )
    console.print(table(frame, title))


@app.command("survey-import")
def survey_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="Survey CSV or Excel workbook (.xlsx; noise brief §4.3 columns) 调查结果文件."
        ),
    ],
    survey: SurveyOption = "regional",
    sheet: Annotated[
        str | None,
        typer.Option(help="Excel sheet to read (default: the first) 工作表名称."),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import HJ 640 survey results from CSV or Excel (.xlsx); bad rows are kept aside with their
    line or row and reason (see `ecobasin rejected`) 导入调查结果（CSV 或 Excel）."""
    if not file.exists():
        raise fail(f"{file} does not exist")
    with open_store(settings(db, region)) as store:
        try:
            result = noise_store.import_survey_file(store, file, survey, sheet)
        except ValueError as error:  # also a CSV pandas cannot read (ParserError, bad UTF-8)
            message = str(error)
            raise fail(message if str(file) in message else f"{file}: {message}") from None
    console.print(
        f"{file}: {result.read} rows read 读取, {result.stored} stored 入库, "
        f"{result.rejected} kept aside 另存 (batch {result.batch_id})"
    )


@app.command("zones-import")
def zones_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="Zoning plan as a GeoJSON FeatureCollection: one (Multi)Polygon per zone with "
            "properties zone_id, zone_class (0, 1, 2, 3, 4a, 4b), city, optional name_zh, "
            "name_en, valid_from, valid_to 声环境功能区划文件."
        ),
    ],
    city: Annotated[
        int | None,
        typer.Option(help="City of the features without a city property 默认城市代码."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="The plan's document, e.g. its notice 区划文件来源.")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import a city's GB 3096 functional-zone plan and place the noise sites in its zones; bad
    features are kept aside with their number and reason (see `ecobasin rejected`) 导入声环境功能区划."""
    if not file.exists():
        raise fail(f"{file} does not exist")
    with open_store(settings(db, region)) as store:
        try:
            result = noise_zones.import_zones_geojson(store, file, city, source)
        except ValueError as error:
            raise fail(str(error)) from None
    placement = result.placement
    console.print(
        f"{file}: {result.read} zones read 读取, {result.stored} stored 入库, "
        f"{result.rejected} kept aside 另存 (batch {result.batch_id}); "
        f"{placement.placed} sites placed in a zone 站点已落区, {len(placement.outside)} in none "
        "不在任何功能区"
    )
    for line in placement.disagreements:
        console.print(f"  check 请核对: {line}")
    if placement.classed:
        console.print(
            f"{len(placement.classed)} sites took their zone's class 站点采用所在功能区类别 "
            f"({', '.join(placement.classed[:10])}): `ecobasin noise refresh --year YYYY` judges "
            "their stored days 重新评价历史数据"
        )


@app.command("complaints-import")
def complaints_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="Complaints CSV: complaint_id, time (CST), city, lon, lat, source_type "
            "(social_life/construction/industry/traffic or 社会生活/建筑施工/工业/交通运输), "
            "description 噪声投诉文件."
        ),
    ],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import noise complaints, placed against zones and stations; bad rows kept aside 导入噪声投诉."""
    if not file.exists():
        raise fail(f"{file} does not exist")
    with open_store(settings(db, region)) as store:
        try:
            result = noise_complaints.import_complaints_csv(store, file)
        except (ValueError, UnicodeDecodeError) as error:  # not a CSV at all (pandas ParserError)
            raise fail(f"{file}: {error}") from None
    console.print(
        f"{file}: {result.read} rows read 读取, {result.stored} stored 入库, "
        f"{result.rejected} kept aside 另存, {result.case_candidates} case candidates 可立案 "
        f"(batch {result.batch_id})"
    )


@app.command("complaint-case")
def complaint_case(
    complaint_id: Annotated[str, typer.Argument(help="Complaint id 投诉编号.")],
    actor: Annotated[str, typer.Option("--as", help="Who opens it (recorded) 操作人.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open a rectification case from a complaint that is a case candidate, linked to it; an
    already linked complaint opens none 噪声投诉立案 (prints the case id on stdout)."""
    with open_store(settings(db, region)) as store:
        try:
            case_id, created = service.open_complaint_case(
                store, complaint_id, actor, datetime.now(UTC)
            )
        except (LookupError, service.NotACandidate) as error:
            raise fail(str(error.args[0])) from None
    typer.echo(case_id)
    console.print(
        f"{complaint_id}: {case_id} {'opened 已立案' if created else 'already open 已有案件'}"
    )


@app.command("annual-report")
def annual_report(
    year: Annotated[int, typer.Option(help="Year 年份.")],
    city: CityOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Figures of the national annual noise report per city (JSON) 年度噪声报告数据."""
    with open_store(settings(db, region), read_only=True) as store:
        rows = service.annual_report(store, year, city)
    typer.echo(json.dumps({"year": year, "items": rows}, ensure_ascii=False))


@app.command()
def survey(
    year: Annotated[int, typer.Option(help="Survey year 调查年份.")],
    survey: SurveyOption = "regional",
    period: Annotated[
        str, typer.Option(help="day (昼间), night (夜间) or both (昼夜, day then night per city).")
    ] = "both",
    city: CityOption = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """City results of the annual regional or traffic survey with grades 年度调查结果及等级 (HJ 640-2012)."""
    with open_store(settings(db, region), read_only=True) as store:
        try:
            rows = service.survey_results(store, survey, year, period, city)
        except ValueError as error:
            raise fail(str(error)) from None
    _emit(rows, fmt, f"{survey} noise {year} {period} 声环境调查结果")


@app.command()
def compliance(
    year: Annotated[int, typer.Option(help="Year 年份.")],
    by: Annotated[str, typer.Option(help="month (月) or quarter (季).")] = "month",
    city: CityOption = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Functional-zone compliance per city, day and night (station-days) 功能区达标率 (GB 3096-2008)."""
    with open_store(settings(db, region), read_only=True) as store:
        try:
            rows = service.zone_compliance_rates(store, year, by, city)
        except ValueError as error:
            raise fail(str(error)) from None
    _emit(rows, fmt, f"functional-zone compliance {year} by {by} 功能区声环境达标率")


@app.command()
def refresh(
    year: Annotated[int, typer.Option(help="Year (CST calendar) 年份.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Hourly Leq/LMx from minute data (HJ 906-2017 valid data rate), then the stored station-day
    verdicts and monthly compliance counts 由分钟数据计算小时值、日评价与月达标统计."""
    start = pd.Timestamp(f"{year}-01-01T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{year + 1}-01-01T00:00", tz="Asia/Shanghai").tz_convert("UTC")
    with open_store(settings(db, region)) as store:
        result = refresh_noise_hourly(store, year)
        products = refresh_noise_products(store, None, start, end)
    console.print(
        f"{year}: {result.written} hourly values written 写入, {result.invalid} hours invalid 无效小时 "
        f"(too few minutes), {result.kept_reported} reported by stations kept 保留站点上报值; "
        f"{products.station_days} station-days 站日, {products.city_months} city-months 城市月"
    )
