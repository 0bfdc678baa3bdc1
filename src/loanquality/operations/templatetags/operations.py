"""Template filters for the operations pages and the navigation."""

from django import template

from loanquality.operations.actions import operations_refusal

register = template.Library()


@register.filter
def may_run_operations(user) -> bool:
    """Whether the navigation offers 数据导入 and 月末结账 to ``user``."""
    return user.is_authenticated and operations_refusal(user) is None
