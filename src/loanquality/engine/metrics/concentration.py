"""Concentration (集中度): largest borrowers and groups, top ten, industry HHI, against capital."""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import Metric, Period, ratio
from loanquality.engine.tables import CENTS, money_sum

METRICS = (
    Metric(
        "top10_share",
        "最大十家客户贷款占比",
        "ratio",
        "Σ balance of the ten largest customers / balance",
    ),
    Metric(
        "largest_borrower_share",
        "最大单一客户贷款占比",
        "ratio",
        "balance of the largest customer / balance",
    ),
    Metric(
        "largest_group_share",
        "最大单一集团客户贷款占比",
        "ratio",
        "balance of the largest related-party group (a customer without one is its own) / balance",
    ),
    Metric(
        "largest_borrower_to_capital",
        "单一客户贷款集中度",
        "ratio",
        "largest customer's balance / net capital (limit 10 %)",
    ),
    Metric(
        "top10_to_capital",
        "最大十家客户贷款集中度",
        "ratio",
        "ten largest customers' balance / net capital (limit 50 %)",
    ),
    Metric(
        "largest_group_to_capital",
        "单一集团客户授信集中度",
        "ratio",
        "largest group's balance / net capital",
    ),
    Metric(
        "industry_hhi",
        "行业集中度指数（HHI）",
        "ratio",
        "Σ over industries of (industry balance / balance)²",
    ),
    Metric("net_capital", "资本净额", "yuan", "net capital of the orgs in the group"),
)


def summarise(customers: ibis.Table, groups: ibis.Table, industries: ibis.Table) -> ibis.Table:
    """From balances per (key, customer), per (key, group) and per (key, industry):
    one row per key with the top-ten, largest and HHI figures."""
    rank = ibis.row_number().over(group_by=customers.key, order_by=ibis.desc(customers.balance))
    top = (
        customers.mutate(_rank=rank)
        .group_by("key")
        .aggregate(
            part_top10_balance=money_sum(ibis._.balance, where=ibis._._rank < 10),
            part_largest_borrower_balance=ibis._.balance.max(),
        )
    )
    largest_group = groups.group_by("key").aggregate(
        part_largest_group_balance=groups.balance.max()
    )
    # Σ (b_i / B)² as Σ b_i² / B², both sums exact, so the index does not depend on the order
    cents = industries.balance.cast(CENTS)
    hhi = industries.group_by("key").aggregate(
        _squares=(cents * cents).sum().cast("float64"), _total=money_sum(industries.balance)
    )
    hhi = hhi.select("key", industry_hhi=ratio(hhi._squares, hhi._total**2).fill_null(0.0))
    return top.inner_join(largest_group, "key").inner_join(hhi, "key")


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "top10_share": ratio(s.part_top10_balance, s.balance),
        "largest_borrower_share": ratio(s.part_largest_borrower_balance, s.balance),
        "largest_group_share": ratio(s.part_largest_group_balance, s.balance),
        "largest_borrower_to_capital": ratio(s.part_largest_borrower_balance, s.net_capital),
        "top10_to_capital": ratio(s.part_top10_balance, s.net_capital),
        "largest_group_to_capital": ratio(s.part_largest_group_balance, s.net_capital),
    }
