"""The hash chain over the audit log: how a row's hash is made, and checking every row."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64


def entry_hash(entry) -> str:
    """SHA-256 of the row's ``prev_hash`` and its content (anything with the AuditEntry
    fields: a row, a historical model's row in a migration)."""
    content = [
        entry.seq,
        entry.at.astimezone(dt.UTC).isoformat(),
        entry.user_id,
        entry.username,
        entry.action,
        entry.target,
        entry.org_id,
        entry.detail,
    ]
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((entry.prev_hash + text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Broken:
    """The first entry where the chain does not hold."""

    seq: int
    english: str
    chinese: str


@dataclass(frozen=True)
class Verified:
    entries: int
    head_hash: str
    broken: Broken | None


def verify(entries) -> Verified:
    """Walk ``entries`` (AuditEntry rows in ``seq`` order) and report the first break:
    a missing sequence number (a deleted row), a row whose hash does not match its
    content (an edited row) or whose link does not match the row before it."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return Verified(
                count,
                prev_hash,
                Broken(
                    expected_seq,
                    f"entry #{expected_seq} is missing (deleted): #{entry.seq} follows "
                    f"#{expected_seq - 1}",
                    f"第 {expected_seq} 条审计记录缺失（被删除）：第 {expected_seq - 1} 条之后"
                    f"是第 {entry.seq} 条",
                ),
            )
        if entry.prev_hash != prev_hash:
            return Verified(
                count,
                prev_hash,
                Broken(
                    entry.seq,
                    f"entry #{entry.seq} does not link to #{entry.seq - 1}: "
                    f"#{entry.seq - 1} was rewritten",
                    f"第 {entry.seq} 条审计记录与第 {entry.seq - 1} 条的链接不符："
                    f"第 {entry.seq - 1} 条被改写",
                ),
            )
        if entry_hash(entry) != entry.hash:
            return Verified(
                count,
                prev_hash,
                Broken(
                    entry.seq,
                    f"entry #{entry.seq} was changed after it was written (hash mismatch)",
                    f"第 {entry.seq} 条审计记录写入后被修改（哈希不符）",
                ),
            )
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    return Verified(count, prev_hash, None)
