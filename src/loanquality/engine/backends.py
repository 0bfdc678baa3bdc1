"""Connect the engine to a backend: DuckDB in process (default) or PySpark."""

from __future__ import annotations

import os
import re
from typing import Any, Literal

import ibis
from ibis.backends import BaseBackend

from loanquality.engine.problems import file_rejected

Engine = Literal["duckdb", "pyspark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "pyspark")


def connect(engine: Engine = "duckdb", *, master: str | None = None, **options: Any) -> BaseBackend:
    """Return an Ibis connection for ``engine``.

    ``pyspark`` starts (or reuses) a SparkSession on ``master``, by default
    ``local[*]``; a bank passes its cluster's master URL. ``LOANQUALITY_DUCKDB_MEMORY``
    (e.g. ``5GB``) caps DuckDB's memory; by default it takes up to 80 % of the machine.
    ``LOANQUALITY_DUCKDB_THREADS`` caps the cores it uses; by default, all of them.
    """
    if engine == "duckdb":
        con = ibis.duckdb.connect(**options)
        # above the memory limit DuckDB spills to disk: slower, but a close fits a smaller server
        if limit := _setting("LOANQUALITY_DUCKDB_MEMORY", MEMORY, "5GB"):
            con.raw_sql(f"SET memory_limit = '{limit}'")
        if threads := _setting("LOANQUALITY_DUCKDB_THREADS", CORES, "2"):
            con.raw_sql(f"SET threads = {threads}")
        return con
    if engine == "pyspark":
        return ibis.pyspark.connect(spark_session(master))
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


MEMORY = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", re.IGNORECASE)
CORES = re.compile(r"[1-9]\d*")


def _setting(variable: str, pattern: re.Pattern[str], example: str) -> str | None:
    """The environment ``variable``'s value if set, checked against ``pattern``."""
    value = os.environ.get(variable, "").strip()
    if value and not pattern.fullmatch(value):
        raise file_rejected(
            variable,
            f"not a valid setting; for example {example}",
            f"取值无效，例如 {example}",
            value,
        )
    return value or None


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
