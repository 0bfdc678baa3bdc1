from __future__ import annotations

from loanquality.audit.models import AuditEntry


def record(action: str, *, user=None, username: str = "", target: str = "", **detail) -> None:
    """Append one audit row. Call it inside the transaction of the change it records."""
    AuditEntry.objects.create(
        user=user if user is not None and user.pk else None,
        username=username or (user.username if user is not None else ""),
        action=action,
        target=target,
        detail=detail,
    )
