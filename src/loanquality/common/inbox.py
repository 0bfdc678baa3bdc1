"""我的待办: one inbox that every app feeds (DESIGN.md, "One inbox").

An app's AppConfig may define ``inbox(user) -> list[Task]``: what waits for ``user`` in that
app, each task a count of things and the list that shows them. Nothing here imports an
app; the installed apps are asked in their INSTALLED_APPS order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """``count`` things waiting (``overdue`` of them late), listed at ``url``."""

    key: str
    label: str
    count: int
    url: str
    overdue: int = 0


def tasks_for(user) -> list[Task]:
    """Every app's tasks for ``user`` that have something to do, in the apps' order."""
    from django.apps import apps

    if user is None or not user.is_authenticated:
        return []
    tasks: list[Task] = []
    for config in apps.get_app_configs():
        if feed := getattr(config, "inbox", None):
            tasks += feed(user)
    return [task for task in tasks if task.count]


def task_count(user) -> int:
    """How many things wait for ``user`` (the navigation's number)."""
    return sum(task.count for task in tasks_for(user))
