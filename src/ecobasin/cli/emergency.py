"""Emergency-list commands: ``ecobasin emergency ratios|account|import-list|export-list|
list-template|activate|activate-warnings|activate-consultation|check|evidence|report|findings|close-finding|
enterprise-user``.

Thin: every command calls :mod:`ecobasin.services.emergency`; JSON goes to stdout, errors to the
console with the record and the reason (emergency.md §1.4, §1.5, §2.5).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape

from ecobasin.cli.common import DbOption, RegionOption, console, fail, open_store, settings
from ecobasin.ingest.emergency_list import (
    BadRow,
    read_list_xlsx,
    write_list_template,
    write_list_xlsx,
)
from ecobasin.services import accounts, consultation, emergency_report
from ecobasin.services import emergency as service
from ecobasin.standards import emergency as em
from ecobasin.store import emergency as db
from ecobasin.workflow.consultation import ConsultationError

__all__ = ["app"]

app = typer.Typer(
    help="Emergency control lists 应急减排清单: ratios, accounting, activation, compliance.",
    no_args_is_help=True,
)
CLI = ("cli", "cli")  # who the audit log names, and how (as ecobasin user does)
CityOption = Annotated[str, typer.Option(help="City code 城市代码, e.g. 510100.")]
LevelOption = Annotated[str, typer.Option(help="Warning level 预警级别: yellow, orange, red.")]


def _echo(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, default=str))


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(
            f"bad time {text!r}: use ISO 8601 with an offset, e.g. 2025-01-02T00:00+08:00"
        ) from exc
    if value.tzinfo is None:
        raise fail(f"time {text!r} has no UTC offset 缺少时区")
    return value


@app.command()
def ratios(
    city: CityOption, level: LevelOption, at: Annotated[str, typer.Option(help="Date 日期.")]
) -> None:
    """Required list reductions 减排比例要求 of a city at a level (emergency.md §1.4) [1]."""
    try:
        _echo(em.required_ratios(city, level, at))
    except (KeyError, ValueError) as exc:
        raise fail(str(exc)) from exc


@app.command()
def account(
    file: Annotated[Path, typer.Argument(help="JSON: {city_baseline_t_per_d, sources: [...]}.")],
    city: CityOption,
    level: LevelOption,
    at: Annotated[str, typer.Option(help="Warning start 预警开始时间 (ISO 8601).")],
) -> None:
    """List accounting 清单减排核算: reductions, ratios, shortfall [t/d], ranked candidates."""
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
        _echo(
            service.account_list(
                doc["sources"], city, level, _when(at), doc["city_baseline_t_per_d"]
            )
        )
    except (OSError, KeyError, ValueError) as exc:
        raise fail(f"{file}: {exc}") from exc


@app.command("import-list")
def import_list(
    file: Annotated[Path, typer.Argument(help="List version: .xlsx (docs/emergency.md) or JSON.")],
    city: CityOption,
    version: Annotated[int | None, typer.Option(help="Version number 版本号 (.xlsx).")] = None,
    effective_from: Annotated[
        str | None, typer.Option(help="In force from 生效时间 (.xlsx; ISO 8601).")
    ] = None,
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Store a list version 导入清单版本 (.xlsx: enterprises, sector measures, baselines and
    工序 processes/lines);
    bad rows are kept aside (`ecobasin rejected`) with sheet, row, column and reason, counted
    in the import report."""
    bad: list[BadRow] = []
    try:
        if file.suffix.lower() == ".xlsx":
            if version is None or effective_from is None:
                raise fail("an .xlsx list needs --version and --effective-from")
            records, bad = read_list_xlsx(file, city)
            doc: dict[str, Any] = {"version": version, "effective_from": effective_from,
                                   "reason": f"import {file.name}", "records": records}  # fmt: skip
        else:
            doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"{file}: {exc}") from exc
    with open_store(settings(db_path, region)) as store:
        store.reject(pd.DataFrame(
            [{"source": file.name, "record_ref": f"{b.sheet} row {b.row}",
              "reason_code": "bad_list_row", "reason": b.text(), "raw": b.id} for b in bad],
            columns=["source", "record_ref", "reason_code", "reason", "raw"],
        ))  # fmt: skip
        try:
            v = service.import_version(store, city, doc, "cli", datetime.now(UTC))
        except (KeyError, ValueError) as exc:
            raise fail(f"{file}: {exc}") from exc
    for b in bad:
        console.print(f"[yellow]kept aside 已隔离:[/] {escape(b.text())}")
    _echo(service.import_report(v, bad))


