"""Time the monthly close of an N-loan lake against pandas, PostgreSQL and the scan floor.

    python benchmarks/close_bench.py --loans 1000000 [--runs 3] [--engine duckdb] [--json OUT]

The lake is the two-month one ``fast_lake.py`` builds (cached under benchmarks/out/). The
first month is closed once, untimed. Timed, each the median of ``--runs``:

- engine: closing the second month (overdue days from the ledger columns, classification
  with BOR/RNW/UPG against the first month, every metric for every grouping, the
  migration matrix, labels, the early-warning signals, atomic publish); the signal step
  is timed inside each of those closes (its progress reports), so ``signals_seconds`` and
  the share it adds come from the same runs;
- peer (pandas): the same rules and metrics in plain pandas (``peer_pandas.py``), from
  reading the Parquet files to the results in memory;
- PostgreSQL: the same in SQL (``peer_postgres.py``) on tables loaded with COPY before the
  clock starts (``--postgres-url``, default the local ``test`` database);
- floor: one DuckDB pass that reads every column of every table the close reads (this
  month's ledger, repayments and provisions, last month's classified loans) and sums it.

Before any time counts, each peer's classified loans, metrics (``PEER_METRICS``) and
migration matrix are compared with the engine's (``parity``); any difference is printed
and the benchmark exits 1. A peer is skipped above ``--peer-max-loans`` (pandas holds every
intermediate in memory) and the JSON says so.

With ``--engine pyspark`` (``LOANQUALITY_SPARK_MASTER=local[2]`` for two cores) the same
date is first closed on DuckDB and every published figure of the Spark close is compared
with it (``parity``); any difference is printed and the benchmark exits 1.

The signals read the as-of's side tables, which ``fast_lake.py`` does not write: before the
first close the benchmark adds them to the second month (``signal_side_tables``: collateral
for the 抵押/质押 loans, a guarantor for the 保证 ones, every customer with a credit line
and deposits, the legal entity's net capital), published as their own import of that
date, so every signal code but DEPOSIT_LOW (quarter ends only; the second month is
February) runs on the whole book.

JSON keys: loans, engine, engine_seconds, signals_seconds (the signal step, median of the
same runs), signals_share (signals_seconds / engine_seconds), signals_added (signals_seconds
/ (engine_seconds - signals_seconds): what the signals add to a close without them),
signal_rows, peer ("pandas"), peer_seconds, speedup (peer /
engine), postgres_seconds, postgres_speedup, floor_seconds, floor_ratio (engine / floor),
parity, skipped (peer: why), steps (seconds of each step of one more close, from its
progress reports), peak_rss_mb (this process before the peers run, so of the engine),
cores (DuckDB's threads for the engine and the floor: ``LOANQUALITY_DUCKDB_THREADS``);
with ``--engine pyspark`` also duckdb_seconds (the reference close on DuckDB).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import time
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import peer_postgres
import pyarrow.parquet as pq
from classify_bench import median_seconds
from fast_lake import fast_lake
from pandas.api.types import is_numeric_dtype
from peer_pandas import MATRIX, PEER_METRICS, pandas_close

from loanquality.engine.backends import connect
from loanquality.engine.close import run_close
from loanquality.engine.lake import PART_FILE, Lake, Staged, new_run_id

SIGNAL_STEP = "预警信号 signals"
SIDE_TABLES = ("collateral", "guarantees", "customers", "capital")


def step_seconds(data_dir: Path, as_of, engine: str) -> dict[str, float]:
    """One close more, timed step by step through its progress reports."""
    marks = []
    run_close(
        data_dir,
        as_of,
        engine=engine,
        progress=lambda step: marks.append((step, time.perf_counter())),
    )
    marks.append(("end", time.perf_counter()))
    return {
        step.split()[-1]: round(after - at, 2)
        for (step, at), (_, after) in itertools.pairwise(marks)
    }


CLOSE_TABLES = {
    "classified": ["loan_id"],
    "metrics": ["group_by", "key"],
    "migration": ["group_by", "key", "from_category", "to_state"],
    "signals": ["code", "loan_id", "customer_id", "manager_id"],
}


def signal_side_tables(lake: Lake, as_of, work: Path, *, again: bool = False) -> None:
    """Add collateral, guarantees, customers and capital to ``as_of`` of a fast lake (once).

    Built from the date's ledger with DuckDB like the lake itself (``hash`` of the loan's
    number for a draw): one item per 抵押 loan (房产, 厂房 or 土地使用权) and 质押 loan
    (存单), worth 1.0-2.5 times the amount, appraised in the 15 months (real estate) or 8
    months (存单) before the as-of date (so about a sixth of the real estate and a third of
    the 存单 are overdue for revaluation); for each 保证 loan a guarantor drawn among the
    customers (some of them overdue); every customer with a credit line of 1.5 times its
    balance and deposits of 0-60 % of it; net capital 11 % of the book at the root. Published
    as an import of those four tables alone (the ledger and the closes stay as they are)."""
    if all(lake.has(t, as_of) for t in SIDE_TABLES) and not again:
        return
    loans = lake.partition("loans", as_of) / PART_FILE
    folder = work / f"side-{lake.data_dir.name}-{as_of}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {t: folder / f"{t}.parquet" for t in SIDE_TABLES}
    con = duckdb.connect()
    con.execute("CREATE MACRO pick(x, salt, k) AS CAST(hash(x, salt) % k AS BIGINT)")
    con.execute(
        f"CREATE VIEW l AS SELECT *, CAST(substr(loan_id, 2) AS BIGINT) AS n "
        f"FROM read_parquet('{loans}')"
    )
    con.execute(
        f"""COPY (SELECT 'Y' || loan_id AS collateral_id, loan_id,
              CASE WHEN guarantee_type = '质押' THEN '存单'
                   ELSE (['房产', '厂房', '土地使用权'])[1 + pick(n, 40, 3)] END AS type,
              round(amount * (1.0 + pick(n, 41, 150) / 100.0), 2) AS value,
              CASE WHEN guarantee_type = '质押'
                   THEN DATE '2023-06-01' + pick(n, 42, 245)::INT
                   ELSE DATE '2022-12-01' + pick(n, 42, 430)::INT END AS appraisal_date
            FROM l WHERE guarantee_type IN ('抵押', '质押'))
            TO '{paths["collateral"]}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT loan_id, customer_id AS guarantor_id, amount FROM (
              SELECT g.loan_id, c.customer_id, g.amount FROM
                (SELECT loan_id, amount, pick(n, 43, (SELECT count(*) FROM l)) AS k
                 FROM l WHERE guarantee_type = '保证') g
                JOIN (SELECT customer_id, row_number() OVER (ORDER BY loan_id) - 1 AS k
                      FROM l) c USING (k)))
            TO '{paths["guarantees"]}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT customer_id, any_value(customer_name) AS customer_name,
              round(sum(amount) * 1.5, 2) AS credit_line,
              round(sum(balance) * pick(min(n), 44, 60) / 100.0, 2) AS deposit_balance
            FROM l GROUP BY customer_id) TO '{paths["customers"]}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT 'O0000' AS org_id, round(sum(balance) * 0.11, 2) AS net_capital
            FROM l WHERE NOT written_off) TO '{paths["capital"]}' (FORMAT parquet)"""
    )
    staged = Staged(files=dict(paths))
    entry = {
        "import_id": new_run_id(),
        "as_of": as_of.isoformat(),
        "user": "bench",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "files": [
            {"table": t, "name": p.name, "rows": pq.read_metadata(p).num_rows}
            for t, p in paths.items()
        ],
        "note": "close_bench.py: the signals' side tables",
    }
    with lake.writing("import", as_of):
        lake.publish(as_of, staged, entry, replace=SIDE_TABLES)


def timed_closes(data_dir: Path, as_of, engine: str, runs: int) -> tuple[float, float]:
    """The median of ``runs`` closes of ``as_of``, and the median of their signal steps."""
    totals, signals = [], []
    for _ in range(runs):
        marks: list[tuple[str, float]] = []

        def mark(step: str, marks: list = marks) -> None:
            marks.append((step, time.perf_counter()))

        started = time.perf_counter()
        run_close(data_dir, as_of, engine=engine, progress=mark)
        ended = time.perf_counter()
        totals.append(ended - started)
        marks.append(("end", ended))
        signals += [b - a for (s, a), (_, b) in itertools.pairwise(marks) if s == SIGNAL_STEP]
    return float(np.median(totals)), float(np.median(signals))


def published(lake: Lake, as_of) -> dict[str, pd.DataFrame]:
    return {t: lake.read(t, as_of).to_pandas() for t in CLOSE_TABLES}


def table_differences(
    table: str, keys: list[str], ours: pd.DataFrame, theirs: pd.DataFrame, name: str
) -> list[str]:
    """Every column of ``theirs`` against ``ours``, rows matched on ``keys``: numbers to 1e-9
    relative, anything else equal, missing on both sides the same; at most three rows a
    column are named."""
    columns = [c for c in theirs.columns if c not in keys]
    ours, theirs = ours[[*keys, *columns]].copy(), theirs[[*keys, *columns]].copy()
    for key in keys:  # e.g. from_category: one type on both sides
        ours[key], theirs[key] = ours[key].astype(str), theirs[key].astype(str)
    joined = ours.merge(theirs, on=keys, how="outer", suffixes=("", "_other"), indicator=True)
    found = []
    for _, row in joined[joined._merge != "both"].head(3).iterrows():
        side = "engine" if row._merge == "left_only" else name
        found.append(f"{table} {tuple(row[keys])}: only in the {side}'s result")
    both = joined[joined._merge == "both"]
    for column in columns:
        a, b = both[column], both[f"{column}_other"]
        missing = a.isna().to_numpy() & b.isna().to_numpy()
        if is_numeric_dtype(a):  # PostgreSQL's numeric arrives as Decimal
            x = a.astype(float).to_numpy()
            y = pd.to_numeric(b, errors="coerce").astype(float).to_numpy()
            same = np.isclose(x, y, rtol=1e-9, atol=1e-9) | missing
        else:
            same = (a == b).to_numpy() | missing
        for _, row in both[~same].head(3).iterrows():
            found.append(
                f"{table}.{column} {tuple(row[keys])}: engine {row[column]!r} vs "
                f"{name} {row[f'{column}_other']!r}"
            )
    return found


def differences(reference: dict, other: dict, name: str = "other") -> list[str]:
    """Every column of every published table of two closes of one date."""
    return [
        line
        for table, keys in CLOSE_TABLES.items()
        for line in table_differences(table, keys, reference[table], other[table], name)
    ]


def peer_inputs(lake: Lake, first, second) -> dict[str, str]:
    """The Parquet files a peer reads: what the engine's close of ``second`` reads."""
    return {
        "loans": str(lake.partition("loans", second) / PART_FILE),
        "previous": str(lake.partition("classified", first) / PART_FILE),
        "bureau": str(lake.partition("bureau", second) / PART_FILE),
        "orgs": str(lake.partition("orgs", second) / PART_FILE),
    }


