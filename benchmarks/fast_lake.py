"""A two-month N-loan lake built fast for the close benchmark (not the realistic generator).

    python benchmarks/fast_lake.py --loans 10000000

Every column is computed from the loan's number in one DuckDB statement per table
(``hash`` of the number and a salt stands in for a random draw), written to Parquet and
imported through the same ``import_as_of`` a bank's files go through. The shares follow
what the realistic generator produces for a county co-op:

- 1 head office, 20 co-ops, 100 outlets; 2,000 officers; 10 % of loans non-retail,
  three loans per non-retail debtor (so BOR has debtors to act on);
- overdue: 4 % 1–90 days, 1.5 % 91–270, 0.6 % 271–360, 0.5 % more; 1 % extended,
  1 % restructured within the year, 2 % renewals of a loan of the previous month,
  1 % impaired, 0.5 % written off, 5 % of non-retail debtors with bureau trouble;
- month 2: 3 % of month 1's loans repaid (gone), the same number of new loans, overdue
  days moved on by 29 days for loans still overdue, 2 % cured.

Cached under ``benchmarks/out/fast-<N>/`` (the data dir); a second call returns at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import duckdb

from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake

MONTHS = (dt.date(2024, 1, 31), dt.date(2024, 2, 29))
COOPS, OUTLETS_PER_COOP, OFFICERS = 20, 5, 2_000
PICK = "CREATE OR REPLACE MACRO pick(x, salt, k) AS CAST(hash(x, salt) % k AS BIGINT)"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(PICK)
    return con


def _draw(salt: int) -> str:
    """A uniform number in [0, 1) per loan, independent for each salt (``pick`` is the
    loan number's hash with the salt, modulo k)."""
    return f"pick(n, {salt}, 1000000) / 1000000.0"


def _loans_sql(n: int, month: int, parquet: Path) -> str:
    """Month 1 holds loans 0..n-1; month 2 drops 3 % (repaid) and adds as many new ones
    numbered from n, some of them renewing a dropped loan."""
    gone = f"({_draw(1)} < 0.03)"
    numbers = (
        f"SELECT range AS n FROM range({n})"
        if month == 1
        else f"SELECT n FROM (SELECT range AS n FROM range({n})) WHERE NOT {gone} "
        f"UNION ALL SELECT {n} + range AS n FROM range((SELECT count(*) FROM range({n}) "
        f"t(n) WHERE {gone}))"
    )
    new = f"(n >= {n})"
    overdue_band = _draw(2)
    days = f"""CASE
        WHEN {overdue_band} < 0.04 THEN 1 + pick(n, 3, 90)
        WHEN {overdue_band} < 0.055 THEN 91 + pick(n, 3, 180)
        WHEN {overdue_band} < 0.061 THEN 271 + pick(n, 3, 90)
        WHEN {overdue_band} < 0.066 THEN 361 + pick(n, 3, 700)
        ELSE 0 END"""
    if month == 2:  # still overdue: 29 more days; 2 % of overdue loans cured
        moved_on = f"({days}) + (({days}) > 0)::INT * 29"
        days = f"CASE WHEN {new} OR {_draw(4)} < 0.02 THEN 0 ELSE {moved_on} END"
    non_retail = f"({_draw(5)} < 0.10)"
    customer = f"CASE WHEN {non_retail} THEN 'D' || (n // 3) ELSE 'C' || n END"
    renewed_prior = f"CASE WHEN {new} AND {_draw(6)} < 0.6 THEN 'L' || pick(n, 7, {n}) END"
    return f"""
    COPY (
      SELECT
        'L' || n AS loan_id,
        {customer} AS customer_id,
        '客户' || n AS customer_name,
        CASE WHEN {non_retail} THEN (['corporate', 'micro'])[1 + pick(n, 8, 2)]
             ELSE (['farmer', 'individual', 'sole_proprietor'])[1 + pick(n, 8, 3)] END
             AS customer_type,
        CASE WHEN {non_retail} AND {_draw(9)} < 0.3 THEN 'G' || (n // 30) END AS group_id,
        'O' || lpad((pick(n, 10, {COOPS}) + 1)::VARCHAR, 2, '0')
            || lpad((pick(n, 11, {OUTLETS_PER_COOP}) + 1)::VARCHAR, 2, '0') AS org_id,
        'S' || pick(n, 12, {OFFICERS}) AS manager_id,
        'S' || pick(n, 13, {OFFICERS}) AS manager_b_id,
        (['农户小额信用贷款', '农户联保贷款', '个人经营贷款', '个人消费贷款',
          '小微企业流动资金贷款', '企业固定资产贷款'])[1 + pick(n, 14, 6)] AS product,
        (['A', 'C', 'E', 'F', 'G', 'H', 'K'])[1 + pick(n, 15, 7)] AS industry,
        (['信用', '保证', '抵押', '质押'])[1 + pick(n, 16, 4)] AS guarantee_type,
        round(10000 + pick(n, 17, 500) * 1000.0, 2) AS amount,
        CASE WHEN {_draw(18)} < 0.005 THEN 0.0
             ELSE round((10000 + pick(n, 17, 500) * 1000.0) * (0.2 + 0.8 * {_draw(19)}), 2)
             END AS balance,
        DATE '2023-01-01' + pick(n, 20, 390)::INT AS issue_date,
        DATE '2024-03-01' + pick(n, 21, 1000)::INT AS maturity_date,
        CASE WHEN {_draw(22)} < 0.01 THEN DATE '2025-06-30' END AS extended_maturity_date,
        {"NULL" if month == 1 else renewed_prior} AS prior_loan_id,
        CASE WHEN {_draw(23)} < 0.01 THEN DATE '2023-06-01' + pick(n, 24, 200)::INT END
            AS restructure_date,
        CASE WHEN ({days}) > 0 THEN round(500 + pick(n, 25, 5000) * 1.0, 2) ELSE 0 END
            AS overdue_principal,
        CASE WHEN ({days}) > 0 THEN round(50 + pick(n, 26, 500) * 1.0, 2) ELSE 0 END
            AS overdue_interest,
        {days} AS principal_overdue_days,
        {days} AS interest_overdue_days,
        {_draw(18)} < 0.005 AS written_off,
        {_draw(27)} < 0.01 AS impaired,
        CASE WHEN {_draw(28)} < 0.02 THEN round(1000 + pick(n, 29, 20000) * 1.0, 2) END
            AS ecl,
        CASE WHEN ({days}) > 90 THEN 3 WHEN ({days}) > 0 THEN 2 ELSE 1 END AS bank_category,
        '村' || pick(n, 30, 3000) AS village
      FROM ({numbers})
    ) TO '{parquet}' (FORMAT parquet)"""


def _small_tables(folder: Path, n: int) -> dict[str, Path]:
    orgs = [("O0000", "某县联社", None)]
    for coop in range(1, COOPS + 1):
        orgs.append((f"O{coop:02d}00", f"第{coop}信用社", "O0000"))
        orgs += [
            (f"O{coop:02d}{o:02d}", f"第{coop}社第{o}网点", f"O{coop:02d}00")
            for o in range(1, OUTLETS_PER_COOP + 1)
        ]
    con = _connect()
    paths = {t: folder / f"{t}.parquet" for t in ("orgs", "staff", "provisions", "bureau")}
    con.execute("CREATE TABLE orgs (org_id VARCHAR, org_name VARCHAR, parent_id VARCHAR)")
    con.executemany("INSERT INTO orgs VALUES (?, ?, ?)", orgs)
    con.execute(f"COPY orgs TO '{paths['orgs']}' (FORMAT parquet)")
    con.execute(
        f"""COPY (SELECT 'S' || range AS staff_id, '员工' || range AS name,
            'O' || lpad(((range % {COOPS}) + 1)::VARCHAR, 2, '0') || '01' AS org_id
            FROM range({OFFICERS})) TO '{paths["staff"]}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT org_id, {n} * 2.0 AS provision FROM orgs WHERE length(org_id) = 5
            AND org_id NOT LIKE '%00') TO '{paths["provisions"]}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT 'D' || range AS customer_id, 0.25 AS overdue90_share
            FROM range({n // 3}) WHERE pick(range, 31, 100) < 5)
            TO '{paths["bureau"]}' (FORMAT parquet)"""
    )
    return paths


def fast_lake(work: Path, n: int, progress=print) -> tuple[Lake, tuple[dt.date, dt.date]]:
    data_dir = work / f"fast-{n}"
    lake = Lake(data_dir)
    if all(lake.has("loans", d) for d in MONTHS):
        return lake, MONTHS
    files = work / f"fast-{n}-files"
    files.mkdir(parents=True, exist_ok=True)
    small = _small_tables(files, n)
    for month, as_of in enumerate(MONTHS, start=1):
        if lake.has("loans", as_of):
            continue
        started = time.perf_counter()
        loans = files / f"loans-{as_of}.parquet"
        _connect().execute(_loans_sql(n, month, loans))
        progress(f"built {as_of} loans in {time.perf_counter() - started:.1f}s; importing ...")
        import_as_of(data_dir, as_of, {"loans": loans, **small}, user="bench")
    return lake, MONTHS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    started = time.perf_counter()
    lake, _ = fast_lake(args.work, args.loans)
    print(f"{lake.data_dir} ready in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
