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


def test_org_table_with_two_roots_is_refused(tmp_path):
    """Two orgs without a parent would be two legal entities, each counted bank-wide:
    the second root is refused at its line, the first named as the one root there is."""
    path = write_ledger(
        tmp_path / "orgs.csv",
        [["HQ", "联社", ""], ["B1", "x", "HQ"], ["OTHER", "另一家银行", ""]],
        header=["机构号", "机构名称", "上级机构号"],
    )
    ledger = write_ledger(tmp_path / "loans.csv", [replace(GOOD, "机构号", "B1")])
    with pytest.raises(InputRejected) as caught:
        import_as_of(tmp_path / "data", dt.date(2024, 1, 31), {"loans": ledger, "orgs": path})
    problem = only_problem(caught.value)
    assert (problem.line, problem.column) == (4, "parent_id")
    assert "only HQ (line 2)" in problem.english
    assert "一个数据目录只对应一个法人机构" in problem.chinese
    assert not (tmp_path / "data").exists()


def test_org_table_with_another_root_than_the_data_dirs_is_refused(tmp_path):
    data, as_of = tmp_path / "data", dt.date(2024, 1, 31)
    ledger = write_ledger(tmp_path / "loans.csv", [replace(GOOD, "机构号", "B1")])
    first = write_ledger(
        tmp_path / "orgs.csv",
        [["HQ", "联社", ""], ["B1", "x", "HQ"]],
        ["机构号", "机构名称", "上级机构号"],
    )
    import_as_of(data, as_of, {"loans": ledger, "orgs": first})
    other = write_ledger(
        tmp_path / "orgs2.csv",
        [["NEW", "新", ""], ["B1", "x", "NEW"]],
        ["机构号", "机构名称", "上级机构号"],
    )
    with pytest.raises(InputRejected) as caught:
        import_as_of(data, dt.date(2024, 2, 29), {"loans": ledger, "orgs": other})
    problem = only_problem(caught.value)
    assert (problem.line, problem.column, problem.value) == (2, "org_id", "NEW")
    assert "法人机构 HQ" in problem.chinese


# --- numbers: only what a person means by one, and within bounds ------------------------


@pytest.mark.parametrize(
    ("value", "english", "chinese"),
    [
        ("NaN", "is not a number", "不是有效数字"),
        ("inf", "is not a number", "不是有效数字"),
        ("-Infinity", "is not a number", "不是有效数字"),
        ("1.234,56", "thousands grouped by three", "千分位每三位一组"),  # European decimals
        ("1,2,3,4.5", "thousands grouped by three", "千分位每三位一组"),
        ("12,34", "thousands grouped by three", "千分位每三位一组"),
        ("1_000", "is not a number", "不是有效数字"),
        ("1e30", "is larger than any amount accepted", "金额超过允许的最大值"),
        ("1e400", "is larger than any amount accepted", "金额超过允许的最大值"),  # inf in a double
        ("1000000000000001", "LOANQUALITY_MAX_AMOUNT", "LOANQUALITY_MAX_AMOUNT"),
    ],
)
def test_a_number_that_is_not_what_a_person_means_is_refused(tmp_path, value, english, chinese):
    """NaN, infinities, separators not in groups of three, underscores and amounts above
    1e15 yuan are refused at their line, column and value (DuckDB's own cast takes them)."""
    # given: the bad balance on the second data row, line 3
    rows = [GOOD, replace(replace(GOOD, "借据号", "L2"), "贷款余额", value)]
    # when
    problem = only_problem(rejected(tmp_path, rows))
    # then
    assert (problem.line, problem.column, problem.value) == (3, "balance", value)
    assert english in problem.english
    assert chinese in problem.chinese


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,234,567.89", 1_234_567.89),
        ("1，234，567.89", 1_234_567.89),  # full-width commas
        ("1234567.89", 1_234_567.89),
        (".5", 0.5),  # as Oracle's TO_CHAR writes a fraction
        ("1.5E+07", 15_000_000.0),
        ("1000000000000000", 1e15),  # the largest amount accepted, exactly
    ],
)
def test_numbers_written_as_people_write_them_are_read(tmp_path, value, expected):
    """Thousands separators in groups of three, a leading point and an exponent read as
    the number they say."""
    path = write_ledger(tmp_path / "loans.csv", [replace(GOOD, "贷款余额", value)])
    assert read_input(path, "loans").data.column("balance").to_pylist() == [expected]


