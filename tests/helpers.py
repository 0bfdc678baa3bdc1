"""Small hand-made input files for the tests."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd

LEDGER_HEADER_ZH = [
    "借据号",
    "客户号",
    "客户类型",
    "机构号",
    "贷款余额",
    "发放日",
    "到期日",
    "原五级分类",
    "核销标志",
]
LEDGER_HEADER_EN = [
    "loan_id",
    "customer_id",
    "customer_type",
    "org_id",
    "balance",
    "issue_date",
    "maturity_date",
    "bank_category",
    "written_off",
]
LEDGER_ROWS = [
    ["L001", "C001", "农户", "B01", "50,000.00", "2024-01-05", "2025-01-05", "正常", "否"],
    ["L002", "C002", "企业", "B02", "1200000", "20230610", "20240610", "次级", "N"],
    ["L003", "C003", "个体工商户", "B01", "0", "2023/03/01", "2026/03/01", "2", "是"],
]
ORGS_ROWS = [
    ["机构号", "机构名称", "上级机构号"],
    ["HQ", "某县联社", ""],
    ["B01", "城关信用社", "HQ"],
    ["B02", "东关信用社", "HQ"],
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as file:
        csv.writer(file).writerows(rows)
    return path


def write_ledger(path: Path, rows=None, header=None, encoding="utf-8") -> Path:
    return write_csv(path, [header or LEDGER_HEADER_ZH, *(rows or LEDGER_ROWS)], encoding)


def write_orgs(path: Path) -> Path:
    return write_csv(path, ORGS_ROWS)


def write_frame(path: Path, rows: list[list[str]]) -> Path:
    """Write ``rows`` (header first) as XLSX or Parquet, by the path's suffix."""
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its bytes, and every link with its
    target (the lock file, which says who holds the data directory, is left out)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (
            f"-> {p.readlink()}" if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
        )
        for p in sorted(folder.rglob("*"))
        if (p.is_file() or p.is_symlink()) and p.name != ".lock"
    }
