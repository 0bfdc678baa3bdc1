"""The chain over the audit log: how a row's MAC is made, and checking every row.

Each row's ``hash`` is HMAC-SHA256, under the audit key (``keys.py``), of the MAC of the row
before (``prev_hash``) and the row's content. Without the key nobody can make a row that
verifies, so the first row whose MAC fails is the first row changed, forged or renumbered;
rows deleted from the end are caught by the checkpoint (``checkpoint.py``).

Rows written before the key (a log upgraded from the first scheme) were hashed with plain
SHA-256, which anyone can recompute; the checkpoint records how many, and their last hash,
so rewriting them still shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from loanquality.audit.checkpoint import Checkpoint

GENESIS = "0" * 64


def content_of(entry) -> str:
    """The row's content as hashed (anything with the AuditEntry fields: a row, a historical
    model's row in a migration)."""
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
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_mac(key: bytes, prev_mac: str, entry) -> str:
    return hmac.new(key, (prev_mac + content_of(entry)).encode("utf-8"), hashlib.sha256).hexdigest()


def entry_hash(entry) -> str:
    """The first scheme, without a key: SHA-256 of ``prev_hash`` and the content. Only rows
    older than the key are checked with it (and migration 0003 backfilled with it)."""
    return _sha256(entry.prev_hash, entry)


def _sha256(prev_hash: str, entry) -> str:
    return hashlib.sha256((prev_hash + content_of(entry)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Broken:
    """The first entry where the log does not hold (None: no entry can be named)."""

    seq: int | None
    english: str
    chinese: str


@dataclass(frozen=True)
class Verified:
    entries: int
    head_mac: str
    broken: Broken | None


def verify(entries: Iterable, *, key: bytes, checkpoint: Checkpoint) -> Verified:
    """Walk ``entries`` (AuditEntry rows in ``seq`` order) and report the first break: a
    missing sequence number (a deleted row), a row whose MAC does not match its content and
    the MAC before it (changed, forged or renumbered), a row that is not the one the
    checkpoint saw (deleted and written again), or fewer rows than the checkpoint saw."""
    prev_mac, count = GENESIS, 0
    for entry in entries:
        seq = count + 1
        if entry.seq != seq:
            return Verified(count, prev_mac, _missing(seq, entry.seq))
        old_scheme = seq <= checkpoint.legacy
        expected = _sha256(prev_mac, entry) if old_scheme else entry_mac(key, prev_mac, entry)
        if entry.prev_hash != prev_mac or not hmac.compare_digest(entry.hash, expected):
            return Verified(count, prev_mac, _changed(seq, old_scheme))
        if checkpoint.heads.get(seq, entry.hash) != entry.hash:
            return Verified(count, prev_mac, _not_the_checkpoints(seq, checkpoint.legacy))
        prev_mac, count = entry.hash, seq
    if checkpoint.longest > count:
        return Verified(count, prev_mac, _cut_short(count, checkpoint.longest))
    return Verified(count, prev_mac, None)


def unvouched(entries: int, path) -> Verified:
    """A log with rows but no checkpoint: its end cannot be vouched for."""
    return Verified(
        entries,
        "",
        Broken(
            None,
            f"the checkpoint {path} is missing, so whether rows were deleted from the end "
            f"of the log's {entries} entries cannot be told",
            f"审计检查点 {path} 缺失，无法判断日志（共 {entries} 条）末尾是否有记录被删除",
        ),
    )


def _missing(seq: int, found: int) -> Broken:
    return Broken(
        seq,
        f"entry #{seq} is missing (deleted): #{found} follows #{seq - 1}",
        f"第 {seq} 条审计记录缺失（被删除）：第 {seq - 1} 条之后是第 {found} 条",
    )


def _changed(seq: int, old_scheme: bool) -> Broken:
    if old_scheme:
        return Broken(
            seq,
            f"entry #{seq} was changed after it was written (hash mismatch; hashed the old "
            "way, before the audit key)",
            f"第 {seq} 条审计记录写入后被修改（哈希不符；该记录早于审计密钥，按旧方式哈希）",
        )
    return Broken(
        seq,
        f"entry #{seq} was changed or forged after it was written (MAC mismatch)",
        f"第 {seq} 条审计记录写入后被修改或伪造（校验码不符）",
    )


def _not_the_checkpoints(seq: int, legacy: int) -> Broken:
    if seq <= legacy:
        return Broken(
            seq,
            f"entries #1 to #{legacy} were hashed the old way, without the key: one of them "
            f"was rewritten and the hashes after it recomputed, so #{seq} no longer matches "
            "the checkpoint",
            f"第 1 至第 {legacy} 条审计记录按旧方式（无密钥）哈希：其中有记录被改写并重算了"
            f"其后的哈希，第 {seq} 条与检查点不符",
        )
    return Broken(
        seq,
        f"entry #{seq} is not the one the checkpoint recorded: entries from #{seq} on were "
        "deleted and others written in their place",
        f"第 {seq} 条审计记录与检查点记录的不符：自第 {seq} 条起的记录被删除后又写入了别的记录",
    )


def _cut_short(count: int, longest: int) -> Broken:
    english = f"#{count + 1}" if count + 1 == longest else f"#{count + 1} to #{longest}"
    chinese = f"{count + 1}" if count + 1 == longest else f"{count + 1} 至第 {longest}"
    return Broken(
        count + 1,
        f"entries {english} are missing (deleted from the end): the checkpoint records "
        f"{longest} entries, the log holds {count}",
        f"第 {chinese} 条审计记录缺失（从末尾被删除）：检查点记录共 {longest} 条，"
        f"日志中只有 {count} 条",
    )
