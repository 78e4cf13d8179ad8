"""What every command shares: options, the console, opening the store, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ecobasin import catalog
from ecobasin.errors import EcobasinError, StoreBusyError
from ecobasin.jobs.air_quality import refresh_pending_air_quality
from ecobasin.services.cells import json_cell
from ecobasin.settings import Settings, load_settings
from ecobasin.store import Store, aqi_pending

#: Human output goes to stderr, so stdout carries only data (CSV, JSON, GeoJSON) for pipes.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="ECOBASIN_DB",
        help="Database file 数据库文件 \\[default: ./ecobasin.duckdb or ecobasin.toml].",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        envvar="ECOBASIN_REGION",
        help="Region name or TOML file 区域 \\[default: chengdu_plain].",
        show_default=False,
    ),
]


def settings(db: Path | None = None, region: str | None = None, **more: Any) -> Settings:
    """The settings, with the user's own cities (setting ``cities``) added to the catalog."""
    config = load_settings(db=db, region=region, **more)
    try:
        catalog.use_cities(config.cities)
    except ValueError as error:
        raise fail(str(error)) from None
    return config


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a clear error (错误) and return the Exit to raise.

    The message is plain text: its brackets are escaped, so a "missing [site] section" keeps
    its word instead of rich reading it as markup."""
    console.print(f"[bold red]error 错误:[/] {escape(message)}")
    return typer.Exit(code)


def fail_with(error: EcobasinError) -> typer.Exit:
    """The one mapping of :mod:`ecobasin.errors` to CLI messages: the error's reason (it names
    the record, file or unit) on stderr, exit status 1."""
    return fail(error.reason or str(error))


@contextmanager
def open_store(config: Settings, *, read_only: bool = False) -> Iterator[Store]:
    """Open the configured store, syncing the region's catalog; busy files fail clearly.

    A read-only command finding the file held by ``ecobasin gateway`` or ``ecobasin serve``
    runs through that process instead (:mod:`ecobasin.cli.readpath`); inside it, the
    command reads the process's own store."""
    from ecobasin.cli import readpath

    served = readpath.served_store()
    if served is not None:
        if not read_only:
            raise fail("this command writes: stop the server holding the database first")
        yield served
        return
    if read_only and not config.db.exists():
        raise fail(f"{config.db} does not exist: run `ecobasin init` or `ecobasin demo` first")
    try:
        store = Store(config.db, read_only=read_only)
    except StoreBusyError as error:
        if read_only:
            _forward_or_fail(config, error)
        raise fail_with(error) from None
    try:
        if not read_only:
            store.sync_catalog(load_region(config))
            _compute_pending_aqi(store)
        yield store
    finally:
        store.close()


def _compute_pending_aqi(store: Store) -> None:
    """Compute the AQI an interrupted import left pending (ecobasin.store.aqi_pending)."""
    if aqi_pending.count_aqi_pending(store):
        result = refresh_pending_air_quality(store)
        console.print(
            f"AQI computed for what an interrupted import stored 补算中断导入的空气质量指数: "
            f"{result['pending']:,} station-days"
        )


def _forward_or_fail(config: Settings, busy: StoreBusyError) -> None:
    """Run this read-only command through the process holding the database, and exit with
    its exit code; return when there is none to ask."""
    from ecobasin.cli import readpath

    try:
        code = readpath.forward(config.db)
    except (OSError, ValueError, KeyError) as error:
        raise fail(
            f"{busy}; the server named in {readpath.info_path(config.db.resolve())} did not "
            f"answer ({error})"
        ) from None
    if code is not None:
        raise typer.Exit(code)


def load_region(config: Settings) -> catalog.Region:
    try:
        return catalog.load_region(config.region)
    except (FileNotFoundError, ValueError, KeyError) as error:
        raise fail(f"region {config.region!r}: {error}") from None


def progress() -> Progress:
    """A progress bar on stderr (rich draws it once at the end when stderr is not a terminal)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def table(frame: pd.DataFrame, title: str) -> Table:
    """A rich table of a DataFrame (NaN shown as blank)."""
    view = Table(title=title, show_lines=False)
    for column in frame.columns:
        view.add_column(str(column))
    for row in frame.itertuples(index=False):
        view.add_row(*("" if pd.isna(v) else escape(str(v)) for v in row))  # data, not markup
    return view


def json_value(value: Any) -> Any:
    """A cell made JSON-ready: exact decimals as text, JSON text columns parsed, NA as null,
    numpy scalars as Python numbers (:func:`ecobasin.services.cells.json_cell`)."""
    return json_cell(value, exact_decimals=True, parse_text=True)


def emit(
    frame: pd.DataFrame,
    fmt: str,
    title: str,
    value: Callable[[Any], Any] = json_value,
) -> None:
    """Data to stdout (``csv``, ``json``: one object per row, cells through ``value``), or a
    ``table`` for people on stderr."""
    if fmt == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif fmt == "json":
        records = [{str(k): value(v) for k, v in row.items()} for row in frame.to_dict("records")]
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    elif fmt == "table":
        console.print(table(frame, title))
    else:
        raise fail(f"unknown format {fmt!r}: use table, csv or json")


def city_codes(values: list[str] | None) -> list[int] | None:
    """``--city`` values (codes or names, zh or en) as GB/T 2260 codes; None when not given."""
    if not values:
        return None
    try:
        return [catalog.city_code(value) for value in values]
    except KeyError as error:
        raise fail(f"--city: {error.args[0]}") from None
