"""How much one input file may hold, each bound set by one environment variable.

The defaults fit a bank of ten million loans; a smaller server lowers them. Every
bound is read when a file is read, so a changed setting applies to the next import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from loanquality.engine.problems import Problem, file_rejected


@dataclass(frozen=True)
class Limit:
    """One bound: its setting, its default, and what it counts in both languages."""

    setting: str
    default: int
    unit: str
    unit_chinese: str

    def value(self) -> int:
        text = os.environ.get(self.setting, "").strip()
        if not text:
            return self.default
        try:
            number = int(float(text.replace("_", "")))
        except (ValueError, OverflowError):
            number = 0
        if number <= 0:
            raise file_rejected(self.setting, "must be a positive whole number", "应为正整数", text)
        return number

    def said(self) -> tuple[str, str]:
        """The bound and the setting that raises it, in English and in Chinese."""
        bound = self.value()
        return (
            f"the limit is {bound:,} {self.unit} (setting {self.setting})",
            f"上限为 {bound:,} {self.unit_chinese}（设置项 {self.setting}）",
        )

    def problem(self, file: str, english: str, chinese: str, line: int | None = None) -> Problem:
        """``file`` goes beyond this bound (``english``/``chinese`` say how); the message
        names the bound and the setting that raises it."""
        limit_english, limit_chinese = self.said()
        return Problem(
            file,
            line,
            None,
            None,
            None,
            f"{english}; {limit_english}",
            f"{chinese}，{limit_chinese}",
        )


MAX_ROWS = Limit("LOANQUALITY_MAX_ROWS", 20_000_000, "rows", "行")
MAX_COLUMNS = Limit("LOANQUALITY_MAX_COLUMNS", 500, "columns", "列")
MAX_FIELD_CHARS = Limit("LOANQUALITY_MAX_FIELD_CHARS", 4_000, "characters", "个字符")
MAX_AMOUNT = Limit("LOANQUALITY_MAX_AMOUNT", 10**15, "yuan", "元")
MAX_UPLOAD_BYTES = Limit("LOANQUALITY_MAX_UPLOAD_BYTES", 2 * 2**30, "bytes", "字节")
# What an XLSX unpacks to, and the grid calamine allocates for a sheet: every cell of the
# rectangle up to the farthest one, filled or not, about 32 bytes each.
MAX_UNPACKED_BYTES = Limit("LOANQUALITY_MAX_UNPACKED_BYTES", 4 * 2**30, "bytes", "字节")
MAX_CELLS = Limit("LOANQUALITY_MAX_CELLS", 100_000_000, "cells", "个单元格")

ALL = (
    MAX_ROWS,
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_AMOUNT,
    MAX_UPLOAD_BYTES,
    MAX_UNPACKED_BYTES,
    MAX_CELLS,
)
