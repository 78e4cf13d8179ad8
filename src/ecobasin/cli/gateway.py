"""``ecobasin gateway`` (serve HJ 212 devices, replay a raw log) and ``ecobasin device`` (registry).

The gateway holds the database open for writing while it runs (DuckDB: one writing process),
so register devices before starting it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import nats.errors
import pandas as pd
import typer

from ecobasin.cli.common import DbOption, console, fail, open_store, progress, settings, table
from ecobasin.cli.readpath import ReadService
from ecobasin.gateway import (
    FSYNC_POLICIES,
    DeviceError,
    Gateway,
    GatewayConfig,
    GatewayStats,
    RawLogError,
    default_raw_log,
    log_id_of,
    register_devices,
    replay,
    set_device_enabled,
)
from ecobasin.gateway.broker import (
    BrokerConfigError,
    BrokerCredentials,
    BrokerRefused,
    BrokerTls,
    device_entry,
    gateway_permissions,
    load_credentials,
    publish_devices,
    server_config,
    tls_config,
    write_private,
    writer_permissions,
)
from ecobasin.gateway.consumer import BrokerWriter
from ecobasin.gateway.replay import count_records
from ecobasin.gateway.server import broker_extra
from ecobasin.ingest.hj212 import CrcMode
from ecobasin.jobs.live import LiveRefresh
from ecobasin.settings import Settings
from ecobasin.store import gateway as gateway_sql

__all__ = ["app", "device_app"]

app = typer.Typer(
    help="HJ 212 acquisition gateway 数据采集网关: serve devices over TCP, replay a raw log.",
    invoke_without_command=True,
)
device_app = typer.Typer(
    help="HJ 212 device registry 设备登记 (MN, password, site).", no_args_is_help=True
)


def _option(flag: str, help_text: str, **extra: Any) -> Any:
    """A gateway flag without a default of its own: unset, the setting applies (environment
    ECOBASIN_GATEWAY_*, then ``gateway_*`` in ecobasin.toml, then its default)."""
    return typer.Option(flag, help=help_text, show_default=False, **extra)


_BROKER_CA = _option(
    "--broker-ca",
    "PEM file of the CA that signed the broker's TLS certificate: speak TLS to the broker "
    "消息代理CA证书 (also ECOBASIN_BROKER_CA_FILE; tls:// URLs without it trust the system's "
    "CAs; a client certificate from ECOBASIN_BROKER_CERT_FILE / _KEY_FILE).",
    exists=True,
    dir_okay=False,
)


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, _option("--host", "Listen address 监听地址 \\[default: 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, _option("--port", "TCP port 端口 \\[default: 9212].")] = None,
    db: DbOption = None,
    raw_log: Annotated[
        Path | None,
        _option("--raw-log", "Raw-log directory 原始报文日志目录 \\[default: <db>.rawlog/]."),
    ] = None,
    fsync: Annotated[
        str | None,
        _option(
            "--fsync",
            "Durability before the ack 应答前落盘: batch (group commit), interval, off "
            "[default: batch].",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        _option("--max-connections", "Connection cap 最大连接数 \\[default: 10000]."),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        _option(
            "--idle-timeout",
            "Close a connection with no frame for this long (s) 空闲超时 \\[default: 300].",
        ),
    ] = None,
    lenient: Annotated[
        bool,
        typer.Option("--lenient", help="Accept 17-digit DataTime (milliseconds) 宽松时间格式."),
    ] = False,
    status_every: Annotated[
        float | None,
        _option("--status-every", "Status line period (s) 状态行间隔 \\[default: 10]."),
    ] = None,
    segment_mib: Annotated[
        int | None,
        _option("--segment-mib", "Raw-log segment size (MiB) 日志分段大小 \\[default: 64].", min=1),
    ] = None,
    segment_hours: Annotated[
        float | None,
        _option(
            "--segment-hours",
            "Raw-log segment age before rotating (h) 分段时长 \\[default: 24].",
        ),
    ] = None,
    retention_days: Annotated[
        float | None,
        _option(
            "--retention-days",
            "Delete (or archive) stored raw-log segments older than this (days; 0: keep "
            "all) 原始日志保留天数 \\[default: 30].",
        ),
    ] = None,
    archive: Annotated[
        Path | None,
        _option("--archive", "Move retired segments here instead of deleting them 归档目录."),
    ] = None,
    dedup_days: Annotated[
        float | None, _option("--dedup-days", "Dedup window (days) 去重窗口 \\[default: 7].")
    ] = None,
    max_frame_errors: Annotated[
        int | None,
        _option(
            "--max-frame-errors",
            "Close a connection after this many framing errors since its last valid "
            "frame 连接帧错误上限 \\[default: 16].",
            min=1,
        ),
    ] = None,
    max_unframed_kib: Annotated[
        int | None,
        _option(
            "--max-unframed-kib",
            "Close a connection after this many KiB without a valid frame "
            "无有效报文字节上限 \\[KiB] \\[default: 16].",
            min=2,
        ),
    ] = None,
    reject_samples: Annotated[
        int | None,
        _option(
            "--reject-samples",
            "Problems written to `rejected` one by one per peer address and minute; the "
            "rest are counted and summarised 每地址每分钟拒收明细条数 \\[default: 20].",
            min=0,
        ),
    ] = None,
    broker: Annotated[
        str | None,
        _option(
            "--broker",
            "NATS JetStream broker nats://host:port: publish each accepted frame and "
            "acknowledge after the broker's ack 消息代理 (docs/gateway-scaling.md); logs in as "
            "ECOBASIN_BROKER_USER, password in ECOBASIN_BROKER_PASSWORD_FILE (0600).",
        ),
    ] = None,
    broker_replicas: Annotated[
        int | None,
        _option(
            "--broker-replicas",
            "Copies of the stream when this gateway creates it 副本数 \\[default: 1].",
            min=1,
        ),
    ] = None,
    broker_ca: Annotated[Path | None, _BROKER_CA] = None,
    broker_store_locally: Annotated[
        bool,
        _option(
            "--broker-store-locally",
            "With --broker, also decode every frame into this gateway's own store (one "
            "machine whose dashboard reads it); by default the writers behind the broker "
            "decode and this store keeps only refusals and the raw log's checkpoint "
            "网关本地也入库.",
        ),
    ] = False,
    costs_log: Annotated[
        Path | None,
        typer.Option(
            "--costs-log",
            help="Append the store writer's costs (records per write, CPU by part; JSON, one "
            "line per status line) to this file 入库开销日志 (bench/gateway_bench.py).",
        ),
    ] = None,
) -> None:
    """Serve HJ 212 devices over TCP until Ctrl+C / SIGTERM 启动 HJ 212 数据采集网关.

    Every flag may also be set as ECOBASIN_GATEWAY_<NAME> or as gateway_<name> in
    ecobasin.toml (flag > environment > file > default; docs/gateway.md). Frames whose
    DataTime is before ECOBASIN_GATEWAY_DATATIME_EARLIEST (2000-01-01) or more than
    ECOBASIN_GATEWAY_DATATIME_AHEAD_S (86400) after their arrival get no reply and are kept
    aside (implausible_datatime).
    """
    if ctx.invoked_subcommand is not None:
        return
    config = settings(
        db=db, gateway_host=host, gateway_port=port, gateway_raw_log=raw_log,
        gateway_fsync=fsync, gateway_max_connections=max_connections,
        gateway_idle_timeout_s=idle_timeout, gateway_lenient=lenient or None,
        gateway_status_every_s=status_every, gateway_segment_mib=segment_mib,
        gateway_segment_hours=segment_hours, gateway_retention_days=retention_days,
        gateway_archive=archive, gateway_dedup_days=dedup_days,
        gateway_max_frame_errors=max_frame_errors, gateway_max_unframed_kib=max_unframed_kib,
        gateway_reject_samples=reject_samples, gateway_broker=broker,
        gateway_broker_replicas=broker_replicas, broker_ca_file=broker_ca,
        gateway_broker_store_locally=broker_store_locally or None,
    )  # fmt: skip
    if config.gateway_fsync not in FSYNC_POLICIES:
        raise fail(f"--fsync {config.gateway_fsync!r}: use one of {', '.join(FSYNC_POLICIES)}")
    gateway_settings = gateway_config(config)
    with open_store(config) as store, ReadService(store, config.db):  # readers ask us
        gateway = Gateway(store, gateway_settings)
        asyncio.run(_serve(gateway, config.gateway_status_every_s, costs_log))


def gateway_config(config: Settings) -> GatewayConfig:
    """The gateway's configuration from the settings (read once, flags already on top)."""
    retention = config.gateway_retention_days
    return GatewayConfig(
        host=config.gateway_host,
        port=config.gateway_port,
        raw_log=config.gateway_raw_log or default_raw_log(config.db),
        fsync=config.gateway_fsync,
        max_connections=config.gateway_max_connections,
        idle_timeout=config.gateway_idle_timeout_s,
        lenient=config.gateway_lenient,
        datatime_earliest=config.gateway_datatime_earliest,
        datatime_ahead=timedelta(seconds=config.gateway_datatime_ahead_s),
        segment_bytes=config.gateway_segment_mib * 1024 * 1024,
        segment_max_age=config.gateway_segment_hours * 3600.0,
        retention=timedelta(days=retention) if retention > 0 else None,
        archive=config.gateway_archive,
        dedup_window=timedelta(days=config.gateway_dedup_days),
        max_frame_errors=config.gateway_max_frame_errors,
        max_unframed_bytes=config.gateway_max_unframed_kib * 1024,
        reject_samples=config.gateway_reject_samples,
        broker=config.gateway_broker,
        broker_replicas=config.gateway_broker_replicas,
        broker_credentials=broker_credentials(config) if config.gateway_broker else None,
        broker_tls=broker_tls(config),
        broker_store_locally=config.gateway_broker_store_locally,
    )


