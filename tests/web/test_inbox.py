"""我的待办: the shared inbox every app feeds (common.inbox), with the warnings' tasks
(待处理, 逾期升级, 待分派, 待关闭) and the overrides' (待审批认定), each for whom it is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from signal_lake import latest, live_loans, publish_signals, signal

from conftest import logged_in
from loanquality.audit.runs import Operator
from loanquality.common.inbox import Task, task_count, tasks_for
from loanquality.overrides import actions as overrides
from loanquality.warnings import actions
from loanquality.warnings.models import Case


def tasks(user) -> dict[str, tuple[int, int]]:
    return {t.key: (t.count, t.overdue) for t in tasks_for(user)}


@pytest.fixture
def cases(own_data_dir, places, officer):
    """Four cases of the outlet opened 20 days ago: two of the officer's loans (高, due in
    7 days: overdue; 低, due in 30: not yet), two without a manager's user (中: overdue)."""
    loans = [r for r in live_loans(own_data_dir, [places.outlet]) if r["manager_id"]]
    officer.staff_id = loans[0]["manager_id"]
    officer.save(update_fields=["staff_id"])
    theirs = [r for r in loans if r["manager_id"] == officer.staff_id]
    others = [r for r in loans if r["manager_id"] != officer.staff_id]
    rows = [
        signal("LTV_HIGH", theirs[0], 3, 0.9, 0.7),
        signal("MAT3M", theirs[0], 1, 80, 90),
        signal("OVD_FIRST", others[0], 2, 3, 0),
        signal("INT_ARREARS", others[1], 2, 5, 0),
    ]
    publish_signals(own_data_dir, latest(own_data_dir), rows)
    opened = timezone.localdate() - dt.timedelta(days=20)
    actions.sync_close(latest(own_data_dir), actor=Operator("tester"), today=opened)
    return {c.code: c for c in Case.objects.all()}


def test_an_officer_sees_the_cases_assigned_to_them(cases, officer):
    """20 days after opening: the 高 case (due after 7) is overdue, the 低 (30) not."""
    assert tasks(officer) == {"warnings.mine": (2, 1)}
    assert task_count(officer) == 2
    [task] = tasks_for(officer)
    assert (task.label, task.url) == ("待处理预警", "/warnings/?assignee=me&state=active")


def test_a_risk_manager_sees_what_to_assign_and_what_to_close(cases, risk, director, officer):
    # given: two cases 新建 (both overdue), and one the officer resolved
    assert tasks(risk) == {"warnings.assign": (2, 2)}
    case = cases["MAT3M"]
    actions.record_measure(officer, case, "发送监测通知书", "客户已确认到期安排")
    actions.resolve(officer, case)
    # then the resolved case waits for a checker: the risk manager and the director
    assert tasks(risk) == {"warnings.assign": (2, 2), "warnings.close.resolved": (1, 0)}
    assert tasks(director)["warnings.close.resolved"] == (1, 0)
    assert [t.url for t in tasks_for(risk)] == [
        "/warnings/?state=new",
        "/warnings/?state=resolved&checker=me",
    ]


def test_whoever_resolved_a_case_is_not_asked_to_close_it(cases, risk, officer):
    case = cases["OVD_FIRST"]
    actions.assign(risk, case, risk)
    actions.resolve(risk, case, "重新约定还款计划", "客户已还清逾期本金")
    assert "warnings.close.resolved" not in tasks(risk)


def test_the_to_close_count_and_its_list_agree(cases, risk, director, officer):
    """The officer resolved MAT3M, the risk manager OVD_FIRST: the risk manager may close
    1 (MAT3M: not their own), the director 2; each task's list (checker=me) shows exactly
    those, and an officer may close none."""
    from loanquality.common.scope import scope_of
    from loanquality.warnings import selectors

    actions.resolve(officer, cases["MAT3M"], "发送监测通知书", "客户已确认到期安排")
    actions.assign(risk, cases["OVD_FIRST"], risk)
    actions.resolve(risk, cases["OVD_FIRST"], "重新约定还款计划", "客户已还清逾期本金")
    for user, codes in ((risk, ["MAT3M"]), (director, ["OVD_FIRST", "MAT3M"])):
        listed = selectors.cases(scope_of(user), state="resolved", checker=user)
        assert sorted(c.code for c in listed) == sorted(codes)
        assert tasks(user)["warnings.close.resolved"] == (len(codes), 0)
    assert not selectors.cases(scope_of(officer), state="resolved", checker=officer).exists()


