"""Delinquency signals: OVD_FIRST 首次逾期, INT_ARREARS 欠息, DOWNGRADE 风险分类下迁,
RENEW_STRESSED 借新还旧/展期掩盖风险 (SPEC §6).

Each reads the previous close, joined once to this close's loans: the loan's own row
(``_prev_*``) and the row of the loan it renews (``_prior_*``, by ``prior_loan_id``).
"""

from __future__ import annotations

import ibis

from loanquality.engine.classify import NPL_FLOOR
from loanquality.engine.signals.base import (
    Context,
    Signal,
    category_text,
    day_text,
    null_columns,
    text,
    yuan,
)
from loanquality.engine.tables import attach


def loans(t: ibis.Table, ctx: Context) -> ibis.Table:
    """The loans a code of the family could fire for, with the previous close joined."""
    return prepare(t.filter(candidates(t)), ctx)


def prepare(t: ibis.Table, ctx: Context) -> ibis.Table:
    """Join the previous close: this loan's category, overdue days and extended maturity
    there (``_prev_seen`` true when it was on the ledger then), and the renewed loan's."""
    if ctx.previous is None:
        return null_columns(
            t,
            _prev_seen=NULL_BOOL,
            _prev_category="int8",
            _prev_overdue_days="int64",
            _prev_extended="date",
            _prior_category="int8",
            _prior_overdue_days="int64",
        )
    prev = ctx.previous
    own = prev.select(
        loan_id=prev.loan_id,
        _prev_seen=ibis.literal(True),
        _prev_category=prev.final_category.cast("int8"),
        _prev_overdue_days=prev.overdue_days.cast("int64"),
        _prev_extended=prev.extended_maturity_date.cast("date"),
    )
    prior = prev.select(
        loan_id=prev.loan_id,
        _prior_category=prev.final_category.cast("int8"),
        _prior_overdue_days=prev.overdue_days.cast("int64"),
    )
    return attach(attach(t, own, "loan_id"), prior, "prior_loan_id", "loan_id")


NULL_BOOL = "boolean"


def candidates(t: ibis.Table) -> ibis.Value:
    """The loans any code of this family could fire for, known before the previous close
    is joined: in arrears (principal or interest), 关注 or worse now, a renewal or extended."""
    return (
        (t.overdue_days.fill_null(0) > 0)
        | (t.interest_overdue_days.fill_null(0) > 0)
        | (t.overdue_interest.fill_null(0) > 0)
        | (t.final_category.fill_null(1) >= 2)
        | t.prior_loan_id.notnull()
        | t.extended_maturity_date.notnull()
    )


def loan_signals(t: ibis.Table, ctx: Context) -> list[Signal]:
    has_previous = ctx.previous is not None
    overdue = t.overdue_days.fill_null(0)
    interest_days = t.interest_overdue_days.fill_null(0)
    interest = t.overdue_interest.fill_null(0)
    seen = t._prev_seen.fill_null(False)

    # OVD_FIRST. At the first close there is no earlier close to say whether a loan's arrears
    # are new, so the code does not fire at all then: firing it for every overdue loan of the
    # books would bury the first close's real news under old arrears.
    first = (overdue > 0) & (~seen | (t._prev_overdue_days.fill_null(0) == 0))
    ovd_first = Signal(
        "OVD_FIRST",
        ibis.literal(has_previous) & first,
        overdue.cast("float64"),
        0.0,
        "贷款本期首次逾期，逾期"
        + text(overdue)
        + "天"
        + seen.ifelse("（上期末未逾期）", "（上期结账后新发放）"),
    )
    int_arrears = Signal(
        "INT_ARREARS",
        (interest_days > 0) | (interest > 0),
        interest_days.cast("float64"),
        0.0,
        "贷款欠息" + yuan(interest) + "，欠息天数" + text(interest_days) + "天",
    )
    now, before = t.final_category.cast("int8"), t._prev_category
    downgrade = Signal(
        "DOWNGRADE",
        seen & (now > before),
        now.cast("float64"),
        before.cast("float64"),
        "风险分类由" + category_text(before) + "下迁至" + category_text(now) + "（较上期末）",
        severity=(now >= NPL_FLOOR).ifelse(3, 2),
    )

    # RENEW_STRESSED: a renewal of a loan that was overdue or in 关注 or worse at the previous
    # close, or an extension granted since the previous close while the loan was so there.
    # A renewal is an event of the close at which the renewing loan is new (not on the
    # previous close's ledger): a month later it is not raised again, though the renewed
    # loan's last row may still be in the previous close.
    prior_stressed = (t._prior_overdue_days.fill_null(0) > 0) | (
        t._prior_category.fill_null(1) >= 2
    )
    prev_stressed = (t._prev_overdue_days.fill_null(0) > 0) | (t._prev_category.fill_null(1) >= 2)
    newly_extended = t.extended_maturity_date.notnull() & (
        t._prev_extended.isnull() | (t._prev_extended != t.extended_maturity_date)
    )
    renewal = t.prior_loan_id.notnull() & ~seen & t._prior_category.notnull() & prior_stressed
    extension = seen & newly_extended & prev_stressed
    renew = Signal(
        "RENEW_STRESSED",
        renewal | extension,
        renewal.ifelse(t._prior_category, t._prev_category).cast("float64"),
        1.0,
        renewal.ifelse(
            "借新还旧：原借据"
            + t.prior_loan_id.fill_null("")
            + "上期末逾期"
            + text(t._prior_overdue_days.fill_null(0))
            + "天、分类为"
            + category_text(t._prior_category),
            "本期展期至"
            + day_text(t.extended_maturity_date)
            + "，上期末逾期"
            + text(t._prev_overdue_days.fill_null(0))
            + "天、分类为"
            + category_text(t._prev_category),
        ),
    )
    return [ovd_first, int_arrears, downgrade, renew]
