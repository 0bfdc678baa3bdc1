"""Classify a ledger export with nothing but files: ``loanquality classify``.

For someone who has only a ledger (and perhaps last month's output): no data
directory, no database. The same reading, validation and engine as a close.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import cast

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loanquality.common.exports import XLSX_OPTIONS, csv_table
from loanquality.engine.backends import connect
from loanquality.engine.classify import CLASSIFIED_COLUMNS, classify
from loanquality.engine.convert import LINE, MappingProfile
from loanquality.engine.dpd import with_overdue_days
from loanquality.engine.ingest import check_contents, read_input
from loanquality.engine.problems import InputRejected, file_rejected
from loanquality.engine.rules import RuleSet

OUTPUT_LABELS = {
    "loan_id": "借据号",
    "customer_id": "客户号",
    "org_id": "机构号",
    "balance": "贷款余额",
    "principal_overdue_days": "本金逾期天数",
    "interest_overdue_days": "欠息天数",
    "overdue_days": "逾期天数",
    "rule_category": "规则分类",
    "final_category": "最终分类",
    "final_category_label": "最终分类名称",
    "reasons": "分类依据",
    "bank_category": "原五级分类",
    "deviation": "分类偏离",
    "npl_cure_date": "不良欠款结清日",
    "override_id": "认定编号",
    "override_refused": "认定被拒",
    "upgrade_allowed": "满足上调条件",
}
OUTPUT_SUFFIXES = (".csv", ".xlsx", ".parquet")


def classify_files(
    ledger: Path,
    as_of: dt.date,
    ruleset: RuleSet,
    *,
    schedules: Path | None = None,
    repayments: Path | None = None,
    previous: Path | None = None,
    bureau: Path | None = None,
    overrides: Path | None = None,
    mapping: MappingProfile | None = None,
) -> pa.Table:
    """Read and validate the files, then classify; raise ``InputRejected`` on bad input."""
    given = {
        "loans": ledger,
        "schedules": schedules,
        "repayments": repayments,
        "previous": previous,
        "bureau": bureau,
        "overrides": overrides,
    }
    converted, problems, total = {}, [], 0
    for table_id, path in given.items():
        if path is None:
            continue
        try:
            converted[table_id] = read_input(path, table_id, mapping)
        except InputRejected as rejected:
            problems += rejected.problems
            total += rejected.total
    if problems:
        raise InputRejected(problems, total)
    earlier = converted["previous"].data.select(["loan_id"]) if "previous" in converted else None
    check_contents(converted, orgs=None, earlier_loans=earlier, as_of=as_of)

    con = connect("duckdb")
    tables = {t: ibis.memtable(c.data.drop_columns([LINE])) for t, c in converted.items()}
    loans = with_overdue_days(
        tables["loans"], as_of, tables.get("schedules"), tables.get("repayments")
    )
    result = classify(
        loans,
        as_of,
        ruleset,
        previous=tables.get("previous"),
        bureau=tables.get("bureau"),
        overrides=tables.get("overrides"),
        schedules=tables.get("schedules"),
    )
    return cast(pa.Table, con.to_pyarrow(result.select(*CLASSIFIED_COLUMNS).order_by("loan_id")))


def check_output_path(path: Path) -> None:
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise file_rejected(
            path.name,
            f"output must end in {', '.join(OUTPUT_SUFFIXES)}",
            f"输出文件应为 {'、'.join(OUTPUT_SUFFIXES)} 格式",
        )


def write_table(table: pa.Table, path: Path, labels: dict[str, str] | None = None) -> None:
    """Write CSV (UTF-8 with BOM, so Excel opens it), XLSX (Chinese headers) or Parquet,
    atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=path.suffix)
    os.close(handle)
    try:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            pq.write_table(table, temporary)
        else:
            if suffix == ".xlsx":
                frame = table.to_pandas().rename(columns=labels or {})
                options = {"options": XLSX_OPTIONS}
                with pd.ExcelWriter(temporary, engine="xlsxwriter", engine_kwargs=options) as excel:
                    frame.to_excel(excel, index=False, sheet_name="五级分类结果")
            else:
                csv_table(table).to_pandas().to_csv(temporary, index=False, encoding="utf-8-sig")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
