"""Login, lockout, CSRF, session expiry, the CLI's user commands and the append-only audit log."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

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
    # then the right one is refused too, with the lock explained in Chinese
    answer = login(client, "officer", PASSWORD)
    assert answer.status_code == 401
    assert "锁定" in answer.content.decode()
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
