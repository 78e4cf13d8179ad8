"""``ecobasin lake export|list``: closed months of observations and AQI in the Delta Lake
history (docs/architecture.md, "History in Delta Lake")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from ecobasin.cli.common import DbOption, console, fail, open_store, progress, settings, table
from ecobasin.errors import InputError
from ecobasin.services import lake as lake_service

__all__ = ["app"]

app = typer.Typer(
    help="History in Delta Lake tables (year/month/city) 历史数据湖: export closed months.",
    no_args_is_help=True,
)

LakeOption = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        help="Lake folder 数据湖目录 \\[default: setting lake, else <db>.lake beside the database].",
        show_default=False,
    ),
]


@app.command("export")
def export(
    before: Annotated[
        str | None,
        typer.Option(help="Only months before this one, YYYY-MM 仅导出此月之前."),
    ] = None,
    lake: LakeOption = None,
    delete_from_store: Annotated[
        bool,
        typer.Option(
            "--delete-from-store",
            help="Delete each month from the store once the lake's copy is verified (rows and "
            "checksum); reads then take it from the lake 校验后从库中删除.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Copy closed months of observations and AQI to the lake, idempotently 导出已关闭月份.

    A month is closed `lake_closed_after_days` days (setting, default 10) after its last
    China Standard Time day. Re-running replaces the same partitions. Each lake table keeps a
    Delta checkpoint every 10 commits, so readers need not replay its whole JSON log."""
    config = settings(db)
    try:
        until = lake_service.parse_month(before) if before else None
    except InputError as error:
        raise fail(str(error)) from None
    folder = lake or config.lake or lake_service.default_lake(config.db)
    with open_store(config) as store, progress() as bar:
        task = bar.add_task("lake export 导出", total=None)

        def step(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=f"lake {label}".strip())

        report = lake_service.export(
            store,
            folder,
            now=datetime.now(UTC),
            closed_after_days=config.lake_closed_after_days,
            before=until,
            delete=delete_from_store,
            progress=step,
        )
    for table_name, month in report.late:
        console.print(
            f"[yellow]kept in the store 保留在库中:[/] {table_name} {month} has rows that came "
            "after the month moved to the lake (late data; the lake's copy is not overwritten)"
        )
    if not report.months:
        console.print("no closed month to export 无可导出的已关闭月份")
        return
    frame = pd.DataFrame([m.__dict__ for m in report.months])
    console.print(table(frame, f"exported to 已导出至 {report.lake}"))
    if report.failed:
        names = ", ".join(f"{m.table} {m.month}" for m in report.failed)
        raise fail(f"lake copy differs from the store, kept in the store 校验不符: {names}")


@app.command("list")
def list_months(db: DbOption = None) -> None:
    """The months in the lake: rows, checksum, verified, deleted from the store 数据湖清单."""
    config = settings(db)
    with open_store(config, read_only=True) as store:
        rows = lake_service.manifest(store)
    if not rows:
        console.print("the lake holds no month 数据湖为空")
        return
    console.print(table(pd.DataFrame(rows), "lake months 数据湖月份"))