def test_the_amount_limit_is_a_setting(tmp_path, monkeypatch):
    """LOANQUALITY_MAX_AMOUNT = 100: 100 yuan passes, 100.01 is refused naming the limit."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_AMOUNT", "100")
    rows = [
        replace(GOOD, "贷款余额", "100"),
        replace(replace(GOOD, "借据号", "L2"), "贷款余额", "100.01"),
    ]
    # when
    problem = only_problem(rejected(tmp_path, rows))
    # then
    assert (problem.line, problem.value) == (3, "100.01")
    assert "the limit is 100 yuan (setting LOANQUALITY_MAX_AMOUNT)" in problem.english
    assert "上限为 100 元（设置项 LOANQUALITY_MAX_AMOUNT）" in problem.chinese


OVERDUE_HEADER = [*LEDGER_HEADER_ZH, "本金逾期天数"]


@pytest.mark.parametrize(
    ("days", "english", "chinese"),
    [
        ("-5", "must not be negative", "不能为负数"),
        ("1000001", "is larger than 1,000,000", "超过 1,000,000"),
        ("1e30", "is larger than 1,000,000", "超过 1,000,000"),  # crashed the import's cast
        ("3000000000", "is larger than 1,000,000", "超过 1,000,000"),  # beyond the close's int32
        ("2.5", "is not a whole number", "不是整数"),
        ("nan", "is not a whole number", "不是整数"),
    ],
)
def test_overdue_days_must_be_a_whole_number_from_0_to_a_million(tmp_path, days, english, chinese):
    """Overdue days the close could not hold (it casts them to 32-bit integers) or that
    mean nothing (negative) are refused at the import, each with one message."""
    # given
    rows = [[*GOOD, "0"], [*replace(GOOD, "借据号", "L2"), days]]
    # when
    problem = only_problem(rejected(tmp_path, rows, header=OVERDUE_HEADER))
    # then
    assert (problem.line, problem.column, problem.value) == (3, "principal_overdue_days", days)
    assert english in problem.english
    assert chinese in problem.chinese


def test_every_bad_number_of_a_file_is_listed_together(tmp_path):
    """Three kinds of bad number on three lines: three problems, in line order."""
    rows = [
        [*replace(GOOD, "贷款余额", "NaN"), "0"],
        [*replace(GOOD, "借据号", "L2"), "-1"],
        [*replace(replace(GOOD, "借据号", "L3"), "贷款余额", "1.234,56"), "0"],
    ]
    error = rejected(tmp_path, rows, header=OVERDUE_HEADER)
    assert [(p.line, p.column) for p in error.problems] == [
        (2, "balance"),
        (3, "principal_overdue_days"),
        (4, "balance"),
    ]


def test_a_share_must_be_a_plain_number_or_percentage(tmp_path):
    """'nan%' and '1_0%' are refused; 25% and 0.3 still read (see test_reading)."""
    path = write_ledger(
        tmp_path / "b.csv",
        [["C1", "nan%"], ["C2", "1_0%"]],
        header=["客户号", "他行逾期90天以上占比"],
    )
    with pytest.raises(InputRejected) as caught:
        read_input(path, "bureau")
    assert [(p.line, p.value) for p in caught.value.problems] == [(2, "nan%"), (3, "1_0%")]


# --- dates and amounts that do not fit together -----------------------------------------


def test_a_loan_issued_after_the_as_of_date_is_refused(tmp_path):
    """A January ledger with a loan issued on 1 February: refused at that line, and the
    data directory gets no partition."""
    # given
    rows = [GOOD, replace(replace(GOOD, "借据号", "L2"), "发放日", "2024-02-01")]
    ledger = write_ledger(tmp_path / "loans.csv", rows)
    # when
    with pytest.raises(InputRejected) as caught:
        import_as_of(tmp_path / "data", dt.date(2024, 1, 31), {"loans": ledger})
    # then
    problem = only_problem(caught.value)
    assert (problem.file, problem.line, problem.column, problem.value) == (
        "loans.csv",
        3,
        "issue_date",
        "2024-02-01",
    )
    assert "after the as-of date 2024-01-31" in problem.english
    assert "发放日晚于报告日 2024-01-31" in problem.chinese
    assert not (tmp_path / "data" / "current").exists()


def test_a_loan_issued_on_the_as_of_date_imports(tmp_path):
    rows = [replace(GOOD, "发放日", "2024-01-31")]
    ledger = write_ledger(tmp_path / "loans.csv", rows)
    result = import_as_of(tmp_path / "data", dt.date(2024, 1, 31), {"loans": ledger})
    assert result.rows["loans"] == 1


def test_a_balance_far_above_the_amount_is_a_warning_not_a_refusal(tmp_path):
    """Balance > 1.5 × amount warns, naming how many loans and their lines; 1.5 × exactly
    does not (100 → 150 is fine, 100 → 150.01 is not)."""
    # given
    header = [*LEDGER_HEADER_ZH, "发放金额"]
    rows = [
        [*replace(GOOD, "贷款余额", "150"), "100"],
        [*replace(replace(GOOD, "借据号", "L2"), "贷款余额", "150.01"), "100"],
        [*replace(replace(GOOD, "借据号", "L3"), "贷款余额", "1"), "0"],
    ]
    path = write_ledger(tmp_path / "loans.csv", rows, header=header)
    # when
    converted = read_input(path, "loans")
    # then
    assert converted.data.num_rows == 3
    assert [w for w in converted.warnings if "1.5" in w] == [
        "loans.csv: 2 loan(s) with a balance above 1.5 × the amount issued (lines 3, 4)"
        " / 2 笔贷款余额超过发放金额的 1.5 倍（第 3, 4 行）"
    ]


# --- text: what an id and a name may hold -------------------------------------------------


@pytest.mark.parametrize(
    ("loan_id", "shown"), [("L\x002", "L␀2"), ("L\t2", "L␉2"), ("L\x1b2", "L␛2")]
)
def test_a_control_character_in_an_id_is_refused(tmp_path, loan_id, shown):
    """NUL, a tab or an escape inside a loan id: refused, the character shown as its
    picture so the message itself stays readable."""
    rows = [GOOD, replace(GOOD, "借据号", loan_id)]
    problem = only_problem(rejected(tmp_path, rows))
    assert (problem.line, problem.column, problem.value) == (3, "loan_id", shown)
    assert "control character" in problem.english
    assert "控制字符" in problem.chinese


def test_a_nul_in_a_name_is_refused_but_a_line_break_is_not(tmp_path):
    """A customer name with NUL cannot be stored by PostgreSQL; one with a line break can."""
    header = [*LEDGER_HEADER_ZH, "客户名称"]
    rows = [[*GOOD, "张\n三"], [*replace(GOOD, "借据号", "L2"), "李\x00四"]]
    problem = only_problem(rejected(tmp_path, rows, header=header))
    assert (problem.column, problem.value) == ("customer_name", "李␀四")
    assert "NUL" in problem.english


def test_an_unknown_org_and_a_late_issue_date_are_reported_together(tmp_path):
    """Checks across tables and against the as-of date run together: one import attempt
    lists both problems (line 2: org B77 unknown; line 3: issued 2024-02-01 > 2024-01-31)."""
    # given
    rows = [
        replace(GOOD, "机构号", "B77"),
        replace(replace(GOOD, "借据号", "L2"), "发放日", "2024-02-01"),
    ]
    files = {
        "loans": write_ledger(tmp_path / "loans.csv", rows),
        "orgs": write_orgs(tmp_path / "orgs.csv"),
    }
    # when
    with pytest.raises(InputRejected) as caught:
        import_as_of(tmp_path / "data", dt.date(2024, 1, 31), files)
    # then
    assert [(p.line, p.column) for p in caught.value.problems] == [
        (2, "org_id"),
        (3, "issue_date"),
    ]