PEER_FIGURES = {
    "classified": ["final_category"],
    "metrics": list(PEER_METRICS),
    "migration": list(MATRIX),
}


def peer_differences(lake: Lake, as_of, peer: dict[str, pd.DataFrame], name: str) -> list[str]:
    """Every figure a peer computes against the engine's published one."""
    return [
        line
        for table, keys in CLOSE_TABLES.items()
        if table in PEER_FIGURES  # the peers compute no signals
        for line in table_differences(
            table,
            keys,
            lake.read(table, as_of).to_pandas(),
            peer[table][[*keys, *PEER_FIGURES[table]]],
            name,
        )
    ]


def floor_query(files: list[Path]) -> str:
    """Sum every column of every file: numbers as they are, text by length, dates and
    flags as numbers, so nothing can be skipped."""
    sums = []
    for path in files:
        schema = pq.read_schema(path)
        terms = []
        for field in schema:
            name = f'"{field.name}"'
            kind = str(field.type)
            if kind in ("string", "large_string"):
                terms.append(f"sum(length({name}))")
            elif kind.startswith(("date", "timestamp")):
                terms.append(f"sum(epoch({name}))")
            elif kind == "bool":
                terms.append(f"sum({name}::INT)")
            else:
                terms.append(f"sum({name})")
        sums.append(f"SELECT {' + '.join(terms)} AS s FROM read_parquet('{path}')")
    return " UNION ALL ".join(sums)


