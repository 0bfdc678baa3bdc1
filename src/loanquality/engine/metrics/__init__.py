"""The asset-quality metric catalogue (SPEC §5) and its computation per grouping.

Each family module names its metrics and gives, per loan, additive *parts*
(``current_parts`` on this close's loans, ``opening_parts`` on the loans of the
previous close and where they went, ``flow_parts`` on the period's repayments).
Parts are summed per group — an org's row sums its whole subtree — and each
family's ``finish`` turns the sums into ratios. A figure per category is not a
part a loan: the parts are summed per (group, category) cell and a family's
``current_by_category`` / ``opening_by_category`` splits the cells. Only
concentration needs more than sums, and has its own ``summarise``.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pyarrow as pa

from loanquality.engine.metrics import (
    change,
    concentration,
    migration,
    new_loans,
    provisioning,
    quality,
    recovery,
    structure,
    turnover,
)
from loanquality.engine.metrics.base import Metric, Period, live
from loanquality.engine.tables import attach, in_yuan, money_sum, to_fen

FAMILIES = (
    quality,
    change,
    migration,
    recovery,
    new_loans,
    provisioning,
    concentration,
    turnover,
    structure,
)
CATALOGUE: tuple[Metric, ...] = tuple(m for family in FAMILIES for m in family.METRICS)
METRIC_IDS = tuple(m.id for m in CATALOGUE)
GROUPINGS = {
    "total": None,
    "org": "org_id",
    "manager": "manager_id",
    "product": "product",
    "customer_type": "customer_type",
    "industry": "industry",
    "guarantee_type": "guarantee_type",
    "village": "village",
}
GROUPING_LABELS = {
    "total": "全行汇总",
    "org": "机构",
    "manager": "客户经理",
    "product": "贷款品种",
    "customer_type": "客户类型",
    "industry": "贷款投向行业",
    "guarantee_type": "担保方式",
    "village": "村",
}
TOTAL_KEY = "total"
GROUP_COLUMNS = tuple(c for c in GROUPINGS.values() if c)
# Parts whose year-to-date sum a metric needs (added up over the year's closes).
YTD_PARTS = recovery.YTD_PARTS


@dataclass
class Inputs:
    current: ibis.Table  # this close's classified loans
    previous: ibis.Table | None  # the previous close's classified loans
    repayments: ibis.Table | None  # the flows of the period (this as-of's import)
    org_closure: ibis.Table  # org_id, ancestor: every org with itself and each org above it
    provisions: ibis.Table | None  # org_id, provision
    capital: ibis.Table | None  # org_id, net_capital
    previous_metrics: ibis.Table | None  # the previous close's metric table
    base_metrics: ibis.Table | None  # the year's opening metric table (年初)
    year_parts: ibis.Table | None  # group_by, key, YTD_PARTS summed over earlier closes this year


def org_closure(orgs: pa.Table) -> pa.Table:
    """(org_id, ancestor) for every org and each org above it, itself included."""
    parent = dict(
        zip(orgs.column("org_id").to_pylist(), orgs.column("parent_id").to_pylist(), strict=True)
    )
    pairs = []
    for org in parent:
        ancestor, seen = org, set()
        while ancestor is not None and ancestor not in seen:
            pairs.append((org, ancestor))
            seen.add(ancestor)
            ancestor = parent.get(ancestor)
    return pa.table({"org_id": [p[0] for p in pairs], "ancestor": [p[1] for p in pairs]})


def _keyed(t: ibis.Table, groupings: tuple[str, ...]) -> ibis.Table:
    """Every row of ``t`` once per grouping, with ``group_by`` and ``key`` (an org row keyed
    by the row's own org: ``_up_the_tree`` takes it to every org above). One pass feeds every
    grouping, so nothing per loan is kept in memory between groupings."""
    names = ibis.memtable({"group_by": list(groupings)})
    rows = t.cross_join(names)
    keys = [
        (rows["group_by"] == g, rows[c].cast("string").fill_null(""))
        for g, c in GROUPINGS.items()
        if c and g in groupings
    ]
    return rows.mutate(key=ibis.cases(*keys, else_=ibis.literal(TOTAL_KEY)) if keys else TOTAL_KEY)


def _up_the_tree(rows: ibis.Table, closure: ibis.Table) -> ibis.Table:
    """``rows`` (group_by, key, …) with each org row repeated for every org above its key,
    itself included, keyed by that org; the other groupings' rows as they are."""
    is_org = rows["group_by"] == "org"
    # an equality on one column, so that the join is a hash join
    rows = rows.mutate(_org=is_org.ifelse(rows.key, ibis.null("string")))
    up = rows.left_join(closure, rows._org == closure.org_id)
    up = up.filter(up._org.isnull() | up.ancestor.notnull())
    return up.mutate(key=up.ancestor.fill_null(up.key)).drop("_org", "org_id", "ancestor")


def _sum_by(
    t: ibis.Table,
    columns: list[str],
    closure: ibis.Table,
    groupings: tuple[str, ...],
    extra: tuple[str, ...] = (),
) -> ibis.Table:
    """Sum ``columns`` of ``t`` (whole fen, see ``to_fen``: exact) per key of every grouping
    (and ``extra`` columns). Returns group_by, key, *extra, *columns in whole fen."""
    rows = _keyed(t, groupings)
    sums = rows.group_by("group_by", "key", *extra).aggregate(**{c: rows[c].sum() for c in columns})
    if "org" in groupings:  # an org's key collects its whole subtree
        up = _up_the_tree(sums, closure)
        sums = up.group_by("group_by", "key", *extra).aggregate(**{c: up[c].sum() for c in columns})
    return sums.select("group_by", "key", *extra, *columns)


def _in_yuan(t: ibis.Table, columns: list[str]) -> ibis.Table:
    return t.mutate(**{c: in_yuan(t[c]) for c in columns})


def _parts(table: ibis.Table, kind: str, period: Period) -> dict[str, ibis.Value]:
    """Every family's parts of one kind (``current_parts``, ``opening_parts``, ``flow_parts``)."""
    parts: dict[str, ibis.Value] = {}
    for family in FAMILIES:
        if hasattr(family, kind):
            parts |= getattr(family, kind)(table, period)
    return parts


def _summed(
    table: ibis.Table,
    parts: dict[str, ibis.Value],
    inputs: Inputs,
    groupings: tuple[str, ...],
    extra: tuple[str, ...] = (),
) -> ibis.Table:
    """``parts`` (amounts in yuan) in whole fen, summed per key of every grouping and
    ``extra`` columns (``_sum_by``)."""
    rows = table.select(*GROUP_COLUMNS, *extra, **{n: to_fen(v) for n, v in parts.items()})
    return _sum_by(rows, list(parts), inputs.org_closure, groupings, extra)


def _by_key(cells: ibis.Table, parts: list[str], kind: str, period: Period) -> ibis.Table:
    """``parts`` summed per (key, category, …) cell, summed per key: each part as it is
    (but the ``CELL_PARTS`` only a split reads) and each family's split by category
    (``current_by_category``, ``opening_by_category``); all in whole fen. Splitting the
    few cells of a key is cheaper than a part a category for every loan."""
    split: dict[str, ibis.Value] = {}
    hidden: set[str] = set()
    for family in FAMILIES:
        if hasattr(family, f"{kind}_by_category"):
            split |= getattr(family, f"{kind}_by_category")(cells, period)
        hidden |= set(getattr(family, "CELL_PARTS", ()))
    plain = {p: cells[p].sum() for p in parts if p not in hidden}
    return cells.group_by("group_by", "key").aggregate(**plain, **split)


MATRIX_CELL = ("from_category", "to_state")
MATRIX_COUNTS = (
    "loan_count",
    "opening_balance",
    "closing_balance",
    "renewed_count",
    "renewed_opening_balance",
)


def opening_cells(
    inputs: Inputs, period: Period, groupings: tuple[str, ...] = tuple(GROUPINGS)
) -> ibis.Table:
    """Last close's loans and where they went (``migration.opening_flows``), summed in whole
    fen per group_by, key, from_category and to_state (1–5, repaid, written_off): the
    migration matrix's counts and every family's opening parts. Needs a previous close.

    This is the one join of two months of loans: the close computes it once and reads both
    ``compute_metrics`` and ``compute_migration`` from it.
    """
    f = migration.opening_flows(inputs.previous, inputs.current)
    columns = {
        "loan_count": ibis.literal(1.0),
        "renewed_count": f.renewed.ifelse(1.0, 0.0),
        "opening_balance": f.opening_balance,
        "closing_balance": f.closing_balance,
        "renewed_opening_balance": f.renewed.ifelse(f.opening_balance, 0.0),
        **_parts(f, "opening_parts", period),
    }
    return _summed(f, columns, inputs, groupings, MATRIX_CELL)


def compute_metrics(
    inputs: Inputs,
    period: Period,
    cells: ibis.Table | None,
    groupings: tuple[str, ...] = tuple(GROUPINGS),
) -> ibis.Table:
    """Every metric of the catalogue, one row per (group_by, key), with the parts beside.
    ``cells`` is ``opening_cells`` of the same inputs; None without a previous close."""
    current = _with_customer_totals(inputs.current, period)
    # each source summed on its own (in one pass over its rows), then the small results added
    parts = _parts(current, "current_parts", period)
    by_category = _summed(current, parts, inputs, groupings, ("final_category",))
    summed = [_by_key(by_category, list(parts), "current", period)]
    if cells is not None:
        opening = [c for c in cells.columns if c.startswith("part_")]
        summed.append(_by_key(cells, opening, "opening", period))
    if inputs.repayments is not None and inputs.previous is not None:
        flows = _with_loan_groups(inputs.repayments, inputs.current, inputs.previous)
        summed.append(_summed(flows, _parts(flows, "flow_parts", period), inputs, groupings))
    names = sorted({c for t in summed for c in t.columns} - {"group_by", "key"} | _ALWAYS_PARTS)
    zero = ibis.literal(0, "int64")
    stacked = ibis.union(
        *(
            t.select("group_by", "key", **{n: t[n] if n in t.columns else zero for n in names})
            for t in summed
        )
    )
    sums = _in_yuan(
        stacked.group_by("group_by", "key").aggregate(**{n: stacked[n].sum() for n in names}),
        names,
    )
    sums = _with_org_amounts(sums, inputs, groupings)
    sums = _with_concentration(sums, current, inputs.org_closure, groupings)
    sums = _with_history(sums, inputs, period)
    finished: dict[str, ibis.Value] = {}
    for family in FAMILIES:
        finished |= family.finish(sums, period)
    metric_columns = {
        m: finished.get(m, sums[m] if m in sums.columns else None) for m in METRIC_IDS
    }
    part_columns = [c for c in sums.columns if c.startswith("part_")]
    return sums.select("group_by", "key", *part_columns, **metric_columns)


def compute_migration(cells: ibis.Table) -> ibis.Table:
    """The migration matrix per group from ``opening_cells``: from category × to state (1–5,
    repaid, written_off), by count and by opening balance; ``renewed_*`` is how much of a
    cell continued through a renewal."""
    counts = list(MATRIX_COUNTS)
    return _in_yuan(cells.select("group_by", "key", *MATRIX_CELL, *counts), counts)


# parts a family's finish reads even when the period has no previous close or no flows
_ALWAYS_PARTS = {
    "part_maturity_due",
    "part_maturity_recovered",
    "part_overdue_interest_opening",
    "part_interest_received",
    "part_balance_opening",
    "part_principal_repaid",
    *(f"part_migration_base_c{k}" for k in (1, 2, 3, 4)),
    *(f"part_migration_worse_c{k}" for k in (1, 2, 3, 4)),
    "part_migration_npl_c1",
    "part_migration_npl_c2",
}


def _with_customer_totals(current: ibis.Table, period: Period) -> ibis.Table:
    """Each loan with its customer's live balance here (``_customer_balance``: the
    large-borrower share) and number of live loans (``_customer_loans``: concentration
    sums only customers with more than one), for customers with more than one loan or a
    large balance; null for the rest (one loan, not large).

    Those customers are read into memory once: they are few next to the loans, and every
    family then joins them instead of grouping all the customers again.
    """
    live_balance = live(current).ifelse(current.balance, 0.0)
    customers = current.group_by(_customer=current.customer_id).aggregate(
        _customer_balance=money_sum(live_balance),
        _customer_loans=live(current).ifelse(1, 0).sum(),
    )
    notable = customers.filter(
        (customers._customer_loans > 1)
        | (customers._customer_balance >= period.large_borrower_balance)
    )
    kept = ibis.memtable(ibis.get_backend(current).to_pyarrow(notable))
    return attach(current, kept, "customer_id", "_customer")


def _with_loan_groups(
    repayments: ibis.Table, current: ibis.Table, previous: ibis.Table
) -> ibis.Table:
    """The period's repayments with the group columns of their loan: as it is now, or as it
    was at the previous close for a loan that has since left the books."""
    now = current.select("loan_id", *GROUP_COLUMNS)
    gone = previous.anti_join(now, "loan_id").select("loan_id", *GROUP_COLUMNS)
    loans = ibis.union(now, gone).rename({"_loan": "loan_id"})
    return repayments.inner_join(loans, repayments.loan_id == loans._loan)


def _org_amount(
    table: ibis.Table | None, column: str, closure: ibis.Table, groupings: tuple[str, ...]
) -> ibis.Table | None:
    if table is None:
        return None
    amounts = table.select("org_id", **{column: to_fen(table[column])})
    keyed = tuple(g for g in ("total", "org") if g in groupings)
    return _in_yuan(_sum_by(amounts, [column], closure, keyed), [column]) if keyed else None


def _with_org_amounts(sums: ibis.Table, inputs: Inputs, groupings: tuple[str, ...]) -> ibis.Table:
    """Provisions and net capital belong to orgs: known for the total and the org rows only."""
    for table, column in ((inputs.provisions, "provision"), (inputs.capital, "net_capital")):
        name = "provision_held" if column == "provision" else column
        amounts = _org_amount(table, column, inputs.org_closure, groupings)
        if amounts is None:
            sums = sums.mutate(**{name: ibis.null("float64")})
            continue
        amounts = amounts.rename({name: column, "_group_by": "group_by", "_key": "key"})
        joined = sums.left_join(
            amounts, [sums["group_by"] == amounts._group_by, sums.key == amounts._key]
        )
        sums = joined.drop("_group_by", "_key")
    return sums


def _with_concentration(
    sums: ibis.Table, current: ibis.Table, closure: ibis.Table, groupings: tuple[str, ...]
) -> ibis.Table:
    on_books = current.filter(live(current)).mutate(
        _customer=current.customer_id,
        _group=current.group_id,
        _industry=current.industry.fill_null(""),
        _balance=to_fen(current.balance),
    )
    # a customer outside any group is its own group: only real groups need summing apart
    in_groups = on_books.filter(on_books._group.notnull())
    single = on_books._customer_loans.fill_null(1) == 1
    per = {}
    for name, table, column in (
        ("customers", on_books.filter(~single), "_customer"),
        ("groups", in_groups, "_group"),
        ("industries", on_books, "_industry"),
    ):
        rows = _sum_by(table, ["_balance"], closure, groupings, extra=(column,))
        rows = rows.select("group_by", "key", balance=rows._balance)
        if name == "customers":
            # A customer with one loan needs no summing: its balance in any key is that
            # loan's. Only the ten largest of each key can matter, and an org's ten largest
            # are among its orgs' (itself included) ten largest: those go up the tree.
            alone = _keyed(on_books.filter(single), groupings)
            leaders = concentration.ten_largest(
                alone.select("group_by", "key", balance=alone._balance)
            )
            if "org" in groupings:
                leaders = _up_the_tree(leaders, closure)
            rows = ibis.union(rows, leaders)
        per[name] = rows
    summary = concentration.summarise(per["customers"], per["groups"], per["industries"])
    summary = summary.rename(_group_by="group_by", _key="key")
    joined = sums.left_join(
        summary, [sums["group_by"] == summary._group_by, sums.key == summary._key]
    )
    return joined.drop("_group_by", "_key")


def _with_history(sums: ibis.Table, inputs: Inputs, period: Period) -> ibis.Table:
    """Join the previous close's and the year's opening NPL and balance (prev_*, base_*), and
    add this close's parts to the year's earlier ones (*_ytd)."""
    if period.base_as_of == period.as_of:  # the year's first close is its own opening
        sums = sums.mutate(base_npl_balance=sums.npl_balance, base_balance=sums.balance)
    for prefix, metrics in (("prev_", inputs.previous_metrics), ("base_", inputs.base_metrics)):
        if prefix == "base_" and period.base_as_of == period.as_of:
            continue
        if metrics is None:
            sums = sums.mutate(
                **{
                    f"{prefix}npl_balance": ibis.null("float64"),
                    f"{prefix}balance": ibis.null("float64"),
                }
            )
            continue
        earlier = metrics.select(
            _group_by=metrics["group_by"],
            _key=metrics.key,
            **{f"{prefix}npl_balance": metrics.npl_balance, f"{prefix}balance": metrics.balance},
        )
        sums = sums.left_join(
            earlier, [sums["group_by"] == earlier._group_by, sums.key == earlier._key]
        ).drop("_group_by", "_key")
    if inputs.year_parts is None:
        return sums.mutate(**{f"{p}_ytd": sums[p] for p in YTD_PARTS})
    year = inputs.year_parts.select(
        _group_by=inputs.year_parts["group_by"],
        _key=inputs.year_parts.key,
        **{f"_{p}": inputs.year_parts[p] for p in YTD_PARTS},
    )
    joined = sums.left_join(year, [sums["group_by"] == year._group_by, sums.key == year._key])
    return joined.mutate(
        **{f"{p}_ytd": joined[p] + joined[f"_{p}"].fill_null(0.0) for p in YTD_PARTS}
    ).drop("_group_by", "_key", *(f"_{p}" for p in YTD_PARTS))
