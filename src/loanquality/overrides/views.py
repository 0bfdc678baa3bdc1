"""认定 pages: propose (one loan or a batch), the queue, one proposal with its decision."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render

from loanquality.common.access import MAX_ID
from loanquality.common.scope import scope_of
from loanquality.overrides import actions
from loanquality.overrides.authority import APPROVERS, PROPOSERS, may_decide, propose_refusal
from loanquality.overrides.models import CATEGORY_CHOICES, Status
from loanquality.overrides.selectors import get_override, overrides_of
from loanquality.portfolio import selectors
from loanquality.portfolio.access import access_loan

TABS = {"waiting": "待我审批", "mine": "我发起的", "all": "全部"}


def queue_page(request):
    """认定 queue: waiting for me (approvers), mine, or all of my subtree."""
    user = request.user
    default = "waiting" if user.role in APPROVERS else "mine"
    tab = request.GET.get("tab", default)
    if tab not in TABS:
        raise Http404("未知页签")
    found = overrides_of(user)
    if tab == "waiting":
        found = [o for o in found.filter(status=Status.PENDING) if may_decide(user, o)]
    elif tab == "mine":
        found = found.filter(maker=user)
    return render(
        request,
        "overrides/queue.html",
        {
            "tab": tab,
            "tabs": TABS,
            "overrides": list(found[:500]),
            "may_propose": user.role in PROPOSERS,
        },
    )


def propose_page(request, loan_id: str):
    as_of = selectors.latest_close()
    if as_of is None:
        raise Http404("尚未结账")
    loan = access_loan(scope_of(request.user), loan_id, as_of)[-1]
    refusal = propose_refusal(request.user, loan)
    error = None
    if request.method == "POST" and refusal is None:
        try:
            override = actions.propose(
                request.user,
                loan_id,
                as_of,
                _int(request.POST.get("category")),
                request.POST.get("reason", ""),
                request.FILES.getlist("evidence"),
            )
        except ValidationError as invalid:
            error = "；".join(invalid.messages)
        else:
            messages.success(request, f"已提交认定#{override.pk}，等待审批")
            return redirect("override", pk=override.pk)
    return render(
        request,
        "overrides/propose.html",
        {
            "loan": loan,
            "as_of": as_of,
            "error": error,
            "categories": CATEGORY_CHOICES,
            "refusal": refusal,
            "typed": request.POST,
        },
        status=400 if error else 403 if refusal and request.method == "POST" else 200,
    )


def override_page(request, pk: int):
    override = get_override(request.user, pk)
    error = None
    if request.method == "POST":
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "")
        steps = {"approve": actions.approve, "reject": actions.reject, "withdraw": actions.withdraw}
        try:
            if decision not in steps:
                raise ValidationError("未知操作")
            steps[decision](request.user, pk, comment)
        except ValidationError as invalid:
            error = "；".join(invalid.messages)
        else:
            done = {"approve": "已审批通过，正在重新结账", "reject": "已退回", "withdraw": "已撤回"}
            messages.success(request, done[decision])
            return redirect("override", pk=pk)
        override.refresh_from_db()
    return render(
        request,
        "overrides/override.html",
        {
            "o": override,
            "error": error,
            "may_decide": override.status == Status.PENDING and may_decide(request.user, override),
            "may_withdraw": override.status == Status.PENDING
            and override.maker_id == request.user.pk,
        },
        status=400 if error else 200,
    )


def evidence_file(request, pk: int, evidence_id: int):
    override = get_override(request.user, pk)
    evidence = override.evidence.filter(pk=evidence_id).first() if evidence_id < MAX_ID else None
    if evidence is None or not evidence.path().exists():
        raise Http404("没有这份材料")
    return FileResponse(evidence.path().open("rb"), as_attachment=True, filename=evidence.name)


def batch_page(request):
    if request.user.role not in PROPOSERS:
        raise PermissionDenied("您的岗位不能发起认定")
    as_of = selectors.latest_close()
    result, error = None, None
    if request.method == "POST":
        upload = request.FILES.get("sheet")
        if as_of is None:
            error = "尚未结账，不能认定"
        elif upload is None:
            error = "请选择认定清单文件（xlsx 或 csv）"
        else:
            result = actions.propose_batch(request.user, as_of, upload)
    return render(
        request,
        "overrides/batch.html",
        {"as_of": as_of, "result": result, "error": error},
        status=400 if error or (result and result.problems) else 200,
    )


def _int(text) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise ValidationError("请选择认定分类") from None
