"""The close's rules and metrics in SQL on PostgreSQL: the second peer of ``close_bench.py``.

``load`` copies what the close reads (this month's ledger and the bureau, last month's
classified loans, the org tree as (org_id, ancestor) pairs) with COPY into a schema of this
process's own (``close_peer_<pid>``, removed by ``drop``); ``run`` is the SQL that is timed:
it classifies every loan by the cn-2023 rules and computes the same figures as
``peer_pandas`` (``PEER_METRICS`` per key of the eight groupings, the migration matrix), as
a PostgreSQL user would write them: one statement per result, GROUPING SETS for the plain
groupings, the org tree joined for the org rows, money as numeric so every sum is exact.
``results`` fetches them for the parity check.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
from peer_pandas import (
    BORROWER_NPL,
    BUREAU_OVERDUE90,
    CURE_MONTHS,
    ECL50,
    ECL90,
    GROUP_COLUMNS,
    LOAN_COLUMNS,
    MATRIX,
    OBSERVATION_MONTHS,
    PEER_METRICS,
    PREVIOUS_COLUMNS,
    RETAIL,
    SUMS,
    org_closure,
)

# one schema a process: a benchmark and the tests can run against one database at once
SCHEMA = f"close_peer_{os.getpid()}"
PLAIN = [c for g, c in GROUP_COLUMNS.items() if g != "org"]
TYPES = {
    "balance": "numeric(18,2)",
    "ecl": "numeric(18,2)",
    "maturity_date": "date",
    "extended_maturity_date": "date",
    "restructure_date": "date",
    "npl_cure_date": "date",
    "principal_overdue_days": "integer",
    "interest_overdue_days": "integer",
    "overdue_days": "integer",
    "bank_category": "smallint",
    "final_category": "smallint",
    "written_off": "boolean",
    "impaired": "boolean",
    "retail": "boolean",
    "overdue90_share": "float8",
}


def load(url: str, files: dict[str, str]) -> None:
    """Copy the close's inputs into fresh tables (untimed)."""
    orgs = pd.read_parquet(files["orgs"])
    tables = {
        "loans": (files["loans"], LOAN_COLUMNS),
        "previous": (files["previous"], PREVIOUS_COLUMNS),
        "bureau": (files["bureau"], ["customer_id", "overdue90_share"]),
    }
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        con.execute(f"CREATE SCHEMA {SCHEMA}")
        for name, (path, columns) in tables.items():
            kinds = ", ".join(f"{c} {TYPES.get(c, 'text')}" for c in columns)
            con.execute(f"CREATE TABLE {SCHEMA}.{name} ({kinds})")
            _copy(con, f"{SCHEMA}.{name}", duckdb.sql(f"SELECT {', '.join(columns)} FROM '{path}'"))
        con.execute(f"CREATE TABLE {SCHEMA}.closure (org_id text, ancestor text)")
        _copy(con, f"{SCHEMA}.closure", duckdb.from_df(org_closure(orgs)))
        for name in ("loans", "previous", "bureau", "closure"):
            con.execute(f"ANALYZE {SCHEMA}.{name}")


