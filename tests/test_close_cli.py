"""``loanquality close``, ``indicators`` and ``migration`` on a generated bank."""

import csv
import io
import json
import os
import re

import openpyxl
import pytest
from typer.testing import CliRunner

from helpers import snapshot
from loanquality.cli import app
from loanquality.engine.close import close_log
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.metrics import CATALOGUE
from loanquality.synth.generator import generate_bank

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("closing")
    bank = generate_bank(root / "files", loans=1_500, months=2, seed=4)
    for as_of in bank.as_ofs:
        import_as_of(root / "data", as_of, bank.files(as_of))
    for as_of in bank.as_ofs:
        result = run("close", "--data-dir", root / "data", "--as-of", as_of)
        assert result.exit_code == 0, result.output
    return root / "data", bank.as_ofs


def test_close_records_the_run_with_the_rule_set_hash(bank):
    data, (jan, feb) = bank
    entries = close_log(Lake(data))
    assert [e["as_of"] for e in entries] == [jan.isoformat(), feb.isoformat()]
    assert entries[1]["previous_as_of"] == jan.isoformat()
    assert len(entries[1]["ruleset_sha256"]) == 64
    assert entries[1]["rows"]["classified"] == Lake(data).read("loans", feb).num_rows
    assert entries[1]["engine"] == "duckdb"


def test_indicators_json_has_every_metric(bank):
    data, (_, feb) = bank
    result = run("indicators", "--data-dir", data, "--as-of", feb, "--by", "total", "--by", "org")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["as_of"], document["ruleset"]) == (feb.isoformat(), "cn-2023")
    totals = [r for r in document["rows"] if r["group_by"] == "total"]
    assert len(totals) == 1
    assert set(totals[0]) == {"group_by", "key", "label", *(m.id for m in CATALOGUE)}
    # the ratio by hand: NPL (category 3-5) balance over the balance of loans on the books
    live = [
        r
        for r in Lake(data).read("classified", feb).to_pylist()
        if not r["written_off"] and not r["off_balance"]
    ]
    npl = sum(r["balance"] for r in live if r["final_category"] >= 3)
    assert npl > 0
    assert totals[0]["npl_ratio"] == pytest.approx(npl / sum(r["balance"] for r in live))
    assert totals[0]["loan_count"] == len(live)
    # and one org row per org of the close, the root's row holding the whole bank
    orgs = [r for r in document["rows"] if r["group_by"] == "org"]
    assert sorted(r["key"] for r in orgs) == sorted(
        r["key"] for r in Lake(data).read("metrics", feb).to_pylist() if r["group_by"] == "org"
    )


def test_indicators_xlsx_has_chinese_sheets_headers_and_percentages(bank, tmp_path):
    data, (_, feb) = bank
    out = tmp_path / "指标.xlsx"
    result = run(
        "indicators",
        "--data-dir",
        data,
        "--as-of",
        feb,
        "--by",
        "total",
        "--by",
        "org",
        "--format",
        "xlsx",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["全行汇总", "机构"]
    sheet = book["全行汇总"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["分组", "代码", "名称", "贷款笔数"]
    column = headers.index("不良贷款率") + 1
    assert sheet.cell(2, column).number_format == "0.00%"
    # the cell holds the ratio itself (a fraction shown as a percentage), the close's figure
    (total,) = [r for r in Lake(data).read("metrics", feb).to_pylist() if r["group_by"] == "total"]
    assert sheet.cell(2, column).value == pytest.approx(total["npl_ratio"])
    assert sheet.cell(2, 4).value == total["loan_count"]
    assert sheet.max_row == 2  # the one total row under its header


def test_migration_csv(bank):
    data, (_, feb) = bank
    result = run("migration", "--data-dir", data, "--as-of", feb, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("\ufeff")  # so Excel reads the UTF-8
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    # every cell of the bank's total matrix, as the close wrote it, in the same order
    expected = [
        r for r in Lake(data).read("migration", feb).to_pylist() if r["group_by"] == "total"
    ]
    assert list(rows[0]) == list(expected[0])

    def typed(row):
        return {
            k: v if k in ("group_by", "key", "label", "to_state") else float(v)
            for k, v in row.items()
        }

    assert [typed(r) for r in rows] == expected


def test_close_without_an_import_exits_2_and_writes_nothing(bank):
    data, _ = bank
    before = snapshot(data)
    result = run("close", "--data-dir", data, "--as-of", "2030-01-31")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "close value '2030-01-31': no ledger imported for this date: import it first",
        "    close 值'2030-01-31'：该报告日尚未导入借据台账，请先导入",
        "1 problem(s) / 共 1 处错误",
        "Nothing was written. / 未写入任何数据。",
    ]
    assert snapshot(data) == before


def test_indicators_of_a_date_never_closed_exits_2(bank):
    data, _ = bank
    result = run("indicators", "--data-dir", data, "--as-of", "2030-01-31")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "indicators value '2030-01-31': no close for this date: run loanquality close first",
        "    indicators 值'2030-01-31'：该报告日尚未结账，请先运行月末结账",
        "1 problem(s) / 共 1 处错误",
        "Nothing was written. / 未写入任何数据。",
    ]


def test_reclosing_a_date_replaces_its_results_and_keeps_the_old_in_history(bank):
    data, (_, feb) = bank
    lake = Lake(data)
    before = lake.read("metrics", feb)
    assert run("close", "--data-dir", data, "--as-of", feb).exit_code == 0
    assert lake.read("metrics", feb).equals(before)
    assert len(list((data / "history" / "metrics" / f"as_of={feb}").iterdir())) == 1
    assert lake.has("loans", feb)  # the import itself is untouched


def test_a_second_close_of_a_date_is_refused_while_the_first_runs(bank):
    """The data directory's lock: the second close says who holds it, in both languages,
    exits 2 and writes nothing."""
    # given: a close of February holding the data directory
    data, (_, feb) = bank
    before = snapshot(data)
    with Lake(data).writing("close", feb):
        # when
        result = run("close", "--data-dir", data, "--as-of", feb)
    # then
    assert result.exit_code == 2
    english, chinese, *rest = result.output.splitlines()
    holder = rf"close {feb}, pid {os.getpid()}"  # this process holds the lock
    since = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    assert re.fullmatch(
        rf"{re.escape(str(data))}: another import or close is running on this data directory "
        rf"\({holder}, since {since}\); try again when it has finished",
        english,
    ), english
    assert re.fullmatch(
        rf"    {re.escape(str(data))}：该数据目录正在进行另一项导入或结账"
        rf"（close {feb}，进程 {os.getpid()}，开始于 {since}），请待其完成后再试",
        chinese,
    ), chinese
    assert rest == ["1 problem(s) / 共 1 处错误", "Nothing was written. / 未写入任何数据。"]
    assert snapshot(data) == before
