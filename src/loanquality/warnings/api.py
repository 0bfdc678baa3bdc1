"""API of early warning: the signals a close raised (/signals) and the warning cases with
each transition of their handling (/warnings), always within the user's subtree."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import Http404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from loanquality.accounts.models import User
from loanquality.api.schemas import Day, FilledText, Limit, Message, Offset
from loanquality.common.scope import scope_of
from loanquality.warnings import actions, selectors
from loanquality.warnings.models import Case, State

router = Router(tags=["warnings"])
signals_router = Router(tags=["signals"])

CaseState = Literal[(*State.values, *selectors.STATE_GROUPS)]
ERRORS = {400: Message, 403: Message, 404: Message, 409: Message}


class SignalOut(Schema):
    code: str
    label: str
    severity: int
    loan_id: str
    customer_id: str
    customer_name: str
    org_id: str
    manager_id: str
    value: float | None
    threshold: float | None
    evidence: str


class SignalPage(Schema):
    as_of: dt.date | None
    rows: list[SignalOut]


class MeasureOut(Schema):
    measure: str
    result: str
    recorded_by: str
    recorded_at: dt.datetime


class CaseOut(Schema):
    id: int
    code: str
    subject: str
    loan_id: str
    customer_id: str
    customer_name: str
    org_id: str
    manager_id: str
    severity: int
    value: float | None
    threshold: float | None
    evidence: str
    first_as_of: dt.date
    last_as_of: dt.date
    times_fired: int
    state: str
    assignee: str | None
    opened_on: dt.date
    due_on: dt.date
    overdue: bool
    escalated_at: dt.datetime | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    override_id: int | None
    disposal_ref: str
    closed_by: str | None
    closed_at: dt.datetime | None


class CaseDetail(CaseOut):
    measures: list[MeasureOut]
    history: list[dict]
    available: list[str] = Field(description="此用户现在可执行的操作")


class Assignment(Schema):
    assignee: FilledText = Field(description="处理人的用户名")


class MeasureIn(Schema):
    measure: FilledText
    result: str = ""


class Resolution(Schema):
    measure: str = ""
    result: str = ""


class Transfer(Schema):
    override_id: int | None = Field(None, ge=1, description="转认定：认定编号")
    disposal_ref: str = Field("", max_length=actions.DISPOSAL_REF_MAX, description="处置方案编号")


class Closing(Schema):
    comment: str = ""


def _case_out(case: Case, today: dt.date | None = None) -> dict:
    return {
        "id": case.pk,
        **{
            f: getattr(case, f)
            for f in (
                "code",
                "subject",
                "loan_id",
                "customer_id",
                "customer_name",
                "org_id",
                "manager_id",
                "severity",
                "value",
                "threshold",
                "evidence",
                "first_as_of",
                "last_as_of",
                "times_fired",
                "state",
                "opened_on",
                "due_on",
                "escalated_at",
                "resolved_at",
                "override_id",
                "disposal_ref",
                "closed_at",
            )
        },
        "assignee": actions.username(case.assignee),
        "overdue": selectors.is_overdue(case, today),
        "resolved_by": actions.username(case.resolved_by),
        "closed_by": actions.username(case.closed_by),
    }


def _detail(user, pk: int) -> dict:
    case = selectors.get_case(user, pk)
    return {
        **_case_out(case),
        "measures": [
            {
                "measure": m.measure,
                "result": m.result,
                "recorded_by": m.recorded_by.username,
                "recorded_at": m.recorded_at,
            }
            for m in selectors.measures(case)
        ],
        "history": [
            {**row, "as_of": row["as_of"].isoformat()} for row in selectors.case_history(case)
        ],
        "available": sorted(actions.available(user, case)),
    }


def _act(request, pk: int, action, *args, **kwargs):
    """Run one transition on the case ``pk``: its detail after, or 409 with the reason."""
    case = selectors.get_case(request.user, pk)
    try:
        action(request.user, case, *args, **kwargs)
    except actions.CaseConflict as conflict:
        return Status(409, {"detail": conflict.message})
    return Status(200, _detail(request.user, pk))


@signals_router.get("", response={200: SignalPage, 404: Message})
def list_signals(
    request,
    as_of: Day | None = None,
    code: list[str] = Query(None),
    org: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
):
    """The signals a close raised (the latest unless ``as_of``), worst first: ``code``
    (repeatable), ``org`` (its subtree)."""
    scope = scope_of(request.user)
    if org and not scope.covers(org):
        raise Http404("没有这个机构，或不在您的机构范围内")
    dates = selectors.signal_dates()
    as_of = as_of or (dates[-1] if dates else None)
    if as_of is None:
        return {"as_of": None, "rows": []}
    if as_of not in dates:
        raise Http404(f"报告日 {as_of} 没有预警信号")
    rows = selectors.signals(scope, as_of, codes=code, org=org, limit=limit, offset=offset)
    return {"as_of": as_of, "rows": rows}


@router.get("", response={200: list[CaseOut], 404: Message})
def list_warnings(
    request,
    code: str | None = None,
    severity: int | None = Query(None, ge=1, le=3),
    state: CaseState | None = None,
    org: str | None = None,
    officer: str | None = None,
    overdue: bool = False,
    assignee: str | None = Query(None, description="处理人的用户名，me 为本人"),
    checker: Literal["me"] | None = Query(None, description="me：本人可复核关闭的预警"),
    limit: Limit = 100,
    offset: Offset = 0,
):
    """Warning cases of the user's orgs, worst and most urgent first; ``state`` is a state
    or active / to_close / open; ``org`` its subtree; ``officer`` the manager's staff id."""
    scope = scope_of(request.user)
    if org and not scope.covers(org):
        raise Http404("没有这个机构，或不在您的机构范围内")
    who = None
    if assignee:
        who = (
            request.user
            if assignee == "me"
            else User.objects.filter(username=assignee).first() or User(pk=0)
        )
    found = selectors.cases(
        scope,
        code=code,
        severity=severity,
        state=state,
        org=org,
        officer=officer,
        overdue=overdue,
        assignee=who,
        checker=request.user if checker else None,
    ).select_related("assignee", "resolved_by", "closed_by")
    return [_case_out(c) for c in found[offset : offset + limit]]


