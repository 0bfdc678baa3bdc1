"""Migration between two closes (迁徙): the matrix and the regulatory migration rates.

A loan repaid by a renewal (借新还旧: a new loan whose prior_loan_id is the old one)
continues as that new loan: its balance is neither a reduction nor a recovery.
"""

from __future__ import annotations

import ibis

from loanquality.engine.dpd import effective_maturity
from loanquality.engine.metrics.base import NPL_FLOOR, Metric, Period, live, ratio
from loanquality.engine.tables import attach, money_sum

REPAID, WRITTEN_OFF = "repaid", "written_off"
STATE_LABELS = {
    "1": "正常",
    "2": "关注",
    "3": "次级",
    "4": "可疑",
    "5": "损失",
    REPAID: "收回",
    WRITTEN_OFF: "核销",
}
_RATE = (
    "Σ closing balance of the opening {k} loans now in a worse category / "
    "Σ (opening balance − reduction) of the opening {k} loans; "
    "reduction = max(0, opening − closing), closing = 0 when repaid or written off"
)
METRICS = (
    Metric("migration_rate_c1", "正常类贷款迁徙率", "ratio", _RATE.format(k="正常")),
    Metric("migration_rate_c2", "关注类贷款迁徙率", "ratio", _RATE.format(k="关注")),
    Metric("migration_rate_c3", "次级类贷款迁徙率", "ratio", _RATE.format(k="次级")),
    Metric("migration_rate_c4", "可疑类贷款迁徙率", "ratio", _RATE.format(k="可疑")),
    Metric(
        "migration_rate_performing",
        "正常贷款迁徙率",
        "ratio",
        "(closing balance of opening 正常 and 关注 loans now NPL) / "
        "(the denominators of migration_rate_c1 and migration_rate_c2)",
    ),
)


def opening_flows(previous: ibis.Table, current: ibis.Table) -> ibis.Table:
    """One row per loan on the books at the previous close, with where it went.

    Adds ``from_category``, ``to_state`` (1–5, repaid, written_off), ``to_category``
    (null for exits), ``opening_balance``, ``closing_balance``, ``renewed`` and
    ``extended_in_period``; keeps the loan's columns as they were at the opening.
    """
    opening = previous.filter(live(previous))
    same = current.select(
        _loan=current.loan_id,
        _cur_balance=current.balance,
        _cur_category=current.final_category,
        _cur_written_off=current.written_off.fill_null(False),
        _cur_maturity=effective_maturity(current),
    )
    successors = (
        current.filter(current.prior_loan_id.notnull())
        .group_by(_prior=current.prior_loan_id)
        .aggregate(
            _new_balance=money_sum(current.balance), _new_category=current.final_category.max()
        )
    )
    t = attach(attach(opening, same, "loan_id", "_loan"), successors, "loan_id", "_prior")
    present = t._cur_balance.notnull()
    written_off = present & t._cur_written_off
    on_books = present & ~written_off & (t._cur_balance > 0)
    renewed = ~on_books & ~written_off & t._new_balance.notnull()
    to_category = on_books.ifelse(
        t._cur_category, renewed.ifelse(t._new_category, ibis.null("int8"))
    )
    closing = on_books.ifelse(t._cur_balance, renewed.ifelse(t._new_balance, 0.0))
    to_state = to_category.notnull().ifelse(
        to_category.cast("string"), written_off.ifelse(WRITTEN_OFF, REPAID)
    )
    return t.mutate(
        from_category=t.final_category,
        to_category=to_category.cast("int8"),
        to_state=to_state,
        opening_balance=t.balance,
        closing_balance=closing,
        renewed=renewed,
        written_off_in_period=written_off,
        extended_in_period=(present & (t._cur_maturity > effective_maturity(t))).fill_null(False),
    ).drop(
        "_cur_balance",
        "_cur_category",
        "_cur_written_off",
        "_cur_maturity",
        "_new_balance",
        "_new_category",
    )


def opening_parts(f: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    """Per loan; split by opening category from the cells in ``opening_by_category``."""
    worse = (f.to_category > f.from_category).fill_null(False)
    to_npl = (f.to_category >= NPL_FLOOR).fill_null(False)
    return {
        "part_migration_kept": ibis.least(f.opening_balance, f.closing_balance),
        "part_migration_worse": worse.ifelse(f.closing_balance, 0.0),
        "part_migration_to_npl": to_npl.ifelse(f.closing_balance, 0.0),
    }


# parts only the split by category reads: not published
CELL_PARTS = ("part_migration_kept", "part_migration_worse", "part_migration_to_npl")


def opening_by_category(cells: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    """The rates' parts per opening category, from the opening parts summed per (key,
    from_category, …) cell: three parts a loan instead of ten that are mostly zero."""
    sums = {}
    for k in (1, 2, 3, 4):
        mine = cells.from_category == k
        sums[f"part_migration_base_c{k}"] = cells.part_migration_kept.sum(where=mine)
        sums[f"part_migration_worse_c{k}"] = cells.part_migration_worse.sum(where=mine)
        if k <= 2:
            sums[f"part_migration_npl_c{k}"] = cells.part_migration_to_npl.sum(where=mine)
    return sums


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    rates = {
        f"migration_rate_c{k}": ratio(
            s[f"part_migration_worse_c{k}"], s[f"part_migration_base_c{k}"]
        )
        for k in (1, 2, 3, 4)
    }
    rates["migration_rate_performing"] = ratio(
        s.part_migration_npl_c1 + s.part_migration_npl_c2,
        s.part_migration_base_c1 + s.part_migration_base_c2,
    )
    return rates
