"""Convert a text table to its canonical typed form and find every bad value.

The conversion is one DuckDB query over the whole file (vectorised, no
Python loop over rows), so a million-row ledger converts in seconds. Each
row keeps its file line number in ``_line`` until it is published, so every
problem found later (cross-table checks) can still say where it is.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loanquality.engine.limits import MAX_AMOUNT, MAX_FIELD_CHARS
from loanquality.engine.problems import MAX_LISTED, InputRejected, Problem, file_rejected
from loanquality.engine.schema import (
    CATEGORY_LABELS,
    CUSTOMER_TYPE_LABELS,
    DATE_FORMATS,
    FALSE_WORDS,
    RETAIL_CUSTOMER_TYPES,
    TRUE_WORDS,
    Column,
    Kind,
    Table,
)

LINE = "_line"
CATEGORY_WORDS = {
    **{label: code for code, label in CATEGORY_LABELS.items()},
    **{str(code): code for code in CATEGORY_LABELS},
    "normal": 1,
    "special_mention": 2,
    "substandard": 3,
    "doubtful": 4,
    "loss": 5,
}
CUSTOMER_TYPE_WORDS = {
    **{label: code for code, label in CUSTOMER_TYPE_LABELS.items()},
    **{code: code for code in CUSTOMER_TYPE_LABELS},
    "个体户": "sole_proprietor",
    "小微": "micro",
}


@dataclass(frozen=True)
class MappingProfile:
    """A bank's own export headers and code values, mapped to ours (a TOML file).

    ``[columns]`` maps a header to a column id; ``[values.<column id>]`` maps a
    bank's code to a value we understand, before the ordinary parsing.
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> MappingProfile:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise file_rejected(
                path.name,
                f"mapping profile cannot be read: {error}",
                f"映射配置文件无法读取：{error}",
            ) from error
        columns = {str(k): str(v) for k, v in data.get("columns", {}).items()}
        values = {
            str(col): {str(k): str(v) for k, v in mapping.items()}
            for col, mapping in data.get("values", {}).items()
        }
        return cls(columns, values)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _header_ids(header: list[str], table: Table, mapping: MappingProfile) -> dict[str, str]:
    """Map each header that names one of the table's columns to that column's id."""
    by_name: dict[str, str] = {}
    for column in table.columns:
        by_name[column.id] = column.id
        by_name[column.label] = column.id
    for bank_header, mapped_id in mapping.columns.items():
        by_name[bank_header] = mapped_id
    ids: dict[str, str] = {}
    for name in header:
        column_id = by_name.get(name.strip().lstrip("\ufeff"))
        if column_id is not None and column_id not in ids.values():
            ids[name] = column_id
    return ids


def _cleaned(column: Column, mapping: MappingProfile) -> str:
    text = f"nullif(trim(raw.\"{column.id}\"), '')"
    codes = mapping.values.get(column.id)
    if not codes:
        return text
    cases = " ".join(f"WHEN {sql_string(k)} THEN {sql_string(v)}" for k, v in codes.items())
    return f"(CASE {text} {cases} ELSE {text} END)"


def _words_case(text: str, words: Mapping[str, object], result_type: str) -> str:
    cases = " ".join(
        f"WHEN {sql_string(str(k).lower())} THEN {sql_string(str(v))}" for k, v in words.items()
    )
    return f"CAST(CASE lower({text}) {cases} END AS {result_type})"


# A number as people write it: digits, grouped in threes by commas (full-width too) or not
# at all, a decimal part, an exponent. DuckDB's own cast would also take "nan", "inf",
# "1_000" and read "1.234,56" or "1,2,3,4.5" as other numbers than meant.
NUMBER = r"[+-]?(?:(?:\d+|\d{1,3}(?:[,，]\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
# Days and installment numbers: the engine holds them as 32-bit integers; no real one
# comes near a million.
MAX_WHOLE_NUMBER = 1_000_000
# A balance this many times the amount issued is worth a second look, not a refusal
# (capitalised interest can push a balance above the amount).
BALANCE_ABOVE_AMOUNT = 1.5
CONTROL_CHARACTERS = "[\\x00-\\x1f\\x7f]"
SHOWN_CHARACTERS = 40  # of a value too long to list whole


