"""Commands that run the platform: demo and serve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape

from ecobasin.cli.air import refresh_after_import
from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    fail,
    load_region,
    open_store,
    progress,
    settings,
)
from ecobasin.cli.data import input_files, print_report
from ecobasin.ingest import importer
from ecobasin.jobs.live_feed import LiveFeed, enterprise_fleet, register_fleet
from ecobasin.services.accounts import ensure_demo_admin
from ecobasin.store import Store, demo_parts


def _generated_frames(store: Store, year: int, seed: int, region: Any) -> importer.ImportReport:
    """Generate the demo region month by month and import it through the normal validation."""
    from ecobasin.demo import region as demo

    sites = demo.generate_sites(region, seed=seed)
    store.upsert_sites(sites, source="demo generator")
    with progress() as bar:
        task = bar.add_task(f"demo year {year} 生成演示数据", total=12)

        def frames() -> Any:
            for month, chunk in enumerate(demo.iter_hourly_chunks(sites, year=year, seed=seed), 1):
                candidates = chunk.assign(
                    raw_value=None, unit=None, line=chunk.index + 1, field="generated"
                )
                yield candidates, {"source": f"demo {year}-{month:02d}"}

        report = importer.import_frames(store, frames(), "demo", lambda _: bar.advance(task))
    report.sites_added = len(sites)
    return report


def _water_demo(store: Store, year: int, seed: int, region: Any) -> None:
    """Generate the demo water sections and their year; compute the water results."""
    from ecobasin.demo import water as demo_water

    with console.status(f"water sections {year} 生成水质断面数据"):
        result = demo_water.install(store, region, year=year, seed=seed)
    console.print(
        f"[green]water 水质:[/] {result.report.sites_added} sections, "
        f"{result.report.stored.inserted:,} values, rejected 拒收 {dict(result.report.rejected)}"
    )


def _import_folder(store: Store, folder: Path) -> importer.ImportReport:
    """A demo from real files: station lists (stations*.csv) first, then CNEMC files."""
    files = input_files([folder])
    lists = [f for f in files if f.name.startswith("stations")]
    data = [f for f in files if f not in lists]
    for station_list in lists:
        importer.import_sites(store, station_list)
    with progress() as bar:
        task = bar.add_task("CNEMC files", total=len(data))
        return importer.import_cnemc(store, data, progress=lambda _: bar.advance(task))


def demo(
    port: Annotated[int, typer.Option(help="Port to serve on (127.0.0.1).")] = 8000,
    from_dir: Annotated[
        Path | None,
        typer.Option("--from", help="Build from real CNEMC files in this folder instead."),
    ] = None,
    year: Annotated[int, typer.Option(help="Year the generator makes.")] = 2025,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same data).")] = 2025,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the dashboard when built.")
    ] = True,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="While serving, run the HJ 212 gateway fed by simulated enterprises "
            "实时网关与模拟企业.",
        ),
    ] = True,
    gateway_port: Annotated[int, typer.Option(help="HJ 212 gateway port (127.0.0.1).")] = 9212,
    enterprises: Annotated[int, typer.Option(help="Simulated enterprises (live).")] = 8,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Build the demo region and serve it 构建演示区域并启动服务.

    Run again on the same database, it keeps every part already complete (an editor's
    invalidations stay) and builds only what is missing, saying which is which. Ctrl+C stops
    it without a traceback.
    """
    config = settings(db, region, port=port)
    served = load_region(config)
    feed = LiveFeed(gateway_port=gateway_port, enterprises=enterprises, seed=seed)
    try:
        report, summary, password = _build_demo(config, served, feed, from_dir, year, seed)
    except KeyboardInterrupt:
        console.print(
            f"[yellow]interrupted 已中断:[/] {escape(str(config.db))} holds part of the demo; "
            "run `ecobasin demo` again to finish it 重新运行以完成"
        )
        raise typer.Exit(130) from None
    if report is not None:
        print_report(report, "demo database 演示数据库")
    console.print(
        f"[green]demo ready 演示数据就绪:[/] {config.db}: {summary['sites']} sites, "
        f"{summary['observations']:,} observations "
        f"({pd.Timestamp(summary['first_time']):%Y-%m-%d} … {pd.Timestamp(summary['last_time']):%Y-%m-%d} UTC)"
    )
    if password is not None:  # shown once: the store keeps only its Argon2 hash
        console.print(
            f"administrator 管理员: [bold]admin[/] / password 密码 [bold]{password}[/] "
            "(shown once 仅显示一次; lost 遗失: ecobasin user reset-password admin)"
        )
    if serve_after:
        _serve(config.db, config.host, config.port, config.region, feed if live else None)