def _copy(con: psycopg.Connection, table: str, relation: duckdb.DuckDBPyRelation) -> None:
    """COPY a DuckDB relation in, as the CSV DuckDB writes of it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        relation.write_csv(str(path), header=False)
        command = f"COPY {table} FROM STDIN (FORMAT csv)"
        with con.cursor().copy(command) as copy, path.open("rb") as rows:
            while chunk := rows.read(1 << 24):
                copy.write(chunk)


def _grouped(source: str, sums: str, extra: list[str]) -> str:
    """``sums`` per key of every grouping (and ``extra``): GROUPING SETS for the plain
    columns and the total, the org tree joined for the org rows."""
    by = "".join(f", {e}" for e in extra)
    sets = ", ".join([f"({', '.join(extra)})", *(f"({c}{by})" for c in PLAIN)])
    group_by = "CASE " + " ".join(
        f"WHEN grouping({c}) = 0 THEN '{g}'" for g, c in GROUP_COLUMNS.items() if g != "org"
    )
    key = "CASE " + " ".join(f"WHEN grouping({c}) = 0 THEN {c}" for c in PLAIN)
    return f"""
        SELECT {group_by} ELSE 'total' END AS group_by, {key} ELSE 'total' END AS key{by}, {sums}
        FROM {source} src GROUP BY GROUPING SETS ({sets})
        UNION ALL
        SELECT 'org', c.ancestor{by}, {sums}
        FROM {source} s JOIN {SCHEMA}.closure c ON c.org_id = s.org_id
        GROUP BY c.ancestor{by}"""


def _statements(as_of: dt.date) -> list[str]:
    day = f"DATE '{as_of.isoformat()}'"
    retail = ", ".join(f"'{r}'" for r in RETAIL)
    keys = ", ".join(f"coalesce({c}, '') AS {c}" for c in GROUP_COLUMNS.values())
    s = SCHEMA
    classify = f"""
    CREATE TABLE {s}.classified AS
    WITH days AS (
        SELECT l.*, greatest(
                coalesce(l.principal_overdue_days, 0),
                CASE WHEN coalesce(l.extended_maturity_date, l.maturity_date) < {day}
                      AND l.balance > 0
                     THEN {day} - coalesce(l.extended_maturity_date, l.maturity_date)
                     ELSE 0 END,
                coalesce(l.interest_overdue_days, 0)) AS od,
            coalesce(l.retail, l.customer_type IN ({retail})) AS is_retail,
            p.final_category AS prev_category, p.npl_cure_date AS prev_cure,
            q.final_category AS prior_category, q.overdue_days AS prior_od,
            b.overdue90_share AS bureau_share
        FROM {s}.loans l
        LEFT JOIN {s}.previous p ON p.loan_id = l.loan_id
        LEFT JOIN {s}.previous q ON q.loan_id = l.prior_loan_id
        LEFT JOIN {s}.bureau b ON b.customer_id = l.customer_id
    ), cured AS (
        SELECT *, CASE WHEN prev_category >= 3 AND od = 0 THEN coalesce(prev_cure, {day}) END
                  AS cure,
               restructure_date <= {day}
                  AND {day} < restructure_date + interval '{OBSERVATION_MONTHS} months'
                  AS observing,
               CASE WHEN balance > 0 THEN coalesce(ecl, 0) / balance ELSE 0 END AS ecl_share
        FROM days
    ), ruled AS (
        SELECT *, greatest(
            CASE WHEN od > 360 THEN 5 WHEN od > 270 THEN 4 WHEN od > 90 THEN 3
                 WHEN od > 0 THEN 2 ELSE 1 END,
            CASE WHEN impaired THEN 3 ELSE 1 END,
            CASE WHEN ecl_share >= {ECL90} THEN 5 WHEN ecl_share >= {ECL50} THEN 4 ELSE 1 END,
            CASE WHEN extended_maturity_date IS NOT NULL THEN 2 ELSE 1 END,
            CASE WHEN prior_loan_id IS NOT NULL AND prior_category >= 3 THEN 3
                 WHEN prior_loan_id IS NOT NULL AND prior_od > 0 THEN 2 ELSE 1 END,
            CASE WHEN observing AND od > 0 THEN 4
                 WHEN observing AND prev_category >= 3 THEN 3
                 WHEN observing THEN 2 ELSE 1 END,
            CASE WHEN NOT is_retail AND bureau_share > {BUREAU_OVERDUE90} THEN 3 ELSE 1 END,
            CASE WHEN prev_category >= 3 AND NOT coalesce(
                      {day} >= cure + interval '{CURE_MONTHS} months', false)
                 THEN 3 ELSE 1 END) AS before
        FROM cured
    ), debtors AS (
        SELECT customer_id,
               sum(balance) FILTER (WHERE NOT coalesce(written_off, false)) AS live,
               sum(balance) FILTER (WHERE NOT coalesce(written_off, false) AND before >= 3)
                   AS npl
        FROM ruled WHERE NOT is_retail GROUP BY customer_id
    )
    SELECT r.loan_id, r.customer_id, r.group_id, r.prior_loan_id, r.balance,
           coalesce(r.written_off, false) AS written_off, r.od AS overdue_days,
           {", ".join(f"coalesce(r.{c}, '') AS {c}" for c in GROUP_COLUMNS.values())},
           greatest(r.before, CASE WHEN NOT r.is_retail AND d.live > 0
                                    AND d.npl / d.live > {BORROWER_NPL} THEN 3 ELSE 1 END)
               AS final_category,
           r.bank_category
    FROM ruled r LEFT JOIN debtors d ON d.customer_id = r.customer_id"""
    flows = f"""
    CREATE TABLE {s}.flows AS
    WITH successors AS (
        SELECT prior_loan_id, sum(balance) AS new_balance, max(final_category) AS new_category
        FROM {s}.classified WHERE prior_loan_id IS NOT NULL GROUP BY prior_loan_id
    ), went AS (
        SELECT p.*, c.balance AS cur_balance, c.final_category AS cur_category,
               c.loan_id IS NOT NULL AND c.written_off AS gone_off,
               c.loan_id IS NOT NULL AND NOT c.written_off AND c.balance > 0 AS on_books,
               n.new_balance, n.new_category
        FROM (SELECT loan_id, balance, final_category, {keys} FROM {s}.previous
              WHERE NOT coalesce(written_off, false)) p
        LEFT JOIN {s}.classified c ON c.loan_id = p.loan_id
        LEFT JOIN successors n ON n.prior_loan_id = p.loan_id
    ), ended AS (
        SELECT *, NOT on_books AND NOT gone_off AND new_balance IS NOT NULL AS renewed FROM went
    )
    SELECT {", ".join(GROUP_COLUMNS.values())}, final_category AS from_category,
           CASE WHEN on_books THEN cur_category WHEN renewed THEN new_category END
               AS to_category,
           CASE WHEN on_books THEN cur_category::text WHEN renewed THEN new_category::text
                WHEN gone_off THEN 'written_off' ELSE 'repaid' END AS to_state,
           balance AS opening_balance,
           CASE WHEN on_books THEN cur_balance WHEN renewed THEN new_balance ELSE 0 END
               AS closing_balance,
           renewed
    FROM ended"""
    live = "CASE WHEN written_off THEN 0 ELSE balance END"
    current_sums = ", ".join(
        [
            "sum(CASE WHEN written_off THEN 0 ELSE 1 END) AS loan_count",
            f"sum({live}) AS balance",
            *(
                f"sum(CASE WHEN final_category = {k} THEN {live} ELSE 0 END) AS balance_c{k}"
                for k in (1, 2, 3, 4, 5)
            ),
            *(
                f"sum(CASE WHEN final_category = {k} AND NOT written_off THEN 1 ELSE 0 END)"
                f" AS count_c{k}"
                for k in (1, 2, 3, 4, 5)
            ),
            f"sum(CASE WHEN final_category >= 3 THEN {live} ELSE 0 END) AS npl_balance",
            f"sum(CASE WHEN overdue_days > 0 THEN {live} ELSE 0 END) AS overdue_balance",
            f"sum(CASE WHEN overdue_days > 90 THEN {live} ELSE 0 END) AS overdue90_balance",
            f"sum(CASE WHEN bank_category < final_category THEN {live} ELSE 0 END)"
            " AS hidden_npl_balance",
        ]
    )
    moved = []
    for k in (1, 2, 3, 4):
        mine = f"from_category = {k}"
        moved.append(
            f"sum(CASE WHEN {mine} THEN least(opening_balance, closing_balance) ELSE 0 END)"
            f" AS base_c{k}"
        )
        moved.append(
            f"sum(CASE WHEN {mine} AND to_category > {k} THEN closing_balance ELSE 0 END)"
            f" AS worse_c{k}"
        )
        if k <= 2:
            moved.append(
                f"sum(CASE WHEN {mine} AND to_category >= 3 THEN closing_balance ELSE 0 END)"
                f" AS npl_c{k}"
            )
    on_books = f"(SELECT * FROM {s}.classified WHERE NOT written_off)"
    concentration = f"""
    CREATE TABLE {s}.concentration AS
    WITH customers AS ({_grouped(on_books, "sum(balance) AS balance", ["customer_id"])}),
    ranked AS (
        SELECT group_by, key, balance,
               row_number() OVER (PARTITION BY group_by, key ORDER BY balance DESC) AS rank
        FROM customers
    ), top AS (
        SELECT group_by, key, sum(balance) FILTER (WHERE rank <= 10) AS top10,
               max(balance) AS largest
        FROM ranked GROUP BY group_by, key
    ), groups AS (
        SELECT group_by, key, max(balance) AS largest_real FROM ({
        _grouped(
            f"(SELECT * FROM {on_books} o WHERE group_id IS NOT NULL)",
            "sum(balance) AS balance",
            ["group_id"],
        )
    }) g GROUP BY group_by, key
    ), sectors AS ({
        _grouped(
            f"(SELECT *, industry AS sector FROM {on_books} o)",
            "sum(balance) AS balance",
            ["sector"],
        )
    }), hhi AS (
        SELECT group_by, key, sum(balance * balance) / (sum(balance) * sum(balance)) AS hhi
        FROM sectors GROUP BY group_by, key
    )
    SELECT t.group_by, t.key, t.top10, t.largest,
           greatest(t.largest, coalesce(g.largest_real, 0)) AS largest_group,
           coalesce(h.hhi, 0) AS hhi
    FROM top t JOIN hhi h USING (group_by, key) LEFT JOIN groups g USING (group_by, key)"""
    ratio = "CASE WHEN {d} <> 0 THEN ({n})::float8 / ({d})::float8 END"
    metrics = f"""
    CREATE TABLE {s}.metrics AS
    WITH sums AS ({_grouped(f"{s}.classified", current_sums, [])}),
    moved AS ({_grouped(f"{s}.flows", ", ".join(moved), [])}),
    joined AS (
        SELECT coalesce(a.group_by, m.group_by) AS group_by, coalesce(a.key, m.key) AS key,
               {", ".join(f"coalesce(a.{c}, 0) AS {c}" for c in SUMS)},
               {", ".join(f"coalesce(m.{c}, 0) AS {c}" for c in _moved_names())}
        FROM sums a FULL JOIN moved m USING (group_by, key)
    )
    SELECT j.*, {", ".join(_ratios(ratio))}
    FROM joined j LEFT JOIN {s}.concentration c USING (group_by, key)"""
    matrix = f"""
    CREATE TABLE {s}.matrix AS {
        _grouped(
            f"{s}.flows",
            "count(*) AS loan_count, sum(opening_balance) AS opening_balance, "
            "sum(closing_balance) AS closing_balance, "
            "sum(CASE WHEN renewed THEN 1 ELSE 0 END) AS renewed_count",
            ["from_category", "to_state"],
        )
    }"""
    return [classify, flows, concentration, metrics, matrix]


def _moved_names() -> list[str]:
    return [
        *(f"{kind}_c{k}" for k in (1, 2, 3, 4) for kind in ("base", "worse")),
        "npl_c1",
        "npl_c2",
    ]


def _ratios(ratio: str) -> list[str]:
    figures = {
        "npl_ratio": ("npl_balance", "balance"),
        "special_mention_ratio": ("balance_c2", "balance"),
        "overdue_ratio": ("overdue_balance", "balance"),
        "npl_deviation": ("overdue90_balance", "npl_balance"),
        **{f"migration_rate_c{k}": (f"worse_c{k}", f"base_c{k}") for k in (1, 2, 3, 4)},
        "migration_rate_performing": ("npl_c1 + npl_c2", "base_c1 + base_c2"),
        "top10_share": ("c.top10", "balance"),
        "largest_borrower_share": ("c.largest", "balance"),
        "largest_group_share": ("c.largest_group", "balance"),
    }
    columns = [f"{ratio.format(n=n, d=d)} AS {name}" for name, (n, d) in figures.items()]
    return [
        *columns,
        "c.top10 AS part_top10_balance",
        "c.largest AS part_largest_borrower_balance",
        "c.largest_group AS part_largest_group_balance",
        "c.hhi::float8 AS industry_hhi",
    ]


def run(url: str, as_of: dt.date) -> None:
    """The timed part: every statement, committed."""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("SET work_mem = '1GB'")  # as a DBA would for a batch: sorts in memory
        for table in ("classified", "flows", "concentration", "metrics", "matrix"):
            con.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
        for statement in _statements(as_of):
            con.execute(statement)


def drop(url: str) -> None:
    """Remove this process's tables."""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def results(url: str) -> dict[str, pd.DataFrame]:
    def fetch(con, query: str) -> pd.DataFrame:
        cursor = con.execute(query)
        names = [d.name for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)

    with psycopg.connect(url) as con:
        figures = ", ".join(PEER_METRICS)
        metrics = fetch(con, f"SELECT group_by, key, {figures} FROM {SCHEMA}.metrics")
        return {
            "classified": fetch(con, f"SELECT loan_id, final_category FROM {SCHEMA}.classified"),
            "metrics": metrics,
            "migration": fetch(
                con,
                f"SELECT group_by, key, from_category, to_state, {', '.join(MATRIX)} "
                f"FROM {SCHEMA}.matrix",
            ),
        }
