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
    ``local[*]``; a bank passes its cluster's master URL.
    """
    if engine == "duckdb":
        return ibis.duckdb.connect(**options)
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
