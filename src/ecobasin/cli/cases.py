"""Rectification cases and key tasks on the command line (issue 18):
``ecobasin cases list|show|register|act|attach|from-finding|grant|inspection|problems|contact|remind|sweep|
workdays`` and
``ecobasin keytasks plan|import|board|decision|report``.

Thin: every command calls :mod:`ecobasin.services.cases` or :mod:`ecobasin.services.keytasks`,
which the API uses too. A command acts ``--as`` a user; the policy module decides the role that
user acts in from their case roles, as for the API. Refusals print the case and the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

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
from ecobasin.errors import InputError
from ecobasin.services import case_mail
from ecobasin.services import cases as service
from ecobasin.services import inspections as inspections_service
from ecobasin.services import keytasks as keytasks_service
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.web.security.policy import CASE_ROLES, Principal, case_actor_role
from ecobasin.web.security.policy import CaseScope as Scope
from ecobasin.workflow.cases import Case, CaseError
from ecobasin.workflow.inspections import InspectionError
from ecobasin.workflow.keytasks import KeyTaskError

__all__ = ["app", "keytasks_app"]

CST = timezone(timedelta(hours=8))
app = typer.Typer(
    help="Rectification cases 督察整改: the board, one case, actions, evidence, roles.",
    no_args_is_help=True,
)
keytasks_app = typer.Typer(
    help="The region's key tasks 年度重点任务: plans, .xlsx imports, boards, progress.",
    no_args_is_help=True,
)
ActorOption = Annotated[str, typer.Option("--as", help="Who acts (their case roles apply) 操作人.")]


def _role(store: Store, user: str, action: str, case: Case | None) -> str:
    """The role ``user`` acts in (policy module), or exit naming the missing right."""
    scope = (
        Scope(case.city_code, case.lead_unit, case.co_units, case.acceptance_level,
              case.jurisdictions, case.kind)
        if case else None
    )  # fmt: skip
    principal = Principal(name=user, role="viewer")
    role, reason = case_actor_role(principal, store_cases.roles_of(store, user), action, scope)
    if role is None:
        raise fail(reason or action)
    return role


def _facts(text: str) -> dict[str, Any]:
    try:
        raw = json.loads(text) if text.strip() else {}
        return service.parse_facts(raw)
    except (json.JSONDecodeError, ValueError) as error:
        raise fail(f"--facts: {error}") from None


@app.command("list")
def list_cases(
    view: Annotated[str, typer.Option(help="all, overdue or due_soon 全部/逾期/临期.")] = "all",
    city: Annotated[int | None, typer.Option(help="City code 城市代码.")] = None,
    kind: Annotated[str | None, typer.Option(help="task, petition or joint.")] = None,
    output: Annotated[str, typer.Option("--format", help="table or csv.")] = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open cases with the running clock in working days, overdue first 督办看板."""
    if view not in ("all", "overdue", "due_soon"):
        raise fail(f"--view {view!r}: use all, overdue or due_soon")
    with open_store(settings(db, region), read_only=True) as store:
        rows = service.board(store, datetime.now(CST).date(), city, kind)
    frame = pd.DataFrame([r for r in rows if view == "all" or r[view]])
    if output == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        console.print(table(frame, f"cases 案件 ({view}): {len(frame)}"))


