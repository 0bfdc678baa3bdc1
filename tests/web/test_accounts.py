"""Login, lockout, CSRF, session expiry, the CLI's user commands and the append-only audit log."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD
from loanquality.accounts.models import User
from loanquality.audit.models import AppendOnlyError, AuditEntry


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_login_with_the_right_password_opens_the_dashboard(officer):
    client = Client()
    answer = login(client, "officer", PASSWORD)
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="login", username="officer").count() == 1


def test_five_failures_lock_the_account_even_against_the_right_password(officer, settings):
    client = Client()
    # given LOGIN_FAILURE_LIMIT (5) wrong passwords in a row
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert login(client, "officer", "wrong").status_code == 401
    # then the right one is refused too, saying until when (LOGIN_LOCK_MINUTES = 15 from
    # the fifth failure, a moment ago: 15 minutes left, rounded up)
    answer = login(client, "officer", PASSWORD)
    assert answer.status_code == 401
    until = timezone.localtime(User.objects.get(username="officer").locked_until)
    assert f"账户已锁定至 {until:%H:%M}，请 15 分钟后再试" in answer.content.decode()
    assert User.objects.get(username="officer").is_locked()
    assert AuditEntry.objects.filter(action="login.locked").count() == 1


def test_four_failures_then_success_do_not_lock(officer, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        login(client, "officer", "wrong")
    assert login(client, "officer", PASSWORD).status_code == 302
    assert User.objects.get(username="officer").failed_logins == 0


def test_forms_need_the_csrf_token(officer):
    client = Client(enforce_csrf_checks=True)
    assert login(client, "officer", PASSWORD).status_code == 403


def test_sessions_expire_after_a_working_day_and_with_the_browser(settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_a_redirect_after_login_never_leaves_the_site(officer):
    answer = Client().post(
        "/login/?next=https://evil.example/", {"username": "officer", "password": PASSWORD}
    )
    assert answer["Location"] == "/"


def test_a_user_must_sit_in_an_org_of_the_imported_tree(make_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="未知机构号"):
        make_user("nowhere", "officer", "NO-SUCH-ORG")


def test_audit_rows_cannot_be_changed_or_deleted_by_the_orm_or_by_sql(officer):
    entry = AuditEntry.objects.filter(action="user.create").first()
    entry.action = "something else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    # and the database refuses too, whatever code asks
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'x'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.filter(action="user.create").count() == 1


def test_a_disabled_user_can_no_longer_log_in_nor_use_a_token(client, officer):
    from loanquality.accounts.actions import disable_user, issue_token

    token = issue_token(officer)
    disable_user(officer)
    assert login(Client(), "officer", PASSWORD).status_code == 401
    answer = client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 401
    assert AuditEntry.objects.filter(action="user.disable", target="officer").count() == 1


def test_a_disable_revokes_every_token_and_says_how_many(officer):
    """Two tokens issued, the user disabled: both gone, the audit row counts them."""
    from loanquality.accounts.actions import disable_user, issue_token
    from loanquality.accounts.models import ApiToken

    issue_token(officer), issue_token(officer)
    disable_user(officer)
    assert ApiToken.objects.filter(user=officer).count() == 0
    row = AuditEntry.objects.get(action="user.disable", target="officer")
    assert row.detail["tokens_revoked"] == 2


def test_a_password_change_revokes_every_token_of_the_user(
    officer, head_office, make_user, places, client
):
    """Given two tokens of the officer and one of someone else, when an administrator sets
    the officer's password, both of theirs stop working, the other does not, the new
    password logs in, the old one no longer does."""
    from loanquality.accounts.actions import change_password, issue_token

    admin = make_user("admin", "admin", places.root)
    theirs = [issue_token(officer), issue_token(officer)]
    other = issue_token(head_office)
    change_password(officer, "another-long-password-2", acting=admin)
    for token in theirs:
        answer = client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert answer.status_code == 401
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200
    assert login(Client(), "officer", PASSWORD).status_code == 401
    assert login(Client(), "officer", "another-long-password-2").status_code == 302
    row = AuditEntry.objects.get(action="user.password")
    assert (row.username, row.target, row.detail) == ("admin", "officer", {"tokens_revoked": 2})


def test_a_password_change_is_checked_like_a_new_one(officer):
    from django.core.exceptions import ValidationError

    from loanquality.accounts.actions import change_password

    with pytest.raises(ValidationError):
        change_password(officer, "short")
    assert login(Client(), "officer", PASSWORD).status_code == 302


def test_logging_out_of_the_api_revokes_that_token_only(officer, client):
    """The API's session is its token: logging out ends it, the user's other token lives."""
    from loanquality.accounts.actions import issue_token

    ending, other = issue_token(officer), issue_token(officer)
    answer = client.post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {ending}")
    assert answer.status_code == 204
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {ending}").status_code == 401
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200
    assert AuditEntry.objects.get(action="api.token.revoke").detail["why"] == "logout"


def test_the_token_page_lists_and_revokes_the_users_own_tokens(officer, head_office, client):
    """The officer sees their two tokens, not the head office's; revoking one ends it;
    revoking all ends the other; the head office's token is untouched."""
    from loanquality.accounts.actions import issue_token
    from loanquality.accounts.models import ApiToken

    first, second = issue_token(officer), issue_token(officer)
    other = issue_token(head_office)
    browser = Client()
    browser.force_login(officer)
    page = browser.get("/account/tokens/").content.decode()
    mine = list(ApiToken.objects.filter(user=officer).order_by("pk"))
    assert all(f'value="{t.pk}"' in page for t in mine)
    head_offices = ApiToken.objects.get(user=head_office)
    assert f'value="{head_offices.pk}"' not in page
    # a token id of someone else is refused, not revoked
    assert browser.post("/account/tokens/", {"token": head_offices.pk}).status_code == 404
    assert browser.post("/account/tokens/", {"token": mine[0].pk}).status_code == 302
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 401
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    assert browser.post("/account/tokens/", {"all": "1"}).status_code == 302
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 401
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200


