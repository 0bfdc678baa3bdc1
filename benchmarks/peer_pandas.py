"""The close's rules and metrics in plain pandas: the peer ``close_bench.py`` times the engine
against, written as a good analyst would (vectorised, no Python loop over loans).

It reads the same Parquet files the engine reads — this month's ledger and the bureau, last
month's classified loans and the org tree — and computes, for the fast lake (overdue days
from the ledger's columns; no schedules, no 认定):

- every loan's final category by the cn-2023 rules: the overdue bands, IMP, ECL50/ECL90,
  EXT, RNW, RST, RSTOD, EXTB, UPG, and BOR on the categories before it;
- per key of the eight groupings (an org's key sums its subtree) the metrics of
  ``PEER_METRICS``: the quality family, the migration rates, the concentration figures;
- the migration matrix (from category × to state, counts and balances).

The figures must equal the engine's (``close_bench.py`` checks) before any time counts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

GROUP_COLUMNS = {
    "org": "org_id",
    "manager": "manager_id",
    "product": "product",
    "customer_type": "customer_type",
    "industry": "industry",
    "guarantee_type": "guarantee_type",
    "village": "village",
}
RETAIL = ("individual", "farmer", "sole_proprietor")
CATEGORIES = (1, 2, 3, 4, 5)
SUMS = (
    "loan_count",
    "balance",
    *(f"balance_c{k}" for k in CATEGORIES),
    *(f"count_c{k}" for k in CATEGORIES),
    "npl_balance",
    "overdue_balance",
    "overdue90_balance",
    "hidden_npl_balance",
)
MIGRATION_PARTS = (
    *(f"part_migration_base_c{k}" for k in (1, 2, 3, 4)),
    *(f"part_migration_worse_c{k}" for k in (1, 2, 3, 4)),
    "part_migration_npl_c1",
    "part_migration_npl_c2",
)
PEER_METRICS = (
    *SUMS,
    "npl_ratio",
    "special_mention_ratio",
    "overdue_ratio",
    "npl_deviation",
    *(f"migration_rate_c{k}" for k in (1, 2, 3, 4)),
    "migration_rate_performing",
    "part_top10_balance",
    "part_largest_borrower_balance",
    "part_largest_group_balance",
    "top10_share",
    "largest_borrower_share",
    "largest_group_share",
    "industry_hhi",
)
MATRIX = ("loan_count", "opening_balance", "closing_balance", "renewed_count")
LOAN_COLUMNS = [
    "loan_id",
    "customer_id",
    "group_id",
    *GROUP_COLUMNS.values(),
    "balance",
    "maturity_date",
    "extended_maturity_date",
    "prior_loan_id",
    "restructure_date",
    "principal_overdue_days",
    "interest_overdue_days",
    "written_off",
    "impaired",
    "ecl",
    "bank_category",
    "retail",
]
PREVIOUS_COLUMNS = [
    "loan_id",
    *GROUP_COLUMNS.values(),
    "balance",
    "written_off",
    "final_category",
    "overdue_days",
    "npl_cure_date",
]
# cn-2023's parameters
OBSERVATION_MONTHS, CURE_MONTHS = 12, 6
ECL50, ECL90, BORROWER_NPL, BUREAU_OVERDUE90 = 0.50, 0.90, 0.10, 0.20


def pandas_close(files: dict[str, str], as_of: dt.date) -> dict[str, pd.DataFrame]:
    """``files``: loans, previous (last close's classified loans), bureau, orgs (Parquet)."""
    loans = pd.read_parquet(files["loans"], columns=LOAN_COLUMNS)
    previous = pd.read_parquet(files["previous"], columns=PREVIOUS_COLUMNS)
    for table in (loans, previous):  # a missing key is the key ""
        for column in GROUP_COLUMNS.values():
            table[column] = table[column].fillna("").astype("category")
    bureau = pd.read_parquet(files["bureau"])
    orgs = pd.read_parquet(files["orgs"])
    current = classify(loans, previous, bureau, pd.Timestamp(as_of))
    closure = org_closure(orgs)
    flows = opening_flows(previous, current)
    return {
        "classified": current[["loan_id", "final_category"]],
        "metrics": metrics(current, flows, closure),
        "migration": matrix(flows, closure),
    }


def classify(
    loans: pd.DataFrame, previous: pd.DataFrame, bureau: pd.DataFrame, day: pd.Timestamp
) -> pd.DataFrame:
    t = loans
    for column in ("maturity_date", "extended_maturity_date", "restructure_date"):
        t[column] = pd.to_datetime(t[column])
    maturity = t.extended_maturity_date.fillna(t.maturity_date)
    past_maturity = np.where((maturity < day) & (t.balance > 0), (day - maturity).dt.days, 0)
    principal = np.maximum(t.principal_overdue_days.fillna(0).to_numpy(), past_maturity)
    t["overdue_days"] = np.maximum(principal, t.interest_overdue_days.fillna(0).to_numpy())
    retail = t.retail.fillna(t.customer_type.isin(RETAIL)).astype(bool)
    written_off = t.written_off.fillna(False).astype(bool)

    own = previous.set_index("loan_id")
    prev_category = t.loan_id.map(own.final_category)
    prev_cure = t.loan_id.map(pd.to_datetime(own.npl_cure_date))
    prior_category = t.prior_loan_id.map(own.final_category)
    prior_overdue = t.prior_loan_id.map(own.overdue_days)
    share = t.customer_id.map(bureau.set_index("customer_id").overdue90_share)

    od = t.overdue_days
    was_npl = (prev_category >= 3).to_numpy()
    cure = prev_cure.fillna(day).where(was_npl & (od == 0))
    released = cure.notna() & (day >= cure + pd.DateOffset(months=CURE_MONTHS))
    ecl_share = np.where(t.balance > 0, t.ecl.fillna(0) / t.balance.where(t.balance > 0, 1), 0)
    observing = (
        t.restructure_date.notna()
        & (t.restructure_date <= day)
        & (day < t.restructure_date + pd.DateOffset(months=OBSERVATION_MONTHS))
    )
    prior_npl = (prior_category >= 3).to_numpy()
    rules = [
        np.select([od > 360, od > 270, od > 90, od > 0], [5, 4, 3, 2], 1),
        np.where(t.impaired.fillna(False).astype(bool), 3, 1),
        np.where(ecl_share >= ECL90, 5, np.where(ecl_share >= ECL50, 4, 1)),
        np.where(t.extended_maturity_date.notna(), 2, 1),
        np.where(
            t.prior_loan_id.notna() & (prior_npl | (prior_overdue > 0).to_numpy()),
            np.where(prior_npl, 3, 2),
            1,
        ),
        np.where(observing, np.where(was_npl, 3, 2), 1),
        np.where(observing & (od > 0), 4, 1),
        np.where(~retail & (share > BUREAU_OVERDUE90), 3, 1),
        np.where(was_npl & ~released, 3, 1),
    ]
    before = np.maximum.reduce(rules)

    # BOR: a non-retail debtor with > 10 % of its live balance here in NPL: all its loans 次级
    debt = pd.DataFrame(
        {
            "customer_id": t.customer_id,
            "live": np.where(~retail & ~written_off, t.balance, 0.0),
            "npl": np.where(~retail & ~written_off & (before >= 3), t.balance, 0.0),
        }
    )[~retail.to_numpy()]
    debtors = debt.groupby("customer_id").agg(live=("live", "sum"), npl=("npl", "sum"))
    debtor_share = (debtors.npl / debtors.live.where(debtors.live > 0)).fillna(0)
    bor = ~retail & (t.customer_id.map(debtor_share) > BORROWER_NPL)
    t["final_category"] = np.maximum(before, np.where(bor, 3, 1))
    bank = t.bank_category
    t["deviation"] = (bank.notna() & (bank < t.final_category)).to_numpy()
    t["written_off"] = written_off
    return t


def org_closure(orgs: pd.DataFrame) -> pd.DataFrame:
    """(org_id, ancestor) for each org and every org above it, itself included."""
    parent = dict(zip(orgs.org_id, orgs.parent_id, strict=True))
    pairs = []
    for org in parent:
        ancestor = org
        while ancestor is not None:
            pairs.append((org, ancestor))
            ancestor = parent.get(ancestor)
    return pd.DataFrame(pairs, columns=["org_id", "ancestor"])


def opening_flows(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Last close's live loans with where each went (a renewal continues the old loan)."""
    opening = previous[~previous.written_off.fillna(False).astype(bool)]
    now = current.set_index("loan_id")
    renewals = current[current.prior_loan_id.notna()]
    successors = renewals.groupby("prior_loan_id").agg(
        new_balance=("balance", "sum"), new_category=("final_category", "max")
    )
    present = opening.loan_id.isin(now.index).to_numpy()
    cur_balance = opening.loan_id.map(now.balance).to_numpy()
    cur_category = opening.loan_id.map(now.final_category).to_numpy()
    written_off = present & opening.loan_id.map(now.written_off).eq(True).to_numpy()
    on_books = present & ~written_off & (np.nan_to_num(cur_balance) > 0)
    new_balance = opening.loan_id.map(successors.new_balance).to_numpy()
    renewed = ~on_books & ~written_off & ~np.isnan(new_balance)
    new_category = opening.loan_id.map(successors.new_category).to_numpy()
    to_category = np.where(on_books, cur_category, np.where(renewed, new_category, np.nan))
    state = np.where(written_off, "written_off", "repaid").astype(object)
    has_category = ~np.isnan(to_category)
    state[has_category] = to_category[has_category].astype(int).astype(str)
    flows = opening[["loan_id", *GROUP_COLUMNS.values()]].copy()
    flows["from_category"] = opening.final_category.to_numpy()
    flows["to_category"] = to_category
    flows["to_state"] = state
    flows["opening_balance"] = opening.balance.to_numpy()
    flows["closing_balance"] = np.where(on_books, cur_balance, np.where(renewed, new_balance, 0))
    flows["renewed"] = renewed
    return flows


def _by_grouping(
    table: pd.DataFrame, columns: list[str], closure: pd.DataFrame, extra: list[str]
) -> pd.DataFrame:
    """``columns`` summed per key of every grouping (and ``extra``); an org's key sums its
    subtree. Group columns are categoricals, so each grouping reuses their codes."""
    frames = []
    options = {"observed": True, "dropna": False}
    for grouping, column in {"total": None, **GROUP_COLUMNS}.items():
        if column is None:
            if extra:
                grouped = table.groupby(extra, **options)[columns].sum().reset_index()
            else:
                grouped = table[columns].sum().to_frame().T
            grouped["key"] = "total"
        elif grouping == "org":
            leaves = table.groupby(["org_id", *extra], **options)[columns].sum().reset_index()
            rolled = leaves.merge(closure, on="org_id")
            grouped = rolled.groupby(["ancestor", *extra], **options)[columns].sum().reset_index()
            grouped = grouped.rename(columns={"ancestor": "key"})
        else:
            grouped = table.groupby([column, *extra], **options)[columns].sum().reset_index()
            grouped = grouped.rename(columns={column: "key"})
        grouped["key"] = grouped.key.astype(str)
        grouped["group_by"] = grouping
        frames.append(grouped)
    return pd.concat(frames, ignore_index=True)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator != 0)).astype("float64")


