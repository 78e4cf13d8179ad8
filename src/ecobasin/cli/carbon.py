"""``ecobasin carbon``: city inventories 城市温室气体清单 (import, compute, report), the factor
library 排放因子库 (list, add) and peak tracking 碳达峰跟踪.

Tables go to the stderr console; CSV and JSON go to stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from ecobasin.carbon import factors as fx
from ecobasin.carbon.activity import parse_activity
from ecobasin.carbon.factors import FactorError
from ecobasin.carbon.inventory import InventorySettings
from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    city_codes,
    console,
    emit,
    fail,
    open_store,
    settings,
    table,
)
from ecobasin.errors import UnitError
from ecobasin.services import carbon as carbon_service
from ecobasin.store import Store

__all__ = ["app"]

app = typer.Typer(
    help="Carbon 碳: city inventories, emission factors, peak tracking.", no_args_is_help=True
)
inventory_app = typer.Typer(help="City GHG inventories 城市温室气体清单.", no_args_is_help=True)
factors_app = typer.Typer(help="Emission-factor library 排放因子库.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.add_typer(factors_app, name="factors")

FORMATS = ("table", "csv", "json")
FormatOption = Annotated[
    str, typer.Option("--format", help="table, csv or json 输出格式 (csv/json to stdout).")
]
CityOption = Annotated[
    list[str] | None, typer.Option("--city", help="City code or name, repeatable 城市.")
]
YearOption = Annotated[list[int] | None, typer.Option("--year", help="Year, repeatable 年份.")]
GwpOption = Annotated[
    str | None, typer.Option("--gwp", help="GWP set 全球增温潜势: SAR, AR4, AR5, AR6.")
]
FactorSetOption = Annotated[
    str | None,
    typer.Option("--factor-set", help="Fuel factor set 燃料因子集: cn-enterprise, ipcc-2006 …"),
]
GridOption = Annotated[
    str | None,
    typer.Option(
        "--grid-factor",
        help="Grid factor id for purchased electricity 电网排放因子 (e.g. grid.national.2022.avg); "
        "'' = by region and year.",
    ),
]
GridKindOption = Annotated[
    str | None,
    typer.Option(
        "--grid-kind",
        help="Grid factor kind 电网因子类型: statistical_average, market_reporting, fossil, "
        "excl_nonfossil.",
    ),
]
SECTOR_LABELS = {k: f"{v['name_zh']} {v['name_en']}" for k, v in fx.sectors().items()}


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}: use table, csv or json")


def _check_choices(gwp: str | None, grid_kind: str | None) -> None:
    if gwp is not None and gwp not in fx.gwp_sets():
        raise fail(f"--gwp: unknown GWP set {gwp!r} (one of {', '.join(fx.gwp_sets())})")
    if grid_kind is not None and grid_kind not in fx.GRID_KINDS:
        raise fail(f"--grid-kind: {grid_kind!r} is not one of {', '.join(fx.GRID_KINDS)}")


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise fail(f"{path} does not exist")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str)
        return pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    except Exception as error:  # a file pandas cannot read is the user's error, said clearly
        raise fail(f"{path}: cannot read it as {path.suffix or 'CSV'} ({error})") from None


def _compute(store: Store, ids: list[str]) -> None:
    try:
        report = carbon_service.compute(store, ids)
    except FactorError as error:
        raise fail(str(error)) from None
    for inv, result in report["results"].items():
        console.print(
            f"{inv}: electricity 电力 {result.electricity.label} — {result.electricity.note}"
        )
        for line_error in result.errors[:10]:
            console.print(f"  [yellow]rejected 拒收:[/] {line_error}")
        if len(result.errors) > 10:
            console.print(f"  … {len(result.errors) - 10} more (ecobasin rejected)")
    console.print(
        f"[green]computed 已计算:[/] {report['inventories']} inventories, "
        f"{report['emission_lines']:,} emission lines, {report['failed_lines']} lines rejected"
    )


# -- inventory ---------------------------------------------------------------------------------------
@inventory_app.command("import")
def inventory_import(
    file: Annotated[Path, typer.Argument(help="CSV or Excel activity data 活动水平数据.")],
    gwp: GwpOption = None,
    factor_set: FactorSetOption = None,
    grid_factor: GridOption = None,
    grid_kind: GridKindOption = None,
    gdp_price_base: Annotated[
        int, typer.Option(help="Constant-price base year of GDP rows 不变价基年.")
    ] = 2020,
    compute: Annotated[
        bool, typer.Option("--compute/--no-compute", help="Compute after import 导入后计算.")
    ] = True,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import activity data (columns city, year, sector, activity, amount, unit …) 导入活动水平."""
    _check_choices(gwp, grid_kind)
    frame = _read_table(file)
    parsed = parse_activity(frame, file.name)
    defaults = fx.parameters()["defaults"]
    base = InventorySettings(
        0,
        0,
        gwp_set=gwp or defaults["gwp_set"],
        factor_set=factor_set or defaults["factor_set"],
        grid_factor_id=grid_factor or None,
        grid_kind=grid_kind or defaults["grid_kind"],
    )
    with open_store(settings(db, region)) as store:
        counts = carbon_service.import_activity(
            store, parsed, file.name, base, gdp_price_base, gwp_set=gwp, factor_set=factor_set,
            grid_factor_id=grid_factor, grid_kind=grid_kind,
        )  # fmt: skip
        ids = sorted(parsed.inventories)
        for reject in parsed.rejects[:10]:
            console.print(f"[yellow]rejected 拒收:[/] {reject['record_ref']}: {reject['reason']}")
        console.print(
            f"[green]imported 已导入:[/] {counts['inventories']} inventories, {counts['lines']} "
            f"lines, {counts['gdp']} GDP values; {len(parsed.rejects)} rows rejected"
        )
        if compute and ids:
            _compute(store, [i for i in ids if i in parsed.lines])


