"""Early-warning signals (贷后预警信号) of a close: SPEC §6, the ``signals`` lake table.

``compute_signals`` takes this close's classified loans, the previous close's, and the
as-of's side tables (collateral, guarantees, bureau, customers, capital, orgs, staff), and
returns one row per (code, subject) — ``SIGNAL_COLUMNS``, sorted worst first. One Ibis
expression: the same code runs on DuckDB and on PySpark. The families:

- ``maturity``: MAT3M, MAT1M;
- ``delinquency``: OVD_FIRST, INT_ARREARS, DOWNGRADE, RENEW_STRESSED (the previous close);
- ``collateral``: COLLATERAL_STALE, LTV_HIGH;
- ``counterparty``: GUARANTOR_BAD (per loan), BUREAU_NPL, MULTI_LENDER, DEPOSIT_LOW,
  CONCENTRATION (per customer);
- ``officer``: BOOK_SURGE (per officer).

Loans written off or with balance 0 raise nothing and count in no customer's or officer's
figure. An input that is absent (None) silences the codes that need it. The loan-level
codes are computed in one pass over the loans, the previous close joined once; only the
loans that raise something are kept (``materialize`` lets the close write them aside once
instead of the query recomputing them for each code).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis

from loanquality.engine.rules import SignalParameters
from loanquality.engine.schema import CUSTOMERS, LOANS, ORGS, STAFF
from loanquality.engine.signals import collateral, counterparty, delinquency, maturity, officer
from loanquality.engine.signals.base import Context, LoanSignals, Signal, is_live, loan_rows
from loanquality.engine.tables import attach, complete, to_fen

# code -> (Chinese name, default severity), in SPEC §6's order
SIGNALS: dict[str, tuple[str, int]] = {
    "MAT3M": ("到期监测（监测通知书）", 1),
    "MAT1M": ("到期提示（提示函）", 2),
    "OVD_FIRST": ("首次逾期", 2),
    "INT_ARREARS": ("欠息", 2),
    "DOWNGRADE": ("风险分类下迁", 2),  # 3 when the loan is now NPL
    "RENEW_STRESSED": ("借新还旧/展期掩盖风险", 3),
    "COLLATERAL_STALE": ("押品重估超期", 1),
    "LTV_HIGH": ("抵质押率超限", 3),
    "GUARANTOR_BAD": ("保证人风险", 3),
    "BUREAU_NPL": ("他行不良", 3),
    "MULTI_LENDER": ("多头贷款", 2),
    "DEPOSIT_LOW": ("资金归行率低", 2),
    "CONCENTRATION": ("单户集中度超限", 3),
    "BOOK_SURGE": ("管户余额激增", 1),
}
SEVERITY_LABELS = {1: "低", 2: "中", 3: "高"}
CUSTOMER_CODES = ("BUREAU_NPL", "MULTI_LENDER", "DEPOSIT_LOW", "CONCENTRATION")
LOAN_CODES = tuple(c for c in SIGNALS if c not in (*CUSTOMER_CODES, "BOOK_SURGE"))
OFFICER_CODES = ("BOOK_SURGE",)
SIGNAL_COLUMNS = (
    "code",
    "label",
    "severity",
    "loan_id",
    "customer_id",
    "customer_name",
    "org_id",
    "manager_id",
    "value",
    "threshold",
    "evidence",
    "due_days",
)
SIGNAL_TYPES = {
    "code": "string",
    "label": "string",
    "severity": "int8",
    "loan_id": "string",
    "customer_id": "string",
    "customer_name": "string",
    "org_id": "string",
    "manager_id": "string",
    "value": "float64",
    "threshold": "float64",
    "evidence": "string",
    "due_days": "int32",
}
# the order of the rows (severity worst first)
SIGNAL_ORDER = ("severity", "org_id", "loan_id", "code", "customer_id", "manager_id")
# what the loan-level families read of a loan
LOAN_COLUMNS = (
    "loan_id",
    "customer_id",
    "customer_name",
    "org_id",
    "manager_id",
    "balance",
    "guarantee_type",
    "maturity_date",
    "extended_maturity_date",
    "prior_loan_id",
    "overdue_days",
    "interest_overdue_days",
    "overdue_interest",
    "final_category",
)


@dataclass
class SignalInputs:
    """What a close's signals read. Every table but ``current`` and ``orgs`` may be None."""

    current: ibis.Table  # this close's classified loans (the ledger's columns with them)
    orgs: ibis.Table  # org_id, parent_id: the org tree of the as-of (its root is the bank)
    previous: ibis.Table | None = None  # the previous close's classified loans
    collateral: ibis.Table | None = None  # collateral_id, loan_id, type, value, appraisal_date
    guarantees: ibis.Table | None = None  # loan_id, guarantor_id
    bureau: ibis.Table | None = None  # customer_id, overdue90_share, lender_count
    customers: ibis.Table | None = None  # customer_id, customer_name, credit_line, deposits
    capital: ibis.Table | None = None  # org_id, net_capital (the latest on or before as_of)
    staff: ibis.Table | None = None  # staff_id, org_id


