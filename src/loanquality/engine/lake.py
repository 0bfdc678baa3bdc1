"""The loan data lake: Parquet per table per as-of date, published atomically.

Layout under the data directory::

    lake/<table>/as_of=YYYY-MM-DD/part-0.parquet   current partitions (hive style)
    history/<table>/as_of=YYYY-MM-DD/<import id>/  partitions a re-import replaced
    raw/as_of=YYYY-MM-DD/<import id>/<file>         the files as they were imported
    import_log.jsonl                                 one JSON line per import

A publish writes everything aside first (``.staging-*``), then renames each
partition into place; if a rename fails the ones already done are undone, so
readers see the old state or the new one, never a mix.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
SOURCE_FILE = "_source"  # Spark and DuckDB's *.parquet glob both skip it


def as_of_dir(as_of: dt.date) -> str:
    return f"as_of={as_of.isoformat()}"


def new_import_id() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]


@dataclass
class Staged:
    """What one publish will put in place: table partitions and raw files."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # table -> a Parquet file written aside
    sources: dict[str, str] = field(default_factory=dict)  # table -> note kept beside it
    raw_files: list[Path] = field(default_factory=list)


class Lake:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "lake"
        self.log_path = self.data_dir / "import_log.jsonl"

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

    def import_log(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        with self.log_path.open(encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]

    def publish(
        self,
        as_of: dt.date,
        staged: Staged,
        log_entry: dict,
        *,
        log_path: Path | None = None,
        replace: tuple[str, ...] | None = None,
    ) -> list[str]:
        """Put ``staged`` in place for ``as_of`` and append ``log_entry`` to the log.

        An import replaces every table of that date (``replace`` None), so the results of
        an earlier close of the date go to history with the data they came from; a close
        replaces only its own tables. Returns the tables moved to history.
        """
        run_id = log_entry.get("import_id") or log_entry["close_id"]
        with self._staging() as staging:
            for table, data in staged.tables.items():
                folder = staging / "lake" / table
                folder.mkdir(parents=True)
                pq.write_table(data, folder / PART_FILE, compression="zstd")
            for table, path in staged.files.items():
                folder = staging / "lake" / table
                folder.mkdir(parents=True)
                shutil.move(path, folder / PART_FILE)
            for table, note in staged.sources.items():
                (staging / "lake" / table / SOURCE_FILE).write_text(note, encoding="utf-8")
            replaced = [
                t.name
                for t in self._table_dirs()
                if (t / as_of_dir(as_of)).exists() and (replace is None or t.name in replace)
            ]
            moves = [
                (
                    self.partition(table, as_of),
                    self.data_dir / "history" / table / as_of_dir(as_of) / run_id,
                )
                for table in replaced
            ]
            moves += [
                (staging / "lake" / table, self.partition(table, as_of))
                for table in (*staged.tables, *staged.files)
            ]
            if staged.raw_files:
                raw_folder = staging / "raw"
                raw_folder.mkdir()
                for path in staged.raw_files:
                    shutil.copy2(path, raw_folder / path.name)
                moves.append((raw_folder, self.data_dir / "raw" / as_of_dir(as_of) / run_id))
            self._move_all(moves)
        entry = {**log_entry, "replaced": replaced}
        with (log_path or self.log_path).open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return replaced

    def staging(self):
        """A folder inside the data directory to write results aside in; removed afterwards."""
        return self._staging()

    def _table_dirs(self) -> Iterator[Path]:
        if self.root.is_dir():
            yield from (p for p in self.root.iterdir() if p.is_dir())

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        staging = self.data_dir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def _move_all(moves: list[tuple[Path, Path]]) -> None:
        done: list[tuple[Path, Path]] = []
        created: list[Path] = []
        try:
            for source, target in moves:
                for parent in reversed(target.parents):
                    if not parent.exists():
                        parent.mkdir()
                        created.append(parent)
                source.rename(target)
                done.append((source, target))
        except BaseException:
            for source, target in reversed(done):
                target.rename(source)
            for folder in reversed(created):
                folder.rmdir()
            raise
