from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from loanquality.audit.chain import GENESIS, Verified, entry_mac, unvouched, verify
from loanquality.audit.checkpoint import append_head, checkpoint_path, read_checkpoint
from loanquality.audit.keys import AuditConfigError, audit_key
from loanquality.audit.models import AuditEntry
from loanquality.audit.runs import Operator

# Any constant: PostgreSQL's advisory lock that makes appends take their turn.
_CHAIN_LOCK = 7_304_211


@transaction.atomic
def record(
    action: str,
    *,
    user=None,
    username: str = "",
    target: str = "",
    org_id: str | None = None,
    **detail,
) -> AuditEntry:
    """Append one audit row, chained to the one before by its MAC, and once the transaction
    commits, its head to the checkpoint. Call it inside the transaction of the change it
    records. ``org_id`` is the org the row concerns (default: the acting user's); only users
    whose subtree holds it see the row. Pass ``before`` and ``after`` for changes.
    ``user`` is a User, or an ``audit.runs.Operator`` acting from outside the web."""
    if isinstance(user, Operator):
        username, detail = username or user.username, {"via": user.via, **detail}
        user = None
    checkpoint = checkpoint_path()
    key = audit_key(may_create=not checkpoint.exists())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    # stored as it will read back, so the hash can be recomputed from the row
    detail = _storable(json.loads(json.dumps(detail, cls=DjangoJSONEncoder)))
    username, target = _storable(username), _storable(target)
    last = AuditEntry.objects.order_by("-seq").values("seq", "hash").first()
    seq, prev_hash = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
    acting = user if user is not None and user.pk else None
    entry = AuditEntry(
        seq=seq,
        at=timezone.now(),
        user=acting,
        username=username or (user.username if user is not None else ""),
        action=action,
        target=target,
        org_id=org_id if org_id is not None else (acting.org_id if acting else ""),
        detail=detail,
        prev_hash=prev_hash,
    )
    entry.hash = entry_mac(key, prev_hash, entry)
    entry.save()
    # after the commit: a head written for a row that then rolls back would accuse the
    # next row; a crash between commit and write only leaves the checkpoint behind
    transaction.on_commit(partial(append_head, checkpoint, seq, entry.hash), robust=True)
    return entry


def _storable(value):
    """What PostgreSQL keeps as given: floats as text (jsonb may write 1e16 back as
    10000000000000000), NUL as U+FFFD (text and jsonb refuse it)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def check_configuration() -> None:
    """Raise ``AuditConfigError`` now, at start-up, rather than at the first audited change
    (where it would be a 500): the key must be usable, the checkpoint readable."""
    path = checkpoint_path()
    read_checkpoint(path)
    audit_key(may_create=not path.exists())
    # heads that cannot be written would leave a deleted tail unnoticed
    if not _can_append(path):
        raise AuditConfigError(
            f"the audit checkpoint {path} cannot be written",
            f"无法写入审计检查点 {path}",
        )


def _can_append(path: Path) -> bool:
    """Whether ``path`` can be appended to, or made in the nearest folder that exists (the
    data dir itself may not be made yet)."""
    if path.exists():
        return path.is_file() and os.access(path, os.W_OK)
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


def verify_log() -> Verified:
    """Check the whole chain and the checkpoint (``loanquality audit verify``)."""
    path = checkpoint_path()
    checkpoint = read_checkpoint(path)
    entries = AuditEntry.objects.order_by("seq")
    if checkpoint is None:
        count = entries.count()
        return unvouched(count, path) if count else Verified(0, GENESIS, None)
    key = audit_key(may_create=False)
    return verify(entries.iterator(chunk_size=2000), key=key, checkpoint=checkpoint)
