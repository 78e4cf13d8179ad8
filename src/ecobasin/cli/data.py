"""Commands that put data in and take it out: init, import, sites, export, rejected, status."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from ecobasin import catalog
from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    city_codes,
    console,
    fail,
    load_region,
    open_store,
    progress,
    settings,
    table,
)
from ecobasin.errors import UnitError
from ecobasin.ingest import csvmap, importer
from ecobasin.ingest.sourcefile import SourceError
from ecobasin.limits import load_limits
from ecobasin.settings import Settings
from ecobasin.store import Store
from ecobasin.timebase import parse_instant

import_app = typer.Typer(help="Import monitoring data 导入监测数据.", no_args_is_help=True)
sites_app = typer.Typer(help="List or register sites 站点.", invoke_without_command=True)

SITE_KINDS = ("air_station", "micro_station", "water_section", "gas_outlet", "water_outlet")


def init(db: DbOption = None, region: RegionOption = None) -> None:
    """Create the database with the region's catalog 初始化数据库.

    Atomic: a new database is built in a temporary file beside it and renamed at the end, so
    a failure leaves nothing behind. An existing database is brought up to date in place.
    """
    config = settings(db, region)
    load_region(config)  # an unknown region or city fails before any file is made
    if config.db.exists():
        with open_store(config) as store:
            summary = store.summary()
    else:
        summary = _build_new(config)
    console.print(
        f"[green]ready 就绪:[/] {config.db} (schema v{summary['schema_version']}, "
        f"region {config.region}, {summary['cities_in_region']} cities)"
    )


def _build_new(config: Settings) -> dict[str, Any]:
    """Build a new database in ``.<name>.init-<pid>`` in the same folder, then rename it (one
    atomic step on the same file system); on any failure remove every file it made."""
    folder = config.db.parent
    if not folder.is_dir():
        raise fail(f"folder {folder} does not exist 目录不存在: create it first")
    temporary = folder / f".{config.db.name}.init-{os.getpid()}"
    try:
        with Store(temporary) as store:
            store.sync_catalog(load_region(config))
            summary = store.summary()
        os.replace(temporary, config.db)
    except BaseException:
        for leftover in folder.glob(f"{temporary.name}*"):  # the file and its .wal
            leftover.unlink(missing_ok=True)
        raise
    return summary


def print_report(report: importer.ImportReport, title: str) -> None:
    """The import's counts as a table: read, stored, replaced, unchanged, missing, rejected."""
    view = Table(title=title)
    view.add_column("count 计数")
    view.add_column("value 数值", justify="right")
    rows = [
        ("sources read 来源(文件或批次)", report.files),
        ("records read 记录", report.records),
        ("stored (new) 新增", report.stored.inserted),
        ("replaced 替换", report.stored.replaced),
        ("unchanged 未变", report.stored.unchanged),
        ("empty cells 缺测", report.missing),
        ("derived, recomputed by ecobasin 派生值(不入库)", report.derived),
        ("sites added 新增站点", report.sites_added),
    ]
    rows += [(f"rejected 拒收: {code}", n) for code, n in sorted(report.rejected.items())]
    if report.meteorology_records:
        weather = report.meteorology
        rows += [
            ("weather cells read 气象记录", report.meteorology_records),
            ("weather stored 气象入库 (city-hours)", weather.inserted + weather.replaced),
            ("weather empty 气象缺测", report.meteorology_missing),
        ]
        rows += [
            (f"weather rejected 气象拒收: {code}", n)
            for code, n in sorted(report.meteorology_rejected.items())
        ]
    for name, value in rows:
        view.add_row(name, f"{value:,}")
    console.print(view)
    for name, reason in report.failed_files:
        console.print(f"[red]file not imported 文件未导入:[/] {escape(f'{name}: {reason}')}")
    if report.failed_files:  # the rest is stored; the exit status still says not everything was
        raise typer.Exit(1)
    if report.rejected:
        console.print("see the reasons with 查看原因: [bold]ecobasin rejected[/]")


