"""Hostile or oversized files are refused before they are read: every limit, each with a
small generated file and the limit set low through its setting."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers import LEDGER_HEADER_ZH, LEDGER_ROWS, write_ledger
from loanquality.engine.ingest import read_input
from loanquality.engine.problems import InputRejected
from loanquality.engine.reading import read_text_table

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument"'
        ' Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
        '<sheet name="借据" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet"'
        ' Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}
HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>借据号</t></is></c></row>'


def workbook(path: Path, rows: str, dimension: str | None = None) -> Path:
    """A minimal XLSX whose one sheet holds ``rows`` (sheetData XML) and declares
    ``dimension`` (none when None)."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = f'<worksheet xmlns="{MAIN}">{declared}<sheetData>{rows}</sheetData></worksheet>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def refused(path: Path) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        read_text_table(path)
    return caught.value


def read_in_a_child(path: Path) -> subprocess.CompletedProcess:
    """Read ``path`` in a child process allowed 3 GB of address space, so a reader that
    allocates for a huge grid fails there (it aborts) instead of taking the tests down."""
    code = (
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from loanquality.engine.problems import InputRejected\n"
        "from loanquality.engine.reading import read_text_table\n"
        "try:\n"
        "    read_text_table(__import__('pathlib').Path(sys.argv[1]))\n"
        "except InputRejected as e:\n"
        "    print(json.dumps([[p.english, p.chinese] for p in e.problems]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )


FARTHEST_CELL = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


@pytest.mark.parametrize(
    ("dimension", "how"),
    [
        ("A1:XFD1048576", "the sheet declares its cells to reach XFD1048576"),
        (None, "the sheet's cells reach XFD1048576"),  # nothing declared: the cells are walked
        ("A1:A2", "the sheet's cells reach XFD1048576"),  # a declared range that lies
    ],
)
def test_a_tiny_workbook_with_a_cell_at_xfd1048576_is_refused_not_allocated(
    tmp_path, dimension, how
):
    """One value at the last cell of a sheet makes calamine allocate 512 GB for the grid
    and abort. The workbook is measured first: refused with the cell named, 1,048,575
    rows below the header and 16,384 columns being over the default 500 columns and
    100,000,000 cells (the rows are within 20,000,000)."""
    # given
    path = workbook(tmp_path / "借据.xlsx", HEADER_ROW + FARTHEST_CELL, dimension)
    assert path.stat().st_size < 6_000
    # when
    child = read_in_a_child(path)
    # then
    assert child.returncode == 0, child.stderr[-2000:]
    problems = json.loads(child.stdout)
    assert [english for english, _ in problems] == [
        f"{how}: 16,384 columns; the limit is 500 columns (setting LOANQUALITY_MAX_COLUMNS)",
        f"{how}: 17,179,869,184 cells to hold;"
        " the limit is 100,000,000 cells (setting LOANQUALITY_MAX_CELLS)",
    ]
    assert (
        "达到 XFD1048576：共 16,384 列，上限为 500 列（设置项 LOANQUALITY_MAX_COLUMNS）"
        in (problems[0][1])
    )


def test_an_ordinary_workbook_reads(tmp_path):
    """A sheet that declares its range truthfully reads as before."""
    rows = HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>L1</t></is></c></row>'
    table = read_text_table(workbook(tmp_path / "l.xlsx", rows, "A1:A2"))
    assert table.to_pydict() == {"借据号": ["L1"]}


def test_workbook_rows_columns_and_cells_have_settable_limits(tmp_path, monkeypatch):
    """A header and 3 rows, 4 columns wide (A1:D4): with the limits at 2 rows, 3 columns
    and 15 cells, all three are refused together (3 rows, 4 columns, 16 cells)."""
    # given
    path = tmp_path / "l.xlsx"
    pd.DataFrame({c: ["1", "2", "3"] for c in "abcd"}).to_excel(path, index=False)
    monkeypatch.setenv("LOANQUALITY_MAX_ROWS", "2")
    monkeypatch.setenv("LOANQUALITY_MAX_COLUMNS", "3")
    monkeypatch.setenv("LOANQUALITY_MAX_CELLS", "15")
    # when
    error = refused(path)
    # then
    assert [p.english for p in error.problems] == [
        "the sheet declares its cells to reach D4: 3 rows below the header;"
        " the limit is 2 rows (setting LOANQUALITY_MAX_ROWS)",
        "the sheet declares its cells to reach D4: 4 columns;"
        " the limit is 3 columns (setting LOANQUALITY_MAX_COLUMNS)",
        "the sheet declares its cells to reach D4: 16 cells to hold;"
        " the limit is 15 cells (setting LOANQUALITY_MAX_CELLS)",
    ]


@pytest.mark.parametrize(
    ("rows", "farthest"),
    [
        # cells without a position follow the previous one: the 12th is column L
        ('<row r="1">' + "<c><v>1</v></c>" * 12 + "</row>", "L1"),
        # self-closed cells still take a column (as calamine counts them)
        ('<row r="1">' + "<c/>" * 11 + "<c><v>1</v></c></row>", "L1"),
        # rows without a number follow the previous one, self-closed ones too
        ("<row/>" * 10 + "<row><c><v>1</v></c></row>" + "<row/><row/>", "A11"),
        # a cell's own position, not its row's, places it; its first attribute is not r
        ('<row r="1"><c t="n" r="L3"><v>1</v></c></row>', "L3"),
        # a namespace prefix hides a cell from a plain search
        (f'<x:row xmlns:x="{MAIN}" r="1"><x:c r="L1"><x:v>1</x:v></x:c></x:row>', "L1"),
    ],
)
def test_cells_placed_by_counting_are_walked_to_their_true_place(
    tmp_path, monkeypatch, rows, farthest
):
    """A sheet may leave positions out (calamine then counts); declaring A1:A1 does not
    hide how far such cells reach. Limits: 10 columns, 9 rows below the header."""
    monkeypatch.setenv("LOANQUALITY_MAX_COLUMNS", "10")
    monkeypatch.setenv("LOANQUALITY_MAX_ROWS", "9")
    error = refused(workbook(tmp_path / "l.xlsx", rows, "A1:A1"))
    assert error.problems[0].english.startswith(f"the sheet's cells reach {farthest}: ")


def test_a_zip_member_that_unpacks_to_more_than_it_declares_is_refused(tmp_path):
    """The directory says the sheet unpacks to 100 bytes fewer than it does (a zip bomb
    relies on readers trusting it): refused as a damaged workbook, calamine never called."""
    # given: the sheet's declared size lowered by 100 in both its headers
    path = workbook(tmp_path / "bomb.xlsx", HEADER_ROW, "A1:A1")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    true_size = info.file_size.to_bytes(4, "little")
    lowered = (info.file_size - 100).to_bytes(4, "little")
    assert data.count(true_size) == 2
    path.write_bytes(bytes(data).replace(true_size, lowered))
    # when
    error = refused(path)
    # then
    problem = error.problems[0]
    assert problem.english == (
        "cannot be read as an Excel workbook:"
        " xl/worksheets/sheet1.xml unpacks to more than it declares"
    )
    assert problem.chinese == "无法作为 Excel 工作簿读取"


def test_what_a_workbook_unpacks_to_has_a_settable_limit(tmp_path, monkeypatch):
    """Limit 1,000 bytes; the directory's sizes add up to more: refused with that total."""
    # given
    path = workbook(tmp_path / "l.xlsx", HEADER_ROW, "A1:A1")
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    assert total > 1_000
    monkeypatch.setenv("LOANQUALITY_MAX_UNPACKED_BYTES", "1000")
    # when
    problem = refused(path).problems[0]
    # then
    assert problem.english == (
        f"unpacks to {total:,} bytes; the limit is 1,000 bytes"
        " (setting LOANQUALITY_MAX_UNPACKED_BYTES)"
    )
    assert problem.chinese == (
        f"解压后共 {total:,} 字节，上限为 1,000 字节（设置项 LOANQUALITY_MAX_UNPACKED_BYTES）"
    )


# --- CSV and Parquet ------------------------------------------------------------------


def test_a_csv_with_too_many_columns_is_refused_from_its_header_alone(tmp_path, monkeypatch):
    """Limit 5 columns, a header of 6: refused at line 1. The body is never read (its
    undecodable byte on line 3 is not reported)."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_COLUMNS", "5")
    path = tmp_path / "wide.csv"
    path.write_bytes(b"a,b,c,d,e,f\n1,2,3,4,5,6\n\xff\n")
    # when
    error = refused(path)
    # then
    problem = error.problems[0]
    assert len(error.problems) == 1
    assert (problem.line, problem.english) == (
        1,
        "has 6 columns; the limit is 5 columns (setting LOANQUALITY_MAX_COLUMNS)",
    )
    assert problem.chinese == "共 6 列，上限为 5 列（设置项 LOANQUALITY_MAX_COLUMNS）"


def test_a_csv_with_too_many_rows_is_refused(tmp_path, monkeypatch):
    """Limit 2 rows, the ledger has 3 below its header (with or without a final newline)."""
    monkeypatch.setenv("LOANQUALITY_MAX_ROWS", "2")
    path = write_ledger(tmp_path / "loans.csv")
    for data in (path.read_bytes(), path.read_bytes().rstrip(b"\r\n")):
        path.write_bytes(data)
        assert refused(path).problems[0].english == (
            "has 3 rows below the header; the limit is 2 rows (setting LOANQUALITY_MAX_ROWS)"
        )


def test_a_csv_at_the_row_limit_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANQUALITY_MAX_ROWS", "3")
    assert read_text_table(write_ledger(tmp_path / "loans.csv")).num_rows == 3


def test_parquet_rows_and_columns_are_checked_from_its_footer(tmp_path, monkeypatch):
    """Limits 2 rows and 8 columns; the ledger has 3 rows of 9 columns."""
    # given
    path = tmp_path / "loans.parquet"
    pd.DataFrame(LEDGER_ROWS, columns=LEDGER_HEADER_ZH).to_parquet(path, index=False)
    monkeypatch.setenv("LOANQUALITY_MAX_ROWS", "2")
    monkeypatch.setenv("LOANQUALITY_MAX_COLUMNS", "8")
    # when
    with pytest.raises(InputRejected) as caught:
        read_text_table(path)
    # then: both are said at once, before any of the data is read
    assert sorted(p.english.split(";")[0] for p in caught.value.problems) == [
        "has 3 rows below the header",
        "has 9 columns",
    ]


# --- field length, and the settings themselves -------------------------------------------


def test_a_field_longer_than_the_limit_is_refused_at_its_cell(tmp_path, monkeypatch):
    """Limit 5 characters: the 6-character staff id on line 3 is refused (shown whole, as
    it is short); the 5-character one on line 2 is not."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_FIELD_CHARS", "5")
    path = write_ledger(
        tmp_path / "staff.csv", [["S0001", "张三"], ["S00002", "李四"]], header=["员工号", "姓名"]
    )
    # when
    with pytest.raises(InputRejected) as caught:
        read_input(path, "staff")
    # then
    problems = [(p.line, p.column, p.value) for p in caught.value.problems]
    assert problems == [(3, "staff_id", "S00002")]
    assert caught.value.problems[0].english == (
        "is too long; the limit is 5 characters (setting LOANQUALITY_MAX_FIELD_CHARS)"
    )
    assert caught.value.problems[0].chinese == (
        "内容过长，上限为 5 个字符（设置项 LOANQUALITY_MAX_FIELD_CHARS）"
    )


