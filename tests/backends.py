"""Run one engine function on DuckDB and on PySpark and check that the answers agree."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from loanquality.engine.backends import connect


@cache
def spark() -> BaseBackend:
    return connect("pyspark", master="local[2]")


def on_both(build: Callable[[BaseBackend], ibis.Table], sort_by: list[str]) -> pd.DataFrame:
    """Return ``build``'s result on DuckDB after asserting PySpark gives the same rows."""
    answers = {}
    for name, con in (("duckdb", connect("duckdb")), ("pyspark", spark())):
        frame = build(con).to_pandas()
        answers[name] = frame.sort_values(sort_by).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        answers["duckdb"], answers["pyspark"], check_dtype=False, rtol=1e-9
    )
    return answers["duckdb"]