def broker_credentials(config: Settings) -> BrokerCredentials | None:
    """This process's NATS user (ECOBASIN_BROKER_USER, ECOBASIN_BROKER_PASSWORD_FILE)."""
    try:
        return load_credentials(config.broker_user, config.broker_password_file)
    except (BrokerConfigError, OSError) as error:
        raise fail(f"broker credentials 消息代理凭据: {error}") from None


def broker_tls(config: Settings) -> BrokerTls | None:
    """TLS to the broker from ECOBASIN_BROKER_CA_FILE (``--broker-ca``), ..._CERT_FILE and
    ..._KEY_FILE; None when none is set (``tls://`` URLs then use the system's CAs)."""
    files = (config.broker_ca_file, config.broker_cert_file, config.broker_key_file)
    if all(path is None for path in files):
        return None
    tls = BrokerTls(*files)
    try:
        tls.context()  # checked now: a bad file stops the command, not a background retry
    except BrokerConfigError as error:
        raise fail(f"broker TLS 消息代理TLS: {error}") from None
    return tls


async def _serve(gateway: Gateway, status_every: float, costs_log: Path | None = None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        port = await gateway.start()
    except OSError as error:
        raise fail(
            f"cannot listen on {gateway.config.host}:{gateway.config.port}: {error}"
        ) from None
    stats = gateway.stats
    console.print(
        f"HJ 212 gateway 网关 listening on 监听 {gateway.config.host}:{port}; "
        f"raw log 原始日志 {gateway.config.raw_log} (fsync={gateway.config.fsync}); "
        f"recovered 恢复 {stats.recovered} records"
    )
    console.print(f"open-file limit 文件句柄上限 (RLIMIT_NOFILE) {gateway.open_files}")
    last_frames, last_time = stats.frames, time.monotonic()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=status_every)
        except TimeoutError:
            now = time.monotonic()
            rate = (stats.frames - last_frames) / (now - last_time)
            last_frames, last_time = stats.frames, now
            with gateway.costs.part("status"):
                console.print(status_line(stats, rate))
            if costs_log is not None:
                with gateway.costs.part("costs_log"):
                    _log_costs(costs_log, gateway)
    console.print("stopping 正在停止 …")
    await gateway.stop()
    console.print(
        f"stopped 已停止: frames 报文 {stats.frames:,}, stored 入库 {stats.stored:,}, "
        f"rejected 拒收 {stats.rejected:,}"
    )


