"""API of the audit log: its rows in the user's orgs."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema

from loanquality.api.schemas import Day, Limit, Message, Offset
from loanquality.audit.selectors import filtered as audit_entries

router = Router(tags=["audit"])


class AuditOut(Schema):
    seq: int
    at: dt.datetime
    username: str
    action: str
    target: str
    org_id: str
    detail: dict
    hash: str


@router.get("", response={200: list[AuditOut], 403: Message})
def audit(
    request,
    object: str = "",
    user: str = "",
    action: str = "",
    from_: Day | None = Query(None, alias="from"),
    to: Day | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
):
    """Audit rows of the user's orgs, newest first; ``object`` is a loan id or other object
    key, ``from`` and ``to`` are dates (inclusive)."""
    entries = audit_entries(
        request.user, object=object, username=user, action=action, start=from_, end=to
    )
    return list(entries[offset : offset + limit])
