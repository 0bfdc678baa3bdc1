"""Counterparty signals (SPEC §6): GUARANTOR_BAD 保证人风险 (one row per loan), and the
customer-level BUREAU_NPL 他行不良, MULTI_LENDER 多头贷款, DEPOSIT_LOW 资金归行率低 and
CONCENTRATION 单户集中度超限.

A customer-level signal is raised for a customer with a loan on the books here (the case
goes to the org and manager of its largest one); every figure counts live loans only.
Shares are compared in whole fen: deposits of exactly 20 % of the credit line are not low,
a balance of exactly 10 % of net capital is not above the limit.
"""

from __future__ import annotations

import datetime as dt

import ibis

from loanquality.engine.classify import NPL_FLOOR
from loanquality.engine.schema import BUREAU, CUSTOMERS, GUARANTEES
from loanquality.engine.signals.base import (
    Context,
    Signal,
    category_text,
    exact,
    fen_sum,
    is_retail,
    joined,
    percent,
    percent_text,
    share_of,
    text,
    wan_of_fen,
    yuan_of_fen,
)
from loanquality.engine.tables import complete

QUARTER_ENDS = ((3, 31), (6, 30), (9, 30), (12, 31))
ROW = ("customer_id", "code", "severity", "value", "threshold", "evidence")


def is_quarter_end(day: dt.date) -> bool:
    return (day.month, day.day) in QUARTER_ENDS


def _bad_guarantors(guarantees: ibis.Table, ctx: Context) -> ibis.Table:
    """loan_id -> how many of its guarantors are in trouble here, and the worst of them: a
    customer with a live loan overdue (> 0 days) or in NPL (category >= 3)."""
    live = ctx.live
    bad = live.filter((live.overdue_days.fill_null(0) > 0) | (live.final_category >= NPL_FLOOR))
    troubled = bad.group_by(_guarantor=bad.customer_id).aggregate(
        _g_category=bad.final_category.max().cast("int64"),
        _g_overdue_days=bad.overdue_days.fill_null(0).max().cast("int64"),
    )
    g = complete(guarantees, GUARANTEES).select("loan_id", "guarantor_id").distinct()
    pairs = g.inner_join(troubled, g.guarantor_id == troubled._guarantor)
    rank = ibis.row_number().over(
        group_by=pairs.loan_id,
        order_by=[pairs._g_category.desc(), pairs._g_overdue_days.desc(), pairs.guarantor_id],
    )
    ranked = pairs.mutate(
        _rank=rank, _g_count=pairs.guarantor_id.count().over(group_by=pairs.loan_id)
    )
    return ranked.filter(ranked._rank == 0).select(
        loan_id=ranked.loan_id,
        _g_id=ranked.guarantor_id,
        _g_count=ranked._g_count.cast("int64"),
        _g_category=ranked._g_category,
        _g_overdue_days=ranked._g_overdue_days,
    )


def loans(t: ibis.Table, ctx: Context, guarantees: ibis.Table) -> ibis.Table:
    """The loans with a guarantor in trouble here, with the worst of them."""
    return joined(t, _bad_guarantors(guarantees, ctx), "loan_id")


def loan_signals(t: ibis.Table, ctx: Context) -> list[Signal]:
    count = t._g_count.fill_null(0)
    return [
        Signal(
            "GUARANTOR_BAD",
            count > 0,
            count.cast("float64"),
            0.0,
            "保证人"
            + t._g_id.fill_null("")
            + "在本行有"
            + (t._g_overdue_days.fill_null(0) > 0).ifelse(
                "逾期" + text(t._g_overdue_days.fill_null(0)) + "天的贷款", "贷款"
            )
            + "，最差分类为"
            + category_text(t._g_category)
            + (count > 1).ifelse("（共" + text(count) + "名保证人有逾期或不良）", ""),
        )
    ]


