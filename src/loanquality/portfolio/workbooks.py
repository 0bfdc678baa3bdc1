"""Loan lists and search results as Excel workbooks with Chinese headers and names."""

from __future__ import annotations

import datetime as dt

from loanquality.common.exports import ExcelBook

# Beyond this a list is cut (Excel holds 1,048,576 rows; a larger list wants the CLI)
EXPORT_LIMIT = 200_000
# column of the loan row -> Chinese header, in the order written
LOAN_COLUMNS = {
    "loan_id": "借据号",
    "customer_id": "客户号",
    "customer_name": "客户名称",
    "customer_type_label": "客户类型",
    "org_id": "机构号",
    "org_label": "机构名称",
    "manager_label": "管户客户经理",
    "manager_b_label": "B角",
    "product": "贷款品种",
    "industry_label": "贷款投向行业",
    "guarantee_type": "担保方式",
    "balance": "贷款余额(元)",
    "maturity_date": "到期日",
    "overdue_days": "逾期天数",
    "final_category_label": "五级分类",
    "reasons_label": "分类依据",
    "bank_category_label": "行内分类",
    "deviation": "分类偏离",
    "written_off": "已核销",
}
SEARCH_COLUMNS = {**LOAN_COLUMNS, "as_of": "最后出现报告日", "settled": "状态"}


def _cell(value):
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def loan_workbook(
    rows: list[dict], title: str, total: int, columns: dict[str, str] = LOAN_COLUMNS
) -> bytes:
    """One sheet: a title line, the headers, one row per loan; a note when ``total`` loans
    matched but fewer were written."""
    note = f"{title}（共 {total} 笔" + (
        f"，仅导出前 {len(rows)} 笔，请缩小筛选范围）" if total > len(rows) else "）"
    )
    money = list(columns).index("balance")
    lines = (
        [row["balance"] or 0 if c == "balance" else _cell(row.get(c)) for c in columns]
        for row in rows
    )
    # one row in memory at a time: a list may run to EXPORT_LIMIT loans
    with ExcelBook(constant_memory=True) as excel:
        excel.write_sheet(
            "贷款清单",
            list(columns.values()),
            lines,
            title=note,
            formats={money: excel.money},
            widths={(0, 2): 16, money: 16},
        )
    return excel.data