def _log_costs(path: Path, gateway: Gateway) -> None:
    """One JSON line: the writer's costs so far, with the time [s, monotonic]."""
    line = json.dumps({"t": time.monotonic(), **gateway.costs.snapshot()}, ensure_ascii=False)
    try:  # a diagnostic: a full disk or a bad path must not stop the acquisition
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as error:
        console.print(f"[yellow]costs log 成本日志 {path} not written 未写入: {error}[/yellow]")


def status_line(stats: GatewayStats, rate: float) -> str:
    """The periodic status line, alarms first (``raw_log_unwritable``: no acks now)."""
    alarms = "".join(f"ALARM 告警 {name} {_ALARM_ZH[name]}  " for name in stats.alarms)
    return (
        f"{alarms}connections 连接 {stats.connections}  msgs/s 报文/秒 {rate:,.0f}  "
        f"acked 应答 {stats.acked:,}  stored 入库 {stats.stored:,}  "
        f"records in store 已入库记录 {stats.written:,}  "
        f"duplicates 重复 {stats.duplicates:,}  rejected 拒收 {stats.rejected:,}  "
        f"refused 拒绝 {stats.refused:,}  raw-log errors 日志写错误 {stats.raw_log_errors:,}"
    )


_ALARM_ZH = {
    "raw_log_unwritable": "原始日志不可写",
    "broker_unreachable": "消息代理不可达",
    "broker_permission_denied": "消息代理拒绝权限",
}


