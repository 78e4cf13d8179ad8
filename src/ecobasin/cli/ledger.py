"""``ecobasin ledger``: the carbon-inclusive ledger 碳普惠账本 — accounts, behaviour events, balances,
redemption, donation, expiry, project reductions (register, monitor, issue, retire), the
hash-chain check ``ledger verify``, holder keys, partners' merchant accounts and ceilings, pool
administrators, and the anomaly report ``ledger anomalies``.

Tables go to the stderr console; CSV and JSON go to stdout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer

from ecobasin import catalog
from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules as carbon_rules
from ecobasin.carbon.ledger import LedgerError
from ecobasin.carbon.rules import RuleError
from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    emit,
    fail,
    open_store,
    settings,
)
from ecobasin.errors import NotFound
from ecobasin.services import ledger as ledger_service
from ecobasin.store import Store
from ecobasin.timebase import CST

__all__ = ["app"]

app = typer.Typer(
    help="Carbon-inclusive ledger 碳普惠账本: accounts and holder keys, events, balances, "
    "redemptions with the holder's consent, partners, pools, projects, verify, anomalies.",
    no_args_is_help=True,
)
account_app = typer.Typer(help="Ledger accounts 账户.", no_args_is_help=True)
project_app = typer.Typer(
    help="Project reductions 项目减排量: register, monitor, issue, retire.", no_args_is_help=True
)
partner_app = typer.Typer(
    help="Ledger partners 合作方: the merchant accounts a merchant partner credits, daily "
    "ceilings of points an events partner credits.",
    no_args_is_help=True,
)
pool_app = typer.Typer(
    help="Pools 资金池 (donation pools): who may debit them.", no_args_is_help=True
)
app.add_typer(account_app, name="account")
app.add_typer(project_app, name="project")
app.add_typer(partner_app, name="partner")
app.add_typer(pool_app, name="pool")

FormatOption = Annotated[
    str, typer.Option("--format", help="table, csv or json 输出格式 (csv/json to stdout).")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key", help="Idempotency key 幂等键: a retry with the same key is not applied twice."
    ),
]
RuleSetOption = Annotated[
    str | None, typer.Option("--rule-set", help="Rule set id 规则集 [default: the shipped one].")
]
VersionOption = Annotated[
    str | None, typer.Option("--version", help="Rule set version 版本 [default: the latest].")
]
T = TypeVar("T")


@contextmanager
def _ledger_errors() -> Iterator[None]:
    """Refusals of the ledger as clear errors (exit 1), never tracebacks."""
    try:
        yield
    except (LedgerError, RuleError) as error:
        raise fail(str(error)) from None


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise fail(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise fail(f"{what} {text!r} is not a number")
    return value


def _run(db: Path | None, region: str | None, action: Callable[[Store], T]) -> T:
    with open_store(settings(db, region)) as store, _ledger_errors():
        return action(store)


def _city(city: str | None) -> int | None:
    if city is None:
        return None
    try:
        return catalog.city_code(city)
    except KeyError:
        raise fail(f"unknown city {city!r}; give a GB/T 2260 code or a name (成都)") from None


def _rules(rule_set: str | None, version: str | None) -> carbon_rules.RuleSet:
    try:
        return ledger_service.rule_set(rule_set, version)
    except NotFound as error:
        raise fail(str(error)) from None


def _said(appended: ledger_service.Appended, what: str) -> None:
    entry = appended.entries[0]
    if appended.replayed:
        console.print(f"{what}: already recorded as entry {entry.seq} (same key; nothing done)")
    else:
        console.print(f"{what}: entry {entry.seq} {entry.hash[:16]}…")


# -- accounts ----------------------------------------------------------------------------------
@account_app.command("add")
def account_add(
    account_id: Annotated[str, typer.Argument(help="Account id 账户号.")],
    kind: Annotated[
        str, typer.Option("--kind", help="person, organisation, merchant, project or pool 类型.")
    ] = "person",
    name: Annotated[str, typer.Option("--name", help="Display name 名称.")] = "",
    city: Annotated[str | None, typer.Option("--city", help="City code or name 城市.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Register an account 注册账户."""
    code = _city(city)
    _run(
        db,
        region,
        lambda s: ledger_service.add_account(s, account_id, kind, name or account_id, code),
    )
    console.print(f"account {account_id} ({kind}) added 已添加")


