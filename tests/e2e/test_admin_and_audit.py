"""In Chromium: 用户管理 for the administrator only (add a user, a refusal that keeps what
was typed, a lockout shown in Beijing time and lifted), a user changing their own
password, the audit log in Chinese with its change table and filters, and the import and
close history listing the runs made outside the web.

Every user this file makes is its own (the shared users' passwords never change)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from browsing import ARTIFACTS, PASSWORD, log_in, open_page

pytestmark = pytest.mark.e2e

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NEW_PASSWORD = "e2e-new-password-2026"


def shanghai_now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI).replace(tzinfo=None)


def add_user(page, base: str, username: str, *, role: str = "officer") -> None:
    """As an administrator on the 用户管理 page; ends on the new user's page."""
    page.goto(base + "/users/")
    page.fill("#username", username)
    page.select_option("#role", role)
    page.select_option("#org_id", "L0101")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("#new-user button[type=submit]")
    page.wait_for_selector("#user-state")


def test_only_the_administrator_has_user_management(server, browser):
    base, _ = server
    for username in ("risk", "auditor", "director"):
        page = log_in(browser, base, username)
        page.wait_for_selector("nav")
        assert "用户管理" not in page.inner_text("nav")
        assert "修改密码" in page.inner_text("nav")
        page.close()
    page = log_in(browser, base, "admin")
    page.click("nav >> text=用户管理")
    page.wait_for_selector("#users")
    assert "admin" in page.inner_text("#users")
    page.screenshot(path=ARTIFACTS / "users.png")


def test_a_refused_new_user_keeps_what_was_typed_then_is_added(server, browser):
    base, _ = server
    username = f"e2e_{uuid.uuid4().hex[:6]}"
    page = log_in(browser, base, "admin")
    page.goto(base + "/users/")
    page.fill("#username", username)
    page.select_option("#role", "risk")
    page.select_option("#org_id", "L0100")
    page.fill("#staff_id", "S0100009")
    page.fill("#password", "short")
    page.fill("#password2", "short")
    page.click("#new-user button[type=submit]")
    page.wait_for_selector("#new-user .alert-danger")
    assert "密码太短，至少需要 8 个字符" in page.inner_text("#new-user .alert-danger")
    assert page.input_value("#username") == username
    assert page.input_value("#role") == "risk"
    assert page.input_value("#org_id") == "L0100"
    assert page.input_value("#staff_id") == "S0100009"
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("#new-user button[type=submit]")
    page.wait_for_selector("#user-state")
    assert "风险经理" in page.inner_text("#user-state")
    page.screenshot(path=ARTIFACTS / "user.png", full_page=True)
    newcomer = log_in(browser, base, username)
    newcomer.wait_for_selector("nav")
    assert username in newcomer.inner_text("nav")


def test_a_lockout_shows_in_beijing_time_and_the_administrator_lifts_it(server, browser):
    base, _ = server
    username = f"e2e_{uuid.uuid4().hex[:6]}"
    admin = log_in(browser, base, "admin")
    add_user(admin, base, username)
    user_page = admin.url
    guesser = open_page(browser)
    for _ in range(5):
        guesser.goto(base + "/login/")
        guesser.fill("#username", username)
        guesser.fill("#password", "wrong-password")
        guesser.click("button[type=submit]")
    locked_at = shanghai_now()
    admin.goto(user_page)
    state = admin.inner_text("#user-state")
    until = dt.datetime.strptime(
        re.search(r"登录锁定至 (\S+ \S+)", state).group(1), "%Y-%m-%d %H:%M:%S"
    )
    # 15 minutes after now in Beijing, not in UTC (8 hours off)
    assert abs(until - (locked_at + dt.timedelta(minutes=15))) < dt.timedelta(minutes=2)

    admin.goto(base + f"/audit/?action=login.locked&object=&user={username}")
    row = admin.inner_text("#audit-log tbody tr:first-child")
    assert "账户锁定" in row
    assert until.strftime("%Y-%m-%d %H:%M:%S") in row
    logged_at = dt.datetime.strptime(row.split("\t")[1].strip(), "%Y-%m-%d %H:%M:%S")
    assert abs(logged_at - locked_at) < dt.timedelta(minutes=2)

    admin.goto(user_page)
    admin.click("button:has-text('解除锁定')")
    admin.wait_for_selector("text=已解除")
    assert "正常" in admin.inner_text("#user-state")
    back = log_in(browser, base, username)
    back.wait_for_selector("nav")
    assert username in back.inner_text("nav")


