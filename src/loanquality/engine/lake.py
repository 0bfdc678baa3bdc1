"""The loan data lake: Parquet per table per as-of date, published all at once or not at all.

Layout under the data directory::

    lake/<table>/as_of=YYYY-MM-DD/part-0.parquet   current partitions (hive style)
    history/<table>/as_of=YYYY-MM-DD/<run id>/     partitions a re-import or re-close replaced
    raw/as_of=YYYY-MM-DD/<import id>/<file>         the files as they were imported
    import_log.jsonl, close_log.jsonl               one JSON line per import and per close

Each of these is a link into ``current``, itself a link to one complete version under
``.versions/``. A publish (an import, or a close) builds the next version beside it — the
unchanged files hard-linked, the new partitions written, the replaced ones linked into
history, the logs copied with the new line — and then switches ``current`` with one
atomic rename: that rename is the only commit point, so a reader, and a process killed at
any instant, sees the old state or the new one, never a mix. A reader's paths name the
version that was current when it asked (``Lake.base``); the version before the current
one is kept for readers still reading it, older ones are removed.

Writers hold the data directory's lock (``writing``), which also clears what a killed
writer left (``.staging-*`` folders, a version never switched to). Set
``LOANQUALITY_FAULT_AT`` to a publish step's name to kill the process there (tests).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from loanquality.engine.locks import Held, exclusive
from loanquality.engine.problems import InputRejected, file_rejected

PART_FILE = "part-0.parquet"
SOURCE_FILE = "_source"  # Spark and DuckDB's *.parquet glob both skip it
IMPORT_LOG = "import_log.jsonl"
CLOSE_LOG = "close_log.jsonl"
FOLDERS = ("lake", "history", "raw")  # what every version holds, beside the logs
LOGS = (IMPORT_LOG, CLOSE_LOG)
CURRENT = "current"
VERSIONS = ".versions"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"


def as_of_dir(as_of: dt.date) -> str:
    return f"as_of={as_of.isoformat()}"


def new_run_id() -> str:
    """An import's or close's id: its time first, so versions and history sort by time."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]


