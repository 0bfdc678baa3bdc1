"""How figures look on the pages: 万元, percentages, categories."""

from __future__ import annotations

import math

from django import template

from loanquality.common.scope import org_tree
from loanquality.engine.schema import CATEGORY_LABELS

register = template.Library()


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@register.filter
def wan(value) -> str:
    """Yuan shown in 万元 with two decimals."""
    return "—" if _missing(value) else f"{value / 1e4:,.2f}"


@register.filter
def yuan(value) -> str:
    return "—" if _missing(value) else f"{value:,.2f}"


@register.filter
def percent(value) -> str:
    return "—" if _missing(value) else f"{value:.2%}"


@register.filter
def points(value) -> str:
    """A change of a rate, in percentage points: rounded first, then signed, so a change
    too small to show is 0.00, never -0.00."""
    if _missing(value):
        return "—"
    shown = round(value * 100, 2)
    return f"{shown:+.2f}个百分点" if shown else "0.00个百分点"


@register.filter
def category(value) -> str:
    return "—" if _missing(value) else CATEGORY_LABELS.get(int(value), str(value))


@register.filter
def get(mapping, key):
    return mapping.get(key, key) if mapping else key


@register.filter
def count(value) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


@register.filter
def org_name(org_id: str) -> str:
    """The org's name in the latest org tree (its code when the tree does not have it)."""
    return org_tree().name(org_id)