def metrics(current: pd.DataFrame, flows: pd.DataFrame, closure: pd.DataFrame) -> pd.DataFrame:
    live = ~current.written_off.to_numpy()
    balance = np.where(live, current.balance, 0.0)
    category = current.final_category.to_numpy()
    parts = current[list(GROUP_COLUMNS.values())].copy()
    parts["loan_count"] = live.astype(int)
    parts["balance"] = balance
    for k in CATEGORIES:
        parts[f"balance_c{k}"] = np.where(category == k, balance, 0.0)
        parts[f"count_c{k}"] = (live & (category == k)).astype(int)
    parts["npl_balance"] = np.where(category >= 3, balance, 0.0)
    parts["overdue_balance"] = np.where(current.overdue_days > 0, balance, 0.0)
    parts["overdue90_balance"] = np.where(current.overdue_days > 90, balance, 0.0)
    parts["hidden_npl_balance"] = np.where(current.deviation, balance, 0.0)
    sums = _by_grouping(parts, list(SUMS), closure, [])

    moved = flows[list(GROUP_COLUMNS.values())].copy()
    from_category, to_category = flows.from_category.to_numpy(), flows.to_category.to_numpy()
    closing = flows.closing_balance.to_numpy()
    for k in (1, 2, 3, 4):
        mine = from_category == k
        moved[f"part_migration_base_c{k}"] = np.where(
            mine, np.minimum(flows.opening_balance, closing), 0.0
        )
        moved[f"part_migration_worse_c{k}"] = np.where(mine & (to_category > k), closing, 0.0)
        if k <= 2:
            moved[f"part_migration_npl_c{k}"] = np.where(mine & (to_category >= 3), closing, 0.0)
    rates = _by_grouping(moved, list(MIGRATION_PARTS), closure, [])

    s = sums.merge(rates, on=["group_by", "key"], how="outer").fillna(
        dict.fromkeys([*SUMS, *MIGRATION_PARTS], 0)
    )
    s = s.merge(concentration(current[live], closure), on=["group_by", "key"], how="left")
    s["npl_ratio"] = _ratio(s.npl_balance, s.balance)
    s["special_mention_ratio"] = _ratio(s.balance_c2, s.balance)
    s["overdue_ratio"] = _ratio(s.overdue_balance, s.balance)
    s["npl_deviation"] = _ratio(s.overdue90_balance, s.npl_balance)
    for k in (1, 2, 3, 4):
        s[f"migration_rate_c{k}"] = _ratio(
            s[f"part_migration_worse_c{k}"], s[f"part_migration_base_c{k}"]
        )
    s["migration_rate_performing"] = _ratio(
        s.part_migration_npl_c1 + s.part_migration_npl_c2,
        s.part_migration_base_c1 + s.part_migration_base_c2,
    )
    s["top10_share"] = _ratio(s.part_top10_balance, s.balance)
    s["largest_borrower_share"] = _ratio(s.part_largest_borrower_balance, s.balance)
    s["largest_group_share"] = _ratio(s.part_largest_group_balance, s.balance)
    return s[["group_by", "key", *PEER_METRICS]]