@app.command("writer")
def writer_command(
    broker: Annotated[
        str, typer.Option("--broker", help="NATS JetStream broker nats://host:port 消息代理.")
    ],
    durable: Annotated[
        str,
        typer.Option("--durable", help="Durable consumer name; a restart resumes it 持久消费者名."),
    ],
    filter_subject: Annotated[
        str,
        typer.Option("--filter", help="Subjects to take, e.g. hj212.510100.> (one city) 主题过滤."),
    ] = "hj212.>",
    db: DbOption = None,
    status_every: Annotated[
        float, typer.Option("--status-every", help="Status line period (s) 状态行间隔.")
    ] = 10.0,
    refresh_every: Annotated[
        float,
        typer.Option(
            "--refresh-every",
            help="Shortest interval between AQI / alarm refreshes of what was stored (s) "
            "AQI与告警刷新间隔.",
        ),
    ] = 30.0,
    broker_ca: Annotated[Path | None, _BROKER_CA] = None,
) -> None:
    """Store writer: a durable pull consumer of the broker's stream into the store 入库消费者.

    Fetches batches, writes each in one transaction (idempotent by the message key MN, CN,
    DataTime, PNO) and acknowledges the broker after the commit; poison messages go to
    `rejected` (docs/gateway.md, "Broker"). Logs in as ECOBASIN_BROKER_USER with the password
    in ECOBASIN_BROKER_PASSWORD_FILE (mode 0600; docs/security.md, "Broker").
    """
    config = settings(db=db, broker_ca_file=broker_ca)
    credentials = broker_credentials(config)
    tls = broker_tls(config)
    refresh = LiveRefresh(every=refresh_every)  # AQI and alarms of the touched sites
    with open_store(config) as store:
        writer = BrokerWriter(
            store,
            broker,
            durable,
            filter_subject,
            after_write=refresh,
            credentials=credentials,
            tls=tls,
        )
        try:
            asyncio.run(_write_from_broker(writer, status_every))
        except BrokerRefused as error:
            raise fail(f"writer 入库消费者 {durable}: {error}") from None
        refresh.flush(store)


