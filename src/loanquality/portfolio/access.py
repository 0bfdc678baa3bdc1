"""The one way views and the API fetch a loan: fetched and authorised together."""

from __future__ import annotations

import datetime as dt

from django.http import Http404

from loanquality.common.scope import Scope
from loanquality.portfolio import selectors

NOT_FOUND = "没有这笔贷款，或不在您的机构范围内"


def access_loan(scope: Scope, loan_id: str, as_of: dt.date | None = None) -> list[dict]:
    """The loan's classified rows up to ``as_of`` (every close when None), oldest first.
    Raises 404 when there are none or when the loan's org at its latest close is outside
    the user's subtree, so a loan elsewhere in the bank looks the same as no loan."""
    history = [
        row for row in selectors.loan_history(loan_id) if as_of is None or row["as_of"] <= as_of
    ]
    if not history or not scope.covers(history[-1]["org_id"]):
        raise Http404(NOT_FOUND)
    return history


def access_loans_at(scope: Scope, as_of: dt.date, loan_ids: list[str]) -> dict[str, dict]:
    """Many loans as closed at ``as_of`` in one read: loan id -> row, only those found
    there and inside the user's subtree (the rest are as not found)."""
    return {
        row["loan_id"]: row
        for row in selectors.loans_at_close(as_of, loan_ids)
        if scope.covers(row["org_id"])
    }
