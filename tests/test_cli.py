"""The loanquality command: exit status 2 and both languages on bad input, nothing written."""

import re
import subprocess
import sys

import pyarrow.parquet as pq
from typer.testing import CliRunner

from helpers import LEDGER_ROWS, snapshot, write_ledger, write_orgs
from loanquality.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_import_prints_a_summary(tmp_path):
    loans, orgs = write_ledger(tmp_path / "loans.csv"), write_orgs(tmp_path / "orgs.csv")
    result = run(
        "import",
        "--data-dir",
        tmp_path / "data",
        "--as-of",
        "2024-01-31",
        "--loans",
        loans,
        "--orgs",
        orgs,
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "导入完成 imported 2024-01-31" in lines
    # the summary table: one row per table imported, with its row count
    counts = dict(re.findall(r"^│ (\w+) +│ +(\d+) │$", result.output, re.MULTILINE))
    assert counts == {"loans": "3", "orgs": "3"}
    assert re.search(r"^import id / 导入批次: \d{8}T\d{12}Z-[0-9a-f]{6}$", result.output, re.M)
    # and the lake holds the three loans, amounts read as numbers ("50,000.00" is 50 000)
    written = pq.read_table(tmp_path / "data/lake/loans/as_of=2024-01-31/part-0.parquet")
    assert written.select(["loan_id", "balance", "written_off"]).to_pylist() == [
        {"loan_id": "L001", "balance": 50_000.0, "written_off": False},
        {"loan_id": "L002", "balance": 1_200_000.0, "written_off": False},
        {"loan_id": "L003", "balance": 0.0, "written_off": True},
    ]


def test_bad_input_exits_2_says_it_in_both_languages_and_writes_nothing(tmp_path):
    # given: a data directory with January, and a February ledger with a bad date on line 3
    data = tmp_path / "data"
    run(
        "import",
        "--data-dir",
        data,
        "--as-of",
        "2024-01-31",
        "--loans",
        write_ledger(tmp_path / "jan.csv"),
    )
    before = snapshot(data)
    rows = [LEDGER_ROWS[0], [*LEDGER_ROWS[1][:5], "2024-13-01", *LEDGER_ROWS[1][6:]]]
    bad = write_ledger(tmp_path / "feb.csv", rows)
    # when
    result = run("import", "--data-dir", data, "--as-of", "2024-02-29", "--loans", bad)
    # then
    assert result.exit_code == 2
    assert "feb.csv line 3 column issue_date value '2024-13-01': is not a date" in result.output
    assert "feb.csv 第3行 列「发放日」 值'2024-13-01'：不是有效日期" in result.output
    assert "未写入任何数据" in result.output
    assert snapshot(data) == before


def test_a_missing_file_exits_2(tmp_path):
    result = run(
        "import",
        "--data-dir",
        tmp_path / "d",
        "--as-of",
        "2024-01-31",
        "--loans",
        tmp_path / "nope.csv",
    )
    assert result.exit_code == 2
    assert "文件不存在" in result.output
    assert not (tmp_path / "d").exists()


def test_generate_help_shows_the_import_command():
    result = subprocess.run(
        [sys.executable, "-m", "loanquality.cli", "generate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "loanquality import --data-dir" in result.stdout
