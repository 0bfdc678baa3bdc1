"""Operations on users: create, disable, count failed logins, issue API tokens."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from loanquality.accounts.models import ApiToken, Role, User
from loanquality.audit.actions import record
from loanquality.portfolio.scope import org_tree

TOKEN_DAYS = 30


@transaction.atomic
def create_user(
    username: str,
    *,
    password: str,
    role: str,
    org_id: str,
    staff_id: str = "",
    acting: User | None = None,
) -> User:
    """A new user of ``role`` in org unit ``org_id`` (which the imported org tree must know);
    an officer's ``staff_id`` names the loans they manage."""
    _check_role_and_org(role, org_id)
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"用户名已存在 user '{username}' exists")
    user = User(username=username, role=role, org_id=org_id, staff_id=staff_id)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    record(
        "user.create",
        user=acting,
        target=username,
        org_id=org_id,
        after=_post_of(user),
    )
    return user


@transaction.atomic
def change_post(
    user: User,
    *,
    role: str | None = None,
    org_id: str | None = None,
    staff_id: str | None = None,
    acting: User | None = None,
) -> User:
    """Move a user to another role, org unit or staff id; the audit row keeps both."""
    before = _post_of(user)
    user.role = role or user.role
    user.org_id = org_id or user.org_id
    user.staff_id = user.staff_id if staff_id is None else staff_id
    _check_role_and_org(user.role, user.org_id)
    user.save(update_fields=["role", "org_id", "staff_id"])
    record(
        "user.change",
        user=acting,
        target=user.username,
        org_id=user.org_id,
        before=before,
        after=_post_of(user),
    )
    return user


def _check_role_and_org(role: str, org_id: str) -> None:
    if role not in Role.values:
        raise ValidationError(f"未知角色 unknown role '{role}'; 可选 choose from {Role.values}")
    if org_id not in org_tree().names:
        raise ValidationError(f"未知机构号 unknown org_id '{org_id}': import an org table first")


def _post_of(user: User) -> dict:
    return {"role": user.role, "org_id": user.org_id, "staff_id": user.staff_id}


@transaction.atomic
def disable_user(user: User, *, acting: User | None = None) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    user.api_tokens.all().delete()
    record(
        "user.disable",
        user=acting,
        target=user.username,
        org_id=user.org_id,
        before={"is_active": True},
        after={"is_active": False},
    )
    return user


@transaction.atomic
def note_failed_login(username: str) -> None:
    """Count a failed login; the limit'th in a row locks the account for a while."""
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        record("login.failed", username=username, known=False)
        return
    user.failed_logins += 1
    fields = ["failed_logins"]
    if user.failed_logins >= settings.LOGIN_FAILURE_LIMIT:
        user.locked_until = timezone.now() + dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
        user.failed_logins = 0
        fields.append("locked_until")
        record("login.locked", user=user, until=user.locked_until)
    user.save(update_fields=fields)
    record("login.failed", user=user)


@transaction.atomic
def note_login(user: User) -> None:
    user.failed_logins = 0
    user.last_login = timezone.now()
    user.save(update_fields=["failed_logins", "last_login"])
    record("login", user=user)


@transaction.atomic
def issue_token(user: User) -> str:
    """A new API token for ``user``; only its digest is kept."""
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        digest=ApiToken.digest_of(token),
        expires_at=timezone.now() + dt.timedelta(days=TOKEN_DAYS),
    )
    record("api.token", user=user)
    return token