def test_overdue_cases_escalate_to_the_directors_above_them(cases, director, make_user, places):
    """The 高 and the two 中 are overdue: escalated for the co-op's and the head office's
    directors, not for a director of another co-op (nor anyone else)."""
    assert tasks(director)["warnings.escalated"] == (3, 3)
    assert tasks(director)["warnings.assign"] == (2, 2)
    head = make_user("head-director", "director", places.root)
    assert tasks(head)["warnings.escalated"] == (3, 3)
    far = make_user("far-director", "director", places.other_coop)
    assert tasks_for(far) == []
    assert {c.code for c in Case.objects.filter(escalated_at__isnull=False)} == {
        "LTV_HIGH",
        "OVD_FIRST",
        "INT_ARREARS",
    }


def test_auditors_and_administrators_have_no_tasks(cases, make_user, places):
    for role in ("auditor", "admin"):
        assert tasks_for(make_user(role, role, places.root)) == []


def test_proposals_wait_for_those_who_may_decide_them(
    own_data_dir, risk, director, head_office, coop_orgs, settings
):
    """待审批认定: a director or the credit department, never the maker; above the
    threshold only a director."""
    loans = [r for r in live_loans(own_data_dir, coop_orgs) if r["final_category"] == 1]
    small, large = sorted(loans[:2], key=lambda r: r["balance"])
    settings.OVERRIDE_DIRECTOR_ABOVE = str(small["balance"])
    overrides.propose(risk, small["loan_id"], latest(own_data_dir), 3, "经营恶化")
    overrides.propose(risk, large["loan_id"], latest(own_data_dir), 3, "担保人失联")
    assert tasks(director)["overrides.decide"] == (2, 0)
    assert tasks(head_office) == {"overrides.decide": (1, 0)}  # the large one needs a director
    assert "overrides.decide" not in tasks(risk)  # the maker
    [task] = [t for t in tasks_for(director) if t.key == "overrides.decide"]
    assert (task.label, task.url) == ("待审批认定", "/overrides/?tab=waiting")


def test_an_app_without_tasks_adds_nothing_and_counts_sum(monkeypatch, officer):
    from django.apps import apps

    config = apps.get_app_config("warnings")
    monkeypatch.setattr(
        type(config),
        "inbox",
        lambda self, user: [Task("a", "甲", 2, "/a/", 1), Task("b", "乙", 0, "/b/")],
    )
    assert tasks_for(officer) == [Task("a", "甲", 2, "/a/", 1)]
    assert task_count(officer) == 2


def test_the_inbox_page_lists_the_tasks(cases, officer):
    page = logged_in(officer).get("/inbox/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "待处理预警" in text
    assert "/warnings/?assignee=me&amp;state=active" in text


def test_heavy_counts_are_kept_a_minute_and_a_new_sync_counts_afresh(
    cases, risk, monkeypatch, own_data_dir, places, officer
):
    """Above HEAVY_COUNT cases a user's counts are kept (a million-case count costs a few
    hundred ms at every page); the next sync's cases show at once."""
    from django.core.cache import cache

    from loanquality.warnings import selectors

    cache.clear()
    monkeypatch.setattr(selectors, "HEAVY_COUNT", 1)
    assert tasks(risk)["warnings.assign"] == (2, 2)
    Case.objects.filter(state="new").delete()
    assert tasks(risk)["warnings.assign"] == (2, 2)  # kept
    # a new close's one signal, on a loan of the outlet no user manages: 新建, due in 15 days
    extra = next(
        r
        for r in live_loans(own_data_dir, [places.outlet])
        if r["manager_id"]
        and r["manager_id"] != officer.staff_id
        and r["loan_id"] not in {c.loan_id for c in cases.values()}
    )
    publish_signals(own_data_dir, latest(own_data_dir), [signal("MAT1M", extra, 2, 9, 30)])
    assert tasks(risk)["warnings.assign"] == (1, 0)
    cache.clear()