def _number(text: str) -> str:
    # most values are bare digits: a simpler pattern, and no separators to take out first
    grouped = f"replace(replace({text}, ',', ''), '，', '')"
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9.]+') THEN TRY_CAST({text} AS DOUBLE)"
        f" WHEN regexp_full_match({text}, {sql_string(NUMBER)})"
        f" THEN TRY_CAST({grouped} AS DOUBLE) END"
    )


def _whole(number: str) -> str:
    return f"({number} = floor({number}))"


NUMERIC = (Kind.MONEY, Kind.INT, Kind.SHARE)


def _parsed(column: Column, text: str) -> str:
    """A numeric column's text as a double (NULL when it is no number), parsed once."""
    if column.kind is Kind.SHARE:
        without_sign = f"rtrim({text}, '%')"
        percent = f"{_number(without_sign)} / 100"
        return f"CASE WHEN {text} LIKE '%\\%' ESCAPE '\\' THEN {percent} ELSE {_number(text)} END"
    return _number(text)


def _converted(column: Column, text: str, number: str) -> str:
    """The column's typed value from its ``text`` (and, if numeric, its parsed ``number``)."""
    match column.kind:
        case Kind.TEXT:
            return text
        case Kind.MONEY | Kind.SHARE:
            return number
        case Kind.INT:
            in_range = f"{number} BETWEEN 0 AND {MAX_WHOLE_NUMBER}"
            return f"CASE WHEN {_whole(number)} AND {in_range} THEN CAST({number} AS BIGINT) END"
        case Kind.DATE:
            formats = ", ".join(sql_string(f) for f in (*DATE_FORMATS, "%Y-%m-%d %H:%M:%S"))
            return f"CAST(try_strptime({text}, [{formats}]) AS DATE)"
        case Kind.FLAG:
            words = dict.fromkeys(TRUE_WORDS, "true") | dict.fromkeys(FALSE_WORDS, "false")
            return _words_case(text, words, "BOOLEAN")
        case Kind.CATEGORY:
            return _words_case(text, CATEGORY_WORDS, "TINYINT")
        case Kind.CUSTOMER_TYPE:
            return _words_case(text, CUSTOMER_TYPE_WORDS, "VARCHAR")
    raise AssertionError(column.kind)


_INVALID = {
    Kind.MONEY: (
        "is not a number (write 1234.56 or 1,234.56, thousands grouped by three)",
        "不是有效数字（应写作 1234.56 或 1,234.56，千分位每三位一组）",
    ),
    Kind.INT: ("is not a whole number", "不是整数"),
    Kind.SHARE: ("is not a number", "不是有效数字"),
    Kind.DATE: (
        "is not a date (use YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)",
        "不是有效日期（应为 YYYY-MM-DD、YYYYMMDD 或 YYYY/MM/DD）",
    ),
    Kind.FLAG: (
        "is not a yes/no value (是/否, Y/N, true/false, 1/0)",
        "不是有效的是/否值（是/否、Y/N、true/false、1/0）",
    ),
    Kind.CATEGORY: (
        "is not a five-category value (正常/关注/次级/可疑/损失 or 1-5)",
        "无法识别的五级分类（应为正常/关注/次级/可疑/损失或1–5）",
    ),
    Kind.CUSTOMER_TYPE: (
        "is not a customer type (企业/小微企业/个体工商户/农户/个人)",
        "无法识别的客户类型（应为企业/小微企业/个体工商户/农户/个人）",
    ),
}


@dataclass
class Converted:
    """A table converted to canonical types, with ``_line`` still on every row."""

    table: Table
    file: str
    data: pa.Table
    warnings: list[str]


class Check(NamedTuple):
    """Rows for which ``where`` holds have a problem in ``column``, shown as ``value_sql``."""

    where: str
    column: str
    value_sql: str
    english: str
    chinese: str


