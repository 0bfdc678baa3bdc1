"""Reading 认定: always within the user's subtree."""

from __future__ import annotations

from loanquality.common.access import access_object
from loanquality.common.scope import scope_of
from loanquality.overrides.models import Override


def overrides_of(user):
    """The 认定 of the user's orgs, newest first, with their maker and checker."""
    return Override.objects.in_scope(scope_of(user)).select_related("maker", "checker")


def get_override(user, pk: int) -> Override:
    """The proposal if its loan is in the user's subtree; 404 otherwise."""
    return access_object(user, Override.objects, pk, what="认定")