@inventory_app.command("compute")
def inventory_compute(
    city: CityOption = None,
    year: YearOption = None,
    gwp: GwpOption = None,
    factor_set: FactorSetOption = None,
    grid_factor: GridOption = None,
    grid_kind: GridKindOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """(Re)compute inventories, optionally with new choices (recorded) 重新计算清单."""
    _check_choices(gwp, grid_kind)
    with open_store(settings(db, region)) as store:
        ids = carbon_service.inventories(store, city_codes(city), year)["inventory_id"].tolist()
        if not ids:
            raise fail("no inventories match (ecobasin carbon inventory import FILE first)")
        if grid_factor:
            try:
                carbon_service.library(store).get(grid_factor)
            except FactorError as error:
                raise fail(f"--grid-factor: {error}") from None
        carbon_service.choose(
            store, ids, gwp_set=gwp, factor_set=factor_set, grid_factor_id=grid_factor,
            grid_kind=grid_kind,
        )  # fmt: skip
        _compute(store, ids)


@inventory_app.command("report")
def inventory_report(
    city: CityOption = None,
    year: YearOption = None,
    by: Annotated[str, typer.Option(help="sector, scope, line or year 汇总方式.")] = "sector",
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Report inventories: totals by sector and scope, by year, or every line 清单报告."""
    _check_format(fmt)
    if by not in carbon_service.BY:
        raise fail(f"--by: {by!r} is not sector, scope, line or year")
    cities = city_codes(city)
    with open_store(settings(db, region), read_only=True) as store:
        invs = carbon_service.inventories(store, cities, year)
        if invs.empty:
            raise fail("no inventories match (ecobasin carbon inventory import FILE first)")
        frame = carbon_service.emissions(store, cities, year, by)
    if fmt == "table":
        for row in invs.itertuples():
            choice = json.loads(str(row.electricity_choice)) if row.electricity_choice else {}
            console.print(
                f"{row.inventory_id} {row.city_zh} {row.city_en}: GWP {row.gwp_set}, factors "
                f"{row.factor_set}, electricity 电力 {choice.get('factor_id', '—')} "
                f"({choice.get('value', '—')} tCO2/MWh; {choice.get('note', 'not computed')})"
            )
        if "sector" in frame.columns:
            frame = frame.assign(sector=frame["sector"].map(SECTOR_LABELS).fillna(frame["sector"]))
        frame = frame.round(3)
    emit(frame, fmt, f"carbon inventory 温室气体清单 (t CO2e, by {by})")


# -- factors ---------------------------------------------------------------------------------------
@factors_app.command("list")
def factors_list(
    activity: Annotated[
        str | None, typer.Option(help="Fuel or activity 活动 (diesel, 柴油).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help=f"Kind 类型: {', '.join(fx.KINDS)}.")] = None,
    factor_set: Annotated[str | None, typer.Option("--set", help="Factor set 因子集.")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List emission factors with their sources 列出排放因子及来源."""
    _check_format(fmt)
    config = settings(db, region)
    if config.db.exists():
        with open_store(config, read_only=True) as store:
            lib = carbon_service.library(store)
    else:
        lib = fx.default_library()
    rows = carbon_service.factor_rows(lib, activity, kind, factor_set)
    frame = pd.DataFrame(rows, columns=[*fx.FACTOR_COLUMNS, "origin"])
    if fmt == "table":
        frame = frame[
            ["id", "activity", "kind", "gas", "value", "numerator_unit", "denominator_unit",
             "region", "valid_from", "confidence", "document", "superseded_by"]
        ]  # fmt: skip
    emit(frame, fmt, f"emission factors 排放因子 ({len(frame)})")


@factors_app.command("add")
def factors_add(
    file: Annotated[
        Path | None, typer.Argument(help="CSV with the factor columns 因子表 (or use options).")
    ] = None,
    factor_id: Annotated[str | None, typer.Option("--id", help="Factor id 因子编号.")] = None,
    activity: Annotated[str | None, typer.Option(help="Fuel or activity 活动.")] = None,
    kind: Annotated[str, typer.Option(help="Kind 类型.")] = "emission_factor",
    gas: Annotated[str, typer.Option(help="Gas 气体: CO2, CH4, N2O, C, CO2e.")] = "CO2",
    value: Annotated[str | None, typer.Option(help="Exact value 数值.")] = None,
    unit: Annotated[
        str | None, typer.Option(help="numerator/denominator, e.g. t/MWh, kg/TJ, GJ/t 单位.")
    ] = None,
    factor_set: Annotated[str, typer.Option("--set", help="Factor set 因子集.")] = "user",
    factor_region: Annotated[str, typer.Option("--factor-region", help="Region 区域.")] = "*",
    year: Annotated[int | None, typer.Option(help="Year it describes 适用年份.")] = None,
    publisher: Annotated[str, typer.Option(help="Publisher 发布机构.")] = "",
    document: Annotated[str, typer.Option(help="Document and number 文件.")] = "",
    note: Annotated[str, typer.Option(help="Note 备注.")] = "",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Add your own factors (units checked) 添加自定义排放因子."""
    if file is not None:
        rows = [
            {str(k): v for k, v in record.items()}
            for record in _read_table(file).to_dict(orient="records")
        ]
    else:
        if not (factor_id and activity and value and unit):
            raise fail("give a CSV file, or --id, --activity, --value and --unit")
        num, _, den = unit.partition("/")
        rows = [
            {
                "id": factor_id, "factor_set": factor_set, "activity": activity, "kind": kind,
                "gas": gas, "value": value, "numerator_unit": num.strip(),
                "denominator_unit": den.strip() or "1", "region": factor_region,
                "valid_from": year, "valid_to": year, "publisher": publisher,
                "document": document, "note": note, "confidence": "user",
            }
        ]  # fmt: skip
    try:
        factors = [fx.parse_factor(row, "user") for row in rows]
    except (FactorError, UnitError) as error:
        raise fail(str(error)) from None
    with open_store(settings(db, region)) as store:
        try:
            added = carbon_service.add_factors(store, factors, added_by="cli")
        except FactorError as error:
            raise fail(str(error)) from None
    console.print(f"[green]factors added 已添加因子:[/] {added}")


# -- peak ----------------------------------------------------------------------------------------
@app.command("peak")
def peak(
    city: CityOption = None,
    base_year: Annotated[
        int | None, typer.Option(help="Base year of the intensity change 基年.")
    ] = 2020,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Peak tracking: energy CO2, intensity per 10⁴ CNY, targets, peak status 碳达峰跟踪."""
    _check_format(fmt)
    with open_store(settings(db, region), read_only=True) as store:
        reports = carbon_service.peak_reports(store, city_codes(city), base_year)
    if not reports:
        raise fail("no computed inventories (ecobasin carbon inventory import FILE first)")
    if fmt == "json":
        sys.stdout.write(json.dumps(reports, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    rows = [{"city_code": r["city_code"], **row} for r in reports for row in r["rows"]]
    out = pd.DataFrame(rows)
    for column in out.columns:
        if column != "city_code" and column != "year":
            out[column] = out[column].map(lambda v: None if v is None else round(float(v), 4))
    if fmt == "csv":
        sys.stdout.write(out.to_csv(index=False))
        return
    console.print(table(out, "peak tracking 碳达峰跟踪 (t CO2, t/10⁴ CNY, %)"))
    for r in reports:
        p = r["peak"]
        console.print(f"{r['city_code']}: {p['status']} (peak year 峰值年 {p['peak_year']})")
        for t in r["targets"]:
            console.print(f"  target 目标 {t['id']}: met 达成 = {t['met']}")
    console.print(f"rule 判定规则: {reports[0]['peak']['rule']}")
