"""Quality of this year's lending (新增贷款不良率)."""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import Metric, Period, balance_if, ratio

METRICS = (
    Metric(
        "new_loan_npl_ratio",
        "新增贷款不良率",
        "ratio",
        "balance of loans issued this year that are overdue > 180 days or stopped accruing "
        "interest more than 6 months ago / balance of loans issued this year (target < 5 %)",
    ),
)


def current_parts(t: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    day = ibis.date(period.as_of)
    this_year = t.issue_date >= ibis.date(period.as_of.replace(month=1, day=1))
    stopped_long = t.interest_stopped_date <= day - ibis.interval(months=6)
    bad = (t.overdue_days > 180) | stopped_long.fill_null(False)
    return {
        "part_new_balance": balance_if(t, this_year),
        "part_new_bad_balance": balance_if(t, this_year & bad),
    }


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {"new_loan_npl_ratio": ratio(s.part_new_bad_balance, s.part_new_balance)}
