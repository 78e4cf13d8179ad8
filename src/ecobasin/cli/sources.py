"""Source-analysis commands 查源头: ``ecobasin sources rose|percentile|cpf|cbpf|polar SITE``, and
regional transport from imported HYSPLIT back-trajectories: ``ecobasin sources
trajectories-import SITE FILES…`` and ``ecobasin sources pscf|cwt SITE``; PMF through ESAT in its
own worker environment: ``ecobasin sources pmf-setup``, ``ecobasin sources pmf X.csv U.csv``
(``--site S --store`` keeps the run) and ``ecobasin sources pmf-runs SITE``.

Values go to stdout (``--format csv|json``) or as a table to stderr; ``--png FILE`` writes the
plot. The numbers are those of ``/api/v1/sources/{site}/{method}``: both ask
:mod:`ecobasin.services.sources` (brief ``../shared/reference/nonroad_and_source.md`` Part B).
These show a likely source direction 可能来源方向, not a source share (B8).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    emit,
    fail_with,
    load_region,
    open_store,
    settings,
)
from ecobasin.errors import EcobasinError, InputError
from ecobasin.services import pmf as pmf_service
from ecobasin.services import source_trajectories as trajectory_service
from ecobasin.services import sources as service

app = typer.Typer(
    no_args_is_help=True,
    help="Source analysis 查源头: pollution rose, percentile rose, CPF, CBPF, bivariate polar "
    "plot of a station (likely source direction, not source share 可能来源方向，非来源占比); "
    "PSCF and CWT from imported HYSPLIT back-trajectories (likely source regions 潜在源区).",
)

SiteArgument = Annotated[str, typer.Argument(help="Station id 站点编码, e.g. 1431A.")]
PollutantOption = Annotated[str, typer.Option(help="Pollutant 污染物.")]
StartOption = Annotated[
    datetime, typer.Option(formats=["%Y-%m-%d"], help="First CST day 开始日期.")
]
EndOption = Annotated[
    datetime, typer.Option(formats=["%Y-%m-%d"], help="Last CST day, inclusive 结束日期.")
]
PercentileOption = Annotated[float, typer.Option(min=0, max=100, help="Threshold percentile [%].")]
UpperOption = Annotated[
    float | None, typer.Option(min=0, max=100, help="Upper percentile: the interval CBPF [%].")
]
CalmOption = Annotated[float, typer.Option(min=0, help="Calm threshold 静风阈值 [m/s].")]
MinNOption = Annotated[int, typer.Option(min=1, help="Sector minimum hours (roses, CPF).")]
MinBinOption = Annotated[int, typer.Option(min=1, help="Polar bin minimum hours (grey below).")]
PngOption = Annotated[Path | None, typer.Option("--png", help="Also write the plot to this PNG.")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


def _run(
    method: str,
    site: str,
    pollutant: str,
    start: datetime,
    end: datetime,
    options: dict[str, float | int | None],
    png: Path | None,
    fmt: str,
    config: dict[str, Path | str | None],
) -> None:
    with open_store(settings(config["db"], config["region"]), read_only=True) as store:  # type: ignore[arg-type]
        try:
            data = service.station_data(store, site, pollutant, start.date(), end.date())
            values = service.analyse(data, method, **options)  # type: ignore[arg-type]
            image = service.plot_png(data, method, **options) if png else None  # type: ignore[arg-type]
        except EcobasinError as error:
            raise fail_with(error) from None
    if png is not None and image is not None:
        png.write_bytes(image)
        console.print(f"plot 图 → {png}")
    items = pd.DataFrame(values.pop("items")).dropna(axis=1, how="all")
    facts = {k: v for k, v in values.items()}
    if fmt == "json":
        sys.stdout.write(json.dumps(facts | {"items": items.to_dict("records")}, ensure_ascii=False,
                                    default=str, indent=1) + "\n")  # fmt: skip
        return
    console.print(
        f"{site} {pollutant} {facts['start']}…{facts['end']}: {facts['hours']} h, wind "
        f"{facts['wind_origin']} {facts['wind_site'] or ''}, calm share {facts['calm_share']:.1%}"
        + (f", threshold {facts['threshold']:.1f} {facts['unit']}" if facts["threshold"] else "")
        + (" — shorter than one season (B8)" if facts["short_record"] else "")
    )
    console.print(f"[bold red]{service.CAPTION}[/]")
    emit(items, fmt, f"{method} {site} {pollutant}")


def _command(method: str, doc: str) -> None:
    def command(
        site: SiteArgument,
        start: StartOption,
        end: EndOption,
        pollutant: PollutantOption = "PM2.5",
        percentile: PercentileOption = 75.0,
        upper_percentile: UpperOption = None,
        calm_ws: CalmOption = 0.5,
        min_n: MinNOption = 10,
        min_bin: MinBinOption = 3,
        png: PngOption = None,
        fmt: FormatOption = "table",
        db: DbOption = None,
        region: RegionOption = None,
    ) -> None:
        options = {
            "percentile": percentile, "upper_percentile": upper_percentile,
            "calm_ws": calm_ws, "min_n": min_n, "min_bin": min_bin,
        }  # fmt: skip
        _run(method, site, pollutant, start, end, options, png, fmt, {"db": db, "region": region})

    command.__doc__ = doc
    app.command(method)(command)


_command(
    "rose", "Pollution rose 污染玫瑰图: share of hours and of concentration per 30° sector (B2)."
)
_command("percentile", "Percentile rose 百分位玫瑰图: type-7 percentiles per 10° sector.")
_command("cpf", "CPF 条件概率函数 per 10° sector: m/n with C > the percentile (B3).")
_command("cbpf", "CBPF 条件双变量概率函数 per direction and speed bin (B4).")
_command("polar", "Bivariate polar plot 双变量极坐标图: mean per direction and speed bin (B5).")


# Regional transport (B6): back-trajectories imported per station, PSCF and CWT on a grid.

IncOption = Annotated[float, typer.Option(min=0.25, max=5.0, help="Grid cell size 网格 [°].")]
PscfWeightsOption = Annotated[
    str, typer.Option(help="PSCF weight table (openair, literature, none) 权重表.")
]
CwtWeightsOption = Annotated[str, typer.Option(help="CWT weight table (openair, none) 权重表.")]
FilesArgument = Annotated[list[Path], typer.Argument(help="HYSPLIT tdump files 轨迹文件.")]


@app.command("trajectories-import")
def trajectories_import(
    site: SiteArgument, files: FilesArgument, db: DbOption = None, region: RegionOption = None
) -> None:
    """Import HYSPLIT back-trajectories 导入后向轨迹 (tdump) of a station; bad files are kept
    aside with the reason (listed by ``GET /api/v1/sources/{site}/trajectories/files``)."""
    with open_store(settings(db, region)) as store:
        for path in files:
            try:
                content = path.read_bytes()
                answer = trajectory_service.import_tdump(
                    store, site, path.name, content, "cli", datetime.now(UTC)
                )
            except (OSError, EcobasinError) as error:
                raise fail_with(
                    error if isinstance(error, EcobasinError) else InputError(f"{path}: {error}")
                ) from None
            _report_import(answer)


def _report_import(answer: dict[str, Any]) -> None:
    if answer["status"] == "rejected":
        console.print(f"[red]kept aside 已拒收[/] {answer['reason']}")
        return
    console.print(
        f"{answer['name']}: {answer['status']} — {answer['endpoints']} endpoints, "
        f"{answer['new_endpoints']} new, {answer['bad_lines']} lines kept aside"
    )
    for line in answer.get("first_bad_lines", []):
        console.print(f"  [yellow]{line}[/]")


def _trajectory_command(method: str, doc: str) -> None:
    def command(
        site: SiteArgument,
        start: StartOption,
        end: EndOption,
        pollutant: PollutantOption = "PM2.5",
        inc: IncOption = 1.0,
        percentile: PercentileOption = 90.0,
        pscf_weights: PscfWeightsOption = "openair",
        cwt_weights: CwtWeightsOption = "openair",
        png: PngOption = None,
        fmt: FormatOption = "table",
        db: DbOption = None,
        region: RegionOption = None,
    ) -> None:
        config = settings(db, region)
        options = {"inc": inc, "percentile": percentile, "pscf_weights": pscf_weights,
                   "cwt_weights": cwt_weights}  # fmt: skip
        with open_store(config, read_only=True) as store:
            try:
                data = trajectory_service.trajectory_data(
                    store, site, pollutant, start.date(), end.date()
                )
                values = trajectory_service.trajectory_values(data, **options)  # type: ignore[arg-type]
                image = (
                    trajectory_service.trajectory_png(data, method, load_region(config), **options)  # type: ignore[arg-type]
                    if png
                    else None
                )
            except EcobasinError as error:
                raise fail_with(error) from None
        _emit_trajectories(method, values, png, image, fmt)

    command.__doc__ = doc
    app.command(method)(command)


def _emit_trajectories(
    method: str, values: dict[str, Any], png: Path | None, image: bytes | None, fmt: str
) -> None:
    if png is not None and image is not None:
        png.write_bytes(image)
        console.print(f"map 图 → {png}")
    if fmt == "json":
        sys.stdout.write(json.dumps(values, ensure_ascii=False, default=str, indent=1) + "\n")
        return
    console.print(
        f"{values['site_id']} {values['pollutant']} {values['start']}…{values['end']}: "
        f"{values['trajectories']} trajectories ({values['trajectories_with_conc']} with a "
        f"concentration), P{values['percentile']:g} = {values['threshold']:.1f} {values['unit']}"
    )
    console.print(f"[bold red]{values['caption']}[/]")
    columns = (
        ["cell", "N", "m", "pscf", "wpscf"] if method == "pscf" else ["cell", "N", "cwt", "wcwt"]
    )
    emit(pd.DataFrame(values["cells"])[columns], fmt, f"{method} {values['site_id']}")


_trajectory_command(
    "pscf",
    "PSCF 潜在源贡献函数 per grid cell from imported back-trajectories (B6): m/N with C > the "
    "percentile, and weighted (likely source regions, not source shares).",
)
_trajectory_command(
    "cwt",
    "CWT 浓度权重轨迹 per grid cell from imported back-trajectories (B6): mean concentration of "
    "the endpoints in the cell, and weighted.",
)


# PMF (B7) through US EPA's ESAT in a worker environment of its own (tools/pmf_worker/).

EnvOption = Annotated[
    Path | None,
    typer.Option("--env", help="The worker environment (default: pmf_worker_env beside the "
                 "database, or ECOBASIN_PMF_ENV)."),
]  # fmt: skip


@app.command("pmf-setup")
def pmf_setup(env: EnvOption = None, db: DbOption = None, region: RegionOption = None) -> None:
    """Create the PMF worker environment 创建 PMF 工作环境: a virtualenv with ESAT
    (tools/pmf_worker/requirements.txt) beside the database, apart from ecobasin's own."""
    target = pmf_service.worker_env(settings(db, region), env)
    console.print(f"PMF worker environment → {target}")
    try:
        pmf_service.setup_worker(target)
    except (OSError, subprocess.CalledProcessError) as error:
        raise fail_with(InputError(f"pmf-setup failed: {error}")) from None
    except EcobasinError as error:
        raise fail_with(error) from None
    console.print("ready 已就绪")