def _build_demo(
    config: Any, served: Any, feed: LiveFeed, from_dir: Path | None, year: int, seed: int
) -> tuple[importer.ImportReport | None, dict[str, Any], str | None]:
    """Build the demo database: (import report, or None when the air data were kept; store
    summary; new admin password or None).

    A re-run keeps every part already complete (``store.demo_parts``), so values an editor
    invalidated or corrected are not overwritten by freshly generated ones; it builds what
    is missing and says which is which.
    """
    with open_store(config) as store:
        if from_dir is not None:
            report: importer.ImportReport | None = _imported_part(store, from_dir)
        else:
            report = _generated_parts(store, served, year, seed, feed)
        register_fleet(store, feed, served)
        password = ensure_demo_admin(store)
        summary = store.summary()
    return report, summary, password


def _imported_part(store: Store, from_dir: Path) -> importer.ImportReport | None:
    """``demo --from DIR``: the folder's CNEMC files imported once; a re-run keeps them (an
    editor's invalidations stand) and says how to import new files instead."""
    if not from_dir.is_dir():
        raise fail(f"--from needs a folder of CNEMC files: {from_dir}")
    if "air_from" in demo_parts.built_parts(store):
        state = demo_parts.air_import_state(store)
        console.print(
            f"[green]kept 保留:[/] the imported air data ({state['values']:,} values, "
            f"{state['invalid']:,} flagged invalid stay invalid 已标记无效的数据保持无效); new files: "
            "ecobasin import cnemc DIR"
        )
        return None
    report = _import_folder(store, from_dir)
    refresh_after_import(store, report)
    _forecast_demo(store)
    demo_parts.mark_built(store, "air_from", 0, 0)
    return report


def _generated_parts(
    store: Store, served: Any, year: int, seed: int, feed: LiveFeed | None = None
) -> importer.ImportReport | None:
    """Each part of the generated demo, unless the database holds it complete already."""
    built = demo_parts.built_parts(store)
    kept: list[str] = []
    rebuilt: list[str] = []
    report = None
    air = demo_parts.air_state(store, year)
    if "air" not in built and air["months"] == 12:  # a demo built before parts were recorded
        demo_parts.mark_built(store, "air", year, seed)
        built["air"] = (year, seed)
    if "air" in built:
        kept.append(
            f"air 空气 {built['air'][0]} ({air['values']:,} values, {air['invalid']:,} flagged "
            "invalid stay invalid 已标记无效的数据保持无效)"
        )
    else:
        report = _generated_frames(store, year, seed, served)
        refresh_after_import(store, report)
        demo_parts.mark_built(store, "air", year, seed)
        rebuilt.append("air 空气")
    parts: list[tuple[str, str, Callable[[], None]]] = [
        ("guidance", "model guidance 模式指导预报", lambda: _guidance_demo(store)),
        ("forecast", "forecast 预报", lambda: _forecast_demo(store)),
        ("water", "water 水质", lambda: _water_demo(store, year, seed, served)),
        ("carbon", "carbon 碳排放", lambda: _carbon_demo(store, served, year, seed)),
        ("noise", "noise 声环境", lambda: _noise_demo(store, served, year, seed)),
        (
            "emergency",
            "emergency list 应急清单",
            lambda: _emergency_demo(store, served, feed, year, seed),
        ),
        ("consultation", "consultation 会商", lambda: _consultation_demo(store, served, year)),
        (
            "incidents",
            "river incidents 突发水污染",
            lambda: _incidents_demo(store, served, year, seed),
        ),
        ("cases", "rectification cases 督察整改", lambda: _cases_demo(store)),
        (
            "machinery",
            "non-road machinery 非道路机械",
            lambda: _machinery_demo(store, served, year, seed),
        ),
    ]
    for part, label, build in parts:
        if part in built:
            kept.append(label)
            continue
        build()
        demo_parts.mark_built(store, part, year, seed)
        rebuilt.append(label)
    if kept:
        console.print(
            f"[green]kept 保留 (already in {escape(str(store.path))}):[/] {escape('; '.join(kept))}"
        )
        console.print(
            "[green]built 新建:[/] "
            + escape(", ".join(rebuilt) if rebuilt else "nothing, the demo was complete 无")
            + " (a fresh demo: another --db, or delete the file 全新演示：换 --db 或删除文件)"
        )
    return report


def _guidance_demo(store: Store) -> None:
    """SIMULATED air-quality model runs of the demo's last weeks (docs/forecast.md)."""
    from ecobasin.demo import guidance as demo_guidance

    with console.status("model guidance 生成模拟模式指导预报"):
        rows = demo_guidance.install(store)
    console.print(
        f"[green]model guidance 模式指导预报 (SIMULATED 模拟):[/] {demo_guidance.DEMO_RUN_DAYS} "
        f"daily runs, {rows:,} hourly values at the city points"
    )