def test_a_user_changes_their_own_password(server, browser):
    base, _ = server
    username = f"e2e_{uuid.uuid4().hex[:6]}"
    add_user(log_in(browser, base, "admin"), base, username)
    page = log_in(browser, base, username)
    page.click("nav >> text=修改密码")
    page.fill("#current", "not-my-password")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password2", NEW_PASSWORD)
    page.click("#own-password button[type=submit]")
    assert "当前密码不正确" in page.inner_text("#own-password .alert-danger")
    page.fill("#current", PASSWORD)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password2", NEW_PASSWORD)
    page.click("#own-password button[type=submit]")
    page.wait_for_selector("text=密码已修改")
    assert username in page.inner_text("nav")  # still logged in
    again = open_page(browser)
    again.goto(base + "/login/")
    again.fill("#username", username)
    again.fill("#password", NEW_PASSWORD)
    again.click("button[type=submit]")
    again.wait_for_selector("nav")
    assert username in again.inner_text("nav")


def test_the_audit_log_reads_in_chinese_with_a_change_table_and_filters(server, browser):
    base, _ = server
    username = f"e2e_{uuid.uuid4().hex[:6]}"
    admin = log_in(browser, base, "admin")
    add_user(admin, base, username)
    admin.select_option("#user-post #role", "director")
    admin.click("#user-post button[type=submit]")
    admin.wait_for_selector("text=已变更")

    page = log_in(browser, base, "auditor")
    page.click("nav >> text=审计日志")
    page.select_option("#action", label="变更岗位或机构")
    page.fill("#object", username)
    page.click("#audit-filters button:has-text('查询')")
    page.wait_for_selector(".audit-changes")
    rows = page.locator("#audit-log > tbody > tr")
    assert rows.count() == 1
    cells = page.inner_text(".audit-changes tbody tr")
    assert cells.split("\t") == ["岗位角色", "客户经理", "机构负责人"]
    assert "变更岗位或机构" in rows.first.inner_text()
    page.screenshot(path=ARTIFACTS / "audit-filtered.png", full_page=True)
    # the same filter under another user finds nothing
    page.fill("#user", "risk")
    page.click("#audit-filters button:has-text('查询')")
    page.wait_for_selector("#audit-log tbody td.text-muted")
    assert "无" in page.inner_text("#audit-log tbody")
    # a day in the future neither
    tomorrow = (shanghai_now() + dt.timedelta(days=1)).date().isoformat()
    page.goto(base + f"/audit/?object={username}&from={tomorrow}")
    assert "无" in page.inner_text("#audit-log tbody")
    page.goto(base + "/audit/")
    page.screenshot(path=ARTIFACTS / "audit.png")  # the first screenful: docs/screenshots


def test_the_history_pages_list_the_imports_and_closes_made_outside_the_web(server, browser):
    """The served bank was imported and closed by the engine directly (as ``e2e``), as the
    CLI and the demo do: those pages said 无."""
    base, _ = server
    page = log_in(browser, base, "risk")
    page.click("nav >> text=数据导入")
    imports = page.inner_text("#import-history tbody")
    assert imports.count("e2e") >= 2
    assert "借据台账" in imports
    page.click("nav >> text=月末结账")
    closes = page.inner_text("#close-runs")
    assert closes.count("e2e") >= 2
    assert "已完成" in closes
