"""The handling of a warning case, one action per transition: who may take it, from which
state (CaseConflict with a Chinese reason otherwise, nothing changed), what resolving and
transferring need, the maker–checker rule on closing, one audit row each, and notices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from signal_lake import latest, live_loans

from loanquality.audit.models import AuditEntry
from loanquality.overrides import actions as overrides
from loanquality.warnings import actions
from loanquality.warnings.actions import CaseConflict
from loanquality.warnings.models import Case, Measure, NoticeSent, State

TODAY = dt.date(2026, 12, 1)


def make_case(loan: dict, *, state=State.NEW, assignee=None, code="OVD_FIRST", **fields) -> Case:
    """A case about ``loan`` as the sync opens it (severity 2: due in 15 days); ``fields``
    override."""
    values = {
        "code": code,
        "subject": loan["loan_id"],
        "loan_id": loan["loan_id"],
        "customer_id": loan["customer_id"],
        "org_id": loan["org_id"],
        "manager_id": loan["manager_id"] or "",
        "severity": 2,
        "value": 3.0,
        "threshold": 0.0,
        "evidence": "贷款首次逾期3天",
        "first_as_of": dt.date(2026, 11, 30),
        "last_as_of": dt.date(2026, 11, 30),
        "opened_on": TODAY,
        "due_on": TODAY + dt.timedelta(days=15),
        "state": state,
        "assignee": assignee,
    }
    return Case.objects.create(**{**values, **fields})


def audit_rows() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action__startswith="warning.").order_by("seq"))


def snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (
        case.state,
        case.assignee_id,
        case.resolved_by_id,
        case.closed_by_id,
        case.measures.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def loan(data_dir, places) -> dict:
    """A live loan of the outlet in 正常, with a manager."""
    return next(
        r
        for r in live_loans(data_dir, [places.outlet])
        if r["final_category"] == 1 and r["manager_id"]
    )


@pytest.fixture
def handler(officer, loan):
    """The outlet's officer, the loan's manager."""
    officer.staff_id = loan["manager_id"]
    officer.save(update_fields=["staff_id"])
    return officer


# --- the whole way through -----------------------------------------------------------


def test_assigned_started_measured_resolved_and_closed_each_with_one_audit_row(
    loan, handler, risk, director
):
    """新建 → 已分派 → 处理中 → (措施) → 已化解 → 关闭, each step one audit row with the
    state before and after."""
    # given a new case
    case = make_case(loan)
    # when a risk manager assigns it, the officer starts, records a measure and resolves,
    # and the director closes it
    actions.assign(risk, case, handler)
    actions.start(handler, case)
    actions.record_measure(handler, case, "上门走访，催收逾期本息", "")
    actions.resolve(handler, case, "客户已归还逾期本息", "逾期已结清，恢复正常还款")
    actions.close(director, case, "同意关闭")
    # then the case is closed, with who did what
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert (case.assignee, case.resolved_by, case.closed_by) == (handler, handler, director)
    assert case.close_comment == "同意关闭"
    assert [(m.measure, m.result) for m in case.measures.all()] == [
        ("上门走访，催收逾期本息", ""),
        ("客户已归还逾期本息", "逾期已结清，恢复正常还款"),
    ]
    # and one audit row per transition, each with its states
    rows = audit_rows()
    assert [(r.action, r.detail["before"]["state"], r.detail["after"]["state"]) for r in rows] == [
        ("warning.assign", "new", "assigned"),
        ("warning.start", "assigned", "in_progress"),
        ("warning.measure", "in_progress", "in_progress"),
        ("warning.resolve", "in_progress", "resolved"),
        ("warning.close", "resolved", "closed"),
    ]
    assert {r.target for r in rows} == {f"warning:{case.pk}"}
    assert {r.org_id for r in rows} == {loan["org_id"]}
    assert rows[0].detail["after"]["assignee"] == handler.username
    assert [r.username for r in rows] == ["risk", "officer", "officer", "officer", "director"]


def test_a_measure_on_an_assigned_case_starts_it(loan, handler):
    case = make_case(loan, state=State.ASSIGNED, assignee=handler)
    actions.record_measure(handler, case, "电话提示客户按期还款")
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS


# --- wrong states --------------------------------------------------------------------

WRONG = [
    # (state, action, the reason's words)
    (State.NEW, "start", "该预警事项新建，尚未分派"),
    (State.NEW, "measure", "该预警事项新建，请先分派处理人"),
    (State.NEW, "resolve", "该预警事项新建，请先分派处理人"),
    (State.NEW, "transfer", "该预警事项新建，请先分派处理人"),
    (State.NEW, "close", "该预警事项新建，尚未化解或转处置，不能关闭"),
    (State.IN_PROGRESS, "start", "该预警事项处理中，不能再开始处理"),
    (State.IN_PROGRESS, "close", "该预警事项处理中，尚未化解或转处置"),
    (State.RESOLVED, "assign", "该预警事项已化解，不能再分派"),
    (State.RESOLVED, "start", "该预警事项已化解，不能再开始处理"),
    (State.RESOLVED, "measure", "该预警事项已化解，不能再记录措施"),
    (State.RESOLVED, "resolve", "该预警事项已化解，不能再化解"),
    (State.TRANSFERRED, "transfer", "该预警事项已转处置，不能再转处置"),
    (State.CLOSED, "assign", "该预警事项已关闭，不能再分派"),
    (State.CLOSED, "close", "该预警事项已关闭"),
    (State.CLOSED, "resolve", "该预警事项已关闭，不能再化解"),
]


def run(action: str, user, case, handler):
    calls = {
        "assign": lambda: actions.assign(user, case, handler),
        "start": lambda: actions.start(user, case),
        "measure": lambda: actions.record_measure(user, case, "措施", "结果"),
        "resolve": lambda: actions.resolve(user, case, "措施", "结果"),
        "transfer": lambda: actions.transfer(user, case, disposal_ref="CZ-2026-001"),
        "close": lambda: actions.close(user, case),
    }
    return calls[action]()


@pytest.mark.parametrize(("state", "action", "reason"), WRONG)
def test_a_transition_from_a_wrong_state_is_refused_in_chinese_and_changes_nothing(
    loan, handler, director, state, action, reason
):
    # given a case in ``state`` (assigned to the officer from 已分派 on)
    assignee = None if state == State.NEW else handler
    case = make_case(loan, state=state, assignee=assignee)
    before = snapshot(case)
    # when the director tries ``action``
    with pytest.raises(CaseConflict) as refused:
        run(action, director, case, handler)
    # then it is refused with the reason, and nothing changed (nor was audited)
    assert reason in refused.value.message
    assert snapshot(case) == before
    assert action not in actions.available(director, Case.objects.get(pk=case.pk))


# --- what resolving and transferring need ------------------------------------------


@pytest.mark.parametrize(
    ("measure", "result", "reason"),
    [
        ("", "", "化解预警须记录处置措施及其结果"),
        ("已电话催收", "", "化解预警须填写处置措施的结果"),
        ("", "已结清", "化解预警须填写处置措施"),
        ("   ", "\t", "化解预警须记录处置措施及其结果"),
    ],
)
def test_resolving_without_a_measure_and_its_result_is_refused(
    loan, handler, measure, result, reason
):
    case = make_case(loan, state=State.IN_PROGRESS, assignee=handler)
    actions.record_measure(handler, case, "上门核查", "")  # a measure without its result
    before = snapshot(case)
    with pytest.raises(ValidationError, match=reason):
        actions.resolve(handler, case, measure, result)
    assert snapshot(case) == before


def test_a_measure_recorded_with_its_result_before_is_enough_to_resolve(loan, handler):
    case = make_case(loan, state=State.IN_PROGRESS, assignee=handler)
    actions.record_measure(handler, case, "追加保证人", "保证合同已签订")
    assert actions.resolve(handler, case).state == State.RESOLVED
    assert Measure.objects.filter(case=case).count() == 1


def test_a_transfer_links_a_proposal_of_the_loan_or_a_disposal_plan(
    data_dir, loan, handler, risk, places
):
    case = make_case(loan, state=State.IN_PROGRESS, assignee=handler)
    with pytest.raises(ValidationError, match="转处置须关联一笔认定或填写处置方案编号"):
        actions.transfer(handler, case)
    # a proposal for another loan of the outlet is not this case's
    other = next(
        r
        for r in live_loans(data_dir, [places.outlet])
        if r["loan_id"] != loan["loan_id"] and r["final_category"] == 1
    )
    elsewhere = overrides.propose(risk, other["loan_id"], latest(data_dir), 3, "经营恶化")
    with pytest.raises(ValidationError, match=f"不是借据 {loan['loan_id']} 的认定"):
        actions.transfer(handler, case, override_id=elsewhere.pk)
    # a proposal out of the user's subtree is as none
    with pytest.raises(ValidationError, match="没有这笔认定"):
        actions.transfer(handler, case, override_id=elsewhere.pk + 10_000)
    before = snapshot(case)
    assert before[0] == State.IN_PROGRESS
    # the loan's own proposal is linked
    own = overrides.propose(risk, loan["loan_id"], latest(data_dir), 3, "转认定")
    done = actions.transfer(handler, case, override_id=own.pk)
    assert (done.state, done.override, done.resolved_by) == (State.TRANSFERRED, own, handler)
    [row] = [r for r in audit_rows() if r.action == "warning.transfer"]
    assert row.detail["override"] == own.pk


# --- who may do what -----------------------------------------------------------------


def test_an_officer_handles_only_the_cases_assigned_to_them(loan, handler, make_user, places):
    colleague = make_user("colleague", "officer", places.outlet)
    case = make_case(loan, state=State.ASSIGNED, assignee=handler)
    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="客户经理只能处理分派给自己的预警事项"):
        actions.start(colleague, case)
    with pytest.raises(PermissionDenied, match="只有风险经理、信贷管理部和机构负责人可以分派"):
        actions.assign(handler, case, colleague)
    assert snapshot(case) == before
    assert actions.available(colleague, case) == set()
    assert actions.available(handler, case) == {"start", "measure", "resolve", "transfer"}


def test_what_each_role_may_do(loan, handler, risk, director, make_user, places):
    auditor = make_user("auditor", "auditor", places.root)
    admin = make_user("admin", "admin", places.root)
    new = make_case(loan)
    assert actions.available(risk, new) == {"assign"}
    assert actions.available(auditor, new) == set()
    assert actions.available(admin, new) == set()
    with pytest.raises(PermissionDenied, match="您的岗位只能查看预警事项"):
        actions.assign(auditor, new, handler)
    working = make_case(loan, code="MAT1M", state=State.IN_PROGRESS, assignee=handler)
    assert actions.available(director, working) == {"assign", "measure", "resolve", "transfer"}


def test_closing_needs_someone_other_than_who_resolved(loan, handler, risk, director):
    """Maker–checker: the risk manager who resolved a case cannot close it; the director
    can."""
    case = make_case(loan, state=State.IN_PROGRESS, assignee=handler)
    actions.resolve(risk, case, "压缩授信额度", "客户已提前归还部分本金")
    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="须由他人复核关闭"):
        actions.close(risk, case)
    assert snapshot(case) == before
    assert "close" not in actions.available(risk, Case.objects.get(pk=case.pk))
    assert "close" in actions.available(director, Case.objects.get(pk=case.pk))
    assert actions.close(director, case).state == State.CLOSED
    # and an officer never closes
    other = make_case(loan, code="MAT1M", state=State.RESOLVED, assignee=handler)
    with pytest.raises(PermissionDenied):
        actions.close(handler, other)


def test_a_case_outside_the_users_subtree_is_404(loan, make_user, places, handler):
    far = make_user("far", "director", places.other_coop)
    case = make_case(loan)
    before = snapshot(case)
    with pytest.raises(Http404):
        actions.assign(far, case, handler)
    with pytest.raises(Http404):
        actions.start(far, case.pk)
    assert snapshot(case) == before
    assert actions.available(far, case) == set()


def test_the_assignee_must_see_the_case(loan, risk, make_user, places):
    far = make_user("far-officer", "officer", places.other_coop)
    auditor = make_user("auditor", "auditor", places.root)
    case = make_case(loan)
    for wrong in (far, auditor):
        with pytest.raises(ValidationError, match="处理人须为该预警所属机构范围内"):
            actions.assign(risk, case, wrong)
    assert Case.objects.get(pk=case.pk).state == State.NEW


def test_reassigning_keeps_the_work_going(loan, handler, risk, make_user, places):
    colleague = make_user("colleague", "officer", places.outlet)
    case = make_case(loan, state=State.IN_PROGRESS, assignee=handler)
    actions.assign(risk, case, colleague)
    case.refresh_from_db()
    assert (case.state, case.assignee) == (State.IN_PROGRESS, colleague)
    [row] = audit_rows()
    assert row.detail["before"] == {"state": "in_progress", "assignee": "officer"}
    assert row.detail["after"] == {"state": "in_progress", "assignee": "colleague"}
    with pytest.raises(CaseConflict, match="已分派给 colleague"):
        actions.assign(risk, case, colleague)


# --- notices -------------------------------------------------------------------------


def test_printed_notices_are_recorded_with_who_and_when(loan, handler, make_user, places):
    loans = [
        {**loan, "maturity_date": dt.date(2027, 2, 28)},
        {**loan, "loan_id": loan["loan_id"] + "-2", "maturity_date": dt.date(2027, 1, 31)},
    ]
    sent = actions.record_notices(handler, "MAT3M", dt.date(2026, 11, 30), loans)
    assert [(n.loan_id, n.maturity_date, n.sent_by) for n in sent] == [
        (loans[0]["loan_id"], dt.date(2027, 2, 28), handler),
        (loans[1]["loan_id"], dt.date(2027, 1, 31), handler),
    ]
    assert NoticeSent.objects.count() == 2
    [row] = audit_rows()
    assert (row.action, row.detail["kind"], row.detail["loans"]) == ("warning.notice", "MAT3M", 2)
    far = make_user("far", "officer", places.other_coop)
    with pytest.raises(Http404):
        actions.record_notices(far, "MAT3M", dt.date(2026, 11, 30), loans)
    with pytest.raises(ValidationError):
        actions.record_notices(handler, "OVD_FIRST", dt.date(2026, 11, 30), loans)
    assert NoticeSent.objects.count() == 2


def test_a_customer_case_transfers_to_a_proposal_of_that_customers_loan_only(
    data_dir, loan, handler, risk, places
):
    """Customer-level (loan_id ""): a 认定 of another customer's loan is refused, one of
    the customer's own loan is linked; a disposal_ref of 65 characters is refused (64 is
    the column's length)."""
    case = make_case(
        loan,
        code="BUREAU_NPL",
        state=State.IN_PROGRESS,
        assignee=handler,
        loan_id="",
        subject=loan["customer_id"],
    )
    other = next(
        r
        for r in live_loans(data_dir, [places.outlet])
        if r["customer_id"] != loan["customer_id"] and r["final_category"] == 1
    )
    elsewhere = overrides.propose(risk, other["loan_id"], latest(data_dir), 3, "经营恶化")
    with pytest.raises(ValidationError, match=f"不是客户 {loan['customer_id']} 名下贷款的认定"):
        actions.transfer(handler, case, override_id=elsewhere.pk)
    with pytest.raises(ValidationError, match="处置方案编号不能超过 64 个字符"):
        actions.transfer(handler, case, disposal_ref="X" * 65)
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS
    own = overrides.propose(risk, loan["loan_id"], latest(data_dir), 3, "他行不良")
    done = actions.transfer(handler, case, override_id=own.pk)
    assert (done.state, done.override) == (State.TRANSFERRED, own)


