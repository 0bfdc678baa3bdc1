"""Lake tables as Ibis tables on any backend."""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.backends import BaseBackend

from loanquality.engine.lake import PART_FILE, Lake


def lake_table(con: BaseBackend, lake: Lake, table: str) -> ibis.Table:
    """Every partition of ``table`` as one Ibis table with an ``as_of`` date column, columns
    matched by name (a partition written by an older version lacks the newer columns)."""
    folder = lake.root / table
    if con.name == "pyspark":  # Spark discovers the as_of=... partitions itself
        data = con.read_parquet(str(folder), mergeSchema="true")
    else:
        data = con.read_parquet(
            str(folder / "as_of=*" / PART_FILE), hive_partitioning=True, union_by_name=True
        )
    return data.mutate(as_of=data.as_of.cast("date"))


def partition(con: BaseBackend, lake: Lake, table: str, as_of: dt.date) -> ibis.Table | None:
    """One as-of date of ``table``, or None when that date has none."""
    if not lake.has(table, as_of):
        return None
    path = str(lake.partition(table, as_of) / PART_FILE)
    if con.name == "duckdb":  # DuckDB would add as_of from the folder name; Spark does not
        return con.read_parquet(path, hive_partitioning=False)
    return con.read_parquet(path)


def up_to(con: BaseBackend, lake: Lake, table: str, as_of: dt.date) -> ibis.Table | None:
    """Every partition of ``table`` on or before ``as_of`` (flows such as repayments)."""
    if not any(d <= as_of for d in lake.as_ofs(table)):
        return None
    data = lake_table(con, lake, table)
    return data.filter(data.as_of <= ibis.date(as_of)).drop("as_of")
