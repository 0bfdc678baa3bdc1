"""The monthly close, read from the lake: overdue days → classification (→ metrics, later)."""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.backends import BaseBackend

from loanquality.engine.classify import classify
from loanquality.engine.dpd import with_overdue_days
from loanquality.engine.lake import Lake
from loanquality.engine.rules import RuleSet
from loanquality.engine.sources import partition, up_to


def classified_loans(
    con: BaseBackend,
    lake: Lake,
    as_of: dt.date,
    ruleset: RuleSet,
    *,
    previous: ibis.Table | None = None,
    overrides: ibis.Table | None = None,
) -> ibis.Table:
    """Classify the ledger imported for ``as_of``.

    Overdue days come from that date's schedules and every repayment imported up to it
    (each import holds the flows since the one before).
    """
    loans = partition(con, lake, "loans", as_of)
    if loans is None:
        raise ValueError(f"no ledger imported for {as_of} / {as_of} 未导入借据台账")
    schedules = partition(con, lake, "schedules", as_of)
    with_days = with_overdue_days(loans, as_of, schedules, up_to(con, lake, "repayments", as_of))
    return classify(
        with_days,
        as_of,
        ruleset,
        previous=previous,
        bureau=partition(con, lake, "bureau", as_of),
        overrides=overrides,
        schedules=schedules,
    )
