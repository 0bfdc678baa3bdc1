"""Reading the audit log: only the rows of the user's subtree, and none for officers."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from loanquality.audit.models import AuditEntry
from loanquality.common.scope import scope_of


def visible_entries(user):
    """The rows a user may read: everything for the head office, else those of their subtree."""
    if not user.can_read_audit():
        raise PermissionDenied("客户经理不能查看审计日志")
    scope = scope_of(user)
    entries = AuditEntry.objects.select_related("user")
    # the bank's own rows (a login with no user, say) carry no org: the head office's alone
    return entries if scope.bank_wide else entries.in_scope(scope)


def filtered(user, *, object: str = "", username: str = "", action: str = "", start=None, end=None):
    """``object`` is a loan id or other object key; ``start``/``end`` are dates, both
    inclusive, in the server's time zone."""
    entries = visible_entries(user)
    # PostgreSQL refuses NUL in a query; no row can hold it (``record`` stores U+FFFD)
    object, username, action = (v.replace("\x00", "\ufffd") for v in (object, username, action))
    if object:
        entries = entries.filter(target=object)
    if username:
        entries = entries.filter(username=username)
    if action:
        entries = entries.filter(action=action)
    if start:
        entries = entries.filter(at__gte=_day_start(start))
    if end:
        entries = entries.filter(at__lt=_day_start(end + dt.timedelta(days=1)))
    return entries


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))
