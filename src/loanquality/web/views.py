"""The site's own pages, above every app: 我的待办 gathers what each app asks of the user."""

from __future__ import annotations

from django.shortcuts import render

from loanquality.common.inbox import tasks_for


def inbox_page(request):
    """我的待办: each app's tasks for the user (``common.inbox.tasks_for``), with how many
    and how many overdue, each linking to the list that holds them."""
    tasks = tasks_for(request.user)
    return render(
        request,
        "inbox.html",
        {"tasks": tasks, "total": sum(t.count for t in tasks)},
    )
