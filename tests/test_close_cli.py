"""``loanquality close``, ``indicators`` and ``migration`` on a generated bank."""

import json

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
    assert 0 < totals[0]["npl_ratio"] < 1


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


def test_migration_csv(bank):
    data, (_, feb) = bank
    result = run("migration", "--data-dir", data, "--as-of", feb, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("group_by,key,label,from_category,to_state,loan_count")
    assert len(lines) > 5


def test_close_without_an_import_exits_2_and_writes_nothing(bank):
    data, _ = bank
    before = snapshot(data)
    result = run("close", "--data-dir", data, "--as-of", "2030-01-31")
    assert result.exit_code == 2
    assert "尚未导入借据台账" in result.output
    assert snapshot(data) == before


def test_indicators_of_a_date_never_closed_exits_2(bank):
    data, _ = bank
    result = run("indicators", "--data-dir", data, "--as-of", "2030-01-31")
    assert result.exit_code == 2
    assert "尚未结账" in result.output


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
    assert "another import or close is running on this data directory (close 2024" in result.output
    assert "该数据目录正在进行另一项导入或结账" in result.output
    assert snapshot(data) == before