@app.command()
def show(
    case_id: Annotated[str, typer.Argument(help="Case id 案件编号.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """One case as JSON on stdout: fields, evidence, acceptances and the trail."""
    with open_store(settings(db, region), read_only=True) as store:
        try:
            found = store_cases.load(store, case_id)
        except LookupError as error:
            raise fail(str(error)) from None
        view = service.case_view(found, datetime.now(CST).date())
        view["trail"] = store_cases.transitions(store, case_id)
    typer.echo(json.dumps(view, ensure_ascii=False, indent=1, default=str))


@app.command()
def register(
    actor: ActorOption,
    facts: Annotated[
        str,
        typer.Option(help="JSON: source_type, title, problem_text, category, city_code … (§2.2)."),
    ],
    kind: Annotated[str, typer.Option(help="task, petition or joint.")] = "task",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Register a problem, a petition or a joint case 登记问题."""
    with open_store(settings(db, region)) as store:
        role = _role(store, actor, "register", None)
        try:
            made = service.register(store, kind, _facts(facts), actor, role, datetime.now(UTC))
        except CaseError as error:
            raise fail(str(error)) from None
    typer.echo(made.case_id)
    console.print(f"{made.case_id}: {made.state}")


@app.command()
def act(
    case_id: Annotated[str, typer.Argument(help="Case id 案件编号.")],
    action: Annotated[
        str, typer.Argument(help="transfer, accept, submit_plan, pass, close … (§2.2).")
    ],
    actor: ActorOption,
    facts: Annotated[str, typer.Option(help="JSON fields of the action.")] = "{}",
    reason: Annotated[str, typer.Option(help="Why (kept in the trail) 理由.")] = "",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """One action of the case machine, by the role the policy names for ``--as``."""
    with open_store(settings(db, region)) as store:
        try:
            found = store_cases.load(store, case_id)
            role = _role(store, actor, action, found)
            given = {**_facts(facts), "reason": reason}
            after = service.act(store, case_id, action, actor, role, given, datetime.now(UTC))
        except (CaseError, LookupError, ValueError) as error:
            raise fail(str(error)) from None
    console.print(f"{case_id}: {after.state}")


@app.command()
def attach(
    case_id: Annotated[str, typer.Argument(help="Case id 案件编号.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Photo or PDF.")],
    actor: ActorOption,
    kind: Annotated[str, typer.Option(help="Evidence kind, e.g. photo_before 证据类型.")],
    phase: Annotated[str, typer.Option(help="before, during or after 整改前/中/后.")] = "after",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Add evidence to a case (stored once under its SHA-256, typed by content)."""
    with open_store(settings(db, region)) as store:
        try:
            found = store_cases.load(store, case_id)
            role = _role(store, actor, "upload_evidence", found)
            item = service.attach(
                store, case_id, file.read_bytes(), file.name, kind, phase, actor, role,
                datetime.now(UTC),
            )  # fmt: skip
        except (CaseError, LookupError, service.AttachmentError) as error:
            raise fail(str(error)) from None
    console.print(f"{case_id}: {item.kind} {item.sha256[:12]} ({item.media_type}, {item.size} B)")


@app.command("from-finding")
def from_finding(
    source_kind: Annotated[str, typer.Argument(help="alarm, emergency_finding, noise_complaint …")],
    source_id: Annotated[str, typer.Argument(help="The finding's id.")],
    actor: ActorOption,
    facts: Annotated[str, typer.Option(help="JSON: title, problem_text, category, city_code.")],
    url: Annotated[str, typer.Option(help="Where the finding is shown (default by kind).")] = "",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open a task from a finding, linked (not copied); an already linked finding opens none."""
    with open_store(settings(db, region)) as store:
        role = _role(store, actor, "open_from_finding", None)
        try:
            made, created = service.open_from_finding(
                store, source_kind, source_id, url, _facts(facts), actor,
                "supervision_office" if role == "province" else role, datetime.now(UTC),
            )  # fmt: skip
        except CaseError as error:
            raise fail(str(error)) from None
    typer.echo(made.case_id)
    console.print(f"{made.case_id}: {'opened' if created else 'already open 已有案件'}")


@app.command()
def grant(
    user: Annotated[str, typer.Argument(help="User name 用户名.")],
    role: Annotated[str, typer.Argument(help=f"Case role 角色: {', '.join(CASE_ROLES[:-1])}.")],
    actor: ActorOption,
    city: Annotated[int | None, typer.Option(help="City code (none: province or region).")] = None,
    unit: Annotated[str, typer.Option(help="Unit name (lead and co units) 单位名称.")] = "",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Give a user a case role (the database operator's command; the API needs the province)."""
    if role not in CASE_ROLES or role == "public":
        raise fail(f"unknown case role {role!r}: use one of {', '.join(CASE_ROLES[:-1])}")
    if role in ("lead_unit", "co_unit") and not unit:
        raise fail(f"{role} needs --unit (the unit it acts for)")
    with open_store(settings(db, region)) as store:
        store_cases.grant_role(store, user, role, city, unit, actor, datetime.now(UTC))
    console.print(f"{user}: {role}{'' if city is None else f' of {city}'} {unit}")


@app.command("inspection")
def inspection(
    title: Annotated[str, typer.Option(help="Title, e.g. 省级第三轮第四批 督察名称.")],
    kind: Annotated[str, typer.Option(help="provincial, joint or routine 督察类型.")],
    inspector: Annotated[str, typer.Option(help="Who inspected 督察组.")],
    started: Annotated[str, typer.Option(help="First day YYYY-MM-DD 开始日期.")],
    city: Annotated[list[int], typer.Option(help="A city inspected (repeat) 被督察城市.")],
    actor: ActorOption,
    ended: Annotated[str | None, typer.Option(help="Last day YYYY-MM-DD 结束日期.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Record an inspection 督察 (who, when, which cities, what kind); prints its id."""
    config = settings(db, region)
    with open_store(config) as store:
        _role(store, actor, "manage_inspections", None)
        try:
            made = inspections_service.create_inspection(
                store, {"title": title, "kind": kind, "inspector": inspector,
                        "started_on": started, "ended_on": ended, "cities": city},
                actor, datetime.now(UTC), list(load_region(config).cities),
            )  # fmt: skip
        except InspectionError as error:
            raise fail(str(error)) from None
    console.print(f"inspection {made['inspection_id']}: {made['title']} ({made['kind_zh']})")


@app.command("problems")
def problems(
    inspection_id: Annotated[int, typer.Argument(help="The inspection 督察编号.")],
    file: Annotated[Path, typer.Argument(help=".xlsx: 编号 城市 类别 问题 案件 反馈问题清单.")],
    actor: ActorOption,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import an inspection's feedback problems: each opens a rectification task (or links the
    case its 案件 cell names); every bad row is kept aside with its row number and reason
    (`ecobasin rejected`) 导入反馈问题."""
    if not file.exists():
        raise fail(f"{file} does not exist")
    with open_store(settings(db, region)) as store:
        role = _role(store, actor, "manage_inspections", None)
        try:
            done = inspections_service.import_problems(
                store, inspection_id, file, actor, role, datetime.now(UTC)
            )
        except (LookupError, InspectionError, CaseError) as error:
            raise fail(str(error)) from None
    console.print(
        f"{file}: {done['added']} problems 问题 ({len(done['opened'])} cases opened 立案, "
        f"{len(done['linked'])} linked 关联), {len(done['rejects'])} kept aside 另存"
    )
    for row in done["rejects"]:
        console.print(f"  row {row['row']}: {row['reason']}")


@app.command("contact")
def contact(
    unit: Annotated[str, typer.Argument(help="Responsible unit as cases name it 牵头单位.")],
    email: Annotated[str, typer.Argument(help="Address of the unit 邮箱.")],
    name: Annotated[str, typer.Option(help="Who reads it 联系人.")] = "",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Add an e-mail address of a responsible unit: `ecobasin serve` mails it the reminders of
    its cases due within `case_reminder_wd` working days (ECOBASIN_CASE_REMINDER_WD) and overdue
    整改提醒联系人."""
    with open_store(settings(db, region)) as store:
        try:
            case_mail.add_contact(store, unit, email, name, "cli", datetime.now(UTC))
        except InputError as error:
            raise fail(str(error)) from None
    console.print(f"{unit}: {email} added 已添加")


@app.command("remind")
def remind(db: DbOption = None, region: RegionOption = None) -> None:
    """Mail the owed reminders now (what `ecobasin serve` does every round) 发送整改提醒."""
    config = settings(db, region)
    with open_store(config) as store:
        sent, failed = case_mail.send_reminders(store, config, datetime.now(UTC))
    console.print(f"reminders 提醒: {sent} sent 已发送, {failed} failed 失败")


@app.command()
def sweep(db: DbOption = None, region: RegionOption = None) -> None:
    """Record overdue cases once, when their clock first trips (`ecobasin serve` runs it daily)."""
    with open_store(settings(db, region)) as store:
        marked = service.sweep_overdue(store, datetime.now(UTC))
    console.print(f"overdue 逾期 newly recorded: {len(marked)} {' '.join(marked)}")


@app.command()
def workdays(
    start: Annotated[str, typer.Argument(help="Start day YYYY-MM-DD 起算日.")],
    days: Annotated[int, typer.Argument(help="Working days to add [WD] 工作日数.")],
) -> None:
    """The day N working days after START (Chinese holidays and 调休, chinese-calendar)."""
    try:
        due = service.calendar().add(date.fromisoformat(start), days)
    except ValueError as error:
        raise fail(str(error)) from None
    typer.echo(due.day.isoformat())
    if due.provisional:
        console.print("provisional 暂定: a year the installed holiday calendar does not cover yet")


@keytasks_app.command("plan")
def plan(
    plan_id: Annotated[str, typer.Argument(help="Plan id, e.g. cy-2026.")],
    year: Annotated[int, typer.Option(help="Year 年度.")],
    title: Annotated[str, typer.Option(help="Title 名称.")],
    issuer: Annotated[str, typer.Option(help="Issuer 印发单位.")],
    source: Annotated[str, typer.Option(help="Source document 文件来源.")] = "",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Create a work plan 创建年度工作计划."""
    with open_store(settings(db, region)) as store:
        keytasks_service.create_plan(store, plan_id, year, title, issuer, source)
    console.print(f"{plan_id}: {title}")


@keytasks_app.command("import")
def import_tasks(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx task list.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import a task list (.xlsx: 方面 编号 任务 牵头单位 配合单位 成果 完成时限); bad rows kept aside."""
    with open_store(settings(db, region)) as store:
        try:
            result = keytasks_service.import_xlsx(store, file, plan_id, datetime.now(UTC))
        except (KeyTaskError, LookupError) as error:
            raise fail(str(error)) from None
    console.print(
        f"{result['file']}: {result['imported']} imported, {result['rejected']} kept aside"
    )
    for row in result["rejects"]:
        console.print(f"  row {row['row']}: {row['reason']}")


@keytasks_app.command("board")
def keytask_board(
    plan_id: Annotated[str | None, typer.Option(help="Plan id (default: every plan).")] = None,
    by: Annotated[str, typer.Option(help="area or owner 按方面/按责任单位.")] = "area",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Tasks per area or per owner with their state 重点任务看板."""
    with open_store(settings(db, region), read_only=True) as store:
        try:
            groups = keytasks_service.board(store, plan_id, by, datetime.now(CST).date())
        except ValueError as error:
            raise fail(str(error)) from None
    rows = [
        {"group": g["group"], "task": t["task_id"], "title": t["title"], "due": t["due"],
         "state": t["state"], "percent": t["percent"], "overdue": t["overdue"]}
        for g in groups for t in g["tasks"]
    ]  # fmt: skip
    console.print(table(pd.DataFrame(rows), f"key tasks by {by} 重点任务"))