class ProblemFinder:
    """Runs named checks against a DuckDB relation and keeps what they find."""

    def __init__(self, con: duckdb.DuckDBPyConnection, file: str, table: Table):
        self.con, self.file, self.table = con, file, table
        self.problems: list[Problem] = []
        self.total = 0

    def check(
        self, relation: str, where: str, column: str, value_sql: str, english: str, chinese: str
    ) -> None:
        """Record a problem on every row of ``relation`` for which ``where`` holds."""
        self.check_all(relation, [Check(where, column, value_sql, english, chinese)])

    def check_all(self, relation: str, checks: list[Check]) -> None:
        """Every check at once: one scan of ``relation`` counts them all; only a check that
        found something reads its rows."""
        if not checks:
            return
        counted = ", ".join(f"count(*) FILTER (WHERE {c.where})" for c in checks)
        # one aggregate row, always there
        counts = cast(tuple[int, ...], self.con.sql(f"SELECT {counted} FROM {relation}").fetchone())
        for check, count in zip(checks, counts, strict=True):
            if count:
                self._record(relation, check, count)

    def _record(self, relation: str, check: Check, count: int) -> None:
        self.total += count
        rows = self.con.sql(
            f"SELECT {LINE}, CAST({check.value_sql} AS VARCHAR) FROM {relation}"
            f" WHERE {check.where} ORDER BY {LINE} LIMIT {MAX_LISTED}"
        ).fetchall()
        label = next((c.label for c in self.table.columns if c.id == check.column), check.column)
        for line, value in rows:
            self.problems.append(
                Problem(
                    self.file, line, check.column, label, value or "", check.english, check.chinese
                )
            )

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputRejected(self.problems, self.total)


def convert(text: pa.Table, table: Table, file: str, mapping: MappingProfile) -> Converted:
    """Convert every column; raise ``InputRejected`` listing every bad value."""
    ids = _header_ids(text.column_names, table, mapping)
    warnings = [
        f"{file}: column '{name}' is not used / 列「{name}」未使用，已忽略"
        for name in text.column_names
        if name not in ids
    ]
    missing = [c for c in table.columns if c.required and c.id not in ids.values()]
    if missing:
        raise InputRejected(
            [
                Problem(
                    file,
                    1,
                    c.id,
                    c.label,
                    None,
                    f"required column is missing (header '{c.id}' or '{c.label}')",
                    f"缺少必填列（表头应为「{c.label}」或 {c.id}）",
                )
                for c in missing
            ]
        )
    renamed = text.select(list(ids)).rename_columns(list(ids.values()))
    renamed = renamed.append_column(LINE, pa.array(range(2, renamed.num_rows + 2), pa.int64()))

    con = duckdb.connect()
    con.register("raw", renamed)
    present = [c for c in table.columns if c.id in ids.values()]
    texts = [f"raw.{LINE}"] + [f'{_cleaned(c, mapping)} AS "_raw_{c.id}"' for c in present]
    numbers = [
        f'{_parsed(c, f"_raw_{c.id}")} AS "_num_{c.id}"' for c in present if c.kind in NUMERIC
    ]
    values = [f'{_converted(c, f"_raw_{c.id}", f"_num_{c.id}")} AS "{c.id}"' for c in present]
    con.sql(
        f"CREATE TEMP TABLE conv AS SELECT *, {', '.join(values)} FROM"
        f" (SELECT *{''.join(', ' + n for n in numbers)} FROM (SELECT {', '.join(texts)} FROM raw))"
    )

    finder = ProblemFinder(con, file, table)
    checks = [
        check
        for column in present
        for check in _column_checks(column, _Bytes.of(renamed.column(column.id), mapping, column))
    ]
    finder.check_all("conv", checks)
    if table.unique and all(c in ids.values() for c in table.unique):
        key = ", ".join(f'"{c}"' for c in table.unique)
        labels = "+".join(table.column(c).label for c in table.unique)
        con.sql(
            f"CREATE TEMP TABLE dup AS SELECT {LINE}, {key},"
            f" min({LINE}) OVER (PARTITION BY {key}) AS first_line FROM conv"
        )
        finder.check(
            "dup",
            f"{LINE} > first_line",
            table.unique[0],
            " || '/' || ".join(f'CAST("{c}" AS VARCHAR)' for c in table.unique),
            f"duplicate {'+'.join(table.unique)} (the same value is on an earlier line)",
            f"{labels}重复（前面已有相同的值）",
        )
    if table.id == "loans":
        finder.check(
            "conv",
            "maturity_date < issue_date",
            "maturity_date",
            "_raw_maturity_date",
            "maturity date is before the issue date",
            "到期日早于发放日",
        )
    finder.raise_if_any()
    if table.id == "loans" and "amount" in ids.values():
        warnings += _balances_above_amount(con, file)

    columns = [LINE] + [f'"{c.id}"' for c in present]
    data = con.sql(f"SELECT {', '.join(columns)} FROM conv ORDER BY {LINE}").to_arrow_table()
    con.close()
    if table.id == "loans":
        data = _with_retail_default(data)
    return Converted(table, file, data, warnings)


