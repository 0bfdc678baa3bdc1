"""Password checks shared by the login page and the API's token endpoint."""

from __future__ import annotations

import math

from django.contrib.auth import authenticate
from django.utils import timezone

from loanquality.accounts.actions import (
    claim_login_attempt,
    note_failed_login,
    note_locked_out,
    note_login,
)
from loanquality.accounts.models import User


class LoginRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check_password_login(request, username: str, password: str) -> User:
    """The user for these credentials, or ``LoginRefused`` with a Chinese reason.
    Each attempt is counted before its password is checked, so no more passwords are
    checked than the limit allows, however many clients try at once."""
    username = username.replace("\x00", "\ufffd")  # no user has it; PostgreSQL refuses NUL
    if not claim_login_attempt(username) and User.objects.filter(username=username).exists():
        note_locked_out(username)
        raise LoginRefused(_locked_message(username))
    user = authenticate(request, username=username, password=password)
    if user is None:
        note_failed_login(username)
        raise LoginRefused("用户名或密码错误")
    note_login(user)
    return user


def _locked_message(username: str) -> str:
    """Until when, in the bank's time, and in how many minutes the user may try again."""
    until = User.objects.filter(username=username).values_list("locked_until", flat=True).first()
    now = timezone.now()
    if until is None or until <= now:
        return "登录失败次数过多，账户已临时锁定，请稍后再试"
    minutes = math.ceil((until - now).total_seconds() / 60)
    return (
        f"登录失败次数过多，账户已锁定至 {timezone.localtime(until):%H:%M}，"
        f"请 {minutes} 分钟后再试，或请系统管理员解锁"
    )
