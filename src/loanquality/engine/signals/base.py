"""What every signal family shares: the signal's parts, the live loans, Chinese figures.

Evidence sentences are built in the query itself, from integer arithmetic only (whole fen,
whole hundredths of a percent), so DuckDB and PySpark write the same characters: neither
backend's float-to-text conversion is ever used.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis

from loanquality.engine.rules import SignalParameters
from loanquality.engine.schema import RETAIL_CUSTOMER_TYPES
from loanquality.engine.tables import to_fen


@dataclass(frozen=True)
class Signal:
    """One loan-level code's verdict on every loan of a table.

    ``when`` says whether it fires; ``value`` is the measured figure and ``threshold`` what
    it was compared with; ``evidence`` the Chinese sentence; ``severity`` None means the
    code's default (``SIGNALS``).
    """

    code: str
    when: ibis.Value
    value: ibis.Value
    threshold: ibis.Value | float
    evidence: ibis.Value
    severity: ibis.Value | int | None = None


@dataclass(frozen=True)
class Context:
    """What the families read besides their own inputs."""

    as_of: dt.date
    params: SignalParameters
    live: ibis.Table  # this close's loans on the books: not written off, balance > 0
    previous: ibis.Table | None  # the previous close's classified loans (every one of them)


def is_live(t: ibis.Table) -> ibis.Value:
    """On the books: not written off and a balance left (SPEC §6: the others raise nothing)."""
    return ~t.written_off.fill_null(False) & (t.balance.fill_null(0) > 0)


def is_retail(t: ibis.Table) -> ibis.Value:
    """The ledger's 零售标志, else the customer type's default (as classify does)."""
    return t.retail.fill_null(t.customer_type.isin(RETAIL_CUSTOMER_TYPES)).fill_null(False)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months, the day kept or cut to the month's last (as DuckDB's
    and Spark's ``date + INTERVAL n MONTH`` do)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_month_end(day: dt.date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def whole_months(start: ibis.Value, as_of: dt.date) -> ibis.Value:
    """Complete calendar months from ``start`` to ``as_of``: the largest k with
    start + k months <= as_of (a month-end as-of completes a month begun on a later day)."""
    k = (as_of.year - start.year()) * 12 + (as_of.month - start.month())
    if is_month_end(as_of):
        return k.cast("int64")
    return (k - (start.day() > as_of.day).ifelse(1, 0)).cast("int64")


def exact(number: float) -> ibis.Value:
    """``number`` as a float64 literal that is that double on every backend. Ibis writes a
    float as a decimal literal (0.3), which DuckDB turns into 0.30000000000000004 when it
    makes it a double; text cast to double is parsed exactly, on Spark too."""
    return ibis.literal(repr(float(number))).cast("float64")


def fen_sum(amount: ibis.Value, where: ibis.Value | None = None) -> ibis.Value:
    """Sum of an amount in whole fen (int64): exact, and the same on every backend."""
    return to_fen(amount.fill_null(0)).sum(where=where).fill_null(0)


def share_of(fen: ibis.Value, share: float) -> ibis.Value:
    """``share`` of an amount in fen, rounded to the fen: the threshold a figure is compared
    with, so that exactly 20 % is not below 20 % whatever the floats say."""
    return (fen * share).round().cast("int64")


def text(value: ibis.Value) -> ibis.Value:
    """A whole number as text."""
    return value.cast("int64").cast("string")


def _padded(value: ibis.Value, width: int) -> ibis.Value:
    """``value % 10**width`` as ``width`` digits, zeros in front ('007'): the digits of
    10**width + it after the leading 1 (ibis writes lpad as a CASE naming it three times)."""
    return text(value % 10**width + 10**width).substr(1)


def _group(value: ibis.Value) -> ibis.Value:
    return _padded(value, 3)


def thousands(value: ibis.Value) -> ibis.Value:
    """A whole number from 0 to 10**18 with thousands separators: 1234567 -> '1,234,567'.

    Every group written with its zeros ('000,001,234,567'), the leading zeros and commas
    cut: the number is referenced seven times, not once per digit count (the SQL of an
    evidence sentence stays small enough to compile fast)."""
    n = value.cast("int64")
    full = text(n // 10**15)
    for power in (12, 9, 6, 3, 0):
        full = full + "," + _group(n // 10**power)
    return (n == 0).ifelse("0", full.re_replace("^[0,]+", ""))


def _decimal(hundredths: ibis.Value, *, grouped: bool = True) -> ibis.Value:
    n = hundredths.cast("int64")
    whole = thousands(n // 100) if grouped else text(n // 100)
    return whole + "." + _padded(n, 2)


def yuan(amount: ibis.Value) -> ibis.Value:
    """An amount as '1,234,567.89元'."""
    return _decimal(to_fen(amount)) + "元"


def yuan_of_fen(fen: ibis.Value) -> ibis.Value:
    return _decimal(fen) + "元"


def wan_of_fen(fen: ibis.Value) -> ibis.Value:
    """An amount in fen as '123.46万元' (rounded to the hundred yuan)."""
    return _decimal((fen.cast("float64") / 10_000).round()) + "万元"


def percent(share: ibis.Value) -> ibis.Value:
    """A share as '70.00%' (rounded to the hundredth of a percent)."""
    return _decimal((share * 10_000).round(), grouped=False) + "%"


def percent_text(share: float) -> str:
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def wan_text(amount: float) -> str:
    return f"{amount / 10_000:,.2f}".rstrip("0").rstrip(".") + "万元"


def day_text(day: ibis.Value) -> ibis.Value:
    """A date as 'YYYY-MM-DD' (both backends' date-to-text)."""
    return day.cast("date").cast("string")


CATEGORY_TEXT = {1: "正常", 2: "关注", 3: "次级", 4: "可疑", 5: "损失"}


def category_text(category: ibis.Value) -> ibis.Value:
    return ibis.cases(*((category == k, v) for k, v in CATEGORY_TEXT.items()), else_="未分类")


def null_columns(t: ibis.Table, **types: str) -> ibis.Table:
    """Add typed null columns (an input that is absent)."""
    return t.mutate(**{name: ibis.null(kind) for name, kind in types.items()})


def joined(table: ibis.Table, right: ibis.Table, key: str) -> ibis.Table:
    """Inner-join ``right`` to ``table`` on ``key``, keeping one copy of the key."""
    renamed = right.rename({"_join_key": key})
    return table.inner_join(renamed, table[key] == renamed._join_key).drop("_join_key")


def flag(code: str) -> str:
    """The column holding a loan-level code's verdict on each loan."""
    return f"_f_{code}"


LoanSignals = Callable[[ibis.Table, Context], list[Signal]]


def loan_rows(
    t: ibis.Table, build: LoanSignals, ctx: Context, names: ibis.Table | None
) -> ibis.Table:
    """One family's loan-level rows from its loans ``t``: each code's verdict computed once,
    the loans raising none dropped, the rest repeated once per code of the family (a cross
    join with the codes) and kept where that code fires; every column one CASE over the
    codes. ``names``: customer_id, _customer_name (the customers table), for a loan whose
    ledger row has no name. Severity 0 stands for the code's default."""
    signals = build(t, ctx)
    codes = [s.code for s in signals]
    t = t.mutate(**{flag(s.code): s.when.fill_null(False) for s in signals})
    t = t.filter(ibis.or_(*(t[flag(c)] for c in codes)))
    if names is not None:
        renamed = names.rename({"_join_key": "customer_id"})
        t = t.left_join(renamed, t.customer_id == renamed._join_key).drop("_join_key")
    else:
        t = t.mutate(_customer_name=ibis.null("string"))
    if len(codes) > 1:
        t = t.cross_join(ibis.memtable({"_code": codes}))
    else:
        t = t.mutate(_code=ibis.literal(codes[0]))
    signals = build(t, ctx)

    def per_code(part: Callable[[Signal], ibis.Value]) -> ibis.Value:
        return ibis.cases(*((t._code == s.code, part(s)) for s in signals))

    def severity(s: Signal) -> ibis.Value:
        level = 0 if s.severity is None else s.severity
        return ibis.literal(level) if isinstance(level, int) else level

    def threshold(s: Signal) -> ibis.Value:
        value = s.threshold
        return exact(value) if isinstance(value, int | float) else value

    picked = t.filter(per_code(lambda s: t[flag(s.code)]).fill_null(False))
    return picked.select(
        code=t._code.cast("string"),
        severity=per_code(lambda s: severity(s).cast("int8")).cast("int8"),
        loan_id=t.loan_id.cast("string"),
        customer_id=t.customer_id.cast("string"),
        customer_name=t.customer_name.fill_null(t._customer_name).fill_null("").cast("string"),
        org_id=t.org_id.cast("string"),
        manager_id=t.manager_id.fill_null("").cast("string"),
        value=per_code(lambda s: s.value.cast("float64")),
        threshold=per_code(lambda s: threshold(s).cast("float64")),
        evidence=per_code(lambda s: s.evidence.cast("string")),
    )
