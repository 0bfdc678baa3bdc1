"""Reading every input format and encoding, with Chinese or English headers and values."""

import datetime as dt

import pytest

from helpers import LEDGER_HEADER_EN, LEDGER_HEADER_ZH, LEDGER_ROWS, write_frame, write_ledger
from loanquality.engine.convert import MappingProfile
from loanquality.engine.ingest import read_input
from loanquality.engine.problems import InputRejected
from loanquality.engine.reading import detect_encoding, read_text_table

EXPECTED = {
    "loan_id": ["L001", "L002", "L003"],
    "customer_type": ["farmer", "corporate", "sole_proprietor"],
    "balance": [50_000.0, 1_200_000.0, 0.0],
    "issue_date": [dt.date(2024, 1, 5), dt.date(2023, 6, 10), dt.date(2023, 3, 1)],
    "maturity_date": [dt.date(2025, 1, 5), dt.date(2024, 6, 10), dt.date(2026, 3, 1)],
    "bank_category": [1, 3, 2],
    "written_off": [False, False, True],
    # retail defaults from the customer type: farmer and sole proprietor yes, corporate no
    "retail": [True, False, True],
}


def assert_ledger_read(data):
    for column, values in EXPECTED.items():
        assert data.column(column).to_pylist() == values, column


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_reads_the_same(tmp_path, encoding):
    """UTF-8 with or without BOM and GBK/GB18030 are detected without being told."""
    # given
    path = write_ledger(tmp_path / "loans.csv", encoding=encoding)
    # when
    converted = read_input(path, "loans")
    # then
    assert_ledger_read(converted.data)


def test_gbk_bytes_are_detected_as_gb18030():
    assert detect_encoding("借据号".encode("gbk")) == "gb18030"
    assert detect_encoding("借据号".encode()) == "utf-8"


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_xlsx_and_parquet_read_the_same_as_csv(tmp_path, suffix):
    path = write_frame(tmp_path / f"loans{suffix}", [LEDGER_HEADER_ZH, *LEDGER_ROWS])
    assert_ledger_read(read_input(path, "loans").data)


def test_typed_parquet_columns_are_understood(tmp_path):
    """A Parquet export with real dates and numbers (not text) reads the same."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "loan_id": ["L001"],
            "customer_id": ["C001"],
            "org_id": ["B01"],
            "balance": [1234.5],
            "issue_date": [pd.Timestamp("2024-01-05")],
            "maturity_date": [dt.date(2025, 1, 5)],
            "principal_overdue_days": [12],
        }
    )
    path = tmp_path / "loans.parquet"
    frame.to_parquet(path)
    data = read_input(path, "loans").data
    assert data.column("balance").to_pylist() == [1234.5]
    assert data.column("issue_date").to_pylist() == [dt.date(2024, 1, 5)]
    assert data.column("maturity_date").to_pylist() == [dt.date(2025, 1, 5)]
    assert data.column("principal_overdue_days").to_pylist() == [12]


def test_english_headers_and_values(tmp_path):
    rows = [
        ["L001", "C001", "farmer", "B01", "50000", "2024-01-05", "2025-01-05", "1", "false"],
        ["L002", "C002", "corporate", "B02", "1200000", "2023-06-10", "2024-06-10", "3", "0"],
        ["L003", "C003", "sole_proprietor", "B01", "0", "2023-03-01", "2026-03-01", "2", "TRUE"],
    ]
    path = write_ledger(tmp_path / "loans.csv", rows, header=LEDGER_HEADER_EN)
    assert_ledger_read(read_input(path, "loans").data)


def test_yes_no_words(tmp_path):
    """是/否, Y/N, true/false and 1/0 all read as flags."""
    words = ["是", "否", "Y", "N", "true", "false", "1", "0"]
    rows = [
        [f"L{i}", "C1", "农户", "B01", "1", "2024-01-01", "2025-01-01", "正常", w]
        for i, w in enumerate(words)
    ]
    data = read_input(write_ledger(tmp_path / "l.csv", rows), "loans").data
    assert data.column("written_off").to_pylist() == [True, False] * 4


def test_unknown_columns_are_ignored_with_a_warning(tmp_path):
    header = [*LEDGER_HEADER_ZH, "备注"]
    rows = [[*row, "x"] for row in LEDGER_ROWS]
    converted = read_input(write_ledger(tmp_path / "l.csv", rows, header=header), "loans")
    assert "备注" not in converted.data.column_names
    assert any("备注" in w for w in converted.warnings)


def test_mapping_profile_maps_a_banks_headers_and_codes(tmp_path):
    """A bank exporting 借据编号/客户性质 with codes 01/02 maps them with a TOML profile."""
    profile = tmp_path / "bank.toml"
    profile.write_text(
        '[columns]\n"借据编号" = "loan_id"\n"客户性质" = "customer_type"\n'
        '[values.customer_type]\n"01" = "农户"\n"02" = "企业"\n',
        encoding="utf-8",
    )
    header = ["借据编号", "客户号", "客户性质", "机构号", "贷款余额", "发放日", "到期日"]
    rows = [
        ["X1", "C1", "01", "B01", "10", "2024-01-01", "2025-01-01"],
        ["X2", "C2", "02", "B01", "20", "2024-01-01", "2025-01-01"],
    ]
    path = write_ledger(tmp_path / "l.csv", rows, header=header)
    data = read_input(path, "loans", MappingProfile.load(profile)).data
    assert data.column("loan_id").to_pylist() == ["X1", "X2"]
    assert data.column("customer_type").to_pylist() == ["farmer", "corporate"]


def test_shares_accept_percent_signs(tmp_path):
    path = write_ledger(
        tmp_path / "b.csv",
        [["C1", "25%"], ["C2", "0.3"]],
        header=["客户号", "他行逾期90天以上占比"],
    )
    data = read_input(path, "bureau").data
    assert data.column("overdue90_share").to_pylist() == [0.25, 0.3]


def test_the_documented_mapping_example_works(tmp_path):
    """docs/mapping-example.toml maps the headers and codes it shows."""
    from pathlib import Path

    profile = MappingProfile.load(Path(__file__).parents[2] / "docs" / "mapping-example.toml")
    header = [
        "借据编号",
        "客户编号",
        "客户性质",
        "经办机构",
        "借据余额",
        "放款日期",
        "到期日期",
        "五级分类",
    ]
    rows = [["A1", "K1", "04", "B01", "5", "20240101", "20250101", "30"]]
    data = read_input(write_ledger(tmp_path / "x.csv", rows, header=header), "loans", profile).data
    assert data.column("customer_type").to_pylist() == ["micro"]
    assert data.column("bank_category").to_pylist() == [3]
    assert data.column("retail").to_pylist() == [False]


def test_a_damaged_workbook_is_a_clear_error_in_both_languages(tmp_path):
    damaged = tmp_path / "借据.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputRejected) as rejected:
        read_text_table(damaged)
    problem = rejected.value.problems[0]
    assert problem.file == "借据.xlsx"
    assert "cannot be read as an Excel workbook" in problem.english
    assert problem.chinese == "无法作为 Excel 工作簿读取"


# --- CSV structure errors, each at its line --------------------------------------------


def test_rows_with_too_many_or_too_few_fields_are_listed_with_their_lines(tmp_path):
    """Line 3 has one field too many, line 4 one too few, line 5 opens a quote it never
    closes: three problems, each at its line, with the line's text as the value."""
    # given
    path = tmp_path / "loans.csv"
    path.write_text(
        '借据号,客户号,机构号\nL1,C1,B01\nL2,C2,B01,x\nL3,C3\n"L4,C4,B01\nL5,C5,B01\n',
        encoding="utf-8",
    )
    # when
    with pytest.raises(InputRejected) as caught:
        read_text_table(path)
    # then
    problems = caught.value.problems
    assert [(p.line, p.value) for p in problems] == [
        (3, "L2,C2,B01,x"),
        (4, "L3,C3"),
        (5, '"L4,C4,B01\nL5,C5,B01'),
    ]
    assert problems[0].english == "has 4 fields, more than the header's 3"
    assert problems[1].chinese == "只有 2 个字段，少于表头的 3 列"
    assert problems[2].english == (
        'a quote (") is not closed: the following lines run into one field'
        " (1 fields, the header has 3)"
    )
    assert problems[2].chinese == '引号（"）未闭合，其后各行被并入同一字段（1 个字段，表头为 3 列）'


