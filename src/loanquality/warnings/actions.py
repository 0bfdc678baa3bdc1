"""The handling of a warning case (预警处置): 新建 → 已分派 → 处理中 → 已化解 / 已转处置 → 关闭.

Each transition is one function here: atomic, the case locked (``select_for_update``)
and fetched within the user's subtree (404 outside it), refused from a wrong state with a
Chinese reason (``CaseConflict``: the API's 409), one audit row ``warning.*`` with the
state before and after. Who may do what is in ``available`` (what the pages show) and
checked again by each action (``PermissionDenied``, 403):

- a loan officer starts, records measures, resolves and transfers the cases assigned to
  them;
- risk managers, the credit department and directors do all of that for any case of
  their subtree, assign and reassign, and close a resolved or transferred case that
  someone else resolved or transferred (maker–checker);
- auditors and administrators read.

Syncing a close's signals into cases and escalating overdue ones is ``warnings.sync``,
re-exported here.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from loanquality.accounts.models import Role
from loanquality.audit.actions import record
from loanquality.common.access import access_object
from loanquality.common.scope import scope_of
from loanquality.warnings.models import (
    ACTIVE_STATES,
    Case,
    Measure,
    NoticeKind,
    NoticeSent,
    State,
)
from loanquality.warnings.sync import (  # noqa: F401 (the contract names them here)
    SyncResult,
    ensure_synced,
    escalate_overdue,
    sync_close,
)

MANAGERS = (Role.RISK, Role.CREDIT_DEPT, Role.DIRECTOR)
HANDLERS = (Role.OFFICER, *MANAGERS)  # who may be assigned a case
ACTIONS = ("assign", "start", "measure", "resolve", "transfer", "close")
WORKING = (State.ASSIGNED, State.IN_PROGRESS)  # measures, resolving, transferring
DONE = (State.RESOLVED, State.TRANSFERRED)  # waiting to be closed
NOTICE_IDS = 100  # a warning.notice row lists its loans' ids up to this many
DISPOSAL_REF_MAX = Case._meta.get_field("disposal_ref").max_length


class CaseConflict(Exception):
    """A transition the case's state does not allow; ``message`` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_text(text: str | None) -> str:
    """Free text as stored: trimmed, without NUL (PostgreSQL refuses it)."""
    return (text or "").replace("\x00", "").strip()


# --- who may do what -----------------------------------------------------------------


def available(user, case: Case) -> set[str]:
    """The transitions ``user`` may take on ``case`` now (the forms a page shows)."""
    if not scope_of(user).covers(case.org_id):
        return set()
    found = set()
    for action in ACTIONS:
        try:
            _check(user, case, action)
        except (PermissionDenied, CaseConflict):
            continue
        found.add(action)
    return found


def _check(user, case: Case, action: str) -> None:
    """PermissionDenied for the role, else CaseConflict for the state."""
    if user.role not in HANDLERS:
        raise PermissionDenied("您的岗位只能查看预警事项")
    manager = user.role in MANAGERS
    if action in ("assign", "close") and not manager:
        raise PermissionDenied("只有风险经理、信贷管理部和机构负责人可以分派和关闭预警事项")
    if not manager and case.assignee_id != user.pk:
        raise PermissionDenied("客户经理只能处理分派给自己的预警事项")
    _check_state(case, action)
    if action == "close" and case.resolved_by_id == user.pk:
        raise PermissionDenied("化解或转处置该预警的人不能自己关闭它，须由他人复核关闭")


def _check_state(case: Case, action: str) -> None:
    state = State(case.state)
    wrong = f"该预警事项{'已关闭' if state == State.CLOSED else state.label}，"
    if action == "assign" and state not in ACTIVE_STATES:
        raise CaseConflict(wrong + "不能再分派")
    if action == "start" and state != State.ASSIGNED:
        reason = "尚未分派，请先分派处理人" if state == State.NEW else "不能再开始处理"
        raise CaseConflict(wrong + reason)
    if action in ("measure", "resolve", "transfer") and state not in WORKING:
        what = {"measure": "记录措施", "resolve": "化解", "transfer": "转处置"}[action]
        reason = "请先分派处理人" if state == State.NEW else f"不能再{what}"
        raise CaseConflict(wrong + reason)
    if action == "close" and state not in DONE:
        if state == State.CLOSED:
            raise CaseConflict("该预警事项已关闭")
        raise CaseConflict(wrong + "尚未化解或转处置，不能关闭")


