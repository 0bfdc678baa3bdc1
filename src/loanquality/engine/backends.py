"""Connect the engine to a backend: DuckDB in process (default) or PySpark."""

from __future__ import annotations

import os
from typing import Any, Literal

import ibis
from ibis.backends import BaseBackend

Engine = Literal["duckdb", "pyspark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "pyspark")


def connect(engine: Engine = "duckdb", *, master: str | None = None, **options: Any) -> BaseBackend:
    """Return an Ibis connection for ``engine``.

    ``pyspark`` starts (or reuses) a SparkSession on ``master``, by default
    ``local[*]``; a bank passes its cluster's master URL. ``LOANQUALITY_DUCKDB_MEMORY``
    (e.g. ``5GB``) caps DuckDB's memory; by default it takes up to 80 % of the machine.
    """
    if engine == "duckdb":
        con = ibis.duckdb.connect(**options)
        if limit := os.environ.get("LOANQUALITY_DUCKDB_MEMORY"):
            # above this DuckDB spills to disk: slower, but the close fits a smaller server
            con.raw_sql(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        return con
    if engine == "pyspark":
        return ibis.pyspark.connect(spark_session(master))
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def spark_session(master: str | None = None) -> Any:
    from pyspark.sql import SparkSession

    # keep a local Spark on loopback rather than whatever the hostname resolves to
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (
        SparkSession.builder.master(
            master or os.environ.get("LOANQUALITY_SPARK_MASTER", "local[*]")
        )
        .appName("loanquality")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", os.environ["SPARK_LOCAL_IP"])
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