def test_bytes_in_neither_encoding_are_listed_with_their_lines(tmp_path):
    """0xFF is neither UTF-8 nor GB18030: lines 3 and 5 hold one each."""
    # given
    lines = ["借据号,客户号", "L1,C1", "L2,C\xff", "L3,C3", "L4,\xffC"]
    data = b"\n".join(
        line.encode("gbk") if "\xff" not in line else line.replace("\xff", "").encode() + b"\xff"
        for line in lines
    )
    path = tmp_path / "loans.csv"
    path.write_bytes(data)
    # when
    with pytest.raises(InputRejected) as caught:
        read_text_table(path)
    # then
    assert [(p.line, p.value) for p in caught.value.problems] == [(3, "ff"), (5, "ff")]
    assert caught.value.problems[0].chinese == "存在既非 UTF-8 也非 GBK/GB18030 编码的字节"


def test_a_carriage_return_alone_in_the_header_line_is_a_clear_problem(tmp_path):
    """Old Mac line endings (CR only) put the whole file on one line: it was a csv.Error
    traceback (a 500 from the web)."""
    # given
    path = tmp_path / "loans.csv"
    path.write_bytes("借据号,客户号\rL1,C1\n".encode())
    # when
    with pytest.raises(InputRejected) as caught:
        read_text_table(path)
    # then
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("loans.csv", 1)
    assert "单独的回车符（CR）" in problem.chinese


def test_a_quote_left_open_in_the_last_column_is_found(tmp_path):
    """No row has the wrong number of fields, yet lines 4 and 5 would vanish into the last
    field of line 3 (it was read as 2 rows)."""
    # given
    path = tmp_path / "loans.csv"
    path.write_bytes(b'a,b,c\n1,2,3\n4,5,"six\n7,8,9\n10,11,12\n')
    # when
    with pytest.raises(InputRejected) as caught:
        read_text_table(path)
    # then
    [problem] = caught.value.problems
    assert (problem.line, problem.value) == (3, '"six\n7,8,9\n10,11,12\n')
    assert '引号（"）未闭合' in problem.chinese


def test_a_quote_inside_an_unquoted_field_is_only_a_character(tmp_path):
    path = tmp_path / "loans.csv"
    path.write_bytes('a,b\n1,管径 12" 钢管\n2,x\n'.encode())
    assert read_text_table(path).column("b").to_pylist() == ['管径 12" 钢管', "x"]
