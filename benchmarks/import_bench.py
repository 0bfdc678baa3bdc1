"""Time importing a generated N-row loan ledger against reading the same file with pandas.

    python benchmarks/import_bench.py --loans 1000000 [--format xlsx] [--runs 3] [--json OUT]

The engine's import (read, convert, validate every value, publish Parquet) is
timed against two peers in the same run: pandas reading the file as text (what
an analyst's script does before any check) and the floor (parse only: DuckDB's CSV
reader; for XLSX, calamine's rows as Python values). Each time is the median of
``--runs`` runs.

``--format xlsx`` writes the generated CSV ledger once as an Excel workbook (typed cells:
numbers as numbers, dates as dates, as a core banking export has them; cached beside the
CSV) and imports that; pandas reads it with its calamine engine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter
from python_calamine import CalamineWorkbook

from loanquality.engine.ingest import import_as_of
from loanquality.synth.generator import generate_bank


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def as_workbook(ledger: Path) -> Path:
    """The ledger as an XLSX file with typed cells, written once."""
    workbook = ledger.with_suffix(".xlsx")
    if workbook.exists():
        return workbook
    print(f"writing {workbook} ...", flush=True)
    partial = workbook.with_suffix(".partial")
    rows = duckdb.sql(f"SELECT * FROM read_csv('{ledger}', header = true)")
    book = xlsxwriter.Workbook(str(partial), {"constant_memory": True})
    sheet = book.add_worksheet("借据")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, rows.columns)
    line = 1
    for batch in rows.to_arrow_reader(100_000):
        for values in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            for column, value in enumerate(values):
                if isinstance(value, dt.date):
                    sheet.write_datetime(line, column, dt.datetime.combine(value, dt.time()), day)
                elif isinstance(value, int | float):
                    sheet.write_number(line, column, value)
                elif value is not None:
                    sheet.write_string(line, column, value)
            line += 1
    book.close()
    partial.rename(workbook)
    return workbook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()

    bank_dir = args.work / f"bank-{args.loans}"
    if not (bank_dir / "import.sh").exists():
        print(f"generating {args.loans:,} loans into {bank_dir} ...", flush=True)
        generate_bank(bank_dir, loans=args.loans, months=1, seed=1)
    as_of = sorted(p.name for p in bank_dir.iterdir() if p.is_dir())[0]
    csv = bank_dir / as_of / "loans.csv"
    ledger = as_workbook(csv) if args.format == "xlsx" else csv
    files = {"loans": ledger, "orgs": bank_dir / "orgs.csv"}
    rows = sum(1 for _ in csv.open(encoding="utf-8-sig")) - 1

    def engine() -> None:
        data = Path(tempfile.mkdtemp(dir=args.work))
        try:
            import_as_of(data, pd.Timestamp(as_of).date(), files, user="bench")
        finally:
            shutil.rmtree(data)

    def pandas_peer() -> None:
        if args.format == "xlsx":
            pd.read_excel(ledger, dtype=str, engine="calamine")
        else:
            pd.read_csv(ledger, dtype=str, encoding="utf-8-sig")

    def floor() -> None:
        if args.format == "xlsx":
            CalamineWorkbook.from_path(str(ledger)).get_sheet_by_index(0).to_python()
        else:
            duckdb.sql(f"SELECT * FROM read_csv('{ledger}', all_varchar=true)").to_arrow_table()

    result = {
        "loans": rows,
        "format": args.format,
        "file_mb": round(ledger.stat().st_size / 2**20, 1),
    }
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
