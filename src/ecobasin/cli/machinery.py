"""Non-road machinery commands (issue 18): ``ecobasin machinery import|pings|check|zones|
spot-check|findings|gate``.

The shared registry of the eight cities: the same answers as ``/api/v1/machinery/…`` (both go
through :mod:`ecobasin.services.machinery`). Tables go to stderr; JSON to stdout. The CLI runs
with the rights of whoever holds the database file (an administrator on the server).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

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
from ecobasin.errors import InputError
from ecobasin.services import machinery as service
from ecobasin.services.accounts import AccountError
from ecobasin.timebase import CST

__all__ = ["app"]

app = typer.Typer(
    help="Non-road mobile machinery 非道路移动机械: the eight cities' shared registry, spot checks "
    "(GB 36886-2018), no-use zones, terminal pings, gate checks and checks C1–C11.",
    no_args_is_help=True,
)
FormatOption = Annotated[str, typer.Option("--format", help="table or json 输出格式.")]
CityOption = Annotated[int | None, typer.Option(help="City code, e.g. 510100 城市代码.")]


def _emit(rows: list[dict[str, Any]], fmt: str, title: str, columns: list[str]) -> None:
    if fmt == "json":
        typer.echo(json.dumps({"items": rows}, ensure_ascii=False, default=str))
        return
    if fmt != "table":
        raise fail(f"unknown format {fmt!r}: use table or json")
    if not rows:
        console.print(f"{title}: none 无")
        return
    console.print(table(pd.DataFrame(rows)[columns], title))


def _at(text: str | None) -> datetime:
    """An ISO 8601 time (CST without an offset), or now."""
    if text is None:
        return datetime.now(CST)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--at {text!r} is not an ISO 8601 time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=CST)


@app.command("import")
def import_registry(
    file: Annotated[Path, typer.Argument(help="Registry CSV (UTF-8) or .xlsx 登记表.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import machines (columns: registration_code, issuer_city, registered_at, machine_type,
    fuel, stage_declared, owner_name and optional ones, docs/machinery.md); every bad row is kept
    aside with its line and reason (`ecobasin rejected`) 导入机械登记."""
    if not file.exists():
        raise fail(f"{file} does not exist")
    config = settings(db, region)
    with open_store(config) as store:
        try:
            done = service.import_registry(store, file, region=load_region(config))
        except (ValueError, KeyError) as error:
            raise fail(f"{file}: {error}") from None
    console.print(
        f"{file}: {done.added} added 新增, {done.updated} updated 更新, "
        f"{len(done.rejected)} kept aside 另存 (batch {done.batch_id})"
    )
    for row in done.rejected[:20]:
        console.print(f"  {row['record_ref']}: {row['reason']}")


@app.command("pings")
def pings(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) of terminal reports 终端定位数据.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import positioning-terminal pings (columns terminal_id, ts, lon, lat and optional
    engine_hours [h], engine_state on/off/idle; a time without offset is CST). Each bad line
    (unknown terminal, implausible time, outside the region, a speed jump) is kept aside with its
    reason (`ecobasin rejected`); site presences are derived and the machines' checks run
    导入终端定位."""
    if not file.exists():
        raise fail(f"{file} does not exist")
    try:
        rows = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as error:
        raise fail(f"{file}: {error}") from None
    config = settings(db, region)
    with open_store(config) as store:
        done = service.import_pings(
            store, [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")],
            source=f"machinery-pings:{file.name}", ref="line",
            first=2, region=load_region(config),
        )  # fmt: skip
    console.print(
        f"{file}: {done.stored} stored 入库, {len(done.rejected)} kept aside 另存, "
        f"{done.presences} site stays 在场, {done.findings} findings 发现"
    )
    for row in done.rejected[:20]:
        console.print(f"  {row['record_ref']}: {row['reason']}")


@app.command("gate")
def gate(
    site: Annotated[str, typer.Option(help="Site id 工地编号.")],
    code: Annotated[str, typer.Option(help="Code scanned at the gate 环保编码.")],
    operator: Annotated[str, typer.Option(help="Who checks (logged) 核验人.")] = "cli",
    at: Annotated[str | None, typer.Option(help="Time (ISO 8601, CST) 时间.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Check a machine at a site's gate: admit, or refuse with every reason (unregistered, stage
    below the zone, failed last spot check, warning stage, terminal offline); logged, and an
    admitted machine's stay begins 工地进出场核验. Exit status 1 when refused."""
    with open_store(settings(db, region)) as store:
        try:
            done = service.gate_check(store, site, code, operator, _at(at))
        except InputError as error:
            raise fail(str(error)) from None
    console.print(
        f"{done.code_observed} @ {done.site_id}: " + ("准入 admit" if done.admit else "拒绝 refuse")
    )
    for reason in done.reasons:
        console.print(f"  {reason['code']}: {reason['text_zh']} · {reason['text_en']}")
    if not done.admit:
        raise typer.Exit(1)