def held_until_all_have_arrived(monkeypatch, clients: int):
    """Hold every password check until each client is either inside one or refused, so the
    clients race as hard as they can; returns (passwords checked, refusals, run). SQLite
    takes one writer at a time (and its shared in-memory test database says "table is
    locked" rather than wait), so there the clients take turns at the database, leaving it
    only inside the password check: the race between the lock check and the count is the
    same. PostgreSQL runs them all at once."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    checked, refused, errors = [], [], []
    release = threading.Event()
    turns = threading.Semaphore(1 if connection.vendor == "sqlite" else clients)
    real_verify = MD5PasswordHasher.verify

    def held_verify(self, password, encoded):
        checked.append(password)
        turns.release()
        release.wait(timeout=20)
        turns.acquire()
        return real_verify(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", held_verify)

    def attempt():
        from loanquality.accounts.authentication import LoginRefused, check_password_login

        try:
            with turns:
                check_password_login(None, "officer", "wrong")
        except LoginRefused as refusal:
            refused.append(refusal.message)
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    def run():
        threads = [threading.Thread(target=attempt) for _ in range(clients)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(checked) + len(refused) + len(errors) < clients and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        for thread in threads:
            thread.join()
        assert errors == []

    return checked, refused, run


def test_parallel_wrong_passwords_check_exactly_the_limit(
    flushable_audit_log, officer, settings, monkeypatch, tmp_path
):
    """Eight clients guess at once: exactly LOGIN_FAILURE_LIMIT (5) passwords are checked,
    the other three are refused as locked without a check; then the account is locked
    (one login.locked row) and each of the eight attempts has its login.failed row."""
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(tmp_path / "audit_checkpoint.jsonl"))
    checked, refused, run = held_until_all_have_arrived(monkeypatch, clients=8)
    run()
    assert len(checked) == settings.LOGIN_FAILURE_LIMIT == 5
    # the locked ones say until when once the lock is set, or just that it is locked
    said = sorted(message.split("，")[0] for message in refused)
    assert said == sorted(["登录失败次数过多"] * 3 + ["用户名或密码错误"] * 5)
    assert User.objects.get(username="officer").is_locked()
    assert AuditEntry.objects.filter(action="login.locked").count() == 1
    assert AuditEntry.objects.filter(action="login.failed").count() == 8


def test_only_an_administrator_may_set_another_users_password(officer, head_office):
    from django.core.exceptions import PermissionDenied

    from loanquality.accounts.actions import change_password

    with pytest.raises(PermissionDenied, match="只有系统管理员可以管理用户"):
        change_password(officer, "another-long-password-2", acting=head_office)
    assert login(Client(), "officer", PASSWORD).status_code == 302
