"""The customers' 监测通知书 (MAT3M) / 提示函 (MAT1M): one loan's or an org's, as a print
view and as PDF from the same template. Reading or printing records nothing; the print
view's 登记已发送 form (a POST) records the sending."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from loanquality.common.pdf import pdf_response
from loanquality.common.scope import scope_of
from loanquality.portfolio import selectors as portfolio
from loanquality.warnings import actions, selectors
from loanquality.warnings.models import NoticeKind
from loanquality.warnings.views.cases import CODE_LABELS

# what the customer is asked to do, by notice
NOTICE_TEXT = {
    NoticeKind.MAT3M: (
        "上述贷款将于三个月内到期。请贵方提前安排还款资金，按期归还贷款本息；如确有困难需办理"
        "展期或续贷，请于到期日一个月前向我行提出书面申请并提供相关资料。"
    ),
    NoticeKind.MAT1M: (
        "上述贷款将于一个月内到期。请贵方务必于到期日前备足资金，按期归还贷款本息，以免产生"
        "逾期罚息并影响贵方信用记录。如有疑问，请及时与管户客户经理联系。"
    ),
}

# --- 监测通知书 / 提示函 -----------------------------------------------------------------

# the most letters one org-wide print holds: above it the user narrows to a lower org
MAX_NOTICES = 2_000


class TooManyNotices(Exception):
    def __init__(self, context: dict):
        self.context = context


def _kind(request) -> NoticeKind:
    kind = request.GET.get("kind") or NoticeKind.MAT3M
    if kind not in NoticeKind.values:
        raise BadRequest("通知类型应为 MAT3M（监测通知书）或 MAT1M（提示函）")
    return NoticeKind(kind)


def _notice_close() -> dt.date:
    as_of = portfolio.latest_close()
    if as_of is None:
        raise Http404("尚未结账")
    return as_of


def _one_notice(request, loan_id: str) -> dict:
    """One loan's notice, if the loan is in the user's subtree and carries the signal of
    ``kind`` at the latest close; 404 otherwise."""
    scope = scope_of(request.user)
    kind = _kind(request)
    as_of = _notice_close()
    found = selectors.notice_loans(scope, as_of, kind, loan_id=loan_id)
    if not found:
        raise Http404(
            f"没有这笔贷款，或不在您的机构范围内，或它在报告日 {as_of} 没有{CODE_LABELS[kind]}信号"
        )
    return _notice_context(request, scope, kind, as_of, found[0]["org_id"], found) | {
        "send_url": f"{reverse('notice', args=[loan_id])}?kind={kind}",
    }


def _org_notices(request) -> dict:
    """The letters of an org's subtree, at most ``MAX_NOTICES`` of them (above it
    ``TooManyNotices``: a lower org or a narrower kind is asked for)."""
    scope = scope_of(request.user)
    kind = _kind(request)
    as_of = _notice_close()
    org = request.GET.get("org") or scope.org_id
    if not scope.covers(org):
        raise Http404("不在您的机构范围内")
    loans = selectors.notice_loans(scope, as_of, kind, org)
    if not loans:
        raise Http404(f"{scope.tree.name(org)}在报告日 {as_of} 没有需要发送{kind.label}的贷款")
    if len(loans) > MAX_NOTICES:
        raise TooManyNotices(
            {
                "title": kind.label,
                "org": scope.tree.name(org),
                "count": len(loans),
                "limit": MAX_NOTICES,
                "as_of": as_of,
                "lower": [
                    (child, scope.tree.name(child))
                    for child in scope.tree.children(org)
                    if scope.covers(child)
                ],
                "kind": kind,
            }
        )
    return _notice_context(request, scope, kind, as_of, org, loans) | {
        "send_url": f"{reverse('notices')}?kind={kind}&org={org}",
    }


def _notice_context(request, scope, kind, as_of, org, loans: list[dict]) -> dict:
    """Each loan with its days left and the name of the org that sends it. Reading it
    records nothing: sending is the POST of 登记已发送 (``_record``)."""
    today = timezone.localdate()
    letters = []
    for loan in loans:
        maturity = loan["maturity_date"]
        letters.append(
            {
                **loan,
                "maturity": maturity,
                "days_left": (maturity - as_of).days if maturity else None,
                "org_name": scope.tree.name(loan["org_id"]),
            }
        )
    return {
        "title": kind.label,
        "kind": kind,
        "org": scope.tree.name(org),
        "org_id": org,
        "as_of": as_of,
        "today": today,
        "letters": letters,
        "loans": loans,
        "ask": NOTICE_TEXT[kind],
        # only who may send sees the form (others may read and print)
        "can_send": request.user.role in actions.HANDLERS,
    }


def _record(request, context: dict):
    """登记已发送: the letters shown are recorded as sent by the user (``record_notices``:
    403 for a role that may not send), unless the close has changed since the page was
    read (then nothing is recorded and the page says so)."""
    if request.POST.get("as_of") != context["as_of"].isoformat():
        messages.error(
            request,
            f"报告日已变为 {context['as_of']}，未登记；请核对本页通知书后重新登记。",
        )
        return redirect(context["send_url"])
    sent = actions.record_notices(request.user, context["kind"], context["as_of"], context["loans"])
    shown = "、".join(n.loan_id for n in sent[:5]) + ("等" if len(sent) > 5 else "")
    messages.success(
        request,
        f"已登记发送{context['title']} {len(sent)} 份（报告日 {context['as_of']}，借据号 {shown}）",
    )
    return redirect(context["send_url"])


def _too_many(request, refused: TooManyNotices):
    return render(request, "warnings/too_many_notices.html", refused.context, status=400)


def notice_page(request, loan_id: str):
    context = _one_notice(request, loan_id)
    if request.method == "POST":
        return _record(request, context)
    return render(request, "warnings/print_notice.html", context)


def notice_pdf(request, loan_id: str):
    context = _one_notice(request, loan_id)
    return pdf_response(
        request,
        "warnings/print_notice.html",
        context,
        f"{context['title']}-{loan_id}.pdf",
    )


def org_notices_page(request):
    try:
        context = _org_notices(request)
    except TooManyNotices as refused:
        return _too_many(request, refused)
    if request.method == "POST":
        return _record(request, context)
    return render(request, "warnings/print_notice.html", context)


def org_notices_pdf(request):
    try:
        context = _org_notices(request)
    except TooManyNotices as refused:
        return _too_many(request, refused)
    name = f"{context['title']}-{context['org']}-{context['as_of']}.pdf"
    return pdf_response(request, "warnings/print_notice.html", context, name)