def input_files(paths: list[Path]) -> list[Path]:
    """Expand directories into their CSV files; missing paths fail clearly."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in {".csv", ".gz"})
        elif path.exists():
            files.append(path)
        else:
            raise fail(f"no such file 文件不存在: {path}")
    return files


def run_import(
    store: Store, files: list[Path], label: str, config: Settings, **kwargs: Any
) -> importer.ImportReport:
    """Import with a progress bar; each committed group of files is named on its own line
    (a log of a long import says what is safely stored), and observation times outside the
    configured window (settings ``time_min``, ``time_max_ahead``) are kept aside."""
    window = load_limits().window()
    with progress() as bar:
        task = bar.add_task(label, total=len(files))
        mapping = kwargs.pop("mapping", None)

        def step(_: Path) -> None:
            bar.advance(task)

        def committed(sources: list[str]) -> None:
            bar.console.print(f"committed 已入库: {', '.join(sources)}")

        options: dict[str, Any] = {
            "progress": step,
            "time_window": window,
            "committed": committed,
        }
        if kwargs.pop("cnemc", False):
            return importer.import_cnemc(store, files, **options)
        return importer.import_csv(store, files, mapping, **options, **kwargs)


@import_app.command("cnemc")
def import_cnemc(
    files: Annotated[
        list[Path], typer.Argument(help="china_sites_*.csv or live-feed files, or folders.")
    ],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import CNEMC archive and live-feed files 导入国家空气站数据.

    Each file is its own batch: a bad line (cut short, wrong cell count, decimal comma, time outside ECOBASIN_TIME_MIN … now + ECOBASIN_TIME_MAX_AHEAD) is kept aside with its reason (ecobasin rejected) and the rest stored. UTF-8 and GBK/GB 18030 files are read.
    """
    from ecobasin.cli.air import refresh_after_import  # the AQI kernels: only after an import

    config = settings(db, region)
    with open_store(config) as store:
        report = run_import(store, input_files(files), "CNEMC files", config, cnemc=True)
        refresh_after_import(store, report)
    print_report(report, "CNEMC import 导入结果")


