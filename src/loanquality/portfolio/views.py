"""Pages: 驾驶舱, 资产质量分析 with drill-down, loan lists, 贷款查询, 贷款详情."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import render

from loanquality.engine import reports
from loanquality.engine.metrics import CATALOGUE, GROUPING_LABELS
from loanquality.overrides.actions import overrides_in_scope
from loanquality.portfolio import selectors
from loanquality.portfolio.access import access_loan
from loanquality.portfolio.dashboard import dashboard
from loanquality.portfolio.scope import scope_of
from loanquality.web.dates import day_of

PAGE_SIZE = 50
MAX_PAGE = 10_000_000  # past any ledger; keeps the offset a 64-bit integer
ANALYSIS_COLUMNS = (
    "loan_count",
    "balance",
    "npl_balance",
    "npl_ratio",
    "npl_ratio_change",
    "special_mention_ratio",
    "overdue_balance",
    "overdue90_balance",
    "hidden_npl_balance",
    "migration_rate_c1",
    "maturity_recovery_rate",
    "provision_coverage",
)
LABELS = {m.id: m for m in CATALOGUE}


def _as_of(request) -> dt.date | None:
    """The close asked for (``?as_of=``), else the latest; 400 for what is not a date (or
    out of range), 404 for a date never closed."""
    closed = selectors.closed_dates()
    text = request.GET.get("as_of")
    if not text:
        return closed[-1] if closed else None
    try:
        as_of = day_of(text)
    except ValueError as error:
        raise BadRequest(f"报告日：{error}") from None
    if as_of not in closed:
        raise Http404("该报告日尚未结账")
    return as_of


def _context(request, as_of, **extra) -> dict:
    return {"as_of": as_of, "closed_dates": selectors.closed_dates()[::-1], **extra}


def dashboard_page(request):
    scope = scope_of(request.user)
    as_of = _as_of(request)
    board = dashboard(scope, as_of) if as_of else {"empty": True}
    return render(
        request,
        "portfolio/dashboard.html",
        _context(request, as_of, board=board, scope_name=scope.tree.name(scope.org_id)),
    )


def analysis_page(request):
    """One org at a time: its own row, its child units and the officers who belong to it;
    each figure links to the loans behind it."""
    scope = scope_of(request.user)
    as_of = _as_of(request)
    org = request.GET.get("org") or scope.org_id
    if not scope.covers(org):
        raise Http404("不在您的机构范围内")
    children = scope.tree.children(org)
    context = _context(
        request,
        as_of,
        org=org,
        org_name=scope.tree.name(org),
        path=[(o, scope.tree.name(o)) for o in scope.tree.path(org) if scope.covers(o)],
        columns=[LABELS[c] for c in ANALYSIS_COLUMNS],
        groupings={g: GROUPING_LABELS[g] for g in _other_groupings(scope)},
    )
    if as_of:
        context["self_row"] = next(iter(selectors.metric_rows(as_of, "org", [org])), None)
        context["rows"] = selectors.metric_rows(as_of, "org", children) if children else []
        officers = selectors.officers_of(scope, as_of, [org])
        context["officers"] = selectors.metric_rows(as_of, "manager", officers)
    return render(request, "portfolio/analysis.html", context)


def _other_groupings(scope) -> list[str]:
    return (
        [g for g in GROUPING_LABELS if g not in ("org", "manager", "total")]
        if scope.bank_wide
        else []
    )


def grouping_page(request, group_by: str):
    """A bank-wide breakdown (product, industry …): for users who see the whole bank."""
    scope = scope_of(request.user)
    if group_by not in _other_groupings(scope):
        raise Http404("该分组仅对全行用户开放")
    as_of = _as_of(request)
    rows = selectors.scoped_metric_rows(scope, as_of, group_by) if as_of else []
    return render(
        request,
        "portfolio/grouping.html",
        _context(
            request,
            as_of,
            rows=rows,
            group_by=group_by,
            group_label=GROUPING_LABELS[group_by],
            columns=[LABELS[c] for c in ANALYSIS_COLUMNS],
        ),
    )


def analysis_export(request):
    """The metric tables the user may see, as the same Excel the CLI writes."""
    scope = scope_of(request.user)
    as_of = _as_of(request)
    if as_of is None:
        raise Http404("尚未结账")
    groupings = ["total", *GROUPING_LABELS] if scope.bank_wide else ["org", "manager"]
    rows = [
        row
        for g in dict.fromkeys(groupings)
        for row in (
            selectors.metric_rows(as_of, "total")
            if g == "total" and scope.bank_wide
            else selectors.scoped_metric_rows(scope, as_of, g)
        )
    ]
    document = {"as_of": as_of.isoformat(), "rows": rows}
    response = HttpResponse(
        reports.render(document, "xlsx", "indicators"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="indicators-{as_of}.xlsx"'
    return response


def loan_list_page(request):
    scope = scope_of(request.user)
    as_of = _as_of(request)
    kind = request.GET.get("kind", "all")
    if kind not in selectors.LOAN_FILTERS:
        raise Http404("未知的筛选条件")
    org = request.GET.get("org") or None
    if org and not scope.covers(org):
        raise Http404("不在您的机构范围内")
    try:
        page = min(max(1, int(request.GET.get("page", 1))), MAX_PAGE)
    except ValueError:
        page = 1
    manager = request.GET.get("manager") or None
    result = (
        selectors.loans(
            scope,
            as_of,
            org=org,
            manager=manager,
            kind=kind,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        if as_of
        else selectors.LoanPage([], 0, 0.0)
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render(
        request,
        "portfolio/loans.html",
        _context(
            request,
            as_of,
            result=result,
            kind=kind,
            kind_label=selectors.LOAN_FILTERS[kind][0],
            org=org,
            org_name=scope.tree.name(org) if org else scope.tree.name(scope.org_id),
            manager=manager,
            manager_name=selectors.staff_names(as_of).get(manager, manager) if manager else None,
            page=page,
            pages=pages,
            filters={k: v[0] for k, v in selectors.LOAN_FILTERS.items()},
        ),
    )


def search_page(request):
    scope = scope_of(request.user)
    text = request.GET.get("q", "").strip()
    customers = selectors.find_customers(scope, text) if text else []
    loans = selectors.customer_loans(scope, [c["customer_id"] for c in customers])
    for customer in customers:
        customer["loans"] = loans[customer["customer_id"]]
    return render(
        request,
        "portfolio/search.html",
        _context(request, selectors.latest_close(), q=text, customers=customers),
    )


def loan_detail_page(request, loan_id: str):
    scope = scope_of(request.user)
    history = access_loan(scope, loan_id)
    latest = history[-1]
    as_of = latest["as_of"]
    return render(
        request,
        "portfolio/loan.html",
        _context(
            request,
            as_of,
            loan=latest,
            history=history[::-1],
            org_name=scope.tree.name(latest["org_id"]),
            manager_name=selectors.staff_names(as_of).get(
                latest["manager_id"], latest["manager_id"]
            ),
            schedule=selectors.loan_table("schedules", loan_id, as_of),
            repayments=selectors.loan_table("repayments", loan_id, as_of, every_import=True),
            collateral=selectors.loan_table("collateral", loan_id, as_of),
            guarantees=selectors.loan_table("guarantees", loan_id, as_of),
            overrides=overrides_in_scope(scope)
            .filter(loan_id=loan_id)
            .select_related("maker", "checker"),
            latest_close=selectors.latest_close(),
        ),
    )
