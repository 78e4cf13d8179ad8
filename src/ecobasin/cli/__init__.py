"""The ``ecobasin`` command line: a thin Typer shell over ingest, store, standards and web.

Human output (tables, progress, errors) goes to stderr; data (CSV, JSON, GeoJSON) to stdout.
"""

from __future__ import annotations

import os

import typer

from ecobasin import __version__
from ecobasin.cli import air, data, hj212, run, simulate
from ecobasin.cli import carbon as carbon_cli
from ecobasin.cli import cases as cases_cli
from ecobasin.cli import consultation as consultation_cli
from ecobasin.cli import emergency as emergency_cli
from ecobasin.cli import forecast as forecast_cli
from ecobasin.cli import gateway as gateway_cli
from ecobasin.cli import incidents as incidents_cli
from ecobasin.cli import lake as lake_cli
from ecobasin.cli import ledger as ledger_cli
from ecobasin.cli import machinery as machinery_cli
from ecobasin.cli import noise as noise_cli
from ecobasin.cli import region as region_cli
from ecobasin.cli import report as report_cli
from ecobasin.cli import sources as sources_cli
from ecobasin.cli import water as water_cli
from ecobasin.cli.alarms import alarms_app, limits_app
from ecobasin.cli.common import fail_with
from ecobasin.cli.users import secret_app, token_app, user_app
from ecobasin.errors import EcobasinError

app = typer.Typer(
    name="ecobasin",
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


app.command()(data.init)
app.command()(run.demo)
app.add_typer(region_cli.app, name="region")  # region files: any set of cities
app.add_typer(data.import_app, name="import")
app.add_typer(data.sites_app, name="sites")
app.command()(data.export)
app.command()(run.serve)
app.command()(data.rejected)
app.command()(data.status)
app.command()(air.aqi)
app.command()(air.evaluate)
app.command()(air.conformance)
app.add_typer(hj212.app, name="hj212")
app.add_typer(gateway_cli.app, name="gateway")
app.add_typer(gateway_cli.device_app, name="device")
app.add_typer(simulate.app, name="simulate")
app.add_typer(alarms_app, name="alarms")
app.add_typer(limits_app, name="limits")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(secret_app, name="secret")
app.add_typer(water_cli.app, name="water")  # surface water
app.add_typer(consultation_cli.app, name="consultation")  # joint forecast consultation
app.add_typer(cases_cli.app, name="cases")  # rectification cases 督察整改 (issue 18)
app.add_typer(cases_cli.keytasks_app, name="keytasks")  # key tasks 年度重点任务 (issue 18)
app.add_typer(carbon_cli.app, name="carbon")  # carbon inventory, factors, peak
app.add_typer(forecast_cli.app, name="forecast")  # forecasts and warnings
data.import_app.command("met-forecast")(forecast_cli.import_met_forecast)  # met forecasts
app.add_typer(ledger_cli.app, name="ledger")  # carbon-inclusive ledger 碳惠
app.add_typer(emergency_cli.app, name="emergency")  # emergency control lists
app.add_typer(noise_cli.app, name="noise")  # environmental noise 声环境
app.add_typer(sources_cli.app, name="sources")  # source analysis 查源头 (issue 19)
app.add_typer(incidents_cli.rivers_app, name="rivers")  # river networks
app.add_typer(incidents_cli.app, name="incident")  # sudden incidents on shared rivers
app.add_typer(machinery_cli.app, name="machinery")  # non-road machinery 非道路移动机械
app.add_typer(report_cli.app, name="report")  # bulletins and reports 公报 (issue 19)
app.add_typer(lake_cli.app, name="lake")  # Delta Lake history 历史数据湖 (issue 20)


def main() -> None:
    """Console-script entry point: an ecobasin error no command caught still ends in one clear
    line on stderr (``cli.common.fail_with``), never a traceback."""
    import sys

    from ecobasin.cli import readpath

    readpath.INVOCATION = sys.argv[1:]  # a read-only command may be forwarded as it was typed
    try:
        app()
    except EcobasinError as error:
        raise SystemExit(fail_with(error).exit_code) from None


__all__ = ["app", "main"]
