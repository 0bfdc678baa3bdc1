"""Who may propose and decide a 认定 (the maker–checker rules, in one place).

A loan or proposal outside the user's org subtree is answered with 404 before these run
(``access_loan`` / ``Override.objects.in_scope``); these raise 403 for the rest.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied

from loanquality.accounts.models import Role

PROPOSERS = (Role.OFFICER, Role.RISK, Role.CREDIT_DEPT, Role.DIRECTOR)
APPROVERS = (Role.CREDIT_DEPT, Role.DIRECTOR)


def director_threshold() -> Decimal:
    """Loans with a balance above this (元) need a director's approval."""
    return Decimal(settings.OVERRIDE_DIRECTOR_ABOVE)


def check_may_propose(user, loan: dict) -> None:
    """A loan officer only for the loans they manage (管户 or B角); risk, credit department
    and directors for any loan of their subtree."""
    if user.role not in PROPOSERS:
        raise PermissionDenied("您的岗位不能发起认定")
    if user.role == Role.OFFICER and (
        not user.staff_id or user.staff_id not in (loan.get("manager_id"), loan.get("manager_b_id"))
    ):
        raise PermissionDenied("客户经理只能对自己管户（含B角）的贷款发起认定")


def propose_refusal(user, loan: dict) -> str | None:
    """Why ``user`` may not propose for ``loan``; None when they may (pages show the
    button only then)."""
    try:
        check_may_propose(user, loan)
    except PermissionDenied as refused:
        return str(refused)
    return None


def check_may_decide(user, override) -> None:
    """Credit department or directors of an org containing the loan; never the maker; a
    director above the threshold."""
    if user.role not in APPROVERS:
        raise PermissionDenied("只有信贷管理部和机构负责人可以审批认定")
    if override.maker_id == user.pk:
        raise PermissionDenied("发起人不能审批自己发起的认定（可撤回）")
    if override.needs_director and user.role != Role.DIRECTOR:
        raise PermissionDenied(
            f"贷款余额超过 {director_threshold():,.0f} 元的认定须由机构负责人审批"
        )


def may_decide(user, override) -> bool:
    try:
        check_may_decide(user, override)
    except PermissionDenied:
        return False
    return True