def loan_signals(t: ibis.Table, ctx: Context) -> list[Signal]:
    return [
        *maturity.loan_signals(t, ctx),
        *delinquency.loan_signals(t, ctx),
        *collateral.loan_signals(t, ctx),
        *counterparty.loan_signals(t, ctx),
    ]


def compute_signals(inputs: SignalInputs, as_of: dt.date, params: SignalParameters) -> ibis.Table:
    """Every signal of the close of ``as_of``: ``SIGNAL_COLUMNS``, one row per (code, subject).

    Parameters
    ----------
    inputs
        The close's tables, all on one backend.
    params
        The rule set's ``[signals]`` thresholds and due days.

    Returns
    -------
    code, label, severity (int8: 1 低, 2 中, 3 高), loan_id ("" for a customer- or officer-level
    signal), customer_id ("" for an officer-level one), customer_name, org_id, manager_id,
    value, threshold, evidence (a Chinese sentence with the figures), due_days (int32: days
    to handle a case of that severity), sorted by severity (worst first), org, loan, code,
    customer, manager.
    """
    parts = signal_parts(inputs, as_of, params)
    t = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return t.order_by([t.severity.desc(), *(t[c] for c in SIGNAL_ORDER[1:])])


def signal_parts(
    inputs: SignalInputs, as_of: dt.date, params: SignalParameters
) -> list[ibis.Table]:
    """``compute_signals``' rows in parts, each with ``SIGNAL_COLUMNS``, unsorted: each loan
    family's rows from the few loans it needs (those due soon; those in arrears or worse,
    joined to the previous close; those with collateral; those with a guarantor in
    trouble), then the customer- and the officer-level rows. A close runs each part as its
    own query: each reads only what it needs, and small queries compile fast (Ibis takes
    time more than proportional to a query's size)."""
    current = complete(inputs.current, LOANS)
    previous = complete(inputs.previous, LOANS) if inputs.previous is not None else None
    live = current.filter(is_live(current))
    ctx = Context(as_of, params, live, previous)
    names = _customer_names(inputs.customers)
    loans = live.select(*LOAN_COLUMNS)
    families: list[tuple[ibis.Table, LoanSignals]] = [
        (maturity.loans(loans, ctx), maturity.loan_signals),
        (delinquency.loans(loans, ctx), delinquency.loan_signals),
    ]
    if inputs.collateral is not None:
        families.append((collateral.loans(loans, ctx, inputs.collateral), collateral.loan_signals))
    if inputs.guarantees is not None:
        families.append(
            (counterparty.loans(loans, ctx, inputs.guarantees), counterparty.loan_signals)
        )
    rows = [loan_rows(t, build, ctx, names) for t, build in families]
    customer_rows = counterparty.customer_signals(
        ctx,
        bureau=inputs.bureau,
        customers=inputs.customers,
        net_capital=_net_capital(inputs.capital, inputs.orgs),
    )
    if customer_rows:
        rows.append(_of_customers(ibis.union(*customer_rows), live, names))
    officer_rows = officer.officer_signals(ctx)
    if officer_rows:
        rows.append(_of_officers(ibis.union(*officer_rows), live, inputs.staff))
    return [_finish(part, params) for part in rows]


