"""A close's published signals as documents: JSON, and CSV / Excel with Chinese headers
(``loanquality signals``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loanquality.common.exports import ExcelBook, csv_cell
from loanquality.engine.lake import Lake
from loanquality.engine.problems import InputRejected, Problem
from loanquality.engine.signals import SEVERITY_LABELS, SIGNALS

FORMATS = ("json", "csv", "xlsx")
# what a JSON row holds (SPEC §6 / the contract), in order
JSON_COLUMNS = (
    "code",
    "label",
    "severity",
    "loan_id",
    "customer_id",
    "org_id",
    "manager_id",
    "value",
    "threshold",
    "evidence",
)
HEADERS = {
    "code": "信号代码",
    "label": "预警信号",
    "severity": "严重程度",
    "loan_id": "借据号",
    "customer_id": "客户号",
    "customer_name": "客户名称",
    "org_id": "机构号",
    "manager_id": "客户经理",
    "value": "测量值",
    "threshold": "阈值",
    "evidence": "预警依据",
    "due_days": "处理期限（天）",
}


def _problem(what: str, value: str | None, english: str, chinese: str) -> Problem:
    return Problem("signals", None, what, None, value, english, chinese)


def check_request(
    lake: Lake,
    as_of: dt.date,
    codes: list[str],
    org: str | None,
    file_format: str,
    has_output: bool,
) -> None:
    """Every problem of a ``signals`` request at once (``InputRejected``)."""
    from loanquality.engine.close import latest_close

    problems = [
        _problem(
            "--code",
            code,
            f"unknown signal code (one of {', '.join(SIGNALS)})",
            f"未知的预警信号代码（可选：{'、'.join(SIGNALS)}）",
        )
        for code in codes
        if code not in SIGNALS
    ]
    if file_format not in FORMATS:
        problems.append(
            _problem("--format", file_format, "must be json, csv or xlsx", "应为 json、csv 或 xlsx")
        )
    elif file_format == "xlsx" and not has_output:
        problems.append(
            _problem(
                "--format", file_format, "xlsx needs -o OUT.xlsx", "Excel 格式须用 -o 指定文件"
            )
        )
    if latest_close(lake, as_of) is None:
        problems.append(
            _problem(
                "--as-of",
                as_of.isoformat(),
                "no close for this date: run loanquality close first",
                "该报告日尚未结账，请先运行月末结账",
            )
        )
    elif not lake.has("signals", as_of):
        problems.append(
            _problem(
                "--as-of",
                as_of.isoformat(),
                "this close was made before signals existed: close the date again",
                "该报告日的结账早于预警功能，请重新结账",
            )
        )
    if org is not None and lake.has("orgs", as_of):
        known = lake.read("orgs", as_of).column("org_id").to_pylist()
        if org not in known:
            problems.append(
                _problem("--org", org, "no such org on this date", "该报告日的机构表中无此机构")
            )
    if problems:
        raise InputRejected(problems)


def subtree(lake: Lake, as_of: dt.date, org: str) -> list[str]:
    """``org`` and every org below it in the org tree of ``as_of``."""
    from loanquality.engine.metrics import org_closure

    closure = org_closure(lake.read("orgs", as_of))
    below = closure.filter(pc.field("ancestor") == org)
    return [str(org_id) for org_id in below.column("org_id").to_pylist()]


def signal_rows(
    lake: Lake, as_of: dt.date, codes: list[str] | None = None, org: str | None = None
) -> pa.Table:
    """The published signals of ``as_of``, of ``codes`` (all when empty) in ``org``'s subtree."""
    table = lake.read("signals", as_of)
    if codes:
        table = table.filter(pc.is_in(table.column("code"), value_set=pa.array(codes)))
    if org is not None:
        orgs = pa.array(subtree(lake, as_of, org), pa.string())
        table = table.filter(pc.is_in(table.column("org_id"), value_set=orgs))
    return table


def signals_document(
    lake: Lake, as_of: dt.date, codes: list[str] | None = None, org: str | None = None
) -> dict[str, Any]:
    """``{"as_of", "ruleset", "rows": [...]}``, rows in the lake's order (worst first)."""
    from loanquality.engine.close import latest_close

    entry = latest_close(lake, as_of) or {}
    rows = signal_rows(lake, as_of, codes, org).to_pylist()
    return {
        "as_of": as_of.isoformat(),
        "ruleset": entry.get("ruleset"),
        "ruleset_sha256": entry.get("ruleset_sha256"),
        "rows": rows,
    }


def render(document: dict[str, Any], file_format: str) -> bytes:
    """JSON (the contract's ten columns), CSV (UTF-8 with BOM) or XLSX, both with Chinese
    headers and every column."""
    rows = document["rows"]
    if file_format == "json":
        shown = {**document, "rows": [{c: r[c] for c in JSON_COLUMNS} for r in rows]}
        return json.dumps(shown, ensure_ascii=False, indent=2).encode("utf-8")
    cells = [[_cell(c, r[c]) for c in HEADERS] for r in rows]
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(HEADERS.values())
        writer.writerows([csv_cell(v) for v in row] for row in cells)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    with ExcelBook() as excel:
        sheet = excel.write_sheet(
            f"预警信号 {document['as_of']}",
            list(HEADERS.values()),
            cells,
            header_format=excel.header,
            widths={(0, 1): 18, (3, 7): 14, 10: 60},
        )
        sheet.freeze_panes(1, 0)
    return excel.data


def _cell(column: str, value: Any) -> Any:
    if column == "severity":
        return SEVERITY_LABELS.get(value, value)
    return value
