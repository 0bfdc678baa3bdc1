"""用户管理 on the web: an administrator adds users, changes their post, resets their
password, disables, enables and unlocks them, through the same actions as the command
line and audited; only within their own subtree; a user changes their own password."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, logged_in
from loanquality.accounts.models import User
from loanquality.audit.models import AuditEntry


@pytest.fixture(autouse=True)
def checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(tmp_path / "audit_checkpoint.jsonl"))


@pytest.fixture
def admin(make_user, places):
    return make_user("admin", "admin", places.root)


def can_log_in(username: str, password: str) -> bool:
    answer = Client().post("/login/", {"username": username, "password": password})
    return answer.status_code == 302


def new_user_form(places, **changes) -> dict:
    form = {
        "username": "wang",
        "role": "officer",
        "org_id": places.outlet,
        "staff_id": "S0101001",
        "password": "wang-long-password-1",
        "password2": "wang-long-password-1",
    }
    return {**form, **changes}


def test_only_an_administrator_sees_and_opens_the_user_pages(admin, head_office, officer):
    assert "用户管理" in logged_in(admin).get("/").content.decode()
    for user in (head_office, officer):
        assert "用户管理" not in logged_in(user).get("/").content.decode()
        assert logged_in(user).get("/users/").status_code == 403
        assert logged_in(user).post("/users/", {"username": "x"}).status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_an_administrator_adds_a_user_who_can_log_in(admin, places):
    answer = logged_in(admin).post("/users/", new_user_form(places))
    wang = User.objects.get(username="wang")
    assert answer.status_code == 302
    assert answer["Location"] == f"/users/{wang.pk}/"
    assert (wang.role, wang.org_id, wang.staff_id) == ("officer", places.outlet, "S0101001")
    assert can_log_in("wang", "wang-long-password-1")
    row = AuditEntry.objects.get(action="user.create", target="wang")
    assert (row.username, row.org_id) == ("admin", places.outlet)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"password": "short", "password2": "short"}, "密码太短，至少需要 8 个字符"),
        ({"password2": "something-else-2"}, "两次输入的新密码不一致"),
        ({"username": "admin"}, "用户名「admin」已存在"),
        ({"org_id": "NOWHERE"}, "未知机构号「NOWHERE」"),
    ],
)
def test_a_refused_new_user_says_why_in_chinese_and_keeps_what_was_typed(
    admin, places, changes, reason
):
    answer = logged_in(admin).post("/users/", new_user_form(places, **changes))
    text = answer.content.decode()
    assert answer.status_code == 400
    assert reason in text
    assert f'value="{changes.get("username", "wang")}"' in text
    assert 'value="S0101001"' in text
    assert "wang-long-password-1" not in text  # passwords are never sent back
    assert User.objects.filter(username="wang").count() == 0


def test_an_administrator_changes_the_post_and_the_audit_keeps_both(admin, officer, places):
    logged_in(admin).post(
        f"/users/{officer.pk}/",
        {"do": "post", "role": "risk", "org_id": places.coop, "staff_id": ""},
    )
    officer.refresh_from_db()
    assert (officer.role, officer.org_id) == ("risk", places.coop)
    row = AuditEntry.objects.get(action="user.change")
    assert row.username == "admin"
    assert row.detail["before"]["role"] == "officer"
    assert row.detail["after"] == {"role": "risk", "org_id": places.coop, "staff_id": ""}


def test_a_reset_password_logs_in_and_the_old_one_no_longer(admin, officer):
    client = logged_in(admin)
    form = {"do": "password", "password": "reset-long-password-3"}
    refused = client.post(f"/users/{officer.pk}/", {**form, "password2": "typo"})
    assert refused.status_code == 400
    assert "两次输入的新密码不一致" in refused.content.decode()
    client.post(f"/users/{officer.pk}/", {**form, "password2": "reset-long-password-3"})
    assert can_log_in("officer", "reset-long-password-3")
    assert not can_log_in("officer", PASSWORD)
    row = AuditEntry.objects.get(action="user.password")
    assert (row.username, row.target) == ("admin", "officer")


def test_disable_then_enable(admin, officer):
    client = logged_in(admin)
    client.post(f"/users/{officer.pk}/", {"do": "disable"})
    assert not can_log_in("officer", PASSWORD)
    client.post(f"/users/{officer.pk}/", {"do": "enable"})
    assert can_log_in("officer", PASSWORD)
    assert list(
        AuditEntry.objects.filter(action__startswith="user.").values_list("action", flat=True)
    ) == ["user.enable", "user.disable", "user.create", "user.create"]


def test_an_administrator_may_not_disable_or_demote_themselves(admin):
    client = logged_in(admin)
    page = client.get(f"/users/{admin.pk}/").content.decode()
    assert "停用账户" not in page
    refused = client.post(f"/users/{admin.pk}/", {"do": "disable"})
    assert "不能停用自己的账户" in refused.content.decode()
    refused = client.post(f"/users/{admin.pk}/", {"do": "post", "role": "officer"})
    assert "不能变更自己的岗位角色" in refused.content.decode()
    admin.refresh_from_db()
    assert (admin.is_active, admin.role) == (True, "admin")


def test_unlock_ends_a_lockout_at_once(admin, officer):
    officer.locked_until = timezone.now() + dt.timedelta(minutes=15)
    officer.failed_logins = 0
    officer.save()
    assert not can_log_in("officer", PASSWORD)
    page = logged_in(admin).get(f"/users/{officer.pk}/").content.decode()
    assert "解除锁定" in page
    logged_in(admin).post(f"/users/{officer.pk}/", {"do": "unlock"})
    assert can_log_in("officer", PASSWORD)
    row = AuditEntry.objects.get(action="user.unlock")
    assert row.detail["after"] == {"locked_until": None, "failed_logins": 0}


def test_an_administrator_of_a_coop_manages_only_its_subtree(make_user, places):
    coop_admin = make_user("coop_admin", "admin", places.coop)
    inside = make_user("inside", "officer", places.outlet)
    outside = make_user("outside", "officer", places.other_coop)
    client = logged_in(coop_admin)
    listing = client.get("/users/").content.decode()
    assert ">inside</a>" in listing
    assert ">outside</a>" not in listing
    assert client.get(f"/users/{outside.pk}/").status_code == 404
    moved = client.post(f"/users/{inside.pk}/", {"do": "post", "org_id": places.other_coop})
    assert moved.status_code == 400
    assert "不在您管辖的机构" in moved.content.decode()
    inside.refresh_from_db()
    assert inside.org_id == places.outlet


def test_a_user_changes_their_own_password_and_stays_logged_in(officer):
    client = logged_in(officer)
    form = {"password": "my-new-long-password-4", "password2": "my-new-long-password-4"}
    wrong = client.post("/account/password/", {**form, "current": "not-it"})
    assert wrong.status_code == 400
    assert "当前密码不正确" in wrong.content.decode()
    done = client.post("/account/password/", {**form, "current": PASSWORD})
    assert done.status_code == 302
    assert client.get("/account/password/").status_code == 200  # the session survived
    assert can_log_in("officer", "my-new-long-password-4")
    row = AuditEntry.objects.get(action="user.password")
    assert (row.username, row.target) == ("officer", "officer")
    assert "修改密码" in client.get("/").content.decode()
