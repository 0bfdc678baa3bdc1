"""Time classifying an N-loan generated bank (overdue days + every rule) against a scan floor.

    python benchmarks/classify_bench.py --loans 1000000 [--runs 3] [--json OUT]

A two-month bank is generated and imported once (cached under benchmarks/out/).
Timed: the second month's classification on DuckDB (overdue days from schedules and
every repayment partition, all rules with the first month as ``previous``), written to
Parquet. The peer in the same run is the floor: one DuckDB pass reading every input
column the classification reads and summing it. Each time is the median of ``--runs``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import time
from pathlib import Path

from loanquality.engine.backends import connect
from loanquality.engine.close import classified_loans
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.rules import load_ruleset
from loanquality.synth.generator import GeneratedBank, generate_bank


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prepared_lake(work: Path, loans: int) -> tuple[Lake, list]:
    bank_dir, data_dir = work / f"bank2-{loans}", work / f"lake2-{loans}"
    if not (bank_dir / "import.sh").exists():
        print(f"generating {loans:,} loans x 2 months into {bank_dir} ...", flush=True)
        generate_bank(bank_dir, loans=loans, months=2, seed=1)
    as_ofs = sorted(p.name for p in bank_dir.iterdir() if p.is_dir())
    lake = Lake(data_dir)
    bank = GeneratedBank(bank_dir, [dt.date.fromisoformat(d) for d in as_ofs], "csv")
    for as_of in bank.as_ofs:
        if not lake.has("loans", as_of):
            print(f"importing {as_of} ...", flush=True)
            import_as_of(data_dir, as_of, bank.files(as_of), user="bench")
    return lake, bank.as_ofs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    lake, (first, second) = prepared_lake(args.work, args.loans)
    rules = load_ruleset()
    con = connect("duckdb")
    previous_path = args.work / f"classified-{args.loans}-{first}.parquet"
    con.to_parquet(classified_loans(con, lake, first, rules), previous_path)
    out = args.work / f"classified-{args.loans}-{second}.parquet"

    def engine() -> None:
        previous = con.read_parquet(str(previous_path))
        con.to_parquet(classified_loans(con, lake, second, rules, previous=previous), out)

    def floor() -> None:
        part = lake.partition
        con.raw_sql(f"""
            SELECT sum(length(loan_id) + length(customer_id) + length(coalesce(prior_loan_id, ''))
                       + balance + coalesce(ecl, 0) + coalesce(principal_overdue_days, 0)
                       + coalesce(interest_overdue_days, 0) + coalesce(bank_category, 0)
                       + epoch(maturity_date) + coalesce(epoch(extended_maturity_date), 0)
                       + coalesce(epoch(restructure_date), 0) + impaired::int + written_off::int
                       + retail::int + length(customer_type))
            FROM '{part("loans", second)}/part-0.parquet'
            UNION ALL SELECT sum(length(loan_id) + principal_due + interest_due + epoch(due_date))
            FROM '{part("schedules", second)}/part-0.parquet'
            UNION ALL SELECT sum(length(loan_id) + principal_paid + interest_paid + epoch(date))
            FROM '{lake.root}/repayments/*/part-0.parquet'
            UNION ALL SELECT sum(length(loan_id) + final_category + overdue_days
                                 + coalesce(epoch(npl_cure_date), 0))
            FROM '{previous_path}'
        """).fetchall()

    rows = lake.read("loans", second).num_rows
    engine_seconds = median_seconds(engine, args.runs)
    floor_seconds = median_seconds(floor, args.runs)
    result = {
        "loans": rows,
        "engine": "duckdb",
        "engine_seconds": round(engine_seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "floor_ratio": round(engine_seconds / floor_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
