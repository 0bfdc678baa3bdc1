"""An audit row as a person reads it: the action's Chinese name, the fields a change
changed (before and after), every other detail under a Chinese name, times in the bank's
time zone, codes with their Chinese names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from loanquality.accounts.models import Role
from loanquality.common.audit_labels import registered
from loanquality.common.scope import org_tree
from loanquality.engine.schema import CATEGORY_LABELS, TABLES


def action_names() -> dict[str, str]:
    """Every action code any installed app records, with its Chinese name."""
    return dict(registered().actions)


def action_name(code: str) -> str:
    return registered().actions.get(code, code)


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
    return registered().fields.get(key, key)


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
    if isinstance(value, str) and value in (names := registered().values.get(key, {})):
        return names[value]
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
