"""``loanquality classify``: a ledger in, classified loans out, with nothing else needed."""

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from helpers import LEDGER_HEADER_ZH, write_csv, write_ledger
from loanquality.cli import app
from loanquality.engine.classify import CLASSIFIED_COLUMNS

runner = CliRunner()
HEADER = [*LEDGER_HEADER_ZH, "欠息天数", "预期信用损失"]
ROWS = [
    # 100 days in arrears on 31 Jan 2024: OD90 → 次级; the bank says 关注: 偏离
    ["L1", "C1", "农户", "B01", "1000", "2023-01-01", "2025-01-01", "关注", "否", "100", "0"],
    ["L2", "C2", "农户", "B01", "2000", "2023-01-01", "2025-01-01", "正常", "否", "0", "0"],
]


def classify(*args):
    return runner.invoke(app, ["classify", *[str(a) for a in args]])


def test_classify_writes_every_required_column(tmp_path):
    ledger = write_ledger(tmp_path / "loans.csv", ROWS, header=HEADER)
    out = tmp_path / "out.csv"
    result = classify(ledger, "--as-of", "2024-01-31", "-o", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype={"reasons": str})
    assert list(frame.columns) == list(CLASSIFIED_COLUMNS)
    first = frame.iloc[0]
    assert (first.loan_id, first.overdue_days, first.final_category) == ("L1", 100, 3)
    assert (first.final_category_label, first.reasons, bool(first.deviation)) == (
        "次级",
        "OD90",
        True,
    )


def test_previous_output_feeds_the_next_month(tmp_path):
    """January's output is February's --previous: L1 is repaid of its arrears in February
    but stays 次级 (UPG) with its cure date set to the February as-of."""
    ledger = write_ledger(tmp_path / "jan.csv", ROWS, header=HEADER)
    classify(ledger, "--as-of", "2024-01-31", "-o", tmp_path / "jan-out.csv")
    feb_rows = [[*ROWS[0][:9], "0", "0"], ROWS[1]]
    feb = write_ledger(tmp_path / "feb.csv", feb_rows, header=HEADER)
    result = classify(
        feb,
        "--as-of",
        "2024-02-29",
        "--previous",
        tmp_path / "jan-out.csv",
        "-o",
        tmp_path / "feb-out.parquet",
    )
    assert result.exit_code == 0, result.output
    rows = {r["loan_id"]: r for r in pq.read_table(tmp_path / "feb-out.parquet").to_pylist()}
    assert (rows["L1"]["final_category"], rows["L1"]["reasons"]) == (3, "UPG")
    assert str(rows["L1"]["npl_cure_date"]) == "2024-02-29"


def test_xlsx_output_has_chinese_headers(tmp_path):
    ledger = write_ledger(tmp_path / "loans.csv", ROWS, header=HEADER)
    out = tmp_path / "out.xlsx"
    assert classify(ledger, "--as-of", "2024-01-31", "-o", out).exit_code == 0
    frame = pd.read_excel(out)
    assert list(frame.columns[:3]) == ["借据号", "客户号", "机构号"]
    assert "分类依据" in frame.columns


def test_overrides_refused_are_reported(tmp_path):
    ledger = write_ledger(tmp_path / "loans.csv", ROWS, header=HEADER)
    overrides = write_csv(
        tmp_path / "ov.csv", [["借据号", "认定分类", "认定编号"], ["L1", "正常", "R1"]]
    )
    result = classify(
        ledger, "--as-of", "2024-01-31", "--overrides", overrides, "-o", tmp_path / "o.csv"
    )
    assert result.exit_code == 0, result.output
    assert "1 笔认定因上调条件不满足未生效" in result.output


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    bad = [[*ROWS[0][:9], "abc", "0"]]
    ledger = write_ledger(tmp_path / "loans.csv", bad, header=HEADER)
    out = tmp_path / "out.csv"
    result = classify(ledger, "--as-of", "2024-01-31", "-o", out)
    assert result.exit_code == 2
    assert "loans.csv line 2 column interest_overdue_days value 'abc'" in result.output
    assert "第2行 列「欠息天数」" in result.output
    assert not out.exists()


def test_unknown_rule_set_and_output_kind_exit_2(tmp_path):
    ledger = write_ledger(tmp_path / "loans.csv", ROWS, header=HEADER)
    result = classify(
        ledger, "--as-of", "2024-01-31", "--ruleset", "nope", "-o", tmp_path / "o.csv"
    )
    assert result.exit_code == 2
    assert "规则集不存在" in result.output
    result = classify(ledger, "--as-of", "2024-01-31", "-o", tmp_path / "o.txt")
    assert result.exit_code == 2
