"""The checkpoint: every head of the audit chain (count, MAC), appended to a file outside
the database once the row's transaction has committed.

It lives in the data dir as ``audit_checkpoint.jsonl`` (or where
``LOANQUALITY_AUDIT_CHECKPOINT`` says), beside ``import_log.jsonl``: one per database, out
of reach of whoever can write the database, and it goes wherever the data dir is backed up.
A database writer can delete rows the MACs cannot miss only at the end of the chain; the
checkpoint remembers how long the chain was and what each row's MAC was. Lines are only
ever appended (O_APPEND); ``chattr +a`` makes the file append-only for the service too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from loanquality.audit.keys import AuditConfigError

CHECKPOINT_ENV = "LOANQUALITY_AUDIT_CHECKPOINT"


@dataclass(frozen=True)
class Checkpoint:
    """What the checkpoint saw: the MAC of row ``count`` for each head written (the first
    line for a count wins: a later one can only come from a row written again), and how
    many rows were hashed the old way, without the key (``legacy``)."""

    path: Path
    heads: dict[int, str]
    legacy: int

    @property
    def longest(self) -> int:
        return max(self.heads, default=0)


def checkpoint_path() -> Path:
    named = os.environ.get(CHECKPOINT_ENV)
    return Path(named) if named else Path(settings.DATA_DIR) / "audit_checkpoint.jsonl"


def append_head(path: Path, count: int, mac: str, **extra) -> None:
    """One line, one ``write`` on a file opened O_APPEND: writers never overwrite each other."""
    line = {"count": count, "mac": mac, "at": timezone.now().isoformat(), **extra}
    text = json.dumps(line, separators=(",", ":")) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, text.encode("ascii"))
    finally:
        os.close(descriptor)


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint at ``path``, or None if there is none yet."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise _unreadable(path, str(error)) from None
    heads, legacy = {}, None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            head = json.loads(line)
            count, mac = int(head["count"]), str(head["mac"])
            legacy = int(head.get("legacy", 0)) if legacy is None else legacy
        except (ValueError, KeyError, TypeError, AttributeError):
            raise _unreadable(path, f"line {number} is not a head (count, mac)") from None
        heads.setdefault(count, mac)
    return Checkpoint(path, heads, legacy or 0)


def _unreadable(path: Path, why: str) -> AuditConfigError:
    return AuditConfigError(
        f"the audit checkpoint {path} cannot be read: {why}",
        f"无法读取审计检查点 {path}：{why}",
    )