@account_app.command("list")
def account_list(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind 类型.")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Accounts with their balances 账户及余额 (points 积分, grams g CO2e 减排量)."""
    frame = _run(db, region, lambda s: ledger_service.accounts(s, kind))
    emit(frame, fmt, "Accounts 账户", value=ledger_service.plain)


@account_app.command("key")
def account_key(
    account_id: Annotated[str, typer.Argument(help="Account id 账户号.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Issue the holder key 持有人密钥 of an account (printed once, only its hash is kept; an
    earlier key stops working). The holder's app creates redemption codes with it (POST
    /api/v1/ledger/consents, header X-Holder-Key): no redemption without the holder's consent."""
    key = _run(db, region, lambda s: ledger_service.issue_holder_key(s, account_id))
    console.print(f"holder key of {account_id} (shown once 仅显示一次):")
    typer.echo(key)


# -- partners and pools ------------------------------------------------------------------------
@partner_app.command("bind")
def partner_bind(
    partner: Annotated[str, typer.Argument(help="Partner user name 合作方用户名.")],
    account_id: Annotated[str, typer.Argument(help="Its merchant account 商户账户.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Let a merchant partner credit a merchant account 绑定商户账户 (it credits no other)."""
    _run(db, region, lambda s: ledger_service.bind_partner_account(s, partner, account_id))
    console.print(f"partner {partner} may credit merchant account {account_id} 已绑定")


@partner_app.command("limit")
def partner_limit_command(
    partner: Annotated[str, typer.Argument(help="Partner user name 合作方用户名.")],
    daily_points: Annotated[
        str, typer.Option("--daily-points", help="Most points its events earn a day [points].")
    ],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Set the daily ceiling 每日上限 of points a partner's events may earn (CST day)."""
    amount = _decimal(daily_points, "--daily-points")
    _run(db, region, lambda s: ledger_service.set_partner_limit(s, partner, amount))
    console.print(f"partner {partner}: at most {amount} points a day 每日上限")


@partner_app.command("show")
def partner_show(
    partner: Annotated[str, typer.Argument(help="Partner user name 合作方用户名.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """A partner's merchant accounts and daily ceiling 合作方绑定与上限 (JSON)."""
    default = Decimal(settings(db, region).ledger_partner_daily_points)

    def read(store: Store) -> dict[str, Any]:
        return {
            "partner": partner,
            "merchant_accounts": ledger_service.partner_accounts(store, partner),
            "daily_points": str(ledger_service.partner_limit(store, partner, default)),
        }

    typer.echo(json.dumps(_run(db, region, read), ensure_ascii=False))


@pool_app.command("admin")
def pool_admin(
    pool: Annotated[str, typer.Argument(help="Pool account 资金池账户.")],
    user: Annotated[str, typer.Argument(help="User name of its administrator 管理员.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Make a user an administrator of a pool 资金池管理员: only they debit it on the API."""
    _run(db, region, lambda s: ledger_service.add_pool_admin(s, pool, user))
    console.print(f"{user} administers pool {pool} 已授权")


# -- rules and events --------------------------------------------------------------------------
@app.command("rules")
def rules_command(
    rule_set: RuleSetOption = None,
    version: VersionOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Behaviour rules of a rule set 行为规则: method, numbers, caps, evidence, sources."""
    chosen = _rules(rule_set, version)
    rows = [
        {
            "behaviour": r.behaviour,
            "name": r.label(),
            "method": r.method,
            "unit": r.unit,
            "numbers": ", ".join(f"{k}={v}" for k, v in r.params.items()),
            "daily_cap_points": r.daily_cap_points,
            "dedupe": r.dedupe
            + (f" {r.dedupe_window_minutes} min" if r.dedupe == "window" else ""),
            "evidence": " | ".join(r.evidence),
            "source": r.source,
        }
        for r in chosen.behaviours.values()
    ]
    console.print(
        f"{chosen.key} ({chosen.status}) valid from {chosen.valid_from}; points valid "
        f"{chosen.valid_months} months; at most {chosen.account_daily_cap_points or '—'} points "
        f"per account a day 账户每日上限; sha256 {chosen.sha256[:16]}…"
    )
    emit(pd.DataFrame(rows), fmt, f"{chosen.name_zh} {chosen.name_en}", value=ledger_service.plain)


@app.command("record")
def record(
    file: Annotated[Path, typer.Argument(help="Events CSV 行为事件文件.", exists=True)],
    rule_set: RuleSetOption = None,
    version: VersionOption = None,
    max_age_days: Annotated[
        int | None,
        typer.Option(
            "--max-age-days",
            min=0,
            help="Refuse events older than this [days] 事件最长时效; 0: no limit (a back-office "
            "backfill) [default: ledger_max_event_age_days, 7].",
        ),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Credit behaviour events 记录低碳行为 from a CSV (event_id, account, behaviour, time,
    quantity, source[, evidence_ref]); a repeated event id, the same behaviour from another
    source, an event too old or over a daily ceiling … is rejected with its reason (ecobasin
    rejected)."""
    chosen = _rules(rule_set, version)
    days = settings(db, region).ledger_max_event_age_days if max_age_days is None else max_age_days
    max_age = timedelta(days=days) if days else None
    with _ledger_errors():
        events, bad = core.parse_events_csv(file.read_text(encoding="utf-8"), file.name)
    result = _run(
        db,
        region,
        lambda s: ledger_service.record_events(s, events, chosen, file.name, bad, max_age=max_age),
    )
    counts = result.counts()
    console.print(
        f"{file.name}: {counts['credited']} events credited 已记入 ({counts['points']} points, "
        f"{counts['grams']} g CO2e), {counts['rejected']} rejected 拒绝 {counts['reasons']}"
    )


# -- balances and movements ------------------------------------------------------------------
@app.command("balance")
def balance_command(
    account: Annotated[str | None, typer.Argument(help="Account 账户 [default: all].")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Balances 余额: points 积分 and grams CO2e 减排量 [g]."""

    frame = _run(db, region, lambda s: ledger_service.balances(s, account))
    emit(frame, fmt, "Balances 余额", value=ledger_service.plain)


@app.command("redeem")
def redeem_command(
    account: Annotated[str, typer.Argument(help="Account 账户.")],
    points: Annotated[str, typer.Argument(help="Points to spend 兑换积分.")],
    merchant: Annotated[str, typer.Option("--merchant", help="Merchant account 商户.")] = "",
    key: KeyOption = None,
    consent: Annotated[
        str | None,
        typer.Option("--consent", help="The holder's redemption code 持有人兑换码 (spent once)."),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Redeem points 积分兑换 at the registry desk (refused when the balance is short 余额不足,
    or amounts below 0.001). With --consent the holder's code is checked and spent, and the
    entry names it; on the API a redemption always needs one."""
    amount = _decimal(points, "points")
    done = _run(
        db,
        region,
        lambda s: ledger_service.redeem(s, account, amount, merchant, key, consent_code=consent),
    )
    _said(done, f"{account} redeemed {amount} points")


@app.command("donate")
def donate_command(
    account: Annotated[str, typer.Argument(help="Giving account 捐赠账户.")],
    to: Annotated[str, typer.Option("--to", help="Receiving account 接收账户.")],
    points: Annotated[str, typer.Option("--points", help="Points 积分.")] = "0",
    grams: Annotated[str, typer.Option("--grams", help="Grams CO2e 减排量 [g].")] = "0",
    key: KeyOption = None,
    consent: Annotated[
        str | None,
        typer.Option("--consent", help="The holder's consent code 持有人授权码 (spent once)."),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Donate points or grams to another account 捐赠 at the registry desk; with --consent the
    holder's code is checked and spent (on the API a donation needs one, except from a pool)."""
    p, g = _decimal(points, "points"), _decimal(grams, "grams")
    done = _run(
        db,
        region,
        lambda s: ledger_service.donate(s, account, to, p, g, key, consent_code=consent),
    )
    _said(done, f"{account} donated {p} points, {g} g to {to}")


@app.command("expire")
def expire_command(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Day of the expiry run (CST) 到期日, YYYY-MM-DD.")
    ],
    rule_set: RuleSetOption = None,
    version: VersionOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Expire points past the rule set's validity 积分过期 (first earned, first spent)."""
    chosen = _rules(rule_set, version)
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    done = _run(db, region, lambda s: ledger_service.expire(s, day, chosen))
    total = sum((e.points for e in done.entries), Decimal(0))
    console.print(f"{len(done.entries)} accounts: {total} points expired 已过期 at {day}")


# -- projects ----------------------------------------------------------------------------------
@project_app.command("register")
def project_register(
    project_id: Annotated[str, typer.Argument(help="Project id 项目编号.")],
    methodology: Annotated[
        str, typer.Option("--methodology", help="Methodology 方法学 (photovoltaic …).")
    ],
    owner: Annotated[str, typer.Option("--owner", help="Owner account 业主账户.")],
    name: Annotated[str, typer.Option("--name", help="Project name 项目名称.")] = "",
    city: Annotated[str | None, typer.Option("--city", help="City 城市.")] = None,
    ef_grid: Annotated[
        str | None,
        typer.Option("--ef-grid", help="Grid factor the methodology prescribes [t CO2/MWh]."),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Register a reduction project 登记项目."""
    code = _city(city)
    ef = None if ef_grid is None else _decimal(ef_grid, "--ef-grid")
    _run(
        db,
        region,
        lambda s: ledger_service.register_project(
            s, project_id, name or project_id, methodology, owner, code, ef
        ),
    )
    console.print(f"project {project_id} ({methodology}) registered 已登记, owner {owner}")


def _inputs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise fail(f"--input {pair!r}: write name=value (net_generation_mwh=1000)")
        _decimal(value.strip(), f"--input {key.strip()}")
        out[key.strip()] = value.strip()
    return out


@project_app.command("monitor")
def project_monitor(
    project_id: Annotated[str, typer.Argument(help="Project id 项目编号.")],
    period: Annotated[str, typer.Option("--period", help="Period id 监测期 (2024H1).")],
    start: Annotated[str, typer.Option("--start", help="First day YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day YYYY-MM-DD.")],
    inputs: Annotated[
        list[str],
        typer.Option("--input", help="name=value, repeatable: net_generation_mwh, baseline_t …"),
    ],
    verified_by: Annotated[
        str | None, typer.Option("--verified-by", help="Verifier 核查机构 (makes it issuable).")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Record a monitoring period 监测期: ER = BE − PE − LE [t CO2e]."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as error:
        raise fail(f"--start/--end: {error}") from None
    values = _inputs(inputs)
    result = _run(
        db,
        region,
        lambda s: ledger_service.monitor(s, project_id, period, first, last, values, verified_by),
    )
    state = f"verified by {verified_by}" if verified_by else "not verified 未核查"
    console.print(f"{project_id} {period}: {result.formula} ({state})")


@project_app.command("issue")
def project_issue(
    project_id: Annotated[str, typer.Argument(help="Project id 项目编号.")],
    period: Annotated[str, typer.Option("--period", help="Verified period 已核查监测期.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Issue the reductions of a verified period 签发减排量 (once per period)."""
    entry = _run(db, region, lambda s: ledger_service.issue(s, project_id, period))
    tonnes = entry.grams / ledger_service.GRAMS_PER_TONNE
    console.print(f"{project_id} {period}: {tonnes} t CO2e issued 已签发 to {entry.account}")
    console.print(f"entry {entry.seq} {entry.hash[:16]}…")


@project_app.command("retire")
def project_retire(
    account: Annotated[str, typer.Argument(help="Holding account 持有账户.")],
    reason: Annotated[str, typer.Option("--reason", help="What it offsets 注销用途.")],
    tonnes: Annotated[str | None, typer.Option("--tonnes", help="t CO2e.")] = None,
    grams: Annotated[str | None, typer.Option("--grams", help="g CO2e.")] = None,
    key: KeyOption = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Retire reductions 注销减排量: out of circulation for good."""
    if (tonnes is None) == (grams is None):
        raise fail("give --tonnes or --grams (one of them)")
    amount = (
        _decimal(tonnes, "--tonnes") * ledger_service.GRAMS_PER_TONNE
        if tonnes is not None
        else _decimal(str(grams), "--grams")
    )
    done = _run(db, region, lambda s: ledger_service.retire(s, account, amount, reason, key))
    _said(done, f"{account} retired {amount} g CO2e")


@project_app.command("list")
def project_list(
    fmt: FormatOption = "table", db: DbOption = None, region: RegionOption = None
) -> None:
    """Projects, monitoring periods and issuance 项目与签发."""

    emit(
        _run(db, region, ledger_service.monitoring),
        fmt,
        "Monitoring periods 监测期",
        value=ledger_service.plain,
    )


# -- audit -------------------------------------------------------------------------------------
@app.command("entries")
def entries_command(
    account: Annotated[str | None, typer.Option("--account", help="Account 账户.")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="earn, redeem … 类型.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    fmt: FormatOption = "csv",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Ledger entries in chain order 账本分录 (audit export 审计导出; CSV by default)."""
    frame = _run(db, region, lambda s: ledger_service.entries(s, account, kind, limit))
    emit(frame, fmt, "Ledger entries 账本分录", value=ledger_service.plain)


@app.command("verify")
def verify_command(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head", help="A head published earlier 已公布的链头, '<seq>:<hash>'."
        ),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Recompute the hash chain 校验哈希链 and every running balance (none may be negative
    余额不得为负); exit 1 naming the first bad entry."""
    result = _run(db, region, lambda s: ledger_service.verify(s, expect_head))
    if not result.ok:
        console.print(f"[bold red]ledger NOT valid 账本校验失败[/]: {result.reason}")
        typer.echo(json.dumps({"ok": False, "bad_seq": result.bad_seq, "reason": result.reason}))
        raise typer.Exit(1)
    console.print(f"ledger valid 账本有效: {result.checked} entries, head {result.head_seq}")
    typer.echo(
        json.dumps(
            {"ok": True, "entries": result.checked, "head": f"{result.head_seq}:{result.head_hash}"}
        )
    )


@app.command("anomalies")
def anomalies_command(
    days: Annotated[
        int, typer.Option("--days", min=1, help="Window of points earned [days] 统计天数.")
    ] = 30,
    threshold: Annotated[
        str, typer.Option("--threshold", help="Robust score above which an account is listed.")
    ] = "10",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of the window, a CST day YYYY-MM-DD.")
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Accounts far above the distribution 异常账户: points earned in the window against the
    median of every person and organisation account (score = (points − median) / (1.4826 ×
    MAD), at least 1 point), with the partners that credited them. Exit 0 even when some are
    listed: it is a report for a person to look at."""
    cut = _decimal(threshold, "--threshold")
    end = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
        end = datetime.combine(day + timedelta(days=1), time(0), CST).astimezone(UTC)
    frame = _run(db, region, lambda s: ledger_service.anomalies(s, end, days, cut))
    console.print(f"{len(frame)} accounts far above the distribution of the last {days} days")
    emit(frame, fmt, "Anomalies 异常账户", value=ledger_service.plain)


@app.command("summary")
def summary_command(db: DbOption = None, region: RegionOption = None) -> None:
    """Totals 汇总: entries by kind, points and grams in circulation, tonnes issued and retired."""
    result = _run(db, region, ledger_service.summary)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=1))