def _rows(
    t: ibis.Table,
    code: str,
    value: ibis.Value,
    threshold: float,
    evidence: ibis.Value,
) -> ibis.Table:
    return t.select(
        customer_id=t.customer_id.cast("string"),
        code=ibis.literal(code),
        severity=ibis.literal(0).cast("int8"),  # the code's default, set by compute_signals
        value=value.cast("float64"),
        threshold=exact(threshold),
        evidence=evidence.cast("string"),
    )


def customer_signals(
    ctx: Context,
    *,
    bureau: ibis.Table | None,
    customers: ibis.Table | None,
    net_capital: ibis.Table | None,
) -> list[ibis.Table]:
    """The customer-level rows: customer_id, code, severity (0: default), value, threshold,
    evidence. ``net_capital``: one row, ``_capital_fen``, the legal entity's net capital."""
    p, live = ctx.params, ctx.live
    found: list[ibis.Table] = []
    borrowers = live.select("customer_id").distinct()
    if bureau is not None:
        b = complete(bureau, BUREAU)
        b = b.semi_join(borrowers, b.customer_id == borrowers.customer_id)
        share = b.overdue90_share.cast("float64")
        npl = b.filter(share > p.bureau_overdue90_share)
        found.append(
            _rows(
                npl,
                "BUREAU_NPL",
                npl.overdue90_share,
                p.bureau_overdue90_share,
                "征信显示该客户在其他机构的债务中逾期90天以上的占"
                + percent(npl.overdue90_share.cast("float64")),
            )
        )
        many = b.filter(b.lender_count >= p.lender_count)
        found.append(
            _rows(
                many,
                "MULTI_LENDER",
                many.lender_count,
                float(p.lender_count),
                "征信显示该客户在"
                + text(many.lender_count)
                + f"家其他机构有授信（多头贷款标准{p.lender_count}家及以上）",
            )
        )
    if customers is not None and is_quarter_end(ctx.as_of):
        c = complete(customers, CUSTOMERS)
        corporate = live.filter(~is_retail(live)).select("customer_id").distinct()
        c = c.semi_join(corporate, c.customer_id == corporate.customer_id)
        line_fen, deposit_fen = c.credit_line.cast("float64"), c.deposit_balance.cast("float64")
        c = c.mutate(
            _line=(line_fen * 100).round().cast("int64"),
            _deposit=(deposit_fen * 100).round().cast("int64"),
        )
        # Deposits not given (null) are not known, not 0: no signal, as everywhere here a
        # figure that is missing raises nothing (an item without appraisal date, a bureau row
        # without lender_count); a bank that has the figure reports 0 when there is none.
        low = c.filter(
            (c._line > 0) & c._deposit.notnull() & (c._deposit < share_of(c._line, p.deposit_share))
        )
        share = low._deposit.cast("float64") / low._line.cast("float64")
        found.append(
            _rows(
                low,
                "DEPOSIT_LOW",
                share,
                p.deposit_share,
                "季末存款余额"
                + yuan_of_fen(low._deposit)
                + "，授信额度"
                + yuan_of_fen(low._line)
                + "，资金归行率"
                + percent(share)
                + f"，低于{percent_text(p.deposit_share)}",
            )
        )
    if net_capital is not None:
        balances = live.group_by("customer_id").aggregate(_fen=fen_sum(live.balance))
        joined = balances.cross_join(net_capital)
        over = joined.filter(
            (joined._capital_fen > 0)
            & (joined._fen > share_of(joined._capital_fen, p.concentration_share))
        )
        share = over._fen.cast("float64") / over._capital_fen.cast("float64")
        found.append(
            _rows(
                over,
                "CONCENTRATION",
                share,
                p.concentration_share,
                "客户在本行贷款余额"
                + wan_of_fen(over._fen)
                + "，占资本净额"
                + wan_of_fen(over._capital_fen)
                + "的"
                + percent(share)
                + f"，超过{percent_text(p.concentration_share)}",
            )
        )
    return found
