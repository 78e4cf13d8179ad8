"""``ecobasin user add/list/disable/reset-password``, ``ecobasin token create/list/revoke`` and
``ecobasin secret rotate``: accounts, API tokens and the cookie-signing key from the command
line (the server's admin page and ``/api/v1/users`` do the first two too).

Secrets (a generated password, a new token) go to stdout, once, so a script can capture them;
everything a person reads goes to stderr. The store keeps only hashes (``docs/security.md``).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import pandas as pd
import typer

from ecobasin.cli.common import DbOption, console, fail, open_store, settings, table
from ecobasin.services import accounts
from ecobasin.store import keyfile
from ecobasin.store import users as db

__all__ = ["secret_app", "token_app", "user_app"]

user_app = typer.Typer(help="Users and roles 用户与角色.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens 接口令牌.", no_args_is_help=True)
secret_app = typer.Typer(
    help="The key that signs session cookies 会话签名密钥 (<db>.key, 0600).", no_args_is_help=True
)

#: Who the audit log names for command-line changes (the shell user has the file itself).
#: (name, via): the command line acts as an admin of this machine.
CLI = ("cli", "cli")


def _time(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name 用户名 (letters, digits, . _ @ -).")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin 管理员, editor 编辑, viewer 查看者 or partner 合作方 (ledger API); "
            "enterprise and gate-operator accounts are bound when made: `emergency "
            "enterprise-user`, `machinery gate-user`.",
        ),
    ],
    city: Annotated[
        str | None,
        typer.Option("--city", help="Editors: their city 城市 (510100, 成都 or Chengdu)."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Partners: a scope 授权范围, repeatable: ledger:events (post trips 上报行为), "
            "ledger:redeem (redeem points 积分兑换).",
        ),
    ] = None,
    rate: Annotated[
        float,
        typer.Option("--rate", help="Partners: requests per minute 每分钟请求数 (token bucket)."),
    ] = accounts.PARTNER_RATE_PER_MINUTE,
    burst: Annotated[
        int, typer.Option("--burst", help="Partners: burst 突发请求数 (bucket size).")
    ] = accounts.PARTNER_BURST,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from stdin 从标准输入读取密码 (else one is generated).",
        ),
    ] = False,
    db_path: DbOption = None,
) -> None:
    """Create a user 新建用户; without --password-stdin a password is generated and printed
    once to stdout."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("--password-stdin: stdin gave no password")
    with open_store(settings(db_path)) as store:
        try:
            user, generated = accounts.create_user(
                store.con, name, role, city, password,
                scopes=scope or [], rate_per_minute=rate, burst=burst,
            )  # fmt: skip
        except accounts.AccountError as error:
            raise fail(str(error)) from None
        detail: dict[str, object] = {"role": role}
        if role == "partner":
            detail |= {"scopes": sorted(set(scope or [])), "rate_per_minute": rate, "burst": burst}
        accounts.audit_as(store.con, *CLI, "users.create", user.name, user.city_code, detail)
    where = f" of city {user.city_code}" if user.city_code else ""
    if role == "partner":
        where = f": {', '.join(sorted(set(scope or [])))}, {rate:g}/min, burst {burst}"
    console.print(f"[green]user created 用户已创建:[/] {user.name} ({user.role}{where})")
    if generated:
        console.print("password (shown once 仅显示一次):")
        typer.echo(generated)


@user_app.command("list")
def user_list(db_path: DbOption = None) -> None:
    """List users with role, city and status 列出用户."""
    with open_store(settings(db_path)) as store:
        users = db.list_users(store.con)
    frame = pd.DataFrame(
        [
            {
                "name": u.name,
                "role": u.role,
                "city": u.city_code or "",
                "status": "disabled 已停用" if u.disabled else "active 有效",
                "created": _time(u.created_at),
            }
            for u in users
        ],
        columns=["name", "role", "city", "status", "created"],
    )
    console.print(table(frame, f"users 用户 ({len(frame)})"))


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument(help="User name 用户名.")],
    db_path: DbOption = None,
) -> None:
    """Disable a user 停用用户: sessions end, tokens stop working."""
    with open_store(settings(db_path)) as store:
        try:
            accounts.disable_user(store.con, name)
        except accounts.AccountError as error:
            raise fail(str(error)) from None
        accounts.audit_as(store.con, *CLI, "users.disable", name)
    console.print(f"[green]user disabled 用户已停用:[/] {name}")


