"""Joint forecast consultation commands: ``ecobasin consultation rota|schedule|list|show|handover|grant|
reports|report|actions``.

Thin: every command calls :mod:`ecobasin.services.consultation`, which the API uses too; the
state machine's refusals are printed with the record and the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from ecobasin.cli.common import DbOption, RegionOption, console, fail, open_store, settings, table
from ecobasin.services import consultation as service
from ecobasin.services import consultation_reports as reports_service
from ecobasin.store import consultation as store_consultation
from ecobasin.workflow.consultation import SESSION_KINDS, ConsultationError, load_rota
from ecobasin.workflow.consultation_roles import CONSULTATION_ROLES

__all__ = ["app"]

app = typer.Typer(
    help="Joint forecast consultation 联合会商: chair rota, sessions, hand-overs, reports (HTML, PDF), action items.",
    no_args_is_help=True,
)
ActorOption = Annotated[str, typer.Option("--as", help="Who acts (recorded in the audit) 操作人.")]


def _cst_noon(day: date) -> datetime:
    """Noon China Standard Time (UTC+8) of ``day`` as a UTC instant."""
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


@app.command()
def rota(
    year: Annotated[int, typer.Option(help="Year 年份.")] = 2026,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Chair and deputy city per month 轮值主席表, after recorded hand-overs."""
    try:
        plan = load_rota(year)
    except FileNotFoundError:
        raise fail(
            f"no chair rota for {year} (catalog/data/consultation/chair_rota_{year}.toml)"
        ) from None
    with open_store(settings(db, region)) as store:
        handed = store_consultation.handovers(store, year)
    rows = [
        {"month 月": m, "chair 主席": chair, "deputy 副主席": deputy,
         "hand-overs 交接": ", ".join(f"{d}: {c}" for d, c in sorted(handed.items()) if d.month == m)}
        for m, (chair, deputy) in sorted(plan.months.items())
    ]  # fmt: skip
    console.print(table(pd.DataFrame(rows), f"chair rota {year} 轮值主席 ({plan.source})"))


