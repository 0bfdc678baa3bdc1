"""What every app's API router shares: the error message, the request date, nonblank text,
list paging, and the problem of an uploaded file.

An app's ``api.py`` imports this module, never ``loanquality.api.api`` (which imports the
apps' routers to mount them).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Query, Schema
from pydantic import BeforeValidator, Field, WithJsonSchema

from loanquality.common.dates import DAY_PATTERN, day_of
from loanquality.engine import problems

MAX_LIMIT = 1000  # rows per page of any list
MAX_OFFSET = 1_000_000_000  # beyond any table here, and within a database integer


def _day(value):
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("日期应为 YYYY-MM-DD 格式的文本")
    return day_of(value)


# a date in a query, form or body: YYYY-MM-DD within common.dates' years, refused in Chinese
Day = Annotated[
    dt.date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
# text that says something: not empty, not only blanks (a reason, a rejection's comment)
FilledText = Annotated[str, Field(min_length=1, pattern=r"\S")]
# a list's paging, in the query: ``limit: Limit = 100, offset: Offset = 0``
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


class Message(Schema):
    detail: str


class Problem(Schema):
    """One thing wrong with an uploaded file: where (the file, its line — 1 is the header —
    its column id and Chinese name, the value found) and what, in Chinese."""

    file: str
    line: int | None
    column: str | None
    label: str | None
    value: str | None
    message: str

    @staticmethod
    def of(problem: problems.Problem) -> dict:
        """The answer for one of the engine's problems (``InputRejected.problems``)."""
        return {
            "file": problem.file,
            "line": problem.line,
            "column": problem.column,
            "label": problem.column_label,
            "value": problem.value,
            "message": problem.chinese,
        }
