"""The ``ecobasin`` command line: a thin Typer shell over ingest, store, standards and web.

Human output (tables, progress, errors) goes to stderr; data (CSV, JSON, GeoJSON) to stdout.

Every command is one line of :data:`COMMANDS` (name, ``"module:attribute"``, its one-line help):
its module is imported only when the command runs (:mod:`ecobasin.cli.lazy`), so a process
imports what its command needs and ``ecobasin --help`` imports none of them. A new command or
group: define it in its module under ``cli/`` as before, then add its line to the table.
"""

from __future__ import annotations

import os

import typer

from ecobasin import __version__
from ecobasin.cli.lazy import Lazy, LazyGroup
from ecobasin.errors import EcobasinError

#: The commands in the order ``ecobasin --help`` lists them (single commands first, then groups).
COMMANDS: tuple[Lazy, ...] = (
    Lazy(
        "init",
        "ecobasin.cli.data:init",
        "Create the database with the region's catalog 初始化数据库.",
    ),
    Lazy(
        "demo",
        "ecobasin.cli.run:demo",
        "Build the demo region and serve it 构建演示区域并启动服务.",
    ),
    Lazy(
        "export",
        "ecobasin.cli.data:export",
        "Export observations to CSV or Parquet (partitioned by year/month/city) 导出数据.",
    ),
    Lazy(
        "serve",
        "ecobasin.cli.run:serve",
        "Serve the dashboard and the HTTP API (OpenAPI at /docs) 启动网页与接口服务.",
    ),
    Lazy(
        "rejected",
        "ecobasin.cli.data:rejected",
        "Show rejected records and why 查看被拒收的记录及原因.",
    ),
    Lazy("status", "ecobasin.cli.data:status", "Show what the database holds 数据库概况."),
    Lazy(
        "aqi",
        "ecobasin.cli.air:aqi",
        "Show hourly or daily AQI of cities or stations 查询城市或站点空气质量指数 (HJ 633).",
    ),
    Lazy(
        "evaluate",
        "ecobasin.cli.air:evaluate",
        "Assess and rank cities for a year, quarter or month 城市空气质量评价与排名 (HJ 663).",
    ),
    Lazy(
        "conformance",
        "ecobasin.cli.air:conformance",
        "Run conformance cases: one JSON result line per input line 一致性用例 (never stops).",
    ),
    Lazy("region", "ecobasin.cli.region:app", "Regions: the cities that work together 区域."),
    Lazy(
        "import",
        "ecobasin.cli.data:import_app",
        "Import monitoring data 导入监测数据.",
        extra=(("met-forecast", "ecobasin.cli.forecast:import_met_forecast"),),
    ),
    Lazy("sites", "ecobasin.cli.data:sites_app", "List or register sites 站点."),
    Lazy(
        "hj212", "ecobasin.cli.hj212:app", "HJ 212-2017 protocol tools 污染物在线监控数据传输标准."
    ),
    Lazy(
        "gateway",
        "ecobasin.cli.gateway:app",
        "HJ 212 acquisition gateway 数据采集网关: serve devices over TCP, replay a raw log.",
    ),
    Lazy(
        "device",
        "ecobasin.cli.gateway:device_app",
        "HJ 212 device registry 设备登记 (MN, password, site).",
    ),
    Lazy(
        "simulate",
        "ecobasin.cli.simulate:app",
        "Simulated HJ 212 devices 模拟监测设备 (enterprise CEMS, wastewater outlets, air stations).",
    ),
    Lazy(
        "alarms",
        "ecobasin.cli.alarms:alarms_app",
        "Over-limit, flag and silence alarms 超标、异常标记与断线报警.",
    ),
    Lazy(
        "limits", "ecobasin.cli.alarms:limits_app", "Emission limits 排放限值 (standards, permits)."
    ),
    Lazy("user", "ecobasin.cli.users:user_app", "Users and roles 用户与角色."),
    Lazy("token", "ecobasin.cli.users:token_app", "API tokens 接口令牌."),
    Lazy(
        "secret",
        "ecobasin.cli.users:secret_app",
        "The key that signs session cookies 会话签名密钥 (<db>.key, 0600).",
    ),
    Lazy(
        "water",
        "ecobasin.cli.water:app",
        "Surface water 地表水: sections, classes (GB 3838), CWQI ranking, compensation.",
    ),
    Lazy(
        "consultation",
        "ecobasin.cli.consultation:app",
        "Joint forecast consultation 联合会商: chair rota, sessions, hand-overs, reports (HTML, PDF), action items.",
    ),
    Lazy(
        "cases",
        "ecobasin.cli.cases:app",
        "Rectification cases 督察整改: the board, one case, actions, evidence, roles.",
    ),
    Lazy(
        "keytasks",
        "ecobasin.cli.cases:keytasks_app",
        "The region's key tasks 年度重点任务: plans, .xlsx imports, boards, progress.",
    ),
    Lazy(
        "carbon",
        "ecobasin.cli.carbon:app",
        "Carbon 碳: city inventories, emission factors, peak tracking.",
    ),
    Lazy(
        "forecast",
        "ecobasin.cli.forecast:app",
        "Air-quality forecasts and heavy-pollution warnings 空气质量预报与重污染预警.",
    ),
    Lazy(
        "guidance",
        "ecobasin.cli.guidance:app",
        "Air-quality model guidance and MOS 空气质量数值模式指导预报与 MOS 订正.",
    ),
    Lazy(
        "lake",
        "ecobasin.cli.lake:app",
        "History in Delta Lake tables (year/month/city) 历史数据湖: export closed months.",
    ),
    Lazy(
        "ledger",
        "ecobasin.cli.ledger:app",
        "Carbon-inclusive ledger 碳普惠账本: accounts and holder keys, events, balances, redemptions with the holder's consent, partners, pools, projects, verify, anomalies.",
    ),
    Lazy(
        "emergency",
        "ecobasin.cli.emergency:app",
        "Emergency control lists 应急减排清单: ratios, accounting, activation, compliance.",
    ),
    Lazy(
        "noise",
        "ecobasin.cli.noise:app",
        "Environmental noise 声环境: surveys (HJ 640), functional-zone compliance (GB 3096).",
    ),
    Lazy(
        "sources",
        "ecobasin.cli.sources:app",
        "Source analysis 查源头: pollution rose, percentile rose, CPF, CBPF, bivariate polar plot of a station (likely source direction, not source share 可能来源方向，非来源占比); PSCF and CWT from imported HYSPLIT back-trajectories (likely source regions 潜在源区).",
    ),
    Lazy("rivers", "ecobasin.cli.incidents:rivers_app", "River networks 河网: import and check."),
    Lazy(
        "incident",
        "ecobasin.cli.incidents:app",
        "Sudden water-pollution incidents 突发水污染事件: plume, grade, notices, monitoring, materials, drills.",
    ),
    Lazy(
        "machinery",
        "ecobasin.cli.machinery:app",
        "Non-road mobile machinery 非道路移动机械: the eight cities' shared registry, spot checks (GB 36886-2018), no-use zones, terminal pings, gate checks and checks C1–C11.",
    ),
    Lazy(
        "report",
        "ecobasin.cli.report:app",
        "Bulletins and reports 公报与报告: air, water, annual green low-carbon report.",
    ),
)


class _Commands(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="ecobasin",
    cls=_Commands,
    help=(
        "ecobasin: the shared environmental platform of a city region 区域生态环境共享平台.\n\n"
        "Data lives in one DuckDB file (--db, ECOBASIN_DB; default ./ecobasin.duckdb)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ecobasin {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """ecobasin command line."""
    # files this process creates (database, write-ahead log, raw log, key file, exports) are
    # its owner's only
    os.umask(os.umask(0o077) | 0o077)


def main() -> None:
    """Console-script entry point: an ecobasin error no command caught still ends in one clear
    line on stderr (``cli.common.fail_with``), never a traceback."""
    import sys

    from ecobasin.cli import readpath

    readpath.INVOCATION = sys.argv[1:]  # a read-only command may be forwarded as it was typed
    try:
        app()
    except EcobasinError as error:
        from ecobasin.cli.common import fail_with

        raise SystemExit(fail_with(error).exit_code) from None


__all__ = ["app", "main"]
