"""What every CSV and Excel file we write does so that opening it in Excel runs nothing.

Excel (and LibreOffice) read a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula, so a customer named ``=HYPERLINK(…)`` in a ledger would run
in the reader's spreadsheet (OWASP "CSV injection"). A text cell starting so is written
with a leading ``'``, which Excel shows as text; numbers are never touched, so -12.5 stays
a number. XLSX cells are typed: XlsxWriter is told to write text as text, never as a
formula or a link.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = r"^[=+\-@\t\r]"
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}

_formula_start = re.compile(FORMULA_START)


def csv_cell(value):
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