def test_an_officer_case_transfers_only_to_a_disposal_plan(data_dir, loan, handler, risk):
    """BOOK_SURGE (loan_id and customer_id ""): no 认定 can be its, a disposal_ref can."""
    case = make_case(
        loan,
        code="BOOK_SURGE",
        state=State.IN_PROGRESS,
        assignee=handler,
        loan_id="",
        customer_id="",
        subject=loan["manager_id"],
    )
    own = overrides.propose(risk, loan["loan_id"], latest(data_dir), 3, "管户激增")
    with pytest.raises(ValidationError, match="只能转处置方案"):
        actions.transfer(handler, case, override_id=own.pk)
    done = actions.transfer(handler, case, disposal_ref="CZ-2026-009")
    assert (done.state, done.disposal_ref, done.override) == (
        State.TRANSFERRED,
        "CZ-2026-009",
        None,
    )


def test_a_notice_row_names_its_loans_only_up_to_100(loan, handler):
    """101 notices printed at once: 101 NoticeSent, one audit row with loans 101 and no
    list of ids; 100 at once list them."""
    many = [
        {**loan, "loan_id": f"{loan['loan_id']}-{n}", "maturity_date": dt.date(2027, 1, 31)}
        for n in range(101)
    ]
    actions.record_notices(handler, "MAT1M", dt.date(2026, 11, 30), many)
    actions.record_notices(handler, "MAT1M", dt.date(2026, 11, 30), many[:100])
    assert NoticeSent.objects.count() == 101 + 100
    first, second = audit_rows()
    assert (first.detail["loans"], "loan_ids" in first.detail) == (101, False)
    assert second.detail["loan_ids"] == [x["loan_id"] for x in many[:100]]