@user_app.command("reset-password")
def user_reset_password(
    name: Annotated[str, typer.Argument(help="User name 用户名.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the new password from stdin 从标准输入读取新密码 (else one is generated).",
        ),
    ] = False,
    db_path: DbOption = None,
) -> None:
    """Give a user a new password 重置密码: a generated one is printed once to stdout; the
    user's sessions end. A lost demo password: this, or `ecobasin user add NAME --role admin`."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("--password-stdin: stdin gave no password")
    with open_store(settings(db_path)) as store:
        try:
            generated = accounts.reset_password(store.con, name, password)
        except accounts.AccountError as error:
            raise fail(str(error)) from None
        accounts.audit_as(store.con, *CLI, "users.reset_password", name)
    console.print(f"[green]password reset 密码已重置:[/] {name}; their sessions ended 会话已结束")
    if generated:
        console.print("new password (shown once 仅显示一次):")
        typer.echo(generated)


@secret_app.command("rotate")
def secret_rotate(db_path: DbOption = None) -> None:
    """Replace the key that signs session cookies 更换会话签名密钥: everyone signs in again.

    The key lives in `<db>.key` beside the database (0600), never in it; a running server
    picks the new key up at its next request. With ECOBASIN_SECRET_KEY set, change that
    variable instead."""
    config = settings(db_path)
    if config.secret_key:
        raise fail(
            "the key comes from ECOBASIN_SECRET_KEY: set a new value (≥ 32 characters) there "
            "and restart the server"
        )
    if not config.db.exists():
        raise fail(f"{config.db} does not exist: run `ecobasin init` or `ecobasin demo` first")
    keyfile.rotate_key(config.db)
    console.print(
        f"[green]key rotated 密钥已更换:[/] {keyfile.key_path(config.db)} (0600); "
        "every session has ended 所有会话已失效"
    )


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for 用途.")],
    user: Annotated[str, typer.Option("--user", help="Whose token 所属用户.")],
    expires: Annotated[
        float | None,
        typer.Option("--expires", help="Valid for DAYS days 有效天数 (default: until revoked)."),
    ] = None,
    db_path: DbOption = None,
) -> None:
    """Create an API token 新建接口令牌; it is printed once to stdout."""
    with open_store(settings(db_path)) as store:
        try:
            record, text = accounts.create_token(store.con, user, name, expires)
        except accounts.AccountError as error:
            raise fail(str(error)) from None
        accounts.audit_as(
            store.con, *CLI, "tokens.create", str(record.token_id), None, {"user": user}
        )
    until = _time(record.expires_at) or "revoked 吊销前有效"
    console.print(
        f"[green]token {record.token_id} created 令牌已创建[/] for {user}, valid until {until}. "
        "Send it as 'Authorization: Bearer <token>'; shown once 仅显示一次:"
    )
    typer.echo(text)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's 仅此用户.")] = None,
    db_path: DbOption = None,
) -> None:
    """List API tokens 列出令牌 (never their secrets)."""
    with open_store(settings(db_path)) as store:
        owner = None
        if user is not None:
            found = db.user_by_name(store.con, user)
            if found is None:
                raise fail(f"no user {user!r}")
            owner = found.user_id
        tokens = db.list_tokens(store.con, owner)
    frame = pd.DataFrame(
        [
            {
                "id": t.token_id,
                "user": t.user_name,
                "name": t.name,
                "created": _time(t.created_at),
                "expires": _time(t.expires_at) or "never",
                "last used": _time(t.last_used_at),
                "status": "revoked 已吊销"
                if t.revoked_at
                else ("active 有效" if t.usable(datetime.now(UTC)) else "expired 已过期"),
            }
            for t in tokens
        ],
        columns=["id", "user", "name", "created", "expires", "last used", "status"],
    )
    console.print(table(frame, f"API tokens 接口令牌 ({len(frame)})"))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id 令牌编号 (eb_<id>_…).")],
    db_path: DbOption = None,
) -> None:
    """Revoke an API token 吊销令牌."""
    with open_store(settings(db_path)) as store:
        try:
            record = accounts.revoke_token(store.con, token_id)
        except accounts.AccountError as error:
            raise fail(str(error)) from None
        accounts.audit_as(
            store.con, *CLI, "tokens.revoke", str(token_id), None, {"user": record.user_name}
        )
    console.print(f"[green]token revoked 令牌已吊销:[/] {token_id} ({record.user_name})")