@router.get("/{warning_id}", response={200: CaseDetail, 404: Message})
def get_warning(request, warning_id: int):
    """One case: its figures, measures, the signal's history over the closes and what the
    user may do with it now."""
    return _detail(request.user, warning_id)


@router.post("/{warning_id}/assign", response={200: CaseDetail, **ERRORS})
def assign_warning(request, warning_id: int, assignment: Assignment):
    """Assign (or reassign) the case to a user of its org's subtree."""
    assignee = User.objects.filter(username=assignment.assignee, is_active=True).first()
    if assignee is None:
        return Status(400, {"detail": f"没有在岗用户 {assignment.assignee}"})
    return _act(request, warning_id, actions.assign, assignee)


@router.post("/{warning_id}/start", response={200: CaseDetail, **ERRORS})
def start_warning(request, warning_id: int):
    """已分派 → 处理中."""
    return _act(request, warning_id, actions.start)


@router.post("/{warning_id}/measures", response={200: CaseDetail, **ERRORS})
def record_warning_measure(request, warning_id: int, measure: MeasureIn):
    """Record a measure taken (and its result)."""
    return _act(request, warning_id, actions.record_measure, measure.measure, measure.result)


@router.post("/{warning_id}/resolve", response={200: CaseDetail, **ERRORS})
def resolve_warning(request, warning_id: int, resolution: Resolution):
    """已化解: with a measure and its result (given here or recorded before)."""
    return _act(request, warning_id, actions.resolve, resolution.measure, resolution.result)


@router.post("/{warning_id}/transfer", response={200: CaseDetail, **ERRORS})
def transfer_warning(request, warning_id: int, transfer: Transfer):
    """已转处置: linked to a 认定 proposal or a disposal plan."""
    return _act(
        request,
        warning_id,
        actions.transfer,
        override_id=transfer.override_id,
        disposal_ref=transfer.disposal_ref,
    )


@router.post("/{warning_id}/close", response={200: CaseDetail, **ERRORS})
def close_warning(request, warning_id: int, closing: Closing):
    """关闭 a resolved or transferred case (by someone other than who did that)."""
    return _act(request, warning_id, actions.close, closing.comment)