@app.command("schedule")
def schedule_command(
    kind: Annotated[
        str, typer.Argument(help=f"Session type 会商类型: {', '.join(SESSION_KINDS)}.")
    ],
    session_date: Annotated[
        str, typer.Argument(help="Session date 会商日期 (China Standard Time), 2026-02-02.")
    ],
    actor: ActorOption,
    deadline_hours: Annotated[
        int,
        typer.Option(help="Submission deadline, hours after noon CST of the date [h] 提交截止."),
    ] = 0,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Schedule a session 安排会商; the chair comes from the rota for its date."""
    try:
        day = date.fromisoformat(session_date)
    except ValueError:
        raise fail(f"session date {session_date!r} is not YYYY-MM-DD") from None
    deadline = _cst_noon(day) + timedelta(hours=deadline_hours)
    with open_store(settings(db, region)) as store:
        try:
            s = service.schedule_session(store, kind, day, deadline, actor, datetime.now(UTC))
        except (ConsultationError, KeyError, FileNotFoundError) as error:
            raise fail(str(error)) from None
    console.print(
        f"scheduled 已安排 {s.session_id}: chair 主席 {s.chair_city}, deadline 截止 {s.deadline.isoformat()}"
    )


@app.command("list")
def list_command(db: DbOption = None, region: RegionOption = None) -> None:
    """Sessions, latest version each 会商列表."""
    with open_store(settings(db, region), read_only=True) as store:
        rows = service.list_view(store)
    if not rows:
        raise fail("no consultation sessions yet: `ecobasin consultation schedule …`")
    console.print(table(pd.DataFrame(rows), "consultation sessions 会商"))


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(help="Session id 会商编号.")],
    lang: Annotated[str, typer.Option(help="zh or en 语言.")] = "zh",
    version: Annotated[int | None, typer.Option(help="Version 版本 (default: latest).")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """One session as JSON 会商详情 (the same as GET /api/v1/consultation/sessions/ID)."""
    with open_store(settings(db, region), read_only=True) as store:
        try:
            view = service.session_view(store, session_id, lang, version)
        except LookupError as error:
            raise fail(str(error)) from None
    typer.echo(json.dumps(view, ensure_ascii=False))


@app.command()
def handover(
    day: Annotated[
        str, typer.Argument(help="First day 起始日, 2026-02-15 (to the end of its month).")
    ],
    city: Annotated[int, typer.Argument(help="New chair city code 接任城市代码, e.g. 511400.")],
    reason: Annotated[str, typer.Option(help="Why 交接理由 (required).")],
    actor: ActorOption,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Record a hand-over of the chair 记录主席交接 (province coordinator)."""
    with open_store(settings(db, region)) as store:
        try:
            store_consultation.record_handover(
                store, date.fromisoformat(day), city, reason, actor, datetime.now(UTC)
            )
        except ValueError as error:
            raise fail(str(error)) from None
    console.print(f"chair from 主席自 {day}: {city}")


@app.command()
def grant(
    user: Annotated[str, typer.Argument(help="User name 用户名.")],
    role: Annotated[
        str, typer.Argument(help=f"Consultation role 会商角色: {', '.join(CONSULTATION_ROLES)}.")
    ],
    actor: ActorOption,
    city: Annotated[int | None, typer.Option(help="City code 城市代码 (city roles).")] = None,
    email: Annotated[
        str | None, typer.Option(help="Address notifications are mailed to 通知邮箱 (optional).")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Give a user a consultation role 授予会商角色 (the chair follows the rota, not a role)."""
    if role not in CONSULTATION_ROLES:
        raise fail(f"unknown role {role!r}: use one of {', '.join(CONSULTATION_ROLES)}")
    if role.startswith("city_") and city is None:
        raise fail(f"{role} needs --city (the city it acts for)")
    with open_store(settings(db, region)) as store:
        store_consultation.grant_role(store, user, role, city, actor, datetime.now(UTC))
        if email:
            if "@" not in email or len(email) > 254:
                raise fail(f"{email!r} is not an e-mail address (邮箱格式错误)")
            store_consultation.set_email(store, user, email)
    console.print(f"{user}: {role}{'' if city is None else f' of {city}'}")


@app.command("reports")
def reports_command(
    session_id: Annotated[str, typer.Argument(help="Session id 会商编号.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Every report stored for a session 会商报告 (HTML and PDF; fetch one with `report`)."""
    with open_store(settings(db, region), read_only=True) as store:
        rows = service.reports_of(store, session_id)
    if not rows:
        raise fail(f"no reports stored for {session_id} (尚无报告)")
    console.print(table(pd.DataFrame(rows), f"reports of {session_id} 报告"))


@app.command("report")
def report_command(
    sha256: Annotated[str, typer.Argument(help="SHA-256 of the stored report 报告哈希.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write 输出文件.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Write a stored report byte for byte (HTML or PDF) 下载报告; the file is private (0600)."""
    with open_store(settings(db, region), read_only=True) as store:
        try:
            media_type, content = store_consultation.report(store, sha256)
        except LookupError as error:
            raise fail(str(error)) from None
    output.touch(mode=0o600)
    output.write_bytes(content)
    console.print(f"{output}: {media_type}, {len(content)} bytes")


@app.command("actions")
def actions_command(
    session_id: Annotated[str | None, typer.Option(help="One session 会商编号.")] = None,
    state: Annotated[str | None, typer.Option(help="open or closed 状态.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Action items of the monthly minutes 议定事项, by due day."""
    with open_store(settings(db, region), read_only=True) as store:
        rows = reports_service.list_actions(store, session_id, state)
    if not rows:
        raise fail("no action items (无议定事项)")
    keep = ["action_id", "text", "owner_name", "due", "state", "close_note"]
    console.print(table(pd.DataFrame(rows)[keep], "action items 议定事项"))
