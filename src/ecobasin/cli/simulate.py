"""``ecobasin simulate``: simulated HJ 212 devices for the demo, the tests and the benchmark.

``simulate devices`` connects a deterministic fleet to a gateway and streams its uploads (2011
real-time, 2051 / 2061 / 2031 interval data) waiting for each 9014; ``--register --db`` writes
the fleet's sites and devices into a store instead; ``simulate packets`` prints the frames as
JSON lines for ``ecobasin hj212 decode``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.live import Live
from rich.text import Text

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
from ecobasin.gateway.loadgen import (
    ACK_TIMEOUT,
    RETRIES,
    FleetStats,
    expected_values,
    lost_values,
    run_fleet,
)
from ecobasin.gateway.simulator import SimDevice, build_fleet, fleet_frames
from ecobasin.settings import Settings
from ecobasin.timebase import CST

__all__ = ["app", "devices", "packets"]

app = typer.Typer(
    help="Simulated HJ 212 devices 模拟监测设备 (enterprise CEMS, wastewater outlets, air stations).",
    no_args_is_help=True,
)

CountOption = Annotated[int, typer.Option("--count", "-n", min=1, help="Devices 设备数量.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed 随机种子: same seed, same fleet.")]


def fleet_rate(fleet: list[SimDevice]) -> float:
    """Frames per simulated second of a fleet: 2011 every interval, 2051, 2061 and 2031."""
    return sum(1 / d.interval_s + 1 / 600 + 1 / 3600 + 1 / 86400 for d in fleet)


def _progress_line(stats: FleetStats, elapsed: float) -> Text:
    rate = stats.acked / elapsed if elapsed else 0.0
    recent = stats.latencies[-2000:]
    p99 = sorted(recent)[max(0, math.ceil(0.99 * len(recent)) - 1)] * 1000 if recent else math.nan
    return Text(
        f"{elapsed:6.1f} s  sent 已发 {stats.sent}  acked 已确认 {stats.acked}  "
        f"retries 重发 {stats.retries}  lost 丢失 {stats.lost}  "
        f"{rate:,.0f} msg/s  p99 {p99:.1f} ms"
    )


@app.command()
def devices(
    count: CountOption = 10,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            help="Frames per second of the whole fleet 总发送速率; sets the time speed-up.",
            show_default=False,
        ),
    ] = None,
    speedup: Annotated[
        float | None,
        typer.Option(
            "--speedup",
            help="Simulated seconds per real second 时间加速倍数 \\[1].",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Gateway host 网关地址.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Gateway port 网关端口.")] = 9212,
    seed: SeedOption = 0,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            help="Real seconds to run 运行时长 \\[until Ctrl-C]; simulated time then starts "
            "duration × speed-up ago and ends now.",
            show_default=False,
        ),
    ] = None,
    ack_timeout: Annotated[
        float, typer.Option("--ack-timeout", help="Wait for 9014 before resending 应答超时 \\[s].")
    ] = ACK_TIMEOUT,
    retries: Annotated[
        int, typer.Option("--retries", help="Resends before a frame is lost 重发次数 (表1).")
    ] = RETRIES,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Count the acknowledged values in --db afterwards 核对入库 (read directly or "
            "through the gateway holding it); a value acked but not stored is lost.",
        ),
    ] = True,
    register: Annotated[
        bool,
        typer.Option(
            "--register",
            help="Write the fleet's sites and devices to --db and exit "
            "登记站点与设备 (the gateway must not hold the file).",
        ),
    ] = False,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Run simulated HJ 212 devices against a gateway 运行模拟设备.

    Each device opens its own TCP connection, sends real-time (2011), 10-minute (2051), hourly
    (2061) and daily (2031) uploads with DataTime in China Standard Time, waits for each 9014,
    resends on timeout (HJ 212-2017 §6.2) and reconnects when dropped. Prints a JSON summary to
    stdout (sent, acked, retries, lost, ack p50/p99) and, with --check (default) and an existing
    --db, the values acknowledged but missing from the store (``values_lost_after_ack``; exit
    code 1 when any).
    """
    config = settings(db, region)
    fleet = build_fleet(count, seed, load_region(config))
    if register:
        _register(fleet, config)
        return
    if rate is not None and speedup is not None:
        raise fail("give --rate or --speedup, not both 二者择一")
    if rate is not None:
        if rate <= 0:
            raise fail("--rate must be positive")
        speedup = rate / fleet_rate(fleet)
    speedup = 1.0 if speedup is None else speedup
    if speedup <= 0:
        raise fail("--speedup must be positive")
    run_for = math.inf if duration is None else duration
    sim_start = time.time() if duration is None else time.time() - duration * speedup
    console.print(
        f"{count} devices 台设备 → {host}:{port}, speed-up 加速 ×{speedup:,.1f} "
        f"(≈{fleet_rate(fleet) * speedup:,.0f} frames/s)"
    )
    stats = FleetStats()
    try:
        with Live(Text("connecting 连接中…"), console=console, refresh_per_second=4) as live:

            def tick(current: FleetStats, elapsed: float) -> None:
                live.update(_progress_line(current, elapsed))

            asyncio.run(
                run_fleet(
                    fleet,
                    host,
                    port,
                    duration=run_for,
                    speedup=speedup,
                    sim_start=sim_start,
                    ack_timeout=ack_timeout,
                    retries=retries,
                    on_tick=tick,
                    stats=stats,
                )
            )
    except KeyboardInterrupt:
        console.print("stopped 已停止")
    summary = stats.summary()
    lost_after_ack = _lost_after_ack(config, fleet, stats) if check else None
    summary["values_lost_after_ack"] = lost_after_ack
    console.print(
        table(
            pd.DataFrame([{k: v for k, v in summary.items() if k != "flags"}]),
            "simulation summary 模拟汇总",
        )
    )
    if lost_after_ack is None and check:
        console.print(f"stored values not checked 未核对入库: {config.db} does not exist")
    typer.echo(json.dumps(summary, ensure_ascii=False))
    if (stats.sent and not stats.acked) or lost_after_ack:
        raise typer.Exit(1)