def _forecast_demo(store: Store) -> None:
    """Train the small demo forecast model and issue the forecast of the last day of data."""
    from ecobasin.demo import forecast as demo_forecast

    with console.status("forecast model 训练演示预报模型"):
        try:
            done = demo_forecast.install(store)
        except ValueError as error:  # too little data to train on: the demo goes on without
            console.print(f"[yellow]no demo forecast 未生成演示预报: {escape(str(error))}[/]")
            return
    if done is not None:
        console.print(
            f"[green]forecast 预报:[/] demo model trained {done.trained_from} → "
            f"{done.trained_to}, issued {done.issue_day}: {done.forecasts:,} values, "
            f"{done.warnings} warnings 预警"
        )


def _carbon_demo(store: Store, region: Any, year: int, seed: int) -> None:
    """The illustrative eight-city carbon inventories and sinks, and a month of the
    carbon-inclusive ledger (docs/carbon.md)."""
    from ecobasin.demo import carbon as demo_carbon
    from ecobasin.demo import ledger as ledger_demo

    with console.status("carbon inventories and ledger 生成碳排放清单与碳普惠账本"):
        counts = demo_carbon.install(store, region.cities)
        ledger = ledger_demo.install(store, region.cities, year=year, seed=seed)
    console.print(
        f"[green]carbon 碳排放:[/] {counts['emission_lines']:,} emission lines, "
        f"{counts['sinks']} sink rows (illustrative activity data 示意数据); "
        f"碳普惠 ledger: {ledger['accounts']} accounts, {ledger['credited']:,} events credited, "
        f"{ledger['rejected']:,} kept aside"
    )


def _noise_demo(store: Store, region: Any, year: int, seed: int) -> None:
    """Illustrative functional zones, 20 noise stations with a year of hours, and surveys."""
    from ecobasin.demo import noise as demo_noise

    with console.status("noise 生成声环境示意数据"):
        counts = demo_noise.install(store, region, year=year, seed=seed)
    console.print(
        f"[green]noise 声环境:[/] {counts['stations']} stations, {counts['hourly_values']:,} hourly "
        f"values, {counts['zones']} zones, {counts['survey_rows']} survey rows (illustrative 示意数据)"
    )


def _emergency_demo(store: Store, served: Any, feed: LiveFeed | None, year: int, seed: int) -> None:
    """An illustrative emergency list, one past orange warning and its compliance report; the
    live feed's stack-gas enterprises join their cities' lists."""
    from ecobasin.demo import emergency as demo_emergency

    live = enterprise_fleet(feed, served) if feed is not None else []
    done = demo_emergency.install(store, year=year, seed=seed, live=live)
    console.print(
        f"[green]emergency list 应急减排清单:[/] warning {done['activation']} checked 已核查: "
        f"{done['verdicts']}, {done['findings']} open findings 待处理; "
        f"{done['live_listed']} live simulated enterprises listed 实时模拟企业已列入"
    )


def _machinery_demo(store: Store, region: Any, year: int, seed: int) -> None:
    """An illustrative non-road machinery registry of the eight cities, checks run."""
    from ecobasin.demo import machinery as demo_machinery

    with console.status("machinery 生成非道路移动机械示意数据"):
        done = demo_machinery.install(store, list(region.cities), year=year, seed=seed)
    console.print(
        f"[green]machinery 非道路移动机械 (illustrative 示意):[/] {done['machines']} machines, "
        f"{done['inspections']} spot checks ({done['failed']} failed 不合格), "
        f"{done['findings']} findings 发现"
    )


def _consultation_demo(store: Store, region: Any, year: int) -> None:
    """An issued monthly consultation with its report and an episode session collecting."""
    from ecobasin.demo import consultation as demo_consultation

    made = demo_consultation.install(store, region.cities, year)
    if made:
        console.print(
            f"[green]consultation 联合会商:[/] issued 已签发 {made['issued']}, collecting 收集中 {made['collecting']}"
        )


def _incidents_demo(store: Store, region: Any, year: int, seed: int) -> None:
    """The region's river network, emergency materials and a drill of a Tuojiang spill."""
    from ecobasin.demo import incidents as demo_incidents

    made = demo_incidents.install(store, [str(c) for c in region.cities], year, seed)
    console.print(
        f"[green]river incidents 突发水污染:[/] network {made['nodes']} nodes / {made['reaches']} "
        f"reaches (illustrative 示意), drill 演练 {made['incident']}"
    )


def _cases_demo(store: Store) -> None:
    """Cases of the six campaigns in every state, a joint case, a petition, key tasks."""
    from ecobasin.demo import cases as demo_cases

    made = demo_cases.install(store)
    if made:
        console.print(
            f"[green]cases 督察整改:[/] {made['tasks']} tasks, joint 联合 {made['joint']}, "
            f"petition 信访 {made['petition']}, key tasks 重点任务 {made['key_tasks']}"
        )


