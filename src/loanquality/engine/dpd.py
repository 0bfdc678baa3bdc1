"""Overdue days (逾期天数) per loan, from schedules and repayments or from the ledger (SPEC §3)."""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import _

from loanquality.engine.schema import LOANS
from loanquality.engine.tables import attach, complete

# Payments and dues are in yuan with cents; below half a cent nothing is left unpaid.
UNPAID_TOLERANCE = 0.005


def effective_maturity(loans: ibis.Table) -> ibis.Value:
    """The extended maturity date when the loan was extended (展期), else the maturity date."""
    return loans.extended_maturity_date.fill_null(loans.maturity_date)


def oldest_unpaid_due(schedules: ibis.Table, repayments: ibis.Table, as_of: dt.date) -> ibis.Table:
    """Per scheduled loan, the due date of the oldest installment whose principal (or interest)
    is not fully paid by ``as_of``, and the number of installments the schedule has.

    Payments settle the oldest installments first (FIFO), so installment *k* is unpaid
    exactly when the dues of installments 1..k add up to more than everything paid.
    An installment due on the as-of date itself is not yet overdue.
    """
    day = ibis.date(as_of)
    paid = (
        repayments.filter(_.date <= day)
        .group_by("loan_id")
        .aggregate(
            principal_paid=_.principal_paid.fill_null(0).sum(),
            interest_paid=_.interest_paid.fill_null(0).sum(),
        )
    )
    running = ibis.window(group_by="loan_id", order_by=["due_date", "seq"], rows=(None, 0))
    dues = schedules.mutate(
        principal_to_date=_.principal_due.fill_null(0).sum().over(running),
        interest_to_date=_.interest_due.fill_null(0).sum().over(running),
    )
    joined = attach(dues, paid, "loan_id")
    principal_paid = joined.principal_paid.fill_null(0)
    interest_paid = joined.interest_paid.fill_null(0)
    overdue = joined.due_date < day
    principal_unpaid = overdue & (joined.principal_to_date - principal_paid > UNPAID_TOLERANCE)
    interest_unpaid = overdue & (joined.interest_to_date - interest_paid > UNPAID_TOLERANCE)
    return joined.group_by(joined.loan_id).aggregate(
        principal_unpaid_since=principal_unpaid.ifelse(joined.due_date, ibis.null("date")).min(),
        interest_unpaid_since=interest_unpaid.ifelse(joined.due_date, ibis.null("date")).min(),
        installments=joined.count(),
    )


def with_overdue_days(
    loans: ibis.Table,
    as_of: dt.date,
    schedules: ibis.Table | None = None,
    repayments: ibis.Table | None = None,
) -> ibis.Table:
    """Add ``principal_overdue_days``, ``interest_overdue_days`` and ``overdue_days``.

    Loans with a schedule take them from the schedule and the repayments (FIFO);
    the others from the ledger's own columns. Either way, a loan past its (extended)
    maturity with balance left is overdue at least since that date. The loan's
    overdue days are the larger of principal and interest.

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> loans = ibis.memtable({"loan_id": ["A"], "balance": [100.0],
    ...     "maturity_date": [dt.date(2024, 1, 1)], "extended_maturity_date": [None],
    ...     "principal_overdue_days": [0], "interest_overdue_days": [5]})
    >>> r = with_overdue_days(loans, dt.date(2024, 1, 31)).to_pyarrow().to_pylist()[0]
    >>> r["principal_overdue_days"], r["interest_overdue_days"], r["overdue_days"]
    (30, 5, 30)
    """
    day = ibis.date(as_of)
    loans = complete(loans, LOANS)
    if schedules is None:
        principal, interest = _ledger_days(loans)
        scheduled = loans.mutate(
            _principal=principal, _interest=interest, _installments=ibis.null("int64")
        )
    else:
        if repayments is None:
            repayments = schedules.select(
                loan_id=_.loan_id,
                date=ibis.null("date"),
                principal_paid=ibis.null("float64"),
                interest_paid=ibis.null("float64"),
            ).limit(0)
        unpaid = oldest_unpaid_due(schedules, repayments, as_of)
        joined = attach(loans, unpaid, "loan_id")
        has_schedule = joined.installments.notnull()
        ledger_principal, ledger_interest = _ledger_days(joined)
        scheduled = joined.mutate(
            _principal=has_schedule.ifelse(
                _days_since(joined.principal_unpaid_since, day), ledger_principal
            ),
            _interest=has_schedule.ifelse(
                _days_since(joined.interest_unpaid_since, day), ledger_interest
            ),
            _installments=joined.installments,
        ).drop("principal_unpaid_since", "interest_unpaid_since", "installments")
    maturity = effective_maturity(scheduled)
    past_maturity = ((maturity < day) & (scheduled.balance > 0)).ifelse(
        day.delta(maturity, unit="day"), 0
    )
    principal_days = ibis.greatest(scheduled._principal, past_maturity).cast("int32")
    interest_days = scheduled._interest.cast("int32")
    return scheduled.mutate(
        principal_overdue_days=principal_days,
        interest_overdue_days=interest_days,
        overdue_days=ibis.greatest(principal_days, interest_days),
        scheduled_installments=scheduled._installments,
    ).drop("_principal", "_interest", "_installments")


def _ledger_days(loans: ibis.Table) -> tuple[ibis.Value, ibis.Value]:
    columns = loans.columns
    principal = (
        loans.principal_overdue_days.fill_null(0)
        if "principal_overdue_days" in columns
        else ibis.literal(0)
    )
    interest = (
        loans.interest_overdue_days.fill_null(0)
        if "interest_overdue_days" in columns
        else ibis.literal(0)
    )
    return principal, interest


def _days_since(date: ibis.Value, day: ibis.Value) -> ibis.Value:
    return date.isnull().ifelse(0, day.delta(date, unit="day"))
