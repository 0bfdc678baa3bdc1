"""Links of the loan lists: the current query with one thing changed, sortable headers,
page numbers, and the legend of the rule codes."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from loanquality.common.labels import rule_labels

register = template.Library()
# pages shown either side of the current one before a gap
PAGE_WINDOW = 2


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """``?…`` of the page's own query with ``changes`` applied (None or "" removes one)."""
    params = context["request"].GET.copy()
    for name, value in changes.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str, numeric: bool = False) -> str:
    """A column header that sorts by ``key``, again to reverse; numbers sort largest first.
    Where the page does not sort (no ``sort`` in the context) the bare label."""
    current = context.get("sort")
    if current is None:
        return label
    if current == key:
        target, arrow = "-" + key, " ▲"
    elif current == "-" + key:
        target, arrow = key, " ▼"
    else:
        target, arrow = ("-" + key if numeric else key), ""
    link = query(context, sort=target, page=None)
    return format_html('<a href="{}" data-sort="{}">{}{}</a>', link, key, label, arrow)


@register.simple_tag
def page_numbers(page: int, pages: int) -> list[int | None]:
    """The first and last page, the current one and its neighbours; None marks a gap."""
    shown = sorted(
        {1, pages, *range(max(1, page - PAGE_WINDOW), min(pages, page + PAGE_WINDOW) + 1)}
    )
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


@register.simple_tag
def rule_legend() -> dict[str, str]:
    return rule_labels()