def _locked(user, case: Case | int, action: str) -> Case:
    """The case locked till commit, if in the user's subtree (404), the action allowed."""
    pk = case if isinstance(case, int) else case.pk
    found = access_object(user, Case.objects.select_for_update(), pk, what="预警事项")
    _check(user, found, action)
    return found


def _record(user, action: str, case: Case, before: dict, after=None, **detail) -> None:
    """The transition's audit row: the case, its state before and after (and ``after``)."""
    record(
        action,
        user=user,
        target=f"warning:{case.pk}",
        org_id=case.org_id,
        case=case.pk,
        code=case.code,
        subject=case.subject,
        before=before,
        after={"state": case.state, **(after or {})},
        **detail,
    )


def username(user) -> str | None:
    """A user's username, None for none (the audit rows and the API's cases)."""
    return user.username if user is not None else None


# --- the transitions -----------------------------------------------------------------


@transaction.atomic
def assign(user, case: Case | int, assignee) -> Case:
    """Give the case to ``assignee`` (新建 → 已分派; reassigning keeps the state): an
    active officer, risk manager, credit department or director whose subtree holds the
    case's org."""
    case = _locked(user, case, "assign")
    if (
        assignee is None
        or not assignee.is_active
        or assignee.role not in HANDLERS
        or not scope_of(assignee).covers(case.org_id)
    ):
        raise ValidationError("处理人须为该预警所属机构范围内的在岗客户经理、风险经理或机构负责人")
    before = {"state": case.state, "assignee": username(case.assignee)}
    if case.assignee_id == assignee.pk and case.state != State.NEW:
        raise CaseConflict(f"该预警事项已分派给 {assignee.username}")
    case.assignee = assignee
    if case.state == State.NEW:
        case.state = State.ASSIGNED
    case.save(update_fields=["assignee", "state", "updated_at"])
    _record(user, "warning.assign", case, before, {"assignee": assignee.username})
    return case


@transaction.atomic
def start(user, case: Case | int) -> Case:
    """已分派 → 处理中."""
    case = _locked(user, case, "start")
    before = {"state": case.state}
    case.state = State.IN_PROGRESS
    case.save(update_fields=["state", "updated_at"])
    _record(user, "warning.start", case, before)
    return case


@transaction.atomic
def record_measure(user, case: Case | int, measure: str, result: str = "") -> Measure:
    """A measure taken (and its result, if known yet); 已分派 becomes 处理中."""
    case = _locked(user, case, "measure")
    measure, result = clean_text(measure), clean_text(result)
    if not measure:
        raise ValidationError("请填写处置措施")
    before = {"state": case.state}
    found = _add_measure(user, case, measure, result)
    _record(user, "warning.measure", case, before, measure=measure, result=result)
    return found


def _add_measure(user, case: Case, measure: str, result: str) -> Measure:
    found = Measure.objects.create(case=case, measure=measure, result=result, recorded_by=user)
    if case.state != State.IN_PROGRESS:
        case.state = State.IN_PROGRESS
        case.save(update_fields=["state", "updated_at"])
    return found


@transaction.atomic
def resolve(user, case: Case | int, measure: str = "", result: str = "") -> Case:
    """已化解: with a measure and its result, given now or recorded before."""
    case = _locked(user, case, "resolve")
    measure, result = clean_text(measure), clean_text(result)
    if measure and not result:
        raise ValidationError("化解预警须填写处置措施的结果")
    if result and not measure:
        raise ValidationError("化解预警须填写处置措施")
    if not measure and not case.measures.exclude(result="").exists():
        raise ValidationError("化解预警须记录处置措施及其结果")
    before = {"state": case.state}
    if measure:
        Measure.objects.create(case=case, measure=measure, result=result, recorded_by=user)
    case.state, case.resolved_by, case.resolved_at = State.RESOLVED, user, timezone.now()
    case.save(update_fields=["state", "resolved_by", "resolved_at", "updated_at"])
    _record(user, "warning.resolve", case, before, measure=measure, result=result)
    return case


