"""Recovery: loans due in the period and repaid (到期收回率), and interest (应收利息收回率)."""

from __future__ import annotations

import ibis

from loanquality.engine.dpd import effective_maturity
from loanquality.engine.metrics.base import Metric, Period, live, ratio

METRICS = (
    Metric(
        "maturity_recovery_rate",
        "到期贷款收回率",
        "ratio",
        "loans whose (extended) maturity fell after the previous close and on or before this "
        "as-of: Σ (opening − closing balance) of those neither renewed, extended nor written "
        "off / Σ their opening balance (target ≥ 90 %)",
    ),
    Metric(
        "maturity_recovery_rate_ytd",
        "到期贷款收回率（年累计）",
        "ratio",
        "the same over every close since 1 January",
    ),
    Metric(
        "interest_recovery_rate",
        "应收利息收回率",
        "ratio",
        "interest received in the period / (interest received + the rise in interest "
        "arrears 欠息 since the previous close) (target ≥ 95 %)",
    ),
)
YTD_PARTS = ("part_maturity_due", "part_maturity_recovered")


def opening_parts(f: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    maturity = effective_maturity(f)
    matured = (maturity > ibis.date(period.previous_as_of)) & (maturity <= ibis.date(period.as_of))
    repaid = matured & ~f.renewed & ~f.extended_in_period & ~f.written_off_in_period
    return {
        "part_maturity_due": matured.ifelse(f.opening_balance, 0.0),
        "part_maturity_recovered": repaid.ifelse(
            ibis.greatest(f.opening_balance - f.closing_balance, 0.0), 0.0
        ),
        "part_overdue_interest_opening": f.overdue_interest.fill_null(0.0),
    }


def current_parts(t: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {"part_overdue_interest": live(t).ifelse(t.overdue_interest.fill_null(0.0), 0.0)}


def flow_parts(f: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {"part_interest_received": f.interest_paid.fill_null(0.0)}


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    arrears_rise = ibis.greatest(s.part_overdue_interest - s.part_overdue_interest_opening, 0.0)
    return {
        "maturity_recovery_rate": ratio(s.part_maturity_recovered, s.part_maturity_due),
        "maturity_recovery_rate_ytd": ratio(s.part_maturity_recovered_ytd, s.part_maturity_due_ytd),
        "interest_recovery_rate": ratio(
            s.part_interest_received, s.part_interest_received + arrears_rise
        ),
    }
