"""Operations on users: create, change, disable, count failed logins, issue and revoke
API tokens."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
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
    """The user can no longer log in, and every API token of theirs ends now."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    record(
        "user.disable",
        user=acting,
        target=user.username,
        org_id=user.org_id,
        before={"is_active": True},
        after={"is_active": False},
        tokens_revoked=_end_tokens(user.api_tokens.all()),
    )
    return user


@transaction.atomic
def change_password(user: User, password: str, *, acting: User | None = None) -> User:
    """A new password, checked as a new user's is; every API token of the user ends with
    the old one (their web sessions end too: Django ties a session to the password)."""
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    record(
        "user.password",
        user=acting,
        target=user.username,
        org_id=user.org_id,
        tokens_revoked=_end_tokens(user.api_tokens.all()),
    )
    return user


@transaction.atomic
def revoke_tokens(user: User, *, why: str, token_id: int | None = None) -> int:
    """End one of the user's API tokens (``token_id``) or all of them; how many ended.
    ``why``: "logout" (the API's logout ends the token it is called with) or "page" (the
    user on their token page). Another user's token id ends nothing."""
    tokens = user.api_tokens.all()
    if token_id is not None:
        tokens = tokens.filter(pk=token_id)
    ids = sorted(tokens.values_list("pk", flat=True))
    if not ids:
        return 0
    _end_tokens(tokens)
    record("api.token.revoke", user=user, target=user.username, why=why, tokens=ids)
    return len(ids)


def _end_tokens(tokens) -> int:
    ended, _ = tokens.delete()
    return ended


def claim_login_attempt(username: str) -> bool:
    """Count this attempt as failed before its password is checked, if the account may be
    tried: not locked and fewer attempts failed or under way than the limit. One
    conditional UPDATE, so parallel guesses cannot all pass a lock check made before any
    of them has failed. False for a locked account and for an unknown name.

    Its audit row is the outcome's (``note_login``, ``note_failed_login``,
    ``note_locked_out``): the claim must commit before the slow password check, alone."""
    still_open = Q(locked_until__isnull=True) | Q(locked_until__lte=timezone.now())
    claimed = User.objects.filter(
        still_open, username=username, failed_logins__lt=settings.LOGIN_FAILURE_LIMIT
    ).update(failed_logins=F("failed_logins") + 1)
    return claimed == 1


@transaction.atomic
def note_failed_login(username: str) -> None:
    """A wrong password, its attempt already counted by ``claim_login_attempt``: the
    limit'th in a row locks the account for a while."""
    user = User.objects.filter(username=username).first()
    if user is None:
        record("login.failed", username=username, known=False)
        return
    _lock_if_the_limit_is_reached(user)
    record("login.failed", user=user)


@transaction.atomic
def note_locked_out(username: str) -> None:
    """An attempt refused without a password check. If the limit was reached by attempts
    still under way (or that never ended: a process that died), the lock starts now, so a
    counter left at the limit cannot keep the account shut for good."""
    user = User.objects.get(username=username)
    _lock_if_the_limit_is_reached(user)
    record("login.failed", user=user, locked=True)


def _lock_if_the_limit_is_reached(user: User) -> None:
    """Lock once, however many attempts end together: the UPDATE that resets the count wins."""
    until = timezone.now() + dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    reached = User.objects.filter(pk=user.pk, failed_logins__gte=settings.LOGIN_FAILURE_LIMIT)
    if reached.update(failed_logins=0, locked_until=until):
        record("login.locked", user=user, until=until)


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
    issued = ApiToken.objects.create(
        user=user,
        digest=ApiToken.digest_of(token),
        expires_at=timezone.now() + dt.timedelta(days=TOKEN_DAYS),
    )
    record("api.token", user=user, token=issued.pk)
    return token
