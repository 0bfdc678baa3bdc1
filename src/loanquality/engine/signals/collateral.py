"""Collateral signals: COLLATERAL_STALE 押品重估超期 and LTV_HIGH 抵质押率超限 (SPEC §6, §7).

A collateral item is due for revaluation ``revaluation_months_real_estate`` months after
its appraisal when its type is real estate (``real_estate_types``), else after
``revaluation_months_other``; it is overdue once that date is before the as-of date (an
appraisal exactly 12 months old is due today, not overdue). An item without an appraisal
date cannot be aged and raises nothing. One row per loan: the item overdue the longest (in
days past its due date, which the evidence names: every firing item is at least a day
late, while its whole months since appraisal may equal the cycle).

LTV = the loan's balance / the summed value of its collateral, for a loan whose guarantee
type is 抵押 (limit ``ltv_mortgage``) or 质押 (``ltv_pledge``) and whose collateral is worth
more than 0; compared in whole fen, so a balance of exactly 70 % of the value is not above.
The ledger's guarantee type is free text in real exports: trimmed, a type containing 抵押
("抵押担保") is a mortgage, one containing 质押 a pledge; one naming both ("抵押+质押") takes
the mortgage's limit, the stricter.
"""

from __future__ import annotations

import ibis

from loanquality.engine.schema import COLLATERAL
from loanquality.engine.signals.base import (
    Context,
    Signal,
    day_text,
    exact,
    fen_sum,
    joined,
    percent,
    share_of,
    text,
    whole_months,
    yuan,
    yuan_of_fen,
)
from loanquality.engine.tables import attach, complete, to_fen

MORTGAGE, PLEDGE = "抵押", "质押"


def per_loan(collateral: ibis.Table, ctx: Context) -> ibis.Table:
    """loan_id, the value of its collateral in fen, and its longest-overdue revaluation."""
    p = ctx.params
    c = complete(collateral, COLLATERAL)
    real_estate = c.type.isin(list(p.real_estate_types)).fill_null(False)
    limit = real_estate.ifelse(p.revaluation_months_real_estate, p.revaluation_months_other)
    due = real_estate.ifelse(
        c.appraisal_date + ibis.interval(months=p.revaluation_months_real_estate),
        c.appraisal_date + ibis.interval(months=p.revaluation_months_other),
    )
    c = c.mutate(
        _limit=limit.cast("int64"),
        _months=whole_months(c.appraisal_date, ctx.as_of),
        # DuckDB's date + months is a timestamp though Ibis types it a date (its cast to
        # date a no-op): the evidence keeps the text's first ten characters, YYYY-MM-DD
        _due=day_text(due).substr(0, 10),
        _late_days=ibis.date(ctx.as_of).delta(due, unit="day").cast("int64"),
        _stale=(due < ibis.date(ctx.as_of)).fill_null(False),
    )
    values = c.group_by(loan_id=c.loan_id).aggregate(
        _collateral_fen=fen_sum(c.value, where=c.value > 0),
        _stale_count=c._stale.cast("int64").sum(),
    )
    stale = c.filter(c._stale)
    worst = ibis.row_number().over(
        group_by=stale.loan_id,
        order_by=[stale._late_days.desc(), stale.collateral_id],
    )
    oldest = (
        stale.mutate(_rank=worst)
        .filter(ibis._._rank == 0)
        .select(
            loan_id=ibis._.loan_id,
            _stale_id=ibis._.collateral_id,
            _stale_type=ibis._.type.fill_null("未注明类型"),
            _stale_date=ibis._.appraisal_date,
            _stale_months=ibis._._months,
            _stale_limit=ibis._._limit,
            _stale_due=ibis._._due,
            _stale_days=ibis._._late_days,
        )
    )
    return attach(values, oldest, "loan_id")


def loans(t: ibis.Table, ctx: Context, collateral: ibis.Table) -> ibis.Table:
    """The loans with collateral, each with its collateral's figures."""
    return joined(t, per_loan(collateral, ctx), "loan_id")


def loan_signals(t: ibis.Table, ctx: Context) -> list[Signal]:
    p = ctx.params
    stale = Signal(
        "COLLATERAL_STALE",
        t._stale_count.fill_null(0) > 0,
        t._stale_months.cast("float64"),
        t._stale_limit.cast("float64"),
        "押品"
        + t._stale_id.fill_null("")
        + "（"
        + t._stale_type.fill_null("")
        + "）评估日期"
        + day_text(t._stale_date)
        + "，应于"
        + t._stale_due
        + "前重估，已超期"
        + text(t._stale_days)
        + "天"
        + (t._stale_count > 1).ifelse(
            "（该笔贷款共" + text(t._stale_count.fill_null(0)) + "件押品重估超期）", ""
        ),
    )
    kind = t.guarantee_type.strip()
    mortgage = kind.contains(MORTGAGE).fill_null(False)
    pledge = kind.contains(PLEDGE).fill_null(False)
    limit = mortgage.ifelse(exact(p.ltv_mortgage), exact(p.ltv_pledge))
    value_fen = t._collateral_fen.fill_null(0)
    secured = (mortgage | pledge) & (value_fen > 0)
    over = mortgage.ifelse(
        to_fen(t.balance) > share_of(value_fen, p.ltv_mortgage),
        to_fen(t.balance) > share_of(value_fen, p.ltv_pledge),
    )
    ltv = to_fen(t.balance).cast("float64") / value_fen.cast("float64")
    high = Signal(
        "LTV_HIGH",
        secured & over,
        ltv,
        limit.cast("float64"),
        "贷款余额"
        + yuan(t.balance)
        + "，押品价值"
        + yuan_of_fen(value_fen)
        + "，"
        + mortgage.ifelse(MORTGAGE, PLEDGE)
        + "率"
        + percent(ltv)
        + "，超过"
        + percent(limit)
        + "的上限",
    )
    return [stale, high]
