"""Maturity signals (到期监测): MAT3M 监测通知书 and MAT1M 提示函 (SPEC §6, seeds/003).

"Maturity" is the extended maturity where there is one. A loan not overdue whose maturity
falls in (as_of, as_of + 1 month] raises MAT1M; in (as_of + 1 month, as_of + 3 months]
MAT3M (calendar months, the day cut to the month's end as the backends do). ``value`` is
the days to maturity, ``threshold`` the days to the end of the window.
"""

from __future__ import annotations

import ibis

from loanquality.engine.signals.base import Context, Signal, add_months, day_text, text


def loans(t: ibis.Table, ctx: Context) -> ibis.Table:
    """The loans falling due within the notice window (a cheap first cut)."""
    maturity = t.extended_maturity_date.fill_null(t.maturity_date)
    end = add_months(ctx.as_of, ctx.params.maturity_notice_months)
    return t.filter((maturity > ibis.date(ctx.as_of)) & (maturity <= ibis.date(end)))


def loan_signals(t: ibis.Table, ctx: Context) -> list[Signal]:
    p, as_of = ctx.params, ctx.as_of
    day = ibis.date(as_of)
    reminder_end = add_months(as_of, p.maturity_reminder_months)
    notice_end = add_months(as_of, p.maturity_notice_months)
    maturity = t.extended_maturity_date.fill_null(t.maturity_date)
    performing = t.overdue_days.fill_null(0) == 0
    days = maturity.delta(day, unit="day")
    extended = t.extended_maturity_date.notnull().ifelse("（展期后）", "")

    def sentence(months: int, kind: str) -> ibis.Value:
        return (
            "贷款"
            + extended
            + "将于"
            + day_text(maturity)
            + "到期，距报告日"
            + text(days)
            + f"天（{kind}期限{months}个月）"
        )

    return [
        Signal(
            "MAT3M",
            performing & (maturity > ibis.date(reminder_end)) & (maturity <= ibis.date(notice_end)),
            days.cast("float64"),
            float((notice_end - as_of).days),
            sentence(p.maturity_notice_months, "监测"),
        ),
        Signal(
            "MAT1M",
            performing & (maturity > day) & (maturity <= ibis.date(reminder_end)),
            days.cast("float64"),
            float((reminder_end - as_of).days),
            sentence(p.maturity_reminder_months, "提示"),
        ),
    ]
