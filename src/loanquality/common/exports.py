"""What every CSV and Excel file we write does so that opening it in Excel runs nothing.

Excel (and LibreOffice) read a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula, so a customer named ``=HYPERLINK(…)`` in a ledger would run
in the reader's spreadsheet (OWASP "CSV injection"). A text cell starting so is written
with a leading ``'``, which Excel shows as text; numbers are never touched, so -12.5 stays
a number. XLSX cells are typed: XlsxWriter is told to write text as text, never as a
formula or a link.

Every workbook is opened with ``XLSX_OPTIONS``: by ``ExcelBook`` for the ones written cell by
cell (the audit log, loan lists, indicators), by pandas' ``ExcelWriter`` given them as
``engine_kwargs`` (``loanquality classify -o out.xlsx``).

>>> with ExcelBook() as excel:
...     sheet = excel.write_sheet("清单", ["借据号", "余额"], [["L1", 12.5]], widths={0: 16})
>>> excel.data[:2]
b'PK'
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

FORMULA_START = r"^[=+\-@\t\r]"
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the cell formats the exports share, made in a workbook when first used
XLSX_FORMATS: dict[str, dict[str, Any]] = {
    "bold": {"bold": True},
    "header": {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True},
    "money": {"num_format": "#,##0.00"},
    "percent": {"num_format": "0.00%"},
}

_formula_start = re.compile(FORMULA_START)


def csv_cell(value: object) -> object:
    """``value`` as a CSV cell: text that would start a formula gains a leading quote."""
    if isinstance(value, str) and _formula_start.match(value):
        return "'" + value
    return value


def csv_table(table: pa.Table) -> pa.Table:
    """``table`` with ``csv_cell`` applied to every text column, a column at a time."""
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(index)
            quoted = pc.if_else(
                pc.match_substring_regex(column, FORMULA_START),
                pc.binary_join_element_wise("'", column, ""),
                column,
            )
            table = table.set_column(index, field, quoted)
    return table


class ExcelBook:
    """An XLSX workbook written to bytes, text never a formula or a link (``XLSX_OPTIONS``).

    Use it as a context manager: leaving the block closes the workbook and sets ``data``.
    ``book`` is the XlsxWriter ``Workbook``; ``bold``, ``header``, ``money`` and
    ``percent`` are the shared formats (see ``XLSX_FORMATS``).

    ``constant_memory`` keeps one row in memory at a time, the rest in temporary files
    until the book closes (rows must then be written in order; text is written inline).
    Without it the whole workbook is built in memory, faster for the small ones.
    XlsxWriter's ``in_memory`` would switch ``constant_memory`` off, so only one is given.
    """

    def __init__(self, *, constant_memory: bool = False) -> None:
        self._out = io.BytesIO()
        memory = {"constant_memory": True} if constant_memory else {"in_memory": True}
        self.book = xlsxwriter.Workbook(self._out, {**XLSX_OPTIONS, **memory})
        self.data = b""

    def __enter__(self) -> ExcelBook:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.book.close()
            self.data = self._out.getvalue()

    @cached_property
    def bold(self) -> Any:
        return self.book.add_format(XLSX_FORMATS["bold"])

    @cached_property
    def header(self) -> Any:
        return self.book.add_format(XLSX_FORMATS["header"])

    @cached_property
    def money(self) -> Any:
        return self.book.add_format(XLSX_FORMATS["money"])

    @cached_property
    def percent(self) -> Any:
        return self.book.add_format(XLSX_FORMATS["percent"])

    def write_sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        title: str | None = None,
        header_format: Any = None,
        formats: Mapping[int, Any] | None = None,
        widths: Mapping[int | tuple[int, int], float] | None = None,
    ) -> Any:
        """Add sheet ``name``: an optional bold ``title`` line, ``headers`` (bold unless
        ``header_format`` says otherwise), then ``rows``, a ``None`` cell left empty.

        ``formats`` maps a column to the format of its cells (``money``, ``percent`` …);
        ``widths`` maps a column, or a ``(first, last)`` range of columns, to a width.
        Returns the XlsxWriter worksheet, for freezing panes and the like.
        """
        sheet = self.book.add_worksheet(name)
        top = 0
        if title is not None:
            sheet.write_string(0, 0, title, self.bold)
            top = 1
        sheet.write_row(top, 0, headers, self.bold if header_format is None else header_format)
        styles = formats or {}
        for line, row in enumerate(rows, start=top + 1):
            for col, value in enumerate(row):
                if value is not None:
                    sheet.write(line, col, value, styles.get(col))
        for columns, width in (widths or {}).items():
            first, last = columns if isinstance(columns, tuple) else (columns, columns)
            sheet.set_column(first, last, width)
        return sheet
