"""An audit row as a person reads it: the action's Chinese name, the fields a change
changed (before and after), every other detail under a Chinese name, times in the bank's
time zone, codes with their Chinese names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from loanquality.accounts.models import Role
from loanquality.common.scope import org_tree
from loanquality.engine.schema import CATEGORY_LABELS, TABLES

ACTIONS = {
    "login": "登录",
    "login.failed": "登录失败",
    "login.locked": "账户锁定",
    "api.token": "签发接口令牌",
    "api.token.revoke": "撤销接口令牌",
    "user.create": "新增用户",
    "user.change": "变更岗位或机构",
    "user.password": "修改密码",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "user.unlock": "解除锁定",
    "import": "数据导入",
    "import.rejected": "导入未通过",
    "close.start": "发起结账",
    "close": "结账完成",
    "close.failed": "结账失败",
    "override.propose": "发起认定",
    "override.approve": "认定通过",
    "override.reject": "认定退回",
    "override.withdraw": "认定撤回",
}

FIELDS = {
    "role": "岗位角色",
    "org_id": "所属机构",
    "staff_id": "员工号",
    "is_active": "账户状态",
    "locked_until": "锁定至",
    "failed_logins": "连续登录失败次数",
    "category": "风险分类",
    "status": "状态",
    "until": "锁定至",
    "known": "用户名存在",
    "locked": "已锁定时尝试",
    "token": "令牌编号",
    "tokens": "令牌编号",
    "tokens_revoked": "撤销令牌数",
    "why": "原因",
    "import_id": "导入批次",
    "close_id": "结账批次",
    "rows": "行数",
    "problems": "问题数",
    "run": "结账任务编号",
    "cause": "起因",
    "dates": "报告日",
    "override": "认定编号",
    "as_of": "报告日",
    "reason": "理由",
    "comment": "审批意见",
    "evidence": "证明材料",
    "via": "发起方式",
    "seconds": "耗时（秒）",
    "engine": "计算引擎",
    "by": "操作人",
}

_OVERRIDE_STATUS = {
    "pending": "待审批",
    "approved": "已通过",
    "rejected": "已退回",
    "withdrawn": "已撤回",
}
_WHY = {"logout": "接口退出登录", "page": "用户在令牌页撤销"}
_VIA = {"cli": "命令行", "demo": "演示数据", "web": "网页"}


def action_name(code: str) -> str:
    return ACTIONS.get(code, code)


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def changes(detail: dict) -> list[Change]:
    """The fields whose value ``before`` and ``after`` read differently, each named in
    Chinese (a new user's empty staff id is no change)."""
    before, after = detail.get("before") or {}, detail.get("after") or {}
    fields = list(before) + [f for f in after if f not in before]
    listed = (
        Change(field_name(f), shown(f, before.get(f)), shown(f, after.get(f))) for f in fields
    )
    return [change for change in listed if change.before != change.after]


def other_details(detail: dict) -> list[tuple[str, str]]:
    """Every detail but the before/after, as (Chinese name, value as read)."""
    return [
        (field_name(key), shown(key, value))
        for key, value in detail.items()
        if key not in ("before", "after")
    ]


def field_name(key: str) -> str:
    return FIELDS.get(key, key)


def shown(key: str, value) -> str:
    """``value`` of detail ``key`` as a person reads it."""
    if value is None or value == "":
        return "—"
    if key == "role":
        return Role(value).label if value in Role.values else str(value)
    if key == "org_id":
        return org_name(value)
    if key == "is_active":
        return "启用" if value else "停用"
    if key == "category":
        return CATEGORY_LABELS.get(int(value), str(value)) if str(value).isdigit() else value
    if key == "status":
        return _OVERRIDE_STATUS.get(value, str(value))
    if key == "why":
        return _WHY.get(value, str(value))
    if key == "via":
        return _VIA.get(value, str(value))
    if key == "rows" and isinstance(value, dict):
        return "，".join(f"{_table_label(t)} {n:,} 行" for t, n in value.items())
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(shown(key, v) for v in value) or "—"
    if isinstance(value, str) and (moment := _moment(value)) is not None:
        return local_time(moment)
    return str(value)


def local_time(moment: dt.datetime) -> str:
    """A time in the bank's time zone (settings.TIME_ZONE), to the second."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def local_time_of(text: str) -> str:
    """An ISO time as the logs write it (UTC) in the bank's time zone; text as given when
    it is not one."""
    moment = _moment(text)
    return local_time(moment) if moment else text


def _moment(text: str) -> dt.datetime | None:
    """The aware time ``text`` holds (ISO with a zone, as stored times are), else None: a
    plain date stays a date."""
    if "T" not in text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def org_name(org_id: str) -> str:
    return org_tree().name(org_id)


def _table_label(table_id: str) -> str:
    return TABLES[table_id].label if table_id in TABLES else table_id