@dataclass(frozen=True)
class _Bytes:
    """What a column's text could fail, read from its Arrow buffers at once (and from the
    mapping's codes for it): its longest value, and whether any control byte or NUL is in
    it. A column that cannot fail a check is spared that check's scan of every row."""

    longest: int
    control: bool
    nul: bool

    @classmethod
    def of(cls, text: pa.ChunkedArray[Any], mapping: MappingProfile, column: Column) -> _Bytes:
        codes = [v.encode() for v in mapping.values.get(column.id, {}).values()]
        buffers = [
            cast(pa.Buffer, c.buffers()[2]) for c in text.chunks if c.buffers()[2] is not None
        ]
        # pa.Buffer has the buffer protocol (__buffer__); numpy's stub lists concrete types only
        data = [np.frombuffer(b, np.uint8) for b in buffers] + [  # type: ignore[call-overload]
            np.frombuffer(c, np.uint8) for c in codes
        ]
        lengths = pc.binary_length(text)
        longest = max([pc.max(lengths).as_py() or 0, *(len(c) for c in codes)])
        return cls(
            longest,
            any(bool(((d < 0x20) | (d == 0x7F)).any()) for d in data),
            any(bool((d == 0).any()) for d in data),
        )


def _column_checks(column: Column, text: _Bytes) -> list[Check]:
    """Every check of one column's values: present, not too long, then by its kind."""
    raw, value = f'"_raw_{column.id}"', f'"{column.id}"'
    checks = []
    if column.required:
        checks.append(
            Check(f"{raw} IS NULL", column.id, "''", "required value is missing", "必填项为空")
        )
    limit = MAX_FIELD_CHARS.value()
    english, chinese = MAX_FIELD_CHARS.said()
    shown = (
        f"CASE WHEN length({raw}) > {SHOWN_CHARACTERS}"
        f" THEN left({raw}, {SHOWN_CHARACTERS}) || '…' ELSE {raw} END"
    )
    if text.longest > limit:  # in bytes: never fewer than the characters
        checks.append(
            Check(
                f"length({raw}) > {limit}",
                column.id,
                shown,
                f"is too long; {english}",
                f"内容过长，{chinese}",
            )
        )
    if column.kind in _INVALID:
        english, chinese = _INVALID[column.kind]
        invalid = f"{value} IS NULL"
        if column.kind is Kind.INT:  # out of range is said below, not as "not a whole number"
            number = f'"_num_{column.id}"'
            invalid = f"({number} IS NULL OR NOT {_whole(number)})"
        checks.append(Check(f"{raw} IS NOT NULL AND {invalid}", column.id, raw, english, chinese))
    match column.kind:
        case Kind.TEXT:
            checks += _text_checks(column, raw, text)
        case Kind.MONEY:
            checks += _amount_checks(column, value, raw)
        case Kind.INT:
            checks += _whole_number_checks(column, f'"_num_{column.id}"', raw)
        case Kind.SHARE:
            checks.append(
                Check(
                    f"{value} < 0 OR {value} > 1",
                    column.id,
                    raw,
                    "must be a fraction between 0 and 1",
                    "应为 0 到 1 之间的比例",
                )
            )
    return checks


