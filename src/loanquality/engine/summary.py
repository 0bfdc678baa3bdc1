"""A first look at the imported ledgers: size and arrears per as-of date (Ibis)."""

from __future__ import annotations

import ibis
from ibis import _


def ledger_summary(loans: ibis.Table) -> ibis.Table:
    """Per as-of date: loan count, on-balance balance, the share overdue > 90 days by balance
    (the rules' NPL floor) and the bank's own NPL ratio (from ``bank_category``).

    Written-off and off-balance loans are left out, as in every on-balance figure.
    """
    on_balance = loans.filter(~_.written_off.fill_null(False), ~_.off_balance.fill_null(False))
    overdue = ibis.greatest(
        _.principal_overdue_days.fill_null(0), _.interest_overdue_days.fill_null(0)
    )
    totals = on_balance.group_by("as_of").aggregate(
        loan_count=_.count(),
        balance=_.balance.sum(),
        overdue90_balance=(overdue > 90).ifelse(_.balance, 0).sum(),
        bank_npl_balance=(_.bank_category.fill_null(1) >= 3).ifelse(_.balance, 0).sum(),
    )
    return totals.mutate(
        overdue90_share=_.overdue90_balance / _.balance,
        bank_npl_ratio=_.bank_npl_balance / _.balance,
    ).order_by("as_of")
