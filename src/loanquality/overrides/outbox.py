"""Approvals that take effect wholly: the outbox between the database and the closes.

An approval commits, in one transaction, the decision, its audit row and an outbox row
(``ApprovalOutbox``), and starts a close of its date and every later one. Every close
first publishes the approved list the engine reads (``overrides.parquet``) if any outbox
row is pending, closes from the earliest pending date on as well, and only once all those
closes are published marks the rows done (``mark_applied``). Whatever stops it on the way
(the process dies, the disk is full, a close fails), the rows stay pending and the next
close, or the server's next start, does it again: no approval the database holds is
left out of the closes it applies to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loanquality.audit.actions import record
from loanquality.audit.runs import SYSTEM
from loanquality.engine import overrides as engine_overrides
from loanquality.overrides.models import ApprovalOutbox, Override, Status


def publish_approved() -> None:
    """Rewrite the approved 认定 the engine reads (every one: closes pick what is in force).
    Writers take turns, so a slower one never puts back a list missing a newer approval."""
    with engine_overrides.writing(settings.DATA_DIR):
        approved = Override.objects.filter(status=Status.APPROVED).order_by("pk")
        rows = [
            {
                "override_id": str(o.pk),
                "loan_id": o.loan_id,
                "as_of": o.as_of,
                "category": o.category,
                "approved_at": o.decided_at,
            }
            for o in approved
        ]
        engine_overrides.write_approved(settings.DATA_DIR, rows)


def add(override: Override) -> ApprovalOutbox:
    """The outbox row of an approval: call it inside the approval's transaction."""
    return ApprovalOutbox.objects.create(override=override, as_of=override.as_of)


def pending() -> list[ApprovalOutbox]:
    """Every approval not yet in force (published and closed again from its date), the
    earliest date first."""
    rows = ApprovalOutbox.objects.filter(done_at=None).select_related("override__checker")
    return list(rows.order_by("as_of", "pk"))


def mark_applied(
    rows: list[ApprovalOutbox], user=None, *, username: str = SYSTEM, **context
) -> list[int]:
    """Mark ``rows`` done once a close has published the list holding them and closed every
    date from theirs on; audit each (``override.apply``, as ``user`` or ``username``, with
    ``context`` such as the run). Safe in several processes at once: a row is marked by a
    conditional update, so only the process that marked it audits it. Returns the ids of
    the 认定 marked here."""
    with transaction.atomic():
        now = timezone.now()
        done = [
            row
            for row in rows
            if ApprovalOutbox.objects.filter(pk=row.pk, done_at=None).update(done_at=now)
        ]
        overrides = Override.objects.in_bulk([row.override_id for row in done])
        for row in done:
            override = overrides[row.override_id]
            record(
                "override.apply",
                user=user,
                username="" if user is not None else username,
                target=override.loan_id,
                org_id=override.org_id,
                override=override.pk,
                as_of=row.as_of,
                **context,
            )
    return sorted(row.override_id for row in done)
