"""Concentration (集中度): largest borrowers and groups, top ten, industry HHI, against capital."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from loanquality.engine.metrics.base import Metric, Period, ratio
from loanquality.engine.tables import in_yuan

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


KEY = ("group_by", "key")
WHOLE = dt.Decimal(38, 0)  # a square of fen overflows int64


def summarise(customers: ibis.Table, groups: ibis.Table, industries: ibis.Table) -> ibis.Table:
    """From balances in whole fen per (group_by, key, customer), per (group_by, key,
    related-party group: customers with a group_id only) and per (group_by, key, industry):
    one row per (group_by, key) with the top-ten, largest and HHI figures in yuan."""
    top = _top_customers(customers)
    # the largest group is the largest real group or, if larger, the largest customer (one
    # outside any group is its own; one inside is never larger than its group)
    real = groups.group_by(*KEY).aggregate(_largest_real=groups.balance.max())
    top = top.left_join(real, list(KEY)).drop(*(f"{k}_right" for k in KEY))
    top = top.mutate(
        part_largest_group_balance=ibis.greatest(top._largest, top._largest_real.fill_null(0))
    )
    top = top.select(
        *KEY,
        part_top10_balance=in_yuan(top._top10),
        part_largest_borrower_balance=in_yuan(top._largest),
        part_largest_group_balance=in_yuan(top.part_largest_group_balance),
    )
    # Σ (b_i / B)² as Σ b_i² / B², both sums exact, so the index does not depend on the order
    fen = industries.balance.cast(WHOLE)
    hhi = industries.group_by(*KEY).aggregate(
        _squares=(fen * fen).sum().cast("float64"), _total=fen.sum().cast("float64")
    )
    hhi = hhi.select(*KEY, industry_hhi=ratio(hhi._squares, hhi._total**2).fill_null(0.0))
    return top.inner_join(hhi, list(KEY))


# Ibis reads a UDF's signature from annotations that are Ibis dtypes, not Python types;
# Ibis has no py.typed, so its decorator is untyped to mypy too.
@ibis.udf.agg.builtin(name="max")  # type: ignore[untyped-decorator]
def _largest(arg: dt.int64, n: dt.int64) -> dt.Array(dt.int64):  # type: ignore[valid-type]
    """DuckDB's max(x, n): the n largest values, kept in a small heap per group."""


def ten_largest(rows: ibis.Table) -> ibis.Table:
    """The rows (group_by, key, balance) of the ten largest balances of each key. DuckDB
    keeps them in a heap per key as it goes; elsewhere (Spark) each key's rows are ranked."""
    if ibis.get_backend(rows).name == "duckdb":
        heaps = rows.group_by(*KEY).aggregate(balance=_largest(rows.balance, 10))
        return heaps.unnest("balance")
    rank = ibis.row_number().over(group_by=list(KEY), order_by=ibis.desc(rows.balance))
    return rows.filter(rank < 10)


def _top_customers(customers: ibis.Table) -> ibis.Table:
    """Per (group_by, key), the ten largest customers' balance and the largest one, in fen."""
    top = ten_largest(customers)
    return top.group_by(*KEY).aggregate(_top10=top.balance.sum(), _largest=top.balance.max())


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "top10_share": ratio(s.part_top10_balance, s.balance),
        "largest_borrower_share": ratio(s.part_largest_borrower_balance, s.balance),
        "largest_group_share": ratio(s.part_largest_group_balance, s.balance),
        "largest_borrower_to_capital": ratio(s.part_largest_borrower_balance, s.net_capital),
        "top10_to_capital": ratio(s.part_top10_balance, s.net_capital),
        "largest_group_to_capital": ratio(s.part_largest_group_balance, s.net_capital),
    }