def run_peers(args, lake: Lake, dates, loans: int, engine: float, result: dict) -> list[str]:
    """Time each peer after checking its results against the engine's; fill ``result``."""
    first, second = dates
    files = peer_inputs(lake, first, second)
    wanted = [p for p in args.peers.split(",") if p and p != "none"]
    found, skipped = [], {}
    for peer in ("pandas", "postgres"):
        if peer not in wanted:
            skipped[peer] = "not asked for (--peers)"
        elif loans > args.peer_max_loans:
            skipped[peer] = f"above --peer-max-loans {args.peer_max_loans:,}"
        elif peer == "pandas":
            print("pandas: checking parity ...", flush=True)
            found += peer_differences(lake, second, pandas_close(files, second), peer)
            seconds = median_seconds(partial(pandas_close, files, second), args.runs)
            result |= {"peer": "pandas", "peer_seconds": round(seconds, 2)}
            result["speedup"] = round(seconds / engine, 1)
        else:
            print("postgres: loading with COPY, checking parity ...", flush=True)
            try:
                peer_postgres.load(args.postgres_url, files)
                peer_postgres.run(args.postgres_url, second)
                by_postgres = peer_postgres.results(args.postgres_url)
                found += peer_differences(lake, second, by_postgres, peer)
                in_postgres = partial(peer_postgres.run, args.postgres_url, second)
                seconds = median_seconds(in_postgres, args.runs)
            finally:
                peer_postgres.drop(args.postgres_url)
            result["postgres_seconds"] = round(seconds, 2)
            result["postgres_speedup"] = round(seconds / engine, 1)
    if skipped:
        result["skipped"] = skipped
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", default="duckdb", choices=("duckdb", "pyspark"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--peers", default="pandas,postgres", help="comma-separated, or none")
    parser.add_argument("--peer-max-loans", type=int, default=5_000_000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LOANQUALITY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1/test"
        ),
    )
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    lake, (first, second) = fast_lake(args.work, args.loans)
    signal_side_tables(lake, second, args.work)
    if not lake.has("classified", first):
        print(f"closing {first} (untimed) ...", flush=True)
        run_close(lake.data_dir, first, engine=args.engine)

    files = [
        *(lake.partition(t, second) / PART_FILE for t in ("loans", "repayments", "provisions")),
        lake.partition("classified", first) / PART_FILE,
    ]
    reference, on_duckdb = None, {}
    if args.engine != "duckdb":  # the same close on DuckDB: the reference, timed alike
        seconds = median_seconds(lambda: run_close(lake.data_dir, second), args.runs)
        reference, on_duckdb = published(lake, second), {"duckdb_seconds": round(seconds, 2)}
    query = floor_query([f for f in files if f.exists()])
    # the engine's own settings (LOANQUALITY_DUCKDB_THREADS, _MEMORY) hold for the floor too
    scan = connect("duckdb")
    cores = scan.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    floor = median_seconds(lambda: scan.raw_sql(query).fetchall(), args.runs)
    engine, signals = timed_closes(lake.data_dir, second, args.engine, args.runs)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    loans = pq.read_metadata(lake.partition("classified", second) / PART_FILE).num_rows
    result = {
        "loans": loans,
        "engine": args.engine,
        "engine_seconds": round(engine, 2),
        "signals_seconds": round(signals, 2),
        "signals_share": round(signals / engine, 3),
        "signals_added": round(signals / (engine - signals), 3),
        "signal_rows": pq.read_metadata(lake.partition("signals", second) / PART_FILE).num_rows,
        "floor_seconds": round(floor, 2),
        "floor_ratio": round(engine / floor, 1),
        "peak_rss_mb": peak_rss_mb,
        "cores": cores,
        **on_duckdb,
    }
    found = (
        differences(reference, published(lake, second), args.engine)
        if reference is not None
        else []
    )
    found += run_peers(args, lake, (first, second), loans, engine, result)
    compared = reference is not None or "peer_seconds" in result or "postgres_seconds" in result
    result["parity"] = not found if compared else None  # None: nothing to compare with
    result["steps"] = step_seconds(lake.data_dir, second, args.engine)
    for line in found:
        print(f"PARITY FAILED {line}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if result.get("parity") is False:
        sys.exit(1)


if __name__ == "__main__":
    main()
