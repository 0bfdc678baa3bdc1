"""What a user may see: the org tree from the lake and the user's subtree of it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow.parquet as pq
from django.conf import settings

from loanquality.engine.lake import PART_FILE, VERSIONS, Lake


@dataclass(frozen=True)
class OrgTree:
    names: dict[str, str]
    parents: dict[str, str | None]

    def children(self, org_id: str) -> list[str]:
        return sorted(o for o, p in self.parents.items() if p == org_id)

    def subtree(self, org_id: str) -> list[str]:
        """``org_id`` and every unit below it."""
        found, frontier = [], [org_id] if org_id in self.parents else []
        while frontier:
            org = frontier.pop()
            found.append(org)
            frontier += self.children(org)
        return sorted(found)

    def path(self, org_id: str) -> list[str]:
        """From the root down to ``org_id``."""
        chain = []
        while org_id is not None and org_id not in chain:
            chain.append(org_id)
            org_id = self.parents.get(org_id)
        return chain[::-1]

    def name(self, org_id: str) -> str:
        return self.names.get(org_id, org_id)

    @property
    def root(self) -> str | None:
        """The legal entity: the one org without a parent (None before the first import)."""
        return next((o for o, parent in self.parents.items() if parent is None), None)

    def is_root(self, org_id: str) -> bool:
        return org_id in self.parents and self.parents[org_id] is None


def lake() -> Lake:
    return Lake(settings.DATA_DIR)


def org_tree() -> OrgTree:
    """The org tree of the latest import (empty before the first)."""
    base = lake().base
    if base.parent.name == VERSIONS:  # a published version never changes: read it once
        return _tree_of_version(base)
    return _latest_tree(base / "lake" / "orgs")


@lru_cache(maxsize=4)
def _tree_of_version(base: Path) -> OrgTree:
    # pages name an org on every row: listing the partitions each time cost 3 ms a row
    return _latest_tree(base / "lake" / "orgs")


def _latest_tree(folder: Path) -> OrgTree:
    parts = sorted(folder.glob(f"as_of=*/{PART_FILE}")) if folder.is_dir() else []
    if not parts:
        return OrgTree({}, {})
    return _read_tree(parts[-1], parts[-1].stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _read_tree(path: Path, _mtime: int) -> OrgTree:
    rows = pq.read_table(path).to_pylist()
    return OrgTree(
        {r["org_id"]: r["org_name"] or r["org_id"] for r in rows},
        {r["org_id"]: r["parent_id"] for r in rows},
    )


@dataclass(frozen=True)
class Scope:
    """The user's org and every org below it; ``bank_wide`` when that is the whole bank."""

    org_id: str
    orgs: tuple[str, ...]
    tree: OrgTree

    @property
    def bank_wide(self) -> bool:
        return self.tree.is_root(self.org_id)

    def covers(self, org_id: str | None) -> bool:
        return org_id in self.orgs


def scope_of(user) -> Scope:
    tree = org_tree()
    return Scope(user.org_id, tuple(tree.subtree(user.org_id)), tree)
