"""Overdue days from schedules and repayments (FIFO), from the ledger, and from maturity."""

import datetime as dt

from classifying import one

AS_OF = dt.date(2024, 3, 31)


def installment(seq, due, principal=100.0, interest=10.0):
    return {
        "loan_id": "L1",
        "seq": seq,
        "due_date": due,
        "principal_due": principal,
        "interest_due": interest,
    }


def paid(date, principal=0.0, interest=0.0):
    return {"loan_id": "L1", "date": date, "principal_paid": principal, "interest_paid": interest}


THREE = [
    installment(1, dt.date(2024, 1, 21)),
    installment(2, dt.date(2024, 2, 21)),
    installment(3, dt.date(2024, 3, 21)),
]


def test_fifo_across_partial_payments():
    """Dues 100+100+100 by 21 March; 150 paid: installment 1 settled, 2 half paid.
    The oldest unpaid principal is due 21 Feb: 31 Mar − 21 Feb = 8 + 31 = 39 days.
    Interest 10+10+10 due, 30 paid: nothing unpaid, 0 days."""
    r = one(
        {},
        AS_OF,
        schedules=THREE,
        repayments=[paid(dt.date(2024, 1, 21), 100, 10), paid(dt.date(2024, 3, 1), 50, 20)],
    )
    assert (r["principal_overdue_days"], r["interest_overdue_days"], r["overdue_days"]) == (
        39,
        0,
        39,
    )


def test_interest_is_settled_separately_from_principal():
    """All principal paid (300), interest only 10 of 30: the 21 Feb interest is unpaid,
    31 Mar − 21 Feb = 39 days; the loan's overdue days are the larger, 39."""
    r = one({}, AS_OF, schedules=THREE, repayments=[paid(dt.date(2024, 3, 21), 300, 10)])
    assert (r["principal_overdue_days"], r["interest_overdue_days"]) == (0, 39)
    assert r["overdue_days"] == 39


def test_payments_after_the_as_of_date_do_not_count():
    """Installment 1 (21 Jan) is paid only on 1 April: on 31 March it is 70 days overdue
    (10 days of January + 29 of February + 31 of March)."""
    r = one({}, AS_OF, schedules=THREE[:1], repayments=[paid(dt.date(2024, 4, 1), 100, 10)])
    assert r["overdue_days"] == 70


def test_an_installment_due_on_the_as_of_day_is_not_yet_overdue():
    due_today = [installment(1, AS_OF)]
    assert one({}, AS_OF, schedules=due_today)["overdue_days"] == 0
    due_yesterday = [installment(1, AS_OF - dt.timedelta(days=1))]
    assert one({}, AS_OF, schedules=due_yesterday)["overdue_days"] == 1


def test_a_schedule_overrides_the_ledger_columns():
    """The ledger says 200 days, but the schedule is fully paid: 0 days."""
    r = one(
        {"principal_overdue_days": 200, "interest_overdue_days": 200},
        AS_OF,
        schedules=THREE[:1],
        repayments=[paid(dt.date(2024, 1, 21), 100, 10)],
    )
    assert r["overdue_days"] == 0


def test_without_a_schedule_the_ledger_columns_are_used():
    r = one({"principal_overdue_days": 12, "interest_overdue_days": 40}, AS_OF)
    assert (r["principal_overdue_days"], r["interest_overdue_days"], r["overdue_days"]) == (
        12,
        40,
        40,
    )


def test_past_maturity_with_balance_is_overdue_even_where_the_ledger_says_0():
    """Matured 31 Jan 2024, 1 000 left: 31 Mar − 31 Jan = 29 + 31 = 60 days."""
    r = one({"maturity_date": dt.date(2024, 1, 31), "principal_overdue_days": 0}, AS_OF)
    assert (r["principal_overdue_days"], r["overdue_days"]) == (60, 60)


def test_extended_maturity_replaces_the_original():
    """Originally due 31 Jan, extended to 31 Jul: not overdue on 31 Mar, but 展期 (EXT)."""
    r = one(
        {"maturity_date": dt.date(2024, 1, 31), "extended_maturity_date": dt.date(2024, 7, 31)},
        AS_OF,
    )
    assert r["overdue_days"] == 0
    assert (r["final_category"], r["reasons"]) == (2, "EXT")
    """Past the extended maturity, days count from it: 31 Mar − 29 Feb = 31 days."""
    r = one(
        {"maturity_date": dt.date(2024, 1, 31), "extended_maturity_date": dt.date(2024, 2, 29)},
        AS_OF,
    )
    assert r["overdue_days"] == 31


def test_a_repaid_loan_past_maturity_is_not_overdue():
    assert one({"maturity_date": dt.date(2024, 1, 31), "balance": 0.0}, AS_OF)["overdue_days"] == 0