@app.command("gate-user")
def gate_user(
    name: Annotated[str, typer.Argument(help="User name 用户名.")],
    site: Annotated[str, typer.Option(help="Site id 工地编号.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Create a gate operator account 工地门岗账户 bound to one site: it checks machines at that
    site's gate (page /machinery/gate) and reads nothing restricted. The password is printed
    once."""
    with open_store(settings(db, region)) as store:
        try:
            user, password = service.create_gate_operator(store, name, site)
        except (InputError, AccountError) as error:
            raise fail(str(error)) from None
    console.print(f"[green]gate operator created 门岗账户已创建:[/] {user.name} ({site})")
    if password:
        console.print("password (shown once 仅显示一次):")
        typer.echo(password)


@app.command("check")
def check(
    at: Annotated[str | None, typer.Option(help="Check time (ISO 8601, CST) 核查时间.")] = None,
    rule: Annotated[
        list[str] | None, typer.Option(help="Only these checks, e.g. C5 仅运行.")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Run checks C1–C11 over the shared registry and store the findings 运行核查."""
    with open_store(settings(db, region)) as store:
        try:
            done = service.run_registry_checks(store, _at(at), only=rule)
        except ValueError as error:
            raise fail(str(error)) from None
    by_rule = ", ".join(f"{k} {v}" for k, v in sorted(done["by_rule"].items())) or "none"
    console.print(
        f"{done['findings']} findings 发现 ({by_rule}); {done['new']} new 新增, "
        f"{done['seen_again']} seen again 再次发现"
    )


@app.command("zones")
def zones(
    import_file: Annotated[
        Path | None, typer.Option("--import", help="GeoJSON of zones to add 导入禁用区.")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List the no-use zones in force, or import zones from GeoJSON (a new version closes the
    previous one; bad features kept aside) 禁用区."""
    with open_store(settings(db, region)) as store:
        if import_file is not None:
            if not import_file.exists():
                raise fail(f"{import_file} does not exist")
            done = service.import_zones(store, import_file)
            console.print(
                f"{import_file}: {done['added']} added 新增, {len(done['rejected'])} kept aside 另存"
            )
            for row in done["rejected"]:
                console.print(f"  {row['record_ref']}: {row['reason']}")
            return
        features = service.zone_features(store)["features"]
    rows = [
        {k: f["properties"].get(k) for k in ("zone_id", "city", "name", "min_stage",
                                             "smoke_class_required", "valid_from")}
        for f in features
    ]  # fmt: skip
    _emit(rows, fmt, "No-use zones 禁用区", ["zone_id", "city", "name", "min_stage",
                                           "smoke_class_required", "valid_from"])  # fmt: skip


@app.command("spot-check")
def spot_check(
    code: Annotated[str, typer.Option(help="Code on the label 标牌编码.")],
    city: Annotated[int, typer.Option(help="City of the check 检查城市.")],
    agency: Annotated[str, typer.Option(help="Inspecting agency 检查单位.")],
    k: Annotated[
        list[float] | None, typer.Option(help="k reading [m⁻¹], three times 光吸收系数.")
    ] = None,
    ringelmann: Annotated[int | None, typer.Option(help="Ringelmann grade 0–5 林格曼级数.")] = None,
    site: Annotated[str | None, typer.Option(help="Site id 工地编号.")] = None,
    at: Annotated[str | None, typer.Option(help="Time (ISO 8601, CST) 时间.")] = None,
    no_label: Annotated[bool, typer.Option("--no-label", help="Label missing 未挂标牌.")] = False,
    power: Annotated[
        float | None, typer.Option(help="Rated power [kW] (unregistered) 额定功率.")
    ] = None,
    follow_up_of: Annotated[int | None, typer.Option(help="Inspection followed up 复查.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Record a spot check: judged against GB 36886-2018 (mean of three k readings), stored with
    its violations and deadline; prints the verdict and the machine's findings 录入监督抽测."""
    readings = tuple(k or ())
    method = "both" if readings and ringelmann is not None else (
        "free_accel" if readings else ("ringelmann" if ringelmann is not None else "visual_only"))  # fmt: skip
    check = service.SpotCheck(
        code_observed=code, city=city, agency=agency, at=_at(at), method=method,
        readings_k=readings, ringelmann_grade=ringelmann, site_id=site,
        label_present=not no_label, rated_power_kw=power, follow_up_of=follow_up_of,
    )  # fmt: skip
    with open_store(settings(db, region)) as store:
        try:
            done = service.record_spot_check(store, check, recorded_by="cli")
        except InputError as error:
            raise fail(str(error)) from None
    console.print(
        f"inspection {done.inspection_id}: {done.result} ({done.reason}); violations "
        f"{done.violations or 'none'}; closed {done.closed}"
    )
    for finding in done.findings:
        console.print(f"  {finding['rule']}: {finding['reason']}")


@app.command("findings")
def findings(
    city: CityOption = None,
    rule: Annotated[str | None, typer.Option(help="C1 … C11")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open findings of checks C1–C11, every city (or one) 核查发现."""
    with open_store(settings(db, region), read_only=True) as store:
        rows = service.finding_list(store, city, rule)
    _emit(rows, fmt, "Findings 核查发现", ["finding_id", "rule", "code_norm", "city", "reason"])


@app.command("open-cases")
def open_cases(
    actor: Annotated[str, typer.Option("--as", help="Who opens them (recorded) 操作人.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open a rectification case for every open violation finding without one 发现转整改案件
    (linked to it; review flags open none; the server's spot checks do this on a failure)."""
    with open_store(settings(db, region)) as store:
        made = service.open_finding_cases(store, actor, datetime.now(CST))
    typer.echo(json.dumps({str(k): v for k, v in made.items()}, ensure_ascii=False))
