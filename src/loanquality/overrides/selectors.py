"""Reading 认定: always within the user's subtree."""

from __future__ import annotations

from loanquality.common.access import access_object
from loanquality.overrides.models import Override


def get_override(user, pk: int) -> Override:
    """The proposal if its loan is in the user's subtree; 404 otherwise."""
    return access_object(user, Override.objects, pk, what="认定")