@app.command("list-template")
def list_template(
    out: Annotated[Path, typer.Argument(help="Workbook to write 模板文件 (.xlsx).")],
) -> None:
    """Write the empty list workbook 清单模板: enterprises, sector measures and baselines with
    bilingual headers, and a notes sheet on every column (docs/emergency.md)."""
    write_list_template(out)
    _echo({"template": str(out)})


@app.command()
def activate(
    city: CityOption,
    level: LevelOption,
    start: Annotated[str, typer.Option(help="Warning start 预警开始 (ISO 8601).")],
    end: Annotated[str, typer.Option(help="Warning end 预警结束 (ISO 8601).")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Activate the list version in force at the warning start 启动应急减排清单."""
    with open_store(settings(db_path, region)) as store:
        try:
            key = service.activate_for_warning(
                store, city, level, _when(start), _when(end), "cli", datetime.now(UTC)
            )
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from exc
    _echo({"activation": key})


@app.command("activate-warnings")
def activate_warnings(
    day: Annotated[str, typer.Option(help="Issue day of the city warnings 预警发布日 (ISO date).")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Activate the list of every city warned on a day (stored forecast warnings) 按预警启动清单."""
    try:
        issue_day = date.fromisoformat(day)
    except ValueError as exc:
        raise fail(f"bad day {day!r}: use 2025-01-02") from exc
    with open_store(settings(db_path, region)) as store:
        made = service.activate_from_warnings(store, issue_day, datetime.now(UTC))
    _echo({"activations": made})


@app.command("activate-consultation")
def activate_consultation(
    session: Annotated[str, typer.Argument(help="Consultation session id 会商编号.")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Activate the list of every city that adopted the joint consultation's warning
    recommendation 按会商预警建议启动清单 (idempotent; the activation names the session)."""
    with open_store(settings(db_path, region)) as store:
        try:
            made = consultation.activate_emergency_lists(store, session, datetime.now(UTC))
        except (LookupError, ConsultationError) as exc:
            raise fail(f"session {session}: {exc}") from exc
    _echo({"activations": made})


@app.command()
def check(
    activation: Annotated[str, typer.Argument(help="Activation id 启动编号.")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Check compliance from online data 在线数据核查 after the warning (emergency.md §2.5)."""
    with open_store(settings(db_path, region)) as store:
        try:
            rows = service.end_and_check(store, activation, datetime.now(UTC))
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from exc
    _echo({"activation": activation, "verdicts": rows})


@app.command()
def report(
    activation: Annotated[str, typer.Argument(help="Activation id 启动编号.")],
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also write the report as PDF 输出PDF报告.")
    ] = None,
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """The compliance report of one warning 合规报告: counts, non-compliant, insufficient-data
    and flagged verdicts (JSON); ``--pdf FILE`` writes the whole report as PDF (file mode 0600)."""
    with open_store(settings(db_path, region), read_only=True) as store:
        try:
            found = service.compliance_report(store, activation)
            body = emergency_report.report_pdf(store, activation) if pdf else None
        except LookupError as exc:
            raise fail(str(exc)) from exc
    if pdf is not None and body is not None:
        pdf.write_bytes(body)
        pdf.chmod(0o600)  # it names enterprises and their verdicts: private by default
    named = {g: [v["uscc"] for v in rows] for g, rows in found["groups"].items()}
    _echo({"activation": activation, "counts": found["counts"], "named": named,
           "flagged": [v["uscc"] for v in found["flagged"]],
           "pdf": None if pdf is None else str(pdf)})  # fmt: skip


@app.command()
def findings(
    status: Annotated[str, typer.Option(help="open, closed or all 状态.")] = "open",
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Findings 待处理问题 with their owners (non-compliance, insufficient data); open ones by
    default. Each has an id for ``close-finding``."""
    if status not in ("open", "closed", "all"):
        raise fail(f"--status {status!r}: use open, closed or all")
    with open_store(settings(db_path, region), read_only=True) as store:
        _echo(db.findings(store, status=None if status == "all" else status))


@app.command("close-finding")
def close_finding(
    finding_id: Annotated[str, typer.Argument(help="Finding id 问题编号 (from findings).")],
    note: Annotated[str, typer.Option(help="Why it is closed 关闭说明 (site check, rectified …).")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Close an open finding with a note 关闭问题 (kept with it: who, when, why)."""
    with open_store(settings(db_path, region)) as store:
        try:
            closed = service.close_finding(store, finding_id, note, "cli", datetime.now(UTC))
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from exc
    _echo(closed)


@app.command("open-cases")
def open_cases(
    actor: Annotated[str, typer.Option("--as", help="Who opens them (recorded) 操作人.")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Open a rectification case for every open finding without one 问题转整改案件 (linked to
    it, once: the supervision workflow takes it from there)."""
    with open_store(settings(db_path, region)) as store:
        made = service.open_finding_cases(store, actor, datetime.now(UTC))
    _echo(made)


@app.command()
def evidence(
    activation: Annotated[str, typer.Argument(help="Activation id 启动编号.")],
    uscc: Annotated[str, typer.Option(help="Unified social credit code 统一社会信用代码.")],
    outlet: Annotated[str, typer.Option(help="Outlet (HJ 212 MN) 排放口.")],
    pollutant: Annotated[str, typer.Option(help="SO2, NOx, PM or VOCs 污染物.")] = "NOx",
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Evidence of one verdict as CSV 核查证据: hourly table, flags, measure, list version."""
    with open_store(settings(db_path, region), read_only=True) as store:
        try:
            frame = service.evidence(store, activation, uscc, outlet, pollutant)
        except LookupError as exc:
            raise fail(str(exc)) from exc
    typer.echo(frame.to_csv(index=False), nl=False)


@app.command("export-list")
def export_list(
    out: Annotated[Path, typer.Argument(help="Workbook to write 导出文件 (.xlsx).")],
    city: CityOption,
    version: Annotated[int | None, typer.Option(help="Version 版本号; default the latest.")] = None,
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Export a list version in the bureaus' spreadsheet layout 导出清单 (docs/emergency.md)."""
    with open_store(settings(db_path, region), read_only=True) as store:
        versions = db.list_versions(store, city)
    chosen = [v for v in versions if version is None or v.version == version]
    if not chosen:
        raise fail(f"no list version {version or ''} for city {city}")
    write_list_xlsx(chosen[-1].records, out, city)
    out.chmod(0o600)  # the list names enterprises and their measures: private by default
    _echo({"city": city, "version": chosen[-1].version, "records": len(chosen[-1].records)})


@app.command("enterprise-user")
def enterprise_user(
    name: Annotated[str, typer.Argument(help="User name 用户名.")],
    uscc: Annotated[str, typer.Option(help="Unified social credit code 统一社会信用代码.")],
    db_path: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Create an enterprise account 企业账户 bound to one listed enterprise: it reads only that
    enterprise's measures, warnings, verdicts and evidence. The password is printed once."""
    with open_store(settings(db_path, region)) as store:
        if not db.versions_with(store, uscc):
            raise fail(
                f"enterprise {uscc} is on no stored list 未列入任何清单: import the list first"
            )
        try:
            user, password = accounts.create_user(store.con, name, "enterprise")
        except accounts.AccountError as error:
            raise fail(str(error)) from None
        db.bind_enterprise_user(store, user.user_id, uscc, datetime.now(UTC))
        accounts.audit_as(store.con, *CLI, "users.create", user.name, None,
                          {"role": "enterprise", "uscc": uscc})  # fmt: skip
    console.print(f"[green]enterprise user created 企业账户已创建:[/] {user.name} ({uscc})")
    if password:
        console.print("password (shown once 仅显示一次):")
        typer.echo(password)
