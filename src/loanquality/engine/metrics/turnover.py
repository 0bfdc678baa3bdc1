"""Loan turnover (贷款周转): principal repaid in the period against the average balance."""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import Metric, Period, ratio

DAYS_PER_YEAR = 360  # banking convention for turnover days
METRICS = (
    Metric(
        "turnover_times",
        "贷款周转次数",
        "times",
        "principal repaid in the period (write-offs excluded) / average of opening and "
        "closing balance, annualised × 360 / days in the period",
    ),
    Metric("turnover_days", "贷款周转天数", "days", "360 / turnover_times"),
)


def opening_parts(f: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {"part_balance_opening": f.opening_balance}


def flow_parts(f: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "part_principal_repaid": (f.kind.fill_null("") != "核销").ifelse(
            f.principal_paid.fill_null(0.0), 0.0
        )
    }


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    if not period.days:
        return {"turnover_times": ibis.null("float64"), "turnover_days": ibis.null("float64")}
    average = (s.part_balance_opening + s.balance) / 2
    times = ratio(s.part_principal_repaid, average) * (DAYS_PER_YEAR / period.days)
    return {"turnover_times": times, "turnover_days": ratio(ibis.literal(DAYS_PER_YEAR), times)}
