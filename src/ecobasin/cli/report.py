"""Bulletins and reports from the store: ``ecobasin report air|water|lowcarbon|list|get``.

Each report is rendered in Chinese and English (or the one ``--lang`` names), as HTML and PDF,
and stored immutably under its SHA-256 (``/api/v1/reports`` lists and serves them). The numbers
are those of the API for the same question (:mod:`ecobasin.services.reports`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    fail,
    load_region,
    open_store,
    settings,
)
from ecobasin.services import reports as service

__all__ = ["app"]

app = typer.Typer(
    help="Bulletins and reports 公报与报告: air, water, annual green low-carbon report.",
    no_args_is_help=True,
)
LangOption = Annotated[
    str | None,
    typer.Option("--lang", help="zh or en only 仅生成该语言 \\[default: both, Chinese first]."),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the files to this folder 同时写出文件到此目录."),
]


def _langs(lang: str | None) -> tuple[str, ...]:
    if lang is None:
        return service.LANGS
    if lang not in service.LANGS:
        raise fail(f"--lang: {lang!r} is not zh or en")
    return (lang,)


def _issue(config: object, build: object, lang: str | None, out: Path | None) -> None:
    """Build the report in the store, store its files, print their hashes (and write them)."""
    langs = _langs(lang)
    with open_store(config) as store:  # type: ignore[arg-type]
        try:
            report = build(store)  # type: ignore[operator]
        except (LookupError, ValueError, KeyError) as error:
            raise fail(str(error.args[0] if error.args else error)) from None
        region = load_region(config)  # type: ignore[arg-type]  # the map's boundaries
        stored = service.issue(store, report, datetime.now(UTC), langs, region)
        for item in stored:
            console.print(f"{item['sha256']}  {item['lang']}  {item['media_type']}  {item['size']}")
            if out is not None:
                _write(out, report, item, service.report_file(store, item["sha256"])[1])


def _write(out: Path, report: service.Report, item: dict[str, object], content: bytes) -> None:
    suffix = "pdf" if item["media_type"] == "application/pdf" else "html"
    out.mkdir(parents=True, exist_ok=True)
    name = f"{report.kind}_{report.scope}_{report.period}_{item['lang']}.{suffix}"
    (out / name).write_bytes(content)


@app.command()
def air(
    period: Annotated[str, typer.Option(help="Month 2025-11, quarter 2025Q3 or year 2025 时段.")],
    city: Annotated[int | None, typer.Option(help="City code 城市代码 (510100).")] = None,
    region_wide: Annotated[
        bool,
        typer.Option(
            "--region",
            help="The whole region 全区域 (the default without --city; the region file comes "
            "from ECOBASIN_REGION here).",
        ),
    ] = False,
    lang: LangOption = None,
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Air quality bulletin 环境空气质量公报: good-day ratio, PM2.5/PM10/O3 with year-on-year
    change, heavy-pollution days, the ranking by composite index (HJ 663-2013)."""
    if region_wide and city is not None:
        raise fail("give --city or --region, not both")
    _issue(settings(db, None), lambda s: service.air_bulletin(s, period, city), lang, out)


@app.command()
def water(
    period: Annotated[str, typer.Option(help="Month 2025-11 or year 2025 时段.")],
    lang: LangOption = None,
    out: OutOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Surface water bulletin 地表水环境质量公报: sections by class, shares at Class I–III and
    劣V, sections failing their target, the CWQI ranking (GB 3838-2002, 环办监测〔2017〕51号)."""
    _issue(settings(db, region), lambda s: service.water_bulletin(s, period), lang, out)


@app.command()
def lowcarbon(
    year: Annotated[int, typer.Option(help="Year 年份.")],
    city: Annotated[int, typer.Option(help="City code 城市代码.")] = 510100,
    lang: LangOption = None,
    out: OutOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Annual green low-carbon report of a city 年度绿色低碳发展报告: goals, actions,
    indicators (air, water, carbon inventory and intensity, sinks), cases."""
    _issue(settings(db, region), lambda s: service.lowcarbon_report(s, city, year), lang, out)


@app.command("list")
def list_reports(
    kind: Annotated[
        str | None, typer.Option(help="air, water, lowcarbon or scorecard 类型.")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """The stored reports, newest first 已生成的报告."""
    with open_store(settings(db, region), read_only=True) as store:
        for row in service.report_files(store, kind):
            console.print(
                f"{row['sha256']}  {row['kind']}  {row['scope']}  {row['period']}  "
                f"{row['lang']}  {row['media_type']}  {row['size']}  {row['created_at']}"
            )


@app.command()
def scorecard(
    year: Annotated[int, typer.Option(help="Year 年份.")],
    lang: LangOption = None,
    out: OutOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Target-assessment scorecards 减污降碳考核记分卡: every city against its yearly targets,
    weights and scoring rules of catalog/data/scorecards/rules_<year>.toml, ranked."""
    from ecobasin.services import scorecards

    _issue(settings(db, region), lambda s: scorecards.as_report(s, year), lang, out)
