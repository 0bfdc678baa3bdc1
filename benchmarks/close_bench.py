"""Time a monthly close of an N-loan generated bank against classification alone.

    python benchmarks/close_bench.py --loans 1000000 [--runs 3] [--json OUT]

Uses the same cached two-month bank as ``classify_bench.py``. The first month is closed
once, untimed. Timed: closing the second month (overdue days, classification, every
metric for every grouping, the migration matrix, labels, atomic publish). The peer in
the same run is the classification step of that close on its own, written to Parquet,
so the ratio is what the metrics, matrix and publishing cost on top.
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

from classify_bench import median_seconds, prepared_lake

from loanquality.engine.backends import connect
from loanquality.engine.close import classified_loans, close_log, run_close
from loanquality.engine.rules import load_ruleset
from loanquality.engine.sources import partition


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    lake, (first, second) = prepared_lake(args.work, args.loans)
    if not lake.has("classified", first):
        print(f"closing {first} ...", flush=True)
        run_close(lake.data_dir, first)
    con = connect("duckdb")
    rules = load_ruleset()
    out = args.work / f"classified-only-{args.loans}-{second}.parquet"

    def close() -> None:
        run_close(lake.data_dir, second)

    def classification() -> None:
        previous = partition(con, lake, "classified", first)
        con.to_parquet(classified_loans(con, lake, second, rules, previous=previous), out)

    close_seconds = median_seconds(close, args.runs)
    classify_seconds = median_seconds(classification, args.runs)
    last = close_log(lake)[-1]
    result = {
        "loans": last["rows"]["classified"],
        "metric_rows": last["rows"]["metrics"],
        "engine": "duckdb",
        "close_seconds": round(close_seconds, 2),
        "classification_seconds": round(classify_seconds, 2),
        "close_to_classification": round(close_seconds / classify_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