@app.command("pmf")
def pmf(
    concentrations: Annotated[
        Path, typer.Argument(help="X: samples × species CSV (first column the sample id).")
    ],
    uncertainties: Annotated[Path, typer.Argument(help="U: the same shape, uncertainties.")],
    factors: Annotated[int, typer.Option(min=1, help="Factors 因子数.")],
    models: Annotated[int, typer.Option(min=1, help="Seeds 随机种子数 (≥ 20 advised).")] = 20,
    seed: Annotated[int, typer.Option(help="First seed.")] = 42,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap refits 自助法次数 (B7: BS; 0 skips it).")
    ] = 20,
    block_size: Annotated[
        int, typer.Option(min=1, help="Bootstrap block: consecutive samples drawn together.")
    ] = 10,
    out: Annotated[Path | None, typer.Option(help="Write F.csv, G.csv, result.json here.")] = None,
    site: Annotated[
        str | None, typer.Option(help="Station id 站点编码 the samples were taken at.")
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Store the run for the site 保存结果 (needs --site).")
    ] = False,
    env: EnvOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """PMF 正定矩阵因子分解 (B7) with ESAT in its worker: factor profiles and contributions,
    the lowest Q(true) of the seeds, Q_expected, the species' S/N and categories; ESAT's block
    bootstrap (mapped share, profile intervals); ``--site S --store`` keeps the run."""
    if store and site is None:
        raise fail_with(InputError("--store needs --site: the station the samples belong to"))
    target = pmf_service.worker_env(settings(db, region), env)
    try:
        x = pd.read_csv(concentrations, index_col=0)
        u = pd.read_csv(uncertainties, index_col=0)
        result = pmf_service.run_pmf(
            target, x, u, factors=factors, models=models, seed=seed, bootstrap_n=bootstrap,
            block_size=block_size,
        )  # fmt: skip
    except (OSError, ValueError) as error:
        raise fail_with(InputError(f"{concentrations}, {uncertainties}: {error}")) from None
    except EcobasinError as error:
        raise fail_with(error) from None
    console.print(
        f"ESAT {result.esat_version}: Q(true) {result.q_true:.1f}, Q(robust) "
        f"{result.q_robust:.1f}, Q_expected {result.q_expected}, {len(result.models_q_true)} seeds"
    )
    if result.bootstrap is not None:
        console.print(
            f"bootstrap 自助法: {result.bootstrap['runs']} refits, "
            f"{result.bootstrap['mapped_share']:.0%} of their factors mapped 映射率"
        )
    emit(result.profiles.reset_index(names="factor"), "table", "factor profiles 因子谱")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.profiles.to_csv(out / "F.csv")
        result.contributions.to_csv(out / "G.csv")
        result.species.to_csv(out / "species.csv")
        if result.bootstrap_intervals is not None:
            result.bootstrap_intervals.to_csv(out / "bootstrap.csv", index=False)
        facts = {"q_true": result.q_true, "q_robust": result.q_robust,
                 "q_expected": result.q_expected, "models_q_true": result.models_q_true,
                 "esat_version": result.esat_version,
                 "bootstrap": result.bootstrap}  # fmt: skip
        (out / "result.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
        console.print(f"files 文件 → {out}")
    if store and site is not None:
        _store_pmf(site, result, models, seed, db, region)


def _store_pmf(
    site: str, result: pmf_service.PmfResult, models: int, seed: int, db: Any, region: Any
) -> None:
    try:
        with open_store(settings(db, region)) as opened:
            run_id = pmf_service.save_run(
                opened, site, result, models=models, seed=seed, by="cli", at=datetime.now(UTC)
            )
    except EcobasinError as error:
        raise fail_with(error) from None
    console.print(f"stored 已保存: PMF run {run_id} at {site}")


@app.command("pmf-runs")
def pmf_runs(
    site: SiteArgument,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """The stored PMF runs of a station 已保存的 PMF 结果, newest first: samples, factors, seeds,
    Q(true), Q(robust), Q_expected, who and when."""
    with open_store(settings(db, region), read_only=True) as opened:
        listed = pmf_service.runs(opened, site)
    emit(pd.DataFrame(listed, columns=list(pmf_service.RUN_COLUMNS)), fmt, f"PMF runs {site}")
