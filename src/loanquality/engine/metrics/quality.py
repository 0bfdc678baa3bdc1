"""Portfolio quality: balances by category, NPL and its ratio, overdue, hidden NPL."""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import NPL_FLOOR, Metric, Period, balance_if, live, ratio

CATEGORY_NAMES = {1: "正常", 2: "关注", 3: "次级", 4: "可疑", 5: "损失"}
METRICS = (
    Metric("loan_count", "贷款笔数", "count", "count of on-balance loans not written off"),
    Metric("balance", "贷款余额", "yuan", "Σ balance, on-balance, not written off"),
    *(
        Metric(f"balance_c{k}", f"{name}类贷款余额", "yuan", f"Σ balance of category {k}")
        for k, name in CATEGORY_NAMES.items()
    ),
    *(
        Metric(f"count_c{k}", f"{name}类贷款笔数", "count", f"count of category {k}")
        for k, name in CATEGORY_NAMES.items()
    ),
    Metric("npl_balance", "不良贷款余额", "yuan", "balance_c3 + balance_c4 + balance_c5"),
    Metric("npl_ratio", "不良贷款率", "ratio", "npl_balance / balance"),
    Metric("special_mention_ratio", "关注类贷款占比", "ratio", "balance_c2 / balance"),
    Metric("overdue_balance", "逾期贷款余额", "yuan", "Σ balance with overdue days > 0"),
    Metric("overdue_ratio", "逾期贷款率", "ratio", "overdue_balance / balance"),
    Metric("overdue90_balance", "逾期90天以上贷款余额", "yuan", "Σ balance overdue > 90 days"),
    Metric(
        "npl_deviation",
        "不良贷款偏离度",
        "ratio",
        "overdue90_balance / npl_balance (> 100 % means NPL is under-recognised)",
    ),
    Metric(
        "hidden_npl_balance",
        "分类偏离余额",
        "yuan",
        "Σ balance of loans whose own bank category is better than the final category",
    ),
)


def current_parts(t: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    """Per loan; the figures by category come from the cells in ``current_by_category``."""
    return {
        "loan_count": live(t).ifelse(1, 0),
        "balance": balance_if(t, ibis.literal(True)),
        "overdue_balance": balance_if(t, t.overdue_days > 0),
        "overdue90_balance": balance_if(t, t.overdue_days > 90),
        "hidden_npl_balance": balance_if(t, t.deviation),
    }


def current_by_category(cells: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    """From the current parts summed per (key, final_category) cell."""
    category = cells.final_category
    sums = {"npl_balance": cells.balance.sum(where=category >= NPL_FLOOR)}
    for k in CATEGORY_NAMES:
        sums[f"balance_c{k}"] = cells.balance.sum(where=category == k)
        sums[f"count_c{k}"] = cells.loan_count.sum(where=category == k)
    return sums


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "npl_ratio": ratio(s.npl_balance, s.balance),
        "special_mention_ratio": ratio(s.balance_c2, s.balance),
        "overdue_ratio": ratio(s.overdue_balance, s.balance),
        "npl_deviation": ratio(s.overdue90_balance, s.npl_balance),
    }
