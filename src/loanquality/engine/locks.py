"""File locks held by a process and released by the operating system when it dies.

A crashed import, close or web worker can therefore never leave a lock behind: the
next process finds the lock free at once, without waiting for a staleness timeout.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, cast


class Held(Exception):
    """The lock is held by another live process (``holder`` says what it wrote)."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder
        super().__init__(f"held by {holder}")


@contextmanager
def exclusive(path: Path, what: Mapping[str, object], *, wait: bool = False) -> Iterator[None]:
    """Hold the lock at ``path`` for the block, writing ``what`` (with the pid and the time)
    into the file for whoever finds it held. Raises ``Held`` at once unless ``wait``."""
    handle = _open(path)
    try:
        if not _lock(handle, wait=wait):
            raise Held(_holder(handle))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({**what, **_process()}, ensure_ascii=False))
        handle.flush()
        yield
    finally:
        handle.close()  # closing the file releases the lock


def hold_for_life(path: Path) -> None:
    """Lock ``path`` until this process ends (the handle is kept open on purpose)."""
    handle = _open(path)
    if not _lock(handle, wait=False):
        holder = _holder(handle)
        handle.close()
        raise Held(holder)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(_process()))
    handle.flush()
    _kept_open.append(handle)


def is_held(path: Path) -> bool:
    """Whether a live process (this one included, through another handle) holds ``path``."""
    if not path.exists():
        return False
    handle = _open(path)
    try:
        return not _lock(handle, wait=False)
    finally:
        handle.close()


_kept_open: list[TextIO] = []


def _open(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a+", encoding="utf-8")


def _lock(handle: TextIO, *, wait: bool) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _holder(handle: TextIO) -> dict[str, Any]:
    handle.seek(0)
    try:
        return cast(dict[str, Any], json.loads(handle.read() or "{}"))
    except json.JSONDecodeError:
        return {}


def _process() -> dict[str, object]:
    return {"pid": os.getpid(), "since": dt.datetime.now().isoformat(timespec="seconds")}
