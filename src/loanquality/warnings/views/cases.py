"""预警 pages about cases: the list (filters, paging, Excel), one case with the forms its
user may use, and its 《风险预警信号处理表》 as a print view and as PDF from the same template.
Thin: parse, fetch within the user's subtree, call one action."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from loanquality.accounts.models import User
from loanquality.common.downloads import xlsx_attachment
from loanquality.common.exports import ExcelBook
from loanquality.common.pdf import pdf_response
from loanquality.common.scope import scope_of
from loanquality.engine.signals import SEVERITY_LABELS, SIGNALS
from loanquality.overrides.selectors import overrides_of
from loanquality.portfolio import selectors as portfolio
from loanquality.portfolio.access import access_loans_at
from loanquality.warnings import actions, selectors
from loanquality.warnings.models import Case, NoticeKind, State

PAGE_SIZE = 50
MAX_PAGE = 10_000_000
EXPORT_LIMIT = 200_000
# SPEC §6: what each code is called, as the engine names it
CODE_LABELS = {code: label for code, (label, _) in SIGNALS.items()}
EXPORT_COLUMNS = {
    "id": "预警编号",
    "code": "预警信号代码",
    "code_label": "预警信号",
    "severity_label": "严重程度",
    "loan_id": "借据号",
    "customer_id": "客户号",
    "customer_name": "客户名称",
    "org_id": "机构号",
    "org_name": "机构名称",
    "manager_id": "管户客户经理",
    "evidence": "预警依据",
    "value": "监测值",
    "threshold": "阈值",
    "first_as_of": "首次预警报告日",
    "last_as_of": "最近预警报告日",
    "times_fired": "预警次数",
    "state_label": "状态",
    "assignee": "处理人",
    "opened_on": "立案日期",
    "due_on": "处理期限",
    "overdue": "是否逾期",
    "escalated_at": "升级时间",
}


is_overdue = selectors.is_overdue


# --- the list --------------------------------------------------------------------------


def _filters(request, scope) -> dict:
    """The list's filters from the query: 404 for an org outside the subtree, 400 (all the
    problems at once, in Chinese) for a code, severity or state that does not exist."""
    get = request.GET
    problems = []
    code = get.get("code") or None
    if code and code not in CODE_LABELS:
        problems.append(f"未知的预警信号：{code}")
    severity = get.get("severity") or None
    if severity and severity not in {str(s) for s in SEVERITY_LABELS}:
        problems.append("严重程度应为 1（低）、2（中）或 3（高）")
    state = get.get("state") or None
    if state and state not in State.values and state not in selectors.STATE_GROUPS:
        problems.append(f"未知的状态：{state}")
    assignee = get.get("assignee") or None
    if assignee and assignee != "me":
        problems.append("处理人只能筛选为 me（分派给我的）")
    checker = get.get("checker") or None
    if checker and checker != "me":
        problems.append("复核人只能筛选为 me（待我复核关闭的）")
    if problems:
        raise BadRequest("；".join(problems))
    org = get.get("org") or None
    if org and not scope.covers(org):
        raise Http404("不在您的机构范围内")
    return {
        "code": code,
        "severity": int(severity) if severity else None,
        "state": state,
        "org": org,
        "officer": get.get("officer") or None,
        "overdue": bool(get.get("overdue")),
        "assignee": request.user if assignee else None,
        "checker": request.user if checker else None,
    }


def _page_number(request) -> int:
    try:
        return min(max(1, int(request.GET.get("page", 1))), MAX_PAGE)
    except ValueError:
        return 1


def _read_cases(scope, filters: dict):
    """The cases of the user's subtree narrowed by ``filters`` (``selectors.cases`` syncs
    the newest close and escalates overdue cases first, as every list read does)."""
    narrow = {
        "code": filters["code"],
        "severity": filters["severity"],
        "state": filters["state"],
        "org": filters["org"],
        "officer": filters["officer"],
        "overdue": filters["overdue"],
        "assignee": filters["assignee"],
    }
    found = selectors.cases(scope, **narrow, checker=filters["checker"])
    return found.select_related("assignee")


def case_list_page(request):
    scope = scope_of(request.user)
    filters = _filters(request, scope)
    found = _read_cases(scope, filters)
    if request.GET.get("format") == "xlsx":
        return _export(scope, filters, found)
    page = _page_number(request)
    total = found.count()
    rows = list(found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    today = timezone.localdate()
    for case in rows:
        case.overdue = is_overdue(case, today)
    labels = CODE_LABELS
    return render(
        request,
        "warnings/list.html",
        {
            "cases": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "title": _title(scope, filters, labels),
            "labels": labels,
            "choices": _choices(scope),
            **_notice_link(scope, filters["code"], filters["org"]),
        },
    )


def _notice_link(scope, code: str | None, org: str | None) -> dict:
    """For MAT3M / MAT1M: the notice to print (监测通知书 / 提示函) and for which org."""
    if code not in NoticeKind.values:
        return {}
    return {
        "notice_kind": code,
        "notice_label": NoticeKind(code).label,
        "notice_org_name": scope.tree.name(org or scope.org_id),
    }


def _title(scope, filters: dict, labels: dict[str, str]) -> str:
    parts = ["预警事项", scope.tree.name(filters["org"] or scope.org_id)]
    if filters["code"]:
        parts.append(labels[filters["code"]])
    if filters["severity"]:
        parts.append(f"严重程度{SEVERITY_LABELS[filters['severity']]}")
    if filters["state"]:
        state = filters["state"]
        groups = selectors.STATE_GROUPS
        parts.append(groups[state][0] if state in groups else State(state).label)
    if filters["officer"]:
        parts.append(f"客户经理 {filters['officer']}")
    if filters["overdue"]:
        parts.append("已逾期")
    if filters["assignee"]:
        parts.append("分派给我的")
    if filters["checker"]:
        parts.append("待我复核关闭")
    return " · ".join(parts)


def _choices(scope) -> dict:
    latest = portfolio.latest_close()
    # the staff table of the user's orgs (small), not a scan of the loans for managers
    staff = portfolio.staff_names(latest, scope) if latest else {}
    return {
        "codes": CODE_LABELS.items(),
        "severities": SEVERITY_LABELS.items(),
        "states": [
            *((k, label) for k, (label, _) in selectors.STATE_GROUPS.items()),
            *State.choices,
        ],
        "orgs": [
            (o, "　" * (len(scope.tree.path(o)) - 1) + scope.tree.name(o))
            for o in sorted(scope.orgs, key=scope.tree.path)
        ],
        "officers": [(s, f"{name}（{s}）") for s, name in sorted(staff.items())],
    }


def _export(scope, filters: dict, found) -> object:
    """Every case the list shows (all pages, the same filters and order), as Excel."""
    labels = CODE_LABELS
    today = timezone.localdate()
    total = found.count()
    cases = found[:EXPORT_LIMIT]

    def line(case: Case) -> list:
        row = {
            "id": case.pk,
            "code": case.code,
            "code_label": labels.get(case.code, case.code),
            "severity_label": SEVERITY_LABELS.get(case.severity, case.severity),
            "loan_id": case.loan_id,
            "customer_id": case.customer_id,
            "customer_name": case.customer_name,
            "org_id": case.org_id,
            "org_name": scope.tree.name(case.org_id),
            "manager_id": case.manager_id,
            "evidence": case.evidence,
            "value": case.value,
            "threshold": case.threshold,
            "first_as_of": case.first_as_of.isoformat(),
            "last_as_of": case.last_as_of.isoformat(),
            "times_fired": case.times_fired,
            "state_label": case.get_state_display(),
            "assignee": case.assignee.username if case.assignee else "",
            "opened_on": case.opened_on.isoformat(),
            "due_on": case.due_on.isoformat(),
            "overdue": "是" if is_overdue(case, today) else "否",
            "escalated_at": (
                timezone.localtime(case.escalated_at).strftime("%Y-%m-%d %H:%M")
                if case.escalated_at
                else ""
            ),
        }
        return [row[c] for c in EXPORT_COLUMNS]

    title = _title(scope, filters, labels)
    note = f"{title}（共 {total} 件" + (
        f"，仅导出前 {EXPORT_LIMIT} 件，请缩小筛选范围）" if total > EXPORT_LIMIT else "）"
    )
    with ExcelBook(constant_memory=True) as excel:
        excel.write_sheet(
            "预警事项",
            list(EXPORT_COLUMNS.values()),
            (line(c) for c in cases.iterator(chunk_size=2000)),
            title=note,
            widths={(1, 2): 14, (4, 6): 16, 10: 60},
        )
    return xlsx_attachment(excel.data, f"预警事项-{today}.xlsx")


# --- one case --------------------------------------------------------------------------

FORMS = ("assign", "start", "measure", "resolve", "transfer", "close")
DONE = {
    "assign": "已分派",
    "start": "已开始处理",
    "measure": "已记录处置措施",
    "resolve": "已化解",
    "transfer": "已转处置",
    "close": "已关闭",
}


def _loan_of(scope, case: Case) -> dict | None:
    """The case's loan at the latest close, else at the case's last close (one partition
    read each, not the loan's whole history); None for a customer's or officer's signal,
    or a loan no longer in the user's subtree."""
    if not case.loan_id:
        return None
    for as_of in dict.fromkeys([portfolio.latest_close(), case.last_as_of]):
        if as_of is not None:
            found = access_loans_at(scope, as_of, [case.loan_id]).get(case.loan_id)
            if found is not None:
                return found
    return None


def _assignees(user, case: Case):
    """Who the case may go to: the active handlers (officers, risk, credit department,
    directors) of the user's subtree who see the case's org, i.e. of the orgs on the way
    from the user's org down to it."""
    scope = scope_of(user)
    orgs = [o for o in scope.tree.path(case.org_id) if scope.covers(o)]
    return User.objects.filter(is_active=True, org_id__in=orgs, role__in=actions.HANDLERS).order_by(
        "org_id", "username"
    )


def _proposals(user, case: Case):
    """The 认定 proposals of the case's loan, newest first (what 转处置 may link)."""
    if not case.loan_id:
        return []
    return list(overrides_of(user).filter(loan_id=case.loan_id).order_by("-created_at")[:50])


def _act(user, case: Case, form: str, post) -> None:
    """Run the one action ``form`` names with what was typed."""
    if form == "assign":
        chosen = post.get("assignee") or ""
        assignee = _assignees(user, case).filter(pk=chosen).first() if chosen.isdigit() else None
        if assignee is None:
            raise ValidationError("请选择本机构范围内的处理人")
        actions.assign(user, case, assignee)
    elif form == "start":
        actions.start(user, case)
    elif form == "measure":
        actions.record_measure(user, case, post.get("measure", ""), post.get("result", ""))
    elif form == "resolve":
        actions.resolve(user, case, post.get("measure", ""), post.get("result", ""))
    elif form == "transfer":
        chosen = post.get("override") or ""
        override_id = int(chosen) if chosen.isdigit() and len(chosen) < 19 else None
        if chosen and override_id is None:
            raise ValidationError("请选择该笔贷款的认定")
        actions.transfer(
            user,
            case,
            override_id=override_id,
            disposal_ref=post.get("disposal_ref", ""),
        )
    elif form == "close":
        actions.close(user, case, post.get("comment", ""))


def case_page(request, pk: int):
    user = request.user
    case = selectors.get_case(user, pk)
    error, status, failed = None, 200, None
    if request.method == "POST":
        form = request.POST.get("form")
        if form not in FORMS:
            raise BadRequest("未知操作")
        # the action checks the role (403) and the state (409: the page was stale)
        try:
            _act(user, case, form, request.POST)
        except actions.CaseConflict as conflict:
            error, status, failed = conflict.message, 409, form
        except ValidationError as invalid:
            error, status, failed = "；".join(invalid.messages), 400, form
        else:
            messages.success(request, DONE[form])
            return redirect("warning", pk=pk)
        case = selectors.get_case(user, pk)
    scope = scope_of(user)
    context = _case_context(user, scope, case)
    if failed:  # the refused form stays on the page with what was typed
        context["forms"] = context["forms"] | {failed}
        context["assignees"] = context["assignees"] or list(_assignees(user, case))
        context["proposals"] = context["proposals"] or _proposals(user, case)
    return render(
        request,
        "warnings/case.html",
        context
        | {
            "error": error,
            "failed": failed,
            "typed": request.POST if failed else {},
        },
        status=status,
    )


def _case_context(user, scope, case: Case) -> dict:
    forms = actions.available(user, case)
    labels = CODE_LABELS
    staff = portfolio.staff_names(case.last_as_of) if case.manager_id else {}
    return {
        "case": case,
        **_notice_link(scope, case.code, None),
        "manager_name": staff.get(case.manager_id, ""),
        "code_label": labels.get(case.code, case.code),
        "overdue": is_overdue(case),
        "org_name": scope.tree.name(case.org_id),
        "loan": _loan_of(scope, case),
        "history": selectors.case_history(case),
        "measures": list(selectors.measures(case)),
        "forms": forms,
        "assignees": list(_assignees(user, case)) if "assign" in forms else [],
        "proposals": _proposals(user, case) if "transfer" in forms else [],
        "override": case.override if case.override_id else None,
    }


# --- 《风险预警信号处理表》 ------------------------------------------------------------

FORM_TITLE = "风险预警信号处理表"


def _form_context(request, pk: int) -> dict:
    user = request.user
    case = selectors.get_case(user, pk)
    scope = scope_of(user)
    return _case_context(user, scope, case) | {
        "title": FORM_TITLE,
        "org": scope.tree.name(case.org_id),
        "bank": scope.tree.name(scope.tree.root) if scope.tree.root else "",
        "printed_on": timezone.localdate(),
    }


def case_print_page(request, pk: int):
    return render(request, "warnings/print_case.html", _form_context(request, pk))


def case_print_pdf(request, pk: int):
    context = _form_context(request, pk)
    case = context["case"]
    subject = case.loan_id or case.customer_id or case.subject
    return pdf_response(
        request,
        "warnings/print_case.html",
        context,
        f"{FORM_TITLE}-{case.pk}-{subject}.pdf",
    )
