"""Sudden incidents on shared rivers: ``ecobasin rivers import|show`` and
``ecobasin incident plume|open|list|show|ack|results|approve|refit|escalate|mail|contacts|replay|
score|stocks|material|dispatch``.

Thin: every command calls :mod:`ecobasin.services.incidents` (the API calls the same), prints
tables with rich and refused rows with their reasons. Times are ISO 8601 with their offset.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from ecobasin.cli.common import DbOption, RegionOption, console, fail, open_store, settings, table
from ecobasin.errors import InputError
from ecobasin.rivers.network import Release, plume_forecast
from ecobasin.services import incident_mail
from ecobasin.services import incidents as service
from ecobasin.store import Store
from ecobasin.workflow.incidents import SOURCE_TYPES

__all__ = ["app", "rivers_app"]

rivers_app = typer.Typer(help="River networks 河网: import and check.", no_args_is_help=True)
app = typer.Typer(
    help="Sudden water-pollution incidents 突发水污染事件: plume, grade, notices, monitoring, "
    "materials, drills.",
    no_args_is_help=True,
)
NetworkOption = Annotated[str, typer.Option("--network", help="River network name 河网名称.")]
ActorOption = Annotated[str, typer.Option("--as", help="Who acts (recorded) 操作人.")]
CityOption = Annotated[
    str | None, typer.Option("--city", help="Acting city code 操作城市 (none: the province).")
]

_SHOWN = ["node_id", "kind", "name_en", "city", "distance_km", "front_h", "t_peak_h_low",
          "C_peak_mg_L_low", "C_peak_mg_L_high", "above_from_h_high", "above_to_h_high"]  # fmt: skip


def _time(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{name} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise fail(f"{name} {text!r} needs its offset, e.g. +08:00")
    return value


@rivers_app.command("import")
def import_network(
    nodes: Annotated[
        Path, typer.Argument(help="Nodes CSV (docs/incidents.md) 节点表.", exists=True)
    ],
    reaches: Annotated[Path, typer.Argument(help="Reaches CSV 河段表.", exists=True)],
    network: NetworkOption = "demo",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import a river network (replaces one of the same name); bad rows are listed and kept aside."""
    node_table, reach_table = service.read_network_files(nodes, reaches)
    with open_store(settings(db, region)) as store:
        summary = service.import_network(store, network, node_table, reach_table, datetime.now(UTC))
    console.print(
        f"network {network}: {summary['nodes']} nodes, {summary['reaches']} reaches 节点/河段"
    )
    if summary["rejected"]:
        console.print(table(pd.DataFrame(summary["rejected"]), "refused rows 拒收行"))


@rivers_app.command("show")
def show_network(
    network: NetworkOption = "demo", db: DbOption = None, region: RegionOption = None
) -> None:
    """The stored network's reaches 河段."""
    with open_store(settings(db, region)) as store:
        _, reaches = service.network_tables(store, network)
    if reaches.empty:
        raise fail(f"no river network {network!r}: `ecobasin rivers import` first")
    console.print(table(reaches, f"river network {network} 河网"))