def _serve(db_path: Path, host: str, port: int, region: str, live: LiveFeed | None = None) -> None:
    from ecobasin import catalog
    from ecobasin.web.server import serve as run_server

    console.print(
        f"serving 服务地址: [bold link=http://{host}:{port}/]http://{host}:{port}/[/]  (Ctrl+C to stop 停止)"
    )
    if live is not None:
        where = (
            "127.0.0.1 (any free port 任意空闲端口)"
            if live.gateway_port == 0
            else f"127.0.0.1:{live.gateway_port}"
        )
        console.print(
            f"HJ 212 gateway 数据采集网关: {where}, "
            f"{live.enterprises} simulated enterprises reporting 模拟企业实时上报; "
            f"live page 实时页面: http://{host}:{port}/live"
        )
    run_server(db_path, host=host, port=port, region=catalog.load_region(region), live=live)
    console.print("stopped 已停止")  # uvicorn ends on Ctrl+C (SIGINT) or SIGTERM


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    gateway: Annotated[
        bool | None,
        typer.Option(
            "--gateway/--no-gateway",
            help="Also run the HJ 212 gateway in this process (on with --simulate) "
            "同时运行HJ 212数据采集网关.",
            show_default=False,
        ),
    ] = None,
    gateway_port: Annotated[
        int, typer.Option(help="HJ 212 gateway port (127.0.0.1; 0: any free port) 网关端口.")
    ] = 9212,
    simulate: Annotated[
        int,
        typer.Option(
            min=0,
            help="Register and run N simulated enterprises feeding the gateway, as the demo "
            "does 模拟企业数.",
        ),
    ] = 0,
    seed: Annotated[
        int, typer.Option(help="Seed of the simulated enterprises (the demo's: 2025) 模拟种子.")
    ] = 2025,
    broker: Annotated[
        str | None,
        typer.Option(
            help="With --gateway: NATS JetStream broker nats://host:port (or tls://); acks "
            "follow the broker's ack; its user and TLS files from ECOBASIN_BROKER_USER, "
            "ECOBASIN_BROKER_PASSWORD_FILE, ECOBASIN_BROKER_CA_FILE 消息代理 (docs/gateway.md)."
        ),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Serve the dashboard and the HTTP API (OpenAPI at /docs) 启动网页与接口服务.

    With --gateway the HJ 212 gateway runs in the same process (DuckDB lets one process write the file); --simulate N also registers N simulated enterprises and runs them against it, so `ecobasin serve --simulate 4` is the demo's live part on an existing database.

    Scheduled work 定时任务 (every ECOBASIN_SCHEDULE_EVERY_S, 60 s): overdue incident notices escalated, sent notices e-mailed to the cities' contacts (ECOBASIN_SMTP_HOST), and once a day the overdue rectification cases recorded (docs/incidents.md).

    Limits 资源限制 (environment or ecobasin.toml): ECOBASIN_MAX_BODY_BYTES (8 MiB, larger bodies get 413), ECOBASIN_MAX_HEADER_BYTES (16 KiB request head), ECOBASIN_MAX_COOKIE_BYTES (8 KiB, 431), ECOBASIN_PUBLIC_PAGE_ROWS (10000 rows per page without credentials), ECOBASIN_HEAVY_EXPORTS (2 exports of more than ECOBASIN_HEAVY_EXPORT_ROWS rows at once, then 429), ECOBASIN_PUBLIC_URL (base of paging links), ECOBASIN_PLAUSIBLE_FROM and ECOBASIN_PLAUSIBLE_AHEAD_HOURS (the window of plausible observation times). See docs/security.md.
    """
    config = settings(db, region, host=host, port=port)
    if not config.db.exists():
        raise fail(f"{config.db} does not exist: run `ecobasin init` or `ecobasin demo` first")
    if gateway is False and simulate:
        raise fail("--simulate needs the gateway: drop --no-gateway 模拟企业需要网关")
    feed = None
    if gateway or simulate:
        feed = LiveFeed(gateway_port=gateway_port, enterprises=simulate, seed=seed, broker=broker)
        if broker:  # the gateway's NATS user and TLS, as for `ecobasin gateway --broker`
            from ecobasin.cli.gateway import broker_credentials, broker_tls

            feed = replace(
                feed, broker_credentials=broker_credentials(config), broker_tls=broker_tls(config)
            )
    elif broker:
        raise fail("--broker needs the gateway: add --gateway 消息代理需要网关")
    with open_store(config) as store:  # also computes the AQI an interrupted import left
        if feed is not None and simulate:
            register_fleet(store, feed, load_region(config))
    _serve(config.db, config.host, config.port, config.region, feed)
