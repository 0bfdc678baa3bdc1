"""``loanquality demo``: a synthetic bank, generated and imported month by month."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from loanquality.engine.backends import connect
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.sources import lake_table
from loanquality.engine.summary import ledger_summary
from loanquality.synth.generator import generate_bank


def run_demo(
    data_dir: Path, *, loans: int, months: int, seed: int, console: Console, progress
) -> None:
    files_dir = data_dir / "bank-files"
    console.print(f"生成模拟银行 generating a synthetic bank: {loans:,} loans, {months} months")
    with progress(months + 1) as advance:
        bank = generate_bank(files_dir, loans=loans, months=months, seed=seed, progress=advance)
    with progress(len(bank.as_ofs)) as advance:
        for as_of in bank.as_ofs:
            import_as_of(data_dir, as_of, bank.files(as_of), user="demo")
            advance(f"导入 imported {as_of}")
    con = connect("duckdb")
    summary = ledger_summary(lake_table(con, Lake(data_dir), "loans")).to_pyarrow()
    table = Table(title="台账概览 ledger summary (rules come with the classification engine)")
    for header in (
        "报告日 as-of",
        "笔数 loans",
        "余额(万元) balance",
        "逾期90天以上占比",
        "原五级分类不良率",
    ):
        table.add_column(header, justify="right")
    for row in summary.to_pylist():
        table.add_row(
            str(row["as_of"]),
            f"{row['loan_count']:,}",
            f"{row['balance'] / 1e4:,.0f}",
            f"{row['overdue90_share']:.2%}",
            f"{row['bank_npl_ratio']:.2%}",
        )
    console.print(table)
    console.print(f"数据目录 data directory: {data_dir.resolve()}")