async def _write_from_broker(writer: BrokerWriter, status_every: float) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(writer.run(stop))
    ready = asyncio.create_task(writer.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if writer.ready.is_set():
        console.print(
            f"writer 入库消费者 {writer.durable} ready 就绪 on {writer.url} "
            f"filter {writer.filter_subject}"
        )
    ready.cancel()
    while not task.done():
        await asyncio.wait({task}, timeout=status_every)
        stats = writer.stats
        console.print(
            f"fetched 取得 {stats.fetched:,}  stored 入库 {stats.stored:,}  "
            f"duplicates 重复 {stats.duplicates:,}  poison 毒消息 {stats.poison:,}  "
            f"rejected 拒收 {sum(stats.rejected.values()):,}"
        )
    await task


@app.command("broker-config")
def broker_config_command(
    out: Annotated[Path, typer.Argument(help="Configuration file to write (0600) 配置文件.")],
    store_dir: Annotated[
        Path, typer.Option("--store-dir", help="JetStream file storage folder 存储目录.")
    ],
    gateway_users: Annotated[
        list[str],
        typer.Option(
            "--gateway",
            help="A gateway user USER:PASSWORD_FILE (file 0600; repeatable) 网关用户.",
        ),
    ],
    writer_users: Annotated[
        list[str] | None,
        typer.Option(
            "--writer",
            help="A store-writer user USER:DURABLE:PASSWORD_FILE (repeatable) 入库用户.",
        ),
    ] = None,
    listen: Annotated[
        str, typer.Option("--listen", help="Client address host:port 监听地址.")
    ] = "127.0.0.1:4222",
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            help="Broker certificate (PEM): TLS for clients 证书.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key", help="Its private key (PEM, 0600) 私钥.", exists=True, dir_okay=False
        ),
    ] = None,
    tls_ca: Annotated[
        Path | None,
        typer.Option(
            "--tls-ca",
            help="CA of the client certificates (with --verify-clients).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    verify_clients: Annotated[
        bool, typer.Option("--verify-clients", help="Require client certificates 校验客户端证书.")
    ] = False,
) -> None:
    """Write a nats-server configuration for the platform 生成消息代理配置: JetStream, a user per
    role with least privilege and its password only as a bcrypt hash, TLS when a certificate
    and key are given (docs/security.md, "Broker"). Start it with `nats-server -c OUT`."""
    try:
        users = [_user(spec, "gateway") for spec in gateway_users]
        users += [_user(spec, "writer") for spec in writer_users or []]
        if (tls_cert is None) != (tls_key is None):
            raise BrokerConfigError("--tls-cert and --tls-key go together")
        if verify_clients and tls_ca is None:
            raise BrokerConfigError("--verify-clients needs --tls-ca")
        tls = ""
        if tls_cert is not None and tls_key is not None:
            tls = tls_config(tls_cert, tls_key, tls_ca, verify=verify_clients)
        write_private(out, server_config(listen, store_dir.resolve(), users, tls))
    except (BrokerConfigError, OSError) as error:
        raise fail(f"broker config 消息代理配置: {error}") from None
    console.print(
        f"wrote 已写入 {out} (0600): {len(users)} users, passwords as bcrypt hashes"
        f"{', TLS' if tls else ''}; start: nats-server -c {out}"
    )


def _user(spec: str, role: str) -> tuple[str, str, dict[str, Any]]:
    """``USER:PASSWORD_FILE`` (gateway) or ``USER:DURABLE:PASSWORD_FILE`` (writer) → the user,
    its password (read from the 0600 file) and its role's permissions."""
    parts = spec.split(":", 2 if role == "writer" else 1)
    if len(parts) != (3 if role == "writer" else 2) or not all(parts):
        shape = "USER:DURABLE:PASSWORD_FILE" if role == "writer" else "USER:PASSWORD_FILE"
        raise BrokerConfigError(f"--{role} {spec!r}: give {shape}")
    credentials = load_credentials(parts[0], Path(parts[-1]))
    assert credentials is not None  # a user was given
    rights = gateway_permissions() if role == "gateway" else writer_permissions(parts[1])
    return credentials.user, credentials.password, rights


@app.command("replay")
def replay_command(
    raw_log: Annotated[
        Path, typer.Argument(help="Raw-log directory or segment file 原始日志目录或分段文件.")
    ],
    db: DbOption = None,
    lenient: Annotated[
        bool,
        typer.Option("--lenient", help="Accept 17-digit DataTime (milliseconds) 宽松时间格式."),
    ] = False,
) -> None:
    """Re-decode a raw log into the store 由原始日志重建入库 (idempotent 可重复执行)."""
    if not raw_log.exists():
        raise fail(f"{raw_log} does not exist")
    config = settings(db=db)
    with open_store(config) as store:
        try:
            log_id = log_id_of(raw_log)
            total = count_records(raw_log, after=gateway_sql.checkpoint(store, log_id))
            with progress() as bar:
                task = bar.add_task("replay 重放", total=total)
                report = replay(
                    store, raw_log, progress=lambda n: bar.advance(task, n), lenient=lenient
                )
        except RawLogError as error:
            raise fail(str(error)) from None
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(report.rejected.items())) or "0"
    console.print(
        f"records 记录 {report.records:,}; messages stored 入库报文 {report.messages:,}; "
        f"observations 观测值 {report.observations:,}; duplicates 重复 {report.duplicates:,}; "
        f"rejected 拒收 {rejected}; damaged records skipped 损坏记录跳过 {report.damaged:,}"
    )