def test_a_long_field_is_shown_cut_to_forty_characters(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANQUALITY_MAX_FIELD_CHARS", "50")
    header = [*LEDGER_HEADER_ZH, "客户名称"]
    path = write_ledger(tmp_path / "loans.csv", [[*LEDGER_ROWS[0], "名" * 51]], header=header)
    with pytest.raises(InputRejected) as caught:
        read_input(path, "loans")
    assert caught.value.problems[0].value == "名" * 40 + "…"


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_a_bad_limit_setting_is_refused_naming_the_setting(tmp_path, monkeypatch, value):
    monkeypatch.setenv("LOANQUALITY_MAX_ROWS", value)
    problem = refused(write_ledger(tmp_path / "loans.csv")).problems[0]
    assert (problem.file, problem.value) == ("LOANQUALITY_MAX_ROWS", value)
    assert problem.english == "must be a positive whole number"
    assert problem.chinese == "应为正整数"


def test_a_setting_may_be_written_with_underscores_or_an_exponent(tmp_path, monkeypatch):
    """20_000_000 and 2e7 are both twenty million: the three-row ledger reads."""
    for value in ("20_000_000", "2e7"):
        monkeypatch.setenv("LOANQUALITY_MAX_ROWS", value)
        assert read_text_table(write_ledger(tmp_path / "loans.csv")).num_rows == 3
