"""API of 认定: the user's orgs' proposals, a proposal, and its approval, rejection or
withdrawal."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Router, Schema
from pydantic import Field

from loanquality.api.schemas import Day, FilledText, Limit, Message, Offset
from loanquality.overrides import actions
from loanquality.overrides.models import Override, Status
from loanquality.overrides.selectors import overrides_of

router = Router(tags=["overrides"])

OverrideState = Literal[tuple(Status.values)]
ERRORS = {400: Message, 403: Message, 404: Message}


class OverrideIn(Schema):
    loan_id: str
    as_of: Day
    category: int = Field(ge=1, le=5, description="1 正常、2 关注、3 次级、4 可疑、5 损失")
    reason: FilledText


class OverrideId(Schema):
    id: int


class Decision(Schema):
    comment: str = ""


class Rejection(Schema):
    comment: FilledText  # a rejection says why


class OverrideOut(Schema):
    id: int
    loan_id: str
    as_of: dt.date
    org_id: str
    balance: float
    rule_category: int
    category_before: int
    category: int
    reason: str
    status: str
    needs_director: bool
    maker: str
    created_at: dt.datetime
    checker: str | None
    decided_at: dt.datetime | None
    comment: str


def _override_out(o: Override) -> dict:
    return {
        "id": o.pk,
        "loan_id": o.loan_id,
        "as_of": o.as_of,
        "org_id": o.org_id,
        "balance": float(o.balance),
        "rule_category": o.rule_category,
        "category_before": o.category_before,
        "category": o.category,
        "reason": o.reason,
        "status": o.status,
        "needs_director": o.needs_director,
        "maker": o.maker.username,
        "created_at": o.created_at,
        "checker": o.checker.username if o.checker else None,
        "decided_at": o.decided_at,
        "comment": o.comment,
    }


@router.post("", response={200: OverrideId, **ERRORS})
def propose_override(request, proposal: OverrideIn):
    """Propose a category (1–5) for a loan at the latest close; a checker decides it."""
    override = actions.propose(
        request.user, proposal.loan_id, proposal.as_of, proposal.category, proposal.reason
    )
    return {"id": override.pk}


@router.get("", response=list[OverrideOut])
def list_overrides(
    request,
    status: OverrideState | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
):
    """认定 of the user's orgs, newest first; ``status`` is pending, approved, rejected or
    withdrawn."""
    found = overrides_of(request.user)
    if status:
        found = found.filter(status=status)
    return [_override_out(o) for o in found[offset : offset + limit]]


@router.post("/{override_id}/approve", response={200: OverrideOut, **ERRORS})
def approve_override(request, override_id: int, decision: Decision):
    """Approve a pending 认定."""
    return _override_out(actions.approve(request.user, override_id, decision.comment))


@router.post("/{override_id}/reject", response={200: OverrideOut, **ERRORS})
def reject_override(request, override_id: int, decision: Rejection):
    """Reject a pending 认定."""
    return _override_out(actions.reject(request.user, override_id, decision.comment))


@router.post("/{override_id}/withdraw", response={200: OverrideOut, **ERRORS})
def withdraw_override(request, override_id: int, decision: Decision):
    """Withdraw a pending 认定."""
    return _override_out(actions.withdraw(request.user, override_id, decision.comment))
