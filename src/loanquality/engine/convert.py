"""Convert a text table to its canonical typed form and find every bad value.

The conversion is one DuckDB query over the whole file (vectorised, no
Python loop over rows), so a million-row ledger converts in seconds. Each
row keeps its file line number in ``_line`` until it is published, so every
problem found later (cross-table checks) can still say where it is.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

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
    for bank_header, column_id in mapping.columns.items():
        by_name[bank_header] = column_id
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


def _words_case(text: str, words: dict, result_type: str) -> str:
    cases = " ".join(
        f"WHEN {sql_string(str(k).lower())} THEN {sql_string(str(v))}" for k, v in words.items()
    )
    return f"CAST(CASE lower({text}) {cases} END AS {result_type})"


def _converted(column: Column, text: str) -> str:
    number = f"TRY_CAST(replace(replace({text}, ',', ''), '，', '') AS DOUBLE)"
    match column.kind:
        case Kind.TEXT:
            return text
        case Kind.MONEY:
            return number
        case Kind.INT:
            return f"CASE WHEN {number} = floor({number}) THEN CAST({number} AS BIGINT) END"
        case Kind.SHARE:
            percent = f"TRY_CAST(rtrim({text}, '%') AS DOUBLE) / 100"
            return f"CASE WHEN {text} LIKE '%\\%' ESCAPE '\\' THEN {percent} ELSE {number} END"
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
    Kind.MONEY: ("is not a number", "不是有效数字"),
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
        query = f"SELECT {LINE}, CAST({value_sql} AS VARCHAR) FROM {relation} WHERE {where}"
        count = self.con.sql(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
        if not count:
            return
        self.total += count
        rows = self.con.sql(f"{query} ORDER BY {LINE} LIMIT {MAX_LISTED}").fetchall()
        label = next((c.label for c in self.table.columns if c.id == column), column)
        for line, value in rows:
            self.problems.append(
                Problem(self.file, line, column, label, value or "", english, chinese)
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
    selects = [f"raw.{LINE}"]
    for column in present:
        cleaned = _cleaned(column, mapping)
        selects.append(f'{_converted(column, cleaned)} AS "{column.id}"')
        selects.append(f'{cleaned} AS "_raw_{column.id}"')
    con.sql(f"CREATE TEMP TABLE conv AS SELECT {', '.join(selects)} FROM raw")

    finder = ProblemFinder(con, file, table)
    for column in present:
        raw, value = f'"_raw_{column.id}"', f'"{column.id}"'
        if column.required:
            finder.check(
                "conv", f"{raw} IS NULL", column.id, "''", "required value is missing", "必填项为空"
            )
        if column.kind in _INVALID:
            english, chinese = _INVALID[column.kind]
            finder.check(
                "conv", f"{raw} IS NOT NULL AND {value} IS NULL", column.id, raw, english, chinese
            )
        if column.kind is Kind.MONEY:
            finder.check(
                "conv", f"{value} < 0", column.id, raw, "must not be negative", "金额不能为负数"
            )
        if column.kind is Kind.SHARE:
            finder.check(
                "conv",
                f"{value} < 0 OR {value} > 1",
                column.id,
                raw,
                "must be a fraction between 0 and 1",
                "应为 0 到 1 之间的比例",
            )
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

    columns = [LINE] + [f'"{c.id}"' for c in present]
    data = con.sql(f"SELECT {', '.join(columns)} FROM conv ORDER BY {LINE}").to_arrow_table()
    con.close()
    if table.id == "loans":
        data = _with_retail_default(data)
    return Converted(table, file, data, warnings)


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