def fault_point(step: str) -> None:
    """Kill this process here when ``LOANQUALITY_FAULT_AT`` names ``step`` (fault tests)."""
    if os.environ.get("LOANQUALITY_FAULT_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Staged:
    """What one publish will put in place: table partitions and raw files."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # table -> a Parquet file written aside
    sources: dict[str, str] = field(default_factory=dict)  # table -> note kept beside it
    raw_files: list[Path] = field(default_factory=list)


class Lake:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._writing = False

    @property
    def base(self) -> Path:
        """The folder of the version current now, holding its lake, history, raw files and
        logs (the data directory itself for one written before versions, or not yet). A
        path from it stays in that version however many switches follow: one glob, one
        query, never a mix of two."""
        current = self.data_dir / CURRENT
        try:
            return self.data_dir / os.readlink(current)
        except FileNotFoundError:
            return self.data_dir
        except OSError:  # a copy of the data directory that followed the links
            return current

    @property
    def root(self) -> Path:
        return self.base / "lake"

    @property
    def log_path(self) -> Path:
        return self.base / IMPORT_LOG

    @property
    def close_log_path(self) -> Path:
        return self.base / CLOSE_LOG

    def partition(self, table: str, as_of: dt.date) -> Path:
        return self.root / table / as_of_dir(as_of)

    def as_ofs(self, table: str) -> list[dt.date]:
        folder = self.root / table
        if not folder.is_dir():
            return []
        return sorted(
            dt.date.fromisoformat(p.name.removeprefix("as_of="))
            for p in folder.iterdir()
            if p.name.startswith("as_of=") and (p / PART_FILE).exists()
        )

    def has(self, table: str, as_of: dt.date) -> bool:
        return (self.partition(table, as_of) / PART_FILE).exists()

    def read(self, table: str, as_of: dt.date) -> pa.Table:
        return pq.read_table(self.partition(table, as_of) / PART_FILE)

    def source(self, table: str, as_of: dt.date) -> str | None:
        path = self.partition(table, as_of) / SOURCE_FILE
        return path.read_text(encoding="utf-8") if path.exists() else None

    def import_log(self) -> list[dict[str, Any]]:
        return _read_log(self.log_path)

    def close_log(self) -> list[dict[str, Any]]:
        return _read_log(self.close_log_path)

    @contextmanager
    def writing(self, operation: str, as_of: dt.date, *, wait: bool = False) -> Iterator[None]:
        """Hold the data directory for one import or close; another one of either kind is
        refused (``InputRejected``) or, with ``wait``, waited for. Clears what a killed
        writer left behind before anything is read. A data directory it had to create is
        removed again when the block fails: a refused first import leaves nothing."""
        created = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        what = {"operation": operation, "as_of": as_of.isoformat()}
        try:
            with exclusive(self.data_dir / LOCK_FILE, what, wait=wait):
                self._recover()
                self._writing = True
                try:
                    yield
                finally:
                    self._writing = False
        except Held as held:
            raise _busy(self.data_dir, held.holder) from None
        except BaseException:
            if created and not (self.data_dir / CURRENT).exists():
                _remove(self.data_dir / VERSIONS)
                (self.data_dir / LOCK_FILE).unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # left alone if anything else is in it
                    self.data_dir.rmdir()
            raise

    def publish(
        self,
        as_of: dt.date,
        staged: Staged,
        log_entry: dict[str, Any],
        *,
        log_name: str = IMPORT_LOG,
        replace: tuple[str, ...] | None = None,
    ) -> list[str]:
        """Put ``staged`` in place for ``as_of`` and append ``log_entry`` to the log, in one
        switch of versions.

        An import replaces every table of that date (``replace`` None), so the results of
        an earlier close of the date go to history with the data they came from; a close
        replaces only its own tables. Returns the tables moved to history.
        """
        if not self._writing:
            raise RuntimeError("publish() must run inside Lake.writing()")
        run_id = log_entry.get("import_id") or log_entry["close_id"]
        replaced = [
            t.name
            for t in self._table_dirs()
            if (t / as_of_dir(as_of)).exists() and (replace is None or t.name in replace)
        ]
        with self._staging() as staging:
            version = staging / "version"
            self._write_staged(staged, version / "lake", as_of)
            fault_point("staged")
            self._link_unchanged(version, as_of, replaced, run_id)
            if staged.raw_files:
                raw_folder = version / "raw" / as_of_dir(as_of) / run_id
                raw_folder.mkdir(parents=True)
                for path in staged.raw_files:
                    shutil.copyfile(path, raw_folder / path.name)  # our mode, not theirs
            entry = {**log_entry, "replaced": replaced}
            with (version / log_name).open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fault_point("built")
            placed = self.data_dir / VERSIONS / run_id
            placed.parent.mkdir(exist_ok=True)
            version.rename(placed)
            fault_point("placed")
            self._switch_to(placed)
        fault_point("switched")
        self._link_top_level()
        self._drop_old_versions()
        return replaced

    def staging(self) -> contextlib.AbstractContextManager[Path]:
        """A folder inside the data directory to write results aside in; removed afterwards."""
        return self._staging()

    def _table_dirs(self) -> Iterator[Path]:
        if self.root.is_dir():
            yield from (p for p in self.root.iterdir() if p.is_dir())

    @staticmethod
    def _write_staged(staged: Staged, lake: Path, as_of: dt.date) -> None:
        for table, data in staged.tables.items():
            folder = lake / table / as_of_dir(as_of)
            folder.mkdir(parents=True)
            pq.write_table(data, folder / PART_FILE, compression="zstd")
        for table, path in staged.files.items():
            folder = lake / table / as_of_dir(as_of)
            folder.mkdir(parents=True)
            shutil.move(path, folder / PART_FILE)
        for table, note in staged.sources.items():
            (lake / table / as_of_dir(as_of) / SOURCE_FILE).write_text(note, encoding="utf-8")

    def _link_unchanged(
        self, version: Path, as_of: dt.date, replaced: list[str], run_id: str
    ) -> None:
        """Hard-link the current version into ``version``: every partition but the replaced
        ones, which go to history under ``run_id``; the logs are copied (they grow)."""
        dropped = {self.root / table for table in replaced}

        def skip(folder: str, names: list[str]) -> list[str]:
            return [as_of_dir(as_of)] if Path(folder) in dropped else []

        for name in FOLDERS:
            if (self.base / name).is_dir():
                shutil.copytree(
                    self.base / name,
                    version / name,
                    copy_function=os.link,
                    ignore=skip if name == "lake" else None,
                    dirs_exist_ok=True,
                )
            (version / name).mkdir(parents=True, exist_ok=True)
        for table in replaced:
            shutil.copytree(
                self.partition(table, as_of),
                version / "history" / table / as_of_dir(as_of) / run_id,
                copy_function=os.link,
            )
        for name in LOGS:
            if (self.base / name).is_file():
                shutil.copyfile(self.base / name, version / name)
            else:
                (version / name).touch()

    def _switch_to(self, version: Path) -> None:
        """The commit point: ``current`` names ``version`` after one atomic rename."""
        link = self.data_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}-current"
        link.symlink_to(version.relative_to(self.data_dir))
        os.replace(link, self.data_dir / CURRENT)

    def _link_top_level(self) -> None:
        """``lake``, ``history``, ``raw`` and the logs in the data directory point into
        ``current``; the folders of a data directory written before versions are put
        aside (everything in them is in the first version) and removed."""
        for name in (*FOLDERS, *LOGS):
            path, target = self.data_dir / name, f"{CURRENT}/{name}"
            if path.is_symlink() and os.readlink(path) == target:
                continue
            aside = self.data_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}-{name}"
            if path.exists() or path.is_symlink():
                path.rename(aside)
            aside.with_name(aside.name + "-link").symlink_to(target)
            os.replace(aside.with_name(aside.name + "-link"), path)
            _remove(aside)

    def _drop_old_versions(self) -> None:
        """Keep the current version and the one before it (a reader may have listed its
        files just before the switch); a version newer than the current one was never
        switched to (its writer died) and goes too."""
        folder = self.data_dir / VERSIONS
        if not folder.is_dir() or not (self.data_dir / CURRENT).exists():
            return
        current = os.readlink(self.data_dir / CURRENT).rsplit("/", 1)[-1]
        older = sorted(v.name for v in folder.iterdir() if v.name < current)
        keep = {current, *older[-1:]}
        for version in folder.iterdir():
            if version.name not in keep:
                shutil.rmtree(version)

    def _recover(self) -> None:
        for leftover in self.data_dir.glob(f"{STAGING_PREFIX}*"):
            _remove(leftover)
        if (self.data_dir / CURRENT).exists():
            self._link_top_level()
            self._drop_old_versions()
        else:  # the first publish died before its switch
            _remove(self.data_dir / VERSIONS)

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        staging = self.data_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _busy(data_dir: Path, holder: dict[str, Any]) -> InputRejected:
    what = f"{holder.get('operation', '?')} {holder.get('as_of', '')}".strip()
    since = f"pid {holder.get('pid', '?')}, since {holder.get('since', '?')}"
    return file_rejected(
        str(data_dir),
        f"another import or close is running on this data directory ({what}, {since});"
        " try again when it has finished",
        f"该数据目录正在进行另一项导入或结账（{what}，进程 {holder.get('pid', '?')}，"
        f"开始于 {holder.get('since', '?')}），请待其完成后再试",
    )
