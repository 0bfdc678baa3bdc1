"""Every kind of bad input is reported with its file, line, column and value, in both languages."""

import datetime as dt

import pytest

from helpers import LEDGER_HEADER_ZH, LEDGER_ROWS, write_ledger, write_orgs
from loanquality.engine.ingest import import_as_of, read_input
from loanquality.engine.problems import MAX_LISTED, InputRejected

GOOD = LEDGER_ROWS[0]


def rejected(tmp_path, rows, header=None, table="loans"):
    path = write_ledger(tmp_path / "loans.csv", rows, header=header)
    with pytest.raises(InputRejected) as caught:
        read_input(path, table)
    return caught.value


def only_problem(error):
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


def replace(row, column_label, value):
    changed = list(row)
    changed[LEDGER_HEADER_ZH.index(column_label)] = value
    return changed


@pytest.mark.parametrize(
    ("label", "value", "column", "english", "chinese"),
    [
        ("贷款余额", "12a", "balance", "is not a number", "不是有效数字"),
        ("贷款余额", "-100", "balance", "must not be negative", "金额不能为负数"),
        ("发放日", "2024-02-30", "issue_date", "is not a date", "不是有效日期"),
        ("原五级分类", "6", "bank_category", "is not a five-category value", "五级分类"),
        ("客户类型", "公务员", "customer_type", "is not a customer type", "客户类型"),
        ("核销标志", "maybe", "written_off", "is not a yes/no value", "是/否"),
        ("客户号", "", "customer_id", "required value is missing", "必填项为空"),
    ],
)
def test_a_bad_value_is_reported_at_its_line(tmp_path, label, value, column, english, chinese):
    # given: the bad value on the third data row, which is line 4 (the header is line 1)
    rows = [
        GOOD,
        replace(GOOD, "借据号", "L2"),
        replace(replace(GOOD, "借据号", "L3"), label, value),
    ]
    # when
    problem = only_problem(rejected(tmp_path, rows))
    # then
    assert (problem.file, problem.line, problem.column) == ("loans.csv", 4, column)
    assert problem.value == value
    assert english in problem.english_text()
    assert chinese in problem.chinese_text()
    assert problem.english_text().startswith(f"loans.csv line 4 column {column} value '{value}'")
    assert problem.chinese_text().startswith(f"loans.csv 第4行 列「{label}」")


def test_missing_required_column_names_the_header(tmp_path):
    header = [h for h in LEDGER_HEADER_ZH if h != "到期日"]
    rows = [[v for h, v in zip(LEDGER_HEADER_ZH, GOOD, strict=True) if h != "到期日"]]
    problem = only_problem(rejected(tmp_path, rows, header=header))
    assert (problem.line, problem.column) == (1, "maturity_date")
    assert "required column is missing" in problem.english_text()
    assert "缺少必填列" in problem.chinese_text()


def test_duplicate_loan_id_is_reported_on_the_later_line(tmp_path):
    rows = [GOOD, replace(GOOD, "借据号", "L9"), GOOD]
    problem = only_problem(rejected(tmp_path, rows))
    assert (problem.line, problem.column, problem.value) == (4, "loan_id", "L001")
    assert "duplicate loan_id" in problem.english_text()
    assert "借据号重复" in problem.chinese_text()


def test_maturity_before_issue(tmp_path):
    rows = [replace(replace(GOOD, "发放日", "2024-06-01"), "到期日", "2024-05-31")]
    problem = only_problem(rejected(tmp_path, rows))
    assert (problem.line, problem.column, problem.value) == (2, "maturity_date", "2024-05-31")
    assert "到期日早于发放日" in problem.chinese_text()


def test_every_error_is_listed_not_only_the_first(tmp_path):
    rows = [replace(GOOD, "贷款余额", "x"), replace(replace(GOOD, "借据号", "L2"), "发放日", "y")]
    error = rejected(tmp_path, rows)
    assert [(p.line, p.column) for p in error.problems] == [(2, "balance"), (3, "issue_date")]


def test_a_long_list_stops_at_200_and_gives_the_total(tmp_path):
    rows = [replace(replace(GOOD, "借据号", f"L{i}"), "贷款余额", "bad") for i in range(250)]
    error = rejected(tmp_path, rows)
    assert len(error.problems) == MAX_LISTED
    assert error.total == 250
    assert "250 problems in all" in str(error)
    assert "共 250 处错误" in str(error)


def test_unknown_org_is_an_error_when_an_org_table_is_given(tmp_path):
    # given: an org tree with B01 and B02, and a ledger whose second row names B77
    ledger = write_ledger(
        tmp_path / "loans.csv", [GOOD, replace(replace(GOOD, "借据号", "L2"), "机构号", "B77")]
    )
    orgs = write_orgs(tmp_path / "orgs.csv")
    # when
    with pytest.raises(InputRejected) as caught:
        import_as_of(tmp_path / "data", dt.date(2024, 1, 31), {"loans": ledger, "orgs": orgs})
    # then
    problem = only_problem(caught.value)
    assert (problem.file, problem.line, problem.column, problem.value) == (
        "loans.csv",
        3,
        "org_id",
        "B77",
    )
    assert "机构号不在机构表中" in problem.chinese_text()
    assert not (tmp_path / "data").exists()


def test_side_table_rows_must_name_a_loan_of_the_ledger(tmp_path):
    ledger = write_ledger(tmp_path / "loans.csv", [GOOD])
    repayments = write_ledger(
        tmp_path / "repayments.csv",
        [["L001", "2024-01-21", "100"], ["L404", "2024-01-21", "5"]],
        header=["借据号", "还款日期", "实还本金"],
    )
    with pytest.raises(InputRejected) as caught:
        import_as_of(
            tmp_path / "data", dt.date(2024, 1, 31), {"loans": ledger, "repayments": repayments}
        )
    problem = only_problem(caught.value)
    assert (problem.file, problem.line, problem.value) == ("repayments.csv", 3, "L404")
    assert "既不在本期也不在上期借据台账中" in problem.chinese_text()


def test_a_repayment_may_name_a_loan_paid_off_since_the_previous_ledger(tmp_path):
    """L002 was on January's ledger and was paid off in February: its repayment imports."""
    data = tmp_path / "data"
    import_as_of(data, dt.date(2024, 1, 31), {"loans": write_ledger(tmp_path / "jan.csv")})
    repayments = write_ledger(
        tmp_path / "repayments.csv",
        [["L002", "2024-02-10", "1200000"]],
        header=["借据号", "还款日期", "实还本金"],
    )
    february = write_ledger(tmp_path / "feb.csv", [GOOD])
    result = import_as_of(data, dt.date(2024, 2, 29), {"loans": february, "repayments": repayments})
    assert result.rows["repayments"] == 1


def test_org_table_with_an_unknown_parent(tmp_path):
    path = write_ledger(
        tmp_path / "orgs.csv",
        [["HQ", "联社", ""], ["B1", "x", "NOPE"]],
        header=["机构号", "机构名称", "上级机构号"],
    )
    ledger = write_ledger(tmp_path / "loans.csv", [replace(GOOD, "机构号", "B1")])
    with pytest.raises(InputRejected) as caught:
        import_as_of(tmp_path / "data", dt.date(2024, 1, 31), {"loans": ledger, "orgs": path})
    problem = only_problem(caught.value)
    assert (problem.line, problem.column, problem.value) == (3, "parent_id", "NOPE")
