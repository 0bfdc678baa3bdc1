"""Published close results as documents: JSON, CSV and Excel with Chinese sheets and headers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

if TYPE_CHECKING:
    import pyarrow as pa

from loanquality.common.exports import ExcelBook, csv_cell
from loanquality.engine.close import latest_close
from loanquality.engine.lake import Lake
from loanquality.engine.metrics import CATALOGUE, GROUPING_LABELS
from loanquality.engine.metrics.migration import STATE_LABELS
from loanquality.engine.problems import InputRejected, Problem
from loanquality.engine.schema import CATEGORY_LABELS

FORMATS = ("json", "csv", "xlsx")
KEY_COLUMNS = {"group_by": "分组", "key": "代码", "label": "名称"}
MATRIX_COLUMNS = {
    "from_category": "期初分类",
    "to_state": "期末状态",
    "loan_count": "笔数",
    "opening_balance": "期初余额",
    "closing_balance": "期末余额",
    "renewed_count": "其中借新还旧笔数",
    "renewed_opening_balance": "其中借新还旧期初余额",
}


def _rows(lake: Lake, table: str, as_of: dt.date, groupings: list[str]) -> list[dict[str, Any]]:
    if latest_close(lake, as_of) is None:
        raise InputRejected(
            [
                Problem(
                    "indicators",
                    None,
                    None,
                    None,
                    as_of.isoformat(),
                    "no close for this date: run loanquality close first",
                    "该报告日尚未结账，请先运行月末结账",
                )
            ]
        )
    data = lake.read(table, as_of)
    data = data.filter(pc.is_in(data.column("group_by"), value_set=_array(groupings)))
    return data.to_pylist()


def _array(values: list[str]) -> pa.StringArray:
    import pyarrow as pa

    return pa.array(values, pa.string())


def _clean(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


def indicators_document(lake: Lake, as_of: dt.date, groupings: list[str]) -> dict[str, Any]:
    """``{"as_of", "previous_as_of", "ruleset", "rows": [...]}`` with rates as fractions."""
    entry = latest_close(lake, as_of) or {}
    order = {g: i for i, g in enumerate(GROUPING_LABELS)}
    rows = sorted(
        _rows(lake, "metrics", as_of, groupings), key=lambda r: (order[r["group_by"]], r["key"])
    )
    columns = [*KEY_COLUMNS, *(m.id for m in CATALOGUE)]
    return {
        "as_of": as_of.isoformat(),
        "previous_as_of": entry.get("previous_as_of"),
        "ruleset": entry.get("ruleset"),
        "ruleset_sha256": entry.get("ruleset_sha256"),
        "rows": [{c: _clean(r.get(c)) for c in columns} for r in rows],
    }


def migration_document(lake: Lake, as_of: dt.date, groupings: list[str]) -> dict[str, Any]:
    entry = latest_close(lake, as_of) or {}
    rows = _rows(lake, "migration", as_of, groupings)
    columns = [*KEY_COLUMNS, *MATRIX_COLUMNS]
    return {
        "as_of": as_of.isoformat(),
        "previous_as_of": entry.get("previous_as_of"),
        "rows": sorted(
            ({c: r.get(c) for c in columns} for r in rows),
            key=lambda r: (
                r["group_by"],
                r["key"],
                r["from_category"],
                _state_order(r["to_state"]),
            ),
        ),
    }


def _state_order(state: str) -> int:
    return list(STATE_LABELS).index(state)


def render(document: dict[str, Any], file_format: str, kind: str) -> bytes:
    """The document as JSON, CSV (ids as headers, UTF-8 with BOM) or XLSX (Chinese)."""
    if file_format == "json":
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    rows = document["rows"]
    if file_format == "csv":
        buffer = io.StringIO()
        columns = list(rows[0]) if rows else list(KEY_COLUMNS)
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return _xlsx(document, kind)


def _xlsx(document: dict[str, Any], kind: str) -> bytes:
    if kind == "indicators":
        columns = {**KEY_COLUMNS, **{m.id: m.label for m in CATALOGUE}}
        units = {m.id: m.unit for m in CATALOGUE}
    else:
        columns, units = {**KEY_COLUMNS, **MATRIX_COLUMNS}, {}
    groupings = list(dict.fromkeys(r["group_by"] for r in document["rows"])) or ["total"]
    # names from a bank's files stay text, never formulas
    with ExcelBook() as excel:
        styles = {"ratio": excel.percent, "yuan": excel.money}
        formats = {i: styles[units[c]] for i, c in enumerate(columns) if units.get(c) in styles}
        for grouping in groupings:
            rows = [r for r in document["rows"] if r["group_by"] == grouping]
            sheet = excel.write_sheet(
                GROUPING_LABELS[grouping],
                list(columns.values()),
                ([_xlsx_cell(c, row.get(c)) for c in columns] for row in rows),
                header_format=excel.header,
                formats=formats,
                widths={(0, 2): 12, (3, len(columns) - 1): 14},
            )
            sheet.freeze_panes(1, 3)
    return excel.data


def _xlsx_cell(column: str, value: Any) -> Any:
    """A cell's value in Chinese: grouping, category and state names, 是/否."""
    if column == "group_by":
        value = GROUPING_LABELS[value]
    elif column == "from_category":
        value = CATEGORY_LABELS.get(value, value)
    elif column == "to_state":
        value = STATE_LABELS.get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def write_output(data: bytes, out: Path | None) -> None:
    if out is None:
        import sys

        sys.stdout.buffer.write(data)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.part")
    temporary.write_bytes(data)
    temporary.replace(out)
