"""API of the portfolio: classified loans of a close, one loan's history, the indicators."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import Http404
from ninja import Query, Router, Schema

from loanquality.api.schemas import Day, Limit, Message, Offset
from loanquality.common.scope import lake, scope_of
from loanquality.engine.close import latest_close
from loanquality.engine.metrics import GROUPINGS
from loanquality.portfolio import selectors
from loanquality.portfolio.access import access_loan

router = Router(tags=["loans"])

LoanKind = Literal[tuple(selectors.LOAN_FILTERS)]
OverdueBand = Literal[tuple(selectors.OVERDUE_BANDS)]
LoanSort = Literal[tuple(k for c in selectors.SORT_COLUMNS for k in (c, "-" + c))]
Grouping = Literal[tuple(GROUPINGS)]


class LoanRow(Schema):
    """A loan's codes each come with their Chinese name in the ``*_label`` beside them."""

    loan_id: str
    customer_id: str | None
    customer_name: str | None
    customer_type: str | None
    customer_type_label: str | None
    industry: str | None
    industry_label: str | None
    org_id: str | None
    org_label: str | None
    manager_id: str | None
    manager_label: str | None
    manager_b_id: str | None
    manager_b_label: str | None
    product: str | None
    guarantee_type: str | None
    balance: float
    maturity_date: dt.date | None
    overdue_days: int | None
    final_category: int
    final_category_label: str
    reasons: str | None
    reasons_label: str | None
    bank_category: int | None
    bank_category_label: str | None
    deviation: bool | None
    written_off: bool | None


class LoanList(Schema):
    as_of: dt.date | None
    total: int
    total_balance: float
    rows: list[LoanRow]


class LoanDetail(LoanRow):
    as_of: dt.date
    rule_category: int
    principal_overdue_days: int | None
    interest_overdue_days: int | None
    npl_cure_date: dt.date | None
    amount: float | None
    issue_date: dt.date | None
    extended_maturity_date: dt.date | None
    prior_loan_id: str | None
    history: list[dict]


def _closed(as_of: dt.date | None) -> dt.date | None:
    if as_of is None:
        return selectors.latest_close()
    if as_of not in selectors.closed_dates():
        raise Http404("该报告日尚未结账")
    return as_of


@router.get("/loans", response={200: LoanList, 404: Message})
def list_loans(
    request,
    as_of: Day | None = None,
    q: str = "",
    kind: LoanKind = "all",
    org: str | None = None,
    manager: str | None = None,
    product: str | None = None,
    category: int | None = Query(None, ge=1, le=5),
    overdue: OverdueBand | None = None,
    guarantee: str | None = None,
    sort: LoanSort = selectors.DEFAULT_SORT,
    limit: Limit = 50,
    offset: Offset = 0,
):
    """Classified loans of a close in the user's orgs, as the 贷款清单 page filters and sorts
    them; ``q`` matches a loan id, customer id or part of a name; ``kind`` is one of all,
    npl, special_mention, overdue, overdue90, hidden; ``org`` takes its subtree (404 outside
    the user's), ``manager`` the 管户 staff id, ``overdue`` an overdue-days band."""
    as_of = _closed(as_of)
    if as_of is None:
        return {"as_of": None, "total": 0, "total_balance": 0.0, "rows": []}
    scope = scope_of(request.user)
    if org and not scope.covers(org):
        raise Http404("不在您的机构范围内")
    filters = selectors.LoanFilter(
        kind=kind,
        org=org,
        manager=manager,
        product=product,
        category=category,
        overdue=overdue,
        guarantee=guarantee,
        query=q,
    )
    page = selectors.loans(scope, as_of, filters, sort=sort, limit=limit, offset=offset)
    return {
        "as_of": as_of,
        "total": page.total,
        "total_balance": page.total_balance,
        "rows": page.rows,
    }


@router.get("/loans/{loan_id}", response={200: LoanDetail, 404: Message})
def get_loan(request, loan_id: str, as_of: Day | None = None):
    """One loan as at ``as_of`` (default: its latest close), with its category at every close."""
    history = access_loan(scope_of(request.user), loan_id, as_of)
    latest = history[-1]
    return {
        **latest,
        "history": [
            {
                "as_of": h["as_of"],
                "balance": h["balance"],
                "overdue_days": h["overdue_days"],
                "final_category": h["final_category"],
                "final_category_label": h["final_category_label"],
                "reasons": h["reasons"],
                "reasons_label": h["reasons_label"],
            }
            for h in history
        ],
    }


@router.get("/indicators", response={200: dict, 404: Message}, tags=["indicators"])
def indicators(request, as_of: Day | None = None, by: list[Grouping] = Query(["total"])):
    """The metric catalogue per grouping, as ``loanquality indicators`` writes it (rates as
    fractions). A user below the head office gets the org and officer rows of their subtree,
    their own org's row once however many groupings hold it."""
    as_of = _closed(as_of)
    if as_of is None:
        raise Http404("尚未结账")
    scope = scope_of(request.user)
    entry = latest_close(lake(), as_of) or {}
    rows = selectors.indicator_rows(scope, as_of, by)
    return {
        "as_of": as_of.isoformat(),
        "previous_as_of": entry.get("previous_as_of"),
        "ruleset": entry.get("ruleset"),
        "ruleset_sha256": entry.get("ruleset_sha256"),
        "rows": [_clean(r) for r in rows],
    }


def _clean(row: dict) -> dict:
    return {
        k: (None if isinstance(v, float) and v != v else v)
        for k, v in row.items()
        if not k.startswith("part_")
    }
