"""``ecobasin region``: write a region file (a list of city codes) any command can use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ecobasin import catalog
from ecobasin.cli.common import console, fail, settings

app = typer.Typer(help="Regions: the cities that work together 区域.", no_args_is_help=True)

#: A region id becomes a file name and a database label: letters, digits, _ and -.
REGION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _codes(text: str) -> list[int]:
    """City codes or names (zh or en) separated by commas, resolved and without repeats."""
    codes: list[int] = []
    unknown = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            code = catalog.city_code(item)
        except KeyError:
            unknown.append(item)
            continue
        if code not in codes:
            codes.append(code)
    if unknown:
        raise fail(
            f"--cities: unknown city codes or names 未知城市 {unknown}: not in the "
            "catalog nor in your cities file (setting `cities`); list codes with "
            "`ecobasin region cities --province NAME`"
        )
    if not codes:
        raise fail("--cities: name at least one city 至少一个城市")
    return codes


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Region id, also the file name (NAME.toml).")],
    cities: Annotated[
        str, typer.Option(help="City codes or names, comma-separated (440100,深圳,Foshan).")
    ],
    name_zh: Annotated[str | None, typer.Option(help="Chinese name \\[default: NAME].")] = None,
    name_en: Annotated[str | None, typer.Option(help="English name \\[default: NAME].")] = None,
    out: Annotated[
        Path | None, typer.Option(help="File to write \\[default: ./NAME.toml].")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a region file for `init`, `serve` and every --region 新建区域文件.

    The file lists the cities by GB/T 2260 code, each with its name; use it with
    `--region NAME.toml` (or ECOBASIN_REGION, or `region = "NAME.toml"` in ecobasin.toml).
    """
    settings()  # the user's own cities (setting `cities`) join the catalog first
    if not REGION_ID.match(name):
        raise fail(f"region id {name!r}: use letters, digits, _ or - (at most 64)")
    codes = _codes(cities)
    path = out or Path(f"{name}.toml")
    if path.exists() and not force:
        raise fail(f"{path} exists 文件已存在: choose another --out, or --force")
    path.write_text(_region_toml(name, name_zh or name, name_en or name, codes), "utf-8")
    console.print(
        f"[green]region written 区域文件已写入:[/] {escape(str(path))} ({len(codes)} cities); "
        f"use it with 使用: [bold]ecobasin init --region {escape(str(path))}[/]"
    )


def _region_toml(region_id: str, name_zh: str, name_en: str, codes: list[int]) -> str:
    table = catalog.cities().astype({"name_zh": str, "name_en": str, "province_zh": str})
    chosen = table.loc[codes]
    names = {
        int(code): f"{zh} {en}, {province}"
        for code, zh, en, province in zip(
            chosen["code"], chosen["name_zh"], chosen["name_en"], chosen["province_zh"], strict=True
        )
    }
    lines = [
        f"# Region {region_id}, written by `ecobasin region new` (docs/regions.md).",
        f"id = {_quoted(region_id)}",
        f"name_zh = {_quoted(name_zh)}",
        f"name_en = {_quoted(name_en)}",
        "cities = [",
        *(f"  {code},  # {names[code]}" for code in codes),
        "]",
    ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@app.command("cities")
def list_cities(
    province: Annotated[
        str | None, typer.Option(help="Only this province (安徽, 广东省, Guangdong ...).")
    ] = None,
) -> None:
    """List the catalog's cities and their codes 城市代码 (CSV on stdout)."""
    import sys

    settings()
    table = catalog.cities()
    if province:
        wanted = province.strip().lower()
        matches = table["province_zh"].str.lower().str.startswith(wanted) | (
            table["province_en"].str.lower() == wanted
        )
        table = table[matches]
    columns = ["code", "name_zh", "name_en", "province_zh", "province_en", "lon", "lat"]
    sys.stdout.write(table[columns].to_csv(index=False))
