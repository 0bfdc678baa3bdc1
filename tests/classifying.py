"""Classify a few hand-written loans, so each test can show its arithmetic."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from backends import backend, bind, run_on
from loanquality.engine.classify import classify
from loanquality.engine.dpd import with_overdue_days
from loanquality.engine.rules import load_ruleset
from loanquality.engine.schema import LOANS, PREVIOUS, SCHEDULES, Kind, Table

ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.INT: pa.int64(),
    Kind.MONEY: pa.float64(),
    Kind.SHARE: pa.float64(),
    Kind.DATE: pa.date32(),
    Kind.FLAG: pa.bool_(),
    Kind.CATEGORY: pa.int8(),
    Kind.CUSTOMER_TYPE: pa.string(),
}
FAR = dt.date(2030, 1, 1)


def loan(loan_id: str = "L1", **values) -> dict:
    """A performing retail loan of 1 000 yuan, unless told otherwise."""
    return {
        "loan_id": loan_id,
        "customer_id": "C-" + loan_id,
        "org_id": "B01",
        "customer_type": "farmer",
        "balance": 1_000.0,
        "issue_date": dt.date(2023, 1, 1),
        "maturity_date": FAR,
        **values,
    }


def arrow(rows: list[dict], spec: Table) -> pa.Table:
    columns = {c.id: ARROW_TYPES[c.kind] for c in spec.columns}
    names = [c for c in columns if any(c in r for r in rows)] or [spec.columns[0].id]
    return pa.table({n: pa.array([r.get(n) for r in rows], columns[n]) for n in names})


def run(
    loans: list[dict],
    as_of: dt.date,
    *,
    previous: list[dict] | None = None,
    bureau: list[dict] | None = None,
    overrides: list[dict] | None = None,
    schedules: list[dict] | None = None,
    repayments: list[dict] | None = None,
    ruleset: str = "cn-2023",
    engine: str = "duckdb",
) -> dict[str, dict]:
    """Classify on ``engine`` (every input a table of that backend's connection); return
    each loan's result row by loan_id."""
    con = backend(engine)

    def table(rows, spec=None, schema=None):
        if rows is None:
            return None
        return bind(con, arrow(rows, spec) if spec else pa.Table.from_pylist(rows, schema))

    repayment_schema = pa.schema(
        [
            ("loan_id", pa.string()),
            ("date", pa.date32()),
            ("principal_paid", pa.float64()),
            ("interest_paid", pa.float64()),
        ]
    )
    override_schema = pa.schema(
        [("loan_id", pa.string()), ("category", pa.int8()), ("override_id", pa.string())]
    )
    bureau_schema = pa.schema([("customer_id", pa.string()), ("overdue90_share", pa.float64())])
    with_days = with_overdue_days(
        table(loans, LOANS),
        as_of,
        table(schedules, SCHEDULES),
        table(repayments, schema=repayment_schema),
    )
    result = classify(
        with_days,
        as_of,
        load_ruleset(ruleset),
        previous=table(previous, PREVIOUS),
        bureau=table(bureau, schema=bureau_schema),
        overrides=table(overrides, schema=override_schema),
        schedules=table(schedules, SCHEDULES),
    )
    return {r["loan_id"]: r for r in run_on(con, result).to_pylist()}


def one(loan_values: dict, as_of: dt.date, **kwargs) -> dict:
    return run([loan(**loan_values)], as_of, **kwargs)["L1"]
