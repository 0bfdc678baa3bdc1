"""What every page's navigation shows beside the links: the count of the user's 待办."""

from __future__ import annotations

from functools import cache


def inbox(request) -> dict:
    """``inbox_count``: the user's open tasks (``common.inbox.task_count``), counted only
    when a template shows it (a PDF or an API answer never does) and once per page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def count() -> int:
        from loanquality.common.inbox import task_count

        return task_count(user)

    return {"inbox_count": count}
