"""Approved 认定 as closes read them.

The web application keeps the workflow (proposal, approval, audit) in its database and,
on every approval, rewrites ``overrides.parquet`` in the data directory with every
approved 认定. A close of date D applies, per loan, the 认定 for the latest date up to D
(of two for one date, the one approved last); the engine itself lets a 认定 lapse once
the loan is repaid (see ``classify``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

OVERRIDES_FILE = "overrides.parquet"
# pyarrow-stubs take (name, type) pairs, but mypy cannot infer this list against the
# stub's union of iterables (Field or pair) and widens the pairs to (str, object).
SCHEMA = pa.schema(
    [  # type: ignore[arg-type]
        ("override_id", pa.string()),
        ("loan_id", pa.string()),
        ("as_of", pa.date32()),
        ("category", pa.int8()),
        ("approved_at", pa.timestamp("us", tz="UTC")),
    ]
)


@contextmanager
def writing(data_dir: Path) -> Iterator[None]:
    """Writers of the file take turns (across server processes): hold this while reading
    what to write and writing it."""
    with (Path(data_dir) / "overrides.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def write_approved(data_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Replace the file with ``rows`` (every approved 认定), atomically."""
    path = Path(data_dir) / OVERRIDES_FILE
    handle, aside = tempfile.mkstemp(prefix=".overrides-", suffix=".parquet", dir=data_dir)
    os.close(handle)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), aside)
    os.replace(aside, path)


def in_force(data_dir: Path, as_of: dt.date) -> pa.Table | None:
    """loan_id, category, override_id: per loan, the 认定 for the latest date up to
    ``as_of`` (of two for one date, the one approved last); None when there are none."""
    path = Path(data_dir) / OVERRIDES_FILE
    if not path.exists():
        return None
    table = duckdb.sql(
        """SELECT loan_id, category, override_id FROM read_parquet($path)
           WHERE as_of <= $as_of
           QUALIFY row_number() OVER (
               PARTITION BY loan_id ORDER BY as_of DESC, approved_at DESC) = 1
           ORDER BY loan_id""",
        params={"path": str(path), "as_of": as_of},
    ).fetch_arrow_table()
    return table if table.num_rows else None
