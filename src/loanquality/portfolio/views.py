"""Pages: 驾驶舱, 资产质量分析 with drill-down, loan lists, 贷款查询, 贷款详情."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import BadRequest
from django.http import Http404
from django.shortcuts import render

from loanquality.common.dates import day_of
from loanquality.common.downloads import xlsx_attachment
from loanquality.common.labels import CATEGORY_LABELS
from loanquality.common.scope import scope_of
from loanquality.engine import reports
from loanquality.engine.metrics import CATALOGUE, GROUPING_LABELS
from loanquality.overrides.authority import propose_refusal
from loanquality.overrides.selectors import overrides_of
from loanquality.portfolio import selectors, workbooks
from loanquality.portfolio.access import access_loan
from loanquality.portfolio.dashboard import SEVERITIES, dashboard, warning_counts

PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 20  # customers per page of a search
MAX_PAGE = 10_000_000  # past any ledger; keeps the offset a 64-bit integer
ANALYSIS_COLUMNS = (
    "loan_count",
    "balance",
    "npl_balance",
    "npl_ratio",
    "npl_ratio_change",
    "npl_ratio_above_redline",
    "npl_ratio_near_redline",
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
        _context(
            request,
            as_of,
            board=board,
            scope_name=scope.tree.name(scope.org_id),
            warnings=warning_counts(scope),
            severities=SEVERITIES,
        ),
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
    document = {
        "as_of": as_of.isoformat(),
        "rows": selectors.indicator_rows(scope, as_of, groupings),
    }
    return xlsx_attachment(
        reports.render(document, "xlsx", "indicators"), f"indicators-{as_of}.xlsx"
    )


def _page_number(request) -> int:
    try:
        return min(max(1, int(request.GET.get("page", 1))), MAX_PAGE)
    except ValueError:
        return 1


def _loan_filter(request, scope) -> selectors.LoanFilter:
    """The list's filters from the query: 404 for an org outside the user's subtree or an
    unknown list, 400 (in Chinese) for a category or overdue band that does not exist."""
    get = request.GET
    kind = get.get("kind", "all")
    if kind not in selectors.LOAN_FILTERS:
        raise Http404("未知的筛选条件")
    org = get.get("org") or None
    if org and not scope.covers(org):
        raise Http404("不在您的机构范围内")
    category = get.get("category") or None
    if category is not None and category not in {str(c) for c in CATEGORY_LABELS}:
        raise BadRequest("五级分类应为 1–5")
    overdue = get.get("overdue") or None
    if overdue is not None and overdue not in selectors.OVERDUE_BANDS:
        raise BadRequest("未知的逾期区间")
    return selectors.LoanFilter(
        kind=kind,
        org=org,
        manager=get.get("manager") or None,
        staff=request.user.staff_id if get.get("mine") else None,
        product=get.get("product") or None,
        category=int(category) if category else None,
        overdue=overdue,
        guarantee=get.get("guarantee") or None,
    )


def _list_title(scope, as_of, filters: selectors.LoanFilter, rows: list[dict]) -> str:
    """The list's title. A ``?manager=`` is named if the user may know them: staff of the
    user's orgs, or the manager of loans listed (any name is in the bank's staff table)."""
    parts = ["我的贷款" if filters.staff else "贷款清单"]
    parts.append(scope.tree.name(filters.org or scope.org_id))
    if filters.manager:
        named = selectors.staff_names(as_of, scope).get(filters.manager) or next(
            (r["manager_label"] for r in rows if r["manager_id"] == filters.manager), None
        )
        parts.append("客户经理 " + (named or filters.manager))
    parts.append(selectors.LOAN_FILTERS[filters.kind][0])
    return " · ".join(parts)


def _filter_choices(scope, as_of, org: str | None) -> dict:
    """What each filter offers: the user's orgs, the officers of the chosen org (or of the
    whole scope), the products and guarantee types of the close."""
    staff = selectors.staff_names(as_of, scope)
    officers = selectors.officers_of(scope, as_of, scope.tree.subtree(org) if org else None)
    return {
        "orgs": [
            (o, "　" * (len(scope.tree.path(o)) - 1) + scope.tree.name(o))
            for o in sorted(scope.orgs, key=scope.tree.path)
        ],
        "officers": [(s, f"{staff.get(s, s)}（{s}）") for s in officers],
        "products": selectors.grouping_keys(as_of, "product"),
        "guarantees": selectors.grouping_keys(as_of, "guarantee_type"),
        "categories": CATEGORY_LABELS.items(),
        "bands": [(code, band[0]) for code, band in selectors.OVERDUE_BANDS.items()],
        "kinds": {k: v[0] for k, v in selectors.LOAN_FILTERS.items()},
    }


def _without_staff_id(request) -> bool:
    """我的贷款 asked by a user the ledger cannot name (no staff id on the account)."""
    return bool(request.GET.get("mine")) and not request.user.staff_id


def loan_list_page(request):
    scope = scope_of(request.user)
    as_of = _as_of(request)
    filters = _loan_filter(request, scope)
    sort = request.GET.get("sort") or selectors.DEFAULT_SORT
    page = _page_number(request)
    empty = selectors.LoanPage([], 0, 0.0)
    result = (
        selectors.loans(
            scope, as_of, filters, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        if as_of and not _without_staff_id(request)
        else empty
    )
    return render(
        request,
        "portfolio/loans.html",
        _context(
            request,
            as_of,
            result=result,
            filters=filters,
            title=_list_title(scope, as_of, filters, result.rows),
            no_staff_id=_without_staff_id(request),
            sort=sort if sort.lstrip("-") in selectors.SORT_COLUMNS else selectors.DEFAULT_SORT,
            page=page,
            pages=max(1, -(-result.total // PAGE_SIZE)),
            choices=_filter_choices(scope, as_of, filters.org) if as_of else {},
        ),
    )


def loan_list_export(request):
    """The whole list the page shows (every page, same filters and order) as Excel."""
    scope = scope_of(request.user)
    as_of = _as_of(request)
    if as_of is None:
        raise Http404("尚未结账")
    filters = _loan_filter(request, scope)
    result = (
        selectors.loans(
            scope,
            as_of,
            filters,
            sort=request.GET.get("sort") or selectors.DEFAULT_SORT,
            limit=workbooks.EXPORT_LIMIT,
        )
        if not _without_staff_id(request)
        else selectors.LoanPage([], 0, 0.0)
    )
    title = f"{_list_title(scope, as_of, filters, result.rows)} · 报告日 {as_of}"
    return xlsx_attachment(
        workbooks.loan_workbook(result.rows, title, result.total), f"贷款清单-{as_of}.xlsx"
    )


def search_page(request):
    scope = scope_of(request.user)
    text = request.GET.get("q", "").strip()
    page = _page_number(request)
    found = selectors.find_customers(
        scope, text, limit=SEARCH_PAGE_SIZE, offset=(page - 1) * SEARCH_PAGE_SIZE
    )
    loans = selectors.customer_loans(scope, [c["customer_id"] for c in found.rows])
    for customer in found.rows:
        customer["loans"] = loans[customer["customer_id"]]
    latest = selectors.latest_close()
    return render(
        request,
        "portfolio/search.html",
        _context(
            request,
            latest,
            q=text,
            customers=found.rows,
            total=found.total,
            page=page,
            pages=max(1, -(-found.total // SEARCH_PAGE_SIZE)),
            latest_close=latest,
        ),
    )


def search_export(request):
    """Every loan of every matched customer (not only the page shown), as Excel; a loan no
    longer in the latest ledger says 已结清 and when it was last seen."""
    scope = scope_of(request.user)
    text = request.GET.get("q", "").strip()
    found = selectors.find_customers(scope, text, limit=workbooks.EXPORT_LIMIT)
    loans = selectors.customer_loans(scope, [c["customer_id"] for c in found.rows])
    latest = selectors.latest_close()
    rows = [
        {**loan, "settled": "已结清" if loan["as_of"] < latest else "在册"}
        for customer in found.rows
        for loan in loans[customer["customer_id"]]
    ][: workbooks.EXPORT_LIMIT]
    title = f"贷款查询「{text}」 · 匹配客户 {found.total} 户"
    return xlsx_attachment(
        workbooks.loan_workbook(rows, title, len(rows), workbooks.SEARCH_COLUMNS),
        "贷款查询结果.xlsx",
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
            schedule=selectors.loan_table("schedules", loan_id, as_of),
            repayments=selectors.loan_table("repayments", loan_id, as_of, every_import=True),
            collateral=selectors.loan_table("collateral", loan_id, as_of),
            guarantees=selectors.loan_table("guarantees", loan_id, as_of),
            overrides=overrides_of(request.user).filter(loan_id=loan_id),
            warning_cases=_open_warnings(scope, loan_id),
            latest_close=selectors.latest_close(),
            may_propose=propose_refusal(request.user, latest) is None,
        ),
    )


def _open_warnings(scope, loan_id: str) -> list:
    """The loan's warning cases not yet closed (the 预警 box of the loan's page)."""
    from loanquality.warnings.models import Case, State

    return list(
        Case.objects.in_scope(scope).filter(loan_id=loan_id).exclude(state=State.CLOSED)[:20]
    )