@app.command("plume")
def plume(
    node: Annotated[str, typer.Argument(help="Spill node 事发节点, e.g. T03.")],
    mass_kg: Annotated[float, typer.Option(help="Instantaneous release [kg] 瞬时排放量.")] = 0.0,
    rate_kg_h: Annotated[float, typer.Option(help="Continuous release [kg/h] 连续排放速率.")] = 0.0,
    duration_h: Annotated[
        float, typer.Option(help="Duration of a finite release [h] 持续时间.")
    ] = 0.0,
    threshold: Annotated[float, typer.Option(help="Threshold [mg/L] 阈值.")] = 0.01,
    network: NetworkOption = "demo",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """What-if plume forecast 扩散预测 (nothing stored): arrival, peak and window above the
    threshold at every node below, for the low and high dispersion."""
    mode = "instantaneous" if mass_kg > 0 else ("finite" if duration_h > 0 else "continuous")
    try:
        release = Release(mode, mass_kg, rate_kg_h, duration_h)
    except InputError as exc:
        raise fail(str(exc)) from None
    with open_store(settings(db, region)) as store:
        graph = service.graph_of(store, network)
    forecast = plume_forecast(graph, node, release, threshold)
    console.print(
        table(forecast[_SHOWN].round(3), f"plume from {node} ({mode}) 扩散预测 [h, mg/L]")
    )


@app.command("open")
def open_incident(
    title: Annotated[str, typer.Argument(help="Title 事件名称.")],
    node: Annotated[str, typer.Argument(help="Spill node 事发节点.")],
    city: Annotated[str, typer.Argument(help="Source city code 事发城市.")],
    substance: Annotated[str, typer.Argument(help="Substance 污染物, e.g. benzene.")],
    release: Annotated[
        str, typer.Option(help='Release JSON, e.g. {"mode":"instantaneous","mass_kg":2000}.')
    ],
    determined_at: Annotated[
        str, typer.Option(help="Preliminary determination 初步认定时间 (ISO, offset).")
    ],
    actor: ActorOption,
    occurred_at: Annotated[
        str | None, typer.Option(help="Occurrence 发生时间 (default: determination).")
    ] = None,
    discovered_at: Annotated[
        str | None, typer.Option(help="Discovery 发现时间 (default: determination).")
    ] = None,
    facts: Annotated[str, typer.Option(help="Impact facts JSON 影响情况.")] = "{}",
    source_type: Annotated[
        str,
        typer.Option(help=f"What released it 排放源类型: {', '.join(SOURCE_TYPES)}."),
    ] = "unknown",
    source: Annotated[
        str, typer.Option(help="Who or which plant or vehicle 排放源 (free text).")
    ] = "",
    network: NetworkOption = "demo",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open an incident 报告事件: forecast, grade, notices, monitoring plan."""
    determined = _time(determined_at, "determined_at")
    occurred = _time(occurred_at, "occurred_at") if occurred_at else determined
    discovered = _time(discovered_at, "discovered_at") if discovered_at else determined
    try:
        release_fields, fact_fields = json.loads(release), json.loads(facts)
    except json.JSONDecodeError as exc:
        raise fail(f"release or facts is not JSON: {exc}") from None
    cfg = settings(db, region)
    with open_store(cfg) as store:
        region_cities = [str(c) for c in store.cities(region_only=True)["code"]]
        incident_id = service.open_incident(
            store, title=title, network=network, node_id=node, city=city, substance=substance,
            release=release_fields, facts=fact_fields, occurred_at=occurred, discovered_at=discovered,
            determined_at=determined, actor=actor, region_cities=region_cities, now=datetime.now(UTC),
            source_type=source_type, source=source,
        )  # fmt: skip
        _show(store, incident_id)


def _show(store: Store, incident_id: str) -> None:
    view = service.incident_view(store, incident_id)
    record = view["incident"]
    console.print(
        f"[bold]{incident_id}[/bold] {record['title']} — grade 等级 {record['grade']} "
        f"(decided by 依据 {', '.join(record['grade_triggers']) or 'default'}; {record['grade_rule']})",
        markup=True,
        highlight=False,
    )
    kind = str(record.get("source_type") or "unknown")
    console.print(
        f"source 排放源: {kind} ({SOURCE_TYPES.get(kind, kind)}) {record.get('source') or ''}",
        markup=False,
        highlight=False,
    )
    runs = view["forecasts"]
    if runs:
        console.print(
            table(runs[-1]["table"][_SHOWN].round(3), f"forecast run {runs[-1]['run']} 预测")
        )
    notices = view["notices"][
        [
            "notice_id",
            "kind",
            "to_org",
            "to_city",
            "deadline",
            "sent_at",
            "acked_at",
            "escalated_at",
        ]
    ]
    console.print(table(notices, "notices 通报"))
    console.print(table(view["plan"], f"monitoring plan v{view['plan_version']} 监测方案"))


@app.command("list")
def list_incidents(db: DbOption = None, region: RegionOption = None) -> None:
    """Incidents, newest first 事件列表."""
    with open_store(settings(db, region)) as store:
        console.print(table(service.list_incidents(store), "incidents 突发事件"))


@app.command("show")
def show(incident_id: str, db: DbOption = None, region: RegionOption = None) -> None:
    """One incident: grade, forecast, notices, plan 事件详情."""
    with open_store(settings(db, region)) as store:
        _show(store, incident_id)


@app.command("ack")
def ack(incident_id: str, notice_id: int, actor: ActorOption, city: CityOption = None,
        db: DbOption = None, region: RegionOption = None) -> None:  # fmt: skip
    """Acknowledge a notice 确认收到通报."""
    with open_store(settings(db, region)) as store:
        service.acknowledge(store, incident_id, notice_id, city, actor, datetime.now(UTC))
    console.print(f"notice {notice_id} acknowledged 已确认")


@app.command("results")
def results(
    incident_id: str,
    csv: Annotated[
        Path, typer.Argument(help="node_id,sampled_at,value_mg_L,method 监测结果.", exists=True)
    ],
    actor: ActorOption,
    city: CityOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import monitoring results 导入监测结果; refused rows are listed with their reasons."""
    rows = pd.read_csv(csv, dtype={"node_id": str})
    with open_store(settings(db, region)) as store:
        outcome = service.add_results(store, incident_id, rows, city, actor, datetime.now(UTC))
    console.print(f"accepted 接收 {outcome['accepted']}, refused 拒收 {len(outcome['rejected'])}")
    if outcome["rejected"]:
        console.print(table(pd.DataFrame(outcome["rejected"]), "refused rows 拒收行"))


@app.command("approve")
def approve(
    incident_id: str,
    city: str,
    actor: ActorOption,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """A city approves the joint monitoring plan 会签监测方案."""
    with open_store(settings(db, region)) as store:
        state = service.approve_plan(store, incident_id, city, actor, datetime.now(UTC))
    console.print(
        f"plan v{state['version']}: approved by {state['approved']} of {state['parties']}"
    )


@app.command("refit")
def refit(
    incident_id: str, actor: ActorOption, db: DbOption = None, region: RegionOption = None
) -> None:
    """Refit velocity and dispersion to the results and update the forecast 反演更新预测."""
    with open_store(settings(db, region)) as store:
        fit = service.refit(store, incident_id, actor, datetime.now(UTC))
        _show(store, incident_id)
    console.print(
        f"run {fit['run']}: velocity ×{fit['velocity_factor']:.2f}, dispersion ×{fit['dispersion_factor']:.2f}, "
        f"mass ×{fit['mass_factor']:.2f} (rms {fit['rms_mg_L']:.4f} mg/L)"
    )


@app.command("escalate")
def escalate(db: DbOption = None, region: RegionOption = None) -> None:
    """Escalate every overdue unacknowledged notice 逾期未确认上报 (the server also does it)."""
    with open_store(settings(db, region)) as store:
        done = service.escalate_overdue(store, datetime.now(UTC))
    console.print(f"escalated 已上报 {len(done)}: {done}")


@app.command("mail")
def mail(db: DbOption = None, region: RegionOption = None) -> None:
    """E-mail the sent notices to their cities' contacts (the server does it every minute)
    通报邮件发送; needs the SMTP settings (ECOBASIN_SMTP_HOST)."""
    config = settings(db, region)
    if not config.smtp_host:
        raise fail("no SMTP server configured (ECOBASIN_SMTP_HOST) 未配置邮件服务器")
    with open_store(config) as store:
        sent, failed = incident_mail.deliver_notices(store, config, datetime.now(UTC))
    console.print(f"mailed 已发送 {sent}, failed 失败 {failed} (retried next time 下次重试)")


@app.command("contacts")
def contacts(
    city: Annotated[str | None, typer.Argument(help="City code 城市代码 (none: list all).")] = None,
    add: Annotated[str | None, typer.Option("--add", help="Address to add 添加邮箱.")] = None,
    remove: Annotated[str | None, typer.Option("--remove", help="Address to remove.")] = None,
    name: Annotated[str, typer.Option(help="Who reads it, e.g. 值班室 duty office.")] = "",
    actor: Annotated[str, typer.Option("--as", help="Who changes it (recorded) 操作人.")] = "cli",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """A city's notice addresses 城市通报联系人: list, --add or --remove."""
    if (add or remove) and not city:
        raise fail("name the city whose contacts change, e.g. contacts 512000 --add a@b.cn")
    if add and ("@" not in add or len(add) > 254 or any(c.isspace() for c in add)):
        raise fail(f"{add!r} is not an e-mail address 邮箱格式不正确")
    with open_store(settings(db, region)) as store:
        if add and city:
            incident_mail.add_contact(store, city, add, name, actor, datetime.now(UTC))
        if remove and city and not incident_mail.remove_contact(store, city, remove):
            raise fail(f"{city} has no contact {remove}")
        shown = incident_mail.contacts(store, city)
    console.print(table(shown[["city_code", "email", "name", "added_by"]], "contacts 联系人"))


@app.command("replay")
def replay(
    incident_id: str,
    at: Annotated[
        str, typer.Option("--at", help="New determination time 演练开始时间 (ISO, offset).")
    ],
    actor: ActorOption,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Replay an incident as a drill with a clock offset 以时钟偏移重演为演练."""
    start = _time(at, "--at")
    with open_store(settings(db, region)) as store:
        region_cities = [str(c) for c in store.cities(region_only=True)["code"]]
        drill_id = service.replay(
            store, incident_id, start, actor, region_cities, datetime.now(UTC)
        )
        _show(store, drill_id)


@app.command("score")
def score(incident_id: str, db: DbOption = None, region: RegionOption = None) -> None:
    """Notice delays and forecast errors of an incident or drill 演练评分."""
    with open_store(settings(db, region)) as store:
        console.print(service.score(store, incident_id))


@app.command("stocks")
def stocks(
    city: Annotated[str | None, typer.Argument(help="City code 城市代码 (none: all).")] = None,
    set_from: Annotated[
        Path | None,
        typer.Option(
            "--set",
            help="CSV depot_id,depot_name,item,quantity,unit,expires_on: the city's stock "
            "rows to keep 更新储备 (bad rows listed with their reason).",
            exists=True,
        ),
    ] = None,
    actor: Annotated[str, typer.Option("--as", help="Who changes it (recorded) 操作人.")] = "cli",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Emergency reserves by city and depot 应急物资储备: list, or --set a city's rows."""
    if set_from is not None and not city:
        raise fail("name the city whose stock changes, e.g. stocks 510100 --set stock.csv")
    with open_store(settings(db, region)) as store:
        if set_from is not None and city:
            rows = pd.read_csv(set_from, comment="#", dtype={"depot_id": str, "expires_on": str})
            kept = service.set_stocks(store, city, rows, actor, datetime.now(UTC))
            console.print(f"kept {kept['kept']} 已保存, refused 拒收 {len(kept['rejected'])}")
            if kept["rejected"]:
                console.print(table(pd.DataFrame(kept["rejected"]), "refused rows 拒收行"))
        shown = service.stocks(store, datetime.now(UTC), city)
    console.print(table(shown.drop(columns=["updated_at"]), "reserves 应急物资储备"))


@app.command("material")
def material(
    incident_id: str,
    from_city: Annotated[str, typer.Option(help="The city asking 请求城市.")],
    to_city: Annotated[str, typer.Option(help="The city asked 被请求城市.")],
    item: Annotated[str, typer.Option(help="Item, as its depots name it 物资名称.")],
    quantity: Annotated[float, typer.Option(help="Quantity 数量 (> 0).")],
    unit: Annotated[str, typer.Option(help="Unit 单位, e.g. t, m.")],
    actor: ActorOption,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Ask another city for emergency materials during an incident 请求应急物资."""
    with open_store(settings(db, region)) as store:
        request_id = service.request_material(
            store, incident_id, from_city, to_city, item, quantity, unit, actor, datetime.now(UTC)
        )
    console.print(
        f"request {request_id} 已请求: {quantity:g} {unit} {item}, {from_city} ← {to_city}"
    )


@app.command("dispatch")
def dispatch(
    incident_id: str,
    request_id: int,
    actor: ActorOption,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """The asked city dispatches a request from an unexpired depot 调拨物资 (once)."""
    with open_store(settings(db, region)) as store:
        service.dispatch_material(store, incident_id, request_id, actor, datetime.now(UTC))
    console.print(f"request {request_id} dispatched 已调拨")
