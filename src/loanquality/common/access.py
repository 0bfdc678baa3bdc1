"""The one way a view, the API or an action reaches an org-owned row: scoped and authorised
together, in the manner of Zulip's ``access_*`` helpers.

A model whose rows belong to an org unit has an ``org_id`` field and uses
``ScopedQuerySet.as_manager()``; every list reads ``Model.objects.in_scope(scope)`` and
every single row is fetched with ``access_object``, which answers 404 for a row outside the
user's subtree exactly as for a row that does not exist.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import Http404

from loanquality.common.scope import Scope, scope_of

MAX_ID = 2**63  # a database id never reaches it; a larger number in a URL is no id

Row = TypeVar("Row", bound=models.Model)


class ScopedQuerySet(models.QuerySet):
    def in_scope(self, scope: Scope):
        """The rows of the user's org and the orgs below it."""
        return self.filter(org_id__in=scope.orgs)


def access_object(user, queryset: models.QuerySet[Row], pk: int, *, what: str = "记录") -> Row:
    """The row ``pk`` of ``queryset`` if it lies in ``user``'s subtree; 404 otherwise (and
    for an id no database could hold), so a row elsewhere in the bank looks like none."""
    if not isinstance(pk, int) or not 0 < pk < MAX_ID:
        raise Http404(f"没有这笔{what}")
    found = queryset.in_scope(scope_of(user)).filter(pk=pk).first()
    if found is None:
        raise Http404(f"没有这笔{what}，或不在您的机构范围内")
    return found
