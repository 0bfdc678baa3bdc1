"""``loanquality user …``: the web application's users, through the audited actions, as
the OS user running the command (``via: cli`` in each audit row)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loanquality.audit.runs import cli_operator
from loanquality.common.cli import DataDir, console, django_group, fail

app = django_group("user", "Users of the web application. 用户管理。")


@app.command("add")
def user_add(
    username: str,
    data_dir: DataDir,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(help="officer, risk, credit_dept, director, auditor, admin")],
    org: Annotated[str, typer.Option("--org", help="The user's org unit (org_id).")],
    staff_id: Annotated[
        str, typer.Option(help="An officer's id in the staff table (the loans they manage).")
    ] = "",
) -> None:
    """Create a user in an org unit with a role. 新增用户。"""
    from loanquality.accounts.actions import create_user

    create_user(
        username, password=password, role=role, org_id=org, staff_id=staff_id, acting=cli_operator()
    )
    console.print(f"已创建用户 created user {username} ({role}, {org})")


@app.command("list")
def user_list(data_dir: DataDir) -> None:
    """List users. 用户列表。"""
    from loanquality.accounts.models import User

    table = Table()
    for header in ("用户名 username", "岗位 role", "机构 org", "状态 active"):
        table.add_column(header)
    for user in User.objects.order_by("username"):
        table.add_row(user.username, user.role, user.org_id, "是" if user.is_active else "停用")
    console.print(table)


@app.command("disable")
def user_disable(username: str, data_dir: DataDir) -> None:
    """Disable a user (kept for the audit log). 停用用户。"""
    from loanquality.accounts.actions import disable_user

    disable_user(_existing_user(username), acting=cli_operator())
    console.print(f"已停用 disabled {username}; API tokens revoked / 接口令牌已全部撤销")


@app.command("enable")
def user_enable(username: str, data_dir: DataDir) -> None:
    """Let a disabled user log in again. 启用用户。"""
    from loanquality.accounts.actions import enable_user

    enable_user(_existing_user(username), acting=cli_operator())
    console.print(f"已启用 enabled {username}")


@app.command("unlock")
def user_unlock(username: str, data_dir: DataDir) -> None:
    """End a user's login lockout now. 解除登录锁定。"""
    from loanquality.accounts.actions import unlock_user

    unlock_user(_existing_user(username), acting=cli_operator())
    console.print(f"已解除锁定 unlocked {username}")


@app.command("password")
def user_password(
    username: str,
    data_dir: DataDir,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password; every API token of theirs is revoked. 重置密码。"""
    from loanquality.accounts.actions import change_password

    change_password(_existing_user(username), password, acting=cli_operator())
    console.print(
        f"已重置密码 password changed for {username}; API tokens revoked / 接口令牌已全部撤销"
    )


@app.command("change")
def user_change(
    username: str,
    data_dir: DataDir,
    role: Annotated[str | None, typer.Option(help="A new role.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="A new org unit (org_id).")] = None,
    staff_id: Annotated[str | None, typer.Option(help="A new staff id.")] = None,
) -> None:
    """Change a user's role, org unit or staff id (audited, before and after). 变更岗位。"""
    from loanquality.accounts.actions import change_post

    user = _existing_user(username)
    change_post(user, role=role, org_id=org, staff_id=staff_id, acting=cli_operator())
    console.print(f"已变更 changed {username}: {user.role}, {user.org_id}, {user.staff_id or '—'}")


def _existing_user(username: str):
    from loanquality.accounts.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise fail(f"没有用户 no user '{username}'")
    return user
