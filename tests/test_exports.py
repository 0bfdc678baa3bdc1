"""Exports open safely in Excel: a CSV text cell Excel would run as a formula starts with a
quote, numbers stay numbers, and a text cell of an XLSX file is never a formula."""

from __future__ import annotations

import csv
import io

import openpyxl
from typer.testing import CliRunner

from helpers import write_ledger
from loanquality.cli import app
from loanquality.engine.metrics import CATALOGUE, GROUPING_LABELS
from loanquality.engine.reports import render

runner = CliRunner()
# an org name for each character Excel reads as the start of a formula (OWASP CSV injection)
DANGEROUS_NAMES = ["=1+2", "+86 城关", "-B01", "@SUM(A1)", "\t东关", "\r西关"]


def _document(names: list[str], changes: list[float | None]) -> dict:
    return {
        "as_of": "2024-01-31",
        "rows": [
            {"group_by": "org", "key": f"K{i}", "label": name, "npl_balance_change": change}
            for i, (name, change) in enumerate(zip(names, changes, strict=True))
        ],
    }


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_indicators_csv_quotes_formula_text_and_keeps_negative_numbers():
    """A CSV text cell opening with = + - @ tab or CR gets a leading quote; numbers do not."""
    # given org names that start with each formula character, one plain name with a dash
    # inside, and a negative, a positive, a zero and a missing NPL change
    names = [*DANGEROUS_NAMES, "城关-东关"]
    changes = [-12.5, 3.0, 0.0, None, -1.0, 2.0, -0.25]
    # when the indicators are written as CSV
    rows = _csv_rows(render(_document(names, changes), "csv", "indicators"))
    # then each dangerous name gains one leading quote and the plain name is untouched
    assert [r["label"] for r in rows] == [
        "'=1+2",
        "'+86 城关",
        "'-B01",
        "'@SUM(A1)",
        "'\t东关",
        "'\r西关",
        "城关-东关",
    ]
    # and the numbers, negative ones too, are written as numbers
    assert [r["npl_balance_change"] for r in rows] == [
        "-12.5",
        "3.0",
        "0.0",
        "",
        "-1.0",
        "2.0",
        "-0.25",
    ]


def test_indicators_xlsx_keeps_formula_text_as_text_and_numbers_as_numbers():
    """The Excel indicators (CLI and web export alike) type a formula-like name as text."""
    # given an org named like a formula, with a negative NPL change
    document = _document(['=HYPERLINK("http://x","点我")'], [-12.5])
    # when the indicators are written as Excel
    book = openpyxl.load_workbook(io.BytesIO(render(document, "xlsx", "indicators")))
    sheet = book[GROUPING_LABELS["org"]]
    header = [c.value for c in sheet[1]]
    name = sheet.cell(2, header.index("名称") + 1)
    label = next(m.label for m in CATALOGUE if m.id == "npl_balance_change")
    change = sheet.cell(2, header.index(label) + 1)
    # then the name is a text cell holding the text, and the change a number
    assert (name.data_type, name.value) == ("s", '=HYPERLINK("http://x","点我")')
    assert (change.data_type, change.value) == ("n", -12.5)


def test_classify_outputs_keep_formula_text_inert(tmp_path):
    """``loanquality classify`` writes the same safe CSV and typed Excel as the reports."""
    # given a ledger whose customer id and org id Excel would read as formulas
    ledger = write_ledger(
        tmp_path / "loans.csv",
        [["L1", "=1+2", "农户", "@B01", "1000", "2023-01-01", "2025-01-01", "正常", "否"]],
    )
    # when it is classified to CSV and to Excel
    for out in (tmp_path / "out.csv", tmp_path / "out.xlsx"):
        result = runner.invoke(
            app, ["classify", str(ledger), "--as-of", "2024-01-31", "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
    # then the CSV cells start with a quote and the balance stays a number
    (row,) = _csv_rows((tmp_path / "out.csv").read_bytes())
    assert (row["customer_id"], row["org_id"], row["balance"]) == ("'=1+2", "'@B01", "1000.0")
    # and the Excel cells hold the text as text, the balance as a number
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    header = [c.value for c in sheet[1]]
    customer, balance = (sheet.cell(2, header.index(h) + 1) for h in ("客户号", "贷款余额"))
    assert (customer.data_type, customer.value) == ("s", "=1+2")
    assert (balance.data_type, balance.value) == ("n", 1000)
