"""Reading 认定: always within the user's subtree."""

from __future__ import annotations

from loanquality.accounts.models import Role
from loanquality.common.access import access_object
from loanquality.common.scope import scope_of
from loanquality.overrides.authority import APPROVERS
from loanquality.overrides.models import Override, Status


def overrides_of(user):
    """The 认定 of the user's orgs, newest first, with their maker and checker."""
    return Override.objects.in_scope(scope_of(user)).select_related("maker", "checker")


def get_override(user, pk: int) -> Override:
    """The proposal if its loan is in the user's subtree; 404 otherwise."""
    return access_object(user, Override.objects, pk, what="认定")


def decidable_by(user):
    """The pending proposals of the user's subtree that ``user`` may decide, as one query
    (what ``authority.may_decide`` says of each: an approver, not the maker, a director
    when the proposal needs one)."""
    if user.role not in APPROVERS:
        return Override.objects.none()
    found = overrides_of(user).filter(status=Status.PENDING).exclude(maker=user)
    return found if user.role == Role.DIRECTOR else found.filter(needs_director=False)