def concentration(on_books: pd.DataFrame, closure: pd.DataFrame) -> pd.DataFrame:
    """Per key: the ten largest customers' balance, the largest customer and group (a
    customer outside any group is its own), and the industry HHI."""
    loans = on_books[[*GROUP_COLUMNS.values(), "customer_id", "group_id", "balance"]]
    loans = loans.assign(customer_id=loans.customer_id.astype("category"), sector=on_books.industry)
    customers = _by_grouping(loans, ["balance"], closure, ["customer_id"])
    customers = customers.sort_values("balance", ascending=False)
    by_key = customers.groupby(["group_by", "key"], sort=False)
    top = by_key.head(10).groupby(["group_by", "key"]).balance.sum().rename("part_top10_balance")
    largest = by_key.balance.max().rename("part_largest_borrower_balance")
    grouped = loans[loans.group_id.notna()]
    groups = _by_grouping(grouped, ["balance"], closure, ["group_id"])
    largest_group = groups.groupby(["group_by", "key"], sort=False).balance.max()
    industries = _by_grouping(loans, ["balance"], closure, ["sector"])
    industries["square"] = industries.balance**2
    hhi = industries.groupby(["group_by", "key"], sort=False).agg(
        square=("square", "sum"), b=("balance", "sum")
    )
    result = pd.concat([top, largest, largest_group.rename("_largest_group")], axis=1).reset_index()
    result["part_largest_group_balance"] = np.maximum(
        result.part_largest_borrower_balance, result._largest_group.fillna(0)
    )
    result = result.merge(
        (hhi.square / hhi.b**2).fillna(0.0).rename("industry_hhi").reset_index(),
        on=["group_by", "key"],
    )
    return result.drop(columns="_largest_group")


def matrix(flows: pd.DataFrame, closure: pd.DataFrame) -> pd.DataFrame:
    cells = flows[[*GROUP_COLUMNS.values(), "from_category", "to_state"]].copy()
    cells["loan_count"] = 1
    cells["opening_balance"] = flows.opening_balance
    cells["closing_balance"] = flows.closing_balance
    cells["renewed_count"] = flows.renewed.astype(int)
    extra = ["from_category", "to_state"]
    return _by_grouping(cells, list(MATRIX), closure, extra)[["group_by", "key", *extra, *MATRIX]]
