"""Operations on users: create, change, disable and enable, unlock, set passwords, count
failed logins, issue and revoke API tokens.

The command line calls them with ``acting`` its OS user (an ``audit.runs.Operator``:
whoever holds the data dir runs it, audited by name and ``via``); the web with the
administrator acting, who may manage only users of their own subtree."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from loanquality.accounts.models import ApiToken, Role, User
from loanquality.audit.actions import record
from loanquality.audit.runs import Operator
from loanquality.common.scope import org_tree, scope_of

TOKEN_DAYS = 30


@transaction.atomic
def create_user(
    username: str,
    *,
    password: str,
    role: str,
    org_id: str,
    staff_id: str = "",
    acting: User | Operator | None = None,
) -> User:
    """A new user of ``role`` in org unit ``org_id`` (which the imported org tree must know);
    an officer's ``staff_id`` names the loans they manage."""
    _check_may_manage(acting, org_id)
    _check_role_and_org(role, org_id)
    if not username:
        raise ValidationError("请填写用户名")
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"用户名「{username}」已存在")
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
    acting: User | Operator | None = None,
) -> User:
    """Move a user to another role, org unit or staff id; the audit row keeps both."""
    _check_may_manage(acting, user.org_id, org_id or user.org_id)
    if _is(acting, user) and (role or user.role) != user.role:
        raise ValidationError("不能变更自己的岗位角色，请由其他系统管理员操作")
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
        choices = "、".join(f"{r.label}（{r.value}）" for r in Role)
        raise ValidationError(f"未知岗位角色「{role}」，可选：{choices}")
    if org_id not in org_tree().names:
        raise ValidationError(f"未知机构号「{org_id}」：请先导入机构表，再选其中的机构")


def manageable_users(acting: User):
    """The users an administrator may manage: those of their org and the units below it."""
    _check_may_manage(acting)
    scope = scope_of(acting)
    users = User.objects.order_by("org_id", "username")
    return users if scope.bank_wide else users.filter(org_id__in=scope.orgs)


def _check_may_manage(acting: User | Operator | None, *org_ids: str) -> None:
    """Refuse a web user other than an administrator, and any org outside their subtree."""
    if not isinstance(acting, User):  # the command line, or no one
        return
    if not acting.can_manage_users():
        raise PermissionDenied("只有系统管理员可以管理用户")
    scope = scope_of(acting)
    if scope.bank_wide:
        return
    outside = [o for o in org_ids if not scope.covers(o)]
    if outside:
        names = "、".join(scope.tree.name(o) for o in outside)
        raise ValidationError(
            f"{names}不在您管辖的机构（{scope.tree.name(acting.org_id)}及下级）内"
        )


def _is(acting, user: User) -> bool:
    return isinstance(acting, User) and acting.pk == user.pk


def _post_of(user: User) -> dict:
    return {"role": user.role, "org_id": user.org_id, "staff_id": user.staff_id}


@transaction.atomic
def disable_user(user: User, *, acting: User | Operator | None = None) -> User:
    """The user can no longer log in, and every API token of theirs ends now."""
    _check_may_manage(acting, user.org_id)
    if _is(acting, user):
        raise ValidationError("不能停用自己的账户")
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
def enable_user(user: User, *, acting: User | Operator | None = None) -> User:
    """A disabled user may log in again (their old API tokens stay ended)."""
    _check_may_manage(acting, user.org_id)
    user.is_active = True
    user.save(update_fields=["is_active"])
    record(
        "user.enable",
        user=acting,
        target=user.username,
        org_id=user.org_id,
        before={"is_active": False},
        after={"is_active": True},
    )
    return user


@transaction.atomic
def unlock_user(user: User, *, acting: User | Operator | None = None) -> User:
    """End a lockout now, and forget the failed attempts that led to it."""
    _check_may_manage(acting, user.org_id)
    before = {"locked_until": user.locked_until, "failed_logins": user.failed_logins}
    user.locked_until, user.failed_logins = None, 0
    user.save(update_fields=["locked_until", "failed_logins"])
    record(
        "user.unlock",
        user=acting,
        target=user.username,
        org_id=user.org_id,
        before=before,
        after={"locked_until": None, "failed_logins": 0},
    )
    return user


@transaction.atomic
def change_own_password(user: User, current: str, password: str) -> User:
    """The user's own new password, given the one they have now."""
    if not user.check_password(current):
        raise ValidationError("当前密码不正确")
    if password == current:
        raise ValidationError("新密码不能与当前密码相同")
    return change_password(user, password, acting=user)


@transaction.atomic
def change_password(user: User, password: str, *, acting: User | Operator | None = None) -> User:
    """A new password, checked as a new user's is; every API token of the user ends with
    the old one (their web sessions end too: Django ties a session to the password). Set
    by an administrator for another user, or by the user (``change_own_password``)."""
    if not _is(acting, user):
        _check_may_manage(acting, user.org_id)
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
