"""用户管理 (administrators) and 修改密码 (everyone): thin views over accounts.actions, the
same functions the ``loanquality user`` commands call. A refused submit shows the reason
and keeps what was typed (never the passwords)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from loanquality.accounts import actions
from loanquality.accounts.models import Role, User
from loanquality.common.scope import org_tree, scope_of


def users_page(request):
    """Every user the administrator may manage, and the form that adds one."""
    users = actions.manageable_users(request.user)
    error = None
    if request.method == "POST":
        try:
            created = actions.create_user(
                request.POST.get("username", "").strip(),
                password=_new_password(request),
                role=request.POST.get("role", ""),
                org_id=request.POST.get("org_id", ""),
                staff_id=request.POST.get("staff_id", "").strip(),
                acting=request.user,
            )
        except ValidationError as invalid:
            error = "；".join(invalid.messages)
        else:
            messages.success(request, f"已新增用户 {created.username}")
            return redirect("user", pk=created.pk)
    return render(
        request,
        "accounts/users.html",
        {
            **_choices(request.user),
            "users": [(u, org_tree().name(u.org_id)) for u in users],
            "error": error,
            "typed": request.POST,
            "now": timezone.now(),
        },
        status=400 if error else 200,
    )


def user_page(request, pk: int):
    """One user: role, org and staff id; a new password; disable or enable; unlock."""
    user = get_object_or_404(actions.manageable_users(request.user), pk=pk)
    error = None
    if request.method == "POST":
        change = _CHANGES.get(request.POST.get("do", ""))
        if change is None:
            raise PermissionDenied("未知的操作")
        try:
            done = change(request, user)
        except ValidationError as invalid:
            error = "；".join(invalid.messages)
            user.refresh_from_db()
        else:
            messages.success(request, done)
            return redirect("user", pk=user.pk)
    refused_post = error is not None and request.POST.get("do") == "post"
    post = request.POST if refused_post else {
        "role": user.role, "org_id": user.org_id, "staff_id": user.staff_id
    }  # fmt: skip
    return render(
        request,
        "accounts/user.html",
        {
            **_choices(request.user),
            "person": user,
            "person_org": org_tree().name(user.org_id),
            "post": post,
            "error": error,
            "is_self": user.pk == request.user.pk,
            "now": timezone.now(),
        },
        status=400 if error else 200,
    )


def password_page(request):
    """The user's own password: the current one, then the new one twice."""
    error = None
    if request.method == "POST":
        try:
            actions.change_own_password(
                request.user, request.POST.get("current", ""), _new_password(request)
            )
        except ValidationError as invalid:
            error = "；".join(invalid.messages)
        else:
            update_session_auth_hash(request, request.user)  # stay logged in here
            messages.success(request, "密码已修改；您的接口令牌已全部撤销")
            return redirect("account-password")
    return render(request, "accounts/password.html", {"error": error}, status=400 if error else 200)


def _new_password(request) -> str:
    password = request.POST.get("password", "")
    if password != request.POST.get("password2", ""):
        raise ValidationError("两次输入的新密码不一致")
    return password


def _change_post(request, user: User) -> str:
    actions.change_post(
        user,
        role=request.POST.get("role") or None,
        org_id=request.POST.get("org_id") or None,
        staff_id=request.POST.get("staff_id", "").strip(),
        acting=request.user,
    )
    return f"已变更 {user.username} 的岗位与机构"


def _reset_password(request, user: User) -> str:
    actions.change_password(user, _new_password(request), acting=request.user)
    return f"已重置 {user.username} 的密码；其接口令牌已全部撤销"


def _disable(request, user: User) -> str:
    actions.disable_user(user, acting=request.user)
    return f"已停用 {user.username}；其接口令牌已全部撤销"


def _enable(request, user: User) -> str:
    actions.enable_user(user, acting=request.user)
    return f"已启用 {user.username}"


def _unlock(request, user: User) -> str:
    actions.unlock_user(user, acting=request.user)
    return f"已解除 {user.username} 的登录锁定"


_CHANGES = {
    "post": _change_post,
    "password": _reset_password,
    "disable": _disable,
    "enable": _enable,
    "unlock": _unlock,
}


def _choices(acting: User) -> dict:
    """The roles, and the orgs of the administrator's subtree (name, code on hover)."""
    scope = scope_of(acting)
    return {"roles": Role.choices, "orgs": [(o, scope.tree.name(o)) for o in scope.orgs]}
