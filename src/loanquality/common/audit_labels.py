"""The Chinese names of audit actions and of their details, which each app declares for
its own actions on its AppConfig (``audit_labels = AuditLabels(...)``); the audit viewer,
its Excel export and its filter read them all from here, so a new app's actions read in
Chinese without anyone editing the audit app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from django.apps import apps


@dataclass(frozen=True)
class AuditLabels:
    """``actions``: action code -> name; ``fields``: detail key -> name; ``values``: detail
    key -> {stored value -> how it reads} (a status, a reason code)."""

    actions: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@cache
def registered() -> AuditLabels:
    """Every installed app's labels merged, in INSTALLED_APPS order."""
    actions: dict[str, str] = {}
    fields: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    for config in apps.get_app_configs():
        labels = getattr(config, "audit_labels", None)
        if labels is None:
            continue
        actions.update(labels.actions)
        fields.update(labels.fields)
        for key, names in labels.values.items():
            values.setdefault(key, {}).update(names)
    return AuditLabels(actions, fields, values)
