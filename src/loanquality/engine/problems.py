"""Validation problems, said in English and in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_LISTED = 200


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, and what is wrong in both languages."""

    file: str
    line: int | None  # 1 is the header
    column: str | None  # the canonical column id
    column_label: str | None  # its Chinese name
    value: str | None
    english: str
    chinese: str

    def english_text(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        if self.value is not None:
            where.append(f"value '{self.value}'")
        return f"{' '.join(where)}: {self.english}"

    def chinese_text(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" 第{self.line}行"
        if self.column_label or self.column:
            where += f" 列「{self.column_label or self.column}」"
        if self.value is not None:
            where += f" 值'{self.value}'"
        return f"{where}：{self.chinese}"

    def __str__(self) -> str:
        return f"{self.english_text()}\n    {self.chinese_text()}"


class InputRejected(Exception):
    """Raised when an input cannot be used; nothing has been written."""

    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = sorted(problems, key=_order)[:MAX_LISTED]
        self.total = max(total or 0, len(problems))
        super().__init__(report(self.problems, self.total))


def file_rejected(file: str, english: str, chinese: str, value: str | None = None) -> InputRejected:
    """A whole file (or setting, then with its ``value``) cannot be used: no line or
    column to point at."""
    return InputRejected([Problem(file, None, None, None, value, english, chinese)])


def raise_together(*checks: Callable[[], object]) -> None:
    """Run every check, then raise one ``InputRejected`` with the problems of all that
    failed (a user fixes a file once, not once per check)."""
    problems: list[Problem] = []
    total = 0
    for check in checks:
        try:
            check()
        except InputRejected as rejected:
            problems += rejected.problems
            total += rejected.total
    if problems:
        raise InputRejected(problems, total)


def _order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.line or 0, problem.column or "")


def report(problems: list[Problem], total: int) -> str:
    lines = [str(p) for p in problems]
    if total > len(problems):
        lines.append(
            f"... {total} problems in all, the first {len(problems)} listed"
            f" / 共 {total} 处错误，仅列出前 {len(problems)} 处"
        )
    else:
        lines.append(f"{total} problem(s) / 共 {total} 处错误")
    return "\n".join(lines)
