"""The audit log as a person reads it: Chinese action names for every action recorded, the
changed fields of a change as a table, times in Asia/Shanghai (UTC+8), and its filters."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.apps import apps

import loanquality
from conftest import logged_in
from loanquality.accounts.actions import change_post, note_failed_login
from loanquality.audit.actions import record
from loanquality.audit.models import AuditEntry
from loanquality.audit.readable import Change, action_names, changes, local_time_of, shown


@pytest.fixture(autouse=True)
def checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(tmp_path / "audit_checkpoint.jsonl"))


def recorded_actions() -> set[str]:
    """Every action name the code passes to ``record`` (directly, through operations'
    ``_record_run``, or as a string constant beside it, as the 认定 decisions do)."""
    names = set()
    for source in Path(loanquality.__file__).parent.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        names |= set(re.findall(r'record\(\s*"([a-z_.]+)"', text))
        # operations records a run through _record_run(actor, "import" | "close", …)
        names |= set(re.findall(r'_record_run\(\s*\w+,\s*"([a-z_.]+)"', text))
        names |= set(re.findall(r'"(override\.[a-z]+)"', text))
    return names


def test_every_recorded_action_has_a_chinese_name():
    found = recorded_actions()
    assert {"login", "user.change", "close.failed", "override.approve", "import"} <= found
    names = action_names()
    assert sorted(found - set(names)) == []
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in names.values())


def test_each_app_names_its_own_actions_and_no_two_apps_the_same():
    declared = {
        config.label: set(config.audit_labels.actions)
        for config in apps.get_app_configs()
        if getattr(config, "audit_labels", None) is not None
    }
    assert "override.approve" in declared["overrides"]
    assert "user.create" in declared["accounts"]
    assert "close.start" in declared["operations"]
    every = [code for codes in declared.values() for code in codes]
    assert len(every) == len(set(every)) == len(action_names())


def test_only_the_changed_fields_are_listed_with_codes_in_chinese():
    detail = {
        "before": {"role": "officer", "org_id": "X", "staff_id": ""},
        "after": {"role": "risk", "org_id": "X", "staff_id": "S0101001"},
    }
    assert changes(detail) == [
        Change("岗位角色", "客户经理", "风险经理"),
        Change("员工号", "—", "S0101001"),
    ]
    created = {"after": {"role": "admin", "staff_id": ""}}
    assert changes(created) == [Change("岗位角色", "—", "系统管理员")]
    override = {"before": {"category": 1, "status": "pending"}, "after": {"category": 3}}
    assert changes(override) == [
        Change("风险分类", "正常", "次级"),
        Change("状态", "待审批", "—"),
    ]


def test_stored_times_read_in_the_banks_time_zone():
    # 02:30 UTC is 10:30 in Shanghai; 18:00 UTC is 02:00 the next day there
    assert local_time_of("2026-03-01T02:30:00+00:00") == "2026-03-01 10:30:00"
    assert shown("until", "2026-03-01T18:00:00.123+00:00") == "2026-03-02 02:00:00"
    assert shown("as_of", "2024-01-31") == "2024-01-31"  # a date is not a time


def test_the_lockout_row_shows_its_name_and_the_local_lock_time(make_user, places, head_office):
    victim = make_user("victim", "officer", places.outlet)
    victim.failed_logins = 5  # the limit: the next wrong password locks
    victim.save()
    note_failed_login("victim")
    row = AuditEntry.objects.get(action="login.locked")
    until_utc = dt.datetime.fromisoformat(row.detail["until"]).astimezone(dt.UTC)
    shanghai = (until_utc + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    page = logged_in(head_office).get("/audit/", {"action": "login.locked"}).content.decode()
    assert "账户锁定" in page
    assert f"锁定至：</span>{shanghai}" in page
    assert row.detail["until"] not in page


def test_a_role_change_shows_as_a_table_of_changed_fields(make_user, places, head_office):
    admin = make_user("admin", "admin", places.root)
    moved = make_user("moved", "officer", places.outlet)
    change_post(moved, role="risk", acting=admin)
    page = logged_in(head_office).get("/audit/", {"action": "user.change"}).content.decode()
    assert "<td>岗位角色</td><td>客户经理</td><td>风险经理</td>" in page
    assert "<td>所属机构</td>" not in page  # unchanged, so not listed
    assert '<td title="user.change">变更岗位或机构</td>' in page


def test_filters_by_user_action_object_and_day(head_office):
    record("user.disable", username="alice", target="bob", before={"is_active": True})
    record("user.disable", username="carol", target="dave", before={"is_active": True})
    record("login", username="alice")
    client = logged_in(head_office)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # Shanghai's today

    def targets(**query) -> list[str]:
        page = client.get("/audit/", query).content.decode()
        return re.findall(r"<td>(bob|dave)</td>", page)

    assert targets(action="user.disable") == ["dave", "bob"]  # newest first
    assert targets(action="user.disable", user="alice") == ["bob"]
    assert targets(object="dave") == ["dave"]
    assert targets(action="user.disable", **{"from": str(today), "to": str(today)}) == [
        "dave",
        "bob",
    ]
    assert targets(action="user.disable", **{"from": str(today + dt.timedelta(days=1))}) == []
    page = client.get("/audit/").content.decode()
    assert '<option value="alice">' in page
    assert '<option value="carol">' in page
