"""Time importing a generated N-row loan ledger against reading the same file with pandas.

    python benchmarks/import_bench.py --loans 1000000 [--runs 3] [--json OUT] [--work DIR]

The engine's import (read, convert, validate every value, publish Parquet) is
timed against two peers in the same run: pandas reading the file as text (what
an analyst's script does before any check) and DuckDB's own CSV reader (the floor:
parse only). Each time is the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from loanquality.engine.ingest import import_as_of
from loanquality.synth.generator import generate_bank


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()

    bank_dir = args.work / f"bank-{args.loans}"
    if not (bank_dir / "import.sh").exists():
        print(f"generating {args.loans:,} loans into {bank_dir} ...", flush=True)
        generate_bank(bank_dir, loans=args.loans, months=1, seed=1)
    as_of = sorted(p.name for p in bank_dir.iterdir() if p.is_dir())[0]
    ledger = bank_dir / as_of / "loans.csv"
    files = {"loans": ledger, "orgs": bank_dir / "orgs.csv"}
    rows = sum(1 for _ in ledger.open(encoding="utf-8-sig")) - 1

    def engine() -> None:
        data = Path(tempfile.mkdtemp(dir=args.work))
        try:
            import_as_of(data, pd.Timestamp(as_of).date(), files, user="bench")
        finally:
            shutil.rmtree(data)

    def pandas_peer() -> None:
        pd.read_csv(ledger, dtype=str, encoding="utf-8-sig")

    def floor() -> None:
        duckdb.sql(f"SELECT * FROM read_csv('{ledger}', all_varchar=true)").to_arrow_table()

    result = {"loans": rows, "file_mb": round(ledger.stat().st_size / 2**20, 1)}
    result["engine_seconds"] = round(median_seconds(engine, args.runs), 2)
    result["pandas_read_seconds"] = round(median_seconds(pandas_peer, args.runs), 2)
    result["floor_seconds"] = round(median_seconds(floor, args.runs), 2)
    result["vs_pandas_read"] = round(result["engine_seconds"] / result["pandas_read_seconds"], 2)
    result["vs_floor"] = round(result["engine_seconds"] / result["floor_seconds"], 2)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