@transaction.atomic
def transfer(
    user, case: Case | int, *, override_id: int | None = None, disposal_ref: str = ""
) -> Case:
    """已转处置: linked to a 认定 proposal of the case's loan (in the user's subtree) or a
    disposal plan's reference."""
    from loanquality.overrides.models import Override

    case = _locked(user, case, "transfer")
    disposal_ref = clean_text(disposal_ref)
    if override_id is None and not disposal_ref:
        raise ValidationError("转处置须关联一笔认定或填写处置方案编号")
    if len(disposal_ref) > DISPOSAL_REF_MAX:
        raise ValidationError(f"处置方案编号不能超过 {DISPOSAL_REF_MAX} 个字符")
    override = None
    if override_id is not None:
        if not case.loan_id and not case.customer_id:
            raise ValidationError("客户经理层面的预警（管户余额激增）只能转处置方案，不能关联认定")
        try:
            override = access_object(user, Override.objects, override_id, what="认定")
        except Http404:
            raise ValidationError("没有这笔认定，或不在您的机构范围内") from None
        if case.loan_id and override.loan_id != case.loan_id:
            raise ValidationError(f"认定#{override.pk} 不是借据 {case.loan_id} 的认定")
        if not case.loan_id and _customer_of(override) != case.customer_id:
            raise ValidationError(f"认定#{override.pk} 不是客户 {case.customer_id} 名下贷款的认定")
    before = {"state": case.state}
    case.state, case.override, case.disposal_ref = State.TRANSFERRED, override, disposal_ref
    case.resolved_by, case.resolved_at = user, timezone.now()
    case.save(
        update_fields=[
            "state",
            "override",
            "disposal_ref",
            "resolved_by",
            "resolved_at",
            "updated_at",
        ]
    )
    _record(
        user,
        "warning.transfer",
        case,
        before,
        override=override.pk if override else None,
        disposal_ref=disposal_ref,
    )
    return case


def _customer_of(override) -> str | None:
    """The customer of the override's loan at its close (the classified partition)."""
    from loanquality.portfolio.selectors import loans_at_close

    found = loans_at_close(override.as_of, [override.loan_id])
    return found[0]["customer_id"] if found else None


@transaction.atomic
def close(user, case: Case | int, comment: str = "") -> Case:
    """已化解 / 已转处置 → 关闭, by a manager other than who resolved or transferred it."""
    case = _locked(user, case, "close")
    before = {"state": case.state}
    case.state, case.closed_by, case.closed_at = State.CLOSED, user, timezone.now()
    case.close_comment = clean_text(comment)
    case.save(update_fields=["state", "closed_by", "closed_at", "close_comment", "updated_at"])
    _record(user, "warning.close", case, before, comment=case.close_comment)
    return case


# --- notices ---------------------------------------------------------------------------


@transaction.atomic
def record_notices(user, kind: str, as_of: dt.date, loans: list[dict]) -> list[NoticeSent]:
    """That ``user`` printed the 监测通知书 (MAT3M) / 提示函 (MAT1M) of ``loans`` (rows of
    ``selectors.notice_loans``: loan_id, customer_id, org_id, maturity_date) for the close
    of ``as_of``: one NoticeSent per loan and one ``warning.notice`` audit row."""
    if kind not in NoticeKind.values:
        raise ValidationError("通知类型应为 MAT3M（监测通知书）或 MAT1M（提示函）")
    if user.role not in HANDLERS:
        raise PermissionDenied("您的岗位不能发送客户通知书")
    scope = scope_of(user)
    if any(not scope.covers(loan["org_id"]) for loan in loans):
        raise Http404("没有这笔贷款，或不在您的机构范围内")
    if not loans:
        return []
    sent = NoticeSent.objects.bulk_create(
        [
            NoticeSent(
                kind=kind,
                loan_id=loan["loan_id"],
                customer_id=loan.get("customer_id") or "",
                org_id=loan["org_id"],
                as_of=as_of,
                maturity_date=loan["maturity_date"],
                sent_by=user,
            )
            for loan in loans
        ],
        batch_size=2000,
    )
    orgs = {loan["org_id"] for loan in loans}
    record(
        "warning.notice",
        user=user,
        target=loans[0]["loan_id"] if len(loans) == 1 else str(as_of),
        org_id=orgs.pop() if len(orgs) == 1 else user.org_id,
        kind=kind,
        as_of=as_of,
        loans=len(loans),
        # each loan is in its NoticeSent; the row names them only when they are few
        **({"loan_ids": [loan["loan_id"] for loan in loans]} if len(loans) <= NOTICE_IDS else {}),
    )
    return sent
