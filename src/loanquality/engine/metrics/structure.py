"""Portfolio structure: 三农, bills, credit-only and large-borrower shares."""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import Metric, Period, balance_if, ratio

METRICS = (
    Metric(
        "agri_share",
        "涉农贷款占比",
        "ratio",
        "balance to farmers or to agriculture (industry A) / balance",
    ),
    Metric(
        "bill_share",
        "票据融资占比",
        "ratio",
        "balance of 票据贴现 and other bill products / balance",
    ),
    Metric(
        "credit_only_share", "信用贷款占比", "ratio", "balance guaranteed by 信用 only / balance"
    ),
    Metric(
        "large_borrower_share",
        "大额客户贷款占比",
        "ratio",
        "balance of customers owing ≥ 1 亿 in all / balance",
    ),
)


def current_parts(t: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "part_agri_balance": balance_if(t, (t.customer_type == "farmer") | (t.industry == "A")),
        "part_bill_balance": balance_if(t, t.product.contains("票据") | t.product.contains("贴现")),
        "part_credit_only_balance": balance_if(t, t.guarantee_type == "信用"),
        "part_large_borrower_balance": balance_if(
            t, t._customer_balance >= period.large_borrower_balance
        ),
    }


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "agri_share": ratio(s.part_agri_balance, s.balance),
        "bill_share": ratio(s.part_bill_balance, s.balance),
        "credit_only_share": ratio(s.part_credit_only_balance, s.balance),
        "large_borrower_share": ratio(s.part_large_borrower_balance, s.balance),
    }