def _customer_names(customers: ibis.Table | None) -> ibis.Table | None:
    if customers is None:
        return None
    c = complete(customers, CUSTOMERS)
    return c.select(customer_id=c.customer_id, _customer_name=c.customer_name.cast("string"))


def _net_capital(capital: ibis.Table | None, orgs: ibis.Table) -> ibis.Table | None:
    """One row, ``_capital_fen``: the net capital of the legal entity, the org tree's root's
    row of the capital table (no row: CONCENTRATION cannot be judged and does not fire)."""
    if capital is None:
        return None
    o = complete(orgs, ORGS)
    root = o.filter(o.parent_id.isnull()).select(_root=o.org_id)
    joined = capital.inner_join(root, capital.org_id == root._root)
    return joined.select(_capital_fen=to_fen(joined.net_capital.cast("float64")))


def _largest_loans(live: ibis.Table, key: str, subjects: ibis.Table) -> ibis.Table:
    """For each ``key`` (customer_id or manager_id) of ``subjects``: the org, manager and
    customer name of its largest live loan, ties to the smallest loan_id."""
    wanted = subjects.select(_subject=subjects[key]).distinct()
    loans = live.semi_join(wanted, live[key] == wanted._subject)
    rank = ibis.row_number().over(
        group_by=loans[key], order_by=[loans.balance.desc(), loans.loan_id]
    )
    ranked = loans.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).select(
        **{key: ranked[key]},
        _org_id=ranked.org_id.cast("string"),
        _manager_id=ranked.manager_id.cast("string"),
        _loan_customer_name=ranked.customer_name.cast("string"),
    )


def _of_customers(rows: ibis.Table, live: ibis.Table, names: ibis.Table | None) -> ibis.Table:
    largest = _largest_loans(live, "customer_id", rows)
    t = attach(rows, largest, "customer_id")
    if names is not None:
        t = attach(t, names, "customer_id")
    else:
        t = t.mutate(_customer_name=ibis.null("string"))
    return t.select(
        code=t.code,
        severity=t.severity,
        loan_id=ibis.literal(""),
        customer_id=t.customer_id,
        customer_name=t._loan_customer_name.fill_null(t._customer_name).fill_null(""),
        org_id=t._org_id.fill_null(""),
        manager_id=t._manager_id.fill_null(""),
        value=t.value,
        threshold=t.threshold,
        evidence=t.evidence,
    )


def _of_officers(rows: ibis.Table, live: ibis.Table, staff: ibis.Table | None) -> ibis.Table:
    largest = _largest_loans(live, "manager_id", rows)
    t = attach(rows, largest, "manager_id")
    if staff is not None:
        s = complete(staff, STAFF)
        t = attach(
            t, s.select(manager_id=s.staff_id, _staff_org=s.org_id.cast("string")), "manager_id"
        )
        org = t._staff_org.fill_null(t._org_id)
    else:
        org = t._org_id
    return t.select(
        code=t.code,
        severity=t.severity,
        loan_id=ibis.literal(""),
        customer_id=ibis.literal(""),
        customer_name=ibis.literal(""),
        org_id=org.fill_null(""),
        manager_id=t.manager_id,
        value=t.value,
        threshold=t.threshold,
        evidence=t.evidence,
    )


def _finish(t: ibis.Table, params: SignalParameters) -> ibis.Table:
    """Labels, default severities, due days; the columns typed and in order; sorted."""
    code = t.code
    default = ibis.cases(*((code == c, s) for c, (_, s) in SIGNALS.items()), else_=1)
    severity = (t.severity == 0).ifelse(default, t.severity).cast("int8")
    t = t.mutate(severity=severity)
    due = ibis.cases(
        *((t.severity == s, days) for s, days in sorted(params.due_days.items())), else_=30
    )
    t = t.mutate(
        label=ibis.cases(*((code == c, label) for c, (label, _) in SIGNALS.items()), else_=""),
        due_days=due.cast("int32"),
    )
    return t.select(*(t[c].cast(SIGNAL_TYPES[c]) for c in SIGNAL_COLUMNS))


__all__ = [
    "SEVERITY_LABELS",
    "SIGNALS",
    "SIGNAL_COLUMNS",
    "SignalInputs",
    "compute_signals",
    "signal_parts",
]
