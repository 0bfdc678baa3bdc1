"""Approvals that take effect wholly: the outbox between the database and the engine's list.

An approval commits, in one transaction, the decision, its audit row and an outbox row
(``ApprovalOutbox``). Only after the commit is the approved list the engine reads
(``overrides.parquet``) rewritten; the outbox row is marked done once that succeeded. If
it did not (the process died, the disk was full), the row stays pending and the next close
completes it (``complete_pending``, called before the engine closes), so no approval the
database holds is ever left out of the closes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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


def mark_done(override: Override) -> bool:
    """The approval's 认定 is in the published list (False: it was already marked)."""
    pending = ApprovalOutbox.objects.filter(override=override, done_at=None)
    return bool(pending.update(done_at=timezone.now()))


def pending_since() -> ApprovalOutbox | None:
    """The pending outbox row of the earliest date (None when every approval is published)."""
    return (
        ApprovalOutbox.objects.filter(done_at=None)
        .select_related("override__checker")
        .order_by("as_of", "pk")
        .first()
    )


@dataclass(frozen=True)
class Completed:
    as_of: dt.date  # the earliest date the published 认定 apply from: close again from it
    overrides: list[int]


def complete_pending(user=None, *, username: str = SYSTEM, **context) -> Completed | None:
    """Publish the approved list if any approval's publish is pending, mark those approvals
    done and audit each (``override.publish``, as ``user`` or the system); say from which
    date to close again. None when nothing was pending. Idempotent and safe in several
    processes at once: the pending rows are locked till the commit (PostgreSQL), and a row
    is marked by a conditional update, so only the process that marked it audits and
    returns it."""
    with transaction.atomic():
        pending = list(ApprovalOutbox.objects.select_for_update().filter(done_at=None))
        if not pending:
            return None
        publish_approved()
        now = timezone.now()
        done = [
            row
            for row in pending
            if ApprovalOutbox.objects.filter(pk=row.pk, done_at=None).update(done_at=now)
        ]
        overrides = Override.objects.in_bulk([row.override_id for row in done])
        for row in done:
            override = overrides[row.override_id]
            record(
                "override.publish",
                user=user,
                username="" if user is not None else username,
                target=override.loan_id,
                org_id=override.org_id,
                override=override.pk,
                as_of=row.as_of,
                **context,
            )
    if not done:
        return None
    return Completed(min(row.as_of for row in done), sorted(row.override_id for row in done))