def _text_checks(column: Column, raw: str, text: _Bytes) -> list[Check]:
    """No NUL in any text (PostgreSQL cannot store one); no control character at all in an
    id, where a tab or a line break is never meant and hides the id from a search."""
    if column.id.endswith("_id") and text.control:
        return [
            Check(
                f"regexp_matches({raw}, '{CONTROL_CHARACTERS}')",
                column.id,
                _visible(raw),
                "contains a control character (NUL, tab, line break …), not allowed in an id",
                "编号中含有控制字符（NUL、制表符、换行等）",
            )
        ]
    if not column.id.endswith("_id") and text.nul:
        return [
            Check(
                f"strpos({raw}, chr(0)) > 0",
                column.id,
                _visible(raw),
                "contains a NUL character",
                "含有 NUL 字符",
            )
        ]
    return []


def _visible(raw: str) -> str:
    """The text with each control character shown as its Unicode picture (␀, ␉, ␊ …)."""
    codes = [*range(32), 127]
    pictures = "".join(chr(0x2400 + c) if c < 32 else "\u2421" for c in codes)
    controls = " || ".join(f"chr({c})" for c in codes)
    return f"translate({raw}, {controls}, {sql_string(pictures)})"


def _amount_checks(column: Column, value: str, raw: str) -> list[Check]:
    english, chinese = MAX_AMOUNT.said()
    return [
        Check(f"{value} < 0", column.id, raw, "must not be negative", "金额不能为负数"),
        Check(
            f"{value} > {MAX_AMOUNT.value()}",
            column.id,
            raw,
            f"is larger than any amount accepted; {english}",
            f"金额超过允许的最大值，{chinese}",
        ),
    ]


def _whole_number_checks(column: Column, number: str, raw: str) -> list[Check]:
    whole = _whole(number)
    return [
        Check(f"{whole} AND {number} < 0", column.id, raw, "must not be negative", "不能为负数"),
        Check(
            f"{whole} AND {number} > {MAX_WHOLE_NUMBER}",
            column.id,
            raw,
            f"is larger than {MAX_WHOLE_NUMBER:,}",
            f"超过 {MAX_WHOLE_NUMBER:,}",
        ),
    ]


def _balances_above_amount(con: duckdb.DuckDBPyConnection, file: str) -> list[str]:
    """One warning for every loan whose balance exceeds the amount issued by far."""
    count, lines = cast(
        tuple[int, list[int]],
        con.sql(
            f"SELECT count(*), list({LINE} ORDER BY {LINE})[1:5] FROM conv"
            f" WHERE balance > {BALANCE_ABOVE_AMOUNT} * amount"
        ).fetchone(),
    )
    if not count:
        return []
    listed = ", ".join(str(line) for line in lines) + (", …" if count > len(lines) else "")
    return [
        f"{file}: {count} loan(s) with a balance above {BALANCE_ABOVE_AMOUNT} × the amount"
        f" issued (lines {listed}) / {count} 笔贷款余额超过发放金额的 {BALANCE_ABOVE_AMOUNT} 倍"
        f"（第 {listed} 行）"
    ]


def check_issue_dates(loans: Converted, as_of: dt.date) -> None:
    """No loan of the ledger of ``as_of`` is issued after it."""
    con = duckdb.connect()
    con.register("loans", loans.data)
    finder = ProblemFinder(con, loans.file, loans.table)
    finder.check(
        "loans",
        f"issue_date > DATE '{as_of.isoformat()}'",
        "issue_date",
        "issue_date",
        f"the issue date is after the as-of date {as_of}",
        f"发放日晚于报告日 {as_of}",
    )
    con.close()
    finder.raise_if_any()


def _with_retail_default(data: pa.Table) -> pa.Table:
    """A missing retail flag follows the customer type: individual/farmer/sole proprietor."""
    con = duckdb.connect()
    con.register("loans", data)
    customer_type = "customer_type" if "customer_type" in data.column_names else "NULL"
    retail = "retail" if "retail" in data.column_names else "NULL"
    kinds = ", ".join(sql_string(k) for k in RETAIL_CUSTOMER_TYPES)
    rest = [f'"{c}"' for c in data.column_names if c != "retail"]
    result = con.sql(
        f"SELECT {', '.join(rest)}, CAST(coalesce({retail}, {customer_type} IN ({kinds}), false)"
        f" AS BOOLEAN) AS retail FROM loans"
    ).to_arrow_table()
    con.close()
    return result
