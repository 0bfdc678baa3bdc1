"""Run engine code on DuckDB and on PySpark, on tables bound to that backend's connection.

``spark()`` is the one SparkSession of the whole test session (cached: a second call
returns the same connection, and ``connect("pyspark")`` elsewhere reuses its session).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from loanquality.engine.backends import connect

# Parametrize a test over both engines. The PySpark case is marked ``spark``; under
# ENGINE_SLOW also ``slow``, which a plain ``pytest`` leaves out (pyproject's addopts
# ``-m 'not (spark and slow)'``) and ``pytest -m spark`` runs.
ENGINE = pytest.mark.parametrize(
    "engine", ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)]
)
ENGINE_SLOW = pytest.mark.parametrize(
    "engine", ["duckdb", pytest.param("pyspark", marks=[pytest.mark.spark, pytest.mark.slow])]
)


@cache
def spark() -> BaseBackend:
    return connect("pyspark", master="local[2]")


def backend(engine: str) -> BaseBackend:
    """A fresh in-memory DuckDB, or the session's one Spark."""
    return spark() if engine == "pyspark" else connect("duckdb")


def bind(con: BaseBackend, data: pa.Table) -> ibis.Table:
    """``data`` as a view of ``con`` (on Spark a temporary view), so an expression built on
    it can only run there."""
    return con.create_view(ibis.util.gen_name("bound"), ibis.memtable(data))


def run_on(con: BaseBackend, expr: ibis.Expr) -> pa.Table:
    """Execute ``expr`` on ``con`` after checking its tables are ``con``'s own."""
    assert expr._find_backend() is con, f"expression not bound to {con.name}"
    return con.to_pyarrow(expr)


def on_both(build: Callable[[BaseBackend], ibis.Table], sort_by: list[str]) -> pd.DataFrame:
    """Return ``build``'s result on DuckDB after asserting PySpark gives the same rows.
    ``build`` must build on the connection it is given: each result is executed on that
    connection and its expression must be bound to it."""
    answers = {}
    for name, con in (("duckdb", connect("duckdb")), ("pyspark", spark())):
        assert con.name == name
        frame = run_on(con, build(con)).to_pandas()
        answers[name] = frame.sort_values(sort_by).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        answers["duckdb"], answers["pyspark"], check_dtype=False, rtol=1e-9
    )
    return answers["duckdb"]


def engines(cases: list, *, fast: int | None = 0) -> list:
    """Each of ``cases`` (a parametrize list) on DuckDB and on PySpark, ``engine`` first.
    Every PySpark case is marked ``spark``; all but case ``fast`` (none when None) are
    marked ``slow`` too, so a quick run can keep one PySpark case per rule family."""
    params = []
    for i, case in enumerate(cases):
        values = case if isinstance(case, tuple) else (case,)
        marks = [pytest.mark.spark] if i == fast else [pytest.mark.spark, pytest.mark.slow]
        params += [pytest.param("duckdb", *values), pytest.param("pyspark", *values, marks=marks)]
    return params