#: [s] Longest wait for the gateway's store to catch up with the acks before counting.
STORE_PATIENCE = 30.0


def _lost_after_ack(config: Settings, fleet: list[SimDevice], stats: FleetStats) -> int | None:
    """Values of acknowledged uploads missing from the store (--db), counted per stored slot
    (site, period, time) once the gateway's writer has caught up; None without a database.

    The database is read directly, or through the gateway / server holding it
    (:mod:`ecobasin.cli.readpath`)."""
    expected = expected_values(fleet, stats.delivered)
    if not config.db.exists():
        return None
    if expected.empty:
        return 0
    deadline = time.monotonic() + STORE_PATIENCE
    while True:  # the writer stores acked frames within its write delay; wait for it
        lost = lost_values(expected, _stored(config, expected))
        if not lost or time.monotonic() > deadline:
            return lost
        time.sleep(0.5)


def _stored(config: Settings, expected: pd.DataFrame) -> pd.DataFrame:
    """The observations of the expected sites and times (site_id, period, time)."""
    from ecobasin.cli import readpath
    from ecobasin.errors import StoreBusyError
    from ecobasin.store import Store

    sites = sorted(set(expected["site_id"]))
    start, end = expected["time"].min(), expected["time"].max()
    try:
        with Store(config.db, read_only=True) as store:
            return store.observations(sites=sites, start=start, end=end)
    except StoreBusyError:
        pass
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "stored.csv"
        cst = [f"{t.tz_convert(CST):%Y-%m-%dT%H:%M:%S}" for t in (start, end)]
        argv = ["export", "--out", str(out), "--start", cst[0], "--end", cst[1]]
        argv += [arg for site in sites for arg in ("--site", site)]
        reply = readpath.ask(config.db, argv)
        if reply is None or reply["exit_code"] != 0:
            raise fail(f"cannot read {config.db} to count stored values 无法核对入库")
        frame = pd.read_csv(out)
    frame["time"] = pd.to_datetime(frame["time_utc"], utc=True)
    return frame


def _register(fleet: list[SimDevice], config: Settings) -> None:
    from ecobasin.gateway import register_devices  # the gateway's registry

    sites, devices_frame = fleet_frames(fleet)
    with open_store(config) as store:
        site_counts = store.upsert_sites(sites, source="simulator")
        added, updated = register_devices(store, devices_frame)
    console.print(
        f"sites 站点: {site_counts.inserted} new 新增, {site_counts.replaced} updated 更新; "
        f"devices 设备: {added} new 新增, {updated} updated 更新"
    )


@app.command()
def packets(
    count: CountOption = 3,
    hours: Annotated[float, typer.Option("--hours", help="Simulated hours 模拟时长 \\[h].")] = 1.0,
    seed: SeedOption = 0,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Simulated start, ISO 8601, CST unless an offset is given "
            "模拟起始时间 \\[now − hours].",
            show_default=False,
        ),
    ] = None,
    region: RegionOption = None,
) -> None:
    """Print the frames a fleet sends as JSON lines ``{"packet": …}`` 输出模拟报文.

    The output feeds ``ecobasin hj212 decode``.
    """
    config = settings(None, region)
    fleet = build_fleet(count, seed, load_region(config))
    begin: float
    if start is None:
        begin = math.floor(time.time() - hours * 3600)
    else:
        try:
            stamp = pd.Timestamp(start)
            begin = (stamp.tz_localize(CST) if stamp.tzinfo is None else stamp).timestamp()
        except ValueError as error:
            raise fail(f"--start {start!r}: {error}") from None
    end = begin + hours * 3600
    for device in fleet:
        for packet in itertools.takewhile(lambda p: p.time < end, device.packets(begin)):
            for frame in packet.frames:
                typer.echo(json.dumps({"packet": frame.decode("utf-8"), "mn": device.mn}))