@import_app.command("csv")
def import_csv(
    files: Annotated[
        list[Path], typer.Argument(help="CSV files (tidy layout, or as the mapping says).")
    ],
    mapping: Annotated[
        str | None,
        typer.Option(
            help="Mapping TOML file or bundled name (uci_beijing_multisite, uci_chengdu_pm25, "
            "uci_five_cities)."
        ),
    ] = None,
    city: Annotated[
        str | None,
        typer.Option(
            help="City of the data (code or name) for a mapping that leaves it open "
            "(uci_five_cities reads it from the file name) 数据所属城市."
        ),
    ] = None,
    timezone: Annotated[str, typer.Option(help="Zone of naive times in the tidy layout.")] = "CST",
    hour_beginning: Annotated[
        bool, typer.Option(help="Tidy-layout times label the start of the hour.")
    ] = False,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import a tidy CSV (site, parameter, time, value[, flag, unit]) or any layout via a mapping 导入CSV.

    Each file is its own batch: bad lines are kept aside with their reason (ecobasin rejected) and the rest stored. UTF-8 and GBK/GB 18030 files are read.
    """
    from ecobasin.cli.air import refresh_after_import  # the AQI kernels: only after an import

    config = settings(db, region)
    code = city_codes([city])[0] if city else None  # type: ignore[index]
    try:
        loaded = csvmap.load_mapping(mapping, city=code) if mapping else None
    except (csvmap.MappingError, UnitError, KeyError) as error:
        raise fail(f"mapping 映射文件: {error}") from None
    with open_store(config) as store:
        report = run_import(
            store,
            input_files(files),
            "CSV files",
            config,
            mapping=loaded,
            tz=timezone,
            hour_beginning=hour_beginning,
        )
        refresh_after_import(store, report)
    print_report(report, "CSV import 导入结果")


@sites_app.callback()
def sites(
    ctx: typer.Context,
    city: Annotated[list[str] | None, typer.Option(help="City code or name (repeatable).")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help=f"Site kind: {', '.join(SITE_KINDS)}.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or geojson.")] = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List sites 站点列表 (filter by city and kind; table, CSV or GeoJSON)."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in {"table", "csv", "geojson"}:
        raise fail(f"unknown format {fmt!r}: use table, csv or geojson")
    for k in kind or []:
        if k not in SITE_KINDS:
            raise fail(f"unknown site kind {k!r}: use one of {', '.join(SITE_KINDS)}")
    codes = _city_codes(city)
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        frame = store.sites(cities=codes, kinds=kind)
    if fmt == "csv":
        typer.echo(frame.drop(columns=["attributes"]).to_csv(index=False), nl=False)
    elif fmt == "geojson":
        typer.echo(json.dumps(sites_geojson(frame), ensure_ascii=False))
    else:
        shown = frame[["site_id", "kind", "city_en", "city_zh", "name_zh", "name_en", "lon", "lat"]]
        console.print(table(shown, f"sites 站点 ({len(frame)})"))


def sites_geojson(frame: pd.DataFrame) -> dict[str, Any]:
    """Sites as an RFC 7946 FeatureCollection (lon/lat, WGS-84)."""
    features = []
    for record in frame.drop(columns=["attributes"]).to_dict(orient="records"):
        lon, lat = record.pop("lon"), record.pop("lat")
        located = not (pd.isna(lon) or pd.isna(lat))
        point = {"type": "Point", "coordinates": [float(lon), float(lat)]} if located else None
        properties = {k: (None if pd.isna(v) else v) for k, v in record.items()}
        properties["city_code"] = int(record["city_code"])
        features.append({"type": "Feature", "geometry": point, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


@sites_app.command("import")
def sites_import(
    file: Annotated[
        Path, typer.Argument(help="Station list CSV (site id, city, names, lon, lat).")
    ],
    kind: Annotated[str, typer.Option(help="Kind for rows without a kind column.")] = "air_station",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Register sites from a station list 导入站点清单."""
    if not file.exists():
        raise fail(f"no such file 文件不存在: {file}")
    config = settings(db, region)
    with open_store(config) as store:
        try:
            report = importer.import_sites(store, file, kind=kind)
        except (csvmap.MappingError, SourceError) as error:
            raise fail(str(error)) from None
    print_report(report, "sites import 站点导入")


def _city_codes(cities: list[str] | None) -> list[int] | None:
    if not cities:
        return None
    try:
        return [catalog.city_code(c) for c in cities]
    except KeyError as error:
        raise fail(str(error.args[0])) from None


def _instant(text: str | None) -> datetime | None:
    """An ISO time; naive times are China Standard Time hour-ending labels (24:00 allowed)."""
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise fail(f"cannot read time {text!r}: use ISO 8601, e.g. 2025-01-31T24:00") from None


def export(
    out_path: Annotated[Path, typer.Option("--out", help="Output CSV file, or Parquet folder.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    site: Annotated[list[str] | None, typer.Option(help="Site id (repeatable).")] = None,
    city: Annotated[list[str] | None, typer.Option(help="City code or name (repeatable).")] = None,
    parameter: Annotated[list[str] | None, typer.Option(help="Parameter id (repeatable).")] = None,
    start: Annotated[str | None, typer.Option(help="From this instant (naive = CST).")] = None,
    end: Annotated[str | None, typer.Option(help="Up to this instant (naive = CST).")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Export observations to CSV or Parquet (partitioned by year/month/city) 导出数据."""
    if fmt not in {"csv", "parquet"}:
        raise fail(f"unknown format {fmt!r}: use csv or parquet")
    registry = catalog.parameters()
    for p in parameter or []:
        if p not in registry.index:
            raise fail(f"unknown parameter {p!r}; known: {', '.join(registry.index[:12])} ...")
    config = settings(db, region)
    with open_store(config, read_only=True) as store, console.status("exporting 导出中…"):
        n = store.export_observations(
            out_path,
            fmt,
            sites=site,
            cities=_city_codes(city),
            parameters=parameter,
            start=_instant(start),
            end=_instant(end),
        )
    console.print(f"[green]exported 已导出[/] {n:,} rows to {out_path}")


def rejected(
    source: Annotated[str | None, typer.Option(help="Only records from this source file.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many records.")] = 20,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Show rejected records and why 查看被拒收的记录及原因."""
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        console.print(table(store.rejected_summary(), "rejected by reason 拒收原因"))
        records = store.rejected(source=source, limit=limit)
    console.print(table(records[["source", "record_ref", "reason_code", "reason"]], "records 记录"))


def status(db: DbOption = None, region: RegionOption = None) -> None:
    """Show what the database holds 数据库概况."""
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        summary = store.summary()
    frame = pd.DataFrame(
        {"item 项目": list(summary), "value 数值": [str(v) for v in summary.values()]}
    )
    console.print(table(frame, f"{config.db}"))