@device_app.command("add")
def device_add(
    mn: Annotated[str, typer.Argument(help="Device id MN 设备唯一标识.")],
    password: Annotated[str, typer.Option("--password", help="Access password PW 访问密码.")],
    site: Annotated[str, typer.Option("--site", help="Site id 站点/排口编号.")],
    protocol: Annotated[
        str, typer.Option("--protocol", help="2017 (HJ 212-2017) or 2005 (HJ/T 212-2005) 协议版本.")
    ] = "2017",
    crc_mode: Annotated[
        CrcMode, typer.Option("--crc-mode", help="CRC the device sends 校验方式.")
    ] = CrcMode.HJ212,
    interval: Annotated[
        int | None,
        typer.Option("--interval", help="Expected reporting interval (s) 上报间隔."),
    ] = None,
    db: DbOption = None,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            help="Also put the device into the broker's device bucket nats://host:port, so "
            "every running gateway accepts it (PW stored hashed) 同步到消息代理设备表.",
        ),
    ] = None,
    broker_ca: Annotated[Path | None, _BROKER_CA] = None,
) -> None:
    """Register (or update) a device 登记设备.

    With --broker the device also goes to the broker's device bucket (as
    ECOBASIN_BROKER_USER, a gateway-role user), where running gateways learn it within
    seconds; its site must be in the store given by --db.
    """
    frame = pd.DataFrame(
        [
            {
                "mn": mn,
                "password": password,
                "site_id": site,
                "protocol": protocol,
                "crc_mode": crc_mode.value,
                "enabled": True,
                "interval_s": interval,
            }
        ]
    )
    config = settings(db=db, broker_ca_file=broker_ca)
    credentials = broker_credentials(config) if broker else None
    tls = broker_tls(config) if broker else None
    with open_store(config) as store:
        try:
            added, _ = register_devices(store, frame)
        except DeviceError as error:
            raise fail(str(error)) from None
        extra = broker_extra(store).get(mn, {})
    console.print(f"device 设备 {mn} {'added 已登记' if added else 'updated 已更新'} (site {site})")
    if broker:
        entry = device_entry(password, True, crc_mode.value, **extra)
        try:
            asyncio.run(
                asyncio.wait_for(publish_devices(broker, {mn: entry}, credentials, tls=tls), 30)
            )
        except (OSError, TimeoutError, nats.errors.Error) as error:
            why = str(error) or f"no answer ({type(error).__name__})"
            raise fail(f"device {mn}: not put into the broker's bucket {broker}: {why}") from None
        console.print(f"device 设备 {mn} shared via the broker 已同步到消息代理 {broker}")


@device_app.command("list")
def device_list(
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json 输出格式.")] = "table",
    db: DbOption = None,
) -> None:
    """List registered devices 设备列表 (passwords are not shown 不显示密码)."""
    with open_store(settings(db=db), read_only=True) as store:
        frame = gateway_sql.devices(store).drop(columns=["password"])
    frame["added_at"] = frame["added_at"].astype(str)
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        rows = json.loads(frame.to_json(orient="records", force_ascii=False))
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif fmt == "table":
        console.print(table(frame, f"Devices 设备 ({len(frame)})"))
    else:
        raise fail(f"--format {fmt!r}: use table, csv or json")


@device_app.command("disable")
def device_disable(
    mn: Annotated[str, typer.Argument(help="Device id MN.")], db: DbOption = None
) -> None:
    """Disable a device: its frames are refused 停用设备."""
    _set_enabled(mn, False, db)


@device_app.command("enable")
def device_enable(
    mn: Annotated[str, typer.Argument(help="Device id MN.")], db: DbOption = None
) -> None:
    """Enable a disabled device again 启用设备."""
    _set_enabled(mn, True, db)


def _set_enabled(mn: str, enabled: bool, db: Path | None) -> None:
    with open_store(settings(db=db)) as store:
        try:
            set_device_enabled(store, mn, enabled)
        except DeviceError as error:
            raise fail(str(error)) from None
    console.print(f"device 设备 {mn} {'enabled 已启用' if enabled else 'disabled 已停用'}")
